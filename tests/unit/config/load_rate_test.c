/*
 * limits.downstream_min_rate and timeouts.downstream_rate_window: defaults,
 * values, bounds (GitHub issue 9, item 3).
 */
#include "config/cfg_helpers.h"

TestSuite(load_rate, .init = setup, .fini = teardown);

Test(load_rate, defaults)
{
	cr_assert_eq(load(BASE), 0, "%s", printed());
	cr_assert_eq(C->limits.downstream_min_rate, 500);
	cr_assert_eq(C->timeouts.downstream_rate_window_ms, 10000);
}

Test(load_rate, values)
{
	cr_assert_eq(load(BASE "limits: {downstream_min_rate: 1k}\n"
	                       "timeouts: {downstream_rate_window: 2500ms}\n"),
	             0, "%s", printed());
	cr_assert_eq(C->limits.downstream_min_rate, 1024);
	cr_assert_eq(C->timeouts.downstream_rate_window_ms, 2500);
	cr_assert_eq(load(BASE "limits: {downstream_min_rate: 0}\n"), 0, "%s", printed());
	cr_assert_eq(C->limits.downstream_min_rate, 0);
}

Test(load_rate, bounds)
{
	cr_assert_eq(load(BASE "limits: {downstream_min_rate: 2g}\n"), 1);
	cr_assert(strstr(printed(), "limits.downstream_min_rate"), "%s", printed());
	cr_assert(strstr(printed(), "up to 1g"), "%s", printed());
	cr_assert_eq(load(BASE "limits: {downstream_min_rate: slow}\n"), 1);
	cr_assert_eq(load(BASE "timeouts: {downstream_rate_window: 50ms}\n"), 1);
	cr_assert(strstr(printed(), "timeouts.downstream_rate_window"), "%s", printed());
	cr_assert_eq(load(BASE "timeouts: {downstream_rate_window: 0}\n"), 1);
}
