/*
 * The TLS engine (src/net/tls.c) and certificate checks (src/net/tls_cert.c)
 * against real OpenSSL, with no network: a client and a
 * server tt_tls_conn pass bytes to each other in memory. The certificates
 * are made once per run by the `openssl` command in a temporary directory
 * (a CA, certificates for localhost and other.test signed by it, an
 * expired one, one expiring in 5 days, a self-signed one, one for a wrong
 * name, one from an untrusted CA, a client certificate), whose path the
 * test processes find in TT_TLS_TEST_DIR.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "net/tls.h"

/* EC P-256 keys: fast to make, and accepted at security level 2. */
static const char make_certs[] =
    "set -e; cd \"$TT_TLS_TEST_DIR\"\n"
    "EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "ca() { openssl req -x509 $EC -subj \"/CN=$2\" -days 30 -keyout $1.key -out $1.crt; }\n"
    "sign() { openssl req -new $EC -subj \"/CN=$2\" -keyout $1.key -out $1.csr\n"
    "  printf 'subjectAltName=%s\\n' \"$3\" >$1.ext\n"
    "  openssl x509 -req -in $1.csr -CA $5.crt -CAkey $5.key -CAcreateserial -days $4 \\\n"
    "    -extfile $1.ext -out $1.crt; }\n"
    "ca ca 'Test CA'; ca ca2 'Other CA'\n"
    "sign localhost localhost DNS:localhost,IP:127.0.0.1 30 ca\n"
    "sign other other.test DNS:other.test 30 ca\n"
    "sign expired localhost DNS:localhost -1 ca\n"
    "sign soon localhost DNS:localhost 5 ca\n"
    "sign wrong wrong.test DNS:wrong.test 30 ca\n"
    "sign unknown localhost DNS:localhost 30 ca2\n"
    "sign client client DNS:client 30 ca\n"
    "openssl req -x509 $EC -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 30 \\\n"
    "  -keyout self.key -out self.crt\n";

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char dir[] = "/tmp/tt_tls_test.XXXXXX";
	FILE *sh;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(1);
	}
	setenv("TT_TLS_TEST_DIR", dir, 1);
	sh = popen("sh >/dev/null 2>&1", "w");
	if (!sh || fputs(make_certs, sh) < 0 || pclose(sh) != 0) {
		fprintf(stderr, "tls_test: making certificates with openssl failed\n");
		exit(1);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *dir = getenv("TT_TLS_TEST_DIR");
	char cmd[256];

	if (dir && strncmp(dir, "/tmp/tt_tls_test.", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "tls_test: could not remove %s\n", dir);
	}
}

/* "DIR/name", from a small ring of buffers (a test uses a few at once). */
static const char *file(const char *name)
{
	static char ring[8][512];
	static int next;
	char *p = ring[next++ % 8];

	snprintf(p, sizeof(ring[0]), "%s/%s", getenv("TT_TLS_TEST_DIR"), name);
	return p;
}

/* A server with the named certificate/key pairs ("localhost", "other"). */
static struct tt_tls_ctx *server(const char *const *names, size_t n,
                                 const struct tt_tls_server_spec *extra)
{
	struct tt_tls_cert_spec certs[4];
	struct tt_tls_server_spec spec = {0};
	char err[256], crt[64], key[64];
	struct tt_tls_ctx *c;

	if (extra)
		spec = *extra;
	for (size_t i = 0; i < n; i++) {
		snprintf(crt, sizeof(crt), "%s.crt", names[i]);
		snprintf(key, sizeof(key), "%s.key", names[i]);
		certs[i].cert_file = strdup(file(crt));
		certs[i].key_file = strdup(file(key));
	}
	spec.certs = certs;
	spec.ncerts = n;
	c = tt_tls_server_new(&spec, err, sizeof(err));
	cr_assert_not_null(c, "server_new: %s", err);
	for (size_t i = 0; i < n; i++) {
		free((char *)certs[i].cert_file);
		free((char *)certs[i].key_file);
	}
	return c;
}

