/*
 * `telltale explain [FILE|-] [--json] [--since T] [--until T]
 *  [--request-id ID]`: read telltale's JSON access log and tell the stories
 * of its errors (docs/explain.md).
 *
 * The log streams through a fixed buffer one line at a time into the
 * fixed-size tables of obs/explain.h, so a log of any size is read in the
 * same memory; a line longer than TT_EXPLAIN_LINE_MAX is counted as bad and
 * skipped to its newline. Bad lines are counted, never fatal. The words of
 * every story come from the fault catalogue (fault/catalogue.h).
 *
 * Text read from the log is written to the terminal with control bytes
 * replaced by '?', so a request target cannot send escape sequences to the
 * operator's terminal.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "fault/fault.h"
#include "obs/explain.h"
#include "obs/json.h"

#define WIDTH     100 /* columns the text report wraps at */
#define ROWS_MAX  20  /* rows shown per table in the text report */
#define TIME_ROWS 24  /* rows of the time table */

static const char usage[] =
    "usage: telltale explain [FILE|-] [--json] [--since TIME] [--until TIME]\n"
    "                        [--request-id ID]\n"
    "\n"
    "Read telltale's JSON access log (FILE, or standard input for '-' or no FILE) and\n"
    "tell the stories of its errors: counts and rates by fault, upstream, route and time,\n"
    "and the top stories in words, with the catalogue's steps to fix them.\n"
    "\n"
    "  --json            one JSON document instead of text (keys in docs/explain.md)\n"
    "  --since TIME      only requests at or after TIME (RFC 3339: 2025-11-26T12:00:00Z)\n"
    "  --until TIME      only requests before TIME (RFC 3339)\n"
    "  --request-id ID   the whole story of one request, every attempt included;\n"
    "                    exit status 1 when no line has that request_id\n"
    "\n"
    "Exit status: 0 done, 1 unreadable input or request not found, 2 usage error.\n";

struct args {
	const char *file; /* NULL or "-": stdin */
	const char *request_id;
	int json;
	int64_t since_ms, until_ms;
};

/* ---- reading lines ------------------------------------------------------- */

/* Called per line (no newline); too_long lines come with len 0. Return 1 to
 * stop reading. */
typedef int (*line_fn)(void *arg, const char *line, size_t len, int too_long);

/* Feed every line of f to fn through one buffer of twice the longest line.
 * Returns 0, or -1 on a read error (errno kept). */
static int each_line(FILE *f, line_fn fn, void *arg)
{
	const size_t cap = 2 * (size_t)TT_EXPLAIN_LINE_MAX;
	char *buf = malloc(cap);
	size_t start = 0, end = 0;
	int skipping = 0, rc = 0, stop = 0;

	if (!buf)
		abort();
	while (!stop) {
		char *nl = memchr(buf + start, '\n', end - start);
		if (nl) {
			size_t len = (size_t)(nl - buf) - start;
			if (!skipping)
				stop = fn(arg, buf + start, len, 0);
			skipping = 0;
			start += len + 1;
			continue;
		}
		if (end - start > TT_EXPLAIN_LINE_MAX) {
			/* Too long: count it once, drop what is held, skip to its newline. */
			if (!skipping)
				stop = fn(arg, NULL, 0, 1);
			skipping = 1;
			start = end = 0;
			continue;
		}
		memmove(buf, buf + start, end - start);
		end -= start;
		start = 0;
		size_t n = fread(buf + end, 1, cap - end, f);
		end += n;
		if (n == 0) {
			if (ferror(f))
				rc = -1;
			else if (end && !skipping)
				fn(arg, buf, end, 0); /* the last line had no newline */
			break;
		}
	}
	free(buf);
	return rc;
}

/* ---- text helpers -------------------------------------------------------- */

/* Write s with control bytes as '?'. */
static void put_safe(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		fputc(c < 0x20 || c == 0x7f ? '?' : c, stdout);
	}
}

static void put_str(const struct tt_explain_str *s, const char *none)
{
	if (s->p)
		put_safe(s->p, s->len);
	else
		fputs(none, stdout);
}

