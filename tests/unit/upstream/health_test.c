/*
 * Upstream health shared by the workers: passive ejection, its doubling
 * and cap, the ejected share, panic mode, the breaker as picks see it,
 * slow start, probe thresholds and which faults count. Times are passed
 * in: nothing sleeps.
 */
#include <criterion/criterion.h>
#include <pthread.h>

#include "upstream/health.h"

#define MAXN 4

static struct tt_cfg_server servers[MAXN] = {
    {.address = "10.0.0.1:80", .weight = 1},
    {.address = "10.0.0.2:80", .weight = 1},
    {.address = "10.0.0.3:80", .weight = 1},
    {.address = "10.0.0.4:80", .weight = 1},
};

/* A group of n servers with passive consecutive ejection (3 in a row, 1 s
 * doubling to 8 s), no ratio, no breaker, no panic, no slow start. */
static struct tt_cfg_upstream group(size_t n)
{
	struct tt_cfg_upstream u = {
	    .name = "app",
	    .servers = servers,
	    .nservers = n,
	    .passive =
	        {
	            .consecutive_failures = 3,
	            .min_requests = 10,
	            .window_ms = 1000,
	            .eject_ms = 1000,
	            .max_eject_ms = 8000,
	            .max_ejected_percent = 50,
	        },
	    .active = {.healthy_threshold = 2, .unhealthy_threshold = 3},
	};
	return u;
}

static int usable_at(struct tt_health_group *g, size_t i, uint64_t now, double *factor)
{
	int u[MAXN];
	double f[MAXN];
	tt_health_snapshot(g, now, u, f);
	if (factor)
		*factor = f[i];
	return u[i];
}

static void fail(struct tt_health_group *g, size_t i, int times, uint64_t now)
{
	for (int k = 0; k < times; k++)
		tt_health_report(g, i, 0, TT_FAULT_CONNECTION_REFUSED, now);
}

static uint64_t ejected_until(struct tt_health_group *g, size_t i, uint64_t now)
{
	struct tt_health_view v;
	tt_health_server_view(g, i, now, &v);
	return v.ejected_until_ms;
}

Test(health, starts_usable_at_full_factor)
{
	struct tt_cfg_upstream cfg = group(3);
	cfg.slow_start_ms = 10000;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	double f;
	for (size_t i = 0; i < 3; i++) {
		cr_assert(usable_at(g, i, 0, &f));
		cr_assert_float_eq(f, 1.0, 1e-9, "no slow start at startup");
	}
	struct tt_health_view v;
	tt_health_server_view(g, 0, 0, &v);
	cr_assert_eq(v.state, TT_HEALTH_UP);
	cr_assert_str_eq(tt_health_state_name(v.state), "up");
	tt_health_group_free(&g);
	cr_assert_null(g);
}

Test(health, ejects_after_n_consecutive_failures_not_before)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 2, 100);
	cr_assert(usable_at(g, 0, 100, NULL));
	fail(g, 0, 1, 100);
	cr_assert_not(usable_at(g, 0, 100, NULL));
	cr_assert(usable_at(g, 1, 100, NULL), "only the failing server goes");
	cr_assert_eq(ejected_until(g, 0, 100), 1100);
	cr_assert_not(usable_at(g, 0, 1099, NULL));
	cr_assert(usable_at(g, 0, 1100, NULL), "back when eject_ms has passed");
	struct tt_health_view v;
	tt_health_server_view(g, 0, 500, &v);
	cr_assert_eq(v.state, TT_HEALTH_EJECTED);
	cr_assert_eq(v.ejections, 1);
	tt_health_group_free(&g);
}

Test(health, success_resets_the_consecutive_count)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 2, 100);
	tt_health_report(g, 0, 1, TT_FAULT_NONE, 100);
	fail(g, 0, 2, 100);
	cr_assert(usable_at(g, 0, 100, NULL));
	struct tt_health_view v;
	tt_health_server_view(g, 0, 100, &v);
	cr_assert_eq(v.consecutive_failures, 2);
	tt_health_group_free(&g);
}

