/*
 * The upstream resolver: see dns.h. c-ares does the DNS (search domains,
 * /etc/hosts, retransmission, failover between servers); this file drives
 * its channel from a libuv loop, keeps answers per name with their life
 * clamped by config, serves the last good answer when a refresh fails, and
 * maps what c-ares reports to the fault catalogue.
 *
 * Why ares_getaddrinfo and not ares_query + ares_parse_*: it gives every
 * address's TTL (ai_ttl) and every CNAME's, asks A and AAAA at once, and
 * follows the system's search list, ndots and /etc/hosts as getaddrinfo(3)
 * would; its status carries the RCODE through ares_query's mapping
 * (ARES_ENOTFOUND = NXDOMAIN, ARES_ESERVFAIL, ARES_EREFUSED, ARES_EFORMERR,
 * ARES_ENOTIMP, ARES_ENODATA = NOERROR without records), and ARES_ETIMEOUT
 * when no server answered at all.
 *
 * One catch, seen with c-ares 1.18.1 (Debian 12): by default c-ares takes
 * a SERVFAIL, REFUSED or NOTIMP answer for a broken server, moves on to
 * the next one, and when all are spent ends the query with ARES_ECONNREFUSED,
 * the status it starts every query with, so a SERVFAIL is indistinguishable
 * from a closed port. The channel therefore sets ARES_FLAG_NOCHECKRESP:
 * those answers reach ares_query's RCODE mapping and the fault gets its
 * rcode. The price: c-ares no longer fails over to the next server on a
 * SERVFAIL or REFUSED (it still does on a timeout); a failure is then
 * remembered for min_ttl_ms (and the stale answer served meanwhile), so
 * one broken resolver costs one failed lookup per name per min_ttl_ms.
 * RFC 9209's info-code (RFC 8914 extended errors) is not available: c-ares
 * 1.18 neither sends nor parses the EDNS option.
 *
 * Invariant: an entry with a lookup in flight, with waiting requests, or
 * being delivered is never freed before the resolver is; user callbacks
 * run only from drain(), which runs after c-ares has returned.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>

#include "net/dns.h"

#define ENTRY_MAGIC 0x74746465u /* "ttde" */
#define SOCK_MAGIC  0x7474736bu /* "ttsk" */
#define NBUCKETS    256

/* One name and family: its kept answer, its last failure, its waiters.
 * Owned by the resolver's table. */
struct entry {
	uint32_t magic;
	struct tt_dns *r;
	struct entry *next;         /* hash chain */
	struct entry *deliver_next; /* in r->deliver while on_list */
	char name[TT_DNS_NAME_MAX];
	int family;
	int has_good;              /* good holds the last good answer */
	int has_failed;            /* the last lookup failed: error, failed_ms */
	int inflight;              /* a c-ares lookup is running */
	int on_list;               /* in r->deliver */
	int delivering;            /* drain() is calling its waiters */
	uint64_t failed_ms;        /* uv_now of the last failure */
	struct tt_dns_answer good; /* addresses, ttl, received, expires */
	struct tt_dns_error error; /* of the last failed lookup */
	struct tt_dns_req *waiters;
};

/* One socket c-ares asked us to watch; freed in its close callback. */
struct sock {
	uint32_t magic;
	struct tt_dns *r;
	struct sock *next;
	ares_socket_t fd;
	uv_poll_t poll;
};

struct tt_dns {
	uint32_t magic;
	uv_loop_t *loop;
	ares_channel channel;
	int has_channel;
	uv_timer_t timer; /* c-ares's timeouts */
	uv_idle_t idle;   /* deliveries decided outside the loop's I/O */
	int handles;      /* open handles: timer, idle, socks */
	int closing;
	int idle_closing;
	struct sock *socks;
	struct entry *buckets[NBUCKETS];
	size_t nentries;
	struct entry *deliver; /* entries with ready waiters */
	uint64_t timeout_ms, min_ttl_ms, max_ttl_ms, stale_ms;
	size_t max_names;
	void (*on_log)(void *log_arg, const char *line);
	void *log_arg;
	void (*on_closed)(void *arg);
	void *closed_arg;
};

static uv_once_t lib_once = UV_ONCE_INIT;

/* c-ares 1.18 wants ares_library_init once per process before any
 * channel (it does real work only on Windows); uv_once makes it safe when
 * several workers start at the same time. Never undone: the process ends
 * first. */
