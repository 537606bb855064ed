/*
 * The exchange: see exchange.h. This file holds its lifecycle, the request
 * side (head, body pump, upstream writes) and the attempts (pool or
 * connect); response.c holds the response side and local.c telltale's own
 * responses.
 *
 * Both directions run the same loop: feed the bytes read so far through the
 * body pump, write what it yields with one vectored write, and while that
 * write is queued stop reading the other side (backpressure). A buffer is
 * compacted only after the write that points into it has finished.
 */
#include "proxy/exchange_int.h"

#include "fault/classify.h"
#include "net/addr.h"
#include "net/tls_io.h"
#include "obs/admin.h"
#include "upstream/balancer.h"
#include "upstream/health.h"
#include "upstream/retry.h"
#include "respond/stale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int tt_ex_reparse_request(struct tt_exchange *ex, struct tt_h1_head *req)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	memset(req, 0, sizeof(*req));
	req->fields = w->req_fields;
	return tt_h1_parse_request(c->in.data, c->head_len, &w->limits, req) > 0 ? 0 : -1;
}

double tt_ex_ms_since(const struct tt_exchange *ex, uint64_t t_ns)
{
	return (double)(tt_worker_now_ns(ex->c->w) - t_ns) / 1e6;
}

static struct tt_exchange *ex_new(struct tt_conn *c)
{
	struct tt_worker *w = c->w;
	struct tt_exchange *ex = w->free_exchanges;

	if (ex) {
		w->free_exchanges = ex->next_free;
	} else {
		if (!(ex = malloc(sizeof(*ex))))
			abort();
		uv_timer_init(&w->loop, &ex->retry_timer);
	}
	/* Clear the fields before the fault record; the record's big arrays
	 * are cleared by tt_fault_clear, which touches only what it must. */
	memset(ex, 0, offsetof(struct tt_exchange, fault));
	tt_fault_clear(&ex->fault);
	ex->magic = TT_EXCHANGE_MAGIC;
	ex->c = c;
	ex->t_start_ns = tt_worker_now_ns(w);
	ex->wall_ms = tt_worker_wall_ms(w);
	ex->ds_keep = 1;
	c->ex = ex;
	return ex;
}

struct tt_fault_attempt *tt_ex_attempt(struct tt_exchange *ex)
{
	int n = ex->fault.nattempts;
	if (n == 0 || n > TT_FAULT_MAX_ATTEMPTS)
		return NULL;
	return &ex->fault.attempts[n - 1];
}

int tt_ex_group(const struct tt_exchange *ex)
{
	return ex->ups ? (int)(ex->ups - ex->c->w->ups) : -1;
}

int tt_ex_server(const struct tt_exchange *ex)
{
	/* Until a server is picked, ex->pool is the group's first for the
	 * Host fallback, and after a failed attempt ex->server is the last
	 * one tried: a server is named only while an attempt holds it. */
	return ex->ups && ex->server >= 0 && (ex->up || ex->acquired) ? ex->server : -1;
}

void tt_ex_fault(struct tt_exchange *ex, enum tt_fault_id id, enum tt_stage stage, int sys_err)
{
	struct tt_fault_attempt *a = tt_ex_attempt(ex);
	struct tt_worker *w = ex->c->w;

	const struct tt_fault_info *fi = tt_fault_info(id);
	/* A fault of the downstream's is not its server's: it counts under
	 * the group only. */
	int server = fi && fi->side == TT_SIDE_DOWNSTREAM ? -1 : tt_ex_server(ex);

	tt_metrics_fault(&w->metrics, tt_ex_group(ex), server, id);
	tt_fault_set(&ex->fault, id, stage, sys_err);
	tt_ex_attempt_end(ex, 0, id);
	if (ex->pool) {
		snprintf(ex->fault.upstream, sizeof(ex->fault.upstream), "%s", ex->pool->addr);
		snprintf(ex->fault.group, sizeof(ex->fault.group), "%s", ex->pool->group->name);
	}
	if (a && a->id == TT_FAULT_NONE && ex->up) {
		a->id = id;
		a->stage = stage;
		a->sys_err = sys_err;
	}
}

