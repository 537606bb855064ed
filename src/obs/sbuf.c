/*
 * Growable text buffer: see sbuf.h.
 */
#include "obs/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "respond/out.h"

static void grow(struct tt_sbuf *b, size_t more)
{
	size_t want = b->len + more + 1, cap = b->cap ? b->cap : 4096;
	char *p;
	if (want <= b->cap)
		return;
	while (cap < want)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		abort();
	b->p = p;
	b->cap = cap;
}

void tt_sbuf_fini(struct tt_sbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void tt_sbuf_put(struct tt_sbuf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void tt_sbuf_str(struct tt_sbuf *b, const char *s)
{
	tt_sbuf_put(b, s, strlen(s));
}

void tt_sbuf_fmt(struct tt_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void tt_sbuf_html(struct tt_sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; s && i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t u;
		switch (c) {
		case '&': tt_sbuf_str(b, "&amp;"); break;
		case '<': tt_sbuf_str(b, "&lt;"); break;
		case '>': tt_sbuf_str(b, "&gt;"); break;
		case '"': tt_sbuf_str(b, "&quot;"); break;
		case '\'': tt_sbuf_str(b, "&#39;"); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				tt_sbuf_put(b, (const char *)&s[i], 1);
			} else if (c >= 0x80 && (u = tt_utf8_printable(s + i, n - i)) > 0) {
				tt_sbuf_put(b, s + i, u);
				i += u;
				continue;
			} else {
				tt_sbuf_put(b, "?", 1);
			}
		}
		i++;
	}
}

void tt_sbuf_json(struct tt_sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	if (!s) {
		tt_sbuf_put(b, "null", 4);
		return;
	}
	tt_sbuf_put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			tt_sbuf_put(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			tt_sbuf_put(b, e, 6);
		} else {
			tt_sbuf_put(b, (const char *)&s[i], 1);
		}
	}
	tt_sbuf_put(b, "\"", 1);
}

void tt_sbuf_json_str(struct tt_sbuf *b, const char *s)
{
	tt_sbuf_json(b, s, s ? strlen(s) : 0);
}
