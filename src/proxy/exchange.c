/*
 * The exchange: see exchange.h.
 *
 * Both directions run the same loop: feed the bytes read so far through the
 * body pump, write what it yields with one vectored write, and while that
 * write is queued stop reading the other side (backpressure). A buffer is
 * compacted only after the write that points into it has finished.
 */
#include "proxy/exchange.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conn.h"
#include "core/worker.h"
#include "upstream/pool.h"

static void attempt_start(struct tt_exchange *ex, int fresh);
static void pump_request(struct tt_exchange *ex);
static void process_response(struct tt_exchange *ex);
static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static double ms_since(uint64_t t_ns)
{
	return (double)(uv_hrtime() - t_ns) / 1e6;
}

static struct tt_exchange *ex_new(struct tt_conn *c)
{
	struct tt_worker *w = c->w;
	struct tt_exchange *ex = w->free_exchanges;
	struct timespec ts;

	if (ex)
		w->free_exchanges = ex->next_free;
	else if (!(ex = malloc(sizeof(*ex))))
		abort();
	memset(ex, 0, sizeof(*ex));
	ex->magic = TT_EXCHANGE_MAGIC;
	ex->c = c;
	ex->t_start_ns = uv_hrtime();
	clock_gettime(CLOCK_REALTIME, &ts);
	ex->wall_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	ex->connect_ms = ex->head_ms = -1;
	ex->ds_keep = 1;
	c->ex = ex;
	return ex;
}

static void ex_log(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_log_entry e = {
	    .time_ms = ex->wall_ms,
	    .request_id = ex->request_id,
	    .downstream = c->peer,
	    .method = ex->method,
	    .method_len = ex->method_len,
	    .target = ex->target,
	    .target_len = ex->target_len,
	    .status = ex->status,
	    .bytes_in = ex->bytes_in,
	    .bytes_out = ex->bytes_out,
	    .duration_ms = ms_since(ex->t_start_ns),
	    .upstream = ex->pool ? ex->pool->addr : NULL,
	    .upstream_status = ex->upstream_status,
	    .upstream_connect_ms = ex->connect_ms,
	    .upstream_head_ms = ex->head_ms,
	    .attempts = ex->attempts,
	    .upstream_reused = ex->reused,
	    .error = ex->error,
	};
	tt_log_write(&c->w->log, &e);
}

static void drop_upstream(struct tt_exchange *ex)
{
	if (!ex->up)
		return;
	uv_timer_stop(&ex->up->timer);
	tt_upconn_close(ex->up);
	ex->up = NULL;
}

/* Log, release everything, and hand the connection back (unless it is
 * being closed, in which case notify is 0). */
static void ex_free(struct tt_exchange *ex, int notify)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	int keep = ex->ds_keep && ex->req_done && !ex->local_pending;

	if (ex->up) {
		struct tt_upconn *u = ex->up;
		ex->up = NULL;
		uv_timer_stop(&u->timer);
		if (ex->up_keep && ex->req_sent && ex->resp == TT_RESP_DONE && !u->writing &&
		    !ex->up_eof)
			tt_pool_give(u);
		else
			tt_upconn_close(u);
	}
	if (ex->has_body && !ex->req_done)
		ex->bytes_in = ex->reqpump.body_bytes;
	ex_log(ex);
	tt_bufpool_put(&w->bufs, &ex->reqhead);
	tt_bufpool_put(&w->bufs, &ex->resphead);
	c->ex = NULL;
	if (c->writing) {
		/* libuv still holds ex->wreq; its callback recycles ex. */
		ex->orphan = 1;
	} else {
		ex->magic = 0;
		ex->next_free = w->free_exchanges;
		w->free_exchanges = ex;
	}
	c->want_read = 0;
	if (notify)
		tt_conn_exchange_done(c, keep);
}

/* The response broke after its head went downstream: never let it look
 * complete. */
