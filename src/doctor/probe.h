/*
 * Doctor's network I/O: name lookup (the proxy's resolver, net/dns.h, on a
 * private loop), TCP connect, one HTTP exchange and the idle-connection
 * watch, on blocking-free sockets with poll() and the config's timeouts
 * (the TLS engine over the socket is link.h). Thin shells: what bytes and silences mean is decided
 * by the reader (reader.h) and fault/classify.h, as in the proxy.
 *
 * Invariant: every wait is bounded, by a configured timeout or, where the
 * proxy would wait without limit, by TT_DOC_GIVE_UP_MS.
 */
#ifndef TT_DOCTOR_PROBE_H
#define TT_DOCTOR_PROBE_H

#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "doctor/link.h"
#include "doctor/reader.h"
#include "fault/fault.h"
#include "net/dns.h"

/* The longest doctor waits where telltale would wait forever (a timeout
 * set to 0). */
#define TT_DOC_GIVE_UP_MS 120000

#define TT_DOC_ADDRS_MAX 16

struct tt_doc_addrs {
	size_t n;
	struct sockaddr_storage ss[TT_DOC_ADDRS_MAX];
	socklen_t len[TT_DOC_ADDRS_MAX];
};

/*
 * Resolve host (A and AAAA) with the proxy's resolver module, made with
 * the options of rc on a private loop that runs until the answer, then
 * closed. Returns 0 with *a filled (source TT_DNS_FRESH, or TT_DNS_NONE
 * with a->error: tt_dns_fault gives the fault), or -1 when the resolver
 * could not be made (err says why, NUL-terminated).
 */
int tt_doc_dns(const struct tt_cfg_resolver *rc, const char *host, struct tt_dns_answer *a,
               char *err, size_t errcap);

/* The addresses of a, with port set, into out (at most TT_DOC_ADDRS_MAX,
 * in the answer's order). */
void tt_doc_addrs_from(const struct tt_dns_answer *a, uint16_t port, struct tt_doc_addrs *out);

/* Milliseconds between two uv_hrtime() values. */
double tt_doc_ms(uint64_t from_ns, uint64_t to_ns);

/*
 * Connect to sa within timeouts.upstream_connect (and what is left of
 * timeouts.total since t_start_ns). Returns a non-blocking socket, or -1
 * with f holding the fault (connection_refused, connection_timeout, ...)
 * and its details.
 */
int tt_doc_connect(const struct sockaddr *sa, socklen_t len, const struct tt_cfg_timeouts *to,
                   uint64_t t_start_ns, struct tt_fault *f);

/*
 * Write req[0..len) on l and read the response into r (initialised here
 * from cfg; the caller finishes it with tt_doc_reader_fini). Returns the
 * final phase: DONE, FAILED (r->fault), or HEAD/BODY when doctor gave up
 * after TT_DOC_GIVE_UP_MS where telltale would have no timeout.
 */
enum tt_doc_phase tt_doc_exchange(struct tt_doc_link *l, const char *req, size_t len,
                                  const struct tt_config *cfg, uint64_t t_start_ns,
                                  struct tt_doc_reader *r);

/* After a complete response on a keep-alive connection: wait up to wait_ms
 * for the upstream to close it. Returns the milliseconds after which it
 * closed (or reset), -1 when it stayed open, -2 when it sent bytes. */
double tt_doc_idle_close(struct tt_doc_link *l, uint64_t wait_ms);

#endif
