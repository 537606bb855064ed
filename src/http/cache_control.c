/*
 * Cache-Control, HTTP-date, Age and Expires (see cache_control.h for the
 * rules on invalid and repeated directives).
 *
 * The list scanner walks one field line left to right and never reads
 * outside value[0..len): each element is token [ "=" ( token /
 * quoted-string ) ] followed by OWS and a comma or the end; a malformed
 * element is skipped up to the next comma outside a quoted-string.
 */
#include "http/cache_control.h"

#include <string.h>
#include <strings.h>

#define IS_TCHAR(c)  tt_h1_is(c, TT_H1_C_TCHAR)
#define IS_DIGIT(c)  tt_h1_is(c, TT_H1_C_DIGIT)
#define IS_WS(c)     tt_h1_is(c, TT_H1_C_WS)
#define IS_QDTEXT(c) tt_h1_is(c, TT_H1_C_QDTEXT)
/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ), RFC 9110 5.6.4 */
#define IS_QPAIR(c) (tt_h1_is(c, TT_H1_C_VCHAR) || IS_WS(c))

/* One parsed element; the argument slice excludes the quotes. */
struct elem {
	const char *name;
	size_t name_len;
	const char *arg; /* NULL when there is no "=" */
	size_t arg_len;
	int quoted;  /* argument was a quoted-string */
	int escaped; /* ... containing a quoted-pair */
};

static int lower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

void tt_cc_init(struct tt_cc *cc)
{
	memset(cc, 0, sizeof(*cc));
}

int tt_cc_delta_seconds(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (!IS_DIGIT(s[i]))
			return -1;
		if (v <= TT_CC_DELTA_MAX)
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v > TT_CC_DELTA_MAX ? TT_CC_DELTA_MAX : (uint32_t)v;
	return 0;
}

/* Scan a quoted-string starting at v[*i] == '"'. Returns 0 with *i past
 * the closing quote, or -1 when it is unterminated or holds a bad byte. */
static int quoted(const char *v, size_t len, size_t *i, struct elem *e)
{
	size_t p = *i + 1;

	e->arg = v + p;
	e->quoted = 1;
	while (p < len) {
		unsigned char c = (unsigned char)v[p];
		if (c == '"') {
			e->arg_len = (size_t)(v + p - e->arg);
			*i = p + 1;
			return 0;
		}
		if (c == '\\') {
			if (p + 1 >= len || !IS_QPAIR(v[p + 1]))
				return -1;
			e->escaped = 1;
			p += 2;
			continue;
		}
		if (!IS_QDTEXT(c))
			return -1;
		p++;
	}
	return -1;
}

/* Parse one element at v[*i]; *i ends at the comma or the end. 0 or -1. */
static int element(const char *v, size_t len, size_t *i, struct elem *e)
{
	size_t p = *i;

	memset(e, 0, sizeof(*e));
	e->name = v + p;
	while (p < len && IS_TCHAR(v[p]))
		p++;
	e->name_len = (size_t)(v + p - e->name);
	if (e->name_len == 0)
		return -1;
	if (p < len && v[p] == '=') {
		p++;
		if (p < len && v[p] == '"') {
			if (quoted(v, len, &p, e) != 0)
				return -1;
		} else {
			e->arg = v + p;
			while (p < len && IS_TCHAR(v[p]))
				p++;
			e->arg_len = (size_t)(v + p - e->arg);
			if (e->arg_len == 0)
				return -1;
		}
	}
	while (p < len && IS_WS(v[p]))
		p++;
	*i = p;
	return p == len || v[p] == ',' ? 0 : -1;
}

/* Skip a malformed element: to the next comma outside a quoted-string. */
static void skip_bad(const char *v, size_t len, size_t *i)
{
	size_t p = *i;
	int inq = 0;

	for (; p < len; p++) {
		if (inq && v[p] == '\\')
			p++;
		else if (v[p] == '"')
			inq = !inq;
		else if (!inq && v[p] == ',')
			break;
	}
	*i = p < len ? p : len;
}

/* A delta-seconds argument; quoted digits are accepted (RFC 9111 5.2). */
static int delta_arg(const struct elem *e, uint32_t *out)
{
	if (!e->arg || e->escaped)
		return -1;
	return tt_cc_delta_seconds(e->arg, e->arg_len, out);
}