/* Write text word by word from column *col, breaking lines before WIDTH
 * and indenting continuation lines by indent columns. A word goes after a
 * space unless it starts a continuation line (*col == indent). */
static void wrap(int *col, int indent, const char *text, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t w = i;
		while (w < len && text[w] != ' ')
			w++;
		if (*col > indent && *col + 1 + (int)(w - i) > WIDTH) {
			printf("\n%*s", indent, "");
			*col = indent;
		} else if (*col != indent) {
			fputc(' ', stdout);
			(*col)++;
		}
		put_safe(text + i, w - i);
		*col += (int)(w - i);
		i = w;
		while (i < len && text[i] == ' ')
			i++;
	}
}

/* The catalogue's operator steps, numbered, the first from column *col
 * and each next one on a line of its own at indent. With first > 0 only
 * that many. */
static void steps(int *col, int indent, const char *column, int first)
{
	size_t pos = 0, len;
	const char *item;
	char num[16];

	for (int k = 1; tt_fault_lines(column, &pos, &item, &len) && (!first || k <= first); k++) {
		if (k > 1) {
			printf("\n%*s", indent, "");
			*col = indent;
		}
		snprintf(num, sizeof(num), "%d.", k);
		wrap(col, indent, num, strlen(num));
		wrap(col, indent + 3, item, len);
	}
}

/* "12:01", or "2025-11-26 12:01" when the log spans more than one day. */
static void hhmm(char *buf, size_t cap, int64_t ms, int long_form)
{
	char t[40];
	tt_explain_fmt_time(t, sizeof(t), ms);
	if (long_form)
		snprintf(buf, cap, "%.10s %.5s", t, t + 11);
	else
		snprintf(buf, cap, "%.5s", t + 11);
}

static double pct(uint64_t a, uint64_t b)
{
	return 100.0 * tt_explain_rate(a, b);
}

static int spans_days(const struct tt_explain *x)
{
	char a[40], b[40];
	tt_explain_fmt_time(a, sizeof(a), x->first_ms);
	tt_explain_fmt_time(b, sizeof(b), x->last_ms);
	return memcmp(a, b, 10) != 0;
}

/* ---- the text report ----------------------------------------------------- */

static void text_summary(const struct tt_explain *x, const char *file)
{
	char a[40], b[40];

	printf("telltale explain: ");
	put_safe(file, strlen(file));
	printf("\n");
	if (x->requests) {
		tt_explain_fmt_time(a, sizeof(a), x->first_ms);
		tt_explain_fmt_time(b, sizeof(b), x->last_ms);
		printf("  time        %.10s %.8s to %.10s %.8s UTC\n", a, a + 11, b, b + 11);
	}
	printf("  requests    %llu\n", (unsigned long long)x->requests);
	printf("  errors      %llu (%.2f%%): requests whose log line has a fault\n",
	       (unsigned long long)x->errors, pct(x->errors, x->requests));
	printf("  5xx         %llu sent by telltale; %llu upstream-sent (the upstreams' own)\n",
	       (unsigned long long)x->status_5xx, (unsigned long long)x->upstream_5xx);
	if (x->recovered)
		printf("  recovered   %llu: a retry hid a failed attempt\n",
		       (unsigned long long)x->recovered);
	printf("  lines       %llu: %llu bad, %llu blank, %llu outside --since/--until\n",
	       (unsigned long long)x->lines, (unsigned long long)x->bad,
	       (unsigned long long)x->blank, (unsigned long long)x->outside);
}

static void text_faults(const struct tt_explain *x)
{
	int order[TT_FAULT__COUNT];
	size_t n = tt_explain_faults(x, order);

	if (!n)
		return;
	printf("\nBy fault\n  %8s  %6s  %-6s  %s\n", "count", "share", "status", "type (token)");
	for (size_t i = 0; i < n; i++) {
		const struct tt_fault_info *fi = tt_fault_info(order[i]);
		char status[8] = "-";
		if (fi && fi->status)
			snprintf(status, sizeof(status), "%d", fi->status);
		printf("  %8llu  %5.1f%%  %-6s  %s (%s)\n",
		       (unsigned long long)x->by_fault[order[i]],
		       pct(x->by_fault[order[i]], x->errors), status, tt_explain_type(order[i]),
		       tt_explain_token(order[i]));
	}
}

