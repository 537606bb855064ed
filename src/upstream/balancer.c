/*
 * Smooth weighted round robin: every pick adds each server's weight to its
 * current score, takes the highest, and subtracts the total from it.
 */
#include "upstream/balancer.h"

#include <stdlib.h>

void tt_balancer_init(struct tt_balancer *b, const uint32_t *weights, size_t n)
{
	b->n = n;
	b->weights = weights;
	b->current = calloc(n ? n : 1, sizeof(*b->current));
	if (!b->current)
		abort();
	b->total = 0;
	for (size_t i = 0; i < n; i++)
		b->total += weights[i];
}

void tt_balancer_fini(struct tt_balancer *b)
{
	free(b->current);
	b->current = NULL;
}

size_t tt_balancer_pick(struct tt_balancer *b)
{
	size_t best = 0;
	if (b->n <= 1)
		return 0;
	for (size_t i = 0; i < b->n; i++) {
		b->current[i] += b->weights[i];
		if (b->current[i] > b->current[best])
			best = i;
	}
	b->current[best] -= b->total;
	return best;
}
