/*
 * Doctor's response reader: each scripted upstream story of the e2e suite
 * (tests/e2e/test_45_fault_stories.py) reaches the proxy's fault, whole
 * and split at every byte; the timers follow response.c's.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <uv.h>

#include "doctor/reader.h"

#define MS 1000000ull

static struct tt_config *cfg;

static void setup(void)
{
	cfg = tt_cfg_new_default();
}

static void teardown(void)
{
	tt_cfg_unref(&cfg);
}

TestSuite(doctor_reader, .init = setup, .fini = teardown);

/* Feed s in pieces of step bytes (0 = whole) at 1 ms apart, then end the
 * stream with eof_err unless it is 0. Returns the phase; r is left for the
 * caller to inspect and finish. */
static enum tt_doc_phase story(struct tt_doc_reader *r, const char *s, size_t len, size_t step,
                               int eof_err)
{
	char buf[32768];
	uint64_t now = 1000 * MS;
	memcpy(buf, s, len);
	tt_doc_reader_init(r, cfg, TT_METHOD_GET, now, now);
	for (size_t pos = 0; pos < len;) {
		size_t n = step && len - pos > step ? step : len - pos;
		now += MS;
		tt_doc_reader_feed(r, buf + pos, n, now);
		pos += n;
	}
	if (eof_err)
		tt_doc_reader_eof(r, eof_err, now + MS);
	return r->phase;
}

/* The story whole and at every split reaches fault id (NONE = DONE). */
static void expect(const char *s, size_t len, int eof_err, enum tt_fault_id id)
{
	for (size_t step = 0; step <= len; step++) {
		struct tt_doc_reader r;
		enum tt_doc_phase ph = story(&r, s, len, step, eof_err);
		if (id == TT_FAULT_NONE)
			cr_expect_eq(ph, TT_DOC_DONE, "step %zu: phase %d, fault %d", step, ph,
			             r.fault.id);
		else
			cr_expect_eq(r.fault.id, id, "step %zu: fault %d (%s), want %d", step,
			             r.fault.id, r.fault.details, id);
		tt_doc_reader_fini(&r);
	}
}

#define EXPECT(lit, eof, id) expect(lit, sizeof(lit) - 1, eof, id)

Test(doctor_reader, complete_length_response_is_done_and_reusable)
{
	struct tt_doc_reader r;
	const char s[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	EXPECT(s, 0, TT_FAULT_NONE);
	story(&r, s, sizeof(s) - 1, 0, 0);
	cr_expect(r.keep_alive);
	cr_expect_eq(r.pump.body_bytes, 5);
	cr_expect_eq(r.head.status, 200);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, interim_responses_are_skipped)
{
	struct tt_doc_reader r;
	const char s[] =
	    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\n\r\n";
	EXPECT(s, 0, TT_FAULT_NONE);
	story(&r, s, sizeof(s) - 1, 0, 0);
	cr_expect_eq(r.interim, 2);
	cr_expect_eq(r.head.status, 204);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, switching_protocols_unasked_is_upgrade_failed)
{
	EXPECT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", 0,
	       TT_FAULT_HTTP_UPGRADE_FAILED);
}

Test(doctor_reader, garbage_status_line_is_protocol_error_with_offset)
{
	struct tt_doc_reader r;
	const char s[] = "GARBAGE\r\n\r\n";
	EXPECT(s, UV_EOF, TT_FAULT_HTTP_PROTOCOL_ERROR);
	story(&r, s, sizeof(s) - 1, 0, 0);
	cr_expect(strstr(r.fault.details, "offset") != NULL, "%s", r.fault.details);
	cr_expect_eq(r.fault.stage, TT_STAGE_READ_HEAD);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, length_with_chunked_is_protocol_error)
{
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5\r\nhello\r\n0\r\n\r\n",
	       UV_EOF, TT_FAULT_HTTP_PROTOCOL_ERROR);
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", UV_EOF,
	       TT_FAULT_HTTP_PROTOCOL_ERROR);
}

