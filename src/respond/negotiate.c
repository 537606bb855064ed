/*
 * Accept negotiation for error bodies: see negotiate.h. The field is read
 * by the grammar of RFC 9110 sections 12.5.1 (media-range, weight), 5.6.1
 * (lists, empty elements allowed), 5.6.2 (token), 5.6.4 (quoted-string) and
 * 5.6.6 (parameters). q is kept as thousandths, 0..1000.
 */
#include "respond/negotiate.h"

#include <string.h>
#include <strings.h>

/* The media types telltale can send, in tie-break order. */
enum cand { C_HTML, C_PROBLEM, C_JSON, C_TEXT, C__COUNT };

static const struct {
	const char *type, *subtype;
} cands[C__COUNT] = {
    {"text", "html"}, {"application", "problem+json"}, {"application", "json"}, {"text", "plain"}};

struct rank {
	int spec; /* 0 = no range matched, 1 = * / *, 2 = type / *, 3 = exact */
	int q;
};

struct rd {
	const char *s;
	size_t pos, len;
};

static int peek(const struct rd *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static void skip_ows(struct rd *r)
{
	while (peek(r) == ' ' || peek(r) == '\t')
		r->pos++;
}

static int is_tchar(int c)
{
	return c > 0 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	                 (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c));
}

/* A token at the cursor; 0 when there is none. */
static size_t token(struct rd *r, const char **t)
{
	*t = r->s + r->pos;
	size_t start = r->pos;
	while (is_tchar(peek(r)))
		r->pos++;
	return r->pos - start;
}

/* Section 5.6.4: DQUOTE *( qdtext / quoted-pair ) DQUOTE. */
static int quoted(struct rd *r)
{
	r->pos++;
	for (;;) {
		int c = peek(r);
		if (c < 0)
			return -1;
		r->pos++;
		if (c == '"')
			return 0;
		if (c == '\\') {
			c = peek(r);
			if (c < 0 || (c < 0x20 && c != '\t') || c == 0x7f)
				return -1;
			r->pos++;
		} else if ((c < 0x20 && c != '\t') || c == 0x7f) {
			return -1;
		}
	}
}

/* Section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ). */
static int qvalue(const char *v, size_t n)
{
	int q;
	if (n == 0 || (v[0] != '0' && v[0] != '1') || n > 5 || (n > 1 && v[1] != '.'))
		return -1;
	q = (v[0] - '0') * 1000;
	for (size_t i = 2, scale = 100; i < n; i++, scale /= 10) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		q += (v[i] - '0') * (int)scale;
	}
	return q > 1000 ? -1 : q;
}

/* The parameters after a media range; the first "q" is the weight and
 * ends the media type's own parameters (section 12.5.1). Returns q or -1. */
static int params(struct rd *r)
{
	int q = 1000, seen_q = 0;

	for (;;) {
		const char *name, *val;
		size_t nn, vn;

		skip_ows(r);
		if (peek(r) != ';')
			return q;
		r->pos++;
		skip_ows(r);
		if (peek(r) == ';' || peek(r) == ',' || peek(r) < 0)
			continue; /* "parameters = *( OWS ";" OWS [ parameter ] )" */
		nn = token(r, &name);
		if (nn == 0 || peek(r) != '=')
			return -1;
		r->pos++;
		if (peek(r) == '"') {
			if (quoted(r) < 0)
				return -1;
			val = NULL;
			vn = 0;
		} else {
			vn = token(r, &val);
			if (vn == 0)
				return -1;
		}
		if (!seen_q && nn == 1 && (name[0] == 'q' || name[0] == 'Q')) {
			seen_q = 1;
			q = val ? qvalue(val, vn) : -1;
			if (q < 0)
				return -1;
		}
	}
}

static int eq(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(a, lit, n) == 0;
}

static void apply(struct rank *rk, const char *t, size_t tn, const char *st, size_t sn, int q)
{
	for (int c = 0; c < C__COUNT; c++) {
		int spec;
		if (eq(t, tn, "*") && eq(st, sn, "*"))
			spec = 1;
		else if (!eq(t, tn, cands[c].type))
			continue;
		else if (eq(st, sn, "*"))
			spec = 2;
		else if (eq(st, sn, cands[c].subtype))
			spec = 3;
		else
			continue;
		/* The most specific range decides; equal ones, the best q. */
		if (spec > rk[c].spec || (spec == rk[c].spec && q > rk[c].q)) {
			rk[c].spec = spec;
			rk[c].q = q;
		}
	}
}

/* Skip to the next top-level comma after a bad element, over quoted
 * strings, so the rest of the field still counts. */
static void resync(struct rd *r)
{
	while (peek(r) >= 0 && peek(r) != ',') {
		if (peek(r) == '"') {
			if (quoted(r) < 0)
				r->pos = r->len;
		} else {
			r->pos++;
		}
	}
}

/* One element: media-range [ weight ]. */
static void element(struct rd *r, struct rank *rk)
{
	const char *t, *st;
	size_t tn, sn;
	int q;

	tn = token(r, &t);
	if (tn == 0 || peek(r) != '/')
		goto bad;
	r->pos++;
	sn = token(r, &st);
	if (sn == 0 || (eq(t, tn, "*") && !eq(st, sn, "*")))
		goto bad;
	q = params(r);
	skip_ows(r);
	if (q < 0 || (peek(r) >= 0 && peek(r) != ','))
		goto bad;
	apply(rk, t, tn, st, sn, q);
	return;
bad:
	resync(r);
}

static enum tt_body_kind kind_of(int c)
{
	return c == C_HTML ? TT_BODY_HTML : c == C_TEXT ? TT_BODY_TEXT : TT_BODY_JSON;
}

enum tt_body_kind tt_respond_negotiate(const char *accept, size_t len)
{
	struct rank rk[C__COUNT] = {{0, 0}};
	struct rd r = {accept, 0, accept ? len : 0};
	int best = -1;

	while (peek(&r) >= 0) {
		skip_ows(&r);
		if (peek(&r) == ',') { /* an empty list element (section 5.6.1) */
			r.pos++;
			continue;
		}
		if (peek(&r) >= 0)
			element(&r, rk);
	}
	for (int c = 0; c < C__COUNT; c++) {
		if (rk[c].spec == 0 || rk[c].q == 0)
			continue;
		/* Strictly better only: an equal rank keeps the earlier
		 * candidate, which is the html, json, text order. */
		if (best < 0 || rk[c].q > rk[best].q ||
		    (rk[c].q == rk[best].q && rk[c].spec > rk[best].spec))
			best = c;
	}
	if (best < 0)
		return TT_BODY_TEXT;
	/* Matched by * / * alone: text/plain is as welcome, unless excluded. */
	if (rk[best].spec == 1 && rk[C_TEXT].spec > 0 && rk[C_TEXT].q == rk[best].q)
		return TT_BODY_TEXT;
	return kind_of(best);
}

const char *tt_body_kind_name(enum tt_body_kind k)
{
	switch (k) {
	case TT_BODY_HTML: return "html";
	case TT_BODY_JSON: return "json";
	default: return "text";
	}
}
