/*
 * Downstream connections: see conn.h.
 */
#include "core/conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>

#include "net/addr.h"
#include "net/ring.h"
#include "net/tls_io.h"
#include "proxy/exchange.h"

/* How long a closing connection drains what the downstream still sends,
 * so that the kernel does not answer it with a reset that destroys the
 * response (RFC 9112 section 9.6, "lingering close"). */
#define LINGER_MS 2000

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void try_head(struct tt_conn *c);
static void on_shutdown(uv_shutdown_t *req, int status);
static void on_shutdown_write(uv_shutdown_t *req, int status);

/* One of the connection's handles (or a hold on it) is gone; freed at 0. */
static void unref(struct tt_conn *c)
{
	if (--c->handles)
		return;
	struct tt_worker *w = c->w;
	atomic_fetch_sub(w->ds_total, 1);
	tt_tls_io_free(&c->tls);
	free(c->sreq);
	c->magic = 0;
	free(c);
	tt_conn_accept_resume(w);
	tt_worker_conn_gone(w);
}

static void on_handle_closed(uv_handle_t *h)
{
	unref(h->data);
}

static void close_conn(struct tt_conn *c, int reset)
{
	if (c->state == TT_CONN_CLOSING && !c->lingering)
		return;
	if (c->handles == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	c->state = TT_CONN_CLOSING;
	c->lingering = 0;
	if (c->ex)
		tt_exchange_abort(c->ex);
	tt_bufpool_put(&c->w->bufs, &c->in.data);
	tt_conn_untime(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (c->sending) {
		/* The send may outlive the socket, never its bytes or c. */
		tt_ring_cancel(c->w->ring, c->sending);
		c->handles++; /* given back by on_ring_written */
	}
	if (c->tls)
		tt_tls_io_close(c->tls, on_handle_closed);
	if (!reset || uv_tcp_close_reset(&c->tcp, on_handle_closed) != 0)
		uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void tt_conn_close(struct tt_conn *c)
{
	close_conn(c, 0);
}

void tt_conn_reset(struct tt_conn *c)
{
	close_conn(c, 1);
}

static void on_timeout(struct tt_conn *c)
{
	switch (c->state) {
	case TT_CONN_HEAD: tt_exchange_reject(c, TT_FAULT_REQUEST_HEAD_TIMEOUT, NULL); break;
	case TT_CONN_EXCHANGE: tt_exchange_on_ds_timeout(c->ex); break;
	default: tt_conn_close(c);
	}
}

void tt_conn_untime(struct tt_conn *c)
{
	struct tt_worker *w = c->w;
	if (c->tkind == TT_CT_NONE)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		w->tfirst[c->tkind] = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		w->tlast[c->tkind] = c->tprev;
	c->tprev = c->tnext = NULL;
	c->tkind = TT_CT_NONE;
}

/* Put c at the tail of kind's list, due ms from now (0: no timeout). */
static void arm(struct tt_conn *c, enum tt_conn_timeout kind, uint64_t ms)
{
	struct tt_worker *w = c->w;
	tt_conn_untime(c);
	if (!ms)
		return;
	c->tkind = (uint8_t)kind;
	c->deadline_ms = uv_now(&w->loop) + ms;
	c->tprev = w->tlast[kind];
	c->tnext = NULL;
	if (w->tlast[kind])
		w->tlast[kind]->tnext = c;
	else
		w->tfirst[kind] = c;
	w->tlast[kind] = c;
}

void tt_conn_expire(struct tt_worker *w, uint64_t now_ms)
{
	for (int k = TT_CT_NONE + 1; k < TT_CT__COUNT; k++) {
		struct tt_conn *c;
		while ((c = w->tfirst[k]) && c->deadline_ms <= now_ms) {
			tt_conn_untime(c);
			on_timeout(c);
		}
	}
}

/* Start a new limits.downstream_min_rate window: at the start of a head, of
 * a body, and when reading resumes after a pause that was ours. */
static void rate_restart(struct tt_conn *c)
{
	c->rate_start_ms = uv_now(&c->w->loop);
	c->rate_bytes = 0;
}

/*
 * Count n more request bytes. At the end of each window of at least
 * timeouts.downstream_rate_window, a downstream whose average rate over it
 * is below limits.downstream_min_rate gets the timeout fault of its phase
 * (408 for a head; the body timeout) and 1 is returned. A downstream that
 * sends nothing at all is left to the head and idle timeouts, which fire
 * without a read.
 */
static int too_slow(struct tt_conn *c, size_t n)
{
	const struct tt_config *cfg = c->w->cfg;
	uint64_t rate = cfg->limits.downstream_min_rate, now = uv_now(&c->w->loop);
	uint64_t elapsed = now - c->rate_start_ms;
	char details[128];

	c->rate_bytes += n;
	if (!rate || elapsed < cfg->timeouts.downstream_rate_window_ms)
		return 0;
	if (c->rate_bytes * 1000 >= rate * elapsed) {
		rate_restart(c);
		return 0;
	}
	snprintf(details, sizeof(details),
	         "%llu bytes in %llu ms, under limits.downstream_min_rate %llu bytes/s",
	         (unsigned long long)c->rate_bytes, (unsigned long long)elapsed,
	         (unsigned long long)rate);
	if (c->state == TT_CONN_HEAD) {
		tt_exchange_reject(c, TT_FAULT_REQUEST_HEAD_TIMEOUT, details);
		return 1;
	}
	if (tt_exchange_on_ds_slow(c->ex, details))
		return 1;
	rate_restart(c); /* the body is complete: the bytes are not its */
	return 0;
}

void tt_conn_touch(struct tt_conn *c)
{
	arm(c, TT_CT_BODY, c->w->cfg->timeouts.downstream_idle_ms);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tt_conn *c = h->data;
	struct tt_bufpool *bp = &c->w->bufs;
	if (c->notify) {
		*buf = uv_buf_init(NULL, 0); /* libuv then reports UV_ENOBUFS */
		return;
	}
	if (!c->in.data) {
		c->in.data = tt_bufpool_get(bp);
		c->in.off = c->in.len = 0;
	}
	buf->base = c->in.data + c->in.len;
	buf->len = bp->block_bytes - c->in.len;
}

void tt_conn_pause(struct tt_conn *c)
{
	if (!c->reading)
		return;
	c->reading = 0;
	if (c->tls)
		tt_tls_io_read_stop(c->tls);
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
}

void tt_conn_resume(struct tt_conn *c)
{
	if (c->reading || c->eof || c->state == TT_CONN_CLOSING)
		return;
	if (c->in.data && c->in.len >= c->w->bufs.block_bytes)
		return; /* full: the exchange drains it first */
	c->reading = 1;
	rate_restart(c);
	if (c->tls)
		tt_tls_io_read_start(c->tls, on_alloc, on_read);
	else
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

void tt_conn_read_notify(struct tt_conn *c)
{
	c->notify = 1;
	tt_conn_resume(c);
}

int tt_conn_body_read(struct tt_conn *c, ssize_t n)
{
	if (n > 0)
		return too_slow(c, (size_t)n);
	c->eof = 1;
	tt_conn_pause(c);
	tt_exchange_on_ds_eof(c->ex, n == 0 ? UV_EOF : (int)n);
	return 1;
}

static void linger_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_conn *c = s->data;
	if (nread < 0) {
		tt_conn_close(c);
		return;
	}
	c->in.len = c->in.off = 0; /* discard */
}

/* The connection's shutdown request, made on first use; NULL when out of
 * memory. */
static uv_shutdown_t *shutdown_req(struct tt_conn *c)
{
	if (!c->sreq && (c->sreq = malloc(sizeof(*c->sreq))))
		c->sreq->data = c;
	return c->sreq;
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
	struct tt_conn *c = req->data;
	if (status < 0 || !c->lingering) {
		tt_conn_close(c);
		return;
	}
	c->reading = 1;
	if (c->tls) {
		tt_tls_io_read_start(c->tls, on_alloc, linger_read);
	} else {
		uv_read_stop((uv_stream_t *)&c->tcp);
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, linger_read);
	}
	arm(c, TT_CT_LINGER, LINGER_MS);
}

/* Could the downstream still be sending? Bytes unread in our buffer or
 * in the kernel's, even from one that asked for the close: a reset would
 * destroy the response, whose last bytes the kernel may still hold for the
 * FIN (tt_conn_write). If not, lingering would only cost a shutdown, a
 * read and a timer per connection (nginx's lingering_close heuristic does
 * the same). */
static int may_be_sending(struct tt_conn *c)
{
	uv_os_fd_t fd;
	int n = 0;
	if (c->unread_body || (c->in.data && c->in.len > c->in.off))
		return 1;
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0 || ioctl(fd, FIONREAD, &n) != 0)
		return 1;
	return n > 0;
}

/* Shut the write side of a plain connection once what is written is out:
 * libuv orders a shutdown after its own writes, not after the ring's. */
static int shut(struct tt_conn *c, int linger)
{
	if (c->sending) {
		c->shut_pending = 1;
		c->shut_linger = (unsigned)linger;
		return 0;
	}
	return uv_shutdown(c->sreq, (uv_stream_t *)&c->tcp,
	                   linger ? on_shutdown : on_shutdown_write);
}

/* Close after the response: at once, or shut the write side, drain, then
 * close. */
static void close_gracefully(struct tt_conn *c)
{
	if (c->state == TT_CONN_CLOSING)
		return;
	c->state = TT_CONN_CLOSING;
	if (c->eof || (!c->tls && !may_be_sending(c))) {
		c->state = TT_CONN_IDLE;
		tt_conn_close(c);
		return;
	}
	c->lingering = 1;
	tt_conn_untime(c);
	if (!shutdown_req(c) ||
	    (c->tls ? tt_tls_io_shutdown(c->tls, c->sreq, on_shutdown) != 0 : shut(c, 1) != 0))
		tt_conn_close(c);
}

static void dispatch(struct tt_conn *c)
{
	if (c->dispatching) {
		c->again = 1;
		return;
	}
	c->dispatching = 1;
	do {
		c->again = 0;
		if (c->state == TT_CONN_HEAD)
			try_head(c);
	} while (c->again && c->state == TT_CONN_HEAD);
	c->dispatching = 0;
}

static void try_head(struct tt_conn *c)
{
	struct tt_worker *w = c->w;
	struct tt_h1_head req;
	ssize_t n;

	if (!c->in.data || c->in.len == 0)
		return;
	memset(&req, 0, sizeof(req));
	req.fields = w->fields;
	n = tt_h1_parse_request(c->in.data, c->in.len, &w->limits, &req);
	if (n == TT_H1_INCOMPLETE) {
		if (c->eof)
			tt_conn_close(c);
		else
			tt_conn_resume(c);
		return;
	}
	if (n == TT_H1_ERROR) {
		char details[96];
		unsigned char bad =
		    req.err_offset < c->in.len ? (unsigned char)c->in.data[req.err_offset] : 0;
		snprintf(details, sizeof(details), "%s at offset %zu (byte 0x%02x)",
		         tt_h1_err_token(req.err), req.err_offset, bad);
		tt_exchange_reject(c, tt_exchange_request_fault(req.err), details);
		return;
	}
	c->head_len = (uint32_t)n;
	c->in.off = (uint32_t)n;
	c->state = TT_CONN_EXCHANGE;
	tt_conn_untime(c);
	rate_restart(c);
	tt_exchange_start(c, &req);
}

/* ---- TLS listeners ---- */

/* A connection of a TLS listener that failed before any request: one log
 * line with the fault, counted without a group (there is no request). */
static void log_tls_fault(struct tt_conn *c, struct tt_fault *f)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tt_log_entry e = {
	    .time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
	    .downstream = c->peer,
	    .duration_ms = -1,
	    .upstream_connect_ms = -1,
	    .upstream_head_ms = -1,
	    .fault = f,
	};
	tt_metrics_fault(&c->w->metrics, -1, -1, f->id);
	tt_log_write(&c->w->log, &e);
}

