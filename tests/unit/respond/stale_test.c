/*
 * Tests for src/respond/stale.c: what is stored (RFC 9111 section 3 and
 * telltale's choices), Vary, the LRU bound, the per-copy bound, the
 * stale-if-error windows (response, request, route default), revalidation
 * directives, always_online, the Age value, and the head written from a
 * copy. Heads are parsed from literal messages by the real parser.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http/h1_parse.h"
#include "respond/stale.h"

/* A parsed message; the head's slices point into buf. */
struct msg {
	char buf[4096];
	struct tt_h1_field fields[32];
	struct tt_h1_head h;
};

static const struct tt_h1_limits lim = {4096, 2048, 2048, 32};

static void parse_req(struct msg *m, const char *raw)
{
	size_t n = strlen(raw);

	cr_assert_lt(n, sizeof(m->buf));
	memcpy(m->buf, raw, n);
	memset(&m->h, 0, sizeof(m->h));
	m->h.fields = m->fields;
	cr_assert_gt(tt_h1_parse_request(m->buf, n, &lim, &m->h), 0, "must parse: %s", raw);
}

static void parse_resp(struct msg *m, const char *raw, enum tt_h1_method method)
{
	size_t n = strlen(raw);

	cr_assert_lt(n, sizeof(m->buf));
	memcpy(m->buf, raw, n);
	memset(&m->h, 0, sizeof(m->h));
	m->h.fields = m->fields;
	cr_assert_gt(tt_h1_parse_response(m->buf, n, method, &lim, &m->h), 0, "must parse: %s",
	             raw);
}

/* Wall clock of the tests, in ms: Sun, 06 Nov 1994 08:49:37 GMT. */
#define T0    784111777000ull
#define S_(n) ((uint64_t)(n)*1000)
#define DATE0 "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
#define GET   "GET /a HTTP/1.1\r\nHost: example.com\r\n"

static enum tt_stale_why why_of(const char *req_raw, const char *resp_raw)
{
	struct msg q, r;

	parse_req(&q, req_raw);
	parse_resp(&r, resp_raw, q.h.method_id);
	return tt_stale_storable(&q.h, &r.h);
}

struct storable_case {
	const char *req, *resp;
	enum tt_stale_why why;
};

#define OK200 "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n"

