/*
 * The TLS engine (issue 5, items 1 and 2): OpenSSL 3 sessions for both
 * sides, downstream (telltale is the TLS server) and upstream (telltale is
 * the TLS client), with no socket inside. The caller moves bytes: what it
 * reads from the socket goes in with tt_tls_feed, what tt_tls_pending_out
 * shows goes out on the socket. That keeps the engine testable in memory
 * and lets a libuv stream drive it without a second event loop.
 *
 * Bytes cross a fixed-size OpenSSL BIO pair (TT_TLS_BIO_BYTES each way),
 * not growable memory BIOs: a peer that floods the engine meets a full
 * buffer (tt_tls_feed accepts less), never a realloc, and the bytes shown
 * by tt_tls_pending_out stay where they are until consumed, so they can be
 * handed to uv_write as they are.
 *
 * The state machine of one connection (enum tt_tls_state):
 *
 *   HANDSHAKE --tt_tls_handshake() == 1--> OPEN --peer close_notify--> CLOSED
 *       |                                   |
 *       +------- any fatal error -----------+--> FAILED
 *
 * Every call may leave bytes to send (a flight, an alert, a ticket, a
 * close_notify): after each call, send what tt_tls_pending_out shows, and
 * flush it even after a failure, since it may hold the alert that tells
 * the peer why. "Need more" (0) means: feed more socket bytes, or drain the
 * output, then call again. An EOF from the socket is tt_tls_feed_eof.
 *
 * After FAILED, tt_tls_classify turns what was observed into the fault
 * catalogue's TLS rows; tt_tls_info describes an OPEN session for the
 * access log, the error page and `telltale doctor`.
 *
 * The engine is src/net/tls.c; certificate files (loading, checking, the
 * text of names and dates) are src/net/tls_cert.c, sharing tls_int.h.
 *
 * Invariants: a connection is touched by one thread at a time (its
 * worker's); a context is immutable after _new except its client session
 * slots (mutex) and its reference count (atomic), so one context serves
 * every worker. Nothing here allocates per read or write after the
 * handshake beyond OpenSSL's own record buffers.
 */
#ifndef TT_NET_TLS_H
#define TT_NET_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include "fault/fault.h"

/* Bytes of the BIO pair in each direction: one full record with the
 * largest expansion of the default ciphers (16384 + 256) fits. */
#define TT_TLS_BIO_BYTES 17408

/* Protocol version bounds; zero is the default (TLS 1.2 up to 1.3). */
enum tt_tls_version { TT_TLS_VERSION_DEFAULT = 0, TT_TLS_VERSION_1_2, TT_TLS_VERSION_1_3 };

/* One certificate and its key, PEM files. cert_file may hold the chain
 * after the leaf (leaf first, as nginx and HAProxy expect). */
struct tt_tls_cert_spec {
	const char *cert_file;
	const char *key_file;
};

/* Downstream side (telltale is the TLS server). */
struct tt_tls_server_spec {
	/* Chosen by SNI (the first certificate whose names match the name
	 * the downstream asked for); certs[0] is the default, served when no
	 * name is sent or none matches. */
	const struct tt_tls_cert_spec *certs;
	size_t ncerts;
	/* Mutual TLS: when set, downstreams must present a certificate
	 * signed by a CA in this PEM file; NULL = no certificate asked. */
	const char *client_ca_file;
	enum tt_tls_version min_version, max_version;
};

/* Upstream side (telltale is the TLS client). All-zero is the safe
 * default: verification on, system CA store, SNI from the upstream's name. */
struct tt_tls_client_spec {
	int no_verify;       /* 1 = accept any certificate (verify: false) */
	const char *ca_file; /* PEM CA bundle; NULL = the system store */
	/* Name sent as SNI and checked against the certificate, for every
	 * connection; NULL = the name given to tt_tls_conn_new. */
	const char *sni;
	const char *client_cert; /* PEM certificate (and chain) for mutual TLS; NULL = none */
	const char *client_key;  /* its key, required with client_cert */
	enum tt_tls_version min_version, max_version;
};

struct tt_tls_ctx;
struct tt_tls_conn;

/*
 * A server context: TLS 1.2 and 1.3 (or the spec's bounds), OpenSSL's
 * default ciphers at security level 2, ALPN http/1.1 (a downstream that
 * offers only other protocols gets no ALPN rather than an alert),
 * stateless session tickets, no renegotiation. Every pair is loaded and
 * its key checked now. Returns a context holding one reference (the
 * caller's), or NULL with the reason ("FILE: ...") in err.
 */
struct tt_tls_ctx *tt_tls_server_new(const struct tt_tls_server_spec *spec, char *err,
                                     size_t errcap);

