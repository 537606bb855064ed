/*
 * Error bodies: see error_body.h. One resolved view (error_parts.h) feeds
 * three writers; each inserted value goes through the escaper of its kind.
 */
#include "respond/error_body.h"

#include <math.h>
#include <string.h>

#include "respond/error_parts.h"

/*
 * The built-in page's style: fluid, readable on a phone (the chain turns
 * vertical under 560px), light and dark (prefers-color-scheme, Media
 * Queries Level 5). No external resource: system fonts, no images.
 */
static const char css[] =
    ":root{--bg:#fafafa;--fg:#1b1b1f;--mute:#5b5b66;--card:#fff;--line:#d9d9e0;--bad:#c62828;"
    "--badbg:#fdecea;--ok:#2e7d32}\n"
    "@media (prefers-color-scheme:dark){:root{--bg:#141417;--fg:#ececf1;--mute:#a0a0ad;"
    "--card:#1e1e23;--line:#3a3a44;--bad:#ff6b6b;--badbg:#3a1d1f;--ok:#81c784}}\n"
    "*{box-sizing:border-box}html{-webkit-text-size-adjust:100%}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,sans-serif}\n"
    "main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 3rem}\n"
    "h1{font-size:1.6rem;line-height:1.25;margin:.5rem 0 1rem}h1 .st{color:var(--bad);"
    "margin-right:.4rem}\n"
    "h2{font-size:1.1rem;margin:1.6rem 0 .4rem}small{color:var(--mute)}\n"
    ".chain{list-style:none;display:flex;align-items:center;gap:.5rem;padding:1rem;margin:0;"
    "background:var(--card);border:1px solid var(--line);border-radius:.75rem}\n"
    ".hop{flex:1 1 auto;min-width:0;text-align:center;padding:.6rem .4rem;border:2px solid "
    "var(--line);border-radius:.6rem;overflow-wrap:anywhere}\n"
    ".hop b,.hop small{display:block}.link{flex:0 0 auto;text-align:center;color:var(--ok);"
    "font-size:1.3rem}\n"
    ".failed{color:var(--bad);border-color:var(--bad);background:var(--badbg);font-weight:600}"
    "\n.link.failed{font-size:.9rem;padding:.3rem .5rem;border:2px dashed var(--bad);"
    "border-radius:.5rem}.x{color:var(--bad);display:block;font-weight:700}\n"
    "@media (max-width:560px){.chain{flex-direction:column;align-items:stretch}"
    ".link span{display:inline-block;transform:rotate(90deg)}.link.failed span{transform:none}}\n"
    "ol.steps{padding-left:1.4rem}code{font:.9em ui-monospace,monospace;overflow-wrap:anywhere}\n"
    ".meta{color:var(--mute);font-size:.9rem;overflow-wrap:anywhere}\n"
    ".details{background:var(--card);border:1px solid var(--line);border-radius:.75rem;"
    "padding:.2rem 1rem 1rem;margin-top:1.5rem}\n"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}"
    "dt{color:var(--mute)}dd{margin:0;overflow-wrap:anywhere}\n"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;margin-top:1rem;font-size:.85rem}"
    "caption{text-align:left;font-weight:600}th,td{border:1px solid var(--line);"
    "padding:.2rem .4rem;text-align:left}\n";

static void html_head(struct tt_out *o, const struct tt_ev *e)
{
	tt_out_str(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	              "<meta name=\"color-scheme\" content=\"light dark\">\n"
	              "<meta name=\"robots\" content=\"noindex\">\n<title>");
	tt_out_fmt(o, "%d ", e->v->status);
	tt_out_html(o, e->info->title, strlen(e->info->title));
	tt_out_str(o, "</title>\n<style>\n");
	tt_out_str(o, css);
	tt_out_str(o, "</style>\n</head>\n");
}

static void html_doc(struct tt_out *o, const struct tt_ev *e)
{
	html_head(o, e);
	tt_out_fmt(o, "<body>\n<main>\n<h1 id=\"title\"><span class=\"st\">%d %s</span> ",
	           e->v->status, e->reason);
	tt_out_html(o, e->info->title, strlen(e->info->title));
	tt_out_str(o, "</h1>\n");
	tt_ev_html_chain(o, e);
	tt_out_str(o, "<p id=\"explanation\">");
	tt_out_html(o, e->explain, strlen(e->explain));
	tt_out_str(o,
	           "</p>\n<h2>What you can do</h2>\n<ol id=\"visitor-steps\" class=\"steps\">\n");
	tt_ev_html_steps(o, e->info->visitor);
	tt_out_str(o, "</ol>\n<h2>What the site's operator can do</h2>\n"
	              "<ol id=\"operator-steps\" class=\"steps\">\n");
	tt_ev_html_steps(o, e->info->operator_);
	tt_out_str(o, "</ol>\n<p class=\"meta\">");
	if (e->v->method && e->v->method_len) {
		tt_out_str(o, "Request: <code>");
		tt_ev_request(o, e, tt_out_html);
		tt_out_str(o, "</code><br>\n");
	}
	tt_out_str(o, "Request ID: <code id=\"request-id\">");
	if (e->v->request_id)
		tt_out_html(o, e->v->request_id, strlen(e->v->request_id));
	if (e->v->trace_id) {
		tt_out_str(o, "</code><br>\nTrace ID: <code id=\"trace-id\">");
		tt_out_html(o, e->v->trace_id, strlen(e->v->trace_id));
	}
	tt_out_fmt(o, "</code><br>\nTime: <time id=\"time\" datetime=\"%s\">%.10s %.8s UTC</time>",
	           e->time, e->time, e->time + 11);
	tt_out_str(o, "<br>\nError: <code>");
	tt_out_html(o, e->info->type, strlen(e->info->type));
	tt_out_str(o, "</code></p>\n");
	tt_ev_html_details(o, e);
	tt_out_str(o, "</main>\n</body>\n</html>\n");
}

