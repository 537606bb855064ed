/*
 * Body pump: framing translation keeps the payload byte for byte, whole and
 * split at every offset, and ends exactly where the framing says.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/pump.h"

/* Run input through a pump in pieces of `step` bytes (0 = whole), gather
 * everything written into out. Returns the final pump result. */
static enum tt_pump_ret run(struct tt_pump *p, const char *in, size_t len, size_t step, char *out,
                            size_t *out_len, size_t *consumed_total, int eof)
{
	char buf[8192];
	size_t pos = 0;
	enum tt_pump_ret r = TT_PUMP_OK;
	*out_len = 0;
	memcpy(buf, in, len);
	while (pos < len && !p->done) {
		size_t n = step ? (len - pos < step ? len - pos : step) : len - pos;
		size_t off = 0;
		while (off < n && !p->done) {
			uv_buf_t iov[TT_PUMP_MAX_IOV];
			int niov = 0;
			size_t used = 0;
			r = tt_pump_feed(p, buf + pos + off, n - off, iov, &niov, &used);
			for (int i = 0; i < niov; i++) {
				memcpy(out + *out_len, iov[i].base, iov[i].len);
				*out_len += iov[i].len;
			}
			if (r != TT_PUMP_OK)
				return r;
			off += used;
			if (used == 0 && niov == 0)
				break;
		}
		pos += off;
		if (off < n)
			break;
	}
	*consumed_total = pos;
	if (eof && !p->done) {
		uv_buf_t iov[2];
		int niov = 0;
		r = tt_pump_eof(p, iov, &niov);
		for (int i = 0; i < niov; i++) {
			memcpy(out + *out_len, iov[i].base, iov[i].len);
			*out_len += iov[i].len;
		}
	}
	return r;
}

Test(pump, length_passes_exact_bytes_and_leaves_pipelined_rest)
{
	const char in[] = "helloGET / HTTP/1.1\r\n";
	for (size_t step = 0; step < sizeof(in); step++) {
		struct tt_pump p;
		char out[256];
		size_t olen, used;
		tt_pump_init(&p, TT_PUMP_IN_LENGTH, 5, TT_PUMP_OUT_RAW, 0);
		cr_assert_eq(run(&p, in, sizeof(in) - 1, step, out, &olen, &used, 0), TT_PUMP_OK);
		cr_assert(p.done, "step %zu", step);
		cr_assert_eq(olen, 5);
		cr_assert_eq(memcmp(out, "hello", 5), 0);
		cr_assert_eq(used, 5, "step %zu used %zu", step, used);
	}
}

Test(pump, zero_length_is_done_at_once)
{
	struct tt_pump p;
	tt_pump_init(&p, TT_PUMP_IN_LENGTH, 0, TT_PUMP_OUT_RAW, 0);
	cr_assert(p.done);
	tt_pump_init(&p, TT_PUMP_IN_NONE, 0, TT_PUMP_OUT_RAW, 0);
	cr_assert(p.done);
}

Test(pump, chunked_is_rechunked_with_payload_intact_at_every_split)
{
	const char in[] = "5;ext=\"q\"\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	const char want[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	for (size_t step = 0; step < sizeof(in); step++) {
		struct tt_pump p;
		char out[512];
		size_t olen, used;
		tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_CHUNKED, 0);
		cr_assert_eq(run(&p, in, sizeof(in) - 1, step, out, &olen, &used, 0), TT_PUMP_OK);
		cr_assert(p.done);
		/* Splits may cut a chunk in two: compare decoded payload. */
		cr_assert_eq(p.body_bytes, 11);
		cr_assert_eq(used, sizeof(in) - 1 - 4, "step %zu", step);
		cr_assert_eq(memcmp(out + olen - 5, "0\r\n\r\n", 5), 0);
		if (step == 0) {
			cr_assert_eq(olen, sizeof(want) - 1);
			cr_assert_eq(memcmp(out, want, olen), 0);
		}
	}
}

Test(pump, chunked_to_raw_dechunks)
{
	const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_RAW, 0);
	cr_assert_eq(run(&p, in, sizeof(in) - 1, 0, out, &olen, &used, 0), TT_PUMP_OK);
	cr_assert_eq(olen, 5);
	cr_assert_eq(memcmp(out, "abcde", 5), 0);
}

Test(pump, close_delimited_to_chunked_ends_with_terminator_on_eof)
{
	const char in[] = "abcdef";
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	tt_pump_init(&p, TT_PUMP_IN_CLOSE, 0, TT_PUMP_OUT_CHUNKED, 0);
	cr_assert_eq(run(&p, in, 6, 4, out, &olen, &used, 1), TT_PUMP_OK);
	cr_assert(p.done);
	cr_assert_eq(olen, strlen("4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n"));
	cr_assert_eq(memcmp(out, "4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n", olen), 0);
}

Test(pump, eof_before_length_is_truncated)
{
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	tt_pump_init(&p, TT_PUMP_IN_LENGTH, 100, TT_PUMP_OUT_RAW, 0);
	cr_assert_eq(run(&p, "0123456789", 10, 0, out, &olen, &used, 1), TT_PUMP_ERR_TRUNCATED);
	cr_assert_eq(olen, 10);
}

Test(pump, bad_chunk_size_is_a_framing_error)
{
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_CHUNKED, 0);
	cr_assert_eq(run(&p, "zz\r\n", 4, 0, out, &olen, &used, 0), TT_PUMP_ERR_FRAMING);
}

Test(pump, body_over_limit_is_refused)
{
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_CHUNKED, 4);
	cr_assert_eq(run(&p, "5\r\nhello\r\n0\r\n\r\n", 15, 0, out, &olen, &used, 0),
	             TT_PUMP_ERR_TOO_LARGE);
	tt_pump_init(&p, TT_PUMP_IN_LENGTH, 5, TT_PUMP_OUT_RAW, 4);
	cr_assert_eq(run(&p, "hello", 5, 0, out, &olen, &used, 0), TT_PUMP_ERR_TOO_LARGE);
}

Test(pump, many_small_chunks_fill_iov_and_resume)
{
	char in[4096], out[8192];
	size_t len = 0, olen, used;
	struct tt_pump p;
	for (int i = 0; i < 40; i++)
		len += (size_t)snprintf(in + len, sizeof(in) - len, "1\r\n%c\r\n", 'a' + i % 26);
	len += (size_t)snprintf(in + len, sizeof(in) - len, "0\r\n\r\n");
	tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_RAW, 0);
	cr_assert_eq(run(&p, in, len, 0, out, &olen, &used, 0), TT_PUMP_OK);
	cr_assert(p.done);
	cr_assert_eq(olen, 40);
	cr_assert_eq(used, len);
}

static char tapped[256];
static size_t ntapped;

static void tap(void *arg, const char *data, size_t len)
{
	cr_assert(arg == tapped);
	memcpy(tapped + ntapped, data, len);
	ntapped += len;
}

Test(pump, tap_sees_the_payload_without_framing)
{
	const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	struct tt_pump p;
	char out[64];
	size_t olen, used;
	ntapped = 0;
	tt_pump_init(&p, TT_PUMP_IN_CHUNKED, 0, TT_PUMP_OUT_CHUNKED, 0);
	p.tap = tap;
	p.tap_arg = tapped;
	cr_assert_eq(run(&p, in, sizeof(in) - 1, 3, out, &olen, &used, 0), TT_PUMP_OK);
	cr_assert_eq(ntapped, 5);
	cr_assert_eq(memcmp(tapped, "abcde", 5), 0);
}