static struct tt_cfg_upstream ratio_group(void)
{
	struct tt_cfg_upstream cfg = group(3);
	cfg.passive.consecutive_failures = 0;
	cfg.passive.failure_percent = 50;
	cfg.passive.min_requests = 10;
	return cfg;
}

Test(health, ratio_ejects_only_from_min_requests)
{
	struct tt_cfg_upstream cfg = ratio_group();
	struct tt_health_group *g = tt_health_group_new(&cfg);
	/* 5 successes and 4 failures: 9 requests, below min_requests. */
	for (int k = 0; k < 5; k++)
		tt_health_report(g, 0, 1, TT_FAULT_NONE, 100);
	fail(g, 0, 4, 100);
	cr_assert(usable_at(g, 0, 100, NULL));
	/* The 10th request, a failure: 5 of 10 is 50%. */
	fail(g, 0, 1, 200);
	cr_assert_not(usable_at(g, 0, 200, NULL));
	tt_health_group_free(&g);
}

Test(health, ratio_window_rollover_starts_from_zero)
{
	struct tt_cfg_upstream cfg = ratio_group();
	struct tt_health_group *g = tt_health_group_new(&cfg);
	for (int k = 0; k < 5; k++)
		tt_health_report(g, 0, 1, TT_FAULT_NONE, 900);
	fail(g, 0, 4, 900);
	/* t=1000 opens the next window: 1 request, under min_requests. */
	fail(g, 0, 1, 1000);
	cr_assert(usable_at(g, 0, 1000, NULL));
	struct tt_health_view v;
	tt_health_server_view(g, 0, 1000, &v);
	cr_assert_eq(v.window_requests, 1);
	cr_assert_eq(v.window_failures, 1);
	tt_health_group_free(&g);
}

Test(health, ejection_time_doubles_and_caps)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	uint64_t want[] = {1000, 2000, 4000, 8000, 8000};
	uint64_t t = 10;
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		fail(g, 0, 3, t);
		cr_assert_eq(ejected_until(g, 0, t), t + want[k], "ejection %zu", k);
		t += want[k]; /* fails again the moment it is back */
	}
	struct tt_health_view v;
	tt_health_server_view(g, 0, t, &v);
	cr_assert_eq(v.ejections, 5);
	tt_health_group_free(&g);
}

Test(health, ejection_streak_restarts_after_a_long_healthy_spell)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 3, 0);
	fail(g, 0, 3, 1000);
	cr_assert_eq(ejected_until(g, 0, 1000), 3000);
	/* Back at 3000, well for max_eject_ms (8 s). */
	fail(g, 0, 3, 11000);
	cr_assert_eq(ejected_until(g, 0, 11000), 12000);
	tt_health_group_free(&g);
}

Test(health, failures_while_ejected_do_not_extend_it)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 3, 0);
	fail(g, 0, 10, 500); /* attempts that were in flight */
	cr_assert_eq(ejected_until(g, 0, 500), 1000);
	tt_health_group_free(&g);
}

Test(health, max_ejected_percent_stops_the_second_of_two)
{
	struct tt_cfg_upstream cfg = group(2);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 3, 100);
	fail(g, 1, 10, 100);
	cr_assert_not(usable_at(g, 0, 100, NULL));
	cr_assert(usable_at(g, 1, 100, NULL), "50%% of 2 is one server");
	/* Once the first is back, the second may go. */
	fail(g, 1, 1, 1100);
	cr_assert_not(usable_at(g, 1, 1100, NULL));
	cr_assert(usable_at(g, 0, 1100, NULL));
	tt_health_group_free(&g);
}

Test(health, max_ejected_percent_zero_turns_ejection_off)
{
	struct tt_cfg_upstream cfg = group(2);
	cfg.passive.max_ejected_percent = 0;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 10, 100);
	cr_assert(usable_at(g, 0, 100, NULL));
	tt_health_group_free(&g);
}

