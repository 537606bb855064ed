/*
 * A growable text buffer for the admin endpoint's pages (metrics, status,
 * JSON), whose size depends on the config: the admin path may allocate,
 * the proxy's hot path never uses this.
 *
 * Invariant: p is NUL-terminated whenever it is not NULL; len excludes
 * the NUL. Allocation failure aborts (our own buffer, DESIGN.md).
 */
#ifndef TT_OBS_SBUF_H
#define TT_OBS_SBUF_H

#include <stddef.h>

struct tt_sbuf {
	char *p; /* heap, owned; NULL until the first write */
	size_t len, cap;
};

void tt_sbuf_fini(struct tt_sbuf *b);
void tt_sbuf_put(struct tt_sbuf *b, const char *s, size_t n);
void tt_sbuf_str(struct tt_sbuf *b, const char *s);
void tt_sbuf_fmt(struct tt_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Text for HTML content or a quoted attribute: & < > " ' as references,
 * printable ASCII and well-formed printable UTF-8 as they are, any other
 * byte as '?'. NULL writes nothing. */
void tt_sbuf_html(struct tt_sbuf *b, const char *s, size_t n);

/* A JSON string with its quotes (or null for NULL): '"' and '\' escaped,
 * bytes outside printable ASCII as \u00XX, as in the access log. */
void tt_sbuf_json(struct tt_sbuf *b, const char *s, size_t n);
void tt_sbuf_json_str(struct tt_sbuf *b, const char *s);

#endif
