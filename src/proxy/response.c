/*
 * The response side of the exchange: the upstream's head parsed strictly
 * and classified when it is bad, the head rewritten for downstream, the
 * body streamed through the pump, and the upstream timers (connect, head,
 * idle between bytes, total).
 *
 * Invariant: nothing of a response goes downstream before its head parsed
 * without error and, when the first chunk-size line arrived with the head,
 * before that line was checked too; after the first byte went downstream a
 * failure cuts the connection (tt_ex_abort_midstream).
 */
#include "proxy/exchange_int.h"

#include <stdio.h>
#include <string.h>

#include "fault/classify.h"
#include "respond/proxy_status.h"
#include "respond/stale.h"
#include "upstream/balancer.h"

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms * 1000000ull;
}

/* Milliseconds left of timeouts.total, or 0 when it is off. At least 1
 * once it is on, so a timer still fires. */
static uint64_t total_left_ms(struct tt_exchange *ex)
{
	uint64_t total = ex->c->w->cfg->timeouts.total_ms;
	uint64_t spent = (tt_worker_now_ns(ex->c->w) - ex->t_start_ns) / 1000000;
	if (!total)
		return 0;
	return spent >= total ? 1 : total - spent;
}

static int head_partial(const struct tt_exchange *ex)
{
	const struct tt_upconn *u = ex->up;
	return u && u->in.data && u->in.len > u->in.off;
}

static void on_up_timer(struct tt_upconn *u)
{
	struct tt_exchange *ex = u->ex;
	const struct tt_cfg_timeouts *to;
	uint64_t now = tt_worker_now_ns(ex->c->w);
	struct tt_fault_wait fw;
	enum tt_stage st;
	enum tt_fault_id id;
	int sys = 0;

	if (!ex)
		return;
	to = &ex->c->w->cfg->timeouts;
	if (ex->send_err) {
		tt_ex_send_failed(ex, ex->send_err);
		return;
	}
	if (tt_upconn_handshaking(u) &&
	    !(to->total_ms && now - ex->t_start_ns >= ms_to_ns(to->total_ms))) {
		tt_ex_fault(ex, TT_FAULT_CONNECTION_TIMEOUT, TT_STAGE_TLS, UV_ETIMEDOUT);
		tt_fault_details(&ex->fault,
		                 "the TLS handshake with %s did not finish within %llu ms "
		                 "(timeouts.upstream_handshake)",
		                 ex->pool->addr, (unsigned long long)to->upstream_handshake_ms);
		tt_ex_fail(ex);
		return;
	}
	fw = (struct tt_fault_wait){
	    .to = to,
	    .total_expired = to->total_ms && now - ex->t_start_ns >= ms_to_ns(to->total_ms),
	    .connected = u->connected,
	    .head_done = ex->resp != TT_RESP_WAIT,
	    .head_bytes = head_partial(ex) ? u->in.len - u->in.off : 0,
	    /* With upstream_head off the head has no deadline to pass. */
	    .before_head_deadline = !ex->head_deadline_ns || now < ex->head_deadline_ns,
	    .body_bytes = ex->resppump.body_bytes,
	};
	id = tt_fault_from_timeout(&fw, &st, &sys);
	tt_ex_fault(ex, id, st, sys);
	tt_fault_describe_timeout(&ex->fault, &fw);
	tt_ex_fail(ex);
}

void tt_ex_up_timer_arm(struct tt_exchange *ex, uint64_t ms)
{
	uint64_t left;
	if (!ex->up)
		return;
	left = total_left_ms(ex);
	if (left && (!ms || left < ms))
		ms = left;
	if (ms)
		tt_upconn_timer(ex->up, ms, on_up_timer);
	else
		tt_upconn_timer_stop(ex->up);
}

/* While the head is due: the head deadline, or sooner the idle timeout
 * once some bytes of it arrived. */
