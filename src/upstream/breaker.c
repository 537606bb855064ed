/*
 * The circuit breaker's state machine and the windowed failure counter
 * (see breaker.h). Every change is one compare-and-swap on one word, so
 * worker threads never take a lock and never see a half-made transition.
 *
 * State word: bits 0-1 state, bits 2-11 trial slots taken, bits 12-21
 * trial successes, bits 22-63 a time in ms (open: when it may be tried
 * again; half-open: when the trial period began). 42 bits of milliseconds
 * last 139 years of uv_now (a monotonic clock counted from boot).
 */
#include "upstream/breaker.h"

#define ST_BITS    2
#define CNT_BITS   10
#define CNT_MASK   ((1u << CNT_BITS) - 1)
#define USED_SHIFT ST_BITS
#define OK_SHIFT   (ST_BITS + CNT_BITS)
#define T_SHIFT    (ST_BITS + 2 * CNT_BITS)
#define T_MASK     ((UINT64_C(1) << (64 - T_SHIFT)) - 1)

/* The window word: bits 0-19 attempts, 20-39 failures, 40-63 window number. */
#define W_CNT_BITS   20
#define W_CNT_MAX    ((UINT64_C(1) << W_CNT_BITS) - 1)
#define W_EPOCH_MASK ((UINT64_C(1) << (64 - 2 * W_CNT_BITS)) - 1)

static uint64_t w_epoch(uint64_t window_ms, uint64_t now_ms)
{
	return (now_ms / window_ms) & W_EPOCH_MASK;
}

static void w_unpack(uint64_t v, uint64_t epoch, uint32_t *total, uint32_t *fails)
{
	if (v >> (2 * W_CNT_BITS) != epoch) {
		*total = 0;
		*fails = 0;
		return;
	}
	*total = (uint32_t)(v & W_CNT_MAX);
	*fails = (uint32_t)((v >> W_CNT_BITS) & W_CNT_MAX);
}

void tt_fail_window_add(struct tt_fail_window *w, uint64_t window_ms, uint64_t now_ms, int failed,
                        uint32_t *total, uint32_t *fails)
{
	uint64_t epoch = w_epoch(window_ms, now_ms);
	uint64_t old = atomic_load_explicit(&w->packed, memory_order_relaxed), v;
	uint32_t t, f;
	do {
		w_unpack(old, epoch, &t, &f);
		/* Halving both keeps the ratio when a busy server fills the
		 * counter within one window. */
		if (t == W_CNT_MAX) {
			t /= 2;
			f /= 2;
		}
		t++;
		f += failed ? 1 : 0;
		v = epoch << (2 * W_CNT_BITS) | (uint64_t)f << W_CNT_BITS | t;
	} while (!atomic_compare_exchange_weak_explicit(&w->packed, &old, v, memory_order_relaxed,
	                                                memory_order_relaxed));
	*total = t;
	*fails = f;
}

void tt_fail_window_read(const struct tt_fail_window *w, uint64_t window_ms, uint64_t now_ms,
                         uint32_t *total, uint32_t *fails)
{
	/* C11 before DR 459 declares atomic_load on a non-const pointer; the
	 * cast drops const for a read only. */
	uint64_t v = atomic_load_explicit((_Atomic uint64_t *)&w->packed, memory_order_relaxed);
	w_unpack(v, w_epoch(window_ms, now_ms), total, fails);
}

void tt_fail_window_reset(struct tt_fail_window *w)
{
	atomic_store_explicit(&w->packed, 0, memory_order_relaxed);
}

int tt_fail_ratio_reached(uint32_t total, uint32_t fails, uint32_t min_requests, uint32_t percent)
{
	if (percent == 0 || total == 0 || total < min_requests)
		return 0;
	return (uint64_t)fails * 100 >= (uint64_t)percent * total;
}

