/*
 * Least connections: the usable server with the fewest requests in flight
 * per unit of effective weight. Requests in flight are counted per worker,
 * like the rest of the balancer's state.
 *
 * Ties are common (at low concurrency every server is idle) and are broken
 * by smooth weighted round robin among the tied servers only, as nginx's
 * least_conn does: a rotation that ignored weights would send a weight-5
 * and a weight-1 server the same share of sequential traffic.
 *
 * Invariant: the pick has the lowest active / weight of the usable servers.
 */
#include "upstream/balancer.h"

/* Requests in flight per unit of weight. Division is correctly rounded,
 * so equal ratios (1/100 and 2/200) give equal doubles and tie. */
static double load(const struct tt_lb_server *s, uint64_t w)
{
	return (double)s->active / (double)w;
}

int tt_lb_leastconn_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip)
{
	double least = 0.0;
	int found = 0, best = -1;
	int64_t total = 0;

	for (size_t i = 0; i < b->n; i++) {
		uint64_t w = tt_lb_weight(&s[i]);
		if (!w || (int)i == skip)
			continue;
		if (!found || load(&s[i], w) < least)
			least = load(&s[i], w);
		found = 1;
	}
	/* Smooth WRR over the servers at the least load (see rr.c). */
	for (size_t i = 0; found && i < b->n; i++) {
		uint64_t w = tt_lb_weight(&s[i]);
		if (!w || (int)i == skip || load(&s[i], w) != least)
			continue;
		b->current[i] += (int64_t)w;
		total += (int64_t)w;
		if (best < 0 || b->current[i] > b->current[best])
			best = (int)i;
	}
	if (best >= 0)
		b->current[best] -= total;
	return best;
}