static void on_tls_handshake(struct tt_tls_io *io, int status)
{
	struct tt_conn *c = tt_tls_io_owner(io);
	struct tt_fault f;
	if (status == 0)
		return;
	tt_fault_clear(&f);
	if (tt_tls_classify(tt_tls_io_conn(io), &f) == TT_FAULT_NONE)
		tt_fault_set(&f, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
	log_tls_fault(c, &f);
	tt_conn_close(c);
}

static void tls_sock_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tt_conn *c = h->data;
	tt_tls_io_sock_alloc(c->tls, buf);
}

static void tls_sock_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_conn *c = s->data;
	tt_tls_io_sock_read(c->tls, nread);
}

/*
 * The first n bytes of a TLS listener's connection, at c->in.data +
 * c->in.len: a TLS handshake record (type 22) starts TLS with them; else
 * it is plain HTTP on the TLS port, answered with a redirect to https://
 * (redirect_http) or closed. Returns 0 to go on with the bytes as plain
 * HTTP, 1 when they were taken.
 */
static int sniff(struct tt_conn *c, size_t n)
{
	const struct tt_cfg_tls_listener *lt = c->w->cfg->listeners[c->listener].tls;
	struct tt_tls_conn *t;
	struct tt_fault f;

	c->tls_sniff = 0;
	if ((unsigned char)c->in.data[c->in.len] != 22) {
		if (lt->redirect_http) {
			c->plain_on_tls = 1;
			return 0;
		}
		tt_fault_clear(&f);
		tt_fault_set(&f, TT_FAULT_TLS_PROTOCOL_ERROR, TT_STAGE_TLS, 0);
		tt_fault_details(&f, "plain HTTP spoken on a TLS port (%s)",
		                 c->w->cfg->listeners[c->listener].address);
		log_tls_fault(c, &f);
		tt_conn_close(c);
		return 1;
	}
	t = tt_tls_conn_new(lt->ctx, NULL);
	if (!t) {
		tt_conn_close(c);
		return 1;
	}
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->tls =
	    tt_tls_io_new(&c->w->loop, &c->tcp, t, tls_sock_alloc, tls_sock_read, on_tls_handshake);
	c->handles++;
	tt_tls_io_start(c->tls, c->in.data + c->in.len, n);
	tt_tls_io_read_start(c->tls, on_alloc, on_read);
	return 1;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_conn *c = s->data;

	if (nread == 0)
		return;
	if (nread == UV_ENOBUFS) {
		if (c->notify && c->state == TT_CONN_EXCHANGE && c->want_read)
			tt_exchange_on_ds_data(c->ex); /* readable: the exchange splices */
		else
			tt_conn_pause(c);
		return;
	}
	if (nread < 0) {
		c->eof = 1;
		tt_conn_pause(c);
		if (c->state == TT_CONN_EXCHANGE)
			tt_exchange_on_ds_eof(c->ex, (int)nread);
		else if (c->state == TT_CONN_HEAD && c->in.len && nread == UV_EOF)
			try_head(c);
		else
			tt_conn_close(c);
		return;
	}
	if (c->tls_sniff && sniff(c, (size_t)nread) != 0)
		return;
	c->in.len += (uint32_t)nread;
	switch (c->state) {
	case TT_CONN_IDLE:
		c->state = TT_CONN_HEAD;
		arm(c, TT_CT_HEAD, c->w->cfg->timeouts.downstream_head_ms);
		rate_restart(c);
		/* fall through */
	case TT_CONN_HEAD:
		if (!too_slow(c, (size_t)nread))
			dispatch(c);
		break;
	case TT_CONN_EXCHANGE:
		if (c->want_read) {
			if (!too_slow(c, (size_t)nread))
				tt_exchange_on_ds_data(c->ex);
		} else if (c->in.len >= c->w->bufs.block_bytes)
			tt_conn_pause(c);
		break;
	default: break;
	}
}

