/*
 * Doctor's steps 2 and 3 for one server (DNS, connect) and the order of
 * all of them (see steps.h). Addresses: a server named by host name is
 * resolved as the proxy resolves it (net/dns.h, the config's resolver:);
 * doctor shows every address with its TTL, connects to each, and runs
 * the exchange on the first that connects.
 */
#include "doctor/steps.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "doctor/describe.h"
#include "doctor/probe.h"
#include "doctor/steps_int.h"
#include "doctor/url.h"
#include "fault/classify.h"
#include "net/addr.h"

void tt_doc_printable(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = 0;
	if (!cap)
		return;
	for (size_t i = 0; i < n && k + 1 < cap; i++)
		out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[k] = 0;
}

void tt_doc_skip_from(struct tt_doc_report *rep, const char *server, int from, const char *why)
{
	for (int n = from; n <= TT_DOC_STEP_TIMEOUTS; n++)
		tt_doc_step_add(rep, n, server, TT_DOC_SKIP, -1, "%s", why);
}

/* Step 2 for a server named by host name: the proxy's resolver, with the
 * config's resolver: options. Returns 0 with a filled, -1 to stop. */
static int step_dns_name(struct tt_doc_report *rep, const struct tt_doc_target *t,
                         const struct tt_cfg_server *s, struct tt_doc_addrs *a)
{
	struct tt_dns_answer ans;
	struct tt_doc_step *st;
	struct tt_fault f;
	char who[200], err[160];
	uint64_t t0 = uv_hrtime();

	tt_doc_resolver_text(&t->cfg->resolver, who, sizeof(who));
	memset(&ans, 0, sizeof(ans));
	int rc = tt_doc_dns(&t->cfg->resolver, s->host, &ans, err, sizeof(err));
	double ms = tt_doc_ms(t0, uv_hrtime());
	tt_fault_clear(&f);
	if (rc != 0) {
		tt_fault_set(&f, TT_FAULT_PROXY_CONFIGURATION_ERROR, TT_STAGE_DNS, 0);
		tt_fault_details(&f, "the resolver (%s) cannot start: %s", who, err);
	} else if (ans.source == TT_DNS_NONE) {
		tt_dns_fault(&ans, &f);
	}
	if (f.id != TT_FAULT_NONE) {
		st = tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_FAIL, ms,
		                     "%s via %s: %s: %s", s->host, who, tt_fault_info(f.id)->type,
		                     f.details);
		if (rc == 0)
			tt_doc_dns_facts_fill(tt_doc_step_dns_facts(st), s->host, who, &ans);
		tt_doc_verdict(rep, &f, s->address);
		return -1;
	}
	tt_doc_addrs_from(&ans, s->port, a);
	st = tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_PASS, ms,
	                     "%s via %s: %zu address%s, smallest TTL %u s", s->host, who,
	                     ans.naddrs, ans.naddrs == 1 ? "" : "es", (unsigned)ans.ttl_s);
	struct tt_doc_dns_facts *d = tt_doc_step_dns_facts(st);
	tt_doc_dns_facts_fill(d, s->host, who, &ans);
	for (size_t i = 0; i < d->naddrs; i++)
		tt_doc_step_more(st, "\n%s TTL %u s", d->addrs[i].addr,
		                 (unsigned)d->addrs[i].ttl_s);
	if (ans.ndropped)
		tt_doc_step_more(st, "\n%zu more not kept (at most %d)", ans.ndropped,
		                 TT_DNS_MAX_ADDRS);
	tt_doc_step_more(st,
	                 "\ntelltale resolves the name again when the TTL runs out "
	                 "(resolver.min_ttl %llu ms to max_ttl %llu ms)",
	                 (unsigned long long)t->cfg->resolver.min_ttl_ms,
	                 (unsigned long long)t->cfg->resolver.max_ttl_ms);
	if (!a->n) {
		st->status = TT_DOC_FAIL;
		tt_doc_step_more(st, "\nno address to connect to");
		return -1;
	}
	return 0;
}

