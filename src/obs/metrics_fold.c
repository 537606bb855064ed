/*
 * Folding one generation's metrics into another's across a config reload
 * (issue 7, item 4): see tt_metrics_fold in metrics.h.
 *
 * Label sets are matched by what a scraper sees, not by index: a route by
 * its label (host and path prefix, tt_view_route_label), a group by its
 * name, a server by its group's name and its address. A counter whose
 * label set is gone from the new config is dropped with it; one whose
 * label set is still there keeps counting up from where it was.
 */
#include "obs/metrics.h"

#include <string.h>

#include "obs/view.h"

#define LABEL_MAX 512

static void add_n(tt_counter *dst, const tt_counter *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tt_counter_add(&dst[i], tt_counter_get(&src[i]));
}

static void add_hist(struct tt_hist *dst, const struct tt_hist *src)
{
	add_n(dst->buckets, src->buckets, TT_METRICS_BUCKETS + 1);
	tt_counter_add(&dst->sum_us, tt_counter_get(&src->sum_us));
}

/* The route of dcfg with src route r's label; dcfg->nroutes for "none";
 * -1 when the label is gone. */
static long map_route(const struct tt_config *dcfg, const struct tt_config *scfg, size_t r)
{
	char want[LABEL_MAX], have[LABEL_MAX];
	if (r >= scfg->nroutes)
		return (long)dcfg->nroutes;
	tt_view_route_label(scfg, r, want, sizeof(want));
	for (size_t i = 0; i < dcfg->nroutes; i++) {
		tt_view_route_label(dcfg, i, have, sizeof(have));
		if (!strcmp(want, have))
			return (long)i;
	}
	return -1;
}

static long map_group(const struct tt_config *dcfg, const struct tt_config *scfg, size_t g)
{
	for (size_t i = 0; i < dcfg->nupstreams; i++)
		if (!strcmp(dcfg->upstreams[i].name, scfg->upstreams[g].name))
			return (long)i;
	return -1;
}

static long map_server(const struct tt_config *dcfg, size_t dg, const struct tt_config *scfg,
                       size_t sg, size_t s)
{
	const char *want = scfg->upstreams[sg].servers[s].address;
	for (size_t i = 0; i < dcfg->upstreams[dg].nservers; i++)
		if (!strcmp(dcfg->upstreams[dg].servers[i].address, want))
			return (long)i;
	return -1;
}

static void fold_routes(struct tt_metrics *dst, const struct tt_config *dcfg,
                        const struct tt_metrics *src, const struct tt_config *scfg)
{
	for (size_t r = 0; r <= src->nroutes; r++) {
		long d = map_route(dcfg, scfg, r);
		if (d < 0)
			continue;
		add_n(&dst->requests[(size_t)d * TT_METRICS_CLASSES],
		      &src->requests[r * TT_METRICS_CLASSES], TT_METRICS_CLASSES);
		tt_counter_add(&dst->stale[d], tt_counter_get(&src->stale[r]));
		add_hist(&dst->total[d], &src->total[r]);
	}
}

static void fold_server(struct tt_metrics *dst, size_t ds, const struct tt_metrics *src, size_t ss,
                        int gauges)
{
	tt_counter_add(&dst->attempts[ds], tt_counter_get(&src->attempts[ss]));
	add_n(&dst->faults[ds * TT_FAULT__COUNT], &src->faults[ss * TT_FAULT__COUNT],
	      TT_FAULT__COUNT);
	if (!gauges)
		return;
	tt_counter_add(&dst->idle[ds], tt_counter_get(&src->idle[ss]));
	tt_counter_add(&dst->open[ds], tt_counter_get(&src->open[ss]));
	tt_counter_add(&dst->active[ds], tt_counter_get(&src->active[ss]));
}

static void fold_groups(struct tt_metrics *dst, const struct tt_config *dcfg,
                        const struct tt_metrics *src, const struct tt_config *scfg, int gauges)
{
	for (size_t g = 0; g < src->ngroups; g++) {
		long d = map_group(dcfg, scfg, g);
		size_t dslot, sslot = src->nservers + g;
		if (d < 0)
			continue;
		tt_counter_add(&dst->retries[d], tt_counter_get(&src->retries[g]));
		add_hist(&dst->connect[d], &src->connect[g]);
		add_hist(&dst->head[d], &src->head[g]);
		dslot = dst->nservers + (size_t)d;
		add_n(&dst->faults[dslot * TT_FAULT__COUNT], &src->faults[sslot * TT_FAULT__COUNT],
		      TT_FAULT__COUNT);
		for (size_t s = 0; s < scfg->upstreams[g].nservers; s++) {
			long ds = map_server(dcfg, (size_t)d, scfg, g, s);
			if (ds >= 0)
				fold_server(dst, tt_metrics_server(dst, (size_t)d, (size_t)ds), src,
				            tt_metrics_server(src, g, s), gauges);
		}
	}
}

void tt_metrics_fold(struct tt_metrics *dst, const struct tt_config *dcfg,
                     const struct tt_metrics *src, const struct tt_config *scfg, int gauges)
{
	size_t dnone = (dst->nservers + dst->ngroups) * TT_FAULT__COUNT;
	size_t snone = (src->nservers + src->ngroups) * TT_FAULT__COUNT;
	fold_routes(dst, dcfg, src, scfg);
	fold_groups(dst, dcfg, src, scfg, gauges);
	add_n(&dst->faults[dnone], &src->faults[snone], TT_FAULT__COUNT);
	tt_counter_add(&dst->accepted, tt_counter_get(&src->accepted));
	tt_counter_add(&dst->accept_paused, tt_counter_get(&src->accept_paused));
	tt_counter_add(&dst->spliced, tt_counter_get(&src->spliced));
	tt_counter_add(&dst->upload_spliced, tt_counter_get(&src->upload_spliced));
}
