/*
 * Tests for src/http/chunked.c. Each vector is decoded whole, in two pieces
 * split at every offset, and one byte at a time; the concatenated data, the
 * outcome, the error and its offset, and the bytes used must all agree.
 * Every piece is an exact-size heap copy so ASan catches a read past it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "http/chunked.h"

#define S(lit) lit, sizeof(lit) - 1

/* Caps applied after tt_chunked_init; 0 keeps the default. */
static uint64_t cap_chunk;
static uint32_t cap_ext, cap_trailer;

static void setup(void)
{
	cap_chunk = 0;
	cap_ext = cap_trailer = 0;
}

TestSuite(chunked, .init = setup);

struct run {
	enum tt_chunked_ret ret; /* NEED_MORE when the input ran out */
	enum tt_chunked_err err;
	uint64_t err_offset;
	size_t used; /* input bytes consumed up to DONE or ERROR */
	char data[1024];
	size_t data_len;
};

static void start(struct tt_chunked *d)
{
	tt_chunked_init(d);
	if (cap_chunk)
		d->max_chunk_bytes = cap_chunk;
	if (cap_ext)
		d->max_ext_bytes = cap_ext;
	if (cap_trailer)
		d->max_trailer_bytes = cap_trailer;
}

/* Feed in[a..b) as one piece; returns 0 once DONE or ERROR. */
static int feed(struct tt_chunked *d, const char *in, size_t a, size_t b, struct run *r)
{
	char *piece = malloc(b - a ? b - a : 1);
	const char *data;
	size_t p = 0, used, dlen;
	enum tt_chunked_ret ret;

	cr_assert(piece);
	memcpy(piece, in + a, b - a);
	for (;;) {
		ret = tt_chunked_decode(d, piece + p, b - a - p, &used, &data, &dlen);
		cr_assert_leq(used, b - a - p);
		p += used;
		if (ret == TT_CHUNKED_DATA) {
			cr_assert(dlen > 0 && data >= piece && data + dlen <= piece + p);
			cr_assert_leq(r->data_len + dlen, sizeof(r->data));
			memcpy(r->data + r->data_len, data, dlen);
			r->data_len += dlen;
			continue;
		}
		r->ret = ret;
		if (ret == TT_CHUNKED_NEED_MORE)
			cr_assert_eq(p, b - a);
		break;
	}
	free(piece);
	if (ret == TT_CHUNKED_NEED_MORE)
		return 1;
	r->used = a + p;
	r->err = d->err;
	r->err_offset = d->err_offset;
	return 0;
}

/* Decode in[0..n) cut at the offsets in cuts[0..ncuts) (ascending). */
static void run_cuts(const char *in, size_t n, const size_t *cuts, size_t ncuts, struct run *r)
{
	struct tt_chunked d;
	size_t a = 0, i;

	memset(r, 0, sizeof(*r));
	start(&d);
	for (i = 0; i <= ncuts; i++) {
		size_t b = i < ncuts ? cuts[i] : n;

		if (!feed(&d, in, a, b, r))
			return;
		a = b;
	}
	r->used = n;
}

static void same(const struct run *a, const struct run *b, const char *how, size_t at)
{
	cr_assert_eq(a->ret, b->ret, "%s %zu: ret %d vs %d", how, at, a->ret, b->ret);
	cr_assert_eq(a->err, b->err, "%s %zu: err %s vs %s", how, at, tt_chunked_err_token(a->err),
	             tt_chunked_err_token(b->err));
	cr_assert_eq(a->err_offset, b->err_offset, "%s %zu: err_offset", how, at);
	cr_assert_eq(a->used, b->used, "%s %zu: used %zu vs %zu", how, at, a->used, b->used);
	cr_assert_eq(a->data_len, b->data_len, "%s %zu: data_len", how, at);
	cr_assert(memcmp(a->data, b->data, a->data_len) == 0, "%s %zu: data differs", how, at);
}

