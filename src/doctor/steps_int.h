/*
 * What the step files share (steps.c: DNS, connect, TLS and the order;
 * steps_http.c: the exchange and what follows). Internal to src/doctor/.
 */
#ifndef TT_DOCTOR_STEPS_INT_H
#define TT_DOCTOR_STEPS_INT_H

#include <stddef.h>

#include "doctor/reader.h"
#include "doctor/steps.h"

/* The exchange on fd (steps 5 to 8). connect_ms is step 3's time to the
 * address used; t_start_ns when that connect began. */
void tt_doc_steps_http(struct tt_doc_report *rep, const struct tt_doc_target *t,
                       const struct tt_cfg_server *s, int fd, uint64_t t_start_ns,
                       double connect_ms);

/* Copy s[0..n) into out for display: bytes outside printable ASCII become
 * '?', the copy is cut to fit. */
void tt_doc_printable(char *out, size_t cap, const char *s, size_t n);

#endif
