/*
 * docs/errors.md and the terminal text, from the catalogue table.
 *
 * Invariant: catalogue text is only ever written with fwrite/fputs, never
 * used as a printf format: it holds '%' (curl -w formats, for one).
 */
#include <string.h>

#include "fault/doc.h"
#include "fault/fault.h"

#define TEXT_WIDTH 78 /* columns of wrapped terminal text */

const char *tt_fault_side_name(int side)
{
	switch (side) {
	case TT_SIDE_DOWNSTREAM: return "downstream";
	case TT_SIDE_PROXY: return "proxy";
	case TT_SIDE_UPSTREAM: return "upstream";
	default: return "?";
	}
}

const char *tt_fault_retry_name(int retry)
{
	switch (retry) {
	case TT_RETRY_NEVER: return "never";
	case TT_RETRY_SAFE: return "safe";
	case TT_RETRY_IDEMPOTENT: return "idempotent";
	default: return "?";
	}
}

/* What a side and a retry class mean, for the text view. */
static const char *side_meaning(int side)
{
	switch (side) {
	case TT_SIDE_DOWNSTREAM: return "the request was at fault";
	case TT_SIDE_PROXY: return "telltale itself (its configuration, limits or host)";
	case TT_SIDE_UPSTREAM: return "the upstream server or the way to it";
	default: return "?";
	}
}

static const char *retry_meaning(int retry)
{
	switch (retry) {
	case TT_RETRY_NEVER: return "the request may have been processed, or retrying cannot help";
	case TT_RETRY_SAFE: return "nothing reached the upstream: any method may be retried";
	case TT_RETRY_IDEMPOTENT:
		return "the request was sent and no response came, so only idempotent methods "
		       "(GET, HEAD, PUT, DELETE, OPTIONS) may be retried";
	default: return "?";
	}
}

static const char *const stage_meaning[TT_STAGE__COUNT] = {
    [TT_STAGE_NONE] = "no stage",
    [TT_STAGE_REQUEST] = "reading the downstream's request",
    [TT_STAGE_ROUTE] = "choosing an upstream for the request",
    [TT_STAGE_DNS] = "resolving the upstream's host name",
    [TT_STAGE_CONNECT] = "opening the TCP connection to the upstream",
    [TT_STAGE_TLS] = "the TLS handshake with the upstream",
    [TT_STAGE_SEND] = "writing the request to the upstream",
    [TT_STAGE_WAIT_HEAD] = "the request is sent, no byte of the response has come yet",
    [TT_STAGE_READ_HEAD] = "part of the response head has come",
    [TT_STAGE_READ_BODY] = "the response head was forwarded, its body is streaming",
    [TT_STAGE_RESPOND] = "writing the response to the downstream",
    [TT_STAGE_PROXY] = "inside telltale",
};

/* ---- Markdown ---- */

