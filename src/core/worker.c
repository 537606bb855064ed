/*
 * Workers and the process around them: see worker.h.
 */
#include "core/worker.h"

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
#include "obs/admin.h"
#include "proxy/exchange.h"
#include "respond/proxy_status.h"
#include "respond/stale.h"
#include "upstream/balancer.h"
#include "upstream/health.h"
#include "upstream/pool.h"
#include "upstream/probe.h"

#define TICK_MS 100
#define BACKLOG 511

struct server {
	struct tt_config *cfg;
	struct tt_worker *workers;
	unsigned n;
	struct tt_log_sink sink;
	uv_loop_t loop; /* main thread: signals, active probes, admin endpoint */
	uv_signal_t sigterm, sigint;
	int stopped;
	_Atomic uint32_t ds_total;       /* downstream connections, all workers */
	struct tt_health_group **health; /* per upstream group, shared by the workers */
	struct tt_prober **probers;      /* per group with active checks, on the main loop */
	struct tt_admin_source admin_src;
	struct tt_metrics **metrics; /* each worker's, for admin_src */
	struct tt_admin *admin;      /* NULL when off, not bound, or shared */
	int admin_fd;
};

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
	for (size_t i = 0; i < w->nlisteners; i++) {
		uv_tcp_init(&w->loop, &w->listeners[i]);
		w->listeners[i].data = w;
		uv_tcp_open(&w->listeners[i], w->listen_fds[i]);
		int r = uv_listen((uv_stream_t *)&w->listeners[i], BACKLOG, on_connection);
		if (r)
			fprintf(stderr, "telltale: worker %u: listen: %s\n", w->id, uv_strerror(r));
	}
	uv_timer_start(&w->tick, on_tick, TICK_MS, TICK_MS);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	tt_log_flush(&w->log);
}