static void arm_head_timer(struct tt_exchange *ex)
{
	const struct tt_cfg_timeouts *to = &ex->c->w->cfg->timeouts;
	uint64_t now = tt_worker_now_ns(ex->c->w), ms = 0;
	if (ex->head_deadline_ns)
		ms = ex->head_deadline_ns > now ? (ex->head_deadline_ns - now) / 1000000 + 1 : 1;
	if (head_partial(ex) && to->upstream_idle_ms && (!ms || to->upstream_idle_ms < ms))
		ms = to->upstream_idle_ms;
	tt_ex_up_timer_arm(ex, ms);
}

void tt_ex_request_sent(struct tt_exchange *ex)
{
	uint64_t head_ms = ex->c->w->cfg->timeouts.upstream_head_ms;
	if (ex->req_sent)
		return;
	ex->req_sent = 1;
	if (head_ms)
		ex->head_deadline_ns = tt_worker_now_ns(ex->c->w) + ms_to_ns(head_ms);
	if (ex->resp == TT_RESP_WAIT)
		arm_head_timer(ex);
}

static enum tt_h1_framing downstream_framing(struct tt_exchange *ex, enum tt_h1_framing up)
{
	if (up == TT_H1_BODY_CHUNKED || up == TT_H1_BODY_CLOSE)
		return ex->http10 ? TT_H1_BODY_CLOSE : TT_H1_BODY_CHUNKED;
	return up;
}

static void on_tap(void *arg, const char *data, size_t len)
{
	struct tt_exchange *ex = arg;
	if (tt_stale_append(ex->capture, data, len) < 0) {
		tt_stale_abort(&ex->capture);
		ex->resppump.tap = NULL;
	}
}

/* Copy a response the stale store may keep (RFC 9111 storability is the
 * store's to decide), while it streams. */
static void capture(struct tt_exchange *ex, const struct tt_h1_head *h)
{
	struct tt_worker *w = ex->c->w;
	struct tt_h1_head req;
	if (!w->stale || (ex->method_id != TT_METHOD_GET && ex->method_id != TT_METHOD_HEAD))
		return;
	if (tt_ex_reparse_request(ex, &req) != 0)
		return;
	ex->capture =
	    tt_stale_begin(w->stale, &req, ex->host, ex->host_len, h, tt_worker_wall_ms(w), NULL);
	if (ex->capture) {
		ex->resppump.tap = on_tap;
		ex->resppump.tap_arg = ex;
	}
}

void tt_ex_head_arrived(struct tt_exchange *ex, int status)
{
	struct tt_fault_attempt *a = tt_ex_attempt(ex);
	if (a)
		a->head_ms = tt_ex_ms_since(ex, ex->t_sent_ns);
	if (a && ex->pool)
		ex->pool->ewma_ms = tt_lb_ewma(ex->pool->ewma_ms, a->head_ms);
	if (a && ex->ups)
		tt_hist_observe(&ex->c->w->metrics.head[tt_ex_group(ex)], a->head_ms);
	tt_ex_attempt_end(ex, 1, TT_FAULT_NONE);
	ex->upstream_status = status;
	ex->status = status;
}

static int start_response(struct tt_exchange *ex, const struct tt_h1_head *h)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	enum tt_h1_framing out = downstream_framing(ex, h->framing);
	enum tt_pump_in in = TT_PUMP_IN_NONE;
	char ps[256];
	ssize_t n;

	tt_ex_head_arrived(ex, h->status);
	ex->up_keep = !h->conn_close && h->framing != TT_H1_BODY_CLOSE;
	if (out == TT_H1_BODY_CLOSE || !ex->req_done || c->eof || w->stopping)
		ex->ds_keep = 0;
	if (h->framing == TT_H1_BODY_LENGTH)
		in = TT_PUMP_IN_LENGTH;
	else if (h->framing == TT_H1_BODY_CHUNKED)
		in = TT_PUMP_IN_CHUNKED;
	else if (h->framing == TT_H1_BODY_CLOSE)
		in = TT_PUMP_IN_CLOSE;
	tt_pump_init(&ex->resppump, in, h->content_length,
	             out == TT_H1_BODY_CHUNKED ? TT_PUMP_OUT_CHUNKED : TT_PUMP_OUT_RAW, 0);
	/* The record holds the attempt that succeeded: next-hop for trusted
	 * eyes comes from it. */
	if (tt_ps_member(ps, sizeof(ps), w->ps_name, &ex->fault, h->status, c->detail ? 1 : 0) < 0)
		ps[0] = 0;
	struct tt_hdr_response_ctx ctx = {
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name,
	    .framing = out,
	    .content_length = h->content_length,
	    .keep_alive = ex->ds_keep,
	    .http10_downstream = ex->http10,
	    .proxy_status = ps,
	};
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	n = tt_hdr_downstream_response(ex->resphead, w->bufs.block_bytes, h, &ctx);
	if (n < 0)
		return -1;
	capture(ex, h);
	ex->resp = TT_RESP_BODY;
	ex->resphead_len = (uint32_t)n;
	ex->resp_head_written = 0;
	ex->up->in.off += (uint32_t)h->head_len;
	return 0;
}

