/*
 * The bounded writer and escapers: see out.h.
 */
#include "respond/out.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void tt_out_init(struct tt_out *o, char *p, size_t cap)
{
	o->p = p;
	o->len = 0;
	o->cap = cap;
}

ssize_t tt_out_end(struct tt_out *o)
{
	if (o->len + 1 > o->cap)
		return -1;
	o->p[o->len] = 0;
	return (ssize_t)o->len;
}

void tt_out_put(struct tt_out *o, const char *s, size_t n)
{
	if (o->len + 1 < o->cap) {
		size_t fit = o->cap - 1 - o->len;
		memcpy(o->p + o->len, s, n < fit ? n : fit);
	}
	o->len += n;
}

void tt_out_str(struct tt_out *o, const char *s)
{
	tt_out_put(o, s, strlen(s));
}

void tt_out_fmt(struct tt_out *o, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* Callers format numbers and short names only; a longer result is a
	 * bug, cut rather than overrun. */
	if (n < 0)
		return;
	tt_out_put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static int cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

size_t tt_utf8_printable(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	if (n == 0 || s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	if (s[0] < 0xe0) {
		/* C2 80..C2 9F are the C1 controls U+0080..U+009F. */
		if (n < 2 || !cont(s[1]) || (s[0] == 0xc2 && s[1] < 0xa0))
			return 0;
		return 2;
	}
	if (s[0] < 0xf0) {
		if (n < 3 || !cont(s[1]) || !cont(s[2]))
			return 0;
		if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f))
			return 0; /* overlong; surrogate */
		return 3;
	}
	if (n < 4 || !cont(s[1]) || !cont(s[2]) || !cont(s[3]))
		return 0;
	if ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0; /* overlong; past U+10FFFF */
	return 4;
}

/* Copy s, with each byte either passed to esc (which writes it and returns
 * 1) or, when esc declines, written plain if printable, else as '?'. */
static void copy(struct tt_out *o, const char *s, size_t n, int (*esc)(struct tt_out *, int))
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t u;
		if (esc && esc(o, c)) {
			i++;
		} else if (c >= 0x20 && c < 0x7f) {
			tt_out_put(o, s + i, 1);
			i++;
		} else if ((u = tt_utf8_printable(s + i, n - i)) > 0) {
			tt_out_put(o, s + i, u);
			i += u;
		} else {
			tt_out_put(o, "?", 1);
			i++;
		}
	}
}

static int html_esc(struct tt_out *o, int c)
{
	switch (c) {
	case '&': tt_out_put(o, "&amp;", 5); return 1;
	case '<': tt_out_put(o, "&lt;", 4); return 1;
	case '>': tt_out_put(o, "&gt;", 4); return 1;
	case '"': tt_out_put(o, "&quot;", 6); return 1;
	case '\'': tt_out_put(o, "&#39;", 5); return 1;
	default: return 0;
	}
}

void tt_out_html(struct tt_out *o, const char *s, size_t n)
{
	copy(o, s, n, html_esc);
}

void tt_out_text(struct tt_out *o, const char *s, size_t n)
{
	copy(o, s, n, NULL);
}

void tt_out_json(struct tt_out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	tt_out_put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			tt_out_put(o, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			tt_out_put(o, e, 6);
		} else {
			tt_out_put(o, s + i, 1);
		}
	}
	tt_out_put(o, "\"", 1);
}

void tt_out_json_or_null(struct tt_out *o, const char *s)
{
	if (s && *s)
		tt_out_json(o, s, strlen(s));
	else
		tt_out_str(o, "null");
}

const char *tt_out_time(char *buf, uint64_t ms)
{
	/* 253402300799 is 9999-12-31T23:59:59Z, the last second RFC 3339's
	 * four-digit year can write. */
	uint64_t secs = ms / 1000, milli = ms % 1000;
	struct tm tm;
	time_t t;

	if (secs > 253402300799ull) {
		secs = 253402300799ull;
		milli = 999;
	}
	t = (time_t)secs;
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	/* gmtime_r keeps every field in range; the compiler cannot know. */
	char tmp[96];
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)milli);
	memcpy(buf, tmp, TT_TIME_MAX - 1);
	buf[TT_TIME_MAX - 1] = 0;
	return buf;
}
