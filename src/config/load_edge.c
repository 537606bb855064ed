/*
 * The protocols at the edges in the config file (issue 5): `listen`
 * entries with `tls` (telltale terminates TLS), an upstream group's `tls`
 * (telltale speaks TLS to its servers), and the `resolver` that turns
 * upstream host names into addresses at run time (docs/tls.md,
 * docs/dns.md, docs/config.md).
 *
 * TLS contexts are built here, at load time, with the engine (net/tls.h),
 * so a missing file, a key that does not match or an expired certificate
 * stops `telltale check` and the start with the key's file:line:col; the
 * contexts are shared by every worker and released with the config.
 * Relative paths are taken from the config file's folder, as error_page.
 */
#include "config/load_int.h"
#include "net/tls.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMESERVERS 8
#define MAX_TRIES       8

void tt_cfg_tls_listener_free(struct tt_cfg_tls_listener *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncerts; i++) {
		free(t->certs[i].cert);
		free(t->certs[i].key);
	}
	free(t->certs);
	free(t->client_ca);
	struct tt_tls_ctx *ctx = t->ctx;
	tt_tls_ctx_unref(&ctx);
	free(t);
}

void tt_cfg_tls_upstream_free(struct tt_cfg_tls_upstream *t)
{
	if (!t)
		return;
	free(t->ca_file);
	free(t->sni);
	free(t->client_cert);
	free(t->client_key);
	struct tt_tls_ctx *ctx = t->ctx;
	tt_tls_ctx_unref(&ctx);
	free(t);
}

/* A path as the engine should open it: relative ones from the config
 * file's folder. */
static char *full_path(struct tt_ld *l, const char *path)
{
	const char *file = l->d->file, *slash = file ? strrchr(file, '/') : NULL;
	char full[4096];
	if (path[0] == '/' || !slash)
		return tt_cfg_strdup(path);
	snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - file), file, path);
	return tt_cfg_strdup(full);
}

/* A path value: not empty; NULL after reporting. */
static char *path_of(struct tt_ld *l, const char *what, const struct tt_ynode *v)
{
	if (!v->str[0]) {
		tt_ld_say(l, v, "give the path of a PEM file", "%s: the path is empty", what);
		return NULL;
	}
	return full_path(l, v->str);
}

/* min_version: "1.2" or "1.3" -> 12 or 13; 0 after reporting. */
static unsigned tls_version(struct tt_ld *l, const char *what, const struct tt_ynode *v)
{
	char q[280];
	if (!v)
		return 12;
	if (!strcmp(v->str, "1.2"))
		return 12;
	if (!strcmp(v->str, "1.3"))
		return 13;
	tt_cfg_quote(q, sizeof(q), v->str);
	tt_ld_say(l, v, "write \"1.2\" (the default) or \"1.3\"",
	          "%s.min_version: '%s' is not a TLS version", what, q);
	return 0;
}

static enum tt_tls_version engine_version(unsigned v)
{
	return v == 13 ? TT_TLS_VERSION_1_3 : TT_TLS_VERSION_1_2;
}

void tt_cfg_tls_client_spec(const struct tt_cfg_tls_upstream *t, struct tt_tls_client_spec *spec)
{
	*spec = (struct tt_tls_client_spec){.no_verify = !t->verify,
	                                    .ca_file = t->ca_file,
	                                    .sni = t->sni,
	                                    .client_cert = t->client_cert,
	                                    .client_key = t->client_key,
	                                    .min_version = engine_version(t->min_version)};
}

/* listen[].tls */

struct cert_tmp {
	const struct tt_ynode *cert, *key;
};

static const struct tt_ld_key cert_keys[] = {
    {"cert", TT_YN_SCALAR, "the path of a PEM certificate (leaf first, then the chain)", tt_ld_node,
     offsetof(struct cert_tmp, cert), 0, 0, 0},
    {"key", TT_YN_SCALAR, "the path of its PEM key", tt_ld_node, offsetof(struct cert_tmp, key), 0,
     0, 0},
};

struct ltls_tmp {
	const struct tt_ynode *certs, *client_ca, *min_version;
	int redirect_http;
};

