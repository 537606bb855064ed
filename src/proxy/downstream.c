/*
 * The exchange's downstream events: more request bytes, a downstream write
 * drained, the downstream's end of stream, its timeouts, and a cut at
 * shutdown. See exchange.h; the rest of the exchange is in exchange.c,
 * response.c and local.c.
 */
#include "proxy/exchange_int.h"

/* ---- downstream events ---- */

void tt_exchange_on_ds_data(struct tt_exchange *ex)
{
	if (ex->tunnel) {
		tt_ex_tunnel_on_ds_data(ex);
		return;
	}
	tt_conn_touch(ex->c);
	tt_ex_pump_request(ex);
	/* Not connected yet: bytes wait in the buffer; stop when it is full. */
	if (ex->c->in.len >= ex->c->w->bufs.block_bytes)
		tt_conn_pause(ex->c);
}

void tt_exchange_on_ds_written(struct tt_exchange *ex, int status)
{
	if (ex->tunnel) {
		tt_ex_tunnel_on_ds_written(ex, status);
		return;
	}
	if (status < 0) {
		tt_ex_ds_write_failed(ex, status);
		return;
	}
	if (ex->local_pending) {
		tt_ex_local_send(ex);
		return;
	}
	if (ex->local) {
		tt_ex_free(ex, 1);
		return;
	}
	if (!ex->up)
		return; /* a 100 Continue went out before the upstream was ready */
	if (ex->up->in.off == ex->up->in.len)
		ex->up->in.off = ex->up->in.len = 0;
	tt_ex_process_response(ex);
}

void tt_exchange_on_ds_eof(struct tt_exchange *ex, int err)
{
	struct tt_conn *c = ex->c;
	if (ex->tunnel) {
		tt_ex_tunnel_on_ds_eof(ex, err);
		return;
	}
	if (err == UV_EOF && ex->req_done) {
		/* A half-close after a complete request: answer, then close. */
		ex->ds_keep = 0;
		return;
	}
	if (!ex->fault.id) {
		tt_ex_fault(ex, TT_FAULT_DOWNSTREAM_CLOSED,
		            ex->req_done ? TT_STAGE_RESPOND : TT_STAGE_REQUEST, err);
		if (ex->req_done)
			tt_fault_details(
			    &ex->fault,
			    "%s closed the connection (%s) after %llu bytes of the response",
			    c->peer, uv_err_name(err), (unsigned long long)ex->bytes_out);
		else
			tt_fault_details(
			    &ex->fault,
			    "%s closed the connection (%s) after %llu bytes of the request body",
			    c->peer, uv_err_name(err), (unsigned long long)ex->reqpump.body_bytes);
	}
	if (!ex->resp_started)
		ex->status = 499;
	tt_ex_drop_upstream(ex);
	tt_ex_free(ex, 0);
	tt_conn_close(c);
}

void tt_exchange_on_ds_timeout(struct tt_exchange *ex)
{
	if (ex->tunnel)
		return; /* the tunnel's idle timer is its own (tunnel.c) */
	if (ex->up && ex->up->writing) {
		tt_ex_fault(ex, TT_FAULT_CONNECTION_WRITE_TIMEOUT, TT_STAGE_SEND, 0);
		tt_fault_details(&ex->fault, "the upstream took no request bytes for %llu ms",
		                 (unsigned long long)ex->c->w->cfg->timeouts.downstream_idle_ms);
		tt_ex_fail(ex);
		return;
	}
	if (!ex->req_done) {
		tt_ex_fail_with(ex, TT_FAULT_REQUEST_BODY_TIMEOUT, TT_STAGE_REQUEST, 0);
		return;
	}
	if (ex->c->writing) {
		tt_ex_fault(ex, TT_FAULT_DOWNSTREAM_STALLED, TT_STAGE_RESPOND, 0);
		tt_fault_details(&ex->fault, "the client read nothing for %llu ms after %llu bytes",
		                 (unsigned long long)ex->c->w->cfg->timeouts.downstream_idle_ms,
		                 (unsigned long long)ex->bytes_out);
		tt_ex_fail(ex);
	}
}

int tt_exchange_on_ds_slow(struct tt_exchange *ex, const char *details)
{
	if (ex->req_done)
		return 0;
	tt_ex_fault(ex, TT_FAULT_REQUEST_BODY_TIMEOUT, TT_STAGE_REQUEST, 0);
	tt_fault_details(&ex->fault, "%s", details);
	tt_ex_fail(ex);
	return 1;
}

void tt_exchange_abort(struct tt_exchange *ex)
{
	if (!ex->fault.id) {
		tt_ex_fault(ex, TT_FAULT_PROXY_INTERNAL_ERROR, TT_STAGE_PROXY, 0);
		tt_fault_details(&ex->fault, "cut by telltale: the shutdown grace period ran out");
	}
	if (!ex->resp_started && !ex->status)
		ex->status = 499;
	tt_ex_drop_upstream(ex);
	tt_ex_free(ex, 0);
}
