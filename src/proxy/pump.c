/*
 * Body framing translation: see pump.h.
 */
#include "proxy/pump.h"

#include <stdio.h>
#include <string.h>

static char terminator[] = "0\r\n\r\n";
static char crlf[] = "\r\n";

void tt_pump_init(struct tt_pump *p, enum tt_pump_in in, uint64_t content_length,
                  enum tt_pump_out out, uint64_t max_body_bytes)
{
	memset(p, 0, sizeof(*p));
	p->in = in;
	p->out = out;
	p->remaining = content_length;
	p->max_body_bytes = max_body_bytes;
	if (in == TT_PUMP_IN_CHUNKED)
		tt_chunked_init(&p->dec);
	if (in == TT_PUMP_IN_NONE || (in == TT_PUMP_IN_LENGTH && content_length == 0))
		p->done = 1;
}

static void add(uv_buf_t *iov, int *niov, char *base, size_t len)
{
	iov[*niov].base = base;
	iov[*niov].len = len;
	(*niov)++;
}

/* Append one span of payload, framed for the output. Returns 0, or -1 when
 * the iov list has no room for it. */
static int emit(struct tt_pump *p, char *data, size_t len, uv_buf_t *iov, int *niov, int *chunks)
{
	if (p->out == TT_PUMP_OUT_RAW) {
		if (*niov >= TT_PUMP_MAX_IOV - 1)
			return -1;
		add(iov, niov, data, len);
		if (p->tap)
			p->tap(p->tap_arg, data, len);
		return 0;
	}
	if (*chunks >= TT_PUMP_MAX_CHUNKS || *niov + 3 > TT_PUMP_MAX_IOV - 1)
		return -1;
	if (p->tap)
		p->tap(p->tap_arg, data, len);
	char *line = p->sizes[*chunks];
	int n = snprintf(line, sizeof(p->sizes[0]), "%zx\r\n", len);
	add(iov, niov, line, (size_t)n);
	add(iov, niov, data, len);
	add(iov, niov, crlf, 2);
	(*chunks)++;
	return 0;
}

static void finish(struct tt_pump *p, uv_buf_t *iov, int *niov)
{
	p->done = 1;
	if (p->out == TT_PUMP_OUT_CHUNKED && !p->terminated) {
		add(iov, niov, terminator, sizeof(terminator) - 1);
		p->terminated = 1;
	}
}

static int over_limit(struct tt_pump *p, size_t more)
{
	return p->max_body_bytes && p->body_bytes + more > p->max_body_bytes;
}

static enum tt_pump_ret feed_chunked(struct tt_pump *p, char *in, size_t len, uv_buf_t *iov,
                                     int *niov, size_t *consumed, int *chunks)
{
	size_t pos = 0;
	while (!p->done) {
		/* Keep room for one chunk before decoding one: the decoder
		 * cannot give a span back. */
		if (*chunks >= TT_PUMP_MAX_CHUNKS || *niov + 3 > TT_PUMP_MAX_IOV - 1)
			break;
		size_t used = 0, dlen = 0;
		const char *data = NULL;
		enum tt_chunked_ret r =
		    tt_chunked_decode(&p->dec, in + pos, len - pos, &used, &data, &dlen);
		pos += used;
		if (r == TT_CHUNKED_ERROR) {
			*consumed = pos;
			return TT_PUMP_ERR_FRAMING;
		}
		if (r == TT_CHUNKED_NEED_MORE)
			break;
		if (r == TT_CHUNKED_DONE) {
			finish(p, iov, niov);
			break;
		}
		if (over_limit(p, dlen)) {
			*consumed = pos;
			return TT_PUMP_ERR_TOO_LARGE;
		}
		p->body_bytes += dlen;
		emit(p, (char *)data, dlen, iov, niov, chunks);
	}
	*consumed = pos;
	return TT_PUMP_OK;
}

enum tt_pump_ret tt_pump_feed(struct tt_pump *p, char *in, size_t len, uv_buf_t *iov, int *niov,
                              size_t *consumed)
{
	int chunks = 0;
	size_t take = len;

	*consumed = 0;
	if (p->done || len == 0)
		return TT_PUMP_OK;
	switch (p->in) {
	case TT_PUMP_IN_NONE: return TT_PUMP_OK;
	case TT_PUMP_IN_CHUNKED: return feed_chunked(p, in, len, iov, niov, consumed, &chunks);
	case TT_PUMP_IN_LENGTH:
		if (take > p->remaining)
			take = (size_t)p->remaining;
		break;
	case TT_PUMP_IN_CLOSE: break;
	}
	if (over_limit(p, take))
		return TT_PUMP_ERR_TOO_LARGE;
	if (emit(p, in, take, iov, niov, &chunks) < 0)
		return TT_PUMP_OK;
	p->body_bytes += take;
	*consumed = take;
	if (p->in == TT_PUMP_IN_LENGTH) {
		p->remaining -= take;
		if (p->remaining == 0)
			finish(p, iov, niov);
	}
	return TT_PUMP_OK;
}

enum tt_pump_ret tt_pump_eof(struct tt_pump *p, uv_buf_t *iov, int *niov)
{
	if (p->done)
		return TT_PUMP_OK;
	if (p->in != TT_PUMP_IN_CLOSE)
		return TT_PUMP_ERR_TRUNCATED;
	finish(p, iov, niov);
	return TT_PUMP_OK;
}