/* clang-format off */
static const struct storable_case storable_cases[] = {
	{GET "\r\n", OK200 "\r\n", TT_STALE_OK},
	{"HEAD /a HTTP/1.1\r\nHost: a\r\n\r\n", OK200 "\r\n", TT_STALE_OK},
	{"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", OK200 "\r\n", TT_STALE_METHOD},
	{"DELETE /a HTTP/1.1\r\nHost: a\r\n\r\n", OK200 "\r\n", TT_STALE_METHOD},
	/* Status codes. */
	{GET "\r\n", "HTTP/1.1 404 Not Found\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 301 Moved\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 204 No Content\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 501 Nope\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 206 Partial\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_STATUS},
	{GET "\r\n", "HTTP/1.1 302 Found\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_STATUS},
	{GET "\r\n", "HTTP/1.1 304 Not Modified\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_STATUS},
	{GET "\r\n", "HTTP/1.1 500 Oops\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_STATUS},
	{GET "\r\n", "HTTP/1.1 503 Busy\r\nCache-Control: max-age=5\r\n\r\n", TT_STALE_STATUS},
	/* no-store, private, no-cache. */
	{GET "Cache-Control: no-store\r\n\r\n", OK200 "\r\n", TT_STALE_REQUEST_NO_STORE},
	{GET "\r\n", OK200 "Cache-Control: no-store\r\n\r\n", TT_STALE_NO_STORE},
	{GET "\r\n", OK200 "Cache-Control: private\r\n\r\n", TT_STALE_PRIVATE},
	{GET "\r\n", OK200 "Cache-Control: private=\"Set-Cookie\"\r\n\r\n", TT_STALE_PRIVATE},
	{GET "\r\n", OK200 "Cache-Control: no-cache\r\n\r\n", TT_STALE_NO_CACHE},
	{GET "\r\n", OK200 "Cache-Control: no-cache=\"X-A\"\r\n\r\n", TT_STALE_NO_CACHE},
	/* A request's no-cache does not stop storing. */
	{GET "Cache-Control: no-cache\r\n\r\n", OK200 "\r\n", TT_STALE_OK},
	/* Authorization (RFC 9111 3.5). */
	{GET "Authorization: Basic eDp5\r\n\r\n", OK200 "\r\n", TT_STALE_AUTHORIZATION},
	{GET "Authorization: Basic eDp5\r\n\r\n", OK200 "Cache-Control: public\r\n\r\n", TT_STALE_OK},
	{GET "Authorization: Basic eDp5\r\n\r\n",
	 "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=5\r\n\r\n", TT_STALE_OK},
	{GET "Authorization: Basic eDp5\r\n\r\n", OK200 "Cache-Control: must-revalidate\r\n\r\n",
	 TT_STALE_OK},
	/* Set-Cookie, Vary. */
	{GET "\r\n", OK200 "Set-Cookie: id=1\r\n\r\n", TT_STALE_SET_COOKIE},
	{GET "\r\n", OK200 "Vary: *\r\n\r\n", TT_STALE_VARY},
	{GET "\r\n", OK200 "Vary: Accept, *\r\n\r\n", TT_STALE_VARY},
	{GET "\r\n", OK200 "Vary: Accept\r\nVary: *\r\n\r\n", TT_STALE_VARY},
	{GET "\r\n", OK200 "Vary: a/b\r\n\r\n", TT_STALE_VARY},
	{GET "\r\n", OK200 "Vary: Accept-Encoding, Accept-Language\r\n\r\n", TT_STALE_OK},
	/* Explicit freshness only. */
	{GET "\r\n", "HTTP/1.1 200 OK\r\n\r\n", TT_STALE_NO_FRESHNESS},
	{GET "\r\n", "HTTP/1.1 200 OK\r\nCache-Control: public\r\n"
	 "Last-Modified: Sun, 06 Nov 1994 07:49:37 GMT\r\n\r\n", TT_STALE_NO_FRESHNESS},
	{GET "\r\n", "HTTP/1.1 200 OK\r\n" DATE0 "Expires: Sun, 06 Nov 1994 09:49:37 GMT\r\n\r\n",
	 TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 200 OK\r\nExpires: 0\r\n\r\n", TT_STALE_OK},
	{GET "\r\n", "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=0\r\n\r\n", TT_STALE_OK},
	/* Unreadable Cache-Control: not stored. */
	{GET "\r\n", OK200 "Cache-Control: no-store x\r\n\r\n", TT_STALE_INVALID},
	{GET "Cache-Control: max-age=\"\r\n\r\n", OK200 "\r\n", TT_STALE_INVALID},
};
/* clang-format on */

Test(stale, storable_table)
{
	size_t i;

	for (i = 0; i < sizeof(storable_cases) / sizeof(storable_cases[0]); i++) {
		const struct storable_case *k = &storable_cases[i];
		enum tt_stale_why w = why_of(k->req, k->resp);
		cr_expect_eq(w, k->why, "case %zu: %s, want %s\n%s%s", i, tt_stale_why_token(w),
		             tt_stale_why_token(k->why), k->req, k->resp);
	}
}

Test(stale, tokens)
{
	cr_assert_str_eq(tt_stale_why_token(TT_STALE_NO_STORE), "no-store");
	cr_assert_str_eq(tt_stale_why_token(TT_STALE_WHY__COUNT), "unknown");
	cr_assert_str_eq(tt_stale_outcome_token(TT_STALE_RESPONSE_SIE), "response-stale-if-error");
	cr_assert_str_eq(tt_stale_outcome_token((enum tt_stale_outcome)99), "unknown");
}

/* ---- The store ---- */

/* Store resp_raw (+ body) as the answer to req_raw at now; returns why. */
static enum tt_stale_why put(struct tt_stale_store *s, const char *req_raw, const char *resp_raw,
                             const char *body, uint64_t now)
{
	struct msg q, r;
	enum tt_stale_why why;
	struct tt_stale_capture *c;

	parse_req(&q, req_raw);
	parse_resp(&r, resp_raw, q.h.method_id);
	c = tt_stale_begin(s, &q.h, q.h.host, q.h.host_len, &r.h, now, &why);
	/* The capture owns its copies: scribble over the originals. */
	memset(q.buf, 'x', sizeof(q.buf));
	memset(r.buf, 'x', sizeof(r.buf));
	if (!c)
		return why;
	cr_assert_eq(why, TT_STALE_OK);
	if (body && tt_stale_append(c, body, strlen(body)) != 0) {
		tt_stale_commit(&c);
		cr_assert_null(c);
		return TT_STALE_TOO_LARGE;
	}
	tt_stale_commit(&c);
	cr_assert_null(c);
	return TT_STALE_OK;
}

struct hit {
	struct tt_stale_entry *e;
	struct tt_stale_result r;
};

static struct hit look(struct tt_stale_store *s, const char *req_raw, uint64_t now,
                       uint64_t route_ms, int always_online)
{
	struct msg q;
	struct hit h;

	parse_req(&q, req_raw);
	h.e = tt_stale_lookup(s, &q.h, q.h.host, q.h.host_len, now, route_ms, always_online, &h.r);
	cr_assert_eq(h.e != NULL, h.r.outcome < TT_STALE_MISS, "outcome %s",
	             tt_stale_outcome_token(h.r.outcome));
	return h;
}

/* The outcome of a lookup, releasing any reference. */
static enum tt_stale_outcome outcome(struct tt_stale_store *s, const char *req_raw, uint64_t now,
                                     uint64_t route_ms, int always_online)
{
	struct hit h = look(s, req_raw, now, route_ms, always_online);

	tt_stale_release(&h.e);
	cr_assert_null(h.e);
	return h.r.outcome;
}

static struct tt_stale_store *st;

/* Each test's store; freed here, so ASan's leak check covers it. */
static void fini(void)
{
	tt_stale_free(&st);
	cr_assert_null(st);
}

TestSuite(store, .fini = fini);

Test(store, off_when_max_bytes_is_zero)
{
	struct msg q, r;
	enum tt_stale_why why = TT_STALE_OK;

	cr_assert_null(tt_stale_new(0, 100));
	parse_req(&q, GET "\r\n");
	parse_resp(&r, OK200 "\r\n", TT_METHOD_GET);
	cr_assert_null(tt_stale_begin(NULL, &q.h, "a", 1, &r.h, T0, &why));
	cr_assert_eq(why, TT_STALE_OFF);
	cr_assert_eq(outcome(NULL, GET "\r\n", T0, 0, 1), TT_STALE_MISS);
}

Test(store, stores_and_serves_with_age_and_body)
{
	struct hit h;
	const char *body;
	size_t len;

	st = tt_stale_new(1 << 20, 1 << 16);
	cr_assert_eq(put(st, GET "\r\n", OK200 DATE0 "Content-Length: 5\r\n\r\n", "hello", T0),
	             TT_STALE_OK);
	h = look(st, GET "\r\n", T0 + S_(10), 0, 0);
	cr_assert_eq(h.r.outcome, TT_STALE_FRESH);
	cr_assert_eq(h.r.age_s, 10);
	cr_assert_eq(h.r.lifetime_s, 60);
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(body, "hello", 5), 0);
	tt_stale_release(&h.e);
	/* Nothing for another target, host or method. */
	cr_assert_eq(outcome(st, "GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 1),
	             TT_STALE_MISS);
	cr_assert_eq(outcome(st, "GET /a?x HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 1),
	             TT_STALE_MISS);
	cr_assert_eq(outcome(st, "GET /a HTTP/1.1\r\nHost: example.org\r\n\r\n", T0, 0, 1),
	             TT_STALE_MISS);
	cr_assert_eq(outcome(st, "DELETE /a HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 1),
	             TT_STALE_MISS);
}

Test(store, key_is_host_case_insensitive_and_target_form_independent)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, "GET /p?q=1 HTTP/1.1\r\nHost: Example.COM\r\n\r\n", OK200 "\r\n", NULL, T0);
	cr_assert_eq(outcome(st, "GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_FRESH);
	cr_assert_eq(outcome(st,
	                     "GET http://EXAMPLE.com/p?q=1 HTTP/1.1\r\nHost: EXAMPLE.com\r\n\r\n",
	                     T0, 0, 0),
	             TT_STALE_FRESH);
	/* Targets are case-sensitive. */
	cr_assert_eq(outcome(st, "GET /P?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_MISS);
}

Test(store, head_uses_get_copy_but_get_never_uses_head_copy)
{
	struct hit h;
	const char *body;
	size_t len;
	char out[1024];
	ssize_t n;
	struct tt_stale_serve how = {.age_s = 0, .keep_alive = 1};

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "Content-Length: 3\r\n\r\n", "abc", T0);
	cr_assert_eq(outcome(st, "HEAD /a HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_FRESH);

	put(st, "HEAD /h HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    OK200 "Content-Length: 1234\r\n\r\n", NULL, T0);
	cr_assert_eq(outcome(st, "GET /h HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_MISS);
	h = look(st, "HEAD /h HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0);
	cr_assert_eq(h.r.outcome, TT_STALE_FRESH);
	n = tt_stale_write_head(h.e, &how, out, sizeof(out));
	cr_assert_gt(n, 0);
	cr_assert_str_eq((out[n] = '\0', out), "HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\n"
	                                       "Content-Length: 1234\r\nAge: 0\r\n\r\n");
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 0);
	tt_stale_release(&h.e);

	/* A HEAD copy does not replace a GET copy; a GET copy replaces it. */
	put(st, "HEAD /a HTTP/1.1\r\nHost: example.com\r\n\r\n", OK200 "Content-Length: 3\r\n\r\n",
	    NULL, T0 + S_(1));
	cr_assert_eq(outcome(st, GET "\r\n", T0 + S_(1), 0, 0), TT_STALE_FRESH);
	put(st, "GET /h HTTP/1.1\r\nHost: example.com\r\n\r\n", OK200 "\r\n", "", T0);
	cr_assert_eq(outcome(st, "GET /h HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_FRESH);
}

Test(store, vary_values_must_match)
{
	const char *resp = OK200 "Vary: Accept-Encoding\r\n\r\n";

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "Accept-Encoding: gzip\r\n\r\n", resp, "gz", T0);
	cr_assert_eq(outcome(st, GET "Accept-Encoding: gzip\r\n\r\n", T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "accept-encoding: gzip\r\n\r\n", T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "Accept-Encoding: br\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
	cr_assert_eq(outcome(st, GET "Accept-Encoding: gzip, br\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
	cr_assert_eq(outcome(st, GET "Accept-Encoding: gzi\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
	cr_assert_eq(outcome(st, GET "\r\n", T0, 0, 0), TT_STALE_MISS);
	/* Absent matches absent only; a second variant lives beside the first. */
	put(st, GET "\r\n", resp, "plain", T0);
	cr_assert_eq(outcome(st, GET "\r\n", T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "Accept-Encoding: gzip\r\n\r\n", T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "Accept-Encoding:\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
}

Test(store, vary_joins_lines_of_a_field)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "Accept: a\r\nAccept: b\r\nX-L: en\r\n\r\n",
	    OK200 "Vary: accept\r\nVary: x-l, x-absent\r\n\r\n", "v", T0);
	cr_assert_eq(outcome(st, GET "Accept: a, b\r\nX-L: en\r\n\r\n", T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "X-L: en\r\nAccept: a\r\nAccept: b\r\n\r\n", T0, 0, 0),
	             TT_STALE_FRESH);
	cr_assert_eq(outcome(st, GET "Accept: a,b\r\nX-L: en\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
	cr_assert_eq(outcome(st, GET "Accept: a, b\r\nX-L: en\r\nX-Absent: 1\r\n\r\n", T0, 0, 0),
	             TT_STALE_MISS);
	cr_assert_eq(outcome(st, GET "Accept: a\r\nX-L: en\r\n\r\n", T0, 0, 0), TT_STALE_MISS);
}

Test(store, newer_copy_replaces_older)
{
	struct hit h;
	const char *body;
	size_t len, n;
	uint64_t bytes;

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "\r\n", "old", T0);
	put(st, GET "\r\n", OK200 "\r\n", "newer", T0 + S_(5));
	tt_stale_usage(st, &bytes, &n);
	cr_assert_eq(n, 1);
	h = look(st, GET "\r\n", T0 + S_(5), 0, 0);
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(body, "newer", 5), 0);
	tt_stale_release(&h.e);
}

/* A body of n bytes of 'b'. */
static const char *body_of(size_t n)
{
	static char b[8192];

	cr_assert_lt(n, sizeof(b));
	memset(b, 'b', n);
	b[n] = '\0';
	return b;
}

static const char *req_for(char *buf, size_t cap, int i)
{
	snprintf(buf, cap, "GET /%d HTTP/1.1\r\nHost: example.com\r\n\r\n", i);
	return buf;
}

Test(store, lru_eviction_keeps_bytes_under_max)
{
	char rq[128];
	uint64_t bytes;
	size_t n;
	int i;

	st = tt_stale_new(8000, 4000);
	for (i = 0; i < 3; i++)
		cr_assert_eq(put(st, req_for(rq, sizeof(rq), i), OK200 "\r\n", body_of(1500), T0),
		             TT_STALE_OK);
	tt_stale_usage(st, &bytes, &n);
	cr_assert_eq(n, 3);
	cr_assert_leq(bytes, 8000);
	/* Touch /0: /1 is now the least recently used. */
	cr_assert_eq(outcome(st, req_for(rq, sizeof(rq), 0), T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(put(st, req_for(rq, sizeof(rq), 3), OK200 "\r\n", body_of(3000), T0),
	             TT_STALE_OK);
	tt_stale_usage(st, &bytes, &n);
	cr_assert_leq(bytes, 8000);
	cr_assert_eq(outcome(st, req_for(rq, sizeof(rq), 1), T0, 0, 0), TT_STALE_MISS);
	cr_assert_eq(outcome(st, req_for(rq, sizeof(rq), 0), T0, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, req_for(rq, sizeof(rq), 3), T0, 0, 0), TT_STALE_FRESH);
	/* Many more: the bound always holds. */
	for (i = 10; i < 200; i++) {
		put(st, req_for(rq, sizeof(rq), i), OK200 "\r\n", body_of((size_t)(i * 37) % 3000),
		    T0);
		tt_stale_usage(st, &bytes, &n);
		cr_assert_leq(bytes, 8000);
	}
}

Test(store, max_object_bytes_limits_one_copy)
{
	uint64_t bytes;
	size_t n;

	st = tt_stale_new(1 << 20, 1000);
	/* Known too large from Content-Length: refused at begin. */
	cr_assert_eq(put(st, GET "\r\n", OK200 "Content-Length: 1001\r\n\r\n", NULL, T0),
	             TT_STALE_TOO_LARGE);
	/* Chunked: the capture gives up when the body passes the bound. */
	cr_assert_eq(
	    put(st, GET "\r\n", OK200 "Transfer-Encoding: chunked\r\n\r\n", body_of(1000), T0),
	    TT_STALE_TOO_LARGE);
	cr_assert_eq(outcome(st, GET "\r\n", T0, 0, 0), TT_STALE_MISS);
	tt_stale_usage(st, &bytes, &n);
	cr_assert_eq(bytes, 0);
	cr_assert_eq(n, 0);
	/* Just under the bound, the whole copy (key, head, body) fits. */
	cr_assert_eq(
	    put(st, GET "\r\n", OK200 "Transfer-Encoding: chunked\r\n\r\n", body_of(900), T0),
	    TT_STALE_OK);
	cr_assert_eq(outcome(st, GET "\r\n", T0, 0, 0), TT_STALE_FRESH);
}

Test(store, capture_appends_in_pieces_and_abort_stores_nothing)
{
	struct msg q, r;
	struct tt_stale_capture *c;
	struct hit h;
	const char *body;
	size_t len, i;
	uint64_t bytes;

	st = tt_stale_new(1 << 20, 1 << 16);
	parse_req(&q, GET "\r\n");
	parse_resp(&r, OK200 "Transfer-Encoding: chunked\r\n\r\n", TT_METHOD_GET);
	c = tt_stale_begin(st, &q.h, "example.com", 11, &r.h, T0, NULL);
	cr_assert_not_null(c);
	tt_stale_abort(&c);
	cr_assert_null(c);
	tt_stale_usage(st, &bytes, &len);
	cr_assert_eq(bytes, 0);
	cr_assert_eq(outcome(st, GET "\r\n", T0, 0, 0), TT_STALE_MISS);

	c = tt_stale_begin(st, &q.h, "example.com", 11, &r.h, T0, NULL);
	for (i = 0; i < 5000; i++)
		cr_assert_eq(tt_stale_append(c, i % 2 ? "y" : "x", 1), 0);
	cr_assert_eq(tt_stale_append(c, NULL, 0), 0);
	tt_stale_commit(&c);
	h = look(st, GET "\r\n", T0, 0, 0);
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 5000);
	cr_assert_eq(body[0], 'x');
	cr_assert_eq(body[4999], 'y');
	tt_stale_release(&h.e);
}

#define REQ_ "GET /a HTTP/1.1\r\nHost: example.com\r\n"

Test(store, response_stale_if_error_window_edges)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n",
	    "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, stale-if-error=30\r\n\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(59), 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(60), 0, 0), TT_STALE_RESPONSE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(90), 0, 0), TT_STALE_RESPONSE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(91), 0, 0), TT_STALE_TOO_OLD);
	/* The response's own window beats the route default. */
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(91), S_(1000), 0), TT_STALE_TOO_OLD);
	/* A request may widen it. */
	cr_assert_eq(
	    outcome(st, REQ_ "Cache-Control: stale-if-error=31\r\n\r\n", T0 + S_(91), 0, 0),
	    TT_STALE_REQUEST_SIE);
	cr_assert_eq(
	    outcome(st, REQ_ "Cache-Control: stale-if-error=10\r\n\r\n", T0 + S_(90), 0, 0),
	    TT_STALE_RESPONSE_SIE);
}

/* Ages are compared in ms: a copy 2.5 s old is not served by a window
 * that ends at 2 s, whatever the second boundaries. */
Test(store, window_edges_in_milliseconds)
{
	struct hit h;

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", "HTTP/1.1 200 OK\r\nCache-Control: max-age=1\r\n\r\n", "x", T0 + 900);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 1899, 0, 0), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 1900, 1000, 0), TT_STALE_ROUTE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 2900, 1000, 0), TT_STALE_ROUTE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 2901, 1000, 0), TT_STALE_TOO_OLD);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 3400, 1000, 0), TT_STALE_TOO_OLD);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + 3400, 1500, 0), TT_STALE_ROUTE_SIE);
	/* Age is written rounded down. */
	h = look(st, REQ_ "\r\n", T0 + 3399, 1500, 0);
	cr_assert_eq(h.r.age_s, 2);
	tt_stale_release(&h.e);
}

Test(store, request_stale_if_error_and_max_stale)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(60), 0, 0), TT_STALE_TOO_OLD);
	cr_assert_eq(
	    outcome(st, REQ_ "Cache-Control: stale-if-error=10\r\n\r\n", T0 + S_(70), 0, 0),
	    TT_STALE_REQUEST_SIE);
	cr_assert_eq(
	    outcome(st, REQ_ "Cache-Control: stale-if-error=10\r\n\r\n", T0 + S_(71), 0, 0),
	    TT_STALE_TOO_OLD);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: max-stale=5\r\n\r\n", T0 + S_(65), 0, 0),
	             TT_STALE_REQUEST_MAX_STALE);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: max-stale=5\r\n\r\n", T0 + S_(66), 0, 0),
	             TT_STALE_TOO_OLD);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: max-stale\r\n\r\n", T0 + S_(999999), 0, 0),
	             TT_STALE_REQUEST_MAX_STALE);
}

Test(store, route_default_applies_only_without_response_window)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(80), S_(20), 0), TT_STALE_ROUTE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(81), S_(20), 0), TT_STALE_TOO_OLD);
	/* stale-if-error=0 from the response is a window of its own. */
	put(st, "GET /z HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, stale-if-error=0\r\n\r\n", "x", T0);
	cr_assert_eq(
	    outcome(st, "GET /z HTTP/1.1\r\nHost: example.com\r\n\r\n", T0 + S_(60), S_(100), 0),
	    TT_STALE_RESPONSE_SIE);
	cr_assert_eq(
	    outcome(st, "GET /z HTTP/1.1\r\nHost: example.com\r\n\r\n", T0 + S_(61), S_(100), 0),
	    TT_STALE_TOO_OLD);
}

Test(store, revalidate_directives_are_never_served_stale)
{
	static const char *const resps[] = {
	    OK200 "Cache-Control: must-revalidate, stale-if-error=99\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nCache-Control: max-age=60, proxy-revalidate\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60\r\n\r\n",
	};
	size_t i;

	st = tt_stale_new(1 << 20, 1 << 16);
	for (i = 0; i < sizeof(resps) / sizeof(resps[0]); i++) {
		put(st, GET "\r\n", resps[i], "x", T0);
		cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(59), 0, 0), TT_STALE_FRESH, "%zu", i);
		cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(60), S_(3600), 1),
		             TT_STALE_REVALIDATE, "%zu", i);
		cr_assert_eq(outcome(st, REQ_ "Cache-Control: stale-if-error=999\r\n\r\n",
		                     T0 + S_(61), S_(3600), 0),
		             TT_STALE_REVALIDATE, "%zu", i);
	}
	/* s-maxage with the origin's own stale-if-error may serve stale. */
	put(st, GET "\r\n",
	    "HTTP/1.1 200 OK\r\nCache-Control: s-maxage=60, stale-if-error=10\r\n\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(70), 0, 0), TT_STALE_RESPONSE_SIE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(71), 0, 0), TT_STALE_TOO_OLD);
}

Test(store, always_online_serves_any_age)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(10), 0, 1), TT_STALE_FRESH);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(61), 0, 1), TT_STALE_ALWAYS_ONLINE);
	cr_assert_eq(outcome(st, REQ_ "\r\n", T0 + S_(86400u * 3650), 0, 1),
	             TT_STALE_ALWAYS_ONLINE);
	/* Expired on arrival (Expires: 0) still counts. */
	put(st, "GET /e HTTP/1.1\r\nHost: example.com\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nExpires: 0\r\n\r\n", "x", T0);
	cr_assert_eq(outcome(st, "GET /e HTTP/1.1\r\nHost: example.com\r\n\r\n", T0, 0, 0),
	             TT_STALE_TOO_OLD);
	cr_assert_eq(outcome(st, "GET /e HTTP/1.1\r\nHost: example.com\r\n\r\n", T0 + S_(5), 0, 1),
	             TT_STALE_ALWAYS_ONLINE);
}

