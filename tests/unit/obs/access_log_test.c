/*
 * Access log lines: valid JSON whatever the target holds, nulls where a
 * value is absent, and the cut mark on very long targets.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "obs/access_log.h"

static char line[TT_LOG_LINE_MAX];

Test(access_log, full_entry_has_every_key)
{
	struct tt_log_entry e = {
	    .time_ms = 1764115200123ull,
	    .request_id = "abc",
	    .downstream = "127.0.0.1:5000",
	    .method = "GET",
	    .method_len = 3,
	    .target = "/x",
	    .target_len = 2,
	    .status = 200,
	    .bytes_in = 0,
	    .bytes_out = 120,
	    .duration_ms = 1.5,
	    .upstream = "127.0.0.1:8000",
	    .upstream_status = 200,
	    .upstream_connect_ms = 0.25,
	    .upstream_head_ms = 0.75,
	    .attempts = 1,
	};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert_str_eq(line,
	                 "{\"time\":\"2025-11-26T00:00:00.123Z\",\"request_id\":\"abc\","
	                 "\"downstream\":\"127.0.0.1:5000\",\"method\":\"GET\",\"target\":\"/x\","
	                 "\"status\":200,\"bytes_in\":0,\"bytes_out\":120,\"duration_ms\":1.500,"
	                 "\"upstream\":\"127.0.0.1:8000\",\"upstream_status\":200,"
	                 "\"upstream_connect_ms\":0.250,\"upstream_head_ms\":0.750,\"attempts\":1,"
	                 "\"upstream_reused\":false,\"error\":null}\n");
}

Test(access_log, absent_values_are_null_and_bytes_escaped)
{
	struct tt_log_entry e = {
	    .time_ms = 0,
	    .request_id = "r",
	    .downstream = "d",
	    .target = "/a\"b\\c\x01\xff",
	    .target_len = 8,
	    .status = 400,
	    .upstream_connect_ms = -1,
	    .upstream_head_ms = -1,
	    .error = "bad_request",
	};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert(strstr(line, "\"method\":null"));
	cr_assert(strstr(line, "\"target\":\"/a\\\"b\\\\c\\u0001\\u00ff\""), "%s", line);
	cr_assert(strstr(line, "\"upstream\":null"));
	cr_assert(strstr(line, "\"upstream_status\":null"));
	cr_assert(strstr(line, "\"upstream_connect_ms\":null"));
	cr_assert(strstr(line, "\"error\":\"bad_request\"}\n"));
}

Test(access_log, long_target_is_cut_and_marked)
{
	static char target[TT_LOG_TARGET_MAX + 100];
	memset(target, 'a', sizeof(target));
	struct tt_log_entry e = {.target = target,
	                         .target_len = sizeof(target),
	                         .upstream_connect_ms = -1,
	                         .upstream_head_ms = -1};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert(strstr(line, "aaa...\""));
	cr_assert(n < TT_LOG_TARGET_MAX + 1024);
}
