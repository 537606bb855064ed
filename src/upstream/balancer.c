/*
 * The balancer's front: counts the usable servers, settles `avoid`, and
 * hands the pick to the group's algorithm (rr.c, leastconn.c, p2c.c). Also
 * the helpers every algorithm shares: the effective weight and the latency
 * moving average.
 *
 * Invariant: an algorithm is only called with at least one usable server
 * left once `skip` is taken out, so -1 comes from here alone.
 */
#include "upstream/balancer.h"

#include <stdlib.h>

void tt_balancer_init(struct tt_balancer *b, enum tt_cfg_balance kind, size_t n)
{
	b->kind = kind;
	b->n = n;
	b->current = calloc(n ? n : 1, sizeof(*b->current));
	if (!b->current)
		abort();
}

void tt_balancer_fini(struct tt_balancer *b)
{
	free(b->current);
	b->current = NULL;
	b->n = 0;
}

uint64_t tt_lb_weight(const struct tt_lb_server *s)
{
	double factor = s->weight_factor;
	uint64_t w = s->weight ? s->weight : 1;
	uint64_t ew;

	/* Written so that a NaN factor reads as "not usable". */
	if (!s->usable || !(factor > 0.0))
		return 0;
	if (factor > 1.0)
		factor = 1.0;
	ew = (uint64_t)((double)w * factor * TT_LB_WEIGHT_SCALE + 0.5);
	return ew ? ew : 1;
}

int tt_balancer_pick(struct tt_balancer *b, const struct tt_lb_server *s, int avoid, uint64_t rnd)
{
	size_t usable = 0;
	int skip = -1;

	for (size_t i = 0; i < b->n; i++)
		if (tt_lb_weight(&s[i]))
			usable++;
	if (!usable)
		return -1;
	/* A retry goes elsewhere when it can; with one server left, it goes
	 * back there rather than nowhere. */
	if (avoid >= 0 && (size_t)avoid < b->n && usable > 1 && tt_lb_weight(&s[avoid]))
		skip = avoid;
	switch (b->kind) {
	case TT_CFG_BALANCE_LEAST_CONN: return tt_lb_leastconn_pick(b, s, skip);
	case TT_CFG_BALANCE_P2C: return tt_lb_p2c_pick(b, s, skip, rnd);
	case TT_CFG_BALANCE_ROUND_ROBIN:
	default: return tt_lb_rr_pick(b, s, skip);
	}
}

double tt_lb_ewma(double prev_ms, double sample_ms)
{
	if (!(sample_ms >= 0.0))
		return prev_ms;
	if (!(prev_ms > 0.0))
		return sample_ms;
	return prev_ms + TT_LB_EWMA_ALPHA * (sample_ms - prev_ms);
}
