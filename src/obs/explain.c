/*
 * The explain aggregation: see explain.h. Lines are parsed with the strict
 * JSON reader (obs/json.h) into a record, and the record is added to fixed
 * tables. Invariant: nothing here allocates after tt_explain_new, and every
 * index into a table is bounded before use, whatever the log holds.
 */
#include "obs/explain.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MINUTE_MS 60000

/* ---- reading one line ---------------------------------------------------- */

void tt_explain_reader_init(struct tt_explain_reader *r)
{
	memset(&r->doc, 0, sizeof(r->doc));
	r->doc.nodes = r->nodes;
	r->doc.max_nodes = TT_EXPLAIN_NODES;
	r->doc.scratch = r->scratch;
	r->doc.scratch_cap = sizeof(r->scratch);
	r->doc.max_depth = 8; /* a log line nests three deep: line, attempts, attempt */
	r->jerr = TT_JSON_OK;
}

/* A string or null (or absent) field. Returns 0 when it has another type. */
static int opt_str(const struct tt_json_doc *d, const struct tt_json_node *obj, const char *key,
                   struct tt_explain_str *out)
{
	const struct tt_json_node *n = tt_json_get(d, obj, key);
	out->p = NULL;
	out->len = 0;
	if (!n || n->type == TT_JSON_NULL)
		return 1;
	if (n->type != TT_JSON_STRING)
		return 0;
	out->p = n->str;
	out->len = n->len;
	return 1;
}

/* A number or null (or absent) field; null is -1. */
static int opt_num(const struct tt_json_doc *d, const struct tt_json_node *obj, const char *key,
                   double *out)
{
	const struct tt_json_node *n = tt_json_get(d, obj, key);
	*out = -1;
	if (!n || n->type == TT_JSON_NULL)
		return 1;
	if (n->type != TT_JSON_NUMBER)
		return 0;
	*out = n->num;
	return 1;
}

static int opt_bool(const struct tt_json_doc *d, const struct tt_json_node *obj, const char *key,
                    int *out)
{
	const struct tt_json_node *n = tt_json_get(d, obj, key);
	*out = n && n->type == TT_JSON_TRUE;
	return !n || n->type == TT_JSON_TRUE || n->type == TT_JSON_FALSE || n->type == TT_JSON_NULL;
}

static int read_attempts(const struct tt_json_doc *d, const struct tt_json_node *root,
                         struct tt_explain_rec *rec)
{
	const struct tt_json_node *arr = tt_json_get(d, root, "attempts"), *a = NULL;

	if (!arr || arr->type == TT_JSON_NULL)
		return 1;
	if (arr->type != TT_JSON_ARRAY)
		return 0;
	while ((a = tt_json_next(d, arr, a)) != NULL) {
		struct tt_explain_attempt tmp, *at = &tmp;
		if (rec->nattempts < TT_FAULT_MAX_ATTEMPTS)
			at = &rec->attempts[rec->nattempts++];
		if (a->type != TT_JSON_OBJECT || !opt_str(d, a, "upstream", &at->upstream) ||
		    !opt_str(d, a, "fault", &at->fault) || !opt_str(d, a, "stage", &at->stage) ||
		    !opt_num(d, a, "connect_ms", &at->connect_ms) ||
		    !opt_num(d, a, "head_ms", &at->head_ms) ||
		    !opt_bool(d, a, "reused", &at->reused))
			return 0;
	}
	return 1;
}

