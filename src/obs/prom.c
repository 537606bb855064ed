/*
 * The Prometheus text writer: see prom.h. Series whose value is 0 are
 * written for requests, attempts, retries and histograms (a scrape shows
 * every route and server at once), but faults only once they happened:
 * the catalogue times the servers would be thousands of zeros.
 */
#include "obs/prom.h"

#include <stdio.h>
#include <string.h>

#ifndef TT_VERSION
#define TT_VERSION "dev"
#endif

static const char *const class_names[TT_METRICS_CLASSES] = {"1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "other"};

void tt_prom_label_value(struct tt_sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\')
			tt_sbuf_put(b, "\\\\", 2);
		else if (s[i] == '"')
			tt_sbuf_put(b, "\\\"", 2);
		else if (s[i] == '\n')
			tt_sbuf_put(b, "\\n", 2);
		else
			tt_sbuf_put(b, s + i, 1);
	}
}

static void family(struct tt_sbuf *b, const char *name, const char *type, const char *help)
{
	tt_sbuf_fmt(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Labels as name/value pairs, NULL-terminated: {a="x",b="y"}. */
static void labels(struct tt_sbuf *b, const char *const *kv)
{
	if (!kv[0])
		return;
	tt_sbuf_put(b, "{", 1);
	for (size_t i = 0; kv[i]; i += 2) {
		tt_sbuf_fmt(b, "%s%s=\"", i ? "," : "", kv[i]);
		tt_prom_label_value(b, kv[i + 1], strlen(kv[i + 1]));
		tt_sbuf_put(b, "\"", 1);
	}
	tt_sbuf_put(b, "}", 1);
}

static void sample(struct tt_sbuf *b, const char *name, const char *const *kv, uint64_t v)
{
	tt_sbuf_str(b, name);
	labels(b, kv);
	tt_sbuf_fmt(b, " %llu\n", (unsigned long long)v);
}

/* One histogram's series: cumulative buckets with le in seconds. */
static void hist(struct tt_sbuf *b, const char *name, const char *lname, const char *lvalue,
                 const struct tt_hist *h)
{
	uint64_t cum = 0;
	char le[32];
	for (size_t i = 0; i <= TT_METRICS_BUCKETS; i++) {
		const char *kv[] = {lname, lvalue, "le", le, NULL};
		cum += tt_counter_get(&h->buckets[i]);
		if (i < TT_METRICS_BUCKETS)
			snprintf(le, sizeof(le), "%g", tt_metrics_bucket_ms[i] / 1000.0);
		else
			snprintf(le, sizeof(le), "+Inf");
		tt_sbuf_fmt(b, "%s_bucket", name);
		labels(b, kv);
		tt_sbuf_fmt(b, " %llu\n", (unsigned long long)cum);
	}
	{
		const char *kv[] = {lname, lvalue, NULL};
		tt_sbuf_fmt(b, "%s_sum", name);
		labels(b, kv);
		tt_sbuf_fmt(b, " %.6f\n", (double)tt_counter_get(&h->sum_us) / 1e6);
		tt_sbuf_fmt(b, "%s_count", name);
		labels(b, kv);
		tt_sbuf_fmt(b, " %llu\n", (unsigned long long)cum);
	}
}

void tt_view_route_label(const struct tt_config *cfg, size_t route, char *out, size_t cap)
{
	const struct tt_cfg_route *r;
	if (route >= cfg->nroutes) {
		snprintf(out, cap, "none");
		return;
	}
	r = &cfg->routes[route];
	snprintf(out, cap, "%s%s", r->host ? r->host : "*", r->path_prefix ? r->path_prefix : "/");
}

static void routes(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	const struct tt_metrics *m = v->m;
	char route[600];
	family(b, "telltale_requests_total", "counter",
	       "Requests answered, by route and status class.");
	for (size_t r = 0; r <= m->nroutes; r++) {
		tt_view_route_label(v->cfg, r, route, sizeof(route));
		for (size_t c = 0; c < TT_METRICS_CLASSES; c++) {
			const char *kv[] = {"route", route, "code", class_names[c], NULL};
			sample(b, "telltale_requests_total", kv,
			       tt_counter_get(&m->requests[r * TT_METRICS_CLASSES + c]));
		}
	}
	family(b, "telltale_request_duration_seconds", "histogram",
	       "Whole exchanges, from the request head to the last byte written.");
	for (size_t r = 0; r <= m->nroutes; r++) {
		tt_view_route_label(v->cfg, r, route, sizeof(route));
		hist(b, "telltale_request_duration_seconds", "route", route, &m->total[r]);
	}
	family(b, "telltale_stale_served_total", "counter",
	       "Stored copies served because the upstream failed (stale-if-error).");
	for (size_t r = 0; r <= m->nroutes; r++) {
		const char *kv[] = {"route", route, NULL};
		tt_view_route_label(v->cfg, r, route, sizeof(route));
		sample(b, "telltale_stale_served_total", kv, tt_counter_get(&m->stale[r]));
	}
}

/* The group and server names of a fault slot (see tt_metrics.faults). */
static void slot_names(const struct tt_obs_view *v, size_t slot, const char **group,
                       const char **server)
{
	const struct tt_metrics *m = v->m;
	*group = *server = "";
	if (slot < m->nservers) {
		for (size_t g = 0; g < m->ngroups; g++) {
			const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
			if (slot >= m->group_first[g] && slot < m->group_first[g] + u->nservers) {
				*group = u->name;
				*server = u->servers[slot - m->group_first[g]].address;
			}
		}
	} else if (slot < m->nservers + m->ngroups) {
		*group = v->cfg->upstreams[slot - m->nservers].name;
	}
}

static void faults(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	const struct tt_metrics *m = v->m;
	family(b, "telltale_faults_total", "counter",
	       "Faults met, by catalogue token, RFC 9209 type, upstream group and server.");
	for (size_t s = 0; s <= m->nservers + m->ngroups; s++) {
		for (int id = 1; id < TT_FAULT__COUNT; id++) {
			uint64_t n = tt_counter_get(&m->faults[s * TT_FAULT__COUNT + (size_t)id]);
			const struct tt_fault_info *fi = tt_fault_info(id);
			const char *group, *server;
			if (!n || !fi)
				continue;
			slot_names(v, s, &group, &server);
			const char *kv[] = {"fault", fi->token,  "type", fi->type, "upstream_group",
			                    group,   "upstream", server, NULL};
			sample(b, "telltale_faults_total", kv, n);
		}
	}
}

/* A per-server family: value(v, flat index) for every server. */
static void per_server(struct tt_sbuf *b, const struct tt_obs_view *v, const char *name,
                       const char *type, const char *help,
                       uint64_t (*value)(const struct tt_obs_view *, size_t))
{
	family(b, name, type, help);
	for (size_t g = 0; g < v->m->ngroups; g++) {
		const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			const char *kv[] = {"upstream_group", u->name, "upstream",
			                    u->servers[i].address, NULL};
			sample(b, name, kv, value(v, v->m->group_first[g] + i));
		}
	}
}

static uint64_t v_attempts(const struct tt_obs_view *v, size_t s)
{
	return tt_counter_get(&v->m->attempts[s]);
}
static uint64_t v_idle(const struct tt_obs_view *v, size_t s)
{
	return tt_counter_get(&v->m->idle[s]);
}
static uint64_t v_open(const struct tt_obs_view *v, size_t s)
{
	return tt_counter_get(&v->m->open[s]);
}
static uint64_t v_active(const struct tt_obs_view *v, size_t s)
{
	return tt_counter_get(&v->m->active[s]);
}
static uint64_t v_ejections(const struct tt_obs_view *v, size_t s)
{
	return v->servers[s].ejections;
}

/* One-hot state gauges: 1 for the state in force, 0 for the others. */
static void states(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	family(b, "telltale_upstream_state", "gauge",
	       "Each server's state: 1 for the one in force (see tt_health_state).");
	for (size_t g = 0; g < v->m->ngroups; g++) {
		const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			const struct tt_health_view *h = &v->servers[v->m->group_first[g] + i];
			for (int s = TT_HEALTH_CIRCUIT_OPEN; s <= TT_HEALTH_UP; s++) {
				const char *kv[] = {"upstream_group",
				                    u->name,
				                    "upstream",
				                    u->servers[i].address,
				                    "state",
				                    tt_health_state_name((enum tt_health_state)s),
				                    NULL};
				sample(b, "telltale_upstream_state", kv, (int)h->state == s);
			}
		}
	}
	family(b, "telltale_upstream_circuit", "gauge",
	       "Each server's circuit breaker: 1 for the state in force.");
	for (size_t g = 0; g < v->m->ngroups; g++) {
		const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
		for (size_t i = 0; i < u->nservers; i++) {
			const struct tt_health_view *h = &v->servers[v->m->group_first[g] + i];
			for (int s = TT_BREAKER_CLOSED; s <= TT_BREAKER_HALF_OPEN; s++) {
				const char *kv[] = {"upstream_group",
				                    u->name,
				                    "upstream",
				                    u->servers[i].address,
				                    "state",
				                    tt_breaker_state_name((enum tt_breaker_state)s),
				                    NULL};
				sample(b, "telltale_upstream_circuit", kv, (int)h->circuit == s);
			}
		}
	}
}