static struct tt_tls_ctx *server1(const char *name)
{
	const char *names[] = {name};
	return server(names, 1, NULL);
}

/* A client trusting the test CA, with spec fields from extra. */
static struct tt_tls_ctx *client(const struct tt_tls_client_spec *extra)
{
	struct tt_tls_client_spec spec = {0};
	struct tt_tls_ctx *c;
	char err[256];

	if (extra)
		spec = *extra;
	if (!spec.ca_file)
		spec.ca_file = file("ca.crt");
	c = tt_tls_client_new(&spec, err, sizeof(err));
	cr_assert_not_null(c, "client_new: %s", err);
	return c;
}

/* Move what `from` has to send into `to`, as far as `to` takes it. */
static size_t move(struct tt_tls_conn *from, struct tt_tls_conn *to)
{
	const char *p;
	size_t n, total = 0;

	while ((n = tt_tls_pending_out(from, &p)) > 0) {
		size_t took = tt_tls_feed(to, p, n);
		tt_tls_consumed_out(from, took);
		total += took;
		if (took < n)
			break;
	}
	return total;
}

/* Both handshakes to their end; *rs gets the server's result. Returns the
 * client's. */
static int handshake(struct tt_tls_conn *c, struct tt_tls_conn *s, int *rs)
{
	int rc = 0;

	*rs = 0;
	for (int i = 0; i < 100; i++) {
		size_t moved;
		if (rc == 0)
			rc = tt_tls_handshake(c);
		moved = move(c, s);
		if (*rs == 0)
			*rs = tt_tls_handshake(s);
		moved += move(s, c);
		if (rc != 0 && *rs != 0 && moved == 0)
			break;
	}
	return rc;
}

/* A client connection for `name` against a server, run to the end of the
 * handshake; the server's connection in *sp. */
static struct tt_tls_conn *connect_pair(struct tt_tls_ctx *cc, struct tt_tls_ctx *sc,
                                        const char *name, struct tt_tls_conn **sp, int *rc, int *rs)
{
	struct tt_tls_conn *c = tt_tls_conn_new(cc, name);
	cr_assert_not_null(c);
	*sp = tt_tls_conn_new(sc, NULL);
	cr_assert_not_null(*sp);
	*rc = handshake(c, *sp, rs);
	return c;
}

Test(tls, handshake_tls13_alpn_chain_data_and_close_notify)
{
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci, si;
	char buf[64];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	cr_assert_eq(tt_tls_state(c), TT_TLS_OPEN);
	tt_tls_info(c, &ci);
	tt_tls_info(s, &si);
	cr_assert_str_eq(ci.version, "TLSv1.3");
	cr_assert_str_eq(ci.alpn, "http/1.1");
	cr_assert_str_eq(si.alpn, "http/1.1");
	cr_assert_str_eq(si.sni, "localhost");
	cr_assert_str_eq(ci.sni, "localhost");
	cr_assert_neq(ci.cipher[0], 0);
	cr_assert_eq(ci.verify_code, X509_V_OK);
	cr_assert_eq(ci.resumed, 0);
	cr_assert_geq(ci.nchain, 1);
	cr_assert_str_eq(ci.chain[0].subject, "CN=localhost");
	cr_assert_str_eq(ci.chain[0].issuer, "CN=Test CA");
	cr_assert_eq(strlen(ci.chain[0].not_after), 20, "%s", ci.chain[0].not_after);
	cr_assert_eq(si.nchain, 0, "no client certificate asked");

	cr_assert_eq(tt_tls_write(c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
	move(c, s);
	cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), 18);
	cr_assert_eq(memcmp(buf, "GET / HTTP/1.1\r\n\r\n", 18), 0);
	cr_assert_eq(tt_tls_write(s, "HTTP/1.1 204 \r\n\r\n", 17), 17);
	move(s, c);
	cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 17);
	cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 0, "need more");

	cr_assert_eq(tt_tls_shutdown(c), 0);
	move(c, s);
	cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), -1);
	cr_assert_eq(tt_tls_state(s), TT_TLS_CLOSED);
	struct tt_fault f = {0};
	cr_assert_eq(tt_tls_classify(s, &f), TT_FAULT_NONE, "a clean close is no fault");
	cr_assert_eq(f.id, TT_FAULT_NONE);

	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	cr_assert_null(c);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
	cr_assert_null(sc);
}

