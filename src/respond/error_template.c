/*
 * Operator page templates: see error_template.h. One scanner finds the
 * placeholders for both the check and the render, so what the check
 * accepts is exactly what the render fills.
 */
#include "respond/error_template.h"

#include <stdio.h>
#include <string.h>

#include "respond/error_parts.h"

enum ph {
	PH_STATUS,
	PH_REASON,
	PH_TITLE,
	PH_EXPLANATION,
	PH_REQUEST_ID,
	PH_TIME,
	PH_FAILED_HOP,
	PH_VISITOR_STEPS,
	PH_OPERATOR_STEPS,
	PH_PROXY_STATUS,
	PH_FAULT,
	PH_TYPE,
	PH_CHAIN,
	PH_DETAILS,
	PH_TRACE_ID,
	PH__COUNT
};

static const char *const names[PH__COUNT] = {
    "status", "reason",     "title",         "explanation",    "request_id",
    "time",   "failed_hop", "visitor_steps", "operator_steps", "proxy_status",
    "fault",  "type",       "chain",         "details",        "trace_id"};

/* A "{{" at tpl[at]: sets *end past its "}}" and *name, *n to the trimmed
 * name. Returns the placeholder, -1 when unknown, -2 when unclosed (no
 * "}}" before the end of the line). */
static int scan(const char *tpl, size_t len, size_t at, size_t *end, const char **name, size_t *n)
{
	size_t i = at + 2, a, b;

	while (i + 1 < len && !(tpl[i] == '}' && tpl[i + 1] == '}') && tpl[i] != '\n')
		i++;
	if (i + 1 >= len || tpl[i] == '\n')
		return -2;
	*end = i + 2;
	for (a = at + 2; a < i && (tpl[a] == ' ' || tpl[a] == '\t'); a++)
		;
	for (b = i; b > a && (tpl[b - 1] == ' ' || tpl[b - 1] == '\t'); b--)
		;
	*name = tpl + a;
	*n = b - a;
	for (int p = 0; p < PH__COUNT; p++)
		if (strlen(names[p]) == *n && memcmp(names[p], *name, *n) == 0)
			return p;
	return -1;
}

static void valid_list(char *buf, size_t cap)
{
	size_t len = 0;
	for (int p = 0; p < PH__COUNT && len < cap; p++) {
		int n = snprintf(buf + len, cap - len, "%s{{%s}}", p ? ", " : "", names[p]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
}

int tt_error_template_check(const char *tpl, size_t len, unsigned *line, unsigned *col, char *msg,
                            size_t msgcap)
{
	unsigned ln = 1, cl = 1;
	char valid[256];

	for (size_t i = 0; i < len; i++) {
		size_t end, n;
		const char *name;
		int p;

		if (tpl[i] == '{' && i + 1 < len && tpl[i + 1] == '{') {
			p = scan(tpl, len, i, &end, &name, &n);
			if (p >= 0) {
				cl += (unsigned)(end - i);
				i = end - 1;
				continue;
			}
			*line = ln;
			*col = cl;
			if (!msg || msgcap == 0)
				return -1;
			valid_list(valid, sizeof(valid));
			if (p == -2)
				snprintf(msg, msgcap,
				         "unclosed placeholder: \"{{\" without \"}}\" on "
				         "its line; valid placeholders: %s",
				         valid);
			else
				snprintf(msg, msgcap,
				         "unknown placeholder {{%.*s}}; valid placeholders: %s",
				         (int)(n < 64 ? n : 64), name, valid);
			return -1;
		}
		if (tpl[i] == '\n') {
			ln++;
			cl = 1;
		} else {
			cl++;
		}
	}
	return 0;
}

static void text(struct tt_out *o, const char *s)
{
	tt_out_html(o, s, strlen(s));
}

static void fill(struct tt_out *o, const struct tt_ev *e, enum ph p)
{
	const struct tt_error_view *v = e->v;

	switch (p) {
	case PH_STATUS: tt_out_fmt(o, "%d", v->status); break;
	case PH_REASON: text(o, e->reason); break;
	case PH_TITLE: text(o, e->info->title); break;
	case PH_EXPLANATION: text(o, e->explain); break;
	case PH_REQUEST_ID: text(o, v->request_id ? v->request_id : ""); break;
	case PH_TRACE_ID: text(o, v->trace_id ? v->trace_id : ""); break;
	case PH_TIME: text(o, e->time); break;
	case PH_FAILED_HOP: text(o, e->failed_hop); break;
	case PH_VISITOR_STEPS: tt_ev_html_steps(o, e->info->visitor); break;
	case PH_OPERATOR_STEPS: tt_ev_html_steps(o, e->info->operator_); break;
	case PH_PROXY_STATUS: text(o, v->proxy_status ? v->proxy_status : ""); break;
	case PH_FAULT: text(o, e->info->token); break;
	case PH_TYPE: text(o, e->info->type); break;
	case PH_CHAIN: tt_ev_html_chain(o, e); break;
	case PH_DETAILS: tt_ev_html_details(o, e); break;
	default: break;
	}
}

void tt_error_template_render(struct tt_out *o, const struct tt_ev *e)
{
	const char *tpl = e->v->template_html;
	size_t len = e->v->template_len, done = 0, i = 0;

	while (i + 1 < len) {
		size_t end, n;
		const char *name;
		int p;

		if (tpl[i] != '{' || tpl[i + 1] != '{') {
			i++;
			continue;
		}
		p = scan(tpl, len, i, &end, &name, &n);
		if (p < 0) {
			i += 2;
			continue;
		}
		tt_out_put(o, tpl + done, i - done);
		fill(o, e, (enum ph)p);
		done = i = end;
	}
	tt_out_put(o, tpl + done, len - done);
}