static void ex_log(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	const struct tt_config *cfg = c->w->cfg;
	const struct tt_fault_attempt *a = tt_ex_attempt(ex);
	double ms = tt_ex_ms_since(ex, ex->t_start_ns);
	struct tt_log_entry e = {
	    .time_ms = ex->wall_ms,
	    .request_id = ex->request_id,
	    .trace_id = ex->trace.trace_id[0] ? ex->trace.trace_id : NULL,
	    .downstream = c->peer,
	    .method = ex->method,
	    .method_len = ex->method_len,
	    .target = ex->target,
	    .target_len = ex->target_len,
	    .status = ex->status,
	    .bytes_in = ex->bytes_in,
	    .bytes_out = ex->bytes_out,
	    .duration_ms = ms,
	    .upstream = a ? a->upstream : NULL,
	    .upstream_status = ex->upstream_status,
	    .upstream_connect_ms = a ? a->connect_ms : -1,
	    .upstream_head_ms = a ? a->head_ms : -1,
	    .fault = &ex->fault,
	};
	if (c->tls)
		tt_tls_brief(tt_tls_io_conn(c->tls), &e.tls_version, &e.tls_cipher, &e.tls_resumed);
	tt_metrics_request(&c->w->metrics,
	                   ex->route ? (size_t)(ex->route - cfg->routes) : cfg->nroutes, ex->status,
	                   ms);
	tt_log_write(&c->w->log, &e);
}

void tt_ex_drop_upstream(struct tt_exchange *ex)
{
	tt_ex_dns_stop(ex);
	if (!ex->up)
		return;
	tt_upconn_timer_stop(ex->up);
	tt_upconn_close(ex->up);
	ex->up = NULL;
}

/* Back to the worker's free list, with what a queued write needed. */
static void recycle(struct tt_worker *w, struct tt_exchange *ex)
{
	free(ex->body);
	ex->body = NULL;
	tt_stale_release(&ex->stale);
	ex->magic = 0;
	ex->next_free = w->free_exchanges;
	w->free_exchanges = ex;
}

void tt_ex_free(struct tt_exchange *ex, int notify)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	int keep = ex->ds_keep && ex->req_done && !ex->local_pending;

	uv_timer_stop(&ex->retry_timer);
	tt_ex_dns_stop(ex);
	tt_stale_abort(&ex->capture);
	if (ex->acquired)
		tt_ex_attempt_end(ex, 0, TT_FAULT_DOWNSTREAM_CLOSED); /* gives the slot back */
	if (ex->ups) {
		tt_upstream_rt_unwait(ex->ups, &ex->wait);
		if (ex->in_group)
			ex->ups->active--;
		if (ex->retrying)
			ex->ups->retrying--;
	}
	if (ex->up) {
		struct tt_upconn *u = ex->up;
		ex->up = NULL;
		tt_upconn_timer_stop(u);
		if (ex->up_keep && ex->req_sent && ex->resp == TT_RESP_DONE && !u->writing &&
		    !ex->up_eof)
			tt_pool_give(u);
		else
			tt_upconn_close(u);
	}
	if (ex->splicing) {
		tt_pipe_put(&w->pipes, &ex->pipe); /* closed if bytes are left in it */
		ex->splicing = 0;
	}
	if (ex->req_splicing) {
		tt_pipe_put(&w->pipes, &ex->reqpipe);
		ex->req_splicing = 0;
	}
	if (ex->has_body && !ex->req_done)
		ex->bytes_in = ex->reqpump.body_bytes;
	ex_log(ex);
	tt_bufpool_put(&w->bufs, &ex->reqhead);
	tt_bufpool_put(&w->bufs, &ex->resphead);
	if (!ex->req_done)
		c->unread_body = 1; /* the downstream may still be sending it */
	c->ex = NULL;
	if (c->writing) {
		/* libuv still holds ex->wreq (and ex->body): its callback
		 * recycles ex. */
		ex->orphan = 1;
	} else {
		recycle(w, ex);
	}
	c->want_read = 0;
	if (notify)
		tt_conn_exchange_done(c, keep);
}

int tt_exchange_orphaned(struct tt_exchange *ex)
{
	if (!ex->orphan)
		return 0;
	recycle(ex->c->w, ex);
	return 1;
}

