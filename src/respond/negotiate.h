/*
 * Which body to send with an error telltale generates: HTML for browsers,
 * problem+json for API clients, plain text for everyone else (curl, scripts,
 * logs), chosen from the request's Accept field (RFC 9110 section 12.5.1).
 */
#ifndef TT_RESPOND_NEGOTIATE_H
#define TT_RESPOND_NEGOTIATE_H

#include <stddef.h>

enum tt_body_kind { TT_BODY_TEXT = 0, TT_BODY_HTML, TT_BODY_JSON };

/*
 * Rank the candidates text/html (HTML), application/problem+json and
 * application/json (JSON) and text/plain (TEXT) against accept[0..len).
 *
 * Each candidate takes the q of the most specific media range matching it
 * (type/subtype, then type/ *, then * / *); media type parameters other than
 * q are ignored, and q=0 excludes. The highest q wins; ties go to the more
 * specific match, then to html, json, text in that order, except that a
 * win by * / * alone goes to TEXT: a client that names no type (curl sends
 * "* / *") gets the plain body.
 *
 * Elements that do not parse (bad syntax, q outside 0..1 or with more than
 * three decimals) are skipped, as if the client had not sent them. NULL,
 * an empty or wholly unparseable value, or every candidate at q=0, give
 * TEXT: an error response is sent whatever the client accepts (RFC 9110
 * section 12.5.1 lets a server disregard Accept rather than answer 406).
 */
enum tt_body_kind tt_respond_negotiate(const char *accept, size_t len);

/* "text", "html" or "json": for logs and tests. */
const char *tt_body_kind_name(enum tt_body_kind k);

#endif
