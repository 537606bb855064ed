/*
 * Stale copies (GitHub issue 4 item 7): a per-worker, size-bounded,
 * in-memory store of GET and HEAD responses that RFC 9111 lets a shared
 * cache store, used only when the upstream fails. A copy is served while
 * RFC 5861 stale-if-error (from the response, from the request, or the
 * route's default) allows it, or at any age on an always_online route,
 * with Age (RFC 9111 section 5.1) and telltale's Proxy-Status member
 * saying it was served stale and why. telltale never answers from the
 * store while the upstream works: it is a fallback, not a cache.
 *
 * One store per worker, used from that worker's loop only: no locks. It
 * holds committed entries in a hash table (host case-insensitively +
 * target) with an LRU list, and counts the bytes of in-flight captures
 * and of evicted entries still referenced by a response being written.
 *
 * Invariant: the bytes of committed copies, in-flight captures and
 * evicted copies still referenced together stay <= max_bytes (a hard
 * cap: a capture that cannot make room gives up), and no stored copy is
 * larger than max_object_bytes. A copy's bytes are its
 * key, the request's values of the fields its Vary names, the stored head
 * and the body.
 *
 * Storability (tt_stale_storable, RFC 9111 section 3), as decided here:
 *   - request method GET or HEAD. A HEAD response is stored as a head-only
 *     copy that answers HEAD requests only; a GET copy answers both.
 *   - status 200, 203, 204, 300, 301, 308, 404, 405, 410, 414 or 501 (the
 *     heuristically cacheable codes of RFC 9110 section 15.1). Not 206:
 *     a part must not answer a request for the whole.
 *   - explicit freshness only: s-maxage, max-age or Expires. telltale uses
 *     no heuristic freshness (RFC 9111 section 4.2.2): a fallback copy
 *     must be one the origin said may be reused, for a time the origin
 *     chose; guessing from Last-Modified would put words in its mouth.
 *     always_online changes how long a copy may be served, never what is
 *     stored.
 *   - no no-store in the request or the response; no private (with or
 *     without field names: telltale does not strip fields, so a shared
 *     cache must not store it); no no-cache (a copy that must be
 *     validated before every use can never serve a failure).
 *   - a request with Authorization only when the response has public,
 *     s-maxage or must-revalidate (RFC 9111 section 3.5).
 *   - no Set-Cookie in the response: serving one visitor's cookie to
 *     everyone is a session leak, and origins set cookies on cacheable
 *     pages by mistake often enough.
 *   - Vary: the request's values of the named fields are kept with the
 *     copy and must match on lookup (RFC 9111 section 4.1): all lines of
 *     a field joined with ", ", compared byte for byte, absent matches
 *     only absent. Vary: * or a Vary element that is not a field name:
 *     not stored.
 *   - no malformed Cache-Control element in either head (TT_CC_INVALID):
 *     what we could not read might have been no-store.
 *
 * Serving (tt_stale_lookup), RFC 9111 section 4.2.4 and RFC 5861:
 *   - current age = initial age (see tt_cc_freshness) + resident time
 *     (RFC 9111 section 4.2.3 without the response delay term).
 *   - fresh (age < lifetime): served.
 *   - a request with no-cache (or Pragma: no-cache and no Cache-Control)
 *     gets no stored copy, fresh or stale, unless the route is
 *     always_online: it asked for a validated answer, and telltale's
 *     explained error is the honest one.
 *   - stale copies of responses with must-revalidate or proxy-revalidate,
 *     or with s-maxage (which implies proxy-revalidate for a shared cache,
 *     RFC 9111 section 5.2.2.10) and no stale-if-error of their own, are
 *     never served, even on always_online routes: the origin's explicit
 *     prohibition is a MUST, the operator's opt-in is not stronger.
 *   - always_online: any age.
 *   - otherwise while age <= lifetime + window, the window being the
 *     largest of: the response's stale-if-error (or, when it has none,
 *     the route's default), the request's stale-if-error and the
 *     request's max-stale. Either party may permit (RFC 9111 section
 *     4.2.4, RFC 5861 section 4).
 *   - a request's max-age, min-fresh and only-if-cached are not
 *     consulted: the store answers only when the upstream could not, and
 *     a copy is then the best answer there is unless a rule above forbids.
 */
#ifndef TT_RESPOND_STALE_H
#define TT_RESPOND_STALE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/h1_parse.h"

struct tt_stale_store;
struct tt_stale_capture;
struct tt_stale_entry;

