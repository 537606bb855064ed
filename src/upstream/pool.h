/*
 * Upstream connections and, per worker and per server, the pool of idle
 * keep-alive ones.
 *
 * An idle pooled connection keeps reading: if the upstream closes it or
 * sends anything, the connection is closed and leaves the pool at once.
 * Just before reuse it is probed with a non-blocking MSG_PEEK, which catches
 * a close that arrived after the loop's last poll (the keep-alive race).
 * Idle connections hold no buffer block and expire after the group's
 * keepalive idle_timeout. A pool holds more than max_idle idle connections
 * while the recent load needs them (its peak of open connections, decaying
 * over about 10 s): the worker's tick closes the extra ones, oldest first,
 * once idle for a second. Closing them at once would reopen as many on the
 * next swing of the load (measured in bench/: 45,000 upstream connects in
 * 10 s at 500 concurrent requests; at 5,000, overflowing the origin's
 * listen queue).
 *
 * Invariant: a connection is in exactly one of: connecting/active (ex set),
 * idle (on its pool's list, ex NULL), closing (neither).
 */
#ifndef TT_UPSTREAM_POOL_H
#define TT_UPSTREAM_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/buf.h"
#include "fault/catalogue.h"
#include "net/ring.h"
#include "upstream/balancer.h"
#include "upstream/resolve.h"

#define TT_UPCONN_MAGIC 0x7474756cu

struct tt_worker;
struct tt_exchange;
struct tt_health_group;
struct tt_tls_io;

/* A request waiting for a connection slot in a group whose servers are all
 * at their max_connections. Embedded in its owner; callbacks run on the
 * worker's loop. */
struct tt_pool_waiter {
	struct tt_pool_waiter *prev, *next;
	uint64_t deadline_ms;                         /* uv_now() value */
	void (*on_slot)(struct tt_pool_waiter *w);    /* a slot freed: dequeued, try again */
	void (*on_timeout)(struct tt_pool_waiter *w); /* queue_timeout passed: dequeued */
	int queued;
};

struct tt_pool {
	struct tt_worker *w;
	struct tt_upstream_rt *rt;
	const struct tt_cfg_upstream *group;
	const struct tt_cfg_server *server;
	struct tt_upconn *idle; /* most recently used first */
	size_t nidle;
	size_t nlive;    /* every open connection of this pool */
	size_t max_live; /* this worker's share of max_connections; 0 = no limit */
	uint32_t active; /* attempts in flight on this server (this worker), for least_conn/p2c */
	double ewma_ms;  /* response head latency moving average, ms; 0 = unknown */
	size_t peak;     /* most connections open at once since the last trim */
	size_t want;     /* the recent load's connections: peaks, decaying */
	char addr[64];   /* "ip:port" text (a named server: "host:port"), for logs */
	struct tt_addrset *dyn; /* a named server's addresses (resolve.h); NULL for an IP */
};

/* The per-worker state of one upstream group. */
struct tt_upstream_rt {
	const struct tt_cfg_upstream *cfg;
	struct tt_balancer bal;
	struct tt_pool *pools; /* one per server */
	struct tt_pool_waiter *wait_first, *wait_last;
	uint32_t npending;
	uint32_t active;                /* exchanges in flight on this group (this worker) */
	uint32_t retrying;              /* of them, those that have retried (the retry budget) */
	struct tt_health_group *health; /* shared by all workers; owned by the server */
};

struct tt_upconn {
	uint32_t magic;
	struct tt_pool *pool;
	struct tt_exchange *ex; /* the exchange using it; NULL when idle */
	uv_tcp_t tcp;
	uv_timer_t timer; /* connect, handshake, head and idle-read timeouts (tt_upconn_timer) */
	uint64_t due_ms;  /* uv_now() at which timer_cb runs; 0: disarmed */
	void (*timer_cb)(struct tt_upconn *u);
	uv_connect_t creq;
	uv_write_t wreq;
	struct tt_ring_send rsend;     /* a write through the worker's ring (net/ring.h) */
	uv_write_cb wcb;               /* ... and whom it tells: called with &wreq */
	uv_shutdown_t sreq;            /* a tunnel's half-close */
	struct tt_upconn *prev, *next; /* idle list */
	struct tt_buf in;
	uint64_t idle_since_ms; /* uv_now() when it joined the pool */
	uv_read_cb read_cb;     /* the current reader (see tt_upconn_read_start) */
	struct tt_tls_io *tls;  /* NULL = plain; set once TCP connected (tt_upconn_tls_start) */
	uint8_t handles;        /* open handles; freed at 0 */
	unsigned connected : 1;
	unsigned closing : 1;
	unsigned reused : 1;
	unsigned reading : 1;
	unsigned unusable : 1; /* something arrived while parked: never reuse */
	unsigned writing : 1;
	unsigned notify : 1;       /* readable is reported (UV_ENOBUFS), nothing read */
	unsigned shut_pending : 1; /* a half-close waits for rsend to end */
};

void tt_upstream_rt_init(struct tt_upstream_rt *u, struct tt_worker *w,
                         const struct tt_cfg_upstream *cfg);
