/*
 * telltale's own responses: an error told as a story (status from the
 * fault catalogue, a Proxy-Status member, and a body chosen by Accept), or,
 * when part of the upstream's response already went downstream, a cut
 * connection that can never pass for a complete response.
 *
 * This is the error path: it may allocate (one body buffer per error
 * response); the hot path never comes here.
 */
#include "proxy/exchange_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/admin.h"
#include "respond/error_body.h"
#include "respond/negotiate.h"
#include "respond/proxy_status.h"
#include "respond/stale.h"

/* Room for the built-in page or an operator's template (64 KiB at most)
 * with its placeholders filled. */
#define BODY_MAX (128 * 1024)

void tt_ex_abort_midstream(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	tt_ex_drop_upstream(ex);
	tt_ex_free(ex, 0);
	tt_conn_reset(c);
}

static ssize_t render_body(struct tt_exchange *ex, const char *proxy_status, const char **ctype)
{
	struct tt_conn *c = ex->c;
	const struct tt_config *cfg = c->w->cfg;
	struct tt_error_view v = {
	    .fault = &ex->fault,
	    .status = ex->status,
	    .request_id = ex->request_id,
	    .trace_id = ex->trace.trace_id[0] ? ex->trace.trace_id : NULL,
	    .time_ms = ex->wall_ms,
	    .trusted = c->detail,
	    .proxy_name = cfg->name,
	    .host = ex->host,
	    .host_len = ex->host_len,
	    .method = ex->method,
	    .method_len = ex->method_len,
	    .target = ex->target,
	    .target_len = ex->target_len,
	    .proxy_status = proxy_status,
	    .template_html = cfg->error_page_html,
	    .template_len = cfg->error_page_len,
	};
	enum tt_body_kind kind = tt_respond_negotiate(ex->accept, ex->accept_len);

	if (!ex->body && !(ex->body = malloc(BODY_MAX)))
		abort();
	return tt_error_body(ex->body, BODY_MAX, kind, &v, ctype);
}

/* Write a whole local response: the exchange is done once it is written
 * (at once, or in tt_ex_local_send's write callback); a failed write
 * closes the connection. */
static void send_whole(struct tt_exchange *ex, uv_buf_t *iov, int n)
{
	struct tt_conn *c = ex->c;
	int r;
	ex->local = 1; /* its write callback ends the exchange (downstream.c) */
	ex->resp_started = 1;
	ex->resp = TT_RESP_DONE;
	r = tt_conn_write(c, iov, n, &ex->bytes_out);
	if (r < 0) {
		tt_ex_free(ex, 0);
		tt_conn_close(c);
	} else if (r == 1) {
		tt_ex_free(ex, 1);
	}
}

void tt_ex_local_send(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	char ps[1024];
	const char *ctype = "text/plain; charset=utf-8";
	uv_buf_t iov[2];
	ssize_t blen, hlen;
	int n = 1;

	ex->local_pending = 0;
	if (tt_ps_member(ps, sizeof(ps), w->ps_name, &ex->fault, ex->upstream_status, c->detail) <
	    0)
		ps[0] = 0;
	blen = render_body(ex, ps, &ctype);
	if (blen < 0) {
		/* Only a broken operator template can get here: say so plainly. */
		blen =
		    snprintf(ex->body, BODY_MAX, "%d %s\n", ex->status, tt_hdr_reason(ex->status));
		ctype = "text/plain; charset=utf-8";
	}
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	/* A 503 is for a moment (overload, no server up): say when to come
	 * back rather than leave clients to hammer. */
	hlen = tt_hdr_local_response(ex->resphead, w->bufs.block_bytes, ex->status, ctype,
	                             (size_t)blen, ex->request_id, ps, ex->status == 503 ? 1 : 0,
	                             ex->ds_keep);
	iov[0] = uv_buf_init(ex->resphead, (unsigned)hlen);
	if (ex->method_id != TT_METHOD_HEAD)
		iov[n++] = uv_buf_init(ex->body, (unsigned)blen);
	send_whole(ex, iov, n);
}

