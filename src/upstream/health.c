/*
 * Upstream server health shared by every worker thread (see health.h):
 * passive ejection, probe state, slow start, panic mode, connection
 * counts, with the breaker of breaker.c. Lock-free: each server's state is
 * a cache line of atomics; ejection, which must look at the whole group to
 * respect max_ejected_percent, is serialised by a try-lock that nobody
 * waits on (a thread that finds it taken skips the ejection; the next
 * counted failure tries again).
 *
 * Invariant: a server is ejected exactly when ejected_until > now; its
 * up_since (the start of its latest comeback) is never earlier than the
 * end of its latest ejection, and only grows.
 */
#include "upstream/health.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fault/fault.h"

/* The last probe result, one word so the status page never mixes two
 * probes: bits 0-9 status, 10-16 fault id, 17 ok, 18 probed, 19-63 time. */
#define PR_STATUS_MASK 0x3ffu
#define PR_FAULT_SHIFT 10
#define PR_FAULT_MASK  0x7fu
#define PR_OK          (UINT64_C(1) << 17)
#define PR_PROBED      (UINT64_C(1) << 18)
#define PR_T_SHIFT     19
_Static_assert(TT_FAULT__COUNT <= PR_FAULT_MASK + 1, "fault ids fit the probe word");

#define CACHE_LINE 64

/* One server's shared state. Aligned so that two servers never share a
 * cache line (false sharing would make one server's traffic slow the
 * other's). */
struct server {
	_Alignas(CACHE_LINE) _Atomic uint64_t ejected_until; /* ms; <= now: not ejected */
	_Atomic uint64_t up_since;   /* ms, start of the latest comeback; 0 = none yet */
	_Atomic uint64_t probe_last; /* last probe result, PR_* above */
	_Atomic uint32_t consec;     /* counted failures in a row */
	_Atomic uint32_t streak;     /* ejections in the current streak (doubling) */
	_Atomic uint32_t ejections;  /* all ejections */
	_Atomic uint32_t probe_down; /* 1 = down by the active probe */
	_Atomic uint32_t conns;      /* open connections, all workers */
	/* Written by the prober's thread only; atomic so a prober may move
	 * to another thread between runs. */
	_Atomic uint32_t probe_ok_run, probe_fail_run;
	struct tt_fail_window window; /* passive failure ratio */
	struct tt_breaker breaker;
};

struct tt_health_group {
	uint32_t magic;
	size_t n;
	/* The config, copied with out-of-range values made safe once, so the
	 * hot path does not check them. */
	struct tt_cfg_passive_health passive;
	struct tt_cfg_breaker breaker;
	uint32_t healthy_threshold, unhealthy_threshold;
	uint64_t slow_start_ms;
	uint32_t max_connections;
	atomic_flag eject_lock; /* held while one server is being ejected */
	_Atomic uint64_t ejections;
	struct server *srv; /* n entries, CACHE_LINE aligned; owned */
};

int tt_health_counts(enum tt_fault_id fault)
{
	const struct tt_fault_info *fi = tt_fault_info((int)fault);
	if (!fi || fi->side != TT_SIDE_UPSTREAM)
		return 0;
	switch (fault) {
	/* One endpoint produces these the same way on every server (its
	 * response is too big, or its coding or upgrade is wrong): they say
	 * nothing of the server's health. */
	case TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE:
	case TT_FAULT_HTTP_RESPONSE_HEADER_SIZE:
	case TT_FAULT_HTTP_RESPONSE_BODY_SIZE:
	case TT_FAULT_HTTP_RESPONSE_CONTENT_CODING:
	case TT_FAULT_HTTP_UPGRADE_FAILED: return 0;
	default: return 1;
	}
}

static struct tt_cfg_passive_health passive_params(const struct tt_cfg_passive_health *c)
{
	struct tt_cfg_passive_health p = *c;
	if (p.window_ms == 0)
		p.window_ms = 1;
	if (p.min_requests == 0)
		p.min_requests = 1;
	if (p.eject_ms == 0)
		p.eject_ms = 1;
	if (p.max_eject_ms < p.eject_ms)
		p.max_eject_ms = p.eject_ms;
	return p;
}

