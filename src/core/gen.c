/*
 * Generations of workers (worker_int.h): making one for a config snapshot,
 * handing it its listening sockets, starting, stopping and freeing it,
 * and keeping the metrics of the ones before it (issue 7, item 4).
 *
 * Invariant: a socket listening on an address that two generations share
 * is never closed between them. The new generation gets dup()s of every
 * socket the old one accepts on for that address (so a connection waiting
 * in any of their backlogs is accepted by the new one), and the old one
 * closes its copies only when told to stop, after the new one listens.
 * Everything here runs on the main thread.
 */
#include "core/gen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proxy/exchange.h"
#include "upstream/health.h"
#include "upstream/probe.h"

struct tt_gen_sink {
	struct tt_log_sink sink;
	char *path; /* the config's access_log value; NULL = off */
	int refs;   /* generations using it (main thread only) */
};

struct tt_log_sink *tt_gen_log_sink(struct tt_gen *g)
{
	return &g->sink->sink;
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The access log of cfg: the previous generation's sink while the value
 * is the same (one writer lock, lines never interleave), else a new one
 * (which also reopens a rotated file). */
static struct tt_gen_sink *sink_get(struct tt_gen *prev, const char *where, FILE *err)
{
	struct tt_gen_sink *k;
	int r;
	if (prev && same_str(prev->sink->path, where)) {
		prev->sink->refs++;
		return prev->sink;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		abort();
	r = tt_log_sink_open(&k->sink, where);
	if (r < 0) {
		fprintf(err, "telltale: cannot open access log %s: %s\n", where, strerror(-r));
		free(k);
		return NULL;
	}
	k->path = where ? strdup(where) : NULL;
	if (where && !k->path)
		abort();
	k->refs = 1;
	return k;
}

static void sink_put(struct tt_gen_sink **kp)
{
	struct tt_gen_sink *k = *kp;
	*kp = NULL;
	if (!k || --k->refs)
		return;
	tt_log_sink_close(&k->sink);
	free(k->path);
	free(k);
}

/* Pages add what earlier generations counted (tt_admin_source.fold). */
static void fold(const struct tt_admin_source *src, struct tt_metrics *sum)
{
	struct tt_gen *g = src->fold_arg;
	pthread_mutex_lock(&g->mu);
	tt_metrics_add(sum, &g->base);
	if (g->prev)
		for (unsigned i = 0; i < g->prev->n; i++)
			tt_metrics_fold(sum, g->cfg, g->prev->metrics[i], g->prev->cfg, 1);
	pthread_mutex_unlock(&g->mu);
}

/* A reload: group i of g takes over what the serving generation knows of
 * the servers it keeps (the group of the same name; upstream/health.h). */
static void inherit_health(struct tt_gen *g, size_t i, const struct tt_gen *prev)
{
	const struct tt_cfg_upstream *u = &g->cfg->upstreams[i];
	if (!prev)
		return;
	for (size_t j = 0; j < prev->cfg->nupstreams; j++) {
		if (strcmp(prev->cfg->upstreams[j].name, u->name) == 0) {
			tt_health_group_inherit(g->health[i], u, prev->health[j],
			                        &prev->cfg->upstreams[j]);
			return;
		}
	}
}

struct tt_gen *tt_gen_new(struct tt_config *cfg, uint64_t id, const struct tt_gen_env *env,
                          FILE *err)
{
	struct tt_gen *g = calloc(1, sizeof(*g));
	size_t ng = cfg->nupstreams ? cfg->nupstreams : 1;
	if (!g)
		abort();
	g->sink = sink_get(env->prev, cfg->access_log, err);
	if (!g->sink) {
		free(g);
		return NULL;
	}
	tt_cfg_ref(cfg);
	g->cfg = cfg;
	g->id = id;
	g->n = cfg->workers ? cfg->workers : 1;
	g->ds_total = env->ds_total;
	g->workers = calloc(g->n, sizeof(*g->workers));
	g->metrics = calloc(g->n, sizeof(*g->metrics));
	g->health = calloc(ng, sizeof(*g->health));
	g->probers = calloc(ng, sizeof(*g->probers));
	if (!g->workers || !g->metrics || !g->health || !g->probers)
		abort();
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		g->health[i] = tt_health_group_new(&cfg->upstreams[i]);
		inherit_health(g, i, env->prev);
	}
	pthread_mutex_init(&g->mu, NULL);
	tt_metrics_init(&g->base, cfg);
	g->admin_src = (struct tt_admin_source){
	    .cfg = cfg,
	    .workers = g->metrics,
	    .nworkers = g->n,
	    .health = g->health,
	    .ds_total = env->ds_total,
	    .started_ms = env->started_ms,
	    .reload = env->info,
	    .fold = fold,
	    .fold_arg = g,
	};
	for (unsigned i = 0; i < g->n; i++) {
		tt_worker_init(&g->workers[i], i, g);
		g->metrics[i] = &g->workers[i].metrics;
	}
	g->owner = env->owner;
	uv_async_init(env->loop, &g->done, env->on_done);
	g->done.data = g;
	return g;
}

/* One listening socket per worker per address, all bound with
 * SO_REUSEPORT so the kernel spreads connections over the workers. */
int tt_gen_bind_one(const struct sockaddr_storage *addr, socklen_t addr_len, int reuseport)
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
	/* Accepted sockets inherit TCP_NODELAY: one setsockopt per listener
	 * instead of one per connection. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* HTTP clients speak first: the kernel hands a connection over with
	 * its first bytes, so an accept and the request's first read come in
	 * one wakeup, not two. A client that stays silent is handed over
	 * after one SYN-ACK retransmission (about a second) and then meets the
	 * header timeout as usual. h2o does the same; nginx's `deferred`. */
	setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)addr, addr_len) < 0 ||
	    listen(fd, TT_LISTEN_BACKLOG) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int same_addr(const struct tt_cfg_listener *a, const struct tt_cfg_listener *b)
{
	return a->addr_len == b->addr_len && !memcmp(&a->addr, &b->addr, a->addr_len);
}

