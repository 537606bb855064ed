/*
 * The balancer: round robin's exact shares and smooth spread, slow start,
 * avoid, least connections, power of two choices, the latency average.
 * Every test is deterministic: p2c is fed a fixed sequence of random values.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "upstream/balancer.h"

/* A fixed random sequence (splitmix64 over a counter). */
static uint64_t seq_next(uint64_t *state)
{
	uint64_t x = (*state += 0x9e3779b97f4a7c15ull);
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* n servers, all usable at full weight, idle, latency unknown. */
static void up(struct tt_lb_server *s, const uint32_t *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = (struct tt_lb_server){.weight = w[i], .weight_factor = 1.0, .usable = 1};
}

/* count[i] += picks of server i over `picks` picks; -1 picks fail the test. */
static void run(struct tt_balancer *b, const struct tt_lb_server *s, int avoid, int picks,
                int *count)
{
	uint64_t rnd = 42;
	for (int i = 0; i < picks; i++) {
		int k = tt_balancer_pick(b, s, avoid, seq_next(&rnd));
		cr_assert_geq(k, 0, "pick %d found no server", i);
		count[k]++;
	}
}

static const enum tt_cfg_balance kinds[3] = {TT_CFG_BALANCE_ROUND_ROBIN, TT_CFG_BALANCE_LEAST_CONN,
                                             TT_CFG_BALANCE_P2C};

Test(balancer_rr, weights_give_exact_shares_per_window)
{
	uint32_t w[3] = {5, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	int count[3] = {0};
	up(s, w, 3);
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 3);
	run(&b, s, -1, 7 * 100, count);
	cr_assert_eq(count[0], 500);
	cr_assert_eq(count[1], 100);
	cr_assert_eq(count[2], 100);
	tt_balancer_fini(&b);
}

Test(balancer_rr, smooth_sequence_matches_nginx)
{
	/* nginx's documented sequence for weights 5,1,1: a a b a c a a */
	uint32_t w[3] = {5, 1, 1};
	int want[7] = {0, 0, 1, 0, 2, 0, 0};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	up(s, w, 3);
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 3);
	for (int i = 0; i < 7; i++)
		cr_assert_eq(tt_balancer_pick(&b, s, -1, 0), want[i], "pick %d", i);
	tt_balancer_fini(&b);
}

Test(balancer_rr, equal_weights_alternate)
{
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	up(s, w, 2);
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	int prev = tt_balancer_pick(&b, s, -1, 0);
	for (int i = 0; i < 10; i++) {
		int next = tt_balancer_pick(&b, s, -1, 0);
		cr_assert_neq(next, prev, "pick %d repeated server %d", i, next);
		prev = next;
	}
	tt_balancer_fini(&b);
}

Test(balancer_rr, unusable_server_gets_nothing_and_others_keep_exact_shares)
{
	uint32_t w[3] = {5, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	int count[3] = {0};
	up(s, w, 3);
	s[1].usable = 0;
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 3);
	run(&b, s, -1, 6 * 100, count);
	cr_assert_eq(count[0], 500);
	cr_assert_eq(count[1], 0);
	cr_assert_eq(count[2], 100);
	tt_balancer_fini(&b);
}