static void lib_init(void)
{
	ares_library_init(ARES_LIB_INIT_ALL);
}

static void __attribute__((format(printf, 2, 3))) logf_(struct tt_dns *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (r->on_log)
		r->on_log(r->log_arg, line);
	else
		fprintf(stderr, "telltale: %s\n", line);
}

void tt_dns_opts_default(struct tt_dns_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 2000;
	o->tries = 2;
	o->min_ttl_ms = 1000;
	o->max_ttl_ms = 300000;
	o->stale_ms = 300000;
	o->max_names = 1024;
}

uint64_t tt_dns_life_ms(uint32_t ttl_s, uint64_t min_ms, uint64_t max_ms)
{
	uint64_t ms = (uint64_t)ttl_s * 1000;

	if (ms < min_ms)
		ms = min_ms;
	if (ms > max_ms)
		ms = max_ms;
	return ms;
}

void tt_dns_classify(int st, struct tt_dns_error *e)
{
	e->ares_status = st;
	e->rcode = NULL;
	e->id = TT_FAULT_DNS_ERROR;
	switch (st) {
	case ARES_SUCCESS: e->id = TT_FAULT_NONE; break;
	case ARES_ENOTFOUND: e->rcode = "NXDOMAIN"; break;
	case ARES_ENODATA: e->rcode = "NOERROR"; break;
	case ARES_ESERVFAIL: e->rcode = "SERVFAIL"; break;
	case ARES_EREFUSED: e->rcode = "REFUSED"; break;
	case ARES_EFORMERR: e->rcode = "FORMERR"; break;
	case ARES_ENOTIMP: e->rcode = "NOTIMP"; break;
	case ARES_ETIMEOUT: e->id = TT_FAULT_DNS_TIMEOUT; break;
	case ARES_ENOMEM: e->id = TT_FAULT_PROXY_INTERNAL_ERROR; break;
	default: break; /* ECONNREFUSED (closed port), EBADNAME...: no RCODE */
	}
}

void tt_dns_fault(const struct tt_dns_answer *a, struct tt_fault *f)
{
	const struct tt_dns_error *e = &a->error;

	if (e->id == TT_FAULT_NONE)
		return;
	tt_fault_set(f, e->id, TT_STAGE_DNS, 0);
	if (e->rcode)
		tt_fault_param_str(f, "rcode", e->rcode, strlen(e->rcode));
	if (e->id == TT_FAULT_DNS_TIMEOUT)
		tt_fault_details(f, "%s: no answer from the resolver within %u ms", a->name,
		                 a->timeout_ms);
	else if (e->ares_status == ARES_ENODATA)
		tt_fault_details(f, "%s: the resolver says NOERROR but has no %s record", a->name,
		                 a->family == AF_INET    ? "A"
		                 : a->family == AF_INET6 ? "AAAA"
		                                         : "A or AAAA");
	else if (e->rcode)
		tt_fault_details(f, "%s: %s from the resolver", a->name, e->rcode);
	else
		tt_fault_details(f, "%s: %s (c-ares status %d)", a->name,
		                 ares_strerror(e->ares_status), e->ares_status);
}

static unsigned hash(const char *name, int family)
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	/* Case-folded: DNS names compare without case (RFC 4343). */
	for (const char *p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 16777619u;
	}
	return h % NBUCKETS;
}

static struct entry *find(struct tt_dns *r, const char *name, int family)
{
	for (struct entry *e = r->buckets[hash(name, family)]; e; e = e->next)
		if (e->family == family && strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int evictable(const struct entry *e)
{
	return !e->inflight && !e->waiters && !e->on_list && !e->delivering;
}

static void unlink_entry(struct tt_dns *r, struct entry *e)
{
	struct entry **pp = &r->buckets[hash(e->name, e->family)];

	while (*pp != e)
		pp = &(*pp)->next;
	*pp = e->next;
	r->nentries--;
	e->magic = 0;
	free(e);
}

/* Forget the idle name whose answer ends first (expired ones first), to
 * stay within max_names. When every name is busy the table grows past
 * the cap until one is idle again: names come from config, so that takes
 * more distinct names in flight than any sane config has. */
static void evict_one(struct tt_dns *r)
{
	struct entry *best = NULL;

	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct entry *e = r->buckets[b]; e; e = e->next) {
			uint64_t end = e->has_good ? e->good.expires_ms : 0;
			if (!evictable(e))
				continue;
			if (!best || end < (best->has_good ? best->good.expires_ms : 0))
				best = e;
		}
	if (best)
		unlink_entry(r, best);
}

static struct entry *entry_new(struct tt_dns *r, const char *name, size_t len, int family)
{
	struct entry *e;
	unsigned b;

