/*
 * The explain aggregation: lines in, exact counts out. Totals, bad lines by
 * reason, faults, upstreams (and their fold into "(other)"), routes,
 * stories with their first and last times, the time windows as they widen,
 * the --since/--until window, RFC 3339 times, and the JSON report read
 * back with the JSON reader.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/explain.h"

static char buf[8192];

/* One access-log line as tt_log_format writes it. */
static const char *line(const char *time, int status, const char *ups, int ups_status,
                        const char *fault, const char *target, const char *attempts)
{
	char u[80], us[16], f[200];
	snprintf(u, sizeof(u), ups ? "\"%s\"" : "null", ups ? ups : "");
	snprintf(us, sizeof(us), ups_status ? "%d" : "null", ups_status);
	if (fault)
		snprintf(f, sizeof(f),
		         "\"fault\":\"%s\",\"fault_type\":\"t\",\"fault_stage\":\"connect\","
		         "\"fault_details\":\"d\"",
		         fault);
	else
		snprintf(f, sizeof(f),
		         "\"fault\":null,\"fault_type\":null,\"fault_stage\":null,"
		         "\"fault_details\":null");
	snprintf(buf, sizeof(buf),
	         "{\"time\":\"%s\",\"request_id\":\"r\",\"downstream\":\"127.0.0.1:1\","
	         "\"method\":\"GET\",\"target\":\"%s\",\"status\":%d,\"bytes_in\":0,"
	         "\"bytes_out\":1,\"duration_ms\":1.000,\"upstream\":%s,\"upstream_status\":%s,"
	         "\"upstream_connect_ms\":null,\"upstream_head_ms\":null,%s,\"attempts\":[%s]}",
	         time, target, status, u, us, f, attempts ? attempts : "");
	return buf;
}

static enum tt_explain_bad feed(struct tt_explain *x, const char *s)
{
	return tt_explain_line(x, s, strlen(s));
}

static const struct tt_explain_name *find(const struct tt_explain_names *t, const char *name)
{
	for (size_t i = 0; i <= TT_EXPLAIN_NAMES; i++)
		if (strcmp(t->e[i].name, name) == 0)
			return &t->e[i];
	return NULL;
}

#define REFUSED_ATTEMPT                                                                            \
	"{\"upstream\":\"10.0.0.2:80\",\"fault\":\"upstream_refused\",\"stage\":\"connect\","      \
	"\"connect_ms\":null,\"head_ms\":null,\"reused\":false}"
#define OK_ATTEMPT                                                                                 \
	"{\"upstream\":\"10.0.0.1:80\",\"fault\":null,\"stage\":null,\"connect_ms\":0.100,"        \
	"\"head_ms\":1.000,\"reused\":true}"