static void on_written(uv_write_t *req, int status)
{
	struct tt_exchange *ex = req->data;
	struct tt_conn *c = ex->c;
	c->writing = 0;
	if (tt_exchange_orphaned(ex))
		return; /* the connection closed under the write */
	tt_exchange_on_ds_written(ex, status);
}

static void on_ring_written(struct tt_ring_send *s, int status)
{
	struct tt_exchange *ex = s->data;
	struct tt_conn *c = ex->c;
	/* Closed under the send: close_conn took a handle count for it. */
	int held = uv_is_closing((uv_handle_t *)&c->tcp);
	c->sending = NULL;
	c->writing = 0;
	if (c->shut_pending) {
		c->shut_pending = 0;
		if (held || status < 0 || shut(c, c->shut_linger) != 0) {
			if (c->shut_linger)
				tt_conn_close(c);
		}
	}
	if (!tt_exchange_orphaned(ex))
		tt_exchange_on_ds_written(ex, status);
	if (held)
		unref(c);
}

/* Does this write carry the response's last bytes, after which the
 * connection closes? Then the kernel may hold them for the FIN (a tunnel's
 * bytes are never TT_RESP_DONE). With a new connection per request that
 * saves the FIN's own segment and the client's ACK of it: 12 TCP segments
 * per request in all (client, telltale, origin) become 10; HAProxy's 11. */