static void abort_midstream(struct tt_exchange *ex, const char *error)
{
	struct tt_conn *c = ex->c;
	if (!ex->error)
		ex->error = error;
	drop_upstream(ex);
	ex_free(ex, 0);
	tt_conn_reset(c);
}

static void local_send(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	char body[192];
	uv_buf_t iov;
	ssize_t len;
	int r;

	ex->local_pending = 0;
	snprintf(body, sizeof(body), "%d %s\nerror: %s\nrequest-id: %s\n", ex->status,
	         tt_hdr_reason(ex->status), ex->error ? ex->error : "-", ex->request_id);
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	len = tt_hdr_local_response(ex->resphead, w->bufs.block_bytes, ex->status, body,
	                            ex->request_id, ex->ds_keep, ex->method_id == TT_METHOD_HEAD);
	iov = uv_buf_init(ex->resphead, (unsigned)len);
	ex->resp_started = 1;
	ex->resp = TT_RESP_DONE;
	r = tt_conn_write(c, &iov, 1, &ex->bytes_out);
	if (r < 0) {
		ex->error = "downstream_write_failed";
		ex_free(ex, 0);
		tt_conn_close(c);
	} else if (r == 1) {
		ex_free(ex, 1);
	}
}

/* Answer with telltale's own response: an error before any response byte
 * went downstream. */
static void local_response(struct tt_exchange *ex, int status, const char *error)
{
	struct tt_conn *c = ex->c;
	if (ex->resp_started) {
		abort_midstream(ex, error);
		return;
	}
	drop_upstream(ex);
	ex->local = 1;
	ex->status = status;
	if (!ex->error)
		ex->error = error;
	if (!ex->req_done) {
		ex->ds_keep = 0;
		c->want_read = 0;
	}
	tt_conn_pause(c);
	uv_timer_stop(&c->timer);
	if (c->writing) {
		ex->local_pending = 1;
		return;
	}
	local_send(ex);
}

void tt_exchange_reject(struct tt_conn *c, int status, const char *error)
{
	struct tt_exchange *ex = ex_new(c);
	uint64_t hi, lo;
	c->state = TT_CONN_EXCHANGE;
	tt_worker_random(c->w, &hi, &lo);
	tt_hdr_request_id(NULL, 0, hi, lo, ex->request_id);
	ex->ds_keep = 0;
	ex->req_done = 1;
	local_response(ex, status, error);
}

/* Decide the request's framing toward the upstream and its body pump. */
static int setup_request_body(struct tt_exchange *ex, const struct tt_h1_head *req)
{
	const struct tt_config *cfg = ex->c->w->cfg;
	uint64_t max = cfg->limits.body_bytes;
	enum tt_pump_in in = TT_PUMP_IN_NONE;

	if (req->framing == TT_H1_BODY_LENGTH) {
		if (max && req->content_length > max)
			return -1;
		in = TT_PUMP_IN_LENGTH;
	} else if (req->framing == TT_H1_BODY_CHUNKED) {
		in = TT_PUMP_IN_CHUNKED;
	}
	tt_pump_init(&ex->reqpump, in, req->content_length,
	             in == TT_PUMP_IN_CHUNKED ? TT_PUMP_OUT_CHUNKED : TT_PUMP_OUT_RAW, max);
	ex->has_body = !ex->reqpump.done;
	ex->req_done = ex->reqpump.done;
	return 0;
}

static int build_request_head(struct tt_exchange *ex, const struct tt_h1_head *req,
                              const char *host, size_t host_len, const char *path, size_t path_len)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	struct tt_hdr_request_ctx ctx = {
	    .host = host,
	    .host_len = host_len,
	    .path = path,
	    .path_len = path_len,
	    .peer_ip = c->peer_ip,
	    .peer_v6 = c->peer_v6,
	    .trusted = c->trusted,
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name ? w->cfg->name : "telltale",
	    .upstream_host = ex->pool->addr,
	    .close_upstream = ex->pool->group->keepalive_max_idle == 0,
	};
	ssize_t n;

	ex->reqhead = tt_bufpool_get(&w->bufs);
	n = tt_hdr_upstream_request(ex->reqhead, w->bufs.block_bytes, req, &ctx, req->framing,
	                            req->content_length);
	if (n < 0)
		return -1;
	ex->reqhead_len = (uint32_t)n;
	return 0;
}

