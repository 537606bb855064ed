/*
 * The status page and its JSON twin: see status.h. Both walk the view in
 * the same order (routes, then upstream groups with their servers and last
 * faults) and say the same things.
 */
#include "obs/status.h"

#include <stdio.h>
#include <string.h>

#include "respond/out.h"

#ifndef TT_VERSION
#define TT_VERSION "dev"
#endif

static const char *const class_names[TT_METRICS_CLASSES] = {"1xx", "2xx", "3xx",
                                                            "4xx", "5xx", "other"};

static uint64_t server_faults(const struct tt_obs_view *v, size_t flat)
{
	uint64_t n = 0;
	for (size_t id = 1; id < TT_FAULT__COUNT; id++)
		n += tt_counter_get(&v->m->faults[flat * TT_FAULT__COUNT + id]);
	return n;
}

static size_t route_group(const struct tt_obs_view *v, size_t r)
{
	return (size_t)(v->cfg->routes[r].upstream - v->cfg->upstreams);
}

static uint64_t ms_left(uint64_t until, uint64_t now)
{
	return until > now ? until - now : 0;
}

/* ---- JSON ---- */

static void json_probe(struct tt_sbuf *b, const struct tt_obs_view *v,
                       const struct tt_health_view *h)
{
	const struct tt_fault_info *fi = tt_fault_info(h->probe_fault);
	if (!h->probed) {
		tt_sbuf_str(b, "null");
		return;
	}
	tt_sbuf_fmt(b, "{\"ok\":%s,\"status\":%d,\"fault\":", h->probe_ok ? "true" : "false",
	            h->probe_status);
	tt_sbuf_json_str(b, fi ? fi->token : NULL);
	tt_sbuf_fmt(
	    b, ",\"age_ms\":%llu,\"down\":%s}",
	    (unsigned long long)(v->mono_ms > h->probe_at_ms ? v->mono_ms - h->probe_at_ms : 0),
	    h->probe_down ? "true" : "false");
}

static void json_server(struct tt_sbuf *b, const struct tt_obs_view *v, size_t g, size_t i)
{
	const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
	size_t flat = v->m->group_first[g] + i;
	const struct tt_health_view *h = &v->servers[flat];
	tt_sbuf_str(b, "{\"address\":");
	tt_sbuf_json_str(b, u->servers[i].address);
	tt_sbuf_fmt(b, ",\"state\":\"%s\",\"circuit\":\"%s\",\"slow_start_factor\":%.3f",
	            tt_health_state_name(h->state), tt_breaker_state_name(h->circuit), h->factor);
	tt_sbuf_fmt(b,
	            ",\"ejected_for_ms\":%llu,\"circuit_open_for_ms\":%llu,\"ejections\":%u,"
	            "\"consecutive_failures\":%u,\"connections\":%u",
	            (unsigned long long)ms_left(h->ejected_until_ms, v->mono_ms),
	            (unsigned long long)ms_left(h->open_until_ms, v->mono_ms), h->ejections,
	            h->consecutive_failures, h->connections);
	tt_sbuf_fmt(b, ",\"pool\":{\"idle\":%llu,\"open\":%llu,\"active\":%llu}",
	            (unsigned long long)tt_counter_get(&v->m->idle[flat]),
	            (unsigned long long)tt_counter_get(&v->m->open[flat]),
	            (unsigned long long)tt_counter_get(&v->m->active[flat]));
	tt_sbuf_fmt(b, ",\"attempts\":%llu,\"faults\":%llu,\"probe\":",
	            (unsigned long long)tt_counter_get(&v->m->attempts[flat]),
	            (unsigned long long)server_faults(v, flat));
	json_probe(b, v, h);
	tt_sbuf_str(b, "}");
}

static void hex_bytes(struct tt_sbuf *b, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		char e[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
		tt_sbuf_put(b, e, 2);
	}
}