/* An idle connection gives its BIO pair back (tt_tls_release_buffers) only
 * when nothing is in it, and the next bytes either way make a new one:
 * requests keep flowing over released and remade buffers. */
Test(tls, idle_buffers_are_released_only_when_empty_and_come_back)
{
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	const char *p;
	char buf[64];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	/* TLS 1.3: the server's session tickets wait in the client's input. */
	cr_assert_eq(tt_tls_release_buffers(c), 0, "unread input must keep the buffers");
	cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 0);
	cr_assert_eq(tt_tls_release_buffers(c), 1);
	cr_assert_eq(tt_tls_release_buffers(s), 1);
	cr_assert_eq(tt_tls_release_buffers(s), 0, "nothing left to release");
	cr_assert_eq(tt_tls_pending_out(s, &p), 0);
	cr_assert_null(p);
	cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), 0, "released: nothing to read");
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(tt_tls_write(c, "GET / HTTP/1.1\r\n\r\n", 18), 18);
		cr_assert_eq(tt_tls_release_buffers(c), 0, "output not sent yet");
		move(c, s);
		cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), 18);
		cr_assert_eq(memcmp(buf, "GET / HTTP/1.1\r\n\r\n", 18), 0);
		cr_assert_eq(tt_tls_write(s, "HTTP/1.1 204 \r\n\r\n", 17), 17);
		move(s, c);
		cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 17);
		cr_assert_eq(memcmp(buf, "HTTP/1.1 204 \r\n\r\n", 17), 0);
		cr_assert_eq(tt_tls_release_buffers(s), 1, "round %d", i);
		cr_assert_eq(tt_tls_release_buffers(c), 1, "round %d", i);
	}
	/* A close_notify over released buffers. */
	cr_assert_eq(tt_tls_shutdown(c), 0);
	move(c, s);
	cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), -1);
	cr_assert_eq(tt_tls_state(s), TT_TLS_CLOSED);
	cr_assert_eq(tt_tls_release_buffers(s), 0, "only an open connection releases");
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, handshake_tls12_forced_by_client)
{
	struct tt_tls_client_spec cs = {.max_version = TT_TLS_VERSION_1_2};
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci;
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	tt_tls_info(c, &ci);
	cr_assert_str_eq(ci.version, "TLSv1.2");
	cr_assert_str_eq(ci.alpn, "http/1.1");
	cr_assert_str_eq(ci.chain[0].subject, "CN=localhost");
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, handshake_tls13_forced_by_server_against_ip_name)
{
	struct tt_tls_server_spec ss = {.min_version = TT_TLS_VERSION_1_3};
	const char *names[] = {"localhost"};
	struct tt_tls_ctx *sc = server(names, 1, &ss), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci, si;
	int rc, rs;

	/* An address is checked against the IP subjectAltName, never sent
	 * as SNI. */
	c = connect_pair(cc, sc, "127.0.0.1", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	tt_tls_info(c, &ci);
	tt_tls_info(s, &si);
	cr_assert_str_eq(ci.version, "TLSv1.3");
	cr_assert_str_eq(si.sni, "");
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

/* The subject the client saw when asking for `name`. */
static void expect_cert(struct tt_tls_ctx *sc, struct tt_tls_ctx *cc, const char *name,
                        const char *subject)
{
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci;
	int rc, rs;

	c = connect_pair(cc, sc, name, &s, &rc, &rs);
	cr_assert_eq(rc, 1, "%s", name);
	cr_assert_eq(rs, 1, "%s", name);
	tt_tls_info(c, &ci);
	cr_assert_str_eq(ci.chain[0].subject, subject, "asked for %s", name);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
}

Test(tls, sni_selects_the_certificate_first_is_default)
{
	const char *names[] = {"localhost", "other"};
	struct tt_tls_ctx *sc = server(names, 2, NULL), *cc = client(NULL);
	struct tt_tls_client_spec insecure = {.no_verify = 1};
	struct tt_tls_ctx *any = client(&insecure);

	expect_cert(sc, cc, "other.test", "CN=other.test");
	expect_cert(sc, cc, "localhost", "CN=localhost");
	/* A name no certificate has: the default, the first. */
	expect_cert(sc, any, "nobody.test", "CN=localhost");
	tt_tls_ctx_unref(&any);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

/* Two connections: the second resumes with the first's ticket. */
static void resume(enum tt_tls_version v)
{
	struct tt_tls_client_spec cs = {.max_version = v};
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci, si;
	char buf[16];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	/* TLS 1.3 tickets come after the handshake: a read takes them. */
	cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 0);
	tt_tls_info(c, &ci);
	cr_assert_eq(ci.resumed, 0);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	tt_tls_info(c, &ci);
	tt_tls_info(s, &si);
	cr_assert_eq(ci.resumed, 1, "client resumed (%s)", ci.version);
	cr_assert_eq(si.resumed, 1, "server resumed (%s)", si.version);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);

	/* Another name does not get this name's session. */
	expect_cert(sc, cc, "127.0.0.1", "CN=localhost");
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, session_resumption_by_ticket_tls13)
{
	resume(TT_TLS_VERSION_1_3);
}

Test(tls, session_resumption_by_ticket_tls12)
{
	resume(TT_TLS_VERSION_1_2);
}

/* The client's handshake with a server using `cert` fails with a
 * certificate error of verify code `code`; the details are returned. */
static void expect_verify_failure(const char *cert, int code, const char *also)
{
	struct tt_tls_ctx *sc = server1(cert), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	struct tt_fault f;
	char want[128];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, -1, "%s", cert);
	cr_assert_eq(tt_tls_state(c), TT_TLS_FAILED);
	tt_fault_clear(&f);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_CERTIFICATE_ERROR, "%s: %s", cert,
	             f.details);
	cr_assert_eq(f.id, TT_FAULT_TLS_CERTIFICATE_ERROR);
	cr_assert_eq(f.stage, TT_STAGE_TLS);
	snprintf(want, sizeof(want), "%s (verify code %d)", X509_verify_cert_error_string(code),
	         code);
	cr_assert_not_null(strstr(f.details, want), "%s: want \"%s\" in \"%s\"", cert, want,
	                   f.details);
	cr_assert_not_null(strstr(f.details, also), "%s: want \"%s\" in \"%s\"", cert, also,
	                   f.details);
	/* The server is told why, by our alert. */
	cr_assert_eq(rs, -1, "%s", cert);
	tt_fault_clear(&f);
	cr_assert_eq(tt_tls_classify(s, &f), TT_FAULT_TLS_ALERT_RECEIVED, "%s", f.details);
	cr_assert_not_null(strstr(f.details, ": the downstream sent TLS alert "), "%s", f.details);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, verify_expired_certificate)
{
	expect_verify_failure("expired", X509_V_ERR_CERT_HAS_EXPIRED,
	                      "certificate has expired (verify code 10) at depth 0: CN=localhost");
}