static void send_continue(struct tt_exchange *ex)
{
	static char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
	uv_buf_t iov = uv_buf_init(msg, sizeof(msg) - 1);
	uint64_t ignored = 0;
	ex->continue_sent = 1;
	/* 1xx bytes are not counted in bytes_out: they are not the response. */
	if (tt_conn_write(ex->c, &iov, 1, &ignored) < 0)
		ex->ds_keep = 0;
}

void tt_exchange_start(struct tt_conn *c, const struct tt_h1_head *req)
{
	struct tt_worker *w = c->w;
	struct tt_exchange *ex = ex_new(c);
	const struct tt_cfg_route *route;
	const char *host, *path;
	size_t host_len, path_len;
	uint64_t hi, lo;

	ex->method = req->method;
	ex->method_len = (uint32_t)req->method_len;
	ex->target = req->target;
	ex->target_len = (uint32_t)req->target_len;
	ex->method_id = req->method_id;
	ex->http10 = req->version_minor == 0;
	ex->ds_keep = !req->conn_close;
	tt_worker_random(w, &hi, &lo);
	tt_hdr_request_id(req, c->trusted, hi, lo, ex->request_id);
	if (setup_request_body(ex, req) < 0) {
		local_response(ex, 413, "body_too_large");
		return;
	}
	c->want_read = ex->has_body;
	if (req->method_id == TT_METHOD_CONNECT) {
		local_response(ex, 501, "connect_unsupported");
		return;
	}
	if (tt_hdr_effective_target(req, &host, &host_len, &path, &path_len) < 0) {
		local_response(ex, 400, "bad_target");
		return;
	}
	route = tt_cfg_route_match(w->cfg, host, host_len, path, path_len);
	if (!route) {
		local_response(ex, 404, "no_route");
		return;
	}
	ex->ups = &w->ups[route->upstream - w->cfg->upstreams];
	ex->pool = &ex->ups->pools[tt_balancer_pick(&ex->ups->bal)];
	if (build_request_head(ex, req, host, host_len, path, path_len) < 0) {
		local_response(ex, 431, "head_too_large");
		return;
	}
	if (req->expect_continue && ex->has_body && !ex->http10)
		send_continue(ex);
	if (ex->has_body)
		tt_conn_touch(c);
	attempt_start(ex, 0);
}

/* ---- upstream side ---- */

static void up_timer_arm(struct tt_exchange *ex, uint64_t ms);

static void fail_upstream(struct tt_exchange *ex, int status, const char *error)
{
	drop_upstream(ex);
	local_response(ex, status, error);
}

static const char *connect_error(int status)
{
	switch (status) {
	case UV_ECONNREFUSED: return "upstream_refused";
	case UV_ETIMEDOUT: return "upstream_connect_timeout";
	case UV_ENETUNREACH:
	case UV_EHOSTUNREACH: return "upstream_unreachable";
	default: return "upstream_connect_failed";
	}
}

static void on_up_ready(struct tt_exchange *ex)
{
	ex->up->ex = ex;
	up_timer_arm(ex, 0); /* only the total timeout while the request is sent */
	tt_upconn_read_start(ex->up, on_up_read);
	pump_request(ex);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct tt_upconn *u = req->data;
	struct tt_exchange *ex = u->ex;
	if (!ex || u->closing)
		return;
	uv_timer_stop(&u->timer);
	if (status < 0) {
		fail_upstream(ex, status == UV_ETIMEDOUT ? 504 : 502, connect_error(status));
		return;
	}
	u->connected = 1;
	ex->connect_ms = ms_since(ex->t_connect_start_ns);
	on_up_ready(ex);
}