	if (r->nentries >= r->max_names)
		evict_one(r);
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->magic = ENTRY_MAGIC;
	e->r = r;
	memcpy(e->name, name, len + 1);
	e->family = family;
	b = hash(name, family);
	e->next = r->buckets[b];
	r->buckets[b] = e;
	r->nentries++;
	return e;
}

static void on_idle(uv_idle_t *h);
static void on_timer(uv_timer_t *t);

static void schedule(struct tt_dns *r, struct entry *e)
{
	if (!e->on_list) {
		e->on_list = 1;
		e->deliver_next = r->deliver;
		r->deliver = e;
	}
	if (!r->idle_closing)
		uv_idle_start(&r->idle, on_idle);
}

static void req_unlink(struct tt_dns_req *q)
{
	struct entry *e = q->entry;

	if (q->prev)
		q->prev->next = q->next;
	else
		e->waiters = q->next;
	if (q->next)
		q->next->prev = q->prev;
	q->next = q->prev = NULL;
	q->entry = NULL;
	q->ready = 0;
}

/* What a waiter of e gets now. asked: it waited for a lookup. */
static void fill_answer(const struct entry *e, int asked, struct tt_dns_answer *a)
{
	struct tt_dns *r = e->r;
	uint64_t now = uv_now(r->loop);

	memset(a, 0, sizeof(*a));
	if (e->has_good)
		*a = e->good;
	memcpy(a->name, e->name, sizeof(a->name));
	a->family = e->family;
	a->timeout_ms = (unsigned)r->timeout_ms;
	if (r->closing) {
		a->naddrs = a->ndropped = 0;
		a->source = TT_DNS_CANCELLED;
	} else if (e->has_good && !e->has_failed && (asked || now < e->good.expires_ms)) {
		/* A waiter gets the answer it waited for even when its life is
		 * 0 (TTL 0 and min_ttl_ms 0). */
		a->source = asked ? TT_DNS_FRESH : TT_DNS_CACHED;
	} else if (e->has_good && e->has_failed) {
		/* has_good past its life is only kept within stale_ms (see
		 * on_lookup), so this is the stale case. */
		a->source = TT_DNS_STALE;
		a->error = e->error;
	} else {
		a->naddrs = a->ndropped = 0;
		a->source = TT_DNS_NONE;
		a->error = e->error;
		if (!e->has_failed)
			tt_dns_classify(ARES_ETIMEOUT, &a->error);
	}
}

static struct tt_dns_req *first_ready(const struct entry *e)
{
	for (struct tt_dns_req *q = e->waiters; q; q = q->next)
		if (q->ready)
			return q;
	return NULL;
}

/* Call every ready waiter. A callback may resolve, cancel or close: the
 * list is taken first, each entry is held by its delivering flag, and the
 * next ready waiter is searched afresh after each call. */
static void drain(struct tt_dns *r)
{
	while (r->deliver) {
		struct entry *e = r->deliver;
		struct tt_dns_req *q;

		r->deliver = e->deliver_next;
		e->on_list = 0;
		e->delivering = 1;
		while ((q = first_ready(e))) {
			struct tt_dns_answer a;
			void (*cb)(struct tt_dns_req *, const struct tt_dns_answer *, void *) =
			    q->cb;
			void *arg = q->arg;
			int asked = q->ready == 2;

			fill_answer(e, asked, &a);
			req_unlink(q);
			q->magic = 0;
			cb(q, &a, arg);
		}
		e->delivering = 0;
	}
}

static void maybe_free(struct tt_dns *r);

static void on_handle_closed(uv_handle_t *h)
{
	struct tt_dns *r = h->data;

	if (h->type == UV_POLL) {
		struct sock *s = h->data;
		assert(s->magic == SOCK_MAGIC);
		r = s->r;
		s->magic = 0;
		free(s);
	}
	assert(r->magic == TT_DNS_MAGIC);
	r->handles--;
	maybe_free(r);
}

static void rearm(struct tt_dns *r)
{
	struct timeval tv, *tvp;
	uint64_t ms;

	if (r->closing || !r->has_channel)
		return;
	tvp = ares_timeout(r->channel, NULL, &tv);
	if (!tvp) {
		uv_timer_stop(&r->timer);
		return;
	}
	ms = (uint64_t)tvp->tv_sec * 1000 + ((uint64_t)tvp->tv_usec + 999) / 1000;
	uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *t)
{
	struct tt_dns *r = t->data;

	assert(r->magic == TT_DNS_MAGIC);
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
	drain(r);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	struct tt_dns *r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	assert(s->magic == SOCK_MAGIC);
	r = s->r;
	/* On a poll error let c-ares read and write, so it meets the error
	 * on the socket itself and fails over as it would on its own. */
	if (status < 0 || (events & UV_READABLE))
		rfd = s->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = s->fd;
	ares_process_fd(r->channel, rfd, wfd);
	rearm(r);
	drain(r);
}

static void sock_close(struct sock *s)
{
	struct sock **pp = &s->r->socks;

	while (*pp != s)
		pp = &(*pp)->next;
	*pp = s->next;
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
}

/* c-ares's socket-state callback: watch fd for what it asks, or stop
 * watching when it asks for nothing (it is about to close fd). */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct tt_dns *r = data;
	struct sock *s = r->socks;
	int ev = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	while (s && s->fd != fd)
		s = s->next;
	if (!ev) {
		if (s)
			sock_close(s);
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			abort();
		s->magic = SOCK_MAGIC;
		s->r = r;
		s->fd = fd;
		if (uv_poll_init_socket(r->loop, &s->poll, fd) != 0) {
			/* c-ares will time this query out: the fault says so. */
			logf_(r, "dns: cannot watch a resolver socket (fd %d)", (int)fd);
			free(s);
			return;
		}
		s->poll.data = s;
		s->next = r->socks;
		r->socks = s;
		r->handles++;
	}
	uv_poll_start(&s->poll, ev, on_poll);
}

