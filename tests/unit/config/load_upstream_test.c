/*
 * The upstream part of the config file (src/config/load_upstream.c): the
 * keys that shield downstreams from a failing upstream (issue 4), with the
 * struct fields they fill, their defaults, and the exact message, hint and
 * position of every bad value.
 */
#include "config/cfg_helpers.h"

TestSuite(load_upstream, .init = setup, .fini = teardown);

/* One group 'app'; what follows starts on line 5, indented as its keys. */
#define GROUP                                                                                      \
	"listen: [127.0.0.1:8080]\n"                                                               \
	"upstreams:\n"                                                                             \
	"  app:\n"                                                                                 \
	"    servers: [127.0.0.1:8000]\n"

static const struct tt_cfg_upstream *app(void)
{
	cr_assert_not_null(C, "load failed:\n%s", printed());
	return &C->upstreams[0];
}

Test(load_upstream, every_key_lands_in_the_struct)
{
	cr_assert_eq(load(GROUP "    balance: least_conn\n"
	                        "    slow_start: 30s\n"
	                        "    max_connections: 500\n"
	                        "    max_pending: 0\n"
	                        "    queue_timeout: 250ms\n"
	                        "    retry:\n"
	                        "      attempts: 3\n"
	                        "      budget: 25%\n"
	                        "      min_retries: 5\n"
	                        "      backoff: 10ms\n"
	                        "      backoff_max: 1s\n"
	                        "      body_bytes: 1m\n"
	                        "    health:\n"
	                        "      passive:\n"
	                        "        consecutive_failures: 7\n"
	                        "        failure_ratio: 40%\n"
	                        "        min_requests: 30\n"
	                        "        window: 20s\n"
	                        "        eject_time: 15s\n"
	                        "        max_eject_time: 10m\n"
	                        "        max_ejected: 30%\n"
	                        "        panic_threshold: 25%\n"
	                        "      active:\n"
	                        "        path: /healthz?deep=1\n"
	                        "        host: app.internal:8080\n"
	                        "        interval: 10s\n"
	                        "        timeout: 1s\n"
	                        "        expect_status: 200-204\n"
	                        "        healthy_threshold: 4\n"
	                        "        unhealthy_threshold: 6\n"
	                        "    breaker:\n"
	                        "      failure_ratio: 60%\n"
	                        "      min_requests: 40\n"
	                        "      window: 30s\n"
	                        "      open_time: 15s\n"
	                        "      half_open_requests: 1\n"),
	             0, "%s", printed());
	const struct tt_cfg_upstream *u = app();
	cr_assert_eq(u->balance, TT_CFG_BALANCE_LEAST_CONN);
	cr_assert_eq(u->slow_start_ms, 30000);
	cr_assert_eq(u->max_connections, 500);
	cr_assert_eq(u->max_pending, 0);
	cr_assert_eq(u->queue_timeout_ms, 250);
	cr_assert_eq(u->retry.attempts, 3);
	cr_assert_eq(u->retry.budget_percent, 25);
	cr_assert_eq(u->retry.min_retries, 5);
	cr_assert_eq(u->retry.backoff_ms, 10);
	cr_assert_eq(u->retry.backoff_max_ms, 1000);
	cr_assert_eq(u->retry.body_bytes, 1048576);
	cr_assert_eq(u->passive.consecutive_failures, 7);
	cr_assert_eq(u->passive.failure_percent, 40);
	cr_assert_eq(u->passive.min_requests, 30);
	cr_assert_eq(u->passive.window_ms, 20000);
	cr_assert_eq(u->passive.eject_ms, 15000);
	cr_assert_eq(u->passive.max_eject_ms, 600000);
	cr_assert_eq(u->passive.max_ejected_percent, 30);
	cr_assert_eq(u->passive.panic_percent, 25);
	cr_assert_str_eq(u->active.path, "/healthz?deep=1");
	cr_assert_str_eq(u->active.host, "app.internal:8080");
	cr_assert_eq(u->active.interval_ms, 10000);
	cr_assert_eq(u->active.timeout_ms, 1000);
	cr_assert_eq(u->active.expect_min, 200);
	cr_assert_eq(u->active.expect_max, 204);
	cr_assert_eq(u->active.healthy_threshold, 4);
	cr_assert_eq(u->active.unhealthy_threshold, 6);
	cr_assert_eq(u->breaker.failure_percent, 60);
	cr_assert_eq(u->breaker.min_requests, 40);
	cr_assert_eq(u->breaker.window_ms, 30000);
	cr_assert_eq(u->breaker.open_ms, 15000);
	cr_assert_eq(u->breaker.half_open_requests, 1);
}

