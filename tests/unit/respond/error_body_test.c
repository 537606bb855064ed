/*
 * Tests for src/respond/error_body.c (and error_parts.c, out.c): for every
 * catalogue row, each body kind at both trust levels. Untrusted bodies hold
 * nothing internal (address, group, details, system error, attempts),
 * trusted ones do; JSON is valid RFC 8259 and RFC 9457; HTML has its hooks,
 * balanced tags, no external resource, and marks the failed link or hop by
 * the row's side; a buffer one byte short gives -1.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "body_check.h"
#include "respond/error_body.h"

static char out[TT_ERROR_BODY_MAX];
static struct tt_fault f;
static struct tt_error_view v;
static const char *ctype;

static void setup(void)
{
	memset(&f, 0, sizeof(f));
	f.id = TT_FAULT_CONNECTION_REFUSED;
	f.stage = TT_STAGE_CONNECT;
	f.sys_err = UV_ECONNREFUSED;
	snprintf(f.upstream, sizeof(f.upstream), "10.9.8.7:8000");
	snprintf(f.group, sizeof(f.group), "app-pool-GROUPNAME");
	snprintf(f.details, sizeof(f.details), "SECRET-DETAIL <b>\"x\"</b> & \x1b[31m caf\xc3\xa9");
	f.nattempts = 2;
	snprintf(f.attempts[0].upstream, 64, "10.9.8.6:8000");
	f.attempts[0].id = TT_FAULT_CONNECTION_TIMEOUT;
	f.attempts[0].stage = TT_STAGE_CONNECT;
	f.attempts[0].connect_ms = -1;
	f.attempts[0].head_ms = -1;
	snprintf(f.attempts[1].upstream, 64, "10.9.8.7:8000");
	f.attempts[1].id = TT_FAULT_CONNECTION_REFUSED;
	f.attempts[1].stage = TT_STAGE_CONNECT;
	f.attempts[1].sys_err = UV_ECONNREFUSED;
	f.attempts[1].connect_ms = 0.25;
	f.attempts[1].head_ms = -1;
	f.attempts[1].reused = 1;
	v = (struct tt_error_view){
	    .fault = &f,
	    .status = 502,
	    .request_id = "req-<1>",
	    .time_ms = 1764115200123ull,
	    .trusted = 0,
	    .proxy_name = "edge.example.net",
	    .host = "shop.example",
	    .host_len = 12,
	    .method = "GET",
	    .method_len = 3,
	    .target = "/cart?<x>",
	    .target_len = 9,
	    .proxy_status =
	        "edge.example.net; error=connection_refused; next-hop=\"10.9.8.7:8000\"",
	};
}

TestSuite(error_body, .init = setup);

static size_t render(enum tt_body_kind kind)
{
	ssize_t n = tt_error_body(out, sizeof(out), kind, &v, &ctype);
	cr_assert_geq(n, 0, "kind %d fault %d", kind, f.id);
	cr_assert_eq(strlen(out), (size_t)n);
	return (size_t)n;
}

static const char *const secrets[] = {"10.9.8.",      "GROUPNAME",      "SECRET",
                                      "ECONNREFUSED", "id=\"details\"", "id=\"attempts\"",
                                      "\"attempts\"", "next-hop",       "Details"};

static void assert_no_secrets(const char *what)
{
	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		cr_assert_null(strstr(out, secrets[i]), "%s leaks %s:\n%s", what, secrets[i], out);
}

static void assert_no_raw_controls(void)
{
	for (const char *p = out; *p; p++)
		cr_assert(*p == '\n' || (unsigned char)*p >= 0x20, "control byte 0x%02x", *p);
	cr_assert_null(strchr(out, 0x1b));
}

Test(error_body, untrusted_bodies_hold_nothing_internal)
{
	static const enum tt_fault_id ids[] = {
	    TT_FAULT_CONNECTION_REFUSED, TT_FAULT_REQUEST_MALFORMED,
	    TT_FAULT_CONNECTION_LIMIT_REACHED, TT_FAULT_DNS_ERROR, TT_FAULT_HTTP_RESPONSE_TIMEOUT};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		f.id = ids[i];
		render(TT_BODY_HTML);
		assert_no_secrets("html");
		render(TT_BODY_JSON);
		assert_no_secrets("json");
		render(TT_BODY_TEXT);
		assert_no_secrets("text");
	}
}

Test(error_body, trusted_bodies_show_the_inside)
{
	v.trusted = 1;
	render(TT_BODY_HTML);
	cr_assert(strstr(out, "id=\"details\""));
	cr_assert(strstr(out, "id=\"attempts\""));
	cr_assert(strstr(out, "10.9.8.7:8000"));
	cr_assert(strstr(out, "10.9.8.6:8000"));
	cr_assert(strstr(out, "app-pool-GROUPNAME"));
	cr_assert(
	    strstr(out, "SECRET-DETAIL &lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; ?[31m caf\xc3\xa9"));
	cr_assert(strstr(out, "ECONNREFUSED"));
	cr_assert(strstr(out, "<td>connect_timeout</td>"));
	cr_assert(strstr(out, "<td>0.2</td>") || strstr(out, "<td>0.3</td>"));
	cr_assert(strstr(out, "next-hop=&quot;10.9.8.7:8000&quot;"));
	render(TT_BODY_JSON);
	cr_assert(strstr(out, "\"details\":\"SECRET-DETAIL <b>\\\"x\\\"</b> & \\u001b[31m "
	                      "caf\\u00c3\\u00a9\""));
	cr_assert(strstr(out, "\"upstream\":\"10.9.8.7:8000\""));
	cr_assert(strstr(out, "\"upstream_group\":\"app-pool-GROUPNAME\""));
	cr_assert(strstr(out, "\"stage\":\"connect\",\"system_error\":\"ECONNREFUSED\""));
	cr_assert(
	    strstr(out, "\"attempts\":[{\"upstream\":\"10.9.8.6:8000\",\"fault\":\"connect_"
	                "timeout\",\"stage\":\"connect\",\"system_error\":null,\"connect_ms\":"
	                "null,\"head_ms\":null,\"reused\":false},{\"upstream\":\"10.9.8.7:8000\""));
	cr_assert(strstr(out, "\"connect_ms\":0.250,\"head_ms\":null,\"reused\":true}]"));
	render(TT_BODY_TEXT);
	cr_assert(strstr(out, "\nDetails"));
	cr_assert(strstr(out, "  upstream: 10.9.8.7:8000\n"));
	cr_assert(strstr(out, "  details: SECRET-DETAIL <b>\"x\"</b> & ?[31m caf\xc3\xa9\n"));
	cr_assert(strstr(out, "  attempt 1: 10.9.8.6:8000 connect_timeout connect connect=- head=- "
	                      "reused=no\n"));
	cr_assert(strstr(out, "  attempt 2: 10.9.8.7:8000 upstream_refused connect connect=0.2ms "
	                      "head=- reused=yes\n") ||
	          strstr(out, "connect=0.3ms"));
	assert_no_raw_controls();
}

/* The opening tag of the element carrying attr, as a string. */
static void tag_with(const char *attr, char *tag, size_t cap)
{
	const char *a = strstr(out, attr), *lt, *gt;
	cr_assert(a, "no %s", attr);
	for (lt = a; lt > out && *lt != '<'; lt--)
		;
	gt = strchr(a, '>');
	cr_assert(gt);
	snprintf(tag, cap, "%.*s", (int)(gt - lt + 1), lt);
}