void tt_ex_local_redirect(struct tt_exchange *ex, const char *path, size_t path_len)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	const char *host = ex->host;
	size_t host_len = ex->host_len;
	ssize_t hlen;
	uv_buf_t iov;

	if (!host_len) {
		host = w->cfg->listeners[c->listener].address;
		host_len = strlen(host);
	}
	ex->local = 1;
	ex->status = 301;
	ex->ds_keep = 0;
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	hlen = tt_hdr_redirect_https(ex->resphead, w->bufs.block_bytes, host, host_len, path,
	                             path_len, ex->request_id);
	if (hlen < 0) {
		tt_ex_fail_with(ex, TT_FAULT_REQUEST_HEAD_TOO_LARGE, TT_STAGE_REQUEST, 0);
		return;
	}
	iov = uv_buf_init(ex->resphead, (unsigned)hlen);
	send_whole(ex, &iov, 1);
}

/* An admin page on a public listener (admin.allow_public): rendered here,
 * on the worker, from every worker's metrics (obs/admin.h). */
void tt_ex_local_admin(struct tt_exchange *ex, const char *path, size_t path_len)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	struct tt_sbuf body = {NULL, 0, 0};
	const char *ctype;
	uv_buf_t iov[2];
	ssize_t hlen;
	int n = 1;

	ex->local = 1;
	ex->status = tt_admin_render(w->admin, path, path_len, c->detail, &body, &ctype);
	if (!(ex->body = malloc(body.len + 1)))
		abort();
	memcpy(ex->body, body.p ? body.p : "", body.len);
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	hlen = tt_hdr_local_response(ex->resphead, w->bufs.block_bytes, ex->status, ctype, body.len,
	                             ex->request_id, NULL, 0, ex->ds_keep && ex->req_done);
	iov[0] = uv_buf_init(ex->resphead, (unsigned)(hlen > 0 ? hlen : 0));
	if (ex->method_id != TT_METHOD_HEAD)
		iov[n++] = uv_buf_init(ex->body, (unsigned)body.len);
	tt_sbuf_fini(&body);
	if (!ex->req_done)
		ex->ds_keep = 0;
	send_whole(ex, iov, n);
}

/* Write a stored copy; the exchange is done once it is written. */
static void send_stale(struct tt_exchange *ex, const struct tt_stale_result *res, const char *ps)
{
	struct tt_conn *c = ex->c;
	struct tt_worker *w = c->w;
	struct tt_stale_serve how = {
	    .age_s = res->age_s,
	    .proxy_status = ps,
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name,
	    .keep_alive = ex->ds_keep,
	    .http10_downstream = ex->http10,
	};
	const char *body;
	size_t blen;
	uv_buf_t iov[2];
	ssize_t hlen;
	int n = 1;

	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	hlen = tt_stale_write_head(ex->stale, &how, ex->resphead, w->bufs.block_bytes);
	if (hlen < 12) {
		tt_stale_release(&ex->stale);
		tt_ex_local_send(ex);
		return;
	}
	ex->status = (ex->resphead[9] - '0') * 100 + (ex->resphead[10] - '0') * 10 +
	             (ex->resphead[11] - '0');
	iov[0] = uv_buf_init(ex->resphead, (unsigned)hlen);
	tt_stale_body(ex->stale, &body, &blen);
	if (ex->method_id != TT_METHOD_HEAD && blen)
		iov[n++] = uv_buf_init((char *)body, (unsigned)blen);
	send_whole(ex, iov, n);
}

/*
 * The upstream failed: serve a stored copy when the stale store has one
 * that RFC 5861 (or the route's stale_if_error, or always_online) allows.
 * Returns 1 when it did. Only upstream-side failures and overload qualify:
 * a bad request or a missing route is not the upstream failing.
 */