Test(explain, known_counts)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	char t[40];

	for (int i = 0; i < 37; i++) {
		snprintf(t, sizeof(t), "2025-11-26T12:%02d:%02d.000Z", 1 + i % 4, i);
		feed(x,
		     line(t, 502, "10.0.0.2:80", 0, "upstream_refused", "/api/x", REFUSED_ATTEMPT));
	}
	for (int i = 0; i < 5; i++)
		feed(x, line("2025-11-26T12:10:00Z", 504, "10.0.0.1:80", 0, "upstream_timeout",
		             "/api/slow?x=1", NULL));
	for (int i = 0; i < 3; i++)
		feed(x, line("2025-11-26T12:00:30Z", 503, "10.0.0.1:80", 503, NULL, "/", NULL));
	for (int i = 0; i < 2; i++) /* a retry hid the refusal */
		feed(x, line("2025-11-26T12:00:31Z", 200, "10.0.0.1:80", 200, NULL, "/static/a.css",
		             REFUSED_ATTEMPT "," OK_ATTEMPT));
	for (int i = 0; i < 4; i++)
		feed(x, line("2025-11-26T12:00:32Z", 400, NULL, 0, "bad_request", "/a b", NULL));
	cr_assert_eq(feed(x, "not json"), TT_EXPLAIN_NOT_JSON);
	cr_assert_eq(feed(x, "[1]"), TT_EXPLAIN_NOT_OBJECT);
	cr_assert_eq(feed(x, "{\"time\":\"yesterday\",\"status\":200}"), TT_EXPLAIN_BAD_TIME);
	cr_assert_eq(feed(x, "{\"time\":\"2025-11-26T12:00:00Z\",\"status\":\"200\"}"),
	             TT_EXPLAIN_BAD_STATUS);
	cr_assert_eq(feed(x, "{\"time\":\"2025-11-26T12:00:00Z\",\"status\":200,\"upstream\":5}"),
	             TT_EXPLAIN_BAD_FIELD);
	tt_explain_too_long(x);
	feed(x, "");
	feed(x, " \r");

	cr_assert_eq(x->lines, 37 + 5 + 3 + 2 + 4 + 6 + 2);
	cr_assert_eq(x->blank, 2);
	cr_assert_eq(x->bad, 6);
	cr_assert_eq(x->bad_by[TT_EXPLAIN_NOT_JSON], 1);
	cr_assert_eq(x->bad_by[TT_EXPLAIN_TOO_LONG], 1);
	cr_assert_eq(x->first_bad_line, 52);
	cr_assert_eq(x->first_bad, TT_EXPLAIN_NOT_JSON);
	cr_assert_eq(x->first_bad_off, 1, "\"not json\" breaks at its 'o'");
	cr_assert_eq(x->requests, 51);
	cr_assert_eq(x->errors, 46);
	cr_assert_eq(x->status_5xx, 45);
	cr_assert_eq(x->upstream_5xx, 3);
	cr_assert_eq(x->recovered, 2);
	cr_assert_eq(x->by_fault[TT_FAULT_CONNECTION_REFUSED], 37);
	cr_assert_eq(x->by_fault[TT_FAULT_HTTP_RESPONSE_TIMEOUT], 5);
	cr_assert_eq(x->by_fault[TT_FAULT_REQUEST_MALFORMED], 4);

	const struct tt_explain_name *u2 = find(&x->upstreams, "10.0.0.2:80");
	const struct tt_explain_name *u1 = find(&x->upstreams, "10.0.0.1:80");
	const struct tt_explain_name *none = find(&x->upstreams, "(none)");
	cr_assert(u2 && u1 && none);
	cr_assert_eq(u2->c.requests, 37);
	cr_assert_eq(u2->c.errors, 37);
	cr_assert_eq(u2->c.failed_attempts, 39, "retried refusals count too");
	cr_assert_eq(u1->c.requests, 10);
	cr_assert_eq(u1->c.errors, 5);
	cr_assert_eq(u1->c.upstream_5xx, 3);
	cr_assert_eq(none->c.requests, 4);
	cr_assert_eq(find(&x->routes, "/api")->c.requests, 42);
	cr_assert_eq(find(&x->routes, "/api")->c.errors, 42);
	cr_assert_eq(find(&x->routes, "/")->c.requests, 3);
	cr_assert_eq(find(&x->routes, "/static")->c.requests, 2);
	cr_assert_eq(find(&x->routes, "/a b")->c.requests, 4);

	struct tt_explain_top top[TT_EXPLAIN_TOP];
	char a[40], b[40];
	cr_assert_eq(tt_explain_stories(x, top, TT_EXPLAIN_TOP), 3);
	cr_assert_eq(top[0].fault, TT_FAULT_CONNECTION_REFUSED);
	cr_assert_str_eq(x->upstreams.e[top[0].upstream].name, "10.0.0.2:80");
	cr_assert_eq(top[0].s->count, 37);
	tt_explain_fmt_time(a, sizeof(a), top[0].s->first_ms);
	tt_explain_fmt_time(b, sizeof(b), top[0].s->last_ms);
	cr_assert_str_eq(a, "2025-11-26T12:01:00.000Z");
	cr_assert_str_eq(b, "2025-11-26T12:04:35.000Z");
	cr_assert_eq(top[1].fault, TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_assert_eq(top[2].fault, TT_FAULT_REQUEST_MALFORMED);
	cr_assert_str_eq(x->upstreams.e[top[2].upstream].name, "(none)");

	/* Windows: a minute each from 12:00; 12:10 is the eleventh. */
	cr_assert_eq(x->win_width_ms, 60000);
	cr_assert_eq(x->nwin, 11);
	cr_assert_eq(x->win[10].errors, 5);
	cr_assert_eq(x->win[10].faults[TT_FAULT_HTTP_RESPONSE_TIMEOUT], 5);
	cr_assert_eq(x->win[0].requests, 9);
	tt_explain_free(&x);
	cr_assert_null(x);
}