/* Give the workers of g the sockets of config listener j: dups of every
 * socket old accepts on for that address, then new ones up to one per
 * worker; socket k goes to worker k % n. */
static int bind_listener(struct tt_gen *g, size_t j, const struct tt_gen *old, FILE *err)
{
	const struct tt_cfg_listener *l = &g->cfg->listeners[j];
	unsigned k = 0;
	for (unsigned i = 0; old && i < old->n; i++) {
		const struct tt_worker *ow = &old->workers[i];
		for (size_t m = 0; m < ow->nlisteners; m++) {
			if (!same_addr(l, &old->cfg->listeners[ow->listen_cfg[m]]))
				continue;
			int fd = dup(ow->listen_fds[m]);
			if (fd < 0) {
				fprintf(err, "telltale: cannot take over %s: %s\n", l->address,
				        strerror(errno));
				return -1;
			}
			tt_worker_listen_add(&g->workers[k++ % g->n], fd, (uint32_t)j);
		}
	}
	for (; k < g->n; k++) {
		int fd = tt_gen_bind_one(&l->addr, l->addr_len, 1);
		if (fd < 0) {
			fprintf(err, "telltale: cannot listen on %s: %s\n", l->address,
			        strerror(-fd));
			return -1;
		}
		tt_worker_listen_add(&g->workers[k], fd, (uint32_t)j);
	}
	return 0;
}

int tt_gen_bind(struct tt_gen *g, const struct tt_gen *old, FILE *err)
{
	for (size_t j = 0; j < g->cfg->nlisteners; j++)
		if (bind_listener(g, j, old, err) < 0)
			return -1;
	return 0;
}

void tt_gen_start(struct tt_gen *g, uv_loop_t *loop)
{
	const struct tt_config *cfg = g->cfg;
	/* Active health checks run on the main thread's loop: it only
	 * waits for signals otherwise. */
	for (size_t i = 0; i < cfg->nupstreams; i++)
		if (cfg->upstreams[i].active.path)
			g->probers[i] = tt_prober_start(loop, g->health[i], &cfg->upstreams[i]);
	atomic_store(&g->running, g->n);
	g->threads = 1;
	for (unsigned i = 0; i < g->n; i++)
		tt_worker_start(&g->workers[i]);
}

void tt_gen_stop(struct tt_gen *g)
{
	if (g->stopping)
		return;
	g->stopping = 1;
	for (size_t i = 0; i < g->cfg->nupstreams; i++)
		tt_prober_stop(&g->probers[i]);
	for (unsigned i = 0; i < g->n; i++)
		tt_worker_stop(&g->workers[i]);
}

void tt_gen_adopt(struct tt_gen *g, struct tt_gen *old)
{
	/* old->prev is NULL: a reload waits for the one before to drain. */
	pthread_mutex_lock(&g->mu);
	tt_metrics_fold(&g->base, g->cfg, &old->base, old->cfg, 0);
	g->prev = old;
	pthread_mutex_unlock(&g->mu);
}

void tt_gen_retire(struct tt_gen *g)
{
	struct tt_gen *old = g->prev;
	if (!old)
		return;
	pthread_mutex_lock(&g->mu);
	for (unsigned i = 0; i < old->n; i++)
		tt_metrics_fold(&g->base, g->cfg, old->metrics[i], old->cfg, 0);
	g->prev = NULL;
	pthread_mutex_unlock(&g->mu);
}

static void on_done_closed(uv_handle_t *h)
{
	free(h->data);
}

void tt_gen_free(struct tt_gen **gp)
{
	struct tt_gen *g = *gp;
	*gp = NULL;
	if (!g)
		return;
	for (unsigned i = 0; i < g->n; i++) {
		struct tt_worker *w = &g->workers[i];
		if (g->threads) {
			uv_thread_join(&w->thread);
		} else {
			/* Never started: close what the thread would have. */
			for (size_t j = 0; j < w->nlisteners; j++)
				close(w->listen_fds[j]);
			w->nlisteners = 0;
			uv_close((uv_handle_t *)&w->stop, NULL);
			uv_close((uv_handle_t *)&w->tick, NULL);
		}
		tt_worker_fini(w);
	}
	for (size_t i = 0; i < g->cfg->nupstreams; i++) {
		tt_prober_stop(&g->probers[i]);
		tt_health_group_free(&g->health[i]);
	}
	free(g->health);
	free(g->probers);
	free(g->metrics);
	free(g->workers);
	tt_metrics_fini(&g->base);
	pthread_mutex_destroy(&g->mu);
	sink_put(&g->sink);
	tt_cfg_unref(&g->cfg);
	g->done.data = g;
	uv_close((uv_handle_t *)&g->done, on_done_closed);
}