static void json_note(struct tt_sbuf *b, const struct tt_obs_view *v, const struct tt_fault_note *n)
{
	const struct tt_fault_info *fi = tt_fault_info(n->id);
	char t[TT_TIME_MAX];
	tt_sbuf_fmt(b, "{\"time\":\"%s\",\"fault\":", tt_out_time(t, n->time_ms));
	tt_sbuf_json_str(b, fi ? fi->token : NULL);
	tt_sbuf_str(b, ",\"type\":");
	tt_sbuf_json_str(b, fi ? fi->type : NULL);
	tt_sbuf_str(b, ",\"title\":");
	tt_sbuf_json_str(b, fi ? fi->title : NULL);
	tt_sbuf_fmt(b, ",\"stage\":\"%s\",\"status\":%d,\"server\":", tt_stage_name(n->stage),
	            n->status);
	tt_sbuf_json_str(b, n->server[0] ? n->server : NULL);
	tt_sbuf_str(b, ",\"request_id\":");
	tt_sbuf_json_str(b, n->request_id[0] ? n->request_id : NULL);
	tt_sbuf_str(b, ",\"trace_id\":");
	tt_sbuf_json_str(b, n->trace_id[0] ? n->trace_id : NULL);
	if (v->trusted) {
		tt_sbuf_str(b, ",\"details\":");
		tt_sbuf_json_str(b, n->details[0] ? n->details : NULL);
		tt_sbuf_str(b, ",\"bad_bytes\":");
		if (n->bad_len) {
			tt_sbuf_fmt(b, "{\"offset\":%llu,\"at\":%u,\"hex\":\"",
			            (unsigned long long)n->bad_offset, n->bad_at);
			hex_bytes(b, n->bad, n->bad_len);
			tt_sbuf_str(b, "\",\"text\":");
			tt_sbuf_json(b, (const char *)n->bad, n->bad_len);
			tt_sbuf_str(b, "}");
		} else {
			tt_sbuf_str(b, "null");
		}
	}
	tt_sbuf_str(b, "}");
}

static void json_group(struct tt_sbuf *b, const struct tt_obs_view *v, size_t g)
{
	const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
	const struct tt_health_summary *s = &v->groups[g];
	tt_sbuf_str(b, "{\"name\":");
	tt_sbuf_json_str(b, u->name);
	tt_sbuf_fmt(b,
	            ",\"servers_total\":%zu,\"healthy\":%zu,\"usable\":%zu,\"panic\":%s,"
	            "\"ejections\":%llu,\"retries\":%llu,\"servers\":[",
	            s->nservers, s->healthy, s->usable, s->panic ? "true" : "false",
	            (unsigned long long)s->ejections,
	            (unsigned long long)tt_counter_get(&v->m->retries[g]));
	for (size_t i = 0; i < u->nservers; i++) {
		if (i)
			tt_sbuf_str(b, ",");
		json_server(b, v, g, i);
	}
	tt_sbuf_str(b, "],\"last_faults\":[");
	for (size_t i = 0; i < v->nnotes[g]; i++) {
		if (i)
			tt_sbuf_str(b, ",");
		json_note(b, v, &v->notes[g * TT_VIEW_NOTES + i]);
	}
	tt_sbuf_str(b, "]}");
}

static void json_route(struct tt_sbuf *b, const struct tt_obs_view *v, size_t r)
{
	char label[600];
	tt_view_route_label(v->cfg, r, label, sizeof(label));
	tt_sbuf_str(b, "{\"route\":");
	tt_sbuf_json_str(b, label);
	if (r < v->cfg->nroutes) {
		const struct tt_cfg_route *cr = &v->cfg->routes[r];
		tt_sbuf_str(b, ",\"host\":");
		tt_sbuf_json_str(b, cr->host);
		tt_sbuf_str(b, ",\"path\":");
		tt_sbuf_json_str(b, cr->path_prefix);
		tt_sbuf_str(b, ",\"upstream_group\":");
		tt_sbuf_json_str(b, cr->upstream->name);
	}
	tt_sbuf_str(b, ",\"requests\":{");
	for (size_t c = 0; c < TT_METRICS_CLASSES; c++)
		tt_sbuf_fmt(b, "%s\"%s\":%llu", c ? "," : "", class_names[c],
		            (unsigned long long)tt_counter_get(
		                &v->m->requests[r * TT_METRICS_CLASSES + c]));
	tt_sbuf_fmt(b, "},\"stale_served\":%llu}",
	            (unsigned long long)tt_counter_get(&v->m->stale[r]));
}

