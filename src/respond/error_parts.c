/*
 * Shared pieces of the error bodies: see error_parts.h.
 */
#include "respond/error_parts.h"

#include <math.h>
#include <string.h>
#include <uv.h>

const char *tt_http_reason(int status)
{
	/* RFC 9110 section 15, the codes a gateway generates. */
	switch (status) {
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

const char *tt_ev_sys_err(int sys_err)
{
	return sys_err ? uv_err_name(sys_err) : NULL;
}

int tt_ev_nattempts(const struct tt_fault *f)
{
	if (!f || f->nattempts <= 0)
		return 0;
	return f->nattempts < TT_FAULT_MAX_ATTEMPTS ? f->nattempts : TT_FAULT_MAX_ATTEMPTS;
}

const char *tt_ev_stage(const struct tt_ev *e)
{
	return tt_stage_name(e->f ? e->f->stage : TT_STAGE_NONE);
}

static const char *hop_of_side(int side)
{
	switch (side) {
	case TT_SIDE_DOWNSTREAM: return "downstream-proxy";
	case TT_SIDE_PROXY: return "proxy";
	default: return "proxy-upstream";
	}
}

void tt_ev_init(struct tt_ev *e, const struct tt_error_view *v)
{
	const struct tt_fault *f = v->fault;

	memset(e, 0, sizeof(*e));
	e->v = v;
	e->f = f;
	e->info = f ? tt_fault_info(f->id) : NULL;
	if (!e->info) /* no fault recorded: the gateway failed to say why */
		e->info = tt_fault_info(TT_FAULT_PROXY_INTERNAL_ERROR);
	e->side = e->info->side;
	e->reason = tt_http_reason(v->status);
	e->explain = e->info->explain && *e->info->explain ? e->info->explain : e->info->title;
	e->failed_hop = hop_of_side(e->side);
	e->proxy_name = v->proxy_name && *v->proxy_name ? v->proxy_name : "telltale";
	e->upstream = "";
	if (f && v->trusted) {
		int n = tt_ev_nattempts(f);
		if (f->upstream[0])
			e->upstream = f->upstream;
		else if (n > 0)
			e->upstream = f->attempts[n - 1].upstream;
	}
	tt_out_time(e->time, v->time_ms);
}

/* One link between hops; a failed one carries the mark and its words. */
static void chain_link(struct tt_out *o, const char *name, int failed)
{
	tt_out_fmt(o, "<li class=\"link%s\" data-link=\"%s\"", failed ? " failed" : "", name);
	if (failed)
		tt_out_str(
		    o, " data-failed=\"true\" aria-label=\"failed here\"><span class=\"x\" "
		       "aria-hidden=\"true\">\xe2\x9c\x95</span> <span>failed here</span></li>\n");
	else
		tt_out_str(o, "><span aria-hidden=\"true\">\xe2\x86\x92</span></li>\n");
}

static void hop_open(struct tt_out *o, const char *name, int failed)
{
	tt_out_fmt(o, "<li class=\"hop%s\" data-hop=\"%s\"", failed ? " failed" : "", name);
	if (failed)
		tt_out_str(o, " data-failed=\"true\" aria-label=\"failed here\"");
	tt_out_str(o, ">");
}

static void hop_close(struct tt_out *o, int failed)
{
	if (failed)
		tt_out_str(o, "<span class=\"x\"><span aria-hidden=\"true\">\xe2\x9c\x95</span> "
		              "failed here</span>");
	tt_out_str(o, "</li>\n");
}

void tt_ev_html_chain(struct tt_out *o, const struct tt_ev *e)
{
	int proxy = e->side == TT_SIDE_PROXY;
	const char *group = e->f && e->v->trusted ? e->f->group : "";

	tt_out_str(o,
	           "<ol id=\"chain\" class=\"chain\" aria-label=\"The path of your request\">\n");
	hop_open(o, "downstream", 0);
	tt_out_str(o, "<b>You</b><small>browser</small>");
	hop_close(o, 0);
	chain_link(o, "downstream-proxy", e->side == TT_SIDE_DOWNSTREAM);
	hop_open(o, "proxy", proxy);
	tt_out_str(o, "<b>");
	tt_out_html(o, e->proxy_name, strlen(e->proxy_name));
	tt_out_str(o, "</b><small>gateway</small>");
	hop_close(o, proxy);
	chain_link(o, "proxy-upstream", e->side == TT_SIDE_UPSTREAM);
	hop_open(o, "upstream", 0);
	tt_out_str(o, "<b>the application</b><small>upstream");
	if (group[0]) {
		tt_out_str(o, " ");
		tt_out_html(o, group, strnlen(group, sizeof(e->f->group)));
	}
	if (e->upstream[0]) {
		tt_out_str(o, " ");
		tt_out_html(o, e->upstream, strnlen(e->upstream, sizeof(e->f->upstream)));
	}
	tt_out_str(o, "</small>");
	hop_close(o, 0);
	tt_out_str(o, "</ol>\n");
}

void tt_ev_html_steps(struct tt_out *o, const char *column)
{
	const char *item;
	size_t pos = 0, n;

	while (column && tt_fault_lines(column, &pos, &item, &n)) {
		tt_out_str(o, "<li>");
		tt_out_html(o, item, n);
		tt_out_str(o, "</li>\n");
	}
}

static void dt(struct tt_out *o, const char *term, const char *val, size_t n, int code)
{
	tt_out_fmt(o, "<dt>%s</dt><dd>%s", term, code ? "<code>" : "");
	tt_out_html(o, val, n);
	tt_out_fmt(o, "%s</dd>\n", code ? "</code>" : "");
}

static void ms_cell(struct tt_out *o, double ms)
{
	if (isfinite(ms) && ms >= 0 && ms < 1e12)
		tt_out_fmt(o, "<td>%.1f</td>", ms);
	else
		tt_out_str(o, "<td>-</td>");
}

static void attempts_table(struct tt_out *o, const struct tt_fault *f)
{
	int n = tt_ev_nattempts(f);

	tt_out_str(o, "<div class=\"scroll\"><table id=\"attempts\"><caption>Attempts</caption>\n"
	              "<tr><th>#</th><th>Upstream</th><th>Fault</th><th>Stage</th><th>Connect "
	              "ms</th><th>Head ms</th><th>Reused</th></tr>\n");
	for (int i = 0; i < n; i++) {
		const struct tt_fault_attempt *a = &f->attempts[i];
		const struct tt_fault_info *ai = tt_fault_info(a->id);
		tt_out_fmt(o, "<tr><td>%d</td><td>", i + 1);
		tt_out_html(o, a->upstream, strnlen(a->upstream, sizeof(a->upstream)));
		tt_out_fmt(o, "</td><td>%s</td><td>%s</td>", ai ? ai->token : "ok",
		           tt_stage_name(a->stage));
		ms_cell(o, a->connect_ms);
		ms_cell(o, a->head_ms);
		tt_out_fmt(o, "<td>%s</td></tr>\n", a->reused ? "yes" : "no");
	}
	if (f && f->nattempts > n)
		tt_out_fmt(o, "<tr><td colspan=\"7\">%d more not recorded</td></tr>\n",
		           f->nattempts - n);
	if (n == 0)
		tt_out_str(o, "<tr><td colspan=\"7\">none</td></tr>\n");
	tt_out_str(o, "</table></div>\n");
}

void tt_ev_html_details(struct tt_out *o, const struct tt_ev *e)
{
	const struct tt_fault *f = e->f;
	const char *sys = tt_ev_sys_err(f ? f->sys_err : 0);
	const char *stage = tt_ev_stage(e);

	if (!e->v->trusted)
		return;
	tt_out_str(o, "<section id=\"details\" class=\"details\">\n<h2>Details <small>(shown to "
	              "trusted clients only)</small></h2>\n<dl>\n");
	dt(o, "Fault", e->info->token, strlen(e->info->token), 1);
	dt(o, "Proxy-Status error", e->info->type, strlen(e->info->type), 1);
	dt(o, "Stage", stage, strlen(stage), 0);
	if (f && f->group[0])
		dt(o, "Upstream group", f->group, strnlen(f->group, sizeof(f->group)), 0);
	if (e->upstream[0])
		dt(o, "Upstream", e->upstream, strnlen(e->upstream, sizeof(f->upstream)), 1);
	if (sys)
		dt(o, "System error", sys, strlen(sys), 1);
	if (f && f->details[0])
		dt(o, "Details", f->details, strnlen(f->details, sizeof(f->details)), 0);
	if (e->v->proxy_status && e->v->proxy_status[0])
		dt(o, "Proxy-Status", e->v->proxy_status, strlen(e->v->proxy_status), 1);
	tt_out_str(o, "</dl>\n");
	attempts_table(o, f);
	tt_out_str(o, "</section>\n");
}

void tt_ev_request(struct tt_out *o, const struct tt_ev *e,
                   void (*esc)(struct tt_out *, const char *, size_t))
{
	const struct tt_error_view *v = e->v;
	size_t tn = v->target ? v->target_len : 0;

	if (!v->method || v->method_len == 0)
		return;
	esc(o, v->method, v->method_len < 32 ? v->method_len : 32);
	tt_out_str(o, " ");
	if (v->host && v->host_len)
		esc(o, v->host, v->host_len < 256 ? v->host_len : 256);
	esc(o, v->target ? v->target : "", tn < TT_ERROR_TARGET_SHOWN ? tn : TT_ERROR_TARGET_SHOWN);
	if (tn > TT_ERROR_TARGET_SHOWN)
		tt_out_str(o, "...");
}
