/*
 * Head builders: see headers.h. Every builder writes through a tt_wbuf and
 * fails as a whole when the result does not fit.
 */
#include "proxy/headers.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

void tt_wbuf_init(struct tt_wbuf *w, char *p, size_t cap)
{
	w->p = p;
	w->len = 0;
	w->cap = cap;
	w->over = 0;
}

void tt_wbuf_put(struct tt_wbuf *w, const char *s, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

/* A string literal, its length known at compile time (no strlen). */
#define PUT_LIT(w, lit) tt_wbuf_put(w, lit, sizeof(lit) - 1)

void tt_wbuf_str(struct tt_wbuf *w, const char *s)
{
	tt_wbuf_put(w, s, strlen(s));
}

/* Decimal by hand: snprintf was the largest single cost per request
 * (bench/RESULTS.md, "Instructions per request"). */
void tt_wbuf_u64(struct tt_wbuf *w, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	tt_wbuf_put(w, tmp + i, sizeof(tmp) - i);
}

static void put_field(struct tt_wbuf *w, const struct tt_h1_field *f)
{
	tt_wbuf_put(w, f->name, f->name_len);
	tt_wbuf_put(w, ": ", 2);
	tt_wbuf_put(w, f->value, f->value_len);
	tt_wbuf_put(w, "\r\n", 2);
}

/* A lower-case field name with its length, so that most names are ruled
 * out by length alone. */
struct name {
	const char *s;
	size_t len;
};
#define NAME(lit)                                                                                  \
	{                                                                                          \
		lit, sizeof(lit) - 1                                                               \
	}

/* RFC 9110 section 7.6.1 plus the pre-standard Keep-Alive and
 * Proxy-Connection. Content-Length is not hop-by-hop but telltale always
 * writes its own framing, so it is dropped here too and re-added. */
static const struct name hop_fields[] = {
    NAME("connection"), NAME("keep-alive"),        NAME("proxy-connection"), NAME("te"),
    NAME("trailer"),    NAME("transfer-encoding"), NAME("upgrade"),          {NULL, 0}};

static int named_in_connection(const struct tt_h1_head *h, const struct tt_h1_field *f)
{
	for (size_t i = 0; i < h->nfields; i++) {
		const struct tt_h1_field *c = &h->fields[i];
		if (!tt_h1_name_eq(c->name, c->name_len, "connection"))
			continue;
		size_t pos = 0, n;
		const char *e;
		while (tt_h1_list_next(c->value, c->value_len, &pos, &e, &n))
			if (n == f->name_len && strncasecmp(e, f->name, n) == 0)
				return 1;
	}
	return 0;
}

/* conn: the head has a Connection field (looked up once per head, not once
 * per field). */
static int is_hop(const struct tt_h1_head *h, const struct tt_h1_field *f, int conn)
{
	for (const struct name *n = hop_fields; n->s; n++)
		if (f->name_len == n->len && tt_h1_name_eq(f->name, f->name_len, n->s))
			return 1;
	return conn && named_in_connection(h, f);
}

/* An upgrade request or its 101 keeps its Upgrade field. */
static int drop_field(const struct tt_h1_head *h, const struct tt_h1_field *f, int upgrade,
                      int conn)
{
	if (upgrade && tt_h1_name_eq(f->name, f->name_len, "upgrade"))
		return 0;
	return is_hop(h, f, conn);
}

int tt_hdr_is_upgrade(const struct tt_h1_head *req)
{
	return req->version_minor >= 1 && req->conn_upgrade && req->has_upgrade &&
	       req->method_id != TT_METHOD_CONNECT && req->framing != TT_H1_BODY_CHUNKED;
}

/* protocol-name ["/" protocol-version]: a matches b when the names are
 * equal and, when both give one, the versions too. */
static int protocol_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *sa = memchr(a, '/', alen), *sb = memchr(b, '/', blen);
	size_t na = sa ? (size_t)(sa - a) : alen, nb = sb ? (size_t)(sb - b) : blen;
	if (na != nb || strncasecmp(a, b, na) != 0)
		return 0;
	if (!sa || !sb)
		return 1;
	return alen - na == blen - nb && strncasecmp(sa, sb, alen - na) == 0;
}