static const char *reload_result(const struct tt_obs_view *v)
{
	return v->last_reload_ok < 0 ? "none" : v->last_reload_ok ? "ok" : "error";
}

/* "config": the generation serving and the last reload (issue 7, item 4). */
static void json_config(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	char t[TT_TIME_MAX];
	tt_sbuf_fmt(b,
	            "\"config\":{\"generation\":%llu,\"reloads_ok\":%llu,\"reloads_error\":%llu,"
	            "\"last_reload\":\"%s\",\"last_reload_time\":",
	            (unsigned long long)v->generation, (unsigned long long)v->reloads_ok,
	            (unsigned long long)v->reloads_error, reload_result(v));
	if (v->last_reload_ms)
		tt_sbuf_fmt(b, "\"%s\"}", tt_out_time(t, v->last_reload_ms));
	else
		tt_sbuf_str(b, "null}");
}

void tt_status_json(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	char t1[TT_TIME_MAX], t2[TT_TIME_MAX];
	tt_sbuf_str(b, "{\"name\":");
	tt_sbuf_json_str(b, v->cfg->name);
	tt_sbuf_fmt(b,
	            ",\"version\":\"%s\",\"time\":\"%s\",\"started\":\"%s\",\"workers\":%u,"
	            "\"downstream_connections\":%llu,\"trusted\":%s,",
	            TT_VERSION, tt_out_time(t1, v->now_ms), tt_out_time(t2, v->started_ms),
	            v->workers, (unsigned long long)v->downstream_open,
	            v->trusted ? "true" : "false");
	json_config(b, v);
	tt_sbuf_str(b, ",\"listeners\":[");
	for (size_t i = 0; i < v->cfg->nlisteners; i++) {
		if (i)
			tt_sbuf_str(b, ",");
		tt_sbuf_json_str(b, v->cfg->listeners[i].address);
	}
	tt_sbuf_str(b, "],\"routes\":[");
	for (size_t r = 0; r <= v->cfg->nroutes; r++) {
		if (r)
			tt_sbuf_str(b, ",");
		json_route(b, v, r);
	}
	tt_sbuf_str(b, "],\"upstreams\":[");
	for (size_t g = 0; g < v->m->ngroups; g++) {
		if (g)
			tt_sbuf_str(b, ",");
		json_group(b, v, g);
	}
	tt_sbuf_str(b, "]}\n");
}

/* ---- HTML ---- */

static const char css[] =
    ":root{color-scheme:light dark;--bg:#fafafa;--fg:#1d1d1f;--box:#fff;--line:#c8c8cc;"
    "--muted:#6e6e73;--up:#1a7f37;--warn:#9a6700;--bad:#cf222e}"
    "@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--box:#161b22;"
    "--line:#30363d;--muted:#8b949e;--up:#3fb950;--warn:#d29922;--bad:#f85149}}"
    "body{background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,sans-serif;margin:0;"
    "padding:1.5em}h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .5em}"
    ".meta{color:var(--muted)}section{background:var(--box);border:1px solid var(--line);"
    "border-radius:8px;padding:1em;margin:1em 0}.chain{display:flex;align-items:center;"
    "flex-wrap:wrap;gap:.6em}.hop{border:1px solid var(--line);border-radius:6px;"
    "padding:.4em .7em}.arrow{color:var(--muted)}ul.servers{list-style:none;margin:0;padding:0}"
    "li.server{border:1px solid var(--line);border-left:6px solid var(--up);border-radius:6px;"
    "padding:.3em .6em;margin:.3em 0}li.server[data-state=ejected],li.server[data-state="
    "circuit_open],li.server[data-state=probe_down]{border-left-color:var(--bad)}"
    "li.server[data-state=half_open],li.server[data-state=slow_start]{border-left-color:"
    "var(--warn)}.state{font-weight:600}table{border-collapse:collapse;width:100%;"
    "font-size:.92em}td,th{border-bottom:1px solid var(--line);padding:.25em .4em;"
    "text-align:left;vertical-align:top}pre{overflow-x:auto;font-size:.85em;margin:.3em 0}"
    "mark{background:var(--bad);color:#fff}code{font-size:.92em}";