Test(tls, verify_self_signed_certificate)
{
	expect_verify_failure("self", X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, "CN=localhost");
}

Test(tls, verify_unknown_ca)
{
	expect_verify_failure("unknown", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
	                      "unable to get local issuer certificate (verify code 20)");
}

Test(tls, verify_name_mismatch)
{
	expect_verify_failure("wrong", X509_V_ERR_HOSTNAME_MISMATCH,
	                      "hostname mismatch (verify code 62): the certificate of "
	                      "CN=wrong.test does not name \"localhost\"");
}

Test(tls, verify_off_accepts_and_reports_the_code)
{
	struct tt_tls_client_spec cs = {.no_verify = 1};
	struct tt_tls_ctx *sc = server1("self"), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info ci;
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	tt_tls_info(c, &ci);
	cr_assert_eq(ci.verify_code, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
	cr_assert_str_eq(ci.verify_text,
	                 X509_verify_cert_error_string(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

/* A server asking for a client certificate that the client lacks: the
 * server's alert, seen by the client, classified with alert-id. */
static void expect_alert(enum tt_tls_version v, int id, const char *name)
{
	struct tt_tls_server_spec ss = {.client_ca_file = file("ca.crt")};
	struct tt_tls_client_spec cs = {.max_version = v};
	const char *names[] = {"localhost"};
	struct tt_tls_ctx *sc = server(names, 1, &ss), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_fault f;
	char buf[16], want[96];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rs, -1);
	/* TLS 1.3: the client finished before the server judged its empty
	 * certificate; the alert comes on the first read. */
	if (rc == 1)
		cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), -1);
	cr_assert_eq(tt_tls_state(c), TT_TLS_FAILED);
	tt_fault_clear(&f);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_ALERT_RECEIVED, "%s", f.details);
	cr_assert_str_eq(f.param_name, "alert-id");
	cr_assert_eq(f.param_is_int, 1);
	cr_assert_eq(f.int_value, id);
	snprintf(want, sizeof(want), "alert-message=%s: the upstream sent TLS alert %d (%s)", name,
	         id, name);
	cr_assert_not_null(strstr(f.details, want), "want \"%s\" in \"%s\"", want, f.details);
	cr_assert_str_eq(tt_tls_alert_name(id), name);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, alert_certificate_required_tls13)
{
	expect_alert(TT_TLS_VERSION_1_3, 116, "certificate_required");
}