static void keep_addresses(struct entry *e, const struct ares_addrinfo *ai)
{
	struct tt_dns_answer *g = &e->good;
	uint32_t ttl = UINT32_MAX;

	g->naddrs = g->ndropped = 0;
	for (const struct ares_addrinfo_node *n = ai->nodes; n; n = n->ai_next) {
		uint32_t t = n->ai_ttl > 0 ? (uint32_t)n->ai_ttl : 0;
		struct tt_dns_addr *d;
		if (n->ai_family != AF_INET && n->ai_family != AF_INET6)
			continue;
		if (t < ttl)
			ttl = t;
		if (g->naddrs == TT_DNS_MAX_ADDRS) {
			g->ndropped++;
			continue;
		}
		d = &g->addrs[g->naddrs++];
		memset(d, 0, sizeof(*d));
		if (n->ai_family == AF_INET)
			memcpy(&d->u.in, n->ai_addr, sizeof(d->u.in));
		else
			memcpy(&d->u.in6, n->ai_addr, sizeof(d->u.in6));
		d->u.in.sin_port = 0; /* same offset in both */
		d->ttl_s = t;
	}
	/* An address reached through a CNAME lives no longer than the alias
	 * (RFC 2181 section 10.1.1). */
	for (const struct ares_addrinfo_cname *c = ai->cnames; c; c = c->next)
		if (c->ttl >= 0 && (uint32_t)c->ttl < ttl)
			ttl = (uint32_t)c->ttl;
	g->ttl_s = ttl == UINT32_MAX ? 0 : ttl;
}

static void on_good(struct entry *e, const struct ares_addrinfo *ai, uint64_t now)
{
	struct tt_dns *r = e->r;

	keep_addresses(e, ai);
	if (e->has_good && e->has_failed)
		logf_(r, "dns: %s: resolved again (%zu address%s) after failing for %llu s",
		      e->name, e->good.naddrs, e->good.naddrs == 1 ? "" : "es",
		      (unsigned long long)((now - e->failed_ms) / 1000));
	e->has_good = 1;
	e->has_failed = 0;
	e->good.received_ms = now;
	e->good.expires_ms = now + tt_dns_life_ms(e->good.ttl_s, r->min_ttl_ms, r->max_ttl_ms);
	e->good.source = TT_DNS_FRESH;
	memset(&e->good.error, 0, sizeof(e->good.error));
}

static const char *what(const struct tt_dns_error *er)
{
	if (er->rcode)
		return er->rcode;
	if (er->id == TT_FAULT_DNS_TIMEOUT)
		return "no answer in time";
	return ares_strerror(er->ares_status);
}

