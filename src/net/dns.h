/*
 * The upstream resolver (issue 5, item 3): upstream servers named by host
 * name are resolved asynchronously with c-ares, every A/AAAA address of
 * the answer is kept with its TTL for the balancer, answers are cached for
 * clamp(TTL, min_ttl_ms, max_ttl_ms) and resolved again on the first use
 * after that (no reload needed), and when a refresh fails the last good
 * answer is served for up to stale_ms more (RFC 8767's serve-stale), with
 * a log line saying so.
 *
 * Failures are mapped to the fault catalogue where they arrive: NXDOMAIN,
 * SERVFAIL, REFUSED (and FORMERR, NOTIMP, NOERROR-without-records) are
 * DNS_ERROR with the RFC 9209 parameter rcode; no answer in time is
 * DNS_TIMEOUT. The raw c-ares status is kept for details and logs.
 *
 * One resolver per libuv loop, used from that loop's thread only: its
 * c-ares channel is driven by uv_poll handles (one per c-ares socket,
 * opened and closed as c-ares asks through its socket-state callback) and
 * one uv_timer (c-ares's own retransmission timeouts). Nothing here is
 * shared between threads; each worker has its own resolver and cache.
 *
 * Invariants: a name has at most one c-ares lookup in flight, however many
 * requests wait for it; a user callback never runs inside c-ares nor
 * inside a tt_dns_* call: it runs from the resolver's uv_idle handle, on a
 * later turn of the loop.
 */
#ifndef TT_NET_DNS_H
#define TT_NET_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "fault/fault.h"

#define TT_DNS_MAGIC     0x74746473u /* "ttds" */
#define TT_DNS_REQ_MAGIC 0x74746471u /* "ttdq" */

/* Addresses kept per answer; more are counted in ndropped, not stored. */
#define TT_DNS_MAX_ADDRS 32
/* A host name's longest text form (RFC 1035 section 2.3.4) plus NUL. */
#define TT_DNS_NAME_MAX 256
/* Resolver addresses accepted in tt_dns_opts.servers. */
#define TT_DNS_MAX_SERVERS 8

struct tt_dns;

/*
 * Options, filled with defaults by tt_dns_opts_default and then taken
 * literally (0 means 0). Strings are read during tt_dns_new only.
 */
struct tt_dns_opts {
	/* Resolvers as "ip", "ip:port" or "[ipv6]:port"; nservers == 0 uses
	 * the system's (/etc/resolv.conf, read by c-ares). Search domains,
	 * ndots and /etc/hosts always come from the system. */
	const char *servers[TT_DNS_MAX_SERVERS];
	size_t nservers;
	/* The longest a resolution may take, all tries and servers included
	 * (default 2000). c-ares doubles its per-try timeout each round over
	 * the servers; the first try's is chosen so the sum fits. */
	uint64_t timeout_ms;
	unsigned tries;      /* rounds over the servers (default 2), >= 1 */
	uint64_t min_ttl_ms; /* floor of a kept answer's life (default 1000) */
	uint64_t max_ttl_ms; /* ceiling of a kept answer's life (default 300000) */
	/* How long past its life the last good answer is served when a
	 * refresh fails (default 300000; 0 turns serve-stale off). */
	uint64_t stale_ms;
	/* Names kept at most (default 1024); past it, the idle name whose
	 * answer ends first is forgotten (a name with a lookup in flight or
	 * a waiting request never is). */
	size_t max_names;
	/* Where log lines go (one line, no newline): NULL = stderr. */
	void (*on_log)(void *log_arg, const char *line);
	void *log_arg;
};

/* Where a delivered answer came from. */
enum tt_dns_source {
	TT_DNS_FRESH = 0, /* asked the resolver just now */
	TT_DNS_CACHED,    /* kept, within its life: nobody was asked */
	TT_DNS_STALE,     /* past its life, the refresh failed (error says
	                   * how), served within stale_ms */
	TT_DNS_NONE,      /* no address: error says why */
	TT_DNS_CANCELLED  /* the resolver is closing: no fault to report */
};

/* Why a resolution failed, mapped where it arrived. */
struct tt_dns_error {
	enum tt_fault_id id; /* TT_FAULT_NONE, DNS_ERROR, DNS_TIMEOUT or
	                      * PROXY_INTERNAL_ERROR (out of memory) */
	int ares_status;     /* the raw c-ares code (ARES_*), 0 = none */
	/* The DNS RCODE, as RFC 9209's rcode parameter writes it:
	 * "NXDOMAIN", "SERVFAIL", "REFUSED", "FORMERR", "NOTIMP", or
	 * "NOERROR" for a name without A/AAAA records; NULL when no DNS
	 * answer came (timeout, unreachable resolver, bad name). Static. */
	const char *rcode;
};

struct tt_dns_addr {
	union {
		struct sockaddr sa; /* sa_family AF_INET or AF_INET6, port 0 */
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} u;
	uint32_t ttl_s; /* as received */
};

/* An answer, by value: what a callback receives (valid during the call
 * only; copy what you keep). */