Test(explain, unknown_tokens_are_errors_of_their_own)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	feed(x, line("2025-11-26T12:00:00Z", 502, "u:1", 0, "from_the_future", "/", NULL));
	cr_assert_eq(x->errors, 1);
	cr_assert_eq(x->by_fault[TT_EXPLAIN_UNKNOWN], 1);
	cr_assert_str_eq(tt_explain_token(TT_EXPLAIN_UNKNOWN), "(unknown)");
	tt_explain_free(&x);
}

Test(explain, since_until_keep_a_half_open_window)
{
	int64_t since, until;
	cr_assert(tt_explain_parse_time("2025-11-26T12:01:00Z", 20, &since));
	cr_assert(tt_explain_parse_time("2025-11-26T12:03:00Z", 20, &until));
	struct tt_explain *x = tt_explain_new(since, until);
	const char *times[] = {"2025-11-26T12:00:59.999Z", "2025-11-26T12:01:00Z",
	                       "2025-11-26T12:02:59.999Z", "2025-11-26T12:03:00Z",
	                       "2025-11-26T14:02:00+02:00"};
	for (int i = 0; i < 5; i++)
		feed(x, line(times[i], 502, "u:1", 0, "upstream_refused", "/", NULL));
	cr_assert_eq(x->requests, 3);
	cr_assert_eq(x->outside, 2);
	cr_assert_eq(x->errors, 3);
	tt_explain_free(&x);
}

Test(explain, upstreams_past_the_cap_fold_into_other)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	char u[32];
	for (int i = 0; i < TT_EXPLAIN_NAMES + 44; i++) {
		snprintf(u, sizeof(u), "10.0.%d.%d:80", i / 250, i % 250);
		feed(x, line("2025-11-26T12:00:00Z", 200, u, 200, NULL, "/", NULL));
	}
	feed(x, line("2025-11-26T12:00:00Z", 200, "10.0.0.0:80", 200, NULL, "/", NULL));
	cr_assert_eq(x->upstreams.n, TT_EXPLAIN_NAMES);
	cr_assert_eq(x->upstreams.folded, 44);
	cr_assert_eq(x->upstreams.e[TT_EXPLAIN_NAMES].c.requests, 44);
	cr_assert_eq(find(&x->upstreams, "10.0.0.0:80")->c.requests, 2, "known names still count");
	uint16_t order[TT_EXPLAIN_NAMES + 1];
	cr_assert_eq(tt_explain_order(&x->upstreams, order), TT_EXPLAIN_NAMES + 1);
	cr_assert_eq(order[0], TT_EXPLAIN_NAMES, "(other) has the most requests");
	tt_explain_free(&x);
}

Test(explain, routes_are_first_path_segments)
{
	static const struct {
		const char *target, *route;
	} v[] = {
	    {"/api/v1/users?id=1", "/api"},
	    {"/api?x", "/api"},
	    {"/", "/"},
	    {"/?q=1", "/"},
	    {"/#frag", "/"},
	    {"http://example.com/shop/cart", "/shop"},
	    {"http://example.com", "/"},
	    {"*", "*"},
	    {"example.com:443", "(authority)"},
	    {"", "(none)"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
		feed(x, line("2025-11-26T12:00:00Z", 200, "u:1", 200, NULL, v[i].target, NULL));
		cr_assert_eq(x->routes.n, 1);
		cr_assert_str_eq(x->routes.e[0].name, v[i].route, "target %s", v[i].target);
		tt_explain_free(&x);
	}
}

Test(explain, long_names_are_cut_at_a_utf8_boundary)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	char target[200] = "/x";
	for (int i = 0; i < 40; i++)
		memcpy(target + 2 + 2 * i, "\xc3\xa9", 3); /* "é", NUL included */
	feed(x, line("2025-11-26T12:00:00Z", 200, "u:1", 200, NULL, target, NULL));
	cr_assert_eq(x->routes.n, 1);
	/* 63 bytes would end inside the 31st "é": the cut backs off to 62. */
	cr_assert_eq(strlen(x->routes.e[0].name), 62);
	tt_explain_free(&x);
}

