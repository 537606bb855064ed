/*
 * Doctor's report (see report.h): the steps as kept, the verdict from the
 * catalogue, and the two writers.
 */
#include "doctor/report.h"
#include "fault/doc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_WIDTH 80

static const char *const step_names[] = {
    "?", "config", "dns", "connect", "tls", "http", "body", "keepalive", "timeouts",
};

const char *tt_doc_step_name(int n)
{
	if (n < 1 || (size_t)n >= sizeof(step_names) / sizeof(step_names[0]))
		return "?";
	return step_names[n];
}

const char *tt_doc_status_name(enum tt_doc_status st)
{
	switch (st) {
	case TT_DOC_PASS: return "pass";
	case TT_DOC_FAIL: return "fail";
	case TT_DOC_SKIP: return "skip";
	default: return "warn";
	}
}

void tt_doc_report_init(struct tt_doc_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	tt_fault_clear(&rep->fault);
}

void tt_doc_report_fini(struct tt_doc_report *rep)
{
	for (size_t i = 0; i < rep->nsteps; i++) {
		free(rep->steps[i].dns);
		free(rep->steps[i].tls);
	}
	free(rep->steps);
	rep->steps = NULL;
	rep->nsteps = rep->cap = 0;
}

__attribute__((format(printf, 3, 0))) static void vappend(char *buf, size_t cap, const char *fmt,
                                                          va_list ap)
{
	size_t used = strlen(buf);
	if (used + 1 >= cap)
		return;
	if (vsnprintf(buf + used, cap - used, fmt, ap) < 0)
		buf[used] = 0;
}

struct tt_doc_step *tt_doc_step_add(struct tt_doc_report *rep, int n, const char *server,
                                    enum tt_doc_status st, double ms, const char *fmt, ...)
{
	struct tt_doc_step *s;
	va_list ap;

	if (rep->nsteps == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 16;
		void *p = realloc(rep->steps, cap * sizeof(*rep->steps));
		if (!p)
			abort();
		rep->steps = p;
		rep->cap = cap;
	}
	s = &rep->steps[rep->nsteps++];
	memset(s, 0, sizeof(*s));
	s->n = n;
	snprintf(s->server, sizeof(s->server), "%s", server ? server : "");
	s->status = st;
	s->ms = ms;
	va_start(ap, fmt);
	vappend(s->seen, sizeof(s->seen), fmt, ap);
	va_end(ap);
	return s;
}

void tt_doc_step_more(struct tt_doc_step *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vappend(s->seen, sizeof(s->seen), fmt, ap);
	va_end(ap);
}

static void *zalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		abort();
	return p;
}

struct tt_doc_dns_facts *tt_doc_step_dns_facts(struct tt_doc_step *s)
{
	if (!s->dns)
		s->dns = zalloc(sizeof(*s->dns));
	return s->dns;
}

struct tt_doc_tls_facts *tt_doc_step_tls_facts(struct tt_doc_step *s)
{
	if (!s->tls)
		s->tls = zalloc(sizeof(*s->tls));
	return s->tls;
}

void tt_doc_verdict(struct tt_doc_report *rep, const struct tt_fault *f, const char *server)
{
	if (rep->fault.id != TT_FAULT_NONE || f->id == TT_FAULT_NONE)
		return;
	rep->fault = *f;
	snprintf(rep->fault_server, sizeof(rep->fault_server), "%s", server ? server : "");
}

int tt_doc_report_failed(const struct tt_doc_report *rep)
{
	for (size_t i = 0; i < rep->nsteps; i++)
		if (rep->steps[i].status == TT_DOC_FAIL)
			return 1;
	return 0;
}

/* ---- for people ---- */

static const char *const marks[] = {"\u2713", "\u2717", "\u2013", "!"};
static const char *const colours[] = {"\033[32m", "\033[31m", "\033[2m", "\033[33m"};
#define RESET "\033[0m"

static void wrap(FILE *out, const char *s, size_t len, int col, int indent)
{
	tt_fault_wrap(out, s, len, col, indent, TEXT_WIDTH);
}

static void step_line(FILE *out, const struct tt_doc_step *s, int colour)
{
	char ms[24] = "";
	const char *p = s->seen;
	int col;

	if (s->ms >= 0)
		snprintf(ms, sizeof(ms), "%.1f ms", s->ms);
	if (colour)
		fprintf(out, "  %s%s%s ", colours[s->status], marks[s->status], RESET);
	else
		fprintf(out, "  %s ", marks[s->status]);
	col = 4 + fprintf(out, "%d. %-9s %10s  ", s->n, tt_doc_step_name(s->n), ms);
	/* Each line of seen wraps on its own, under the first. */
	for (int indent = col;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		wrap(out, p, len, col, indent);
		if (!nl)
			break;
		p = nl + 1;
		fprintf(out, "%*s", indent, "");
	}
}

static void verdict_text(FILE *out, const struct tt_doc_report *rep, int colour)
{
	const struct tt_fault_info *fi = tt_fault_info(rep->fault.id);
	int failed = tt_doc_report_failed(rep);
	enum tt_doc_status st = failed ? TT_DOC_FAIL : TT_DOC_PASS;
	const char *item;
	size_t len, pos = 0;
	int n = 0;

	fputc('\n', out);
	if (colour)
		fprintf(out, "%s%s%s ", colours[st], marks[st], RESET);
	else
		fprintf(out, "%s ", marks[st]);
	if (!fi) {
		fprintf(out, "verdict: %s\n",
		        failed ? "a step failed, but with no fault telltale would name (see above)"
		               : "no fault: telltale would pass this upstream's response on");
		return;
	}
	fprintf(out, "verdict: %s (Proxy-Status error=%s), %d", fi->token, fi->type, fi->status);
	fprintf(out, " at stage %s", tt_stage_name(rep->fault.stage));
	if (rep->fault_server[0])
		fprintf(out, " from %s", rep->fault_server);
	fputs("\n\n  ", out);
	wrap(out, fi->title, strlen(fi->title), 2, 2);
	fputs("  ", out);
	wrap(out, fi->explain, strlen(fi->explain), 2, 2);
	if (rep->fault.details[0]) {
		fputs("  details: ", out);
		wrap(out, rep->fault.details, strlen(rep->fault.details), 11, 11);
	}
	fputs("\n  What the operator can do:\n", out);
	while (tt_fault_lines(fi->operator_, &pos, &item, &len)) {
		int w = fprintf(out, "    %d. ", ++n);
		wrap(out, item, len, w, w);
	}
}

void tt_doc_write_text(FILE *out, const struct tt_doc_report *rep, int colour)
{
	const char *server = "";

	fprintf(out, "telltale doctor %s", rep->url[0] ? rep->url : "");
	if (rep->upstream[0])
		fprintf(out, "%supstream %s", rep->url[0] ? ", " : "", rep->upstream);
	fputs("\n\n", out);
	for (size_t i = 0; i < rep->nsteps; i++) {
		const struct tt_doc_step *s = &rep->steps[i];
		if (strcmp(s->server, server) != 0 && s->server[0])
			fprintf(out, "%sserver %s\n", i ? "\n" : "", s->server);
		server = s->server;
		step_line(out, s, colour);
	}
	verdict_text(out, rep, colour);
}
