/*
 * One worker thread: its loop, its listeners, its tick and its drain (see
 * worker.h). The process around the workers, signals and reloads, is
 * server.c (worker_int.h).
 */
#include "core/worker.h"
#include "core/worker_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/conn.h"
#include "net/addr.h"
#include "net/ring.h"
#include "obs/admin.h"
#include "proxy/exchange.h"
#include "respond/proxy_status.h"
#include "respond/stale.h"
#include "upstream/balancer.h"
#include "upstream/health.h"
#include "upstream/pool.h"
#include "upstream/probe.h"
#include "upstream/resolve.h"

#define TICK_MS 100

void tt_worker_random(struct tt_worker *w, uint64_t *hi, uint64_t *lo)
{
	/* xorshift128+: fast and good enough for ids, not for secrets. */
	for (int i = 0; i < 2; i++) {
		uint64_t s1 = w->rng[0];
		const uint64_t s0 = w->rng[1];
		w->rng[0] = s0;
		s1 ^= s1 << 23;
		w->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
		*(i ? lo : hi) = w->rng[1] + s0;
	}
}

static void maybe_finish(struct tt_worker *w)
{
	if (!w->stopping || w->nconns)
		return;
	for (size_t i = 0; i < w->nups; i++)
		tt_upstream_rt_close_idle(&w->ups[i]);
	tt_resolve_close(w);
	if (!uv_is_closing((uv_handle_t *)&w->tick))
		uv_close((uv_handle_t *)&w->tick, NULL);
	if (!uv_is_closing((uv_handle_t *)&w->stop))
		uv_close((uv_handle_t *)&w->stop, NULL);
}

void tt_worker_conn_gone(struct tt_worker *w)
{
	w->nconns--;
	maybe_finish(w);
}

/* Pool sizes are the worker's own plain fields; the tick copies them
 * where the admin endpoint reads (obs/metrics.h), at most 100 ms old. */
static void publish_pools(struct tt_worker *w, size_t g)
{
	const struct tt_upstream_rt *rt = &w->ups[g];
	for (size_t i = 0; i < rt->cfg->nservers; i++) {
		size_t s = tt_metrics_server(&w->metrics, g, i);
		tt_gauge_set(&w->metrics.idle[s], rt->pools[i].nidle);
		tt_gauge_set(&w->metrics.open[s], rt->pools[i].nlive);
		tt_gauge_set(&w->metrics.active[s], rt->pools[i].active);
	}
}

static void on_tick(uv_timer_t *t)
{
	struct tt_worker *w = t->data;
	tt_conn_expire(w, uv_now(&w->loop));
	tt_conn_accept_resume(w);
	tt_log_flush(&w->log);
	tt_bufpool_trim(&w->bufs);
	for (size_t i = 0; i < w->nups; i++) {
		tt_upstream_rt_trim(&w->ups[i], uv_now(&w->loop));
		tt_upstream_rt_expire(&w->ups[i], uv_now(&w->loop));
		publish_pools(w, i);
	}
	if (w->stopping && uv_now(&w->loop) >= w->stop_deadline_ms) {
		/* Past the grace period: cut what is left. */
		struct tt_conn *c = w->conns;
		while (c) {
			struct tt_conn *next = c->next;
			tt_conn_close(c);
			c = next;
		}
	}
}

void tt_worker_stop(struct tt_worker *w)
{
	uv_async_send(&w->stop);
}

static void on_stop(uv_async_t *a)
{
	struct tt_worker *w = a->data;
	struct tt_conn *c;
	if (w->stopping)
		return;
	w->stopping = 1;
	w->stop_deadline_ms = uv_now(&w->loop) + w->cfg->timeouts.grace_ms;
	for (size_t i = 0; i < w->nlisteners; i++)
		uv_close((uv_handle_t *)&w->listeners[i], NULL);
	c = w->conns;
	while (c) {
		struct tt_conn *next = c->next;
		tt_conn_shutdown(c);
		c = next;
	}
	for (size_t i = 0; i < w->nups; i++)
		tt_upstream_rt_close_idle(&w->ups[i]);
	maybe_finish(w);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct tt_worker *w = listener->data;
	if (status < 0 || w->stopping)
		return;
	tt_conn_accept(w, listener);
}