/* ---- application/problem+json (RFC 9457) ---- */

/* RFC 3986 pchar, which RFC 4151 section 2.1 allows in a tag's specific
 * part: unreserved, sub-delims, ":" and "@"; anything else is
 * percent-encoded. */
static void put_pchars(struct tt_out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~!$&'()*+,;=:@", c)) {
			tt_out_put(o, s, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			tt_out_put(o, e, 3);
		}
	}
}

static void json_lines(struct tt_out *o, const char *key, const char *column)
{
	const char *item;
	size_t pos = 0, n;
	int first = 1;

	tt_out_fmt(o, ",\"%s\":[", key);
	while (column && tt_fault_lines(column, &pos, &item, &n)) {
		if (!first)
			tt_out_str(o, ",");
		tt_out_json(o, item, n);
		first = 0;
	}
	tt_out_str(o, "]");
}

static void json_ms(struct tt_out *o, const char *key, double ms)
{
	if (isfinite(ms) && ms >= 0 && ms < 1e12)
		tt_out_fmt(o, ",\"%s\":%.3f", key, ms);
	else
		tt_out_fmt(o, ",\"%s\":null", key);
}

static void json_attempts(struct tt_out *o, const struct tt_fault *f)
{
	int n = tt_ev_nattempts(f);

	tt_out_str(o, ",\"attempts\":[");
	for (int i = 0; i < n; i++) {
		const struct tt_fault_attempt *a = &f->attempts[i];
		const struct tt_fault_info *ai = tt_fault_info(a->id);
		tt_out_str(o, i ? ",{\"upstream\":" : "{\"upstream\":");
		tt_out_json(o, a->upstream, strnlen(a->upstream, sizeof(a->upstream)));
		tt_out_str(o, ",\"fault\":");
		tt_out_json_or_null(o, ai ? ai->token : NULL);
		tt_out_fmt(o, ",\"stage\":\"%s\",\"system_error\":", tt_stage_name(a->stage));
		tt_out_json_or_null(o, tt_ev_sys_err(a->sys_err));
		json_ms(o, "connect_ms", a->connect_ms);
		json_ms(o, "head_ms", a->head_ms);
		tt_out_fmt(o, ",\"reused\":%s}", a->reused ? "true" : "false");
	}
	tt_out_str(o, "]");
}

static void json_trusted(struct tt_out *o, const struct tt_ev *e)
{
	const struct tt_fault *f = e->f;

	tt_out_str(o, ",\"details\":");
	tt_out_json_or_null(o, f ? f->details : NULL);
	tt_out_str(o, ",\"upstream\":");
	tt_out_json_or_null(o, e->upstream);
	tt_out_str(o, ",\"upstream_group\":");
	tt_out_json_or_null(o, f ? f->group : NULL);
	tt_out_fmt(o, ",\"stage\":\"%s\",\"system_error\":", tt_ev_stage(e));
	tt_out_json_or_null(o, tt_ev_sys_err(f ? f->sys_err : 0));
	json_attempts(o, f);
}

static void json_doc(struct tt_out *o, const struct tt_ev *e)
{
	const struct tt_error_view *v = e->v;

	tt_out_str(o, "{\"type\":\"tag:telltale,2026:error/");
	tt_out_str(o, e->info->type); /* lower_snake: no escaping needed */
	tt_out_str(o, "\",\"title\":");
	tt_out_json(o, e->info->title, strlen(e->info->title));
	tt_out_fmt(o, ",\"status\":%d,\"detail\":", v->status);
	tt_out_json(o, e->explain, strlen(e->explain));
	if (v->request_id && v->request_id[0]) {
		tt_out_str(o, ",\"instance\":\"tag:telltale,2026:request/");
		put_pchars(o, v->request_id);
		tt_out_str(o, "\"");
	}
	tt_out_fmt(o, ",\"proxy_status\":\"%s\",\"fault\":\"%s\",\"request_id\":", e->info->type,
	           e->info->token);
	tt_out_json_or_null(o, v->request_id);
	tt_out_str(o, ",\"trace_id\":");
	tt_out_json_or_null(o, v->trace_id);
	tt_out_fmt(o, ",\"failed_hop\":\"%s\",\"time\":\"%s\"", e->failed_hop, e->time);
	json_lines(o, "visitor_steps", e->info->visitor);
	json_lines(o, "operator_steps", e->info->operator_);
	if (v->trusted)
		json_trusted(o, e);
	tt_out_str(o, "}\n");
}