static const struct tt_ld_key ltls_keys[] = {
    {"certificates", TT_YN_SEQ, "a list of {cert, key} pairs", tt_ld_node,
     offsetof(struct ltls_tmp, certs), 0, 0, 0},
    {"redirect_http", TT_YN_SCALAR, "true or false", tt_ld_bool,
     offsetof(struct ltls_tmp, redirect_http), 0, 1, 4},
    {"client_ca", TT_YN_SCALAR, "the path of a PEM CA bundle", tt_ld_node,
     offsetof(struct ltls_tmp, client_ca), 0, 0, 0},
    {"min_version", TT_YN_SCALAR, "\"1.2\" or \"1.3\"", tt_ld_node,
     offsetof(struct ltls_tmp, min_version), 0, 0, 0},
};

/* One {cert, key} pair: read, checked with the engine (expired, not yet
 * valid, mismatched: an error; expiring soon: a warning) and kept. */
static void cert_one(struct tt_ld *l, const char *what, const struct tt_ynode *it,
                     struct tt_cfg_tls_listener *t)
{
	struct cert_tmp c = {NULL, NULL};
	char msg[512];
	if (it->kind != TT_YN_MAP) {
		if (it->kind != TT_YN_BAD)
			tt_ld_say(l, it, "write {cert: FILE.pem, key: FILE.key}",
			          "%s must be a mapping, found %s", what, tt_yn_kind_name(it));
		return;
	}
	tt_ld_walk_map(l, it, what, cert_keys, TT_LD_NKEYS(cert_keys), NULL, &c);
	if (!c.cert || !c.key) {
		if (!tt_ld_has_key(it, c.cert ? "key" : "cert"))
			tt_ld_say(l, it, "write {cert: FILE.pem, key: FILE.key}", "%s has no '%s'",
			          what, c.cert ? "key" : "cert");
		return;
	}
	char *cert = path_of(l, what, c.cert), *key = path_of(l, what, c.key);
	if (!cert || !key) {
		free(cert);
		free(key);
		return;
	}
	enum tt_tls_check r = tt_tls_check_pair(cert, key, msg, sizeof(msg));
	if (r == TT_TLS_CHECK_ERROR)
		tt_ld_say(l, c.cert, "check the files with: openssl x509 -noout -text -in CERT",
		          "%s: %s", what, msg);
	else if (r == TT_TLS_CHECK_WARN)
		tt_ld_warn(l, c.cert, "renew the certificate before it expires", "%s: %s", what,
		           msg);
	t->certs = realloc(t->certs, (t->ncerts + 1) * sizeof(*t->certs));
	if (!t->certs)
		abort();
	t->certs[t->ncerts++] = (struct tt_cfg_tls_cert){cert, key};
}

static void listener_ctx(struct tt_ld *l, const char *what, const struct tt_ynode *v,
                         struct tt_cfg_tls_listener *t)
{
	struct tt_tls_cert_spec specs[64];
	char err[512];
	if (t->ncerts > TT_LD_NKEYS(specs)) {
		tt_ld_say(l, v, "list at most 64 certificates", "%s: too many certificates", what);
		return;
	}
	for (size_t i = 0; i < t->ncerts; i++)
		specs[i] = (struct tt_tls_cert_spec){t->certs[i].cert, t->certs[i].key};
	struct tt_tls_server_spec spec = {.certs = specs,
	                                  .ncerts = t->ncerts,
	                                  .client_ca_file = t->client_ca,
	                                  .min_version = engine_version(t->min_version)};
	t->ctx = tt_tls_server_new(&spec, err, sizeof(err));
	if (!t->ctx)
		tt_ld_say(l, v, "check the certificate, key and CA files", "%s: %s", what, err);
}

