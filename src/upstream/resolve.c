/*
 * Named upstream servers: the worker's resolver and each pool's address
 * set. See resolve.h.
 */
#include "upstream/resolve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/worker.h"
#include "upstream/pool.h"

static void on_dns_log(void *arg, const char *line)
{
	struct tt_worker *w = arg;
	fprintf(stderr, "telltale: worker %u: %s\n", w->id, line);
}

static int any_named(const struct tt_config *c)
{
	for (size_t i = 0; i < c->nupstreams; i++)
		for (size_t j = 0; j < c->upstreams[i].nservers; j++)
			if (c->upstreams[i].servers[j].dynamic)
				return 1;
	return 0;
}

void tt_resolve_opts(const struct tt_cfg_resolver *rc, struct tt_dns_opts *o)
{
	tt_dns_opts_default(o);
	o->nservers = rc->nservers < TT_DNS_MAX_SERVERS ? rc->nservers : TT_DNS_MAX_SERVERS;
	for (size_t i = 0; i < o->nservers; i++)
		o->servers[i] = rc->servers[i];
	o->timeout_ms = rc->timeout_ms;
	o->tries = rc->tries;
	o->min_ttl_ms = rc->min_ttl_ms;
	o->max_ttl_ms = rc->max_ttl_ms;
	o->stale_ms = rc->stale_ms;
}

int tt_resolve_open(struct tt_worker *w)
{
	const struct tt_cfg_resolver *rc = &w->cfg->resolver;
	struct tt_dns_opts o;
	char err[256];
	if (!any_named(w->cfg))
		return 0;
	tt_resolve_opts(rc, &o);
	o.on_log = on_dns_log;
	o.log_arg = w;
	w->dns = tt_dns_new(&w->loop, &o, err, sizeof(err));
	if (!w->dns) {
		fprintf(stderr, "telltale: worker %u: the resolver did not start: %s\n", w->id,
		        err);
		return -1;
	}
	return 0;
}

void tt_resolve_close(struct tt_worker *w)
{
	tt_dns_close(&w->dns, NULL, NULL);
}

struct tt_addrset *tt_addrset_new(void)
{
	struct tt_addrset *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->bad = -1;
	return s;
}

static void copy_addr(const struct tt_dns_addr *a, uint16_t port, struct sockaddr_storage *ss,
                      socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (a->u.sa.sa_family == AF_INET6) {
		memcpy(ss, &a->u.in6, sizeof(a->u.in6));
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		*len = sizeof(struct sockaddr_in6);
	} else {
		memcpy(ss, &a->u.in, sizeof(a->u.in));
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		*len = sizeof(struct sockaddr_in);
	}
}

int tt_resolve_pick(struct tt_pool *p, struct sockaddr_storage *ss, socklen_t *len, int *idx,
                    int any_age)
{
	struct tt_addrset *s = p->dyn;
	*idx = -1;
	if (!p->server->dynamic) {
		*ss = p->server->addr;
		*len = p->server->addr_len;
		return 1;
	}
	if (!s || !s->n || (!any_age && uv_now(&p->w->loop) >= s->expires_ms))
		return 0;
	unsigned i = s->next++ % (unsigned)s->n;
	if ((int)i == s->bad && s->n > 1)
		i = s->next++ % (unsigned)s->n;
	*idx = (int)i;
	copy_addr(&s->addrs[i], p->server->port, ss, len);
	return 1;
}

int tt_resolve_start(struct tt_pool *p, struct tt_dns_req *req,
                     void (*cb)(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg),
                     void *arg)
{
	if (!p->w->dns)
		return -1;
	return tt_dns_resolve(p->w->dns, req, p->server->host, AF_UNSPEC, cb, arg);
}

void tt_resolve_update(struct tt_pool *p, const struct tt_dns_answer *a)
{
	struct tt_addrset *s = p->dyn;
	uint64_t now = uv_now(&p->w->loop);
	if (!s || !a->naddrs ||
	    (a->source != TT_DNS_FRESH && a->source != TT_DNS_CACHED && a->source != TT_DNS_STALE))
		return;
	if (a->received_ms != s->received_ms || a->naddrs != s->n) {
		memcpy(s->addrs, a->addrs, a->naddrs * sizeof(a->addrs[0]));
		s->n = a->naddrs;
		s->bad = -1;
		s->received_ms = a->received_ms;
	}
	/* A stale answer is used until the resolver may be asked again (it
	 * remembers the failure for min_ttl). */
	s->expires_ms =
	    a->source == TT_DNS_STALE ? now + p->w->cfg->resolver.min_ttl_ms : a->expires_ms;
}

void tt_resolve_failed(struct tt_pool *p, int idx)
{
	if (p->dyn && idx >= 0 && (size_t)idx < p->dyn->n)
		p->dyn->bad = idx;
}
