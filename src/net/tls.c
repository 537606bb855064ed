/*
 * The TLS engine: OpenSSL 3 contexts for both sides, connections over a
 * BIO pair, and the mapping of what a failed handshake showed (verify
 * code, alert, first bytes, OpenSSL reason) to the fault catalogue.
 *
 * Invariant: a connection's SSL reads and writes only its BIO pair; the
 * socket side of the pair is the caller's (tt_tls_feed, tt_tls_pending_out).
 * Every SSL call starts with an empty OpenSSL error queue and leaves it
 * empty, keeping what it needs in the connection (first error code, alerts,
 * verify failure), because the queue is per thread and shared by every
 * connection of a worker.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/tls.h"
#include "net/tls_int.h"

#define CTX_MAGIC  0x544c5343u /* "TLSC" */
#define CONN_MAGIC 0x544c534eu /* "TLSN" */

/* Client sessions kept per context, one per name: an upstream group has
 * one name, or a few when servers are addressed by their own names. */
#define SESSION_SLOTS 8
#define NAME_MAX_LEN  256

/* ALPN wire form (RFC 7301 section 3.1): a length-prefixed list. */
static const unsigned char alpn_wire[] = "\x08http/1.1";

struct slot {
	char name[NAME_MAX_LEN];
	SSL_SESSION *sess; /* one reference, ours; NULL = empty */
};

/* Owned by its references: the creator's, each holder's, each connection's. */
struct tt_tls_ctx {
	uint32_t magic;
	atomic_int refs;
	int server; /* 1 = downstream side */
	SSL_CTX *ssl;
	/* Server: the certificates, SNI candidates in configured order. */
	struct tt_tls_pair *pairs;
	size_t npairs;
	/* Client. */
	int verify;
	char sni[NAME_MAX_LEN]; /* configured name, "" = the connection's */
	pthread_mutex_t lock;   /* guards slots and next_slot */
	struct slot slots[SESSION_SLOTS];
	unsigned next_slot;
};

/* Owned by the caller of tt_tls_conn_new. */
struct tt_tls_conn {
	uint32_t magic;
	enum tt_tls_state state;
	struct tt_tls_ctx *ctx;  /* one reference */
	SSL *ssl;                /* owns the inner half of the pair */
	BIO *net;                /* the socket half, ours; NULL while released */
	char name[NAME_MAX_LEN]; /* client: name sent and verified */
	int done;                /* the handshake completed once */
	int eof;                 /* tt_tls_feed_eof was called */
	/* The peer's first bytes, to recognise plain HTTP. */
	unsigned char first[8];
	size_t nfirst;
	/* What the failure showed. */
	unsigned long err;              /* first OpenSSL error code, 0 = none */
	int verify_failed;              /* the error queue said "certificate verify failed" */
	int alert_sent, alert_received; /* -1 = none */
	int verify_code, verify_depth;  /* first verify failure, 0 = none */
	char verify_subject[128];
};

/* ---- small helpers ---- */