static void text_names(const char *title, const struct tt_explain_names *t, int attempts)
{
	uint16_t order[TT_EXPLAIN_NAMES + 1];
	size_t n = tt_explain_order(t, order);

	if (!n)
		return;
	printf("\n%s\n  %8s  %8s  %6s  %12s  ", title, "requests", "errors", "rate",
	       "upstream-5xx");
	if (attempts)
		printf("%15s  ", "failed-attempts");
	printf("%s\n", attempts ? "upstream" : "route");
	for (size_t i = 0; i < n && i < ROWS_MAX; i++) {
		const struct tt_explain_name *e = &t->e[order[i]];
		printf("  %8llu  %8llu  %5.1f%%  %12llu  ", (unsigned long long)e->c.requests,
		       (unsigned long long)e->c.errors, pct(e->c.errors, e->c.requests),
		       (unsigned long long)e->c.upstream_5xx);
		if (attempts)
			printf("%15llu  ", (unsigned long long)e->c.failed_attempts);
		put_safe(e->name, strlen(e->name));
		printf("\n");
	}
	if (n > ROWS_MAX)
		printf("  ... and %zu more (--json lists them all)\n", n - ROWS_MAX);
	if (t->folded)
		printf("  (%llu requests beyond the first %d names are under \"(other)\")\n",
		       (unsigned long long)t->folded, TT_EXPLAIN_NAMES);
}

/* The buckets regrouped into at most TIME_ROWS rows. */
static void text_windows(const struct tt_explain *x)
{
	size_t k = (x->nwin + TIME_ROWS - 1) / TIME_ROWS, rows;
	int long_form = spans_days(x);
	char a[40];

	if (!x->nwin || !x->errors)
		return;
	k = k ? k : 1;
	rows = (x->nwin + k - 1) / k;
	printf("\nBy time (%lld min windows)\n  %-16s  %8s  %8s  %6s  %12s\n",
	       (long long)(x->win_width_ms * (int64_t)k / 60000), "from", "requests", "errors",
	       "rate", "upstream-5xx");
	for (size_t r = 0; r < rows; r++) {
		uint64_t req = 0, err = 0, u5 = 0;
		for (size_t i = r * k; i < (r + 1) * k && i < x->nwin; i++) {
			req += x->win[i].requests;
			err += x->win[i].errors;
			u5 += x->win[i].upstream_5xx;
		}
		hhmm(a, sizeof(a), x->win_origin_ms + (int64_t)(r * k) * x->win_width_ms,
		     long_form);
		printf("  %-16s  %8llu  %8llu  %5.1f%%  %12llu\n", a, (unsigned long long)req,
		       (unsigned long long)err, pct(err, req), (unsigned long long)u5);
	}
}

/* "37 x connection_refused (upstream_refused) from ADDR between 12:01 and
 * 12:04: <explanation>" and "fix: 1. ... 2. ...". */
static void text_story(const struct tt_explain *x, const struct tt_explain_top *t, size_t rank)
{
	const struct tt_fault_info *fi = tt_fault_info(t->fault);
	const char *ups = x->upstreams.e[t->upstream].name;
	int long_form = spans_days(x), col;
	char head[400], a[40], b[40];

	hhmm(a, sizeof(a), t->s->first_ms, long_form);
	hhmm(b, sizeof(b), t->s->last_ms, long_form);
	col = printf("%3zu. %llu x %s (%s) ", rank, (unsigned long long)t->s->count,
	             tt_explain_type(t->fault), tt_explain_token(t->fault));
	if (strcmp(ups, "(none)") == 0) {
		col += printf("with no upstream");
	} else {
		col += printf("from ");
		put_safe(ups, strlen(ups));
		col += (int)strlen(ups);
	}
	if (strcmp(a, b) == 0)
		snprintf(head, sizeof(head), " at %s:", a);
	else
		snprintf(head, sizeof(head), " between %s and %s:", a, b);
	col += printf("%s", head);
	if (!fi) {
		printf(" a fault token this build's catalogue does not know\n");
		return;
	}
	wrap(&col, 5, fi->explain, strlen(fi->explain));
	printf("\n     fix:");
	col = 9;
	steps(&col, 10, fi->operator_, 2);
	printf("\n");
}

