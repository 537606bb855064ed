/*
 * The stale store (see stale.h for the rules it follows).
 *
 * Every stored copy is one struct tt_stale_entry plus one data block laid
 * out as key host (lower-cased) | key target | Vary record | head | body.
 * Committed entries sit in a chained hash table and on an LRU list (most
 * recently used at the head). An evicted entry that a lookup still
 * references moves to the zombie list and is freed by its last release.
 *
 * Invariant: s->bytes is the sum of the costs of committed entries, of
 * zombies and of in-flight captures, and never exceeds s->max_bytes.
 */
#include "respond/stale.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/cache_control.h"

#define STORE_MAGIC   0x53544f52u /* "STOR" */
#define ENTRY_MAGIC   0x454e5452u /* "ENTR" */
#define CAPTURE_MAGIC 0x43415054u /* "CAPT" */

/* Body bytes reserved up front when the length is not known. */
#define FIRST_BODY_BYTES 16384

struct tt_stale_entry {
	uint32_t magic;
	int refs;                           /* lookups holding it; the table holds none */
	struct tt_stale_store *s;           /* NULL once the store is freed */
	struct tt_stale_entry *hnext;       /* hash chain */
	struct tt_stale_entry *prev, *next; /* LRU list, or zombie list */
	unsigned linked : 1;                /* in the table and on the LRU list */
	unsigned head_only : 1;             /* stored from a HEAD response */
	unsigned revalidate : 1;            /* never served stale */
	unsigned has_sie : 1;               /* the response had stale-if-error */
	unsigned no_length : 1;             /* write no Content-Length */
	int version_minor;                  /* of the upstream response, for Via */
	int status;
	uint64_t hash, seq;
	uint64_t response_time_ms; /* milliseconds since the epoch */
	uint32_t initial_age_s;    /* seconds */
	uint32_t lifetime_s;       /* seconds */
	uint32_t sie_s;            /* seconds */
	char *data;                /* owner: the entry */
	size_t cap;                /* bytes allocated at data */
	/* Bytes of each part of data, in order. */
	size_t host_len, target_len, vary_len, head_len, body_len;
	uint64_t cost; /* bytes counted in the store: struct + cap */
};

struct tt_stale_capture {
	uint32_t magic;
	struct tt_stale_store *s;             /* NULL once the store is freed */
	struct tt_stale_capture *prev, *next; /* the store's in-flight list */
	struct tt_stale_entry *e;             /* owner: the capture */
	size_t limit;                         /* largest data block allowed, bytes */
	int failed;
};

struct tt_stale_store {
	uint32_t magic;
	uint64_t max_bytes, max_object_bytes;
	uint64_t bytes; /* see the invariant above */
	size_t nentries;
	struct tt_stale_entry **buckets; /* nbuckets, a power of two */
	size_t nbuckets;
	struct tt_stale_entry *lru_head, *lru_tail;
	struct tt_stale_entry *zombies;
	struct tt_stale_capture *captures;
	uint64_t seq;
};

static const char *const why_tokens[] = {
#define X(id, tok) tok,
    TT_STALE_WHYS(X)
#undef X
};

static const char *const outcome_tokens[] = {
#define X(id, tok) tok,
    TT_STALE_OUTCOMES(X)
#undef X
};

const char *tt_stale_why_token(enum tt_stale_why why)
{
	return (unsigned)why < TT_STALE_WHY__COUNT ? why_tokens[why] : "unknown";
}

const char *tt_stale_outcome_token(enum tt_stale_outcome o)
{
	return (unsigned)o < TT_STALE_OUTCOME__COUNT ? outcome_tokens[o] : "unknown";
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* ---- Storability, RFC 9111 section 3 ---- */

/* RFC 9110 section 15.1: heuristically cacheable codes (206 left out). */
static int status_stored(int status)
{
	static const int codes[] = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i] == status)
			return 1;
	return 0;
}

enum tt_stale_why tt_stale_storable(const struct tt_h1_head *req, const struct tt_h1_head *resp)
{
	struct tt_cc rq, rs;
	struct tt_cc_fresh fr;