/*
 * A client context: verification on unless spec->no_verify (the chain
 * against ca_file or the system store, and the host name), SNI, ALPN
 * http/1.1, an optional client certificate, and resumption from the last
 * session ticket received for the same name. Returns a context holding
 * one reference, or NULL with the reason in err.
 */
struct tt_tls_ctx *tt_tls_client_new(const struct tt_tls_client_spec *spec, char *err,
                                     size_t errcap);

/* Another reference, for a holder that may outlive the current one (a
 * worker, a config snapshot). Returns c. */
struct tt_tls_ctx *tt_tls_ctx_ref(struct tt_tls_ctx *c);

/* Drop a reference and set *c to NULL; NULL is ignored. Connections hold
 * their own reference, so a reload may drop the old context while its
 * connections drain: the last one frees it. */
void tt_tls_ctx_unref(struct tt_tls_ctx **c);

/*
 * One connection on context c. sni (client side) is the upstream's host
 * name, sent as SNI unless it is an IP address (RFC 6066 section 3) and
 * checked against the certificate either way; the spec's sni overrides
 * it. Ignored on the server side (pass NULL). Returns the connection in
 * state HANDSHAKE, owned by the caller (tt_tls_conn_free); it holds a
 * reference on c. Aborts on allocation failure, like our other small
 * structs; returns NULL when a verifying client has no name to check
 * (neither sni nor the spec's), or the name is longer than 255 bytes or
 * refused by OpenSSL.
 */
struct tt_tls_conn *tt_tls_conn_new(struct tt_tls_ctx *c, const char *sni);

/* Free the connection and set *t to NULL; NULL is ignored. Pending output
 * is dropped: send it first if the peer should see it. The session stays
 * resumable unless the connection FAILED, close_notify or not (RFC 5246
 * section 7.2.1). */
void tt_tls_conn_free(struct tt_tls_conn **t);

enum tt_tls_state {
	TT_TLS_HANDSHAKE = 0, /* handshake in progress */
	TT_TLS_OPEN,          /* application data flows */
	TT_TLS_CLOSED,        /* the peer sent close_notify: a clean end */
	TT_TLS_FAILED         /* a fatal error: tt_tls_classify tells which */
};

enum tt_tls_state tt_tls_state(const struct tt_tls_conn *t);

/*
 * Socket bytes in. Returns how many of in[0..len) were taken, which is
 * less than len when the input buffer is full: keep the rest, call
 * tt_tls_read (or tt_tls_handshake) to make room, and feed it again;
 * stop reading the socket meanwhile (backpressure).
 */
size_t tt_tls_feed(struct tt_tls_conn *t, const char *in, size_t len);

/* Zero-copy input, for a libuv alloc_cb: *p is the free room of the input
 * buffer (the return value, in bytes, 0 when full); after reading n bytes
 * into it, tt_tls_fed(t, n). */
size_t tt_tls_in_room(struct tt_tls_conn *t, char **p);
void tt_tls_fed(struct tt_tls_conn *t, size_t n);

/* The socket reached EOF: the next call sees it (a failure unless the peer
 * had sent close_notify, since a cut without it may be a truncation). */
void tt_tls_feed_eof(struct tt_tls_conn *t);

/*
 * Socket bytes out: *out points at the next n bytes to send (the return
 * value; 0 = nothing). They stay valid and unchanged until
 * tt_tls_consumed_out, even while further calls append output after them,
 * so one uv_write may be in flight with them. The buffer is a ring: after
 * consuming, call again, there may be more.
 */
size_t tt_tls_pending_out(struct tt_tls_conn *t, const char **out);
void tt_tls_consumed_out(struct tt_tls_conn *t, size_t n);

/* The connection is idle (between requests, or pooled): give the BIO pair
 * (2 x TT_TLS_BIO_BYTES) back if nothing is in it either way. Any later
 * call that moves bytes makes a new one. Returns 1 when released, 0 when
 * bytes are still in it (call again once they are out). */
int tt_tls_release_buffers(struct tt_tls_conn *t);

/* Drive the handshake: 1 done (state OPEN), 0 in progress (send the
 * output, feed more), -1 failed (state FAILED; send the output, which may
 * hold our alert, then close and tt_tls_classify). */
int tt_tls_handshake(struct tt_tls_conn *t);

/*
 * Plaintext in: bytes read into buf[0..cap) (> 0), 0 = need more (feed
 * more, or send the output: TLS 1.3 reads may answer a key update), -1 =
 * no more data: state CLOSED after the peer's close_notify, else FAILED.
 * Reading in OPEN may still fail with an alert: in TLS 1.3 a server checks
 * the client certificate after the client has finished its handshake.
 */
ssize_t tt_tls_read(struct tt_tls_conn *t, char *buf, size_t cap);