Test(store, request_no_cache_refuses_unless_always_online)
{
	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", OK200 "\r\n", "x", T0);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: no-cache\r\n\r\n", T0 + S_(1), 0, 0),
	             TT_STALE_REQUEST_NO_CACHE);
	cr_assert_eq(outcome(st, REQ_ "Pragma: no-cache\r\n\r\n", T0 + S_(1), 0, 0),
	             TT_STALE_REQUEST_NO_CACHE);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: no-cache\r\n\r\n", T0 + S_(1), 0, 1),
	             TT_STALE_FRESH);
	cr_assert_eq(outcome(st, REQ_ "Cache-Control: no-cache\r\n\r\n", T0 + S_(100), 0, 1),
	             TT_STALE_ALWAYS_ONLINE);
}

Test(store, age_counts_stored_age_date_and_residence)
{
	struct hit h;

	st = tt_stale_new(1 << 20, 1 << 16);
	/* Age: 10 from upstream, Date 5 s before receipt: initial age 10. */
	put(st, GET "\r\n",
	    "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:32 GMT\r\nAge: 10\r\n"
	    "Cache-Control: max-age=60, stale-if-error=100\r\n\r\n",
	    "x", T0);
	h = look(st, GET "\r\n", T0 + S_(25), 0, 0);
	cr_assert_eq(h.r.outcome, TT_STALE_FRESH);
	cr_assert_eq(h.r.age_s, 35);
	tt_stale_release(&h.e);
	h = look(st, GET "\r\n", T0 + S_(70), 0, 0);
	cr_assert_eq(h.r.outcome, TT_STALE_RESPONSE_SIE);
	cr_assert_eq(h.r.age_s, 80);
	cr_assert_eq(h.r.window_ms, S_(100));
	tt_stale_release(&h.e);
	/* A clock that went backwards adds no residence. */
	h = look(st, GET "\r\n", T0 - S_(100), 0, 0);
	cr_assert_eq(h.r.age_s, 10);
	tt_stale_release(&h.e);
}

