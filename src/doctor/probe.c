/*
 * Doctor's sockets (see probe.h). Error codes are turned into libuv codes
 * at once (uv_translate_sys_error) so that tt_fault_from_uv, the proxy's
 * own mapping, classifies them.
 */
#include "doctor/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fault/classify.h"
#include "upstream/resolve.h"
#include "net/addr.h"

double tt_doc_ms(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

struct dns_wait {
	struct tt_dns_answer *out;
	int done;
};

static void on_answer(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg)
{
	struct dns_wait *w = arg;
	(void)req;
	*w->out = *a;
	w->done = 1;
}

static void quiet_log(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

int tt_doc_dns(const struct tt_cfg_resolver *rc, const char *host, struct tt_dns_answer *a,
               char *err, size_t errcap)
{
	struct tt_dns_opts o;
	struct tt_dns_req req;
	struct dns_wait w = {.out = a};
	struct tt_dns *r;
	uv_loop_t loop;
	int rc_ = -1;

	if (uv_loop_init(&loop) != 0) {
		snprintf(err, errcap, "no event loop");
		return -1;
	}
	tt_resolve_opts(rc, &o);
	o.on_log = quiet_log;
	r = tt_dns_new(&loop, &o, err, errcap);
	memset(&req, 0, sizeof(req));
	if (r && tt_dns_resolve(r, &req, host, AF_UNSPEC, on_answer, &w) == 0) {
		/* The resolver bounds the wait (timeout_ms); the loop ends with
		 * the answer delivered. */
		while (!w.done && uv_run(&loop, UV_RUN_ONCE))
			;
		rc_ = w.done ? 0 : -1;
		if (!w.done)
			snprintf(err, errcap, "the resolver stopped without an answer");
	} else if (r) {
		snprintf(err, errcap, "'%s' cannot be resolved (empty or too long)", host);
	}
	tt_dns_close(&r, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	(void)uv_loop_close(&loop);
	return rc_;
}

void tt_doc_addrs_from(const struct tt_dns_answer *a, uint16_t port, struct tt_doc_addrs *out)
{
	out->n = 0;
	for (size_t i = 0; i < a->naddrs && out->n < TT_DOC_ADDRS_MAX; i++) {
		struct sockaddr_storage *ss = &out->ss[out->n];
		memset(ss, 0, sizeof(*ss));
		if (a->addrs[i].u.sa.sa_family == AF_INET) {
			memcpy(ss, &a->addrs[i].u.in, sizeof(a->addrs[i].u.in));
			((struct sockaddr_in *)ss)->sin_port = htons(port);
			out->len[out->n++] = sizeof(struct sockaddr_in);
		} else if (a->addrs[i].u.sa.sa_family == AF_INET6) {
			memcpy(ss, &a->addrs[i].u.in6, sizeof(a->addrs[i].u.in6));
			((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
			out->len[out->n++] = sizeof(struct sockaddr_in6);
		}
	}
}

/* Milliseconds to poll until deadline (0 = none: TT_DOC_GIVE_UP_MS). */
static int poll_ms(uint64_t deadline_ns, uint64_t now_ns)
{
	uint64_t ms;
	if (!deadline_ns)
		return TT_DOC_GIVE_UP_MS;
	if (deadline_ns <= now_ns)
		return 0;
	ms = (deadline_ns - now_ns + 999999) / 1000000;
	return ms > TT_DOC_GIVE_UP_MS ? TT_DOC_GIVE_UP_MS : (int)ms;
}

static int connect_fail(int fd, const struct sockaddr *sa, int uv_err, struct tt_fault *f)
{
	char addr[64];
	tt_addr_format(sa, addr, sizeof(addr));
	tt_fault_set(f, tt_fault_from_uv(uv_err, TT_STAGE_CONNECT), TT_STAGE_CONNECT, uv_err);
	tt_fault_describe_connect_error(f, addr, uv_err);
	if (fd >= 0)
		close(fd);
	return -1;
}

int tt_doc_connect(const struct sockaddr *sa, socklen_t len, const struct tt_cfg_timeouts *to,
                   uint64_t t_start_ns, struct tt_fault *f)
{
	uint64_t deadline = 0, now;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return connect_fail(-1, sa, uv_translate_sys_error(errno), f);
	if (to->upstream_connect_ms)
		deadline = t_start_ns + to->upstream_connect_ms * 1000000ull;
	if (to->total_ms && (!deadline || t_start_ns + to->total_ms * 1000000ull < deadline))
		deadline = t_start_ns + to->total_ms * 1000000ull;
	if (connect(fd, sa, len) == 0)
		return fd;
	if (errno != EINPROGRESS)
		return connect_fail(fd, sa, uv_translate_sys_error(errno), f);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		now = uv_hrtime();
		int n = poll(&p, 1, poll_ms(deadline, now));
		if (n > 0)
			break;
		if (n < 0 && errno == EINTR)
			continue;
		now = uv_hrtime();
		if (n == 0 && (!deadline || now >= deadline)) {
			struct tt_fault_wait w;
			enum tt_stage st;
			int sys_err;
			tt_doc_wait_state(NULL, to, t_start_ns, now, &w);
			tt_fault_set(f, tt_fault_from_timeout(&w, &st, &sys_err), st, sys_err);
			tt_fault_describe_timeout(f, &w);
			close(fd);
			return -1;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		err = errno;
	if (err)
		return connect_fail(fd, sa, uv_translate_sys_error(err), f);
	return fd;
}

static int send_all(struct tt_doc_link *l, const char *req, size_t len, struct tt_fault *f)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = tt_doc_link_send(l, req + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = l->fd, .events = POLLOUT};
			if (poll(&p, 1, TT_DOC_GIVE_UP_MS) > 0)
				continue;
			errno = ETIMEDOUT;
		}
		int err = uv_translate_sys_error(errno);
		tt_fault_set(f, tt_fault_from_uv(err, TT_STAGE_SEND), TT_STAGE_SEND, err);
		tt_fault_describe_send_error(f, err, 0, 0);
		return -1;
	}
	return 0;
}

/* The TLS connection failed before the head: the proxy classifies it as
 * the handshake's failure (response.c: a TLS 1.3 server refuses a client
 * certificate with an alert on the first read). */
static void tls_read_failed(struct tt_doc_link *l, struct tt_doc_reader *r, uint64_t now)
{
	tt_fault_clear(&r->fault);
	if (tt_tls_classify(l->tls, &r->fault) == TT_FAULT_NONE) {
		tt_fault_set(&r->fault, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
		tt_fault_details(&r->fault, "the TLS connection failed");
	}
	r->phase = TT_DOC_FAILED;
	r->t_done_ns = now;
}

/* One read into buf: feeds r, or ends it. Returns 1 when r is finished,
 * 0 to read again at once, -1 to wait for the socket. */
static int read_once(struct tt_doc_link *l, struct tt_doc_reader *r, char *buf, size_t cap)
{
	ssize_t n = tt_doc_link_recv(l, buf, cap);
	uint64_t now = uv_hrtime();
	if (n > 0)
		tt_doc_reader_feed(r, buf, (size_t)n, now);
	else if (n == 0)
		tt_doc_reader_eof(r, UV_EOF, now);
	else if (errno == EAGAIN || errno == EINTR)
		return -1;
	else if (errno == EPROTO && l->tls && r->phase == TT_DOC_HEAD)
		tls_read_failed(l, r, now);
	else
		tt_doc_reader_eof(r, uv_translate_sys_error(errno), now);
	return r->phase >= TT_DOC_DONE;
}

enum tt_doc_phase tt_doc_exchange(struct tt_doc_link *l, const char *req, size_t len,
                                  const struct tt_config *cfg, uint64_t t_start_ns,
                                  struct tt_doc_reader *r)
{
	static char buf[65536];
	struct tt_fault sf;
	uint64_t give_up;

	tt_fault_clear(&sf);
	int sent = send_all(l, req, len, &sf);
	/* The head deadline runs from the request written (response.c
	 * tt_ex_request_sent). */
	tt_doc_reader_init(r, cfg, TT_METHOD_GET, t_start_ns, uv_hrtime());
	if (sent != 0) {
		r->fault = sf;
		r->phase = TT_DOC_FAILED;
		r->t_done_ns = r->t_sent_ns;
		return r->phase;
	}
	for (;;) {
		uint64_t d = tt_doc_reader_deadline(r), now = uv_hrtime();
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		if (d && now >= d) {
			tt_doc_reader_timeout(r, now);
			break;
		}
		give_up = r->t_last_ns + TT_DOC_GIVE_UP_MS * 1000000ull;
		if (!d && now >= give_up)
			break;
		/* Read first: the TLS engine may hold bytes already decrypted. */
		int k = read_once(l, r, buf, sizeof(buf));
		if (k > 0)
			break;
		if (k < 0)
			(void)poll(&p, 1, poll_ms(d ? d : give_up, now));
	}
	return r->phase;
}

double tt_doc_idle_close(struct tt_doc_link *l, uint64_t wait_ms)
{
	uint64_t start = uv_hrtime(), end = start + wait_ms * 1000000ull;
	char b[512];

	for (;;) {
		uint64_t now = uv_hrtime();
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		if (now >= end)
			return -1;
		ssize_t k = tt_doc_link_recv(l, b, sizeof(b));
		if (k > 0)
			return -2;
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return tt_doc_ms(start, uv_hrtime());
		(void)poll(&p, 1, poll_ms(end, now));
	}
}