static void worker_main(void *arg)
{
	struct tt_worker *w = arg;
	struct tt_gen *g = w->gen;
	for (size_t i = 0; i < w->nlisteners; i++) {
		uv_tcp_init(&w->loop, &w->listeners[i]);
		w->listeners[i].data = w;
		uv_tcp_open(&w->listeners[i], w->listen_fds[i]);
		int r =
		    uv_listen((uv_stream_t *)&w->listeners[i], TT_LISTEN_BACKLOG, on_connection);
		if (r)
			fprintf(stderr, "telltale: worker %u: listen: %s\n", w->id, uv_strerror(r));
	}
	/* Made here: a ring with deferred completions belongs to the thread
	 * that creates it. */
	if (w->cfg->io_uring) {
		int err = 0;
		w->ring = tt_ring_new(&w->loop, &err);
		if (!w->ring && w->id == 0)
			fprintf(
			    stderr,
			    "telltale: io_uring unavailable (%s): socket writes go through libuv, "
			    "one system call each\n",
			    uv_strerror(err));
	}
	uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	/* Nothing is left to send: every connection is closed. */
	tt_ring_close(w->ring);
	w->ring = NULL;
	tt_log_flush(&w->log);
	/* The last of its generation tells the main loop, which joins them. */
	if (atomic_fetch_sub(&g->running, 1) == 1)
		uv_async_send(&g->done);
}

void tt_worker_start(struct tt_worker *w)
{
	uv_thread_create(&w->thread, worker_main, w);
}

void tt_worker_listen_add(struct tt_worker *w, int fd, uint32_t cfg_index)
{
	size_t n = w->nlisteners + 1;
	w->listeners = realloc(w->listeners, n * sizeof(*w->listeners));
	w->listen_fds = realloc(w->listen_fds, n * sizeof(*w->listen_fds));
	w->listen_cfg = realloc(w->listen_cfg, n * sizeof(*w->listen_cfg));
	if (!w->listeners || !w->listen_fds || !w->listen_cfg)
		abort();
	w->listen_fds[n - 1] = fd;
	w->listen_cfg[n - 1] = cfg_index;
	w->nlisteners = n;
}

uint64_t tt_worker_wall_ms(struct tt_worker *w)
{
	if (!w->wall_ms) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		w->wall_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	}
	return w->wall_ms;
}

static void clock_stale(struct tt_worker *w)
{
	w->now_ns = 0;
	w->wall_ms = 0;
}

static void on_clock_prepare(uv_prepare_t *h)
{
	clock_stale(h->data);
}

static void on_clock_check(uv_check_t *h)
{
	clock_stale(h->data);
}