enum tt_fault_id tt_exchange_request_fault(enum tt_h1_err err)
{
	switch (err) {
	case TT_H1_ERR_TARGET_TOO_LONG: return TT_FAULT_REQUEST_TARGET_TOO_LONG;
	case TT_H1_ERR_HEAD_TOO_LARGE:
	case TT_H1_ERR_FIELD_TOO_LARGE:
	case TT_H1_ERR_TOO_MANY_FIELDS: return TT_FAULT_REQUEST_HEAD_TOO_LARGE;
	case TT_H1_ERR_CONTENT_LENGTH:
	case TT_H1_ERR_CL_AND_TE:
	case TT_H1_ERR_TE_NOT_CHUNKED:
	case TT_H1_ERR_TE_HTTP10: return TT_FAULT_REQUEST_FRAMING;
	case TT_H1_ERR_TE_UNKNOWN: return TT_FAULT_REQUEST_CODING_UNSUPPORTED;
	case TT_H1_ERR_VERSION_UNSUPPORTED: return TT_FAULT_REQUEST_VERSION_UNSUPPORTED;
	default: return TT_FAULT_REQUEST_MALFORMED;
	}
}

/* The Accept field of a head the parser refused, found by a plain scan of
 * its lines: it only picks the error body's format, so a lenient look is
 * harmless, and an API client still gets problem+json for its 400. */
static void find_accept(struct tt_exchange *ex, const char *buf, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;
		if (end - i > 7 && strncasecmp(buf + i, "accept:", 7) == 0) {
			size_t a = i + 7, b = end;
			while (a < b && (buf[a] == ' ' || buf[a] == '\t'))
				a++;
			while (b > a &&
			       (buf[b - 1] == '\r' || buf[b - 1] == ' ' || buf[b - 1] == '\t'))
				b--;
			ex->accept = buf + a;
			ex->accept_len = (uint32_t)(b - a);
			return;
		}
		if (end == i || (end == i + 1 && buf[i] == '\r'))
			return; /* the empty line ends the head */
		i = end + 1;
	}
}

/* W3C trace context (issue 7, item 3): continue the downstream's trace
 * when exactly one valid traceparent came (RFC 9110 would let a list
 * combine two; the spec calls that invalid), else start one. telltale is a
 * span: a new parent-id goes upstream. req may be NULL (a refused head). */
static void trace_start(struct tt_exchange *ex, const struct tt_h1_head *req)
{
	const struct tt_h1_field *tp = NULL;
	size_t n = 0;
	uint64_t hi, lo;
	for (size_t i = 0; req && i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		if (tt_h1_name_eq(f->name, f->name_len, "traceparent")) {
			tp = f;
			n++;
		}
	}
	ex->trace_in = n == 1 && tt_traceparent_parse(tp->value, tp->value_len, &ex->trace);
	tt_worker_random(ex->c->w, &hi, &lo);
	if (!ex->trace_in) {
		tt_trace_new(&ex->trace, hi, lo);
		tt_worker_random(ex->c->w, &hi, &lo);
	}
	tt_span_id(ex->span_id, lo);
}

void tt_exchange_reject(struct tt_conn *c, enum tt_fault_id id, const char *details)
{
	struct tt_exchange *ex = ex_new(c);
	uint64_t hi, lo;
	if (c->in.data)
		find_accept(ex, c->in.data, c->in.len);
	c->state = TT_CONN_EXCHANGE;
	tt_worker_random(c->w, &hi, &lo);
	tt_hdr_request_id(NULL, 0, hi, lo, ex->request_id);
	trace_start(ex, NULL);
	ex->ds_keep = 0;
	ex->req_done = 1;
	tt_ex_fault(ex, id, TT_STAGE_REQUEST, 0);
	if (details)
		tt_fault_details(&ex->fault, "%s", details);
	tt_ex_fail(ex);
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
                              const char *path, size_t path_len)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	char tp[TT_TRACEPARENT_LEN + 1];
	struct tt_hdr_request_ctx ctx = {
	    .host = ex->host,
	    .host_len = ex->host_len,
	    .path = path,
	    .path_len = path_len,
	    .peer_ip = c->peer_ip,
	    .peer_v6 = c->peer_v6,
	    .trusted = c->trusted,
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name,
	    .upstream_host = ex->pool->addr,
	    .close_upstream = ex->pool->group->keepalive_max_idle == 0,
	    .traceparent = tp,
	    .keep_tracestate = ex->trace_in,
	    .upgrade = ex->upgrade,
	};
	ssize_t n;

	tt_traceparent_format(tp, &ex->trace, ex->span_id);

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

/* RFC 9110 section 7.6.3: a request whose Via already names this proxy
 * went round in a loop; forwarding it again would never end. */