/*
 * Plaintext out: bytes of buf[0..len) taken (> 0, maybe fewer than len),
 * 0 = output full (send the output, then call again with the same bytes,
 * which may have moved), -1 = failed, or CLOSED (no half-close: after the
 * peer's close_notify the exchange is over).
 */
ssize_t tt_tls_write(struct tt_tls_conn *t, const char *buf, size_t len);

/* Queue close_notify (RFC 8446 section 6.1); send the output, then close
 * the socket without waiting for the peer's. 0 = queued, -1 = not queued
 * (no handshake completed, FAILED, or the output is full: send it and
 * call again, or just close). */
int tt_tls_shutdown(struct tt_tls_conn *t);

/* Did the peer's first bytes look like plain HTTP rather than TLS (a
 * request line on the server side, "HTTP/" on the client side)? For a
 * listener's redirect_http. */
int tt_tls_plain_http(const struct tt_tls_conn *t);

/*
 * After a failure: fill f (tt_fault_set, stage tls, details, parameter)
 * with the catalogue's TLS row for what was observed, in this order:
 *   - plain HTTP on the port (tt_tls_plain_http): TLS_PROTOCOL_ERROR;
 *   - the certificate failed verification: TLS_CERTIFICATE_ERROR, details
 *     with OpenSSL's reason, the verify code, the depth and subject;
 *   - the peer sent a fatal alert: TLS_ALERT_RECEIVED, parameter alert-id
 *     (an integer) and the name (alert-message) in the details, since the
 *     record holds one parameter (tt_tls_alert_name gives it back);
 *   - anything else: TLS_PROTOCOL_ERROR with OpenSSL's reason and code.
 * The rows are written for the upstream side; on the downstream side the
 * same record serves the log. The stage is always tls: a failure after
 * the handshake (an alert on the first read, an EOF without close_notify
 * mid-body) gets the same words, and the exchange may prefer its own fault
 * (http_response_incomplete) for a cut body. Returns the id set, or
 * TT_FAULT_NONE (f left untouched) when the connection has not failed.
 */
enum tt_fault_id tt_tls_classify(const struct tt_tls_conn *t, struct tt_fault *f);

/* For the access log, without tt_tls_info's copies: the negotiated
 * version and cipher names (static strings; "" before the handshake) and
 * whether the session was resumed. */
void tt_tls_brief(const struct tt_tls_conn *t, const char **version, const char **cipher,
                  int *resumed);

/* The RFC 8446 section 6 name of an alert ("certificate_required" for 116),
 * "unknown" for a number with none. Static storage. */
const char *tt_tls_alert_name(int alert_id);

#define TT_TLS_INFO_CHAIN 4

struct tt_tls_cert_summary {
	char subject[128];  /* RFC 2253 ("CN=localhost,O=Example") */
	char issuer[128];   /* same form */
	char not_after[24]; /* "2026-12-31T23:59:59Z" */
};

/* A session as negotiated; strings "" when unknown. */
struct tt_tls_info {
	char version[16]; /* "TLSv1.3" */
	char cipher[64];  /* "TLS_AES_256_GCM_SHA384" */
	char alpn[32];    /* "http/1.1", "" = none negotiated */
	char sni[256];    /* name sent (client side) or asked for (server side) */
	int resumed;      /* 1 = session resumed (ticket) */
	/* Verification of the peer's chain: X509_V_OK (0) or the verify
	 * code; verify_text is OpenSSL's reason (static storage). */
	int verify_code;
	const char *verify_text;
	int alert_sent;     /* last alert we sent, -1 = none */
	int alert_received; /* last alert received, -1 = none */
	/* The peer's chain as presented, leaf first (server side: only when
	 * a client certificate was asked for). */
	int nchain;
	struct tt_tls_cert_summary chain[TT_TLS_INFO_CHAIN];
};

/* Describe the session into out (owned by the caller); usable in any state
 * (fields not yet known stay ""). */
void tt_tls_info(const struct tt_tls_conn *t, struct tt_tls_info *out);

enum tt_tls_check {
	TT_TLS_CHECK_OK = 0,
	TT_TLS_CHECK_WARN, /* usable, but expiring within TT_TLS_EXPIRY_WARN_DAYS */
	TT_TLS_CHECK_ERROR /* unreadable, key mismatch, expired or not yet valid */
};

#define TT_TLS_EXPIRY_WARN_DAYS 14

/* For `telltale check`: is this pair usable? msg (NUL-terminated, cut to
 * msgcap) says why not, or describes it when it is: the subject, the
 * subjectAltNames and notAfter, with the days left. */
enum tt_tls_check tt_tls_check_pair(const char *cert_file, const char *key_file, char *msg,
                                    size_t msgcap);

#endif