Test(store, head_output_fields)
{
	struct hit h;
	char out[2048], small[64];
	ssize_t n;
	struct tt_stale_serve how = {
	    .age_s = 75,
	    .proxy_status = "edge; error=connection_refused; details=\"served stale: x\"",
	    .request_id = "0123abcd",
	    .proxy_name = "edge",
	    .keep_alive = 0,
	};

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n",
	    "HTTP/1.1 200 Fine\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: t=5\r\n"
	    "Content-Type: text/plain\r\nCache-Control: max-age=60\r\nAge: 3\r\n"
	    "X-Request-Id: upstream-id\r\nProxy-Status: inner; error=x\r\nVia: 1.1 inner\r\n"
	    "Content-Length: 5\r\nETag: \"v1\"\r\n\r\n",
	    "hello", T0);
	h = look(st, GET "\r\n", T0 + S_(72), 0, 1);
	cr_assert_eq(h.r.age_s, 75);
	n = tt_stale_write_head(h.e, &how, out, sizeof(out));
	cr_assert_gt(n, 0);
	out[n] = '\0';
	cr_assert_str_eq(out, "HTTP/1.1 200 Fine\r\n"
	                      "Content-Type: text/plain\r\n"
	                      "Cache-Control: max-age=60\r\n"
	                      "Proxy-Status: inner; error=x\r\n"
	                      "Via: 1.1 inner\r\n"
	                      "ETag: \"v1\"\r\n"
	                      "Via: 1.1 edge\r\n"
	                      "X-Request-Id: 0123abcd\r\n"
	                      "Age: 75\r\n"
	                      "Proxy-Status: edge; error=connection_refused; "
	                      "details=\"served stale: x\"\r\n"
	                      "Content-Length: 5\r\n"
	                      "Connection: close\r\n\r\n");
	/* Exactly fitting works, one byte less does not. */
	cr_assert_eq(tt_stale_write_head(h.e, &how, out, (size_t)n), n);
	cr_assert_eq(tt_stale_write_head(h.e, &how, out, (size_t)n - 1), -1);
	cr_assert_eq(tt_stale_write_head(h.e, &how, small, sizeof(small)), -1);
	/* HTTP/1.0 keep-alive downstream, no extras. */
	memset(&how, 0, sizeof(how));
	how.keep_alive = how.http10_downstream = 1;
	n = tt_stale_write_head(h.e, &how, out, sizeof(out));
	out[n] = '\0';
	cr_assert(strstr(out, "\r\nAge: 0\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n"));
	cr_assert_null(strstr(out, "X-Request-Id"));
	tt_stale_release(&h.e);
}

