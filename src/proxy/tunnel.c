/*
 * The tunnel after a protocol switch (RFC 9110 section 7.8 and 15.2.2):
 * once the upstream answered an upgrade request (WebSocket, most often)
 * with a 101 naming a protocol the request offered, the 101 head goes
 * downstream and both connections carry raw bytes both ways until both
 * sides ended or the tunnel was idle for timeouts.tunnel_idle_ms.
 *
 * Each direction is the same loop: what one side's read put in its
 * connection's buffer block is written to the other side as it is (no
 * copy, no allocation per chunk); while that write is queued the reading
 * side is paused (backpressure), and its buffer is reused once the write
 * drained. An end of stream from one side shuts the other side's write
 * half once everything before it was written (half-close); when both
 * halves are shut, both connections close. Any read or write error closes
 * both at once.
 *
 * Invariant: bytes [0, head_len) of the downstream buffer stay the request
 * head (the log line's method and target point into it); tunnel bytes
 * from downstream live after it. A tunnelled connection never serves
 * another request and never goes back to a pool.
 */
#include "proxy/exchange_int.h"

#include <stdio.h>
#include <string.h>

#include "fault/classify.h"
#include "respond/proxy_status.h"

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Both sides are done, or broke, or the tunnel went idle: log the
 * exchange (status 101, the bytes each way) and close both connections. */
static void tunnel_end(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	ex->up_keep = 0;
	ex->ds_keep = 0;
	tt_ex_free(ex, 0);
	tt_conn_close(c);
}

static void touch(struct tt_exchange *ex)
{
	ex->tunnel_last_ms = uv_now(&ex->c->w->loop);
}

/* The idle timer runs once per timeouts.tunnel_idle_ms, not per byte:
 * when it fires early (bytes passed meanwhile) it waits out the rest. */
static void on_idle(struct tt_upconn *u)
{
	struct tt_exchange *ex = u->ex;
	uint64_t idle, quiet;

	if (!ex || !ex->tunnel)
		return;
	idle = ex->c->w->cfg->timeouts.tunnel_idle_ms;
	quiet = uv_now(&ex->c->w->loop) - ex->tunnel_last_ms;
	if (quiet < idle) {
		tt_upconn_timer(u, idle - quiet, on_idle);
		return;
	}
	tunnel_end(ex);
}

/* Both write halves shut: nothing more can pass. Returns -1 when the
 * exchange ended. */
static int maybe_done(struct tt_exchange *ex)
{
	if (!ex->tun_up_shut || !ex->tun_ds_shut)
		return 0;
	tunnel_end(ex);
	return -1;
}

/* Downstream -> upstream. Returns -1 when the exchange ended. */
static int pump_up(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_upconn *u = ex->up;

	if (u->writing)
		return 0; /* its callback comes back here */
	if (c->in.len > c->in.off) {
		uv_buf_t iov = uv_buf_init(c->in.data + c->in.off, c->in.len - c->in.off);
		int err = 0, r;
		ex->bytes_in += iov.len;
		c->in.off = c->in.len;
		r = tt_ex_us_write(ex, &iov, 1, &err);
		if (r < 0) {
			tunnel_end(ex);
			return -1;
		}
		if (r == 0) {
			tt_conn_pause(c);
			return 0;
		}
		tt_buf_compact(&c->in, c->head_len);
	}
	if (c->eof) {
		if (!ex->tun_up_shut) {
			ex->tun_up_shut = 1;
			if (tt_upconn_shutdown_write(u) != 0) {
				tunnel_end(ex);
				return -1;
			}
		}
		return maybe_done(ex);
	}
	tt_conn_resume(c);
	return 0;
}

/* Upstream -> downstream; the 101 head goes first. Returns -1 when the
 * exchange ended. */
static int pump_down(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_upconn *u = ex->up;
	uv_buf_t iov[2];
	int n = 0, r;

	if (c->writing)
		return 0; /* tt_ex_tunnel_on_ds_written comes back here */
	if (!ex->resp_head_written)
		iov[n++] = uv_buf_init(ex->resphead, ex->resphead_len);
	if (u->in.data && u->in.len > u->in.off) {
		iov[n++] = uv_buf_init(u->in.data + u->in.off, u->in.len - u->in.off);
		u->in.off = u->in.len;
	}
	if (n) {
		ex->resp_head_written = 1;
		ex->resp_started = 1;
		r = tt_conn_write(c, iov, n, &ex->bytes_out);
		if (r < 0) {
			tunnel_end(ex);
			return -1;
		}
		if (r == 0) {
			tt_upconn_read_stop(u);
			return 0;
		}
		tt_buf_compact(&u->in, 0);
	}
	if (ex->tun_up_eof) {
		if (!ex->tun_ds_shut) {
			ex->tun_ds_shut = 1;
			if (tt_conn_shutdown_write(c) != 0) {
				tunnel_end(ex);
				return -1;
			}
		}
		return maybe_done(ex);
	}
	tt_upconn_read_start(u, on_up_read);
	return 0;
}

static void on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	struct tt_exchange *ex = u->ex;

	(void)buf;
	if (nread == 0 || !ex)
		return;
	if (nread == UV_ENOBUFS) {
		/* Not reached: the block is drained before reading resumes. */
		tt_upconn_read_stop(u);
		return;
	}
	if (nread < 0) {
		tt_upconn_read_stop(u);
		if (nread != UV_EOF) {
			tunnel_end(ex);
			return;
		}
		ex->tun_up_eof = 1;
	} else {
		u->in.len += (uint32_t)nread;
		touch(ex);
	}
	pump_down(ex);
}