struct tt_cfg_breaker tt_breaker_params(const struct tt_cfg_breaker *c)
{
	struct tt_cfg_breaker p = *c;
	if (p.window_ms == 0)
		p.window_ms = 1;
	if (p.open_ms == 0)
		p.open_ms = 1;
	if (p.min_requests == 0)
		p.min_requests = 1;
	if (p.half_open_requests == 0)
		p.half_open_requests = 1;
	if (p.half_open_requests > TT_BREAKER_MAX_TRIALS)
		p.half_open_requests = TT_BREAKER_MAX_TRIALS;
	return p;
}

static uint64_t pack(enum tt_breaker_state st, uint32_t used, uint32_t ok, uint64_t t)
{
	return (uint64_t)st | (uint64_t)(used & CNT_MASK) << USED_SHIFT |
	       (uint64_t)(ok & CNT_MASK) << OK_SHIFT | (t & T_MASK) << T_SHIFT;
}

static enum tt_breaker_state st_of(uint64_t v)
{
	return (enum tt_breaker_state)(v & 3);
}

static uint32_t used_of(uint64_t v)
{
	return (uint32_t)(v >> USED_SHIFT) & CNT_MASK;
}

static uint32_t ok_of(uint64_t v)
{
	return (uint32_t)(v >> OK_SHIFT) & CNT_MASK;
}

static uint64_t t_of(uint64_t v)
{
	return v >> T_SHIFT;
}

static uint64_t load_word(const struct tt_breaker *b)
{
	return atomic_load_explicit((_Atomic uint64_t *)&b->word, memory_order_acquire);
}

static int cas(struct tt_breaker *b, uint64_t *old, uint64_t v)
{
	return atomic_compare_exchange_weak_explicit(&b->word, old, v, memory_order_acq_rel,
	                                             memory_order_acquire);
}

void tt_breaker_init(struct tt_breaker *b)
{
	atomic_init(&b->word, pack(TT_BREAKER_CLOSED, 0, 0, 0));
	atomic_init(&b->window.packed, 0);
}

void tt_breaker_inherit(struct tt_breaker *b, const struct tt_breaker *from)
{
	uint64_t v = atomic_load_explicit(&from->word, memory_order_relaxed);
	v &= ~((uint64_t)CNT_MASK << USED_SHIFT);
	atomic_store_explicit(&b->word, v, memory_order_relaxed);
	atomic_store_explicit(&b->window.packed,
	                      atomic_load_explicit(&from->window.packed, memory_order_relaxed),
	                      memory_order_relaxed);
}

/* Half-open and every slot taken for a whole open_ms without a decision:
 * the trials were lost (an attempt never reported), start a new period. */
static int trials_stale(uint64_t v, const struct tt_cfg_breaker *p, uint64_t now_ms)
{
	return used_of(v) >= p->half_open_requests && now_ms >= t_of(v) + p->open_ms;
}

int tt_breaker_allows(const struct tt_breaker *b, const struct tt_cfg_breaker *p, uint64_t now_ms)
{
	if (p->failure_percent == 0)
		return 1;
	uint64_t v = load_word(b);
	switch (st_of(v)) {
	case TT_BREAKER_CLOSED: return 1;
	case TT_BREAKER_OPEN: return now_ms >= t_of(v);
	case TT_BREAKER_HALF_OPEN:
		return used_of(v) < p->half_open_requests || trials_stale(v, p, now_ms);
	}
	return 0;
}

int tt_breaker_acquire(struct tt_breaker *b, const struct tt_cfg_breaker *p, uint64_t now_ms)
{
	if (p->failure_percent == 0)
		return 1;
	uint64_t v = load_word(b);
	for (;;) {
		uint64_t next;
		switch (st_of(v)) {
		case TT_BREAKER_CLOSED: return 1;
		case TT_BREAKER_OPEN:
			if (now_ms < t_of(v))
				return 0;
			next = pack(TT_BREAKER_HALF_OPEN, 1, 0, now_ms);
			break;
		case TT_BREAKER_HALF_OPEN:
			if (used_of(v) < p->half_open_requests)
				next =
				    pack(TT_BREAKER_HALF_OPEN, used_of(v) + 1, ok_of(v), t_of(v));
			else if (trials_stale(v, p, now_ms))
				next = pack(TT_BREAKER_HALF_OPEN, 1, 0, now_ms);
			else
				return 0;
			break;
		default: return 0;
		}
		if (cas(b, &v, next))
			return 1;
	}
}

