/*
 * The strict JSON reader: see json.h. A recursive descent over the input
 * whose depth is bounded by max_depth (at most TT_JSON_DEPTH_MAX frames);
 * each function checks the length before it reads a byte, so the parser
 * never looks past in + len, and every write into the caller's arrays is
 * checked against their size.
 *
 * Numbers are converted with strtod, which reads the decimal point of the
 * C locale; telltale never calls setlocale, so that is '.'.
 */
#include "obs/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	struct tt_json_doc *d;
	const unsigned char *s;
	size_t len, pos;
	size_t sc; /* scratch bytes used */
	int depth, max_depth;
};

/* Record the error; returns it so callers can `return fail(...)`. */
static enum tt_json_err fail(struct parser *p, enum tt_json_err e, size_t off)
{
	p->d->err_off = off;
	return e;
}

/* The error for a missing byte: the end of the input, or a wrong byte. */
static enum tt_json_err unexpected(struct parser *p)
{
	return fail(p, p->pos >= p->len ? TT_JSON_E_END : TT_JSON_E_SYNTAX, p->pos);
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		unsigned char c = p->s[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int peek(struct parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

/* Append a node; returns its index, or -1 when the array is full. */
static long add_node(struct parser *p, enum tt_json_type t)
{
	struct tt_json_doc *d = p->d;
	if (d->nnodes >= d->max_nodes)
		return -1;
	struct tt_json_node *n = &d->nodes[d->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = t;
	n->end = (uint32_t)(d->nnodes + 1);
	return (long)d->nnodes++;
}

static enum tt_json_err literal(struct parser *p, const char *word, enum tt_json_type t)
{
	size_t n = strlen(word);
	for (size_t i = 0; i < n; i++) {
		if (p->pos + i >= p->len)
			return fail(p, TT_JSON_E_END, p->len);
		if (p->s[p->pos + i] != (unsigned char)word[i])
			return fail(p, TT_JSON_E_SYNTAX, p->pos + i);
	}
	if (add_node(p, t) < 0)
		return fail(p, TT_JSON_E_NODES, p->pos);
	p->pos += n;
	return TT_JSON_OK;
}

static size_t digits(struct parser *p)
{
	size_t start = p->pos;
	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos - start;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static enum tt_json_err number(struct parser *p)
{
	size_t start = p->pos, n;
	struct tt_json_doc *d = p->d;
	long idx;
	char *tmp, *end;

	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0')
		p->pos++;
	else if (!digits(p))
		return fail(p, p->pos >= p->len ? TT_JSON_E_END : TT_JSON_E_NUMBER, p->pos);
	if (peek(p) == '.') {
		p->pos++;
		if (!digits(p))
			return fail(p, p->pos >= p->len ? TT_JSON_E_END : TT_JSON_E_NUMBER, p->pos);
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!digits(p))
			return fail(p, p->pos >= p->len ? TT_JSON_E_END : TT_JSON_E_NUMBER, p->pos);
	}
	n = p->pos - start;
	/* strtod needs a NUL: borrow the free tail of the scratch buffer. */
	if (d->scratch_cap - p->sc < n + 1)
		return fail(p, TT_JSON_E_SCRATCH, start);
	tmp = d->scratch + p->sc;
	memcpy(tmp, p->s + start, n);
	tmp[n] = 0;
	idx = add_node(p, TT_JSON_NUMBER);
	if (idx < 0)
		return fail(p, TT_JSON_E_NODES, start);
	d->nodes[idx].num = strtod(tmp, &end);
	if (isinf(d->nodes[idx].num))
		return fail(p, TT_JSON_E_NUMBER, start);
	d->nodes[idx].str = (const char *)p->s + start;
	d->nodes[idx].len = n;
	return TT_JSON_OK;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at p->pos; -1 (error recorded) when they are not. */
static long hex4(struct parser *p, enum tt_json_err *err)
{
	long v = 0;
	for (int i = 0; i < 4; i++) {
		if (p->pos >= p->len) {
			*err = fail(p, TT_JSON_E_END, p->len);
			return -1;
		}
		int h = hexval(p->s[p->pos]);
		if (h < 0) {
			*err = fail(p, TT_JSON_E_ESCAPE, p->pos);
			return -1;
		}
		v = v << 4 | h;
		p->pos++;
	}
	return v;
}

/* Encode cp as UTF-8 at out; returns the length (1-4). */
static size_t utf8_put(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \u escape (p->pos just past the 'u'), pairing surrogates (RFC 8259
 * section 7). Writes the UTF-8 bytes at out; returns their count or 0. */
static size_t unicode_escape(struct parser *p, char *out, enum tt_json_err *err)
{
	size_t at = p->pos - 2;
	long hi = hex4(p, err), lo;

	if (hi < 0)
		return 0;
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		*err = fail(p, TT_JSON_E_ESCAPE, at);
		return 0;
	}
	if (hi < 0xd800 || hi > 0xdbff)
		return utf8_put(out, (unsigned long)hi);
	/* A high surrogate must be followed by a backslash, "u" and a low one. */
	for (int i = 0; i < 2; i++, p->pos++) {
		if (p->pos >= p->len) {
			*err = fail(p, TT_JSON_E_END, p->len);
			return 0;
		}
		if (p->s[p->pos] != "\\u"[i]) {
			*err = fail(p, TT_JSON_E_ESCAPE, at);
			return 0;
		}
	}
	lo = hex4(p, err);
	if (lo < 0)
		return 0;
	if (lo < 0xdc00 || lo > 0xdfff) {
		*err = fail(p, TT_JSON_E_ESCAPE, at);
		return 0;
	}
	return utf8_put(out, 0x10000 + (unsigned long)((hi - 0xd800) << 10 | (lo - 0xdc00)));
}

/* One escape sequence (p->pos at the backslash). Returns bytes written at
 * out (1-4), or 0 with *err set. */
static size_t escape(struct parser *p, char *out, enum tt_json_err *err)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;

	if (p->pos + 1 >= p->len) {
		*err = fail(p, TT_JSON_E_END, p->len);
		return 0;
	}
	int c = p->s[p->pos + 1];
	p->pos += 2;
	if (c == 'u')
		return unicode_escape(p, out, err);
	hit = c ? strchr(from, c) : NULL;
	if (!hit) {
		*err = fail(p, TT_JSON_E_ESCAPE, p->pos - 2);
		return 0;
	}
	out[0] = to[hit - from];
	return 1;
}

/* Length of the valid UTF-8 sequence at p->pos (RFC 3629 section 4: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_len(struct parser *p, enum tt_json_err *err)
{
	const unsigned char *s = p->s + p->pos;
	size_t room = p->len - p->pos, n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		n = 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; n && i < n; i++) {
		if (i >= room) {
			*err = fail(p, TT_JSON_E_END, p->len);
			return 0;
		}
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			n = 0;
	}
	if (!n)
		*err = fail(p, TT_JSON_E_UTF8, p->pos);
	return n;
}

/* A string (p->pos at its opening quote): decoded into the scratch buffer,
 * NUL-terminated. Decoding never lengthens a string, which is why
 * len + 1 bytes of scratch are always enough. */
static enum tt_json_err string(struct parser *p)
{
	struct tt_json_doc *d = p->d;
	size_t start = p->sc, start_pos = p->pos;
	enum tt_json_err err = TT_JSON_OK;
	long idx = add_node(p, TT_JSON_STRING);

	if (idx < 0)
		return fail(p, TT_JSON_E_NODES, p->pos);
	p->pos++;
	for (;;) {
		char buf[4];
		const char *from = buf;
		size_t n;
		if (p->pos >= p->len)
			return fail(p, TT_JSON_E_END, p->len);
		unsigned char c = p->s[p->pos];
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(p, TT_JSON_E_STRING, p->pos);
		if (c == '\\') {
			n = escape(p, buf, &err);
		} else if (c < 0x80) {
			/* A run of plain ASCII is copied in one go. */
			from = (const char *)p->s + p->pos;
			n = 1;
			while (p->pos + n < p->len && p->s[p->pos + n] >= 0x20 &&
			       p->s[p->pos + n] < 0x80 && p->s[p->pos + n] != '"' &&
			       p->s[p->pos + n] != '\\')
				n++;
			p->pos += n;
		} else {
			from = (const char *)p->s + p->pos;
			n = utf8_len(p, &err);
			p->pos += n;
		}
		if (!n)
			return err;
		if (d->scratch_cap - p->sc < n + 1) /* the bytes and the final NUL */
			return fail(p, TT_JSON_E_SCRATCH, start_pos);
		memcpy(d->scratch + p->sc, from, n);
		p->sc += n;
	}
	p->pos++;
	d->scratch[p->sc] = 0;
	d->nodes[idx].str = d->scratch + start;
	d->nodes[idx].len = p->sc - start;
	p->sc++;
	return TT_JSON_OK;
}

static enum tt_json_err value(struct parser *p);

/* RFC 8259 leaves repeated names to the reader; two "status" keys on one
 * log line would make its meaning a guess, so they are refused. */
static enum tt_json_err check_dup_keys(struct parser *p, long obj)
{
	const struct tt_json_doc *d = p->d;
	const struct tt_json_node *o = &d->nodes[obj];
	for (const struct tt_json_node *a = tt_json_next(d, o, NULL); a; a = tt_json_next(d, o, a))
		for (const struct tt_json_node *b = tt_json_next(d, o, a); b;
		     b = tt_json_next(d, o, b))
			if (a->len == b->len && !memcmp(a->str, b->str, a->len))
				return fail(p, TT_JSON_E_DUPKEY, p->pos - 1);
	return TT_JSON_OK;
}

/* An array or object (p->pos at its opening bracket). */
static enum tt_json_err container(struct parser *p, int is_obj)
{
	char close = is_obj ? '}' : ']';
	enum tt_json_err err;
	long idx = add_node(p, is_obj ? TT_JSON_OBJECT : TT_JSON_ARRAY);

	if (idx < 0)
		return fail(p, TT_JSON_E_NODES, p->pos);
	if (++p->depth > p->max_depth)
		return fail(p, TT_JSON_E_DEPTH, p->pos);
	p->pos++;
	skip_ws(p);
	if (peek(p) != close) {
		for (;;) {
			skip_ws(p);
			if (is_obj) {
				if (peek(p) != '"')
					return unexpected(p);
				if ((err = string(p)) != TT_JSON_OK)
					return err;
				skip_ws(p);
				if (peek(p) != ':')
					return unexpected(p);
				p->pos++;
			}
			if ((err = value(p)) != TT_JSON_OK)
				return err;
			p->d->nodes[idx].count++;
			skip_ws(p);
			if (peek(p) == close)
				break;
			if (peek(p) != ',')
				return unexpected(p);
			p->pos++;
		}
	}
	p->pos++;
	p->depth--;
	p->d->nodes[idx].end = (uint32_t)p->d->nnodes;
	return is_obj ? check_dup_keys(p, idx) : TT_JSON_OK;
}

static enum tt_json_err value(struct parser *p)
{
	skip_ws(p);
	switch (peek(p)) {
	case -1: return fail(p, TT_JSON_E_END, p->len);
	case '{': return container(p, 1);
	case '[': return container(p, 0);
	case '"': return string(p);
	case 't': return literal(p, "true", TT_JSON_TRUE);
	case 'f': return literal(p, "false", TT_JSON_FALSE);
	case 'n': return literal(p, "null", TT_JSON_NULL);
	default:
		if (peek(p) == '-' || (peek(p) >= '0' && peek(p) <= '9'))
			return number(p);
		return fail(p, TT_JSON_E_SYNTAX, p->pos);
	}
}

enum tt_json_err tt_json_parse(struct tt_json_doc *d, const char *in, size_t len)
{
	struct parser p = {d, (const unsigned char *)in, len, 0, 0, 0, d->max_depth};
	enum tt_json_err err;

	if (p.max_depth <= 0)
		p.max_depth = 32;
	if (p.max_depth > TT_JSON_DEPTH_MAX)
		p.max_depth = TT_JSON_DEPTH_MAX;
	d->nnodes = 0;
	d->err_off = 0;
	if (!d->scratch_cap)
		return fail(&p, TT_JSON_E_SCRATCH, 0);
	err = value(&p);
	if (err != TT_JSON_OK)
		return err;
	skip_ws(&p);
	if (p.pos != len)
		return fail(&p, TT_JSON_E_TRAILING, p.pos);
	return TT_JSON_OK;
}

const char *tt_json_strerror(enum tt_json_err e)
{
	switch (e) {
	case TT_JSON_OK: return "ok";
	case TT_JSON_E_END: return "unexpected end";
	case TT_JSON_E_SYNTAX: return "unexpected byte";
	case TT_JSON_E_TRAILING: return "data after the value";
	case TT_JSON_E_STRING: return "control character in a string";
	case TT_JSON_E_ESCAPE: return "invalid escape";
	case TT_JSON_E_UTF8: return "invalid UTF-8";
	case TT_JSON_E_NUMBER: return "invalid number";
	case TT_JSON_E_DUPKEY: return "repeated key";
	case TT_JSON_E_DEPTH: return "nested too deep";
	case TT_JSON_E_NODES: return "too many values";
	case TT_JSON_E_SCRATCH: return "strings too long";
	}
	return "?";
}

const struct tt_json_node *tt_json_next(const struct tt_json_doc *d,
                                        const struct tt_json_node *parent,
                                        const struct tt_json_node *prev)
{
	size_t next;

	if (!parent || (parent->type != TT_JSON_ARRAY && parent->type != TT_JSON_OBJECT) ||
	    !parent->count)
		return NULL;
	if (!prev)
		return parent + 1;
	/* An object's child is a key: step over it and its value's subtree. */
	next = parent->type == TT_JSON_OBJECT ? prev[1].end : prev->end;
	return next < parent->end ? &d->nodes[next] : NULL;
}

const struct tt_json_node *tt_json_get(const struct tt_json_doc *d, const struct tt_json_node *obj,
                                       const char *key)
{
	size_t len = strlen(key);

	if (!obj || obj->type != TT_JSON_OBJECT)
		return NULL;
	for (const struct tt_json_node *k = tt_json_next(d, obj, NULL); k;
	     k = tt_json_next(d, obj, k))
		if (k->len == len && !memcmp(k->str, key, len))
			return k + 1;
	return NULL;
}

int tt_json_int(const struct tt_json_node *n, int64_t *out)
{
	const double lim = 9007199254740992.0; /* 2^53 */
	if (!n || n->type != TT_JSON_NUMBER || n->num != floor(n->num) || n->num >= lim ||
	    n->num <= -lim)
		return 0;
	*out = (int64_t)n->num;
	return 1;
}

int tt_json_eq(const struct tt_json_node *n, const char *s)
{
	size_t len = strlen(s);
	return n && n->type == TT_JSON_STRING && n->len == len && !memcmp(n->str, s, len);
}

void tt_json_fput_str(FILE *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	fputc('"', out);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
		} else if (c == '\n') {
			fputs("\\n", out);
		} else if (c < 0x20 || c == 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			fwrite(e, 1, 6, out);
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}