static int is_ip(const char *name)
{
	unsigned char a[16];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* ---- callbacks ---- */

static void on_info(const SSL *ssl, int where, int ret)
{
	struct tt_tls_conn *t = SSL_get_app_data(ssl);
	int desc = ret & 0xff;

	/* close_notify (0) is the clean end, not a failure. */
	if (!t || !(where & SSL_CB_ALERT) || desc == SSL_AD_CLOSE_NOTIFY)
		return;
	if (where & SSL_CB_READ)
		t->alert_received = desc;
	else
		t->alert_sent = desc;
}

/* Keep the first verification failure (code, depth, subject) for the
 * fault's details; the decision stays OpenSSL's. */
static int on_verify(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tt_tls_conn *t = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *cert;

	if (ok || !t || t->verify_code != 0)
		return ok;
	t->verify_code = X509_STORE_CTX_get_error(x);
	t->verify_depth = X509_STORE_CTX_get_error_depth(x);
	cert = X509_STORE_CTX_get_current_cert(x);
	if (cert)
		tt_tls_name_text(X509_get_subject_name(cert), t->verify_subject,
		                 sizeof(t->verify_subject));
	return ok;
}

/* SNI (RFC 6066 section 3): the first certificate naming the host asked
 * for; the default (certs[0], already on the context) otherwise. */
static int on_servername(SSL *ssl, int *alert, void *arg)
{
	struct tt_tls_ctx *c = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;

	if (!name || c->npairs < 2)
		return SSL_TLSEXT_ERR_OK;
	for (i = 0; i < c->npairs; i++)
		if (X509_check_host(c->pairs[i].leaf, name, 0, 0, NULL) == 1)
			break;
	if (i == 0 || i == c->npairs)
		return SSL_TLSEXT_ERR_OK;
	if (SSL_use_cert_and_key(ssl, c->pairs[i].leaf, c->pairs[i].key, c->pairs[i].chain, 1) !=
	    1) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* ALPN (RFC 7301): http/1.1 when offered; a downstream offering only
 * other protocols gets no ALPN answer and may still speak HTTP/1.1. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned char *sel = NULL;

	if (inlen == 0 || SSL_select_next_proto(&sel, outlen, alpn_wire, sizeof(alpn_wire) - 1, in,
	                                        inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* A client session worth keeping (a TLS 1.2 session, or a TLS 1.3 ticket
 * arriving after the handshake): keep the last one per name. */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct tt_tls_conn *t = SSL_get_app_data(ssl);
	struct tt_tls_ctx *c;
	struct slot *s = NULL;

	if (!t || !t->name[0] || !SSL_SESSION_is_resumable(sess))
		return 0;
	c = t->ctx;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < SESSION_SLOTS && !s; i++)
		if (c->slots[i].sess && strcmp(c->slots[i].name, t->name) == 0)
			s = &c->slots[i];
	if (!s)
		s = &c->slots[c->next_slot++ % SESSION_SLOTS];
	SSL_SESSION_free(s->sess);
	s->sess = sess;
	memcpy(s->name, t->name, sizeof(s->name));
	pthread_mutex_unlock(&c->lock);
	return 1; /* the reference is ours now */
}

/* ---- contexts ---- */

static int version_of(enum tt_tls_version v, int is_max)
{
	switch (v) {
	case TT_TLS_VERSION_1_2: return TLS1_2_VERSION;
	case TT_TLS_VERSION_1_3: return TLS1_3_VERSION;
	default: return is_max ? 0 : TLS1_2_VERSION; /* 0: the highest supported */
	}
}

static struct tt_tls_ctx *ctx_new(int server, enum tt_tls_version lo, enum tt_tls_version hi,
                                  char *err, size_t errcap)
{
	struct tt_tls_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->magic = CTX_MAGIC;
	atomic_init(&c->refs, 1);
	c->server = server;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		abort();
	c->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (!c->ssl)
		abort();
	/* Level 2 (112-bit security, no SHA-1 signatures) whatever the
	 * system's openssl.cnf says; Debian's default is the same. */
	SSL_CTX_set_security_level(c->ssl, 2);
	if (!SSL_CTX_set_min_proto_version(c->ssl, version_of(lo, 0)) ||
	    !SSL_CTX_set_max_proto_version(c->ssl, version_of(hi, 1))) {
		tt_tls_say(err, errcap, "unsupported TLS version bounds: %s", tt_tls_ossl_reason());
		tt_tls_ctx_unref(&c);
		return NULL;
	}
	SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* Partial writes and a moving buffer suit a caller whose plaintext
	 * sits in a pooled block; released buffers keep idle sessions small. */
	SSL_CTX_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                             SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                             SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(c->ssl, tt_tls_no_password);
	return c;
}

static int server_certs(struct tt_tls_ctx *c, const struct tt_tls_server_spec *spec, char *err,
                        size_t errcap)
{
	c->pairs = calloc(spec->ncerts, sizeof(*c->pairs));
	if (!c->pairs)
		abort();
	for (size_t i = 0; i < spec->ncerts; i++) {
		const struct tt_tls_cert_spec *cs = &spec->certs[i];
		if (!cs->cert_file || !cs->key_file) {
			tt_tls_say(err, errcap, "certificate %zu: both cert and key are needed",
			           i + 1);
			return -1;
		}
		if (tt_tls_pair_load(&c->pairs[i], cs->cert_file, cs->key_file, err, errcap) != 0)
			return -1;
		c->npairs++;
	}
	if (SSL_CTX_use_cert_and_key(c->ssl, c->pairs[0].leaf, c->pairs[0].key, c->pairs[0].chain,
	                             1) != 1) {
		tt_tls_say(err, errcap, "%s: unusable certificate: %s", spec->certs[0].cert_file,
		           tt_tls_ossl_reason());
		return -1;
	}
	return 0;
}

static int server_client_ca(struct tt_tls_ctx *c, const char *file, char *err, size_t errcap)
{
	STACK_OF(X509_NAME) * names;

	if (SSL_CTX_load_verify_locations(c->ssl, file, NULL) != 1 ||
	    !(names = SSL_load_client_CA_file(file))) {
		tt_tls_say(err, errcap, "%s: cannot load CA certificates: %s", file,
		           tt_tls_ossl_reason());
		return -1;
	}
	SSL_CTX_set_client_CA_list(c->ssl, names);
	SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, on_verify);
	return 0;
}

struct tt_tls_ctx *tt_tls_server_new(const struct tt_tls_server_spec *spec, char *err,
                                     size_t errcap)
{
	struct tt_tls_ctx *c;

	tt_tls_say(err, errcap, "%s", "");
	if (!spec->certs || spec->ncerts == 0) {
		tt_tls_say(err, errcap, "a TLS listener needs at least one certificate");
		return NULL;
	}
	c = ctx_new(1, spec->min_version, spec->max_version, err, errcap);
	if (!c)
		return NULL;
	if (server_certs(c, spec, err, errcap) != 0 ||
	    (spec->client_ca_file && server_client_ca(c, spec->client_ca_file, err, errcap) != 0)) {
		tt_tls_ctx_unref(&c);
		return NULL;
	}
	SSL_CTX_set_tlsext_servername_callback(c->ssl, on_servername);
	SSL_CTX_set_tlsext_servername_arg(c->ssl, c);
	SSL_CTX_set_alpn_select_cb(c->ssl, on_alpn, NULL);
	/* Resumption by stateless tickets only (RFC 8446 section 4.6.1,
	 * RFC 5077): no server-side cache to share or lock between workers.
	 * A session id context is needed once client certificates are asked. */
	SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(c->ssl, (const unsigned char *)"telltale", 8);
	return c;
}

static int client_cert(struct tt_tls_ctx *c, const struct tt_tls_client_spec *spec, char *err,
                       size_t errcap)
{
	struct tt_tls_pair p;
	int rc = 0;

	if (!spec->client_key) {
		tt_tls_say(err, errcap, "%s: client_key is needed with client_cert",
		           spec->client_cert);
		return -1;
	}
	if (tt_tls_pair_load(&p, spec->client_cert, spec->client_key, err, errcap) != 0)
		return -1;
	if (SSL_CTX_use_cert_and_key(c->ssl, p.leaf, p.key, p.chain, 1) != 1) {
		tt_tls_say(err, errcap, "%s: unusable certificate: %s", spec->client_cert,
		           tt_tls_ossl_reason());
		rc = -1;
	}
	tt_tls_pair_fini(&p);
	return rc;
}

struct tt_tls_ctx *tt_tls_client_new(const struct tt_tls_client_spec *spec, char *err,
                                     size_t errcap)
{
	struct tt_tls_ctx *c;
	int ok;

	tt_tls_say(err, errcap, "%s", "");
	if (spec->sni && strlen(spec->sni) >= NAME_MAX_LEN) {
		tt_tls_say(err, errcap, "sni: name longer than %d bytes", NAME_MAX_LEN - 1);
		return NULL;
	}
	c = ctx_new(0, spec->min_version, spec->max_version, err, errcap);
	if (!c)
		return NULL;
	c->verify = !spec->no_verify;
	if (spec->sni)
		tt_tls_say(c->sni, sizeof(c->sni), "%s", spec->sni);
	if (spec->ca_file)
		ok = SSL_CTX_load_verify_locations(c->ssl, spec->ca_file, NULL) == 1;
	else
		ok = SSL_CTX_set_default_verify_paths(c->ssl) == 1;
	if (!ok) {
		tt_tls_say(err, errcap, "%s: cannot load CA certificates: %s",
		           spec->ca_file ? spec->ca_file : "system store", tt_tls_ossl_reason());
		goto fail;
	}
	if (spec->client_cert && client_cert(c, spec, err, errcap) != 0)
		goto fail;
	SSL_CTX_set_verify(c->ssl, c->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, on_verify);
	/* set_alpn_protos is the one OpenSSL call where 0 means success. */
	if (SSL_CTX_set_alpn_protos(c->ssl, alpn_wire, sizeof(alpn_wire) - 1) != 0)
		abort();
	SSL_CTX_set_session_cache_mode(c->ssl,
	                               SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(c->ssl, on_new_session);
	return c;
fail:
	tt_tls_ctx_unref(&c);
	return NULL;
}

struct tt_tls_ctx *tt_tls_ctx_ref(struct tt_tls_ctx *c)
{
	assert(c && c->magic == CTX_MAGIC);
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void tt_tls_ctx_unref(struct tt_tls_ctx **cp)
{
	struct tt_tls_ctx *c = *cp;

	*cp = NULL;
	if (!c)
		return;
	assert(c->magic == CTX_MAGIC);
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	SSL_CTX_free(c->ssl);
	for (size_t i = 0; i < c->npairs; i++)
		tt_tls_pair_fini(&c->pairs[i]);
	free(c->pairs);
	for (size_t i = 0; i < SESSION_SLOTS; i++)
		SSL_SESSION_free(c->slots[i].sess);
	pthread_mutex_destroy(&c->lock);
	c->magic = 0;
	free(c);
}

/* ---- connections ---- */

/* Name, SNI, host check and a session to resume, for an upstream. */
static int client_setup(struct tt_tls_conn *t, const char *sni)
{
	struct tt_tls_ctx *c = t->ctx;
	const char *name = c->sni[0] ? c->sni : sni;
	int ok = 1;

	if (!name || !name[0])
		return c->verify ? -1 : 0; /* verifying needs a name to check */
	if (strlen(name) >= sizeof(t->name))
		return -1;
	tt_tls_say(t->name, sizeof(t->name), "%s", name);
	if (is_ip(name)) {
		/* No SNI for an address (RFC 6066 section 3); the certificate
		 * must carry it as an IP subjectAltName. */
		if (c->verify)
			ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) == 1;
	} else {
		ok = SSL_set_tlsext_host_name(t->ssl, name) == 1;
		if (ok && c->verify) {
			SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
			ok = SSL_set1_host(t->ssl, name) == 1;
		}
	}
	if (!ok)
		return -1;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < SESSION_SLOTS; i++)
		if (c->slots[i].sess && strcmp(c->slots[i].name, t->name) == 0)
			SSL_set_session(t->ssl, c->slots[i].sess);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void check(const struct tt_tls_conn *t)
{
	assert(t && t->magic == CONN_MAGIC);
	(void)t;
}

/* The BIO pair, made again after tt_tls_release_buffers. */
static void bio_ensure(struct tt_tls_conn *t)
{
	BIO *inner = NULL;
	if (t->net)
		return;
	if (!BIO_new_bio_pair(&inner, TT_TLS_BIO_BYTES, &t->net, TT_TLS_BIO_BYTES))
		abort();
	SSL_set_bio(t->ssl, inner, inner); /* one reference, the SSL's */
}

int tt_tls_release_buffers(struct tt_tls_conn *t)
{
	check(t);
	if (!t->net || t->eof || t->state != TT_TLS_OPEN)
		return 0;
	/* Nothing for the socket, nothing from it the engine has not taken,
	 * nothing half-written by SSL_write. */
	if (BIO_ctrl_pending(t->net) || BIO_ctrl_pending(SSL_get_rbio(t->ssl)) ||
	    SSL_want(t->ssl) == SSL_WRITING)
		return 0;
	SSL_set_bio(t->ssl, NULL, NULL); /* frees the inner half */
	BIO_free(t->net);
	t->net = NULL;
	return 1;
}

struct tt_tls_conn *tt_tls_conn_new(struct tt_tls_ctx *c, const char *sni)
{
	struct tt_tls_conn *t = calloc(1, sizeof(*t));

	assert(c && c->magic == CTX_MAGIC);
	if (!t)
		abort();
	t->magic = CONN_MAGIC;
	t->alert_sent = t->alert_received = -1;
	t->ctx = tt_tls_ctx_ref(c);
	t->ssl = SSL_new(c->ssl);
	if (!t->ssl)
		abort();
	bio_ensure(t);
	SSL_set_app_data(t->ssl, t);
	SSL_set_info_callback(t->ssl, on_info);
	if (c->server) {
		SSL_set_accept_state(t->ssl);
	} else if (client_setup(t, sni) != 0) {
		ERR_clear_error();
		tt_tls_conn_free(&t);
		return NULL;
	} else {
		SSL_set_connect_state(t->ssl);
	}
	return t;
}

void tt_tls_conn_free(struct tt_tls_conn **tp)
{
	struct tt_tls_conn *t = *tp;

	*tp = NULL;
	if (!t)
		return;
	assert(t->magic == CONN_MAGIC);
	/* SSL_free marks the session of a connection that sent no
	 * close_notify as not resumable (OpenSSL's ssl_clear_bad_session).
	 * Since TLS 1.1 a missing close_notify no longer forbids resuming
	 * (RFC 5246 section 7.2.1), and HTTP closes idle connections
	 * without one all the time: only a failed session is dropped. */
	if (t->done && t->state != TT_TLS_FAILED)
		SSL_set_shutdown(t->ssl, SSL_get_shutdown(t->ssl) | SSL_SENT_SHUTDOWN);
	SSL_free(t->ssl);
	BIO_free(t->net);
	tt_tls_ctx_unref(&t->ctx);
	t->magic = 0;
	free(t);
}

enum tt_tls_state tt_tls_state(const struct tt_tls_conn *t)
{
	check(t);
	return t->state;
}

static void note_first(struct tt_tls_conn *t, const char *p, size_t n)
{
	size_t take = sizeof(t->first) - t->nfirst;

	if (take > n)
		take = n;
	memcpy(t->first + t->nfirst, p, take);
	t->nfirst += take;
}

size_t tt_tls_feed(struct tt_tls_conn *t, const char *in, size_t len)
{
	size_t done = 0;

	check(t);
	bio_ensure(t);
	while (done < len && !t->eof) {
		size_t chunk = len - done < INT_MAX ? len - done : INT_MAX;
		int n = BIO_write(t->net, in + done, (int)chunk);
		if (n <= 0)
			break;
		note_first(t, in + done, (size_t)n);
		done += (size_t)n;
	}
	ERR_clear_error();
	return done;
}

size_t tt_tls_in_room(struct tt_tls_conn *t, char **p)
{
	ossl_ssize_t n;

	check(t);
	*p = NULL;
	if (t->eof)
		return 0;
	bio_ensure(t);
	n = BIO_nwrite0(t->net, p);
	ERR_clear_error();
	return n > 0 ? (size_t)n : 0;
}

void tt_tls_fed(struct tt_tls_conn *t, size_t n)
{
	char *p = NULL;
	int done;

	check(t);
	if (n == 0 || !t->net)
		return;
	done = BIO_nwrite(t->net, &p, n < INT_MAX ? (int)n : INT_MAX);
	if (done > 0 && p)
		note_first(t, p, (size_t)done);
	ERR_clear_error();
}

void tt_tls_feed_eof(struct tt_tls_conn *t)
{
	check(t);
	bio_ensure(t);
	t->eof = 1;
	(void)BIO_shutdown_wr(t->net);
}

size_t tt_tls_pending_out(struct tt_tls_conn *t, const char **out)
{
	char *p = NULL;
	ossl_ssize_t n;

	check(t);
	*out = NULL;
	if (!t->net)
		return 0;
	n = BIO_nread0(t->net, &p);
	ERR_clear_error();
	*out = n > 0 ? p : NULL;
	return n > 0 ? (size_t)n : 0;
}

void tt_tls_consumed_out(struct tt_tls_conn *t, size_t n)
{
	char *p;

	check(t);
	if (n > 0 && t->net)
		(void)BIO_nread(t->net, &p, n < INT_MAX ? (int)n : INT_MAX);
	ERR_clear_error();
}

/* Record a fatal error: the first code, and whether verification was the
 * cause, then empty the queue. Returns -1. */
static int fail(struct tt_tls_conn *t)
{
	unsigned long e;

	while ((e = ERR_get_error()) != 0) {
		if (!t->err)
			t->err = e;
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED)
			t->verify_failed = 1;
	}
	t->state = TT_TLS_FAILED;
	return -1;
}

/* After an SSL call returned r <= 0: 0 when it only waits for I/O. */
static int again_or_fail(struct tt_tls_conn *t, int r)
{
	int e = SSL_get_error(t->ssl, r);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		return 0;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		t->state = TT_TLS_CLOSED;
		return -1;
	}
	return fail(t);
}

