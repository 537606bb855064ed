/*
 * Tests for src/http/cache_control.c: the Cache-Control directive table
 * (valid, invalid, repeated, quoted, clamped), HTTP-date in its three
 * forms and their edges, the IMF-fixdate writer, Pragma, and the freshness
 * lifetime and initial age of whole response heads.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "http/cache_control.h"

#define S(lit) lit, sizeof(lit) - 1

#define ALL_DELTA_FLAGS                                                                            \
	(TT_CC_MAX_AGE | TT_CC_S_MAXAGE | TT_CC_STALE_IF_ERROR | TT_CC_STALE_WHILE_REVALIDATE |    \
	 TT_CC_MAX_STALE | TT_CC_MIN_FRESH)

struct cc_case {
	const char *value;
	uint32_t flags;
	uint32_t max_age, s_maxage, sie, swr, max_stale, min_fresh;
};

/* clang-format off */
static const struct cc_case cc_cases[] = {
	{"", 0, 0, 0, 0, 0, 0, 0},
	{" , ,, ", 0, 0, 0, 0, 0, 0, 0},
	{"no-store", TT_CC_NO_STORE, 0, 0, 0, 0, 0, 0},
	{"No-Store, MAX-AGE=3", TT_CC_NO_STORE | TT_CC_MAX_AGE, 3, 0, 0, 0, 0, 0},
	{"max-age=60, s-maxage=30", TT_CC_MAX_AGE | TT_CC_S_MAXAGE, 60, 30, 0, 0, 0, 0},
	{"max-age=0", TT_CC_MAX_AGE, 0, 0, 0, 0, 0, 0},
	{"max-age=007", TT_CC_MAX_AGE, 7, 0, 0, 0, 0, 0},
	/* RFC 9111 5.2: recipients accept the quoted form. */
	{"max-age=\"60\"", TT_CC_MAX_AGE, 60, 0, 0, 0, 0, 0},
	/* RFC 9111 1.2.2: clamp to 2^31. */
	{"max-age=2147483648", TT_CC_MAX_AGE, TT_CC_DELTA_MAX, 0, 0, 0, 0, 0},
	{"max-age=99999999999999999999999", TT_CC_MAX_AGE, TT_CC_DELTA_MAX, 0, 0, 0, 0, 0},
	/* Repeats: the smallest value wins. */
	{"max-age=10, max-age=5, max-age=7", TT_CC_MAX_AGE, 5, 0, 0, 0, 0, 0},
	{"stale-if-error=100, stale-if-error=50", TT_CC_STALE_IF_ERROR, 0, 0, 50, 0, 0, 0},
	/* Invalid freshness means stale (RFC 9111 4.2.1). */
	{"max-age=abc", TT_CC_MAX_AGE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"max-age=", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"max-age", TT_CC_MAX_AGE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"max-age=10, max-age=x", TT_CC_MAX_AGE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"s-maxage=-1", TT_CC_S_MAXAGE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"max-age=\"1\\2\"", TT_CC_MAX_AGE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	/* An invalid permission grants nothing. */
	{"stale-if-error=soon", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"stale-if-error", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"stale-if-error=300, stale-while-revalidate=30",
	 TT_CC_STALE_IF_ERROR | TT_CC_STALE_WHILE_REVALIDATE, 0, 0, 300, 30, 0, 0},
	{"max-stale", TT_CC_MAX_STALE, 0, 0, 0, 0, TT_CC_DELTA_MAX, 0},
	{"max-stale=20, max-stale", TT_CC_MAX_STALE, 0, 0, 0, 0, 20, 0},
	{"min-fresh=5, only-if-cached", TT_CC_MIN_FRESH | TT_CC_ONLY_IF_CACHED, 0, 0, 0, 0, 0, 5},
	/* Qualified forms act as the unqualified ones, commas inside quotes. */
	{"private=\"Set-Cookie, X-A\", max-age=5", TT_CC_PRIVATE | TT_CC_MAX_AGE, 5, 0, 0, 0, 0, 0},
	{"no-cache=\"set-cookie\"", TT_CC_NO_CACHE, 0, 0, 0, 0, 0, 0},
	{"private=x", TT_CC_PRIVATE, 0, 0, 0, 0, 0, 0},
	{"no-cache=\"a\\\"b,c\", public", TT_CC_NO_CACHE | TT_CC_PUBLIC, 0, 0, 0, 0, 0, 0},
	/* Restrictive directives hold even with a stray argument. */
	{"no-store=1", TT_CC_NO_STORE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"must-revalidate=\"x\", proxy-revalidate",
	 TT_CC_MUST_REVALIDATE | TT_CC_PROXY_REVALIDATE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	/* Granting directives do not. */
	{"public=yes", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"public, immutable, no-transform, must-understand",
	 TT_CC_PUBLIC | TT_CC_IMMUTABLE | TT_CC_NO_TRANSFORM | TT_CC_MUST_UNDERSTAND, 0, 0, 0, 0, 0, 0},
	/* Malformed elements are skipped, the rest still counts. */
	{"max-age = 5", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"max-age=5 junk, no-store", TT_CC_NO_STORE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"private=\"abc, no-store", TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	{"=5, max-age=1", TT_CC_MAX_AGE | TT_CC_INVALID, 1, 0, 0, 0, 0, 0},
	{"max-age=1;foo, s-maxage=2", TT_CC_S_MAXAGE | TT_CC_INVALID, 0, 2, 0, 0, 0, 0},
	{"\"quoted\", no-store", TT_CC_NO_STORE | TT_CC_INVALID, 0, 0, 0, 0, 0, 0},
	/* Unknown extensions are ignored (RFC 9111 5.2.3). */
	{"community=\"UCI\", foo, bar=baz", 0, 0, 0, 0, 0, 0, 0},
	{"max-agex=5, xmax-age=6", 0, 0, 0, 0, 0, 0, 0},
	{"  max-age=5  ,\tpublic\t", TT_CC_MAX_AGE | TT_CC_PUBLIC, 5, 0, 0, 0, 0, 0},
};
/* clang-format on */

Test(cache_control, directive_table)
{
	size_t i;

	for (i = 0; i < sizeof(cc_cases) / sizeof(cc_cases[0]); i++) {
		const struct cc_case *k = &cc_cases[i];
		struct tt_cc cc;
		tt_cc_init(&cc);
		tt_cc_parse(&cc, k->value, strlen(k->value));
		cr_expect_eq(cc.flags, k->flags, "[%s] flags %#x, want %#x", k->value, cc.flags,
		             k->flags);
		cr_expect_eq(cc.max_age_s, k->max_age, "[%s] max-age %u", k->value, cc.max_age_s);
		cr_expect_eq(cc.s_maxage_s, k->s_maxage, "[%s] s-maxage", k->value);
		cr_expect_eq(cc.stale_if_error_s, k->sie, "[%s] stale-if-error", k->value);
		cr_expect_eq(cc.stale_while_revalidate_s, k->swr, "[%s] swr", k->value);
		cr_expect_eq(cc.max_stale_s, k->max_stale, "[%s] max-stale", k->value);
		cr_expect_eq(cc.min_fresh_s, k->min_fresh, "[%s] min-fresh", k->value);
	}
}

Test(cache_control, lines_accumulate_like_one_joined_line)
{
	struct tt_cc a, b;

	tt_cc_init(&a);
	tt_cc_parse(&a, S("max-age=30, public"));
	tt_cc_parse(&a, S("max-age=10, stale-if-error=60"));
	tt_cc_init(&b);
	tt_cc_parse(&b, S("max-age=30, public, max-age=10, stale-if-error=60"));
	cr_assert_eq(memcmp(&a, &b, sizeof(a)), 0);
	cr_assert_eq(a.max_age_s, 10);
}

Test(cache_control, every_prefix_is_safe_and_values_are_bounded)
{
	static const char v[] =
	    "private=\"a,\\\"b\", max-age=\"12\", stale-if-error=99999999999, x";
	size_t n;

	for (n = 0; n <= sizeof(v) - 1; n++) {
		struct tt_cc cc;
		tt_cc_init(&cc);
		tt_cc_parse(&cc, v, n);
		cr_assert_leq(cc.stale_if_error_s, TT_CC_DELTA_MAX);
		cr_assert_leq(cc.max_age_s, TT_CC_DELTA_MAX);
		if (!(cc.flags & TT_CC_MAX_AGE))
			cr_assert_eq(cc.max_age_s, 0);
	}
}

Test(cache_control, delta_seconds)
{
	uint32_t v = 7;

	cr_assert_eq(tt_cc_delta_seconds(S("0"), &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(tt_cc_delta_seconds(S("2147483647"), &v), 0);
	cr_assert_eq(v, 2147483647u);
	cr_assert_eq(tt_cc_delta_seconds(S("4294967296"), &v), 0);
	cr_assert_eq(v, TT_CC_DELTA_MAX);
	cr_assert_eq(tt_cc_delta_seconds(S(""), &v), -1);
	cr_assert_eq(tt_cc_delta_seconds(S("-1"), &v), -1);
	cr_assert_eq(tt_cc_delta_seconds(S("1 "), &v), -1);
	cr_assert_eq(tt_cc_delta_seconds(S("+1"), &v), -1);
}

/* 2024-06-01T00:00:00Z, the "now" of the rfc850 two-digit-year rule. */
#define NOW_2024 1717200000

struct date_case {
	const char *s;
	int ok;
	int64_t t;
};

/* clang-format off */
static const struct date_case date_cases[] = {
	{"Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777},
	{"Sunday, 06-Nov-94 08:49:37 GMT", 1, 784111777},
	{"Sun Nov  6 08:49:37 1994", 1, 784111777},
	{"Sun Nov 16 08:49:37 1994", 1, 784975777},
	{"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
	{"Wed, 31 Dec 1969 23:59:59 GMT", 1, -1},
	{"Thu, 29 Feb 2024 12:00:00 GMT", 1, 1709208000},
	{"Fri, 31 Dec 9999 23:59:59 GMT", 1, 253402300799},
	/* A leap second counts as the next second. */
	{"Sat, 31 Dec 2016 23:59:60 GMT", 1, 1483228800},
	/* The day name is not checked against the date. */
	{"Mon, 06 Nov 1994 08:49:37 GMT", 1, 784111777},
	/* rfc850 years: within 50 years ahead, else the century before. */
	{"Monday, 01-Jan-74 00:00:00 GMT", 1, 3281990400},
	{"Monday, 01-Jan-75 00:00:00 GMT", 1, 157766400},
	{"Monday, 01-Jan-00 00:00:00 GMT", 1, 946684800},
	{"", 0, 0},
	{"0", 0, 0},
	{"-1", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37 gmt", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
	{"sun, 06 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 06 nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 6 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 06 Nov 94 08:49:37 GMT", 0, 0},
	{"Sun,06 Nov 1994 08:49:37 GMT", 0, 0},
	{" Sun, 06 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37 GMT ", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37 GMTX", 0, 0},
	{"Sun, 06 Nov 1994 24:00:00 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08:60:00 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08:49:61 GMT", 0, 0},
	{"Sun, 06 Nov 1994 8:49:37 GMT", 0, 0},
	{"Wed, 29 Feb 2023 00:00:00 GMT", 0, 0},
	{"Mon, 29 Feb 1900 00:00:00 GMT", 0, 0},
	{"Tue, 29 Feb 2000 00:00:00 GMT", 1, 951782400},
	{"Sun, 00 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 31 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sun, 06 Nov 1994 08:49:37", 0, 0},
	{"Sun, 06-Nov-94 08:49:37 GMT", 0, 0},
	{"Sunday, 06 Nov 1994 08:49:37 GMT", 0, 0},
	{"Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0},
	{"Sun Nov 6 08:49:37 1994", 0, 0},
	{"Sun Nov 06 08:49:37 1994", 1, 784111777},
	{"Sun Nov  6 08:49:37 1994 GMT", 0, 0},
	{"Sun Nov   6 08:49:37 1994", 0, 0},
	{"Funday, 06-Nov-94 08:49:37 GMT", 0, 0},
};
/* clang-format on */

Test(http_date, parse_table_and_every_prefix_fails)
{
	size_t i, n;
	int64_t t;

	for (i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		const struct date_case *k = &date_cases[i];
		size_t len = strlen(k->s);
		int rc = tt_http_date_parse(k->s, len, NOW_2024, &t);
		cr_expect_eq(rc, k->ok ? 0 : -1, "[%s] rc %d", k->s, rc);
		if (k->ok && rc == 0)
			cr_expect_eq(t, k->t, "[%s] %lld, want %lld", k->s, (long long)t,
			             (long long)k->t);
		if (!k->ok)
			continue;
		/* No strict prefix of a valid date is valid. */
		for (n = 0; n < len; n++)
			cr_expect_eq(tt_http_date_parse(k->s, n, NOW_2024, &t), -1, "[%.*s]",
			             (int)n, k->s);
	}
}

Test(http_date, rfc850_year_follows_now)
{
	int64_t t;

	/* In 1994, "01-Jan-40" is 2040 at most 50 years ahead: 2040 - 1994 = 46. */
	cr_assert_eq(tt_http_date_parse(S("Sunday, 01-Jan-40 00:00:00 GMT"), 784111777, &t), 0);
	cr_assert_eq(t, 2208988800);
	cr_assert_eq(tt_http_date_parse(S("Sunday, 01-Jan-50 00:00:00 GMT"), 784111777, &t), 0);
	cr_assert_eq(t, -631152000); /* 1950 */
}

Test(http_date, format_round_trips)
{
	static const int64_t ts[] = {0,         -1,           784111777,    1709208000,
	                             951782400, 253402300799, -62167219200, 1483228800};
	char buf[TT_HTTP_DATE_LEN + 1];
	int64_t back;
	size_t i;

	cr_assert_eq(tt_http_date_format(784111777, buf), TT_HTTP_DATE_LEN);
	cr_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
	cr_assert_eq(tt_http_date_format(0, buf), TT_HTTP_DATE_LEN);
	cr_assert_str_eq(buf, "Thu, 01 Jan 1970 00:00:00 GMT");
	cr_assert_eq(tt_http_date_format(-62167219200, buf), TT_HTTP_DATE_LEN);
	cr_assert_str_eq(buf, "Sat, 01 Jan 0000 00:00:00 GMT");
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		cr_assert_eq(tt_http_date_format(ts[i], buf), TT_HTTP_DATE_LEN);
		cr_assert_eq(tt_http_date_parse(buf, TT_HTTP_DATE_LEN, 0, &back), 0, "%s", buf);
		cr_assert_eq(back, ts[i], "%s", buf);
	}
	cr_assert_eq(tt_http_date_format(253402300800, buf), 0);
	cr_assert_eq(tt_http_date_format(-62167219201, buf), 0);
}

/* ---- Whole heads ---- */

static struct tt_h1_field fields[32];
static const struct tt_h1_limits lim = {16384, 8192, 8192, 32};

static struct tt_h1_head resp_head(const char *raw)
{
	struct tt_h1_head h;

	memset(&h, 0, sizeof(h));
	h.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &h), 0,
	             "test head must parse: %s", raw);
	return h;
}

static struct tt_h1_head req_head(const char *raw)
{
	struct tt_h1_head h;

	memset(&h, 0, sizeof(h));
	h.fields = fields;
	cr_assert_gt(tt_h1_parse_request(raw, strlen(raw), &lim, &h), 0, "must parse: %s", raw);
	return h;
}

/* Response time of the freshness tests: Sun, 06 Nov 1994 08:49:37 GMT. */
#define RT 784111777

static struct tt_cc_fresh fresh_of(const char *raw)
{
	struct tt_h1_head h = resp_head(raw);
	struct tt_cc cc;
	struct tt_cc_fresh f;

	tt_cc_from_head(&cc, &h);
	cr_assert_eq(tt_cc_freshness(&h, &cc, RT, &f), f.is_explicit);
	return f;
}

#define HDATE "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"

Test(freshness, s_maxage_over_max_age_over_expires)
{
	struct tt_cc_fresh f;

	f = fresh_of(
	    "HTTP/1.1 200 OK\r\n" HDATE "Cache-Control: max-age=60\r\n"
	    "Cache-Control: s-maxage=30\r\nExpires: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n");
	cr_assert(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 30);
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Cache-Control: max-age=60\r\n"
	             "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n");
	cr_assert_eq(f.lifetime_s, 60);
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n");
	cr_assert_eq(f.lifetime_s, 3600);
	cr_assert_eq(f.initial_age_s, 0);
}

Test(freshness, expires_edges)
{
	struct tt_cc_fresh f;

	/* No Date: the receive time stands in (RFC 9110 6.6.1). */
	f = fresh_of("HTTP/1.1 200 OK\r\nExpires: Sun, 06 Nov 1994 08:50:37 GMT\r\n\r\n");
	cr_assert(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 60);
	/* "0" and other invalid dates are in the past (RFC 9111 5.3). */
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Expires: 0\r\n\r\n");
	cr_assert(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 0);
	/* Several Expires lines: stale (RFC 9111 4.2.1). */
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n"
	             "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n");
	cr_assert_eq(f.lifetime_s, 0);
	/* Expires before Date. */
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Expires: Sun, 06 Nov 1994 07:49:37 GMT\r\n\r\n");
	cr_assert(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 0);
	/* Nothing explicit. */
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Cache-Control: public\r\n"
	             "Last-Modified: Sun, 06 Nov 1994 07:49:37 GMT\r\n\r\n");
	cr_assert_not(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 0);
	/* An invalid max-age is present with the value 0. */
	f = fresh_of("HTTP/1.1 200 OK\r\nCache-Control: max-age=soon\r\n\r\n");
	cr_assert(f.is_explicit);
	cr_assert_eq(f.lifetime_s, 0);
}

Test(freshness, initial_age_is_the_larger_of_age_and_apparent_age)
{
	struct tt_cc_fresh f;

	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Age: 30\r\nCache-Control: max-age=60\r\n\r\n");
	cr_assert_eq(f.initial_age_s, 30);
	/* Date 100 s before the response arrived. */
	f = fresh_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:47:57 GMT\r\nAge: 30\r\n"
	             "Cache-Control: max-age=60\r\n\r\n");
	cr_assert_eq(f.initial_age_s, 100);
	/* Date in the future: apparent age 0. */
	f = fresh_of("HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 09:49:37 GMT\r\n"
	             "Cache-Control: max-age=60\r\n\r\n");
	cr_assert_eq(f.initial_age_s, 0);
	/* An invalid Age is ignored, the first valid one counts. */
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Age: -5\r\nAge: 12\r\nAge: 50\r\n"
	             "Cache-Control: max-age=60\r\n\r\n");
	cr_assert_eq(f.initial_age_s, 12);
	f = fresh_of("HTTP/1.1 200 OK\r\n" HDATE "Age: 99999999999\r\n"
	             "Cache-Control: max-age=60\r\n\r\n");
	cr_assert_eq(f.initial_age_s, TT_CC_DELTA_MAX);
}

Test(cache_control, from_head_reads_every_line)
{
	struct tt_h1_head h = resp_head("HTTP/1.1 200 OK\r\nCache-Control: public\r\n"
	                                "X-A: 1\r\ncache-control: max-age=5, no-store\r\n\r\n");
	struct tt_cc cc;

	tt_cc_from_head(&cc, &h);
	cr_assert_eq(cc.flags, TT_CC_PUBLIC | TT_CC_MAX_AGE | TT_CC_NO_STORE);
	cr_assert_eq(cc.max_age_s, 5);
}

Test(cache_control, pragma_counts_only_without_cache_control)
{
	struct tt_h1_head h;

	h = req_head("GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n\r\n");
	cr_assert_eq(tt_cc_pragma_no_cache(&h), 1);
	h = req_head("GET / HTTP/1.1\r\nHost: a\r\nPragma: x, No-Cache\r\n\r\n");
	cr_assert_eq(tt_cc_pragma_no_cache(&h), 1);
	h = req_head("GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cache\r\n"
	             "Cache-Control: max-age=0\r\n\r\n");
	cr_assert_eq(tt_cc_pragma_no_cache(&h), 0);
	h = req_head("GET / HTTP/1.1\r\nHost: a\r\nPragma: no-cachex\r\n\r\n");
	cr_assert_eq(tt_cc_pragma_no_cache(&h), 0);
}

Test(cache_control, unused_flags_have_zero_values)
{
	struct tt_cc cc;

	tt_cc_init(&cc);
	tt_cc_parse(&cc, S("no-store, private, public"));
	cr_assert_eq(cc.flags & ALL_DELTA_FLAGS, 0);
	cr_assert_eq(cc.max_age_s | cc.s_maxage_s | cc.stale_if_error_s |
	                 cc.stale_while_revalidate_s | cc.max_stale_s | cc.min_fresh_s,
	             0);
}

/* Parse a request into its own field array (resp_head and req_head share
 * one). */
static struct tt_h1_field req_fields[32];

static struct tt_h1_head req_own(const char *raw)
{
	struct tt_h1_head h;

	memset(&h, 0, sizeof(h));
	h.fields = req_fields;
	cr_assert_gt(tt_h1_parse_request(raw, strlen(raw), &lim, &h), 0, "must parse: %s", raw);
	return h;
}

Test(vary, valid_names_only)
{
	struct tt_h1_head h;

	h = resp_head("HTTP/1.1 200 OK\r\n\r\n");
	cr_assert_eq(tt_cc_vary_valid(&h), 1);
	h = resp_head("HTTP/1.1 200 OK\r\nVary: Accept-Encoding, , User-Agent\r\n\r\n");
	cr_assert_eq(tt_cc_vary_valid(&h), 1);
	h = resp_head("HTTP/1.1 200 OK\r\nVary: *\r\n\r\n");
	cr_assert_eq(tt_cc_vary_valid(&h), 0);
	h = resp_head("HTTP/1.1 200 OK\r\nVary: accept\r\nVary: a b\r\n\r\n");
	cr_assert_eq(tt_cc_vary_valid(&h), 0);
	h = resp_head("HTTP/1.1 200 OK\r\nVary: x:y\r\n\r\n");
	cr_assert_eq(tt_cc_vary_valid(&h), 0);
}

Test(vary, record_and_match)
{
	struct tt_h1_head resp = resp_head("HTTP/1.1 200 OK\r\nVary: Accept-Encoding\r\n"
	                                   "Vary: X-Absent, accept\r\n\r\n");
	struct tt_h1_head req = req_own("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n"
	                                "accept-encoding: gzip\r\nAccept: */*\r\n\r\n");
	char rec[256];
	size_t n = tt_cc_vary_record(NULL, &resp, &req);

	cr_assert_lt(n, sizeof(rec));
	cr_assert_eq(tt_cc_vary_record(rec, &resp, &req), n);
	rec[n] = '\0';
	cr_assert_str_eq(rec, "accept-encoding:1gzip\nx-absent:0\naccept:1text/html, */*\n");
	cr_assert_eq(tt_cc_vary_match(rec, n, &req), 1);
	req = req_own("GET / HTTP/1.1\r\nHost: a\r\nACCEPT-ENCODING: gzip\r\n"
	              "Accept: text/html, */*\r\n\r\n");
	cr_assert_eq(tt_cc_vary_match(rec, n, &req), 1);
	req = req_own("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n"
	              "Accept: text/html,*/*\r\n\r\n");
	cr_assert_eq(tt_cc_vary_match(rec, n, &req), 0);
	req = req_own("GET / HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\nX-Absent: \r\n"
	              "Accept: text/html, */*\r\n\r\n");
	cr_assert_eq(tt_cc_vary_match(rec, n, &req), 0);
	req = req_own("GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html, */*\r\n\r\n");
	cr_assert_eq(tt_cc_vary_match(rec, n, &req), 0);
	/* No Vary: an empty record matches everything. */
	resp = resp_head("HTTP/1.1 200 OK\r\n\r\n");
	cr_assert_eq(tt_cc_vary_record(NULL, &resp, &req), 0);
	cr_assert_eq(tt_cc_vary_match(rec, 0, &req), 1);
	/* Malformed records never match. */
	cr_assert_eq(tt_cc_vary_match("accept", 6, &req), 0);
	cr_assert_eq(tt_cc_vary_match("accept:", 7, &req), 0);
	cr_assert_eq(tt_cc_vary_match("accept:1text/html, */*", 22, &req), 0);
}