static void listener_tls(struct tt_ld *l, const char *what, const struct tt_ynode *v,
                         struct tt_cfg_listener *ls)
{
	struct ltls_tmp tmp = {NULL, NULL, NULL, 0};
	char tw[TT_LD_WHAT_MAX];
	size_t before = tt_cfg_nproblems(l->d);
	snprintf(tw, sizeof(tw), "%.300s.tls", what);
	tt_ld_walk_map(l, v, tw, ltls_keys, TT_LD_NKEYS(ltls_keys), NULL, &tmp);
	struct tt_cfg_tls_listener *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	ls->tls = t;
	t->redirect_http = tmp.redirect_http;
	t->min_version = tls_version(l, tw, tmp.min_version);
	if (tmp.client_ca)
		t->client_ca = path_of(l, tw, tmp.client_ca);
	if (!tmp.certs) {
		if (!tt_ld_has_key(v, "certificates"))
			tt_ld_say(l, v, "add certificates: [{cert: FILE.pem, key: FILE.key}]",
			          "%s has no 'certificates'", tw);
		return;
	}
	if (tmp.certs->n == 0)
		tt_ld_say(l, tmp.certs, "list at least one {cert, key} pair",
		          "%s.certificates is empty", tw);
	for (size_t i = 0; i < tmp.certs->n; i++) {
		char cw[TT_LD_WHAT_MAX];
		snprintf(cw, sizeof(cw), "%.280s.certificates %zu", tw, i + 1);
		cert_one(l, cw, tmp.certs->items[i], t);
	}
	if (tt_cfg_nproblems(l->d) == before)
		listener_ctx(l, tw, v, t);
}

/* listen: entries are "host:port" or {address, tls}. */

struct listen_tmp {
	const struct tt_ynode *address, *tls;
};

static const struct tt_ld_key listen_keys[] = {
    {"address", TT_YN_SCALAR, "host:port, e.g. :443", tt_ld_node,
     offsetof(struct listen_tmp, address), 0, 0, 0},
    {"tls", TT_YN_MAP, "a mapping with certificates", tt_ld_node, offsetof(struct listen_tmp, tls),
     0, 0, 0},
};

/* Adds the listener; returns it, or NULL after reporting. */
static struct tt_cfg_listener *listen_one(struct tt_ld *l, const char *what,
                                          const struct tt_ynode *it, const unsigned *lines)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char why[128], q[280];
	struct tt_config *c = l->c;
	enum tt_val_err e = tt_val_addr(it->str, 1, &ss, &len, why, sizeof(why));
	if (e) {
		tt_cfg_value_problem(l->d, it->line, it->col, what, TT_CFG_V_LISTEN_ADDR, it->str,
		                     e, why);
		return NULL;
	}
	for (size_t j = 0; j < c->nlisteners; j++) {
		if (c->listeners[j].addr_len != len || memcmp(&c->listeners[j].addr, &ss, len))
			continue;
		tt_cfg_quote(q, sizeof(q), it->str);
		tt_ld_say(l, it, "give each address once",
		          "%s: '%s' is the same address as line %u", what, q, lines[j]);
		return NULL;
	}
	struct tt_cfg_listener *ls = tt_cfg_push_listener(c);
	ls->address = tt_cfg_strdup(it->str);
	ls->addr = ss;
	ls->addr_len = len;
	return ls;
}

/* One entry: its address node and its tls node (or NULL); 0 when unusable. */
static int listen_entry(struct tt_ld *l, const char *iw, const struct tt_ynode *it,
                        struct listen_tmp *t)
{
	if (it->kind == TT_YN_BAD)
		return 0;
	if (it->kind == TT_YN_SCALAR && !tt_yn_is_null(it)) {
		t->address = it;
		return 1;
	}
	if (it->kind != TT_YN_MAP) {
		tt_ld_say(l, it, "write host:port, or {address: host:port, tls: {...}}",
		          "%s must be an address or a mapping, found %s", iw, tt_yn_kind_name(it));
		return 0;
	}
	tt_ld_walk_map(l, it, iw, listen_keys, TT_LD_NKEYS(listen_keys), NULL, t);
	if (!t->address && !tt_ld_has_key(it, "address"))
		tt_ld_say(l, it, "write {address: \":443\", tls: {...}}", "%s has no 'address'",
		          iw);
	return t->address != NULL;
}

void tt_ld_listen(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                  const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	if (v->n == 0) {
		tt_ld_say(l, v, "list at least one address, e.g. listen: [\"127.0.0.1:8080\"]",
		          "'listen' is empty");
		return;
	}
	/* Lines of the listeners kept so far, to point a duplicate at its first. */
	unsigned *lines = calloc(v->n, sizeof(*lines));
	if (!lines)
		abort();
	for (size_t i = 0; i < v->n; i++) {
		struct listen_tmp t = {NULL, NULL};
		char iw[TT_LD_WHAT_MAX];
		snprintf(iw, sizeof(iw), "listen %zu", i + 1);
		if (!listen_entry(l, iw, v->items[i], &t))
			continue;
		size_t before = l->c->nlisteners;
		struct tt_cfg_listener *ls = listen_one(l, iw, t.address, lines);
		if (!ls)
			continue;
		lines[before] = t.address->line;
		if (t.tls)
			listener_tls(l, iw, t.tls, ls);
	}
	free(lines);
}

