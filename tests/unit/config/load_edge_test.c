/*
 * The protocols at the edges in the config file (src/config/load_edge.c):
 * listen entries with tls, upstream groups with tls, the resolver, the
 * handshake and tunnel timeouts, and warnings (which do not fail a load).
 * Certificates are made once per run by the `openssl` command in a
 * temporary directory, like tests/unit/net/tls_test.c: a CA, a good pair,
 * an expired one, one expiring in 5 days, and a client pair.
 */
#include "config/cfg_helpers.h"

#include <criterion/hooks.h>

static const char make_certs[] =
    "set -e; cd \"$TT_CFG_TEST_DIR\"\n"
    "EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "openssl req -x509 $EC -subj '/CN=Test CA' -days 30 -keyout ca.key -out ca.crt\n"
    "sign() { openssl req -new $EC -subj \"/CN=$2\" -keyout $1.key -out $1.csr\n"
    "  printf 'subjectAltName=DNS:%s\\n' \"$2\" >$1.ext\n"
    "  openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days $3 \\\n"
    "    -extfile $1.ext -out $1.crt; }\n"
    "sign good localhost 30\n"
    "sign other other.test 30\n"
    "sign expired localhost -1\n"
    "sign soon localhost 5\n"
    "sign client client 30\n";

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char dir[] = "/tmp/tt_cfg_edge.XXXXXX";
	FILE *sh;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	setenv("TT_CFG_TEST_DIR", dir, 1);
	sh = popen("sh >/dev/null 2>&1", "w");
	if (!sh || fputs(make_certs, sh) < 0 || pclose(sh) != 0) {
		fprintf(stderr, "load_edge_test: making certificates with openssl failed\n");
		exit(1);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *dir = getenv("TT_CFG_TEST_DIR");
	char cmd[256];
	if (dir && strncmp(dir, "/tmp/tt_cfg_edge.", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "load_edge_test: could not remove %s\n", dir);
	}
}

/* The YAML with every "@" replaced by the certificate directory. */
static int loadf(const char *yaml)
{
	static char out[8192];
	const char *dir = getenv("TT_CFG_TEST_DIR");
	size_t o = 0;
	for (const char *p = yaml; *p && o + 256 < sizeof(out); p++) {
		if (*p == '@')
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", dir);
		else
			out[o++] = *p;
	}
	out[o] = 0;
	return load(out);
}

#define UPS "upstreams:\n  app:\n    servers: [127.0.0.1:8000]\n"

TestSuite(edge, .init = setup, .fini = teardown);

Test(edge, defaults)
{
	cr_assert_eq(load(BASE), 0, "%s", printed());
	cr_assert_eq(C->timeouts.upstream_handshake_ms, 5000);
	cr_assert_eq(C->timeouts.tunnel_idle_ms, 600000);
	cr_assert_eq(C->resolver.nservers, 0);
	cr_assert_eq(C->resolver.timeout_ms, 2000);
	cr_assert_eq(C->resolver.tries, 2);
	cr_assert_eq(C->resolver.min_ttl_ms, 1000);
	cr_assert_eq(C->resolver.max_ttl_ms, 300000);
	cr_assert_eq(C->resolver.stale_ms, 300000);
	cr_assert_null(C->listeners[0].tls);
	cr_assert_null(C->upstreams[0].tls);
	cr_assert_eq(D.nwarnings, 0);
}

Test(edge, timeouts_handshake_and_tunnel)
{
	cr_assert_eq(load(BASE "timeouts:\n  upstream_handshake: 0\n  tunnel_idle: 30s\n"), 0, "%s",
	             printed());
	cr_assert_eq(C->timeouts.upstream_handshake_ms, 0);
	cr_assert_eq(C->timeouts.tunnel_idle_ms, 30000);
	cr_assert_eq(load(BASE "timeouts:\n  upstream_handshake: 5\n  tunnel_idle: soon\n"), 2);
	expect_diag(6, 23, "timeouts.upstream_handshake: '5' has no unit");
	expect_diag(7, 16, "timeouts.tunnel_idle: 'soon' is not a duration");
}

