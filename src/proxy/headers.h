/*
 * The heads telltale writes: the request head sent upstream and the response
 * head sent downstream, each built from a parsed head (h1_parse.h) by the
 * rules of a reverse proxy.
 *
 * RFC 9110 section 7.6.1: hop-by-hop fields (Connection and every field it
 * names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade) are removed, except that an upgrade request (section 7.8), the
 * 101 answering it and a 426 (section 15.5.22) keep Upgrade and carry the
 * `upgrade` connection option;
 * section 7.6.3: Via is appended. Framing fields are
 * always written by telltale itself from the framing it chose, never copied,
 * so the next hop cannot read a body boundary differently from telltale.
 * X-Forwarded-*, Forwarded (RFC 7239) and X-Request-Id arriving from
 * downstream are kept only when the downstream is trusted. traceparent is
 * always replaced by telltale's own (W3C Trace Context: a new parent-id in
 * the same trace), and tracestate goes with it only when the incoming
 * traceparent was valid.
 *
 * Pure functions over buffers: no I/O, no allocation.
 */
#ifndef TT_PROXY_HEADERS_H
#define TT_PROXY_HEADERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "http/h1_parse.h"

/* Length of a request id: 32 lower-case hex digits. Kept ids may be up to
 * TT_REQUEST_ID_MAX bytes. */
#define TT_REQUEST_ID_HEX 32
#define TT_REQUEST_ID_MAX 64

/* An append-only writer over a caller's buffer; `over` latches on overflow. */
struct tt_wbuf {
	char *p;
	size_t len, cap;
	int over;
};

void tt_wbuf_init(struct tt_wbuf *w, char *p, size_t cap);
void tt_wbuf_put(struct tt_wbuf *w, const char *s, size_t n);
void tt_wbuf_str(struct tt_wbuf *w, const char *s);
void tt_wbuf_u64(struct tt_wbuf *w, uint64_t v);

/* The pieces of a request that the head builders and the log need. */
struct tt_hdr_request_ctx {
	const char *host; /* effective host: absolute-form authority or Host */
	size_t host_len;
	const char *path; /* origin-form target to send upstream */
	size_t path_len;
	const char *peer_ip; /* downstream address, text */
	int peer_v6;
	int trusted; /* downstream in trusted_networks */
	const char *request_id;
	const char *proxy_name;    /* in Via */
	const char *upstream_host; /* Host to send when the request had none */
	int close_upstream;        /* ask the upstream to close after this exchange */
	const char *traceparent;   /* W3C traceparent to send (telltale's span); NULL = none */
	int keep_tracestate;       /* the downstream's traceparent was valid: tracestate
	                            * is passed on unchanged, else dropped */
	int upgrade;               /* an upgrade request (tt_hdr_is_upgrade): Upgrade is kept and
	                            * Connection: upgrade sent, instead of any close */
};

/* 1 when req asks to switch protocols (RFC 9110 section 7.8): HTTP/1.1, an
 * Upgrade field, Connection naming "upgrade", and no chunked body (the
 * tunnel would have to pass the rest of it re-encoded). CONNECT is not an
 * upgrade. Else 0: Upgrade is then dropped like any hop-by-hop field. */
int tt_hdr_is_upgrade(const struct tt_h1_head *req);

/* How a 101 answers an upgrade request. */
enum tt_hdr_upgrade_check {
	TT_HDR_UPGRADE_OK = 0,
	TT_HDR_UPGRADE_MISSING,    /* the 101 has no Upgrade field */
	TT_HDR_UPGRADE_NOT_OFFERED /* it names a protocol the request did not offer */
};

/*
 * Check that every protocol named in the 101's Upgrade was offered in the
 * request's (RFC 9110 section 7.8: "the server MUST NOT switch to a
 * protocol that was not indicated by the client"). Names compare case
 * insensitively; a protocol without a version matches any version of the
 * same name. On NOT_OFFERED, *bad and *bad_len give the first protocol not
 * offered (a slice of resp).
 */
enum tt_hdr_upgrade_check tt_hdr_upgrade_check(const struct tt_h1_head *req,
                                               const struct tt_h1_head *resp, const char **bad,
                                               size_t *bad_len);

/*
 * Split a request's target into host and origin-form path (RFC 9112
 * section 3.2): for absolute-form, the authority replaces Host. Returns 0,
 * or -1 for an absolute-form target that is not http(s)://authority[/path].
 */
int tt_hdr_effective_target(const struct tt_h1_head *req, const char **host, size_t *host_len,
                            const char **path, size_t *path_len);

/*
 * Choose the request id: the incoming X-Request-Id when the downstream is
 * trusted and the value is 1..TT_REQUEST_ID_MAX visible characters from
 * [A-Za-z0-9._:-], else a fresh one from `gen`. Writes a NUL-terminated id
 * into out[TT_REQUEST_ID_MAX + 1].
 */
void tt_hdr_request_id(const struct tt_h1_head *req, int trusted, uint64_t gen_hi, uint64_t gen_lo,
                       char *out);

/*
 * Write the request head for the upstream. framing is the body framing the
 * upstream will get (NONE, LENGTH with content_length, or CHUNKED).
 * Returns the head length, or -1 when it does not fit in cap.
 */
ssize_t tt_hdr_upstream_request(char *out, size_t cap, const struct tt_h1_head *req,
                                const struct tt_hdr_request_ctx *ctx, enum tt_h1_framing framing,
                                uint64_t content_length);

/* How the response to the downstream is framed and whether the downstream
 * connection stays open after it. */
struct tt_hdr_response_ctx {
	const char *request_id;
	const char *proxy_name;
	enum tt_h1_framing framing; /* NONE: copy Content-Length as received */
	uint64_t content_length;
	int keep_alive; /* downstream connection stays open */
	int http10_downstream;
	const char *proxy_status; /* telltale's Proxy-Status member, appended; NULL = none */
	int upgrade;              /* a 101 starting a tunnel: Upgrade kept, Connection: upgrade */
};

/* Write the response head for the downstream. Returns its length or -1. */
ssize_t tt_hdr_downstream_response(char *out, size_t cap, const struct tt_h1_head *resp,
                                   const struct tt_hdr_response_ctx *ctx);

/* The answer to plain HTTP on a TLS listener with redirect_http: 301 to
 * https://HOST/PATH (the Host as sent, port included, since that port
 * speaks TLS), no body, Connection: close. Returns its length or -1. */
ssize_t tt_hdr_redirect_https(char *out, size_t cap, const char *host, size_t host_len,
                              const char *path, size_t path_len, const char *request_id);

/* The head of a response telltale makes itself (errors, 404 without a
 * route): content_type, Content-Length body_len, X-Request-Id,
 * Proxy-Status (when proxy_status is non-empty: one member, RFC 9209),
 * Cache-Control: no-store, Retry-After when retry_after_s > 0 (RFC 9110
 * section 10.2.3), and Connection: close when !keep_alive. The
 * body is written separately. Returns the length or -1. */
ssize_t tt_hdr_local_response(char *out, size_t cap, int status, const char *content_type,
                              size_t body_len, const char *request_id, const char *proxy_status,
                              int retry_after_s, int keep_alive);

/* The reason phrase for a status code ("" when unknown). */
const char *tt_hdr_reason(int status);

#endif
