/*
 * Tests for src/respond/proxy_status.c: the exact member for the common
 * cases, what an untrusted downstream may and may not see, and a round trip
 * through the sf parser for every catalogue row, trusted and not, with
 * hostile details (quotes, backslashes, control bytes, UTF-8).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "respond/proxy_status.h"
#include "respond/sf.h"

static char out[TT_PS_MEMBER_MAX];
static struct tt_fault f;

static void setup(void)
{
	memset(&f, 0, sizeof(f));
	memset(out, 0, sizeof(out));
}

TestSuite(proxy_status, .init = setup);

static void set(enum tt_fault_id id, const char *upstream, const char *details)
{
	f.id = id;
	snprintf(f.upstream, sizeof(f.upstream), "%s", upstream);
	snprintf(f.details, sizeof(f.details), "%s", details);
}

static void param_str(const char *name, const char *value)
{
	snprintf(f.param_name, sizeof(f.param_name), "%s", name);
	snprintf(f.param_value, sizeof(f.param_value), "%s", value);
	f.param_is_int = 0;
}

static void param_int(const char *name, int64_t v)
{
	snprintf(f.param_name, sizeof(f.param_name), "%s", name);
	f.int_value = v;
	f.param_is_int = 1;
}

static const char *member(const char *name, int status, int trusted)
{
	ssize_t n = tt_ps_member(out, sizeof(out), name, &f, status, trusted);
	cr_assert_geq(n, 0);
	cr_assert_eq(strlen(out), (size_t)n);
	return out;
}

Test(proxy_status, forwarded_response)
{
	cr_assert_eq(tt_ps_member(out, sizeof(out), "edge", NULL, 200, 0), 25);
	cr_assert_str_eq(out, "edge; received-status=200");
	cr_assert_str_eq(member("edge", 200, 1), "edge; received-status=200");
	/* A forwarded response keeps its successful attempt in the record. */
	f.nattempts = 2;
	snprintf(f.attempts[0].upstream, sizeof(f.attempts[0].upstream), "10.0.0.1:80");
	snprintf(f.attempts[1].upstream, sizeof(f.attempts[1].upstream), "10.0.0.2:80");
	cr_assert_str_eq(member("edge", 200, 1),
	                 "edge; next-hop=\"10.0.0.2:80\"; received-status=200");
	cr_assert_str_eq(member("edge", 200, 0), "edge; received-status=200");
	cr_assert_str_eq(member("edge", 0, 0), "edge");
	/* A name that is not a token, and a hop that needs escaping, take the
	 * serializers' path and still come out right. */
	cr_assert_str_eq(member("my proxy", 503, 0), "\"my proxy\"; received-status=503");
	snprintf(f.attempts[1].upstream, sizeof(f.attempts[1].upstream), "a\"b:80");
	cr_assert_str_eq(member("edge", 200, 1),
	                 "edge; next-hop=\"a\\\"b:80\"; received-status=200");
	/* Too small a buffer: -1, never a cut member. */
	cr_assert_eq(tt_ps_member(out, 20, "edge", &f, 200, 0), -1);
}

Test(proxy_status, full_trusted_error)
{
	set(TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE, "10.9.8.7:8000", "head > 65536 \"bytes\"");
	param_int("header-section-size", 65536);
	cr_assert_str_eq(member("proxy.example.net", 0, 1),
	                 "proxy.example.net; error=http_response_header_section_size; "
	                 "next-hop=\"10.9.8.7:8000\"; details=\"head > 65536 \\\"bytes\\\"\"; "
	                 "header-section-size=65536");
	cr_assert_str_eq(member("proxy.example.net", 0, 0),
	                 "proxy.example.net; error=http_response_header_section_size; "
	                 "header-section-size=65536");
}

Test(proxy_status, received_status_on_incomplete_response)
{
	set(TT_FAULT_HTTP_RESPONSE_INCOMPLETE, "10.9.8.7:8000", "");
	f.received_status = 200;
	cr_assert_str_eq(member("t", 0, 0),
	                 "t; error=http_response_incomplete; received-status=200");
	/* The argument wins over the record. */
	cr_assert_str_eq(member("t", 206, 1),
	                 "t; error=http_response_incomplete; next-hop=\"10.9.8.7:8000\"; "
	                 "received-status=206");
}