int tt_tls_handshake(struct tt_tls_conn *t)
{
	int r;

	check(t);
	if (t->state == TT_TLS_FAILED)
		return -1;
	if (t->state != TT_TLS_HANDSHAKE)
		return 1;
	ERR_clear_error();
	bio_ensure(t);
	r = SSL_do_handshake(t->ssl);
	if (r == 1) {
		t->state = TT_TLS_OPEN;
		t->done = 1;
		return 1;
	}
	if (again_or_fail(t, r) == 0)
		return 0;
	/* A close_notify before the handshake ended is a failure too. */
	t->state = TT_TLS_FAILED;
	return -1;
}

ssize_t tt_tls_read(struct tt_tls_conn *t, char *buf, size_t cap)
{
	size_t n = 0;

	check(t);
	if (t->state == TT_TLS_FAILED || t->state == TT_TLS_CLOSED)
		return -1;
	if (cap == 0)
		return 0;
	/* Released buffers: no input can be waiting, unless the engine kept
	 * a record of its own. */
	if (!t->net && !SSL_has_pending(t->ssl))
		return 0;
	ERR_clear_error();
	bio_ensure(t);
	if (SSL_read_ex(t->ssl, buf, cap, &n) == 1) {
		if (t->state == TT_TLS_HANDSHAKE)
			t->done = 1;
		t->state = TT_TLS_OPEN;
		return n > SSIZE_MAX ? SSIZE_MAX : (ssize_t)n;
	}
	return again_or_fail(t, 0);
}

