/*
 * Doctor's sentences about DNS answers and TLS sessions (see describe.h).
 */
#include "doctor/describe.h"

#include <stdio.h>
#include <string.h>

#include "doctor/url.h"
#include "net/addr.h"

void tt_doc_resolver_text(const struct tt_cfg_resolver *rc, char *out, size_t cap)
{
	size_t used = 0;

	if (!cap)
		return;
	out[0] = 0;
	if (!rc->nservers) {
		snprintf(out, cap, "system (/etc/resolv.conf)");
		return;
	}
	for (size_t i = 0; i < rc->nservers && used + 1 < cap; i++) {
		int n = snprintf(out + used, cap - used, "%s%s", i ? ", " : "", rc->servers[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

void tt_doc_dns_facts_fill(struct tt_doc_dns_facts *d, const char *name, const char *resolver,
                           const struct tt_dns_answer *a)
{
	const struct tt_fault_info *fi = tt_fault_info(a->error.id);

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->resolver, sizeof(d->resolver), "%s", resolver);
	for (size_t i = 0; i < a->naddrs && d->naddrs < TT_DOC_DNS_MAX; i++) {
		int v6;
		tt_addr_ip(&a->addrs[i].u.sa, d->addrs[d->naddrs].addr, sizeof(d->addrs[0].addr),
		           &v6);
		d->addrs[d->naddrs++].ttl_s = a->addrs[i].ttl_s;
	}
	if (a->source == TT_DNS_NONE || a->source == TT_DNS_STALE) {
		d->rcode = a->error.rcode;
		d->fault = fi ? fi->type : NULL;
	}
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), without
 * timegm(3), which is not in C11. */
static long days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int tt_doc_days_left(const char *not_after, time_t now, long *days)
{
	int y, mo, d, h, mi, s, used = 0;
	long long t, diff;

	if (!not_after ||
	    sscanf(not_after, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &s, &used) != 6 ||
	    used != (int)strlen(not_after) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || s > 60)
		return -1;
	t = (long long)days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	diff = t - (long long)now;
	/* Round down: 23 hours left is 0 days, an hour past is -1. */
	*days = (long)(diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400));
	return 0;
}

void tt_doc_tls_facts_derive(struct tt_doc_tls_facts *t, time_t now)
{
	t->sni_sent = t->info.sni[0] && !tt_doc_is_ip_literal(t->info.sni);
	for (int i = 0; i < t->info.nchain && i < TT_TLS_INFO_CHAIN; i++)
		t->days_known[i] =
		    tt_doc_days_left(t->info.chain[i].not_after, now, &t->days_left[i]) == 0;
}

void tt_doc_tls_chain_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t)
{
	if (!t->info.nchain)
		return;
	tt_doc_step_more(st, "\nchain as presented:");
	for (int i = 0; i < t->info.nchain && i < TT_TLS_INFO_CHAIN; i++) {
		const struct tt_tls_cert_summary *c = &t->info.chain[i];
		tt_doc_step_more(st, "\n  %d. %s, issuer %s, notAfter %s", i, c->subject, c->issuer,
		                 c->not_after);
		if (!t->days_known[i])
			continue;
		if (t->days_left[i] >= 0)
			tt_doc_step_more(st, " (%ld day%s left)", t->days_left[i],
			                 t->days_left[i] == 1 ? "" : "s");
		else
			tt_doc_step_more(st, " (expired %ld day%s ago)", -t->days_left[i],
			                 t->days_left[i] == -1 ? "" : "s");
	}
}

static void verify_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t)
{
	const struct tt_tls_info *in = &t->info;

	if (t->verify) {
		tt_doc_step_more(st, "\nverify: %s (code %d)",
		                 in->verify_text ? in->verify_text : "?", in->verify_code);
		return;
	}
	tt_doc_step_more(st, "\nverify: off (tls.verify: false): any certificate is accepted");
}

void tt_doc_tls_would_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t)
{
	if (!t->would_checked)
		return;
	if (t->would_pass)
		tt_doc_step_more(st, "\nwith verification on, it would pass: set tls.verify: true");
	else
		tt_doc_step_more(st, "\nwith verification on, it would fail: %s", t->would);
}

enum tt_doc_status tt_doc_tls_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t)
{
	const struct tt_tls_info *in = &t->info;
	enum tt_doc_status status = t->verify ? TT_DOC_PASS : TT_DOC_WARN;

	tt_doc_step_more(st, "%s, %s, ALPN %s", in->version[0] ? in->version : "?",
	                 in->cipher[0] ? in->cipher : "?", in->alpn[0] ? in->alpn : "none");
	if (t->sni_sent)
		tt_doc_step_more(st, "\nSNI: %s", in->sni);
	else if (in->sni[0])
		tt_doc_step_more(st,
		                 "\nno SNI: IP address (%s is checked against the certificate's "
		                 "IP addresses)",
		                 in->sni);
	else
		tt_doc_step_more(st, "\nno SNI: no name");
	tt_doc_step_more(st, "\n%s", in->resumed ? "session resumed" : "new session (not resumed)");
	verify_text(st, t);
	tt_doc_tls_chain_text(st, t);
	if (in->nchain && t->days_known[0] && t->days_left[0] >= 0 &&
	    t->days_left[0] < TT_TLS_EXPIRY_WARN_DAYS) {
		tt_doc_step_more(st,
		                 "\nthe upstream's certificate expires in %ld day%s: renew it "
		                 "before it does, or every request fails with "
		                 "tls_certificate_error",
		                 t->days_left[0], t->days_left[0] == 1 ? "" : "s");
		status = TT_DOC_WARN;
	}
	return status;
}