struct tt_dns_answer {
	char name[TT_DNS_NAME_MAX]; /* as asked */
	int family;                 /* AF_UNSPEC, AF_INET or AF_INET6 as asked */
	enum tt_dns_source source;
	/* Every address received, in c-ares's order (not sorted by RFC
	 * 6724); none for TT_DNS_NONE and TT_DNS_CANCELLED. */
	struct tt_dns_addr addrs[TT_DNS_MAX_ADDRS];
	size_t naddrs;
	size_t ndropped;      /* received past TT_DNS_MAX_ADDRS */
	uint32_t ttl_s;       /* smallest TTL received (CNAMEs included) */
	uint64_t received_ms; /* uv_now when the addresses arrived */
	uint64_t expires_ms;  /* received_ms + clamp(ttl, min, max) */
	/* The failure: set for TT_DNS_STALE (the refresh that failed) and
	 * TT_DNS_NONE; id TT_FAULT_NONE otherwise. */
	struct tt_dns_error error;
	unsigned timeout_ms; /* the resolver's timeout, for details */
};

/*
 * One waiting resolution, embedded in its owner (the exchange), so waiting
 * allocates nothing and can be cancelled. Zero it before its first use;
 * after its callback or tt_dns_cancel it may be used again. Fields are
 * private.
 */
struct tt_dns_req {
	uint32_t magic;
	struct tt_dns_req *next, *prev; /* in the name's waiting list */
	void *entry;                    /* the name it waits for */
	int ready;                      /* its answer is in; delivery pending */
	void (*cb)(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg);
	void *arg;
};

/* Fill o with the defaults documented above. */
void tt_dns_opts_default(struct tt_dns_opts *o);

/*
 * Make a resolver on loop. Returns NULL on failure, with a one-line reason
 * in err[0..errcap) (c-ares could not start, a server address is not
 * "ip[:port]", tries is 0, min_ttl_ms > max_ttl_ms); nothing is left on
 * the loop then. The resolver belongs to the caller until tt_dns_close.
 */
struct tt_dns *tt_dns_new(uv_loop_t *loop, const struct tt_dns_opts *o, char *err, size_t errcap);

/*
 * Resolve name (a host name, or an address literal, which c-ares returns
 * as is) for family AF_UNSPEC (A and AAAA), AF_INET or AF_INET6.
 *
 * cb(req, answer, arg) fires exactly once, on a later turn of the loop
 * (from the resolver's uv_idle or I/O callbacks, never from inside this
 * call nor from inside c-ares), unless tt_dns_cancel(req) runs first:
 *   - a kept answer within its life: on the next turn, nobody is asked
 *     (source TT_DNS_CACHED);
 *   - else after the resolver answered or gave up, at most about
 *     timeout_ms later: TT_DNS_FRESH, TT_DNS_STALE or TT_DNS_NONE. A name
 *     whose last refresh failed less than min_ttl_ms ago is not asked
 *     again: the failure (or the stale answer) is delivered at once, so a
 *     resolver outage costs one wait per name per min_ttl_ms, not one per
 *     request;
 *   - TT_DNS_CANCELLED when the resolver is closed first.
 * req is the caller's and must stay valid until cb fires or tt_dns_cancel
 * returns; it may be reused after that. Returns 0, or -1 with nothing
 * started when name is empty or longer than TT_DNS_NAME_MAX - 1, family
 * is not one of the three, req is already waiting, or the resolver is
 * closing.
 */
int tt_dns_resolve(struct tt_dns *r, struct tt_dns_req *req, const char *name, int family,
                   void (*cb)(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg),
                   void *arg);

/* Stop waiting: cb will not fire. A no-op when req is not waiting. The
 * lookup itself goes on (and fills the cache) for other requests. */
void tt_dns_cancel(struct tt_dns_req *req);

/*
 * Synchronous peek: copy the kept answer of (name, family) into *out when
 * it is within its life and return 1 (source TT_DNS_CACHED); else 0, *out
 * untouched and nothing started. For the hot path: a hit costs no turn of
 * the loop.
 */
int tt_dns_cached(struct tt_dns *r, const char *name, int family, struct tt_dns_answer *out);

/* The fault an answer with an error stands for, into f (tt_fault_set with
 * stage dns, the rcode parameter, details naming the name and what was
 * observed). A no-op when a->error.id is TT_FAULT_NONE. */
void tt_dns_fault(const struct tt_dns_answer *a, struct tt_fault *f);

/* Map a c-ares status (as from ares_getaddrinfo) to an error; pure. */
void tt_dns_classify(int ares_status, struct tt_dns_error *e);

/* clamp(ttl_s * 1000, min_ms, max_ms); pure. */
uint64_t tt_dns_life_ms(uint32_t ttl_s, uint64_t min_ms, uint64_t max_ms);

/*
 * Close: lookups in flight are abandoned, waiting requests get
 * TT_DNS_CANCELLED (on a later turn, not inside this call), every handle is closed, and the
 * resolver is freed in the last close callback, after which on_closed(arg) fires (may be NULL). The
 * loop must run for that to happen; afterwards it holds nothing of the resolver. Sets *r to NULL;
 * NULL and *r == NULL are no-ops. Must not be called from inside one of the resolver's log
 * callbacks.
 */
void tt_dns_close(struct tt_dns **r, void (*on_closed)(void *arg), void *arg);

#endif