static void worker_init(struct tt_worker *w, unsigned id, struct server *s)
{
	const struct tt_config *cfg = s->cfg;
	uint32_t head = cfg->limits.head_bytes;

	memset(w, 0, sizeof(*w));
	w->magic = TT_WORKER_MAGIC;
	w->id = id;
	w->cfg = cfg;
	uv_loop_init(&w->loop);
	uv_async_init(&w->loop, &w->stop, on_stop);
	uv_timer_init(&w->loop, &w->tick);
	w->stop.data = w->tick.data = w;
	w->ds_total = &s->ds_total;
	tt_metrics_init(&w->metrics, cfg);
	if (cfg->admin.shared)
		w->admin = &s->admin_src;
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
	w->nlisteners = cfg->nlisteners;
	w->listeners = calloc(w->nlisteners, sizeof(*w->listeners));
	w->listen_fds = calloc(w->nlisteners, sizeof(*w->listen_fds));
	if (!w->fields || !w->ups || !w->listeners || !w->listen_fds)
		abort();
	for (size_t i = 0; i < w->nlisteners; i++)
		w->listen_fds[i] = -1;
	size_t most = 1;
	for (size_t i = 0; i < w->nups; i++) {
		tt_upstream_rt_init(&w->ups[i], w, &cfg->upstreams[i]);
		w->ups[i].health = s->health[i];
		if (cfg->upstreams[i].nservers > most)
			most = cfg->upstreams[i].nservers;
	}
	w->lb = calloc(most, sizeof(*w->lb));
	w->lb_usable = calloc(most, sizeof(*w->lb_usable));
	w->lb_factor = calloc(most, sizeof(*w->lb_factor));
	if (!w->lb || !w->lb_usable || !w->lb_factor)
		abort();
	tt_log_buf_init(&w->log, &s->sink);
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

static void worker_fini(struct tt_worker *w)
{
	for (size_t i = 0; i < w->nups; i++)
		tt_upstream_rt_fini(&w->ups[i]);
	/* Recycled exchanges keep their retry timer handle: close it, and
	 * free the exchange in its close callback. */
	while (w->free_exchanges) {
		struct tt_exchange *ex = w->free_exchanges;
		w->free_exchanges = ex->next_free;
		ex->retry_timer.data = ex;
		uv_close((uv_handle_t *)&ex->retry_timer, on_exchange_timer_closed);
	}
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
	free(w->fields);
	free(w->ups);
	free(w->listeners);
	free(w->listen_fds);
	free(w->held);
	tt_metrics_fini(&w->metrics);
}

/* One listening socket per worker per address, all bound with
 * SO_REUSEPORT so the kernel spreads connections over the workers. */
static int bind_one(const struct sockaddr_storage *addr, socklen_t addr_len, int reuseport)
{
	int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (addr->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, addr_len) < 0 || listen(fd, BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* The admin socket: one, on the main loop, without SO_REUSEPORT so that a
 * second telltale cannot share the address and answer half the scrapes.
 * A default address that is taken only warns (two instances on one
 * machine still proxy); one written in the config stops the start. */
static int bind_admin(struct server *s)
{
	const struct tt_cfg_admin *a = &s->cfg->admin;
	int fd;
	s->admin_fd = -1;
	if (!a->address || a->shared)
		return 0;
	fd = bind_one(&a->addr, a->addr_len, 0);
	if (fd >= 0) {
		s->admin_fd = fd;
		return 0;
	}
	fprintf(stderr, "telltale: %s admin endpoint on %s: %s%s\n",
	        a->configured ? "cannot open the" : "warning: no", a->address, strerror(-fd),
	        a->configured ? "" : " (set admin.listen, or admin: off)");
	return a->configured ? -1 : 0;
}

static int bind_all(struct server *s)
{
	for (unsigned i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->cfg->nlisteners; j++) {
			const struct tt_cfg_listener *l = &s->cfg->listeners[j];
			int fd = bind_one(&l->addr, l->addr_len, 1);
			if (fd < 0) {
				fprintf(stderr, "telltale: cannot listen on %s: %s\n",
				        s->cfg->listeners[j].address, strerror(-fd));
				return -1;
			}
			s->workers[i].listen_fds[j] = fd;
		}
	}
	return bind_admin(s);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	if (s->stopped)
		return;
	s->stopped = 1;
	fprintf(stderr, "telltale: %s received, finishing in-flight requests (up to %llu ms)\n",
	        signum == SIGINT ? "SIGINT" : "SIGTERM",
	        (unsigned long long)s->cfg->timeouts.grace_ms);
	for (size_t i = 0; i < s->cfg->nupstreams; i++)
		tt_prober_stop(&s->probers[i]);
	tt_admin_stop(&s->admin);
	for (unsigned i = 0; i < s->n; i++)
		uv_async_send(&s->workers[i].stop);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
}

static void announce(const struct server *s)
{
	const struct tt_config *cfg = s->cfg;
	for (size_t i = 0; i < cfg->nlisteners; i++)
		fprintf(stderr, "telltale: listening on http://%s (%u worker%s)\n",
		        cfg->listeners[i].address, s->n, s->n == 1 ? "" : "s");
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		fprintf(stderr, "telltale: upstream %s:", cfg->upstreams[i].name);
		for (size_t j = 0; j < cfg->upstreams[i].nservers; j++)
			fprintf(stderr, " %s", cfg->upstreams[i].servers[j].address);
		fprintf(stderr, "\n");
	}
	if (s->admin || cfg->admin.shared)
		fprintf(stderr, "telltale: admin on http://%s/status and /metrics\n",
		        cfg->admin.address);
	fprintf(stderr, "telltale: try: curl -i http://%s/   (stop with Ctrl-C)\n",
	        cfg->nlisteners ? cfg->listeners[0].address : "");
}

/* `telltale run` blocks SIGTERM and SIGINT while it starts; one that came
 * meanwhile is delivered now, to on_signal, once the loop runs. */
static void unblock_stop_signals(void)
{
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
}

static void server_free(struct server *s)
{
	for (size_t i = 0; i < s->cfg->nupstreams; i++)
		tt_health_group_free(&s->health[i]);
	free(s->health);
	free(s->probers);
	free(s->metrics);
	tt_log_sink_close(&s->sink);
	free(s->workers);
}

int tt_server_run(struct tt_config *cfg)
{
	struct server s;
	int r;

	memset(&s, 0, sizeof(s));
	s.admin_fd = -1;
	s.cfg = cfg;
	s.n = cfg->workers ? cfg->workers : 1;
	signal(SIGPIPE, SIG_IGN);
	r = tt_log_sink_open(&s.sink, cfg->access_log);
	if (r < 0) {
		fprintf(stderr, "telltale: cannot open access log %s: %s\n", cfg->access_log,
		        strerror(-r));
		return 1;
	}
	s.workers = calloc(s.n, sizeof(*s.workers));
	s.health = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(*s.health));
	s.probers = calloc(cfg->nupstreams ? cfg->nupstreams : 1, sizeof(*s.probers));
	if (!s.workers || !s.health || !s.probers)
		abort();
	for (size_t i = 0; i < cfg->nupstreams; i++)
		s.health[i] = tt_health_group_new(&cfg->upstreams[i]);
	s.metrics = calloc(s.n, sizeof(*s.metrics));
	if (!s.metrics)
		abort();
	for (unsigned i = 0; i < s.n; i++) {
		worker_init(&s.workers[i], i, &s);
		s.metrics[i] = &s.workers[i].metrics;
	}
	s.admin_src = (struct tt_admin_source){
	    .cfg = cfg,
	    .workers = s.metrics,
	    .nworkers = s.n,
	    .health = s.health,
	    .ds_total = &s.ds_total,
	    .started_ms = (uint64_t)time(NULL) * 1000,
	};
	uv_loop_init(&s.loop);
	/* Active health checks run on the main thread's loop: it only
	 * waits for signals otherwise. */
	for (size_t i = 0; i < cfg->nupstreams; i++)
		if (cfg->upstreams[i].active.path)
			s.probers[i] = tt_prober_start(&s.loop, s.health[i], &cfg->upstreams[i]);
	uv_signal_init(&s.loop, &s.sigterm);
	uv_signal_init(&s.loop, &s.sigint);
	s.sigterm.data = s.sigint.data = &s;
	uv_signal_start(&s.sigterm, on_signal, SIGTERM);
	uv_signal_start(&s.sigint, on_signal, SIGINT);
	unblock_stop_signals();
	if (bind_all(&s) < 0) {
		for (unsigned i = 0; i < s.n; i++) {
			struct tt_worker *w = &s.workers[i];
			for (size_t j = 0; j < w->nlisteners; j++)
				if (w->listen_fds[j] >= 0)
					close(w->listen_fds[j]);
			w->nlisteners = 0;
			uv_close((uv_handle_t *)&w->stop, NULL);
			uv_close((uv_handle_t *)&w->tick, NULL);
			worker_fini(w);
		}
		uv_close((uv_handle_t *)&s.sigterm, NULL);
		uv_close((uv_handle_t *)&s.sigint, NULL);
		for (size_t i = 0; i < cfg->nupstreams; i++)
			tt_prober_stop(&s.probers[i]);
		if (s.admin_fd >= 0)
			close(s.admin_fd);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		uv_loop_close(&s.loop);
		server_free(&s);
		return 1;
	}
	if (s.admin_fd >= 0)
		s.admin = tt_admin_start(&s.loop, s.admin_fd, &s.admin_src);
	announce(&s);
	for (unsigned i = 0; i < s.n; i++)
		uv_thread_create(&s.workers[i].thread, worker_main, &s.workers[i]);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < s.n; i++) {
		uv_thread_join(&s.workers[i].thread);
		worker_fini(&s.workers[i]);
	}
	uv_loop_close(&s.loop);
	server_free(&s);
	fprintf(stderr, "telltale: stopped\n");
	return 0;
}
