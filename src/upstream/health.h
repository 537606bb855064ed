/*
 * Upstream server health (issue 4, items 4 and 5): passive ejection on
 * failures seen on real traffic, the state the active probe (probe.h)
 * writes, the circuit breaker (breaker.h), slow start, panic mode, and the
 * per-server connection count behind upstreams.NAME.max_connections.
 *
 * One struct tt_health_group per upstream group of a config snapshot, with
 * the same lifetime as that snapshot: every worker thread reads it on each
 * pick and writes it on each attempt's outcome; the prober writes the
 * probe state. It is lock-free (C11 atomics only). The common case, a
 * success on a healthy server, writes only the windowed counters (one
 * compare-and-swap each for the ratio windows that are on) and never a
 * field that does not change. Time is the caller's uv_now (ms of the
 * monotonic clock; every loop of the process reads the same clock), passed
 * in, so tests drive it without sleeping.
 *
 * Rules, all from the group's config:
 *   - passive: health.passive.consecutive_failures counted failures in a
 *     row, or failure_percent of at least min_requests attempts within one
 *     window_ms, eject the server for eject_ms, doubled on each ejection
 *     in a streak up to max_eject_ms; a server back for longer than
 *     max_eject_ms starts a new streak. Ejection never takes more than
 *     max_ejected_percent of the group (at least one server when that is
 *     not 0, as Envoy does; 0 turns ejection off).
 *   - active: the prober's results; unhealthy_threshold failed probes in a
 *     row mark the server probe-down, healthy_threshold good ones mark it
 *     up. Servers start up (the first probes can only take them down), so
 *     a restart does not refuse traffic until probes come in.
 *   - slow start: a server coming back (its ejection ends, or its probe
 *     goes up) gets a weight factor rising linearly from
 *     TT_HEALTH_SLOW_START_FLOOR to 1 over slow_start_ms. Servers are not
 *     "coming back" at startup: they start at 1.
 *   - panic: when fewer than panic_percent of the servers are healthy (not
 *     ejected, not probe-down), health is likely wrong or everything is
 *     down anyway; every server is then used with factor 1, as Envoy does.
 *   - breaker: an open circuit is never overridden, not even in panic: its
 *     point is to fail over, or answer 503 destination_unavailable, at
 *     once rather than wait on a server known to fail (issue 4, item 5).
 *
 * Invariant: a group's servers[] has cfg->nservers entries, each aligned to
 * its own cache line so that one server's traffic does not slow another's.
 */
#ifndef TT_UPSTREAM_HEALTH_H
#define TT_UPSTREAM_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fault/catalogue.h"
#include "upstream/breaker.h"

#define TT_HEALTH_MAGIC 0x74746867u

/* A server in slow start gets at least this share, so it sees enough
 * traffic to prove itself (and to be ejected again if it must). */
#define TT_HEALTH_SLOW_START_FLOOR 0.1

struct tt_health_group;

/*
 * Which faults count against a server in passive health and the breaker:
 * those of the catalogue's upstream side (TT_SIDE_UPSTREAM) that say the
 * server or the way to it is failing: DNS, connect (refused, timeout,
 * unreachable, unavailable), TLS, connection terminated, read/write and
 * response timeouts, protocol errors, bad transfer coding, incomplete
 * responses. Returns 1 for those, 0 otherwise.
 *
 * Not counted: the request side (REQUEST_*, DOWNSTREAM_CLOSED: the
 * downstream's doing), the proxy side (CONNECTION_LIMIT_REACHED,
 * DESTINATION_IP_PROHIBITED, internal errors: telltale's own doing), and
 * the upstream-side faults that one endpoint produces identically on every
 * server (header section or field too large, body too large, content
 * coding, failed upgrade): counting them would eject healthy servers one
 * after the other for one bad URL. TT_FAULT_NONE is not counted.
 */
int tt_health_counts(enum tt_fault_id fault);

/*
 * A group's health state for cfg (which must outlive it: it belongs to the
 * same config snapshot). Every server starts up, closed, not ejected, at
 * factor 1. Allocation failure aborts (our own small struct, DESIGN.md).
 * Never returns NULL.
 */
struct tt_health_group *tt_health_group_new(const struct tt_cfg_upstream *cfg);

/* Free the group and set *g to NULL; NULL and *g == NULL are no-ops. No
 * worker may use it any more and its prober must be stopped and closed. */
void tt_health_group_free(struct tt_health_group **g);

/*
 * A reload: g (the new generation's group, for cfg) takes over what old
 * (the serving generation's group of the same name, for old_cfg) knows
 * about every server both list under the same address as written:
 * ejection and its streak, consecutive failures and the failure window,
 * probe state, slow start and the circuit. A server ejected, probed down
 * or with an open circuit before the reload stays so after it, instead of
 * getting traffic until it fails again. Connection counts are not carried:
 * each generation counts its own.
 */
void tt_health_group_inherit(struct tt_health_group *g, const struct tt_cfg_upstream *cfg,
                             const struct tt_health_group *old,
                             const struct tt_cfg_upstream *old_cfg);

/* The number of servers (cfg->nservers). */
size_t tt_health_group_size(const struct tt_health_group *g);

/*
 * At each pick: fills usable[i] (1 = may take an attempt now) and factor[i]
 * (slow-start weight factor, 0..1; 0 when not usable: the balancer's
 * tt_lb_server.usable and weight_factor) for every server i
 * (arrays of tt_health_group_size entries). A server is usable when not
 * ejected, not probe-down, and its circuit admits (closed, open past
 * open_ms, half-open with a trial slot left). In panic (see the top of
 * this file) every server whose circuit admits is usable with factor 1.
 * Reads only. Thread-safe.
 */
