/*
 * Tests for src/http/h1_parse.c: request and response heads, valid and
 * malformed, each parsed whole and then as every prefix. A prefix must give
 * TT_H1_INCOMPLETE or exactly the whole message's outcome (same error, same
 * offset), which is what lets the proxy parse as bytes arrive. Every parse
 * reads from an exact-size heap copy so ASan catches a read past the end.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1_parse.h"

#define MAX_FIELDS 64
#define S(lit)     lit, sizeof(lit) - 1

static const struct tt_h1_limits default_limits = {
    .max_head_bytes = 8192,
    .max_target_bytes = 2048,
    .max_field_bytes = 4096,
    .max_fields = 32,
};
static struct tt_h1_limits L;
static struct tt_h1_field fields[MAX_FIELDS];         /* H's */
static struct tt_h1_field scratch_fields[MAX_FIELDS]; /* prefix parses' */
static struct tt_h1_head H;
static char *held; /* the copy H's slices point into */
static int is_response;
static enum tt_h1_method req_method = TT_METHOD_GET;

static void setup(void)
{
	L = default_limits;
	is_response = 0;
	req_method = TT_METHOD_GET;
}

static void teardown(void)
{
	free(held);
	held = NULL;
}

TestSuite(h1, .init = setup, .fini = teardown);

static ssize_t parse_copy(const char *s, size_t n, struct tt_h1_head *h, char **keep)
{
	char *buf = malloc(n ? n : 1);
	ssize_t r;

	cr_assert(buf);
	memcpy(buf, s, n);
	h->fields = h == &H ? fields : scratch_fields;
	if (is_response)
		r = tt_h1_parse_response(buf, n, req_method, &L, h);
	else
		r = tt_h1_parse_request(buf, n, &L, h);
	if (keep)
		*keep = buf;
	else
		free(buf);
	return r;
}

/* Parse s whole into H, then every prefix; return the whole result. */
static ssize_t parse(const char *s, size_t n)
{
	struct tt_h1_head p;
	size_t k;
	ssize_t r, rp;

	teardown();
	r = parse_copy(s, n, &H, &held);
	for (k = 0; k < n; k++) {
		rp = parse_copy(s, k, &p, NULL);
		if (rp == TT_H1_INCOMPLETE)
			continue;
		cr_assert_eq(rp, r, "prefix %zu: got %zd, whole gave %zd", k, rp, r);
		if (r == TT_H1_ERROR)
			cr_assert(p.err == H.err && p.err_offset == H.err_offset,
			          "prefix %zu: %s@%zu, whole %s@%zu", k, tt_h1_err_token(p.err),
			          p.err_offset, tt_h1_err_token(H.err), H.err_offset);
	}
	return r;
}

static void ok_n(const char *s, size_t n)
{
	ssize_t r = parse(s, n);

	cr_assert_eq(r, (ssize_t)n, "want head of %zu bytes, got %zd (%s@%zu)", n, r,
	             tt_h1_err_token(H.err), H.err_offset);
	cr_assert_eq(H.head_len, n);
}

static void err_n(const char *s, size_t n, enum tt_h1_err want)
{
	ssize_t r = parse(s, n);

	cr_assert_eq(r, TT_H1_ERROR, "want %s, got %zd", tt_h1_err_token(want), r);
	cr_assert_eq(H.err, want, "want %s, got %s@%zu", tt_h1_err_token(want),
	             tt_h1_err_token(H.err), H.err_offset);
}

#define OK(lit)     ok_n(S(lit))
#define ERR(lit, e) err_n(S(lit), e)

static void field_is(size_t i, const char *name, const char *value)
{
	cr_assert_lt(i, H.nfields);
	cr_assert_eq(H.fields[i].name_len, strlen(name));
	cr_assert(memcmp(H.fields[i].name, name, strlen(name)) == 0);
	cr_assert_eq(H.fields[i].value_len, strlen(value), "value len %u, want \"%s\"",
	             H.fields[i].value_len, value);
	cr_assert(memcmp(H.fields[i].value, value, strlen(value)) == 0);
}