static int is_loop(const struct tt_h1_head *req, const char *name)
{
	size_t nlen = strlen(name);
	for (size_t i = 0; i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		size_t pos = 0, n;
		const char *e;
		if (!tt_h1_name_eq(f->name, f->name_len, "via"))
			continue;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n)) {
			/* received-protocol SP received-by [ comment ] */
			const char *sp = memchr(e, ' ', n);
			const char *by = sp ? sp + 1 : NULL;
			size_t by_len = by ? n - (size_t)(by - e) : 0;
			const char *end = by ? memchr(by, ' ', by_len) : NULL;
			if (end)
				by_len = (size_t)(end - by);
			if (by && by_len == nlen && strncasecmp(by, name, nlen) == 0)
				return 1;
		}
	}
	return 0;
}

static void keep_request_slices(struct tt_exchange *ex, const struct tt_h1_head *req)
{
	const struct tt_h1_field *accept = tt_h1_find(req, "accept");
	ex->method = req->method;
	ex->method_len = (uint32_t)req->method_len;
	ex->target = req->target;
	ex->target_len = (uint32_t)req->target_len;
	ex->method_id = req->method_id;
	ex->http10 = req->version_minor == 0;
	ex->ds_keep = !req->conn_close;
	ex->upgrade = (unsigned)tt_hdr_is_upgrade(req);
	if (accept) {
		ex->accept = accept->value;
		ex->accept_len = accept->value_len;
	}
}

/* Route the request to an upstream group and a server in it. Returns 0,
 * or -1 after answering. */
static int route(struct tt_exchange *ex, const struct tt_h1_head *req, const char *path,
                 size_t path_len)
{
	struct tt_worker *w = ex->c->w;
	const struct tt_cfg_route *r;

	if (is_loop(req, w->cfg->name)) {
		tt_ex_fault(ex, TT_FAULT_PROXY_LOOP_DETECTED, TT_STAGE_REQUEST, 0);
		tt_fault_details(&ex->fault, "Via already names this proxy (%s)", w->cfg->name);
		tt_ex_fail(ex);
		return -1;
	}
	r = tt_cfg_route_match(w->cfg, ex->host, ex->host_len, path, path_len);
	if (!r) {
		tt_ex_fault(ex, TT_FAULT_DESTINATION_NOT_FOUND, TT_STAGE_ROUTE, 0);
		tt_fault_details(&ex->fault, "no route for host '%.*s' and path '%.*s'",
		                 (int)(ex->host_len > 64 ? 64 : ex->host_len),
		                 ex->host ? ex->host : "", (int)(path_len > 64 ? 64 : path_len),
		                 path);
		tt_ex_fail(ex);
		return -1;
	}
	ex->route = r;
	ex->ups = &w->ups[r->upstream - w->cfg->upstreams];
	ex->ups->active++;
	ex->in_group = 1;
	ex->server = -1;
	/* For the head's Host fallback until a server is picked. */
	ex->pool = &ex->ups->pools[0];
	return 0;
}

void tt_exchange_start(struct tt_conn *c, const struct tt_h1_head *req)
{
	struct tt_worker *w = c->w;
	struct tt_exchange *ex = ex_new(c);
	const char *host, *path;
	size_t host_len, path_len;
	uint64_t hi, lo;

	keep_request_slices(ex, req);
	tt_worker_random(w, &hi, &lo);
	tt_hdr_request_id(req, c->trusted, hi, lo, ex->request_id);
	trace_start(ex, req);
	if (setup_request_body(ex, req) < 0) {
		tt_ex_fault(ex, TT_FAULT_REQUEST_BODY_TOO_LARGE, TT_STAGE_REQUEST, 0);
		tt_fault_details(&ex->fault, "Content-Length %llu over limits.body_bytes %llu",
		                 (unsigned long long)req->content_length,
		                 (unsigned long long)w->cfg->limits.body_bytes);
		tt_ex_fail(ex);
		return;
	}
	c->want_read = ex->has_body;
	if (req->method_id == TT_METHOD_CONNECT) {
		tt_ex_fail_with(ex, TT_FAULT_REQUEST_METHOD_UNSUPPORTED, TT_STAGE_REQUEST, 0);
		return;
	}
	if (tt_hdr_effective_target(req, &host, &host_len, &path, &path_len) < 0) {
		tt_ex_fault(ex, TT_FAULT_REQUEST_MALFORMED, TT_STAGE_REQUEST, 0);
		tt_fault_details(&ex->fault,
		                 "request-target is not origin-form or http(s) absolute-form");
		tt_ex_fail(ex);
		return;
	}
	ex->host = host;
	ex->host_len = (uint32_t)host_len;
	if (c->plain_on_tls) {
		tt_ex_local_redirect(ex, path, path_len);
		return;
	}
	if (w->admin && c->listener + 1 == w->cfg->admin.shared && tt_admin_owns(path, path_len)) {
		tt_ex_local_admin(ex, path, path_len); /* admin.allow_public: the pages here */
		return;
	}
	if (route(ex, req, path, path_len) < 0)
		return;
	if (build_request_head(ex, req, path, path_len) < 0) {
		tt_ex_fail_with(ex, TT_FAULT_REQUEST_HEAD_TOO_LARGE, TT_STAGE_REQUEST, 0);
		return;
	}
	if (req->expect_continue && ex->has_body && !ex->http10)
		send_continue(ex);
	if (ex->has_body)
		tt_conn_touch(c);
	tt_ex_attempt_start(ex, 0);
}

