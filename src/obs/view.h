/*
 * What the admin pages show, gathered at one moment by the admin endpoint
 * (admin.c): the workers' metrics summed, each server's health, each
 * group's summary and its last faults. The renderers (prom.c for /metrics,
 * status.c for /status and /status.json) are pure functions of this view,
 * so they are tested without sockets or threads.
 */
#ifndef TT_OBS_VIEW_H
#define TT_OBS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "obs/metrics.h"
#include "upstream/health.h"

/* Notes kept per group in a view: the newest of all workers' rings. */
#define TT_VIEW_NOTES TT_METRICS_RING

struct tt_obs_view {
	const struct tt_config *cfg;
	const struct tt_metrics *m;             /* the workers' sum, made for cfg */
	const struct tt_health_view *servers;   /* [m->nservers], flat as in metrics */
	const struct tt_health_summary *groups; /* [m->ngroups] */
	const struct tt_fault_note *notes;      /* [m->ngroups * TT_VIEW_NOTES], newest first */
	const size_t *nnotes;                   /* [m->ngroups] */
	uint64_t downstream_open;               /* downstream connections open now */
	unsigned workers;
	uint64_t now_ms;     /* wall clock, ms since the epoch */
	uint64_t mono_ms;    /* the monotonic clock of the health views (uv_now), now */
	uint64_t started_ms; /* wall clock at start */
	int trusted;         /* the reader is in error_detail_networks: details and bytes */
	/* Config reloads (issue 7, item 4). */
	uint64_t generation;     /* 1 at start, +1 per reload taken */
	uint64_t reloads_ok;     /* reloads taken */
	uint64_t reloads_error;  /* reloads refused (invalid config, address in use) */
	uint64_t last_reload_ms; /* wall clock of the last attempt; 0 = none */
	int last_reload_ok;      /* 1 taken, 0 refused, -1 none yet */
};

/* The route's label: "HOST/PATH" or "*PATH" for any host; "none" past the
 * routes (requests that matched none). Written into out[cap]. */
void tt_view_route_label(const struct tt_config *cfg, size_t route, char *out, size_t cap);

#endif