Test(tls, alert_handshake_failure_tls12)
{
	expect_alert(TT_TLS_VERSION_1_2, 40, "handshake_failure");
}

Test(tls, alert_protocol_version_when_versions_do_not_meet)
{
	struct tt_tls_server_spec ss = {.min_version = TT_TLS_VERSION_1_3};
	struct tt_tls_client_spec cs = {.max_version = TT_TLS_VERSION_1_2};
	const char *names[] = {"localhost"};
	struct tt_tls_ctx *sc = server(names, 1, &ss), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_fault f;
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, -1);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_ALERT_RECEIVED, "%s", f.details);
	cr_assert_eq(f.int_value, 70);
	cr_assert_not_null(strstr(f.details, "protocol_version"), "%s", f.details);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, mutual_tls_with_client_certificate)
{
	struct tt_tls_server_spec ss = {.client_ca_file = file("ca.crt")};
	struct tt_tls_client_spec cs = {.client_cert = file("client.crt"),
	                                .client_key = file("client.key")};
	const char *names[] = {"localhost"};
	struct tt_tls_ctx *sc = server(names, 1, &ss), *cc = client(&cs);
	struct tt_tls_conn *s, *c;
	struct tt_tls_info si;
	char buf[16];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rc, 1);
	cr_assert_eq(rs, 1);
	cr_assert_eq(tt_tls_read(c, buf, sizeof(buf)), 0, "no alert after the handshake");
	tt_tls_info(s, &si);
	cr_assert_geq(si.nchain, 1);
	cr_assert_str_eq(si.chain[0].subject, "CN=client");
	cr_assert_str_eq(si.chain[0].issuer, "CN=Test CA");
	cr_assert_eq(si.verify_code, X509_V_OK);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, plain_http_answer_to_client_hello)
{
	static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
	struct tt_tls_ctx *cc = client(NULL);
	struct tt_tls_conn *c = tt_tls_conn_new(cc, "localhost");
	const char *p;
	struct tt_fault f;

	cr_assert_eq(tt_tls_handshake(c), 0);
	cr_assert_gt(tt_tls_pending_out(c, &p), 0, "a ClientHello");
	cr_assert_eq(p[0], 0x16, "a handshake record");
	tt_tls_consumed_out(c, tt_tls_pending_out(c, &p));
	cr_assert_eq(tt_tls_feed(c, answer, sizeof(answer) - 1), sizeof(answer) - 1);
	cr_assert_eq(tt_tls_handshake(c), -1);
	cr_assert_eq(tt_tls_plain_http(c), 1);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_PROTOCOL_ERROR);
	cr_assert_str_eq(f.details, "plain HTTP spoken on the port: the upstream answered the TLS "
	                            "ClientHello with \"HTTP/1.1\", not TLS");
	cr_assert_eq(f.param_name[0], 0);
	tt_tls_conn_free(&c);
	tt_tls_ctx_unref(&cc);
}