Test(proxy_status, internal_params_for_trusted_only)
{
	set(TT_FAULT_DNS_ERROR, "", "SERVFAIL from 10.0.0.53");
	param_str("rcode", "NXDOMAIN");
	cr_assert_str_eq(
	    member("t", 0, 1),
	    "t; error=dns_error; details=\"SERVFAIL from 10.0.0.53\"; rcode=\"NXDOMAIN\"");
	cr_assert_str_eq(member("t", 0, 0), "t; error=dns_error");
	set(TT_FAULT_TLS_ALERT_RECEIVED, "10.9.8.7:443", "");
	param_int("alert-id", 42);
	cr_assert_str_eq(member("t", 0, 0), "t; error=tls_alert_received");
	cr_assert_str_eq(member("t", 0, 1),
	                 "t; error=tls_alert_received; next-hop=\"10.9.8.7:443\"; alert-id=42");
}

Test(proxy_status, public_params_for_everyone)
{
	set(TT_FAULT_HTTP_RESPONSE_HEADER_SIZE, "10.9.8.7:8000", "x");
	param_str("header-name", "x-big");
	cr_assert_str_eq(member("t", 0, 0),
	                 "t; error=http_response_header_size; header-name=\"x-big\"");
	set(TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING, "10.9.8.7:8000", "x");
	param_str("coding", "chunked");
	cr_assert_str_eq(member("t", 0, 0),
	                 "t; error=http_response_transfer_coding; coding=\"chunked\"");
	set(TT_FAULT_HTTP_RESPONSE_BODY_SIZE, "10.9.8.7:8000", "x");
	param_int("body-size", 1048577);
	cr_assert_str_eq(member("t", 0, 0), "t; error=http_response_body_size; body-size=1048577");
}

Test(proxy_status, bad_type_params_are_dropped)
{
	set(TT_FAULT_HTTP_PROTOCOL_ERROR, "", "");
	param_str("details", "sneaky");
	cr_assert_str_eq(member("t", 0, 1), "t; error=http_protocol_error");
	param_str("Bad", "x");
	cr_assert_str_eq(member("t", 0, 1), "t; error=http_protocol_error");
	param_int("body-size", 1000000000000000LL);
	cr_assert_str_eq(member("t", 0, 1), "t; error=http_protocol_error");
	param_int("body-size", 999999999999999LL);
	cr_assert_str_eq(member("t", 0, 1),
	                 "t; error=http_protocol_error; body-size=999999999999999");
}

Test(proxy_status, no_fault_id_means_no_error_param)
{
	set(TT_FAULT_NONE, "", "ignored");
	param_str("coding", "chunked");
	cr_assert_str_eq(member("t", 304, 1), "t; received-status=304");
}

Test(proxy_status, names)
{
	char n[64];
	cr_assert_eq(tt_ps_name(n, sizeof(n), NULL), 8);
	cr_assert_str_eq(n, "telltale");
	tt_ps_name(n, sizeof(n), "");
	cr_assert_str_eq(n, "telltale");
	tt_ps_name(n, sizeof(n), "edge-1.example.net:8443");
	cr_assert_str_eq(n, "edge-1.example.net:8443");
	tt_ps_name(n, sizeof(n), "10.0.0.1");
	cr_assert_str_eq(n, "\"10.0.0.1\"");
	tt_ps_name(n, sizeof(n), "my \"proxy\" \xc3\xa9");
	cr_assert_str_eq(n, "\"my \\\"proxy\\\" ??\"");
	/* Idempotent: a written name passes through unchanged. */
	char again[64];
	tt_ps_name(again, sizeof(again), n);
	cr_assert_str_eq(again, n);
	/* A string-looking name that is not a valid sf-string is quoted. */
	tt_ps_name(n, sizeof(n), "\"a\"b\"");
	cr_assert_str_eq(n, "\"\\\"a\\\"b\\\"\"");
	cr_assert_eq(tt_ps_name(n, 8, "telltale"), -1);
	cr_assert_eq(tt_ps_name(n, 9, "telltale"), 8);
	/* tt_ps_member takes either form. */
	set(TT_FAULT_DNS_TIMEOUT, "", "");
	cr_assert_str_eq(member("my proxy", 0, 0), "\"my proxy\"; error=dns_timeout");
	cr_assert_str_eq(member("\"my proxy\"", 0, 0), "\"my proxy\"; error=dns_timeout");
}

