/*
 * Doctor's steps 2 to 8 for one upstream server: DNS (the proxy's c-ares
 * resolver for a name), TCP connect to each address, the TLS handshake
 * with the proxy's engine, the HTTP request (over TLS when the group
 * speaks it) and its head, the body, the idle
 * keep-alive watch and the comparison of what was measured with the
 * configured timeouts. Each adds one step to the report; the first fault
 * met becomes the report's verdict.
 */
#ifndef TT_DOCTOR_STEPS_H
#define TT_DOCTOR_STEPS_H

#include "config/config.h"
#include "doctor/report.h"
#include "net/tls.h"

struct tt_doc_target {
	const struct tt_config *cfg;         /* timeouts and limits; borrowed */
	const struct tt_cfg_upstream *group; /* the group probed; borrowed */
	const char *host;                    /* Host field; NULL = the server's address */
	const char *path;                    /* request target, "/..." */
	int https_url;                       /* probing an https:// URL directly (no config) */
	int keepalive_check;                 /* watch the idle connection (step 7) */
	/* TLS to the servers (step 4): the group's context (tls.ctx), or for
	 * an https:// URL without a config a default client context
	 * (verification on, the system store); NULL = plain HTTP. Borrowed. */
	struct tt_tls_ctx *tls_ctx;
	/* The group's tls: (verify, ca_file, sni, ...), NULL for the default
	 * context; borrowed. */
	const struct tt_cfg_tls_upstream *tls_cfg;
};

/* Run the steps against server s of t->group, appending to rep. */
void tt_doc_probe_server(struct tt_doc_report *rep, const struct tt_doc_target *t,
                         const struct tt_cfg_server *s);

/* Append steps from..TT_DOC_STEP_TIMEOUTS as skipped, with why. */
void tt_doc_skip_from(struct tt_doc_report *rep, const char *server, int from, const char *why);

#endif