static void html_probe(struct tt_sbuf *b, const struct tt_obs_view *v,
                       const struct tt_health_view *h)
{
	const struct tt_fault_info *fi = tt_fault_info(h->probe_fault);
	if (!h->probed)
		return;
	tt_sbuf_fmt(b, "; last probe %s",
	            h->probe_ok ? "ok" : (fi ? fi->token : "unexpected status"));
	if (h->probe_status)
		tt_sbuf_fmt(b, " (%d)", h->probe_status);
	tt_sbuf_fmt(
	    b, " %llu s ago",
	    (unsigned long long)((v->mono_ms > h->probe_at_ms ? v->mono_ms - h->probe_at_ms : 0) /
	                         1000));
}

static void html_server(struct tt_sbuf *b, const struct tt_obs_view *v, size_t g, size_t i)
{
	const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
	size_t flat = v->m->group_first[g] + i;
	const struct tt_health_view *h = &v->servers[flat];
	const char *st = tt_health_state_name(h->state);
	tt_sbuf_str(b, "<li class=\"server\" data-hop=\"server\" data-server=\"");
	tt_sbuf_html(b, u->servers[i].address, strlen(u->servers[i].address));
	tt_sbuf_fmt(b, "\" data-state=\"%s\"><code>", st);
	tt_sbuf_html(b, u->servers[i].address, strlen(u->servers[i].address));
	tt_sbuf_fmt(b, "</code> <span class=\"state\">%s</span> <span class=\"meta\">circuit %s",
	            st, tt_breaker_state_name(h->circuit));
	if (h->ejected_until_ms > v->mono_ms)
		tt_sbuf_fmt(b, "; ejected for %llu s more",
		            (unsigned long long)((h->ejected_until_ms - v->mono_ms + 999) / 1000));
	if (h->state == TT_HEALTH_SLOW_START)
		tt_sbuf_fmt(b, "; slow start at %.0f%%", h->factor * 100);
	html_probe(b, v, h);
	tt_sbuf_fmt(b,
	            "<br>pool: %llu idle, %llu open, %llu active; %llu attempts, %llu faults, "
	            "%u ejections</span></li>",
	            (unsigned long long)tt_counter_get(&v->m->idle[flat]),
	            (unsigned long long)tt_counter_get(&v->m->open[flat]),
	            (unsigned long long)tt_counter_get(&v->m->active[flat]),
	            (unsigned long long)tt_counter_get(&v->m->attempts[flat]),
	            (unsigned long long)server_faults(v, flat), h->ejections);
}

