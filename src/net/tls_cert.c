/*
 * Certificate files: loading a PEM certificate, its chain and its key for
 * the engine (src/net/tls.c), checking a pair for `telltale check`, and
 * the text forms of names and dates that logs, messages and tt_tls_info
 * share.
 *
 * Invariant: every function leaves the OpenSSL error queue empty (it is
 * per thread and shared by every connection of a worker) and never
 * prompts on the terminal.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/tls.h"
#include "net/tls_int.h"

void tt_tls_say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (cap == 0)
		return;
	va_start(ap, fmt);
	if (vsnprintf(buf, cap, fmt, ap) < 0)
		buf[0] = 0;
	va_end(ap);
}

const char *tt_tls_ossl_reason(void)
{
	const char *r = ERR_reason_error_string(ERR_peek_last_error());

	ERR_clear_error();
	return r ? r : "unknown error";
}

int tt_tls_no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

void tt_tls_name_text(const X509_NAME *n, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len = 0;

	buf[0] = 0;
	if (!b || cap == 0)
		goto out;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		len = BIO_read(b, buf, (int)(cap - 1 < INT_MAX ? cap - 1 : INT_MAX));
	buf[len > 0 ? len : 0] = 0;
out:
	BIO_free(b);
}

void tt_tls_time_text(const ASN1_TIME *t, char *buf, size_t cap)
{
	struct tm tm;

	buf[0] = 0;
	if (t && ASN1_TIME_to_tm(t, &tm) == 1)
		strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void tt_tls_pair_fini(struct tt_tls_pair *p)
{
	X509_free(p->leaf);
	sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof(*p));
}

/* Read the leaf and the chain after it from a PEM file. 0 or -1. */
static int read_certs(struct tt_tls_pair *p, const char *file, char *err, size_t errcap)
{
	BIO *b = BIO_new_file(file, "r");
	X509 *x;

	if (!b) {
		tt_tls_say(err, errcap, "%s: cannot open: %s", file, strerror(errno));
		ERR_clear_error();
		return -1;
	}
	p->leaf = PEM_read_bio_X509(b, NULL, tt_tls_no_password, NULL);
	if (!p->leaf) {
		tt_tls_say(err, errcap, "%s: no PEM certificate in it (%s)", file,
		           tt_tls_ossl_reason());
		BIO_free(b);
		return -1;
	}
	while ((x = PEM_read_bio_X509(b, NULL, tt_tls_no_password, NULL)) != NULL) {
		if (!p->chain)
			p->chain = sk_X509_new_null();
		if (!p->chain || !sk_X509_push(p->chain, x))
			abort();
	}
	/* The loop ends on "no start line": the end of the file. */
	ERR_clear_error();
	BIO_free(b);
	return 0;
}

int tt_tls_pair_load(struct tt_tls_pair *p, const char *cert, const char *key, char *err,
                     size_t errcap)
{
	BIO *b;

	memset(p, 0, sizeof(*p));
	if (read_certs(p, cert, err, errcap) != 0)
		return -1;
	b = BIO_new_file(key, "r");
	if (!b) {
		tt_tls_say(err, errcap, "%s: cannot open: %s", key, strerror(errno));
		goto fail;
	}
	p->key = PEM_read_bio_PrivateKey(b, NULL, tt_tls_no_password, NULL);
	BIO_free(b);
	if (!p->key) {
		tt_tls_say(err, errcap,
		           "%s: no readable PEM private key (encrypted keys are not supported): %s",
		           key, tt_tls_ossl_reason());
		goto fail;
	}
	if (X509_check_private_key(p->leaf, p->key) != 1) {
		tt_tls_say(err, errcap, "%s: the key does not match the certificate in %s", key,
		           cert);
		goto fail;
	}
	return 0;
fail:
	ERR_clear_error();
	tt_tls_pair_fini(p);
	return -1;
}

/* Append "DNS:a, IP:b" (the subjectAltNames) to buf. */
static void san_text(X509 *x, char *buf, size_t cap)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t len = 0;

	buf[0] = 0;
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && len + 1 < cap; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		char ip[64];
		int n = 0;

		if (g->type == GEN_DNS) {
			n = snprintf(buf + len, cap - len, "%sDNS:%.*s", len ? ", " : "",
			             ASN1_STRING_length(g->d.dNSName),
			             (const char *)ASN1_STRING_get0_data(g->d.dNSName));
		} else if (g->type == GEN_IPADD) {
			int alen = ASN1_STRING_length(g->d.iPAddress);
			int af = alen == 4 ? AF_INET : AF_INET6;
			if ((alen != 4 && alen != 16) ||
			    !inet_ntop(af, ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)))
				continue;
			n = snprintf(buf + len, cap - len, "%sIP:%s", len ? ", " : "", ip);
		}
		if (n > 0)
			len += (size_t)n < cap - len ? (size_t)n : cap - len - 1;
	}
	GENERAL_NAMES_free(names);
}

enum tt_tls_check tt_tls_check_pair(const char *cert_file, const char *key_file, char *msg,
                                    size_t msgcap)
{
	struct tt_tls_pair p;
	char subject[128], sans[256], until[24];
	int days = 0, secs = 0;
	enum tt_tls_check rc = TT_TLS_CHECK_OK;

	if (tt_tls_pair_load(&p, cert_file, key_file, msg, msgcap) != 0)
		return TT_TLS_CHECK_ERROR;
	tt_tls_name_text(X509_get_subject_name(p.leaf), subject, sizeof(subject));
	san_text(p.leaf, sans, sizeof(sans));
	tt_tls_time_text(X509_get0_notAfter(p.leaf), until, sizeof(until));
	/* From now (NULL) to notAfter: negative when already past. */
	if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(p.leaf))) {
		tt_tls_say(msg, msgcap, "%s: unreadable notAfter date", cert_file);
		rc = TT_TLS_CHECK_ERROR;
	} else if (X509_cmp_current_time(X509_get0_notBefore(p.leaf)) > 0) {
		char from[24];
		tt_tls_time_text(X509_get0_notBefore(p.leaf), from, sizeof(from));
		tt_tls_say(msg, msgcap,
		           "%s: not valid before %s (subject %s; names %s; notAfter %s)", cert_file,
		           from, subject, sans[0] ? sans : "none", until);
		rc = TT_TLS_CHECK_ERROR;
	} else if (days < 0 || secs < 0) {
		tt_tls_say(msg, msgcap, "%s: expired on %s, %d days ago (subject %s; names %s)",
		           cert_file, until, days < 0 ? -days : 0, subject,
		           sans[0] ? sans : "none");
		rc = TT_TLS_CHECK_ERROR;
	} else if (days < TT_TLS_EXPIRY_WARN_DAYS) {
		tt_tls_say(msg, msgcap, "%s: expires in %d days, on %s (subject %s; names %s)",
		           cert_file, days, until, subject, sans[0] ? sans : "none");
		rc = TT_TLS_CHECK_WARN;
	} else {
		tt_tls_say(msg, msgcap, "%s: valid until %s, %d days left (subject %s; names %s)",
		           cert_file, until, days, subject, sans[0] ? sans : "none");
	}
	ERR_clear_error();
	tt_tls_pair_fini(&p);
	return rc;
}
