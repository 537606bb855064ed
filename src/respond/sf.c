/*
 * RFC 8941 Structured Field Values: see sf.h. The parser follows the
 * algorithms of section 4.2 step by step; comments name the step's section.
 * It never reads past in + len and never writes past a caller's array.
 */
#include "respond/sf.h"

#include <stdio.h>
#include <string.h>

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_lcalpha(int c)
{
	return c >= 'a' && c <= 'z';
}

/* tchar, RFC 9110 section 5.6.2. */
static int is_tchar(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The characters after the first in an sf-token (RFC 8941 section 3.3.4). */
static int is_token_char(int c)
{
	return is_tchar(c) || c == ':' || c == '/';
}

static int is_key_char(int c)
{
	return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

int tt_sf_is_token(const char *s, size_t n)
{
	if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '*'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_token_char((unsigned char)s[i]))
			return 0;
	return 1;
}

int tt_sf_is_key(const char *s, size_t n)
{
	if (n == 0 || !(is_lcalpha((unsigned char)s[0]) || s[0] == '*'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!is_key_char((unsigned char)s[i]))
			return 0;
	return 1;
}

/* ---- serializers ---- */

/* Bounded writer: len counts what was asked for, so overflow is seen once at
 * the end; nothing is written past cap - 1 (room for the NUL). */
struct w {
	char *p;
	size_t len, cap;
};

static void put(struct w *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++, o->len++)
		if (o->len + 1 < o->cap)
			o->p[o->len] = s[i];
}

static ssize_t end(struct w *o)
{
	if (o->len + 1 > o->cap)
		return -1;
	o->p[o->len] = 0;
	return (ssize_t)o->len;
}

/* RFC 8941 section 4.1.6. */
static void put_string(struct w *o, const char *s, size_t n)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			put(o, "\\", 1);
		if (c < 0x20 || c > 0x7e)
			put(o, "?", 1);
		else
			put(o, (const char *)&s[i], 1);
	}
	put(o, "\"", 1);
}

