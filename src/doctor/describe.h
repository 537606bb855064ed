/*
 * What doctor says about a DNS answer and a TLS session: the facts kept
 * for --json (report.h) and the lines of text for people, from the
 * resolver's and the TLS engine's own structs. Pure: no I/O; the time is
 * passed in, so every sentence is testable.
 */
#ifndef TT_DOCTOR_DESCRIBE_H
#define TT_DOCTOR_DESCRIBE_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "doctor/report.h"
#include "net/dns.h"
#include "net/tls.h"

/* Who the config's resolver asks: its servers ("10.0.0.53, 10.0.0.54:5353")
 * or "system (/etc/resolv.conf)". NUL-terminated, cut to cap. */
void tt_doc_resolver_text(const struct tt_cfg_resolver *rc, char *out, size_t cap);

/* Fill d from an answer to name (addresses as text with their TTL, the
 * rcode and fault type of a failure). */
void tt_doc_dns_facts_fill(struct tt_doc_dns_facts *d, const char *name, const char *resolver,
                           const struct tt_dns_answer *a);

/* Whole days from now to not_after ("2026-12-31T23:59:59Z", as
 * tt_tls_info writes it), rounded down (an expired certificate gives a
 * negative number). Returns 0, or -1 when the text is not that form. */
int tt_doc_days_left(const char *not_after, time_t now, long *days);

/* Fill t's derived fields from t->info and t->verify: whether SNI was
 * sent (not for an IP address) and the days left of each certificate. */
void tt_doc_tls_facts_derive(struct tt_doc_tls_facts *t, time_t now);

/* Append the chain as presented to st, one line per certificate: subject,
 * issuer, notAfter and days left. */
void tt_doc_tls_chain_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t);

/*
 * Append a finished handshake's description to st: version, cipher,
 * ALPN, the name sent as SNI (or "no SNI"), resumed or not, the verify
 * result, and the chain. Returns TT_DOC_WARN when the leaf expires within
 * TT_TLS_EXPIRY_WARN_DAYS or verification is off, TT_DOC_PASS otherwise.
 */
enum tt_doc_status tt_doc_tls_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t);

/* verify: false: append what the verifying handshake found (nothing when
 * it did not run). */
void tt_doc_tls_would_text(struct tt_doc_step *st, const struct tt_doc_tls_facts *t);

#endif