/* ---- attempts ---- */

void tt_ex_up_ready(struct tt_exchange *ex)
{
	ex->up->ex = ex;
	tt_ex_up_timer_arm(ex, 0); /* only the total timeout while the request is sent */
	tt_upconn_read_start(ex->up, tt_ex_on_up_read);
	tt_ex_pump_request(ex);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct tt_upconn *u = req->data;
	struct tt_exchange *ex = u->ex;
	struct tt_fault_attempt *a;
	if (!ex || u->closing)
		return;
	tt_upconn_timer_stop(u);
	if (status < 0) {
		tt_ex_fault(ex, tt_fault_from_uv(status, TT_STAGE_CONNECT), TT_STAGE_CONNECT,
		            status);
		tt_fault_describe_connect_error(&ex->fault, ex->pool->addr, status);
		tt_resolve_failed(ex->pool, ex->addr_idx); /* the retry prefers another address */
		tt_ex_fail(ex);
		return;
	}
	u->connected = 1;
	a = tt_ex_attempt(ex);
	if (a)
		a->connect_ms = tt_ex_ms_since(ex, ex->t_connect_start_ns);
	tt_hist_observe(&ex->c->w->metrics.connect[tt_ex_group(ex)],
	                tt_ex_ms_since(ex, ex->t_connect_start_ns));
	if (ex->pool->group->tls)
		tt_ex_tls_start(ex);
	else
		tt_ex_up_ready(ex);
}

static void attempt_run(struct tt_exchange *ex);

static void on_slot(struct tt_pool_waiter *wt)
{
	struct tt_exchange *ex =
	    (struct tt_exchange *)((char *)wt - offsetof(struct tt_exchange, wait));
	attempt_run(ex);
}

static void on_queue_timeout(struct tt_pool_waiter *wt)
{
	struct tt_exchange *ex =
	    (struct tt_exchange *)((char *)wt - offsetof(struct tt_exchange, wait));
	tt_ex_fault(ex, TT_FAULT_CONNECTION_LIMIT_REACHED, TT_STAGE_CONNECT, 0);
	tt_fault_details(&ex->fault, "waited %llu ms (queue_timeout) for a connection slot",
	                 (unsigned long long)ex->ups->cfg->queue_timeout_ms);
	tt_ex_fail(ex);
}

/* Every server of the group is at its connection limit: wait in the
 * group's bounded queue, or answer 503 at once when it is full (issue 4:
 * never an unbounded queue). Returns after queueing or failing. */
static void queue_or_fail(struct tt_exchange *ex)
{
	struct tt_upstream_rt *rt = ex->ups;
	const struct tt_cfg_upstream *g = rt->cfg;
	if (rt->npending >= g->max_pending) {
		tt_ex_fault(ex, TT_FAULT_CONNECTION_LIMIT_REACHED, TT_STAGE_CONNECT, 0);
		tt_fault_details(&ex->fault,
		                 "every server of '%s' is at max_connections (%u) and %u requests "
		                 "already wait (max_pending)",
		                 g->name, g->max_connections, rt->npending);
		tt_ex_fail(ex);
		return;
	}
	ex->wait.on_slot = on_slot;
	ex->wait.on_timeout = on_queue_timeout;
	tt_upstream_rt_wait(rt, &ex->wait, uv_now(&ex->c->w->loop) + g->queue_timeout_ms);
}