static int last_before_close(const struct tt_exchange *ex)
{
	return ex->resp == TT_RESP_DONE && !ex->ds_keep;
}

int tt_conn_write(struct tt_conn *c, uv_buf_t *bufs, int n, uint64_t *bytes_out)
{
	size_t total = 0, done;
	int r, i = 0;

	for (int k = 0; k < n; k++)
		total += bufs[k].len;
	if (total == 0)
		return 1;
	if (c->tls) {
		c->ex->wreq.data = c->ex;
		r = tt_tls_io_write(c->tls, &c->ex->wreq, bufs, n, on_written);
		if (r < 0)
			return r;
		*bytes_out += total;
		c->writing = r == 0;
		return r;
	}
	if (c->sending)
		return UV_EBUSY; /* one write at a time (conn.h): none can follow a ring send */
	if (c->w->ring && !c->writing) {
		uv_os_fd_t fd;
		c->ex->rsend.data = c->ex;
		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 &&
		    tt_ring_send(c->w->ring, &c->ex->rsend, fd, bufs, n,
		                 last_before_close(c->ex) ? MSG_MORE : 0, on_ring_written) == 0) {
			c->sending = &c->ex->rsend;
			c->writing = 1;
			*bytes_out += total;
			return 0;
		}
	}
	r = uv_try_write((uv_stream_t *)&c->tcp, bufs, (unsigned)n);
	if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS)
		return r;
	done = r > 0 ? (size_t)r : 0;
	*bytes_out += done;
	if (done == total)
		return 1;
	while (done >= bufs[i].len) {
		done -= bufs[i].len;
		i++;
	}
	bufs[i].base += done;
	bufs[i].len -= done;
	for (int k = i; k < n; k++)
		*bytes_out += bufs[k].len;
	/* The write request lives in the exchange: an idle connection does
	 * not pay for it. */
	c->ex->wreq.data = c->ex;
	r = uv_write(&c->ex->wreq, (uv_stream_t *)&c->tcp, bufs + i, (unsigned)(n - i), on_written);
	if (r != 0)
		return r;
	c->writing = 1;
	return 0;
}

