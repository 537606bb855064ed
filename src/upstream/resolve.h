/*
 * Upstream servers named by host name (issue 5, item 3): the worker's
 * resolver (net/dns.h, one per worker loop, made from config.resolver) and,
 * per pool of a named server, the address set of its last answer.
 *
 * Every address of an answer is used: new connections rotate over them,
 * and an address whose connect just failed is passed over while another
 * exists. The set is good until the answer's life ends (its TTL clamped to
 * resolver.min_ttl..max_ttl); the first connection after that asks the
 * resolver again (which caches, coalesces and serves stale answers), so a
 * moved upstream is followed without a reload. Pooled keep-alive
 * connections are kept whatever their address.
 *
 * Everything here runs on the worker's loop.
 */
#ifndef TT_UPSTREAM_RESOLVE_H
#define TT_UPSTREAM_RESOLVE_H

#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "net/dns.h"

struct tt_worker;
struct tt_pool;

/* The addresses of a named server's last answer, for one worker. */
struct tt_addrset {
	struct tt_dns_addr addrs[TT_DNS_MAX_ADDRS]; /* port 0, as received */
	size_t n;
	unsigned next;        /* rotation */
	int bad;              /* index whose last connect failed, -1 = none */
	uint64_t received_ms; /* of the answer held (uv_now) */
	uint64_t expires_ms;  /* the set is used until then (uv_now); 0 = none yet */
};

/* The resolver's options from the config's resolver: (servers, timeout,
 * tries, TTL bounds, stale); the rest keep net/dns.h's defaults. The
 * workers and `telltale doctor` resolve with the same options. */
void tt_resolve_opts(const struct tt_cfg_resolver *rc, struct tt_dns_opts *o);

/* Make w->dns from w->cfg->resolver when some upstream server is named
 * (else leave it NULL). Returns 0, or -1 after printing why on stderr
 * (requests to named servers then fail with dns_error). */
int tt_resolve_open(struct tt_worker *w);

/* Close w->dns (idempotent); its handles close on the loop's next run. */
void tt_resolve_close(struct tt_worker *w);

/* A new, empty set (NULL for a server given by IP address). */
struct tt_addrset *tt_addrset_new(void);

/*
 * The address for p's next new connection into *ss (with the server's
 * port) and its index in the set into *idx; 1 when there is one, 0 when
 * the set is empty or past its life (then resolve with tt_resolve_start).
 * any_age: the set was just updated from an answer (which may be a stale
 * one already past its life): use it whatever its age. A server given by
 * IP address always has its one address (idx -1).
 */
int tt_resolve_pick(struct tt_pool *p, struct sockaddr_storage *ss, socklen_t *len, int *idx,
                    int any_age);

/* Ask the worker's resolver for p's name; cb as tt_dns_resolve. Returns
 * 0, or -1 when there is no resolver (nothing started). */
int tt_resolve_start(struct tt_pool *p, struct tt_dns_req *req,
                     void (*cb)(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg),
                     void *arg);

/* An answer came for p: a FRESH, CACHED or STALE one replaces the set;
 * others leave it. */
void tt_resolve_update(struct tt_pool *p, const struct tt_dns_answer *a);

/* A connect to the set's address idx failed: prefer the others. */
void tt_resolve_failed(struct tt_pool *p, int idx);

#endif