/* RFC 8941 section 4.1.4. */
static int put_integer(struct w *o, int64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	uint64_t u;
	if (v > TT_SF_INT_MAX || v < -TT_SF_INT_MAX)
		return -1;
	u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	/* Digits by hand: snprintf was a tenth of a proxied request's
	 * instructions (bench/RESULTS.md). */
	do {
		tmp[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	put(o, tmp + i, sizeof(tmp) - i);
	return 0;
}

ssize_t tt_sf_string(char *out, size_t cap, const char *s, size_t n)
{
	struct w o = {out, 0, cap};
	put_string(&o, s, n);
	return end(&o);
}

ssize_t tt_sf_text(char *out, size_t cap, const char *s, size_t n)
{
	struct w o = {out, 0, cap};
	if (tt_sf_is_token(s, n))
		put(&o, s, n);
	else
		put_string(&o, s, n);
	return end(&o);
}

ssize_t tt_sf_integer(char *out, size_t cap, int64_t v)
{
	struct w o = {out, 0, cap};
	if (put_integer(&o, v) < 0)
		return -1;
	return end(&o);
}

static int put_key(struct w *o, const char *key)
{
	size_t n = strlen(key);
	if (!tt_sf_is_key(key, n))
		return -1;
	put(o, "; ", 2);
	put(o, key, n);
	put(o, "=", 1);
	return 0;
}

ssize_t tt_sf_param_token(char *out, size_t cap, const char *key, const char *tok, size_t n)
{
	struct w o = {out, 0, cap};
	if (!tt_sf_is_token(tok, n) || put_key(&o, key) < 0)
		return -1;
	put(&o, tok, n);
	return end(&o);
}

ssize_t tt_sf_param_string(char *out, size_t cap, const char *key, const char *s, size_t n)
{
	struct w o = {out, 0, cap};
	if (put_key(&o, key) < 0)
		return -1;
	put_string(&o, s, n);
	return end(&o);
}

ssize_t tt_sf_param_integer(char *out, size_t cap, const char *key, int64_t v)
{
	struct w o = {out, 0, cap};
	if (put_key(&o, key) < 0 || put_integer(&o, v) < 0)
		return -1;
	return end(&o);
}

/* ---- parser ---- */

struct rd {
	const char *s;
	size_t pos, len;
	struct tt_sf_list *l;
	size_t scratch_len, nparams;
	enum tt_sf_err err;
};

static int more(const struct rd *r)
{
	return r->pos < r->len;
}

static int peek(const struct rd *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int fail(struct rd *r, enum tt_sf_err e)
{
	if (r->err == TT_SF_OK) {
		r->err = e;
		r->l->err_offset = r->pos;
	}
	return -1;
}

/* Section 4.2.4. DECIMAL keeps value * 1000, exact since at most 12 integer
 * and 3 fraction digits are allowed. */
static int parse_number(struct rd *r, struct tt_sf_item *it)
{
	int64_t sign = 1, ip = 0, frac = 0;
	size_t digits = 0, fdigits = 0;
	int decimal = 0;

	if (peek(r) == '-') {
		sign = -1;
		r->pos++;
	}
	if (!is_digit(peek(r)))
		return fail(r, TT_SF_ERR_SYNTAX);
	while (more(r)) {
		int c = peek(r);
		if (is_digit(c) && !decimal) {
			ip = ip * 10 + (c - '0');
		} else if (is_digit(c)) {
			frac = frac * 10 + (c - '0');
			fdigits++;
		} else if (c == '.' && !decimal) {
			if (digits > 12)
				return fail(r, TT_SF_ERR_SYNTAX);
			decimal = 1;
		} else {
			break;
		}
		digits++;
		r->pos++;
		if ((!decimal && digits > 15) || (decimal && digits > 16))
			return fail(r, TT_SF_ERR_SYNTAX);
	}
	if (!decimal) {
		it->type = TT_SF_INTEGER;
		it->integer = sign * ip;
		return 0;
	}
	if (fdigits == 0 || fdigits > 3) /* "1." or "1.2345" */
		return fail(r, TT_SF_ERR_SYNTAX);
	while (fdigits++ < 3)
		frac *= 10;
	it->type = TT_SF_DECIMAL;
	it->integer = sign * (ip * 1000 + frac);
	return 0;
}

/* Section 4.2.5. */
static int parse_string(struct rd *r, struct tt_sf_item *it)
{
	struct tt_sf_list *l = r->l;
	size_t start = r->scratch_len;

	r->pos++; /* the opening DQUOTE */
	for (;;) {
		if (!more(r))
			return fail(r, TT_SF_ERR_SYNTAX);
		int c = peek(r);
		if (c == '"') {
			r->pos++;
			break;
		}
		if (c == '\\') {
			r->pos++;
			c = peek(r);
			if (c != '"' && c != '\\')
				return fail(r, TT_SF_ERR_SYNTAX);
		} else if (c < 0x20 || c > 0x7e) {
			return fail(r, TT_SF_ERR_SYNTAX);
		}
		if (r->scratch_len >= l->scratch_cap)
			return fail(r, TT_SF_ERR_LIMIT);
		l->scratch[r->scratch_len++] = (char)c;
		r->pos++;
	}
	it->type = TT_SF_STRING;
	it->str = l->scratch ? l->scratch + start : "";
	it->len = r->scratch_len - start;
	return 0;
}

/* Section 4.2.6; the first character was checked by the caller. */
static int parse_token(struct rd *r, struct tt_sf_item *it)
{
	size_t start = r->pos++;
	while (more(r) && is_token_char(peek(r)))
		r->pos++;
	it->type = TT_SF_TOKEN;
	it->str = r->s + start;
	it->len = r->pos - start;
	return 0;
}

/* Section 4.2.7: the base64 alphabet only; the text is not decoded. */
static int parse_bytes(struct rd *r, struct tt_sf_item *it)
{
	size_t start = ++r->pos;
	for (;;) {
		int c = peek(r);
		if (c == ':')
			break;
		if (c < 0 || !(is_alpha(c) || is_digit(c) || c == '+' || c == '/' || c == '='))
			return fail(r, TT_SF_ERR_SYNTAX);
		r->pos++;
	}
	it->type = TT_SF_BYTES;
	it->str = r->s + start;
	it->len = r->pos - start;
	r->pos++;
	return 0;
}

/* Section 4.2.8. */
static int parse_boolean(struct rd *r, struct tt_sf_item *it)
{
	r->pos++;
	int c = peek(r);
	if (c != '0' && c != '1')
		return fail(r, TT_SF_ERR_SYNTAX);
	r->pos++;
	it->type = TT_SF_BOOLEAN;
	it->integer = c == '1';
	it->str = NULL;
	it->len = 0;
	return 0;
}

/* Section 4.2.3.1. */
static int parse_bare_item(struct rd *r, struct tt_sf_item *it)
{
	int c = peek(r);

	memset(it, 0, sizeof(*it));
	if (c == '-' || is_digit(c))
		return parse_number(r, it);
	if (c == '"')
		return parse_string(r, it);
	if (c == '*' || is_alpha(c))
		return parse_token(r, it);
	if (c == ':')
		return parse_bytes(r, it);
	if (c == '?')
		return parse_boolean(r, it);
	return fail(r, TT_SF_ERR_SYNTAX);
}

/* Section 4.2.3.3. */
static int parse_key(struct rd *r, const char **key, size_t *n)
{
	size_t start = r->pos;
	int c = peek(r);

	if (!(is_lcalpha(c) || c == '*'))
		return fail(r, TT_SF_ERR_SYNTAX);
	while (more(r) && is_key_char(peek(r)))
		r->pos++;
	*key = r->s + start;
	*n = r->pos - start;
	return 0;
}

static struct tt_sf_param *find_param(struct tt_sf_member *m, const char *key, size_t n)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].key_len == n && memcmp(m->params[i].key, key, n) == 0)
			return &m->params[i];
	return NULL;
}

