/*
 * HTTP/1.x head parser (RFC 9110, RFC 9112): request and status lines,
 * field lines, and the framing derived from them.
 *
 * The parser is a single left-to-right scan over buf[0..min(len,
 * max_head_bytes)). Every check is made at one byte and looks only at bytes
 * before it (or, for a CR, at the one byte after it), so a prefix of a
 * message yields either TT_H1_INCOMPLETE or the very outcome the whole
 * message yields: garbage is rejected as soon as it arrives, and feeding a
 * head in pieces never changes the answer. Checks that need the whole head
 * (Host, Content-Length, Transfer-Encoding) run once the empty line is seen.
 *
 * Invariant: nothing is read outside buf[0..len), nothing is written outside
 * *out and out->fields[0..max_fields).
 */
#include "http/h1_parse.h"
#include "http/uri_host.h"

#include <string.h>

/* Generated from the RFC 9110 / RFC 3986 ABNF; see the class macros in
 * h1_parse.h. Rows are 16 bytes, labelled with the first byte's value. */
/* clang-format off */
const unsigned char tt_h1_ctype[256] = {
	/* 00 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 10 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 20 */ 0x60, 0x33, 0x02, 0x23, 0x33, 0x23, 0x33, 0x33, 0x32, 0x32, 0x33, 0x33, 0x32, 0x33, 0x33, 0x22,
	/* 30 */ 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x22, 0x32, 0x22, 0x32, 0x22, 0x22,
	/* 40 */ 0x22, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
	/* 50 */ 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x22, 0x02, 0x22, 0x23, 0x33,
	/* 60 */ 0x23, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x3b, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
	/* 70 */ 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x22, 0x23, 0x22, 0x33, 0x00,
	/* 80 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* 90 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* a0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* b0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* c0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* d0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* e0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
	/* f0 */ 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
};
/* clang-format on */

#define IS_TCHAR(c) tt_h1_is(c, TT_H1_C_TCHAR)
#define IS_VCHAR(c) tt_h1_is(c, TT_H1_C_VCHAR)
#define IS_DIGIT(c) tt_h1_is(c, TT_H1_C_DIGIT)
#define IS_HEX(c)   tt_h1_is(c, TT_H1_C_HEX)
#define IS_WS(c)    tt_h1_is(c, TT_H1_C_WS)

/* Internal step results; an error has already been recorded in the head. */
enum { ST_OK = 0, ST_MORE = 1, ST_ERR = -1 };

/* One parse in progress. */
struct scan {
	const char *buf;
	size_t len; /* bytes the caller has */
	size_t end; /* bytes we may look at: min(len, max_head_bytes) */
	size_t pos; /* next byte to look at */
	const struct tt_h1_limits *lim;
	struct tt_h1_head *h;
	int is_request;
	const char *authority; /* absolute-form target's authority, or NULL */
	size_t authority_len;
};

static int fail(struct scan *s, enum tt_h1_err err, size_t off)
{
	s->h->err = err;
	s->h->err_offset = off;
	return ST_ERR;
}

/* Ran out of bytes: wait for more, unless the head may not grow further. */
static int more(struct scan *s)
{
	if (s->len >= s->lim->max_head_bytes)
		return fail(s, TT_H1_ERR_HEAD_TOO_LARGE, s->end);
	return ST_MORE;
}

/*
 * At a CR or LF at s->pos: is it a line terminator, and how long? A CR must
 * be followed by LF (RFC 9112 section 2.2: a bare CR is invalid); a lone LF
 * is accepted as a terminator (same section).
 */
static int eol(struct scan *s, size_t *n)
{
	if (s->buf[s->pos] == '\n') {
		*n = 1;
		return ST_OK;
	}
	if (s->pos + 1 >= s->end)
		return more(s);
	if (s->buf[s->pos + 1] != '\n')
		return fail(s, TT_H1_ERR_BARE_CR, s->pos);
	*n = 2;
	return ST_OK;
}

/* A line ended where it must not: report a bare CR first, else err. */
static int bad_eol(struct scan *s, enum tt_h1_err err)
{
	size_t n;
	int rc = eol(s, &n);

	return rc != ST_OK ? rc : fail(s, err, s->pos);
}

