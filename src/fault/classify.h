/*
 * Which fault an upstream response problem is, and what its details say:
 * a head the parser rejected, a timer that fired, an end of stream, bad
 * chunked framing. Pure functions over what was observed, so that the
 * proxy (src/proxy/response.c) and `telltale doctor` reach the same fault
 * type with the same wording for the same upstream.
 *
 * Each problem has two halves: a from_* function that chooses the fault id
 * (and stage where it varies), and a describe_* function that writes the
 * RFC 9209 details and type-specific parameter into a record whose id the
 * caller has already set (tt_fault_set, or the exchange's tt_ex_fault,
 * which also counts it). Nothing here allocates or does I/O.
 */
#ifndef TT_FAULT_CLASSIFY_H
#define TT_FAULT_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fault/fault.h"
#include "http/chunked.h"
#include "http/h1_parse.h"

/* A response head that tt_h1_parse_response rejected (stage read-head):
 * HTTP_RESPONSE_HEADER_SECTION_SIZE for a head too large or with too many
 * fields, HTTP_RESPONSE_HEADER_SIZE for one field too large,
 * HTTP_RESPONSE_TRANSFER_CODING for an unknown transfer coding, else
 * HTTP_PROTOCOL_ERROR (Content-Length with Transfer-Encoding included). */
enum tt_fault_id tt_fault_from_head_error(enum tt_h1_err err);

/* Details and parameter for that fault: h is the rejected head (err and
 * err_offset), buf[0..len) the bytes parsed, lim the limits used. */
void tt_fault_describe_head_error(struct tt_fault *f, const struct tt_h1_head *h, const char *buf,
                                  size_t len, const struct tt_h1_limits *lim);

/* A head of more than lim->max_head_bytes that never ended within the
 * buffer (the buffer filled first): HTTP_RESPONSE_HEADER_SECTION_SIZE. */
void tt_fault_describe_head_overflow(struct tt_fault *f, size_t received);

/* A 101 to a request that asked for no upgrade: HTTP_UPGRADE_FAILED. */
void tt_fault_describe_unexpected_101(struct tt_fault *f);

/* What was going on when an upstream timer fired. */
struct tt_fault_wait {
	const struct tt_cfg_timeouts *to;
	int total_expired;        /* timeouts.total passed since the exchange began */
	int connected;            /* the TCP connection was established */
	int head_done;            /* the final response head was parsed */
	uint64_t head_bytes;      /* bytes of an unfinished head received */
	int before_head_deadline; /* upstream_head is on and has not passed */
	uint64_t body_bytes;      /* body bytes received */
};

/*
 * The fault of a timer that fired, with *stage and *sys_err to record:
 * total expired -> HTTP_RESPONSE_TIMEOUT; not connected ->
 * CONNECTION_TIMEOUT (sys_err UV_ETIMEDOUT); some bytes of the head then
 * silence before the head deadline -> CONNECTION_READ_TIMEOUT; no complete
 * head by the deadline -> HTTP_RESPONSE_TIMEOUT; silence in the body ->
 * CONNECTION_READ_TIMEOUT.
 */
enum tt_fault_id tt_fault_from_timeout(const struct tt_fault_wait *w, enum tt_stage *stage,
                                       int *sys_err);
void tt_fault_describe_timeout(struct tt_fault *f, const struct tt_fault_wait *w);

/*
 * The upstream's stream ended (uv_err: UV_EOF, or a libuv read error such
 * as UV_ECONNRESET) before the response was complete. Before the head is
 * done: CONNECTION_TERMINATED at wait-head, or read-head when head_bytes >
 * 0. In the body: HTTP_RESPONSE_INCOMPLETE at read-body.
 */
enum tt_fault_id tt_fault_from_eof(int head_done, uint64_t head_bytes, enum tt_stage *stage);
void tt_fault_describe_eof_head(struct tt_fault *f, int uv_err, uint64_t head_bytes, int reused);
/* The stream ended while the request was still being written and before
 * any response byte: CONNECTION_TERMINATED at stage send (the caller's).
 * body_bytes: request body bytes taken from the downstream so far, when
 * has_body. */
void tt_fault_describe_eof_send(struct tt_fault *f, int uv_err, int has_body, uint64_t body_bytes);
/* by_length: the body had a Content-Length and `remaining` bytes of it
 * were missing; else it was chunked and its last chunk never came. */
void tt_fault_describe_eof_body(struct tt_fault *f, int uv_err, int by_length, uint64_t body_bytes,
                                uint64_t remaining);

/* Chunked framing the decoder rejected: the fault is
 * HTTP_RESPONSE_TRANSFER_CODING with coding=chunked. */
void tt_fault_describe_bad_chunk(struct tt_fault *f, const struct tt_chunked *dec);

/* A connect that failed with uv_err (the fault is tt_fault_from_uv(uv_err,
 * TT_STAGE_CONNECT)); addr is "ip:port". */
void tt_fault_describe_connect_error(struct tt_fault *f, const char *addr, int uv_err);

/* Writing the request failed with uv_err (tt_fault_from_uv(uv_err,
 * TT_STAGE_SEND)). body_bytes: request body bytes taken from the
 * downstream so far, when has_body (as tt_fault_describe_eof_send). */
void tt_fault_describe_send_error(struct tt_fault *f, int uv_err, int has_body,
                                  uint64_t body_bytes);

/* A getaddrinfo failure (EAI_*): DNS_TIMEOUT for EAI_AGAIN (the resolver
 * gave no answer in time), DNS_ERROR otherwise. */
enum tt_fault_id tt_fault_from_gai(int gai_err);

#endif