/* Section 4.2.3.2. */
static int parse_params(struct rd *r, struct tt_sf_member *m)
{
	struct tt_sf_list *l = r->l;

	m->params = l->params ? l->params + r->nparams : NULL;
	m->nparams = 0;
	while (peek(r) == ';') {
		struct tt_sf_item v = {.type = TT_SF_BOOLEAN, .integer = 1};
		const char *key;
		size_t n;

		r->pos++;
		while (peek(r) == ' ')
			r->pos++;
		if (parse_key(r, &key, &n) < 0)
			return -1;
		if (peek(r) == '=') {
			r->pos++;
			if (parse_bare_item(r, &v) < 0)
				return -1;
		}
		struct tt_sf_param *p = find_param(m, key, n);
		if (!p) {
			if (r->nparams >= l->params_cap)
				return fail(r, TT_SF_ERR_LIMIT);
			p = &l->params[r->nparams++];
			m->nparams++;
			p->key = key;
			p->key_len = n;
		}
		p->value = v;
	}
	return 0;
}

/* Section 4.2.3. An Inner List (4.2.1.2) is recognised by its "(" and
 * refused; it is never valid where a bare item is expected either. */
static int parse_member(struct rd *r)
{
	struct tt_sf_list *l = r->l;

	if (peek(r) == '(')
		return fail(r, TT_SF_ERR_INNER_LIST);
	if (l->nmembers >= l->members_cap)
		return fail(r, TT_SF_ERR_LIMIT);
	struct tt_sf_member *m = &l->members[l->nmembers];
	if (parse_bare_item(r, &m->item) < 0)
		return -1;
	if (parse_params(r, m) < 0)
		return -1;
	l->nmembers++;
	return 0;
}

static void skip_ows(struct rd *r)
{
	while (peek(r) == ' ' || peek(r) == '\t')
		r->pos++;
}

/* Sections 4.2 (leading and trailing SP of the field) and 4.2.1. */
enum tt_sf_err tt_sf_parse_list(const char *in, size_t len, struct tt_sf_list *l)
{
	struct rd r = {in, 0, len, l, 0, 0, TT_SF_OK};

	l->nmembers = 0;
	l->err_offset = 0;
	while (peek(&r) == ' ')
		r.pos++;
	while (more(&r)) {
		if (parse_member(&r) < 0)
			return r.err;
		skip_ows(&r);
		if (!more(&r))
			break;
		if (peek(&r) != ',') {
			fail(&r, TT_SF_ERR_SYNTAX);
			return r.err;
		}
		r.pos++;
		skip_ows(&r);
		if (!more(&r)) { /* a trailing comma */
			fail(&r, TT_SF_ERR_SYNTAX);
			return r.err;
		}
	}
	return TT_SF_OK;
}

const struct tt_sf_param *tt_sf_param_get(const struct tt_sf_member *m, const char *key)
{
	size_t n = strlen(key);
	for (size_t i = 0; i < m->nparams; i++)
		if (m->params[i].key_len == n && memcmp(m->params[i].key, key, n) == 0)
			return &m->params[i];
	return NULL;
}
