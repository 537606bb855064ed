/*
 * fault/classify.h, the response-side classification shared by the proxy
 * and doctor: each observation maps to one fault, with the proxy's
 * wording. (Here rather than in tests/unit/fault/ because doctor brought
 * the module; it tests src/fault/classify.c.)
 */
#include <criterion/criterion.h>
#include <netdb.h>
#include <string.h>
#include <uv.h>

#include "fault/classify.h"

Test(classify, head_errors_map_to_the_most_specific_fault)
{
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_HEAD_TOO_LARGE),
	             TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE);
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_TOO_MANY_FIELDS),
	             TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE);
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_FIELD_TOO_LARGE),
	             TT_FAULT_HTTP_RESPONSE_HEADER_SIZE);
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_TE_UNKNOWN),
	             TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING);
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_CL_AND_TE), TT_FAULT_HTTP_PROTOCOL_ERROR);
	cr_expect_eq(tt_fault_from_head_error(TT_H1_ERR_STATUS), TT_FAULT_HTTP_PROTOCOL_ERROR);
}

Test(classify, protocol_error_details_show_the_offending_byte)
{
	struct tt_fault f;
	struct tt_h1_head h = {.err = TT_H1_ERR_STATUS, .err_offset = 0};
	struct tt_h1_limits lim = {16384, 8192, 8192, 100};
	tt_fault_clear(&f);
	tt_fault_set(&f, TT_FAULT_HTTP_PROTOCOL_ERROR, TT_STAGE_READ_HEAD, 0);
	tt_fault_describe_head_error(&f, &h, "GARBAGE", 7, &lim);
	cr_expect(strstr(f.details, "at offset 0: byte 0x47 'G'") != NULL, "%s", f.details);
	h.err_offset = 1;
	tt_fault_describe_head_error(&f, &h, "\x01\x02", 2, &lim);
	cr_expect(strstr(f.details, "byte 0x02") != NULL, "%s", f.details);
}

Test(classify, field_too_large_names_the_field_lower_cased)
{
	struct tt_fault f;
	const char buf[] = "HTTP/1.1 200 OK\r\nX-Big: bbbb";
	struct tt_h1_head h = {.err = TT_H1_ERR_FIELD_TOO_LARGE, .err_offset = 25};
	struct tt_h1_limits lim = {16384, 8192, 8192, 100};
	tt_fault_clear(&f);
	tt_fault_describe_head_error(&f, &h, buf, sizeof(buf) - 1, &lim);
	cr_expect_str_eq(f.param_name, "header-name");
	cr_expect_str_eq(f.param_value, "x-big");
}

Test(classify, timers_follow_the_phase)
{
	struct tt_cfg_timeouts to = {
	    .upstream_connect_ms = 5, .upstream_head_ms = 7, .upstream_idle_ms = 3, .total_ms = 9};
	struct tt_fault_wait w = {.to = &to};
	enum tt_stage st;
	int sys;

	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_CONNECTION_TIMEOUT);
	cr_expect_eq(st, TT_STAGE_CONNECT);
	cr_expect_eq(sys, UV_ETIMEDOUT);
	w.connected = 1;
	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_expect_eq(st, TT_STAGE_WAIT_HEAD);
	w.head_bytes = 4;
	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_expect_eq(st, TT_STAGE_READ_HEAD);
	w.before_head_deadline = 1;
	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_CONNECTION_READ_TIMEOUT);
	w.head_done = 1;
	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_CONNECTION_READ_TIMEOUT);
	cr_expect_eq(st, TT_STAGE_READ_BODY);
	w.total_expired = 1;
	cr_expect_eq(tt_fault_from_timeout(&w, &st, &sys), TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_expect_eq(st, TT_STAGE_READ_BODY);
}

Test(classify, timer_details_are_the_proxys)
{
	struct tt_cfg_timeouts to = {.upstream_connect_ms = 500, .upstream_idle_ms = 1000};
	struct tt_fault_wait w = {.to = &to};
	struct tt_fault f;
	tt_fault_clear(&f);
	tt_fault_describe_timeout(&f, &w);
	cr_expect_str_eq(f.details, "no answer to the connection attempt within 500 ms");
	w.connected = w.head_done = 1;
	w.body_bytes = 12;
	tt_fault_describe_timeout(&f, &w);
	cr_expect_str_eq(f.details, "silence for 1000 ms after 12 body bytes");
}

Test(classify, end_of_stream_and_dns)
{
	enum tt_stage st;
	struct tt_fault f;
	cr_expect_eq(tt_fault_from_eof(0, 0, &st), TT_FAULT_CONNECTION_TERMINATED);
	cr_expect_eq(st, TT_STAGE_WAIT_HEAD);
	cr_expect_eq(tt_fault_from_eof(0, 3, &st), TT_FAULT_CONNECTION_TERMINATED);
	cr_expect_eq(st, TT_STAGE_READ_HEAD);
	cr_expect_eq(tt_fault_from_eof(1, 0, &st), TT_FAULT_HTTP_RESPONSE_INCOMPLETE);
	tt_fault_clear(&f);
	tt_fault_describe_eof_head(&f, UV_EOF, 0, 1);
	cr_expect_str_eq(f.details,
	                 "connection closed after 0 bytes of the response head (reused keep-alive "
	                 "connection)");
	tt_fault_describe_eof_send(&f, UV_ECONNRESET, 1, 4096);
	cr_expect_str_eq(f.details, "connection reset by peer while the request was being sent, "
	                            "after 4096 bytes of its body");
	tt_fault_describe_send_error(&f, UV_EPIPE, 1, 4096);
	cr_expect_str_eq(f.details,
	                 "writing the request: broken pipe, after 4096 bytes of its body");
	tt_fault_describe_send_error(&f, UV_EPIPE, 0, 0);
	cr_expect_str_eq(f.details, "writing the request: broken pipe");
	tt_fault_describe_eof_send(&f, UV_EOF, 0, 0);
	cr_expect_str_eq(f.details, "connection closed while the request head was being sent");
	tt_fault_describe_eof_body(&f, UV_EOF, 1, 10, 90);
	cr_expect_str_eq(f.details, "connection closed after 10 of 100 body bytes");
	cr_expect_eq(tt_fault_from_gai(EAI_AGAIN), TT_FAULT_DNS_TIMEOUT);
	cr_expect_eq(tt_fault_from_gai(EAI_NONAME), TT_FAULT_DNS_ERROR);
}