static int is_crlf(char c)
{
	return c == '\r' || c == '\n';
}

/* RFC 9112 section 2.2: a server SHOULD ignore at least one empty line
 * before the request-line. We ignore any number; they still count toward
 * max_head_bytes and head_len. */
static int skip_empty_lines(struct scan *s)
{
	size_t n;
	int rc;

	for (;;) {
		if (s->pos >= s->end)
			return more(s);
		if (!is_crlf(s->buf[s->pos]))
			return ST_OK;
		rc = eol(s, &n);
		if (rc != ST_OK)
			return rc;
		s->pos += n;
	}
}

static const struct {
	const char *name;
	size_t len;
	enum tt_h1_method id;
} methods[] = {
    {"GET", 3, TT_METHOD_GET},         {"HEAD", 4, TT_METHOD_HEAD},
    {"POST", 4, TT_METHOD_POST},       {"PUT", 3, TT_METHOD_PUT},
    {"DELETE", 6, TT_METHOD_DELETE},   {"CONNECT", 7, TT_METHOD_CONNECT},
    {"OPTIONS", 7, TT_METHOD_OPTIONS}, {"TRACE", 5, TT_METHOD_TRACE},
    {"PATCH", 5, TT_METHOD_PATCH},
};

/* RFC 9110 section 9.1: methods are case-sensitive. */
static enum tt_h1_method method_id(const char *m, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].len == len && memcmp(methods[i].name, m, len) == 0)
			return methods[i].id;
	return TT_METHOD_OTHER;
}

/* method = token, then exactly one SP (RFC 9112 section 3). */
static int parse_method(struct scan *s)
{
	size_t start = s->pos;
	char c;

	for (; s->pos < s->end; s->pos++) {
		c = s->buf[s->pos];
		if (IS_TCHAR(c))
			continue;
		if (c == ' ' && s->pos > start) {
			s->h->method = s->buf + start;
			s->h->method_len = s->pos - start;
			s->h->method_id = method_id(s->h->method, s->h->method_len);
			s->pos++;
			return ST_OK;
		}
		if (is_crlf(c))
			return bad_eol(s, TT_H1_ERR_METHOD);
		return fail(s, TT_H1_ERR_METHOD, s->pos);
	}
	return more(s);
}

/*
 * absolute-form (RFC 9112 section 3.2.2) for the http and https schemes,
 * the only ones a gateway serves. The authority must be a valid host[:port]
 * and carry no userinfo (RFC 9110 section 4.2.4).
 */
static int absolute_form(struct scan *s, const char *t, size_t n)
{
	size_t skip, a;

	if (n >= 7 && tt_h1_name_eq(t, 7, "http://"))
		skip = 7;
	else if (n >= 8 && tt_h1_name_eq(t, 8, "https://"))
		skip = 8;
	else
		return 0;
	for (a = skip; a < n && t[a] != '/' && t[a] != '?'; a++)
		;
	if (!tt_uri_host_valid(t + skip, a - skip, 0))
		return 0;
	s->authority = t + skip;
	s->authority_len = a - skip;
	return 1;
}

/* The four forms of RFC 9112 section 3.2, each only where it belongs. */
static int check_target_form(struct scan *s, const char *t, size_t n)
{
	enum tt_h1_method m = s->h->method_id;

	if (m == TT_METHOD_CONNECT) /* authority-form only, port required */
		return tt_uri_host_valid(t, n, 1);
	if (t[0] == '/')
		return 1;
	if (n == 1 && t[0] == '*')
		return m == TT_METHOD_OPTIONS;
	return absolute_form(s, t, n);
}