/* upstreams.NAME.tls */

struct utls_tmp {
	const struct tt_ynode *verify, *ca_file, *sni, *client_cert, *client_key, *min_version;
};

#define UT(f) offsetof(struct utls_tmp, f)
static const struct tt_ld_key utls_keys[] = {
    {"verify", TT_YN_SCALAR, "true (the default) or false", tt_ld_node, UT(verify), 0, 0, 0},
    {"ca_file", TT_YN_SCALAR, "the path of a PEM CA bundle", tt_ld_node, UT(ca_file), 0, 0, 0},
    {"sni", TT_YN_SCALAR, "a host name such as billing.internal", tt_ld_node, UT(sni), 0, 0, 0},
    {"client_cert", TT_YN_SCALAR, "the path of a PEM certificate", tt_ld_node, UT(client_cert), 0,
     0, 0},
    {"client_key", TT_YN_SCALAR, "the path of its PEM key", tt_ld_node, UT(client_key), 0, 0, 0},
    {"min_version", TT_YN_SCALAR, "\"1.2\" or \"1.3\"", tt_ld_node, UT(min_version), 0, 0, 0},
};
#undef UT

static int bad_sni(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return 1;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == '_'))
			return 1;
	return 0;
}

/* Reads the mapping into t; 0 when it had problems. */
static int utls_read(struct tt_ld *l, const char *what, const struct tt_ynode *v,
                     struct tt_cfg_tls_upstream *t)
{
	struct utls_tmp m = {0};
	char q[280];
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, what, utls_keys, TT_LD_NKEYS(utls_keys), NULL, &m);
	if (m.verify && tt_val_bool(m.verify->str, &t->verify)) {
		tt_cfg_quote(q, sizeof(q), m.verify->str);
		tt_ld_say(l, m.verify, "write true or false",
		          "%s.verify: '%s' is not true or false", what, q);
	} else if (m.verify && !t->verify) {
		tt_ld_warn(l, m.verify, "give the upstream's CA with tls.ca_file instead",
		           "%s.verify: false accepts any certificate, so anyone on the path can "
		           "pose as the upstream",
		           what);
	}
	if (m.sni && bad_sni(m.sni->str)) {
		tt_cfg_quote(q, sizeof(q), m.sni->str);
		tt_ld_say(l, m.sni, "write the host name in the upstream's certificate",
		          "%s.sni: '%s' is not a host name", what, q);
	} else if (m.sni) {
		t->sni = tt_cfg_strdup(m.sni->str);
	}
	if (m.ca_file)
		t->ca_file = path_of(l, what, m.ca_file);
	if (m.client_cert)
		t->client_cert = path_of(l, what, m.client_cert);
	if (m.client_key)
		t->client_key = path_of(l, what, m.client_key);
	if (m.client_cert && !m.client_key)
		tt_ld_say(l, m.client_cert, "add client_key: the PEM key of client_cert",
		          "%s: client_cert needs client_key", what);
	if (m.client_key && !m.client_cert)
		tt_ld_say(l, m.client_key, "add client_cert, or remove client_key",
		          "%s: client_key without client_cert", what);
	t->min_version = tls_version(l, what, m.min_version);
	return tt_cfg_nproblems(l->d) == before;
}

void tt_ld_upstream_tls(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                        const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	char err[512], q[280];
	int on = 1;
	if (v->kind == TT_YN_SCALAR && tt_val_bool(v->str, &on)) {
		tt_cfg_quote(q, sizeof(q), v->str);
		tt_ld_say(l, v, "write tls: true, or a mapping such as {ca_file: ca.pem}",
		          "%s: '%s' is not a choice", what, q);
		return;
	}
	if (!on)
		return;
	struct tt_cfg_tls_upstream *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	u->tls = t;
	t->verify = 1;
	t->min_version = 12;
	if (v->kind == TT_YN_MAP && !utls_read(l, what, v, t))
		return;
	struct tt_tls_client_spec spec;
	tt_cfg_tls_client_spec(t, &spec);
	t->ctx = tt_tls_client_new(&spec, err, sizeof(err));
	if (!t->ctx)
		tt_ld_say(l, v, "check the CA, certificate and key files", "%s: %s", what, err);
}