static void text_report(const struct tt_explain *x, const char *file)
{
	struct tt_explain_top top[TT_EXPLAIN_TOP];
	size_t n = tt_explain_stories(x, top, TT_EXPLAIN_TOP);

	text_summary(x, file);
	text_faults(x);
	text_names("By upstream", &x->upstreams, 1);
	text_names("By route (the target's first path segment)", &x->routes, 0);
	text_windows(x);
	if (n) {
		printf("\nTop stories\n");
		for (size_t i = 0; i < n; i++)
			text_story(x, &top[i], i + 1);
	} else {
		printf("\nNo errors: no line has a fault.\n");
	}
	if (x->bad) {
		printf("\nBad lines: %llu (", (unsigned long long)x->bad);
		for (int b = 1, first = 1; b < TT_EXPLAIN_BAD__COUNT; b++) {
			if (!x->bad_by[b])
				continue;
			printf("%s%s %llu", first ? "" : ", ", tt_explain_bad_words(b),
			       (unsigned long long)x->bad_by[b]);
			first = 0;
		}
		printf("); the first is line %llu: %s", (unsigned long long)x->first_bad_line,
		       tt_explain_bad_words(x->first_bad));
		if (x->first_bad_off >= 0)
			printf(" (%s at offset %ld)", tt_json_strerror(x->first_bad_json),
			       x->first_bad_off);
		printf("\n");
	}
}

/* ---- one request --------------------------------------------------------- */

struct find {
	const char *id;
	size_t id_len;
	struct tt_explain_reader *r;
	struct tt_explain_rec rec;
	uint64_t lineno;
	char *line; /* a copy of the matching line, for --json */
	size_t line_len;
};

static int find_line(void *arg, const char *line, size_t len, int too_long)
{
	struct find *f = arg;

	f->lineno++;
	/* Most lines do not hold the id at all: skip them unparsed. */
	if (too_long || !memmem(line, len, f->id, f->id_len))
		return 0;
	if (tt_explain_read(f->r, line, len, &f->rec) != TT_EXPLAIN_OK || !f->rec.request_id.p ||
	    f->rec.request_id.len != f->id_len || memcmp(f->rec.request_id.p, f->id, f->id_len))
		return 0;
	f->line = malloc(len + 1);
	if (!f->line)
		abort();
	memcpy(f->line, line, len);
	f->line_len = len;
	return 1;
}

static void ms_text(char *buf, size_t cap, double ms)
{
	if (ms < 0)
		snprintf(buf, cap, "-");
	else
		snprintf(buf, cap, "%.3f ms", ms);
}

static void text_attempts(const struct tt_explain_rec *r)
{
	char c[32], h[32];

	printf("  attempts    %d\n", r->nattempts);
	for (int i = 0; i < r->nattempts; i++) {
		const struct tt_explain_attempt *a = &r->attempts[i];
		ms_text(c, sizeof(c), a->connect_ms);
		ms_text(h, sizeof(h), a->head_ms);
		printf("    %d. ", i + 1);
		put_str(&a->upstream, "(no upstream)");
		printf("  ");
		put_str(&a->fault, "ok");
		if (a->fault.p) {
			printf(" at ");
			put_str(&a->stage, "?");
		}
		printf("  connect %s, head %s, %s\n", c, h,
		       a->reused ? "reused connection" : "new connection");
	}
}

/* Every operator step, one per line. */
static void fix_lines(const char *column)
{
	size_t pos = 0, len;
	const char *item;
	int col;

	printf("  fix (operator):\n");
	for (int k = 1; tt_fault_lines(column, &pos, &item, &len); k++) {
		col = printf("    %d.", k);
		wrap(&col, 7, item, len);
		printf("\n");
	}
}