static void groups(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	const struct tt_metrics *m = v->m;
	family(b, "telltale_upstream_retries_total", "counter",
	       "Retries the retry policy ran, by upstream group.");
	for (size_t g = 0; g < m->ngroups; g++) {
		const char *kv[] = {"upstream_group", v->cfg->upstreams[g].name, NULL};
		sample(b, "telltale_upstream_retries_total", kv, tt_counter_get(&m->retries[g]));
	}
	family(b, "telltale_upstream_healthy_servers", "gauge",
	       "Servers neither ejected nor down by the active probe.");
	for (size_t g = 0; g < m->ngroups; g++) {
		const char *kv[] = {"upstream_group", v->cfg->upstreams[g].name, NULL};
		sample(b, "telltale_upstream_healthy_servers", kv, v->groups[g].healthy);
	}
	family(b, "telltale_upstream_panic", "gauge",
	       "1 while too few servers are healthy and every server is used (panic mode).");
	for (size_t g = 0; g < m->ngroups; g++) {
		const char *kv[] = {"upstream_group", v->cfg->upstreams[g].name, NULL};
		sample(b, "telltale_upstream_panic", kv, v->groups[g].panic != 0);
	}
	family(b, "telltale_upstream_connect_duration_seconds", "histogram",
	       "Time to open a new upstream connection.");
	for (size_t g = 0; g < m->ngroups; g++)
		hist(b, "telltale_upstream_connect_duration_seconds", "upstream_group",
		     v->cfg->upstreams[g].name, &m->connect[g]);
	family(b, "telltale_upstream_head_duration_seconds", "histogram",
	       "Time from the request sent upstream to the response head received.");
	for (size_t g = 0; g < m->ngroups; g++)
		hist(b, "telltale_upstream_head_duration_seconds", "upstream_group",
		     v->cfg->upstreams[g].name, &m->head[g]);
}