	if (req->method_id != TT_METHOD_GET && req->method_id != TT_METHOD_HEAD)
		return TT_STALE_METHOD;
	if (!status_stored(resp->status))
		return TT_STALE_STATUS;
	tt_cc_from_head(&rq, req);
	tt_cc_from_head(&rs, resp);
	if (rq.flags & TT_CC_NO_STORE)
		return TT_STALE_REQUEST_NO_STORE;
	if (rs.flags & TT_CC_NO_STORE)
		return TT_STALE_NO_STORE;
	if (rs.flags & TT_CC_PRIVATE)
		return TT_STALE_PRIVATE;
	if (rs.flags & TT_CC_NO_CACHE)
		return TT_STALE_NO_CACHE;
	if (tt_h1_find(req, "authorization") &&
	    !(rs.flags & (TT_CC_PUBLIC | TT_CC_S_MAXAGE | TT_CC_MUST_REVALIDATE)))
		return TT_STALE_AUTHORIZATION;
	if (tt_h1_find(resp, "set-cookie"))
		return TT_STALE_SET_COOKIE;
	if (!tt_cc_vary_valid(resp))
		return TT_STALE_VARY;
	if (!tt_cc_freshness(resp, &rs, 0, &fr))
		return TT_STALE_NO_FRESHNESS;
	if ((rq.flags | rs.flags) & TT_CC_INVALID)
		return TT_STALE_INVALID;
	return TT_STALE_OK;
}

/* ---- Building a copy ---- */

/* A writer that only counts when p is NULL. */
struct out {
	char *p;
	size_t len;
};

static void put(struct out *o, const void *s, size_t n)
{
	if (o->p && n)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void put_lower(struct out *o, const char *s, size_t n)
{
	size_t i;

	if (o->p)
		for (i = 0; i < n; i++)
			o->p[o->len + i] = (char)lower((unsigned char)s[i]);
	o->len += n;
}

static void put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
	char d[20];
	size_t n = 0;

	do
		d[sizeof(d) - ++n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put(o, d + sizeof(d) - n, n);
}

/* The target part of the key: an absolute-form target's path (RFC 9112
 * section 3.2.2) so both forms find the same copy. */
static void key_target(const struct tt_h1_head *req, const char **t, size_t *n)
{
	const char *p = req->target;
	size_t len = req->target_len, skip = 0, i;

	if (len > 7 && tt_h1_name_eq(p, 7, "http://"))
		skip = 7;
	else if (len > 8 && tt_h1_name_eq(p, 8, "https://"))
		skip = 8;
	*t = p;
	*n = len;
	if (!skip)
		return;
	for (i = skip; i < len && p[i] != '/' && p[i] != '?'; i++)
		;
	*t = i < len ? p + i : "/";
	*n = i < len ? len - i : 1;
}

static uint64_t key_hash(const char *host, size_t host_len, const char *t, size_t tn)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	size_t i;

	for (i = 0; i < host_len; i++)
		h = (h ^ (uint64_t)lower((unsigned char)host[i])) * 1099511628211ull;
	h = (h ^ 0xffu) * 1099511628211ull;
	for (i = 0; i < tn; i++)
		h = (h ^ (uint64_t)(unsigned char)t[i]) * 1099511628211ull;
	return h;
}

/* RFC 9110 section 7.6.1 plus the pre-standard Keep-Alive and
 * Proxy-Connection; Content-Length, Age and X-Request-Id are written
 * afresh when the copy is served. */
/* clang-format off */
static const char *const dropped[] = {"connection", "keep-alive", "proxy-connection", "te",
	"trailer", "transfer-encoding", "upgrade", "content-length", "age", "x-request-id", NULL};
/* clang-format on */

static int named_in_connection(const struct tt_h1_head *h, const struct tt_h1_field *f)
{
	const char *e;
	size_t i, pos, n;

	for (i = 0; i < h->nfields; i++) {
		if (!tt_h1_name_eq(h->fields[i].name, h->fields[i].name_len, "connection"))
			continue;
		pos = 0;
		while (tt_h1_list_next(h->fields[i].value, h->fields[i].value_len, &pos, &e, &n))
			if (n == f->name_len && strncasecmp(e, f->name, n) == 0)
				return 1;
	}
	return 0;
}

static int kept(const struct tt_h1_head *resp, const struct tt_h1_field *f, int head_only,
                int *cl_seen)
{
	const char *const *d;

	/* A head-only copy keeps the first Content-Length: it describes the
	 * representation a GET would get (RFC 9110 section 8.6). */
	if (head_only && tt_h1_name_eq(f->name, f->name_len, "content-length") && !(*cl_seen)++)
		return 1;
	for (d = dropped; *d; d++)
		if (tt_h1_name_eq(f->name, f->name_len, *d))
			return 0;
	return !named_in_connection(resp, f);
}

