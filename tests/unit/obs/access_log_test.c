/*
 * Access log lines: valid JSON whatever the target holds, nulls where a
 * value is absent, and the cut mark on very long targets.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "obs/access_log.h"

static char line[TT_LOG_LINE_MAX];

Test(access_log, full_entry_has_every_key)
{
	struct tt_log_entry e = {
	    .time_ms = 1764115200123ull,
	    .request_id = "abc",
	    .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
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
	};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert_str_eq(line,
	                 "{\"time\":\"2025-11-26T00:00:00.123Z\",\"request_id\":\"abc\","
	                 "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
	                 "\"downstream\":\"127.0.0.1:5000\",\"method\":\"GET\",\"target\":\"/x\","
	                 "\"status\":200,\"bytes_in\":0,\"bytes_out\":120,\"duration_ms\":1.500,"
	                 "\"upstream\":\"127.0.0.1:8000\",\"upstream_status\":200,"
	                 "\"upstream_connect_ms\":0.250,\"upstream_head_ms\":0.750,\"fault\":null,"
	                 "\"fault_type\":null,\"fault_stage\":null,\"fault_details\":null,"
	                 "\"attempts\":[]}\n");
}

Test(access_log, absent_values_are_null_and_bytes_escaped)
{
	struct tt_fault bad;
	tt_fault_clear(&bad);
	tt_fault_set(&bad, TT_FAULT_REQUEST_MALFORMED, TT_STAGE_REQUEST, 0);
	tt_fault_details(&bad, "bare_cr at offset 3 \"q\"");
	struct tt_log_entry e = {
	    .time_ms = 0,
	    .request_id = "r",
	    .downstream = "d",
	    .target = "/a\"b\\c\x01\xff",
	    .target_len = 8,
	    .status = 400,
	    .upstream_connect_ms = -1,
	    .upstream_head_ms = -1,
	    .fault = &bad,
	};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert(strstr(line, "\"request_id\":\"r\",\"trace_id\":null,"), "%s", line);
	cr_assert(strstr(line, "\"method\":null"));
	cr_assert(strstr(line, "\"target\":\"/a\\\"b\\\\c\\u0001\\u00ff\""), "%s", line);
	cr_assert(strstr(line, "\"upstream\":null"));
	cr_assert(strstr(line, "\"upstream_status\":null"));
	cr_assert(strstr(line, "\"upstream_connect_ms\":null"));
	cr_assert(strstr(line,
	                 "\"fault\":\"bad_request\",\"fault_type\":\"http_request_error\","
	                 "\"fault_stage\":\"request\","
	                 "\"fault_details\":\"bare_cr at offset 3 \\\"q\\\"\",\"attempts\":[]}\n"),
	          "%s", line);
}

Test(access_log, attempts_are_listed_with_their_faults)
{
	struct tt_fault f;
	struct tt_fault_attempt *a;
	tt_fault_clear(&f);
	a = tt_fault_attempt_add(&f);
	snprintf(a->upstream, sizeof(a->upstream), "127.0.0.1:8000");
	a->id = TT_FAULT_CONNECTION_TERMINATED;
	a->stage = TT_STAGE_WAIT_HEAD;
	a->connect_ms = 0;
	a->head_ms = -1;
	a->reused = 1;
	a = tt_fault_attempt_add(&f);
	snprintf(a->upstream, sizeof(a->upstream), "127.0.0.1:8001");
	a->connect_ms = 0.5;
	a->head_ms = 1.25;
	struct tt_log_entry e = {.fault = &f, .upstream_connect_ms = -1, .upstream_head_ms = -1};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert(
	    strstr(line,
	           "\"attempts\":[{\"upstream\":\"127.0.0.1:8000\",\"fault\":\"upstream_closed\","
	           "\"stage\":\"wait-head\",\"connect_ms\":0.000,\"head_ms\":null,"
	           "\"reused\":true},{\"upstream\":\"127.0.0.1:8001\",\"fault\":null,"
	           "\"stage\":null,\"connect_ms\":0.500,\"head_ms\":1.250,\"reused\":false}]"),
	    "%s", line);
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

Test(access_log, tls_fields_follow_the_downstream_on_tls_listeners)
{
	struct tt_log_entry e = {
	    .request_id = "r",
	    .downstream = "127.0.0.1:5000",
	    .tls_version = "TLSv1.3",
	    .tls_cipher = "TLS_AES_256_GCM_SHA384",
	    .tls_resumed = 1,
	    .upstream_connect_ms = -1,
	    .upstream_head_ms = -1,
	};
	size_t n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert(strstr(line, "\"downstream\":\"127.0.0.1:5000\",\"tls\":\"TLSv1.3\","
	                       "\"tls_cipher\":\"TLS_AES_256_GCM_SHA384\",\"tls_resumed\":true,"
	                       "\"method\":null"),
	          "%s", line);
	e.tls_version = NULL;
	n = tt_log_format(line, sizeof(line), &e);
	line[n] = 0;
	cr_assert_null(strstr(line, "tls"), "%s", line);
}