struct tt_health_group *tt_health_group_new(const struct tt_cfg_upstream *cfg)
{
	struct tt_health_group *g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	g->magic = TT_HEALTH_MAGIC;
	g->n = cfg->nservers;
	g->passive = passive_params(&cfg->passive);
	g->breaker = tt_breaker_params(&cfg->breaker);
	g->healthy_threshold = cfg->active.healthy_threshold ? cfg->active.healthy_threshold : 1;
	g->unhealthy_threshold =
	    cfg->active.unhealthy_threshold ? cfg->active.unhealthy_threshold : 1;
	g->slow_start_ms = cfg->slow_start_ms;
	g->max_connections = cfg->max_connections;
	atomic_flag_clear(&g->eject_lock);
	atomic_init(&g->ejections, 0);
	/* aligned_alloc wants a size that is a multiple of the alignment,
	 * which sizeof(struct server) is; never 0 bytes. */
	size_t n = g->n ? g->n : 1;
	g->srv = aligned_alloc(CACHE_LINE, n * sizeof(struct server));
	if (!g->srv)
		abort();
	memset(g->srv, 0, n * sizeof(struct server));
	for (size_t i = 0; i < n; i++)
		tt_breaker_init(&g->srv[i].breaker);
	return g;
}

void tt_health_group_free(struct tt_health_group **g)
{
	if (!g || !*g)
		return;
	assert((*g)->magic == TT_HEALTH_MAGIC);
	(*g)->magic = 0;
	free((*g)->srv);
	free(*g);
	*g = NULL;
}

#define COPY(f)                                                                                    \
	atomic_store_explicit(&d->f, atomic_load_explicit(&s->f, memory_order_relaxed),            \
	                      memory_order_relaxed)

void tt_health_group_inherit(struct tt_health_group *g, const struct tt_cfg_upstream *cfg,
                             const struct tt_health_group *old,
                             const struct tt_cfg_upstream *old_cfg)
{
	assert(g->magic == TT_HEALTH_MAGIC && old->magic == TT_HEALTH_MAGIC);
	/* The group's ejection count is a metric's counter: it goes on. */
	atomic_store_explicit(&g->ejections,
	                      atomic_load_explicit(&old->ejections, memory_order_relaxed),
	                      memory_order_relaxed);
	for (size_t i = 0; i < g->n && i < cfg->nservers; i++) {
		for (size_t j = 0; j < old->n && j < old_cfg->nservers; j++) {
			struct server *d = &g->srv[i];
			const struct server *s = &old->srv[j];
			if (strcmp(cfg->servers[i].address, old_cfg->servers[j].address) != 0)
				continue;
			COPY(ejected_until);
			COPY(up_since);
			COPY(probe_last);
			COPY(consec);
			COPY(streak);
			COPY(ejections);
			COPY(probe_down);
			COPY(probe_ok_run);
			COPY(probe_fail_run);
			COPY(window.packed);
			tt_breaker_inherit(&d->breaker, &s->breaker);
			break;
		}
	}
}

#undef COPY

size_t tt_health_group_size(const struct tt_health_group *g)
{
	return g->n;
}

static struct server *srv_at(const struct tt_health_group *g, size_t i)
{
	assert(g->magic == TT_HEALTH_MAGIC);
	assert(i < g->n);
	return &g->srv[i];
}

/* Reads of fields that are never written through this pointer: the casts
 * only drop const (C11 before DR 459 has no const atomic_load). */
#define LOAD64(p, o) atomic_load_explicit((_Atomic uint64_t *)(p), (o))
#define LOAD32(p, o) atomic_load_explicit((_Atomic uint32_t *)(p), (o))

static void max_store(_Atomic uint64_t *a, uint64_t v)
{
	uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
	while (old < v && !atomic_compare_exchange_weak_explicit(a, &old, v, memory_order_release,
	                                                         memory_order_relaxed))
		;
}

static int is_ejected(const struct server *s, uint64_t now_ms)
{
	return LOAD64(&s->ejected_until, memory_order_acquire) > now_ms;
}

static int is_healthy(const struct server *s, uint64_t now_ms)
{
	return !is_ejected(s, now_ms) && !LOAD32(&s->probe_down, memory_order_acquire);
}

static double slow_factor(const struct tt_health_group *g, const struct server *s, uint64_t now_ms)
{
	uint64_t since = LOAD64(&s->up_since, memory_order_relaxed);
	if (since == 0 || g->slow_start_ms == 0)
		return 1.0;
	/* A comeback scheduled for the end of an ejection still running. */
	if (now_ms < since)
		return TT_HEALTH_SLOW_START_FLOOR;
	uint64_t elapsed = now_ms - since;
	if (elapsed >= g->slow_start_ms)
		return 1.0;
	double f = (double)elapsed / (double)g->slow_start_ms;
	return f < TT_HEALTH_SLOW_START_FLOOR ? TT_HEALTH_SLOW_START_FLOOR : f;
}

