/*
 * Smooth weighted round robin: exact shares over a window, spread out.
 */
#include <criterion/criterion.h>

#include "upstream/balancer.h"

Test(balancer, weights_give_exact_shares_per_window)
{
	uint32_t w[3] = {5, 1, 1};
	struct tt_balancer b;
	int count[3] = {0};
	tt_balancer_init(&b, w, 3);
	for (int i = 0; i < 7 * 100; i++)
		count[tt_balancer_pick(&b)]++;
	cr_assert_eq(count[0], 500);
	cr_assert_eq(count[1], 100);
	cr_assert_eq(count[2], 100);
	tt_balancer_fini(&b);
}

Test(balancer, smooth_sequence_matches_nginx)
{
	/* nginx's documented sequence for weights 5,1,1: a a b a c a a */
	uint32_t w[3] = {5, 1, 1};
	size_t want[7] = {0, 0, 1, 0, 2, 0, 0};
	struct tt_balancer b;
	tt_balancer_init(&b, w, 3);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(tt_balancer_pick(&b), want[i], "pick %d", i);
	tt_balancer_fini(&b);
}

Test(balancer, equal_weights_alternate)
{
	uint32_t w[2] = {1, 1};
	struct tt_balancer b;
	tt_balancer_init(&b, w, 2);
	size_t prev = tt_balancer_pick(&b);
	for (int i = 0; i < 10; i++) {
		size_t next = tt_balancer_pick(&b);
		cr_assert_neq(next, prev, "pick %d repeated server %zu", i, next);
		prev = next;
	}
	tt_balancer_fini(&b);
}
