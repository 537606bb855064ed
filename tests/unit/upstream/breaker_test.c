/*
 * The circuit breaker's state machine and the windowed failure counter,
 * driven by explicit times: no sleeping.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "upstream/breaker.h"

static struct tt_cfg_breaker params(void)
{
	struct tt_cfg_breaker c = {
	    .failure_percent = 50,
	    .min_requests = 4,
	    .window_ms = 1000,
	    .open_ms = 500,
	    .half_open_requests = 2,
	};
	return tt_breaker_params(&c);
}

/* Two successes then two failures: 50% of 4 opens the circuit at t. */
static void trip(struct tt_breaker *b, const struct tt_cfg_breaker *p, uint64_t t)
{
	cr_assert_eq(tt_breaker_report(b, p, TT_BREAKER_SUCCESS, t), TT_BREAKER_CLOSED);
	cr_assert_eq(tt_breaker_report(b, p, TT_BREAKER_SUCCESS, t), TT_BREAKER_CLOSED);
	cr_assert_eq(tt_breaker_report(b, p, TT_BREAKER_FAILURE, t), TT_BREAKER_CLOSED);
	cr_assert_eq(tt_breaker_report(b, p, TT_BREAKER_FAILURE, t), TT_BREAKER_OPEN);
}

Test(breaker, closed_opens_on_ratio_only_after_min_requests)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	/* Three failures of three: 100% but below min_requests (4). */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 10), TT_BREAKER_CLOSED);
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 10), TT_BREAKER_OPEN);
	uint64_t until;
	cr_assert_eq(tt_breaker_state(&b, 10, &until), TT_BREAKER_OPEN);
	cr_assert_eq(until, 510);
}

Test(breaker, ratio_below_threshold_stays_closed)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	/* 1 failure in 3 is 33% < 50%, however many there are. */
	for (int i = 0; i < 30; i++) {
		enum tt_breaker_outcome o = i % 3 == 2 ? TT_BREAKER_FAILURE : TT_BREAKER_SUCCESS;
		cr_assert_eq(tt_breaker_report(&b, &p, o, 10), TT_BREAKER_CLOSED, "report %d", i);
	}
}

Test(breaker, window_rollover_forgets_old_failures)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	for (int i = 0; i < 3; i++)
		tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 900);
	/* t=1000 is the next window: this failure is 1 of 1. */
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 1000), TT_BREAKER_CLOSED);
}

Test(breaker, open_rejects_until_open_ms_then_half_open_admits_exactly_n)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 100);
	cr_assert_not(tt_breaker_allows(&b, &p, 100));
	cr_assert_not(tt_breaker_allows(&b, &p, 599));
	cr_assert_not(tt_breaker_acquire(&b, &p, 599));
	cr_assert(tt_breaker_allows(&b, &p, 600));
	cr_assert_eq(tt_breaker_state(&b, 600, NULL), TT_BREAKER_HALF_OPEN);
	cr_assert(tt_breaker_acquire(&b, &p, 600));
	cr_assert(tt_breaker_allows(&b, &p, 600));
	cr_assert(tt_breaker_acquire(&b, &p, 600));
	/* Both trial slots taken. */
	cr_assert_not(tt_breaker_allows(&b, &p, 600));
	cr_assert_not(tt_breaker_acquire(&b, &p, 601));
}

Test(breaker, half_open_closes_after_n_successes_with_a_fresh_window)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 100);
	cr_assert(tt_breaker_acquire(&b, &p, 600));
	cr_assert(tt_breaker_acquire(&b, &p, 600));
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_SUCCESS, 610), TT_BREAKER_HALF_OPEN);
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_SUCCESS, 620), TT_BREAKER_CLOSED);
	cr_assert(tt_breaker_acquire(&b, &p, 620));
	cr_assert(tt_breaker_acquire(&b, &p, 620));
	cr_assert(tt_breaker_acquire(&b, &p, 620));
	/* Same window as the trip: without the reset, the old 2 of 4 would
	 * make this failure 3 of 5 and reopen at once. */
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 630), TT_BREAKER_CLOSED);
}

Test(breaker, half_open_failure_reopens_for_open_ms)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 100);
	cr_assert(tt_breaker_acquire(&b, &p, 600));
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_SUCCESS, 610), TT_BREAKER_HALF_OPEN);
	cr_assert(tt_breaker_acquire(&b, &p, 610));
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 700), TT_BREAKER_OPEN);
	uint64_t until;
	cr_assert_eq(tt_breaker_state(&b, 700, &until), TT_BREAKER_OPEN);
	cr_assert_eq(until, 1200);
	cr_assert_not(tt_breaker_allows(&b, &p, 1199));
	cr_assert(tt_breaker_acquire(&b, &p, 1200));
}

