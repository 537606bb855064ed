/*
 * Chunked transfer coding decoder (RFC 9112 section 7.1).
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-val  = token / quoted-string
 *
 * A byte-at-a-time state machine for the framing, with chunk data handed
 * back as spans of the caller's input. Every decision depends only on the
 * state and the current byte, so input split anywhere decodes the same.
 * Framing is strict: CRLF only (RFC 9112 section 7.1 has no bare-LF
 * leniency, and a bare LF read two ways is a smuggling vector), a size
 * line with no stray whitespace, extensions and trailers bounded.
 */
#include "http/chunked.h"

#include "http/h1_parse.h"

#define IS_TCHAR(c)  tt_h1_is(c, TT_H1_C_TCHAR)
#define IS_VCHAR(c)  tt_h1_is(c, TT_H1_C_VCHAR)
#define IS_QDTEXT(c) tt_h1_is(c, TT_H1_C_QDTEXT)
#define IS_WS(c)     tt_h1_is(c, TT_H1_C_WS)

/* Longest run of size digits, leading zeros included. Sixteen significant
 * digits fill 64 bits; the rest of the allowance is for leading zeros. */
#define MAX_SIZE_DIGITS 32

enum state {
	S_SIZE_START = 0, /* first hex digit of a chunk-size */
	S_SIZE,           /* more hex digits */
	S_EXT_BWS,        /* BWS before ";" */
	S_EXT_NAME_START, /* BWS after ";", then the name's first byte */
	S_EXT_NAME,
	S_EXT_POST_NAME, /* BWS after a name, before "=" or ";" */
	S_EXT_VAL_START, /* BWS after "=" */
	S_EXT_TOKEN,
	S_EXT_QS,      /* inside a quoted-string */
	S_EXT_QP,      /* after a backslash in a quoted-string */
	S_EXT_POST_QS, /* after the closing DQUOTE */
	S_SIZE_LF,     /* CR of the size line seen */
	S_DATA,
	S_DATA_CR, /* CRLF after chunk data */
	S_DATA_LF,
	S_TR_LINE_START, /* start of a trailer field line, or the final CRLF */
	S_TR_NAME,
	S_TR_VALUE,
	S_TR_LINE_LF,
	S_TR_END_LF,
	S_DONE,
	S_ERROR
};

