/*
 * Doctor's step 4: the TLS handshake with the proxy's engine and the
 * group's own client context (the one the config loader built, so CA
 * file, SNI, client certificate and minimum version are the proxy's), on
 * the connection step 3 made, within timeouts.upstream_handshake. A
 * failure is classified by tt_tls_classify, as the proxy does
 * (exchange.c tls_fault). With tls.verify: false, a second handshake with
 * a verifying context on a new connection, after the exchange (so that it
 * costs the measured times nothing), says what verification would have
 * found; it never changes the verdict.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "doctor/describe.h"
#include "doctor/probe.h"
#include "doctor/steps_int.h"
#include "net/addr.h"

/* verify: false: what a verifying handshake to sa says. */
static void would_verify(const struct tt_doc_target *t, const struct tt_cfg_server *s,
                         const struct sockaddr *sa, socklen_t salen, struct tt_doc_tls_facts *tf)
{
	const struct tt_cfg_tls_upstream *c = t->tls_cfg;
	struct tt_tls_client_spec spec;
	char err[200], addr[64];
	struct tt_tls_ctx *ctx;
	struct tt_doc_link l;
	struct tt_fault f;
	int gave_up;

	tt_cfg_tls_client_spec(c, &spec);
	spec.no_verify = 0; /* what verification would say */
	ctx = tt_tls_client_new(&spec, err, sizeof(err));

	tt_fault_clear(&f);
	tf->would_checked = 1;
	if (!ctx) {
		snprintf(tf->would, sizeof(tf->would), "no verifying context: %s", err);
		return;
	}
	tt_addr_format(sa, addr, sizeof(addr));
	uint64_t t0 = uv_hrtime();
	int fd = tt_doc_connect(sa, salen, &t->cfg->timeouts, t0, &f);
	if (fd < 0) {
		snprintf(tf->would, sizeof(tf->would),
		         "cannot tell: a second connection failed (%s)", f.details);
		tt_tls_ctx_unref(&ctx);
		return;
	}
	tt_doc_link_init(&l, fd);
	if (tt_doc_tls_handshake(&l, ctx, s->host, &t->cfg->timeouts, t0, uv_hrtime(), addr, &f,
	                         &gave_up) == 0)
		tf->would_pass = 1;
	else
		snprintf(tf->would, sizeof(tf->would), "%s: %s",
		         f.id != TT_FAULT_NONE ? tt_fault_info(f.id)->type : "no answer",
		         f.id != TT_FAULT_NONE ? f.details : "the handshake did not finish");
	tt_doc_link_close(&l);
	tt_tls_ctx_unref(&ctx);
}

/* The handshake failed: the proxy's fault, and the chain when one came. */
static void failed(struct tt_doc_report *rep, const struct tt_cfg_server *s,
                   const struct tt_doc_link *l, const struct tt_fault *f, int gave_up, double ms,
                   struct tt_doc_tls_facts *tf_out)
{
	struct tt_doc_step *st;

	if (gave_up) {
		tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_FAIL, ms,
		                "no TLS handshake after %d s of silence: doctor gave up; telltale "
		                "would wait without limit, timeouts.upstream_handshake is 0",
		                TT_DOC_GIVE_UP_MS / 1000);
		return;
	}
	st = tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_FAIL, ms, "%s: %s",
	                     tt_fault_info(f->id)->type, f->details);
	if (l->tls) {
		struct tt_doc_tls_facts *tf = tt_doc_step_tls_facts(st);
		*tf = *tf_out;
		tt_tls_info(l->tls, &tf->info);
		tt_doc_tls_facts_derive(tf, time(NULL));
		tt_doc_tls_chain_text(st, tf);
	}
	tt_doc_verdict(rep, f, s->address);
}

int tt_doc_step_tls(struct tt_doc_report *rep, const struct tt_doc_target *t,
                    const struct tt_cfg_server *s, struct tt_doc_link *l, const struct sockaddr *sa,
                    socklen_t salen, struct tt_doc_times *tm)
{
	struct tt_doc_tls_facts facts;
	struct tt_doc_step *st;
	struct tt_fault f;
	char addr[64];
	int gave_up;

	if (!t->tls_ctx) {
		tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_SKIP, -1,
		                "skipped: plain http");
		return 0;
	}
	memset(&facts, 0, sizeof(facts));
	facts.verify = t->tls_cfg ? t->tls_cfg->verify : 1;
	tt_fault_clear(&f);
	tt_addr_format(sa, addr, sizeof(addr));
	uint64_t t0 = uv_hrtime();
	int rc = tt_doc_tls_handshake(l, t->tls_ctx, s->host, &t->cfg->timeouts, tm->t_start_ns, t0,
	                              addr, &f, &gave_up);
	double ms = tt_doc_ms(t0, uv_hrtime());
	if (rc != 0) {
		failed(rep, s, l, &f, gave_up, ms, &facts);
		return -1;
	}
	tm->handshake_ms = ms;
	st = tt_doc_step_add(rep, TT_DOC_STEP_TLS, s->address, TT_DOC_PASS, ms, "%s", "");
	struct tt_doc_tls_facts *tf = tt_doc_step_tls_facts(st);
	*tf = facts;
	tt_tls_info(l->tls, &tf->info);
	tt_doc_tls_facts_derive(tf, time(NULL));
	st->status = tt_doc_tls_text(st, tf);
	tm->tls_step = (size_t)(st - rep->steps) + 1;
	return 0;
}

void tt_doc_step_tls_would(struct tt_doc_report *rep, const struct tt_doc_target *t,
                           const struct tt_cfg_server *s, const struct sockaddr *sa,
                           socklen_t salen, const struct tt_doc_times *tm)
{
	if (!tm->tls_step || !t->tls_cfg || t->tls_cfg->verify)
		return;
	struct tt_doc_step *st = &rep->steps[tm->tls_step - 1];
	would_verify(t, s, sa, salen, st->tls);
	tt_doc_tls_would_text(st, st->tls);
}
