/*
 * Doctor's steps 5 to 8 for one server: the request and its response head,
 * the body, the idle keep-alive watch and the measured times against the
 * configured timeouts. The bytes are judged by the reader (reader.h),
 * which is the proxy's parser, pump and classification.
 */
#include <stdio.h>
#include <string.h>

#include "doctor/probe.h"
#include "doctor/steps_int.h"
#include "doctor/url.h"

/* The keep-alive watch waits at most this long, whatever idle_timeout is. */
#define KEEPALIVE_WATCH_MAX_MS 10000
#define TT_DOC_REQ_MAX         (TT_DOC_PATH_MAX + 1024)

static const char *framing_text(const struct tt_h1_head *h, char *buf, size_t cap)
{
	switch (h->framing) {
	case TT_H1_BODY_NONE: return "no body";
	case TT_H1_BODY_LENGTH:
		snprintf(buf, cap, "Content-Length %llu", (unsigned long long)h->content_length);
		return buf;
	case TT_H1_BODY_CHUNKED: return "chunked";
	default: return "until the connection closes (no length)";
	}
}

static void fault_step(struct tt_doc_report *rep, int n, const struct tt_cfg_server *s,
                       const struct tt_doc_reader *r, double ms)
{
	const struct tt_fault_info *fi = tt_fault_info(r->fault.id);
	tt_doc_step_add(rep, n, s->address, TT_DOC_FAIL, ms, "%s: %s (%llu bytes received)",
	                fi ? fi->type : "?", r->fault.details, (unsigned long long)r->bytes);
	tt_doc_verdict(rep, &r->fault, s->address);
}

/* Step 5: what the head said. Returns 0 when the body step follows. */
static int step_head(struct tt_doc_report *rep, const struct tt_doc_target *t,
                     const struct tt_cfg_server *s, const struct tt_doc_reader *r)
{
	const struct tt_h1_head *h = &r->head;
	char reason[80], fr[48];

	if (r->phase == TT_DOC_HEAD) {
		tt_doc_step_add(
		    rep, TT_DOC_STEP_HTTP, s->address, TT_DOC_FAIL,
		    tt_doc_ms(r->t_sent_ns, r->t_last_ns),
		    "no response head after %d s (%llu bytes): doctor gave up; telltale "
		    "would wait without limit, timeouts.upstream_head is 0",
		    TT_DOC_GIVE_UP_MS / 1000, (unsigned long long)r->len);
		return -1;
	}
	if (r->phase == TT_DOC_FAILED && !r->t_head_ns) {
		fault_step(rep, TT_DOC_STEP_HTTP, s, r, tt_doc_ms(r->t_sent_ns, r->t_done_ns));
		return -1;
	}
	tt_doc_printable(reason, sizeof(reason), h->reason, h->reason_len);
	struct tt_doc_step *st = tt_doc_step_add(
	    rep, TT_DOC_STEP_HTTP, s->address, h->status >= 500 ? TT_DOC_WARN : TT_DOC_PASS,
	    tt_doc_ms(r->t_sent_ns, r->t_head_ns),
	    "GET %s: HTTP/1.%d %d %s\nhead %zu bytes, %zu field%s, framing: %s, connection: %s",
	    t->path, h->version_minor, h->status, reason, h->head_len, h->nfields,
	    h->nfields == 1 ? "" : "s", framing_text(h, fr, sizeof(fr)),
	    h->conn_close ? "close" : "keep-alive");
	if (r->interim)
		tt_doc_step_more(st,
		                 "\nafter %u interim (1xx) response%s, skipped as telltale does",
		                 r->interim, r->interim == 1 ? "" : "s");
	if (h->status >= 500)
		tt_doc_step_more(st,
		                 "\nthe upstream itself answered %d: telltale passes it on as "
		                 "it is (its own error, not a telltale fault)",
		                 h->status);
	return 0;
}

