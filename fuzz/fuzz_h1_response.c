/*
 * libFuzzer target for tt_h1_parse_response (src/http/h1_parse.c). The
 * first input byte picks the method of the request being answered; the
 * rest is the response head.
 *
 * Besides crashes and sanitizer reports, it aborts when an invariant of
 * h1_parse.h breaks: slices outside the head, CR/LF/NUL or edge whitespace
 * in a field, a body framing RFC 9112 section 6.3 forbids, a prefix of the
 * input giving anything but INCOMPLETE or the whole input's outcome, a
 * re-parse of the head alone disagreeing, or tt_h1_head_end disagreeing
 * with the parser on where the head ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/h1_parse.h"

#define MAX_FIELDS 16

static const struct tt_h1_limits lim = {
    .max_head_bytes = 2048,
    .max_target_bytes = 256,
    .max_field_bytes = 512,
    .max_fields = MAX_FIELDS,
};

static enum tt_h1_method req_method;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

/* Parse an exact-size copy so ASan sees any read past len. */
static ssize_t parse(const uint8_t *data, size_t len, struct tt_h1_head *h,
                     struct tt_h1_field *fields, char **keep)
{
	char *buf = malloc(len ? len : 1);
	ssize_t r;

	CHECK(buf);
	if (len)
		memcpy(buf, data, len);
	h->fields = fields;
	r = tt_h1_parse_response(buf, len, req_method, &lim, h);
	if (keep)
		*keep = buf;
	else
		free(buf);
	return r;
}

static int inside(const char *base, size_t n, const char *p, size_t plen)
{
	return p >= base && p + plen <= base + n;
}

static void check_value(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		CHECK(v[i] != '\r' && v[i] != '\n' && v[i] != '\0');
	if (n)
		CHECK(!tt_h1_is(v[0], TT_H1_C_WS) && !tt_h1_is(v[n - 1], TT_H1_C_WS));
}

static void check_ok(const char *buf, size_t len, ssize_t r, const struct tt_h1_head *h)
{
	size_t i, scan = 0, k;

	CHECK((size_t)r == h->head_len && h->head_len <= len && h->head_len <= lim.max_head_bytes);
	CHECK(!h->method && !h->target && !h->host);
	CHECK(h->status >= 100 && h->status <= 999);
	CHECK(inside(buf, h->head_len, h->reason, h->reason_len));
	CHECK(h->version_minor == 0 || h->version_minor == 1);
	CHECK(h->nfields <= lim.max_fields);
	for (i = 0; i < h->nfields; i++) {
		const struct tt_h1_field *f = &h->fields[i];

		CHECK(inside(buf, h->head_len, f->name, f->name_len) && f->name_len > 0);
		CHECK(inside(buf, h->head_len, f->value, f->value_len));
		for (k = 0; k < f->name_len; k++)
			CHECK(tt_h1_is(f->name[k], TT_H1_C_TCHAR));
		check_value(f->value, f->value_len);
	}
	/* RFC 9112 section 6.3 items 1 and 2. */
	if (h->status < 200 || h->status == 204 || h->status == 304 || req_method == TT_METHOD_HEAD)
		CHECK(h->framing == TT_H1_BODY_NONE);
	else if (req_method != TT_METHOD_CONNECT)
		CHECK(h->framing != TT_H1_BODY_NONE);
	if (h->version_minor == 0)
		CHECK(h->conn_close || h->conn_keep_alive);
	CHECK(!(h->framing == TT_H1_BODY_CHUNKED && tt_h1_find(h, "content-length")));
	CHECK(h->framing != TT_H1_BODY_CHUNKED || h->has_te);
	CHECK(h->err == TT_H1_OK);
	CHECK(tt_h1_head_end(buf, len, &scan) == h->head_len);
	/* Over a growing buffer, resuming the scan finds the same end. */
	scan = 0;
	for (k = 0; k <= h->head_len; k++)
		if ((i = tt_h1_head_end(buf, k, &scan)) != 0)
			break;
	CHECK(i == h->head_len && k == h->head_len);
}

static void check_err(size_t len, const struct tt_h1_head *h)
{
	CHECK(h->err > TT_H1_OK && h->err < TT_H1_ERR__COUNT);
	CHECK(h->err_offset <= len);
	if (h->err != TT_H1_ERR_HEAD_TOO_LARGE)
		CHECK(h->err_offset < len);
	CHECK(tt_h1_err_status(h->err) >= 400);
	CHECK(strcmp(tt_h1_err_token(h->err), "unknown") != 0);
}

/* A prefix gives INCOMPLETE or exactly the whole input's outcome. */
static void check_prefix(const uint8_t *data, size_t k, ssize_t r, const struct tt_h1_head *h)
{
	static struct tt_h1_field fields[MAX_FIELDS];
	struct tt_h1_head p;
	ssize_t rp = parse(data, k, &p, fields, NULL);

	if (rp == TT_H1_INCOMPLETE) {
		CHECK(k < lim.max_head_bytes);
		CHECK(r <= 0 || (size_t)r > k);
		return;
	}
	CHECK(rp == r);
	if (r == TT_H1_ERROR)
		CHECK(p.err == h->err && p.err_offset == h->err_offset);
	else
		CHECK(p.nfields == h->nfields && p.framing == h->framing &&
		      p.content_length == h->content_length);
}

/* The head alone, copied elsewhere, parses to the same fields. */
static void check_reparse(const char *buf, const struct tt_h1_head *h)
{
	static struct tt_h1_field fields[MAX_FIELDS];
	struct tt_h1_head p;
	char *copy;
	size_t i;

	CHECK(parse((const uint8_t *)buf, h->head_len, &p, fields, &copy) == (ssize_t)h->head_len);
	CHECK(p.nfields == h->nfields && p.status == h->status && p.framing == h->framing);
	CHECK(p.reason - copy == h->reason - buf && p.reason_len == h->reason_len);
	for (i = 0; i < h->nfields; i++) {
		CHECK(p.fields[i].name - copy == h->fields[i].name - buf);
		CHECK(p.fields[i].value - copy == h->fields[i].value - buf);
		CHECK(p.fields[i].value_len == h->fields[i].value_len);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct tt_h1_field fields[MAX_FIELDS];
	struct tt_h1_head h;
	char *buf;
	size_t k, step;
	ssize_t r;

	if (len == 0)
		return 0;
	req_method = (enum tt_h1_method)(data[0] % (TT_METHOD_PATCH + 1));
	data++;
	len--;
	r = parse(data, len, &h, fields, &buf);

	if (r > 0) {
		check_ok(buf, len, r, &h);
		check_reparse(buf, &h);
	} else if (r == TT_H1_ERROR) {
		check_err(len, &h);
	} else {
		CHECK(r == TT_H1_INCOMPLETE && len < lim.max_head_bytes);
	}
	/* Every prefix of short inputs, a sample of long ones. */
	step = len <= 300 ? 1 : len / 97 + 1;
	for (k = 0; k < len; k += step)
		check_prefix(data, k, r, &h);
	if (len > 0)
		check_prefix(data, len - 1, r, &h);
	free(buf);
	return 0;
}