/* A hex dump, 16 bytes a line, the offending byte marked. */
static void html_bytes(struct tt_sbuf *b, const struct tt_fault_note *n)
{
	tt_sbuf_fmt(b, "<pre class=\"bad-bytes\">offending byte at offset %llu of the head\n",
	            (unsigned long long)n->bad_offset);
	for (size_t row = 0; row < n->bad_len; row += 16) {
		tt_sbuf_fmt(b, "%04zx  ", row);
		for (size_t i = row; i < row + 16; i++) {
			if (i >= n->bad_len)
				tt_sbuf_str(b, "   ");
			else if (i == n->bad_at)
				tt_sbuf_fmt(b, "<mark>%02x</mark> ", n->bad[i]);
			else
				tt_sbuf_fmt(b, "%02x ", n->bad[i]);
		}
		tt_sbuf_str(b, " ");
		for (size_t i = row; i < row + 16 && i < n->bad_len; i++) {
			char c = n->bad[i] >= 0x20 && n->bad[i] < 0x7f ? (char)n->bad[i] : '.';
			if (i == n->bad_at)
				tt_sbuf_str(b, "<mark>");
			tt_sbuf_html(b, &c, 1);
			if (i == n->bad_at)
				tt_sbuf_str(b, "</mark>");
		}
		tt_sbuf_str(b, "\n");
	}
	tt_sbuf_str(b, "</pre>");
}

static void html_note(struct tt_sbuf *b, const struct tt_obs_view *v, const struct tt_fault_note *n)
{
	const struct tt_fault_info *fi = tt_fault_info(n->id);
	char t[TT_TIME_MAX];
	tt_sbuf_fmt(b, "<tr data-fault=\"%s\"><td>%s</td><td><code>%s</code><br>%s</td><td>",
	            fi ? fi->token : "", tt_out_time(t, n->time_ms), fi ? fi->token : "",
	            fi ? fi->type : "");
	if (fi)
		tt_sbuf_html(b, fi->title, strlen(fi->title));
	tt_sbuf_fmt(b, " (%d, stage %s)", n->status, tt_stage_name(n->stage));
	if (v->trusted && n->details[0]) {
		tt_sbuf_str(b, "<br>");
		tt_sbuf_html(b, n->details, strlen(n->details));
	}
	if (v->trusted && n->bad_len)
		html_bytes(b, n);
	tt_sbuf_str(b, "</td><td><code>");
	tt_sbuf_html(b, n->server, strlen(n->server));
	tt_sbuf_str(b, "</code></td><td><code>");
	tt_sbuf_html(b, n->request_id, strlen(n->request_id));
	tt_sbuf_str(b, "</code><br><code>");
	tt_sbuf_html(b, n->trace_id, strlen(n->trace_id));
	tt_sbuf_str(b, "</code></td></tr>");
}

static void html_group(struct tt_sbuf *b, const struct tt_obs_view *v, size_t g)
{
	const struct tt_cfg_upstream *u = &v->cfg->upstreams[g];
	const struct tt_health_summary *s = &v->groups[g];
	tt_sbuf_str(b, "<div class=\"hop\" data-hop=\"group\"><b>");
	tt_sbuf_html(b, u->name, strlen(u->name));
	tt_sbuf_fmt(b, "</b> <span class=\"meta\">%zu of %zu healthy%s, %llu retries</span></div>",
	            s->healthy, s->nservers, s->panic ? ", PANIC: every server used" : "",
	            (unsigned long long)tt_counter_get(&v->m->retries[g]));
	tt_sbuf_str(b, "<span class=\"arrow\">&rarr;</span><ul class=\"servers\">");
	for (size_t i = 0; i < u->nservers; i++)
		html_server(b, v, g, i);
	tt_sbuf_str(b, "</ul>");
}

static void html_faults(struct tt_sbuf *b, const struct tt_obs_view *v, size_t g)
{
	const char *name = v->cfg->upstreams[g].name;
	tt_sbuf_str(b, "<h3>Last faults of ");
	tt_sbuf_html(b, name, strlen(name));
	tt_sbuf_str(b, "</h3>");
	if (!v->nnotes[g]) {
		tt_sbuf_str(b, "<p class=\"meta\">none since the start</p>");
		return;
	}
	tt_sbuf_str(b, "<table class=\"faults\" data-group=\"");
	tt_sbuf_html(b, name, strlen(name));
	tt_sbuf_str(b, "\"><tr><th>time</th><th>fault</th><th>story</th><th>server</th>"
	               "<th>request / trace</th></tr>");
	for (size_t i = 0; i < v->nnotes[g]; i++)
		html_note(b, v, &v->notes[g * TT_VIEW_NOTES + i]);
	tt_sbuf_str(b, "</table>");
}

