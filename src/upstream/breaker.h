/*
 * A circuit breaker per upstream server (issue 4, item 5), and the windowed
 * failure counter it shares with passive health (health.c).
 *
 * closed: every attempt goes through; outcomes are counted in a window of
 * breaker.window_ms. When at least min_requests attempts were counted in
 * the current window and failure_percent of them failed, the circuit opens.
 * open: no attempt goes through until open_ms have passed, so requests for
 * the server fail over at once (or meet a 503 when no server is left)
 * instead of waiting on a connect that is known to fail.
 * half-open: half_open_requests trial attempts go through (each takes a slot
 * with tt_breaker_acquire); that many successes close the circuit, one
 * failure opens it again for open_ms.
 *
 * The state is shared by every worker thread and lock-free: the whole
 * state machine (state, trial slots taken, trial successes, and the time
 * that matters in that state) is one 64-bit atomic word, so every
 * transition is a single compare-and-swap and no reader can see a state
 * with another state's deadline. The window is a second word, updated with
 * one compare-and-swap per counted outcome.
 *
 * Invariant: a closed circuit has no slots or deadline; an open one has a
 * deadline (open_until); a half-open one has used <= half_open_requests
 * unless the trial period was restarted (see tt_breaker_acquire).
 */
#ifndef TT_UPSTREAM_BREAKER_H
#define TT_UPSTREAM_BREAKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Outcomes counted over a tumbling window: the attempts and the failures
 * of the window that now_ms falls in (now_ms / window_ms). A new window
 * starts from zero. Packed into one word: window number (24 low bits of
 * it; a stale window is taken for the current one only after 2^24 windows
 * without an outcome), attempts and failures (20 bits each; when the
 * attempts would overflow both counts are halved, which keeps the ratio).
 * Zero-initialised is empty.
 */
struct tt_fail_window {
	_Atomic uint64_t packed;
};

/* Count one outcome (failed = 1 for a failure) at now_ms and return the
 * window's counts including it in *total and *fails. Thread-safe
 * (compare-and-swap loop); window_ms >= 1. */
void tt_fail_window_add(struct tt_fail_window *w, uint64_t window_ms, uint64_t now_ms, int failed,
                        uint32_t *total, uint32_t *fails);
/* The counts of the current window, without counting anything. Thread-safe. */
void tt_fail_window_read(const struct tt_fail_window *w, uint64_t window_ms, uint64_t now_ms,
                         uint32_t *total, uint32_t *fails);
/* Forget every count. Thread-safe. */
void tt_fail_window_reset(struct tt_fail_window *w);

/* 1 when total >= min_requests and failures are at least percent of it;
 * percent 0 is off (always 0). */
int tt_fail_ratio_reached(uint32_t total, uint32_t fails, uint32_t min_requests, uint32_t percent);

enum tt_breaker_state { TT_BREAKER_CLOSED = 0, TT_BREAKER_OPEN, TT_BREAKER_HALF_OPEN };

/* How an attempt ended, for the breaker. */
enum tt_breaker_outcome {
	TT_BREAKER_SUCCESS = 0,
	TT_BREAKER_FAILURE,
	/* Ended for a reason that says nothing of the server (the downstream
	 * left, a request error): not counted, but a half-open trial slot it
	 * held is given back so the circuit cannot stay half-open forever. */
	TT_BREAKER_NEUTRAL
};

/* Trial slots and successes are 10-bit fields of the state word:
 * half_open_requests is clamped to this. */
#define TT_BREAKER_MAX_TRIALS 1023u

/* One server's circuit. Embedded in the server's shared health state;
 * zero-initialised (or tt_breaker_init) is closed with an empty window. */
struct tt_breaker {
	_Atomic uint64_t word; /* state | used | ok | time, see breaker.c */
	struct tt_fail_window window;
};

/*
 * The config as the functions below read it: tt_breaker_params copies c
 * with window_ms and open_ms at least 1, min_requests at least 1 and
 * half_open_requests within 1..TT_BREAKER_MAX_TRIALS. failure_percent 0
 * turns the breaker off: it then always admits and never opens.
 */
struct tt_cfg_breaker tt_breaker_params(const struct tt_cfg_breaker *c);

void tt_breaker_init(struct tt_breaker *b);

/* b takes from's state and window (a reload hands a server's circuit to
 * the new generation), without from's trial slots in flight: those
 * attempts report to from. Relaxed loads and stores: a copy of a moment. */
void tt_breaker_inherit(struct tt_breaker *b, const struct tt_breaker *from);

/*
 * 1 when an attempt could go to the server now: closed; open whose open_ms
 * have passed (the next tt_breaker_acquire makes it half-open); half-open
 * with a trial slot left (or whose trial period has run out). Reads only,
 * takes nothing: for picks, where a server is not used yet. Thread-safe.
 */
int tt_breaker_allows(const struct tt_breaker *b, const struct tt_cfg_breaker *p, uint64_t now_ms);

/*
 * Just before an attempt is sent: returns 1 when it may go (closed: always,
 * and nothing is written; open past its deadline: the circuit becomes
 * half-open and this attempt takes its first slot; half-open: takes a free
 * slot), 0 when it may not (open, or every slot taken by another thread
 * since the pick). A half-open period whose trials have all been taken and
 * not decided within open_ms restarts with fresh slots, so a trial that is
 * never reported cannot keep the circuit half-open forever. Every 1 must
 * be followed by one tt_breaker_report. Thread-safe.
 */
int tt_breaker_acquire(struct tt_breaker *b, const struct tt_cfg_breaker *p, uint64_t now_ms);

/*
 * After an attempt: closed counts the outcome and opens on the ratio;
 * half-open closes after half_open_requests successes (with a fresh
 * window) and opens again on a failure; open ignores late outcomes of
 * attempts sent before it opened. Returns the state after the report.
 * Thread-safe.
 */
enum tt_breaker_state tt_breaker_report(struct tt_breaker *b, const struct tt_cfg_breaker *p,
                                        enum tt_breaker_outcome outcome, uint64_t now_ms);

/*
 * The state for display: an open circuit past its deadline reads as
 * half-open (that is what the next attempt meets). *until_ms (may be NULL)
 * gets the end of the open period when the state returned is open, else 0.
 * Thread-safe.
 */
enum tt_breaker_state tt_breaker_state(const struct tt_breaker *b, uint64_t now_ms,
                                       uint64_t *until_ms);

/* "closed", "open", "half_open": for logs, metrics and the status page. */
const char *tt_breaker_state_name(enum tt_breaker_state s);

#endif