Test(store, no_content_length_for_204)
{
	struct hit h;
	char out[512];
	ssize_t n;
	struct tt_stale_serve how = {.age_s = 1, .keep_alive = 1};

	st = tt_stale_new(1 << 20, 1 << 16);
	put(st, GET "\r\n", "HTTP/1.1 204 No Content\r\nCache-Control: max-age=60\r\n\r\n", NULL,
	    T0);
	h = look(st, GET "\r\n", T0 + S_(1), 0, 0);
	n = tt_stale_write_head(h.e, &how, out, sizeof(out));
	cr_assert_gt(n, 0);
	out[n] = '\0';
	cr_assert_str_eq(out,
	                 "HTTP/1.1 204 No Content\r\nCache-Control: max-age=60\r\nAge: 1\r\n\r\n");
	tt_stale_release(&h.e);
}

Test(store, referenced_entry_outlives_eviction_and_store)
{
	char rq[128];
	struct hit h;
	const char *body;
	size_t len, n;
	uint64_t bytes;
	int i;

	st = tt_stale_new(6000, 4000);
	put(st, req_for(rq, sizeof(rq), 0), OK200 "\r\n", body_of(2000), T0);
	h = look(st, req_for(rq, sizeof(rq), 0), T0, 0, 0);
	cr_assert_not_null(h.e);
	for (i = 1; i < 10; i++)
		put(st, req_for(rq, sizeof(rq), i), OK200 "\r\n", body_of(1500), T0);
	cr_assert_eq(outcome(st, req_for(rq, sizeof(rq), 0), T0, 0, 0), TT_STALE_MISS);
	tt_stale_usage(st, &bytes, &n);
	cr_assert_leq(bytes, 6000);
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 2000);
	cr_assert_eq(body[1999], 'b');
	tt_stale_release(&h.e);

	/* A reference and a capture across tt_stale_free. */
	struct msg q, r;
	struct tt_stale_capture *c;
	put(st, req_for(rq, sizeof(rq), 0), OK200 "\r\n", body_of(100), T0);
	h = look(st, req_for(rq, sizeof(rq), 0), T0, 0, 0);
	parse_req(&q, req_for(rq, sizeof(rq), 1));
	parse_resp(&r, OK200 "\r\n", TT_METHOD_GET);
	c = tt_stale_begin(st, &q.h, "example.com", 11, &r.h, T0, NULL);
	cr_assert_not_null(c);
	tt_stale_free(&st);
	cr_assert_eq(tt_stale_append(c, "abc", 3), -1);
	tt_stale_commit(&c);
	cr_assert_null(c);
	tt_stale_body(h.e, &body, &len);
	cr_assert_eq(len, 100);
	tt_stale_release(&h.e);
}

