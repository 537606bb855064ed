/*
 * Doctor's steps 2 to 4 for one server (DNS, connect, TLS) and the order
 * of all of them (see steps.h). Addresses: a server given by IP address is
 * used as it is; a named one is resolved by telltale at run time (every
 * address used); doctor shows every address DNS gives now, connects to
 * each, and runs the exchange on the first.
 */
#include "doctor/steps.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

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

static void dns_failed(struct tt_doc_report *rep, const struct tt_cfg_server *s, int rc, double ms)
{
	struct tt_fault f;
	tt_fault_clear(&f);
	tt_fault_set(&f, tt_fault_from_gai(rc), TT_STAGE_DNS, 0);
	tt_fault_details(&f, "resolving %s: %s", s->address, gai_strerror(rc));
	tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_FAIL, ms, "%s", f.details);
	tt_doc_verdict(rep, &f, s->address);
}

/* Step 2. Returns 0 with a filled (telltale's address first), -1 to stop. */
static int step_dns(struct tt_doc_report *rep, const struct tt_cfg_server *s,
                    struct tt_doc_addrs *a)
{
	char host[TT_DOC_HOST_MAX], addr[64];
	uint16_t port = 0;
	uint64_t t0 = uv_hrtime();
	int rc;

	a->n = 0;
	if (tt_doc_split_hostport(s->address, host, sizeof(host), &port) != 0 ||
	    tt_doc_is_ip_literal(host)) {
		memcpy(&a->ss[0], &s->addr, sizeof(s->addr));
		a->len[0] = s->addr_len;
		a->n = 1;
		tt_addr_format((const struct sockaddr *)&s->addr, addr, sizeof(addr));
		tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_PASS, -1,
		                "%s is an IP address: no lookup", addr);
		return 0;
	}
	rc = tt_doc_resolve(host, port, a);
	double ms = tt_doc_ms(t0, uv_hrtime());
	if (rc || a->n == 0) {
		/* A name that does not resolve fails every request to it. */
		dns_failed(rep, s, rc ? rc : EAI_AGAIN, ms);
		return -1;
	}
	struct tt_doc_step *st =
	    tt_doc_step_add(rep, TT_DOC_STEP_DNS, s->address, TT_DOC_PASS, ms,
	                    "%s: %zu address%s; TTL unknown (getaddrinfo does not report it)", host,
	                    a->n, a->n == 1 ? "" : "es");
	for (size_t i = 0; i < a->n; i++) {
		tt_addr_format((const struct sockaddr *)&a->ss[i], addr, sizeof(addr));
		tt_doc_step_more(st, "\n%s", addr);
	}
	tt_doc_step_more(st, "\ntelltale resolves the name at run time with its own resolver "
	                     "(resolver: in the config), uses every address and follows the TTL");
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

/* Step 3: every address; the exchange uses telltale's (the first).
 * Returns its socket, or -1 to stop. */
static int step_connect(struct tt_doc_report *rep, const struct tt_doc_target *t,
                        const struct tt_cfg_server *s, const struct tt_doc_addrs *a,
                        uint64_t *t_start_ns, double *connect_ms)
{
	struct tt_doc_step *st =
	    tt_doc_step_add(rep, TT_DOC_STEP_CONNECT, s->address, TT_DOC_PASS, -1, "%s", "");
	size_t idx = (size_t)(st - rep->steps);
	struct tt_fault f, first;
	int own = -1;

	for (size_t i = 0; i < a->n; i++) {
		uint64_t t0;
		double ms;
		st = &rep->steps[idx];
		int fd = connect_one(st, t, a, i, &f, &t0, &ms);
		if (i == 0) {
			own = fd;
			first = f;
			*t_start_ns = t0;
			*connect_ms = ms;
			st->ms = ms;
		} else if (fd >= 0) {
			close(fd);
		}
		if (fd < 0)
			st->status = i == 0 ? TT_DOC_FAIL : TT_DOC_WARN;
	}
	if (own < 0)
		tt_doc_verdict(rep, &first, s->address);
	return own;
}

static void step_tls(struct tt_doc_report *rep, const struct tt_doc_target *t,
                     const struct tt_cfg_server *s)
{
	if (t->https_url)
		tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_SKIP, -1,
		                "https:// URL, but TLS to upstreams is not supported yet: "
		                "telltale would speak plain HTTP to this port");
	else
		tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_SKIP, -1,
		                "skipped: plain http");
}

void tt_doc_probe_server(struct tt_doc_report *rep, const struct tt_doc_target *t,
                         const struct tt_cfg_server *s)
{
	struct tt_doc_addrs a;
	uint64_t t_start = 0;
	double connect_ms = 0;
	int fd;

	if (step_dns(rep, s, &a) != 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_CONNECT, "not reached: DNS failed");
		return;
	}
	fd = step_connect(rep, t, s, &a, &t_start, &connect_ms);
	if (fd < 0) {
		tt_doc_skip_from(rep, s->address, TT_DOC_STEP_TLS,
		                 "not reached: the connection failed");
		return;
	}
	step_tls(rep, t, s);
	tt_doc_steps_http(rep, t, s, fd, t_start, connect_ms);
	close(fd);
}
