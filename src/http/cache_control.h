/*
 * Cache-Control (RFC 9111 section 5.2) and the other fields a shared cache
 * reads to decide what it may store and for how long: Expires, Date, Age
 * (RFC 9111 sections 5.3, 6.6.1 of RFC 9110, 5.1) and Pragma (RFC 9111
 * section 5.4), plus the HTTP-date format (RFC 9110 section 5.6.7).
 *
 * Everything here is a pure function over slices: no I/O, no allocation.
 * The parser is strict about syntax (RFC 9110 section 5.6: a list of
 * token [ "=" ( token / quoted-string ) ]) and conservative about meaning:
 *
 *   - A malformed element (not a token, space around "=", unterminated
 *     quoted-string, junk after the argument) is skipped and sets
 *     TT_CC_INVALID; the other elements still count. Callers deciding
 *     whether to store a response treat TT_CC_INVALID as "do not store":
 *     the unreadable element might have been no-store.
 *   - A directive that only restricts (no-store, no-cache, private,
 *     must-revalidate, proxy-revalidate, no-transform, only-if-cached,
 *     must-understand) takes effect even with an argument it should not
 *     have; private="..." and no-cache="..." (field-name lists, RFC 9111
 *     sections 5.2.2.4 and 5.2.2.7) act like the unqualified forms, which
 *     is what a shared cache that does not strip fields must do.
 *   - A directive that grants (public, immutable) is ignored when it
 *     carries an argument.
 *   - max-age and s-maxage with an invalid argument count as present with
 *     the value 0: RFC 9111 section 4.2.1 encourages treating invalid
 *     freshness information as stale. stale-if-error,
 *     stale-while-revalidate, max-stale and min-fresh with an invalid
 *     argument are ignored (no permission is granted).
 *   - A directive repeated, in one field line or several, keeps its
 *     smallest value: the most restrictive reading, which RFC 9111 section
 *     4.2.1 allows ("the most restrictive directive should be honored").
 *   - delta-seconds above 2^31 are clamped to 2^31 (RFC 9111 section
 *     1.2.2); the quoted form max-age="5" is accepted (section 5.2).
 *   - Unknown, well-formed directives are ignored (section 5.2.3).
 *
 * Invariant: every *_s value of a struct tt_cc is <= TT_CC_DELTA_MAX, and is
 * 0 unless its flag is set.
 */
#ifndef TT_HTTP_CACHE_CONTROL_H
#define TT_HTTP_CACHE_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "http/h1_parse.h"

/* RFC 9111 section 1.2.2: the greatest delta-seconds a cache must keep. */
#define TT_CC_DELTA_MAX 2147483648u

/* Directives seen; request and response directives share one set. */
enum tt_cc_flag {
	TT_CC_NO_STORE = 1u << 0,               /* 5.2.1.5, 5.2.2.5 */
	TT_CC_NO_CACHE = 1u << 1,               /* 5.2.1.4, 5.2.2.4 (also qualified) */
	TT_CC_PRIVATE = 1u << 2,                /* 5.2.2.7 (also qualified) */
	TT_CC_PUBLIC = 1u << 3,                 /* 5.2.2.9 */
	TT_CC_MUST_REVALIDATE = 1u << 4,        /* 5.2.2.2 */
	TT_CC_PROXY_REVALIDATE = 1u << 5,       /* 5.2.2.8 */
	TT_CC_MAX_AGE = 1u << 6,                /* 5.2.1.1, 5.2.2.1: max_age_s */
	TT_CC_S_MAXAGE = 1u << 7,               /* 5.2.2.10: s_maxage_s */
	TT_CC_STALE_IF_ERROR = 1u << 8,         /* RFC 5861 section 4: stale_if_error_s */
	TT_CC_STALE_WHILE_REVALIDATE = 1u << 9, /* RFC 5861 section 3: parsed, unused */
	TT_CC_MAX_STALE = 1u << 10,             /* 5.2.1.2: max_stale_s, DELTA_MAX if bare */
	TT_CC_MIN_FRESH = 1u << 11,             /* 5.2.1.3: min_fresh_s */
	TT_CC_ONLY_IF_CACHED = 1u << 12,        /* 5.2.1.7 */
	TT_CC_NO_TRANSFORM = 1u << 13,          /* 5.2.1.6, 5.2.2.6 */
	TT_CC_MUST_UNDERSTAND = 1u << 14,       /* 5.2.2.3 */
	TT_CC_IMMUTABLE = 1u << 15,             /* RFC 8246 */
	TT_CC_INVALID = 1u << 31                /* some element was malformed */
};

/* What the Cache-Control field lines of one message say. */
struct tt_cc {
	uint32_t flags;                    /* enum tt_cc_flag bits */
	uint32_t max_age_s;                /* seconds */
	uint32_t s_maxage_s;               /* seconds */
	uint32_t stale_if_error_s;         /* seconds */
	uint32_t stale_while_revalidate_s; /* seconds */
	uint32_t max_stale_s;              /* seconds */
	uint32_t min_fresh_s;              /* seconds */
};