/* Why a response is or is not stored: name, log token. */
#define TT_STALE_WHYS(X)                                                                           \
	X(OK, "storable")                                                                          \
	X(METHOD, "method")                     /* request not GET or HEAD */                      \
	X(STATUS, "status")                     /* status not in the stored set */                 \
	X(REQUEST_NO_STORE, "request-no-store") /* RFC 9111 5.2.1.5 */                             \
	X(NO_STORE, "no-store")                 /* RFC 9111 5.2.2.5 */                             \
	X(PRIVATE, "private")                   /* RFC 9111 5.2.2.7 */                             \
	X(NO_CACHE, "no-cache")                 /* RFC 9111 5.2.2.4 */                             \
	X(AUTHORIZATION, "authorization")       /* RFC 9111 3.5 */                                 \
	X(SET_COOKIE, "set-cookie")                                                                \
	X(VARY, "vary")                     /* Vary: * or not a list of field names */             \
	X(NO_FRESHNESS, "no-freshness")     /* no s-maxage, max-age or Expires */                  \
	X(INVALID, "invalid-cache-control") /* a malformed Cache-Control element */                \
	X(OFF, "off")                       /* no store (max_bytes 0) */                           \
	X(TOO_LARGE, "too-large")           /* over max_object_bytes or max_bytes */

enum tt_stale_why {
#define X(id, tok) TT_STALE_##id,
	TT_STALE_WHYS(X)
#undef X
	    TT_STALE_WHY__COUNT
};

/* The log token of a reason ("no-store"); "unknown" when out of range. */
const char *tt_stale_why_token(enum tt_stale_why why);

/*
 * Decide whether the response resp to request req may be stored, by the
 * rules at the top of this file. Pure. Returns TT_STALE_OK or the first
 * rule that refuses, checked in the order of TT_STALE_WHYS.
 */
enum tt_stale_why tt_stale_storable(const struct tt_h1_head *req, const struct tt_h1_head *resp);

/*
 * A store of at most max_bytes (committed and in flight together), copies
 * of at most max_object_bytes each. Returns NULL when max_bytes is 0 (the
 * feature is off); every function below accepts a NULL store and then
 * stores and finds nothing. Aborts when a small struct of its own cannot
 * be allocated; a copy's data block that cannot be allocated is only
 * refused (TT_STALE_TOO_LARGE, or the capture gives up).
 */
struct tt_stale_store *tt_stale_new(uint64_t max_bytes, uint64_t max_object_bytes);

/*
 * Free the store and every unreferenced entry; sets *s to NULL. Captures
 * still in flight and entries still referenced are detached: they stay
 * valid, and tt_stale_commit/tt_stale_abort/tt_stale_release free them
 * later (a commit into a freed store stores nothing).
 */
void tt_stale_free(struct tt_stale_store **s);

/*
 * Start capturing the response resp (a parsed head whose slices point
 * into the caller's buffer) to request req, sent to
 * the effective host host[0..host_len), received at now_ms (milliseconds
 * since the epoch, wall clock: it is compared with Date and Expires). Returns
 * NULL when the response is not storable (*why, when why is not NULL,
 * says which rule refused) or when the copy cannot fit; else a capture
 * that owns copies of everything it needs: req, resp and their
 * buffers may go once this returns.
 */
struct tt_stale_capture *tt_stale_begin(struct tt_stale_store *s, const struct tt_h1_head *req,
                                        const char *host, size_t host_len,
                                        const struct tt_h1_head *resp, uint64_t now_ms,
                                        enum tt_stale_why *why);

/*
 * Append body bytes (decoded: no chunk framing). Returns 0, or -1 once the
 * capture has given up (the copy passed max_object_bytes, the store could
 * not make room, or a HEAD response got a body); after -1 further appends
 * are ignored and commit acts as abort. The capture stays the caller's.
 */
int tt_stale_append(struct tt_stale_capture *c, const char *data, size_t len);

/*
 * The body completed: store the copy, replacing an older copy with the
 * same key and Vary values (a head-only copy never replaces a GET copy),
 * evicting least recently used entries as needed. Consumes *c and sets it
 * to NULL; NULL *c is a no-op.
 */
void tt_stale_commit(struct tt_stale_capture **c);

/* The body did not complete: drop the capture. Consumes *c, sets NULL. */
void tt_stale_abort(struct tt_stale_capture **c);

