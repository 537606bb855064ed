/*
 * The retry decision (issue 4, item 2): may another attempt of a request
 * run after one failed? One pure function over a struct, so every rule is
 * a row of a table test (tests/unit/upstream/retry_test.c), and the
 * verdict's token goes to the log and the fault's details as it is.
 *
 * Invariant: a request that is not idempotent (RFC 9110 section 9.2.2) and
 * may have reached the upstream is never sent twice; nor is anything once
 * a byte of the response went downstream.
 *
 * The exchange runs a retry (verdict TT_RETRY_GO) on another server when
 * the balancer has one (tt_balancer_pick's `avoid`), after
 * tt_retry_backoff_ms.
 */
#ifndef TT_UPSTREAM_RETRY_H
#define TT_UPSTREAM_RETRY_H

#include <stdint.h>

#include "config/config.h"
#include "fault/fault.h"
#include "http/h1_parse.h"

/* What the exchange knows when an attempt has failed. */
struct tt_retry_in {
	enum tt_fault_id fault; /* why the attempt failed */
	enum tt_stage stage;    /* where */
	enum tt_h1_method method;
	int has_body;         /* the request has a body */
	int body_replayable;  /* all of it is still held (<= retry.body_bytes) */
	int request_sent_any; /* any byte of the request reached the upstream's socket */
	int response_started; /* any response byte went downstream */
	int attempts_done;    /* attempts so far, including the failed one */
	const struct tt_cfg_retry *cfg;
	uint32_t active_requests; /* in flight in this group (this worker), this one included */
	uint32_t active_retries;  /* retries in flight in this group (this worker), this one not */
	int servers_usable;       /* usable servers in the group, the failed one included */
};

/*
 * The verdicts, in precedence order: the first rule that says no gives the
 * verdict, so the log names the most fundamental reason. Safety rules come
 * first (they hold whatever the limits), then the limits.
 *
 *   response_started  any response byte went downstream, or the stage is
 *                     read-body or respond (the head was forwarded): the
 *                     downstream already has part of an answer
 *   not_retryable     the fault's catalogue retry class is TT_RETRY_NEVER
 *                     (or the fault is none or unknown): another attempt
 *                     cannot help or may repeat a processed request
 *   not_idempotent    the request may have reached the upstream
 *                     (request_sent_any, or the stage is wait-head or
 *                     read-head, which come after the request was sent)
 *                     and its method is not idempotent (RFC 9110 section
 *                     9.2.2): POST, PATCH, CONNECT, unknown methods. Before
 *                     any byte was sent, every method may retry, whatever
 *                     the class (TT_RETRY_SAFE or TT_RETRY_IDEMPOTENT)
 *   body_not_held     the request has a body and not all of it is held
 *                     for a replay (larger than retry.body_bytes, or
 *                     already partly dropped)
 *   attempts_used     attempts_done >= retry.attempts
 *   budget_spent      active_retries >= max(retry.min_retries,
 *                     active_requests * retry.budget_percent / 100), as in
 *                     Envoy's retry budget: retries cannot multiply load
 *                     when a whole group is failing
 *   no_server         no usable server is left in the group
 *   go                another attempt may run
 */
#define TT_RETRY_VERDICTS(X)                                                                       \
	X(GO, "go")                                                                                \
	X(NO_RESPONSE_STARTED, "response_started")                                                 \
	X(NO_CLASS, "not_retryable")                                                               \
	X(NO_NOT_IDEMPOTENT, "not_idempotent")                                                     \
	X(NO_BODY_NOT_HELD, "body_not_held")                                                       \
	X(NO_ATTEMPTS, "attempts_used")                                                            \
	X(NO_BUDGET, "budget_spent")                                                               \
	X(NO_SERVER, "no_server")

enum tt_retry_verdict {
#define X(id, token) TT_RETRY_##id,
	TT_RETRY_VERDICTS(X)
#undef X
	    TT_RETRY__VERDICT_COUNT
};

/* The verdict for one failed attempt; TT_RETRY_GO (0) allows another. in
 * and in->cfg must be non-NULL; nothing is kept. */
enum tt_retry_verdict tt_retry_decide(const struct tt_retry_in *in);

/* The verdict's short token for logs and details ("budget_spent"); "?" for
 * a value outside the enum. Static string. */
const char *tt_retry_verdict_name(enum tt_retry_verdict v);

/*
 * Milliseconds to wait before retry n (1-based; n < 1 reads as 1):
 * backoff_ms * 2^(n-1), times a jitter in [0.5, 1.5) drawn from rnd, and
 * never more than backoff_max_ms (0 = no cap). At the cap the jitter can
 * only lower the wait, so the retries of many requests still spread out
 * instead of firing together. backoff_ms 0 gives 0.
 */
uint64_t tt_retry_backoff_ms(const struct tt_cfg_retry *cfg, int n, uint64_t rnd);

#endif