Test(balancer_rr, spread_of_the_others_is_their_own_smooth_sequence)
{
	/* With server 1 out, 0 and 2 follow exactly the sequence a fresh
	 * balancer of weights 5,1 gives: the frozen score disturbs nothing. */
	uint32_t w3[3] = {5, 1, 1}, w2[2] = {5, 1};
	struct tt_lb_server s3[3], s2[2];
	struct tt_balancer b3, b2;
	up(s3, w3, 3);
	up(s2, w2, 2);
	s3[1].usable = 0;
	tt_balancer_init(&b3, TT_CFG_BALANCE_ROUND_ROBIN, 3);
	tt_balancer_init(&b2, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	for (int i = 0; i < 60; i++) {
		int got = tt_balancer_pick(&b3, s3, -1, 0);
		int want = tt_balancer_pick(&b2, s2, -1, 0) == 0 ? 0 : 2;
		cr_assert_eq(got, want, "pick %d", i);
	}
	tt_balancer_fini(&b3);
	tt_balancer_fini(&b2);
}

Test(balancer_rr, server_back_after_ejection_gets_its_share_again)
{
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int before[2] = {0}, after[2] = {0};
	up(s, w, 2);
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	s[1].usable = 0;
	run(&b, s, -1, 10, before);
	cr_assert_eq(before[0], 10);
	s[1].usable = 1;
	run(&b, s, -1, 100, after);
	cr_assert(abs(after[0] - after[1]) <= 1, "%d vs %d", after[0], after[1]);
	tt_balancer_fini(&b);
}

Test(balancer_rr, slow_start_factor_lowers_share_proportionally)
{
	/* Effective weights 100 and 25: exactly 4:1 over a window of 125. */
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int count[2] = {0};
	up(s, w, 2);
	s[1].weight_factor = 0.25;
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	run(&b, s, -1, 125 * 4, count);
	cr_assert_eq(count[0], 400);
	cr_assert_eq(count[1], 100);
	tt_balancer_fini(&b);
}

Test(balancer_rr, slow_start_factor_scales_with_configured_weight)
{
	/* Weight 4 at half ramp (200) against weight 2 at full (200): even. */
	uint32_t w[2] = {4, 2};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int count[2] = {0};
	up(s, w, 2);
	s[0].weight_factor = 0.5;
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	run(&b, s, -1, 400, count);
	cr_assert_eq(count[0], 200);
	cr_assert_eq(count[1], 200);
	tt_balancer_fini(&b);
}

Test(balancer, effective_weight_scales_rounds_and_clamps)
{
	struct tt_lb_server s = {.weight = 3, .weight_factor = 1.0, .usable = 1};
	cr_assert_eq(tt_lb_weight(&s), 300);
	s.weight_factor = 0.5;
	cr_assert_eq(tt_lb_weight(&s), 150);
	s.weight_factor = 0.0001; /* tiny but usable: at least 1 */
	cr_assert_eq(tt_lb_weight(&s), 1);
	s.weight_factor = 2.0; /* above 1 reads as 1 */
	cr_assert_eq(tt_lb_weight(&s), 300);
	s.weight_factor = 0.0;
	cr_assert_eq(tt_lb_weight(&s), 0);
	s.weight_factor = NAN;
	cr_assert_eq(tt_lb_weight(&s), 0);
	s.weight_factor = 1.0;
	s.usable = 0;
	cr_assert_eq(tt_lb_weight(&s), 0);
	s.usable = 1;
	s.weight = 0; /* read as 1 */
	cr_assert_eq(tt_lb_weight(&s), 100);
}

Test(balancer, factor_zero_means_not_usable_for_every_kind)
{
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	for (int k = 0; k < 3; k++) {
		struct tt_balancer b;
		int count[2] = {0};
		up(s, w, 2);
		s[0].weight_factor = 0.0;
		tt_balancer_init(&b, kinds[k], 2);
		run(&b, s, -1, 50, count);
		cr_assert_eq(count[0], 0, "kind %d", k);
		tt_balancer_fini(&b);
	}
}

Test(balancer, avoid_honoured_when_alternatives_exist)
{
	uint32_t w[3] = {5, 1, 1};
	struct tt_lb_server s[3];
	for (int k = 0; k < 3; k++) {
		struct tt_balancer b;
		int count[3] = {0};
		up(s, w, 3);
		tt_balancer_init(&b, kinds[k], 3);
		run(&b, s, 0, 200, count);
		cr_assert_eq(count[0], 0, "kind %d picked the avoided server", k);
		cr_assert_gt(count[1], 0, "kind %d", k);
		cr_assert_gt(count[2], 0, "kind %d", k);
		tt_balancer_fini(&b);
	}
}

Test(balancer, avoid_ignored_when_it_is_the_only_usable_server)
{
	uint32_t w[3] = {1, 1, 1};
	struct tt_lb_server s[3];
	for (int k = 0; k < 3; k++) {
		struct tt_balancer b;
		up(s, w, 3);
		s[1].usable = 0;
		s[2].weight_factor = 0.0;
		tt_balancer_init(&b, kinds[k], 3);
		for (int i = 0; i < 10; i++)
			cr_assert_eq(tt_balancer_pick(&b, s, 0, (uint64_t)i), 0, "kind %d", k);
		tt_balancer_fini(&b);
	}
}

Test(balancer, avoid_out_of_range_or_unusable_changes_nothing)
{
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int count[2] = {0};
	up(s, w, 2);
	tt_balancer_init(&b, TT_CFG_BALANCE_ROUND_ROBIN, 2);
	run(&b, s, 7, 10, count);
	run(&b, s, -5, 10, count);
	cr_assert_eq(count[0], 10);
	cr_assert_eq(count[1], 10);
	s[1].usable = 0;
	cr_assert_eq(tt_balancer_pick(&b, s, 1, 0), 0);
	tt_balancer_fini(&b);
}

Test(balancer, none_usable_gives_minus_one)
{
	uint32_t w[3] = {1, 2, 3};
	struct tt_lb_server s[3];
	for (int k = 0; k < 3; k++) {
		struct tt_balancer b;
		up(s, w, 3);
		s[0].usable = 0;
		s[1].usable = 0;
		s[2].weight_factor = 0.0;
		tt_balancer_init(&b, kinds[k], 3);
		cr_assert_eq(tt_balancer_pick(&b, s, -1, 1), -1, "kind %d", k);
		cr_assert_eq(tt_balancer_pick(&b, s, 2, 1), -1, "kind %d", k);
		tt_balancer_fini(&b);
	}
}

Test(balancer, empty_group_gives_minus_one)
{
	struct tt_lb_server s[1];
	for (int k = 0; k < 3; k++) {
		struct tt_balancer b;
		tt_balancer_init(&b, kinds[k], 0);
		cr_assert_eq(tt_balancer_pick(&b, s, -1, 1), -1, "kind %d", k);
		tt_balancer_fini(&b);
		tt_balancer_fini(&b); /* idempotent */
	}
}

Test(balancer_leastconn, prefers_the_idle_server)
{
	uint32_t w[3] = {1, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	up(s, w, 3);
	s[0].active = 3;
	s[1].active = 0;
	s[2].active = 2;
	tt_balancer_init(&b, TT_CFG_BALANCE_LEAST_CONN, 3);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(tt_balancer_pick(&b, s, -1, (uint64_t)i), 1);
	tt_balancer_fini(&b);
}

Test(balancer_leastconn, fills_servers_evenly_as_requests_pile_up)
{
	/* The caller counts each pick as in flight: four servers get four
	 * each from sixteen picks, never two more than another. */
	uint32_t w[4] = {1, 1, 1, 1};
	struct tt_lb_server s[4];
	struct tt_balancer b;
	up(s, w, 4);
	tt_balancer_init(&b, TT_CFG_BALANCE_LEAST_CONN, 4);
	for (int i = 0; i < 16; i++) {
		int k = tt_balancer_pick(&b, s, -1, 0);
		s[k].active++;
		for (int j = 0; j < 4; j++)
			cr_assert_leq(s[j].active, s[k].active);
	}
	for (int j = 0; j < 4; j++)
		cr_assert_eq(s[j].active, 4);
	tt_balancer_fini(&b);
}

Test(balancer_leastconn, weight_divides_the_load)
{
	/* Weight 2 with 3 in flight (1.5 per unit) beats weight 1 with 2. */
	uint32_t w[2] = {2, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	up(s, w, 2);
	s[0].active = 3;
	s[1].active = 2;
	tt_balancer_init(&b, TT_CFG_BALANCE_LEAST_CONN, 2);
	cr_assert_eq(tt_balancer_pick(&b, s, -1, 0), 0);
	s[0].active = 5;
	cr_assert_eq(tt_balancer_pick(&b, s, -1, 0), 1);
	tt_balancer_fini(&b);
}

Test(balancer_leastconn, idle_ties_follow_the_weights)
{
	/* Sequential traffic (nothing in flight at pick time) keeps 5:1. */
	uint32_t w[2] = {5, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int count[2] = {0};
	up(s, w, 2);
	tt_balancer_init(&b, TT_CFG_BALANCE_LEAST_CONN, 2);
	run(&b, s, -1, 600, count);
	cr_assert_eq(count[0], 500);
	cr_assert_eq(count[1], 100);
	tt_balancer_fini(&b);
}

Test(balancer_leastconn, equal_idle_servers_rotate)
{
	uint32_t w[3] = {1, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	up(s, w, 3);
	tt_balancer_init(&b, TT_CFG_BALANCE_LEAST_CONN, 3);
	for (int i = 0; i < 9; i++)
		cr_assert_eq(tt_balancer_pick(&b, s, -1, 0), i % 3, "pick %d", i);
	tt_balancer_fini(&b);
}

Test(balancer_p2c, prefers_the_fast_server)
{
	/* The fast server wins every draw it is in: 2/3 of the draws of two
	 * out of three. The sequence is fixed, so the counts are exact. */
	uint32_t w[3] = {1, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	int count[3] = {0};
	up(s, w, 3);
	s[0].ewma_ms = 10.0;
	s[1].ewma_ms = 100.0;
	s[2].ewma_ms = 120.0;
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 3);
	run(&b, s, -1, 3000, count);
	cr_assert(count[0] > 1850 && count[0] < 2150, "fast server got %d of 3000", count[0]);
	cr_assert_gt(count[1], count[2], "%d vs %d", count[1], count[2]);
	cr_assert_eq(count[0] + count[1] + count[2], 3000);
	tt_balancer_fini(&b);
}

Test(balancer_p2c, two_servers_always_the_cheaper)
{
	/* Two distinct candidates out of two: the slow one never wins. */
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	int count[2] = {0};
	up(s, w, 2);
	s[0].ewma_ms = 80.0;
	s[1].ewma_ms = 20.0;
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 2);
	run(&b, s, -1, 100, count);
	cr_assert_eq(count[1], 100);
	tt_balancer_fini(&b);
}

Test(balancer_p2c, requests_in_flight_raise_the_cost)
{
	/* 20 ms with 9 in flight costs 200; 50 ms idle costs 50. */
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	up(s, w, 2);
	s[0].ewma_ms = 20.0;
	s[0].active = 9;
	s[1].ewma_ms = 50.0;
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 2);
	cr_assert_eq(tt_balancer_pick(&b, s, -1, 7), 1);
	tt_balancer_fini(&b);
}

Test(balancer_p2c, unknown_latency_counts_as_the_fastest_so_new_servers_get_traffic)
{
	uint32_t w[3] = {1, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	int count[3] = {0};
	up(s, w, 3);
	s[0].ewma_ms = 0.0; /* new */
	s[1].ewma_ms = 30.0;
	s[2].ewma_ms = 60.0;
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 3);
	run(&b, s, -1, 3000, count);
	cr_assert_gt(count[0], 700, "new server got %d of 3000", count[0]);
	cr_assert_eq(count[2], 0, "the slowest never beats the other two");
	tt_balancer_fini(&b);
}

Test(balancer_p2c, nothing_measured_prefers_fewer_in_flight)
{
	uint32_t w[2] = {1, 1};
	struct tt_lb_server s[2];
	struct tt_balancer b;
	up(s, w, 2);
	s[0].active = 4;
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 2);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(tt_balancer_pick(&b, s, -1, (uint64_t)i), 1);
	tt_balancer_fini(&b);
}

Test(balancer_p2c, draws_follow_the_weights)
{
	/* Same latency and load per weight: the heavier server is drawn, and
	 * wins ties, more often. */
	uint32_t w[3] = {8, 1, 1};
	struct tt_lb_server s[3];
	struct tt_balancer b;
	int count[3] = {0};
	up(s, w, 3);
	tt_balancer_init(&b, TT_CFG_BALANCE_P2C, 3);
	run(&b, s, -1, 1000, count);
	cr_assert_gt(count[0], 800, "heavy server got %d of 1000", count[0]);
	tt_balancer_fini(&b);
}

Test(balancer, ewma_folds_samples)
{
	cr_assert_float_eq(tt_lb_ewma(0.0, 40.0), 40.0, 1e-9, "unknown takes the sample");
	cr_assert_float_eq(tt_lb_ewma(10.0, 20.0), 13.0, 1e-9);
	cr_assert_float_eq(tt_lb_ewma(10.0, 0.0), 7.0, 1e-9);
	cr_assert_float_eq(tt_lb_ewma(10.0, -1.0), 10.0, 1e-9, "negative sample ignored");
	cr_assert_float_eq(tt_lb_ewma(10.0, NAN), 10.0, 1e-9, "NaN sample ignored");
	double e = 0.0;
	for (int i = 0; i < 50; i++)
		e = tt_lb_ewma(e, 25.0);
	cr_assert_float_eq(e, 25.0, 1e-9, "a steady latency converges");
}