Test(tls, plain_http_request_on_tls_listener)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tt_tls_ctx *sc = server1("localhost");
	struct tt_tls_conn *s = tt_tls_conn_new(sc, NULL);
	struct tt_fault f;

	tt_tls_feed(s, req, sizeof(req) - 1);
	cr_assert_eq(tt_tls_handshake(s), -1);
	cr_assert_eq(tt_tls_plain_http(s), 1, "for redirect_http");
	cr_assert_eq(tt_tls_classify(s, &f), TT_FAULT_TLS_PROTOCOL_ERROR);
	cr_assert_not_null(strstr(f.details, "plain HTTP spoken on a TLS port"), "%s", f.details);
	cr_assert_not_null(strstr(f.details, "\"GET / HT\""), "%s", f.details);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&sc);
}

Test(tls, other_bytes_are_a_protocol_error_with_openssl_reason)
{
	static const char ssh[] = "SSH-2.0-OpenSSH_9.6\r\n";
	struct tt_tls_ctx *cc = client(NULL);
	struct tt_tls_conn *c = tt_tls_conn_new(cc, "localhost");
	struct tt_fault f;

	cr_assert_eq(tt_tls_handshake(c), 0);
	tt_tls_feed(c, ssh, sizeof(ssh) - 1);
	cr_assert_eq(tt_tls_handshake(c), -1);
	cr_assert_eq(tt_tls_plain_http(c), 0);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_PROTOCOL_ERROR);
	cr_assert_not_null(strstr(f.details, "TLS failed during the handshake: "), "%s", f.details);
	cr_assert_not_null(strstr(f.details, "(OpenSSL error "), "%s", f.details);
	tt_tls_conn_free(&c);
	tt_tls_ctx_unref(&cc);
}

Test(tls, eof_during_handshake)
{
	struct tt_tls_ctx *cc = client(NULL);
	struct tt_tls_conn *c = tt_tls_conn_new(cc, "localhost");
	struct tt_fault f;

	cr_assert_eq(tt_tls_handshake(c), 0);
	tt_tls_feed_eof(c);
	cr_assert_eq(tt_tls_handshake(c), -1);
	cr_assert_eq(tt_tls_classify(c, &f), TT_FAULT_TLS_PROTOCOL_ERROR);
	cr_assert_str_eq(f.details, "the upstream closed the connection during the TLS handshake");
	cr_assert_eq(tt_tls_feed(c, "x", 1), 0, "nothing after EOF");
	tt_tls_conn_free(&c);
	tt_tls_ctx_unref(&cc);
}