static void on_bad(struct entry *e, int status, uint64_t now)
{
	struct tt_dns *r = e->r;
	uint64_t end;

	tt_dns_classify(status, &e->error);
	e->has_failed = 1;
	e->failed_ms = now;
	if (!e->has_good)
		return;
	end = e->good.expires_ms + r->stale_ms;
	if (now < end) {
		/* RFC 8767: better an address that was right minutes ago
		 * than none while DNS is down. Said in the log, since the
		 * upstream may have moved meanwhile. */
		logf_(r,
		      "dns: %s: %s; serving the last good answer (%zu address%s, received %llu s "
		      "ago) for up to %.1f s more",
		      e->name, what(&e->error), e->good.naddrs, e->good.naddrs == 1 ? "" : "es",
		      (unsigned long long)((now - e->good.received_ms) / 1000),
		      (double)(end - now) / 1000);
		return;
	}
	logf_(
	    r,
	    "dns: %s: %s; the last good answer is past its life plus stale (%.1f s) and is dropped",
	    e->name, what(&e->error), (double)r->stale_ms / 1000);
	e->has_good = 0;
}

static void on_lookup(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
	struct entry *e = arg;
	struct tt_dns *r;
	uint64_t now;

	assert(e->magic == ENTRY_MAGIC);
	r = e->r;
	e->inflight = 0;
	if (r->closing || status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		if (ai)
			ares_freeaddrinfo(ai);
		return;
	}
	uv_update_time(r->loop);
	now = uv_now(r->loop);
	if (status == ARES_SUCCESS && ai && ai->nodes)
		on_good(e, ai, now);
	else
		on_bad(e, status == ARES_SUCCESS ? ARES_ENODATA : status, now);
	if (ai)
		ares_freeaddrinfo(ai);
	/* Everyone waiting now gets this outcome: mark them (2 = asked). */
	for (struct tt_dns_req *q = e->waiters; q; q = q->next)
		if (!q->ready)
			q->ready = 2;
	if (e->waiters)
		schedule(r, e);
}

static void start_lookup(struct tt_dns *r, struct entry *e)
{
	struct ares_addrinfo_hints hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = e->family;
	/* The balancer uses every address: sorting by RFC 6724 would only
	 * cost a connect(2) per address. */
	hints.ai_flags = ARES_AI_NOSORT;
	e->inflight = 1;
	/* May call on_lookup before returning (an /etc/hosts hit, a
	 * literal): on_lookup only marks and schedules, so that is safe. */
	ares_getaddrinfo(r->channel, e->name, NULL, &hints, on_lookup, e);
	rearm(r);
}

static int count_servers(ares_channel ch)
{
	struct ares_addr_port_node *list = NULL;
	int n = 0;

	if (ares_get_servers_ports(ch, &list) == ARES_SUCCESS)
		for (struct ares_addr_port_node *s = list; s; s = s->next)
			n++;
	ares_free_data(list);
	return n > 0 ? n : 1;
}

/* opts.servers as c-ares's "a,b,c", each checked alone first so the error
 * can name the bad one. Returns 0, or -1 with err set. */
static int servers_csv(ares_channel ch, const struct tt_dns_opts *o, char *csv, size_t cap,
                       char *err, size_t errcap)
{
	size_t at = 0;

	csv[0] = 0;
	for (size_t i = 0; i < o->nservers; i++) {
		const char *s = o->servers[i] ? o->servers[i] : "";
		int n;
		if (!*s || strchr(s, ',') || ares_set_servers_ports_csv(ch, s) != ARES_SUCCESS) {
			snprintf(err, errcap,
			         "resolver server \"%s\" is not ip, ip:port or [ipv6]:port", s);
			return -1;
		}
		n = snprintf(csv + at, cap - at, "%s%s", i ? "," : "", s);
		if (n < 0 || (size_t)n >= cap - at) {
			snprintf(err, errcap, "resolver servers: list too long");
			return -1;
		}
		at += (size_t)n;
	}
	return 0;
}

/* The first try's timeout such that c-ares's worst case fits timeout_ms:
 * c-ares 1.18 tries each of the S servers once per round and doubles the
 * timeout each round (ares__send_query: timeout << try_count / S), so the
 * sum over T rounds is S * first * (2^T - 1). */