Test(edge, resolver_keys)
{
	cr_assert_eq(load(BASE "resolver:\n"
	                       "  servers: [10.0.0.53, \"10.0.0.54:5353\", \"[2001:db8::53]:53\"]\n"
	                       "  timeout: 1500ms\n"
	                       "  tries: 3\n"
	                       "  min_ttl: 0\n"
	                       "  max_ttl: 1m\n"
	                       "  stale: 0\n"),
	             0, "%s", printed());
	cr_assert_eq(C->resolver.nservers, 3);
	cr_assert_str_eq(C->resolver.servers[0], "10.0.0.53");
	cr_assert_str_eq(C->resolver.servers[1], "10.0.0.54:5353");
	cr_assert_str_eq(C->resolver.servers[2], "[2001:db8::53]:53");
	cr_assert_eq(C->resolver.timeout_ms, 1500);
	cr_assert_eq(C->resolver.tries, 3);
	cr_assert_eq(C->resolver.min_ttl_ms, 0);
	cr_assert_eq(C->resolver.max_ttl_ms, 60000);
	cr_assert_eq(C->resolver.stale_ms, 0);
}

Test(edge, resolver_errors)
{
	cr_assert_eq(load(BASE "resolver:\n"
	                       "  servers: [dns.internal, 10.0.0.1:0, [1]]\n"
	                       "  timeout: 0\n"
	                       "  tries: 9\n"
	                       "  min_ttl: 10s\n"
	                       "  max_ttl: 5s\n"
	                       "  retries: 2\n"),
	             6, "%s", printed());
	expect_hint(6, 13, "resolver.servers 1: 'dns.internal' is not an IP address",
	            "10.0.0.53:5353");
	expect_diag(6, 27, "resolver.servers 2: '10.0.0.1:0' is not an IP address");
	expect_diag(6, 39, "resolver.servers 3 must be a single value");
	expect_diag(7, 12, "resolver.timeout: must be greater than 0");
	expect_diag(8, 10, "resolver.tries: 9 is out of range");
	expect_hint(11, 3, "unknown key 'retries' in 'resolver'", "did you mean 'tries'?");
	/* The order check waits until the values themselves are good. */
	cr_assert_eq(load(BASE "resolver:\n  min_ttl: 10s\n  max_ttl: 5s\n"), 1, "%s", printed());
	expect_hint(7, 12, "resolver.max_ttl: '5s' must be at least min_ttl (10s)",
	            "make max_ttl at least min_ttl");
	cr_assert_eq(load(BASE
	                  "resolver:\n  servers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, "
	                  "1.1.1.6, 1.1.1.7, 1.1.1.8, 1.1.1.9]\n"),
	             1, "%s", printed());
	expect_diag(6, 85, "resolver.servers: more than 8 resolvers");
}

Test(edge, listen_tls_builds_a_context)
{
	cr_assert_eq(loadf("listen:\n"
	                   "  - 127.0.0.1:8080\n"
	                   "  - address: 127.0.0.1:8443\n"
	                   "    tls:\n"
	                   "      certificates:\n"
	                   "        - {cert: @/good.crt, key: @/good.key}\n"
	                   "        - {cert: @/other.crt, key: @/other.key}\n"
	                   "      redirect_http: true\n"
	                   "      client_ca: @/ca.crt\n"
	                   "      min_version: \"1.3\"\n" UPS),
	             0, "%s", printed());
	cr_assert_eq(D.n, 0, "%s", printed());
	cr_assert_eq(C->nlisteners, 2);
	cr_assert_null(C->listeners[0].tls);
	const struct tt_cfg_tls_listener *t = C->listeners[1].tls;
	cr_assert_not_null(t);
	cr_assert_str_eq(C->listeners[1].address, "127.0.0.1:8443");
	cr_assert_eq(t->ncerts, 2);
	cr_assert(strstr(t->certs[1].cert, "/other.crt"));
	cr_assert(strstr(t->certs[1].key, "/other.key"));
	cr_assert_eq(t->redirect_http, 1);
	cr_assert(strstr(t->client_ca, "/ca.crt"));
	cr_assert_eq(t->min_version, 13);
	cr_assert_not_null(t->ctx);
}