/* Record a delta directive: the smallest value wins (most restrictive). */
static void set_delta(struct tt_cc *cc, uint32_t flag, uint32_t *slot, uint32_t v)
{
	if (!(cc->flags & flag) || v < *slot)
		*slot = v;
	cc->flags |= flag;
}

/* Directives that only restrict take effect whatever their argument. */
static const struct {
	const char *name;
	uint32_t flag;
} restrictive[] = {
    {"no-store", TT_CC_NO_STORE},
    {"no-cache", TT_CC_NO_CACHE},
    {"private", TT_CC_PRIVATE},
    {"must-revalidate", TT_CC_MUST_REVALIDATE},
    {"proxy-revalidate", TT_CC_PROXY_REVALIDATE},
    {"no-transform", TT_CC_NO_TRANSFORM},
    {"only-if-cached", TT_CC_ONLY_IF_CACHED},
    {"must-understand", TT_CC_MUST_UNDERSTAND},
};

/* Directives with a delta-seconds argument. */
static int delta_directive(struct tt_cc *cc, const struct elem *e)
{
	uint32_t v = 0;
	int ok = delta_arg(e, &v) == 0;
	const char *n = e->name;
	size_t l = e->name_len;

	if (tt_h1_name_eq(n, l, "max-age") || tt_h1_name_eq(n, l, "s-maxage")) {
		/* RFC 9111 4.2.1: invalid freshness information means stale. */
		if (!ok)
			cc->flags |= TT_CC_INVALID;
		if (n[0] == 'm' || n[0] == 'M')
			set_delta(cc, TT_CC_MAX_AGE, &cc->max_age_s, ok ? v : 0);
		else
			set_delta(cc, TT_CC_S_MAXAGE, &cc->s_maxage_s, ok ? v : 0);
		return 1;
	}
	if (tt_h1_name_eq(n, l, "max-stale") && !e->arg) {
		set_delta(cc, TT_CC_MAX_STALE, &cc->max_stale_s, TT_CC_DELTA_MAX);
		return 1;
	}
	uint32_t flag = 0, *slot = NULL;
	if (tt_h1_name_eq(n, l, "stale-if-error"))
		flag = TT_CC_STALE_IF_ERROR, slot = &cc->stale_if_error_s;
	else if (tt_h1_name_eq(n, l, "stale-while-revalidate"))
		flag = TT_CC_STALE_WHILE_REVALIDATE, slot = &cc->stale_while_revalidate_s;
	else if (tt_h1_name_eq(n, l, "max-stale"))
		flag = TT_CC_MAX_STALE, slot = &cc->max_stale_s;
	else if (tt_h1_name_eq(n, l, "min-fresh"))
		flag = TT_CC_MIN_FRESH, slot = &cc->min_fresh_s;
	else
		return 0;
	/* A permission with an unreadable argument grants nothing. */
	if (ok)
		set_delta(cc, flag, slot, v);
	else
		cc->flags |= TT_CC_INVALID;
	return 1;
}

static void apply(struct tt_cc *cc, const struct elem *e)
{
	size_t k;

	for (k = 0; k < sizeof(restrictive) / sizeof(restrictive[0]); k++) {
		if (!tt_h1_name_eq(e->name, e->name_len, restrictive[k].name))
			continue;
		cc->flags |= restrictive[k].flag;
		/* Only private and no-cache may carry (field-name) arguments. */
		if (e->arg && restrictive[k].flag != TT_CC_PRIVATE &&
		    restrictive[k].flag != TT_CC_NO_CACHE)
			cc->flags |= TT_CC_INVALID;
		return;
	}
	if (delta_directive(cc, e))
		return;
	if (tt_h1_name_eq(e->name, e->name_len, "public") ||
	    tt_h1_name_eq(e->name, e->name_len, "immutable")) {
		if (e->arg)
			cc->flags |= TT_CC_INVALID;
		else
			cc->flags |=
			    e->name[0] == 'p' || e->name[0] == 'P' ? TT_CC_PUBLIC : TT_CC_IMMUTABLE;
	}
	/* Anything else is an extension we do not know: RFC 9111 5.2.3. */
}