/* Turn a response head the parser rejected into the most specific fault
 * (src/fault/classify.c: the same words telltale doctor uses). */
static void classify_bad_head(struct tt_exchange *ex, const struct tt_h1_head *h, const char *buf,
                              size_t len)
{
	tt_ex_fault(ex, tt_fault_from_head_error(h->err), TT_STAGE_READ_HEAD, 0);
	tt_fault_describe_head_error(&ex->fault, h, buf, len, &ex->c->w->limits);
	/* For the status page (HAProxy's "show errors"): the bytes around
	 * the offending one, copied by tt_ex_fail. */
	ex->bad_head = buf;
	ex->bad_head_len = (uint32_t)len;
	ex->bad_head_off = (uint32_t)h->err_offset;
}

/* Parse response heads in the upstream buffer: skip 1xx, start the final
 * one. Returns 1 when the response started, 0 when more bytes are needed,
 * -1 when the exchange failed (and is gone) or became a tunnel. */
static int parse_response_head(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	struct tt_worker *w = ex->c->w;
	struct tt_h1_head h;
	ssize_t n;

	for (;;) {
		const char *buf = u->in.data + u->in.off;
		size_t len = u->in.len - u->in.off;
		memset(&h, 0, sizeof(h));
		h.fields = w->fields;
		n = tt_h1_parse_response(buf, len, ex->method_id, &w->limits, &h);
		if (n == TT_H1_INCOMPLETE)
			return 0;
		if (n == TT_H1_ERROR) {
			classify_bad_head(ex, &h, buf, len);
			tt_ex_fail(ex);
			return -1;
		}
		if (h.status >= 200)
			break;
		if (h.status == 101) {
			/* RFC 9110 section 15.2.2: the final answer to an
			 * upgrade; the connection speaks another protocol after
			 * its empty line. */
			tt_ex_switch_protocols(ex, &h, (size_t)n);
			return -1;
		}
		/* RFC 9110 section 15.2: 1xx responses are interim; telltale
		 * answered Expect itself, so they are consumed here. */
		u->in.off += (uint32_t)n;
	}
	h.head_len = (size_t)n;
	if (start_response(ex, &h) < 0) {
		tt_ex_fault(ex, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE, TT_STAGE_READ_HEAD, 0);
		tt_fault_details(&ex->fault, "the rewritten head does not fit in a buffer block");
		tt_ex_fail(ex);
		return -1;
	}
	tt_ex_up_timer_arm(ex, w->cfg->timeouts.upstream_idle_ms);
	return 1;
}

static void response_done(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	tt_stale_commit(&ex->capture);
	if (u) {
		tt_upconn_timer_stop(u);
		tt_upconn_read_park(u);
		if (u->in.len != u->in.off)
			ex->up_keep = 0; /* bytes beyond the response: not reusable */
	}
	tt_ex_free(ex, 1);
}

static void bad_body_framing(struct tt_exchange *ex)
{
	tt_ex_fault(ex, TT_FAULT_HTTP_RESPONSE_TRANSFER_CODING, TT_STAGE_READ_BODY, 0);
	tt_fault_describe_bad_chunk(&ex->fault, &ex->resppump.dec);
	/* Nothing written yet (the head was still waiting for this first
	 * chunk line): telltale can still answer with its own 502. */
	tt_ex_fail(ex);
}

