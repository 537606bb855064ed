/*
 * Server choice within an upstream group, per worker: smooth weighted round
 * robin (rr.c, the algorithm nginx uses), least connections (leastconn.c)
 * and power of two choices on a latency moving average (p2c.c), behind one
 * interface (issue 4, item 1). The balancer knows nothing of HTTP, sockets
 * or health: at each pick the caller describes every server in a
 * struct tt_lb_server, and the balancer returns an index.
 *
 * Invariants: a pick never returns a server that is not usable (usable == 0
 * or weight_factor <= 0); it returns -1 only when no server is usable. For
 * round robin, over any window of sum(effective weights) picks in which the
 * usable set does not change, server i is chosen exactly in proportion to
 * its effective weight, spread out rather than in runs.
 */
#ifndef TT_UPSTREAM_BALANCER_H
#define TT_UPSTREAM_BALANCER_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/* Effective weights are weight * weight_factor scaled by this, so that a
 * slow-start factor of 0.01 on a weight-1 server still counts. */
#define TT_LB_WEIGHT_SCALE 100

/* The smoothing factor of tt_lb_ewma: the newest sample's share. */
#define TT_LB_EWMA_ALPHA 0.3

/* What the balancer knows of each server at pick time; filled by the caller. */
struct tt_lb_server {
	uint32_t weight;      /* configured, >= 1 (0 is read as 1) */
	double weight_factor; /* 0..1: slow start ramp (1 = full); <= 0 = not usable */
	uint32_t active;      /* requests in flight on it (this worker) */
	double ewma_ms;       /* moving average of response head latency, ms; 0 = unknown */
	int usable;           /* 0 = ejected, circuit open, or at its connection limit */
};

/* The per-worker state of one group's balancer: embedded, _init/_fini. */
struct tt_balancer {
	enum tt_cfg_balance kind;
	size_t n;         /* servers in the group */
	int64_t *current; /* n smooth-WRR scores (rr, and leastconn's ties); heap, owned */
};

/* Set up a balancer of `kind` for n servers (n may be 0: every pick is -1).
 * Allocation failure aborts (our own small struct, see DESIGN.md). */
void tt_balancer_init(struct tt_balancer *b, enum tt_cfg_balance kind, size_t n);
/* Free the state; idempotent. */
void tt_balancer_fini(struct tt_balancer *b);

/*
 * The index of the server for the next attempt, or -1 when none is usable.
 * s holds b->n entries. `avoid` is a server to skip when another usable one
 * exists (a retry goes elsewhere), or -1; when it is the only usable server
 * it is returned. rnd is a fresh random 64-bit value (p2c draws, nothing
 * else); rr and leastconn are deterministic and ignore it.
 *
 *   round robin: smooth WRR over the usable servers' effective weights;
 *     unusable servers keep their score frozen, so the spread among the
 *     others is not disturbed.
 *   least conn: lowest active / effective weight; ties (every server idle,
 *     typically) by smooth WRR among the tied ones, as nginx does, so the
 *     weights still hold at low concurrency.
 *   p2c: two distinct usable servers drawn at random in proportion to their
 *     effective weights; the one of lower ewma_ms * (active + 1) / effective
 *     weight wins, an unknown ewma counting as the lowest known one.
 */
int tt_balancer_pick(struct tt_balancer *b, const struct tt_lb_server *s, int avoid, uint64_t rnd);

/* Fold one observed latency into an exponentially weighted moving average:
 * prev + TT_LB_EWMA_ALPHA * (sample - prev). prev_ms <= 0 (unknown) takes
 * the sample as is; a negative sample leaves prev_ms unchanged. */
double tt_lb_ewma(double prev_ms, double sample_ms);

/* A server's effective weight: weight * weight_factor * TT_LB_WEIGHT_SCALE,
 * rounded, at least 1 while usable; 0 when it is not usable. */
uint64_t tt_lb_weight(const struct tt_lb_server *s);

/*
 * The algorithms, one file each, for balancer.c (and tests) only. Each
 * treats `skip` (an index, or -1) as unusable for this pick; balancer.c has
 * already checked that another usable server exists when skip >= 0.
 */
int tt_lb_rr_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip);
int tt_lb_leastconn_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip);
int tt_lb_p2c_pick(struct tt_balancer *b, const struct tt_lb_server *s, int skip, uint64_t rnd);

#endif
