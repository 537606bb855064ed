/*
 * The TLS engine over libuv TCP handles (src/net/tls_io.c): a real
 * listener and client on 127.0.0.1 in one loop, certificates made by the
 * `openssl` command. An echo of 1 MiB exercises both directions with
 * backpressure (the server stops reading while its write is pending),
 * writes larger than the engine's output ring, close_notify and the
 * handshake failures the exchange classifies.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/tls_io.h"

static const char make_certs[] =
    "set -e; cd \"$TT_TLS_IO_DIR\"\n"
    "EC='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "openssl req -x509 $EC -subj /CN=ca -days 30 -keyout ca.key -out ca.crt\n"
    "openssl req -new $EC -subj /CN=localhost -keyout lh.key -out lh.csr\n"
    "printf 'subjectAltName=DNS:localhost\\n' >lh.ext\n"
    "openssl x509 -req -in lh.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \\\n"
    "  -extfile lh.ext -out lh.crt\n";

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char dir[] = "/tmp/tt_tls_io.XXXXXX";
	FILE *sh;
	if (!mkdtemp(dir))
		exit(1);
	setenv("TT_TLS_IO_DIR", dir, 1);
	sh = popen("sh >/dev/null 2>&1", "w");
	if (!sh || fputs(make_certs, sh) < 0 || pclose(sh) != 0) {
		fprintf(stderr, "tls_io_test: making certificates with openssl failed\n");
		exit(1);
	}
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	const char *dir = getenv("TT_TLS_IO_DIR");
	char cmd[256];
	if (dir && strncmp(dir, "/tmp/tt_tls_io.", 15) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "tls_io_test: could not remove %s\n", dir);
	}
}

static char *path(const char *name)
{
	static char ring[6][256];
	static int next;
	char *p = ring[next++ % 6];
	snprintf(p, sizeof(ring[0]), "%s/%s", getenv("TT_TLS_IO_DIR"), name);
	return p;
}

#define TOTAL (1024 * 1024)

/* One end: its handle, io, read buffer, and what it saw. */
struct end {
	uv_tcp_t tcp;
	struct tt_tls_io *io;
	int handles;
	char buf[7000];
	size_t got;      /* plaintext bytes read */
	int hs;          /* 1 ok, -1 failed, 0 pending */
	int eof;         /* UV_EOF or UV_EPROTO seen */
	uv_write_t wreq; /* plaintext write */
	uv_shutdown_t sreq;
	int shut_done;
	int is_server;
	enum tt_fault_id fault; /* after a failed handshake */
	char details[200];
	char *sent; /* client: what it sends */
	char *recv; /* client: what came back */
	size_t wpos;
	int writing;
};

static uv_loop_t loop;
static uv_tcp_t lsn;
static struct end srv, cli;
static struct tt_tls_ctx *sctx, *cctx;

static void on_closed(uv_handle_t *h)
{
	struct end *e = h->data;
	if (--e->handles == 0)
		tt_tls_io_free(&e->io);
}

static void end_close(struct end *e)
{
	if (uv_is_closing((uv_handle_t *)&e->tcp))
		return;
	if (e->io)
		tt_tls_io_close(e->io, on_closed);
	uv_close((uv_handle_t *)&e->tcp, on_closed);
}

static void sock_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	tt_tls_io_sock_alloc(((struct end *)h->data)->io, b);
}

static void sock_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	tt_tls_io_sock_read(((struct end *)s->data)->io, n);
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
	struct end *e = h->data;
	*b = uv_buf_init(e->buf, sizeof(e->buf));
}

static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void srv_written(uv_write_t *req, int status)
{
	cr_assert_eq(status, 0);
	srv.writing = 0;
	tt_tls_io_read_start(srv.io, on_alloc, srv_read);
}

/* The server echoes: it stops reading until each echo is written. */
static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	uv_buf_t out;
	int r;
	if (n == 0)
		return;
	if (n < 0) {
		srv.eof = (int)n;
		end_close(&srv);
		return;
	}
	srv.got += (size_t)n;
	out = uv_buf_init(b->base, (unsigned)n);
	r = tt_tls_io_write(srv.io, &srv.wreq, &out, 1, srv_written);
	cr_assert_geq(r, 0);
	if (r == 0) {
		srv.writing = 1;
		tt_tls_io_read_stop(srv.io);
	}
}

static void hs_done(struct tt_tls_io *io, int status)
{
	struct end *e = tt_tls_io_owner(io);
	e->hs = status == 0 ? 1 : -1;
	if (status < 0) {
		struct tt_fault f;
		tt_fault_clear(&f);
		e->fault = tt_tls_classify(tt_tls_io_conn(io), &f);
		memcpy(e->details, f.details, sizeof(e->details));
		end_close(e);
	} else if (e->is_server)
		tt_tls_io_read_start(io, on_alloc, srv_read);
}

static void on_conn(uv_stream_t *l, int status)
{
	cr_assert_eq(status, 0);
	uv_tcp_init(&loop, &srv.tcp);
	srv.tcp.data = &srv;
	srv.handles = 2;
	srv.is_server = 1;
	cr_assert_eq(uv_accept(l, (uv_stream_t *)&srv.tcp), 0);
	srv.io = tt_tls_io_new(&loop, &srv.tcp, tt_tls_conn_new(sctx, NULL), sock_alloc, sock_read,
	                       hs_done);
	tt_tls_io_start(srv.io, NULL, 0);
	uv_close((uv_handle_t *)&lsn, NULL);
}