/* ---- text/plain ---- */

static void text_lines(struct tt_out *o, const char *heading, const char *column)
{
	const char *item;
	size_t pos = 0, n;
	int i = 0;

	tt_out_fmt(o, "\n%s\n", heading);
	while (column && tt_fault_lines(column, &pos, &item, &n)) {
		tt_out_fmt(o, "  %d. ", ++i);
		tt_out_text(o, item, n);
		tt_out_str(o, "\n");
	}
}

static void text_ms(struct tt_out *o, const char *key, double ms)
{
	if (isfinite(ms) && ms >= 0 && ms < 1e12)
		tt_out_fmt(o, " %s=%.1fms", key, ms);
	else
		tt_out_fmt(o, " %s=-", key);
}

static void text_field(struct tt_out *o, const char *key, const char *val, size_t n)
{
	tt_out_fmt(o, "  %s: ", key);
	tt_out_text(o, val, n);
	tt_out_str(o, "\n");
}

static void text_details(struct tt_out *o, const struct tt_ev *e)
{
	const struct tt_fault *f = e->f;
	const char *sys = tt_ev_sys_err(f ? f->sys_err : 0);
	const char *stage = tt_ev_stage(e);
	int n = tt_ev_nattempts(f);

	tt_out_str(o, "\nDetails (shown to trusted clients only):\n");
	text_field(o, "fault", e->info->token, strlen(e->info->token));
	text_field(o, "type", e->info->type, strlen(e->info->type));
	text_field(o, "stage", stage, strlen(stage));
	if (f && f->group[0])
		text_field(o, "upstream group", f->group, strnlen(f->group, sizeof(f->group)));
	if (e->upstream[0])
		text_field(o, "upstream", e->upstream, strnlen(e->upstream, sizeof(f->upstream)));
	if (sys)
		text_field(o, "system error", sys, strlen(sys));
	if (f && f->details[0])
		text_field(o, "details", f->details, strnlen(f->details, sizeof(f->details)));
	if (e->v->proxy_status && e->v->proxy_status[0])
		text_field(o, "proxy-status", e->v->proxy_status, strlen(e->v->proxy_status));
	for (int i = 0; i < n; i++) {
		const struct tt_fault_attempt *a = &f->attempts[i];
		const struct tt_fault_info *ai = tt_fault_info(a->id);
		tt_out_fmt(o, "  attempt %d: ", i + 1);
		tt_out_text(o, a->upstream, strnlen(a->upstream, sizeof(a->upstream)));
		tt_out_fmt(o, " %s %s", ai ? ai->token : "ok", tt_stage_name(a->stage));
		text_ms(o, "connect", a->connect_ms);
		text_ms(o, "head", a->head_ms);
		tt_out_fmt(o, " reused=%s\n", a->reused ? "yes" : "no");
	}
	if (f && f->nattempts > n)
		tt_out_fmt(o, "  (%d more attempts not recorded)\n", f->nattempts - n);
}

static void text_doc(struct tt_out *o, const struct tt_ev *e)
{
	const struct tt_error_view *v = e->v;

	tt_out_fmt(o, "%d %s: ", v->status, e->reason);
	tt_out_text(o, e->info->title, strlen(e->info->title));
	tt_out_str(o, "\n\n");
	tt_out_text(o, e->explain, strlen(e->explain));
	tt_out_str(o, "\n");
	text_lines(o, "What you can do:", e->info->visitor);
	text_lines(o, "What the site's operator can do:", e->info->operator_);
	tt_out_str(o, "\n");
	if (v->method && v->method_len) {
		tt_out_str(o, "Request: ");
		tt_ev_request(o, e, tt_out_text);
		tt_out_str(o, "\n");
	}
	tt_out_str(o, "Request ID: ");
	if (v->request_id)
		tt_out_text(o, v->request_id, strlen(v->request_id));
	if (v->trace_id) {
		tt_out_str(o, "\nTrace ID: ");
		tt_out_text(o, v->trace_id, strlen(v->trace_id));
	}
	tt_out_fmt(o, "\nTime: %s\nError: %s (%s), failed hop: %s\n", e->time, e->info->type,
	           e->info->token, e->failed_hop);
	if (v->trusted)
		text_details(o, e);
}

ssize_t tt_error_body(char *out, size_t cap, enum tt_body_kind kind, const struct tt_error_view *v,
                      const char **content_type)
{
	struct tt_out o;
	struct tt_ev e;

	tt_out_init(&o, out, cap);
	tt_ev_init(&e, v);
	switch (kind) {
	case TT_BODY_HTML:
		*content_type = "text/html; charset=utf-8";
		if (v->template_html)
			tt_error_template_render(&o, &e);
		else
			html_doc(&o, &e);
		break;
	case TT_BODY_JSON:
		*content_type = "application/problem+json";
		json_doc(&o, &e);
		break;
	default:
		*content_type = "text/plain; charset=utf-8";
		text_doc(&o, &e);
		break;
	}
	return tt_out_end(&o);
}
