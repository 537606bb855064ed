/*
 * HTTP/1.x message head parser (RFC 9110, RFC 9112), for requests from
 * downstream and responses from upstream.
 *
 * The parser does no I/O and no allocation. It reads one complete head from
 * a caller's buffer and fills a struct tt_h1_head whose slices point into
 * that buffer; the caller keeps the buffer alive and unchanged while it uses
 * the slices. It is strict: anything that two implementations could read
 * two ways (the root of request smuggling) is an error, with the offset of
 * the offending byte kept for the log.
 *
 * Invariant: on success every slice lies inside [buf, buf + head length),
 * field names and values contain no CR, LF or NUL, values carry no leading or
 * trailing whitespace, and `framing` says exactly how the body is delimited.
 */
#ifndef TT_HTTP_H1_PARSE_H
#define TT_HTTP_H1_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every way a head can be rejected. The zero is OK. */
enum tt_h1_err {
	TT_H1_OK = 0,
	TT_H1_ERR_METHOD,              /* method is not a token */
	TT_H1_ERR_TARGET,              /* request-target malformed (CTL, space, empty) */
	TT_H1_ERR_TARGET_TOO_LONG,     /* request-target over max_target_bytes: 414 */
	TT_H1_ERR_VERSION,             /* HTTP-version malformed */
	TT_H1_ERR_VERSION_UNSUPPORTED, /* well formed but not HTTP/1.0 or 1.1: 505 */
	TT_H1_ERR_STATUS,              /* status-line malformed (responses) */
	TT_H1_ERR_FIELD_NAME,          /* empty name, non-token byte, space before colon */
	TT_H1_ERR_FIELD_VALUE,         /* NUL or other CTL (except HTAB) in a value */
	TT_H1_ERR_OBS_FOLD,            /* line folding (RFC 9112 section 5.2) */
	TT_H1_ERR_BARE_CR,             /* CR not followed by LF */
	TT_H1_ERR_HEAD_TOO_LARGE,      /* no end of head within max_head_bytes: 431 */
	TT_H1_ERR_FIELD_TOO_LARGE,     /* one field line over max_field_bytes: 431 */
	TT_H1_ERR_TOO_MANY_FIELDS,     /* more than max_fields: 431 */
	TT_H1_ERR_CONTENT_LENGTH,      /* invalid, or several that differ */
	TT_H1_ERR_CL_AND_TE,           /* Content-Length together with Transfer-Encoding */
	TT_H1_ERR_TE_NOT_CHUNKED,      /* request: chunked missing or not last: 400 */
	TT_H1_ERR_TE_UNKNOWN,          /* a transfer coding we do not implement: 501 */
	TT_H1_ERR_TE_HTTP10,           /* Transfer-Encoding in an HTTP/1.0 message */
	TT_H1_ERR_HOST_MISSING,        /* HTTP/1.1 request without Host */
	TT_H1_ERR_HOST_REPEATED,       /* more than one Host field */
	TT_H1_ERR_HOST_INVALID,        /* Host value not a valid uri-host[:port] */
	TT_H1_ERR__COUNT
};

/* How the body that follows the head is delimited (RFC 9112 section 6.3). */
enum tt_h1_framing {
	TT_H1_BODY_NONE = 0, /* no body at all */
	TT_H1_BODY_LENGTH,   /* exactly content_length bytes (may be 0) */
	TT_H1_BODY_CHUNKED,  /* chunked transfer coding, see chunked.h */
	TT_H1_BODY_CLOSE     /* responses only: until the connection closes */
};

/* Methods the proxy treats specially; anything else is TT_METHOD_OTHER. */
enum tt_h1_method {
	TT_METHOD_OTHER = 0,
	TT_METHOD_GET,
	TT_METHOD_HEAD,
	TT_METHOD_POST,
	TT_METHOD_PUT,
	TT_METHOD_DELETE,
	TT_METHOD_CONNECT,
	TT_METHOD_OPTIONS,
	TT_METHOD_TRACE,
	TT_METHOD_PATCH
};

/* One field line. Slices point into the parsed buffer. */
struct tt_h1_field {
	const char *name;
	const char *value;
	uint32_t name_len;  /* bytes */
	uint32_t value_len; /* bytes, without surrounding whitespace */
};

/* Limits that bound what a peer can make the parser accept. */
struct tt_h1_limits {
	size_t max_head_bytes;   /* whole head, start line to empty line inclusive */
	size_t max_target_bytes; /* request-target */
	size_t max_field_bytes;  /* one field line, name + value */
	size_t max_fields;       /* capacity of the caller's field array */
};

/* One parsed head. The caller sets `fields` to an array of at least
 * limits->max_fields entries before calling a parse function. */
struct tt_h1_head {
	/* Requests. */
	const char *method;
	size_t method_len;
	enum tt_h1_method method_id;
	const char *target;
	size_t target_len;
	/* The value of the one Host field, NULL when absent; for an HTTP/1.0
	 * absolute-form request without Host, the target's authority (RFC
	 * 9112 section 3.2.2). An absolute-form target's authority must
	 * equal the Host field, case-insensitively. */
	const char *host;
	size_t host_len;

