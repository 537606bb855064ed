/*
 * The retry decision and its backoff: pure functions, no I/O, no clock.
 * The precedence of the rules is documented in retry.h and tested as a
 * table; keep the order of the checks here the same as there.
 */
#include "upstream/retry.h"

#include <assert.h>

static const char *const verdict_names[] = {
#define X(id, token) token,
    TT_RETRY_VERDICTS(X)
#undef X
};

const char *tt_retry_verdict_name(enum tt_retry_verdict v)
{
	if ((unsigned)v >= TT_RETRY__VERDICT_COUNT)
		return "?";
	return verdict_names[v];
}

/* Did the downstream already get part of an answer? Read-body and respond
 * come after the response head was forwarded (fault.h), so they count even
 * if the caller's flag says otherwise. */
static int response_started(const struct tt_retry_in *in)
{
	return in->response_started || in->stage == TT_STAGE_READ_BODY ||
	       in->stage == TT_STAGE_RESPOND;
}

/* May the request have reached the upstream? Waiting for or reading the
 * response head means the request was written, whatever the flag says. */
static int may_have_reached(const struct tt_retry_in *in)
{
	return in->request_sent_any || in->stage == TT_STAGE_WAIT_HEAD ||
	       in->stage == TT_STAGE_READ_HEAD;
}

/* Envoy's retry budget: retries in flight stay under a share of the
 * requests in flight, with a floor so a quiet group can still retry. */
static int budget_left(const struct tt_retry_in *in)
{
	uint64_t share = (uint64_t)in->active_requests * in->cfg->budget_percent / 100;
	uint64_t allowed = share > in->cfg->min_retries ? share : in->cfg->min_retries;
	return in->active_retries < allowed;
}

enum tt_retry_verdict tt_retry_decide(const struct tt_retry_in *in)
{
	const struct tt_fault_info *fi = tt_fault_info(in->fault);

	assert(in->cfg);
	if (response_started(in))
		return TT_RETRY_NO_RESPONSE_STARTED;
	if (!fi || fi->retry == TT_RETRY_NEVER)
		return TT_RETRY_NO_CLASS;
	/* RFC 9110 section 9.2.2: a request whose method is not idempotent is
	 * not repeated automatically unless the original is known never to
	 * have been applied. Not one byte reaching the upstream is that
	 * knowledge, so before then any method may go again. */
	if (may_have_reached(in) && !tt_h1_method_idempotent(in->method))
		return TT_RETRY_NO_NOT_IDEMPOTENT;
	/* The body may have been read from the downstream already: without all
	 * of it at hand, a second attempt would send a truncated request. */
	if (in->has_body && !in->body_replayable)
		return TT_RETRY_NO_BODY_NOT_HELD;
	if (in->attempts_done < 0 || (uint64_t)in->attempts_done >= in->cfg->attempts)
		return TT_RETRY_NO_ATTEMPTS;
	if (!budget_left(in))
		return TT_RETRY_NO_BUDGET;
	if (in->servers_usable < 1)
		return TT_RETRY_NO_SERVER;
	return TT_RETRY_GO;
}

/* a * b as 128 bits: the high half in *hi, the low half returned. */
static uint64_t mul_wide(uint64_t a, uint64_t b, uint64_t *hi)
{
	uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
	uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
	uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
	uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);

	*hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
	return (mid << 32) | (ll & 0xffffffffu);
}

/* x + y, saturating at UINT64_MAX. */
static uint64_t add_sat(uint64_t x, uint64_t y)
{
	return x > UINT64_MAX - y ? UINT64_MAX : x + y;
}

uint64_t tt_retry_backoff_ms(const struct tt_cfg_retry *cfg, int n, uint64_t rnd)
{
	uint64_t cap = cfg->backoff_max_ms ? cfg->backoff_max_ms : UINT64_MAX;
	uint64_t base = cfg->backoff_ms;
	uint64_t hi, lo, wait;

	/* Double until the cap: no shift can overflow, whatever n is. */
	for (int i = 1; i < n && base < cap; i++)
		base = base > cap / 2 ? cap : base * 2;
	if (base > cap)
		base = cap;
	/* The jitter is 0.5 + rnd / 2^64, in [0.5, 1.5): base * jitter is
	 * (base * 2^63 + base * rnd) / 2^64, computed exactly in integers so
	 * that no rounding lifts it to 1.5 or past the cap. */
	lo = mul_wide(base, rnd, &hi);
	wait = add_sat(base >> 1, hi);
	if ((base & 1) && lo >= (1ull << 63))
		wait = add_sat(wait, 1);
	return wait < cap ? wait : cap;
}