static void attempt_start(struct tt_exchange *ex, int fresh)
{
	struct tt_upconn *u = fresh ? NULL : tt_pool_take(ex->pool, ex);
	int err = 0;

	ex->attempts++;
	ex->head_sent = 0;
	ex->req_sent = 0;
	ex->t_sent_ns = 0;
	if (u) {
		ex->up = u;
		ex->reused = 1;
		ex->connect_ms = 0;
		on_up_ready(ex);
		return;
	}
	ex->reused = 0;
	ex->t_connect_start_ns = uv_hrtime();
	u = tt_upconn_connect(ex->pool, ex, on_connect, &err);
	if (!u) {
		local_response(ex, 502, connect_error(err));
		return;
	}
	ex->up = u;
	up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_connect_ms);
}

/* Milliseconds left of timeouts.total, or 0 when it is off. At least 1
 * once it is on, so a timer still fires. */
static uint64_t total_left_ms(struct tt_exchange *ex)
{
	uint64_t total = ex->c->w->cfg->timeouts.total_ms;
	uint64_t spent = (uv_hrtime() - ex->t_start_ns) / 1000000;
	if (!total)
		return 0;
	return spent >= total ? 1 : total - spent;
}

static void on_up_timer(uv_timer_t *t)
{
	struct tt_upconn *u = t->data;
	struct tt_exchange *ex = u->ex;
	uint64_t total = ex ? ex->c->w->cfg->timeouts.total_ms : 0;
	if (!ex)
		return;
	if (total && (uv_hrtime() - ex->t_start_ns) / 1000000 >= total) {
		if (ex->resp_started)
			abort_midstream(ex, "total_timeout");
		else
			fail_upstream(ex, 504, "total_timeout");
	} else if (!u->connected) {
		fail_upstream(ex, 504, "upstream_connect_timeout");
	} else if (ex->resp == TT_RESP_WAIT) {
		fail_upstream(ex, 504, "upstream_timeout");
	} else {
		abort_midstream(ex, "upstream_idle_timeout");
	}
}

/* Arm the upstream timer for a phase timeout (0 = none), capped by what
 * is left of the total timeout. */
static void up_timer_arm(struct tt_exchange *ex, uint64_t ms)
{
	uint64_t left;
	if (!ex->up)
		return;
	left = total_left_ms(ex);
	if (left && (!ms || left < ms))
		ms = left;
	if (ms)
		uv_timer_start(&ex->up->timer, on_up_timer, ms, 0);
	else
		uv_timer_stop(&ex->up->timer);
}

/* The whole request is written: now the upstream owes a response head. */
static void request_sent(struct tt_exchange *ex)
{
	if (ex->req_sent)
		return;
	ex->req_sent = 1;
	ex->t_sent_ns = ex->t_sent_ns ? ex->t_sent_ns : uv_hrtime();
	if (ex->resp == TT_RESP_WAIT)
		up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_head_ms);
}

static void on_us_written(uv_write_t *req, int status);

/* Write to the upstream: 1 written now, 0 queued, -1 failed. */
static int us_write(struct tt_exchange *ex, uv_buf_t *iov, int n)
{
	struct tt_upconn *u = ex->up;
	size_t total = 0, done;
	int r, i = 0;

	for (int k = 0; k < n; k++)
		total += iov[k].len;
	r = uv_try_write((uv_stream_t *)&u->tcp, iov, (unsigned)n);
	if (r < 0 && r != UV_EAGAIN)
		return -1;
	done = r > 0 ? (size_t)r : 0;
	if (done == total)
		return 1;
	while (done >= iov[i].len) {
		done -= iov[i].len;
		i++;
	}
	iov[i].base += done;
	iov[i].len -= done;
	if (uv_write(&u->wreq, (uv_stream_t *)&u->tcp, iov + i, (unsigned)(n - i), on_us_written) !=
	    0)
		return -1;
	u->writing = 1;
	return 0;
}