static int read_fields(const struct tt_json_doc *d, const struct tt_json_node *root,
                       struct tt_explain_rec *rec)
{
	double ups;
	if (!opt_str(d, root, "request_id", &rec->request_id) ||
	    !opt_str(d, root, "downstream", &rec->downstream) ||
	    !opt_str(d, root, "method", &rec->method) ||
	    !opt_str(d, root, "target", &rec->target) ||
	    !opt_num(d, root, "duration_ms", &rec->duration_ms) ||
	    !opt_str(d, root, "upstream", &rec->upstream) ||
	    !opt_num(d, root, "upstream_status", &ups) ||
	    !opt_num(d, root, "upstream_connect_ms", &rec->connect_ms) ||
	    !opt_num(d, root, "upstream_head_ms", &rec->head_ms) ||
	    !opt_str(d, root, "fault", &rec->fault) ||
	    !opt_str(d, root, "fault_type", &rec->fault_type) ||
	    !opt_str(d, root, "fault_stage", &rec->fault_stage) ||
	    !opt_str(d, root, "fault_details", &rec->fault_details))
		return 0;
	if (ups != -1 && (ups < 100 || ups > 999 || ups != (int)ups))
		return 0;
	rec->upstream_status = ups == -1 ? 0 : (int)ups;
	if (rec->fault.p)
		rec->fault_id = tt_fault_by_token(rec->fault.p, rec->fault.len);
	return read_attempts(d, root, rec);
}

enum tt_explain_bad tt_explain_read(struct tt_explain_reader *r, const char *line, size_t len,
                                    struct tt_explain_rec *rec)
{
	const struct tt_json_doc *d = &r->doc;
	const struct tt_json_node *root, *n;
	int64_t status;

	memset(rec, 0, sizeof(*rec));
	r->jerr = tt_json_parse(&r->doc, line, len);
	if (r->jerr != TT_JSON_OK)
		return TT_EXPLAIN_NOT_JSON;
	root = &d->nodes[0];
	if (root->type != TT_JSON_OBJECT)
		return TT_EXPLAIN_NOT_OBJECT;
	n = tt_json_get(d, root, "time");
	if (!n || n->type != TT_JSON_STRING ||
	    !tt_explain_parse_time(n->str, n->len, &rec->time_ms))
		return TT_EXPLAIN_BAD_TIME;
	rec->time.p = n->str;
	rec->time.len = n->len;
	if (!tt_json_int(tt_json_get(d, root, "status"), &status) || status < 0 || status > 999)
		return TT_EXPLAIN_BAD_STATUS;
	rec->status = (int)status;
	return read_fields(d, root, rec) ? TT_EXPLAIN_OK : TT_EXPLAIN_BAD_FIELD;
}

/* ---- time ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n decimal digits at s; -1 when one is not a digit. */
static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return days[m - 1] + (m == 2 && leap);
}

/* RFC 3339 section 5.6: date-time = full-date "T" full-time. */
int tt_explain_parse_time(const char *s, size_t len, int64_t *ms)
{
	int y, mo, d, h, mi, sec, frac = 0, off = 0;
	size_t i = 19;

	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return 0;
	y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
	    mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return 0;
	if (s[i] == '.') {
		int scale = 100, any = 0;
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, any = 1) {
			frac += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (!any)
			return 0;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return 0;
		off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
		i += 6;
	}
	if (i != len)
		return 0;
	*ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) - off * 60) * 1000 +
	      frac;
	return 1;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void tt_explain_fmt_time(char *buf, size_t cap, int64_t ms)
{
	int64_t s = floor_div(ms, 1000);
	time_t secs = (time_t)s;
	struct tm tm;
	char ts[40];

	/* Times come from tt_explain_parse_time (years 0000-9999); anything
	 * gmtime cannot take is written as "?" rather than trusted. */
	if (!gmtime_r(&secs, &tm) || !strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, "%s.%03dZ", ts, (int)(ms - s * 1000));
}

/* ---- the tables ---------------------------------------------------------- */

struct tt_explain *tt_explain_new(int64_t since_ms, int64_t until_ms)
{
	struct tt_explain *x = calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->since_ms = since_ms;
	x->until_ms = until_ms;
	x->first_ms = INT64_MAX;
	x->last_ms = INT64_MIN;
	x->first_bad_off = -1;
	x->win_origin_ms = INT64_MIN;
	x->win_width_ms = MINUTE_MS;
	snprintf(x->upstreams.e[TT_EXPLAIN_NAMES].name, TT_EXPLAIN_NAME_MAX, "(other)");
	snprintf(x->routes.e[TT_EXPLAIN_NAMES].name, TT_EXPLAIN_NAME_MAX, "(other)");
	tt_explain_reader_init(&x->reader);
	return x;
}

void tt_explain_free(struct tt_explain **x)
{
	free(*x);
	*x = NULL;
}