Test(tls, eof_without_close_notify_fails_a_read)
{
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	struct tt_fault f;
	char buf[16];
	int rc, rs;

	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rs, 1);
	tt_tls_feed_eof(s);
	cr_assert_eq(tt_tls_read(s, buf, sizeof(buf)), -1);
	cr_assert_eq(tt_tls_state(s), TT_TLS_FAILED, "a cut, not a close");
	cr_assert_eq(tt_tls_classify(s, &f), TT_FAULT_TLS_PROTOCOL_ERROR);
	cr_assert_not_null(strstr(f.details, "after the handshake"), "%s", f.details);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

/* 1 MiB each way through full buffers: partial feeds, a full output
 * (write returns 0), the ring wrapping, zero-copy input. */
Test(tls, bulk_transfer_with_backpressure_and_zero_copy_input)
{
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(NULL);
	struct tt_tls_conn *s, *c;
	static char data[1 << 20], got[1 << 20];
	size_t sent = 0, recvd = 0;
	int rc, rs, stalls = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 251);
	c = connect_pair(cc, sc, "localhost", &s, &rc, &rs);
	cr_assert_eq(rs, 1);
	while (recvd < sizeof(data)) {
		const char *p;
		char *room;
		size_t out, in;
		ssize_t n;
		/* Write until the output is full. */
		while (sent < sizeof(data) && (n = tt_tls_write(c, data + sent, 4096)) > 0)
			sent += (size_t)n;
		stalls += sent < sizeof(data);
		/* Zero-copy: straight into the server's input room. */
		while ((out = tt_tls_pending_out(c, &p)) > 0 &&
		       (in = tt_tls_in_room(s, &room)) > 0) {
			size_t k = out < in ? out : in;
			memcpy(room, p, k);
			tt_tls_fed(s, k);
			tt_tls_consumed_out(c, k);
		}
		while ((n = tt_tls_read(s, got + recvd, sizeof(got) - recvd)) > 0)
			recvd += (size_t)n;
		cr_assert_eq(n, 0);
	}
	cr_assert_eq(memcmp(data, got, sizeof(data)), 0);
	cr_assert_gt(stalls, 0, "the output filled at least once");
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
}

Test(tls, connections_keep_their_context_alive)
{
	struct tt_tls_ctx *sc = server1("localhost"), *cc = client(NULL);
	struct tt_tls_conn *c = tt_tls_conn_new(cc, "localhost");
	struct tt_tls_conn *s = tt_tls_conn_new(sc, NULL);
	int rs;

	/* A reload drops the config's reference while connections drain. */
	tt_tls_ctx_unref(&cc);
	tt_tls_ctx_unref(&sc);
	cr_assert_eq(handshake(c, s, &rs), 1);
	cr_assert_eq(rs, 1);
	tt_tls_conn_free(&c);
	tt_tls_conn_free(&s);
}

Test(tls, verifying_client_needs_a_name)
{
	struct tt_tls_ctx *cc = client(NULL);
	struct tt_tls_client_spec named = {.sni = "localhost"};
	struct tt_tls_ctx *nc = client(&named);
	struct tt_tls_conn *c;

	cr_assert_null(tt_tls_conn_new(cc, NULL));
	cr_assert_null(tt_tls_conn_new(cc, ""));
	c = tt_tls_conn_new(nc, NULL);
	cr_assert_not_null(c, "the configured sni names it");
	tt_tls_conn_free(&c);
	tt_tls_ctx_unref(&nc);
	tt_tls_ctx_unref(&cc);
}