static int failed(const char *attr)
{
	char tag[256];
	tag_with(attr, tag, sizeof(tag));
	int yes = strstr(tag, " failed\"") && strstr(tag, "data-failed=\"true\"");
	cr_assert(yes || (!strstr(tag, "failed") && !strstr(tag, "data-failed")), "%s", tag);
	return yes;
}

static void assert_html(void)
{
	static const char *const hooks[] = {"id=\"chain\"",
	                                    "data-hop=\"downstream\"",
	                                    "data-hop=\"proxy\"",
	                                    "data-hop=\"upstream\"",
	                                    "data-link=\"downstream-proxy\"",
	                                    "data-link=\"proxy-upstream\"",
	                                    "id=\"title\"",
	                                    "id=\"explanation\"",
	                                    "id=\"visitor-steps\"",
	                                    "id=\"operator-steps\"",
	                                    "id=\"request-id\"",
	                                    "id=\"time\""};
	size_t n = strlen(out);

	cr_assert_str_eq(ctype, "text/html; charset=utf-8");
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		cr_assert(strstr(out, hooks[i]), "missing %s", hooks[i]);
	cr_assert_eq(html_check(out, n), 0, "bad HTML at %zu:\n%s", html_check(out, n), out);
	cr_assert(strstr(out, "<meta name=\"viewport\""));
	cr_assert(strstr(out, "@media (prefers-color-scheme:dark)"));
	cr_assert(strstr(out, "failed here"));
	/* Self-contained: no scripts, no external resource of any kind. */
	cr_assert_null(strstr(out, "<script"));
	cr_assert_null(strstr(out, "src="));
	cr_assert_null(strstr(out, "href="));
	cr_assert_null(strstr(out, "url("));
	cr_assert_null(strstr(out, "@import"));
	cr_assert_null(strstr(out, "<req-<1>"));
	cr_assert(strstr(out, "req-&lt;1&gt;"));
	cr_assert(strstr(out, "GET shop.example/cart?&lt;x&gt;"));
	cr_assert(strstr(out, "<time id=\"time\" datetime=\"2025-11-26T00:00:00.123Z\">"));
	cr_assert(strstr(out, "edge.example.net"));
	cr_assert_lt(n, 12 * 1024 + 2048, "HTML is %zu bytes", n);
	assert_no_raw_controls();
}