/* The stored head: status line and kept fields, without the empty line. */
static void stored_head(struct out *o, const struct tt_h1_head *resp, int head_only)
{
	size_t i;
	int cl_seen = 0;

	put(o, "HTTP/1.1 ", 9);
	put_u64(o, (uint64_t)resp->status);
	put(o, " ", 1);
	put(o, resp->reason, resp->reason_len);
	put(o, "\r\n", 2);
	for (i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		if (!kept(resp, f, head_only, &cl_seen))
			continue;
		put(o, f->name, f->name_len);
		put(o, ": ", 2);
		put(o, f->value, f->value_len);
		put(o, "\r\n", 2);
	}
}

/* ---- The store ---- */

struct tt_stale_store *tt_stale_new(uint64_t max_bytes, uint64_t max_object_bytes)
{
	struct tt_stale_store *s;

	if (max_bytes == 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->magic = STORE_MAGIC;
	s->max_bytes = max_bytes;
	s->max_object_bytes = max_object_bytes < max_bytes ? max_object_bytes : max_bytes;
	s->nbuckets = 64;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets)
		abort();
	return s;
}

static void entry_free(struct tt_stale_entry *e)
{
	e->magic = 0;
	free(e->data);
	free(e);
}

static void list_remove(struct tt_stale_entry **head, struct tt_stale_entry **tail,
                        struct tt_stale_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		*head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else if (tail)
		*tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct tt_stale_store *s, struct tt_stale_entry *e)
{
	e->prev = NULL;
	e->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = e;
	else
		s->lru_tail = e;
	s->lru_head = e;
}

/* Take e out of the table and the LRU list; free it or make it a zombie. */
static void evict(struct tt_stale_store *s, struct tt_stale_entry *e)
{
	struct tt_stale_entry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->hnext = NULL;
	list_remove(&s->lru_head, &s->lru_tail, e);
	e->linked = 0;
	s->nentries--;
	if (e->refs > 0) {
		e->next = s->zombies;
		if (s->zombies)
			s->zombies->prev = e;
		s->zombies = e;
		return;
	}
	s->bytes -= e->cost;
	entry_free(e);
}

/* Evict from the LRU tail until need more bytes fit. 1 when they do. */
static int make_room(struct tt_stale_store *s, uint64_t need)
{
	while (s->bytes + need > s->max_bytes && s->lru_tail)
		evict(s, s->lru_tail);
	return s->bytes + need <= s->max_bytes;
}