/* Days 10, 11, 12 at midnight, fed in the given order. */
static void three_days(const int *order)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	char t[40];
	uint64_t sum = 0;
	for (int i = 0; i < 3; i++) {
		snprintf(t, sizeof(t), "2025-11-%02dT00:00:00Z", 10 + order[i]);
		feed(x, line(t, 502, "u:1", 0, "upstream_refused", "/", NULL));
	}
	cr_assert_eq(x->win_width_ms, 4 * 60000, "three days of minutes need width 4");
	cr_assert_eq(x->nwin, 721);
	for (size_t i = 0; i < x->nwin; i++)
		sum += x->win[i].requests;
	cr_assert_eq(sum, 3);
	cr_assert_eq(x->win[0].requests, 1);
	cr_assert_eq(x->win[360].requests, 1);
	cr_assert_eq(x->win[720].requests, 1);
	char o[40];
	tt_explain_fmt_time(o, sizeof(o), x->win_origin_ms);
	cr_assert_str_eq(o, "2025-11-10T00:00:00.000Z");
	tt_explain_free(&x);
}

Test(explain, windows_widen_to_fit_any_span)
{
	three_days((const int[]){0, 1, 2});
}

Test(explain, windows_shift_for_older_requests)
{
	three_days((const int[]){1, 0, 2});
	three_days((const int[]){2, 1, 0});
}

Test(explain, rfc3339_times)
{
	static const struct {
		const char *in;
		int ok;
		int64_t ms;
	} v[] = {
	    {"1970-01-01T00:00:00Z", 1, 0},
	    {"2025-11-26T00:00:00.123Z", 1, 1764115200123},
	    {"2025-11-26t00:00:00.1z", 1, 1764115200100},
	    {"2025-11-26T02:00:00+02:00", 1, 1764115200000},
	    {"2025-11-25T19:30:00-04:30", 1, 1764115200000},
	    {"2024-02-29T00:00:00Z", 1, 1709164800000},
	    {"1969-12-31T23:59:59.5Z", 1, -500},
	    {"2025-02-29T00:00:00Z", 0, 0},
	    {"2025-11-26 00:00:00Z", 0, 0},
	    {"2025-11-26T00:00:00", 0, 0},
	    {"2025-11-26T24:00:00Z", 0, 0},
	    {"2025-11-26T00:00:00.Z", 0, 0},
	    {"2025-11-26T00:00:00+0200", 0, 0},
	    {"2025-13-01T00:00:00Z", 0, 0},
	    {"2025-11-26", 0, 0},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int64_t ms = 0;
		cr_assert_eq(tt_explain_parse_time(v[i].in, strlen(v[i].in), &ms), v[i].ok, "%s",
		             v[i].in);
		if (v[i].ok)
			cr_assert_eq(ms, v[i].ms, "%s: %lld", v[i].in, (long long)ms);
	}
	char out[40];
	tt_explain_fmt_time(out, sizeof(out), -500);
	cr_assert_str_eq(out, "1969-12-31T23:59:59.500Z");
}