static void cli_send(void);

static void cli_written(uv_write_t *req, int status)
{
	cr_assert_eq(status, 0);
	cli.writing = 0;
	cli_send();
}

static void on_shut(uv_shutdown_t *req, int status)
{
	cli.shut_done = status == 0 ? 1 : -1;
}

/* Send the rest in writes of 40,000 bytes (over two TLS records each). */
static void cli_send(void)
{
	while (cli.wpos < TOTAL && !cli.writing) {
		size_t n = TOTAL - cli.wpos < 40000 ? TOTAL - cli.wpos : 40000;
		uv_buf_t b[2] = {uv_buf_init(cli.sent + cli.wpos, (unsigned)(n / 2)),
		                 uv_buf_init(cli.sent + cli.wpos + n / 2, (unsigned)(n - n / 2))};
		int r = tt_tls_io_write(cli.io, &cli.wreq, b, 2, cli_written);
		cr_assert_geq(r, 0);
		cli.wpos += n;
		if (r == 0)
			cli.writing = 1;
	}
}

static void cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	if (n == 0)
		return;
	if (n < 0) {
		cli.eof = (int)n;
		end_close(&cli);
		return;
	}
	cr_assert_leq(cli.got + (size_t)n, TOTAL);
	memcpy(cli.recv + cli.got, b->base, (size_t)n);
	cli.got += (size_t)n;
	if (cli.got == TOTAL)
		cr_assert_eq(tt_tls_io_shutdown(cli.io, &cli.sreq, on_shut), 0);
}

static void cli_hs(struct tt_tls_io *io, int status)
{
	hs_done(io, status);
	if (status == 0) {
		tt_tls_io_read_start(io, on_alloc, cli_read);
		cli_send();
	}
}

static void on_connected(uv_connect_t *req, int status)
{
	cr_assert_eq(status, 0);
	cli.io = tt_tls_io_new(&loop, &cli.tcp, tt_tls_conn_new(cctx, "localhost"), sock_alloc,
	                       sock_read, cli_hs);
	tt_tls_io_start(cli.io, NULL, 0);
}

/* Listen, connect, and run the loop until every handle closed (bounded:
 * the loop ends by itself or the test's timeout fires). */
static void run(const char *ca)
{
	struct sockaddr_in a;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	char err[256];
	struct tt_tls_cert_spec cert = {path("lh.crt"), path("lh.key")};
	struct tt_tls_server_spec ss_spec = {.certs = &cert, .ncerts = 1};
	struct tt_tls_client_spec cs_spec = {.ca_file = ca};
	static uv_connect_t creq;

	sctx = tt_tls_server_new(&ss_spec, err, sizeof(err));
	cr_assert_not_null(sctx, "%s", err);
	cctx = tt_tls_client_new(&cs_spec, err, sizeof(err));
	cr_assert_not_null(cctx, "%s", err);
	memset(&srv, 0, sizeof(srv));
	memset(&cli, 0, sizeof(cli));
	cli.sent = malloc(TOTAL);
	cli.recv = malloc(TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		cli.sent[i] = (char)(i * 7 + (i >> 11));
	uv_loop_init(&loop);
	uv_tcp_init(&loop, &lsn);
	uv_ip4_addr("127.0.0.1", 0, &a);
	cr_assert_eq(uv_tcp_bind(&lsn, (struct sockaddr *)&a, 0), 0);
	cr_assert_eq(uv_listen((uv_stream_t *)&lsn, 8, on_conn), 0);
	uv_tcp_getsockname(&lsn, (struct sockaddr *)&ss, &len);
	uv_tcp_init(&loop, &cli.tcp);
	cli.tcp.data = &cli;
	cli.handles = 2;
	cr_assert_eq(uv_tcp_connect(&creq, &cli.tcp, (struct sockaddr *)&ss, on_connected), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "handles left open");
	tt_tls_ctx_unref(&sctx);
	tt_tls_ctx_unref(&cctx);
}

Test(tls_io, echoes_a_mebibyte_both_ways_then_close_notify, .timeout = 30)
{
	run(path("ca.crt"));
	cr_assert_eq(cli.hs, 1);
	cr_assert_eq(srv.hs, 1);
	cr_assert_eq(srv.got, TOTAL);
	cr_assert_eq(cli.got, TOTAL);
	cr_assert_eq(memcmp(cli.sent, cli.recv, TOTAL), 0, "echo differs");
	cr_assert_eq(cli.shut_done, 1, "shutdown after close_notify");
	/* The server read the client's close_notify as a clean end. */
	cr_assert_eq(srv.eof, UV_EOF);
	free(cli.sent);
	free(cli.recv);
}

Test(tls_io, unknown_ca_fails_the_handshake_on_both_sides, .timeout = 30)
{
	run(NULL); /* the system store does not know the test CA */
	cr_assert_eq(cli.hs, -1);
	cr_assert_eq(cli.fault, TT_FAULT_TLS_CERTIFICATE_ERROR, "%s", cli.details);
	cr_assert(strstr(cli.details, "verify code 20"), "%s", cli.details);
	/* The client's alert (unknown_ca) reached the server before the close. */
	cr_assert_eq(srv.hs, -1);
	cr_assert_eq(srv.fault, TT_FAULT_TLS_ALERT_RECEIVED, "%s", srv.details);
	cr_assert_eq(srv.got, 0);
	cr_assert_eq(cli.got, 0);
	free(cli.sent);
	free(cli.recv);
}
