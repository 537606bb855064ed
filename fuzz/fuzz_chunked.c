/*
 * libFuzzer target for tt_chunked_decode (src/http/chunked.c). The first
 * input byte picks the caps (default or small, so the cap checks are
 * reached) and a split point; the rest is the chunked body.
 *
 * Besides crashes and sanitizer reports, it aborts when an invariant of
 * chunked.h breaks: a data span outside the input, more data than input,
 * consumed bytes past the input, an error offset other than where decoding
 * stopped, or different data or outcome when the same bytes are fed whole,
 * in two pieces, or one byte at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

struct run {
	enum tt_chunked_ret ret;
	enum tt_chunked_err err;
	uint64_t err_offset;
	uint64_t total;
	size_t used;
	char *data; /* capacity: the input length */
	size_t data_len;
};

static void start(struct tt_chunked *d, uint8_t knobs)
{
	tt_chunked_init(d);
	if (knobs & 1)
		d->max_chunk_bytes = 64;
	if (knobs & 2)
		d->max_ext_bytes = 16;
	if (knobs & 4)
		d->max_trailer_bytes = 32;
}

/* Feed in[a..b) from an exact-size copy; returns 0 once DONE or ERROR. */
static int feed(struct tt_chunked *d, const uint8_t *in, size_t a, size_t b, struct run *r,
                size_t cap)
{
	size_t n = b - a, p = 0, used, dlen;
	char *piece = malloc(n ? n : 1);
	const char *data;
	enum tt_chunked_ret ret;

	CHECK(piece);
	if (n)
		memcpy(piece, in + a, n);
	for (;;) {
		ret = tt_chunked_decode(d, piece + p, n - p, &used, &data, &dlen);
		CHECK(used <= n - p);
		p += used;
		if (ret != TT_CHUNKED_DATA)
			break;
		CHECK(dlen > 0 && data >= piece && data + dlen <= piece + p);
		CHECK(r->data_len + dlen <= cap);
		memcpy(r->data + r->data_len, data, dlen);
		r->data_len += dlen;
	}
	free(piece);
	r->ret = ret;
	if (ret == TT_CHUNKED_NEED_MORE) {
		CHECK(p == n);
		return 1;
	}
	CHECK(ret == TT_CHUNKED_DONE || ret == TT_CHUNKED_ERROR);
	r->used = a + p;
	r->err = d->err;
	r->err_offset = d->err_offset;
	r->total = d->total;
	return 0;
}

/* Decode in[0..len) in pieces of `step` bytes, the first cut at `first`. */
static void run(const uint8_t *in, size_t len, uint8_t knobs, size_t first, size_t step,
                struct run *r)
{
	struct tt_chunked d;
	size_t a = 0, b;

	r->data_len = 0;
	r->used = len;
	r->err = TT_CHUNKED_OK;
	r->err_offset = 0;
	start(&d, knobs);
	b = first < len ? first : len;
	for (;;) {
		if (!feed(&d, in, a, b, r, len))
			return;
		if (b == len)
			break;
		a = b;
		b = len - a > step ? a + step : len;
	}
	r->total = d.total;
	CHECK(d.total == len);
}

static void same(const struct run *x, const struct run *y)
{
	CHECK(x->ret == y->ret && x->err == y->err && x->err_offset == y->err_offset);
	CHECK(x->used == y->used && x->total == y->total);
	CHECK(x->data_len == y->data_len && memcmp(x->data, y->data, x->data_len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct run whole, split, bytes;
	uint8_t knobs;
	size_t cut;

	if (len == 0)
		return 0;
	knobs = data[0];
	data++;
	len--;
	whole.data = malloc(len + 1);
	split.data = malloc(len + 1);
	bytes.data = malloc(len + 1);
	CHECK(whole.data && split.data && bytes.data);

	run(data, len, knobs, len, len, &whole);
	CHECK(whole.used <= len && whole.data_len <= whole.used);
	if (whole.ret == TT_CHUNKED_ERROR) {
		CHECK(whole.err != TT_CHUNKED_OK && whole.err_offset == whole.used);
		CHECK(whole.used < len);
		CHECK(strcmp(tt_chunked_err_token(whole.err), "unknown") != 0);
	} else {
		CHECK(whole.err == TT_CHUNKED_OK && whole.total == whole.used);
	}
	if (whole.ret == TT_CHUNKED_DONE)
		CHECK(whole.used >= 5); /* "0" CRLF CRLF at least */

	cut = len ? (size_t)(knobs >> 3) * len / 32 : 0;
	run(data, len, knobs, cut, len, &split);
	same(&whole, &split);
	run(data, len, knobs, 1, 1, &bytes);
	same(&whole, &bytes);

	free(whole.data);
	free(split.data);
	free(bytes.data);
	return 0;
}