Test(health, panic_makes_every_server_usable_at_full_factor)
{
	struct tt_cfg_upstream cfg = group(4);
	cfg.passive.max_ejected_percent = 100;
	cfg.passive.panic_percent = 50;
	cfg.slow_start_ms = 10000;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	struct tt_health_summary sum;
	fail(g, 0, 3, 100);
	fail(g, 1, 3, 100);
	/* 2 of 4 healthy is 50%: not below, no panic. */
	tt_health_summary(g, 100, &sum);
	cr_assert_not(sum.panic);
	cr_assert_eq(sum.healthy, 2);
	cr_assert_eq(sum.usable, 2);
	cr_assert_not(usable_at(g, 0, 100, NULL));
	fail(g, 2, 3, 100);
	tt_health_summary(g, 100, &sum);
	cr_assert(sum.panic);
	cr_assert_eq(sum.usable, 4);
	cr_assert_eq(sum.ejections, 3);
	for (size_t i = 0; i < 4; i++) {
		double f;
		cr_assert(usable_at(g, i, 100, &f), "server %zu in panic", i);
		cr_assert_float_eq(f, 1.0, 1e-9);
	}
	tt_health_group_free(&g);
}

Test(health, panic_does_not_override_an_open_circuit)
{
	struct tt_cfg_upstream cfg = group(2);
	cfg.passive.consecutive_failures = 0;
	cfg.passive.panic_percent = 50;
	cfg.breaker = (struct tt_cfg_breaker){50, 2, 1000, 500, 1};
	struct tt_health_group *g = tt_health_group_new(&cfg);
	/* Both probe-down: panic. */
	for (size_t i = 0; i < 2; i++)
		for (int k = 0; k < 3; k++)
			tt_health_probe_report(g, i, 0, 0, TT_FAULT_CONNECTION_REFUSED, 100);
	struct tt_health_summary sum;
	tt_health_summary(g, 100, &sum);
	cr_assert(sum.panic);
	cr_assert_eq(sum.usable, 2);
	fail(g, 0, 2, 100);
	cr_assert_not(usable_at(g, 0, 100, NULL), "open circuit: fail over at once");
	cr_assert(usable_at(g, 1, 100, NULL));
	fail(g, 1, 2, 100);
	tt_health_summary(g, 100, &sum);
	cr_assert_eq(sum.usable, 0, "no server left: the caller answers 503 at once");
	tt_health_group_free(&g);
}

static struct tt_cfg_upstream breaker_group(void)
{
	struct tt_cfg_upstream cfg = group(2);
	cfg.passive.consecutive_failures = 0;
	cfg.breaker = (struct tt_cfg_breaker){
	    .failure_percent = 50,
	    .min_requests = 4,
	    .window_ms = 1000,
	    .open_ms = 500,
	    .half_open_requests = 2,
	};
	return cfg;
}

Test(health, breaker_opens_on_ratio_and_rejects_until_open_ms)
{
	struct tt_cfg_upstream cfg = breaker_group();
	struct tt_health_group *g = tt_health_group_new(&cfg);
	tt_health_report(g, 0, 1, TT_FAULT_NONE, 100);
	tt_health_report(g, 0, 1, TT_FAULT_NONE, 100);
	fail(g, 0, 1, 100);
	cr_assert(usable_at(g, 0, 100, NULL));
	fail(g, 0, 1, 100);
	cr_assert_not(usable_at(g, 0, 100, NULL));
	cr_assert_not(tt_health_acquire(g, 0, 100));
	cr_assert(usable_at(g, 1, 100, NULL), "the other server takes the traffic");
	struct tt_health_view v;
	tt_health_server_view(g, 0, 100, &v);
	cr_assert_eq(v.state, TT_HEALTH_CIRCUIT_OPEN);
	cr_assert_eq(v.circuit, TT_BREAKER_OPEN);
	cr_assert_eq(v.open_until_ms, 600);
	cr_assert_not(usable_at(g, 0, 599, NULL));
	cr_assert(usable_at(g, 0, 600, NULL));
	tt_health_group_free(&g);
}

static void open_circuit(struct tt_health_group *g, size_t i, uint64_t t)
{
	fail(g, i, 4, t);
	cr_assert_not(usable_at(g, i, t, NULL));
}

