/*
 * Metrics (issue 7, item 1): per-worker counters, gauges and fixed-bucket
 * histograms, and a small ring of the last faults per upstream group.
 *
 * Each worker owns one struct tt_metrics and is its only writer. The hot
 * path neither allocates nor locks: every update is a relaxed atomic load
 * and store of a counter only this thread writes (on x86-64 a plain mov
 * and add, no lock prefix). The admin endpoint, on another thread, reads
 * the same counters with relaxed atomic loads and sums the workers
 * (tt_metrics_add): a scrape may see one counter a moment older than
 * another, never a torn value. Gauges of the pools (idle, open, active
 * connections per server) live in the worker's own structs; its 100 ms
 * tick publishes them here (tt_metrics_pool_gauges), so they are at most
 * that old.
 *
 * The fault ring is the slow path: a fault is recorded under the worker's
 * ring mutex, which the admin thread takes only while it copies the rings
 * out to render a page.
 *
 * Shapes come from the config snapshot the struct was made for: routes
 * (one more slot for requests that matched none), upstream groups, and
 * their servers numbered in one flat sequence, group by group.
 */
#ifndef TT_OBS_METRICS_H
#define TT_OBS_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "fault/fault.h"

/* Histogram bucket bounds in ms; one more bucket counts the rest (+Inf). */
#define TT_METRICS_BUCKETS 13
extern const uint32_t tt_metrics_bucket_ms[TT_METRICS_BUCKETS];

/* Status classes of requests: 1xx..5xx, and "other" (no status sent). */
#define TT_METRICS_CLASSES 6

/* Faults kept per upstream group per worker for the status page. */
#define TT_METRICS_RING 8
/* Bytes kept around the offending byte of a rejected response head. */
#define TT_METRICS_BAD_BYTES 256

typedef _Atomic uint64_t tt_counter;

struct tt_hist {
	tt_counter buckets[TT_METRICS_BUCKETS + 1]; /* not cumulative; last is +Inf */
	tt_counter sum_us;                          /* sum of observations, microseconds */
};

/* One fault as the status page tells it. */
struct tt_fault_note {
	uint64_t seq;     /* order of recording within the worker; 0 = empty slot */
	uint64_t time_ms; /* wall clock, ms since the epoch */
	enum tt_fault_id id;
	enum tt_stage stage;
	int status; /* sent downstream for it */
	int sys_err;
	char server[64]; /* "ip:port", "" = no server picked */
	char details[200];
	char request_id[65];
	char trace_id[33];
	uint32_t bad_len;    /* bytes in bad[], 0 = no rejected head kept */
	uint32_t bad_at;     /* the offending byte's index in bad[] */
	uint64_t bad_offset; /* the offending byte's offset in the head */
	unsigned char bad[TT_METRICS_BAD_BYTES];
};

struct tt_metrics {
	size_t nroutes, ngroups, nservers; /* nroutes excludes the no-route slot */
	size_t *group_first;               /* first flat server index of each group */

	tt_counter *requests;             /* [(nroutes + 1) * TT_METRICS_CLASSES] */
	tt_counter *stale;                /* [nroutes + 1]: stale copies served */
	struct tt_hist *total;            /* [nroutes + 1]: whole exchange */
	tt_counter *retries;              /* [ngroups] */
	struct tt_hist *connect;          /* [ngroups]: new upstream connections */
	struct tt_hist *head;             /* [ngroups]: request sent to response head */
	tt_counter *attempts;             /* [nservers] */
	tt_counter *idle, *open, *active; /* [nservers] gauges, from the tick */
	/* [(nservers + ngroups + 1) * TT_FAULT__COUNT]: per server, then per
	 * group without a server, then without a group. */
	tt_counter *faults;
	tt_counter accepted; /* downstream connections accepted */
	/* times accepting paused at the descriptor limit (core/conn.h) */
	tt_counter accept_paused;
	/* response body bytes moved socket to socket by splice (net/splice.h) */
	tt_counter spliced;
	/* request body bytes moved the same way (proxy/upload.c) */
	tt_counter upload_spliced;

	pthread_mutex_t ring_mu;
	struct tt_fault_note *ring; /* [ngroups * TT_METRICS_RING] */
	uint64_t ring_seq;
};

/* Size the struct for cfg (which must outlive it); all counters 0.
 * Allocation failure aborts (our own small structs). */
void tt_metrics_init(struct tt_metrics *m, const struct tt_config *cfg);
void tt_metrics_fini(struct tt_metrics *m);

/* The flat index of server `server` of group `group`. */
size_t tt_metrics_server(const struct tt_metrics *m, size_t group, size_t server);

/* Writer side: only the owning worker calls these. */
static inline void tt_counter_add(tt_counter *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}
static inline void tt_gauge_set(tt_counter *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}
static inline uint64_t tt_counter_get(const tt_counter *c)
{
	return atomic_load_explicit((tt_counter *)c, memory_order_relaxed);
}

void tt_hist_observe(struct tt_hist *h, double ms);

/* A finished exchange: route index (nroutes or more: none), status sent,
 * total time. */
void tt_metrics_request(struct tt_metrics *m, size_t route, int status, double ms);
/* A fault met: group (-1: none) and server in it (-1: none picked). */
void tt_metrics_fault(struct tt_metrics *m, int group, int server, enum tt_fault_id id);

/* Reader side (any thread): add every counter of src into dst, made for
 * the same config. dst's gauges are summed too. */
void tt_metrics_add(struct tt_metrics *dst, const struct tt_metrics *src);

/* Reader side, for a config reload: add src (made for scfg) into dst
 * (made for dcfg), matching label sets by name (a route by its label, a
 * group by its name, a server by its group and address); what dcfg no
 * longer has is dropped. gauges: add the pool gauges too (a generation
 * still draining), else counters and histograms only. metrics_fold.c. */
void tt_metrics_fold(struct tt_metrics *dst, const struct tt_config *dcfg,
                     const struct tt_metrics *src, const struct tt_config *scfg, int gauges);

/* The fault ring. note->seq and time are set by record. Writer: the
 * owning worker. */
void tt_metrics_note(struct tt_metrics *m, size_t group, struct tt_fault_note *note);
/* Copy group's notes of src (newest first) into out[cap]; returns how many.
 * Takes src's ring mutex. */
size_t tt_metrics_notes(struct tt_metrics *src, size_t group, struct tt_fault_note *out,
                        size_t cap);

/*
 * Keep up to TT_METRICS_BAD_BYTES of head[0..len) around byte `offset` in
 * note (the offending byte of a rejected head), a quarter before it.
 */
void tt_metrics_note_bytes(struct tt_fault_note *note, const char *head, size_t len, size_t offset);

#endif