/* Step 2. Returns 0 with a filled, -1 to stop. */
static int step_dns(struct tt_doc_report *rep, const struct tt_doc_target *t,
                    const struct tt_cfg_server *s, struct tt_doc_addrs *a)
{
	char addr[64];

	a->n = 0;
	if (s->dynamic)
		return step_dns_name(rep, t, s, a);
	memcpy(&a->ss[0], &s->addr, sizeof(s->addr));
	a->len[0] = s->addr_len;
	a->n = 1;
	tt_addr_format((const struct sockaddr *)&s->addr, addr, sizeof(addr));
	tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_PASS, -1,
	                "%s is an IP address: no lookup", addr);
	return 0;
}

/* One connect for step 3; returns the socket or -1, with a line added. */
static int connect_one(struct tt_doc_step *st, const struct tt_doc_target *t,
                       const struct tt_doc_addrs *a, size_t i, struct tt_fault *f, uint64_t *t0,
                       double *ms)
{
	char addr[64];
	int fd;

	tt_fault_clear(f);
	*t0 = uv_hrtime();
	fd = tt_doc_connect((const struct sockaddr *)&a->ss[i], a->len[i], &t->cfg->timeouts, *t0,
	                    f);
	*ms = tt_doc_ms(*t0, uv_hrtime());
	tt_addr_format((const struct sockaddr *)&a->ss[i], addr, sizeof(addr));
	if (fd >= 0)
		tt_doc_step_more(st, "%s%s: connected in %.1f ms", i ? "\n" : "", addr, *ms);
	else
		tt_doc_step_more(st, "%s%s: %s after %.1f ms (%s)", i ? "\n" : "", addr,
		                 tt_fault_info(f->id)->type, *ms, f->details);
	return fd;
}

/* Step 3: every address; the exchange runs on the first that connects
 * (*used), as a balancer spreading over the answer would reach one.
 * Returns its socket, or -1 to stop when none connects. */
static int step_connect(struct tt_doc_report *rep, const struct tt_doc_target *t,
                        const struct tt_cfg_server *s, const struct tt_doc_addrs *a,
                        struct tt_doc_times *tm, size_t *used)
{
	struct tt_doc_step *st =
	    tt_doc_step_add(rep, TT_DOC_STEP_CONNECT, s->address, TT_DOC_PASS, -1, "%s", "");
	size_t idx = (size_t)(st - rep->steps);
	struct tt_fault f, first;
	int own = -1, failed = 0;

	tt_fault_clear(&first);
	for (size_t i = 0; i < a->n; i++) {
		uint64_t t0;
		double ms;
		st = &rep->steps[idx];
		int fd = connect_one(st, t, a, i, &f, &t0, &ms);
		if (fd < 0) {
			if (!failed++)
				first = f;
		} else if (own < 0) {
			own = fd;
			*used = i;
			tm->t_start_ns = t0;
			tm->connect_ms = ms;
			st->ms = ms;
			if (a->n > 1)
				tt_doc_step_more(st, " (the exchange runs on this one)");
		} else {
			close(fd);
		}
	}
	st = &rep->steps[idx];
	if (own < 0) {
		st->status = TT_DOC_FAIL;
		tt_doc_verdict(rep, &first, s->address);
	} else if (failed) {
		st->status = TT_DOC_WARN;
	}
	return own;
}

void tt_doc_probe_server(struct tt_doc_report *rep, const struct tt_doc_target *t,
                         const struct tt_cfg_server *s)
{
	struct tt_doc_addrs a;
	struct tt_doc_times tm = {.handshake_ms = -1};
	struct tt_doc_link l;
	size_t used = 0;
	int fd;

	if (step_dns(rep, t, s, &a) != 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_CONNECT, "not reached: DNS failed");
		return;
	}
	fd = step_connect(rep, t, s, &a, &tm, &used);
	if (fd < 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_TLS,
		                 "not reached: the connection failed");
		return;
	}
	tt_doc_link_init(&l, fd);
	const struct sockaddr *sa = (const struct sockaddr *)&a.ss[used];
	if (tt_doc_step_tls(rep, t, s, &l, sa, a.len[used], &tm) == 0)
		tt_doc_steps_http(rep, t, s, &l, &tm);
	else
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_HTTP,
		                 "not reached: the TLS handshake failed");
	tt_doc_link_close(&l);
	tt_doc_step_tls_would(rep, t, s, sa, a.len[used], &tm);
}
