/*
 * The aggregation behind `telltale explain`: access-log lines in, counts
 * out. Pure: no I/O but the optional JSON report writer, no allocation after
 * tt_explain_new. Everything is a fixed-size table, so a log of any size
 * costs the same memory (about 1 MiB):
 *
 *   - totals: lines, bad lines (by reason, with the first one's line number
 *     and byte offset), requests, errors, 5xx sent and upstream-sent 5xx;
 *   - by fault token (the catalogue's rows, plus "(unknown)" for tokens this
 *     build does not know);
 *   - by upstream and by route, TT_EXPLAIN_NAMES distinct names each; the
 *     rest fold into "(other)", and the requests folded are counted;
 *   - stories: fault token x upstream, with a count and the first and last
 *     time seen;
 *   - windows: TT_EXPLAIN_WINDOWS time buckets from the first request, one
 *     minute wide; when a request falls past the last one, neighbouring
 *     buckets merge and the width doubles, so the whole log always fits.
 *
 * Definitions (docs/explain.md says the same): a request is a line that
 * parses and falls inside [since, until); an error is a request whose
 * "fault" is not null; upstream-sent 5xx are requests whose
 * "upstream_status" is >= 500 (the upstream's own errors); the route is the
 * target's first path segment ("/api" for "/api/users?id=1"), because the
 * log has no route field.
 */
#ifndef TT_OBS_EXPLAIN_H
#define TT_OBS_EXPLAIN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fault/fault.h"
#include "obs/json.h"

#define TT_EXPLAIN_LINE_MAX (64 * 1024) /* longer lines are bad ("too_long") */
#define TT_EXPLAIN_NODES    1024        /* JSON values on one line, at most */
#define TT_EXPLAIN_NAMES    256         /* distinct upstreams, and routes, kept */
#define TT_EXPLAIN_NAME_MAX 64          /* bytes kept of a name, NUL included */
#define TT_EXPLAIN_WINDOWS  1440        /* time buckets: one day of minutes */
#define TT_EXPLAIN_TOP      10          /* stories told in words */
#define TT_EXPLAIN_UNKNOWN  0           /* fault index of tokens the catalogue lacks */

/* Why a line was not counted as a request: enum, JSON key, words. */
#define TT_EXPLAIN_BAD_TABLE(X)                                                                    \
	X(TOO_LONG, "too_long", "longer than 64 KiB")                                              \
	X(NOT_JSON, "not_json", "not valid JSON")                                                  \
	X(NOT_OBJECT, "not_object", "not a JSON object")                                           \
	X(BAD_TIME, "bad_time", "no RFC 3339 \"time\"")                                            \
	X(BAD_STATUS, "bad_status", "no integer \"status\"")                                       \
	X(BAD_FIELD, "bad_field", "a field of the wrong type")

enum tt_explain_bad {
	TT_EXPLAIN_OK = 0,
#define X(id, key, words) TT_EXPLAIN_##id,
	TT_EXPLAIN_BAD_TABLE(X)
#undef X
	    TT_EXPLAIN_BAD__COUNT
};

/* A slice of a line; p NULL when the field is null or absent. */
struct tt_explain_str {
	const char *p;
	size_t len;
};

struct tt_explain_attempt {
	struct tt_explain_str upstream, fault, stage;
	double connect_ms, head_ms; /* < 0 = null */
	int reused;
};

/* One line, read. Strings point into the reader's scratch buffer and stay
 * valid until the reader reads the next line. */
struct tt_explain_rec {
	int64_t time_ms; /* ms since the epoch */
	struct tt_explain_str time, request_id, downstream, method, target;
	int status;
	double duration_ms; /* < 0 = absent */
	struct tt_explain_str upstream;
	int upstream_status; /* 0 = none */
	double connect_ms, head_ms;
	struct tt_explain_str fault, fault_type, fault_stage, fault_details;
	enum tt_fault_id fault_id; /* TT_FAULT_NONE when fault is null or unknown */
	struct tt_explain_attempt attempts[TT_FAULT_MAX_ATTEMPTS];
	int nattempts; /* kept, at most TT_FAULT_MAX_ATTEMPTS */
};

/* Parses lines; owns the JSON nodes and the decoded strings of one line. */
struct tt_explain_reader {
	struct tt_json_doc doc;
	enum tt_json_err jerr; /* after TT_EXPLAIN_NOT_JSON: why, at doc.err_off */
	struct tt_json_node nodes[TT_EXPLAIN_NODES];
	char scratch[TT_EXPLAIN_LINE_MAX + 1];
};

void tt_explain_reader_init(struct tt_explain_reader *r);

/* Read one line (without its newline) into rec. Returns TT_EXPLAIN_OK or
 * why the line is bad. Unknown keys are ignored; known keys must have their
 * type (or null where the log writes null). */
enum tt_explain_bad tt_explain_read(struct tt_explain_reader *r, const char *line, size_t len,
                                    struct tt_explain_rec *rec);