void tt_ld_upstream_tls_check(struct tt_ld *l, const struct tt_ynode *group, const char *what,
                              struct tt_cfg_upstream *u)
{
	const struct tt_ynode *at = tt_ld_value_of(group, "tls");
	char q[280];
	if (!u->tls || !at || !u->tls->verify || u->tls->sni)
		return;
	for (size_t i = 0; i < u->nservers; i++) {
		if (u->servers[i].dynamic)
			continue;
		tt_cfg_quote(q, sizeof(q), u->servers[i].address);
		tt_ld_warn(l, at,
		           "set tls.sni to the name in the certificate, or make sure the "
		           "certificate has the IP address as a subjectAltName",
		           "%s.tls: server '%s' is an IP address and tls.sni is not set: its "
		           "certificate must name that IP address",
		           what, q);
		return;
	}
}

/* resolver */

static void h_nameservers(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                          const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_resolver *r = obj;
	char q[280];
	for (size_t i = 0; i < v->n; i++) {
		const struct tt_ynode *it = v->items[i];
		if (it->kind == TT_YN_BAD)
			continue;
		if (i == MAX_NAMESERVERS) {
			tt_ld_say(l, it, "list at most 8 resolvers", "%s: more than 8 resolvers",
			          what);
			return;
		}
		if (it->kind != TT_YN_SCALAR || tt_yn_is_null(it)) {
			tt_ld_say(l, it, "write 10.0.0.53, 10.0.0.53:5353 or \"[2001:db8::53]:53\"",
			          "%s %zu must be a single value, found %s", what, i + 1,
			          tt_yn_kind_name(it));
			continue;
		}
		if (tt_val_nameserver(it->str) != TT_VAL_OK) {
			tt_cfg_quote(q, sizeof(q), it->str);
			tt_ld_say(l, it, "write 10.0.0.53, 10.0.0.53:5353 or \"[2001:db8::53]:53\"",
			          "%s %zu: '%s' is not an IP address with an optional port", what,
			          i + 1, q);
			continue;
		}
		r->servers = realloc(r->servers, (r->nservers + 1) * sizeof(*r->servers));
		if (!r->servers)
			abort();
		r->servers[r->nservers++] = tt_cfg_strdup(it->str);
	}
}

#define RS(f) offsetof(struct tt_cfg_resolver, f)
static const struct tt_ld_key resolver_keys[] = {
    {"servers", TT_YN_SEQ, "a list of addresses, e.g. [10.0.0.53, \"10.0.0.54:5353\"]",
     h_nameservers, 0, 0, 0, 0},
    {"timeout", TT_YN_SCALAR, "a duration greater than 0, such as 2s", tt_ld_duration,
     RS(timeout_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"tries", TT_YN_SCALAR, "an integer from 1 to 8", tt_ld_uint, RS(tries), 1, MAX_TRIES, 4},
    {"min_ttl", TT_YN_SCALAR, "a duration such as 1s", tt_ld_duration, RS(min_ttl_ms), 0,
     TT_VAL_DURATION_MAX_MS, 8},
    {"max_ttl", TT_YN_SCALAR, "a duration such as 5m", tt_ld_duration, RS(max_ttl_ms), 0,
     TT_VAL_DURATION_MAX_MS, 8},
    {"stale", TT_YN_SCALAR, "a duration such as 5m, or 0 for off", tt_ld_duration, RS(stale_ms), 0,
     TT_VAL_DURATION_MAX_MS, 8},
};

static const struct tt_ld_order ttl_order = {
    .lo = "min_ttl",
    .hi = "max_ttl",
    .lo_off = RS(min_ttl_ms),
    .hi_off = RS(max_ttl_ms),
    .hint = "answers are kept between min_ttl and max_ttl; make max_ttl at least min_ttl",
};
#undef RS

void tt_ld_resolver(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, "resolver", resolver_keys, TT_LD_NKEYS(resolver_keys), NULL,
	               &l->c->resolver);
	tt_ld_check_order(l, v, "resolver", &ttl_order, &l->c->resolver, before);
}
