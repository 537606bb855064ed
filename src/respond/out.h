/*
 * A bounded writer for the error bodies: appends into a caller's buffer,
 * never allocates, never writes past it, and tells at the end whether
 * everything fit. Escapers for the three body kinds live here so every body
 * treats hostile bytes (a request target, an upstream's header bytes in a
 * fault's details) the same way.
 *
 * Invariant: o->len counts every byte asked for, written or not; bytes are
 * stored only while len + 1 < cap, so the NUL always has room.
 */
#ifndef TT_RESPOND_OUT_H
#define TT_RESPOND_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tt_out {
	char *p;
	size_t len, cap;
};

void tt_out_init(struct tt_out *o, char *p, size_t cap);

/* NUL-terminate; the length without the NUL, or -1 when it did not fit. */
ssize_t tt_out_end(struct tt_out *o);

void tt_out_put(struct tt_out *o, const char *s, size_t n);
void tt_out_str(struct tt_out *o, const char *s);
void tt_out_fmt(struct tt_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Length of the UTF-8 sequence at s[0..n) when it is well formed (RFC 3629
 * section 4: no overlongs, no surrogates, nothing past U+10FFFF) and encodes
 * a printable character (U+00A0 and up: not a C1 control); 0 otherwise.
 */
size_t tt_utf8_printable(const char *s, size_t n);

/* Text for HTML content or a quoted attribute value: & < > " ' as
 * character references; printable ASCII and printable UTF-8 as they are;
 * any other byte as '?'. */
void tt_out_html(struct tt_out *o, const char *s, size_t n);

/* Text for a text/plain body read in a terminal: printable ASCII and
 * printable UTF-8 as they are, any other byte (escape sequences) as '?'. */
void tt_out_text(struct tt_out *o, const char *s, size_t n);

/* A JSON string, quotes included (RFC 8259 section 7): '"' and '\'
 * escaped, every byte outside printable ASCII as \u00XX of the byte, as in
 * the access log, so the document is valid whatever the bytes. */
void tt_out_json(struct tt_out *o, const char *s, size_t n);

/* JSON string or null for a NUL-terminated string; "" is null too. */
void tt_out_json_or_null(struct tt_out *o, const char *s);

/* RFC 3339 UTC time with milliseconds, "2026-01-02T03:04:05.678Z", of
 * ms since the epoch, into buf (at least 32 bytes). Years past 9999 are
 * written as 9999-12-31T23:59:59.999Z. Returns buf. */
#define TT_TIME_MAX 32
const char *tt_out_time(char *buf, uint64_t ms);

#endif