Test(store, details_say_why)
{
	char out[200];
	struct tt_stale_result r = {TT_STALE_RESPONSE_SIE, 75, 60, 30000};

	cr_assert_gt(tt_stale_details(out, sizeof(out), &r, "connection_refused"), 0);
	cr_assert_str_eq(out, "served stale: connection_refused; age 75s, 15s past freshness; "
	                      "allowed by response stale-if-error=30");
	r.outcome = TT_STALE_ALWAYS_ONLINE;
	cr_assert_gt(tt_stale_details(out, sizeof(out), &r, NULL), 0);
	cr_assert_str_eq(out,
	                 "served stale: age 75s, 15s past freshness; allowed by always_online");
	r.outcome = TT_STALE_ROUTE_SIE;
	cr_assert_gt(tt_stale_details(out, sizeof(out), &r, ""), 0);
	cr_assert_str_eq(out, "served stale: age 75s, 15s past freshness; allowed by route "
	                      "stale_if_error 30s");
	r.window_ms = 1500;
	cr_assert_gt(tt_stale_details(out, sizeof(out), &r, ""), 0);
	cr_assert_str_eq(out, "served stale: age 75s, 15s past freshness; allowed by route "
	                      "stale_if_error 1500ms");
	r.outcome = TT_STALE_FRESH;
	r.age_s = 5;
	cr_assert_gt(tt_stale_details(out, sizeof(out), &r, "connection_timeout"), 0);
	cr_assert_str_eq(out, "served stale: connection_timeout; age 5s, within freshness lifetime "
	                      "60s");
	cr_assert_eq(tt_stale_details(out, 10, &r, "connection_timeout"), -1);
}