Test(proxy_status, too_small_is_minus_one_never_cut)
{
	set(TT_FAULT_CONNECTION_REFUSED, "10.9.8.7:8000", "refused");
	ssize_t n = tt_ps_member(out, sizeof(out), "t", &f, 0, 1);
	cr_assert_gt(n, 0);
	for (size_t cap = 0; cap <= (size_t)n; cap++)
		cr_assert_eq(tt_ps_member(out, cap, "t", &f, 0, 1), -1, "cap %zu", cap);
	cr_assert_eq(tt_ps_member(out, (size_t)n + 1, "t", &f, 0, 1), n);
}

/* Parse out back and check every parameter against the record. */
static void round_trip(const char *name, int status, int trusted)
{
	struct tt_sf_member m[2];
	struct tt_sf_param p[8];
	char sc[TT_PS_MEMBER_MAX];
	struct tt_sf_list l = {m, 2, 0, p, 8, sc, sizeof(sc), 0};
	const struct tt_fault_info *info = tt_fault_info(f.id);
	const struct tt_sf_param *q;

	member(name, status, trusted);
	cr_assert_eq(tt_sf_parse_list(out, strlen(out), &l), TT_SF_OK, "%s", out);
	cr_assert_eq(l.nmembers, 1);
	q = tt_sf_param_get(&m[0], "error");
	cr_assert(q);
	cr_assert_eq(q->value.type, TT_SF_TOKEN);
	cr_assert_eq(q->value.len, strlen(info->type));
	cr_assert_eq(memcmp(q->value.str, info->type, q->value.len), 0);
	q = tt_sf_param_get(&m[0], "details");
	if (!trusted) {
		cr_assert_null(q, "%s", out);
		cr_assert_null(tt_sf_param_get(&m[0], "next-hop"));
		cr_assert_null(strstr(out, "10.9.8.7"));
		cr_assert_null(tt_sf_param_get(&m[0], "alert-message"));
		if (f.param_is_int)
			cr_assert(tt_sf_param_get(&m[0], "header-section-size"));
		return;
	}
	cr_assert(q);
	cr_assert_eq(q->value.len, strlen(f.details));
	for (size_t i = 0; i < q->value.len; i++) {
		unsigned char c = (unsigned char)f.details[i];
		cr_assert_eq(q->value.str[i], c >= 0x20 && c <= 0x7e ? (char)c : '?');
	}
	q = tt_sf_param_get(&m[0], "next-hop");
	cr_assert(q);
	cr_assert_eq(q->value.len, strlen("10.9.8.7:8000"));
	q = tt_sf_param_get(&m[0], "received-status");
	cr_assert_eq(q ? q->value.integer : 0, status);
	q = tt_sf_param_get(&m[0], f.param_name);
	cr_assert(q, "%s", out);
	cr_assert_eq(q->value.type, f.param_is_int ? TT_SF_INTEGER : TT_SF_STRING);
}

Test(proxy_status, every_row_round_trips_with_hostile_details)
{
	static const char hostile[] = "a \"quoted\" \\back\\slash\\ \r\n\t\x01\x1b[31m\x7f "
	                              "caf\xc3\xa9 \xe2\x9c\x95 \xff\xfe end\\";
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		setup();
		set((enum tt_fault_id)id, "10.9.8.7:8000", hostile);
		if (id % 2)
			param_str("alert-message", "bad \"cert\" \\ \x01\xc3\xa9");
		else
			param_int("header-section-size", id * 1000);
		round_trip("proxy.example.net", 0, 0);
		round_trip("proxy.example.net", 0, 1);
		round_trip("my \"proxy\"", 502, 1);
		round_trip("\xc3\xa9", 503, 0);
	}
}