Test(load_upstream, empty_mappings_keep_the_defaults)
{
	cr_assert_eq(load(GROUP "    retry: {}\n    health: {passive: {}}\n    breaker: {}\n"), 0,
	             "%s", printed());
	const struct tt_cfg_upstream *u = app();
	cr_assert_eq(u->retry.attempts, 2);
	cr_assert_eq(u->retry.backoff_max_ms, 250);
	cr_assert_eq(u->passive.max_eject_ms, 300000);
	cr_assert_null(u->active.path);
	cr_assert_eq(u->breaker.half_open_requests, 3);
}

Test(load_upstream, defaults_hold_per_group)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  a: {servers: [127.0.0.1:1], balance: p2c, retry: {attempts: 1}}\n"
	                  "  b: {servers: [127.0.0.1:2]}\n"
	                  "routes: [{path: /, upstream: a}]\n"),
	             0, "%s", printed());
	cr_assert_eq(C->upstreams[0].balance, TT_CFG_BALANCE_P2C);
	cr_assert_eq(C->upstreams[0].retry.attempts, 1);
	cr_assert_eq(C->upstreams[1].balance, TT_CFG_BALANCE_ROUND_ROBIN);
	cr_assert_eq(C->upstreams[1].retry.attempts, 2);
	cr_assert_eq(C->upstreams[1].max_pending, 100);
}

Test(load_upstream, balance_choices)
{
	cr_assert_eq(load(GROUP "    balance: round_robin\n"), 0, "%s", printed());
	cr_assert_eq(app()->balance, TT_CFG_BALANCE_ROUND_ROBIN);
	cr_assert_eq(load(GROUP "    balance: p2c\n"), 0, "%s", printed());
	cr_assert_eq(app()->balance, TT_CFG_BALANCE_P2C);
	cr_assert_eq(load(GROUP "    balance: least-conn\n"), 1);
	expect_hint(
	    5, 14, "upstreams.app.balance: 'least-conn' is not a balancing algorithm",
	    "did you mean 'least_conn'? choose round_robin (the default), least_conn or p2c");
	cr_assert_eq(load(GROUP "    balance: random\n"), 1);
	expect_hint(5, 14, "upstreams.app.balance: 'random' is not a balancing algorithm",
	            "choose round_robin");
	cr_assert_null(strstr(D.items[0].hint, "did you mean"), "%s", printed());
	cr_assert_eq(load(GROUP "    balance: [p2c]\n"), 1);
	expect_hint(5, 14, "'upstreams.app.balance' must be a single value, found a list",
	            "round_robin, least_conn or p2c");
	cr_assert_eq(load(GROUP "    balance: P2C\n"), 1);
	expect_diag(5, 14, "'P2C' is not a balancing algorithm");
}

Test(load_upstream, slow_start_and_overload_keys)
{
	cr_assert_eq(
	    load(GROUP "    slow_start: 0\n    max_connections: 0\n    max_pending: 1000000\n"), 0,
	    "%s", printed());
	cr_assert_eq(app()->slow_start_ms, 0);
	cr_assert_eq(app()->max_connections, 0);
	cr_assert_eq(app()->max_pending, 1000000);
	cr_assert_eq(load(GROUP "    slow_start: 10\n"
	                        "    max_connections: 10000001\n"
	                        "    max_pending: -1\n"
	                        "    queue_timeout: 0\n"),
	             4, "%s", printed());
	expect_hint(5, 17, "upstreams.app.slow_start: '10' has no unit", "'10s' for seconds");
	expect_hint(6, 22, "upstreams.app.max_connections: 10000001 is out of range",
	            "from 0 (no limit) to 10000000");
	expect_hint(7, 18, "upstreams.app.max_pending: '-1' is not a whole number", "decimal");
	expect_hint(8, 20, "upstreams.app.queue_timeout: must be greater than 0", "such as 1s");
	cr_assert_eq(load(GROUP "    max_pending: 1000001\n"), 1);
	expect_hint(5, 18, "upstreams.app.max_pending: 1000001 is out of range",
	            "from 0 (none wait) to 1000000");
}