/* Parse an RFC 3339 date-time ("2025-11-26T12:01:02.345Z", "...+02:00").
 * Returns 1 and ms since the epoch, or 0. */
int tt_explain_parse_time(const char *s, size_t len, int64_t *ms);
/* Format ms as RFC 3339 UTC with milliseconds ("2025-11-26T12:01:02.345Z");
 * cap >= 32. */
void tt_explain_fmt_time(char *buf, size_t cap, int64_t ms);

struct tt_explain_count {
	uint64_t requests, errors, upstream_5xx;
	uint64_t failed_attempts; /* attempts with a fault, retried ones included */
};

struct tt_explain_name {
	char name[TT_EXPLAIN_NAME_MAX]; /* NUL-terminated, cut at a UTF-8 boundary */
	struct tt_explain_count c;
};

/* Names seen, in order of first appearance; e[TT_EXPLAIN_NAMES] is
 * "(other)". */
struct tt_explain_names {
	struct tt_explain_name e[TT_EXPLAIN_NAMES + 1];
	size_t n;                             /* distinct names kept */
	uint64_t folded;                      /* requests counted under "(other)" */
	uint16_t slots[TT_EXPLAIN_NAMES * 4]; /* hash of name -> index + 1 */
};

struct tt_explain_story {
	uint64_t count;
	int64_t first_ms, last_ms;
};

struct tt_explain_window {
	uint64_t requests, errors, upstream_5xx;
	uint32_t faults[TT_FAULT__COUNT]; /* errors by fault index */
};

struct tt_explain {
	int64_t since_ms, until_ms; /* requests kept: since <= time < until */
	/* Totals. lines == blank + bad + outside + requests. */
	uint64_t lines, blank, bad, outside, requests, errors;
	uint64_t status_5xx;       /* responses telltale sent with status >= 500 */
	uint64_t upstream_5xx;     /* responses received from upstreams with status >= 500 */
	uint64_t recovered;        /* requests without a fault after a failed attempt */
	int64_t first_ms, last_ms; /* time range of the requests; first > last: none */
	uint64_t bad_by[TT_EXPLAIN_BAD__COUNT];
	uint64_t first_bad_line; /* 1-based; 0 = no bad line */
	enum tt_explain_bad first_bad;
	long first_bad_off; /* byte offset in the line for not_json, else -1 */
	enum tt_json_err first_bad_json;
	/* Tables. Fault index i is fault id i, 0 being "(unknown)". */
	uint64_t by_fault[TT_FAULT__COUNT];
	struct tt_explain_names upstreams, routes;
	struct tt_explain_story stories[TT_FAULT__COUNT][TT_EXPLAIN_NAMES + 1];
	int64_t win_origin_ms, win_width_ms;
	size_t nwin; /* buckets in use: the last request's index + 1 */
	struct tt_explain_window win[TT_EXPLAIN_WINDOWS];
	struct tt_explain_reader reader;
};

/* A new, empty aggregation keeping requests with since <= time < until
 * (INT64_MIN / INT64_MAX for no bound). The caller owns it; NULL when out
 * of memory. */
struct tt_explain *tt_explain_new(int64_t since_ms, int64_t until_ms);
/* Free it and null the caller's pointer. */
void tt_explain_free(struct tt_explain **x);

/* Count one line (without its newline). Returns what became of it. */
enum tt_explain_bad tt_explain_line(struct tt_explain *x, const char *line, size_t len);
/* Count a line that was too long to read whole. */
void tt_explain_too_long(struct tt_explain *x);
/* Count a line already read into rec. */
void tt_explain_add(struct tt_explain *x, const struct tt_explain_rec *rec);

/* A story with its place in the table, for reports. */
struct tt_explain_top {
	int fault;    /* fault index */
	int upstream; /* index into upstreams.e */
	const struct tt_explain_story *s;
};

/* The up to max largest stories, largest first (ties: fault id, then
 * upstream order). Returns how many. */
size_t tt_explain_stories(const struct tt_explain *x, struct tt_explain_top *out, size_t max);
/* Indexes of the names in use, "(other)" included when used, most errors
 * first (ties: most requests, then first seen). Returns how many. */
size_t tt_explain_order(const struct tt_explain_names *t, uint16_t *out);
/* Fault indexes with errors, most first (ties: catalogue order). */
size_t tt_explain_faults(const struct tt_explain *x, int *out);

/* The fault index's token, type and catalogue row (NULL for "(unknown)"). */
const char *tt_explain_token(int fault);
const char *tt_explain_type(int fault);
const char *tt_explain_bad_key(enum tt_explain_bad b);
const char *tt_explain_bad_words(enum tt_explain_bad b);

/* errors / requests, 0 when there are none. */
double tt_explain_rate(uint64_t errors, uint64_t requests);

/* Write the report as one JSON document (keys in docs/explain.md). file
 * is the name shown ("-" for stdin). */
void tt_explain_write_json(FILE *out, const struct tt_explain *x, const char *file);

#endif
