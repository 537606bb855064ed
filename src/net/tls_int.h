/*
 * Inside the TLS module: what src/net/tls.c (the engine) and
 * src/net/tls_cert.c (certificate files) share. Nothing outside src/net
 * includes this; the module's manual is tls.h.
 */
#ifndef TT_NET_TLS_INT_H
#define TT_NET_TLS_INT_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* A certificate, the chain after it and its key, as loaded; all three are
 * owned by the pair (tt_tls_pair_fini). */
struct tt_tls_pair {
	X509 *leaf;
	STACK_OF(X509) * chain; /* certificates after the leaf; NULL = none */
	EVP_PKEY *key;
};

/* printf into buf[0..cap), "" when formatting fails; cap 0 writes nothing. */
void tt_tls_say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* OpenSSL's reason for the last error queued, and the queue emptied. */
const char *tt_tls_ossl_reason(void);

/* Load a PEM certificate file (leaf first, then its chain) and a PEM key,
 * and check that they match. 0, or -1 with "FILE: reason" in err and p
 * left empty. Leaves the OpenSSL error queue empty. */
int tt_tls_pair_load(struct tt_tls_pair *p, const char *cert_file, const char *key_file, char *err,
                     size_t errcap);

/* Free what p holds and zero it; an empty pair is fine. */
void tt_tls_pair_fini(struct tt_tls_pair *p);

/* The passphrase callback: never prompt on the terminal, so an encrypted
 * key is an error (the config has no passphrase key). */
int tt_tls_no_password(char *buf, int size, int rwflag, void *u);

/* A name in RFC 2253 form ("CN=localhost,O=Example") into buf, cut to cap. */
void tt_tls_name_text(const X509_NAME *n, char *buf, size_t cap);

/* A time as "2026-12-31T23:59:59Z" into buf; "" when unreadable. */
void tt_tls_time_text(const ASN1_TIME *t, char *buf, size_t cap);

#endif