Test(load_upstream, retry_values)
{
	cr_assert_eq(load(GROUP "    retry: {attempts: 1, budget: 0, body_bytes: 0, backoff: 0}\n"),
	             0, "%s", printed());
	cr_assert_eq(app()->retry.attempts, 1);
	cr_assert_eq(app()->retry.budget_percent, 0);
	cr_assert_eq(app()->retry.body_bytes, 0);
	cr_assert_eq(app()->retry.backoff_ms, 0);
	cr_assert_eq(load(GROUP "    retry: {budget: 100%, attempts: 10, body_bytes: 64m}\n"), 0,
	             "%s", printed());
	cr_assert_eq(app()->retry.budget_percent, 100);
	cr_assert_eq(load(GROUP "    retry: {budget: 20}\n"), 0, "%s", printed());
	cr_assert_eq(app()->retry.budget_percent, 20);
	cr_assert_eq(load(GROUP "    retry:\n"
	                        "      attempts: 0\n"
	                        "      budget: 120%\n"
	                        "      min_retries: 10001\n"
	                        "      backoff: 25\n"
	                        "      backoff_max: soon\n"
	                        "      body_bytes: 65m\n"),
	             6, "%s", printed());
	expect_hint(6, 17, "upstreams.app.retry.attempts: 0 is out of range",
	            "an integer from 1 (no retry) to 10");
	expect_hint(7, 15, "upstreams.app.retry.budget: '120%' is more than 100%",
	            "from 0% to 100%");
	expect_hint(8, 20, "upstreams.app.retry.min_retries: 10001 is out of range", "0 to 10000");
	expect_hint(9, 16, "upstreams.app.retry.backoff: '25' has no unit", "'25ms'");
	expect_diag(10, 20, "upstreams.app.retry.backoff_max: 'soon' is not a duration");
	expect_hint(11, 19, "upstreams.app.retry.body_bytes: 65m is out of range", "up to 64m");
	cr_assert_eq(load(GROUP "    retry: {attempts: 11, budget: twenty}\n"), 2, "%s", printed());
	expect_diag(5, 23, "upstreams.app.retry.attempts: 11 is out of range");
	expect_hint(5, 35, "upstreams.app.retry.budget: 'twenty' is not a percentage",
	            "such as 20%");
}

Test(load_upstream, retry_backoff_max_below_backoff_is_reported_at_the_later_key)
{
	cr_assert_eq(load(GROUP "    retry:\n      backoff: 200ms\n      backoff_max: 100ms\n"), 1);
	expect_hint(7, 20,
	            "upstreams.app.retry.backoff_max: '100ms' must be at least backoff (200ms)",
	            "backoff_max caps the growing backoff");
	cr_assert_eq(load(GROUP "    retry:\n      backoff_max: 100ms\n      backoff: 200ms\n"), 1);
	expect_diag(7, 16,
	            "upstreams.app.retry.backoff: '200ms' must be at most backoff_max (100ms)");
	/* One key written: the other's default is named as such. */
	cr_assert_eq(load(GROUP "    retry: {backoff: 500ms}\n"), 1);
	expect_diag(5, 22,
	            "upstreams.app.retry.backoff: '500ms' must be at most backoff_max (250ms, the "
	            "default)");
	cr_assert_eq(load(GROUP "    retry: {backoff_max: 10ms}\n"), 1);
	expect_diag(5, 26,
	            "upstreams.app.retry.backoff_max: '10ms' must be at least backoff (25ms, the "
	            "default)");
	/* Equal is fine; a bad value is reported once, not compared. */
	cr_assert_eq(load(GROUP "    retry: {backoff: 1s, backoff_max: 1s}\n"), 0, "%s", printed());
	cr_assert_eq(load(GROUP "    retry: {backoff: 1x, backoff_max: 10ms}\n"), 1, "%s",
	             printed());
	expect_diag(5, 22, "'1x' is not a duration");
}

Test(load_upstream, passive_health_values)
{
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      passive: {consecutive_failures: 0, failure_ratio: 0%}\n"),
	             0, "%s", printed());
	cr_assert_eq(app()->passive.consecutive_failures, 0);
	cr_assert_eq(app()->passive.failure_percent, 0);
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      passive:\n"
	                        "        consecutive_failures: 10001\n"
	                        "        failure_ratio: 50.5%\n"
	                        "        min_requests: 0\n"
	                        "        window: 0\n"
	                        "        eject_time: 0s\n"
	                        "        max_eject_time: 25h\n"
	                        "        max_ejected: 101%\n"
	                        "        panic_threshold: '050%'\n"),
	             8, "%s", printed());
	expect_hint(7, 31,
	            "upstreams.app.health.passive.consecutive_failures: 10001 is out of range",
	            "from 0 (off) to 10000");
	expect_diag(8, 24,
	            "upstreams.app.health.passive.failure_ratio: '50.5%' is not a percentage");
	expect_hint(9, 23, "upstreams.app.health.passive.min_requests: 0 is out of range",
	            "from 1 to 1000000");
	expect_diag(10, 17, "upstreams.app.health.passive.window: must be greater than 0");
	expect_diag(11, 21, "upstreams.app.health.passive.eject_time: must be greater than 0");
	expect_diag(12, 25,
	            "upstreams.app.health.passive.max_eject_time: '25h' is longer than 24h");
	expect_diag(13, 22, "upstreams.app.health.passive.max_ejected: '101%' is more than 100%");
	expect_diag(14, 26,
	            "upstreams.app.health.passive.panic_threshold: '050%' has a leading zero");
}

