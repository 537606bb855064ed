/*
 * Doctor's sockets (see probe.h). Error codes are turned into libuv codes
 * at once (uv_translate_sys_error) so that tt_fault_from_uv, the proxy's
 * own mapping, classifies them.
 */
#include "doctor/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fault/classify.h"
#include "net/addr.h"

double tt_doc_ms(uint64_t from_ns, uint64_t to_ns)
{
	return to_ns > from_ns ? (double)(to_ns - from_ns) / 1e6 : 0.0;
}

static int same_addr(const struct tt_doc_addrs *a, const struct sockaddr *sa, socklen_t len)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->len[i] == len && memcmp(&a->ss[i], sa, len) == 0)
			return 1;
	return 0;
}

int tt_doc_resolve(const char *host, uint16_t port, struct tt_doc_addrs *out)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];
	int rc;

	out->n = 0;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return rc;
	for (struct addrinfo *ai = res; ai && out->n < TT_DOC_ADDRS_MAX; ai = ai->ai_next) {
		if (ai->ai_addrlen > sizeof(out->ss[0]) ||
		    same_addr(out, ai->ai_addr, (socklen_t)ai->ai_addrlen))
			continue;
		memset(&out->ss[out->n], 0, sizeof(out->ss[0]));
		memcpy(&out->ss[out->n], ai->ai_addr, ai->ai_addrlen);
		out->len[out->n++] = (socklen_t)ai->ai_addrlen;
	}
	freeaddrinfo(res);
	return out->n ? 0 : EAI_NONAME;
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

static int send_all(int fd, const char *req, size_t len, struct tt_fault *f)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			if (poll(&p, 1, TT_DOC_GIVE_UP_MS) > 0)
				continue;
			errno = ETIMEDOUT;
		}
		int err = uv_translate_sys_error(errno);
		tt_fault_set(f, tt_fault_from_uv(err, TT_STAGE_SEND), TT_STAGE_SEND, err);
		tt_fault_describe_send_error(f, err);
		return -1;
	}
	return 0;
}

/* One read into buf: feeds r, or ends it. Returns 0 to go on. */
static int read_once(int fd, struct tt_doc_reader *r, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap, 0);
	uint64_t now = uv_hrtime();
	if (n > 0)
		tt_doc_reader_feed(r, buf, (size_t)n, now);
	else if (n == 0)
		tt_doc_reader_eof(r, UV_EOF, now);
	else if (errno != EAGAIN && errno != EINTR)
		tt_doc_reader_eof(r, uv_translate_sys_error(errno), now);
	return r->phase >= TT_DOC_DONE;
}

enum tt_doc_phase tt_doc_exchange(int fd, const char *req, size_t len, const struct tt_config *cfg,
                                  uint64_t t_start_ns, struct tt_doc_reader *r)
{
	static char buf[65536];
	struct tt_fault sf;
	uint64_t give_up;

	tt_fault_clear(&sf);
	int sent = send_all(fd, req, len, &sf);
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
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (d && now >= d) {
			tt_doc_reader_timeout(r, now);
			break;
		}
		give_up = r->t_last_ns + TT_DOC_GIVE_UP_MS * 1000000ull;
		if (!d && now >= give_up)
			break;
		int n = poll(&p, 1, poll_ms(d ? d : give_up, now));
		if (n > 0 && read_once(fd, r, buf, sizeof(buf)))
			break;
	}
	return r->phase;
}

double tt_doc_idle_close(int fd, uint64_t wait_ms)
{
	uint64_t start = uv_hrtime(), end = start + wait_ms * 1000000ull;
	char b[512];

	for (;;) {
		uint64_t now = uv_hrtime();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= end)
			return -1;
		int n = poll(&p, 1, poll_ms(end, now));
		if (n <= 0)
			continue;
		ssize_t k = recv(fd, b, sizeof(b), 0);
		if (k > 0)
			return -2;
		if (k == 0 || (errno != EAGAIN && errno != EINTR))
			return tt_doc_ms(start, uv_hrtime());
	}
}
