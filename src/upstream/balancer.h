/*
 * Server choice within an upstream group: smooth weighted round robin (the
 * algorithm nginx uses), per worker. A later issue adds least connections
 * and power-of-two choices behind the same two functions.
 *
 * Invariant: over any window of sum(weights) picks, server i is chosen
 * exactly weight(i) times, spread out rather than in runs.
 */
#ifndef TT_UPSTREAM_BALANCER_H
#define TT_UPSTREAM_BALANCER_H

#include <stddef.h>
#include <stdint.h>

struct tt_balancer {
	size_t n;
	const uint32_t *weights; /* n entries, each >= 1; not owned */
	int64_t *current;        /* n entries; heap, owned */
	int64_t total;
};

void tt_balancer_init(struct tt_balancer *b, const uint32_t *weights, size_t n);
void tt_balancer_fini(struct tt_balancer *b);
/* The index of the next server. */
size_t tt_balancer_pick(struct tt_balancer *b);

#endif