static void html_route(struct tt_sbuf *b, const struct tt_obs_view *v, size_t r)
{
	char label[600];
	size_t g = route_group(v, r);
	tt_view_route_label(v->cfg, r, label, sizeof(label));
	tt_sbuf_str(b, "<section class=\"route\" data-route=\"");
	tt_sbuf_html(b, label, strlen(label));
	tt_sbuf_str(b, "\"><h2>Route <code>");
	tt_sbuf_html(b, label, strlen(label));
	tt_sbuf_str(b, "</code></h2><p class=\"meta\">requests:");
	for (size_t c = 0; c < TT_METRICS_CLASSES; c++)
		tt_sbuf_fmt(b, " %s %llu", class_names[c],
		            (unsigned long long)tt_counter_get(
		                &v->m->requests[r * TT_METRICS_CLASSES + c]));
	tt_sbuf_fmt(b, "; stale copies served %llu</p><div class=\"chain\">",
	            (unsigned long long)tt_counter_get(&v->m->stale[r]));
	tt_sbuf_str(b, "<div class=\"hop\" data-hop=\"listener\">");
	for (size_t i = 0; i < v->cfg->nlisteners; i++) {
		tt_sbuf_str(b, i ? "<br><code>" : "<code>");
		tt_sbuf_html(b, v->cfg->listeners[i].address, strlen(v->cfg->listeners[i].address));
		tt_sbuf_str(b, "</code>");
	}
	tt_sbuf_str(b, "</div><span class=\"arrow\">&rarr;</span>");
	html_group(b, v, g);
	tt_sbuf_str(b, "</div>");
	html_faults(b, v, g);
	tt_sbuf_str(b, "</section>");
}

void tt_status_html(struct tt_sbuf *b, const struct tt_obs_view *v)
{
	char t[TT_TIME_MAX];
	tt_sbuf_str(b, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	               "<meta http-equiv=\"refresh\" content=\"5\">"
	               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
	               "<title>");
	tt_sbuf_html(b, v->cfg->name, strlen(v->cfg->name));
	tt_sbuf_str(b, " status</title><style>");
	tt_sbuf_str(b, css);
	tt_sbuf_str(b, "</style></head><body><h1>");
	tt_sbuf_html(b, v->cfg->name, strlen(v->cfg->name));
	tt_sbuf_fmt(b,
	            " status</h1><p class=\"meta\" id=\"summary\">telltale %s, %u worker%s, %llu "
	            "downstream connections open; %s (refreshes every 5 s)</p>",
	            TT_VERSION, v->workers, v->workers == 1 ? "" : "s",
	            (unsigned long long)v->downstream_open, tt_out_time(t, v->now_ms));
	tt_sbuf_fmt(
	    b, "<p class=\"meta\" id=\"config\" data-generation=\"%llu\">config generation %llu",
	    (unsigned long long)v->generation, (unsigned long long)v->generation);
	if (v->last_reload_ms)
		tt_sbuf_fmt(b, "; last reload %s: %s", tt_out_time(t, v->last_reload_ms),
		            v->last_reload_ok ? "taken"
		                              : "refused, the previous config still serves");
	tt_sbuf_str(b, "</p><main id=\"routes\">");
	for (size_t r = 0; r < v->cfg->nroutes; r++)
		html_route(b, v, r);
	tt_sbuf_str(b, "</main>");
	if (!v->trusted)
		tt_sbuf_str(b, "<p class=\"meta\">Fault details and response bytes are shown to "
		               "error_detail_networks only.</p>");
	tt_sbuf_str(b, "</body></html>\n");
}
