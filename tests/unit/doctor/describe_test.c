/*
 * Doctor's sentences about DNS answers and TLS sessions: days to a
 * notAfter (rounded down, expired negative), who the resolver asks, the
 * facts kept from an answer, and the step-4 text with its expiry warning,
 * SNI wording and verify: false line. Plus the resolver options doctor
 * takes from the config (probe.h).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "doctor/describe.h"
#include "doctor/probe.h"

/* 2026-01-01T00:00:00Z */
#define JAN1_2026 1767225600L

Test(describe, days_left_rounds_down)
{
	long d = 99;
	cr_assert_eq(tt_doc_days_left("2026-01-31T00:00:00Z", JAN1_2026, &d), 0);
	cr_assert_eq(d, 30);
	cr_assert_eq(tt_doc_days_left("2026-01-01T23:00:00Z", JAN1_2026, &d), 0);
	cr_assert_eq(d, 0, "23 hours left is 0 days");
	cr_assert_eq(tt_doc_days_left("2025-12-31T23:00:00Z", JAN1_2026, &d), 0);
	cr_assert_eq(d, -1, "an hour past is expired by a day");
	cr_assert_eq(tt_doc_days_left("2028-03-01T00:00:00Z", JAN1_2026, &d), 0);
	cr_assert_eq(d, 365 + 365 + 31 + 29, "2026, 2027, then January and a leap February");
}

Test(describe, days_left_rejects_other_forms)
{
	long d = 7;
	cr_assert_eq(tt_doc_days_left("Dec 31 23:59:59 2026 GMT", JAN1_2026, &d), -1);
	cr_assert_eq(tt_doc_days_left("2026-13-01T00:00:00Z", JAN1_2026, &d), -1);
	cr_assert_eq(tt_doc_days_left("2026-01-01T00:00:00Zjunk", JAN1_2026, &d), -1);
	cr_assert_eq(tt_doc_days_left("", JAN1_2026, &d), -1);
	cr_assert_eq(tt_doc_days_left(NULL, JAN1_2026, &d), -1);
	cr_assert_eq(d, 7, "untouched on failure");
}

Test(describe, resolver_text_names_servers_or_the_system)
{
	char out[64];
	char *servers[] = {"10.0.0.53", "10.0.0.54:5353"};
	struct tt_cfg_resolver rc = {0};
	tt_doc_resolver_text(&rc, out, sizeof(out));
	cr_assert_str_eq(out, "system (/etc/resolv.conf)");
	rc.servers = servers;
	rc.nservers = 2;
	tt_doc_resolver_text(&rc, out, sizeof(out));
	cr_assert_str_eq(out, "10.0.0.53, 10.0.0.54:5353");
	tt_doc_resolver_text(&rc, out, 8);
	cr_assert_eq(strlen(out), 7, "cut to fit");
}

static void add_v4(struct tt_dns_answer *a, const char *ip, uint32_t ttl)
{
	struct tt_dns_addr *x = &a->addrs[a->naddrs++];
	memset(x, 0, sizeof(*x));
	x->u.in.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &x->u.in.sin_addr);
	x->ttl_s = ttl;
}

Test(describe, dns_facts_keep_addresses_and_failures)
{
	struct tt_dns_answer a;
	struct tt_doc_dns_facts d;
	memset(&a, 0, sizeof(a));
	a.source = TT_DNS_FRESH;
	add_v4(&a, "10.0.0.1", 30);
	add_v4(&a, "10.0.0.2", 20);
	tt_doc_dns_facts_fill(&d, "app.test", "10.0.0.53", &a);
	cr_assert_eq(d.naddrs, 2);
	cr_assert_str_eq(d.addrs[0].addr, "10.0.0.1");
	cr_assert_eq(d.addrs[1].ttl_s, 20);
	cr_assert_null(d.rcode);
	cr_assert_null(d.fault);

	memset(&a, 0, sizeof(a));
	a.source = TT_DNS_NONE;
	a.error.id = TT_FAULT_DNS_ERROR;
	a.error.rcode = "NXDOMAIN";
	tt_doc_dns_facts_fill(&d, "nx.test", "system (/etc/resolv.conf)", &a);
	cr_assert_eq(d.naddrs, 0);
	cr_assert_str_eq(d.rcode, "NXDOMAIN");
	cr_assert_str_eq(d.fault, "dns_error");
	cr_assert_str_eq(d.resolver, "system (/etc/resolv.conf)");
}

