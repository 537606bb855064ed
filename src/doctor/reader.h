/*
 * Doctor's reading of one upstream response, as the proxy reads it: the
 * head through tt_h1_parse_response with the config's limits, 1xx skipped,
 * the body through the proxy's pump (proxy/pump.h), the upstream timers of
 * the config (upstream_head, upstream_idle, total), and every problem
 * turned into a fault by fault/classify.h.
 *
 * Pure logic: the caller does the I/O and passes the time (uv_hrtime()
 * nanoseconds), so the whole reader is testable without sockets.
 *
 * Invariant: phase only moves forward; once it is DONE or FAILED nothing
 * changes; in FAILED, fault holds a catalogue fault with its details.
 */
#ifndef TT_DOCTOR_READER_H
#define TT_DOCTOR_READER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fault/classify.h"
#include "fault/fault.h"
#include "http/h1_parse.h"
#include "proxy/pump.h"

enum tt_doc_phase {
	TT_DOC_HEAD = 0, /* request sent, waiting for the final response head */
	TT_DOC_BODY,     /* head parsed, body streaming */
	TT_DOC_DONE,     /* response complete */
	TT_DOC_FAILED    /* fault is set */
};

struct tt_doc_reader {
	enum tt_doc_phase phase;
	const struct tt_cfg_timeouts *to; /* borrowed from the config */
	struct tt_h1_limits lim;
	struct tt_h1_field *fields; /* heap, lim.max_fields entries */
	char *buf;                  /* heap, lim.max_head_bytes: the head being read */
	size_t len;                 /* bytes in buf */
	struct tt_h1_head head;     /* the final head; slices into buf */
	struct tt_pump pump;
	enum tt_h1_method method;

	uint64_t t_start_ns;       /* exchange start (connect), for timeouts.total */
	uint64_t t_sent_ns;        /* request written */
	uint64_t t_last_ns;        /* last byte received */
	uint64_t head_deadline_ns; /* 0 = no upstream_head */
	uint64_t t_head_ns;        /* final head parsed; 0 = not yet */
	uint64_t t_done_ns;        /* response complete or failed */
	uint64_t max_gap_ns;       /* longest silence between body bytes */
	uint64_t bytes;            /* response bytes received in all */
	unsigned interim;          /* 1xx heads skipped */
	int keep_alive;            /* the connection could be reused after DONE */
	int extra;                 /* bytes arrived past the end of the response */
	struct tt_fault fault;
};

/* Start reading the answer to a request with method m written at
 * t_sent_ns; the exchange began (connect started) at t_start_ns. Limits
 * come from cfg->limits as the proxy's workers derive them. */
void tt_doc_reader_init(struct tt_doc_reader *r, const struct tt_config *cfg, enum tt_h1_method m,
                        uint64_t t_start_ns, uint64_t t_sent_ns);
void tt_doc_reader_fini(struct tt_doc_reader *r);

/* Bytes arrived at now_ns. Returns the phase after them. */
enum tt_doc_phase tt_doc_reader_feed(struct tt_doc_reader *r, char *data, size_t n,
                                     uint64_t now_ns);

/* The stream ended with uv_err (UV_EOF or a libuv read error). */
enum tt_doc_phase tt_doc_reader_eof(struct tt_doc_reader *r, int uv_err, uint64_t now_ns);

/* When the proxy's timer would fire next (absolute ns), or 0 for never. */
uint64_t tt_doc_reader_deadline(const struct tt_doc_reader *r);

/* That timer fired: classify (FAILED). */
enum tt_doc_phase tt_doc_reader_timeout(struct tt_doc_reader *r, uint64_t now_ns);

/* Fill w with the state of a timer that fires at now_ns while connecting
 * (r == NULL) or reading. */
void tt_doc_wait_state(const struct tt_doc_reader *r, const struct tt_cfg_timeouts *to,
                       uint64_t t_start_ns, uint64_t now_ns, struct tt_fault_wait *w);

#endif