static void slice_is(const char *p, size_t n, const char *want)
{
	cr_assert_eq(n, strlen(want), "slice length %zu, want \"%s\"", n, want);
	cr_assert(memcmp(p, want, n) == 0);
}

/* Valid requests. */

Test(h1, simple_get_with_host)
{
	OK("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
	slice_is(H.method, H.method_len, "GET");
	cr_assert_eq(H.method_id, TT_METHOD_GET);
	slice_is(H.target, H.target_len, "/index.html?q=1");
	slice_is(H.host, H.host_len, "example.com");
	cr_assert_eq(H.version_minor, 1);
	cr_assert_eq(H.nfields, 1);
	cr_assert_eq(H.framing, TT_H1_BODY_NONE);
	cr_assert_eq(H.conn_close, 0);
	cr_assert_eq(H.err, TT_H1_OK);
}

Test(h1, values_trimmed_of_ows_both_sides)
{
	OK("GET / HTTP/1.1\r\nHost: \t example.com \t\r\nX-A:b  c\t \r\nX-Empty:\r\nX-Blank: \t "
	   "\r\n\r\n");
	field_is(0, "Host", "example.com");
	field_is(1, "X-A", "b  c");
	field_is(2, "X-Empty", "");
	field_is(3, "X-Blank", "");
}

Test(h1, bare_lf_line_endings_accepted)
{
	OK("GET / HTTP/1.1\nHost: a\n\n");
	OK("GET / HTTP/1.1\r\nHost: a\n\r\n");
	OK("GET / HTTP/1.1\nHost: a\r\n\n");
}

Test(h1, leading_empty_lines_skipped_and_counted)
{
	OK("\r\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
	slice_is(H.method, H.method_len, "GET");
	cr_assert_eq(H.method - held, 5);
}

Test(h1, leading_empty_lines_count_toward_head_limit)
{
	L.max_head_bytes = 30;
	ERR("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n",
	    TT_H1_ERR_HEAD_TOO_LARGE);
}

Test(h1, body_bytes_after_head_not_consumed)
{
	const char m[] = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";

	cr_assert_eq(parse(m, sizeof(m) - 1), (ssize_t)sizeof(m) - 6);
	cr_assert_eq(H.framing, TT_H1_BODY_LENGTH);
	cr_assert_eq(H.content_length, 5);
}

Test(h1, http10_without_host_closes)
{
	OK("GET / HTTP/1.0\r\n\r\n");
	cr_assert_eq(H.version_minor, 0);
	cr_assert_null(H.host);
	cr_assert_eq(H.conn_close, 1);
}

Test(h1, http10_keep_alive_keeps_connection)
{
	OK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
	cr_assert_eq(H.conn_close, 0);
	cr_assert_eq(H.conn_keep_alive, 1);
}

Test(h1, connection_tokens_over_several_fields)
{
	OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, , keep-alive\r\nConnection: "
	   "CLOSE\r\n\r\n");
	cr_assert_eq(H.conn_close, 1);
	cr_assert_eq(H.conn_keep_alive, 1);
	cr_assert_eq(H.conn_upgrade, 0);
}

Test(h1, connection_upgrade_and_upgrade_field)
{
	OK("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(H.conn_upgrade, 1);
	cr_assert_eq(H.has_upgrade, 1);
	cr_assert_eq(H.conn_close, 0);
}

Test(h1, expect_100_continue_case_insensitive)
{
	OK("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
	cr_assert_eq(H.expect_continue, 1);
	cr_assert_eq(H.method_id, TT_METHOD_PUT);
	OK("PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-x\r\n\r\n");
	cr_assert_eq(H.expect_continue, 0);
}

Test(h1, expect_ignored_in_http10)
{
	OK("PUT /x HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
	cr_assert_eq(H.expect_continue, 0);
}

Test(h1, method_ids_are_case_sensitive)
{
	static const struct {
		const char *m;
		enum tt_h1_method id;
	} v[] = {
	    {"GET", TT_METHOD_GET},       {"HEAD", TT_METHOD_HEAD},
	    {"POST", TT_METHOD_POST},     {"PUT", TT_METHOD_PUT},
	    {"DELETE", TT_METHOD_DELETE}, {"OPTIONS", TT_METHOD_OPTIONS},
	    {"TRACE", TT_METHOD_TRACE},   {"PATCH", TT_METHOD_PATCH},
	    {"get", TT_METHOD_OTHER},     {"PURGE", TT_METHOD_OTHER},
	    {"GETS", TT_METHOD_OTHER},    {"!#$%&'*+-.^_`|~9", TT_METHOD_OTHER},
	};
	char buf[128];
	size_t i;
	int n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = snprintf(buf, sizeof(buf), "%s / HTTP/1.1\r\nHost: a\r\n\r\n", v[i].m);
		ok_n(buf, (size_t)n);
		cr_assert_eq(H.method_id, v[i].id, "%s", v[i].m);
	}
}

Test(h1, content_length_zero_is_length_framing)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_LENGTH);
	cr_assert_eq(H.content_length, 0);
}

Test(h1, content_length_equal_list_and_repeats_accepted)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n");
	cr_assert_eq(H.content_length, 5);
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 005 ,5\r\n\r\n");
	cr_assert_eq(H.content_length, 5);
}