Test(edge, listen_tls_defaults_and_relative_paths)
{
	char name[512], yaml[512];
	snprintf(name, sizeof(name), "%s/t.yaml", getenv("TT_CFG_TEST_DIR"));
	snprintf(yaml, sizeof(yaml),
	         "listen:\n  - address: :8443\n    tls: {certificates: [{cert: good.crt, key: "
	         "good.key}]}\n" UPS);
	cr_assert_eq(tt_cfg_load_string(name, yaml, strlen(yaml), &C, &D), 0, "%s", printed());
	const struct tt_cfg_tls_listener *t = C->listeners[0].tls;
	char want[512];
	snprintf(want, sizeof(want), "%s/good.crt", getenv("TT_CFG_TEST_DIR"));
	cr_assert_str_eq(t->certs[0].cert, want);
	cr_assert_eq(t->redirect_http, 0);
	cr_assert_null(t->client_ca);
	cr_assert_eq(t->min_version, 12);
	cr_assert_not_null(t->ctx);
}

Test(edge, listen_tls_errors_at_the_key)
{
	cr_assert_eq(loadf("listen:\n"
	                   "  - address: :8443\n"
	                   "    tls:\n"
	                   "      certificates:\n"
	                   "        - {cert: @/expired.crt, key: @/expired.key}\n"
	                   "        - {cert: @/good.crt, key: @/other.key}\n"
	                   "        - {cert: @/none.crt, key: @/good.key}\n"
	                   "        - {cert: @/good.crt}\n"
	                   "      min_version: \"1.1\"\n"
	                   "  - tls: {certificates: []}\n"
	                   "  - address: :8444\n"
	                   "    tls: {redirect_http: true}\n" UPS),
	             7, "%s", printed());
	expect_hint(5, 18, "listen 1.tls.certificates 1: ", "openssl x509");
	expect_diag(5, 18, "expired.crt: expired on 20");
	expect_diag(6, 18, "listen 1.tls.certificates 2: ");
	expect_diag(7, 18, "none.crt");
	expect_diag(8, 11, "listen 1.tls.certificates 4 has no 'key'");
	expect_hint(9, 20, "listen 1.tls.min_version: '1.1' is not a TLS version", "\"1.3\"");
	expect_diag(10, 5, "listen 2 has no 'address'");
	expect_diag(12, 10, "listen 3.tls has no 'certificates'");
}

Test(edge, listen_tls_engine_failure_is_reported_at_tls)
{
	/* The pair is fine; the CA file is not: the engine says why. */
	cr_assert_eq(loadf("listen:\n"
	                   "  - address: :8443\n"
	                   "    tls:\n"
	                   "      certificates: [{cert: @/good.crt, key: @/good.key}]\n"
	                   "      client_ca: @/missing-ca.crt\n" UPS),
	             1, "%s", printed());
	expect_diag(4, 7, "listen 1.tls: ");
	expect_diag(4, 7, "missing-ca.crt");
}

Test(edge, expiring_certificate_is_a_warning)
{
	cr_assert_eq(loadf("listen:\n"
	                   "  - address: :8443\n"
	                   "    tls:\n"
	                   "      certificates: [{cert: @/soon.crt, key: @/soon.key}]\n" UPS),
	             0, "%s", printed());
	cr_assert_not_null(C);
	cr_assert_not_null(C->listeners[0].tls->ctx);
	cr_assert_eq(D.nerrors, 0);
	cr_assert_eq(D.nwarnings, 1);
	cr_assert_eq(D.items[0].severity, TT_CFG_WARNING);
	expect_hint(4, 29, "listen 1.tls.certificates 1: ", "renew");
	cr_assert(strstr(printed(), "t.yaml:4:29: warning: listen 1.tls.certificates 1: "), "%s",
	          printed());
	cr_assert(strstr(printed(), "soon.crt: expires in "), "%s", printed());
	/* A warning does not hide errors, nor turn into one. */
	cr_assert_eq(loadf("listen:\n"
	                   "  - address: :8443\n"
	                   "    tls:\n"
	                   "      certificates: [{cert: @/soon.crt, key: @/soon.key}]\n"
	                   "  - 127.0.0.1\n" UPS),
	             1, "%s", printed());
	cr_assert_null(C);
	cr_assert_eq(D.nwarnings, 1);
	cr_assert(strstr(printed(), ": error: listen 2: '127.0.0.1' needs a port"), "%s",
	          printed());
}