/* Whole, every two-piece split, and byte by byte; returns the whole run. */
static struct run decode(const char *in, size_t n)
{
	struct run whole, other;
	size_t k, *cuts = malloc((n ? n : 1) * sizeof(size_t));

	cr_assert(cuts);
	run_cuts(in, n, NULL, 0, &whole);
	for (k = 0; k <= n; k++) {
		run_cuts(in, n, &k, 1, &other);
		same(&whole, &other, "split at", k);
	}
	for (k = 0; k < n; k++)
		cuts[k] = k + 1;
	run_cuts(in, n, cuts, n ? n - 1 : 0, &other);
	same(&whole, &other, "byte by byte", 0);
	free(cuts);
	return whole;
}

static void ok_n(const char *in, size_t n, const char *want, size_t want_len, size_t want_used)
{
	struct run r = decode(in, n);

	cr_assert_eq(r.ret, TT_CHUNKED_DONE, "ret %d err %s@%llu", r.ret,
	             tt_chunked_err_token(r.err), (unsigned long long)r.err_offset);
	cr_assert_eq(r.used, want_used);
	cr_assert_eq(r.data_len, want_len);
	cr_assert(memcmp(r.data, want, r.data_len) == 0);
}

static void err_n(const char *in, size_t n, enum tt_chunked_err want, uint64_t want_off)
{
	struct run r = decode(in, n);

	cr_assert_eq(r.ret, TT_CHUNKED_ERROR, "want %s, ret %d", tt_chunked_err_token(want), r.ret);
	cr_assert_eq(r.err, want, "want %s, got %s@%llu", tt_chunked_err_token(want),
	             tt_chunked_err_token(r.err), (unsigned long long)r.err_offset);
	cr_assert_eq(r.err_offset, want_off, "%s at %llu, want %llu", tt_chunked_err_token(r.err),
	             (unsigned long long)r.err_offset, (unsigned long long)want_off);
	cr_assert_eq(r.used, want_off);
}

#define OK(lit, want)    ok_n(S(lit), S(want), sizeof(lit) - 1)
#define ERR(lit, e, off) err_n(S(lit), e, off)

/* Valid bodies. */

Test(chunked, one_chunk)
{
	OK("5\r\nhello\r\n0\r\n\r\n", "hello");
}

Test(chunked, empty_body)
{
	OK("0\r\n\r\n", "");
}

Test(chunked, several_chunks_hex_either_case)
{
	OK("a\r\n0123456789\r\nA\r\nabcdefghij\r\n1\r\n!\r\n0\r\n\r\n", "0123456789abcdefghij!");
	OK("1f\r\n0123456789012345678901234567890\r\n0\r\n\r\n", "0123456789012345678901234567890");
}

Test(chunked, leading_zeros_in_size)
{
	OK("0005\r\nhello\r\n000\r\n\r\n", "hello");
	OK("00000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", "hello");
}

Test(chunked, data_may_hold_crlf_and_any_byte)
{
	OK("6\r\n\r\n\0\xff\n\r\r\n0\r\n\r\n", "\r\n\0\xff\n\r");
}

Test(chunked, extensions_token_and_quoted)
{
	OK("5;a\r\nhello\r\n0\r\n\r\n", "hello");
	OK("5;a=b;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n", "hello");
	OK("5 ; a = b ;\tc\t=\t\"x\\\"y\\\\\"\r\nhello\r\n0\r\n\r\n", "hello");
	OK("5;a=\"\"\r\nhello\r\n0\r\n\r\n", "hello");
	OK("5;a=\"\x80\xff\t\"\r\nhello\r\n0\r\n\r\n", "hello");
}

Test(chunked, trailer_fields_validated_and_dropped)
{
	OK("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: \t v \x80\r\n\r\n", "hello");
}