/* Panic: below panic_percent healthy (not ejected, not probe-down), or
 * none of the healthy able to take a request now (all behind an open
 * circuit). Without the second rule, one ejected server back up and one
 * open circuit answered 503 with a server ready (found by the soak,
 * docs/hardening.md); counting open circuits as unhealthy instead sent
 * traffic to ejected servers while a healthy one was there. */
static int in_panic(const struct tt_health_group *g, size_t healthy, size_t ready)
{
	return g->passive.panic_percent &&
	       ((uint64_t)healthy * 100 < (uint64_t)g->passive.panic_percent * g->n || !ready);
}

void tt_health_snapshot(const struct tt_health_group *g, uint64_t now_ms, int *usable,
                        double *factor)
{
	assert(g->magic == TT_HEALTH_MAGIC);
	size_t healthy = 0, ready = 0;
	/* First pass: the circuit's verdict in usable[], the health verdict
	 * in factor[] (-1 = unhealthy), so panic can be decided on the
	 * whole group before either is final. */
	for (size_t i = 0; i < g->n; i++) {
		const struct server *s = &g->srv[i];
		int h = is_healthy(s, now_ms);
		usable[i] = tt_breaker_allows(&s->breaker, &g->breaker, now_ms);
		factor[i] = h ? slow_factor(g, s, now_ms) : -1.0;
		healthy += (size_t)h;
		ready += (size_t)(h && usable[i]);
	}
	int panic = in_panic(g, healthy, ready);
	for (size_t i = 0; i < g->n; i++) {
		if (panic)
			factor[i] = usable[i] ? 1.0 : 0.0;
		else if (!usable[i] || factor[i] < 0) {
			usable[i] = 0;
			factor[i] = 0.0;
		}
	}
}

int tt_health_acquire(struct tt_health_group *g, size_t i, uint64_t now_ms)
{
	struct server *s = srv_at(g, i);
	return tt_breaker_acquire(&s->breaker, &g->breaker, now_ms);
}

static size_t count_ejected(const struct tt_health_group *g, uint64_t now_ms)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n; i++)
		n += (size_t)is_ejected(&g->srv[i], now_ms);
	return n;
}

/* eject_ms doubled per earlier ejection of the streak, capped. */
static uint64_t eject_time(const struct tt_cfg_passive_health *p, uint32_t streak)
{
	uint64_t d = p->eject_ms;
	for (uint32_t k = 0; k < streak && d < p->max_eject_ms; k++)
		d *= 2;
	return d < p->max_eject_ms ? d : p->max_eject_ms;
}

/* Called with the group's eject lock held. */
static void eject_locked(struct tt_health_group *g, struct server *s, uint64_t now_ms)
{
	const struct tt_cfg_passive_health *p = &g->passive;
	size_t limit = (size_t)((uint64_t)g->n * p->max_ejected_percent / 100);
	if (limit == 0)
		limit = 1; /* at least one server, as Envoy does */
	if (is_ejected(s, now_ms) || count_ejected(g, now_ms) >= limit)
		return;
	uint64_t prev_until = atomic_load_explicit(&s->ejected_until, memory_order_relaxed);
	uint32_t streak = atomic_load_explicit(&s->streak, memory_order_relaxed);
	/* Back and well for longer than the longest ejection: the earlier
	 * ejections are history, start from eject_ms again. */
	if (prev_until && now_ms - prev_until >= p->max_eject_ms)
		streak = 0;
	uint64_t until = now_ms + eject_time(p, streak);
	atomic_store_explicit(&s->streak, streak < 63 ? streak + 1 : streak, memory_order_relaxed);
	/* The failures that led here must not eject it again the moment it
	 * comes back. */
	atomic_store_explicit(&s->consec, 0, memory_order_relaxed);
	tt_fail_window_reset(&s->window);
	/* Its comeback, hence slow start, begins when the ejection ends:
	 * written before the ejection so no reader sees it end without it. */
	max_store(&s->up_since, until);
	atomic_store_explicit(&s->ejected_until, until, memory_order_release);
	atomic_fetch_add_explicit(&s->ejections, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g->ejections, 1, memory_order_relaxed);
}