void tt_chunked_init(struct tt_chunked *d)
{
	*d = (struct tt_chunked){
	    .state = S_SIZE_START,
	    .max_chunk_bytes = (uint64_t)1 << 62,
	    .max_ext_bytes = 4096,
	    .max_trailer_bytes = 16384,
	};
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A hex digit of the chunk-size: bounded digit count, no overflow, and
 * at most max_chunk_bytes. */
static enum tt_chunked_err size_digit(struct tt_chunked *d, int v)
{
	if (++d->aux > MAX_SIZE_DIGITS || d->remaining > (UINT64_MAX >> 4))
		return TT_CHUNKED_ERR_SIZE_RANGE;
	d->remaining = (d->remaining << 4) | (uint64_t)v;
	if (d->remaining > d->max_chunk_bytes)
		return TT_CHUNKED_ERR_SIZE_RANGE;
	return TT_CHUNKED_OK;
}

/* Where a CR may end the size line: after the size, a name, a value. */
static int size_line_end(struct tt_chunked *d, char c)
{
	if (c != '\r')
		return 0;
	d->state = S_SIZE_LF;
	return 1;
}

/* The chunk-ext grammar, one byte at a time (RFC 9112 section 7.1.1). */
static enum tt_chunked_err ext_byte(struct tt_chunked *d, char c)
{
	if (d->ext_bytes >= d->max_ext_bytes)
		return TT_CHUNKED_ERR_EXT;
	d->ext_bytes++;
	switch (d->state) {
	case S_EXT_BWS:
		if (c == ';')
			d->state = S_EXT_NAME_START;
		else if (!IS_WS(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_NAME_START:
		if (IS_TCHAR(c))
			d->state = S_EXT_NAME;
		else if (!IS_WS(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_NAME:
	case S_EXT_POST_NAME:
		if (c == '=')
			d->state = S_EXT_VAL_START;
		else if (c == ';')
			d->state = S_EXT_NAME_START;
		else if (IS_WS(c))
			d->state = S_EXT_POST_NAME;
		else if (d->state != S_EXT_NAME || !IS_TCHAR(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_VAL_START:
		if (c == '"')
			d->state = S_EXT_QS;
		else if (IS_TCHAR(c))
			d->state = S_EXT_TOKEN;
		else if (!IS_WS(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_TOKEN:
	case S_EXT_POST_QS:
		if (c == ';')
			d->state = S_EXT_NAME_START;
		else if (IS_WS(c))
			d->state = S_EXT_BWS;
		else if (d->state != S_EXT_TOKEN || !IS_TCHAR(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_QS:
		/* RFC 9110 section 5.6.4: qdtext / quoted-pair; no CR, LF. */
		if (c == '"')
			d->state = S_EXT_POST_QS;
		else if (c == '\\')
			d->state = S_EXT_QP;
		else if (!IS_QDTEXT(c))
			return TT_CHUNKED_ERR_EXT;
		return TT_CHUNKED_OK;
	case S_EXT_QP:
		if (!IS_VCHAR(c) && !IS_WS(c))
			return TT_CHUNKED_ERR_EXT;
		d->state = S_EXT_QS;
		return TT_CHUNKED_OK;
	default: return TT_CHUNKED_ERR_EXT;
	}
}

/* Bytes of the chunk-size line: size, extensions, CRLF. */
static enum tt_chunked_err size_line_byte(struct tt_chunked *d, char c)
{
	int v = hexval(c);

	switch (d->state) {
	case S_SIZE_START:
		if (v < 0)
			return TT_CHUNKED_ERR_SIZE;
		d->state = S_SIZE;
		return size_digit(d, v);
	case S_SIZE:
		if (v >= 0)
			return size_digit(d, v);
		if (size_line_end(d, c))
			return TT_CHUNKED_OK;
		if (c != ';' && !IS_WS(c))
			return TT_CHUNKED_ERR_SIZE;
		d->state = S_EXT_BWS;
		return ext_byte(d, c);
	case S_SIZE_LF:
		if (c != '\n')
			return TT_CHUNKED_ERR_CRLF;
		d->ext_bytes = 0;
		d->aux = 0;
		d->state = d->remaining ? S_DATA : S_TR_LINE_START;
		return TT_CHUNKED_OK;
	case S_EXT_NAME:
	case S_EXT_TOKEN:
	case S_EXT_POST_QS:
		if (size_line_end(d, c))
			return TT_CHUNKED_OK;
		/* fall through */
	default: return ext_byte(d, c);
	}
}

/*
 * Trailer section (RFC 9112 section 7.1.2): field lines checked like
 * header field lines (RFC 9110 section 5.5: token name, no whitespace
 * before the colon, no obs-fold, no CTL in values), then the final CRLF.
 */
static enum tt_chunked_err trailer_byte(struct tt_chunked *d, char c)
{
	if (d->trailer_bytes >= d->max_trailer_bytes)
		return TT_CHUNKED_ERR_TRAILER;
	d->trailer_bytes++;
	switch (d->state) {
	case S_TR_LINE_START:
		if (c == '\r')
			d->state = S_TR_END_LF;
		else if (IS_TCHAR(c))
			d->state = S_TR_NAME;
		else
			return TT_CHUNKED_ERR_TRAILER;
		return TT_CHUNKED_OK;
	case S_TR_NAME:
		if (c == ':')
			d->state = S_TR_VALUE;
		else if (!IS_TCHAR(c))
			return TT_CHUNKED_ERR_TRAILER;
		return TT_CHUNKED_OK;
	case S_TR_VALUE:
		if (c == '\r')
			d->state = S_TR_LINE_LF;
		else if (!IS_VCHAR(c) && !IS_WS(c))
			return TT_CHUNKED_ERR_TRAILER;
		return TT_CHUNKED_OK;
	case S_TR_LINE_LF:
	case S_TR_END_LF:
		if (c != '\n')
			return TT_CHUNKED_ERR_CRLF;
		d->state = d->state == S_TR_END_LF ? S_DONE : S_TR_LINE_START;
		return TT_CHUNKED_OK;
	default: return TT_CHUNKED_ERR_TRAILER;
	}
}

/* One framing byte (anything but chunk data). */
static enum tt_chunked_err framing_byte(struct tt_chunked *d, char c)
{
	/* A LF is only ever valid right after a CR. */
	if (c == '\n' && d->state != S_SIZE_LF && d->state != S_DATA_LF &&
	    d->state != S_TR_LINE_LF && d->state != S_TR_END_LF)
		return TT_CHUNKED_ERR_CRLF;
	switch (d->state) {
	case S_DATA_CR:
		if (c != '\r')
			return TT_CHUNKED_ERR_CRLF;
		d->state = S_DATA_LF;
		return TT_CHUNKED_OK;
	case S_DATA_LF:
		if (c != '\n')
			return TT_CHUNKED_ERR_CRLF;
		d->state = S_SIZE_START;
		return TT_CHUNKED_OK;
	case S_TR_LINE_START:
	case S_TR_NAME:
	case S_TR_VALUE:
	case S_TR_LINE_LF:
	case S_TR_END_LF: return trailer_byte(d, c);
	default: return size_line_byte(d, c);
	}
}

static enum tt_chunked_ret fail(struct tt_chunked *d, enum tt_chunked_err err, size_t i,
                                size_t *consumed)
{
	d->state = S_ERROR;
	d->err = err;
	d->err_offset = d->total + i;
	d->total += i;
	*consumed = i;
	return TT_CHUNKED_ERROR;
}

enum tt_chunked_ret tt_chunked_decode(struct tt_chunked *d, const char *in, size_t len,
                                      size_t *consumed, const char **data, size_t *data_len)
{
	enum tt_chunked_err err;
	size_t i, n;

	*data = NULL;
	*data_len = 0;
	*consumed = 0;
	if (d->state == S_DONE)
		return TT_CHUNKED_DONE;
	if (d->state == S_ERROR)
		return TT_CHUNKED_ERROR;
	for (i = 0; i < len; i++) {
		if (d->state == S_DATA) {
			n = len - i;
			if (n > d->remaining)
				n = (size_t)d->remaining;
			d->remaining -= n;
			if (d->remaining == 0)
				d->state = S_DATA_CR;
			*data = in + i;
			*data_len = n;
			*consumed = i + n;
			d->total += i + n;
			return TT_CHUNKED_DATA;
		}
		err = framing_byte(d, in[i]);
		if (err != TT_CHUNKED_OK)
			return fail(d, err, i, consumed);
		if (d->state == S_DONE) {
			*consumed = i + 1;
			d->total += i + 1;
			return TT_CHUNKED_DONE;
		}
	}
	*consumed = len;
	d->total += len;
	return TT_CHUNKED_NEED_MORE;
}

const char *tt_chunked_err_token(enum tt_chunked_err err)
{
	switch (err) {
	case TT_CHUNKED_OK: return "ok";
	case TT_CHUNKED_ERR_SIZE: return "bad_chunk_size";
	case TT_CHUNKED_ERR_SIZE_RANGE: return "chunk_too_large";
	case TT_CHUNKED_ERR_EXT: return "bad_chunk_ext";
	case TT_CHUNKED_ERR_CRLF: return "bad_chunk_crlf";
	case TT_CHUNKED_ERR_TRAILER: return "bad_trailer";
	}
	return "unknown";
}