Test(chunked, bytes_after_the_body_are_left_for_the_next_message)
{
	const char m[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";

	ok_n(S(m), S("abc"), 13);
}

Test(chunked, size_at_the_cap_accepted)
{
	struct run r;

	cap_chunk = 16;
	OK("10\r\n0123456789abcdef\r\n0\r\n\r\n", "0123456789abcdef");
	cap_chunk = 0;
	r = decode(S("4000000000000000\r\nabc"));
	cr_assert_eq(r.ret, TT_CHUNKED_NEED_MORE);
	cr_assert_eq(r.data_len, 3);
}

Test(chunked, truncated_body_needs_more)
{
	static const char *v[] = {"",
	                          "5",
	                          "5\r",
	                          "5\r\nhel",
	                          "5\r\nhello",
	                          "5\r\nhello\r",
	                          "5\r\nhello\r\n",
	                          "5\r\nhello\r\n0\r\n",
	                          "0\r\nX: y\r\n",
	                          "0;a=\"b"};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		r = decode(v[i], strlen(v[i]));
		cr_assert_eq(r.ret, TT_CHUNKED_NEED_MORE, "%s", v[i]);
	}
}

Test(chunked, done_and_error_are_sticky)
{
	struct tt_chunked d;
	const char *data;
	size_t used, n;

	tt_chunked_init(&d);
	cr_assert_eq(tt_chunked_decode(&d, S("0\r\n\r\n"), &used, &data, &n), TT_CHUNKED_DONE);
	cr_assert_eq(tt_chunked_decode(&d, S("0\r\n\r\n"), &used, &data, &n), TT_CHUNKED_DONE);
	cr_assert_eq(used, 0);
	tt_chunked_init(&d);
	cr_assert_eq(tt_chunked_decode(&d, S("x"), &used, &data, &n), TT_CHUNKED_ERROR);
	cr_assert_eq(tt_chunked_decode(&d, S("0\r\n\r\n"), &used, &data, &n), TT_CHUNKED_ERROR);
	cr_assert_eq(used, 0);
}

/* Chunk size. */

Test(chunked, size_not_hex)
{
	ERR("g\r\n", TT_CHUNKED_ERR_SIZE, 0);
	ERR("\r\n", TT_CHUNKED_ERR_SIZE, 0);
	ERR(" 5\r\nhello\r\n0\r\n\r\n", TT_CHUNKED_ERR_SIZE, 0);
	ERR("-5\r\n", TT_CHUNKED_ERR_SIZE, 0);
	ERR("+5\r\n", TT_CHUNKED_ERR_SIZE, 0);
	ERR("0x5\r\nhello\r\n", TT_CHUNKED_ERR_SIZE, 1);
	ERR("5g\r\n", TT_CHUNKED_ERR_SIZE, 1);
	ERR("5\x00\r\n", TT_CHUNKED_ERR_SIZE, 1);
	ERR("5\r\nhello\r\n\r\n", TT_CHUNKED_ERR_SIZE, 10);
}