/* Close every idle connection and free the state. Active ones must be gone. */
void tt_upstream_rt_fini(struct tt_upstream_rt *u);
/* Close idle connections only (shutdown). */
void tt_upstream_rt_close_idle(struct tt_upstream_rt *u);

/* 1 when p can give a connection now: an idle one, or room for a new one. */
int tt_pool_has_room(const struct tt_pool *p);

/* Queue a waiter (FIFO) until a slot frees in any server of the group or
 * the deadline passes; unwait removes it (idempotent). */
void tt_upstream_rt_wait(struct tt_upstream_rt *u, struct tt_pool_waiter *w, uint64_t deadline_ms);
void tt_upstream_rt_unwait(struct tt_upstream_rt *u, struct tt_pool_waiter *w);
/* Time out waiters whose deadline passed (the worker's tick). */
void tt_upstream_rt_expire(struct tt_upstream_rt *u, uint64_t now_ms);

/* Trim every pool of the group to its max_idle (see above). now_ms is the
 * loop's uv_now(). */
void tt_upstream_rt_trim(struct tt_upstream_rt *u, uint64_t now_ms);

/*
 * An idle connection that passed the liveness probe, now owned by ex, or
 * NULL. Its read and timer callbacks are the exchange's from here on.
 */
struct tt_upconn *tt_pool_take(struct tt_pool *p, struct tt_exchange *ex, int probe);

/* tt_pool_take probes a connection with MSG_PEEK (a close that arrived
 * since the loop last polled) when it has been idle this long, or always
 * when asked (a request that is not idempotent cannot be retried if the
 * connection turns out dead). A connection reused at once was just
 * serving a response: a syscall per request for nothing. */
#define TT_POOL_PROBE_IDLE_MS 100

/*
 * Start a new connection for ex to sa, one of p's server's addresses
 * (tt_resolve_pick). Returns NULL (and *err a libuv code) when the connect
 * cannot even start. cb runs when connected or failed.
 */
struct tt_upconn *tt_upconn_connect(struct tt_pool *p, struct tt_exchange *ex,
                                    const struct sockaddr *sa, uv_connect_cb cb, int *err);

/* Give a connection whose exchange ended cleanly back to its pool (or close
 * it when the pool is full or the worker is stopping). */
void tt_pool_give(struct tt_upconn *u);

/* Close a connection (idempotent, asynchronous: freed in the close
 * callbacks). It leaves its pool and forgets its exchange. */
void tt_upconn_close(struct tt_upconn *u);

/* Read and release helpers used by the exchange. */
/*
 * The group speaks TLS: start the handshake on a connected u, with the
 * server's host (or the group's tls.sni) as the name. on_done(io, status)
 * fires once, later (tt_tls_io_owner(io) is u). Returns 0, or -1 when no
 * TLS connection could be made for the name (nothing started).
 */
int tt_upconn_tls_start(struct tt_upconn *u, void (*on_done)(struct tt_tls_io *io, int status));

/* 1 while u is TCP-connected but its TLS handshake has not completed. */
int tt_upconn_handshaking(const struct tt_upconn *u);

/* Write to the upstream, as tt_conn_write: 1 all written now, 0 queued
 * (cb(&u->wreq, status) later), -1 failed (a libuv code in *err). iov is
 * updated in place past what went out now. */
int tt_upconn_write(struct tt_upconn *u, uv_buf_t *iov, int n, uv_write_cb cb, int *err);

/* Read with cb; while reading already, only the reader changes. */
void tt_upconn_read_start(struct tt_upconn *u, uv_read_cb cb);
/* As tt_upconn_read_start, but libuv reads nothing: cb gets UV_ENOBUFS
 * each time the socket is readable, and the reader takes the bytes itself
 * (net/splice.h). Plain connections only. Ends with the next read_start
 * or park. */
void tt_upconn_read_notify(struct tt_upconn *u, uv_read_cb cb);
/* No reader for a moment (the response ended, the pool takes it back):
 * the socket stays polled; a byte or an end that arrives meanwhile makes
 * the connection unusable. */
void tt_upconn_read_park(struct tt_upconn *u);
void tt_upconn_read_stop(struct tt_upconn *u);

/* Run cb(u) in ms (> 0) milliseconds, in place of what was armed. A
 * request on a kept connection arms its timer and its response disarms
 * it; in libuv each start and stop walks the loop's timer heap (1.6% of
 * the CPU at 500 connections). So the deadline is kept here, the libuv
 * timer moves only to fire sooner, and when it fires early it waits out
 * the rest: a kept connection touches the heap about once per timeout,
 * not per request. */
void tt_upconn_timer(struct tt_upconn *u, uint64_t ms, void (*cb)(struct tt_upconn *u));
/* Disarm (no heap work: a libuv timer left running finds nothing due). */
void tt_upconn_timer_stop(struct tt_upconn *u);
/* Shut the write side after the writes queued so far (a tunnel's
 * half-close; the connection is never pooled again). Returns 0 or a libuv
 * code. */
int tt_upconn_shutdown_write(struct tt_upconn *u);

#endif