static struct tt_exchange *ex_of_timer(uv_timer_t *t)
{
	return (struct tt_exchange *)((char *)t - offsetof(struct tt_exchange, retry_timer));
}

/* Pick a server for the next attempt: the balancer over the servers that
 * health, the breaker and the connection limit allow, avoiding `avoid`
 * when another is left. Returns 0 with ex->pool and ex->server set, 1
 * when the request now waits for a slot, -1 when it was answered. */
static int pick_server(struct tt_exchange *ex, int avoid)
{
	struct tt_worker *w = ex->c->w;
	struct tt_upstream_rt *rt = ex->ups;
	size_t n = rt->cfg->nservers, down = 0;
	uint64_t now = uv_now(&w->loop), hi, lo;
	int healthy = 0;

	tt_health_snapshot(rt->health, now, w->lb_usable, w->lb_factor);
	for (size_t i = 0; i < n; i++) {
		struct tt_lb_server *s = &w->lb[i];
		s->weight = rt->cfg->servers[i].weight;
		s->weight_factor = w->lb_factor[i];
		s->active = rt->pools[i].active;
		s->ewma_ms = rt->pools[i].ewma_ms;
		s->usable = w->lb_usable[i] && tt_pool_has_room(&rt->pools[i]);
		healthy |= w->lb_usable[i];
		down += !w->lb_usable[i];
	}
	for (size_t tries = 0; tries < n; tries++) {
		int i;
		tt_worker_random(w, &hi, &lo);
		i = tt_balancer_pick(&rt->bal, w->lb, avoid, hi);
		if (i < 0)
			break;
		if (tt_health_acquire(rt->health, (size_t)i, now)) {
			ex->server = i;
			ex->pool = &rt->pools[i];
			ex->acquired = 1;
			ex->pool->active++;
			return 0;
		}
		w->lb[i].usable = 0; /* the last half-open slot went elsewhere */
	}
	if (healthy) {
		queue_or_fail(ex);
		return 1;
	}
	tt_ex_fault(ex, TT_FAULT_DESTINATION_UNAVAILABLE, TT_STAGE_CONNECT, 0);
	tt_fault_details(&ex->fault,
	                 "no server of '%s' can take a request: %zu of %zu are ejected, down, or "
	                 "behind an open circuit",
	                 rt->cfg->name, down, n);
	tt_ex_fail(ex);
	return -1;
}

void tt_ex_attempt_end(struct tt_exchange *ex, int ok, enum tt_fault_id fault)
{
	struct tt_upstream_rt *rt = ex->ups;
	if (!ex->acquired || !rt || ex->server < 0)
		return;
	ex->acquired = 0;
	ex->pool->active--;
	tt_health_report(rt->health, (size_t)ex->server, ok, fault, uv_now(&ex->c->w->loop));
}

static void on_retry_timer(uv_timer_t *t)
{
	attempt_run(ex_of_timer(t));
}

static size_t usable_servers(struct tt_exchange *ex)
{
	struct tt_worker *w = ex->c->w;
	size_t n = ex->ups->cfg->nservers, k = 0;
	tt_health_snapshot(ex->ups->health, uv_now(&w->loop), w->lb_usable, w->lb_factor);
	for (size_t i = 0; i < n; i++)
		k += w->lb_usable[i] != 0;
	return k;
}