static int offered(const struct tt_h1_head *req, const char *p, size_t n)
{
	for (size_t i = 0; i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		size_t pos = 0, en;
		const char *e;
		if (!tt_h1_name_eq(f->name, f->name_len, "upgrade"))
			continue;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &en))
			if (protocol_eq(p, n, e, en))
				return 1;
	}
	return 0;
}

enum tt_hdr_upgrade_check tt_hdr_upgrade_check(const struct tt_h1_head *req,
                                               const struct tt_h1_head *resp, const char **bad,
                                               size_t *bad_len)
{
	int named = 0;
	for (size_t i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		size_t pos = 0, n;
		const char *e;
		if (!tt_h1_name_eq(f->name, f->name_len, "upgrade"))
			continue;
		while (tt_h1_list_next(f->value, f->value_len, &pos, &e, &n)) {
			named = 1;
			if (!offered(req, e, n)) {
				*bad = e;
				*bad_len = n;
				return TT_HDR_UPGRADE_NOT_OFFERED;
			}
		}
	}
	return named ? TT_HDR_UPGRADE_OK : TT_HDR_UPGRADE_MISSING;
}

static int is_one_of(const struct tt_h1_field *f, const struct name *names)
{
	for (; names->s; names++)
		if (f->name_len == names->len && tt_h1_name_eq(f->name, f->name_len, names->s))
			return 1;
	return 0;
}

int tt_hdr_effective_target(const struct tt_h1_head *req, const char **host, size_t *host_len,
                            const char **path, size_t *path_len)
{
	const char *t = req->target;
	size_t n = req->target_len, skip;

	*host = req->host;
	*host_len = req->host ? req->host_len : 0;
	*path = t;
	*path_len = n;
	if (n == 0 || t[0] == '/' || (n == 1 && t[0] == '*'))
		return 0;
	if (n > 7 && strncasecmp(t, "http://", 7) == 0)
		skip = 7;
	else if (n > 8 && strncasecmp(t, "https://", 8) == 0)
		skip = 8;
	else
		return req->method_id == TT_METHOD_CONNECT ? 0 : -1;
	/* RFC 9112 section 3.2.2: the authority of an absolute-form target
	 * replaces Host. */
	size_t end = skip;
	while (end < n && t[end] != '/' && t[end] != '?' && t[end] != '#')
		end++;
	if (end == skip || memchr(t + skip, '@', end - skip))
		return -1;
	*host = t + skip;
	*host_len = end - skip;
	if (end == n || t[end] != '/') {
		/* "http://h?q" has an empty path: send "/" then the query. */
		*path = end == n ? "/" : t + end;
		*path_len = end == n ? 1 : n - end;
		return end == n ? 0 : -1;
	}
	*path = t + end;
	*path_len = n - end;
	return 0;
}

static int id_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '-';
}

/* 16 lower-case hex digits, no terminator. */
static void put_hex64(char *out, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = hex[v & 15];
}

void tt_hdr_request_id(const struct tt_h1_head *req, int trusted, uint64_t gen_hi, uint64_t gen_lo,
                       char *out)
{
	const struct tt_h1_field *f = trusted ? tt_h1_find(req, "x-request-id") : NULL;
	if (f && f->value_len > 0 && f->value_len <= TT_REQUEST_ID_MAX) {
		size_t i;
		for (i = 0; i < f->value_len && id_char_ok(f->value[i]); i++)
			;
		if (i == f->value_len) {
			memcpy(out, f->value, f->value_len);
			out[f->value_len] = 0;
			return;
		}
	}
	put_hex64(out, gen_hi);
	put_hex64(out + 16, gen_lo);
	out[32] = 0;
}

