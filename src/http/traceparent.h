/*
 * W3C Trace Context (level 1, https://www.w3.org/TR/trace-context/): the
 * traceparent field read from a request and the one telltale sends on as a
 * span of its own (issue 7, item 3): same trace-id, a new parent-id.
 *
 *   traceparent = version "-" trace-id "-" parent-id "-" trace-flags
 *   version     = 2 lower-case hex digits, not "ff"
 *   trace-id    = 32 lower-case hex digits, not all zero
 *   parent-id   = 16 lower-case hex digits, not all zero
 *   trace-flags = 2 lower-case hex digits
 *
 * Version 00 is exactly 55 bytes. A higher version (section 3.2.4, "versioning
 * of traceparent") is read by its first 55 bytes when the 56th, if any, is
 * "-"; what telltale sends is always version 00, and then only the flags
 * version 00 defines (sampled, 0x01) are kept.
 *
 * Pure functions over buffers: no I/O, no allocation.
 */
#ifndef TT_HTTP_TRACEPARENT_H
#define TT_HTTP_TRACEPARENT_H

#include <stddef.h>
#include <stdint.h>

#define TT_TRACE_ID_HEX       32
#define TT_SPAN_ID_HEX        16
#define TT_TRACEPARENT_LEN    55
#define TT_TRACE_FLAG_SAMPLED 0x01

struct tt_trace {
	char trace_id[TT_TRACE_ID_HEX + 1]; /* lower-case hex, NUL-terminated */
	char parent_id[TT_SPAN_ID_HEX + 1]; /* the caller's span ("" when none came) */
	uint8_t flags;                      /* trace-flags as received, 0 when new */
};

/*
 * Parse one traceparent value (v[0..len), surrounding whitespace already
 * trimmed, as the h1 parser does). Returns 1 and fills *out when valid,
 * 0 otherwise (out is then left unspecified).
 */
int tt_traceparent_parse(const char *v, size_t len, struct tt_trace *out);

/*
 * Start a new trace: trace-id from the two 64-bit random values (an all
 * zero result is replaced, as the spec forbids it), no parent, flags 0.
 */
void tt_trace_new(struct tt_trace *t, uint64_t hi, uint64_t lo);

/* 16 lower-case hex digits of v, never all zero (0 becomes 1), NUL-terminated
 * into out[TT_SPAN_ID_HEX + 1]: telltale's own span id. */
void tt_span_id(char *out, uint64_t v);

/*
 * Write "00-<trace-id>-<span_id>-<flags>" (TT_TRACEPARENT_LEN bytes and a
 * NUL) into out[TT_TRACEPARENT_LEN + 1], keeping only the sampled flag.
 */
void tt_traceparent_format(char *out, const struct tt_trace *t, const char *span_id);

#endif