ssize_t tt_tls_write(struct tt_tls_conn *t, const char *buf, size_t len)
{
	size_t n = 0;

	check(t);
	if (t->state == TT_TLS_FAILED || t->state == TT_TLS_CLOSED)
		return -1;
	if (len == 0)
		return 0;
	ERR_clear_error();
	bio_ensure(t);
	if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
		return n > SSIZE_MAX ? SSIZE_MAX : (ssize_t)n;
	return again_or_fail(t, 0);
}

int tt_tls_shutdown(struct tt_tls_conn *t)
{
	int r;

	check(t);
	if (t->state == TT_TLS_FAILED || !t->done)
		return -1;
	ERR_clear_error();
	bio_ensure(t);
	r = SSL_shutdown(t->ssl);
	ERR_clear_error();
	return r >= 0 ? 0 : -1;
}

int tt_tls_plain_http(const struct tt_tls_conn *t)
{
	size_t i = 0;

	check(t);
	if (!t->ctx->server)
		return t->nfirst >= 5 && memcmp(t->first, "HTTP/", 5) == 0;
	/* A request line: a method of capitals, then a space. */
	while (i < t->nfirst && t->first[i] >= 'A' && t->first[i] <= 'Z')
		i++;
	return i >= 3 && i < t->nfirst && t->first[i] == ' ';
}