int tt_ex_maybe_retry(struct tt_exchange *ex)
{
	struct tt_upstream_rt *rt = ex->ups;
	const struct tt_fault_info *fi = tt_fault_info(ex->fault.id);
	struct tt_retry_in in;
	enum tt_retry_verdict v;
	uint64_t hi, lo, wait;
	size_t len;

	if (!rt || !fi || fi->side != TT_SIDE_UPSTREAM || ex->fault.nattempts == 0 ||
	    ex->resp_started || ex->local)
		return 0;
	in = (struct tt_retry_in){
	    .fault = ex->fault.id,
	    .stage = ex->fault.stage,
	    .method = ex->method_id,
	    .has_body = ex->has_body,
	    /* A body is held for a replay only while none of it was
	     * written: it then still sits in the downstream buffer. */
	    .body_replayable = !ex->has_body || !ex->head_sent,
	    .request_sent_any = ex->head_sent,
	    .response_started = ex->resp_started,
	    /* The keep-alive race's retry on a fresh connection is not
	     * the policy's: it does not use up retry.attempts. */
	    .attempts_done = ex->fault.nattempts - (ex->retried ? 1 : 0),
	    .cfg = &rt->cfg->retry,
	    .active_requests = rt->active,
	    .active_retries = rt->retrying - ex->retrying,
	    .servers_usable = (int)usable_servers(ex),
	};
	v = tt_retry_decide(&in);
	if (v != TT_RETRY_GO) {
		/* The story says why this failure reached the downstream. */
		len = strlen(ex->fault.details);
		if (rt->cfg->retry.attempts > 1 && len + 40 < sizeof(ex->fault.details))
			snprintf(ex->fault.details + len, sizeof(ex->fault.details) - len,
			         "%s(not retried: %s)", len ? " " : "", tt_retry_verdict_name(v));
		return 0;
	}
	tt_ex_drop_upstream(ex);
	tt_counter_add(&ex->c->w->metrics.retries[tt_ex_group(ex)], 1);
	if (!ex->retrying) {
		ex->retrying = 1;
		rt->retrying++;
	}
	/* The request may still succeed: clear the exchange's fault, keep
	 * the attempts (the failed one tells its story in the log). */
	memset(&ex->fault, 0, offsetof(struct tt_fault, attempts));
	ex->up_eof = 0;
	ex->fresh = 0;
	ex->resp = TT_RESP_WAIT;
	tt_worker_random(ex->c->w, &hi, &lo);
	wait = tt_retry_backoff_ms(&rt->cfg->retry, in.attempts_done, lo);
	if (wait)
		uv_timer_start(&ex->retry_timer, on_retry_timer, wait, 0);
	else
		attempt_run(ex);
	return 1;
}

void tt_ex_attempt_start(struct tt_exchange *ex, int fresh)
{
	ex->fresh = (unsigned)fresh;
	attempt_run(ex);
}

static void attempt_run(struct tt_exchange *ex)
{
	struct tt_pool *p;
	struct tt_upconn *u;
	struct tt_fault_attempt *a;

	/* The keep-alive race retry stays on its server (and its health
	 * slot); any other attempt picks one. */
	if (!ex->fresh || !ex->acquired) {
		struct tt_fault_attempt *last = tt_ex_attempt(ex);
		int avoid = last && ex->server >= 0 ? ex->server : -1;
		if (pick_server(ex, avoid) != 0)
			return;
	}
	p = ex->pool;
	u = ex->fresh ? NULL : tt_pool_take(p, ex, !tt_h1_method_idempotent(ex->method_id));
	a = tt_fault_attempt_add(&ex->fault);
	tt_counter_add(&ex->c->w->metrics.attempts[tt_metrics_server(
	                   &ex->c->w->metrics, (size_t)tt_ex_group(ex), (size_t)ex->server)],
	               1);
	if (a) {
		size_t n = strnlen(p->addr, sizeof(a->upstream) - 1);
		memcpy(a->upstream, p->addr, n);
		a->upstream[n] = 0;
		a->connect_ms = a->head_ms = -1;
	}
	ex->head_sent = 0;
	ex->req_sent = 0;
	ex->send_err = 0;
	ex->t_sent_ns = 0;
	ex->head_deadline_ns = 0;
	if (u) {
		ex->up = u;
		if (a) {
			a->reused = 1;
			a->connect_ms = 0;
		}
		tt_ex_up_ready(ex);
		return;
	}
	tt_ex_connect(ex);
}

void tt_ex_connect(struct tt_exchange *ex)
{
	struct tt_pool *p = ex->pool;
	struct tt_fault_attempt *a = tt_ex_attempt(ex);
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct tt_upconn *u;
	int err = 0;

	if (tt_ex_resolve(ex, &ss, &len) != 1)
		return; /* waiting for DNS, or failed */
	if (a && p->dyn)
		tt_addr_format((const struct sockaddr *)&ss, a->upstream, sizeof(a->upstream));
	ex->t_connect_start_ns = tt_worker_now_ns(ex->c->w);
	u = tt_upconn_connect(p, ex, (const struct sockaddr *)&ss, on_connect, &err);
	if (!u) {
		tt_ex_fault(ex, tt_fault_from_uv(err, TT_STAGE_CONNECT), TT_STAGE_CONNECT, err);
		tt_fault_describe_connect_error(&ex->fault, p->addr, err);
		tt_ex_fail(ex);
		return;
	}
	ex->up = u;
	tt_ex_up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_connect_ms);
}

/* ---- the request body ---- */

static void on_us_written(uv_write_t *req, int status);