/* request-target: 1*( VCHAR / obs-text ), then exactly one SP. */
static int parse_target(struct scan *s)
{
	size_t start = s->pos;
	char c;

	for (; s->pos < s->end; s->pos++) {
		c = s->buf[s->pos];
		if (IS_VCHAR(c)) {
			if (s->pos - start >= s->lim->max_target_bytes)
				return fail(s, TT_H1_ERR_TARGET_TOO_LONG, s->pos);
			continue;
		}
		if (c == ' ' && s->pos > start)
			break;
		/* A target then the end of line is HTTP/0.9: no version. */
		if (is_crlf(c))
			return bad_eol(s, s->pos > start ? TT_H1_ERR_VERSION : TT_H1_ERR_TARGET);
		return fail(s, TT_H1_ERR_TARGET, s->pos);
	}
	if (s->pos >= s->end)
		return more(s);
	s->h->target = s->buf + start;
	s->h->target_len = s->pos - start;
	if (!check_target_form(s, s->h->target, s->h->target_len))
		return fail(s, TT_H1_ERR_TARGET, start);
	s->pos++;
	return ST_OK;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112
 * section 2.3). Sets version_minor; *major gets the major digit. */
static int parse_version(struct scan *s, int *major)
{
	static const char pat[] = "HTTP/0.0";
	size_t i;
	char c;

	for (i = 0; i < 8; i++, s->pos++) {
		if (s->pos >= s->end)
			return more(s);
		c = s->buf[s->pos];
		if (pat[i] == '0' ? !IS_DIGIT(c) : c != pat[i])
			return is_crlf(c) ? bad_eol(s, TT_H1_ERR_VERSION)
			                  : fail(s, TT_H1_ERR_VERSION, s->pos);
	}
	*major = s->buf[s->pos - 3] - '0';
	s->h->version_minor = s->buf[s->pos - 1] - '0';
	return ST_OK;
}

static int version_supported(struct scan *s, int major, size_t at)
{
	if (major != 1 || s->h->version_minor > 1)
		return fail(s, TT_H1_ERR_VERSION_UNSUPPORTED, at);
	return ST_OK;
}

/* request-line = method SP request-target SP HTTP-version (RFC 9112 3). */
static int parse_request_line(struct scan *s)
{
	size_t n, vstart;
	int rc, major;

	rc = skip_empty_lines(s);
	if (rc == ST_OK)
		rc = parse_method(s);
	if (rc == ST_OK)
		rc = parse_target(s);
	if (rc != ST_OK)
		return rc;
	vstart = s->pos;
	rc = parse_version(s, &major);
	if (rc != ST_OK)
		return rc;
	if (s->pos >= s->end)
		return more(s);
	if (!is_crlf(s->buf[s->pos]))
		return fail(s, TT_H1_ERR_VERSION, s->pos);
	rc = eol(s, &n);
	if (rc != ST_OK)
		return rc;
	s->pos += n;
	return version_supported(s, major, vstart);
}

/* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ), up to the line end. */
static int parse_reason(struct scan *s)
{
	size_t start = s->pos, n;
	int rc;
	char c;

	for (; s->pos < s->end; s->pos++) {
		c = s->buf[s->pos];
		if (IS_VCHAR(c) || IS_WS(c))
			continue;
		if (!is_crlf(c))
			return fail(s, TT_H1_ERR_STATUS, s->pos);
		s->h->reason = s->buf + start;
		s->h->reason_len = s->pos - start;
		rc = eol(s, &n);
		if (rc != ST_OK)
			return rc;
		s->pos += n;
		return ST_OK;
	}
	return more(s);
}

/*
 * status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112
 * section 4). As RFC 9112 section 4 asks of clients, a missing final SP
 * ("HTTP/1.1 200" CRLF) is accepted too.
 */
static int parse_status_line(struct scan *s)
{
	int rc, major, i;
	char c;

	rc = parse_version(s, &major);
	if (rc != ST_OK)
		return rc;
	if (s->pos >= s->end)
		return more(s);
	c = s->buf[s->pos];
	if (c != ' ')
		return is_crlf(c) ? bad_eol(s, TT_H1_ERR_STATUS)
		                  : fail(s, TT_H1_ERR_VERSION, s->pos);
	rc = version_supported(s, major, 0);
	if (rc != ST_OK)
		return rc;
	s->pos++;
	for (i = 0; i < 3; i++, s->pos++) {
		if (s->pos >= s->end)
			return more(s);
		c = s->buf[s->pos];
		if (!IS_DIGIT(c) || (i == 0 && c == '0'))
			return is_crlf(c) ? bad_eol(s, TT_H1_ERR_STATUS)
			                  : fail(s, TT_H1_ERR_STATUS, s->pos);
		s->h->status = s->h->status * 10 + (c - '0');
	}
	if (s->pos >= s->end)
		return more(s);
	c = s->buf[s->pos];
	if (c == ' ') {
		s->pos++;
		return parse_reason(s);
	}
	if (!is_crlf(c))
		return fail(s, TT_H1_ERR_STATUS, s->pos);
	return parse_reason(s);
}