/* The bytes of s kept as a name: up to the first NUL, at most
 * TT_EXPLAIN_NAME_MAX - 1, never ending inside a UTF-8 sequence. */
static size_t name_len(const char *s, size_t len)
{
	const char *nul = memchr(s, 0, len);
	if (nul)
		len = (size_t)(nul - s);
	if (len < TT_EXPLAIN_NAME_MAX)
		return len;
	len = TT_EXPLAIN_NAME_MAX - 1;
	while (len && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* The index of name s in t, adding it while there is room; TT_EXPLAIN_NAMES
 * ("(other)") when there is none. */
static size_t name_index(struct tt_explain_names *t, const char *s, size_t len)
{
	const size_t nslots = sizeof(t->slots) / sizeof(t->slots[0]);
	uint32_t h = 2166136261u; /* FNV-1a */

	len = name_len(s, len);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	for (size_t k = h % nslots;; k = (k + 1) % nslots) {
		size_t at = t->slots[k];
		if (!at) {
			if (t->n == TT_EXPLAIN_NAMES)
				return TT_EXPLAIN_NAMES;
			memcpy(t->e[t->n].name, s, len);
			t->e[t->n].name[len] = 0;
			t->slots[k] = (uint16_t)(t->n + 1);
			return t->n++;
		}
		if (!memcmp(t->e[at - 1].name, s, len) && t->e[at - 1].name[len] == 0)
			return at - 1;
	}
}

/* The route key of a target: its first path segment ("/api" of
 * "/api/v1?x"), the path of an absolute-form target, "*" for OPTIONS *. */
static struct tt_explain_str route_of(struct tt_explain_str t)
{
	struct tt_explain_str r = {"(none)", 6};
	const char *p = t.p, *end, *sep;
	size_t n = 1;

	if (!t.p || !t.len)
		return r;
	end = t.p + t.len; /* not before: NULL + 0 is undefined */
	if (p[0] != '/') {
		sep = t.len > 3 ? memmem(p, t.len, "://", 3) : NULL;
		if (!sep)
			return t.len == 1 && p[0] == '*'
			           ? t
			           : (struct tt_explain_str){"(authority)", 11};
		p = memchr(sep + 3, '/', (size_t)(end - sep - 3));
		if (!p)
			return (struct tt_explain_str){"/", 1};
	}
	while (p + n < end && p[n] != '/' && p[n] != '?' && p[n] != '#')
		n++;
	return (struct tt_explain_str){p, n};
}

static void count(struct tt_explain_count *c, int err, int u5)
{
	c->requests++;
	c->errors += err;
	c->upstream_5xx += u5;
}

/* Halve the number of buckets in use: each pair merges, the width doubles. */
static void widen(struct tt_explain *x)
{
	for (size_t i = 0; i < TT_EXPLAIN_WINDOWS / 2; i++) {
		struct tt_explain_window *a = &x->win[2 * i], *b = &x->win[2 * i + 1];
		struct tt_explain_window m = *a;
		m.requests += b->requests;
		m.errors += b->errors;
		m.upstream_5xx += b->upstream_5xx;
		for (int f = 0; f < TT_FAULT__COUNT; f++)
			m.faults[f] += b->faults[f];
		x->win[i] = m;
	}
	memset(&x->win[TT_EXPLAIN_WINDOWS / 2], 0, sizeof(x->win) / 2);
	x->win_width_ms *= 2;
	x->nwin = (x->nwin + 1) / 2;
}

/* Make room for a request older than the first bucket: move the buckets
 * right by whole widths, widening first when they would not fit. */
static void shift(struct tt_explain *x, int64_t t)
{
	int64_t k;
	for (;;) {
		k = (x->win_origin_ms - t + x->win_width_ms - 1) / x->win_width_ms;
		if ((int64_t)x->nwin + k <= TT_EXPLAIN_WINDOWS)
			break;
		widen(x);
	}
	memmove(&x->win[k], &x->win[0], x->nwin * sizeof(x->win[0]));
	memset(&x->win[0], 0, (size_t)k * sizeof(x->win[0]));
	x->nwin += (size_t)k;
	x->win_origin_ms -= k * x->win_width_ms;
}

static void window_add(struct tt_explain *x, int64_t t, int fault, int u5)
{
	struct tt_explain_window *w;

	if (x->win_origin_ms == INT64_MIN)
		x->win_origin_ms = floor_div(t, MINUTE_MS) * MINUTE_MS;
	if (t < x->win_origin_ms)
		shift(x, t);
	while ((t - x->win_origin_ms) / x->win_width_ms >= TT_EXPLAIN_WINDOWS)
		widen(x);
	size_t i = (size_t)((t - x->win_origin_ms) / x->win_width_ms);
	w = &x->win[i];
	w->requests++;
	w->upstream_5xx += u5;
	if (fault >= 0) {
		w->errors++;
		w->faults[fault]++;
	}
	if (i + 1 > x->nwin)
		x->nwin = i + 1;
}

static void story_add(struct tt_explain_story *s, int64_t t)
{
	if (!s->count || t < s->first_ms)
		s->first_ms = t;
	if (!s->count || t > s->last_ms)
		s->last_ms = t;
	s->count++;
}

/* The upstream a line is about: its "upstream", else its last attempt's,
 * else "(none)" (the request never reached one). */
static struct tt_explain_str upstream_of(const struct tt_explain_rec *r)
{
	if (r->upstream.p)
		return r->upstream;
	if (r->nattempts && r->attempts[r->nattempts - 1].upstream.p)
		return r->attempts[r->nattempts - 1].upstream;
	return (struct tt_explain_str){"(none)", 6};
}

void tt_explain_add(struct tt_explain *x, const struct tt_explain_rec *r)
{
	int err = r->fault.p != NULL, u5 = r->upstream_status >= 500, failed = 0;
	int fault = err ? (int)r->fault_id : -1; /* TT_FAULT_NONE is "(unknown)" */
	struct tt_explain_str ups = upstream_of(r), route = route_of(r->target);
	size_t ui, ri;

	if (r->time_ms < x->since_ms || r->time_ms >= x->until_ms) {
		x->outside++;
		return;
	}
	x->requests++;
	x->errors += err;
	x->upstream_5xx += u5;
	x->status_5xx += r->status >= 500;
	if (r->time_ms < x->first_ms)
		x->first_ms = r->time_ms;
	if (r->time_ms > x->last_ms)
		x->last_ms = r->time_ms;
	ui = name_index(&x->upstreams, ups.p, ups.len);
	x->upstreams.folded += ui == TT_EXPLAIN_NAMES;
	count(&x->upstreams.e[ui].c, err, u5);
	ri = name_index(&x->routes, route.p, route.len);
	x->routes.folded += ri == TT_EXPLAIN_NAMES;
	count(&x->routes.e[ri].c, err, u5);
	for (int i = 0; i < r->nattempts; i++) {
		const struct tt_explain_attempt *a = &r->attempts[i];
		if (!a->fault.p)
			continue;
		failed = 1;
		size_t ai = a->upstream.p
		                ? name_index(&x->upstreams, a->upstream.p, a->upstream.len)
		                : name_index(&x->upstreams, "(none)", 6);
		x->upstreams.e[ai].c.failed_attempts++;
	}
	x->recovered += !err && failed;
	if (err) {
		x->by_fault[fault]++;
		story_add(&x->stories[fault][ui], r->time_ms);
	}
	window_add(x, r->time_ms, fault, u5);
}

static void bad_line(struct tt_explain *x, enum tt_explain_bad why, long off)
{
	x->bad++;
	x->bad_by[why]++;
	if (x->first_bad_line)
		return;
	x->first_bad_line = x->lines;
	x->first_bad = why;
	x->first_bad_off = off;
	x->first_bad_json = why == TT_EXPLAIN_NOT_JSON ? x->reader.jerr : TT_JSON_OK;
}

enum tt_explain_bad tt_explain_line(struct tt_explain *x, const char *line, size_t len)
{
	struct tt_explain_rec rec;
	enum tt_explain_bad why;
	size_t i = 0;

	x->lines++;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
		i++;
	if (i == len) {
		x->blank++;
		return TT_EXPLAIN_OK;
	}
	if (len > TT_EXPLAIN_LINE_MAX) {
		bad_line(x, TT_EXPLAIN_TOO_LONG, -1);
		return TT_EXPLAIN_TOO_LONG;
	}
	why = tt_explain_read(&x->reader, line, len, &rec);
	if (why != TT_EXPLAIN_OK) {
		bad_line(x, why, why == TT_EXPLAIN_NOT_JSON ? (long)x->reader.doc.err_off : -1);
		return why;
	}
	tt_explain_add(x, &rec);
	return TT_EXPLAIN_OK;
}

void tt_explain_too_long(struct tt_explain *x)
{
	x->lines++;
	bad_line(x, TT_EXPLAIN_TOO_LONG, -1);
}

/* ---- reports ------------------------------------------------------------- */

const char *tt_explain_token(int fault)
{
	const struct tt_fault_info *fi = tt_fault_info(fault);
	return fi ? fi->token : "(unknown)";
}

const char *tt_explain_type(int fault)
{
	const struct tt_fault_info *fi = tt_fault_info(fault);
	return fi ? fi->type : "(unknown)";
}

const char *tt_explain_bad_key(enum tt_explain_bad b)
{
	switch (b) {
#define X(id, key, words)                                                                          \
	case TT_EXPLAIN_##id: return key;
		TT_EXPLAIN_BAD_TABLE(X)
#undef X
	default: return "ok";
	}
}

const char *tt_explain_bad_words(enum tt_explain_bad b)
{
	switch (b) {
#define X(id, key, words)                                                                          \
	case TT_EXPLAIN_##id: return words;
		TT_EXPLAIN_BAD_TABLE(X)
#undef X
	default: return "ok";
	}
}

double tt_explain_rate(uint64_t errors, uint64_t requests)
{
	return requests ? (double)errors / (double)requests : 0;
}

/* 1 when story a goes before story b. */
static int story_before(const struct tt_explain_top *a, const struct tt_explain_top *b)
{
	if (a->s->count != b->s->count)
		return a->s->count > b->s->count;
	if (a->fault != b->fault)
		return a->fault < b->fault;
	return a->upstream < b->upstream;
}

size_t tt_explain_stories(const struct tt_explain *x, struct tt_explain_top *out, size_t max)
{
	size_t n = 0;

	for (int f = 0; f < TT_FAULT__COUNT; f++) {
		for (int u = 0; u <= TT_EXPLAIN_NAMES; u++) {
			struct tt_explain_top t = {f, u, &x->stories[f][u]};
			size_t at = n < max ? n : max;
			if (!t.s->count)
				continue;
			/* Insertion into the sorted top list; most cells are empty. */
			while (at > 0 && story_before(&t, &out[at - 1])) {
				if (at < max)
					out[at] = out[at - 1];
				at--;
			}
			if (at < max) {
				out[at] = t;
				if (n < max)
					n++;
			}
		}
	}
	return n;
}

static int name_before(const struct tt_explain_names *t, uint16_t a, uint16_t b)
{
	const struct tt_explain_count *ca = &t->e[a].c, *cb = &t->e[b].c;
	if (ca->errors != cb->errors)
		return ca->errors > cb->errors;
	if (ca->requests != cb->requests)
		return ca->requests > cb->requests;
	return a < b;
}

size_t tt_explain_order(const struct tt_explain_names *t, uint16_t *out)
{
	size_t n = 0;
	for (uint16_t i = 0; i <= TT_EXPLAIN_NAMES; i++) {
		const struct tt_explain_count *c = &t->e[i].c;
		if (i >= t->n && !(i == TT_EXPLAIN_NAMES && (c->requests || c->failed_attempts)))
			continue;
		size_t at = n++;
		while (at > 0 && name_before(t, i, out[at - 1])) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = i;
	}
	return n;
}

size_t tt_explain_faults(const struct tt_explain *x, int *out)
{
	size_t n = 0;
	for (int f = 0; f < TT_FAULT__COUNT; f++) {
		if (!x->by_fault[f])
			continue;
		size_t at = n++;
		while (at > 0 && x->by_fault[f] > x->by_fault[out[at - 1]]) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = f;
	}
	return n;
}

/* ---- the JSON report ----------------------------------------------------- */

static void jstr(FILE *o, const char *key, const char *s)
{
	fprintf(o, "\"%s\":", key);
	if (s)
		tt_json_fput_str(o, s, strlen(s));
	else
		fputs("null", o);
}

static void jtime(FILE *o, const char *key, int64_t ms, int null)
{
	char t[48] = "";
	if (!null)
		tt_explain_fmt_time(t, sizeof(t), ms);
	jstr(o, key, null ? NULL : t);
}

static void json_totals(FILE *o, const struct tt_explain *x)
{
	int none = x->first_ms > x->last_ms;
	fprintf(o,
	        "\"totals\":{\"lines\":%llu,\"blank_lines\":%llu,\"bad_lines\":%llu,"
	        "\"outside_window\":%llu,\"requests\":%llu,\"errors\":%llu,\"error_rate\":%.6f,"
	        "\"status_5xx\":%llu,\"upstream_5xx\":%llu,\"recovered\":%llu,",
	        (unsigned long long)x->lines, (unsigned long long)x->blank,
	        (unsigned long long)x->bad, (unsigned long long)x->outside,
	        (unsigned long long)x->requests, (unsigned long long)x->errors,
	        tt_explain_rate(x->errors, x->requests), (unsigned long long)x->status_5xx,
	        (unsigned long long)x->upstream_5xx, (unsigned long long)x->recovered);
	jtime(o, "first_time", x->first_ms, none);
	fputc(',', o);
	jtime(o, "last_time", x->last_ms, none);
	fputs("},\"bad\":{", o);
	for (int b = 1; b < TT_EXPLAIN_BAD__COUNT; b++)
		fprintf(o, "\"%s\":%llu,", tt_explain_bad_key((enum tt_explain_bad)b),
		        (unsigned long long)x->bad_by[b]);
	fputs("\"first\":", o);
	if (!x->first_bad_line) {
		fputs("null}", o);
		return;
	}
	fprintf(o, "{\"line\":%llu,\"reason\":\"%s\",\"offset\":",
	        (unsigned long long)x->first_bad_line, tt_explain_bad_key(x->first_bad));
	if (x->first_bad_off >= 0)
		fprintf(o, "%ld,\"detail\":\"%s\"}}", x->first_bad_off,
		        tt_json_strerror(x->first_bad_json));
	else
		fputs("null,\"detail\":null}}", o);
}

static void json_faults(FILE *o, const struct tt_explain *x)
{
	int order[TT_FAULT__COUNT];
	size_t n = tt_explain_faults(x, order);

	fputs(",\"faults\":[", o);
	for (size_t i = 0; i < n; i++) {
		const struct tt_fault_info *fi = tt_fault_info(order[i]);
		fputs(i ? ",{" : "{", o);
		jstr(o, "token", tt_explain_token(order[i]));
		fputc(',', o);
		jstr(o, "type", fi ? fi->type : NULL);
		fprintf(o, ",\"status\":");
		if (fi && fi->status)
			fprintf(o, "%d", fi->status);
		else
			fputs("null", o);
		fputc(',', o);
		jstr(o, "title", fi ? fi->title : NULL);
		fprintf(o, ",\"count\":%llu,\"share\":%.6f}",
		        (unsigned long long)x->by_fault[order[i]],
		        tt_explain_rate(x->by_fault[order[i]], x->errors));
	}
	fputc(']', o);
}

/* Upstreams (attempts set: with failed_attempts) or routes. */
static void json_names(FILE *o, const char *key, const char *field,
                       const struct tt_explain_names *t, int attempts)
{
	uint16_t order[TT_EXPLAIN_NAMES + 1];
	size_t n = tt_explain_order(t, order);

	fprintf(o, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++) {
		const struct tt_explain_count *c = &t->e[order[i]].c;
		fputs(i ? ",{" : "{", o);
		jstr(o, field, t->e[order[i]].name);
		fprintf(
		    o,
		    ",\"requests\":%llu,\"errors\":%llu,\"error_rate\":%.6f,\"upstream_5xx\":%llu",
		    (unsigned long long)c->requests, (unsigned long long)c->errors,
		    tt_explain_rate(c->errors, c->requests), (unsigned long long)c->upstream_5xx);
		if (attempts)
			fprintf(o, ",\"failed_attempts\":%llu",
			        (unsigned long long)c->failed_attempts);
		fputc('}', o);
	}
	fprintf(o, "],\"%s_folded\":%llu", key, (unsigned long long)t->folded);
}

static void json_windows(FILE *o, const struct tt_explain *x)
{
	int first = 1;

	fprintf(o, ",\"windows\":{\"width_s\":%lld,\"buckets\":[",
	        (long long)(x->win_width_ms / 1000));
	for (size_t i = 0; i < x->nwin; i++) {
		const struct tt_explain_window *w = &x->win[i];
		int ff = 1;
		if (!w->requests)
			continue;
		fputs(first ? "{" : ",{", o);
		first = 0;
		jtime(o, "start", x->win_origin_ms + (int64_t)i * x->win_width_ms, 0);
		fprintf(o,
		        ",\"requests\":%llu,\"errors\":%llu,\"error_rate\":%.6f,"
		        "\"upstream_5xx\":%llu,\"faults\":{",
		        (unsigned long long)w->requests, (unsigned long long)w->errors,
		        tt_explain_rate(w->errors, w->requests),
		        (unsigned long long)w->upstream_5xx);
		for (int f = 0; f < TT_FAULT__COUNT; f++) {
			if (!w->faults[f])
				continue;
			fprintf(o, "%s\"%s\":%u", ff ? "" : ",", tt_explain_token(f), w->faults[f]);
			ff = 0;
		}
		fputs("}}", o);
	}
	fputs("]}", o);
}

static void json_steps(FILE *o, const char *column)
{
	size_t pos = 0, len;
	const char *item;
	int first = 1;

	fputc('[', o);
	while (column && tt_fault_lines(column, &pos, &item, &len)) {
		if (!first)
			fputc(',', o);
		first = 0;
		tt_json_fput_str(o, item, len);
	}
	fputc(']', o);
}

static void json_stories(FILE *o, const struct tt_explain *x)
{
	struct tt_explain_top top[TT_EXPLAIN_TOP];
	size_t n = tt_explain_stories(x, top, TT_EXPLAIN_TOP);

	fputs(",\"stories\":[", o);
	for (size_t i = 0; i < n; i++) {
		const struct tt_fault_info *fi = tt_fault_info(top[i].fault);
		fprintf(o, "%s{\"count\":%llu,", i ? "," : "", (unsigned long long)top[i].s->count);
		jstr(o, "token", tt_explain_token(top[i].fault));
		fputc(',', o);
		jstr(o, "type", fi ? fi->type : NULL);
		fputc(',', o);
		jstr(o, "upstream", x->upstreams.e[top[i].upstream].name);
		fputc(',', o);
		jtime(o, "first", top[i].s->first_ms, 0);
		fputc(',', o);
		jtime(o, "last", top[i].s->last_ms, 0);
		fputc(',', o);
		jstr(o, "title", fi ? fi->title : NULL);
		fputc(',', o);
		jstr(o, "explanation", fi ? fi->explain : NULL);
		fputs(",\"operator_steps\":", o);
		json_steps(o, fi ? fi->operator_ : NULL);
		fputc('}', o);
	}
	fputc(']', o);
}

void tt_explain_write_json(FILE *o, const struct tt_explain *x, const char *file)
{
	fputc('{', o);
	jstr(o, "file", file);
	fputc(',', o);
	jtime(o, "since", x->since_ms, x->since_ms == INT64_MIN);
	fputc(',', o);
	jtime(o, "until", x->until_ms, x->until_ms == INT64_MAX);
	fputc(',', o);
	json_totals(o, x);
	json_faults(o, x);
	json_names(o, "upstreams", "upstream", &x->upstreams, 1);
	json_names(o, "routes", "route", &x->routes, 0);
	json_windows(o, x);
	json_stories(o, x);
	fputs("}\n", o);
}