void tt_cc_parse(struct tt_cc *cc, const char *value, size_t len)
{
	struct elem e;
	size_t i = 0;

	for (;;) {
		while (i < len && (IS_WS(value[i]) || value[i] == ','))
			i++;
		if (i >= len)
			return;
		if (element(value, len, &i, &e) == 0) {
			apply(cc, &e);
		} else {
			cc->flags |= TT_CC_INVALID;
			skip_bad(value, len, &i);
		}
	}
}

void tt_cc_from_head(struct tt_cc *cc, const struct tt_h1_head *h)
{
	size_t i;

	tt_cc_init(cc);
	for (i = 0; i < h->nfields; i++) {
		const struct tt_h1_field *f = &h->fields[i];
		if (tt_h1_name_eq(f->name, f->name_len, "cache-control"))
			tt_cc_parse(cc, f->value, f->value_len);
	}
}

int tt_cc_pragma_no_cache(const struct tt_h1_head *req)
{
	const struct tt_h1_field *f;
	const char *e;
	size_t i, pos, n;

	if (tt_h1_find(req, "cache-control"))
		return 0;
	for (i = 0; i < req->nfields; i++) {
		f = &req->fields[i];
		if (!tt_h1_name_eq(f->name, f->name_len, "pragma"))
			continue;
		pos = 0;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n))
			if (tt_h1_name_eq(e, n, "no-cache"))
				return 1;
	}
	return 0;
}

/* ---- HTTP-date, RFC 9110 section 5.6.7 ---- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char days_short[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const days_long[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};

/* A cursor over the date being parsed. */
struct cur {
	const char *s;
	size_t len, p;
};

static int lit(struct cur *c, const char *l, size_t n)
{
	if (c->len - c->p < n || memcmp(c->s + c->p, l, n) != 0)
		return 0;
	c->p += n;
	return 1;
}

static int digits(struct cur *c, size_t n, int *out)
{
	int v = 0;
	size_t i;

	if (c->len - c->p < n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!IS_DIGIT(c->s[c->p + i]))
			return 0;
		v = v * 10 + (c->s[c->p + i] - '0');
	}
	c->p += n;
	*out = v;
	return 1;
}

static int month(struct cur *c, int *m)
{
	int i;

	for (i = 0; i < 12; i++)
		if (lit(c, months[i], 3)) {
			*m = i + 1;
			return 1;
		}
	return 0;
}

static int day_short(struct cur *c)
{
	int i;

	for (i = 0; i < 7; i++)
		if (lit(c, days_short[i], 3))
			return 1;
	return 0;
}

static int day_long(struct cur *c)
{
	int i;

	for (i = 0; i < 7; i++)
		if (lit(c, days_long[i], strlen(days_long[i])))
			return 1;
	return 0;
}