/* The first offset a content byte of the field line starting at
 * line_start may not have (its cap), computed once per line. */
static size_t field_room_end(const struct scan *s, size_t line_start)
{
	size_t max = s->lim->max_field_bytes;

	if (max > UINT32_MAX)
		max = UINT32_MAX; /* name_len and value_len are 32-bit */
	return line_start + max;
}

/* field-name ":" OWS field-value OWS (RFC 9112 section 5). */
static int parse_field(struct scan *s)
{
	struct tt_h1_field *f = &s->h->fields[s->h->nfields];
	size_t start = s->pos, vstart, vend, n;
	size_t room = field_room_end(s, start);
	int rc;
	char c;

	for (;; s->pos++) {
		if (s->pos >= s->end)
			return more(s);
		if (s->pos >= room)
			return fail(s, TT_H1_ERR_FIELD_TOO_LARGE, s->pos);
		c = s->buf[s->pos];
		if (c == ':' && s->pos > start)
			break;
		/* RFC 9112 section 5.1: no whitespace before the colon. */
		if (!IS_TCHAR(c))
			return is_crlf(c) ? bad_eol(s, TT_H1_ERR_FIELD_NAME)
			                  : fail(s, TT_H1_ERR_FIELD_NAME, s->pos);
		/* the rest of the name's token characters in one go */
		size_t stop = s->end < room ? s->end : room;
		while (s->pos + 1 < stop && IS_TCHAR(s->buf[s->pos + 1]))
			s->pos++;
	}
	f->name = s->buf + start;
	f->name_len = (uint32_t)(s->pos - start);
	vstart = vend = 0;
	for (s->pos++;; s->pos++) {
		if (s->pos >= s->end)
			return more(s);
		c = s->buf[s->pos];
		if (is_crlf(c))
			break;
		if (s->pos >= room)
			return fail(s, TT_H1_ERR_FIELD_TOO_LARGE, s->pos);
		if (IS_VCHAR(c)) {
			if (!vstart)
				vstart = s->pos;
			/* the rest of a run of visible characters in one go */
			size_t stop = s->end < room ? s->end : room;
			while (s->pos + 1 < stop && IS_VCHAR(s->buf[s->pos + 1]))
				s->pos++;
			vend = s->pos + 1;
		} else if (!IS_WS(c)) {
			/* RFC 9110 section 5.5: NUL and other CTLs are invalid. */
			return fail(s, TT_H1_ERR_FIELD_VALUE, s->pos);
		}
	}
	rc = eol(s, &n);
	if (rc != ST_OK)
		return rc;
	if (!vstart)
		vstart = vend = s->pos;
	f->value = s->buf + vstart;
	f->value_len = (uint32_t)(vend - vstart);
	s->h->nfields++;
	s->pos += n;
	return ST_OK;
}

/* *( field-line CRLF ) CRLF, the rest of the head (RFC 9112 section 2.1). */
static int parse_fields(struct scan *s)
{
	size_t n;
	int rc;
	char c;

	for (;;) {
		if (s->pos >= s->end)
			return more(s);
		c = s->buf[s->pos];
		if (is_crlf(c)) {
			rc = eol(s, &n);
			if (rc != ST_OK)
				return rc;
			s->pos += n;
			s->h->head_len = s->pos;
			return ST_OK;
		}
		/* RFC 9112 section 2.2: whitespace between the start-line and
		 * the first field is rejected; RFC 9112 section 5.2: so is
		 * obs-fold, which a proxy may not pass on. */
		if (IS_WS(c))
			return fail(s, s->h->nfields ? TT_H1_ERR_OBS_FOLD : TT_H1_ERR_FIELD_NAME,
			            s->pos);
		if (s->h->nfields >= s->lim->max_fields)
			return fail(s, TT_H1_ERR_TOO_MANY_FIELDS, s->pos);
		rc = parse_field(s);
		if (rc != ST_OK)
			return rc;
	}
}