/* ---- classification ---- */

const char *tt_tls_alert_name(int id)
{
	/* RFC 8446 section 6, with the retired RFC 5246 section 7.2 alerts
	 * an old peer may still send. */
	/* clang-format off */
	static const char *const names[] = {
	    [0] = "close_notify", [10] = "unexpected_message", [20] = "bad_record_mac",
	    [21] = "decryption_failed", [22] = "record_overflow", [30] = "decompression_failure",
	    [40] = "handshake_failure", [41] = "no_certificate", [42] = "bad_certificate",
	    [43] = "unsupported_certificate", [44] = "certificate_revoked",
	    [45] = "certificate_expired", [46] = "certificate_unknown", [47] = "illegal_parameter",
	    [48] = "unknown_ca", [49] = "access_denied", [50] = "decode_error",
	    [51] = "decrypt_error", [60] = "export_restriction", [70] = "protocol_version",
	    [71] = "insufficient_security", [80] = "internal_error",
	    [86] = "inappropriate_fallback", [90] = "user_canceled", [100] = "no_renegotiation",
	    [109] = "missing_extension", [110] = "unsupported_extension",
	    [111] = "certificate_unobtainable", [112] = "unrecognized_name",
	    [113] = "bad_certificate_status_response", [114] = "bad_certificate_hash_value",
	    [115] = "unknown_psk_identity", [116] = "certificate_required",
	    [120] = "no_application_protocol",
	};
	/* clang-format on */

	if (id < 0 || (size_t)id >= sizeof(names) / sizeof(names[0]) || !names[id])
		return "unknown";
	return names[id];
}