static void grow_table(struct tt_stale_store *s)
{
	size_t n = s->nbuckets * 2, i;
	struct tt_stale_entry **b = calloc(n, sizeof(*b)), *e, *next;

	if (!b)
		return; /* a longer chain is fine */
	for (i = 0; i < s->nbuckets; i++)
		for (e = s->buckets[i]; e; e = next) {
			next = e->hnext;
			e->hnext = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
}

void tt_stale_free(struct tt_stale_store **sp)
{
	struct tt_stale_store *s = *sp;
	struct tt_stale_capture *c;
	struct tt_stale_entry *e, *next;

	if (!s)
		return;
	assert(s->magic == STORE_MAGIC);
	while (s->lru_head)
		evict(s, s->lru_head);
	for (e = s->zombies; e; e = next) {
		next = e->next;
		e->s = NULL;
		e->prev = e->next = NULL;
	}
	for (c = s->captures; c; c = c->next)
		c->s = NULL;
	s->magic = 0;
	free(s->buckets);
	free(s);
	*sp = NULL;
}

/* ---- Capturing ---- */

static uint64_t capture_cost(const struct tt_stale_capture *c)
{
	return sizeof(*c) + sizeof(*c->e) + c->e->cap;
}

/* Fill the entry's metadata from the heads. */
static void entry_meta(struct tt_stale_entry *e, const struct tt_h1_head *req,
                       const struct tt_h1_head *resp, uint64_t now_ms)
{
	struct tt_cc cc;
	struct tt_cc_fresh fr;

	tt_cc_from_head(&cc, resp);
	tt_cc_freshness(resp, &cc, (int64_t)(now_ms / 1000), &fr);
	e->magic = ENTRY_MAGIC;
	e->head_only = req->method_id == TT_METHOD_HEAD;
	e->status = resp->status;
	e->version_minor = resp->version_minor;
	e->no_length = e->head_only || resp->status == 204;
	e->response_time_ms = now_ms;
	e->initial_age_s = fr.initial_age_s;
	e->lifetime_s = fr.lifetime_s;
	e->has_sie = (cc.flags & TT_CC_STALE_IF_ERROR) != 0;
	e->sie_s = cc.stale_if_error_s;
	/* RFC 9111 5.2.2.2, 5.2.2.8; 5.2.2.10: s-maxage implies
	 * proxy-revalidate, unless the origin also granted stale-if-error. */
	e->revalidate = (cc.flags & (TT_CC_MUST_REVALIDATE | TT_CC_PROXY_REVALIDATE)) ||
	                ((cc.flags & TT_CC_S_MAXAGE) && !e->has_sie);
}

struct tt_stale_capture *tt_stale_begin(struct tt_stale_store *s, const struct tt_h1_head *req,
                                        const char *host, size_t host_len,
                                        const struct tt_h1_head *resp, uint64_t now_ms,
                                        enum tt_stale_why *why)
{
	enum tt_stale_why w = s ? tt_stale_storable(req, resp) : TT_STALE_OFF;
	struct out head = {NULL, 0}, o;
	struct tt_stale_capture *c;
	const char *t;
	size_t tn, fixed, vary_len;
	uint64_t room, body;

	if (why)
		*why = w;
	if (w != TT_STALE_OK)
		return NULL;
	assert(s->magic == STORE_MAGIC);
	key_target(req, &t, &tn);
	vary_len = tt_cc_vary_record(NULL, resp, req);
	stored_head(&head, resp, req->method_id == TT_METHOD_HEAD);
	fixed = host_len + tn + vary_len + head.len;
	if (fixed > s->max_object_bytes)
		goto too_large;
	room = s->max_object_bytes - fixed;
	if (req->method_id == TT_METHOD_HEAD || resp->framing == TT_H1_BODY_NONE)
		body = 0;
	else if (resp->framing == TT_H1_BODY_LENGTH && resp->content_length > room)
		goto too_large;
	else if (resp->framing == TT_H1_BODY_LENGTH)
		body = resp->content_length;
	else
		body = room < FIRST_BODY_BYTES ? room : FIRST_BODY_BYTES;
	/* One spare byte so an empty copy still has a block. */
	if (!make_room(s, sizeof(*c) + sizeof(struct tt_stale_entry) + fixed + body + 1))
		goto too_large;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->e = calloc(1, sizeof(*c->e))))
		abort();
	/* The block is sized by the peer (within max_object_bytes): its
	 * failure refuses the copy instead of aborting. */
	if (!(c->e->data = malloc(fixed + body + 1))) {
		free(c->e);
		free(c);
		goto too_large;
	}
	c->magic = CAPTURE_MAGIC;
	c->s = s;
	c->limit = (size_t)s->max_object_bytes;
	c->e->cap = fixed + body + 1;
	c->e->host_len = host_len;
	c->e->target_len = tn;
	c->e->vary_len = vary_len;
	c->e->head_len = head.len;
	c->e->hash = key_hash(host, host_len, t, tn);
	entry_meta(c->e, req, resp, now_ms);
	/* Lay out key, Vary record and head. */
	o.p = c->e->data;
	o.len = 0;
	put_lower(&o, host, host_len);
	put(&o, t, tn);
	o.len += tt_cc_vary_record(o.p + o.len, resp, req);
	stored_head(&o, resp, c->e->head_only);
	s->bytes += capture_cost(c);
	c->next = s->captures;
	if (s->captures)
		s->captures->prev = c;
	s->captures = c;
	return c;
too_large:
	if (why)
		*why = TT_STALE_TOO_LARGE;
	return NULL;
}

static size_t used_bytes(const struct tt_stale_entry *e)
{
	return e->host_len + e->target_len + e->vary_len + e->head_len + e->body_len;
}

/* Grow the data block to hold need bytes, within the limit and max_bytes. */
static int reserve(struct tt_stale_capture *c, size_t need)
{
	struct tt_stale_entry *e = c->e;
	size_t ncap;
	char *p;

	if (need <= e->cap)
		return 0;
	if (need > c->limit)
		return -1;
	ncap = e->cap * 2 > need ? e->cap * 2 : need;
	if (ncap > c->limit)
		ncap = c->limit;
	if (!c->s || !make_room(c->s, ncap - e->cap))
		return -1;
	p = realloc(e->data, ncap);
	if (!p)
		return -1;
	c->s->bytes += ncap - e->cap;
	e->data = p;
	e->cap = ncap;
	return 0;
}