Test(error_body, html_marks_the_failed_hop_by_side)
{
	for (int trusted = 0; trusted < 2; trusted++) {
		v.trusted = trusted;
		for (int id = 1; id < TT_FAULT__COUNT; id++) {
			const struct tt_fault_info *info = tt_fault_info(id);
			f.id = (enum tt_fault_id)id;
			v.status = info->status ? info->status : 500;
			render(TT_BODY_HTML);
			assert_html();
			cr_assert_eq(failed("data-link=\"downstream-proxy\""),
			             info->side == TT_SIDE_DOWNSTREAM, "%s", info->token);
			cr_assert_eq(failed("data-hop=\"proxy\""), info->side == TT_SIDE_PROXY);
			cr_assert_eq(failed("data-link=\"proxy-upstream\""),
			             info->side == TT_SIDE_UPSTREAM);
			cr_assert_eq(failed("data-hop=\"downstream\""), 0);
			cr_assert_eq(failed("data-hop=\"upstream\""), 0);
			if (!trusted)
				assert_no_secrets("html");
			else
				cr_assert(strstr(out, "id=\"attempts\""));
		}
	}
}

Test(error_body, html_shows_the_row_story)
{
	const struct tt_fault_info *info = tt_fault_info(f.id);
	const char *item;
	size_t pos = 0, n;
	char esc[1024];

	render(TT_BODY_HTML);
	cr_assert(strstr(out, "<h1 id=\"title\"><span class=\"st\">502 Bad Gateway</span> "));
	cr_assert(strstr(out, info->title));
	while (tt_fault_lines(info->visitor, &pos, &item, &n)) {
		/* Steps may hold quotes and ampersands: compare up to the first. */
		size_t k = strcspn(item, "&<>\"'");
		snprintf(esc, sizeof(esc), "<li>%.*s", (int)(k < n ? k : n), item);
		cr_assert(strstr(out, esc), "missing %s", esc);
	}
	cr_assert(strstr(out, "<span class=\"x\"") || strstr(out, "\xe2\x9c\x95"));
}

static void assert_json(void)
{
	size_t n = strlen(out);
	cr_assert_str_eq(ctype, "application/problem+json");
	cr_assert_eq(json_check(out, n), 0, "bad JSON at %zu:\n%s", json_check(out, n), out);
}