Test(health, half_open_admits_exactly_n_then_success_closes)
{
	struct tt_cfg_upstream cfg = breaker_group();
	struct tt_health_group *g = tt_health_group_new(&cfg);
	open_circuit(g, 0, 0);
	cr_assert(tt_health_acquire(g, 0, 500));
	cr_assert(usable_at(g, 0, 500, NULL));
	cr_assert(tt_health_acquire(g, 0, 500));
	cr_assert_not(usable_at(g, 0, 500, NULL), "both trial slots taken");
	cr_assert_not(tt_health_acquire(g, 0, 500));
	struct tt_health_view v;
	tt_health_server_view(g, 0, 500, &v);
	cr_assert_eq(v.state, TT_HEALTH_HALF_OPEN);
	tt_health_report(g, 0, 1, TT_FAULT_NONE, 510);
	tt_health_report(g, 0, 1, TT_FAULT_NONE, 520);
	tt_health_server_view(g, 0, 520, &v);
	cr_assert_eq(v.circuit, TT_BREAKER_CLOSED);
	for (int k = 0; k < 10; k++)
		cr_assert(tt_health_acquire(g, 0, 520));
	cr_assert(usable_at(g, 0, 520, NULL));
	tt_health_group_free(&g);
}

Test(health, half_open_failure_reopens)
{
	struct tt_cfg_upstream cfg = breaker_group();
	struct tt_health_group *g = tt_health_group_new(&cfg);
	open_circuit(g, 0, 0);
	cr_assert(tt_health_acquire(g, 0, 500));
	fail(g, 0, 1, 550);
	cr_assert_not(usable_at(g, 0, 550, NULL));
	cr_assert_not(usable_at(g, 0, 1049, NULL));
	cr_assert(usable_at(g, 0, 1050, NULL));
	tt_health_group_free(&g);
}

Test(health, uncounted_fault_gives_the_trial_slot_back)
{
	struct tt_cfg_upstream cfg = breaker_group();
	cfg.breaker.half_open_requests = 1;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	open_circuit(g, 0, 0);
	cr_assert(tt_health_acquire(g, 0, 500));
	cr_assert_not(tt_health_acquire(g, 0, 500));
	tt_health_report(g, 0, 0, TT_FAULT_DOWNSTREAM_CLOSED, 510);
	cr_assert(tt_health_acquire(g, 0, 510));
	tt_health_group_free(&g);
}

Test(health, slow_start_ramps_linearly_after_an_ejection)
{
	struct tt_cfg_upstream cfg = group(3);
	cfg.slow_start_ms = 1000;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 3, 0); /* ejected until 1000 */
	double f;
	cr_assert(usable_at(g, 0, 1000, &f));
	cr_assert_float_eq(f, TT_HEALTH_SLOW_START_FLOOR, 1e-9, "floor at the start");
	usable_at(g, 0, 1050, &f);
	cr_assert_float_eq(f, TT_HEALTH_SLOW_START_FLOOR, 1e-9, "5%% is under the floor");
	usable_at(g, 0, 1250, &f);
	cr_assert_float_eq(f, 0.25, 1e-9);
	usable_at(g, 0, 1500, &f);
	cr_assert_float_eq(f, 0.5, 1e-9);
	usable_at(g, 0, 1900, &f);
	cr_assert_float_eq(f, 0.9, 1e-9);
	usable_at(g, 0, 2000, &f);
	cr_assert_float_eq(f, 1.0, 1e-9);
	struct tt_health_view v;
	tt_health_server_view(g, 0, 1500, &v);
	cr_assert_eq(v.state, TT_HEALTH_SLOW_START);
	tt_health_server_view(g, 0, 2000, &v);
	cr_assert_eq(v.state, TT_HEALTH_UP);
	tt_health_group_free(&g);
}

Test(health, slow_start_off_gives_full_factor_on_return)
{
	struct tt_cfg_upstream cfg = group(3);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	fail(g, 0, 3, 0);
	double f;
	cr_assert(usable_at(g, 0, 1000, &f));
	cr_assert_float_eq(f, 1.0, 1e-9);
	tt_health_group_free(&g);
}