void tt_ex_ds_write_failed(struct tt_exchange *ex, int err)
{
	struct tt_conn *c = ex->c;
	tt_ex_fault(ex, TT_FAULT_DOWNSTREAM_CLOSED, TT_STAGE_RESPOND, err);
	tt_fault_details(&ex->fault,
	                 "writing the response to %s failed (%s) after %llu bytes of the response",
	                 c->peer, uv_err_name(err), (unsigned long long)ex->bytes_out);
	tt_ex_drop_upstream(ex);
	tt_ex_free(ex, 0);
	tt_conn_close(c);
}

/* Stream response bytes downstream until a write queues or input runs out.
 * Returns -1 when the exchange is gone. */
static int pump_response(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_upconn *u = ex->up;
	uv_buf_t iov[TT_PUMP_MAX_IOV + 1];

	while (!c->writing) {
		int n = 0, r;
		size_t used = 0;
		if (!ex->resp_head_written)
			iov[n++] = uv_buf_init(ex->resphead, ex->resphead_len);
		if (u->in.len > u->in.off) {
			enum tt_pump_ret pr = tt_pump_feed(&ex->resppump, u->in.data + u->in.off,
			                                   u->in.len - u->in.off, iov, &n, &used);
			u->in.off += (uint32_t)used;
			if (pr != TT_PUMP_OK) {
				bad_body_framing(ex);
				return -1;
			}
		}
		if (ex->resppump.done)
			ex->resp = TT_RESP_DONE;
		if (n == 0)
			break;
		ex->resp_head_written = 1;
		ex->resp_started = 1;
		r = tt_conn_write(c, iov, n, &ex->bytes_out);
		if (r < 0) {
			tt_ex_ds_write_failed(ex, r);
			return -1;
		}
		if (r == 0)
			break;
		if (u->in.off == u->in.len)
			u->in.off = u->in.len = 0;
		if (ex->resp == TT_RESP_DONE)
			break;
	}
	return 0;
}

/* The upstream's stream ended (or failed) and every byte before it was
 * processed. */
static void handle_up_eof(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	int err = ex->up_eof;

	if (ex->resp == TT_RESP_WAIT) {
		/* A reused connection closed before any response byte: the
		 * keep-alive race. Retry once on a fresh connection when
		 * nothing of the request can have been consumed twice: no
		 * body, and an idempotent method (RFC 9110 section 9.2.2). */
		int partial = u->in.len > u->in.off;
		struct tt_fault_attempt *a = tt_ex_attempt(ex);
		if (u->reused && !partial && u->in.len == 0 && !ex->has_body && !ex->retried &&
		    tt_h1_method_idempotent(ex->method_id)) {
			if (a) {
				a->id = TT_FAULT_CONNECTION_TERMINATED;
				a->stage = TT_STAGE_WAIT_HEAD;
				a->sys_err = err;
			}
			ex->retried = 1;
			ex->up_eof = 0;
			tt_ex_drop_upstream(ex);
			tt_ex_attempt_start(ex, 1);
			return;
		}
		{
			uint64_t hb = partial ? u->in.len - u->in.off : 0;
			enum tt_stage st;
			enum tt_fault_id id = tt_fault_from_eof(0, hb, &st);
			if (!ex->req_sent && !hb) {
				/* It left while the request was still going out. */
				tt_ex_fault(ex, id, TT_STAGE_SEND, err);
				tt_fault_describe_eof_send(&ex->fault, err, ex->has_body,
				                           ex->reqpump.body_bytes);
			} else {
				tt_ex_fault(ex, id, st, err);
				tt_fault_describe_eof_head(&ex->fault, err, hb, u->reused);
			}
		}
		tt_ex_fail(ex);
		return;
	}
	if (ex->resp == TT_RESP_BODY) {
		uv_buf_t iov[2];
		int n = 0;
		if (tt_pump_eof(&ex->resppump, iov, &n) != TT_PUMP_OK) {
			tt_ex_fault(ex, TT_FAULT_HTTP_RESPONSE_INCOMPLETE, TT_STAGE_READ_BODY, err);
			tt_fault_describe_eof_body(&ex->fault, err,
			                           ex->resppump.in == TT_PUMP_IN_LENGTH,
			                           ex->resppump.body_bytes, ex->resppump.remaining);
			tt_ex_fail(ex);
			return;
		}
		ex->resp = TT_RESP_DONE;
		ex->up_keep = 0;
		if (n) {
			int r;
			ex->resp_started = 1;
			r = tt_conn_write(ex->c, iov, n, &ex->bytes_out);
			if (r < 0) {
				tt_ex_ds_write_failed(ex, r);
				return;
			}
			if (r == 0)
				return; /* on_ds_written finishes */
		}
	}
	response_done(ex);
}