/* A table cell: '|' would end the cell early. */
static void md_cell(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void md_list(FILE *out, const char *heading, const char *column, int numbered)
{
	const char *item;
	size_t len, pos = 0;
	int n = 0;

	fprintf(out, "**%s**\n\n", heading);
	while (tt_fault_lines(column, &pos, &item, &len)) {
		if (numbered)
			fprintf(out, "%d. ", ++n);
		else
			fputs("- ", out);
		fwrite(item, 1, len, out);
		fputc('\n', out);
	}
	fputc('\n', out);
}

static const char md_intro[] =
    "# Error catalogue\n"
    "\n"
    "<!-- Generated from src/fault/catalogue.h by `telltale errors --markdown`.\n"
    "     Do not edit: change the table, then regenerate this file. -->\n"
    "\n"
    "Every error telltale produces is one row of its fault catalogue: what was\n"
    "observed, the likely causes, and what the visitor and the operator can do\n"
    "about it. The error page, the `Proxy-Status` header, the access log and\n"
    "`telltale errors` all read that same table; this page is generated from it.\n"
    "\n"
    "## Where a fault shows\n"
    "\n"
    "- **The status code** of the response telltale sends: 502, 503 or 504 when\n"
    "  the upstream or the way to it failed, a 4xx when the request was at fault.\n"
    "  A fault without a status is only logged: there was nobody left to answer,\n"
    "  or telltale answered on purpose.\n"
    "- **The `Proxy-Status` header** (RFC 9209), the standard way for a proxy to\n"
    "  say what went wrong, in words any client or monitoring tool can read:\n"
    "  `Proxy-Status: telltale; error=connection_refused`. The member name is\n"
    "  the proxy's `name`; the `error` parameter is the fault's type from RFC\n"
    "  9209's registry. Parameters that reveal the inside of the network\n"
    "  (`next-hop`, `details`, DNS and TLS codes) are sent only to downstreams\n"
    "  in `error_detail_networks`.\n"
    "- **The error body**: an HTML page (or problem+json, or plain text, as the\n"
    "  request's `Accept` asks) that draws the chain browser, telltale,\n"
    "  upstream, marks the broken link, and shows the visitor's steps and the\n"
    "  request ID.\n"
    "- **The access log**: the request's JSON line holds the fault's token in\n"
    "  `fault` (`\"fault\":\"upstream_refused\"`), its type in `fault_type`,\n"
    "  where it happened in `fault_stage`, what was observed in\n"
    "  `fault_details`, and every try in `attempts`. `telltale errors TOKEN`\n"
    "  prints that token's section of this page.\n"
    "\n"
    "## Reading this page\n"
    "\n"
    "- **Side**: the hop that broke. `downstream`: the request was at fault;\n"
    "  `proxy`: telltale itself (its configuration, limits or host); `upstream`:\n"
    "  the upstream server or the way to it.\n"
    "- **Stage**: where the fault typically happens; the log records where it\n"
    "  actually did:\n";

static const char md_intro2[] =
    "- **Retry**: whether another attempt may run after this fault. `never`:\n"
    "  the request may have been processed, or retrying cannot help; `safe`:\n"
    "  nothing reached the upstream, so any method may be retried;\n"
    "  `idempotent`: the request was sent but no response came, so only\n"
    "  idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) may be retried.\n"
    "- **RFC status**: the status RFC 9209 recommends for the type, shown when\n"
    "  telltale sends a more precise one (413 rather than 400 for a body that\n"
    "  is too large).\n"
    "- **Placeholders** in the operator's commands: `FILE` is the configuration\n"
    "  file; `NAME` an upstream group; `ADDR` an upstream server as `IP:PORT`\n"
    "  (the log's `upstream` field); `UPSTREAM_HOST` its host name; `APP` its\n"
    "  service; `HOST` and `PATH` the request's host and path; `LISTEN` and\n"
    "  `LISTEN_PORT` telltale's listen address and port; `ACCESS_LOG` the\n"
    "  access log file. Configuration keys are described in\n"
    "  [config.md](config.md).\n"
    "\n";

static void md_stages(FILE *out)
{
	for (int s = TT_STAGE_REQUEST; s < TT_STAGE__COUNT; s++)
		fprintf(out, "  - `%s`: %s\n", tt_stage_name((enum tt_stage)s), stage_meaning[s]);
}

static void md_summary(FILE *out)
{
	fputs("## Summary\n\n"
	      "| Token | What happened | Proxy-Status error | Status | RFC status | Side | Stage | "
	      "Retry |\n"
	      "|---|---|---|---|---|---|---|---|\n",
	      out);
	for (int id = 1; id < TT_FAULT__COUNT; id++) {
		const struct tt_fault_info *fi = tt_fault_info(id);
		fprintf(out, "| [`%s`](#%s) | ", fi->token, fi->token);
		md_cell(out, fi->title);
		fprintf(out, " | `%s` | ", fi->type);
		if (fi->status)
			fprintf(out, "%d", fi->status);
		else
			fputs("-", out);
		fputs(" | ", out);
		if (fi->rfc_status && fi->rfc_status != fi->status)
			fprintf(out, "%d", fi->rfc_status);
		fprintf(out, " | %s | %s | %s |\n", tt_fault_side_name(fi->side),
		        tt_stage_name((enum tt_stage)fi->stage), tt_fault_retry_name(fi->retry));
	}
	fputc('\n', out);
}

static void md_row(FILE *out, const struct tt_fault_info *fi)
{
	fprintf(out, "## %s\n\n**", fi->token);
	fputs(fi->title, out);
	fprintf(out, "**\n\nProxy-Status `error=%s`", fi->type);
	if (fi->status)
		fprintf(out, ", status %d", fi->status);
	else
		fputs(", no error response (only logged)", out);
	if (fi->rfc_status && fi->rfc_status != fi->status)
		fprintf(out, " (RFC 9209 recommends %d)", fi->rfc_status);
	fprintf(out, ", %s side, stage `%s`, retry: %s.\n\n", tt_fault_side_name(fi->side),
	        tt_stage_name((enum tt_stage)fi->stage), tt_fault_retry_name(fi->retry));
	fputs(fi->explain, out);
	fputs("\n\n", out);
	md_list(out, "Likely causes", fi->causes, 0);
	md_list(out, "What the visitor can do", fi->visitor, 1);
	md_list(out, "What the operator can do", fi->operator_, 1);
}

void tt_fault_write_markdown(FILE *out)
{
	fputs(md_intro, out);
	md_stages(out);
	fputs(md_intro2, out);
	md_summary(out);
	for (int id = 1; id < TT_FAULT__COUNT; id++)
		md_row(out, tt_fault_info(id));
}

/* ---- plain text ---- */

void tt_fault_wrap(FILE *out, const char *s, size_t len, int first, int hang, int width)
{
	int col = first, start = 1;
	size_t i = 0;

	while (i < len) {
		size_t j;
		while (i < len && s[i] == ' ')
			i++;
		for (j = i; j < len && s[j] != ' '; j++)
			;
		if (j == i)
			break;
		if (!start && col + 1 + (int)(j - i) > width) {
			fprintf(out, "\n%*s", hang, "");
			col = hang;
		} else if (!start) {
			fputc(' ', out);
			col++;
		}
		fwrite(s + i, 1, j - i, out);
		col += (int)(j - i);
		start = 0;
		i = j;
	}
	fputc('\n', out);
}

static void wrap(FILE *out, const char *s, size_t len, int first, int hang)
{
	tt_fault_wrap(out, s, len, first, hang, TEXT_WIDTH);
}

static void text_list(FILE *out, const char *heading, const char *column, int numbered)
{
	const char *item;
	size_t len, pos = 0;
	int n = 0;

	fprintf(out, "\n%s\n", heading);
	while (tt_fault_lines(column, &pos, &item, &len)) {
		char mark[16];
		int w;
		if (numbered)
			w = snprintf(mark, sizeof(mark), "  %d. ", ++n);
		else
			w = snprintf(mark, sizeof(mark), "  - ");
		fputs(mark, out);
		wrap(out, item, len, w, w);
	}
}

static void text_field(FILE *out, const char *name, const char *value)
{
	int w = fprintf(out, "  %-9s ", name);
	wrap(out, value, strlen(value), w, w);
}

void tt_fault_write_text(FILE *out, const struct tt_fault_info *fi)
{
	char buf[256];

	fprintf(out, "%s: ", fi->token);
	wrap(out, fi->title, strlen(fi->title), (int)strlen(fi->token) + 2, 2);
	fputc('\n', out);
	snprintf(buf, sizeof(buf), "%s (RFC 9209 Proxy-Status error type)", fi->type);
	text_field(out, "type", buf);
	if (!fi->status)
		snprintf(buf, sizeof(buf),
		         "none: telltale sends no error response for it, the fault is only logged");
	else if (fi->rfc_status && fi->rfc_status != fi->status)
		snprintf(buf, sizeof(buf), "%d (RFC 9209 recommends %d)", fi->status,
		         fi->rfc_status);
	else
		snprintf(buf, sizeof(buf), "%d", fi->status);
	text_field(out, "status", buf);
	snprintf(buf, sizeof(buf), "%s: %s", tt_fault_side_name(fi->side), side_meaning(fi->side));
	text_field(out, "side", buf);
	snprintf(buf, sizeof(buf), "%s: %s", tt_stage_name((enum tt_stage)fi->stage),
	         (unsigned)fi->stage < TT_STAGE__COUNT ? stage_meaning[fi->stage] : "?");
	text_field(out, "stage", buf);
	snprintf(buf, sizeof(buf), "%s: %s", tt_fault_retry_name(fi->retry),
	         retry_meaning(fi->retry));
	text_field(out, "retry", buf);
	fputc('\n', out);
	wrap(out, fi->explain, strlen(fi->explain), 0, 0);
	text_list(out, "Likely causes:", fi->causes, 0);
	text_list(out, "What the visitor can do:", fi->visitor, 1);
	text_list(out, "What the operator can do:", fi->operator_, 1);
}
