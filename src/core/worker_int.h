/*
 * Between the worker threads (worker.c) and the process around them
 * (server.c): a generation is the set of workers made for one config
 * snapshot. At start there is one; a reload (SIGHUP, issue 7, item 4)
 * starts the next on the new snapshot and stops the previous one, which
 * drains on its own snapshot and is then joined and freed. Everything in
 * a generation is created and freed by the main thread; its workers read
 * it, and write only their own struct tt_worker.
 */
#ifndef TT_CORE_WORKER_INT_H
#define TT_CORE_WORKER_INT_H

#include <pthread.h>

#include "core/worker.h"
#include "obs/admin.h"

/* listen(2)'s backlog for the public listeners. 511 (nginx's) dropped
 * SYNs when 5,000 clients connected at once, and each dropped one waited a
 * second for its retransmit (bench/RESULTS.md); the kernel caps it at
 * net.core.somaxconn (4096 on Debian 12). */
#define TT_LISTEN_BACKLOG 4096

struct tt_prober;
struct tt_health_group;
struct tt_gen_sink;

struct tt_gen {
	uint64_t id;           /* 1 at start, +1 per reload */
	struct tt_config *cfg; /* holds a reference */
	struct tt_worker *workers;
	unsigned n;
	_Atomic uint32_t *ds_total;      /* the server's: downstream connections, all generations */
	struct tt_gen_sink *sink;        /* the access log, shared while the path is the same */
	struct tt_health_group **health; /* per upstream group, shared by the workers */
	struct tt_prober **probers;      /* per group with active checks, on the main loop */
	struct tt_admin_source admin_src;
	struct tt_metrics **metrics; /* each worker's, for admin_src */
	/* Counters of the generations before (made for cfg), and the one
	 * still draining, whose live counters a page adds too. Under mu:
	 * a worker answering admin pages on a public listener reads them. */
	pthread_mutex_t mu;
	struct tt_metrics base;
	struct tt_gen *prev;
	uv_async_t done;          /* main loop: sent by the last worker thread to end */
	_Atomic unsigned running; /* worker threads still in their loop */
	int threads;              /* the threads were started */
	int stopping;             /* its workers were told to stop */
	void *owner;              /* the server (server.c) */
};

/* The log sink of a generation. */
struct tt_log_sink *tt_gen_log_sink(struct tt_gen *g);

/* worker.c: one worker's life. init sizes everything for g->cfg with no
 * listener; listen_add gives it one bound socket fd (owned by the worker
 * from then on) for config listener cfg_index; start runs its thread;
 * stop asks it (from any thread) to stop accepting and drain within
 * timeouts.grace; fini (after the thread is joined) frees it. When the
 * thread's loop ends it decrements g->running and, at 0, sends g->done. */
void tt_worker_init(struct tt_worker *w, unsigned id, struct tt_gen *g);
void tt_worker_listen_add(struct tt_worker *w, int fd, uint32_t cfg_index);
void tt_worker_start(struct tt_worker *w);
void tt_worker_stop(struct tt_worker *w);
void tt_worker_fini(struct tt_worker *w);

#endif