static int first_try_ms(uint64_t timeout_ms, int nservers, unsigned tries)
{
	uint64_t parts = (uint64_t)nservers * ((1u << tries) - 1);
	uint64_t ms = timeout_ms / parts;

	return ms < 1 ? 1 : ms > 600000 ? 600000 : (int)ms;
}

static int make_channel(struct tt_dns *r, const struct tt_dns_opts *o, char *err, size_t errcap)
{
	struct ares_options opt;
	char csv[TT_DNS_MAX_SERVERS * 64];
	int st, n;

	/* First a plain channel: it reads /etc/resolv.conf and checks the
	 * servers, so the real one can be given its per-try timeout. */
	memset(&opt, 0, sizeof(opt));
	st = ares_init_options(&r->channel, &opt, 0);
	if (st != ARES_SUCCESS) {
		snprintf(err, errcap, "resolver: c-ares: %s", ares_strerror(st));
		return -1;
	}
	if (servers_csv(r->channel, o, csv, sizeof(csv), err, errcap) != 0) {
		ares_destroy(r->channel);
		return -1;
	}
	n = o->nservers ? (int)o->nservers : count_servers(r->channel);
	ares_destroy(r->channel);

	opt.timeout = first_try_ms(o->timeout_ms, n, o->tries);
	opt.tries = (int)o->tries;
	opt.flags = ARES_FLAG_NOCHECKRESP; /* see the top of this file */
	opt.sock_state_cb = on_sock_state;
	opt.sock_state_cb_data = r;
	st = ares_init_options(&r->channel, &opt,
	                       ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	                           ARES_OPT_SOCK_STATE_CB);
	if (st == ARES_SUCCESS && o->nservers &&
	    (st = ares_set_servers_ports_csv(r->channel, csv)) != ARES_SUCCESS)
		ares_destroy(r->channel); /* checked above: not expected */
	if (st != ARES_SUCCESS) {
		snprintf(err, errcap, "resolver: c-ares: %s", ares_strerror(st));
		return -1;
	}
	r->has_channel = 1;
	return 0;
}

static int check_opts(const struct tt_dns_opts *o, char *err, size_t errcap)
{
	if (o->tries < 1 || o->tries > 8)
		snprintf(err, errcap, "resolver tries must be 1 to 8, not %u", o->tries);
	else if (o->timeout_ms < 1)
		snprintf(err, errcap, "resolver timeout must be at least 1 ms");
	else if (o->min_ttl_ms > o->max_ttl_ms)
		snprintf(err, errcap, "resolver min_ttl (%llu ms) is above max_ttl (%llu ms)",
		         (unsigned long long)o->min_ttl_ms, (unsigned long long)o->max_ttl_ms);
	else if (o->nservers > TT_DNS_MAX_SERVERS)
		snprintf(err, errcap, "resolver servers: at most %d", TT_DNS_MAX_SERVERS);
	else
		return 0;
	return -1;
}

struct tt_dns *tt_dns_new(uv_loop_t *loop, const struct tt_dns_opts *o, char *err, size_t errcap)
{
	struct tt_dns *r;

	if (check_opts(o, err, errcap) != 0)
		return NULL;
	uv_once(&lib_once, lib_init);
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->magic = TT_DNS_MAGIC;
	r->loop = loop;
	r->timeout_ms = o->timeout_ms;
	r->min_ttl_ms = o->min_ttl_ms;
	r->max_ttl_ms = o->max_ttl_ms;
	r->stale_ms = o->stale_ms;
	r->max_names = o->max_names ? o->max_names : 1;
	r->on_log = o->on_log;
	r->log_arg = o->log_arg;
	/* The channel before the handles: when it fails, nothing was put
	 * on the loop and r can simply be freed. */
	if (make_channel(r, o, err, errcap) != 0) {
		free(r);
		return NULL;
	}
	uv_timer_init(loop, &r->timer);
	uv_idle_init(loop, &r->idle);
	r->timer.data = r;
	r->idle.data = r;
	r->handles = 2;
	return r;
}

/* Forget a good answer once past its life plus stale_ms; said in the log
 * when it was being served stale. */
static void expire_stale(struct tt_dns *r, struct entry *e, uint64_t now)
{
	if (!e->has_good || e->inflight || now < e->good.expires_ms + r->stale_ms)
		return;
	if (e->has_failed)
		logf_(r,
		      "dns: %s: still failing (%s); the last good answer is past its life plus "
		      "stale (%.1f s) and is dropped",
		      e->name, what(&e->error), (double)r->stale_ms / 1000);
	e->has_good = 0;
}