Test(health, request_and_proxy_side_faults_do_not_count)
{
	struct tt_cfg_upstream cfg = breaker_group();
	cfg.passive.consecutive_failures = 1;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	enum tt_fault_id ignored[] = {
	    TT_FAULT_REQUEST_MALFORMED,       TT_FAULT_REQUEST_BODY_TIMEOUT,
	    TT_FAULT_DOWNSTREAM_CLOSED,       TT_FAULT_CONNECTION_LIMIT_REACHED,
	    TT_FAULT_PROXY_INTERNAL_ERROR,    TT_FAULT_DESTINATION_IP_PROHIBITED,
	    TT_FAULT_HTTP_RESPONSE_BODY_SIZE, TT_FAULT_NONE,
	};
	for (size_t k = 0; k < sizeof(ignored) / sizeof(ignored[0]); k++) {
		cr_assert_not(tt_health_counts(ignored[k]), "fault %d", (int)ignored[k]);
		for (int r = 0; r < 10; r++)
			tt_health_report(g, 0, 0, ignored[k], 100);
	}
	cr_assert(usable_at(g, 0, 100, NULL));
	struct tt_health_view v;
	tt_health_server_view(g, 0, 100, &v);
	cr_assert_eq(v.consecutive_failures, 0);
	cr_assert_eq(v.circuit, TT_BREAKER_CLOSED);
	tt_health_group_free(&g);
}

Test(health, upstream_side_faults_count)
{
	enum tt_fault_id counted[] = {
	    TT_FAULT_CONNECTION_REFUSED,       TT_FAULT_CONNECTION_TIMEOUT,
	    TT_FAULT_CONNECTION_TERMINATED,    TT_FAULT_CONNECTION_READ_TIMEOUT,
	    TT_FAULT_HTTP_RESPONSE_TIMEOUT,    TT_FAULT_HTTP_PROTOCOL_ERROR,
	    TT_FAULT_HTTP_RESPONSE_INCOMPLETE, TT_FAULT_DNS_ERROR,
	    TT_FAULT_DESTINATION_UNAVAILABLE,  TT_FAULT_TLS_PROTOCOL_ERROR,
	};
	for (size_t k = 0; k < sizeof(counted) / sizeof(counted[0]); k++)
		cr_assert(tt_health_counts(counted[k]), "fault %d", (int)counted[k]);
	cr_assert_not(tt_health_counts(TT_FAULT__COUNT));
}

Test(health, probe_thresholds_take_down_and_bring_up_with_slow_start)
{
	struct tt_cfg_upstream cfg = group(3);
	cfg.slow_start_ms = 1000;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	cr_assert_eq(tt_health_probe_report(g, 0, 0, 503, TT_FAULT_NONE, 10), TT_HEALTH_PROBE_SAME);
	cr_assert_eq(tt_health_probe_report(g, 0, 0, 0, TT_FAULT_CONNECTION_REFUSED, 20),
	             TT_HEALTH_PROBE_SAME);
	cr_assert(usable_at(g, 0, 20, NULL));
	/* telltale out of descriptors: shown, not counted. */
	cr_assert_eq(tt_health_probe_report(g, 0, 0, 0, TT_FAULT_PROXY_INTERNAL_ERROR, 25),
	             TT_HEALTH_PROBE_SAME);
	struct tt_health_view v;
	tt_health_server_view(g, 0, 25, &v);
	cr_assert_eq(v.probe_fault, TT_FAULT_PROXY_INTERNAL_ERROR);
	cr_assert_eq(tt_health_probe_report(g, 0, 0, 0, TT_FAULT_CONNECTION_TIMEOUT, 30),
	             TT_HEALTH_PROBE_WENT_DOWN);
	cr_assert_not(usable_at(g, 0, 30, NULL));
	tt_health_server_view(g, 0, 30, &v);
	cr_assert_eq(v.state, TT_HEALTH_PROBE_DOWN);
	cr_assert(v.probed);
	cr_assert_not(v.probe_ok);
	cr_assert_eq(v.probe_fault, TT_FAULT_CONNECTION_TIMEOUT);
	cr_assert_eq(v.probe_at_ms, 30);
	/* One good probe is not enough; a failure in between restarts. */
	cr_assert_eq(tt_health_probe_report(g, 0, 1, 200, TT_FAULT_NONE, 40), TT_HEALTH_PROBE_SAME);
	cr_assert_eq(tt_health_probe_report(g, 0, 0, 500, TT_FAULT_NONE, 50), TT_HEALTH_PROBE_SAME);
	cr_assert_eq(tt_health_probe_report(g, 0, 1, 200, TT_FAULT_NONE, 60), TT_HEALTH_PROBE_SAME);
	cr_assert_not(usable_at(g, 0, 60, NULL));
	cr_assert_eq(tt_health_probe_report(g, 0, 1, 204, TT_FAULT_NONE, 70),
	             TT_HEALTH_PROBE_WENT_UP);
	double f;
	cr_assert(usable_at(g, 0, 70, &f));
	cr_assert_float_eq(f, TT_HEALTH_SLOW_START_FLOOR, 1e-9);
	usable_at(g, 0, 570, &f);
	cr_assert_float_eq(f, 0.5, 1e-9);
	tt_health_server_view(g, 0, 70, &v);
	cr_assert_eq(v.probe_status, 204);
	cr_assert(v.probe_ok);
	cr_assert_eq(v.probe_fault, TT_FAULT_NONE);
	tt_health_group_free(&g);
}