/* Step 6. Returns 0 when the response is complete. */
static int step_body(struct tt_doc_report *rep, const struct tt_cfg_server *s,
                     const struct tt_doc_reader *r)
{
	double ms = tt_doc_ms(r->t_head_ns, r->t_done_ns ? r->t_done_ns : r->t_last_ns);

	if (r->phase == TT_DOC_FAILED) {
		fault_step(rep, TT_DOC_STEP_BODY, s, r, ms);
		return -1;
	}
	if (r->phase == TT_DOC_BODY) {
		tt_doc_step_add(rep, TT_DOC_STEP_BODY, s->address, TT_DOC_FAIL, ms,
		                "%llu body bytes, then nothing for %d s: doctor gave up; telltale "
		                "would wait without limit, timeouts.upstream_idle is 0",
		                (unsigned long long)r->pump.body_bytes, TT_DOC_GIVE_UP_MS / 1000);
		return -1;
	}
	struct tt_doc_step *st =
	    tt_doc_step_add(rep, TT_DOC_STEP_BODY, s->address, r->extra ? TT_DOC_WARN : TT_DOC_PASS,
	                    ms, "%llu bytes, complete (%s)", (unsigned long long)r->pump.body_bytes,
	                    r->head.framing == TT_H1_BODY_CHUNKED ? "last chunk seen"
	                    : r->head.framing == TT_H1_BODY_CLOSE ? "ended by close"
	                    : r->head.framing == TT_H1_BODY_NONE  ? "no body"
	                                                          : "Content-Length reached");
	if (r->extra)
		tt_doc_step_more(st, "\nmore bytes followed the end of the response: telltale "
		                     "would not reuse this connection");
	return 0;
}

/* Step 7: does the upstream close an idle connection before telltale
 * would drop it from its pool (the keep-alive race)? */
static void step_keepalive(struct tt_doc_report *rep, const struct tt_doc_target *t,
                           const struct tt_cfg_server *s, struct tt_doc_link *l,
                           const struct tt_doc_reader *r)
{
	const struct tt_cfg_upstream *g = t->group;
	uint64_t idle = g->keepalive_idle_timeout_ms, wait = idle + 1000;
	const char *a = s->address;
	double closed;

	if (!t->keepalive_check || !g->keepalive_max_idle || !r->keep_alive) {
		tt_doc_step_add(rep, TT_DOC_STEP_KEEPALIVE, a, TT_DOC_SKIP, -1, "%s",
		                !t->keepalive_check ? "skipped: --no-keepalive-check"
		                : !g->keepalive_max_idle
		                    ? "telltale keeps no idle connections (keepalive.max_idle: 0)"
		                    : "the connection cannot be reused (Connection: close, a "
		                      "close-delimited body or extra bytes): nothing to race");
		return;
	}
	if (wait > KEEPALIVE_WATCH_MAX_MS)
		wait = KEEPALIVE_WATCH_MAX_MS;
	closed = tt_doc_idle_close(l, wait);
	if (closed == -2) {
		tt_doc_step_add(rep, TT_DOC_STEP_KEEPALIVE, a, TT_DOC_WARN, -1,
		                "the upstream sent bytes on the idle connection: telltale would "
		                "drop that connection instead of reusing it");
	} else if (closed < 0) {
		tt_doc_step_add(rep, TT_DOC_STEP_KEEPALIVE, a, TT_DOC_PASS, (double)wait,
		                "the idle connection stayed open for %llu ms; telltale drops it "
		                "after %llu ms (upstreams.%s.keepalive.idle_timeout)%s",
		                (unsigned long long)wait, (unsigned long long)idle, g->name,
		                wait <= idle ? "; watched for less than that, so the race "
		                               "cannot be ruled out"
		                             : "");
	} else if (closed < (double)idle) {
		tt_doc_step_add(
		    rep, TT_DOC_STEP_KEEPALIVE, a, TT_DOC_WARN, closed,
		    "the upstream closed the idle connection after %.0f ms, before "
		    "telltale's keepalive.idle_timeout of %llu ms: a request sent on it "
		    "in between fails (the keep-alive race)\nset "
		    "upstreams.%s.keepalive.idle_timeout below %.0f ms, or keep idle "
		    "connections open longer in the upstream",
		    closed, (unsigned long long)idle, g->name, closed);
	} else {
		tt_doc_step_add(
		    rep, TT_DOC_STEP_KEEPALIVE, a, TT_DOC_PASS, closed,
		    "the upstream closed the idle connection after %.0f ms, after "
		    "telltale's keepalive.idle_timeout of %llu ms: telltale drops it first",
		    closed, (unsigned long long)idle);
	}
}