int tt_stale_append(struct tt_stale_capture *c, const char *data, size_t len)
{
	size_t used;

	if (!c)
		return -1;
	assert(c->magic == CAPTURE_MAGIC);
	used = used_bytes(c->e);
	if (c->failed || !c->s ||
	    (len && (c->e->head_only || len > c->limit - used || reserve(c, used + len) != 0))) {
		c->failed = 1;
		return -1;
	}
	if (len)
		memcpy(c->e->data + used, data, len);
	c->e->body_len += len;
	return 0;
}

/* Take the capture off the store's list and uncount it; keeps c->e. */
static void capture_detach(struct tt_stale_capture *c)
{
	struct tt_stale_store *s = c->s;

	if (!s)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->captures = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->bytes -= capture_cost(c);
}

void tt_stale_abort(struct tt_stale_capture **cp)
{
	struct tt_stale_capture *c = *cp;

	if (!c)
		return;
	assert(c->magic == CAPTURE_MAGIC);
	capture_detach(c);
	entry_free(c->e);
	c->magic = 0;
	free(c);
	*cp = NULL;
}

static int same_key(const struct tt_stale_entry *a, const struct tt_stale_entry *b)
{
	return a->hash == b->hash && a->host_len == b->host_len && a->target_len == b->target_len &&
	       a->vary_len == b->vary_len &&
	       memcmp(a->data, b->data, a->host_len + a->target_len + a->vary_len) == 0;
}

/* Drop copies the new one supersedes: same key and Vary record, except
 * that a head-only copy never replaces a GET copy. */
static void supersede(struct tt_stale_store *s, const struct tt_stale_entry *n)
{
	struct tt_stale_entry *e = s->buckets[n->hash & (s->nbuckets - 1)], *next;

	for (; e; e = next) {
		next = e->hnext;
		if (same_key(e, n) && !(n->head_only && !e->head_only))
			evict(s, e);
	}
}

void tt_stale_commit(struct tt_stale_capture **cp)
{
	struct tt_stale_capture *c = *cp;
	struct tt_stale_store *s;
	struct tt_stale_entry *e;
	size_t size;
	char *p;

	if (!c)
		return;
	assert(c->magic == CAPTURE_MAGIC);
	s = c->s;
	if (c->failed || !s) {
		tt_stale_abort(cp);
		return;
	}
	e = c->e;
	capture_detach(c);
	c->magic = 0;
	free(c);
	*cp = NULL;
	size = used_bytes(e) ? used_bytes(e) : 1;
	if (size < e->cap && (p = realloc(e->data, size)) != NULL) {
		e->data = p;
		e->cap = size;
	}
	e->cost = sizeof(*e) + e->cap;
	supersede(s, e);
	if (!make_room(s, e->cost)) {
		entry_free(e);
		return;
	}
	e->s = s;
	e->seq = ++s->seq;
	e->linked = 1;
	s->bytes += e->cost;
	e->hnext = s->buckets[e->hash & (s->nbuckets - 1)];
	s->buckets[e->hash & (s->nbuckets - 1)] = e;
	lru_push(s, e);
	if (++s->nentries > s->nbuckets * 2)
		grow_table(s);
}

/* ---- Finding and serving ---- */

static int key_match(const struct tt_stale_entry *e, const char *host, size_t host_len,
                     const char *t, size_t tn)
{
	size_t i;

	if (e->host_len != host_len || e->target_len != tn)
		return 0;
	for (i = 0; i < host_len; i++)
		if (e->data[i] != (char)lower((unsigned char)host[i]))
			return 0;
	return memcmp(e->data + host_len, t, tn) == 0;
}

/* The most recently stored copy that answers req, or NULL. */
static struct tt_stale_entry *find(struct tt_stale_store *s, const struct tt_h1_head *req,
                                   const char *host, size_t host_len)
{
	struct tt_stale_entry *e, *best = NULL;
	const char *t;
	size_t tn;

	key_target(req, &t, &tn);
	e = s->buckets[key_hash(host, host_len, t, tn) & (s->nbuckets - 1)];
	for (; e; e = e->hnext) {
		if (e->head_only && req->method_id != TT_METHOD_HEAD)
			continue;
		if (!key_match(e, host, host_len, t, tn) ||
		    !tt_cc_vary_match(e->data + e->host_len + e->target_len, e->vary_len, req))
			continue;
		if (!best || e->seq > best->seq)
			best = e;
	}
	return best;
}