/* Feed the request bytes read so far; append what to write to iov. */
static int feed_request(struct tt_exchange *ex, uv_buf_t *iov, int *n)
{
	struct tt_conn *c = ex->c;
	size_t used = 0;
	enum tt_pump_ret r;

	if (ex->req_done || c->in.len == c->in.off)
		return 0;
	r = tt_pump_feed(&ex->reqpump, c->in.data + c->in.off, c->in.len - c->in.off, iov, n,
	                 &used);
	c->in.off += (uint32_t)used;
	ex->bytes_in = ex->reqpump.body_bytes;
	if (r == TT_PUMP_ERR_FRAMING) {
		ex->req_done = 1; /* nothing more will be read from it */
		ex->ds_keep = 0;
		ex->error = "bad_request_body";
		c->want_read = 0;
		return -1;
	}
	if (r == TT_PUMP_ERR_TOO_LARGE) {
		ex->req_done = 1;
		ex->ds_keep = 0;
		ex->error = "body_too_large";
		c->want_read = 0;
		return -1;
	}
	if (ex->reqpump.done) {
		ex->req_done = 1;
		c->want_read = 0;
		uv_timer_stop(&c->timer);
	}
	return 0;
}

/* The request body's framing broke or it grew past the limit: the
 * connection cannot carry another request. */
static void request_body_error(struct tt_exchange *ex)
{
	int status = strcmp(ex->error, "body_too_large") == 0 ? 413 : 400;
	if (ex->resp_started) {
		/* The upstream answered already; finish that answer, then close. */
		ex->up_keep = 0;
		return;
	}
	local_response(ex, status, ex->error);
}

static void pump_request(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	uv_buf_t iov[TT_PUMP_MAX_IOV + 1];

	while (ex->up && ex->up->connected && !ex->up->writing && !ex->req_sent) {
		int n = 0, r;
		if (!ex->head_sent) {
			iov[n++] = uv_buf_init(ex->reqhead, ex->reqhead_len);
			ex->head_sent = 1;
			ex->t_sent_ns = uv_hrtime();
		}
		if (feed_request(ex, iov, &n) < 0) {
			request_body_error(ex);
			return;
		}
		if (n == 0) {
			tt_buf_compact(&c->in, c->head_len);
			if (ex->req_done)
				request_sent(ex);
			else
				tt_conn_resume(c);
			return;
		}
		r = us_write(ex, iov, n);
		if (r < 0) {
			fail_upstream(ex, 502, "upstream_write_failed");
			return;
		}
		if (r == 0) {
			tt_conn_pause(c);
			return;
		}
		tt_buf_compact(&c->in, c->head_len);
	}
}

static void on_us_written(uv_write_t *req, int status)
{
	struct tt_upconn *u = req->data;
	struct tt_exchange *ex = u->ex;
	u->writing = 0;
	if (!ex)
		return;
	if (status < 0) {
		fail_upstream(ex, 502, "upstream_write_failed");
		return;
	}
	tt_buf_compact(&ex->c->in, ex->c->head_len);
	pump_request(ex);
}

void tt_exchange_on_ds_data(struct tt_exchange *ex)
{
	tt_conn_touch(ex->c);
	pump_request(ex);
	/* Not connected yet: bytes wait in the buffer; stop when it is full. */
	if (ex->c->in.len >= ex->c->w->bufs.block_bytes)
		tt_conn_pause(ex->c);
}

/* ---- response ---- */

static enum tt_h1_framing downstream_framing(struct tt_exchange *ex, enum tt_h1_framing up)
{
	if (up == TT_H1_BODY_CHUNKED || up == TT_H1_BODY_CLOSE)
		return ex->http10 ? TT_H1_BODY_CLOSE : TT_H1_BODY_CHUNKED;
	return up;
}