Test(tls, context_errors_name_the_file)
{
	struct tt_tls_cert_spec bad[] = {{file("missing.crt"), file("localhost.key")}};
	struct tt_tls_cert_spec mismatch[] = {{file("localhost.crt"), file("other.key")}};
	struct tt_tls_server_spec spec = {.certs = bad, .ncerts = 1};
	struct tt_tls_client_spec cs = {.ca_file = file("missing.crt")};
	char err[256];

	cr_assert_null(tt_tls_server_new(&spec, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "missing.crt: cannot open"), "%s", err);
	spec.certs = mismatch;
	cr_assert_null(tt_tls_server_new(&spec, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "the key does not match the certificate"), "%s", err);
	spec.ncerts = 0;
	cr_assert_null(tt_tls_server_new(&spec, err, sizeof(err)));
	cr_assert_null(tt_tls_client_new(&cs, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "missing.crt: cannot load CA certificates"), "%s", err);
}

Test(tls, alert_names)
{
	cr_assert_str_eq(tt_tls_alert_name(40), "handshake_failure");
	cr_assert_str_eq(tt_tls_alert_name(112), "unrecognized_name");
	cr_assert_str_eq(tt_tls_alert_name(120), "no_application_protocol");
	cr_assert_str_eq(tt_tls_alert_name(255), "unknown");
	cr_assert_str_eq(tt_tls_alert_name(-1), "unknown");
}

Test(tls_check, good_pair)
{
	char msg[512];

	cr_assert_eq(
	    tt_tls_check_pair(file("localhost.crt"), file("localhost.key"), msg, sizeof(msg)),
	    TT_TLS_CHECK_OK, "%s", msg);
	cr_assert_not_null(strstr(msg, ": valid until 20"), "%s", msg);
	cr_assert_not_null(strstr(msg, "days left (subject CN=localhost; names DNS:localhost, "
	                               "IP:127.0.0.1)"),
	                   "%s", msg);
}

Test(tls_check, mismatched_key)
{
	char msg[512];

	cr_assert_eq(tt_tls_check_pair(file("localhost.crt"), file("other.key"), msg, sizeof(msg)),
	             TT_TLS_CHECK_ERROR);
	cr_assert_not_null(strstr(msg, "other.key: the key does not match the certificate in "),
	                   "%s", msg);
}

Test(tls_check, expired_is_an_error)
{
	char msg[512];

	cr_assert_eq(tt_tls_check_pair(file("expired.crt"), file("expired.key"), msg, sizeof(msg)),
	             TT_TLS_CHECK_ERROR);
	cr_assert_not_null(strstr(msg, "expired.crt: expired on 20"), "%s", msg);
	cr_assert_not_null(strstr(msg, "(subject CN=localhost; names DNS:localhost)"), "%s", msg);
}

Test(tls_check, expiring_in_5_days_is_a_warning)
{
	char msg[512];

	cr_assert_eq(tt_tls_check_pair(file("soon.crt"), file("soon.key"), msg, sizeof(msg)),
	             TT_TLS_CHECK_WARN, "%s", msg);
	/* 5 days from when the test made it: 4 full days and some hours. */
	cr_assert(strstr(msg, "soon.crt: expires in 4 days, on 20") ||
	              strstr(msg, "soon.crt: expires in 5 days, on 20"),
	          "%s", msg);
}

Test(tls_check, unreadable_files)
{
	char msg[512];

	cr_assert_eq(tt_tls_check_pair(file("nope.crt"), file("soon.key"), msg, sizeof(msg)),
	             TT_TLS_CHECK_ERROR);
	cr_assert_not_null(strstr(msg, "nope.crt: cannot open: No such file"), "%s", msg);
	cr_assert_eq(tt_tls_check_pair(file("soon.key"), file("soon.key"), msg, sizeof(msg)),
	             TT_TLS_CHECK_ERROR);
	cr_assert_not_null(strstr(msg, "soon.key: no PEM certificate in it"), "%s", msg);
	cr_assert_eq(tt_tls_check_pair(file("soon.crt"), file("soon.crt"), msg, sizeof(msg)),
	             TT_TLS_CHECK_ERROR);
	cr_assert_not_null(strstr(msg, "soon.crt: no readable PEM private key"), "%s", msg);
}