Test(breaker, neutral_outcome_gives_a_trial_slot_back)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 0);
	cr_assert(tt_breaker_acquire(&b, &p, 500));
	cr_assert(tt_breaker_acquire(&b, &p, 500));
	cr_assert_not(tt_breaker_acquire(&b, &p, 500));
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_NEUTRAL, 510), TT_BREAKER_HALF_OPEN);
	cr_assert(tt_breaker_acquire(&b, &p, 510));
}

Test(breaker, lost_trials_restart_half_open_after_open_ms)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 0);
	cr_assert(tt_breaker_acquire(&b, &p, 500));
	cr_assert(tt_breaker_acquire(&b, &p, 500));
	/* Neither trial ever reports. */
	cr_assert_not(tt_breaker_acquire(&b, &p, 999));
	cr_assert(tt_breaker_allows(&b, &p, 1000));
	cr_assert(tt_breaker_acquire(&b, &p, 1000));
	cr_assert(tt_breaker_acquire(&b, &p, 1000));
	cr_assert_not(tt_breaker_acquire(&b, &p, 1000));
}

Test(breaker, late_outcomes_while_open_are_ignored)
{
	struct tt_cfg_breaker p = params();
	struct tt_breaker b;
	tt_breaker_init(&b);
	trip(&b, &p, 0);
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_SUCCESS, 10), TT_BREAKER_OPEN);
	cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 10), TT_BREAKER_OPEN);
	uint64_t until;
	tt_breaker_state(&b, 10, &until);
	cr_assert_eq(until, 500, "a late failure must not push the deadline");
}

Test(breaker, off_when_failure_percent_is_zero)
{
	struct tt_cfg_breaker c = {0};
	struct tt_cfg_breaker p = tt_breaker_params(&c);
	struct tt_breaker b;
	tt_breaker_init(&b);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(tt_breaker_report(&b, &p, TT_BREAKER_FAILURE, 0), TT_BREAKER_CLOSED);
	cr_assert(tt_breaker_acquire(&b, &p, 0));
	cr_assert_eq(tt_breaker_state(&b, 0, NULL), TT_BREAKER_CLOSED);
}

Test(breaker, params_clamp_trials_and_zero_times)
{
	struct tt_cfg_breaker c = {.failure_percent = 50, .half_open_requests = 5000};
	struct tt_cfg_breaker p = tt_breaker_params(&c);
	cr_assert_eq(p.half_open_requests, TT_BREAKER_MAX_TRIALS);
	cr_assert_eq(p.window_ms, 1);
	cr_assert_eq(p.open_ms, 1);
	cr_assert_eq(p.min_requests, 1);
	cr_assert_str_eq(tt_breaker_state_name(TT_BREAKER_HALF_OPEN), "half_open");
}

Test(fail_window, saturation_halves_and_keeps_the_ratio)
{
	struct tt_fail_window w = {0};
	uint32_t t = 0, f = 0;
	uint32_t max = (1u << 20) - 1;
	for (uint32_t i = 0; i < max; i++)
		tt_fail_window_add(&w, 1000, 5, i % 4 == 0, &t, &f);
	cr_assert_eq(t, max);
	tt_fail_window_add(&w, 1000, 5, 0, &t, &f);
	cr_assert_eq(t, max / 2 + 1);
	/* A quarter failed before; still a quarter, to the rounding. */
	cr_assert(f * 4 >= t - 4 && f * 4 <= t + 4, "fails %u of %u", f, t);
}

Test(fail_window, read_sees_the_current_window_only)
{
	struct tt_fail_window w = {0};
	uint32_t t, f;
	tt_fail_window_add(&w, 100, 50, 1, &t, &f);
	tt_fail_window_add(&w, 100, 60, 0, &t, &f);
	tt_fail_window_read(&w, 100, 99, &t, &f);
	cr_assert_eq(t, 2);
	cr_assert_eq(f, 1);
	tt_fail_window_read(&w, 100, 100, &t, &f);
	cr_assert_eq(t, 0);
	tt_fail_window_reset(&w);
	tt_fail_window_read(&w, 100, 99, &t, &f);
	cr_assert_eq(t, 0);
	cr_assert(tt_fail_ratio_reached(4, 2, 4, 50));
	cr_assert_not(tt_fail_ratio_reached(3, 3, 4, 50));
	cr_assert_not(tt_fail_ratio_reached(4, 4, 4, 0));
}

#define THREADS 4
#define ADDS    20000

static void *add_many(void *arg)
{
	struct tt_fail_window *w = arg;
	uint32_t t, f;
	for (int i = 0; i < ADDS; i++)
		tt_fail_window_add(w, 1000000, 7, i % 2, &t, &f);
	return NULL;
}

Test(fail_window, concurrent_adds_lose_nothing)
{
	struct tt_fail_window w = {0};
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, add_many, &w);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	uint32_t t, f;
	tt_fail_window_read(&w, 1000000, 7, &t, &f);
	cr_assert_eq(t, THREADS * ADDS);
	cr_assert_eq(f, THREADS * ADDS / 2);
}
