/*
 * /status and /status.json (issue 7, item 2): for each route the chain
 * listener -> upstream group -> servers, each server's state (up,
 * ejected, circuit open, probe down, half-open, slow start) with its last
 * probe, pool sizes and counts, and each group's last faults with their
 * stories. The bytes of the last rejected response head and the faults'
 * details are shown only when the view is trusted (error_detail_networks).
 *
 * The HTML page is self-contained (inline CSS, no script, no external
 * resource), follows the reader's dark mode, and refreshes itself every 5
 * seconds. Hooks, stable for tests and for operators' tooling: each route
 * is a section with data-route; its chain holds data-hop="listener",
 * "group" and "server" elements; a server carries data-server (its
 * address) and data-state (tt_health_state_name); a group's fault list is
 * table.faults with data-group; the head bytes are pre.bad-bytes.
 *
 * Pure functions of a view (view.h).
 */
#ifndef TT_OBS_STATUS_H
#define TT_OBS_STATUS_H

#include "obs/sbuf.h"
#include "obs/view.h"

void tt_status_html(struct tt_sbuf *b, const struct tt_obs_view *v);
void tt_status_json(struct tt_sbuf *b, const struct tt_obs_view *v);

#endif