/* What the fields say about framing and the connection. */
struct facts {
	const struct tt_h1_field *host;
	const struct tt_h1_field *cl; /* first Content-Length */
	const struct tt_h1_field *te; /* first Transfer-Encoding */
	unsigned te_chunked;          /* times "chunked" was listed */
	unsigned te_last_chunked : 1; /* the last coding listed is chunked */
	unsigned te_other : 1;        /* some coding other than chunked */
};

static size_t off(const struct scan *s, const char *p)
{
	return (size_t)(p - s->buf);
}

/*
 * Content-Length = 1*DIGIT (RFC 9110 section 8.6); a list of identical
 * values, from one line or several, counts as one (RFC 9112 section 6.3).
 * Up to 19 digits, so the value always fits in 64 bits.
 */
static int content_length(struct scan *s, const struct tt_h1_field *f, struct facts *fx)
{
	const char *v = f->value;
	size_t i = 0, digits;
	uint64_t n;

	for (;;) {
		for (n = 0, digits = 0; i < f->value_len && IS_DIGIT(v[i]); i++, digits++) {
			if (digits == 19)
				return fail(s, TT_H1_ERR_CONTENT_LENGTH, off(s, v + i));
			n = n * 10 + (uint64_t)(v[i] - '0');
		}
		if (digits == 0 || (fx->cl && n != s->h->content_length))
			return fail(s, TT_H1_ERR_CONTENT_LENGTH, off(s, v + i - digits));
		fx->cl = f;
		s->h->content_length = n;
		while (i < f->value_len && IS_WS(v[i]))
			i++;
		if (i == f->value_len)
			return ST_OK;
		if (v[i] != ',')
			return fail(s, TT_H1_ERR_CONTENT_LENGTH, off(s, v + i));
		for (i++; i < f->value_len && IS_WS(v[i]); i++)
			;
	}
}

/* Transfer-Encoding = #transfer-coding (RFC 9112 section 6.1), read over
 * every line of the field in order. Codings are case-insensitive. */
static void transfer_encoding(const struct tt_h1_field *f, struct facts *fx)
{
	const char *e;
	size_t pos = 0, n;

	if (!fx->te)
		fx->te = f;
	while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n)) {
		fx->te_last_chunked = tt_h1_name_eq(e, n, "chunked");
		if (fx->te_last_chunked)
			fx->te_chunked++;
		else
			fx->te_other = 1;
	}
}

/* Connection options (RFC 9110 section 7.6.1). */
static void connection(struct tt_h1_head *h, const struct tt_h1_field *f)
{
	const char *e;
	size_t pos = 0, n;

	while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n)) {
		if (tt_h1_name_eq(e, n, "close"))
			h->conn_close = 1;
		else if (tt_h1_name_eq(e, n, "keep-alive"))
			h->conn_keep_alive = 1;
		else if (tt_h1_name_eq(e, n, "upgrade"))
			h->conn_upgrade = 1;
	}
}

/* Host (RFC 9110 section 7.2): at most one, and valid. Requests only. */
static int host_field(struct scan *s, const struct tt_h1_field *f, struct facts *fx)
{
	if (fx->host)
		return fail(s, TT_H1_ERR_HOST_REPEATED, off(s, f->name));
	if (!tt_uri_host_valid(f->value, f->value_len, 0))
		return fail(s, TT_H1_ERR_HOST_INVALID, off(s, f->value));
	fx->host = f;
	return ST_OK;
}