static void text_request(const struct tt_explain_rec *r, uint64_t lineno)
{
	const struct tt_fault_info *fi = tt_fault_info(r->fault_id);
	char c[32], h[32];
	int col;

	printf("request ");
	put_str(&r->request_id, "-");
	printf(" (line %llu)\n  time        ", (unsigned long long)lineno);
	put_str(&r->time, "-");
	printf("\n  request     ");
	put_str(&r->method, "-");
	printf(" ");
	put_str(&r->target, "-");
	printf("\n  downstream  ");
	put_str(&r->downstream, "-");
	printf("\n  status      %d", r->status);
	if (r->upstream_status)
		printf(" (the upstream sent %d)", r->upstream_status);
	ms_text(c, sizeof(c), r->duration_ms);
	printf("\n  duration    %s\n  upstream    ", c);
	ms_text(c, sizeof(c), r->connect_ms);
	ms_text(h, sizeof(h), r->head_ms);
	put_str(&r->upstream, "(none)");
	printf(" (connect %s, head %s)\n  fault       ", c, h);
	if (!r->fault.p) {
		printf("none\n");
	} else {
		put_str(&r->fault, "");
		printf(" (");
		put_str(&r->fault_type, "?");
		printf(") at ");
		put_str(&r->fault_stage, "?");
		printf("\n");
		if (fi) {
			printf("              %s\n              ", fi->title);
			col = 14;
			wrap(&col, 14, fi->explain, strlen(fi->explain));
			printf("\n");
		} else {
			printf("              (a token this build's catalogue does not know)\n");
		}
		printf("  details     ");
		put_str(&r->fault_details, "-");
		printf("\n");
	}
	text_attempts(r);
	if (fi)
		fix_lines(fi->operator_);
}

/* {"request_id", "found", "line", "request": the log line as written,
 * "story": the catalogue's words or null}. */
static void json_request(const struct find *f, int found)
{
	const struct tt_fault_info *fi = found ? tt_fault_info(f->rec.fault_id) : NULL;
	size_t pos = 0, len;
	const char *item;

	fputs("{\"request_id\":", stdout);
	tt_json_fput_str(stdout, f->id, f->id_len);
	if (!found) {
		fputs(",\"found\":false}\n", stdout);
		return;
	}
	/* The line passed the strict reader, so it is valid JSON as it is. */
	printf(",\"found\":true,\"line\":%llu,\"request\":", (unsigned long long)f->lineno);
	fwrite(f->line, 1, f->line_len, stdout);
	fputs(",\"story\":", stdout);
	if (!fi) {
		fputs("null}\n", stdout);
		return;
	}
	fputs("{\"token\":", stdout);
	tt_json_fput_str(stdout, fi->token, strlen(fi->token));
	fputs(",\"type\":", stdout);
	tt_json_fput_str(stdout, fi->type, strlen(fi->type));
	fputs(",\"title\":", stdout);
	tt_json_fput_str(stdout, fi->title, strlen(fi->title));
	fputs(",\"explanation\":", stdout);
	tt_json_fput_str(stdout, fi->explain, strlen(fi->explain));
	fputs(",\"operator_steps\":[", stdout);
	for (int k = 0; tt_fault_lines(fi->operator_, &pos, &item, &len); k++) {
		if (k)
			fputc(',', stdout);
		tt_json_fput_str(stdout, item, len);
	}
	fputs("]}}\n", stdout);
}

static int run_request(FILE *in, const struct args *a, const char *name)
{
	struct find f = {a->request_id, strlen(a->request_id), NULL, {0}, 0, NULL, 0};
	int found;

	f.r = malloc(sizeof(*f.r));
	if (!f.r)
		abort();
	tt_explain_reader_init(f.r);
	if (each_line(in, find_line, &f) < 0) {
		fprintf(stderr, "telltale explain: %s: %s\n", name, strerror(errno));
		free(f.line);
		free(f.r);
		return 1;
	}
	/* Reading stopped at the match, so f.rec still points into f.r. */
	found = f.line != NULL;
	if (a->json)
		json_request(&f, found);
	else if (found)
		text_request(&f.rec, f.lineno);
	if (!found)
		fprintf(stderr, "telltale explain: no line of %s has request_id '%s'\n", name,
		        a->request_id);
	free(f.line);
	free(f.r);
	return found ? 0 : 1;
}

/* ---- the whole log ------------------------------------------------------- */