/* The next word for an outcome met in half-open; *close set when the
 * circuit closes. */
static uint64_t half_open_next(uint64_t v, const struct tt_cfg_breaker *p,
                               enum tt_breaker_outcome outcome, uint64_t now_ms, int *close)
{
	*close = 0;
	switch (outcome) {
	case TT_BREAKER_SUCCESS:
		if (ok_of(v) + 1 >= p->half_open_requests) {
			*close = 1;
			return pack(TT_BREAKER_CLOSED, 0, 0, 0);
		}
		return pack(TT_BREAKER_HALF_OPEN, used_of(v), ok_of(v) + 1, t_of(v));
	case TT_BREAKER_FAILURE: return pack(TT_BREAKER_OPEN, 0, 0, now_ms + p->open_ms);
	case TT_BREAKER_NEUTRAL:
		return pack(TT_BREAKER_HALF_OPEN, used_of(v) ? used_of(v) - 1 : 0, ok_of(v),
		            t_of(v));
	}
	return v;
}

enum tt_breaker_state tt_breaker_report(struct tt_breaker *b, const struct tt_cfg_breaker *p,
                                        enum tt_breaker_outcome outcome, uint64_t now_ms)
{
	if (p->failure_percent == 0)
		return TT_BREAKER_CLOSED;
	uint64_t v = load_word(b);
	/* Success in a closed circuit is the hot path: one window add, and
	 * the state word is only read. */
	if (st_of(v) == TT_BREAKER_CLOSED) {
		if (outcome == TT_BREAKER_NEUTRAL)
			return TT_BREAKER_CLOSED;
		uint32_t t, f;
		int failed = outcome == TT_BREAKER_FAILURE;
		tt_fail_window_add(&b->window, p->window_ms, now_ms, failed, &t, &f);
		if (!failed || !tt_fail_ratio_reached(t, f, p->min_requests, p->failure_percent))
			return TT_BREAKER_CLOSED;
		uint64_t open = pack(TT_BREAKER_OPEN, 0, 0, now_ms + p->open_ms);
		while (st_of(v) == TT_BREAKER_CLOSED && !cas(b, &v, open))
			;
		return st_of(load_word(b));
	}
	while (st_of(v) == TT_BREAKER_HALF_OPEN) {
		int close;
		uint64_t next = half_open_next(v, p, outcome, now_ms, &close);
		/* Forget the failures that opened the circuit before closing
		 * it, or the next failure would open it again at once. Nothing
		 * adds to the window while it is half-open. */
		if (close)
			tt_fail_window_reset(&b->window);
		if (cas(b, &v, next))
			return st_of(next);
	}
	return st_of(v);
}

enum tt_breaker_state tt_breaker_state(const struct tt_breaker *b, uint64_t now_ms,
                                       uint64_t *until_ms)
{
	uint64_t v = load_word(b);
	enum tt_breaker_state st = st_of(v);
	if (st == TT_BREAKER_OPEN && now_ms >= t_of(v))
		st = TT_BREAKER_HALF_OPEN;
	if (until_ms)
		*until_ms = st == TT_BREAKER_OPEN ? t_of(v) : 0;
	return st;
}

const char *tt_breaker_state_name(enum tt_breaker_state s)
{
	switch (s) {
	case TT_BREAKER_CLOSED: return "closed";
	case TT_BREAKER_OPEN: return "open";
	case TT_BREAKER_HALF_OPEN: return "half_open";
	}
	return "unknown";
}
