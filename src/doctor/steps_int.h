/*
 * What the step files share (steps.c: DNS, connect and the order;
 * steps_tls.c: the handshake;
 * steps_http.c: the exchange and what follows). Internal to src/doctor/.
 */
#ifndef TT_DOCTOR_STEPS_INT_H
#define TT_DOCTOR_STEPS_INT_H

#include <stddef.h>

#include <sys/socket.h>

#include "doctor/link.h"
#include "doctor/reader.h"
#include "doctor/steps.h"

/* What steps 3 and 4 measured, for step 8. */
struct tt_doc_times {
	uint64_t t_start_ns; /* the connect began: the exchange's start */
	double connect_ms;   /* step 3's time to the address used */
	double handshake_ms; /* step 4's handshake; < 0 = no TLS */
	size_t tls_step;     /* 1 + index of step 4's entry after a handshake; 0 = none */
};

/* Step 4 on l (connected to sa): the handshake when t->tls_ctx is set,
 * else a skip. Returns 0 when the exchange may follow (l->tls set for
 * TLS), -1 after a failed step. */
int tt_doc_step_tls(struct tt_doc_report *rep, const struct tt_doc_target *t,
                    const struct tt_cfg_server *s, struct tt_doc_link *l, const struct sockaddr *sa,
                    socklen_t salen, struct tt_doc_times *tm);

/* verify: false, after the exchange: add to step 4 what a verifying
 * handshake to sa finds. A no-op otherwise. */
void tt_doc_step_tls_would(struct tt_doc_report *rep, const struct tt_doc_target *t,
                           const struct tt_cfg_server *s, const struct sockaddr *sa,
                           socklen_t salen, const struct tt_doc_times *tm);

/* The exchange on l (steps 5 to 8). */
void tt_doc_steps_http(struct tt_doc_report *rep, const struct tt_doc_target *t,
                       const struct tt_cfg_server *s, struct tt_doc_link *l,
                       const struct tt_doc_times *tm);

/* Copy s[0..n) into out for display: bytes outside printable ASCII become
 * '?', the copy is cut to fit. */
void tt_doc_printable(char *out, size_t cap, const char *s, size_t n);

#endif