Test(health, connection_limit_counts_all_callers)
{
	struct tt_cfg_upstream cfg = group(2);
	cfg.max_connections = 2;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	cr_assert(tt_health_conn_acquire(g, 0));
	cr_assert(tt_health_conn_acquire(g, 0));
	cr_assert_not(tt_health_conn_acquire(g, 0));
	cr_assert(tt_health_conn_acquire(g, 1), "the limit is per server");
	tt_health_conn_release(g, 0);
	cr_assert(tt_health_conn_acquire(g, 0));
	struct tt_health_view v;
	tt_health_server_view(g, 0, 0, &v);
	cr_assert_eq(v.connections, 2);
	tt_health_group_free(&g);
}

/* A reload hands each kept server's state to the new generation's group,
 * matched by address whatever the order; a new server starts fresh, and
 * connection counts stay with the generation that opened them. */
Test(health, a_reload_keeps_ejections_circuits_and_probe_state_by_address)
{
	struct tt_cfg_upstream oldc = breaker_group();
	oldc.passive.consecutive_failures = 3;
	struct tt_health_group *old = tt_health_group_new(&oldc);
	fail(old, 0, 3, 100); /* 10.0.0.1 ejected until 1100 */
	cr_assert_not(usable_at(old, 0, 200, NULL));
	cr_assert(tt_health_conn_acquire(old, 0));
	for (int k = 0; k < 3; k++) /* 10.0.0.2 probed down */
		tt_health_probe_report(old, 1, 0, 0, TT_FAULT_CONNECTION_REFUSED, 150);
	cr_assert_not(usable_at(old, 1, 200, NULL));

	/* The new config lists 10.0.0.2 first, keeps 10.0.0.1, adds 10.0.0.3. */
	static struct tt_cfg_server reordered[3] = {
	    {.address = "10.0.0.2:80", .weight = 1},
	    {.address = "10.0.0.1:80", .weight = 1},
	    {.address = "10.0.0.3:80", .weight = 1},
	};
	struct tt_cfg_upstream newc = oldc;
	newc.servers = reordered;
	newc.nservers = 3;
	newc.passive.max_ejected_percent = 100;
	struct tt_health_group *g = tt_health_group_new(&newc);
	tt_health_group_inherit(g, &newc, old, &oldc);

	struct tt_health_view v;
	tt_health_server_view(g, 1, 200, &v);
	cr_assert_eq(v.ejected_until_ms, 1100, "10.0.0.1's ejection carried");
	cr_assert_eq(v.ejections, 1);
	cr_assert_eq(v.connections, 0, "connections stay with the old generation");
	cr_assert_not(usable_at(g, 1, 200, NULL));
	cr_assert(usable_at(g, 1, 1100, NULL), "and it ends when it would have");
	cr_assert_not(usable_at(g, 0, 200, NULL), "10.0.0.2 still probed down");
	tt_health_server_view(g, 2, 200, &v);
	cr_assert_eq(v.ejections, 0);
	cr_assert(usable_at(g, 2, 200, NULL), "a new server starts healthy");
	tt_health_group_free(&g);

	/* An open circuit is carried too, without the old trial slots. */
	struct tt_cfg_upstream bc = breaker_group();
	struct tt_health_group *ob = tt_health_group_new(&bc);
	open_circuit(ob, 0, 100);
	struct tt_health_group *nb = tt_health_group_new(&bc);
	tt_health_group_inherit(nb, &bc, ob, &bc);
	tt_health_server_view(nb, 0, 100, &v);
	cr_assert_eq(v.circuit, TT_BREAKER_OPEN);
	cr_assert_eq(v.open_until_ms, 600);
	cr_assert_not(usable_at(nb, 0, 599, NULL));
	cr_assert(usable_at(nb, 0, 600, NULL));
	tt_health_group_free(&nb);
	tt_health_group_free(&ob);
	tt_health_group_free(&old);
}