Test(error_body, json_problem_details_for_every_row)
{
	static const char *const hops[] = {"downstream-proxy", "proxy", "proxy-upstream"};
	char want[256];

	for (int trusted = 0; trusted < 2; trusted++) {
		v.trusted = trusted;
		for (int id = 1; id < TT_FAULT__COUNT; id++) {
			const struct tt_fault_info *info = tt_fault_info(id);
			f.id = (enum tt_fault_id)id;
			v.status = info->status ? info->status : 500;
			render(TT_BODY_JSON);
			assert_json();
			snprintf(want, sizeof(want), "{\"type\":\"tag:telltale,2026:error/%s\",",
			         info->type);
			cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
			snprintf(want, sizeof(want), ",\"status\":%d,\"detail\":\"", v.status);
			cr_assert(strstr(out, want));
			snprintf(want, sizeof(want), "\"proxy_status\":\"%s\",\"fault\":\"%s\"",
			         info->type, info->token);
			cr_assert(strstr(out, want));
			snprintf(want, sizeof(want), "\"failed_hop\":\"%s\"", hops[info->side]);
			cr_assert(strstr(out, want), "%s", want);
			cr_assert(
			    strstr(out, "\"instance\":\"tag:telltale,2026:request/req-%3C1%3E\""));
			cr_assert(strstr(out, "\"request_id\":\"req-<1>\""));
			cr_assert(strstr(out, "\"time\":\"2025-11-26T00:00:00.123Z\""));
			cr_assert(strstr(out, "\"visitor_steps\":["));
			cr_assert(strstr(out, "\"operator_steps\":["));
			if (!trusted)
				assert_no_secrets("json");
		}
	}
}

Test(error_body, json_without_request_id_or_fault)
{
	v.request_id = NULL;
	v.fault = NULL;
	v.trusted = 1;
	render(TT_BODY_JSON);
	assert_json();
	cr_assert_null(strstr(out, "\"instance\""));
	cr_assert(strstr(out, "\"request_id\":null"));
	cr_assert(strstr(out, "error/proxy_internal_error\""));
	cr_assert(strstr(out, "\"details\":null,\"upstream\":null,\"upstream_group\":null,"
	                      "\"stage\":\"none\",\"system_error\":null,\"attempts\":[]"));
}

Test(error_body, text_body)
{
	const struct tt_fault_info *info = tt_fault_info(f.id);
	char want[512];

	render(TT_BODY_TEXT);
	cr_assert_str_eq(ctype, "text/plain; charset=utf-8");
	snprintf(want, sizeof(want), "502 Bad Gateway: %s\n\n", info->title);
	cr_assert_eq(strncmp(out, want, strlen(want)), 0, "%s", out);
	cr_assert(strstr(out, "\nWhat you can do:\n"));
	cr_assert(strstr(out, "\nWhat the site's operator can do:\n"));
	if (info->visitor[0])
		cr_assert(strstr(out, "What you can do:\n  1. "));
	cr_assert(strstr(out, "\nRequest: GET shop.example/cart?<x>\n"));
	cr_assert(strstr(out, "\nRequest ID: req-<1>\nTime: 2025-11-26T00:00:00.123Z\n"));
	cr_assert_null(strstr(out, "Details"));
	assert_no_raw_controls();
}

Test(error_body, hostile_view_strings_are_escaped)
{
	static char target[600];
	memset(target, '"', sizeof(target));
	target[5] = '\x1b';
	v.target = target;
	v.target_len = sizeof(target);
	v.host = "h<o>st\r\n";
	v.host_len = 8;
	v.method = "G\"T";
	v.method_len = 3;
	v.proxy_name = "<edge & \"co\">";
	v.request_id = "\x01\"<>'&";
	v.trusted = 1;
	render(TT_BODY_HTML);
	cr_assert_eq(html_check(out, strlen(out)), 0);
	cr_assert_null(strstr(out, "<edge"));
	cr_assert(strstr(out, "&lt;edge &amp; &quot;co&quot;&gt;"));
	cr_assert(strstr(out, "h&lt;o&gt;st??"));
	/* The target is cut at TT_ERROR_TARGET_SHOWN bytes and marked. */
	cr_assert(strstr(out, "&quot;&quot;...</code>"));
	assert_no_raw_controls();
	render(TT_BODY_JSON);
	assert_json();
	render(TT_BODY_TEXT);
	assert_no_raw_controls();
	cr_assert(strstr(out, "Request ID: ?\"<>'&\n"));
}