/* The downstream is not taking the response as fast as it comes: stop
 * reading the upstream (backpressure). Its silence is then telltale's
 * doing, so the upstream idle timer stops and the downstream's idle timer
 * runs instead: a client that never reads is its own fault. */
static void stall_on_downstream(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	/* A whole response waits for its last write: nothing more is due
	 * from the upstream, and a read stop now and a start for the next
	 * request would cost two epoll_ctl calls. What comes meanwhile (an
	 * end of stream) is seen when the write is done. */
	if (ex->resp == TT_RESP_DONE)
		return;
	tt_upconn_read_stop(u);
	if (ex->resp != TT_RESP_BODY)
		return;
	tt_ex_up_timer_arm(ex, 0); /* the total timeout alone */
	if (ex->req_done)
		tt_conn_touch(ex->c);
}

/* ---- spliced bodies ----
 * A body passed as it is (Content-Length, or until close to an HTTP/1.0
 * client) between two plain sockets goes upstream socket -> pipe ->
 * downstream socket in the kernel once the bytes that came with the head
 * are written: no copy through telltale's memory (issue 8). Chunked and
 * TLS bodies, and responses the stale store captures, take the pump. */

static int splice_begin(struct tt_exchange *ex)
{
	const struct tt_pump *p = &ex->resppump;
	if (ex->c->tls || ex->up->tls || p->out != TT_PUMP_OUT_RAW || p->tap || ex->up_eof)
		return 0;
	if (p->in == TT_PUMP_IN_LENGTH ? p->remaining < TT_EX_SPLICE_MIN_BYTES
	                               : p->in != TT_PUMP_IN_CLOSE)
		return 0;
	/* No pipe at the descriptor limit: the pump copies instead. */
	if (tt_pipe_get(&ex->c->w->pipes, &ex->pipe) != 0)
		return 0;
	ex->splicing = 1;
	return 1;
}

static void on_up_splice(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	(void)buf;
	if (!u->ex)
		return;
	if (nread < 0 && nread != UV_ENOBUFS) /* libuv read nothing: not expected */
		u->ex->up_eof = (int)nread;
	tt_ex_process_response(u->ex);
}

/* Empty the pipe downstream. Returns 1 when it is empty, 0 when the
 * downstream is full (libuv writes one byte of it and its callback goes
 * on), -1 when the exchange is gone. */
static int splice_flush(struct tt_exchange *ex, int dfd)
{
	struct tt_conn *c = ex->c;
	for (;;) {
		uv_buf_t b = uv_buf_init(&ex->spill, 1);
		uint64_t moved = 0;
		int r = tt_pipe_drain(&ex->pipe, dfd, &ex->spill, &moved);
		ex->bytes_out += moved;
		tt_counter_add(&c->w->metrics.spliced, moved);
		if (r == 1)
			return 1;
		/* Full: libuv's write of one byte waits for room, and says so. */
		if (r == 0)
			r = tt_conn_write(c, &b, 1, &ex->bytes_out);
		if (r < 0) {
			tt_ex_ds_write_failed(ex, r);
			return -1;
		}
		if (r == 0)
			return 0;
	}
}

