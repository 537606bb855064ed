/*
 * An attempt on a server named by host name waits here for its addresses
 * (issue 5, item 3): the pool's address set when it is within its life,
 * else the worker's resolver, with the request's struct tt_dns_req
 * embedded in the exchange (nothing allocated while waiting). While it
 * waits, timeouts.total still applies (on the exchange's retry timer,
 * idle during an attempt); an exchange that fails otherwise, or is freed,
 * while waiting stops the wait (tt_ex_drop_upstream, tt_ex_free). A failed resolution is the
 * attempt's fault, with the DNS rcode (tt_dns_fault): dns_error 502 or dns_timeout 504.
 */
#include "proxy/exchange_int.h"

#include <string.h>

#include "core/conn.h"
#include "core/worker.h"

static void on_dns(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg)
{
	struct tt_exchange *ex = arg;
	ex->dns_waiting = 0;
	uv_timer_stop(&ex->retry_timer);
	tt_resolve_update(ex->pool, a);
	if (a->source == TT_DNS_CANCELLED) {
		tt_ex_fault(ex, TT_FAULT_DNS_ERROR, TT_STAGE_DNS, 0);
		tt_fault_details(&ex->fault, "%s: the resolver closed (shutting down)", a->name);
		tt_ex_fail(ex);
		return;
	}
	if (a->source == TT_DNS_NONE || !a->naddrs) {
		tt_ex_fault(ex, a->error.id ? a->error.id : TT_FAULT_DNS_ERROR, TT_STAGE_DNS, 0);
		tt_dns_fault(a, &ex->fault);
		tt_ex_fail(ex);
		return;
	}
	ex->dns_answered = 1;
	tt_ex_connect(ex);
}

static void on_total(uv_timer_t *t)
{
	struct tt_exchange *ex = t->data;
	tt_dns_cancel(&ex->dns);
	ex->dns_waiting = 0;
	tt_ex_fault(ex, TT_FAULT_DNS_TIMEOUT, TT_STAGE_DNS, 0);
	tt_fault_details(&ex->fault,
	                 "%s: the exchange ran past timeouts.total (%llu ms) waiting "
	                 "for the resolver",
	                 ex->pool->server->host,
	                 (unsigned long long)ex->c->w->cfg->timeouts.total_ms);
	tt_ex_fail(ex);
}

int tt_ex_resolve(struct tt_exchange *ex, struct sockaddr_storage *ss, socklen_t *len)
{
	struct tt_pool *p = ex->pool;
	uint64_t total = ex->c->w->cfg->timeouts.total_ms, spent;
	int answered = ex->dns_answered;
	ex->dns_answered = 0;
	if (tt_resolve_pick(p, ss, len, &ex->addr_idx, answered))
		return 1;
	if (tt_resolve_start(p, &ex->dns, on_dns, ex) != 0) {
		tt_ex_fault(ex, TT_FAULT_DNS_ERROR, TT_STAGE_DNS, 0);
		tt_fault_details(&ex->fault, "%s: no resolver is running (see the start-up log)",
		                 p->server->host);
		tt_ex_fail(ex);
		return 0;
	}
	ex->dns_waiting = 1;
	if (total) {
		spent = (tt_worker_now_ns(ex->c->w) - ex->t_start_ns) / 1000000;
		ex->retry_timer.data = ex;
		uv_timer_start(&ex->retry_timer, on_total, spent >= total ? 1 : total - spent, 0);
	}
	return 0;
}

void tt_ex_dns_stop(struct tt_exchange *ex)
{
	if (!ex->dns_waiting)
		return;
	ex->dns_waiting = 0;
	tt_dns_cancel(&ex->dns);
	uv_timer_stop(&ex->retry_timer);
}