static void try_eject(struct tt_health_group *g, struct server *s, uint64_t now_ms)
{
	if (g->passive.max_ejected_percent == 0 || is_ejected(s, now_ms))
		return;
	if (atomic_flag_test_and_set_explicit(&g->eject_lock, memory_order_acquire))
		return;
	eject_locked(g, s, now_ms);
	atomic_flag_clear_explicit(&g->eject_lock, memory_order_release);
}

static void passive(struct tt_health_group *g, struct server *s, int failed, uint64_t now_ms)
{
	const struct tt_cfg_passive_health *p = &g->passive;
	uint32_t total, fails;
	if (!failed) {
		/* Write only when there is something to reset: a success on a
		 * healthy server leaves the line clean in other caches. */
		if (atomic_load_explicit(&s->consec, memory_order_relaxed) != 0)
			atomic_store_explicit(&s->consec, 0, memory_order_relaxed);
		if (p->failure_percent)
			tt_fail_window_add(&s->window, p->window_ms, now_ms, 0, &total, &fails);
		return;
	}
	int eject = 0;
	uint32_t run = atomic_fetch_add_explicit(&s->consec, 1, memory_order_relaxed) + 1;
	if (p->consecutive_failures && run >= p->consecutive_failures)
		eject = 1;
	if (p->failure_percent) {
		tt_fail_window_add(&s->window, p->window_ms, now_ms, 1, &total, &fails);
		if (tt_fail_ratio_reached(total, fails, p->min_requests, p->failure_percent))
			eject = 1;
	}
	if (eject)
		try_eject(g, s, now_ms);
}

void tt_health_report(struct tt_health_group *g, size_t i, int ok, enum tt_fault_id fault,
                      uint64_t now_ms)
{
	struct server *s = srv_at(g, i);
	if (!ok && !tt_health_counts(fault)) {
		tt_breaker_report(&s->breaker, &g->breaker, TT_BREAKER_NEUTRAL, now_ms);
		return;
	}
	passive(g, s, !ok, now_ms);
	tt_breaker_report(&s->breaker, &g->breaker, ok ? TT_BREAKER_SUCCESS : TT_BREAKER_FAILURE,
	                  now_ms);
}

enum tt_health_probe_change tt_health_probe_report(struct tt_health_group *g, size_t i, int ok,
                                                   int status, enum tt_fault_id fault,
                                                   uint64_t now_ms)
{
	struct server *s = srv_at(g, i);
	uint64_t st = status > 0 && status <= (int)PR_STATUS_MASK ? (uint64_t)status : 0;
	uint64_t word = st | ((uint64_t)fault & PR_FAULT_MASK) << PR_FAULT_SHIFT |
	                (ok ? PR_OK : 0) | PR_PROBED | now_ms << PR_T_SHIFT;
	atomic_store_explicit(&s->probe_last, word, memory_order_relaxed);
	/* telltale's own trouble (no descriptor, no local port) says nothing
	 * of the server: shown, but counted towards neither threshold. */
	const struct tt_fault_info *fi = tt_fault_info((int)fault);
	if (!ok && fi && fi->side == TT_SIDE_PROXY)
		return TT_HEALTH_PROBE_SAME;

	int down = (int)atomic_load_explicit(&s->probe_down, memory_order_relaxed);
	_Atomic uint32_t *run = ok ? &s->probe_ok_run : &s->probe_fail_run;
	atomic_store_explicit(ok ? &s->probe_fail_run : &s->probe_ok_run, 0, memory_order_relaxed);
	uint32_t n = atomic_load_explicit(run, memory_order_relaxed) + 1;
	atomic_store_explicit(run, n, memory_order_relaxed);
	if (ok && down && n >= g->healthy_threshold) {
		/* Slow start begins now, published before the server is up. */
		max_store(&s->up_since, now_ms);
		atomic_store_explicit(&s->probe_down, 0, memory_order_release);
		return TT_HEALTH_PROBE_WENT_UP;
	}
	if (!ok && !down && n >= g->unhealthy_threshold) {
		atomic_store_explicit(&s->probe_down, 1, memory_order_release);
		return TT_HEALTH_PROBE_WENT_DOWN;
	}
	return TT_HEALTH_PROBE_SAME;
}