/* time-of-day = hour ":" minute ":" second */
static int hms(struct cur *c, int *h, int *mi, int *se)
{
	return digits(c, 2, h) && lit(c, ":", 1) && digits(c, 2, mi) && lit(c, ":", 1) &&
	       digits(c, 2, se) && *h <= 23 && *mi <= 59 && *se <= 60;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int mdays(int y, int m)
{
	static const int n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : n[m - 1];
}

/* Year of a time, for the rfc850 two-digit rule. */
static int64_t year_of(int64_t t)
{
	int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	return yoe + era * 400 + (mp >= 10);
}

/* Parse the three forms; fills y, m, d, h, mi, se. 0 or -1. */
static int date_fields(struct cur *c, int64_t now_s, int *v)
{
	size_t start = c->p;

	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (day_short(c) && lit(c, ", ", 2))
		return digits(c, 2, &v[2]) && lit(c, " ", 1) && month(c, &v[1]) && lit(c, " ", 1) &&
		               digits(c, 4, &v[0]) && lit(c, " ", 1) &&
		               hms(c, &v[3], &v[4], &v[5]) && lit(c, " GMT", 4)
		           ? 0
		           : -1;
	c->p = start;
	/* asctime-date: Sun Nov  6 08:49:37 1994 */
	if (day_short(c) && lit(c, " ", 1)) {
		if (!month(c, &v[1]) || !lit(c, " ", 1))
			return -1;
		if (!lit(c, " ", 1) ? !digits(c, 2, &v[2]) : !digits(c, 1, &v[2]))
			return -1;
		return lit(c, " ", 1) && hms(c, &v[3], &v[4], &v[5]) && lit(c, " ", 1) &&
		               digits(c, 4, &v[0])
		           ? 0
		           : -1;
	}
	c->p = start;
	/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
	if (!(day_long(c) && lit(c, ", ", 2) && digits(c, 2, &v[2]) && lit(c, "-", 1) &&
	      month(c, &v[1]) && lit(c, "-", 1) && digits(c, 2, &v[0]) && lit(c, " ", 1) &&
	      hms(c, &v[3], &v[4], &v[5]) && lit(c, " GMT", 4)))
		return -1;
	/* The year within 50 years of now, never more than 50 ahead. */
	int64_t ny = year_of(now_s), y = ny - ny % 100 + v[0];
	if (y > ny + 50)
		y -= 100;
	else if (y <= ny - 50)
		y += 100;
	v[0] = (int)y;
	return 0;
}

int tt_http_date_parse(const char *s, size_t len, int64_t now_s, int64_t *out)
{
	struct cur c = {s, len, 0};
	int v[6]; /* year, month, day, hour, minute, second */

	if (date_fields(&c, now_s, v) != 0 || c.p != len)
		return -1;
	if (v[2] < 1 || v[2] > mdays(v[0], v[1]))
		return -1;
	*out = days_from_civil(v[0], v[1], v[2]) * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
	return 0;
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

size_t tt_http_date_format(int64_t t, char *out)
{
	int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
	int64_t y = year_of(t), doy_start = days_from_civil(y, 1, 1);
	int m = 1, d;

	if (y < 0 || y > 9999)
		return 0;
	d = (int)(days - doy_start) + 1;
	while (d > mdays((int)y, m))
		d -= mdays((int)y, m++);
	memcpy(out, days_short[((days % 7) + 11) % 7], 3); /* 1970-01-01 was a Thursday */
	memcpy(out + 3, ", ", 2);
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, months[m - 1], 3);
	out[11] = ' ';
	put2(out + 12, (int)(y / 100));
	put2(out + 14, (int)(y % 100));
	out[16] = ' ';
	put2(out + 17, (int)(secs / 3600));
	out[19] = ':';
	put2(out + 20, (int)(secs / 60 % 60));
	out[22] = ':';
	put2(out + 23, (int)(secs % 60));
	memcpy(out + 25, " GMT", 5);
	return TT_HTTP_DATE_LEN;
}

/* ---- Freshness, RFC 9111 section 4.2 ---- */

static uint32_t clamp(int64_t v)
{
	if (v <= 0)
		return 0;
	return v > (int64_t)TT_CC_DELTA_MAX ? TT_CC_DELTA_MAX : (uint32_t)v;
}

/* The one date field named `name`: 0 with *t set, -1 when absent or
 * invalid, -2 when there are several lines. */
static int date_field(const struct tt_h1_head *h, const char *name, int64_t now_s, int64_t *t)
{
	const struct tt_h1_field *f = NULL;
	size_t i;

	for (i = 0; i < h->nfields; i++) {
		if (!tt_h1_name_eq(h->fields[i].name, h->fields[i].name_len, name))
			continue;
		if (f)
			return -2;
		f = &h->fields[i];
	}
	if (!f)
		return -1;
	return tt_http_date_parse(f->value, f->value_len, now_s, t);
}

static uint32_t age_value(const struct tt_h1_head *resp)
{
	uint32_t v;
	size_t i;

	for (i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		if (tt_h1_name_eq(f->name, f->name_len, "age") &&
		    tt_cc_delta_seconds(f->value, f->value_len, &v) == 0)
			return v;
	}
	return 0;
}

int tt_cc_freshness(const struct tt_h1_head *resp, const struct tt_cc *cc, int64_t response_time_s,
                    struct tt_cc_fresh *out)
{
	int64_t date = response_time_s, expires;
	uint32_t apparent, age;
	int rc;

	/* RFC 9110 6.6.1: a missing or invalid Date is the receive time. */
	if (date_field(resp, "date", response_time_s, &date) != 0)
		date = response_time_s;
	apparent = clamp(response_time_s - date);
	age = age_value(resp);
	out->initial_age_s = apparent > age ? apparent : age;
	out->is_explicit = 1;
	if (cc->flags & TT_CC_S_MAXAGE) {
		out->lifetime_s = cc->s_maxage_s;
	} else if (cc->flags & TT_CC_MAX_AGE) {
		out->lifetime_s = cc->max_age_s;
	} else {
		rc = date_field(resp, "expires", response_time_s, &expires);
		if (rc == -1 && !tt_h1_find(resp, "expires")) {
			out->lifetime_s = 0;
			out->is_explicit = 0;
		} else {
			/* RFC 9111 5.3: an invalid Expires is in the past. */
			out->lifetime_s = rc == 0 ? clamp(expires - date) : 0;
		}
	}
	return out->is_explicit;
}

/* ---- Vary, RFC 9111 section 4.1 ---- */

int tt_cc_vary_valid(const struct tt_h1_head *resp)
{
	const char *e;
	size_t i, k, pos, n;

	for (i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		if (!tt_h1_name_eq(f->name, f->name_len, "vary"))
			continue;
		pos = 0;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n))
			for (k = 0; k < n; k++)
				if (!IS_TCHAR(e[k]) || e[k] == '*')
					return 0;
	}
	return 1;
}

