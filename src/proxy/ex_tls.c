/*
 * An attempt's TLS handshake with its upstream (issue 5): started once the
 * TCP connect succeeded, bounded by timeouts.upstream_handshake (the
 * upstream timer; response.c tells a handshake timeout), and a failure
 * classified to the catalogue's TLS rows by the engine (net/tls.h).
 */
#include <string.h>

#include "net/tls_io.h"
#include "proxy/exchange_int.h"

/* The TLS handshake with the upstream failed: the catalogue's TLS row
 * for what the engine observed, with its details and parameter. */
static void tls_fault(struct tt_exchange *ex, struct tt_tls_conn *t)
{
	struct tt_fault f;
	enum tt_fault_id id;
	tt_fault_clear(&f);
	id = tt_tls_classify(t, &f);
	if (id == TT_FAULT_NONE) {
		id = TT_FAULT_TLS_PROTOCOL_ERROR;
		tt_fault_details(&f, "the TLS connection with %s failed and OpenSSL gave no reason",
		                 ex->pool ? ex->pool->addr : "the upstream");
	}
	tt_ex_fault(ex, id, TT_STAGE_TLS, 0);
	memcpy(ex->fault.details, f.details, sizeof(f.details));
	memcpy(ex->fault.param_name, f.param_name, sizeof(f.param_name));
	memcpy(ex->fault.param_value, f.param_value, sizeof(f.param_value));
	ex->fault.int_value = f.int_value;
	ex->fault.param_is_int = f.param_is_int;
}

void tt_ex_tls_failed(struct tt_exchange *ex)
{
	tls_fault(ex, tt_tls_io_conn(ex->up->tls));
	tt_ex_fail(ex);
}

static void on_up_handshake(struct tt_tls_io *io, int status)
{
	struct tt_upconn *u = tt_tls_io_owner(io);
	struct tt_exchange *ex = u->ex;
	if (!ex || u->closing)
		return;
	tt_upconn_timer_stop(u);
	if (status < 0) {
		tt_ex_tls_failed(ex);
		return;
	}
	tt_ex_up_ready(ex);
}

void tt_ex_tls_start(struct tt_exchange *ex)
{
	if (tt_upconn_tls_start(ex->up, on_up_handshake) != 0) {
		tt_ex_fault(ex, TT_FAULT_PROXY_CONFIGURATION_ERROR, TT_STAGE_TLS, 0);
		tt_fault_details(&ex->fault, "no TLS connection can be made for the name \"%s\"",
		                 ex->pool->server->host ? ex->pool->server->host : "");
		tt_ex_fail(ex);
		return;
	}
	tt_ex_up_timer_arm(ex, ex->c->w->cfg->timeouts.upstream_handshake_ms);
}
