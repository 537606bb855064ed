/*
 * Workers: N threads, each owning one libuv loop, its own SO_REUSEPORT
 * listening sockets, its downstream connections, its upstream connection
 * pools, its buffer pool and its access log buffer. Workers share only the
 * immutable config snapshot and the log sink.
 *
 * tt_server_run binds every listening socket first (so an address in use is
 * reported before anything starts), starts the workers, and waits for
 * SIGTERM or SIGINT. Then every worker stops accepting, lets in-flight
 * exchanges finish for up to timeouts.grace, closes every handle, and the
 * process exits. SIGHUP reloads the config file (server.c, "Reload" in
 * README.md): a new generation of workers takes over the same listening
 * sockets while the old one drains on its own snapshot.
 *
 * Invariant: everything reachable from a worker is touched only by that
 * worker's thread, except `stop` (an async handle), the log sink (locked)
 * and `metrics`, which the admin endpoint reads (relaxed atomics; the
 * fault ring under its mutex).
 *
 * The main thread's loop waits for signals, runs the active health probes
 * and serves the admin endpoint (obs/admin.h).
 */
#ifndef TT_CORE_WORKER_H
#define TT_CORE_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "core/buf.h"
#include "fault/catalogue.h"
#include "http/h1_parse.h"
#include "obs/access_log.h"
#include "obs/metrics.h"
#include "net/splice.h"

#define TT_WORKER_MAGIC 0x74747772u

struct tt_conn;
struct tt_exchange;
struct tt_stale_store;
struct tt_admin_source;

/* Kinds of downstream timeouts; each has one FIFO list per worker, sorted
 * by deadline because every entry of a kind has the same duration. */
enum tt_conn_timeout {
	TT_CT_NONE = 0,
	TT_CT_HEAD,      /* timeouts.downstream_head */
	TT_CT_KEEPALIVE, /* timeouts.downstream_keepalive */
	TT_CT_BODY,      /* timeouts.downstream_idle */
	TT_CT_LINGER,    /* lingering close */
	TT_CT__COUNT
};
struct tt_pool;
struct tt_upstream_rt;

struct tt_dns;
struct tt_ring;

struct tt_worker {
	uint32_t magic;
	unsigned id;
	const struct tt_config *cfg; /* its generation holds the reference */
	struct tt_gen *gen;          /* the generation it belongs to (worker_int.h) */
	uv_loop_t loop;
	uv_thread_t thread;
	uv_async_t stop; /* sent by the main thread on SIGTERM/SIGINT or a reload */
	uv_timer_t tick; /* 100 ms: log flush, shutdown progress */
	uv_tcp_t *listeners;
	int *listen_fds;      /* bound by the main thread, opened on this loop */
	uint32_t *listen_cfg; /* [nlisteners]: the config listener each serves */
	size_t nlisteners;    /* sockets; a reload to fewer workers gives some two per address */

	struct tt_bufpool bufs;
	struct tt_pipepool pipes;       /* for spliced response bodies (net/splice.h) */
	struct tt_ring *ring;           /* batched socket sends (net/ring.h); NULL: libuv writes */
	struct tt_h1_field *fields;     /* scratch for one parse: limits.header_count */
	struct tt_h1_field *req_fields; /* scratch to parse a kept request head again */
	struct tt_stale_store *stale;   /* stale-if-error copies; NULL when off */
	struct tt_h1_limits limits;
	struct tt_upstream_rt *ups; /* one per config upstream group */
	struct tt_lb_server *lb;    /* scratch for one pick: the largest group's size */
	int *lb_usable;
	double *lb_factor;
	size_t nups;

	/* Resolves upstream servers named by host name (upstream/resolve.h). */
	struct tt_dns *dns; /* NULL when none is named */

	struct tt_conn *conns; /* every downstream connection, for shutdown */
	_Atomic uint32_t
	    *ds_total; /* downstream connections of all workers (limits.max_connections) */
	struct tt_conn *tfirst[TT_CT__COUNT], *tlast[TT_CT__COUNT]; /* timeout lists */
	/* Accepting pauses when ds_total reaches ds_cap, the connections the
	 * descriptor limit can carry (core/conn.h); held[i] is set while
	 * listener i holds a connection libuv accepted but we did not take. */
	uint32_t ds_cap;
	unsigned char *held;
	size_t nconns;
	struct tt_exchange *free_exchanges; /* recycled, so a request allocates nothing */

	struct tt_log_buf log;
	char ps_name[80]; /* cfg->name as a Proxy-Status member name */
	/* Counters, histograms and the fault ring (obs/metrics.h): written by
	 * this worker only, read by the admin endpoint. */
	struct tt_metrics metrics;
	/* The admin pages, when admin.allow_public serves them on a public
	 * listener (cfg->admin.shared); NULL otherwise. */
	const struct tt_admin_source *admin;
	uint64_t rng[2]; /* xorshift128+ state for request ids */
	/* The clock of the loop turn (tt_worker_now_ns); 0: not read yet. */
	uint64_t now_ns, wall_ms;
	uv_prepare_t clock_prepare; /* before the loop waits: the clock goes stale */
	uv_check_t clock_check;     /* after the turn's I/O callbacks: likewise */
	int stopping;
	uint64_t stop_deadline_ms; /* uv_now() value after which everything is cut */
};

/* The worker's clock, read once per loop turn: the first read after the
 * loop waits is kept until the turn's I/O callbacks are done, and the
 * first read after that until it waits again (timers, closes). So requests
 * handled in one turn share one reading, as nginx's and HAProxy's cached
 * clocks do; it is at most one turn's work behind. Nanoseconds on
 * uv_hrtime's scale. */
static inline uint64_t tt_worker_now_ns(struct tt_worker *w)
{
	if (!w->now_ns)
		w->now_ns = uv_hrtime();
	return w->now_ns;
}

/* The same, as wall-clock milliseconds since the epoch (for logs and
 * cache ages). worker.c. */
uint64_t tt_worker_wall_ms(struct tt_worker *w);

/* Run telltale on this config until SIGTERM/SIGINT. Prints where it listens
 * on stderr. path: the file cfg came from, loaded again on SIGHUP (and
 * the pid file, cfg->pid_file, is written); NULL: no reload, no pid file.
 * Takes its own reference to cfg. Returns the process exit
 * status (0 after a clean stop, 1 when a listener or the access log cannot
 * be opened). server.c. */
int tt_server_run(struct tt_config *cfg, const char *path);

/* A fresh 128-bit random value from the worker's generator. */
void tt_worker_random(struct tt_worker *w, uint64_t *hi, uint64_t *lo);

/* Called by a connection when it is gone, so shutdown can finish. */
void tt_worker_conn_gone(struct tt_worker *w);

#endif