/* The stale window in ms: the largest permission, and who gave it;
 * outcome TOO_OLD when nobody gave one. */
static void window(const struct tt_stale_entry *e, const struct tt_cc *rq, uint64_t route_ms,
                   struct tt_stale_result *res)
{
	uint64_t req_sie = rq->stale_if_error_s * 1000ull, req_ms = rq->max_stale_s * 1000ull;

	res->outcome = TT_STALE_TOO_OLD;
	if (e->has_sie || route_ms) {
		res->outcome = e->has_sie ? TT_STALE_RESPONSE_SIE : TT_STALE_ROUTE_SIE;
		res->window_ms = e->has_sie ? e->sie_s * 1000ull : route_ms;
	}
	if ((rq->flags & TT_CC_STALE_IF_ERROR) &&
	    (res->outcome == TT_STALE_TOO_OLD || req_sie > res->window_ms)) {
		res->outcome = TT_STALE_REQUEST_SIE;
		res->window_ms = req_sie;
	}
	if ((rq->flags & TT_CC_MAX_STALE) &&
	    (res->outcome == TT_STALE_TOO_OLD || req_ms > res->window_ms)) {
		res->outcome = TT_STALE_REQUEST_MAX_STALE;
		res->window_ms = req_ms;
	}
}

/* RFC 9111 section 4.2.4 and RFC 5861: may e answer req now? Ages are
 * kept in ms so that window edges do not move with the second boundary. */
static enum tt_stale_outcome judge(const struct tt_stale_entry *e, const struct tt_h1_head *req,
                                   uint64_t now_ms, uint64_t route_ms, int always_online,
                                   struct tt_stale_result *res)
{
	struct tt_cc rq;
	uint64_t resident_ms = now_ms > e->response_time_ms ? now_ms - e->response_time_ms : 0;
	uint64_t age_ms = e->initial_age_s * 1000ull + resident_ms;
	uint64_t lifetime_ms = e->lifetime_s * 1000ull;

	res->age_s = age_ms / 1000;
	res->lifetime_s = e->lifetime_s;
	res->window_ms = 0;
	tt_cc_from_head(&rq, req);
	if (((rq.flags & TT_CC_NO_CACHE) || tt_cc_pragma_no_cache(req)) && !always_online)
		return TT_STALE_REQUEST_NO_CACHE;
	if (age_ms < lifetime_ms)
		return TT_STALE_FRESH;
	if (e->revalidate)
		return TT_STALE_REVALIDATE;
	if (always_online)
		return TT_STALE_ALWAYS_ONLINE;
	window(e, &rq, route_ms, res);
	return age_ms - lifetime_ms <= res->window_ms ? res->outcome : TT_STALE_TOO_OLD;
}

struct tt_stale_entry *tt_stale_lookup(struct tt_stale_store *s, const struct tt_h1_head *req,
                                       const char *host, size_t host_len, uint64_t now_ms,
                                       uint64_t default_stale_if_error_ms, int always_online,
                                       struct tt_stale_result *res)
{
	struct tt_stale_entry *e = NULL;

	memset(res, 0, sizeof(*res));
	res->outcome = TT_STALE_MISS;
	if (s && (req->method_id == TT_METHOD_GET || req->method_id == TT_METHOD_HEAD))
		e = find(s, req, host, host_len);
	if (!e)
		return NULL;
	assert(s->magic == STORE_MAGIC && e->magic == ENTRY_MAGIC);
	res->outcome = judge(e, req, now_ms, default_stale_if_error_ms, always_online, res);
	if (res->outcome >= TT_STALE_MISS)
		return NULL;
	list_remove(&s->lru_head, &s->lru_tail, e);
	lru_push(s, e);
	e->refs++;
	return e;
}

void tt_stale_release(struct tt_stale_entry **ep)
{
	struct tt_stale_entry *e = *ep;

	if (!e)
		return;
	assert(e->magic == ENTRY_MAGIC && e->refs > 0);
	*ep = NULL;
	if (--e->refs > 0 || e->linked)
		return;
	/* A zombie: evicted while referenced, or its store is gone. */
	if (e->s) {
		list_remove(&e->s->zombies, NULL, e);
		e->s->bytes -= e->cost;
	}
	entry_free(e);
}