Test(health, empty_group)
{
	struct tt_cfg_upstream cfg = group(0);
	struct tt_health_group *g = tt_health_group_new(&cfg);
	cr_assert_eq(tt_health_group_size(g), 0);
	struct tt_health_summary sum;
	tt_health_summary(g, 0, &sum);
	cr_assert_eq(sum.usable, 0);
	cr_assert_not(sum.panic);
	tt_health_group_free(&g);
	tt_health_group_free(&g);
}

/* Worker threads reporting and picking at once: counts stay exact. */
#define THREADS 4
#define ROUNDS  20000

static void *hammer(void *arg)
{
	struct tt_health_group *g = arg;
	int u[MAXN];
	double f[MAXN];
	for (int k = 0; k < ROUNDS; k++) {
		tt_health_snapshot(g, 5, u, f);
		if (tt_health_acquire(g, (size_t)k % 2, 5))
			tt_health_report(g, (size_t)k % 2, 1, TT_FAULT_NONE, 5);
	}
	return NULL;
}

Test(health, concurrent_successes_are_all_counted)
{
	struct tt_cfg_upstream cfg = ratio_group();
	cfg.passive.window_ms = 1000000;
	cfg.breaker = (struct tt_cfg_breaker){50, 4, 1000, 500, 2};
	cfg.passive.max_ejected_percent = 100;
	cfg.passive.panic_percent = 0;
	cfg.nservers = 2;
	struct tt_health_group *g = tt_health_group_new(&cfg);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, hammer, g);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	struct tt_health_view v;
	tt_health_server_view(g, 0, 5, &v);
	cr_assert_eq(v.window_requests, THREADS * ROUNDS / 2);
	cr_assert_eq(v.state, TT_HEALTH_UP);
	tt_health_group_free(&g);
}

Test(health, an_ejected_server_serves_in_panic_when_the_other_is_behind_an_open_circuit)
{
	/* The soak's pattern: server 0 ejected (it was down, it is back),
	 * server 1 down now with its circuit open. Not ejected, server 1
	 * still looked healthy, so there was no panic and no server: 503
	 * with server 0 up. */
	struct tt_cfg_upstream cfg = group(2);
	cfg.passive.panic_percent = 50;
	cfg.passive.max_ejected_percent = 50;
	cfg.breaker = (struct tt_cfg_breaker){50, 2, 1000, 500, 1};
	struct tt_health_group *g = tt_health_group_new(&cfg);
	struct tt_health_summary sum;
	fail(g, 0, 5, 100); /* ejected (5 consecutive failures), its circuit open */
	tt_health_summary(g, 100, &sum);
	cr_assert_eq(sum.healthy, 1);
	/* 600 ms on: server 0's circuit is half-open (open_ms 500), its
	 * ejection (1 s) still runs; server 1 fails and its circuit opens,
	 * and the ejection cap keeps it in. */
	fail(g, 1, 2, 700);
	cr_assert_not(usable_at(g, 1, 700, NULL));
	tt_health_summary(g, 700, &sum);
	cr_assert(sum.panic, "no server can take a request: panic");
	cr_assert(usable_at(g, 0, 700, NULL), "the ejected server serves in panic");
	cr_assert_eq(sum.usable, 1);
	tt_health_group_free(&g);
}