Test(error_body, null_fault_uses_internal_error_row)
{
	v.fault = NULL;
	v.status = 500;
	render(TT_BODY_HTML);
	assert_html();
	cr_assert(failed("data-hop=\"proxy\""));
	render(TT_BODY_TEXT);
	cr_assert(strstr(out, "500 Internal Server Error: "));
}

Test(error_body, too_small_is_minus_one)
{
	static char small[TT_ERROR_BODY_MAX];
	const char *ct;

	v.trusted = 1;
	for (int kind = 0; kind < 3; kind++) {
		ssize_t n = tt_error_body(small, sizeof(small), (enum tt_body_kind)kind, &v, &ct);
		cr_assert_gt(n, 0);
		cr_assert_eq(tt_error_body(small, (size_t)n, (enum tt_body_kind)kind, &v, &ct), -1);
		cr_assert_eq(tt_error_body(small, (size_t)n + 1, (enum tt_body_kind)kind, &v, &ct),
		             n);
		cr_assert_eq(tt_error_body(small, 0, (enum tt_body_kind)kind, &v, &ct), -1);
		cr_assert_eq(tt_error_body(small, 1, (enum tt_body_kind)kind, &v, &ct), -1);
	}
}

Test(error_body, worst_case_fits_the_max)
{
	static char big[8192];
	char col[256];

	memset(big, '&', sizeof(big));
	memset(f.details, '"', sizeof(f.details) - 1);
	memset(f.group, '<', sizeof(f.group) - 1);
	f.group[sizeof(f.group) - 1] = 0;
	f.nattempts = 100;
	for (int i = 0; i < TT_FAULT_MAX_ATTEMPTS; i++) {
		memset(f.attempts[i].upstream, '\'', sizeof(f.attempts[i].upstream) - 1);
		f.attempts[i].upstream[63] = 0;
		f.attempts[i].sys_err = UV_ECONNRESET;
		f.attempts[i].connect_ms = 1e11;
		f.attempts[i].head_ms = 1e11;
	}
	memset(col, '>', sizeof(col) - 1);
	col[sizeof(col) - 1] = 0;
	v.proxy_name = col;
	v.proxy_status = col;
	v.request_id = "0123456789abcdef0123456789abcdef";
	v.target = big;
	v.target_len = sizeof(big);
	v.host = big;
	v.host_len = sizeof(big);
	v.method = big;
	v.method_len = sizeof(big);
	v.trusted = 1;
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		f.id = (enum tt_fault_id)id;
		render(TT_BODY_HTML);
		cr_assert_eq(html_check(out, strlen(out)), 0);
		render(TT_BODY_JSON);
		assert_json();
		render(TT_BODY_TEXT);
	}
}

Test(error_body, time_is_utc_iso8601)
{
	v.time_ms = 0;
	render(TT_BODY_TEXT);
	cr_assert(strstr(out, "Time: 1970-01-01T00:00:00.000Z\n"));
	v.time_ms = UINT64_MAX;
	render(TT_BODY_TEXT);
	cr_assert(strstr(out, "Time: 9999-12-31T23:59:59.999Z\n"));
}

Test(error_body, checkers_reject_bad_input)
{
	/* The checkers above must be able to fail. */
	cr_assert_eq(json_check("{\"a\":[1,2.5,-0,true,null,\"\\u00e9\"]}",
	                        strlen("{\"a\":[1,2.5,-0,true,null,\"\\u00e9\"]}")),
	             0);
	cr_assert_neq(json_check("{\"a\":1,}", strlen("{\"a\":1,}")), 0);
	cr_assert_neq(json_check("{\"a\":\"\x01\"}", strlen("{\"a\":\"\x01\"}")), 0);
	cr_assert_neq(json_check("{\"a\":01}", strlen("{\"a\":01}")), 0);
	cr_assert_neq(json_check("{} {}", strlen("{} {}")), 0);
	cr_assert_eq(html_check("<p><b>x</b><br></p>", strlen("<p><b>x</b><br></p>")), 0);
	cr_assert_neq(html_check("<p><b>x</p></b>", strlen("<p><b>x</p></b>")), 0);
	cr_assert_neq(html_check("<p>a > b</p>", strlen("<p>a > b</p>")), 0);
	cr_assert_neq(html_check("<p>", strlen("<p>")), 0);
}