Test(chunked, size_overflow_and_cap)
{
	ERR("FFFFFFFFFFFFFFED\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 15);
	ERR("4000000000000001\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 15);
	ERR("10000000000000000\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 16);
	ERR("ffffffffffffffffffff\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 15);
	cap_chunk = 16;
	ERR("11\r\n0123456789abcdefg\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 1);
}

Test(chunked, too_many_leading_zeros)
{
	ERR("000000000000000000000000000000005\r\n", TT_CHUNKED_ERR_SIZE_RANGE, 32);
}

/* CRLF. */

Test(chunked, bare_lf_after_size)
{
	ERR("5\nhello\r\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 1);
	ERR("5;a=b\nhello\r\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 5);
}

Test(chunked, cr_not_followed_by_lf)
{
	ERR("5\rhello\r\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 2);
	ERR("5\r\r\nhello\r\n", TT_CHUNKED_ERR_CRLF, 2);
}

Test(chunked, data_not_followed_by_crlf)
{
	ERR("5\r\nhelloX\r\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 8);
	ERR("5\r\nhello\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 8);
	ERR("5\r\nhello\r0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 9);
	ERR("3\r\nhello\r\n0\r\n\r\n", TT_CHUNKED_ERR_CRLF, 6);
}

Test(chunked, last_chunk_and_trailer_line_endings)
{
	ERR("0\n\r\n", TT_CHUNKED_ERR_CRLF, 1);
	ERR("0\r\n\n", TT_CHUNKED_ERR_CRLF, 3);
	ERR("0\r\n\rX", TT_CHUNKED_ERR_CRLF, 4);
	ERR("0\r\nX: y\n\r\n", TT_CHUNKED_ERR_CRLF, 7);
	ERR("0\r\nX: y\rZ\r\n", TT_CHUNKED_ERR_CRLF, 8);
}

/* Extensions. */

Test(chunked, malformed_extensions)
{
	ERR("5;\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 2);
	ERR("5;=b\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 2);
	ERR("5;a=\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 4);
	ERR("5;a b\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 4);
	ERR("5;a \r\nhello\r\n", TT_CHUNKED_ERR_EXT, 4);
	ERR("5 \r\nhello\r\n", TT_CHUNKED_ERR_EXT, 2);
	ERR("5;a=b c\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 6);
	ERR("5;a,b\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 3);
	ERR("5;a=\"b\"c\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 7);
	ERR("5;a=\"\x01\"\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 5);
	ERR("5;a=\"\\\x01\"\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 6);
	ERR("5;a=b\x00\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 5);
}

Test(chunked, cr_or_lf_inside_quoted_string)
{
	ERR("5;a=\"x\r\ny\"\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 6);
	ERR("5;a=\"x\ny\"\r\nhello\r\n", TT_CHUNKED_ERR_CRLF, 6);
	ERR("5;a=\"x\\\r\"\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 7);
}

Test(chunked, extension_over_cap)
{
	cap_ext = 8;
	OK("5;abc=def\r\nhello\r\n0;abcdefg\r\n\r\n", "hello");
	ERR("5;abc=defg\r\nhello\r\n", TT_CHUNKED_ERR_EXT, 9);
	/* The cap is per size line. */
	OK("5;abc=def\r\nhello\r\n5;abc=def\r\nworld\r\n0\r\n\r\n", "helloworld");
}

/* Trailers. */

Test(chunked, malformed_trailers)
{
	ERR("0\r\n X: y\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 3);
	ERR("0\r\nX: y\r\n\tz\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 9);
	ERR("0\r\nX : y\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 4);
	ERR("0\r\n: y\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 3);
	ERR("0\r\nX: a\x00\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 7);
	ERR("0\r\nX: a\x7f\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 7);
	ERR("0\r\nNoColon\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 10);
	ERR("0\r\nX\x80: y\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 4);
}

Test(chunked, trailer_section_over_cap)
{
	cap_trailer = 10;
	OK("0\r\nX: 123\r\n\r\n", "");
	ERR("0\r\nX: 12345\r\n\r\n", TT_CHUNKED_ERR_TRAILER, 13);
}

Test(chunked, err_offset_counts_from_body_start)
{
	ERR("5\r\nhello\r\n3\r\nabc\r\nZ", TT_CHUNKED_ERR_SIZE, 18);
}

Test(chunked, err_tokens)
{
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_OK), "ok");
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_ERR_SIZE), "bad_chunk_size");
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_ERR_SIZE_RANGE), "chunk_too_large");
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_ERR_EXT), "bad_chunk_ext");
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_ERR_CRLF), "bad_chunk_crlf");
	cr_assert_str_eq(tt_chunked_err_token(TT_CHUNKED_ERR_TRAILER), "bad_trailer");
	cr_assert_str_eq(tt_chunked_err_token((enum tt_chunked_err)99), "unknown");
}