static void session(struct tt_doc_tls_facts *t, const char *sni, const char *not_after)
{
	memset(t, 0, sizeof(*t));
	t->verify = 1;
	snprintf(t->info.version, sizeof(t->info.version), "TLSv1.3");
	snprintf(t->info.cipher, sizeof(t->info.cipher), "TLS_AES_128_GCM_SHA256");
	snprintf(t->info.alpn, sizeof(t->info.alpn), "http/1.1");
	snprintf(t->info.sni, sizeof(t->info.sni), "%s", sni);
	t->info.verify_text = "ok";
	t->info.nchain = 2;
	snprintf(t->info.chain[0].subject, sizeof(t->info.chain[0].subject), "CN=app");
	snprintf(t->info.chain[0].issuer, sizeof(t->info.chain[0].issuer), "CN=Mid");
	snprintf(t->info.chain[0].not_after, sizeof(t->info.chain[0].not_after), "%s", not_after);
	snprintf(t->info.chain[1].subject, sizeof(t->info.chain[1].subject), "CN=Mid");
	snprintf(t->info.chain[1].issuer, sizeof(t->info.chain[1].issuer), "CN=Root");
	snprintf(t->info.chain[1].not_after, sizeof(t->info.chain[1].not_after),
	         "2030-01-01T00:00:00Z");
	tt_doc_tls_facts_derive(t, JAN1_2026);
}

Test(describe, tls_text_passes_a_good_session)
{
	struct tt_doc_step st;
	struct tt_doc_tls_facts t;
	memset(&st, 0, sizeof(st));
	session(&t, "app.internal", "2026-03-02T00:00:00Z");
	cr_assert(t.sni_sent);
	cr_assert_eq(tt_doc_tls_text(&st, &t), TT_DOC_PASS);
	cr_assert(strstr(st.seen, "TLSv1.3, TLS_AES_128_GCM_SHA256, ALPN http/1.1"), "%s", st.seen);
	cr_assert(strstr(st.seen, "SNI: app.internal"), "%s", st.seen);
	cr_assert(strstr(st.seen, "verify: ok"), "%s", st.seen);
	cr_assert(strstr(st.seen, "0. CN=app, issuer CN=Mid, notAfter 2026-03-02T00:00:00Z "
	                          "(60 days left)"),
	          "%s", st.seen);
	cr_assert(strstr(st.seen, "1. CN=Mid, issuer CN=Root"), "%s", st.seen);
	cr_assert_null(strstr(st.seen, "expires in"), "%s", st.seen);
}

Test(describe, tls_text_warns_of_a_leaf_about_to_expire)
{
	struct tt_doc_step st;
	struct tt_doc_tls_facts t;
	memset(&st, 0, sizeof(st));
	session(&t, "app.internal", "2026-01-14T00:00:00Z");
	cr_assert_eq(tt_doc_tls_text(&st, &t), TT_DOC_WARN);
	cr_assert(strstr(st.seen, "expires in 13 days"), "%s", st.seen);
	memset(&st, 0, sizeof(st));
	session(&t, "app.internal", "2026-01-15T00:00:00Z");
	cr_assert_eq(tt_doc_tls_text(&st, &t), TT_DOC_PASS, "14 days is not within 14");
}

Test(describe, tls_text_ip_address_sends_no_sni)
{
	struct tt_doc_step st;
	struct tt_doc_tls_facts t;
	memset(&st, 0, sizeof(st));
	session(&t, "10.1.2.3", "2026-03-02T00:00:00Z");
	cr_assert_not(t.sni_sent);
	tt_doc_tls_text(&st, &t);
	cr_assert(strstr(st.seen, "no SNI: IP address"), "%s", st.seen);
	cr_assert_null(strstr(st.seen, "SNI: 10.1.2.3"), "%s", st.seen);
}

Test(describe, tls_text_verify_off_is_a_warning_with_the_what_if)
{
	struct tt_doc_step st;
	struct tt_doc_tls_facts t;
	memset(&st, 0, sizeof(st));
	session(&t, "app.internal", "2026-03-02T00:00:00Z");
	t.verify = 0;
	t.would_checked = 1;
	snprintf(t.would, sizeof(t.would), "tls_certificate_error: self-signed certificate");
	cr_assert_eq(tt_doc_tls_text(&st, &t), TT_DOC_WARN);
	cr_assert(strstr(st.seen, "verify: off (tls.verify: false)"), "%s", st.seen);
	tt_doc_tls_would_text(&st, &t);
	cr_assert(strstr(st.seen, "with verification on, it would fail: tls_certificate_error: "
	                          "self-signed"),
	          "%s", st.seen);
	memset(&st, 0, sizeof(st));
	t.would_pass = 1;
	tt_doc_tls_would_text(&st, &t);
	cr_assert(strstr(st.seen, "it would pass"), "%s", st.seen);
	memset(&st, 0, sizeof(st));
	t.would_checked = 0;
	tt_doc_tls_would_text(&st, &t);
	cr_assert_str_eq(st.seen, "", "nothing when it did not run");
}