/* Bytes tt_stale_write_head writes; counted first so nothing overflows. */
static void serve_head(struct out *o, const struct tt_stale_entry *e,
                       const struct tt_stale_serve *how)
{
	put(o, e->data + e->host_len + e->target_len + e->vary_len, e->head_len);
	if (how->proxy_name) {
		put_str(o, e->version_minor ? "Via: 1.1 " : "Via: 1.0 ");
		put_str(o, how->proxy_name);
		put(o, "\r\n", 2);
	}
	if (how->request_id) {
		put_str(o, "X-Request-Id: ");
		put_str(o, how->request_id);
		put(o, "\r\n", 2);
	}
	put_str(o, "Age: ");
	put_u64(o, how->age_s < TT_CC_DELTA_MAX ? how->age_s : TT_CC_DELTA_MAX);
	put(o, "\r\n", 2);
	if (how->proxy_status && how->proxy_status[0]) {
		put_str(o, "Proxy-Status: ");
		put_str(o, how->proxy_status);
		put(o, "\r\n", 2);
	}
	if (!e->no_length) {
		put_str(o, "Content-Length: ");
		put_u64(o, e->body_len);
		put(o, "\r\n", 2);
	}
	if (!how->keep_alive)
		put_str(o, "Connection: close\r\n");
	else if (how->http10_downstream)
		put_str(o, "Connection: keep-alive\r\n");
	put(o, "\r\n", 2);
}

ssize_t tt_stale_write_head(const struct tt_stale_entry *e, const struct tt_stale_serve *how,
                            char *out, size_t cap)
{
	struct out o = {NULL, 0};

	assert(e->magic == ENTRY_MAGIC);
	serve_head(&o, e, how);
	if (o.len > cap || o.len > (size_t)SSIZE_MAX)
		return -1;
	o.p = out;
	o.len = 0;
	serve_head(&o, e, how);
	return (ssize_t)o.len;
}

void tt_stale_body(const struct tt_stale_entry *e, const char **body, size_t *len)
{
	assert(e->magic == ENTRY_MAGIC);
	*body = e->data + e->host_len + e->target_len + e->vary_len + e->head_len;
	*len = e->status == 204 ? 0 : e->body_len;
}

/* Who allowed a stale copy, as said in Proxy-Status details. */
static int allowed_by(char *out, size_t cap, const struct tt_stale_result *r)
{
	unsigned long long w = (unsigned long long)r->window_ms;

	switch (r->outcome) {
	case TT_STALE_RESPONSE_SIE:
		return snprintf(out, cap, "response stale-if-error=%llu", w / 1000);
	case TT_STALE_ROUTE_SIE:
		if (w % 1000)
			return snprintf(out, cap, "route stale_if_error %llums", w);
		return snprintf(out, cap, "route stale_if_error %llus", w / 1000);
	case TT_STALE_REQUEST_SIE:
		return snprintf(out, cap, "request stale-if-error=%llu", w / 1000);
	case TT_STALE_REQUEST_MAX_STALE: return snprintf(out, cap, "request max-stale");
	case TT_STALE_ALWAYS_ONLINE: return snprintf(out, cap, "always_online");
	default: return snprintf(out, cap, "%s", tt_stale_outcome_token(r->outcome));
	}
}

ssize_t tt_stale_details(char *out, size_t cap, const struct tt_stale_result *r,
                         const char *fault_token)
{
	const char *f = fault_token && fault_token[0] ? fault_token : "";
	const char *sep = f[0] ? "; " : "";
	unsigned long long age = (unsigned long long)r->age_s;
	char by[64];
	int n;

	if (r->outcome == TT_STALE_FRESH) {
		n = snprintf(out, cap,
		             "served stale: %s%sage %llus, within freshness lifetime %llus", f, sep,
		             age, (unsigned long long)r->lifetime_s);
	} else {
		if (allowed_by(by, sizeof(by), r) < 0)
			by[0] = '\0';
		n = snprintf(out, cap,
		             "served stale: %s%sage %llus, %llus past freshness; allowed by %s", f,
		             sep, age, age - (unsigned long long)r->lifetime_s, by);
	}
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}

void tt_stale_usage(const struct tt_stale_store *s, uint64_t *bytes, size_t *entries)
{
	*bytes = s ? s->bytes : 0;
	*entries = s ? s->nentries : 0;
}