/* The alert the peer sent: from the info callback, or from the error
 * queue, where OpenSSL files a received alert as reason 1000 + id. */
static int received_alert(const struct tt_tls_conn *t)
{
	int reason = ERR_GET_REASON(t->err);

	if (t->alert_received >= 0)
		return t->alert_received;
	if (ERR_GET_LIB(t->err) == ERR_LIB_SSL && reason > SSL_AD_REASON_OFFSET &&
	    reason < SSL_AD_REASON_OFFSET + 256)
		return reason - SSL_AD_REASON_OFFSET;
	return -1;
}

static void describe_certificate(const struct tt_tls_conn *t, struct tt_fault *f)
{
	const char *why = X509_verify_cert_error_string(t->verify_code);

	if (t->verify_code == X509_V_ERR_HOSTNAME_MISMATCH ||
	    t->verify_code == X509_V_ERR_IP_ADDRESS_MISMATCH)
		tt_fault_details(f,
		                 "%s (verify code %d): the certificate of %s does not name \"%s\"",
		                 why, t->verify_code, t->verify_subject, t->name);
	else
		tt_fault_details(f, "%s (verify code %d) at depth %d: %s", why, t->verify_code,
		                 t->verify_depth, t->verify_subject);
}

static void describe_protocol(const struct tt_tls_conn *t, struct tt_fault *f, const char *peer)
{
	const char *reason = t->err ? ERR_reason_error_string(t->err) : NULL;
	const char *when = t->done ? "after" : "during";

	if (t->eof && !t->done)
		tt_fault_details(f, "%s closed the connection during the TLS handshake", peer);
	else if (reason)
		tt_fault_details(f, "TLS failed %s the handshake: %s (OpenSSL error %08lX)", when,
		                 reason, t->err);
	else if (t->eof)
		tt_fault_details(f, "%s closed the connection without a TLS close_notify", peer);
	else
		tt_fault_details(f, "TLS failed %s the handshake (no OpenSSL reason)", when);
}