Test(load_upstream, passive_max_eject_time_below_eject_time)
{
	cr_assert_eq(load(GROUP "    health:\n      passive: {max_eject_time: 5s}\n"), 1);
	expect_hint(6, 33,
	            "upstreams.app.health.passive.max_eject_time: '5s' must be at least eject_time "
	            "(10s, the default)",
	            "doubles on repeat");
	cr_assert_eq(
	    load(GROUP "    health:\n      passive: {max_eject_time: 1m, eject_time: 2m}\n"), 1);
	expect_diag(6, 49,
	            "upstreams.app.health.passive.eject_time: '2m' must be at most max_eject_time "
	            "(1m)");
	cr_assert_eq(
	    load(GROUP "    health:\n      passive: {eject_time: 30s, max_eject_time: 30s}\n"), 0,
	    "%s", printed());
}

Test(load_upstream, active_health_values)
{
	cr_assert_eq(load(GROUP "    health:\n      active: {path: /, expect_status: 204}\n"), 0,
	             "%s", printed());
	cr_assert_str_eq(app()->active.path, "/");
	cr_assert_null(app()->active.host);
	cr_assert_eq(app()->active.expect_min, 204);
	cr_assert_eq(app()->active.expect_max, 204);
	cr_assert_eq(app()->active.interval_ms, 5000);
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      active:\n"
	                        "        path: healthz\n"
	                        "        host: 'a b'\n"
	                        "        interval: 0\n"
	                        "        expect_status: 99\n"
	                        "        healthy_threshold: 0\n"
	                        "        unhealthy_threshold: 1001\n"),
	             6, "%s", printed());
	expect_hint(7, 15, "upstreams.app.health.active.path: 'healthz' must start with '/'",
	            "such as /healthz");
	expect_hint(8, 15, "upstreams.app.health.active.host: 'a b' may only contain letters",
	            "app.internal");
	expect_diag(9, 19, "upstreams.app.health.active.interval: must be greater than 0");
	expect_hint(
	    10, 24,
	    "upstreams.app.health.active.expect_status: '99' is not an HTTP status from 100 "
	    "to 599",
	    "100 to 599");
	expect_hint(11, 28, "upstreams.app.health.active.healthy_threshold: 0 is out of range",
	            "from 1 to 1000");
	expect_diag(12, 30,
	            "upstreams.app.health.active.unhealthy_threshold: 1001 is out of range");
}

Test(load_upstream, active_path_host_and_status_forms)
{
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      active:\n"
	                        "        path: '/a b'\n"
	                        "        expect_status: 399-200\n"
	                        "        host: ''\n"),
	             3, "%s", printed());
	expect_diag(7, 15, "path: '/a b' may not contain spaces or control characters");
	expect_hint(8, 24, "expect_status: the range '399-200' ends before it starts",
	            "lower status first");
	expect_diag(9, 15, "upstreams.app.health.active.host: '' is empty");
	cr_assert_eq(load(GROUP "    health:\n      active: {path: '/#x', expect_status: 2xx}\n"),
	             2, "%s", printed());
	expect_diag(6, 22, "path: '/#x' may not contain '#'");
	expect_hint(6, 44, "expect_status: '2xx' is not a status or a range", "such as 200-399");
	cr_assert_eq(load(GROUP "    health:\n      active: {path: /h, expect_status: 200-600}\n"),
	             1);
	expect_diag(6, 41, "'200-600' is not an HTTP status from 100 to 599");
}

Test(load_upstream, active_needs_a_path)
{
	cr_assert_eq(load(GROUP "    health:\n      active:\n        interval: 5s\n"), 1);
	expect_hint(6, 7, "upstreams.app.health.active has no 'path'", "add path: /healthz");
	cr_assert_eq(load(GROUP "    health:\n      active: {}\n"), 1);
	expect_diag(6, 7, "upstreams.app.health.active has no 'path'");
	cr_assert_eq(load(GROUP "    health:\n      active:\n"), 1);
	expect_diag(6, 14, "'upstreams.app.health.active' has no value");
	/* A bad path is reported once, as bad, not also as missing. */
	cr_assert_eq(load(GROUP "    health:\n      active: {path: x}\n"), 1, "%s", printed());
}

