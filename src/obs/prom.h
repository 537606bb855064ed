/*
 * /metrics in the Prometheus text exposition format (version 0.0.4):
 * families with # HELP and # TYPE lines, label values escaped (backslash,
 * double quote and line feed, as the format requires), histograms as
 * cumulative _bucket series with le in seconds, _sum and _count.
 *
 * Families (labels in braces):
 *   telltale_requests_total{route,code}             counter, code 1xx..5xx or "other"
 *   telltale_request_duration_seconds{route}        histogram, whole exchange
 *   telltale_stale_served_total{route}              counter
 *   telltale_faults_total{fault,type,upstream_group,upstream}  counter; fault is the
 *       catalogue token, type the RFC 9209 type; "" where there is no group or server
 *   telltale_upstream_attempts_total{upstream_group,upstream}  counter
 *   telltale_upstream_retries_total{upstream_group}            counter
 *   telltale_upstream_connect_duration_seconds{upstream_group} histogram, new connections
 *   telltale_upstream_head_duration_seconds{upstream_group}    histogram, request sent to head
 *   telltale_upstream_ejections_total{upstream_group,upstream} counter
 *   telltale_upstream_state{upstream_group,upstream,state}     gauge, 1 for the state in force
 *   telltale_upstream_circuit{upstream_group,upstream,state}   gauge, closed/open/half_open
 *   telltale_upstream_connections_idle / _open, telltale_upstream_requests_active
 *                                        {upstream_group,upstream}  gauges (pool sizes)
 *   telltale_upstream_healthy_servers{upstream_group}, telltale_upstream_panic{upstream_group}
 *   telltale_downstream_connections, telltale_downstream_connections_accepted_total
 *   telltale_downstream_accept_paused_total, telltale_response_body_spliced_bytes_total
 *   telltale_request_body_spliced_bytes_total
 *   telltale_workers, telltale_start_time_seconds, telltale_build_info{version}
 */
#ifndef TT_OBS_PROM_H
#define TT_OBS_PROM_H

#include <stddef.h>

#include "obs/sbuf.h"
#include "obs/view.h"

/* Append the escaped label value s[0..n) (no quotes) to b. */
void tt_prom_label_value(struct tt_sbuf *b, const char *s, size_t n);

/* Write every family of the view into b. */
void tt_prom_write(struct tt_sbuf *b, const struct tt_obs_view *v);

#endif
