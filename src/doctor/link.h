/*
 * Doctor's connection to an upstream: a non-blocking socket, with the TLS
 * engine (net/tls.h) over it when the group speaks TLS, driven with poll()
 * as the rest of doctor's I/O is. The proxy drives the same engine over a
 * libuv stream (net/tls_io.c); the mapping of its results is the same:
 * a TLS read that fails is UV_EOF when the peer closed (close_notify or a
 * socket EOF) and UV_EPROTO otherwise, a failed write is UV_EPROTO.
 *
 * Invariant: after every engine call its pending output is sent (or the
 * socket is found broken), so an alert we owe the peer reaches it.
 */
#ifndef TT_DOCTOR_LINK_H
#define TT_DOCTOR_LINK_H

#include <stdint.h>
#include <sys/types.h>

#include "config/config.h"
#include "fault/fault.h"
#include "net/tls.h"

struct tt_doc_link {
	int fd;                  /* connected, non-blocking; owned */
	struct tt_tls_conn *tls; /* NULL = plain HTTP; owned */
	int eof;                 /* the socket reached EOF (or an error) */
};

/* A plain link over fd (taken over). */
void tt_doc_link_init(struct tt_doc_link *l, int fd);

/* Close the socket and free the TLS connection (after a close_notify when
 * the session is open). Idempotent. */
void tt_doc_link_close(struct tt_doc_link *l);

/*
 * The TLS handshake on l's socket with a connection of ctx for name (what
 * the proxy passes to tt_tls_conn_new: the server's host). The deadline
 * is timeouts.upstream_handshake from t_connected_ns, capped by
 * timeouts.total from t_start_ns; 0 for both waits TT_DOC_GIVE_UP_MS.
 * Returns 0 with l->tls OPEN; -1 with f set: the engine's classification
 * (tt_tls_classify), connection_timeout at stage tls for the handshake
 * timer as the proxy words it (addr names the server), the total's own
 * fault, or proxy_configuration_error when no connection can be made for
 * the name. l->tls stays set after a failure (for tt_tls_info) unless
 * none could be made; *gave_up is 1 when doctor stopped where telltale has
 * no timer.
 */
int tt_doc_tls_handshake(struct tt_doc_link *l, struct tt_tls_ctx *ctx, const char *name,
                         const struct tt_cfg_timeouts *to, uint64_t t_start_ns,
                         uint64_t t_connected_ns, const char *addr, struct tt_fault *f,
                         int *gave_up);

/* Plaintext out, as send(2): bytes taken (> 0), or -1 with errno (EAGAIN:
 * poll for POLLOUT and call again; EPROTO: the TLS connection failed). */
ssize_t tt_doc_link_send(struct tt_doc_link *l, const char *buf, size_t len);

/* Plaintext in, as recv(2): bytes (> 0), 0 at the end of the stream, or -1
 * with errno (EAGAIN: nothing now, poll for POLLIN; EPROTO: the TLS
 * connection failed, tt_tls_classify tells how). */
ssize_t tt_doc_link_recv(struct tt_doc_link *l, char *buf, size_t cap);

#endif