int tt_health_conn_acquire(struct tt_health_group *g, size_t i)
{
	struct server *s = srv_at(g, i);
	if (g->max_connections == 0) {
		atomic_fetch_add_explicit(&s->conns, 1, memory_order_relaxed);
		return 1;
	}
	uint32_t c = atomic_load_explicit(&s->conns, memory_order_relaxed);
	do {
		if (c >= g->max_connections)
			return 0;
	} while (!atomic_compare_exchange_weak_explicit(&s->conns, &c, c + 1, memory_order_relaxed,
	                                                memory_order_relaxed));
	return 1;
}

void tt_health_conn_release(struct tt_health_group *g, size_t i)
{
	struct server *s = srv_at(g, i);
	uint32_t prev = atomic_fetch_sub_explicit(&s->conns, 1, memory_order_relaxed);
	assert(prev > 0);
	(void)prev;
}

const char *tt_health_state_name(enum tt_health_state s)
{
	switch (s) {
	case TT_HEALTH_CIRCUIT_OPEN: return "circuit_open";
	case TT_HEALTH_EJECTED: return "ejected";
	case TT_HEALTH_PROBE_DOWN: return "probe_down";
	case TT_HEALTH_HALF_OPEN: return "half_open";
	case TT_HEALTH_SLOW_START: return "slow_start";
	case TT_HEALTH_UP: return "up";
	}
	return "unknown";
}

static void view_probe(const struct server *s, struct tt_health_view *out)
{
	uint64_t w = LOAD64(&s->probe_last, memory_order_relaxed);
	out->probe_down = (int)LOAD32(&s->probe_down, memory_order_relaxed);
	out->probed = (w & PR_PROBED) != 0;
	out->probe_ok = (w & PR_OK) != 0;
	out->probe_status = (int)(w & PR_STATUS_MASK);
	out->probe_fault = (enum tt_fault_id)((w >> PR_FAULT_SHIFT) & PR_FAULT_MASK);
	out->probe_at_ms = w >> PR_T_SHIFT;
}

void tt_health_server_view(const struct tt_health_group *g, size_t i, uint64_t now_ms,
                           struct tt_health_view *out)
{
	const struct server *s = srv_at(g, i);
	memset(out, 0, sizeof(*out));
	uint64_t until = LOAD64(&s->ejected_until, memory_order_acquire);
	out->ejected_until_ms = until > now_ms ? until : 0;
	out->circuit = tt_breaker_state(&s->breaker, now_ms, &out->open_until_ms);
	out->factor = slow_factor(g, s, now_ms);
	out->ejections = LOAD32(&s->ejections, memory_order_relaxed);
	out->consecutive_failures = LOAD32(&s->consec, memory_order_relaxed);
	tt_fail_window_read(&s->window, g->passive.window_ms, now_ms, &out->window_requests,
	                    &out->window_failures);
	out->connections = LOAD32(&s->conns, memory_order_relaxed);
	view_probe(s, out);
	if (out->circuit == TT_BREAKER_OPEN)
		out->state = TT_HEALTH_CIRCUIT_OPEN;
	else if (out->ejected_until_ms)
		out->state = TT_HEALTH_EJECTED;
	else if (out->probe_down)
		out->state = TT_HEALTH_PROBE_DOWN;
	else if (out->circuit == TT_BREAKER_HALF_OPEN)
		out->state = TT_HEALTH_HALF_OPEN;
	else if (out->factor < 1.0)
		out->state = TT_HEALTH_SLOW_START;
	else
		out->state = TT_HEALTH_UP;
}

void tt_health_summary(const struct tt_health_group *g, uint64_t now_ms,
                       struct tt_health_summary *out)
{
	assert(g->magic == TT_HEALTH_MAGIC);
	memset(out, 0, sizeof(*out));
	out->nservers = g->n;
	size_t ready = 0;
	for (size_t i = 0; i < g->n; i++) {
		const struct server *s = &g->srv[i];
		int h = is_healthy(s, now_ms);
		out->healthy += (size_t)h;
		ready += (size_t)(h && tt_breaker_allows(&s->breaker, &g->breaker, now_ms));
	}
	out->panic = in_panic(g, out->healthy, ready); /* as tt_health_snapshot decides it */
	for (size_t i = 0; i < g->n; i++) {
		const struct server *s = &g->srv[i];
		if (tt_breaker_allows(&s->breaker, &g->breaker, now_ms) &&
		    (out->panic || is_healthy(s, now_ms)))
			out->usable++;
	}
	out->ejections =
	    atomic_load_explicit((_Atomic uint64_t *)&g->ejections, memory_order_relaxed);
}