static int walk_fields(struct scan *s, struct facts *fx)
{
	struct tt_h1_head *h = s->h;
	const struct tt_h1_field *f;
	size_t i;

	for (i = 0; i < h->nfields; i++) {
		f = &h->fields[i];
		/* the names below all differ in length: most fields are ruled
		 * out without comparing a byte */
		switch (f->name_len) {
		case 4:
		case 6:
		case 7:
		case 10:
		case 14:
		case 17: break;
		default: continue;
		}
		if (tt_h1_name_eq(f->name, f->name_len, "host")) {
			if (s->is_request && host_field(s, f, fx) != ST_OK)
				return ST_ERR;
		} else if (tt_h1_name_eq(f->name, f->name_len, "content-length")) {
			if (content_length(s, f, fx) != ST_OK)
				return ST_ERR;
		} else if (tt_h1_name_eq(f->name, f->name_len, "transfer-encoding")) {
			h->has_te = 1;
			transfer_encoding(f, fx);
		} else if (tt_h1_name_eq(f->name, f->name_len, "connection")) {
			connection(h, f);
		} else if (tt_h1_name_eq(f->name, f->name_len, "upgrade")) {
			h->has_upgrade = 1;
		} else if (tt_h1_name_eq(f->name, f->name_len, "expect")) {
			/* RFC 9110 section 10.1.1: ignored in HTTP/1.0. */
			if (s->is_request && h->version_minor == 1 &&
			    tt_h1_name_eq(f->value, f->value_len, "100-continue"))
				h->expect_continue = 1;
		}
	}
	/* RFC 9112 section 9.3: HTTP/1.0 closes unless keep-alive is sent. */
	if (h->version_minor == 0 && !h->conn_keep_alive)
		h->conn_close = 1;
	return ST_OK;
}

/*
 * Transfer-Encoding checks shared by both directions (RFC 9112 section
 * 6.1): never with Content-Length (a proxy must not forward ambiguous
 * framing: RFC 9112 section 6.3 item 3), never in HTTP/1.0 (faulty
 * framing), chunked at most once.
 */
static int te_common(struct scan *s, const struct facts *fx)
{
	if (fx->cl)
		return fail(s, TT_H1_ERR_CL_AND_TE, off(s, fx->te->name));
	if (s->h->version_minor == 0)
		return fail(s, TT_H1_ERR_TE_HTTP10, off(s, fx->te->name));
	if (fx->te_chunked > 1)
		return fail(s, TT_H1_ERR_TE_NOT_CHUNKED, off(s, fx->te->value));
	return ST_OK;
}

/* Request framing, RFC 9112 section 6.3 items 3-6. */
static int request_framing(struct scan *s, const struct facts *fx)
{
	struct tt_h1_head *h = s->h;

	if (!h->has_te) {
		h->framing = fx->cl ? TT_H1_BODY_LENGTH : TT_H1_BODY_NONE;
		return ST_OK;
	}
	if (te_common(s, fx) != ST_OK)
		return ST_ERR;
	/* Section 6.3 item 4: chunked must be the final coding, else 400. */
	if (!fx->te_last_chunked)
		return fail(s, TT_H1_ERR_TE_NOT_CHUNKED, off(s, fx->te->value));
	/* RFC 9112 section 6.1: a coding we do not know is a 501. */
	if (fx->te_other)
		return fail(s, TT_H1_ERR_TE_UNKNOWN, off(s, fx->te->value));
	h->framing = TT_H1_BODY_CHUNKED;
	return ST_OK;
}

/* Response framing, RFC 9112 section 6.3 items 1-7. */
static int response_framing(struct scan *s, const struct facts *fx, enum tt_h1_method req)
{
	struct tt_h1_head *h = s->h;

	if (h->status < 200 || h->status == 204 || h->status == 304 || req == TT_METHOD_HEAD ||
	    (req == TT_METHOD_CONNECT && h->status < 300)) {
		h->framing = TT_H1_BODY_NONE;
		return ST_OK;
	}
	if (!h->has_te) {
		h->framing = fx->cl ? TT_H1_BODY_LENGTH : TT_H1_BODY_CLOSE;
		return ST_OK;
	}
	if (te_common(s, fx) != ST_OK)
		return ST_ERR;
	if (!fx->te_last_chunked) {
		h->framing = TT_H1_BODY_CLOSE; /* section 6.3 item 4 */
		return ST_OK;
	}
	if (fx->te_other)
		return fail(s, TT_H1_ERR_TE_UNKNOWN, off(s, fx->te->value));
	h->framing = TT_H1_BODY_CHUNKED;
	return ST_OK;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive equality of two slices of n bytes. */
static int ci_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return 0;
	return 1;
}