/* Step 8: what was measured against the configured timeouts; over half of
 * one is a warning (a slower moment fails). */
static void step_timeouts(struct tt_doc_report *rep, const struct tt_doc_target *t,
                          const struct tt_cfg_server *s, const struct tt_doc_reader *r,
                          const struct tt_doc_times *tm)
{
	const struct tt_cfg_timeouts *to = &t->cfg->timeouts;
	const struct {
		const char *key;
		double seen;
		uint64_t limit_ms;
	} rows[] = {
	    {"upstream_connect", tm->connect_ms, to->upstream_connect_ms},
	    {"upstream_handshake", tm->handshake_ms, to->upstream_handshake_ms},
	    {"upstream_head", tt_doc_ms(r->t_sent_ns, r->t_head_ns), to->upstream_head_ms},
	    {"upstream_idle", (double)r->max_gap_ns / 1e6, to->upstream_idle_ms},
	    {"total", tt_doc_ms(r->t_start_ns, r->t_done_ns), to->total_ms},
	};
	struct tt_doc_step *st =
	    tt_doc_step_add(rep, TT_DOC_STEP_TIMEOUTS, s->address, TT_DOC_PASS, -1, "%s", "");

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].seen < 0)
			continue; /* no TLS: no handshake */
		int near = rows[i].limit_ms && rows[i].seen * 2 >= (double)rows[i].limit_ms;
		tt_doc_step_more(st, "%stimeouts.%s: %.1f ms", st->seen[0] ? "\n" : "", rows[i].key,
		                 rows[i].seen);
		if (rows[i].limit_ms)
			tt_doc_step_more(
			    st, " of %llu ms (%.0f%%)%s", (unsigned long long)rows[i].limit_ms,
			    100.0 * rows[i].seen / (double)rows[i].limit_ms,
			    near ? ": over half the limit, a slower moment will fail" : "");
		else
			tt_doc_step_more(st, ", no limit");
		if (near)
			st->status = TT_DOC_WARN;
	}
}

void tt_doc_steps_http(struct tt_doc_report *rep, const struct tt_doc_target *t,
                       const struct tt_cfg_server *s, struct tt_doc_link *l,
                       const struct tt_doc_times *tm)
{
	const char *host = t->host                 ? t->host
	                   : t->group->active.host ? t->group->active.host
	                                           : s->address;
	struct tt_doc_reader r;
	char req[TT_DOC_REQ_MAX];
	int n = snprintf(req, sizeof(req),
	                 "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: telltale-doctor\r\n"
	                 "Accept: */*\r\n\r\n",
	                 t->path, host);

	if (n < 0 || (size_t)n >= sizeof(req)) {
		tt_doc_step_add(rep, TT_DOC_STEP_HTTP, s->address, TT_DOC_FAIL, -1,
		                "the request line does not fit in %zu bytes", sizeof(req));
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_BODY, "not reached");
		return;
	}
	tt_doc_exchange(l, req, (size_t)n, t->cfg, tm->t_start_ns, &r);
	if (step_head(rep, t, s, &r) != 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_BODY,
		                 "not reached: no valid response head");
	} else if (step_body(rep, s, &r) != 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_KEEPALIVE,
		                 "not reached: the body failed");
	} else {
		step_keepalive(rep, t, s, l, &r);
		step_timeouts(rep, t, s, &r, tm);
	}
	tt_doc_reader_fini(&r);
}
