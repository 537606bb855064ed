/*
 * Smooth weighted round robin, nginx's algorithm: every pick adds each
 * usable server's effective weight to its score, takes the highest score,
 * and subtracts the total of the weights added from it.
 *
 * Invariant: the scores sum to zero. A server that is unusable (or skipped)
 * keeps its score frozen and adds nothing to the total, so the others'
 * sequence is exactly the smooth sequence of their own weights, and the
 * frozen server resumes where it left off when it comes back.
 */
#include "upstream/balancer.h"

int tt_lb_rr_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip)
{
	int best = -1;
	int64_t total = 0;

	for (size_t i = 0; i < b->n; i++) {
		int64_t w = (int64_t)tt_lb_weight(&s[i]);
		if (!w || (int)i == skip)
			continue;
		b->current[i] += w;
		total += w;
		/* Strictly greater: ties go to the lowest index, as in nginx. */
		if (best < 0 || b->current[i] > b->current[best])
			best = (int)i;
	}
	if (best >= 0)
		b->current[best] -= total;
	return best;
}