Test(h1, content_length_19_digits_fits)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n");
	cr_assert_eq(H.content_length, 9999999999999999999ULL);
}

Test(h1, chunked_request)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CHUNKED);
	cr_assert_eq(H.has_te, 1);
}

Test(h1, te_tab_before_value_is_ows)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CHUNKED);
}

Test(h1, te_coding_and_name_case_insensitive)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\ntransfer-ENCODING: ChUnKeD\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CHUNKED);
}

Test(h1, te_empty_list_elements_skipped)
{
	OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CHUNKED);
}

Test(h1, obs_text_in_target_and_values)
{
	OK("GET /caf\xc3\xa9\xff HTTP/1.1\r\nHost: a\r\nX-Name: \x80\xff v\r\n\r\n");
	field_is(1, "X-Name", "\x80\xff v");
}

Test(h1, absolute_form_matching_host)
{
	OK("GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n");
	slice_is(H.target, H.target_len, "http://example.com/x?y");
	slice_is(H.host, H.host_len, "example.com");
	OK("GET HTTPS://Example.COM:8443?q HTTP/1.1\r\nHost: example.com:8443\r\n\r\n");
	OK("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
}

Test(h1, absolute_form_http10_without_host_uses_authority)
{
	OK("GET http://example.com:8080/x HTTP/1.0\r\n\r\n");
	slice_is(H.host, H.host_len, "example.com:8080");
}

Test(h1, authority_form_with_connect)
{
	OK("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
	cr_assert_eq(H.method_id, TT_METHOD_CONNECT);
	OK("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n");
}

Test(h1, asterisk_form_with_options)
{
	OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_eq(H.method_id, TT_METHOD_OPTIONS);
}

Test(h1, valid_host_values)
{
	static const char *v[] = {
	    "example.com",
	    "EXAMPLE.com:80",
	    "a",
	    "127.0.0.1:65535",
	    "[::1]",
	    "[::1]:8080",
	    "[1:2:3:4:5:6:7:8]",
	    "[::ffff:192.0.2.1]",
	    "[1::]",
	    "[::]",
	    "ex%41mple.com",
	    "a-b_c~d.e",
	    "x!$&'()*+,;=",
	    "999.1.1.1",
	    "a:0",
	};
	char buf[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", v[i]);
		ok_n(buf, (size_t)n);
		slice_is(H.host, H.host_len, v[i]);
	}
}

Test(h1, limits_exactly_at_the_cap_accepted)
{
	L.max_target_bytes = 8;
	L.max_fields = 2;
	L.max_field_bytes = 10;
	L.max_head_bytes = sizeof("GET /1234567 HTTP/1.1\r\nHost: a\r\nX: 1234567\r\n\r\n") - 1;
	OK("GET /1234567 HTTP/1.1\r\nHost: a\r\nX: 1234567\r\n\r\n");
}

/* Request line errors. */

Test(h1, method_with_bad_byte)
{
	ERR("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
	cr_assert_eq(H.err_offset, 1);
	ERR("GE\x00T / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
	ERR("G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
	ERR("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
}

Test(h1, leading_space_before_method)
{
	ERR(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
}

Test(h1, garbage_rejected_before_head_ends)
{
	struct tt_h1_head h;

	/* No end of head yet, but the verdict is already known. */
	cr_assert_eq(parse_copy(S("\x16\x03\x01\x02"), &h, NULL), TT_H1_ERROR);
	cr_assert_eq(h.err, TT_H1_ERR_METHOD);
	cr_assert_eq(h.err_offset, 0);
	cr_assert_eq(parse_copy(S("GET /a\x01"), &h, NULL), TT_H1_ERROR);
	cr_assert_eq(h.err, TT_H1_ERR_TARGET);
	cr_assert_eq(parse_copy(S("GET / HTTP/1.1\r\nX: \x00"), &h, NULL), TT_H1_ERROR);
	cr_assert_eq(h.err, TT_H1_ERR_FIELD_VALUE);
}

Test(h1, line_ends_inside_request_line)
{
	ERR("GET\r\nHost: a\r\n\r\n", TT_H1_ERR_METHOD);
	ERR("GET \r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET / \r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
}

Test(h1, http09_request_has_no_version)
{
	ERR("GET /\r\n\r\n", TT_H1_ERR_VERSION);
}

Test(h1, double_space_in_request_line)
{
	ERR("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
}

Test(h1, target_with_ctl_or_del)
{
	ERR("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
}

Test(h1, target_over_limit_is_414)
{
	L.max_target_bytes = 8;
	ERR("GET /12345678 HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET_TOO_LONG);
	cr_assert_eq(H.err_offset, 12);
	cr_assert_eq(tt_h1_err_status(H.err), 414);
}

Test(h1, target_form_must_fit_the_method)
{
	ERR("GET * HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("CONNECT http://a:1/ HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("OPTIONS ** HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET x/y HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
}

Test(h1, absolute_form_bad_authority_or_scheme)
{
	ERR("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET http://user@a/x HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
	ERR("GET http:/a/x HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_TARGET);
}

Test(h1, absolute_form_with_other_host_rejected)
{
	ERR("GET http://internal.example/admin HTTP/1.1\r\nHost: public.example\r\n\r\n",
	    TT_H1_ERR_HOST_INVALID);
}

Test(h1, malformed_versions)
{
	ERR("GET / http/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/1\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/11\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/1.10\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/1.x\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/2\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("GET / HTTP/1.1\x00\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION);
}

Test(h1, well_formed_but_unsupported_versions_are_505)
{
	ERR("GET / HTTP/2.0\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION_UNSUPPORTED);
	ERR("GET / HTTP/1.2\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION_UNSUPPORTED);
	ERR("GET / HTTP/0.9\r\nHost: a\r\n\r\n", TT_H1_ERR_VERSION_UNSUPPORTED);
	cr_assert_eq(tt_h1_err_status(H.err), 505);
}

/* Line endings. */

Test(h1, bare_cr_anywhere)
{
	ERR("GET / HTTP/1.1\rHost: a\r\n\r\n", TT_H1_ERR_BARE_CR);
	cr_assert_eq(H.err_offset, 14);
	ERR("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", TT_H1_ERR_BARE_CR);
	ERR("GET / HTTP/1.1\r\nHo\rst: a\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("GET\r / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("GET / HTTP/1.1\r\nX: a\r\r\nHost: a\r\n\r\n", TT_H1_ERR_BARE_CR);
}

/* Field lines. */

Test(h1, space_before_colon_rejected)
{
	ERR("GET / HTTP/1.1\r\nHost : a\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
	    TT_H1_ERR_FIELD_NAME);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 5\r\n\r\n", TT_H1_ERR_FIELD_NAME);
}

Test(h1, bad_field_names)
{
	ERR("GET / HTTP/1.1\r\nHost: a\r\n: empty\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: z\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX\x80Y: z\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX(Y): z\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n", TT_H1_ERR_FIELD_NAME);
}

Test(h1, ctl_in_field_value)
{
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\x00z\r\n\r\n", TT_H1_ERR_FIELD_VALUE);
	cr_assert_eq(H.err_offset, 29);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01z\r\n\r\n", TT_H1_ERR_FIELD_VALUE);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fz\r\n\r\n", TT_H1_ERR_FIELD_VALUE);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: \x0b\r\n\r\n", TT_H1_ERR_FIELD_VALUE);
}

Test(h1, obs_fold_rejected)
{
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n", TT_H1_ERR_OBS_FOLD);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n", TT_H1_ERR_OBS_FOLD);
	ERR("GET / HTTP/1.1\nHost: a\n c\n\n", TT_H1_ERR_OBS_FOLD);
}

Test(h1, whitespace_line_after_start_line_rejected)
{
	ERR("GET / HTTP/1.1\r\n Host: a\r\n\r\n", TT_H1_ERR_FIELD_NAME);
	ERR("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n", TT_H1_ERR_FIELD_NAME);
}

Test(h1, too_many_fields_is_431)
{
	L.max_fields = 2;
	ERR("GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n", TT_H1_ERR_TOO_MANY_FIELDS);
	cr_assert_eq(H.err_offset, 31);
	cr_assert_eq(tt_h1_err_status(H.err), 431);
	L.max_fields = 0;
	ERR("GET / HTTP/1.0\r\nA: 1\r\n\r\n", TT_H1_ERR_TOO_MANY_FIELDS);
}

Test(h1, field_line_over_limit_is_431)
{
	L.max_field_bytes = 10;
	ERR("GET / HTTP/1.1\r\nHost: a\r\nX: 12345678\r\n\r\n", TT_H1_ERR_FIELD_TOO_LARGE);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nXXXXXXXXXXXXXXXX: 1\r\n\r\n", TT_H1_ERR_FIELD_TOO_LARGE);
	cr_assert_eq(tt_h1_err_status(H.err), 431);
}

Test(h1, head_over_limit_is_431)
{
	const char m[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct tt_h1_head h;

	L.max_head_bytes = sizeof(m) - 2;
	ERR("GET / HTTP/1.1\r\nHost: a\r\n\r\n", TT_H1_ERR_HEAD_TOO_LARGE);
	cr_assert_eq(H.err_offset, sizeof(m) - 2);
	cr_assert_eq(tt_h1_err_status(H.err), 431);
	/* Below the cap and no end yet: wait for more. */
	L.max_head_bytes = 64;
	cr_assert_eq(parse_copy(S("GET / HTTP/1.1\r\nHost: a\r\n"), &h, NULL), TT_H1_INCOMPLETE);
	/* A buffer already at the cap without an end will never be a head. */
	L.max_head_bytes = 16;
	cr_assert_eq(parse_copy(S("GET / HTTP/1.1\r\nHost: a\r\n"), &h, NULL), TT_H1_ERROR);
	cr_assert_eq(h.err, TT_H1_ERR_HEAD_TOO_LARGE);
}

Test(h1, incomplete_heads_wait)
{
	struct tt_h1_head h;

	cr_assert_eq(parse_copy(S(""), &h, NULL), TT_H1_INCOMPLETE);
	cr_assert_eq(parse_copy(S("GET / HTTP/1.1\r\nHost: a\r\n"), &h, NULL), TT_H1_INCOMPLETE);
	cr_assert_eq(parse_copy(S("GET / HTTP/1.1\r\nHost: a\r\n\r"), &h, NULL), TT_H1_INCOMPLETE);
	cr_assert_eq(parse_copy(S("\r\n\r\n"), &h, NULL), TT_H1_INCOMPLETE);
}

/* Host. */

Test(h1, host_missing_in_http11)
{
	ERR("GET / HTTP/1.1\r\nX: a\r\n\r\n", TT_H1_ERR_HOST_MISSING);
	ERR("GET http://a/ HTTP/1.1\r\n\r\n", TT_H1_ERR_HOST_MISSING);
}

Test(h1, host_repeated)
{
	ERR("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", TT_H1_ERR_HOST_REPEATED);
	ERR("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", TT_H1_ERR_HOST_REPEATED);
	ERR("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", TT_H1_ERR_HOST_REPEATED);
}

Test(h1, invalid_host_values)
{
	static const char *v[] = {
	    "",
	    "a b",
	    "a/b",
	    "a:",
	    "a:65536",
	    "a:123456",
	    ":80",
	    "a@b",
	    "%4",
	    "%zz",
	    "[::1",
	    "::1",
	    "[1:2:3:4:5:6:7:8:9]",
	    "[1:2:3:4:5:6:7]",
	    "[fe80::1%25eth0]",
	    "[v1.x]",
	    "[::1]x",
	    "a:8x",
	    "a,b:1:2",
	    "[1::2::3]",
	    "[::ffff:1.2.3]",
	    "[::ffff:1.2.3.256]",
	    "[12345::]",
	    "[::01.2.3.4]",
	    "a\"b",
	    "a<b>",
	    "a:-1",
	};
	char buf[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", v[i]);
		err_n(buf, (size_t)n, TT_H1_ERR_HOST_INVALID);
	}
}

/* Content-Length. */

Test(h1, content_length_invalid_forms)
{
	static const char *v[] = {
	    "+5",
	    "-5",
	    "5 5",
	    "0x5",
	    "5,",
	    ",5",
	    "5,,5",
	    "",
	    "5;",
	    "five",
	    "5.0",
	    "99999999999999999999",
	    "00000000000000000005",
	    "1e3",
	    "\xef\xbc\x95",
	};
	char buf[256];
	size_t i;
	int n;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = snprintf(buf, sizeof(buf),
		             "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n", v[i]);
		err_n(buf, (size_t)n, TT_H1_ERR_CONTENT_LENGTH);
	}
}

Test(h1, content_length_differing_values)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", TT_H1_ERR_CONTENT_LENGTH);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    TT_H1_ERR_CONTENT_LENGTH);
}

/* Transfer-Encoding and the smuggling classics. */

Test(h1, cl_te_rejected)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n",
	    TT_H1_ERR_CL_AND_TE);
}

Test(h1, te_cl_rejected)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n",
	    TT_H1_ERR_CL_AND_TE);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\nContent-Length: "
	    "0\r\n\r\n",
	    TT_H1_ERR_CL_AND_TE);
}

Test(h1, te_xchunked_rejected)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked, chunked\r\n\r\n",
	    TT_H1_ERR_TE_UNKNOWN);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
}

Test(h1, te_chunked_not_last_rejected)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
	    "gzip\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", TT_H1_ERR_TE_NOT_CHUNKED);
	cr_assert_eq(tt_h1_err_status(H.err), 400);
}

Test(h1, te_repeated_chunked_rejected)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
}

Test(h1, te_unknown_coding_before_chunked_is_501)
{
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	    TT_H1_ERR_TE_UNKNOWN);
	cr_assert_eq(tt_h1_err_status(H.err), 501);
	ERR("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n",
	    TT_H1_ERR_TE_UNKNOWN);
}

Test(h1, te_in_http10_rejected)
{
	ERR("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", TT_H1_ERR_TE_HTTP10);
}

/* Responses. */

Test(h1, response_with_length)
{
	is_response = 1;
	OK("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nHost: ignored, \"anything\"\r\nHost: "
	   "again\r\n\r\n");
	cr_assert_eq(H.status, 200);
	slice_is(H.reason, H.reason_len, "OK");
	cr_assert_eq(H.framing, TT_H1_BODY_LENGTH);
	cr_assert_eq(H.content_length, 3);
	cr_assert_null(H.host);
}

Test(h1, response_reason_may_be_empty_or_missing)
{
	is_response = 1;
	OK("HTTP/1.1 200 \r\n\r\n");
	cr_assert_eq(H.reason_len, 0);
	OK("HTTP/1.1 200\r\n\r\n");
	cr_assert_eq(H.reason_len, 0);
	cr_assert_eq(H.status, 200);
	OK("HTTP/1.1 404 Not \tFound \x80\r\n\r\n");
	slice_is(H.reason, H.reason_len, "Not \tFound \x80");
}

Test(h1, response_without_framing_reads_until_close)
{
	is_response = 1;
	OK("HTTP/1.1 200 OK\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CLOSE);
	OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CLOSE);
	OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CLOSE);
}

Test(h1, response_chunked)
{
	is_response = 1;
	OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_CHUNKED);
}

Test(h1, response_framing_errors)
{
	is_response = 1;
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	    TT_H1_ERR_CL_AND_TE);
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", TT_H1_ERR_TE_UNKNOWN);
	ERR("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	    TT_H1_ERR_TE_NOT_CHUNKED);
	ERR("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", TT_H1_ERR_TE_HTTP10);
	ERR("HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n", TT_H1_ERR_CONTENT_LENGTH);
}

Test(h1, response_without_body_by_status_or_method)
{
	static const char *v[] = {"100", "101", "199", "204", "304"};
	char buf[128];
	size_t i;
	int n;

	is_response = 1;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = snprintf(
		    buf, sizeof(buf),
		    "HTTP/1.1 %s X\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		    v[i]);
		ok_n(buf, (size_t)n);
		cr_assert_eq(H.framing, TT_H1_BODY_NONE, "%s", v[i]);
	}
	req_method = TT_METHOD_HEAD;
	OK("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_NONE);
	req_method = TT_METHOD_CONNECT;
	OK("HTTP/1.1 200 Connection established\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_NONE);
	OK("HTTP/1.1 407 Proxy auth\r\nContent-Length: 2\r\n\r\n");
	cr_assert_eq(H.framing, TT_H1_BODY_LENGTH);
}

Test(h1, response_http10_closes)
{
	is_response = 1;
	OK("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n");
	cr_assert_eq(H.conn_close, 1);
	cr_assert_eq(H.version_minor, 0);
	OK("HTTP/1.1 999 Whatever\r\nConnection: close\r\n\r\n");
	cr_assert_eq(H.status, 999);
	cr_assert_eq(H.conn_close, 1);
}

Test(h1, response_bad_status_lines)
{
	is_response = 1;
	ERR("HTTP/1.1 20 OK\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 099 OK\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 2000 OK\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 abc OK\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1  200 OK\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 200 O\x01K\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 200 O\x00K\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1\r\n\r\n", TT_H1_ERR_STATUS);
	ERR("HTTP/1.1 200\tOK\r\n\r\n", TT_H1_ERR_STATUS);
}

Test(h1, response_bad_versions)
{
	is_response = 1;
	ERR("HTTP/2 200 OK\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("HTTP/1.1\t200 OK\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("\r\nHTTP/1.1 200 OK\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("ICY 200 OK\r\n\r\n", TT_H1_ERR_VERSION);
	ERR("HTTP/2.0 200 OK\r\n\r\n", TT_H1_ERR_VERSION_UNSUPPORTED);
	ERR("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", TT_H1_ERR_BARE_CR);
	ERR("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", TT_H1_ERR_OBS_FOLD);
}

/* Helpers. */

Test(h1, head_end_finds_each_terminator)
{
	size_t scan = 0;

	cr_assert_eq(tt_h1_head_end(S("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody"), &scan), 27);
	scan = 0;
	cr_assert_eq(tt_h1_head_end(S("GET / HTTP/1.1\nHost: a\n\nbody"), &scan), 24);
	scan = 0;
	cr_assert_eq(tt_h1_head_end(S("GET / HTTP/1.1\nHost: a\n\r\n"), &scan), 25);
	scan = 0;
	cr_assert_eq(tt_h1_head_end(S("\r\n\r\nGET / HTTP/1.1\r\n\r\n"), &scan), 22);
	scan = 0;
	cr_assert_eq(tt_h1_head_end(S("GET / HTTP/1.1\r\nHost: a\r\n"), &scan), 0);
	cr_assert_eq(scan, 25);
}

Test(h1, head_end_resumes_over_a_growing_buffer)
{
	const char m[] = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nX";
	size_t scan = 0, k, r = 0;

	for (k = 0; k <= sizeof(m) - 1 && !r; k++)
		r = tt_h1_head_end(m, k, &scan);
	cr_assert_eq(r, sizeof(m) - 2);
}

Test(h1, err_status_and_tokens)
{
	int e, j;

	for (e = 1; e < TT_H1_ERR__COUNT; e++) {
		int st = tt_h1_err_status((enum tt_h1_err)e);
		const char *t = tt_h1_err_token((enum tt_h1_err)e);

		cr_assert(st == 400 || st == 414 || st == 431 || st == 501 || st == 505);
		cr_assert(t && *t && strcmp(t, "unknown") != 0);
		for (j = 1; j < e; j++)
			cr_assert_str_neq(t, tt_h1_err_token((enum tt_h1_err)j));
	}
	cr_assert_eq(tt_h1_err_status(TT_H1_ERR_HEAD_TOO_LARGE), 431);
	cr_assert_eq(tt_h1_err_status(TT_H1_ERR_FIELD_TOO_LARGE), 431);
	cr_assert_eq(tt_h1_err_status(TT_H1_ERR_HOST_MISSING), 400);
	cr_assert_str_eq(tt_h1_err_token(TT_H1_ERR_METHOD), "bad_method");
	cr_assert_str_eq(tt_h1_err_token(TT_H1_ERR_CL_AND_TE), "cl_and_te");
	cr_assert_str_eq(tt_h1_err_token(TT_H1_ERR_TE_UNKNOWN), "te_unknown");
	cr_assert_str_eq(tt_h1_err_token(TT_H1_ERR__COUNT), "unknown");
}

Test(h1, list_next_skips_empty_elements_and_ows)
{
	const char v[] = " a , ,b\t,, c d ,";
	const char *e;
	size_t pos = 0, n;

	cr_assert(tt_h1_list_next(v, sizeof(v) - 1, &pos, &e, &n));
	slice_is(e, n, "a");
	cr_assert(tt_h1_list_next(v, sizeof(v) - 1, &pos, &e, &n));
	slice_is(e, n, "b");
	cr_assert(tt_h1_list_next(v, sizeof(v) - 1, &pos, &e, &n));
	slice_is(e, n, "c d");
	cr_assert_not(tt_h1_list_next(v, sizeof(v) - 1, &pos, &e, &n));
	pos = 0;
	cr_assert_not(tt_h1_list_next("", 0, &pos, &e, &n));
}

Test(h1, name_eq_and_find)
{
	cr_assert(tt_h1_name_eq(S("Content-LENGTH"), "content-length"));
	cr_assert_not(tt_h1_name_eq(S("Content-Lengt"), "content-length"));
	cr_assert_not(tt_h1_name_eq(S("Content-Lengthx"), "content-length"));
	OK("GET / HTTP/1.1\r\nHost: a\r\nX-One: 1\r\nx-one: 2\r\n\r\n");
	cr_assert_eq(tt_h1_find(&H, "x-one"), &H.fields[1]);
	cr_assert_null(tt_h1_find(&H, "x-two"));
}