/* What a lookup found: name, log token. The hits come first. */
#define TT_STALE_OUTCOMES(X)                                                                       \
	X(FRESH, "fresh")                          /* still fresh: served */                       \
	X(RESPONSE_SIE, "response-stale-if-error") /* within the response's window */              \
	X(ROUTE_SIE, "route-stale-if-error")       /* within the route's default window */         \
	X(REQUEST_SIE, "request-stale-if-error")   /* within the request's window */               \
	X(REQUEST_MAX_STALE, "request-max-stale")  /* within the request's max-stale */            \
	X(ALWAYS_ONLINE, "always-online")          /* stale, any age: route opt-in */              \
	X(MISS, "miss")                            /* nothing stored for this request */           \
	X(TOO_OLD, "too-old")                      /* stale past every window */                   \
	X(REVALIDATE, "must-revalidate")           /* stale, and the origin forbids serving it */  \
	X(REQUEST_NO_CACHE, "request-no-cache")    /* the request asked for a validated answer */

enum tt_stale_outcome {
#define X(id, tok) TT_STALE_##id,
	TT_STALE_OUTCOMES(X)
#undef X
	    TT_STALE_OUTCOME__COUNT
};

/* The log token of an outcome; "unknown" when out of range. */
const char *tt_stale_outcome_token(enum tt_stale_outcome o);

/* A lookup's result, filled on hits and misses alike. */
struct tt_stale_result {
	enum tt_stale_outcome outcome;
	uint64_t age_s;      /* current age of the copy (0 on MISS) */
	uint64_t lifetime_s; /* its freshness lifetime */
	uint64_t window_ms;  /* the stale window that applied (0 when fresh or none) */
};

/*
 * The upstream failed: find the copy for req (GET or HEAD) to host, and
 * decide by the rules at the top of this file whether it may be served at
 * now_ms (the clock of tt_stale_begin), with the route's
 * default_stale_if_error_ms (0 = none) and always_online. Ages are
 * compared in ms, so a window edge does not move with the second; the
 * reported age_s is the age rounded down, as Age is written.
 * Among several copies that match (Vary), the most recently stored one is
 * judged. Fills *res. Returns the entry with a reference the caller owns
 * and must give back with tt_stale_release once the response is written
 * (the entry, its head and its body stay valid until then, even if it is
 * evicted or the store freed); NULL when nothing may be served.
 */
struct tt_stale_entry *tt_stale_lookup(struct tt_stale_store *s, const struct tt_h1_head *req,
                                       const char *host, size_t host_len, uint64_t now_ms,
                                       uint64_t default_stale_if_error_ms, int always_online,
                                       struct tt_stale_result *res);

/* Give back a reference from tt_stale_lookup; sets *e to NULL. */
void tt_stale_release(struct tt_stale_entry **e);

/* How to write a head from a stored copy. */
struct tt_stale_serve {
	uint64_t age_s;           /* from the lookup's result */
	const char *proxy_status; /* telltale's Proxy-Status member; NULL or "" = none */
	const char *request_id;   /* X-Request-Id; NULL = none */
	const char *proxy_name;   /* Via: 1.x <proxy_name> (RFC 9110 7.6.3); NULL = none */
	int keep_alive;           /* 0 adds Connection: close */
	int http10_downstream;    /* with keep_alive, adds Connection: keep-alive */
};

/*
 * Write the head to serve from e into out[0..cap): "HTTP/1.1", the stored
 * status and reason, the stored fields (hop-by-hop fields, Content-Length,
 * Age and X-Request-Id were dropped when it was stored), Via, X-Request-Id,
 * `Age: N` (RFC 9111 section 5.1), `Proxy-Status: <member>` after any
 * stored members (RFC 9209 section 2), Content-Length of the stored body
 * (not for 204; a head-only copy keeps its upstream Content-Length
 * instead), Connection as asked, and the empty line. No NUL. Returns the
 * head length, or -1 when it does not fit in cap.
 */
ssize_t tt_stale_write_head(const struct tt_stale_entry *e, const struct tt_stale_serve *how,
                            char *out, size_t cap);

/* The stored body (empty for head-only copies and 204). Valid while the
 * caller holds its reference. A HEAD request gets the head only. */
void tt_stale_body(const struct tt_stale_entry *e, const char **body, size_t *len);

/*
 * RFC 9209 details for telltale's Proxy-Status member, NUL-terminated:
 * "served stale: <fault token>; age 75s, 15s past freshness; allowed by
 * response stale-if-error=60" (fault_token NULL or "" leaves that part
 * out). Returns the length, or -1 when it does not fit.
 */
ssize_t tt_stale_details(char *out, size_t cap, const struct tt_stale_result *r,
                         const char *fault_token);

/* Bytes held (committed, in flight, and evicted but referenced) and
 * committed entries, for metrics and tests. */
void tt_stale_usage(const struct tt_stale_store *s, uint64_t *bytes, size_t *entries);

#endif
