/*
 * Checkers for the error-body tests: a strict RFC 8259 JSON validator and
 * a small HTML tag-balance checker. Both return 0 when the text is good,
 * else the 1-based offset of the first bad byte. Header-only, for tests.
 */
#ifndef TT_TEST_BODY_CHECK_H
#define TT_TEST_BODY_CHECK_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

struct jrd {
	const char *s;
	size_t pos, len;
	int bad;
	int depth;
};

static inline int jpeek(struct jrd *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static inline void jws(struct jrd *r)
{
	while (jpeek(r) == ' ' || jpeek(r) == '\t' || jpeek(r) == '\n' || jpeek(r) == '\r')
		r->pos++;
}

static inline int jfail(struct jrd *r)
{
	r->bad = 1;
	return -1;
}

static inline int jlit(struct jrd *r, const char *lit)
{
	size_t n = strlen(lit);
	if (r->len - r->pos < n || memcmp(r->s + r->pos, lit, n) != 0)
		return jfail(r);
	r->pos += n;
	return 0;
}

/* RFC 8259 section 7; also requires ASCII, as telltale writes only ASCII. */
static inline int jstring(struct jrd *r)
{
	if (jpeek(r) != '"')
		return jfail(r);
	r->pos++;
	for (;;) {
		int c = jpeek(r);
		if (c < 0x20 || c > 0x7e)
			return jfail(r);
		r->pos++;
		if (c == '"')
			return 0;
		if (c != '\\')
			continue;
		c = jpeek(r);
		r->pos++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, r->pos++) {
				int h = jpeek(r);
				if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
				      (h >= 'A' && h <= 'F')))
					return jfail(r);
			}
		} else if (c < 0 || !strchr("\"\\/bfnrt", c)) {
			return jfail(r);
		}
	}
}

/* Section 6. */
static inline int jnumber(struct jrd *r)
{
	if (jpeek(r) == '-')
		r->pos++;
	if (jpeek(r) == '0') {
		r->pos++;
	} else if (jpeek(r) >= '1' && jpeek(r) <= '9') {
		while (jpeek(r) >= '0' && jpeek(r) <= '9')
			r->pos++;
	} else {
		return jfail(r);
	}
	if (jpeek(r) == '.') {
		r->pos++;
		if (!(jpeek(r) >= '0' && jpeek(r) <= '9'))
			return jfail(r);
		while (jpeek(r) >= '0' && jpeek(r) <= '9')
			r->pos++;
	}
	if (jpeek(r) == 'e' || jpeek(r) == 'E') {
		r->pos++;
		if (jpeek(r) == '+' || jpeek(r) == '-')
			r->pos++;
		if (!(jpeek(r) >= '0' && jpeek(r) <= '9'))
			return jfail(r);
		while (jpeek(r) >= '0' && jpeek(r) <= '9')
			r->pos++;
	}
	return 0;
}

static inline int jvalue(struct jrd *r);

static inline int jcontainer(struct jrd *r, int close, int object)
{
	if (++r->depth > 64)
		return jfail(r);
	r->pos++;
	jws(r);
	if (jpeek(r) == close) {
		r->pos++;
		r->depth--;
		return 0;
	}
	for (;;) {
		jws(r);
		if (object) {
			if (jstring(r) < 0)
				return -1;
			jws(r);
			if (jpeek(r) != ':')
				return jfail(r);
			r->pos++;
		}
		if (jvalue(r) < 0)
			return -1;
		jws(r);
		if (jpeek(r) == close) {
			r->pos++;
			r->depth--;
			return 0;
		}
		if (jpeek(r) != ',')
			return jfail(r);
		r->pos++;
	}
}

static inline int jvalue(struct jrd *r)
{
	jws(r);
	switch (jpeek(r)) {
	case '{': return jcontainer(r, '}', 1);
	case '[': return jcontainer(r, ']', 0);
	case '"': return jstring(r);
	case 't': return jlit(r, "true");
	case 'f': return jlit(r, "false");
	case 'n': return jlit(r, "null");
	default: return jnumber(r);
	}
}

/* 0 when s[0..len) is one valid JSON text. */
static inline size_t json_check(const char *s, size_t len)
{
	struct jrd r = {s, 0, len, 0, 0};
	if (jvalue(&r) == 0) {
		jws(&r);
		if (r.pos == len)
			return 0;
	}
	return r.pos + 1;
}

/* Elements without an end tag (HTML "void elements"). */
static inline int html_void(const char *name, size_t n)
{
	static const char *const v[] = {"meta", "br", "link", "img", "input", "hr", "wbr", "col"};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strlen(v[i]) == n && strncasecmp(v[i], name, n) == 0)
			return 1;
	return 0;
}

/* 0 when every non-void start tag has its end tag, properly nested, and
 * no raw '<' appears outside a tag (style content skipped). */
static inline size_t html_check(const char *s, size_t len)
{
	const char *stack[64];
	size_t lens[64], depth = 0, i = 0;

	while (i < len) {
		if (s[i] != '<') {
			if (s[i] == '>')
				return i + 1;
			i++;
			continue;
		}
		const char *gt = memchr(s + i, '>', len - i);
		if (!gt)
			return i + 1;
		size_t end = (size_t)(gt - s) + 1;
		if (s[i + 1] == '!') {
			i = end;
			continue;
		}
		int closing = s[i + 1] == '/';
		size_t a = i + 1 + (size_t)closing, b = a;
		while (b < len && ((s[b] >= 'a' && s[b] <= 'z') || (s[b] >= '0' && s[b] <= '9')))
			b++;
		if (b == a)
			return i + 1;
		/* Attribute values never hold a raw '<' or '>' (they are escaped). */
		if (memchr(s + b, '<', end - b))
			return b + 1;
		if (closing) {
			if (depth == 0 || lens[depth - 1] != b - a ||
			    memcmp(stack[depth - 1], s + a, b - a) != 0)
				return i + 1;
			depth--;
		} else if (!html_void(s + a, b - a)) {
			if (depth == 64)
				return i + 1;
			stack[depth] = s + a;
			lens[depth++] = b - a;
			if (b - a == 5 && memcmp(s + a, "style", 5) == 0) {
				const char *e = memmem(s + end, len - end, "</style>", 8);
				if (!e)
					return i + 1;
				end = (size_t)(e - s);
			}
		}
		i = end;
	}
	return depth ? len : 0;
}

#endif