void tt_worker_init(struct tt_worker *w, unsigned id, struct tt_gen *g)
{
	const struct tt_config *cfg = g->cfg;
	uint32_t head = cfg->limits.head_bytes;

	memset(w, 0, sizeof(*w));
	w->magic = TT_WORKER_MAGIC;
	w->id = id;
	w->cfg = cfg;
	w->gen = g;
	uv_loop_init(&w->loop);
	uv_async_init(&w->loop, &w->stop, on_stop);
	uv_timer_init(&w->loop, &w->tick);
	w->stop.data = w->tick.data = w;
	uv_prepare_init(&w->loop, &w->clock_prepare);
	uv_check_init(&w->loop, &w->clock_check);
	w->clock_prepare.data = w->clock_check.data = w;
	uv_prepare_start(&w->clock_prepare, on_clock_prepare);
	uv_check_start(&w->clock_check, on_clock_check);
	uv_unref((uv_handle_t *)&w->clock_prepare);
	uv_unref((uv_handle_t *)&w->clock_check);
	w->ds_total = g->ds_total;
	tt_metrics_init(&w->metrics, cfg);
	if (cfg->admin.shared)
		w->admin = &g->admin_src;
	/* A block holds a whole head plus room to stream a body behind it. */
	/* 64 spare blocks (2 MiB at the default size) absorb the usual
	 * swings; bursts beyond map and unmap pages. */
	tt_bufpool_init(&w->bufs, (size_t)head + 16384, 64);
	w->limits.max_head_bytes = head;
	w->limits.max_target_bytes = head / 2;
	w->limits.max_field_bytes = head / 2;
	w->limits.max_fields = cfg->limits.header_count;
	w->fields = calloc(cfg->limits.header_count, sizeof(*w->fields));
	w->req_fields = calloc(cfg->limits.header_count, sizeof(*w->req_fields));
	if (!w->req_fields)
		abort();
	/* Per worker, so a hot path never takes a lock: the configured
	 * size is each worker's. */
	w->stale = tt_stale_new(cfg->stale.max_bytes, cfg->stale.max_object_bytes);
	w->nups = cfg->nupstreams;
	w->ups = calloc(w->nups ? w->nups : 1, sizeof(*w->ups));
	if (!w->fields || !w->ups)
		abort();
	size_t most = 1;
	for (size_t i = 0; i < w->nups; i++) {
		tt_upstream_rt_init(&w->ups[i], w, &cfg->upstreams[i]);
		w->ups[i].health = g->health[i];
		if (cfg->upstreams[i].nservers > most)
			most = cfg->upstreams[i].nservers;
	}
	w->lb = calloc(most, sizeof(*w->lb));
	w->lb_usable = calloc(most, sizeof(*w->lb_usable));
	w->lb_factor = calloc(most, sizeof(*w->lb_factor));
	if (!w->lb || !w->lb_usable || !w->lb_factor)
		abort();
	tt_log_buf_init(&w->log, tt_gen_log_sink(g));
	tt_resolve_open(w);
	if (tt_ps_name(w->ps_name, sizeof(w->ps_name), cfg->name) < 0)
		snprintf(w->ps_name, sizeof(w->ps_name), "telltale");
	if (getrandom(w->rng, sizeof(w->rng), 0) != sizeof(w->rng) ||
	    (w->rng[0] | w->rng[1]) == 0) {
		w->rng[0] = uv_hrtime() ^ ((uint64_t)id << 32);
		w->rng[1] = 0x9e3779b97f4a7c15ull;
	}
}

static void on_exchange_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

void tt_worker_fini(struct tt_worker *w)
{
	for (size_t i = 0; i < w->nups; i++)
		tt_upstream_rt_fini(&w->ups[i]);
	tt_resolve_close(w);
	/* Recycled exchanges keep their retry timer handle: close it, and
	 * free the exchange in its close callback. */
	while (w->free_exchanges) {
		struct tt_exchange *ex = w->free_exchanges;
		w->free_exchanges = ex->next_free;
		ex->retry_timer.data = ex;
		uv_close((uv_handle_t *)&ex->retry_timer, on_exchange_timer_closed);
	}
	uv_close((uv_handle_t *)&w->clock_prepare, NULL);
	uv_close((uv_handle_t *)&w->clock_check, NULL);
	/* Run the close callbacks of whatever the loop still holds. */
	uv_run(&w->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&w->loop) != 0)
		fprintf(stderr, "telltale: worker %u: handles left open at exit\n", w->id);
	tt_stale_free(&w->stale);
	free(w->req_fields);
	free(w->lb);
	free(w->lb_usable);
	free(w->lb_factor);
	tt_log_buf_fini(&w->log);
	tt_bufpool_fini(&w->bufs);
	tt_pipepool_fini(&w->pipes);
	free(w->fields);
	free(w->ups);
	free(w->listeners);
	free(w->listen_fds);
	free(w->listen_cfg);
	free(w->held);
	tt_metrics_fini(&w->metrics);
}