Test(explain, read_keeps_every_attempt_field)
{
	struct tt_explain_reader *r = malloc(sizeof(*r));
	struct tt_explain_rec rec;
	const char *s = line("2025-11-26T12:00:00Z", 200, "10.0.0.1:80", 200, NULL, "/",
	                     REFUSED_ATTEMPT "," OK_ATTEMPT);

	tt_explain_reader_init(r);
	cr_assert_eq(tt_explain_read(r, s, strlen(s), &rec), TT_EXPLAIN_OK);
	cr_assert_eq(rec.nattempts, 2);
	cr_assert_eq(rec.attempts[0].fault.len, strlen("upstream_refused"));
	cr_assert_lt(rec.attempts[0].connect_ms, 0);
	cr_assert_eq(rec.attempts[1].reused, 1);
	cr_assert_eq(rec.attempts[1].head_ms, 1.0);
	cr_assert_null(rec.fault.p);
	cr_assert_eq(rec.upstream_status, 200);
	const char *bad = "{\"time\":\"2025-11-26T12:00:00Z\",\"status\":200,\"attempts\":{}}";
	cr_assert_eq(tt_explain_read(r, bad, strlen(bad), &rec), TT_EXPLAIN_BAD_FIELD);
	bad = "{\"time\":\"2025-11-26T12:00:00Z\",\"status\":200,\"upstream_status\":42}";
	cr_assert_eq(tt_explain_read(r, bad, strlen(bad), &rec), TT_EXPLAIN_BAD_FIELD);
	free(r);
}

Test(explain, json_report_reads_back)
{
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	static char out[256 * 1024];
	static struct tt_json_node nodes[8192];
	static char sc[sizeof(out) + 1];
	struct tt_json_doc d = {nodes, 8192, sc, sizeof(sc), 8, 0, 0};
	FILE *f = fmemopen(out, sizeof(out), "w");
	int64_t v;

	feed(x, line("2025-11-26T12:00:00Z", 502, "u:1", 0, "upstream_refused", "/", NULL));
	feed(x, line("2025-11-26T12:00:00Z", 200, "u:1", 200, NULL, "/", NULL));
	feed(x, "oops");
	tt_explain_write_json(f, x, "a\"b.log");
	long n = ftell(f);
	fclose(f);
	cr_assert_eq(tt_json_parse(&d, out, (size_t)n), TT_JSON_OK, "%.*s", (int)n, out);
	const struct tt_json_node *root = &d.nodes[0], *tot = tt_json_get(&d, root, "totals");
	cr_assert(tt_json_eq(tt_json_get(&d, root, "file"), "a\"b.log"));
	cr_assert(tt_json_int(tt_json_get(&d, tot, "requests"), &v) && v == 2);
	cr_assert(tt_json_int(tt_json_get(&d, tot, "errors"), &v) && v == 1);
	cr_assert(tt_json_int(tt_json_get(&d, tot, "bad_lines"), &v) && v == 1);
	cr_assert_eq(tt_json_get(&d, tot, "error_rate")->num, 0.5);
	const struct tt_json_node *st = tt_json_get(&d, root, "stories");
	cr_assert_eq(st->count, 1);
	cr_assert(tt_json_eq(tt_json_get(&d, st + 1, "type"), "connection_refused"));
	cr_assert(tt_json_eq(tt_json_get(&d, st + 1, "upstream"), "u:1"));
	cr_assert_eq(tt_json_get(&d, st + 1, "operator_steps")->type, TT_JSON_ARRAY);
	cr_assert_eq(tt_json_get(&d, root, "since")->type, TT_JSON_NULL);
	tt_explain_free(&x);
}

/* Found by fuzz_json (GitHub issue 9): a line without a target made the
 * route computation add 0 to a NULL pointer. Clang's UBSan flags that and
 * `make fuzz-replay` replays the input (fuzz/corpus/fuzz_json/
 * regress_no_target); GCC's does not, so here only the outcome is checked. */
Test(explain, a_line_without_a_target_has_no_route)
{
	static const char in[] = "{\"time\":\"2025-11-26T14:02:00+02:00\",\"status\":503,"
	                         "\"upstream_stat\":\"http://h/p\"}";
	struct tt_explain *x = tt_explain_new(INT64_MIN, INT64_MAX);
	cr_assert_eq(feed(x, in), TT_EXPLAIN_OK);
	cr_assert_eq(x->routes.n, 1);
	cr_assert_str_eq(x->routes.e[0].name, "(none)");
	tt_explain_free(&x);
}