	/* Responses. */
	int status; /* 100..999 */
	const char *reason;
	size_t reason_len;

	int version_minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
	size_t head_len;   /* bytes of the head, including the final empty line */

	struct tt_h1_field *fields;
	size_t nfields;

	/* Derived from the fields. */
	enum tt_h1_framing framing;
	uint64_t content_length;      /* bytes; meaningful when framing is LENGTH */
	unsigned conn_close : 1;      /* Connection: close, or HTTP/1.0 without keep-alive */
	unsigned conn_keep_alive : 1; /* Connection: keep-alive was present */
	unsigned conn_upgrade : 1;    /* Connection names "upgrade" */
	unsigned has_upgrade : 1;     /* an Upgrade field is present */
	unsigned expect_continue : 1; /* Expect: 100-continue */
	unsigned has_te : 1;          /* a Transfer-Encoding field was present */

	/* Set when a parse function returns TT_H1_ERROR. */
	enum tt_h1_err err;
	size_t err_offset; /* offset of the offending byte in the buffer */
};

/* Return values of the parse functions other than a positive head length. */
#define TT_H1_INCOMPLETE ((ssize_t)0)
#define TT_H1_ERROR      ((ssize_t)-1)

/*
 * Parse a request head at the start of buf[0..len).
 * Returns the head length (> 0) when a whole valid head is there;
 * TT_H1_INCOMPLETE when more bytes are needed (and len is still below
 * max_head_bytes); TT_H1_ERROR with out->err and out->err_offset set
 * otherwise. Requests never get TT_H1_BODY_CLOSE: no framing means no body.
 */
ssize_t tt_h1_parse_request(const char *buf, size_t len, const struct tt_h1_limits *lim,
                            struct tt_h1_head *out);

/*
 * Parse a response head. request_method is the method of the request it
 * answers: a response to HEAD, and 1xx, 204 and 304 responses, have
 * framing NONE whatever their fields say (RFC 9112 section 6.3); so does a
 * 2xx answering CONNECT (the connection becomes a tunnel, same section).
 * Same return convention as tt_h1_parse_request.
 */
ssize_t tt_h1_parse_response(const char *buf, size_t len, enum tt_h1_method request_method,
                             const struct tt_h1_limits *lim, struct tt_h1_head *out);

/*
 * Find the end of a head in buf[0..len), scanning from *scan (updated, so
 * repeated calls over a growing buffer stay linear). Returns the head length
 * including the empty line, or 0 when the end is not there yet. A cheap
 * pre-check before a full parse; it validates nothing. The end is the first
 * "\n\n" or "\n\r\n" after the first byte that is not CR or LF, so empty
 * lines before a request line (RFC 9112 section 2.2) are not taken for it.
 */
size_t tt_h1_head_end(const char *buf, size_t len, size_t *scan);

/* The HTTP status code (400, 414, 431, 501, 505) answering a request head
 * error, and a short lower-case token naming the error for logs. */
int tt_h1_err_status(enum tt_h1_err err);
const char *tt_h1_err_token(enum tt_h1_err err);

/*
 * Iterate a comma-separated list (RFC 9110 section 5.6.1), skipping empty
 * elements and optional whitespace. *pos starts at 0. Returns 1 and sets
 * *elem and *elem_len for each element, 0 at the end.
 */
int tt_h1_list_next(const char *value, size_t value_len, size_t *pos, const char **elem,
                    size_t *elem_len);

/* Case-insensitive comparison of a slice with a NUL-terminated lower-case
 * literal. Returns 1 when equal. */
int tt_h1_name_eq(const char *s, size_t len, const char *lower);

/* 1 for the methods RFC 9110 section 9.2.2 defines as idempotent (GET,
 * HEAD, OPTIONS, TRACE, PUT, DELETE): the ones a proxy may send twice. */
int tt_h1_method_idempotent(enum tt_h1_method m);

/* The first field with this name (lower-case literal), or NULL. */
const struct tt_h1_field *tt_h1_find(const struct tt_h1_head *h, const char *lower_name);

/*
 * Character classes (RFC 9110 section 5.6.2 tchar, section 5.5 field-vchar
 * with obs-text, RFC 3986 reg-name and hex digits, RFC 9110 section 5.6.4
 * qdtext), one table shared by the HTTP/1 parsers.
 */
extern const unsigned char tt_h1_ctype[256];
#define TT_H1_C_TCHAR    0x01 /* token character */
#define TT_H1_C_VCHAR    0x02 /* VCHAR or obs-text: 0x21-0x7E, 0x80-0xFF */
#define TT_H1_C_DIGIT    0x04 /* 0-9 */
#define TT_H1_C_HEX      0x08 /* 0-9 A-F a-f */
#define TT_H1_C_REGNAME  0x10 /* unreserved or sub-delims (RFC 3986) */
#define TT_H1_C_QDTEXT   0x20 /* qdtext: HTAB SP VCHAR obs-text minus DQUOTE and backslash */
#define TT_H1_C_WS       0x40 /* SP or HTAB */
#define tt_h1_is(c, cls) (tt_h1_ctype[(unsigned char)(c)] & (cls))

#endif