Test(load_upstream, active_timeout_must_be_less_than_interval)
{
	cr_assert_eq(
	    load(GROUP "    health:\n      active: {path: /h, interval: 5s, timeout: 5s}\n"), 1);
	expect_hint(6, 49,
	            "upstreams.app.health.active.timeout: '5s' must be less than interval (5s)",
	            "make timeout shorter than interval");
	cr_assert_eq(
	    load(GROUP "    health:\n      active: {path: /h, timeout: 3s, interval: 1s}\n"), 1);
	expect_diag(6, 49,
	            "upstreams.app.health.active.interval: '1s' must be more than timeout (3s)");
	cr_assert_eq(load(GROUP "    health:\n      active: {path: /h, interval: 2s}\n"), 1);
	expect_diag(6, 36,
	            "upstreams.app.health.active.interval: '2s' must be more than timeout (2s, the "
	            "default)");
	cr_assert_eq(load(GROUP "    health:\n      active: {path: /h, timeout: 4999ms}\n"), 0,
	             "%s", printed());
}

Test(load_upstream, breaker_values)
{
	cr_assert_eq(load(GROUP "    breaker: {failure_ratio: 0%}\n"), 0, "%s", printed());
	cr_assert_eq(app()->breaker.failure_percent, 0);
	cr_assert_eq(load(GROUP "    breaker:\n"
	                        "      failure_ratio: 100.0%\n"
	                        "      min_requests: 0\n"
	                        "      window: 0\n"
	                        "      open_time: 5\n"
	                        "      half_open_requests: 0\n"),
	             5, "%s", printed());
	expect_diag(6, 22, "upstreams.app.breaker.failure_ratio: '100.0%' is not a percentage");
	expect_diag(7, 21, "upstreams.app.breaker.min_requests: 0 is out of range");
	expect_diag(8, 15, "upstreams.app.breaker.window: must be greater than 0");
	expect_diag(9, 18, "upstreams.app.breaker.open_time: '5' has no unit");
	expect_hint(10, 27, "upstreams.app.breaker.half_open_requests: 0 is out of range",
	            "from 1 to 1000");
}

Test(load_upstream, unknown_keys_and_wrong_shapes)
{
	cr_assert_eq(load(GROUP "    slowstart: 1s\n"
	                        "    retry: {attempt: 3}\n"
	                        "    health: {pasive: {}}\n"
	                        "    breaker: {opentime: 1s}\n"),
	             4, "%s", printed());
	expect_hint(5, 5, "unknown key 'slowstart' in 'upstreams.app'",
	            "did you mean 'slow_start'?");
	expect_hint(6, 13, "unknown key 'attempt' in 'upstreams.app.retry'",
	            "did you mean 'attempts'? valid keys: attempts, budget, min_retries, backoff, "
	            "backoff_max, body_bytes");
	expect_hint(7, 14, "unknown key 'pasive' in 'upstreams.app.health'",
	            "did you mean 'passive'? valid keys: passive, active");
	expect_hint(8, 15, "unknown key 'opentime' in 'upstreams.app.breaker'",
	            "did you mean 'open_time'?");
	cr_assert_eq(load(GROUP "    retry: 3\n    health: [passive]\n    breaker:\n"), 3, "%s",
	             printed());
	expect_diag(5, 12, "'upstreams.app.retry' must be a mapping, found a scalar");
	expect_diag(6, 13, "'upstreams.app.health' must be a mapping, found a list");
	expect_diag(7, 13, "'upstreams.app.breaker' has no value");
}

Test(load_upstream, problems_in_two_groups_name_each)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  a: {servers: [127.0.0.1:1], retry: {attempts: 0}}\n"
	                  "  b: {servers: [127.0.0.1:2], breaker: {window: 0}}\n"
	                  "routes: [{path: /, upstream: a}]\n"),
	             2, "%s", printed());
	expect_diag(3, 49, "upstreams.a.retry.attempts: 0 is out of range");
	expect_diag(4, 49, "upstreams.b.breaker.window: must be greater than 0");
}

Test(load_upstream, probe_strings_are_freed_on_failure_and_replace)
{
	/* ASan's leak check fails this test if a path or host is lost. */
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      active: {path: /a, host: h.internal, interval: 0}\n"),
	             1, "%s", printed());
	cr_assert_null(C);
	cr_assert_eq(load(GROUP "    health:\n"
	                        "      active: {path: /a, host: h.internal}\n"),
	             0, "%s", printed());
	cr_assert_str_eq(app()->active.host, "h.internal");
}