Test(doctor_reader, head_over_the_limit_is_header_section_size)
{
	static char s[24000];
	size_t n = (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n");
	for (int i = 0; i < 40; i++) {
		n += (size_t)snprintf(s + n, sizeof(s) - n, "X-Fill-%02d: ", i);
		memset(s + n, 'v', 500);
		n += 500;
		n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");
	}
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n");
	for (size_t step = 0; step < 64; step += 7) {
		struct tt_doc_reader r;
		story(&r, s, n, step, UV_EOF);
		cr_expect_eq(r.fault.id, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE, "step %zu: %d",
		             step, r.fault.id);
		cr_expect(r.fault.param_is_int && r.fault.int_value > 0);
		tt_doc_reader_fini(&r);
	}
}

Test(doctor_reader, one_field_over_half_the_limit_names_the_field)
{
	static char s[12000];
	struct tt_doc_reader r;
	size_t n =
	    (size_t)snprintf(s, sizeof(s), "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: ");
	memset(s + n, 'b', 9000);
	n += 9000;
	n += (size_t)snprintf(s + n, sizeof(s) - n, "\r\n\r\n");
	story(&r, s, n, 0, UV_EOF);
	cr_expect_eq(r.fault.id, TT_FAULT_HTTP_RESPONSE_HEADER_SIZE);
	cr_expect_str_eq(r.fault.param_name, "header-name");
	cr_expect_str_eq(r.fault.param_value, "x-big");
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, bad_chunk_size_is_transfer_coding_with_the_head_or_later)
{
	struct tt_doc_reader r;
	const char s[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
	EXPECT(s, UV_EOF, TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING);
	story(&r, s, sizeof(s) - 1, 0, 0);
	cr_expect_str_eq(r.fault.param_name, "coding");
	cr_expect_str_eq(r.fault.param_value, "chunked");
	cr_expect_eq(r.fault.received_status, 200);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, body_shorter_than_its_length_is_incomplete)
{
	struct tt_doc_reader r;
	const char s[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789";
	EXPECT(s, UV_EOF, TT_FAULT_HTTP_RESPONSE_INCOMPLETE);
	story(&r, s, sizeof(s) - 1, 0, UV_EOF);
	cr_expect(strstr(r.fault.details, "10 of 100") != NULL, "%s", r.fault.details);
	tt_doc_reader_fini(&r);
	EXPECT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", UV_ECONNRESET,
	       TT_FAULT_HTTP_RESPONSE_INCOMPLETE);
}

Test(doctor_reader, closed_before_or_inside_the_head_is_terminated)
{
	struct tt_doc_reader r;
	story(&r, "", 0, 0, UV_EOF);
	cr_expect_eq(r.fault.id, TT_FAULT_CONNECTION_TERMINATED);
	cr_expect_eq(r.fault.stage, TT_STAGE_WAIT_HEAD);
	tt_doc_reader_fini(&r);
	story(&r, "HTTP/1.1 200 OK\r\nContent-Le", 27, 0, UV_ECONNRESET);
	cr_expect_eq(r.fault.id, TT_FAULT_CONNECTION_TERMINATED);
	cr_expect_eq(r.fault.stage, TT_STAGE_READ_HEAD);
	cr_expect_eq(r.fault.sys_err, UV_ECONNRESET);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, close_delimited_body_ends_at_eof_and_is_not_reusable)
{
	struct tt_doc_reader r;
	const char s[] = "HTTP/1.1 200 OK\r\n\r\nabc";
	EXPECT(s, UV_EOF, TT_FAULT_NONE);
	story(&r, s, sizeof(s) - 1, 0, UV_EOF);
	cr_expect_not(r.keep_alive);
	cr_expect_eq(r.pump.body_bytes, 3);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, bytes_past_the_end_or_connection_close_forbid_reuse)
{
	struct tt_doc_reader r;
	story(&r, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA", 44, 0, 0);
	cr_expect_eq(r.phase, TT_DOC_DONE);
	cr_expect(r.extra);
	cr_expect_not(r.keep_alive);
	tt_doc_reader_fini(&r);
	const char closing[] = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
	story(&r, closing, sizeof(closing) - 1, 0, 0);
	cr_expect_eq(r.phase, TT_DOC_DONE);
	cr_expect_not(r.keep_alive);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, no_head_by_the_deadline_is_response_timeout)
{
	struct tt_doc_reader r;
	cfg->timeouts.upstream_head_ms = 1000;
	tt_doc_reader_init(&r, cfg, TT_METHOD_GET, 0, 5 * MS);
	cr_expect_eq(tt_doc_reader_deadline(&r), 1005 * MS);
	tt_doc_reader_timeout(&r, 1005 * MS);
	cr_expect_eq(r.fault.id, TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_expect_eq(r.fault.stage, TT_STAGE_WAIT_HEAD);
	cr_expect_str_eq(r.fault.details, "no complete response head within 1000 ms");
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, part_of_a_head_then_silence_is_read_timeout)
{
	struct tt_doc_reader r;
	char part[] = "HTTP/1.1 200 OK\r\nContent-Type: text/";
	cfg->timeouts.upstream_head_ms = 10000;
	cfg->timeouts.upstream_idle_ms = 1000;
	tt_doc_reader_init(&r, cfg, TT_METHOD_GET, 0, 0);
	tt_doc_reader_feed(&r, part, sizeof(part) - 1, 50 * MS);
	cr_expect_eq(tt_doc_reader_deadline(&r), 1050 * MS);
	tt_doc_reader_timeout(&r, 1050 * MS);
	cr_expect_eq(r.fault.id, TT_FAULT_CONNECTION_READ_TIMEOUT);
	cr_expect_eq(r.fault.stage, TT_STAGE_READ_HEAD);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, silence_in_the_body_is_read_timeout_and_total_caps_all)
{
	struct tt_doc_reader r;
	char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab";
	cfg->timeouts.upstream_idle_ms = 300;
	cfg->timeouts.total_ms = 2000;
	tt_doc_reader_init(&r, cfg, TT_METHOD_GET, 0, 0);
	tt_doc_reader_feed(&r, head, sizeof(head) - 1, 100 * MS);
	cr_expect_eq(r.phase, TT_DOC_BODY);
	cr_expect_eq(tt_doc_reader_deadline(&r), 400 * MS);
	tt_doc_reader_timeout(&r, 400 * MS);
	cr_expect_eq(r.fault.id, TT_FAULT_CONNECTION_READ_TIMEOUT);
	cr_expect_eq(r.fault.stage, TT_STAGE_READ_BODY);
	tt_doc_reader_fini(&r);

	cfg->timeouts.upstream_idle_ms = 0;
	tt_doc_reader_init(&r, cfg, TT_METHOD_GET, 0, 0);
	tt_doc_reader_feed(&r, head, sizeof(head) - 1, 100 * MS);
	cr_expect_eq(tt_doc_reader_deadline(&r), 2000 * MS);
	tt_doc_reader_timeout(&r, 2000 * MS);
	cr_expect_eq(r.fault.id, TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	tt_doc_reader_fini(&r);
}

Test(doctor_reader, no_timeout_configured_means_no_deadline)
{
	struct tt_doc_reader r;
	cfg->timeouts.upstream_head_ms = 0;
	cfg->timeouts.upstream_idle_ms = 0;
	cfg->timeouts.total_ms = 0;
	tt_doc_reader_init(&r, cfg, TT_METHOD_GET, 0, 0);
	cr_expect_eq(tt_doc_reader_deadline(&r), 0);
	tt_doc_reader_fini(&r);
}