/* Clear a struct tt_cc: no directive seen. */
void tt_cc_init(struct tt_cc *cc);

/*
 * Add the directives of one Cache-Control field line value[0..len) to cc.
 * Several lines of one message are parsed into the same struct, which is
 * the same as parsing their comma-joined combination (RFC 9110 section 5.3).
 * Never fails: malformed elements set TT_CC_INVALID and are skipped.
 */
void tt_cc_parse(struct tt_cc *cc, const char *value, size_t len);

/* tt_cc_init, then tt_cc_parse of every Cache-Control line of h. */
void tt_cc_from_head(struct tt_cc *cc, const struct tt_h1_head *h);

/*
 * RFC 9111 section 5.4: a request's Pragma: no-cache counts as
 * Cache-Control: no-cache only when the request has no Cache-Control field.
 * Returns 1 in that case, else 0.
 */
int tt_cc_pragma_no_cache(const struct tt_h1_head *req);

/*
 * delta-seconds (RFC 9111 section 1.2.2): 1*DIGIT, clamped to
 * TT_CC_DELTA_MAX. Returns 0 and sets *out, or -1 when s[0..len) is empty
 * or holds anything but digits.
 */
int tt_cc_delta_seconds(const char *s, size_t len, uint32_t *out);

/* Length of an IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT". */
#define TT_HTTP_DATE_LEN 29

/*
 * Parse an HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate, or one of the
 * obsolete rfc850-date and asctime-date forms, exactly, case-sensitively,
 * without surrounding whitespace. The day name must be a valid name but is
 * not checked against the date (it is redundant; RFC 9110 asks no check).
 * An rfc850 two-digit year is placed within 50 years of now_s, never more
 * than 50 years ahead (RFC 9110 section 5.6.7). Seconds may be 60 (a leap
 * second, counted as the next second). Returns 0 and sets *out to seconds
 * since 1970-01-01T00:00:00Z (negative before it), or -1.
 */
int tt_http_date_parse(const char *s, size_t len, int64_t now_s, int64_t *out);

/*
 * Write t as an IMF-fixdate into out[0..TT_HTTP_DATE_LEN] with a NUL.
 * Returns TT_HTTP_DATE_LEN, or 0 when t lies outside years 0000..9999.
 */
size_t tt_http_date_format(int64_t t, char *out);

/* What a response says about its freshness (RFC 9111 section 4.2). */
struct tt_cc_fresh {
	uint32_t lifetime_s;    /* freshness lifetime, section 4.2.1; 0 when not explicit */
	uint32_t initial_age_s; /* age when received, section 4.2.3 (simplified, see below) */
	int is_explicit;        /* s-maxage, max-age or Expires was present */
};

/*
 * The freshness of a response received at response_time_s (seconds since
 * the epoch), for a shared cache, without heuristics:
 *
 *   lifetime: s-maxage, else max-age, else Expires - Date (section
 *   4.2.1). Date defaults to response_time_s when absent or invalid
 *   (RFC 9110 section 6.6.1). An Expires that is not one valid HTTP-date
 *   (invalid, "0", or several lines) means "already expired" (section 5.3),
 *   lifetime 0; a negative difference is 0 too.
 *
 *   initial age: max(apparent_age, age_value), apparent_age =
 *   max(0, response_time - date_value) (section 4.2.3). The response
 *   delay term is left out: the caller gives no request time, and the
 *   delay is at most the upstream's response time. The first Age line that
 *   is valid delta-seconds is age_value; an invalid Age is ignored.
 *
 * Both are clamped to TT_CC_DELTA_MAX. Returns out->is_explicit.
 */
int tt_cc_freshness(const struct tt_h1_head *resp, const struct tt_cc *cc, int64_t response_time_s,
                    struct tt_cc_fresh *out);

/*
 * Vary (RFC 9111 section 4.1). tt_cc_vary_valid: 1 when every element of
 * every Vary line of resp is a field name (a token), 0 for "*" or anything
 * else; a caller that stores responses refuses the 0s.
 */
int tt_cc_vary_valid(const struct tt_h1_head *resp);

/*
 * The request's values of the fields resp's Vary lines name, as one record
 * to keep with a stored response: per named field, its lower-cased name,
 * ':', then '1' and the request's lines of that field joined with ", ",
 * or '0' when the request has none, then '\n' (field values hold no LF).
 * Writes into out, which must hold the returned length; with out NULL
 * only counts. Returns the record's length (0 without Vary).
 */
size_t tt_cc_vary_record(char *out, const struct tt_h1_head *resp, const struct tt_h1_head *req);

/*
 * 1 when req carries the values recorded in rec[0..len) (a record from
 * tt_cc_vary_record): byte for byte after joining lines, field names
 * case-insensitive, absent matching only absent. Whitespace differences
 * are not normalized, so they give a miss, never a wrong match. 0 also
 * for a malformed record.
 */
int tt_cc_vary_match(const char *rec, size_t len, const struct tt_h1_head *req);

#endif