int tt_dns_resolve(struct tt_dns *r, struct tt_dns_req *req, const char *name, int family,
                   void (*cb)(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg),
                   void *arg)
{
	struct entry *e;
	size_t len;
	uint64_t now;

	if (!r || r->closing || !req || !name || !cb)
		return -1;
	assert(r->magic == TT_DNS_MAGIC);
	len = strnlen(name, TT_DNS_NAME_MAX);
	if (len == 0 || len >= TT_DNS_NAME_MAX || (req->magic == TT_DNS_REQ_MAGIC && req->entry))
		return -1;
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -1;
	e = find(r, name, family);
	if (!e)
		e = entry_new(r, name, len, family);
	now = uv_now(r->loop);
	expire_stale(r, e, now);

	memset(req, 0, sizeof(*req));
	req->magic = TT_DNS_REQ_MAGIC;
	req->cb = cb;
	req->arg = arg;
	req->entry = e;
	/* Appended, so waiters are answered in the order they came. */
	if (e->waiters) {
		struct tt_dns_req *t = e->waiters;
		while (t->next)
			t = t->next;
		t->next = req;
		req->prev = t;
	} else {
		e->waiters = req;
	}

	if ((e->has_good && now < e->good.expires_ms) ||
	    (e->has_failed && !e->inflight && now < e->failed_ms + r->min_ttl_ms)) {
		req->ready = 1;
		schedule(r, e);
	} else if (!e->inflight) {
		start_lookup(r, e);
	}
	return 0;
}

void tt_dns_cancel(struct tt_dns_req *req)
{
	if (!req || req->magic != TT_DNS_REQ_MAGIC || !req->entry)
		return;
	req_unlink(req);
	req->magic = 0;
}

int tt_dns_cached(struct tt_dns *r, const char *name, int family, struct tt_dns_answer *out)
{
	struct entry *e;

	if (!r || r->closing || !name)
		return 0;
	assert(r->magic == TT_DNS_MAGIC);
	e = find(r, name, family);
	if (!e || !e->has_good || uv_now(r->loop) >= e->good.expires_ms)
		return 0;
	fill_answer(e, 0, out);
	return 1;
}

static void on_idle(uv_idle_t *h)
{
	struct tt_dns *r = h->data;

	assert(r->magic == TT_DNS_MAGIC);
	drain(r);
	if (r->closing && !r->idle_closing) {
		r->idle_closing = 1;
		uv_close((uv_handle_t *)&r->idle, on_handle_closed);
	} else if (!r->deliver && !r->closing) {
		uv_idle_stop(&r->idle);
	}
}

static void maybe_free(struct tt_dns *r)
{
	void (*cb)(void *);
	void *arg;

	if (!r->closing || r->handles > 0)
		return;
	for (size_t b = 0; b < NBUCKETS; b++)
		while (r->buckets[b]) {
			assert(!r->buckets[b]->waiters);
			unlink_entry(r, r->buckets[b]);
		}
	cb = r->on_closed;
	arg = r->closed_arg;
	r->magic = 0;
	free(r);
	if (cb)
		cb(arg);
}

void tt_dns_close(struct tt_dns **rp, void (*on_closed)(void *arg), void *arg)
{
	struct tt_dns *r = rp ? *rp : NULL;

	if (!r)
		return;
	*rp = NULL;
	assert(r->magic == TT_DNS_MAGIC);
	if (r->closing)
		return;
	r->closing = 1;
	r->on_closed = on_closed;
	r->closed_arg = arg;
	/* c-ares ends every lookup with ARES_EDESTRUCTION (on_lookup ignores
	 * it now) and asks to unwatch its sockets as it closes them. */
	if (r->has_channel) {
		ares_destroy(r->channel);
		r->has_channel = 0;
	}
	while (r->socks)
		sock_close(r->socks);
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
	/* Waiters learn it from the idle handle, which then closes too. */
	for (size_t b = 0; b < NBUCKETS; b++)
		for (struct entry *e = r->buckets[b]; e; e = e->next) {
			for (struct tt_dns_req *q = e->waiters; q; q = q->next)
				q->ready = 1;
			if (e->waiters)
				schedule(r, e);
		}
	uv_idle_start(&r->idle, on_idle);
}