static int start_response(struct tt_exchange *ex, const struct tt_h1_head *h)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	enum tt_h1_framing out = downstream_framing(ex, h->framing);
	enum tt_pump_in in = TT_PUMP_IN_NONE;
	struct tt_hdr_response_ctx ctx;
	ssize_t n;

	ex->head_ms = ms_since(ex->t_sent_ns);
	ex->upstream_status = h->status;
	ex->status = h->status;
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
	ctx = (struct tt_hdr_response_ctx){
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name ? w->cfg->name : "telltale",
	    .framing = out,
	    .content_length = h->content_length,
	    .keep_alive = ex->ds_keep,
	    .http10_downstream = ex->http10,
	};
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	n = tt_hdr_downstream_response(ex->resphead, w->bufs.block_bytes, h, &ctx);
	if (n < 0)
		return -1;
	ex->resp = TT_RESP_BODY;
	ex->resphead_len = (uint32_t)n;
	ex->resp_head_written = 0;
	ex->up->in.off += (uint32_t)h->head_len;
	return 0;
}

/* Parse response heads in the upstream buffer: skip 1xx, start the final
 * one. Returns 1 when the response started, 0 when more bytes are needed,
 * -1 when the exchange failed (and is gone). */
static int parse_response_head(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	struct tt_worker *w = ex->c->w;
	struct tt_h1_head h;

	ssize_t n;
	for (;;) {
		memset(&h, 0, sizeof(h));
		h.fields = w->fields;
		n = tt_h1_parse_response(u->in.data + u->in.off, u->in.len - u->in.off,
		                         ex->method_id, &w->limits, &h);
		if (n == TT_H1_INCOMPLETE)
			return 0;
		if (n == TT_H1_ERROR) {
			fail_upstream(ex, 502, "upstream_bad_response");
			return -1;
		}
		if (h.status >= 200)
			break;
		if (h.status == 101) {
			/* Upgrade was not forwarded, so 101 is a protocol error. */
			fail_upstream(ex, 502, "upstream_bad_response");
			return -1;
		}
		/* RFC 9110 section 15.2: 1xx responses are interim; telltale
		 * answered Expect itself, so they are consumed here. */
		u->in.off += (uint32_t)n;
	}
	h.head_len = (size_t)n;
	if (start_response(ex, &h) < 0) {
		fail_upstream(ex, 502, "upstream_head_too_large");
		return -1;
	}
	up_timer_arm(ex, w->cfg->timeouts.upstream_idle_ms);
	return 1;
}

static void response_done(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;
	if (u) {
		uv_timer_stop(&u->timer);
		tt_upconn_read_stop(u);
		if (u->in.len != u->in.off)
			ex->up_keep = 0; /* bytes beyond the response: not reusable */
	}
	ex_free(ex, 1);
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
		if (!ex->resp_head_written) {
			iov[n++] = uv_buf_init(ex->resphead, ex->resphead_len);
			ex->resp_head_written = 1;
			ex->resp_started = 1;
		}
		if (u->in.len > u->in.off) {
			enum tt_pump_ret pr = tt_pump_feed(&ex->resppump, u->in.data + u->in.off,
			                                   u->in.len - u->in.off, iov, &n, &used);
			u->in.off += (uint32_t)used;
			if (pr != TT_PUMP_OK) {
				abort_midstream(ex, "upstream_bad_chunk");
				return -1;
			}
		}
		if (ex->resppump.done)
			ex->resp = TT_RESP_DONE;
		if (n == 0)
			break;
		r = tt_conn_write(c, iov, n, &ex->bytes_out);
		if (r < 0) {
			ex->error = "downstream_write_failed";
			drop_upstream(ex);
			ex_free(ex, 0);
			tt_conn_close(c);
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
		 * nothing of the request can have been consumed twice. */
		if (u->reused && u->in.len == 0 && !ex->has_body && !ex->retried) {
			ex->retried = 1;
			ex->up_eof = 0;
			drop_upstream(ex);
			attempt_start(ex, 1);
			return;
		}
		if (u->in.len > u->in.off)
			fail_upstream(ex, 502, "upstream_bad_response");
		else
			fail_upstream(ex, 502,
			              err == UV_EOF ? "upstream_closed" : "upstream_reset");
		return;
	}
	if (ex->resp == TT_RESP_BODY) {
		uv_buf_t iov[2];
		int n = 0;
		if (tt_pump_eof(&ex->resppump, iov, &n) != TT_PUMP_OK) {
			abort_midstream(ex, "upstream_truncated");
			return;
		}
		ex->resp = TT_RESP_DONE;
		ex->up_keep = 0;
		if (n && tt_conn_write(ex->c, iov, n, &ex->bytes_out) == 0)
			return; /* on_ds_written finishes */
	}
	response_done(ex);
}