Test(edge, upstream_tls_true_and_mapping)
{
	cr_assert_eq(loadf(BASE "    tls: true\n"
	                        "  billing:\n"
	                        "    servers: [billing-1.internal:8443]\n"
	                        "    tls:\n"
	                        "      verify: true\n"
	                        "      ca_file: @/ca.crt\n"
	                        "      sni: billing.internal\n"
	                        "      client_cert: @/client.crt\n"
	                        "      client_key: @/client.key\n"
	                        "      min_version: \"1.3\"\n"
	                        "routes: [{path: /, upstream: app}]\n"),
	             0, "%s", printed());
	const struct tt_cfg_tls_upstream *a = C->upstreams[0].tls, *b = C->upstreams[1].tls;
	cr_assert_not_null(a);
	cr_assert_eq(a->verify, 1);
	cr_assert_null(a->ca_file);
	cr_assert_null(a->sni);
	cr_assert_eq(a->min_version, 12);
	cr_assert_not_null(a->ctx);
	cr_assert_eq(b->verify, 1);
	cr_assert(strstr(b->ca_file, "/ca.crt"));
	cr_assert_str_eq(b->sni, "billing.internal");
	cr_assert(strstr(b->client_cert, "/client.crt"));
	cr_assert(strstr(b->client_key, "/client.key"));
	cr_assert_eq(b->min_version, 13);
	cr_assert_not_null(b->ctx);
	/* tls: true on IP literals without sni: the certificate needs an IP SAN. */
	cr_assert_eq(D.nwarnings, 1, "%s", printed());
	expect_hint(5, 10, "upstreams.app.tls: server '127.0.0.1:8000' is an IP address",
	            "set tls.sni");
	cr_assert_eq(load(BASE "    tls: false\n"), 0, "%s", printed());
	cr_assert_null(C->upstreams[0].tls);
}

Test(edge, upstream_tls_warnings)
{
	cr_assert_eq(load(BASE "    tls: {verify: false}\n"), 0, "%s", printed());
	cr_assert_eq(C->upstreams[0].tls->verify, 0);
	cr_assert_not_null(C->upstreams[0].tls->ctx);
	cr_assert_eq(D.nwarnings, 1, "%s", printed());
	expect_hint(5, 19, "upstreams.app.tls.verify: false accepts any certificate",
	            "tls.ca_file");
	/* sni set, or servers by name: nothing to say. */
	cr_assert_eq(load(BASE "    tls: {sni: app.internal}\n"), 0, "%s", printed());
	cr_assert_eq(D.n, 0, "%s", printed());
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n  app:\n    servers: [app.internal:443]\n    tls: true\n"),
	             0, "%s", printed());
	cr_assert_eq(D.n, 0, "%s", printed());
}

Test(edge, upstream_tls_errors)
{
	cr_assert_eq(loadf(BASE "    tls:\n"
	                        "      verify: maybe\n"
	                        "      sni: \"bad name\"\n"
	                        "      client_cert: @/client.crt\n"
	                        "      min_version: \"2\"\n"
	                        "      cafile: x\n"
	                        "  two:\n"
	                        "    servers: [127.0.0.1:9000]\n"
	                        "    tls: maybe\n"
	                        "  three:\n"
	                        "    servers: [127.0.0.1:9001]\n"
	                        "    tls: {ca_file: @/missing.pem}\n"
	                        "routes: [{path: /, upstream: app}]\n"),
	             7, "%s", printed());
	expect_diag(6, 15, "upstreams.app.tls.verify: 'maybe' is not true or false");
	expect_diag(7, 12, "upstreams.app.tls.sni: 'bad name' is not a host name");
	expect_hint(8, 20, "upstreams.app.tls: client_cert needs client_key", "client_key");
	expect_diag(9, 20, "upstreams.app.tls.min_version: '2' is not a TLS version");
	expect_hint(10, 7, "unknown key 'cafile' in 'upstreams.app.tls'",
	            "did you mean 'ca_file'?");
	expect_diag(13, 10, "upstreams.two.tls: 'maybe' is not a choice");
	expect_diag(16, 10, "upstreams.three.tls: ");
	expect_diag(16, 10, "missing.pem");
}
