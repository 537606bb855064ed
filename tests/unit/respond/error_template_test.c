/*
 * Tests for src/respond/error_template.c: every placeholder is filled and
 * escaped, {{details}} is empty for untrusted viewers, unknown or unclosed
 * placeholders are reported with their line and column, and CSS braces
 * (even "}}") are left alone.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "body_check.h"
#include "respond/error_body.h"

#define S(lit) lit, sizeof(lit) - 1

static char out[TT_ERROR_BODY_MAX];
static struct tt_fault f;
static struct tt_error_view v;
static const char *ctype;

static void setup(void)
{
	memset(&f, 0, sizeof(f));
	f.id = TT_FAULT_CONNECTION_TIMEOUT;
	f.stage = TT_STAGE_CONNECT;
	snprintf(f.upstream, sizeof(f.upstream), "10.9.8.7:8000");
	snprintf(f.details, sizeof(f.details), "SECRET-DETAIL");
	v = (struct tt_error_view){
	    .fault = &f,
	    .status = 504,
	    .request_id = "id<&>",
	    .time_ms = 1764115200123ull,
	    .proxy_name = "edge",
	    .proxy_status = "edge; error=connection_timeout",
	};
}

TestSuite(error_template, .init = setup);

static const char *render(const char *tpl)
{
	v.template_html = tpl;
	v.template_len = strlen(tpl);
	ssize_t n = tt_error_body(out, sizeof(out), TT_BODY_HTML, &v, &ctype);
	cr_assert_geq(n, 0);
	cr_assert_str_eq(ctype, "text/html; charset=utf-8");
	return out;
}

Test(error_template, scalar_placeholders)
{
	const struct tt_fault_info *info = tt_fault_info(f.id);
	char want[1024];

	render("{{status}}|{{reason}}|{{ title }}|{{request_id}}|{{time}}|{{failed_hop}}|"
	       "{{proxy_status}}|{{fault}}|{{type}}");
	snprintf(want, sizeof(want),
	         "504|Gateway Timeout|%s|id&lt;&amp;&gt;|2025-11-26T00:00:00.123Z|proxy-upstream|"
	         "edge; error=connection_timeout|%s|%s",
	         info->title, info->token, info->type);
	cr_assert_str_eq(out, want);
}

Test(error_template, trace_id_placeholder)
{
	v.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
	render("[{{trace_id}}]");
	cr_assert_str_eq(out, "[4bf92f3577b34da6a3ce929d0e0e4736]");
	v.trace_id = NULL;
	render("[{{trace_id}}]");
	cr_assert_str_eq(out, "[]");
}

Test(error_template, explanation_is_escaped)
{
	render("<p>{{explanation}}</p>");
	cr_assert_eq(strncmp(out, "<p>", 3), 0);
	cr_assert_null(strchr(out + 3, '\''));
	cr_assert_eq(html_check(out, strlen(out)), 0);
}

Test(error_template, steps_chain_and_details)
{
	const char *tpl = "<!DOCTYPE html><html><head><style>a{b:c}}</style></head><body>"
	                  "{{chain}}<ol>{{visitor_steps}}</ol><ol>{{operator_steps}}</ol>"
	                  "{{details}}</body></html>";
	render(tpl);
	cr_assert(strstr(out, "<ol id=\"chain\""));
	cr_assert(strstr(out, "data-link=\"proxy-upstream\" data-failed=\"true\""));
	cr_assert(strstr(out, "<style>a{b:c}}</style>"));
	cr_assert_null(strstr(out, "id=\"details\""));
	cr_assert_null(strstr(out, "SECRET"));
	cr_assert_null(strstr(out, "10.9.8.7"));
	cr_assert_eq(html_check(out, strlen(out)), 0, "%s", out);
	const struct tt_fault_info *info = tt_fault_info(f.id);
	if (info->visitor[0])
		cr_assert(strstr(out, "<ol><li>"));
	v.trusted = 1;
	render(tpl);
	cr_assert(strstr(out, "id=\"details\""));
	cr_assert(strstr(out, "SECRET-DETAIL"));
	cr_assert(strstr(out, "10.9.8.7:8000"));
	cr_assert_eq(html_check(out, strlen(out)), 0);
}

Test(error_template, unknown_and_unclosed_are_copied)
{
	render("a {{nope}} b {{status");
	cr_assert_str_eq(out, "a {{nope}} b {{status");
	render("{{{status}}}");
	cr_assert_str_eq(out, "{{{status}}}");
	render("{{status}}{{status}}");
	cr_assert_str_eq(out, "504504");
	render("");
	cr_assert_str_eq(out, "");
}

Test(error_template, too_small_is_minus_one)
{
	const char *tpl = "<p>{{title}}</p>";
	v.template_html = tpl;
	v.template_len = strlen(tpl);
	ssize_t n = tt_error_body(out, sizeof(out), TT_BODY_HTML, &v, &ctype);
	cr_assert_gt(n, 0);
	cr_assert_eq(tt_error_body(out, (size_t)n, TT_BODY_HTML, &v, &ctype), -1);
	cr_assert_eq(tt_error_body(out, (size_t)n + 1, TT_BODY_HTML, &v, &ctype), n);
}

Test(error_template, check_accepts_good_templates)
{
	unsigned line = 0, col = 0;
	char msg[512];
	cr_assert_eq(tt_error_template_check(S("<p>{{status}} {{ reason }}</p>\n"
	                                       "<style>a{b:c}} x{}</style>{{details}}"),
	                                     &line, &col, msg, sizeof(msg)),
	             0);
	cr_assert_eq(tt_error_template_check(S(""), &line, &col, msg, sizeof(msg)), 0);
	cr_assert_eq(tt_error_template_check(S("{ {}} }"), &line, &col, msg, sizeof(msg)), 0);
}

Test(error_template, check_reports_unknown_with_line_and_col)
{
	unsigned line = 0, col = 0;
	char msg[512];
	cr_assert_eq(tt_error_template_check(S("<html>\n<p>{{status}}\n  <b>{{ stauts }}</b>"),
	                                     &line, &col, msg, sizeof(msg)),
	             -1);
	cr_assert_eq(line, 3);
	cr_assert_eq(col, 6);
	cr_assert(strstr(msg, "unknown placeholder {{stauts}}"), "%s", msg);
	cr_assert(strstr(msg, "{{status}}, {{reason}}, {{title}}"), "%s", msg);
	cr_assert(strstr(msg, "{{chain}}, {{details}}"), "%s", msg);
}

Test(error_template, check_reports_unclosed)
{
	unsigned line = 0, col = 0;
	char msg[512];
	cr_assert_eq(
	    tt_error_template_check(S("ok {{status}}\n{{title\n}}"), &line, &col, msg, sizeof(msg)),
	    -1);
	cr_assert_eq(line, 2);
	cr_assert_eq(col, 1);
	cr_assert(strstr(msg, "unclosed placeholder"), "%s", msg);
	cr_assert_eq(tt_error_template_check(S("abc{{"), &line, &col, msg, sizeof(msg)), -1);
	cr_assert_eq(line, 1);
	cr_assert_eq(col, 4);
	cr_assert_eq(tt_error_template_check(S("{{}}"), &line, &col, msg, sizeof(msg)), -1);
	cr_assert(strstr(msg, "unknown placeholder {{}}"), "%s", msg);
	/* A short or absent message buffer is fine. */
	cr_assert_eq(tt_error_template_check(S("{{x}}"), &line, &col, msg, 8), -1);
	cr_assert_eq(strlen(msg), 7);
	cr_assert_eq(tt_error_template_check(S("{{x}}"), &line, &col, NULL, 0), -1);
}