int tt_ex_us_write(struct tt_exchange *ex, uv_buf_t *iov, int n, int *err)
{
	return tt_upconn_write(ex->up, iov, n, on_us_written, err);
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
	if (r != TT_PUMP_OK) {
		/* Nothing more will be read from this request. */
		ex->req_done = 1;
		ex->ds_keep = 0;
		c->want_read = 0;
		if (r == TT_PUMP_ERR_TOO_LARGE) {
			tt_ex_fault(ex, TT_FAULT_REQUEST_BODY_TOO_LARGE, TT_STAGE_REQUEST, 0);
			tt_fault_details(&ex->fault, "body over limits.body_bytes %llu",
			                 (unsigned long long)ex->reqpump.max_body_bytes);
		} else {
			tt_ex_fault(ex, TT_FAULT_REQUEST_BODY_INVALID, TT_STAGE_REQUEST, 0);
			tt_fault_details(&ex->fault, "%s at body offset %llu",
			                 tt_chunked_err_token(ex->reqpump.dec.err),
			                 (unsigned long long)ex->reqpump.dec.err_offset);
		}
		return -1;
	}
	if (ex->reqpump.done) {
		ex->req_done = 1;
		c->want_read = 0;
		tt_conn_untime(c);
	}
	return 0;
}

/* The request body broke: answer it, unless the upstream's answer is
 * already on its way, which then finishes and the connection closes. */
static void request_body_error(struct tt_exchange *ex)
{
	if (ex->resp_started) {
		ex->up_keep = 0;
		return;
	}
	tt_ex_fail(ex);
}

void tt_ex_send_failed(struct tt_exchange *ex, int err)
{
	tt_ex_fault(ex, tt_fault_from_uv(err, TT_STAGE_SEND), TT_STAGE_SEND, err);
	tt_fault_describe_send_error(&ex->fault, err, ex->has_body, ex->reqpump.body_bytes);
	tt_ex_fail(ex);
}

static void upstream_write_failed(struct tt_exchange *ex, int err)
{
	if (ex->up && ex->up->tls && !ex->send_err) {
		/* A TLS 1.3 server that refuses our client certificate says so
		 * in an alert after our handshake ended, and closes: the write
		 * fails first, the alert waits unread. Let the reader tell
		 * (tt_ex_on_up_read), for a moment. */
		ex->send_err = err;
		ex->up->writing = 1;
		tt_ex_up_timer_arm(ex, 1000);
		return;
	}
	tt_ex_send_failed(ex, err);
}

void tt_ex_pump_request(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	uv_buf_t iov[TT_PUMP_MAX_IOV + 1];

	if (ex->req_splicing) {
		if (ex->up && !ex->up->writing && !ex->req_sent)
			tt_ex_upload(ex);
		else
			tt_conn_pause(c); /* nowhere to splice to now: notify mode would spin */
		return;
	}
	while (ex->up && ex->up->connected && !ex->up->writing && !ex->req_sent) {
		int n = 0, r, err = 0;
		if (!ex->head_sent) {
			iov[n++] = uv_buf_init(ex->reqhead, ex->reqhead_len);
			ex->head_sent = 1;
			ex->t_sent_ns = tt_worker_now_ns(ex->c->w);
		}
		if (feed_request(ex, iov, &n) < 0) {
			request_body_error(ex);
			return;
		}
		if (n == 0) {
			tt_buf_compact(&c->in, c->head_len);
			if (ex->req_done)
				tt_ex_request_sent(ex);
			else if (tt_ex_upload_begin(ex))
				tt_ex_upload(ex);
			else
				tt_conn_resume(c);
			return;
		}
		r = tt_ex_us_write(ex, iov, n, &err);
		if (r < 0) {
			upstream_write_failed(ex, err);
			return;
		}
		if (r == 0) {
			/* Written later (at the latest, the ring's end of the
			 * loop turn). The downstream is not paused: what it
			 * sends meanwhile waits in its buffer, which pauses
			 * when full (tt_exchange_on_ds_data). A stop and a
			 * start would cost two epoll_ctl calls per write and
			 * restart the downstream_min_rate window each time. */
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
	if (ex->tunnel) {
		tt_ex_tunnel_on_us_written(ex, status);
		return;
	}
	if (status < 0) {
		upstream_write_failed(ex, status);
		return;
	}
	tt_buf_compact(&ex->c->in, ex->c->head_len);
	tt_ex_pump_request(ex);
}
