/*
 * Streaming decoder for the chunked transfer coding (RFC 9112 section 7.1).
 *
 * The decoder does no I/O and no allocation: the caller feeds whatever bytes
 * have arrived, and gets back spans of body data that point into its own
 * input. Framing is strict: hex sizes without overflow and under a cap,
 * CRLF only (a bare LF or CR anywhere in the framing is an error), chunk
 * extensions well formed (token, token=token or token="quoted") and bounded,
 * trailer fields well formed and bounded (they are validated and dropped).
 *
 * Invariant: the decoder's state alone says where it is; feeding the same
 * bytes split at any offsets yields the same data and the same outcome.
 */
#ifndef TT_HTTP_CHUNKED_H
#define TT_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

enum tt_chunked_ret {
	TT_CHUNKED_NEED_MORE = 0, /* all input consumed, no data span this call */
	TT_CHUNKED_DATA,          /* *data, *data_len: a span of body bytes */
	TT_CHUNKED_DONE,          /* last chunk and trailers read: body complete */
	TT_CHUNKED_ERROR          /* framing error: see d->err and d->err_offset */
};

enum tt_chunked_err {
	TT_CHUNKED_OK = 0,
	TT_CHUNKED_ERR_SIZE,       /* no hex digit, bad byte in size */
	TT_CHUNKED_ERR_SIZE_RANGE, /* size overflows or exceeds max_chunk_bytes */
	TT_CHUNKED_ERR_EXT,        /* malformed or oversized chunk extension */
	TT_CHUNKED_ERR_CRLF,       /* missing CRLF after data, bare LF or CR */
	TT_CHUNKED_ERR_TRAILER     /* malformed or oversized trailer section */
};

/* Decoder state. Embed it; initialise with tt_chunked_init. */
struct tt_chunked {
	int state;                /* private */
	uint64_t remaining;       /* bytes left in the current chunk's data */
	uint64_t max_chunk_bytes; /* cap on one chunk's declared size */
	uint32_t ext_bytes;       /* bytes of extensions on the current size line */
	uint32_t max_ext_bytes;   /* cap on them */
	uint32_t trailer_bytes;   /* bytes of trailer section so far */
	uint32_t max_trailer_bytes;
	uint32_t aux;   /* private */
	uint64_t total; /* bytes consumed over the whole body */
	enum tt_chunked_err err;
	uint64_t err_offset; /* offset of the bad byte counted from the body's start */
};

/* Initialise with default caps (chunk size 2^62, extensions 4 KiB,
 * trailers 16 KiB). Callers may lower the caps afterwards. A chunk-size
 * is also limited to 32 hex digits, leading zeros included; extension
 * bytes are counted per size line, from the first ";" or whitespace. */
void tt_chunked_init(struct tt_chunked *d);

/*
 * Decode from in[0..len). *consumed is set to the number of input bytes
 * used. Call again with the rest of the input after a TT_CHUNKED_DATA.
 * On TT_CHUNKED_DONE, in[*consumed..len) is the start of whatever follows
 * the message (a pipelined request, for instance). After DONE or ERROR the
 * decoder must be re-initialised before reuse.
 */
enum tt_chunked_ret tt_chunked_decode(struct tt_chunked *d, const char *in, size_t len,
                                      size_t *consumed, const char **data, size_t *data_len);

/* A short lower-case token naming an error, for logs. */
const char *tt_chunked_err_token(enum tt_chunked_err err);

#endif
