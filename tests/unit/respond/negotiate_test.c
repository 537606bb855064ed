/*
 * Tests for src/respond/negotiate.c: one table of Accept values, from real
 * clients (browsers, curl, fetch, API clients) and from RFC 9110 section
 * 12.5.1's rules (q, specificity, q=0, wildcards), to the body kind.
 * Each value is negotiated from an exact-size heap copy.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "respond/negotiate.h"

#define T TT_BODY_TEXT
#define H TT_BODY_HTML
#define J TT_BODY_JSON

static const struct {
	const char *accept;
	enum tt_body_kind want;
} cases[] = {
    /* Absent, empty, only wildcards: plain text (curl, wget, scripts). */
    {"", T},
    {"   ", T},
    {"*/*", T},
    {"*/*;q=0.5", T},
    {" , ,*/* , ", T},
    /* Browsers. */
    {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", H},
    {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", H},
    {"text/html, */*", H},
    /* API clients. */
    {"application/json", J},
    {"application/problem+json", J},
    {"application/json, text/plain, */*", J}, /* axios */
    {"APPLICATION/JSON", J},
    {"application/problem+json, application/json;q=0.9", J},
    {"text/plain", T},
    {"text/plain, application/json", J},
    {"text/plain;q=1, application/json;q=0.9", T},
    /* q-values decide. */
    {"text/html;q=0.5, application/json;q=0.6", J},
    {"text/html;q=0.6, application/json;q=0.5", H},
    {"text/html;Q=0.1, text/plain;q=0.2", T},
    {"text/html;q=1.000, application/json;q=0.999", H},
    {"application/json;q=0.001, text/html;q=0", J},
    /* q=0 excludes, also against a wildcard. */
    {"text/html;q=0, */*", T},
    {"text/plain;q=0, */*", H},
    {"text/plain;q=0, text/html;q=0, */*", J},
    {"text/html;q=0, text/plain;q=0, application/json;q=0", T},
    {"*/*;q=0", T},
    /* Most specific range wins for a candidate. */
    {"text/*;q=0.1, text/html", H},
    {"text/html;q=0.1, text/*", T},
    {"text/*", H},
    {"text/*, application/json", J}, /* same q: the exact match is more specific */
    {"application/*", J},
    {"application/*;q=0.5, text/*;q=0.4", J},
    /* An explicit type beats a wildcard at the same q. */
    {"application/json;q=0.5, */*;q=0.5", J},
    {"application/json;q=0.5, */*", T},
    /* Parameters: other parameters are ignored, quoted ones skipped over,
     * accept-ext after q ignored. */
    {"text/html;level=1;q=0.4, application/json;q=0.3", H},
    {"text/html;charset=\"utf-8, x\";q=0.4, application/json;q=0.3", H},
    {"application/json;q=0.5;ext=1, text/html;q=0.4", J},
    {"text/html ; q=0.5 , application/json ; q=0.6", J},
    /* Broken elements are skipped; the rest still counts. */
    {"garbage, application/json", J},
    {"text/html;q=2, application/json;q=0.1", J},
    {"text/html;q=0.0001, application/json;q=0.1", J},
    {"text/html;q=, application/json", J},
    {"text/html;q=1.5, text/plain", T},
    {"text/html;q=abc", T},
    {"*/html, application/json", J},
    {"text/, /html, /", T},
    {"text/html;=1, application/json", J},
    {"text/html \"x\", application/json", J},
    {"text/html;a=\"unterminated, application/json", T},
    {"\x01\x02\xff", T},
    {";;;,,,;", T},
    {"text/html;;q=0.2, application/json;q=0.1", H},
};

Test(negotiate, table)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].accept);
		char *copy = malloc(n ? n : 1);
		cr_assert(copy);
		memcpy(copy, cases[i].accept, n);
		enum tt_body_kind got = tt_respond_negotiate(copy, n);
		free(copy);
		cr_expect_eq(got, cases[i].want, "Accept: %s -> %s, want %s", cases[i].accept,
		             tt_body_kind_name(got), tt_body_kind_name(cases[i].want));
	}
}

Test(negotiate, null_and_length_bound)
{
	cr_assert_eq(tt_respond_negotiate(NULL, 0), TT_BODY_TEXT);
	cr_assert_eq(tt_respond_negotiate(NULL, 10), TT_BODY_TEXT);
	/* Only len bytes count: "application/json" cut to "application/js". */
	cr_assert_eq(tt_respond_negotiate("application/json", 14), TT_BODY_TEXT);
	cr_assert_eq(tt_respond_negotiate("text/html, garbage", 9), TT_BODY_HTML);
}

Test(negotiate, kind_names)
{
	cr_assert_str_eq(tt_body_kind_name(TT_BODY_TEXT), "text");
	cr_assert_str_eq(tt_body_kind_name(TT_BODY_HTML), "html");
	cr_assert_str_eq(tt_body_kind_name(TT_BODY_JSON), "json");
}
