/*
 * Body framing translation for one message body on its way through the
 * proxy: read with one framing (Content-Length, chunked, until close),
 * written with another (as received, or re-chunked).
 *
 * Pure logic: the pump turns input bytes into a list of buffers to write,
 * pointing into the input (payload) or into the pump (chunk size lines and
 * the terminator). It copies no payload and allocates nothing. Chunked input
 * is always decoded and re-encoded, so the next hop only ever sees framing
 * telltale produced itself: extensions and trailers do not pass.
 *
 * Invariant: the payload written equals the payload read, byte for byte;
 * `done` is set exactly when the input framing says the body ended.
 */
#ifndef TT_PROXY_PUMP_H
#define TT_PROXY_PUMP_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http/chunked.h"

enum tt_pump_in {
	TT_PUMP_IN_NONE = 0, /* no body: done from the start */
	TT_PUMP_IN_LENGTH,   /* `remaining` bytes */
	TT_PUMP_IN_CHUNKED,
	TT_PUMP_IN_CLOSE /* until end of stream */
};

enum tt_pump_out {
	TT_PUMP_OUT_RAW = 0, /* payload as is (Content-Length or close-delimited) */
	TT_PUMP_OUT_CHUNKED  /* payload as chunks, then "0\r\n\r\n" */
};

enum tt_pump_ret {
	TT_PUMP_OK = 0,
	TT_PUMP_ERR_FRAMING,   /* chunked framing error: see dec.err */
	TT_PUMP_ERR_TOO_LARGE, /* payload over max_body_bytes */
	TT_PUMP_ERR_TRUNCATED  /* end of stream before the framing's end */
};

/* Chunks produced per feed call at most: iov needs 3 per chunk plus 1. */
#define TT_PUMP_MAX_CHUNKS 16
#define TT_PUMP_MAX_IOV    (3 * TT_PUMP_MAX_CHUNKS + 1)

struct tt_pump {
	enum tt_pump_in in;
	enum tt_pump_out out;
	uint64_t remaining;      /* LENGTH: payload bytes still expected */
	uint64_t body_bytes;     /* payload bytes seen so far */
	uint64_t max_body_bytes; /* 0 = no limit */
	struct tt_chunked dec;
	unsigned done : 1;                  /* input body complete */
	unsigned terminated : 1;            /* chunked terminator already emitted */
	char sizes[TT_PUMP_MAX_CHUNKS][20]; /* chunk-size lines of this call */
	/* Optional: sees every payload span as it is emitted (the stale
	 * store's capture). NULL = none. Set after tt_pump_init. */
	void (*tap)(void *arg, const char *data, size_t len);
	void *tap_arg;
};

void tt_pump_init(struct tt_pump *p, enum tt_pump_in in, uint64_t content_length,
                  enum tt_pump_out out, uint64_t max_body_bytes);

/*
 * Consume from in[0..len) and append up to TT_PUMP_MAX_IOV buffers to
 * iov (starting at *niov, which is updated). *consumed is the number of
 * input bytes used; it is less than len when the body ended (the rest is
 * the next message) or when the iov list filled up (call again once those
 * buffers are written). The buffers stay valid until the next call.
 */
enum tt_pump_ret tt_pump_feed(struct tt_pump *p, char *in, size_t len, uv_buf_t *iov, int *niov,
                              size_t *consumed);

/* End of stream on the input. For close-delimited input this completes the
 * body (and may append the chunked terminator); otherwise it is
 * TT_PUMP_ERR_TRUNCATED. */
enum tt_pump_ret tt_pump_eof(struct tt_pump *p, uv_buf_t *iov, int *niov);

#endif