static void on_shutdown_write(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status; /* a failure shows as a failed write or read */
}

int tt_conn_shutdown_write(struct tt_conn *c)
{
	if (!shutdown_req(c))
		return UV_ENOMEM;
	if (c->tls)
		return tt_tls_io_shutdown(c->tls, c->sreq, on_shutdown_write) == 0 ? 0 : UV_EPIPE;
	return shut(c, 0);
}

void tt_conn_exchange_done(struct tt_conn *c, int keep_alive)
{
	struct tt_worker *w = c->w;
	c->ex = NULL;
	c->want_read = 0;
	c->notify = 0;
	c->requests++;
	if (c->state == TT_CONN_CLOSING)
		return;
	if (!keep_alive || c->eof || w->stopping) {
		close_gracefully(c);
		return;
	}
	/* Drop the finished request, keep pipelined bytes. */
	c->head_len = 0;
	tt_buf_compact(&c->in, 0);
	if (c->in.len == 0) {
		tt_bufpool_put(&w->bufs, &c->in.data);
		c->state = TT_CONN_IDLE;
		arm(c, TT_CT_KEEPALIVE, w->cfg->timeouts.downstream_keepalive_ms);
		tt_conn_resume(c);
		if (c->tls)
			tt_tls_io_idle(c->tls); /* its 34 KiB of buffers back while idle */
		return;
	}
	c->state = TT_CONN_HEAD;
	arm(c, TT_CT_HEAD, w->cfg->timeouts.downstream_head_ms);
	rate_restart(c);
	dispatch(c);
}

