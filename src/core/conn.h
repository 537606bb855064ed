/*
 * A downstream connection: reads requests, hands each complete head to an
 * exchange (proxy/exchange.h), writes what the exchange gives it, and
 * handles keep-alive, pipelining, timeouts and closing.
 *
 * Memory: the struct embeds its handles; its read buffer is a pool block
 * taken when bytes arrive and returned when the connection is idle, and the
 * exchange struct is taken from the worker's free list per request. An idle
 * keep-alive connection costs this struct only.
 *
 * Invariant: while an exchange runs, bytes [0, head_len) of `in` are its
 * request head and stay in place; pipelined bytes after the request wait
 * unread until the exchange ends. At most one write is in flight.
 */
#ifndef TT_CORE_CONN_H
#define TT_CORE_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "core/buf.h"
#include "core/worker.h"

struct tt_tls_io;

#define TT_CONN_MAGIC 0x74746463u

enum tt_conn_state {
	TT_CONN_IDLE = 0, /* between requests, no byte of the next one yet */
	TT_CONN_HEAD,     /* some bytes of a request head */
	TT_CONN_EXCHANGE, /* an exchange owns the connection */
	TT_CONN_CLOSING
};

struct tt_conn {
	uint32_t magic;
	uint8_t state;   /* enum tt_conn_state */
	uint8_t handles; /* open handles; freed at 0 */
	unsigned reading : 1;
	unsigned writing : 1;
	unsigned trusted : 1; /* downstream in trusted_networks */
	unsigned detail : 1;  /* downstream in error_detail_networks */
	unsigned peer_v6 : 1;
	unsigned eof : 1;       /* downstream finished sending */
	unsigned want_read : 1; /* the exchange wants body bytes */
	unsigned lingering : 1; /* closing: write side shut, draining reads */
	unsigned dispatching : 1;
	unsigned again : 1;
	unsigned tls_sniff : 1;    /* a TLS listener's connection before its first byte */
	unsigned plain_on_tls : 1; /* plain HTTP on a TLS listener with redirect_http */
	unsigned unread_body : 1;  /* an exchange ended before reading its request body */
	unsigned notify : 1;       /* reads only report readability: the exchange splices */
	unsigned shut_pending : 1; /* a shutdown waits for `sending` to end */
	unsigned shut_linger : 1;  /* ... for a lingering close (else a tunnel's) */
	struct tt_worker *w;
	/* The write out in the worker's ring (net/ring.h), NULL when none: it
	 * lives in the exchange that made it, which may be orphaned. */
	struct tt_ring_send *sending;
	struct tt_tls_io *tls;       /* NULL on a plain connection */
	struct tt_exchange *ex;      /* current exchange or NULL */
	struct tt_conn *prev, *next; /* worker's list */
	uv_tcp_t tcp;
	/* Timeouts (head, keep-alive idle, body idle, lingering close) are
	 * kept on the worker's per-kind FIFO lists, not in a uv_timer_t each:
	 * 152 bytes less per idle connection, and no timer heap operation per
	 * request. */
	struct tt_conn *tprev, *tnext;
	uint64_t deadline_ms; /* uv_now() value when the timeout fires */
	uint8_t tkind;        /* enum tt_conn_timeout, TT_CT_NONE when unarmed */
	/* limits.downstream_min_rate: bytes of the request head or body read
	 * since rate_start_ms, the start of the current window. */
	uint64_t rate_start_ms;
	uint64_t rate_bytes;
	/* A lingering close's or a tunnel's shutdown: taken when first
	 * needed (most connections never shut down their write side; 72
	 * bytes less per idle connection), freed with the connection. */
	uv_shutdown_t *sreq;
	struct tt_buf in;
	uint32_t head_len; /* current request head, at the start of in */
	uint32_t requests; /* served on this connection */
	uint32_t listener; /* index of the listener it came in on (config order) */
	char peer[56];     /* "ip:port" */
	char peer_ip[48];
};

/*
 * Accept one pending connection on a listener of w.
 *
 * Past limits.max_connections a connection is answered 503 and closed. At
 * the descriptor limit accepting pauses instead: when the downstream
 * connections of all workers reach what RLIMIT_NOFILE can carry (half of
 * it less a reserve, since each may need an upstream socket), the
 * connection is left in libuv, which then stops watching the listener
 * (libuv's documented behaviour when uv_accept is not called); new ones
 * wait in the kernel's backlog, and no accept loop spins on EMFILE.
 */
void tt_conn_accept(struct tt_worker *w, uv_stream_t *listener);
/* Take the held connections again once there is room: the worker's tick
 * and every closed connection call it. */
void tt_conn_accept_resume(struct tt_worker *w);

/*
 * Write bufs downstream. Tries a synchronous write first; the rest is
 * queued and tt_exchange_on_ds_written runs when all of it is written (or
 * at once, after this returns, is never the case: a completed synchronous
 * write returns 1 and no callback follows). Returns 1 when everything was
 * written now, 0 when queued, a negative libuv code on error (the
 * connection is then aborted by the caller; the code goes in its fault).
 * The memory behind bufs must stay valid until then.
 */
int tt_conn_write(struct tt_conn *c, uv_buf_t *bufs, int n, uint64_t *bytes_out);

/* Shut the write side after the writes queued so far (a tunnel's
 * half-close). Returns 0, or a libuv code when it cannot start. No
 * callback reaches the exchange. */
int tt_conn_shutdown_write(struct tt_conn *c);

/* Let the exchange stop and restart reading request bytes (backpressure). */
void tt_conn_pause(struct tt_conn *c);
void tt_conn_resume(struct tt_conn *c);
/* Read the request body in notify mode: libuv reads nothing and the
 * exchange hears of every readable moment through tt_exchange_on_ds_data,
 * to splice the bytes itself (net/splice.h). Plain connections only; ends
 * with the exchange. */
void tt_conn_read_notify(struct tt_conn *c);
/* The exchange read body bytes itself (in notify mode): n of them, counted
 * for limits.downstream_min_rate; or 0 for the end of stream, or a
 * negative libuv code, handled as a read would be (the exchange hears
 * tt_exchange_on_ds_eof). Returns 1 when the exchange was failed or ended
 * (it may be gone), else 0. */
int tt_conn_body_read(struct tt_conn *c, ssize_t n);
/* Arm the downstream body idle timer (no-op when timeouts are 0). */
void tt_conn_touch(struct tt_conn *c);
/* Disarm the connection's timeout. */
void tt_conn_untime(struct tt_conn *c);

/* Expire the timeouts due at now_ms; the worker's tick calls it. */
void tt_conn_expire(struct tt_worker *w, uint64_t now_ms);

/*
 * The exchange is over and has been freed. keep_alive says whether the
 * connection may serve another request; the connection goes on with any
 * pipelined bytes, or goes idle, or closes (lingering while the downstream
 * may still be sending).
 */
void tt_conn_exchange_done(struct tt_conn *c, int keep_alive);

/* Close at once, dropping queued writes (a broken exchange). */
void tt_conn_close(struct tt_conn *c);
/* Close with a TCP reset: a response that broke after its head was sent
 * must not look complete to the downstream, whatever its framing. */
void tt_conn_reset(struct tt_conn *c);

/* Shutdown: close if idle between requests; otherwise the connection
 * closes after its current (or first) exchange. */
void tt_conn_shutdown(struct tt_conn *c);

#endif
