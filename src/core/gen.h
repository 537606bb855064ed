/*
 * Generations of workers (issue 7, item 4): one per config snapshot; see
 * worker_int.h for the struct and gen.c for the invariant on listening
 * sockets. Main thread only.
 */
#ifndef TT_CORE_GEN_H
#define TT_CORE_GEN_H

#include <stdio.h>
#include <sys/socket.h>

#include "core/worker_int.h"

/* What a generation takes from the process around it. */
struct tt_gen_env {
	uv_loop_t *loop;            /* the main loop: g->done lives there */
	uv_async_cb on_done;        /* g->done's callback; g is handle->data */
	void *owner;                /* kept in g->owner */
	_Atomic uint32_t *ds_total; /* downstream connections, all generations */
	const struct tt_reload_info *info;
	uint64_t started_ms; /* wall clock of the process start */
	struct tt_gen *prev; /* the generation serving now, or NULL */
};

/* Make a generation for cfg (taking a reference), its workers initialised
 * but not started and without sockets. NULL, with a message on err, when
 * the access log cannot be opened. */
struct tt_gen *tt_gen_new(struct tt_config *cfg, uint64_t id, const struct tt_gen_env *env,
                          FILE *err);

/* Give g's workers their listening sockets, taking over old's where the
 * address is the same (old may be NULL). Returns 0, or -1 with a message
 * on err (g then holds what it got; tt_gen_free closes it). */
int tt_gen_bind(struct tt_gen *g, const struct tt_gen *old, FILE *err);

/* A socket bound and listening on addr (SO_REUSEPORT if asked); the fd or
 * -errno. */
int tt_gen_bind_one(const struct sockaddr_storage *addr, socklen_t addr_len, int reuseport);

/* Start the worker threads and the active health probes on loop. */
void tt_gen_start(struct tt_gen *g, uv_loop_t *loop);

/* Stop the probes and tell every worker to stop accepting and drain; when
 * the last thread ends, g->done fires. Idempotent. */
void tt_gen_stop(struct tt_gen *g);

/* g succeeds old: it starts from old's retired counters, and its pages add
 * old's live counters while old drains. */
void tt_gen_adopt(struct tt_gen *g, struct tt_gen *old);

/* g's predecessor has drained: its counters join g's retired ones and
 * pages stop reading it. Call before freeing the predecessor. */
void tt_gen_retire(struct tt_gen *g);

/* Join the threads (or close the sockets of a generation never started),
 * free everything, and close g->done (the struct goes in its callback).
 * Sets *g to NULL. */
void tt_gen_free(struct tt_gen **g);

#endif