/* RFC 9112 section 3.2.2 / RFC 9110 section 7.2: every HTTP/1.1 request
 * has one Host; with an absolute-form target it must name the same
 * authority, or the gateway and the origin could route it differently. */
static int request_host(struct scan *s, const struct facts *fx)
{
	struct tt_h1_head *h = s->h;

	if (fx->host) {
		h->host = fx->host->value;
		h->host_len = fx->host->value_len;
		if (s->authority &&
		    (s->authority_len != h->host_len || !ci_eq(s->authority, h->host, h->host_len)))
			return fail(s, TT_H1_ERR_HOST_INVALID, off(s, h->host));
		return ST_OK;
	}
	if (h->version_minor == 1)
		return fail(s, TT_H1_ERR_HOST_MISSING, h->head_len - 1);
	h->host = s->authority;
	h->host_len = s->authority ? s->authority_len : 0;
	return ST_OK;
}

static void scan_init(struct scan *s, const char *buf, size_t len, const struct tt_h1_limits *lim,
                      struct tt_h1_head *out)
{
	struct tt_h1_field *fields = out->fields;

	memset(out, 0, sizeof(*out));
	out->fields = fields;
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->len = len;
	s->end = len < lim->max_head_bytes ? len : lim->max_head_bytes;
	s->lim = lim;
	s->h = out;
}

static ssize_t result(struct scan *s, int rc)
{
	if (rc == ST_MORE)
		return TT_H1_INCOMPLETE;
	if (rc == ST_ERR)
		return TT_H1_ERROR;
	return (ssize_t)s->h->head_len;
}

ssize_t tt_h1_parse_request(const char *buf, size_t len, const struct tt_h1_limits *lim,
                            struct tt_h1_head *out)
{
	struct facts fx = {0};
	struct scan s;
	int rc;

	scan_init(&s, buf, len, lim, out);
	s.is_request = 1;
	rc = parse_request_line(&s);
	if (rc == ST_OK)
		rc = parse_fields(&s);
	if (rc == ST_OK)
		rc = walk_fields(&s, &fx);
	if (rc == ST_OK)
		rc = request_host(&s, &fx);
	if (rc == ST_OK)
		rc = request_framing(&s, &fx);
	return result(&s, rc);
}

ssize_t tt_h1_parse_response(const char *buf, size_t len, enum tt_h1_method request_method,
                             const struct tt_h1_limits *lim, struct tt_h1_head *out)
{
	struct facts fx = {0};
	struct scan s;
	int rc;

	scan_init(&s, buf, len, lim, out);
	rc = parse_status_line(&s);
	if (rc == ST_OK)
		rc = parse_fields(&s);
	if (rc == ST_OK)
		rc = walk_fields(&s, &fx);
	if (rc == ST_OK)
		rc = response_framing(&s, &fx, request_method);
	return result(&s, rc);
}