/* Join every field of one name into one list value, then append ours. */
static void put_joined(struct tt_wbuf *w, const struct tt_h1_head *req, const char *lname,
                       const char *display, int keep_incoming, const char *ours, size_t ours_len)
{
	int first = 1;
	tt_wbuf_str(w, display);
	tt_wbuf_put(w, ": ", 2);
	for (size_t i = 0; keep_incoming && i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		if (!tt_h1_name_eq(f->name, f->name_len, lname) || f->value_len == 0)
			continue;
		if (!first)
			tt_wbuf_put(w, ", ", 2);
		tt_wbuf_put(w, f->value, f->value_len);
		first = 0;
	}
	if (!first)
		tt_wbuf_put(w, ", ", 2);
	tt_wbuf_put(w, ours, ours_len);
	tt_wbuf_put(w, "\r\n", 2);
}

/* Keep an incoming single-valued field from a trusted downstream, else
 * write ours. */
static void put_kept(struct tt_wbuf *w, const struct tt_h1_head *req, const char *lname,
                     const char *display, int trusted, const char *ours, size_t ours_len)
{
	const struct tt_h1_field *f = trusted ? tt_h1_find(req, lname) : NULL;
	if (f) {
		ours = f->value;
		ours_len = f->value_len;
	}
	if (ours_len == 0)
		return;
	tt_wbuf_str(w, display);
	tt_wbuf_put(w, ": ", 2);
	tt_wbuf_put(w, ours, ours_len);
	tt_wbuf_put(w, "\r\n", 2);
}

static void put_forwarding(struct tt_wbuf *w, const struct tt_h1_head *req,
                           const struct tt_hdr_request_ctx *c)
{
	char fwd[512];
	size_t ip_len = strlen(c->peer_ip);
	struct tt_wbuf f;

	put_joined(w, req, "x-forwarded-for", "X-Forwarded-For", c->trusted, c->peer_ip, ip_len);
	put_kept(w, req, "x-forwarded-proto", "X-Forwarded-Proto", c->trusted, "http", 4);
	put_kept(w, req, "x-forwarded-host", "X-Forwarded-Host", c->trusted, c->host, c->host_len);
	/* RFC 7239 section 6: IPv6 nodes are quoted and bracketed. */
	tt_wbuf_init(&f, fwd, sizeof(fwd));
	tt_wbuf_put(&f, c->peer_v6 ? "for=\"[" : "for=", c->peer_v6 ? 6 : 4);
	tt_wbuf_put(&f, c->peer_ip, ip_len);
	if (c->peer_v6)
		tt_wbuf_put(&f, "]\"", 2);
	if (c->host_len && c->host_len < 256 && !memchr(c->host, '"', c->host_len) &&
	    !memchr(c->host, '\\', c->host_len)) {
		tt_wbuf_put(&f, ";host=\"", 7);
		tt_wbuf_put(&f, c->host, c->host_len);
		tt_wbuf_put(&f, "\"", 1);
	}
	tt_wbuf_put(&f, ";proto=http", 11);
	put_joined(w, req, "forwarded", "Forwarded", c->trusted, fwd, f.over ? 0 : f.len);
}

static const struct name request_dropped[] = {
    NAME("content-length"),   NAME("expect"),    NAME("x-forwarded-for"), NAME("x-forwarded-proto"),
    NAME("x-forwarded-host"), NAME("forwarded"), NAME("x-request-id"),    NAME("host"),
    NAME("traceparent"),      {NULL, 0}};

