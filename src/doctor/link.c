/*
 * Doctor's connection, plain or TLS (see link.h). The engine is fed
 * straight from recv(2) into its input room, and its output is sent as
 * soon as it appears, waiting for POLLOUT at most TT_DOC_GIVE_UP_MS.
 */
#include "doctor/link.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "doctor/probe.h"
#include "fault/classify.h"

void tt_doc_link_init(struct tt_doc_link *l, int fd)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
}

/* Send what the engine has for the peer. Returns 0, or -1 (errno) when
 * the socket will not take it. */
static int flush_out(struct tt_doc_link *l)
{
	const char *p;
	size_t n;

	while ((n = tt_tls_pending_out(l->tls, &p)) > 0) {
		ssize_t k = send(l->fd, p, n, MSG_NOSIGNAL);
		if (k > 0) {
			tt_tls_consumed_out(l->tls, (size_t)k);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd pf = {.fd = l->fd, .events = POLLOUT};
			if (poll(&pf, 1, TT_DOC_GIVE_UP_MS) > 0)
				continue;
			errno = ETIMEDOUT;
		}
		return -1;
	}
	return 0;
}

void tt_doc_link_close(struct tt_doc_link *l)
{
	if (l->tls) {
		if (tt_tls_state(l->tls) == TT_TLS_OPEN && tt_tls_shutdown(l->tls) == 0)
			(void)flush_out(l);
		tt_tls_conn_free(&l->tls);
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
}

/* Read the socket into the engine. Returns 1 when bytes or the EOF went
 * in, 0 when nothing is there now (EAGAIN). */
static int pull(struct tt_doc_link *l)
{
	char *p;
	size_t room = tt_tls_in_room(l->tls, &p);

	if (l->eof || room == 0)
		return 0;
	for (;;) {
		ssize_t k = recv(l->fd, p, room, 0);
		if (k > 0) {
			tt_tls_fed(l->tls, (size_t)k);
			return 1;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 0;
		/* As the proxy's tls_io: any socket error ends the stream. */
		l->eof = 1;
		tt_tls_feed_eof(l->tls);
		return 1;
	}
}

ssize_t tt_doc_link_recv(struct tt_doc_link *l, char *buf, size_t cap)
{
	if (!l->tls)
		return recv(l->fd, buf, cap, 0);
	for (;;) {
		ssize_t n = tt_tls_read(l->tls, buf, cap);
		(void)flush_out(l); /* a read may owe the peer bytes (key update) */
		if (n > 0)
			return n;
		if (n < 0) {
			if (tt_tls_state(l->tls) == TT_TLS_CLOSED || l->eof)
				return 0;
			errno = EPROTO;
			return -1;
		}
		if (!pull(l)) {
			errno = EAGAIN;
			return -1;
		}
	}
}

ssize_t tt_doc_link_send(struct tt_doc_link *l, const char *buf, size_t len)
{
	ssize_t n;

	if (!l->tls)
		return send(l->fd, buf, len, MSG_NOSIGNAL);
	n = tt_tls_write(l->tls, buf, len);
	if (flush_out(l) != 0 && n <= 0)
		return -1;
	if (n < 0) {
		errno = EPROTO;
		return -1;
	}
	if (n == 0) {
		errno = EAGAIN;
		return -1;
	}
	return n;
}

/* The handshake's timer fired at now: the proxy's words (response.c
 * on_up_timer), or the total's own fault when that ran out. */
static void hs_timeout(const struct tt_cfg_timeouts *to, uint64_t t_start_ns, uint64_t now,
                       const char *addr, struct tt_fault *f)
{
	struct tt_fault_wait w = {
	    .to = to, .connected = 1, .before_head_deadline = 1, .total_expired = 1};
	enum tt_stage st;
	int sys;

	if (!(to->total_ms && now - t_start_ns >= to->total_ms * 1000000ull)) {
		tt_fault_set(f, TT_FAULT_CONNECTION_TIMEOUT, TT_STAGE_TLS, UV_ETIMEDOUT);
		tt_fault_details(f,
		                 "the TLS handshake with %s did not finish within %llu ms "
		                 "(timeouts.upstream_handshake)",
		                 addr, (unsigned long long)to->upstream_handshake_ms);
		return;
	}
	tt_fault_set(f, tt_fault_from_timeout(&w, &st, &sys), st, sys);
	tt_fault_describe_timeout(f, &w);
}

static uint64_t hs_deadline(const struct tt_cfg_timeouts *to, uint64_t t_start_ns,
                            uint64_t t_connected_ns)
{
	uint64_t d = 0;
	if (to->upstream_handshake_ms)
		d = t_connected_ns + to->upstream_handshake_ms * 1000000ull;
	if (to->total_ms && (!d || t_start_ns + to->total_ms * 1000000ull < d))
		d = t_start_ns + to->total_ms * 1000000ull;
	return d;
}

int tt_doc_tls_handshake(struct tt_doc_link *l, struct tt_tls_ctx *ctx, const char *name,
                         const struct tt_cfg_timeouts *to, uint64_t t_start_ns,
                         uint64_t t_connected_ns, const char *addr, struct tt_fault *f,
                         int *gave_up)
{
	uint64_t deadline = hs_deadline(to, t_start_ns, t_connected_ns);
	uint64_t last = uv_hrtime();

	*gave_up = 0;
	l->tls = tt_tls_conn_new(ctx, name);
	if (!l->tls) {
		/* The proxy's words (exchange.c on_connect). */
		tt_fault_set(f, TT_FAULT_PROXY_CONFIGURATION_ERROR, TT_STAGE_TLS, 0);
		tt_fault_details(f, "no TLS connection can be made for the name \"%s\"",
		                 name ? name : "");
		return -1;
	}
	for (;;) {
		int r = tt_tls_handshake(l->tls);
		(void)flush_out(l); /* our flight, or the alert that says why not */
		if (r == 1)
			return 0;
		if (r < 0) {
			if (tt_tls_classify(l->tls, f) == TT_FAULT_NONE) {
				tt_fault_set(f, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
				tt_fault_details(f, "the TLS connection failed");
			}
			return -1;
		}
		if (pull(l)) {
			last = uv_hrtime();
			continue;
		}
		uint64_t now = uv_hrtime(), until = deadline;
		if (!until)
			until = last + TT_DOC_GIVE_UP_MS * 1000000ull;
		if (now >= until) {
			if (!deadline) {
				*gave_up = 1;
				return -1;
			}
			hs_timeout(to, t_start_ns, now, addr, f);
			return -1;
		}
		struct pollfd p = {.fd = l->fd, .events = POLLIN};
		(void)poll(&p, 1, (int)((until - now + 999999) / 1000000));
	}
}