void tt_conn_shutdown(struct tt_conn *c)
{
	/* Only an idle keep-alive connection closes at once (RFC 9112 section
	 * 9.3.1 lets a client retry on a new one). A new connection whose
	 * request is still on its way, or a request head arriving, is served
	 * (with Connection: close), as is one in an exchange: a reload must
	 * not fail a request the downstream has already sent (issue 7). The
	 * head timeout and timeouts.grace bound them. */
	if (c->state == TT_CONN_IDLE && c->requests > 0)
		tt_conn_close(c);
}

/* Downstream connections RLIMIT_NOFILE can carry: each may need an
 * upstream socket too, and the process keeps some descriptors of its own
 * (loops, listeners, log, resolver, admin). */
static uint32_t fd_cap(const struct tt_worker *w)
{
	struct rlimit rl;
	uint64_t reserve = 32 + (uint64_t)(w->cfg->workers + 1) * (w->nlisteners + 8), cap;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return UINT32_MAX;
	cap = rl.rlim_cur > reserve + 2 ? (rl.rlim_cur - reserve) / 2 : 1;
	return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

/* At the descriptor limit: leave the connection to libuv, which stops
 * reading the listener until we take it. Returns 1 when held. */
static int hold(struct tt_worker *w, uv_stream_t *listener)
{
	size_t i = (size_t)((uv_tcp_t *)listener - w->listeners);
	if (!w->ds_cap)
		w->ds_cap = fd_cap(w);
	if (atomic_load(w->ds_total) < w->ds_cap)
		return 0;
	if (!w->held && !(w->held = calloc(w->nlisteners, 1)))
		abort();
	if (!w->held[i])
		tt_counter_add(&w->metrics.accept_paused, 1);
	w->held[i] = 1;
	return 1;
}

void tt_conn_accept_resume(struct tt_worker *w)
{
	if (!w->held || w->stopping)
		return;
	for (size_t i = 0; i < w->nlisteners; i++) {
		if (!w->held[i] || atomic_load(w->ds_total) >= w->ds_cap)
			continue;
		w->held[i] = 0;
		tt_conn_accept(w, (uv_stream_t *)&w->listeners[i]);
	}
}

void tt_conn_accept(struct tt_worker *w, uv_stream_t *listener)
{
	struct tt_conn *c;
	uint32_t total, max;
	struct sockaddr_storage ss;
	int len = sizeof(ss), v6 = 0;

	if (hold(w, listener))
		return;
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	c->magic = TT_CONN_MAGIC;
	c->w = w;
	c->listener = w->listen_cfg[(uv_tcp_t *)listener - w->listeners];
	tt_counter_add(&w->metrics.accepted, 1);
	uv_tcp_init(&w->loop, &c->tcp);
	c->tcp.data = c;
	c->handles = 1;
	total = atomic_fetch_add(w->ds_total, 1) + 1;
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		tt_conn_close(c);
		return;
	}
	/* TCP_NODELAY came with the socket from its listener (core/gen.c). */
	memset(&ss, 0, sizeof(ss));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
		tt_addr_format((struct sockaddr *)&ss, c->peer, sizeof(c->peer));
		tt_addr_ip((struct sockaddr *)&ss, c->peer_ip, sizeof(c->peer_ip), &v6);
		c->peer_v6 = (unsigned)v6;
		c->trusted = tt_cfg_is_trusted(w->cfg, (struct sockaddr *)&ss) ? 1 : 0;
		c->detail = tt_cfg_shows_detail(w->cfg, (struct sockaddr *)&ss) ? 1 : 0;
	}
	c->state = TT_CONN_IDLE;
	max = w->cfg->limits.max_connections;
	if (max && total > max) {
		/* Past the global limit: a clear 503 with Retry-After now,
		 * rather than a queue that grows until everything is slow. */
		char details[96];
		snprintf(details, sizeof(details), "%u downstream connections open, limit %u",
		         total, max);
		tt_exchange_reject(c, TT_FAULT_CONNECTION_LIMIT_REACHED, details);
		return;
	}
	c->tls_sniff = w->cfg->listeners[c->listener].tls ? 1 : 0;
	arm(c, TT_CT_HEAD, w->cfg->timeouts.downstream_head_ms);
	tt_conn_resume(c);
}