static void splice_body(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	struct tt_pump *p = &ex->resppump;
	uv_os_fd_t ufd, dfd;
	int got = 0, r;

	if (uv_fileno((uv_handle_t *)&u->tcp, &ufd) != 0 ||
	    uv_fileno((uv_handle_t *)&ex->c->tcp, &dfd) != 0) {
		tt_ex_ds_write_failed(ex, UV_EBADF);
		return;
	}
	for (;;) {
		ssize_t n;
		r = splice_flush(ex, dfd);
		if (r < 0)
			return;
		if (r == 0) {
			stall_on_downstream(ex);
			return;
		}
		if (p->in == TT_PUMP_IN_LENGTH && p->remaining == 0) {
			p->done = 1;
			ex->resp = TT_RESP_DONE;
			response_done(ex);
			return;
		}
		if (ex->up_eof) {
			handle_up_eof(ex);
			return;
		}
		n = tt_splice_in(&ex->pipe, ufd,
		                 p->in == TT_PUMP_IN_LENGTH ? p->remaining : TT_PIPE_BYTES);
		if (n == UV_EAGAIN)
			break;
		if (n <= 0) {
			tt_upconn_read_stop(u);
			ex->up_eof = n == 0 ? UV_EOF : (int)n;
			continue;
		}
		got = 1;
		p->body_bytes += (uint64_t)n;
		if (p->in == TT_PUMP_IN_LENGTH)
			p->remaining -= (uint64_t)n;
	}
	if (!u->reading && ex->req_done)
		tt_conn_untime(ex->c); /* the downstream drained */
	if (got || !u->reading)
		tt_ex_up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_idle_ms);
	tt_upconn_read_notify(u, on_up_splice);
}

void tt_ex_process_response(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;

	if (ex->c->writing) {
		stall_on_downstream(ex);
		return;
	}
	if (ex->splicing) {
		splice_body(ex);
		return;
	}
	if (ex->resp == TT_RESP_WAIT) {
		int r = parse_response_head(ex);
		if (r < 0)
			return;
		if (r == 0) {
			if (ex->up_eof)
				handle_up_eof(ex);
			else
				arm_head_timer(ex);
			return;
		}
	}
	if (ex->resp == TT_RESP_BODY && pump_response(ex) < 0)
		return;
	if (ex->c->writing) {
		stall_on_downstream(ex);
		return;
	}
	if (ex->resp == TT_RESP_DONE) {
		response_done(ex);
		return;
	}
	if (ex->up_eof) {
		handle_up_eof(ex);
		return;
	}
	if (u->in.data && u->in.off == u->in.len)
		u->in.off = u->in.len = 0;
	if (ex->resp == TT_RESP_BODY && u->in.len == 0 && splice_begin(ex)) {
		splice_body(ex);
		return;
	}
	if (ex->resp == TT_RESP_BODY && !u->reading) {
		/* The downstream drained: the upstream's silence counts again. */
		if (ex->req_done)
			tt_conn_untime(ex->c);
		tt_ex_up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_idle_ms);
	}
	tt_upconn_read_start(u, tt_ex_on_up_read);
}

void tt_ex_on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	struct tt_exchange *ex = u->ex;

	if (nread == 0 || !ex)
		return;
	if (nread == UV_ENOBUFS) {
		/* The block is full and the head is still not complete. */
		if (ex->resp == TT_RESP_WAIT) {
			tt_ex_fault(ex, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE,
			            TT_STAGE_READ_HEAD, 0);
			tt_fault_describe_head_overflow(&ex->fault, u->in.len);
			tt_ex_fail(ex);
		} else {
			tt_upconn_read_stop(u);
		}
		return;
	}
	if (nread == UV_EPROTO && u->tls && ex->resp == TT_RESP_WAIT) {
		/* TLS 1.3: a refused client certificate arrives as an alert on
		 * the first read; the request was not processed. */
		tt_ex_tls_failed(ex);
		return;
	}
	if (nread < 0) {
		tt_upconn_read_stop(u);
		ex->up_eof = (int)nread;
	} else {
		u->in.len += (uint32_t)nread;
		if (ex->resp == TT_RESP_BODY)
			tt_ex_up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_idle_ms);
	}
	tt_ex_process_response(ex);
}