static void process(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	const char *none[] = {NULL};
	const char *ver[] = {"version", TT_VERSION, NULL};
	const char *ok[] = {"result", "ok", NULL};
	const char *err[] = {"result", "error", NULL};
	family(b, "telltale_downstream_connections", "gauge", "Downstream connections open now.");
	sample(b, "telltale_downstream_connections", none, v->downstream_open);
	family(b, "telltale_downstream_connections_accepted_total", "counter",
	       "Downstream connections accepted.");
	sample(b, "telltale_downstream_connections_accepted_total", none,
	       tt_counter_get(&v->m->accepted));
	family(b, "telltale_downstream_accept_paused_total", "counter",
	       "Times accepting paused because the descriptor limit was near.");
	sample(b, "telltale_downstream_accept_paused_total", none,
	       tt_counter_get(&v->m->accept_paused));
	family(b, "telltale_response_body_spliced_bytes_total", "counter",
	       "Response body bytes moved from upstream to downstream socket by splice, "
	       "never copied through telltale's memory.");
	sample(b, "telltale_response_body_spliced_bytes_total", none,
	       tt_counter_get(&v->m->spliced));
	family(b, "telltale_request_body_spliced_bytes_total", "counter",
	       "Request body bytes moved from downstream to upstream socket by splice, "
	       "never copied through telltale's memory.");
	sample(b, "telltale_request_body_spliced_bytes_total", none,
	       tt_counter_get(&v->m->upload_spliced));
	family(b, "telltale_workers", "gauge", "Worker threads.");
	sample(b, "telltale_workers", none, v->workers);
	family(b, "telltale_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
	sample(b, "telltale_start_time_seconds", none, v->started_ms / 1000);
	family(b, "telltale_config_generation", "gauge",
	       "The config generation serving: 1 at start, +1 per reload taken.");
	sample(b, "telltale_config_generation", none, v->generation);
	family(b, "telltale_config_reloads_total", "counter",
	       "Config reloads (SIGHUP) by result: ok (taken) or error (refused).");
	sample(b, "telltale_config_reloads_total", ok, v->reloads_ok);
	sample(b, "telltale_config_reloads_total", err, v->reloads_error);
	family(b, "telltale_config_last_reload_time_seconds", "gauge",
	       "Time of the last reload attempt, seconds since the epoch; 0 = none.");
	sample(b, "telltale_config_last_reload_time_seconds", none, v->last_reload_ms / 1000);
	family(b, "telltale_build_info", "gauge", "The running version.");
	sample(b, "telltale_build_info", ver, 1);
}

void tt_prom_write(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	routes(b, v);
	faults(b, v);
	per_server(b, v, "telltale_upstream_attempts_total", "counter",
	           "Attempts sent to each upstream server.", v_attempts);
	groups(b, v);
	per_server(b, v, "telltale_upstream_ejections_total", "counter",
	           "Passive-health ejections of each server.", v_ejections);
	states(b, v);
	per_server(b, v, "telltale_upstream_connections_idle", "gauge",
	           "Idle keep-alive connections to each server (pool size).", v_idle);
	per_server(b, v, "telltale_upstream_connections_open", "gauge",
	           "Open connections to each server, idle or in use.", v_open);
	per_server(b, v, "telltale_upstream_requests_active", "gauge",
	           "Attempts in flight on each server.", v_active);
	process(b, v);
}
