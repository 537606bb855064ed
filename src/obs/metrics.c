/*
 * Per-worker metrics and the fault ring: see metrics.h.
 */
#include "obs/metrics.h"

#include <stdlib.h>
#include <string.h>

const uint32_t tt_metrics_bucket_ms[TT_METRICS_BUCKETS] = {1,   2,   5,    10,   25,   50,   100,
                                                           250, 500, 1000, 2500, 5000, 10000};

static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort();
	return p;
}

void tt_metrics_init(struct tt_metrics *m, const struct tt_config *cfg)
{
	size_t r, g, s = 0;
	memset(m, 0, sizeof(*m));
	m->nroutes = cfg->nroutes;
	m->ngroups = cfg->nupstreams;
	m->group_first = zalloc(m->ngroups, sizeof(*m->group_first));
	for (g = 0; g < m->ngroups; g++) {
		m->group_first[g] = s;
		s += cfg->upstreams[g].nservers;
	}
	m->nservers = s;
	r = m->nroutes + 1;
	m->requests = zalloc(r * TT_METRICS_CLASSES, sizeof(*m->requests));
	m->stale = zalloc(r, sizeof(*m->stale));
	m->total = zalloc(r, sizeof(*m->total));
	m->retries = zalloc(m->ngroups, sizeof(*m->retries));
	m->connect = zalloc(m->ngroups, sizeof(*m->connect));
	m->head = zalloc(m->ngroups, sizeof(*m->head));
	m->attempts = zalloc(s, sizeof(*m->attempts));
	m->idle = zalloc(s, sizeof(*m->idle));
	m->open = zalloc(s, sizeof(*m->open));
	m->active = zalloc(s, sizeof(*m->active));
	m->faults = zalloc((s + m->ngroups + 1) * TT_FAULT__COUNT, sizeof(*m->faults));
	m->ring = zalloc(m->ngroups * TT_METRICS_RING, sizeof(*m->ring));
	pthread_mutex_init(&m->ring_mu, NULL);
}

void tt_metrics_fini(struct tt_metrics *m)
{
	if (!m->requests)
		return;
	free(m->group_first);
	free(m->requests);
	free(m->stale);
	free(m->total);
	free(m->retries);
	free(m->connect);
	free(m->head);
	free(m->attempts);
	free(m->idle);
	free(m->open);
	free(m->active);
	free(m->faults);
	free(m->ring);
	pthread_mutex_destroy(&m->ring_mu);
	memset(m, 0, sizeof(*m));
}

size_t tt_metrics_server(const struct tt_metrics *m, size_t group, size_t server)
{
	return m->group_first[group] + server;
}

void tt_hist_observe(struct tt_hist *h, double ms)
{
	size_t i = 0;
	if (ms < 0)
		ms = 0;
	while (i < TT_METRICS_BUCKETS && ms > tt_metrics_bucket_ms[i])
		i++;
	tt_counter_add(&h->buckets[i], 1);
	tt_counter_add(&h->sum_us, (uint64_t)(ms * 1000.0 + 0.5));
}

void tt_metrics_request(struct tt_metrics *m, size_t route, int status, double ms)
{
	size_t cls = status >= 100 && status <= 599 ? (size_t)(status / 100 - 1) : 5;
	if (route > m->nroutes)
		route = m->nroutes;
	tt_counter_add(&m->requests[route * TT_METRICS_CLASSES + cls], 1);
	tt_hist_observe(&m->total[route], ms);
}

void tt_metrics_fault(struct tt_metrics *m, int group, int server, enum tt_fault_id id)
{
	size_t slot;
	if ((int)id <= 0 || id >= TT_FAULT__COUNT)
		return;
	if (group < 0 || (size_t)group >= m->ngroups)
		slot = m->nservers + m->ngroups;
	else if (server < 0)
		slot = m->nservers + (size_t)group;
	else
		slot = tt_metrics_server(m, (size_t)group, (size_t)server);
	tt_counter_add(&m->faults[slot * TT_FAULT__COUNT + id], 1);
}

static void add_all(tt_counter *dst, const tt_counter *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tt_counter_add(&dst[i], tt_counter_get(&src[i]));
}

static void add_hists(struct tt_hist *dst, const struct tt_hist *src, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		add_all(dst[i].buckets, src[i].buckets, TT_METRICS_BUCKETS + 1);
		tt_counter_add(&dst[i].sum_us, tt_counter_get(&src[i].sum_us));
	}
}

void tt_metrics_add(struct tt_metrics *dst, const struct tt_metrics *src)
{
	size_t r = src->nroutes + 1, s = src->nservers;
	add_all(dst->requests, src->requests, r * TT_METRICS_CLASSES);
	add_all(dst->stale, src->stale, r);
	add_hists(dst->total, src->total, r);
	add_all(dst->retries, src->retries, src->ngroups);
	add_hists(dst->connect, src->connect, src->ngroups);
	add_hists(dst->head, src->head, src->ngroups);
	add_all(dst->attempts, src->attempts, s);
	add_all(dst->idle, src->idle, s);
	add_all(dst->open, src->open, s);
	add_all(dst->active, src->active, s);
	add_all(dst->faults, src->faults, (s + src->ngroups + 1) * TT_FAULT__COUNT);
	tt_counter_add(&dst->accepted, tt_counter_get(&src->accepted));
	tt_counter_add(&dst->accept_paused, tt_counter_get(&src->accept_paused));
	tt_counter_add(&dst->spliced, tt_counter_get(&src->spliced));
	tt_counter_add(&dst->upload_spliced, tt_counter_get(&src->upload_spliced));
}

void tt_metrics_note(struct tt_metrics *m, size_t group, struct tt_fault_note *note)
{
	struct tt_fault_note *slot;
	if (group >= m->ngroups)
		return;
	pthread_mutex_lock(&m->ring_mu);
	note->seq = ++m->ring_seq;
	slot = &m->ring[group * TT_METRICS_RING + note->seq % TT_METRICS_RING];
	*slot = *note;
	pthread_mutex_unlock(&m->ring_mu);
}

size_t tt_metrics_notes(struct tt_metrics *src, size_t group, struct tt_fault_note *out, size_t cap)
{
	size_t n = 0;
	if (group >= src->ngroups)
		return 0;
	pthread_mutex_lock(&src->ring_mu);
	for (size_t i = 0; i < TT_METRICS_RING && n < cap; i++) {
		const struct tt_fault_note *e = &src->ring[group * TT_METRICS_RING + i];
		if (e->seq)
			out[n++] = *e;
	}
	pthread_mutex_unlock(&src->ring_mu);
	/* Newest first: an insertion sort of at most TT_METRICS_RING. */
	for (size_t i = 1; i < n; i++) {
		struct tt_fault_note t = out[i];
		size_t j = i;
		while (j > 0 && out[j - 1].seq < t.seq) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = t;
	}
	return n;
}

void tt_metrics_note_bytes(struct tt_fault_note *note, const char *head, size_t len, size_t offset)
{
	size_t from, n;
	if (!head || !len) {
		note->bad_len = 0;
		return;
	}
	if (offset >= len)
		offset = len - 1;
	from = offset > TT_METRICS_BAD_BYTES / 4 ? offset - TT_METRICS_BAD_BYTES / 4 : 0;
	n = len - from < TT_METRICS_BAD_BYTES ? len - from : TT_METRICS_BAD_BYTES;
	memcpy(note->bad, head + from, n);
	note->bad_len = (uint32_t)n;
	note->bad_at = (uint32_t)(offset - from);
	note->bad_offset = offset;
}