/* Copy n bytes to out + at unless out is NULL; returns at + n. */
static size_t emit(char *out, size_t at, const char *s, size_t n)
{
	if (out && n)
		memcpy(out + at, s, n);
	return at + n;
}

/* The request's value of one field: its lines joined with ", ". */
static size_t joined(char *out, size_t at, const struct tt_h1_head *req, const char *name, size_t n,
                     size_t *seen)
{
	size_t j;

	for (j = 0, *seen = 0; j < req->nfields; j++) {
		const struct tt_h1_field *f = &req->fields[j];
		if (f->name_len != n || strncasecmp(f->name, name, n) != 0)
			continue;
		if ((*seen)++)
			at = emit(out, at, ", ", 2);
		at = emit(out, at, f->value, f->value_len);
	}
	return at;
}

size_t tt_cc_vary_record(char *out, const struct tt_h1_head *resp, const struct tt_h1_head *req)
{
	const char *e;
	size_t i, k, pos, n, seen, at = 0, flag_at;

	for (i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		if (!tt_h1_name_eq(f->name, f->name_len, "vary"))
			continue;
		pos = 0;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n)) {
			for (k = 0; out && k < n; k++)
				out[at + k] = (char)lower_ascii((unsigned char)e[k]);
			at += n;
			at = emit(out, at, ":0", 2);
			flag_at = at - 1;
			at = joined(out, at, req, e, n, &seen);
			if (seen && out)
				out[flag_at] = '1';
			at = emit(out, at, "\n", 1);
		}
	}
	return at;
}

/* Does req's value of name[0..n) equal v[0..vl), lines joined by ", "? */
static int same_value(const struct tt_h1_head *req, const char *name, size_t n, const char *v,
                      size_t vl, size_t *seen)
{
	size_t i, at = 0;

	for (i = 0, *seen = 0; i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		if (f->name_len != n || strncasecmp(f->name, name, n) != 0)
			continue;
		if ((*seen)++) {
			if (vl - at < 2 || memcmp(v + at, ", ", 2) != 0)
				return 0;
			at += 2;
		}
		if (vl - at < f->value_len || memcmp(v + at, f->value, f->value_len) != 0)
			return 0;
		at += f->value_len;
	}
	return at == vl;
}

int tt_cc_vary_match(const char *rec, size_t len, const struct tt_h1_head *req)
{
	const char *r = rec, *end = rec + len;
	size_t seen;

	while (r < end) {
		const char *colon = memchr(r, ':', (size_t)(end - r));
		const char *nl = colon ? memchr(colon, '\n', (size_t)(end - colon)) : NULL;
		if (!nl || nl - colon < 2)
			return 0;
		if (!same_value(req, r, (size_t)(colon - r), colon + 2, (size_t)(nl - colon - 2),
		                &seen) ||
		    (colon[1] == '1') != (seen > 0))
			return 0;
		r = nl + 1;
	}
	return 1;
}