/* Is the LF at buf[i] the end of an empty line that follows another line? */
static int ends_head(const char *buf, size_t i)
{
	return i >= 1 &&
	       (buf[i - 1] == '\n' || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n'));
}

size_t tt_h1_head_end(const char *buf, size_t len, size_t *scan)
{
	size_t i = *scan, first = 0;

	/* Empty lines before the start line are no end (RFC 9112 2.2). */
	while (first < len && is_crlf(buf[first]))
		first++;
	if (i < first + 1)
		i = first + 1;
	for (; i < len; i++) {
		if (buf[i] == '\n' && ends_head(buf, i)) {
			*scan = i + 1;
			return i + 1;
		}
	}
	if (*scan < len)
		*scan = len;
	return 0;
}

int tt_h1_err_status(enum tt_h1_err err)
{
	switch (err) {
	case TT_H1_ERR_TARGET_TOO_LONG: return 414;
	case TT_H1_ERR_HEAD_TOO_LARGE:
	case TT_H1_ERR_FIELD_TOO_LARGE:
	case TT_H1_ERR_TOO_MANY_FIELDS: return 431;
	case TT_H1_ERR_TE_UNKNOWN: return 501;
	case TT_H1_ERR_VERSION_UNSUPPORTED: return 505;
	default: return 400;
	}
}

static const char *const err_tokens[TT_H1_ERR__COUNT] = {
    [TT_H1_OK] = "ok",
    [TT_H1_ERR_METHOD] = "bad_method",
    [TT_H1_ERR_TARGET] = "bad_target",
    [TT_H1_ERR_TARGET_TOO_LONG] = "target_too_long",
    [TT_H1_ERR_VERSION] = "bad_version",
    [TT_H1_ERR_VERSION_UNSUPPORTED] = "version_unsupported",
    [TT_H1_ERR_STATUS] = "bad_status",
    [TT_H1_ERR_FIELD_NAME] = "bad_field_name",
    [TT_H1_ERR_FIELD_VALUE] = "bad_field_value",
    [TT_H1_ERR_OBS_FOLD] = "obs_fold",
    [TT_H1_ERR_BARE_CR] = "bare_cr",
    [TT_H1_ERR_HEAD_TOO_LARGE] = "head_too_large",
    [TT_H1_ERR_FIELD_TOO_LARGE] = "field_too_large",
    [TT_H1_ERR_TOO_MANY_FIELDS] = "too_many_fields",
    [TT_H1_ERR_CONTENT_LENGTH] = "bad_content_length",
    [TT_H1_ERR_CL_AND_TE] = "cl_and_te",
    [TT_H1_ERR_TE_NOT_CHUNKED] = "te_not_chunked",
    [TT_H1_ERR_TE_UNKNOWN] = "te_unknown",
    [TT_H1_ERR_TE_HTTP10] = "te_http10",
    [TT_H1_ERR_HOST_MISSING] = "host_missing",
    [TT_H1_ERR_HOST_REPEATED] = "host_repeated",
    [TT_H1_ERR_HOST_INVALID] = "host_invalid",
};

const char *tt_h1_err_token(enum tt_h1_err err)
{
	if ((unsigned)err >= TT_H1_ERR__COUNT || !err_tokens[err])
		return "unknown";
	return err_tokens[err];
}

int tt_h1_list_next(const char *value, size_t value_len, size_t *pos, const char **elem,
                    size_t *elem_len)
{
	size_t i = *pos, start, end;

	while (i < value_len) {
		while (i < value_len && (IS_WS(value[i]) || value[i] == ','))
			i++;
		start = i;
		while (i < value_len && value[i] != ',')
			i++;
		end = i;
		while (end > start && IS_WS(value[end - 1]))
			end--;
		if (end > start) {
			*elem = value + start;
			*elem_len = end - start;
			*pos = i;
			return 1;
		}
	}
	*pos = i;
	return 0;
}

int tt_h1_name_eq(const char *s, size_t len, const char *lower_lit)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (lower_lit[i] == '\0' || lower((unsigned char)s[i]) != lower_lit[i])
			return 0;
	return lower_lit[len] == '\0';
}

const struct tt_h1_field *tt_h1_find(const struct tt_h1_head *h, const char *lower_name)
{
	size_t i, len = strlen(lower_name);

	/* fields of another length are ruled out without a byte compared */
	for (i = 0; i < h->nfields; i++)
		if (h->fields[i].name_len == len &&
		    tt_h1_name_eq(h->fields[i].name, h->fields[i].name_len, lower_name))
			return &h->fields[i];
	return NULL;
}

int tt_h1_method_idempotent(enum tt_h1_method m)
{
	switch (m) {
	case TT_METHOD_GET:
	case TT_METHOD_HEAD:
	case TT_METHOD_OPTIONS:
	case TT_METHOD_TRACE:
	case TT_METHOD_PUT:
	case TT_METHOD_DELETE: return 1;
	default: return 0;
	}
}