enum tt_fault_id tt_tls_classify(const struct tt_tls_conn *t, struct tt_fault *f)
{
	const char *peer;
	int alert;

	check(t);
	if (t->state != TT_TLS_FAILED)
		return TT_FAULT_NONE;
	peer = t->ctx->server ? "the downstream" : "the upstream";
	alert = received_alert(t);
	if (tt_tls_plain_http(t)) {
		tt_fault_set(f, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
		if (t->ctx->server)
			tt_fault_details(f,
			                 "plain HTTP spoken on a TLS port: %s sent \"%.*s\" "
			                 "instead of a TLS ClientHello",
			                 peer, (int)t->nfirst, (const char *)t->first);
		else
			tt_fault_details(f,
			                 "plain HTTP spoken on the port: %s answered the TLS "
			                 "ClientHello with \"%.*s\", not TLS",
			                 peer, (int)t->nfirst, (const char *)t->first);
	} else if (t->verify_failed && t->verify_code != X509_V_OK) {
		tt_fault_set(f, TT_FAULT_TLS_CERTIFICATE_ERROR, TT_STAGE_TLS, 0);
		describe_certificate(t, f);
	} else if (alert >= 0) {
		/* RFC 9209 section 2.3.15: alert-id and alert-message. The
		 * record has one parameter: the id; the name leads the details. */
		tt_fault_set(f, TT_FAULT_TLS_ALERT_RECEIVED, TT_STAGE_TLS, 0);
		tt_fault_param_int(f, "alert-id", alert);
		tt_fault_details(f, "alert-message=%s: %s sent TLS alert %d (%s) %s the handshake",
		                 tt_tls_alert_name(alert), peer, alert, tt_tls_alert_name(alert),
		                 t->done ? "after" : "during");
	} else {
		tt_fault_set(f, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
		describe_protocol(t, f, peer);
	}
	return f->id;
}

/* ---- description ---- */

static void summarize(X509 *x, struct tt_tls_cert_summary *s)
{
	tt_tls_name_text(X509_get_subject_name(x), s->subject, sizeof(s->subject));
	tt_tls_name_text(X509_get_issuer_name(x), s->issuer, sizeof(s->issuer));
	tt_tls_time_text(X509_get0_notAfter(x), s->not_after, sizeof(s->not_after));
}

static void info_chain(const struct tt_tls_conn *t, struct tt_tls_info *out)
{
	X509 *leaf = SSL_get0_peer_certificate(t->ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(t->ssl);

	if (leaf)
		summarize(leaf, &out->chain[out->nchain++]);
	/* The client side's chain starts with the leaf; the server side's
	 * does not. */
	for (int i = 0; chain && i < sk_X509_num(chain) && out->nchain < TT_TLS_INFO_CHAIN; i++) {
		X509 *x = sk_X509_value(chain, i);
		if (leaf && X509_cmp(x, leaf) == 0)
			continue;
		summarize(x, &out->chain[out->nchain++]);
	}
}

void tt_tls_info(const struct tt_tls_conn *t, struct tt_tls_info *out)
{
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	const char *sni;

	check(t);
	memset(out, 0, sizeof(*out));
	out->alert_sent = t->alert_sent;
	out->alert_received = received_alert(t);
	out->verify_code = (int)SSL_get_verify_result(t->ssl);
	if (t->verify_code != X509_V_OK)
		out->verify_code = t->verify_code;
	out->verify_text = X509_verify_cert_error_string(out->verify_code);
	sni = t->ctx->server ? SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name) : t->name;
	if (sni)
		tt_tls_say(out->sni, sizeof(out->sni), "%s", sni);
	if (t->done) {
		const SSL_CIPHER *cipher = SSL_get_current_cipher(t->ssl);
		tt_tls_say(out->version, sizeof(out->version), "%s", SSL_get_version(t->ssl));
		if (cipher)
			tt_tls_say(out->cipher, sizeof(out->cipher), "%s",
			           SSL_CIPHER_get_name(cipher));
		SSL_get0_alpn_selected(t->ssl, &alpn, &alpn_len);
		if (alpn && alpn_len < sizeof(out->alpn))
			tt_tls_say(out->alpn, sizeof(out->alpn), "%.*s", (int)alpn_len,
			           (const char *)alpn);
		out->resumed = SSL_session_reused(t->ssl) == 1;
	}
	info_chain(t, out);
	ERR_clear_error();
}

void tt_tls_brief(const struct tt_tls_conn *t, const char **version, const char **cipher,
                  int *resumed)
{
	const SSL_CIPHER *c = t->done ? SSL_get_current_cipher(t->ssl) : NULL;
	*version = t->done ? SSL_get_version(t->ssl) : "";
	*cipher = c ? SSL_CIPHER_get_name(c) : "";
	*resumed = t->done && SSL_session_reused(t->ssl) ? 1 : 0;
}
