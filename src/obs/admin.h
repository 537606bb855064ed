/*
 * The admin endpoint (issue 7, docs/admin.md): /metrics (Prometheus text),
 * /healthz (telltale itself), /status (HTML) and /status.json, served on an
 * address of its own (admin.listen, default 127.0.0.1:9901) by the main
 * thread's loop, which otherwise only waits for signals and runs the
 * active health probes. With admin.allow_public and the address of a
 * public listener, a worker answers the same paths on that listener
 * (tt_admin_render) instead.
 *
 * The HTTP is minimal and strict: one request per connection, parsed by
 * the proxy's own parser (tt_h1_parse_request), GET and HEAD only (405
 * otherwise), 404 for other paths, Connection: close. A connection that
 * sends no complete head within 10 s is closed.
 *
 * Reading: every page sums the workers' metrics at the moment it is asked
 * for (relaxed atomic loads, metrics.h), reads health with the lock-free
 * views of health.h, and copies each worker's fault ring under its mutex.
 * Nothing here is on the proxy's hot path.
 */
#ifndef TT_OBS_ADMIN_H
#define TT_OBS_ADMIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "obs/metrics.h"
#include "obs/sbuf.h"

struct tt_health_group;

/* Config reloads (issue 7, item 4), written by the main thread, read by
 * the pages with relaxed loads (a page may see one field a moment older
 * than another). */
struct tt_reload_info {
	_Atomic uint64_t generation; /* 1 at start, +1 for each reload that took */
	_Atomic uint64_t ok, errors; /* reloads taken, reloads refused */
	_Atomic uint64_t last_ms;    /* wall clock of the last attempt; 0 = none yet */
	_Atomic int last_ok;         /* the last attempt: 1 taken, 0 refused, -1 none yet */
};

/* What the pages read; owned by the server, valid while it runs (a
 * generation of workers, across a reload). */
struct tt_admin_source {
	const struct tt_config *cfg;
	struct tt_metrics **workers; /* [nworkers], each written by its worker */
	unsigned nworkers;
	struct tt_health_group **health;     /* [cfg->nupstreams] */
	_Atomic uint32_t *ds_total;          /* downstream connections open */
	uint64_t started_ms;                 /* wall clock */
	const struct tt_reload_info *reload; /* NULL: no reload info */
	/* Called after the workers are summed into sum (made for cfg): adds
	 * what earlier generations counted, so counters never go backwards
	 * across a reload. NULL: nothing to add. Any thread may call it. */
	void (*fold)(const struct tt_admin_source *src, struct tt_metrics *sum);
	void *fold_arg;
};

/* 1 when path (the target, query ignored) is one the admin endpoint owns. */
int tt_admin_owns(const char *target, size_t len);

/*
 * Render the page for target into body. trusted: the reader is in
 * error_detail_networks. Returns the HTTP status (200, 404) and sets
 * *content_type. Thread-safe: any thread may call it while the workers run.
 */
int tt_admin_render(const struct tt_admin_source *src, const char *target, size_t len, int trusted,
                    struct tt_sbuf *body, const char **content_type);

struct tt_admin;

/* Serve on the listening socket fd (bound by the caller) on loop. Never
 * returns NULL (allocation failure aborts). */
struct tt_admin *tt_admin_start(uv_loop_t *loop, int fd, const struct tt_admin_source *src);

/* Serve the pages of src from now on (a reload kept the admin address).
 * Main loop only. */
void tt_admin_set_source(struct tt_admin *a, const struct tt_admin_source *src);

/* Stop accepting and close every admin connection; the struct is freed
 * once the loop has run the close callbacks. Sets *a to NULL. */
void tt_admin_stop(struct tt_admin **a);

#endif