static int serve_stale(struct tt_exchange *ex, const struct tt_fault_info *fi)
{
	struct tt_worker *w = ex->c->w;
	struct tt_stale_result res;
	struct tt_h1_head req;
	char details[sizeof(ex->fault.details)], ps[1024];
	ssize_t n;

	if (!w->stale || !ex->route || !fi ||
	    (fi->side != TT_SIDE_UPSTREAM && ex->fault.id != TT_FAULT_CONNECTION_LIMIT_REACHED) ||
	    (ex->method_id != TT_METHOD_GET && ex->method_id != TT_METHOD_HEAD) ||
	    tt_ex_reparse_request(ex, &req) != 0)
		return 0;
	ex->stale = tt_stale_lookup(w->stale, &req, ex->host, ex->host_len, tt_worker_wall_ms(w),
	                            ex->route->stale_if_error_ms, ex->route->always_online, &res);
	if (!ex->stale)
		return 0;
	/* The story: served stale, why, and what was observed. */
	n = tt_stale_details(details, sizeof(details), &res, fi->token);
	if (n > 0 && ex->fault.details[0] && (size_t)n + 4 < sizeof(details)) {
		/* Cut what was observed to the room left (the record's size). */
		int room = (int)(sizeof(details) - (size_t)n) - 4;
		snprintf(details + n, sizeof(details) - (size_t)n, " (%.*s)", room,
		         ex->fault.details);
	}
	if (n > 0)
		tt_fault_details(&ex->fault, "%s", details);
	if (tt_ps_member(ps, sizeof(ps), w->ps_name, &ex->fault, 0, ex->c->detail) < 0)
		ps[0] = 0;
	tt_ex_drop_upstream(ex);
	tt_conn_pause(ex->c);
	tt_counter_add(&w->metrics.stale[ex->route - w->cfg->routes], 1);
	send_stale(ex, &res, ps);
	return 1;
}

/* Keep the fault's story in the group's ring for the status page (issue
 * 7): every failed attempt, retried or not, of the upstream or proxy side
 * (a bad request is not the upstream's story). The slow path. */
static void note_fault(struct tt_exchange *ex, const struct tt_fault_info *fi)
{
	struct tt_worker *w = ex->c->w;
	struct tt_fault_note n;
	int g = tt_ex_group(ex), s = tt_ex_server(ex);
	if (g < 0 || !fi || fi->side == TT_SIDE_DOWNSTREAM)
		return;
	memset(&n, 0, offsetof(struct tt_fault_note, bad));
	n.time_ms = tt_worker_wall_ms(w);
	n.id = ex->fault.id;
	n.stage = ex->fault.stage;
	n.status = fi->status ? fi->status : 502;
	n.sys_err = ex->fault.sys_err;
	if (s >= 0)
		snprintf(n.server, sizeof(n.server), "%s", ex->ups->pools[s].addr);
	snprintf(n.details, sizeof(n.details), "%s", ex->fault.details);
	snprintf(n.request_id, sizeof(n.request_id), "%s", ex->request_id);
	snprintf(n.trace_id, sizeof(n.trace_id), "%s", ex->trace.trace_id);
	if (ex->bad_head)
		tt_metrics_note_bytes(&n, ex->bad_head, ex->bad_head_len, ex->bad_head_off);
	ex->bad_head = NULL;
	tt_metrics_note(&w->metrics, (size_t)g, &n);
}

void tt_ex_fail(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	const struct tt_fault_info *fi = tt_fault_info(ex->fault.id);

	note_fault(ex, fi);
	if (ex->resp_started) {
		tt_ex_abort_midstream(ex);
		return;
	}
	if (tt_ex_maybe_retry(ex))
		return;
	if (!ex->c->writing && serve_stale(ex, fi))
		return;
	tt_ex_drop_upstream(ex);
	ex->local = 1;
	ex->status = fi && fi->status ? fi->status : 502;
	if (!ex->req_done) {
		/* The rest of the request body will not be read: the
		 * connection cannot carry another request. */
		ex->ds_keep = 0;
		c->want_read = 0;
	}
	tt_conn_pause(c);
	tt_conn_untime(c);
	if (c->writing) {
		ex->local_pending = 1;
		return;
	}
	tt_ex_local_send(ex);
}

void tt_ex_fail_with(struct tt_exchange *ex, enum tt_fault_id id, enum tt_stage stage, int sys_err)
{
	tt_ex_fault(ex, id, stage, sys_err);
	tt_ex_fail(ex);
}