static int feed_line(void *arg, const char *line, size_t len, int too_long)
{
	struct tt_explain *x = arg;
	if (too_long)
		tt_explain_too_long(x);
	else
		tt_explain_line(x, line, len);
	return 0;
}

static int run_report(FILE *in, const struct args *a, const char *name)
{
	struct tt_explain *x = tt_explain_new(a->since_ms, a->until_ms);

	if (!x) {
		fprintf(stderr, "telltale explain: out of memory\n");
		return 1;
	}
	if (each_line(in, feed_line, x) < 0) {
		fprintf(stderr, "telltale explain: %s: %s\n", name, strerror(errno));
		tt_explain_free(&x);
		return 1;
	}
	if (a->json)
		tt_explain_write_json(stdout, x, name);
	else
		text_report(x, name);
	tt_explain_free(&x);
	return 0;
}

/* ---- arguments ----------------------------------------------------------- */

/* "--opt VALUE" or "--opt=VALUE": 1 and *val, 0 not this option, -1 when
 * the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *opt, const char **val)
{
	size_t n = strlen(opt);
	if (strncmp(argv[*i], opt, n) != 0)
		return 0;
	if (argv[*i][n] == '=') {
		*val = argv[*i] + n + 1;
		return 1;
	}
	if (argv[*i][n] != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

static int parse_time_opt(const char *opt, const char *val, int64_t *ms)
{
	if (tt_explain_parse_time(val, strlen(val), ms))
		return 0;
	fprintf(stderr,
	        "telltale explain: %s '%s' is not an RFC 3339 time (2025-11-26T12:00:00Z)\n%s", opt,
	        val, usage);
	return -1;
}

/* Returns 0, 2 on a usage error, or -1 when help was printed. */
static int parse_args(int argc, char **argv, struct args *a)
{
	const char *since = NULL, *until = NULL;

	for (int i = 1; i < argc; i++) {
		int r;
		if (tt_cli_is_help(argv[i])) {
			fputs(usage, stdout);
			return -1;
		}
		if (strcmp(argv[i], "--json") == 0) {
			a->json = 1;
		} else if ((r = opt_value(argc, argv, &i, "--since", &since)) ||
		           (r = opt_value(argc, argv, &i, "--until", &until)) ||
		           (r = opt_value(argc, argv, &i, "--request-id", &a->request_id))) {
			if (r < 0) {
				fprintf(stderr, "telltale explain: %s needs a value\n%s", argv[i],
				        usage);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "telltale explain: unknown option '%s'\n%s", argv[i],
			        usage);
			return 2;
		} else if (a->file) {
			fprintf(stderr, "telltale explain: one log at a time ('%s' and '%s')\n%s",
			        a->file, argv[i], usage);
			return 2;
		} else {
			a->file = argv[i];
		}
	}
	if ((since && parse_time_opt("--since", since, &a->since_ms)) ||
	    (until && parse_time_opt("--until", until, &a->until_ms)))
		return 2;
	if (a->since_ms >= a->until_ms) {
		fprintf(stderr, "telltale explain: --since must be before --until\n%s", usage);
		return 2;
	}
	if (a->request_id && !a->request_id[0]) {
		fprintf(stderr, "telltale explain: --request-id needs a value\n%s", usage);
		return 2;
	}
	return 0;
}

int tt_cli_explain(int argc, char **argv)
{
	struct args a = {NULL, NULL, 0, INT64_MIN, INT64_MAX};
	int rc = parse_args(argc, argv, &a);
	int use_stdin = !a.file || strcmp(a.file, "-") == 0;
	const char *name = use_stdin ? "-" : a.file;
	FILE *in;

	if (rc)
		return rc < 0 ? 0 : rc;
	in = use_stdin ? stdin : fopen(a.file, "r");
	if (!in) {
		fprintf(stderr, "telltale explain: cannot open %s: %s\n", a.file, strerror(errno));
		return 1;
	}
	rc = a.request_id ? run_request(in, &a, name) : run_report(in, &a, name);
	if (!use_stdin)
		fclose(in);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("telltale explain: stdout");
		return 1;
	}
	return rc;
}