static void process_response(struct tt_exchange *ex)
{
	struct tt_upconn *u = ex->up;

	if (ex->c->writing) {
		tt_upconn_read_stop(u);
		return;
	}
	if (ex->resp == TT_RESP_WAIT) {
		int r = parse_response_head(ex);
		if (r < 0)
			return;
		if (r == 0) {
			if (ex->up_eof)
				handle_up_eof(ex);
			return;
		}
	}
	if (ex->resp == TT_RESP_BODY && pump_response(ex) < 0)
		return;
	if (ex->c->writing) {
		tt_upconn_read_stop(u);
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
	tt_upconn_read_start(u, on_up_read);
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	struct tt_exchange *ex = u->ex;

	if (nread == 0 || !ex)
		return;
	if (nread == UV_ENOBUFS) {
		/* A head that fills the whole block. */
		if (ex->resp == TT_RESP_WAIT)
			fail_upstream(ex, 502, "upstream_head_too_large");
		else
			tt_upconn_read_stop(u);
		return;
	}
	if (nread < 0) {
		tt_upconn_read_stop(u);
		ex->up_eof = (int)nread;
	} else {
		u->in.len += (uint32_t)nread;
		if (ex->resp == TT_RESP_BODY)
			up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_idle_ms);
	}
	process_response(ex);
}

/* ---- downstream events ---- */

void tt_exchange_on_ds_written(struct tt_exchange *ex, int status)
{
	struct tt_conn *c = ex->c;
	if (status < 0) {
		ex->error = ex->error ? ex->error : "downstream_write_failed";
		drop_upstream(ex);
		ex_free(ex, 0);
		tt_conn_close(c);
		return;
	}
	if (ex->local_pending) {
		local_send(ex);
		return;
	}
	if (ex->local) {
		ex_free(ex, 1);
		return;
	}
	if (!ex->up) {
		/* A 100 Continue went out before the upstream was ready. */
		return;
	}
	if (ex->up->in.off == ex->up->in.len)
		ex->up->in.off = ex->up->in.len = 0;
	process_response(ex);
}

void tt_exchange_on_ds_eof(struct tt_exchange *ex, int err)
{
	struct tt_conn *c = ex->c;
	if (err == UV_EOF && ex->req_done) {
		/* A half-close after a complete request: answer, then close. */
		ex->ds_keep = 0;
		return;
	}
	ex->error = ex->error ? ex->error : "downstream_closed";
	if (!ex->resp_started)
		ex->status = 499;
	drop_upstream(ex);
	ex_free(ex, 0);
	tt_conn_close(c);
}

void tt_exchange_on_ds_timeout(struct tt_exchange *ex)
{
	if (ex->up && ex->up->writing) {
		fail_upstream(ex, 504, "upstream_write_timeout");
		return;
	}
	if (!ex->req_done) {
		local_response(ex, 408, "downstream_body_timeout");
		return;
	}
}

int tt_exchange_orphaned(struct tt_exchange *ex)
{
	struct tt_worker *w = ex->c->w;
	if (!ex->orphan)
		return 0;
	ex->magic = 0;
	ex->next_free = w->free_exchanges;
	w->free_exchanges = ex;
	return 1;
}

void tt_exchange_abort(struct tt_exchange *ex)
{
	if (!ex->error)
		ex->error = "aborted";
	if (!ex->resp_started && !ex->status)
		ex->status = 499;
	drop_upstream(ex);
	ex_free(ex, 0);
}