ssize_t tt_hdr_upstream_request(char *out, size_t cap, const struct tt_h1_head *req,
                                const struct tt_hdr_request_ctx *c, enum tt_h1_framing framing,
                                uint64_t content_length)
{
	struct tt_wbuf w;
	tt_wbuf_init(&w, out, cap);
	tt_wbuf_put(&w, req->method, req->method_len);
	tt_wbuf_put(&w, " ", 1);
	tt_wbuf_put(&w, c->path, c->path_len);
	tt_wbuf_put(&w, " HTTP/1.1\r\nHost: ", 17);
	if (c->host_len)
		tt_wbuf_put(&w, c->host, c->host_len);
	else
		tt_wbuf_str(&w, c->upstream_host);
	tt_wbuf_put(&w, "\r\n", 2);
	int conn = tt_h1_find(req, "connection") != NULL;
	for (size_t i = 0; i < req->nfields; i++) {
		const struct tt_h1_field *f = &req->fields[i];
		if (drop_field(req, f, c->upgrade, conn) || is_one_of(f, request_dropped))
			continue;
		if (!c->keep_tracestate && tt_h1_name_eq(f->name, f->name_len, "tracestate"))
			continue;
		put_field(&w, f);
	}
	tt_wbuf_str(&w, req->version_minor ? "Via: 1.1 " : "Via: 1.0 ");
	tt_wbuf_str(&w, c->proxy_name);
	tt_wbuf_put(&w, "\r\n", 2);
	put_forwarding(&w, req, c);
	PUT_LIT(&w, "X-Request-Id: ");
	tt_wbuf_str(&w, c->request_id);
	tt_wbuf_put(&w, "\r\n", 2);
	if (c->traceparent) {
		PUT_LIT(&w, "traceparent: ");
		tt_wbuf_str(&w, c->traceparent);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	if (framing == TT_H1_BODY_LENGTH) {
		PUT_LIT(&w, "Content-Length: ");
		tt_wbuf_u64(&w, content_length);
		tt_wbuf_put(&w, "\r\n", 2);
	} else if (framing == TT_H1_BODY_CHUNKED) {
		PUT_LIT(&w, "Transfer-Encoding: chunked\r\n");
	}
	if (c->upgrade)
		PUT_LIT(&w, "Connection: upgrade\r\n");
	else if (c->close_upstream)
		PUT_LIT(&w, "Connection: close\r\n");
	tt_wbuf_put(&w, "\r\n", 2);
	return w.over ? -1 : (ssize_t)w.len;
}

static const struct name response_dropped[] = {
    NAME("content-length"), NAME("x-request-id"), {NULL, 0}};

ssize_t tt_hdr_downstream_response(char *out, size_t cap, const struct tt_h1_head *resp,
                                   const struct tt_hdr_response_ctx *c)
{
	struct tt_wbuf w;
	tt_wbuf_init(&w, out, cap);
	PUT_LIT(&w, "HTTP/1.1 ");
	tt_wbuf_u64(&w, (uint64_t)resp->status);
	tt_wbuf_put(&w, " ", 1);
	tt_wbuf_put(&w, resp->reason, resp->reason_len);
	tt_wbuf_put(&w, "\r\n", 2);
	int conn = tt_h1_find(resp, "connection") != NULL;
	/* RFC 9110 section 15.5.22: a 426 must say which protocol to switch
	 * to, so its Upgrade field passes, with the connection option that
	 * section 7.8 asks for. */
	int up426 = resp->status == 426 && tt_h1_find(resp, "upgrade") != NULL;
	for (size_t i = 0; i < resp->nfields; i++) {
		const struct tt_h1_field *f = &resp->fields[i];
		if (drop_field(resp, f, c->upgrade || up426, conn))
			continue;
		/* A response without a body (HEAD, 304) keeps the
		 * Content-Length that describes the representation. */
		if (is_one_of(f, response_dropped) &&
		    !(c->framing == TT_H1_BODY_NONE && !c->upgrade &&
		      tt_h1_name_eq(f->name, f->name_len, "content-length")))
			continue;
		put_field(&w, f);
	}
	tt_wbuf_str(&w, resp->version_minor ? "Via: 1.1 " : "Via: 1.0 ");
	tt_wbuf_str(&w, c->proxy_name);
	PUT_LIT(&w, "\r\nX-Request-Id: ");
	tt_wbuf_str(&w, c->request_id);
	tt_wbuf_put(&w, "\r\n", 2);
	/* RFC 9209 section 2: members from intermediaries further in were
	 * copied above; telltale's own comes after them. */
	if (c->proxy_status && c->proxy_status[0]) {
		PUT_LIT(&w, "Proxy-Status: ");
		tt_wbuf_str(&w, c->proxy_status);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	if (c->framing == TT_H1_BODY_LENGTH) {
		PUT_LIT(&w, "Content-Length: ");
		tt_wbuf_u64(&w, c->content_length);
		tt_wbuf_put(&w, "\r\n", 2);
	} else if (c->framing == TT_H1_BODY_CHUNKED) {
		PUT_LIT(&w, "Transfer-Encoding: chunked\r\n");
	}
	if (c->upgrade)
		PUT_LIT(&w, "Connection: upgrade\r\n");
	else if (!c->keep_alive)
		tt_wbuf_str(&w, up426 ? "Connection: upgrade, close\r\n" : "Connection: close\r\n");
	else if (c->http10_downstream)
		tt_wbuf_str(&w, up426 ? "Connection: upgrade, keep-alive\r\n"
		                      : "Connection: keep-alive\r\n");
	else if (up426)
		PUT_LIT(&w, "Connection: upgrade\r\n");
	tt_wbuf_put(&w, "\r\n", 2);
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t tt_hdr_local_response(char *out, size_t cap, int status, const char *content_type,
                              size_t body_len, const char *request_id, const char *proxy_status,
                              int retry_after_s, int keep_alive)
{
	struct tt_wbuf w;
	tt_wbuf_init(&w, out, cap);
	PUT_LIT(&w, "HTTP/1.1 ");
	tt_wbuf_u64(&w, (uint64_t)status);
	tt_wbuf_put(&w, " ", 1);
	tt_wbuf_str(&w, tt_hdr_reason(status));
	PUT_LIT(&w, "\r\nContent-Type: ");
	tt_wbuf_str(&w, content_type);
	PUT_LIT(&w, "\r\nContent-Length: ");
	tt_wbuf_u64(&w, body_len);
	PUT_LIT(&w, "\r\nCache-Control: no-store\r\n");
	if (request_id && request_id[0]) {
		PUT_LIT(&w, "X-Request-Id: ");
		tt_wbuf_str(&w, request_id);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	if (proxy_status && proxy_status[0]) {
		PUT_LIT(&w, "Proxy-Status: ");
		tt_wbuf_str(&w, proxy_status);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	if (retry_after_s > 0) {
		PUT_LIT(&w, "Retry-After: ");
		tt_wbuf_u64(&w, (uint64_t)retry_after_s);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	if (!keep_alive)
		PUT_LIT(&w, "Connection: close\r\n");
	tt_wbuf_put(&w, "\r\n", 2);
	return w.over ? -1 : (ssize_t)w.len;
}

ssize_t tt_hdr_redirect_https(char *out, size_t cap, const char *host, size_t host_len,
                              const char *path, size_t path_len, const char *request_id)
{
	struct tt_wbuf w;
	tt_wbuf_init(&w, out, cap);
	tt_wbuf_str(&w, "HTTP/1.1 301 Moved Permanently\r\nLocation: https://");
	tt_wbuf_put(&w, host, host_len);
	tt_wbuf_put(&w, path, path_len);
	tt_wbuf_str(&w, "\r\nContent-Length: 0\r\n");
	if (request_id && request_id[0]) {
		tt_wbuf_str(&w, "X-Request-Id: ");
		tt_wbuf_str(&w, request_id);
		tt_wbuf_put(&w, "\r\n", 2);
	}
	tt_wbuf_str(&w, "Connection: close\r\n\r\n");
	return w.over ? -1 : (ssize_t)w.len;
}

const char *tt_hdr_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "";
	}
}
