/*
 * Doctor's report: numbered steps, each passed, failed, skipped or warned
 * about with its time and what was seen, then the verdict (the fault
 * telltale would produce, from the catalogue). Written for people (a mark
 * per step, colour only when asked) or as one JSON document (docs/doctor.md
 * describes it).
 *
 * Pure output: nothing here does network I/O; the writers take a FILE *.
 * Invariant: steps are kept in the order added; a report with a failed
 * step has a fault or says why it has none.
 */
#ifndef TT_DOCTOR_REPORT_H
#define TT_DOCTOR_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "fault/fault.h"
#include "net/tls.h"

enum tt_doc_status { TT_DOC_PASS = 0, TT_DOC_FAIL, TT_DOC_SKIP, TT_DOC_WARN };

/* The steps, numbered as in the output. */
enum tt_doc_step_n {
	TT_DOC_STEP_CONFIG = 1,
	TT_DOC_STEP_DNS,
	TT_DOC_STEP_CONNECT,
	TT_DOC_STEP_TLS,
	TT_DOC_STEP_HTTP,
	TT_DOC_STEP_BODY,
	TT_DOC_STEP_KEEPALIVE,
	TT_DOC_STEP_TIMEOUTS
};

#define TT_DOC_SEEN_MAX 2048
#define TT_DOC_DNS_MAX  16

/* Step 2's facts, for --json: the name asked, who was asked, and what
 * came back. */
struct tt_doc_dns_facts {
	char name[256];
	char resolver[200]; /* "10.0.0.53, 10.0.0.54:5353" or "system (/etc/resolv.conf)" */
	size_t naddrs;      /* addresses in the answer (those kept: TT_DOC_DNS_MAX) */
	struct {
		char addr[48]; /* "10.0.0.1", "2001:db8::1" */
		uint32_t ttl_s;
	} addrs[TT_DOC_DNS_MAX];
	const char *rcode; /* a failure's DNS RCODE ("NXDOMAIN"), NULL = none; static */
	const char *fault; /* a failure's error type ("dns_error"), NULL = none; static */
};

/* Step 4's facts, for --json and the text: the session as negotiated (or
 * as far as it got) and the chain the upstream presented. */
struct tt_doc_tls_facts {
	struct tt_tls_info info;
	int verify;   /* the group verifies the upstream's certificate (tls.verify) */
	int sni_sent; /* 0: the name is an IP address, sent as no SNI (RFC 6066) */
	int days_known[TT_TLS_INFO_CHAIN];
	long days_left[TT_TLS_INFO_CHAIN]; /* to notAfter, rounded down; < 0 = expired */
	/* verify: false only: what a verifying handshake said. */
	int would_checked; /* 1 = that handshake ran */
	int would_pass;
	char would[256]; /* its details when it failed */
};

struct tt_doc_step {
	int n;            /* enum tt_doc_step_n */
	char server[128]; /* the server as written in the config, "" = none */
	enum tt_doc_status status;
	double ms;                    /* time the step took; < 0 = not timed */
	char seen[TT_DOC_SEEN_MAX];   /* what was observed; lines separated by "\n" */
	struct tt_doc_dns_facts *dns; /* step 2 of a name: heap, owned by the report; or NULL */
	struct tt_doc_tls_facts *tls; /* step 4 of a TLS group: same */
};

struct tt_doc_report {
	char url[2100];            /* as given, "" with --upstream */
	char upstream[64];         /* the group probed, "" = none */
	struct tt_doc_step *steps; /* heap; owned by the report */
	size_t nsteps, cap;
	struct tt_fault fault;  /* the verdict; TT_FAULT_NONE when nothing failed */
	char fault_server[128]; /* the server the fault came from */
};

void tt_doc_report_init(struct tt_doc_report *rep);
void tt_doc_report_fini(struct tt_doc_report *rep);

/* Append a step; seen is printf-formatted. Returns the step (owned by the
 * report, valid until the next add). */
struct tt_doc_step *tt_doc_step_add(struct tt_doc_report *rep, int n, const char *server,
                                    enum tt_doc_status st, double ms, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Append more text to a step's seen (cut at TT_DOC_SEEN_MAX). */
void tt_doc_step_more(struct tt_doc_step *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Attach zeroed facts to step s (owned by the report) and return them. */
struct tt_doc_dns_facts *tt_doc_step_dns_facts(struct tt_doc_step *s);
struct tt_doc_tls_facts *tt_doc_step_tls_facts(struct tt_doc_step *s);

/* Record the verdict once: the first fault met wins. */
void tt_doc_verdict(struct tt_doc_report *rep, const struct tt_fault *f, const char *server);

/* 1 when a step failed. */
int tt_doc_report_failed(const struct tt_doc_report *rep);

/* The step's name ("config", "dns", ...) and a status's name ("pass"). */
const char *tt_doc_step_name(int n);
const char *tt_doc_status_name(enum tt_doc_status st);

/* For people: one line per step with a mark (✓ ✗ – !), then the verdict
 * with the catalogue's title, explanation and numbered operator steps.
 * colour adds ANSI colours to the marks. */
void tt_doc_write_text(FILE *out, const struct tt_doc_report *rep, int colour);

/* For programs: one JSON document, see docs/doctor.md. */
void tt_doc_write_json(FILE *out, const struct tt_doc_report *rep);

/* A JSON string literal of s[0..len), quotes included. */
void tt_doc_json_str(FILE *out, const char *s, size_t len);

#endif