void tt_ex_tunnel_on_ds_data(struct tt_exchange *ex)
{
	touch(ex);
	pump_up(ex);
}

void tt_ex_tunnel_on_ds_written(struct tt_exchange *ex, int status)
{
	if (status < 0) {
		tunnel_end(ex);
		return;
	}
	tt_buf_compact(&ex->up->in, 0);
	pump_down(ex);
}

void tt_ex_tunnel_on_ds_eof(struct tt_exchange *ex, int err)
{
	if (err != UV_EOF) {
		tunnel_end(ex);
		return;
	}
	pump_up(ex);
}

void tt_ex_tunnel_on_us_written(struct tt_exchange *ex, int status)
{
	if (status < 0) {
		tunnel_end(ex);
		return;
	}
	tt_buf_compact(&ex->c->in, ex->c->head_len);
	pump_up(ex);
}

/* Write the 101 head for the downstream into ex->resphead. */
static int build_101(struct tt_exchange *ex, const struct tt_h1_head *h)
{
	struct tt_worker *w = ex->c->w;
	char ps[256];
	ssize_t n;

	if (tt_ps_member(ps, sizeof(ps), w->ps_name, &ex->fault, h->status, ex->c->detail ? 1 : 0) <
	    0)
		ps[0] = 0;
	struct tt_hdr_response_ctx ctx = {
	    .request_id = ex->request_id,
	    .proxy_name = w->cfg->name,
	    .framing = TT_H1_BODY_NONE,
	    .proxy_status = ps,
	    .upgrade = 1,
	};
	if (!ex->resphead)
		ex->resphead = tt_bufpool_get(&w->bufs);
	n = tt_hdr_downstream_response(ex->resphead, w->bufs.block_bytes, h, &ctx);
	if (n < 0)
		return -1;
	ex->resphead_len = (uint32_t)n;
	ex->resp_head_written = 0;
	return 0;
}

static void tunnel_start(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_upconn *u = ex->up;
	uint64_t idle = c->w->cfg->timeouts.tunnel_idle_ms;

	ex->tunnel = 1;
	ex->resp = TT_RESP_BODY;
	ex->up_keep = 0;
	ex->ds_keep = 0;
	/* A Content-Length body still on its way passes as tunnel bytes:
	 * the pump wrote it unchanged, so the rest is the same bytes. */
	ex->req_done = 1;
	c->want_read = 1;
	/* Neither the exchange's total timeout nor the upstream head and
	 * idle timeouts, nor the downstream's, apply to a tunnel. */
	tt_conn_untime(c);
	touch(ex);
	if (idle)
		tt_upconn_timer(u, idle, on_idle);
	else
		tt_upconn_timer_stop(u);
	tt_upconn_read_stop(u); /* the response reader's callback gives way */
	if (pump_down(ex) < 0)
		return;
	pump_up(ex);
}

/* The upgrade the downstream asked for, for the story. */
static void offered_text(struct tt_exchange *ex, const char **v, int *len)
{
	struct tt_h1_head req;
	const struct tt_h1_field *f = NULL;
	if (tt_ex_reparse_request(ex, &req) == 0)
		f = tt_h1_find(&req, "upgrade");
	*v = f ? f->value : "";
	*len = f ? (int)(f->value_len > 64 ? 64 : f->value_len) : 0;
}

void tt_ex_switch_protocols(struct tt_exchange *ex, const struct tt_h1_head *h, size_t n)
{
	struct tt_h1_head req;
	const char *bad = "", *want;
	size_t bad_len = 0;
	int want_len;
	enum tt_hdr_upgrade_check chk = TT_HDR_UPGRADE_MISSING;

	ex->upstream_status = 101;
	if (!ex->upgrade) {
		tt_ex_fault(ex, TT_FAULT_HTTP_UPGRADE_FAILED, TT_STAGE_READ_HEAD, 0);
		tt_fault_describe_unexpected_101(&ex->fault);
		tt_ex_fail(ex);
		return;
	}
	if (tt_ex_reparse_request(ex, &req) == 0)
		chk = tt_hdr_upgrade_check(&req, h, &bad, &bad_len);
	if (chk != TT_HDR_UPGRADE_OK) {
		/* The downstream may have sent bytes of the new protocol
		 * already: its connection cannot carry another request. */
		ex->ds_keep = 0;
		offered_text(ex, &want, &want_len);
		tt_ex_fault(ex, TT_FAULT_HTTP_UPGRADE_FAILED, TT_STAGE_READ_HEAD, 0);
		if (chk == TT_HDR_UPGRADE_MISSING)
			tt_fault_details(
			    &ex->fault,
			    "101 Switching Protocols without an Upgrade field; the request "
			    "offered '%.*s'",
			    want_len, want);
		else
			tt_fault_details(
			    &ex->fault,
			    "101 Switching Protocols to '%.*s', which the request did not "
			    "offer (it offered '%.*s')",
			    (int)(bad_len > 64 ? 64 : bad_len), bad, want_len, want);
		tt_ex_fail(ex);
		return;
	}
	tt_ex_head_arrived(ex, 101);
	if (build_101(ex, h) < 0) {
		ex->ds_keep = 0;
		tt_ex_fault(ex, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE, TT_STAGE_READ_HEAD, 0);
		tt_fault_details(&ex->fault,
		                 "the rewritten 101 head does not fit in a buffer block");
		tt_ex_fail(ex);
		return;
	}
	ex->up->in.off += (uint32_t)n;
	tunnel_start(ex);
}