void tt_health_snapshot(const struct tt_health_group *g, uint64_t now_ms, int *usable,
                        double *factor);

/*
 * Just before sending an attempt to server i: takes a half-open trial slot
 * when its circuit is half-open (or turns an open circuit whose time is up
 * half-open). Returns 1 when the attempt may go, 0 when it may not after
 * all (another thread took the last slot since the pick): pick another
 * server. Every 1 must be followed by exactly one tt_health_report for
 * that attempt, whatever its end. Thread-safe.
 */
int tt_health_acquire(struct tt_health_group *g, size_t i, uint64_t now_ms);

/*
 * After an attempt on server i: ok = 1 when a response head arrived, else
 * ok = 0 and fault says why. Failures that tt_health_counts accepts feed
 * passive health (may eject the server) and the breaker (may open the
 * circuit, or reopen a half-open one); successes reset the consecutive
 * count and close a half-open circuit after half_open_requests of them;
 * other faults count nowhere but give back a half-open trial slot.
 * Thread-safe.
 */
void tt_health_report(struct tt_health_group *g, size_t i, int ok, enum tt_fault_id fault,
                      uint64_t now_ms);

/* What tt_health_probe_report changed. */
enum tt_health_probe_change {
	TT_HEALTH_PROBE_SAME = 0,
	TT_HEALTH_PROBE_WENT_DOWN,
	TT_HEALTH_PROBE_WENT_UP
};

/*
 * One active probe's result for server i: ok = 1 when the status was in
 * the expected range; status is the status received (0 = none), fault why
 * it failed (TT_FAULT_NONE for an unexpected status). Keeps the result for
 * the status page and applies the thresholds; a server going up starts
 * slow start. A failure on telltale's side (a fault of TT_SIDE_PROXY, such
 * as no descriptor left) is kept for display but counts towards neither
 * threshold. Returns the change, for a log line. Probes never count in
 * passive health or the breaker. Call from one thread per group (the
 * prober's); thread-safe towards every other function.
 */
enum tt_health_probe_change tt_health_probe_report(struct tt_health_group *g, size_t i, int ok,
                                                   int status, enum tt_fault_id fault,
                                                   uint64_t now_ms);

/*
 * upstreams.NAME.max_connections, all workers together: take a connection
 * slot on server i before opening a connection to it. Returns 1 when taken
 * (always, when there is no limit), 0 at the limit (the caller answers
 * CONNECTION_LIMIT_REACHED or waits). Every 1 is given back with
 * tt_health_conn_release when the connection closes. Thread-safe.
 */
int tt_health_conn_acquire(struct tt_health_group *g, size_t i);
void tt_health_conn_release(struct tt_health_group *g, size_t i);

/* A server's state, the first that applies in this order. */
enum tt_health_state {
	TT_HEALTH_CIRCUIT_OPEN = 0, /* breaker open: not used, not even in panic */
	TT_HEALTH_EJECTED,          /* passive ejection in force */
	TT_HEALTH_PROBE_DOWN,       /* the active probe says down */
	TT_HEALTH_HALF_OPEN,        /* breaker letting trial attempts through */
	TT_HEALTH_SLOW_START,       /* back, ramping up (factor < 1) */
	TT_HEALTH_UP
};

/* "circuit_open", "ejected", "probe_down", "half_open", "slow_start",
 * "up": for logs, metrics and the status page. */
const char *tt_health_state_name(enum tt_health_state s);

/* One server, for the status page, metrics and logs. Times are uv_now ms. */
struct tt_health_view {
	enum tt_health_state state;
	enum tt_breaker_state circuit;
	double factor;                 /* slow-start factor now, 0..1 (1 = full share) */
	uint64_t ejected_until_ms;     /* 0 = not ejected now */
	uint64_t open_until_ms;        /* end of the open period; 0 unless open */
	uint32_t ejections;            /* since the group was made */
	uint32_t consecutive_failures; /* counted failures in a row */
	uint32_t window_requests;      /* passive window: attempts counted */
	uint32_t window_failures;      /* passive window: failures among them */
	uint32_t connections;          /* open now, all workers (max_connections) */
	int probe_down;                /* 1 = the active probe says down */
	int probed;                    /* 1 = at least one probe has ended */
	int probe_ok;                  /* last probe's result */
	int probe_status;              /* last probe's status, 0 = none received */
	enum tt_fault_id probe_fault;  /* last probe's fault, TT_FAULT_NONE = none */
	uint64_t probe_at_ms;          /* when the last probe ended */
};

/* Fill *out for server i at now_ms. Reads only; the fields are read one
 * by one, so under concurrent updates they may be from slightly different
 * moments. Thread-safe. */
void tt_health_server_view(const struct tt_health_group *g, size_t i, uint64_t now_ms,
                           struct tt_health_view *out);

/* The group as a whole, for the status page and metrics. */
struct tt_health_summary {
	size_t nservers;
	size_t healthy;     /* neither ejected nor probe-down */
	size_t usable;      /* would be usable at a pick now */
	int panic;          /* panic mode in force now */
	uint64_t ejections; /* since the group was made, all servers */
};

/* Fill *out at now_ms. Reads only. Thread-safe. */
void tt_health_summary(const struct tt_health_group *g, uint64_t now_ms,
                       struct tt_health_summary *out);

#endif
