/*
 * Head builders: hop-by-hop removal, Via, forwarding fields with and
 * without trust, request ids, framing written by telltale alone.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "proxy/headers.h"

static struct tt_h1_field fields[64];
static const struct tt_h1_limits lim = {16384, 8192, 8192, 64};
static char out[16384];

static struct tt_h1_head parse_req(const char *raw)
{
	struct tt_h1_head h;
	memset(&h, 0, sizeof(h));
	h.fields = fields;
	ssize_t n = tt_h1_parse_request(raw, strlen(raw), &lim, &h);
	cr_assert_gt(n, 0, "test head must parse: %s", raw);
	return h;
}

static struct tt_hdr_request_ctx ctx_for(const struct tt_h1_head *h, int trusted)
{
	struct tt_hdr_request_ctx c = {0};
	tt_hdr_effective_target(h, &c.host, &c.host_len, &c.path, &c.path_len);
	c.peer_ip = "192.0.2.7";
	c.trusted = trusted;
	c.request_id = "0123456789abcdef0123456789abcdef";
	c.proxy_name = "telltale";
	c.upstream_host = "127.0.0.1:8000";
	return c;
}

static const char *build(const char *raw, int trusted)
{
	struct tt_h1_head h = parse_req(raw);
	struct tt_hdr_request_ctx c = ctx_for(&h, trusted);
	ssize_t n = tt_hdr_upstream_request(out, sizeof(out), &h, &c, h.framing, h.content_length);
	cr_assert_gt(n, 0);
	out[n] = 0;
	return out;
}

Test(headers, hop_by_hop_and_connection_named_fields_are_removed)
{
	const char *o = build("GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\n"
	                      "X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
	                      "Proxy-Connection: x\r\nUpgrade: websocket\r\nX-Keep: yes\r\n\r\n",
	                      1);
	cr_assert(strstr(o, "GET /a HTTP/1.1\r\nHost: h\r\n") == o, "%s", o);
	cr_assert_null(strstr(o, "X-Secret"));
	cr_assert_null(strstr(o, "Keep-Alive"));
	cr_assert_null(strstr(o, "TE:"));
	cr_assert_null(strstr(o, "Proxy-Connection"));
	cr_assert_null(strstr(o, "Upgrade"));
	cr_assert_null(strstr(o, "Connection"));
	cr_assert(strstr(o, "X-Keep: yes\r\n"));
	cr_assert(strstr(o, "Via: 1.1 telltale\r\n"));
	cr_assert(strstr(o, "\r\n\r\n") == o + strlen(o) - 4);
}

Test(headers, untrusted_forwarding_fields_are_replaced)
{
	const char *o = build("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\n"
	                      "X-Request-Id: evil\r\nForwarded: for=6.6.6.6\r\n"
	                      "X-Forwarded-Proto: https\r\n\r\n",
	                      0);
	cr_assert(strstr(o, "X-Forwarded-For: 192.0.2.7\r\n"), "%s", o);
	cr_assert(strstr(o, "X-Forwarded-Proto: http\r\n"));
	cr_assert(strstr(o, "X-Forwarded-Host: example.com\r\n"));
	cr_assert(strstr(o, "Forwarded: for=192.0.2.7;host=\"example.com\";proto=http\r\n"), "%s",
	          o);
	cr_assert_null(strstr(o, "6.6.6.6"));
	cr_assert_null(strstr(o, "evil"));
	cr_assert(strstr(o, "X-Request-Id: 0123456789abcdef0123456789abcdef\r\n"));
}

Test(headers, trusted_forwarding_fields_are_extended)
{
	const char *o = build("GET / HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 6.6.6.6\r\n"
	                      "X-Forwarded-For: 7.7.7.7\r\nForwarded: for=6.6.6.6\r\n"
	                      "X-Forwarded-Proto: https\r\n\r\n",
	                      1);
	cr_assert(strstr(o, "X-Forwarded-For: 6.6.6.6, 7.7.7.7, 192.0.2.7\r\n"), "%s", o);
	cr_assert(strstr(o, "X-Forwarded-Proto: https\r\n"));
	cr_assert(strstr(o, "Forwarded: for=6.6.6.6, for=192.0.2.7;"), "%s", o);
}

Test(headers, framing_is_rewritten_not_copied)
{
	const char *o =
	    build("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", 1);
	cr_assert(strstr(o, "Transfer-Encoding: chunked\r\n"));
	cr_assert_null(strstr(o, "Content-Length"));
	o = build("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
	          1);
	cr_assert(strstr(o, "Content-Length: 5\r\n"));
	cr_assert_null(strstr(o, "Expect"));
}

Test(headers, absolute_form_target_becomes_origin_form_with_its_host)
{
	const char *o =
	    build("GET http://Example.COM:81/p?q=1 HTTP/1.1\r\nHost: example.com:81\r\n\r\n", 1);
	cr_assert(strstr(o, "GET /p?q=1 HTTP/1.1\r\nHost: Example.COM:81\r\n") == o, "%s", o);
	o = build("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n", 1);
	cr_assert(strstr(o, "GET / HTTP/1.1\r\n") == o, "%s", o);
}

Test(headers, http10_without_host_gets_upstream_address_and_via_1_0)
{
	const char *o = build("GET / HTTP/1.0\r\n\r\n", 1);
	cr_assert(strstr(o, "Host: 127.0.0.1:8000\r\n"), "%s", o);
	cr_assert(strstr(o, "Via: 1.0 telltale\r\n"));
	cr_assert_null(strstr(o, "X-Forwarded-Host"));
}

Test(headers, request_id_kept_only_when_trusted_and_well_formed)
{
	char id[TT_REQUEST_ID_MAX + 1];
	struct tt_h1_head h =
	    parse_req("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc-123\r\n\r\n");
	tt_hdr_request_id(&h, 1, 1, 2, id);
	cr_assert_str_eq(id, "abc-123");
	tt_hdr_request_id(&h, 0, 1, 2, id);
	cr_assert_str_eq(id, "00000000000000010000000000000002");
	h = parse_req("GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: a b\r\n\r\n");
	tt_hdr_request_id(&h, 1, 1, 2, id);
	cr_assert_eq(strlen(id), 32);
}

Test(headers, response_head_drops_hop_fields_and_sets_framing)
{
	struct tt_h1_head r;
	const char *raw = "HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
	                  "Transfer-Encoding: chunked\r\nX-Request-Id: up\r\nServer: app\r\n\r\n";
	memset(&r, 0, sizeof(r));
	r.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &r), 0);
	struct tt_hdr_response_ctx c = {.request_id = "rid",
	                                .proxy_name = "telltale",
	                                .framing = TT_H1_BODY_CHUNKED,
	                                .keep_alive = 1};
	ssize_t n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	cr_assert_gt(n, 0);
	out[n] = 0;
	cr_assert(strstr(out, "HTTP/1.1 200 OK\r\n") == out);
	cr_assert_null(strstr(out, "X-Hop"));
	cr_assert_null(strstr(out, "Connection"));
	cr_assert_null(strstr(out, "X-Request-Id: up"));
	cr_assert(strstr(out, "X-Request-Id: rid\r\n"));
	cr_assert(strstr(out, "Server: app\r\n"));
	cr_assert(strstr(out, "Transfer-Encoding: chunked\r\n"));
	c.framing = TT_H1_BODY_CLOSE;
	c.keep_alive = 0;
	n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	out[n] = 0;
	cr_assert(strstr(out, "Connection: close\r\n"));
	cr_assert_null(strstr(out, "Transfer-Encoding"));
}

/* RFC 9110 section 15.5.22: a 426 names the protocol to switch to, and
 * section 7.8 wants the upgrade connection option beside it. */
Test(headers, upgrade_required_keeps_upgrade_with_its_connection_option)
{
	struct tt_h1_head r;
	const char *raw = "HTTP/1.1 426 Upgrade Required\r\nUpgrade: websocket\r\n"
	                  "Connection: Upgrade\r\nContent-Length: 0\r\n\r\n";
	memset(&r, 0, sizeof(r));
	r.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &r), 0);
	struct tt_hdr_response_ctx c = {.request_id = "rid",
	                                .proxy_name = "telltale",
	                                .framing = TT_H1_BODY_LENGTH,
	                                .keep_alive = 1};
	ssize_t n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	cr_assert_gt(n, 0);
	out[n] = 0;
	cr_assert(strstr(out, "Upgrade: websocket\r\n"), "%s", out);
	cr_assert(strstr(out, "Connection: upgrade\r\n"), "%s", out);
	cr_assert_null(strstr(out, "Connection: Upgrade\r\n"), "the upstream's own is not copied");
	c.keep_alive = 0;
	n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	out[n] = 0;
	cr_assert(strstr(out, "Connection: upgrade, close\r\n"), "%s", out);
	/* Any other status drops Upgrade as hop-by-hop. */
	raw = "HTTP/1.1 400 Bad Request\r\nUpgrade: websocket\r\nContent-Length: 0\r\n\r\n";
	memset(&r, 0, sizeof(r));
	r.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &r), 0);
	c.keep_alive = 1;
	n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	out[n] = 0;
	cr_assert_null(strstr(out, "Upgrade"), "%s", out);
}

Test(headers, head_response_keeps_content_length)
{
	struct tt_h1_head r;
	const char *raw = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
	memset(&r, 0, sizeof(r));
	r.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_HEAD, &lim, &r), 0);
	cr_assert_eq(r.framing, TT_H1_BODY_NONE);
	struct tt_hdr_response_ctx c = {.request_id = "rid",
	                                .proxy_name = "telltale",
	                                .framing = TT_H1_BODY_NONE,
	                                .keep_alive = 1};
	ssize_t n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	out[n] = 0;
	cr_assert(strstr(out, "Content-Length: 1234\r\n"), "%s", out);
}

Test(headers, result_that_does_not_fit_fails_whole)
{
	struct tt_h1_head h = parse_req("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	struct tt_hdr_request_ctx c = ctx_for(&h, 1);
	cr_assert_eq(tt_hdr_upstream_request(out, 20, &h, &c, h.framing, 0), -1);
	cr_assert_eq(tt_hdr_local_response(out, 10, 502, "text/plain", 1, "id", "", 0, 0), -1);
}

Test(headers, local_response_head_carries_proxy_status_and_framing)
{
	ssize_t n = tt_hdr_local_response(out, sizeof(out), 502, "text/html; charset=utf-8", 1234,
	                                  "id", "edge; error=connection_refused", 0, 0);
	out[n] = 0;
	cr_assert(strstr(out, "HTTP/1.1 502 Bad Gateway\r\n") == out);
	cr_assert(strstr(out, "Content-Type: text/html; charset=utf-8\r\n"));
	cr_assert(strstr(out, "Content-Length: 1234\r\n"));
	cr_assert(strstr(out, "Proxy-Status: edge; error=connection_refused\r\n"));
	cr_assert(strstr(out, "Connection: close\r\n"));
	cr_assert(strstr(out, "\r\n\r\n") == out + n - 4);
}

Test(headers, forwarded_response_appends_proxy_status_after_upstream_members)
{
	struct tt_h1_head r;
	const char *raw = "HTTP/1.1 200 OK\r\nProxy-Status: inner; received-status=200\r\n"
	                  "Content-Length: 0\r\n\r\n";
	memset(&r, 0, sizeof(r));
	r.fields = fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &r), 0);
	struct tt_hdr_response_ctx c = {.request_id = "rid",
	                                .proxy_name = "telltale",
	                                .framing = TT_H1_BODY_LENGTH,
	                                .keep_alive = 1,
	                                .proxy_status = "edge; received-status=200"};
	ssize_t n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	out[n] = 0;
	char *inner = strstr(out, "Proxy-Status: inner; received-status=200\r\n");
	char *ours = strstr(out, "Proxy-Status: edge; received-status=200\r\n");
	cr_assert(inner && ours && inner < ours, "%s", out);
}

Test(headers, overload_response_says_when_to_come_back)
{
	ssize_t n = tt_hdr_local_response(out, sizeof(out), 503, "text/plain", 0, "id",
	                                  "edge; error=connection_limit_reached", 1, 1);
	out[n] = 0;
	cr_assert(strstr(out, "HTTP/1.1 503 Service Unavailable\r\n") == out);
	cr_assert(strstr(out, "Retry-After: 1\r\n"), "%s", out);
	cr_assert_null(strstr(out, "Connection: close"));
}

/* ---- upgrade (RFC 9110 section 7.8) ---- */

Test(headers, upgrade_needs_http11_connection_token_and_upgrade_field)
{
	struct tt_h1_head h;
	h = parse_req("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	              "Connection: keep-alive, Upgrade\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 1);
	h = parse_req("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 0, "no Connection: upgrade");
	h = parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 0, "no Upgrade field");
	h = parse_req(
	    "GET / HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 0, "HTTP/1.0");
	h = parse_req("POST / HTTP/1.1\r\nHost: h\r\nUpgrade: a\r\nConnection: upgrade\r\n"
	              "Transfer-Encoding: chunked\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 0, "chunked body");
	h = parse_req("POST / HTTP/1.1\r\nHost: h\r\nUpgrade: a\r\nConnection: upgrade\r\n"
	              "Content-Length: 3\r\n\r\n");
	cr_assert_eq(tt_hdr_is_upgrade(&h), 1, "a Content-Length body goes before the tunnel");
}

Test(headers, upgrade_request_keeps_upgrade_and_says_connection_upgrade)
{
	struct tt_h1_head h = parse_req("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
	                                "Connection: keep-alive, Upgrade, X-Hop\r\nX-Hop: 1\r\n"
	                                "Keep-Alive: 5\r\nSec-WebSocket-Key: k\r\n\r\n");
	struct tt_hdr_request_ctx c = ctx_for(&h, 1);
	c.upgrade = 1;
	c.close_upstream = 1;
	ssize_t n = tt_hdr_upstream_request(out, sizeof(out), &h, &c, h.framing, 0);
	cr_assert_gt(n, 0);
	out[n] = 0;
	cr_assert(strstr(out, "\r\nUpgrade: websocket\r\n"), "%s", out);
	cr_assert(strstr(out, "\r\nConnection: upgrade\r\n"), "%s", out);
	cr_assert_null(strstr(out, "keep-alive"), "%s", out);
	cr_assert_null(strstr(out, "close"), "%s", out);
	cr_assert_null(strstr(out, "X-Hop"), "%s", out);
	cr_assert_null(strstr(out, "Keep-Alive"), "%s", out);
	cr_assert(strstr(out, "Sec-WebSocket-Key: k\r\n"), "%s", out);
}

static struct tt_h1_field resp_fields[16];

static struct tt_h1_head parse_101(const char *raw)
{
	struct tt_h1_head r;
	memset(&r, 0, sizeof(r));
	r.fields = resp_fields;
	cr_assert_gt(tt_h1_parse_response(raw, strlen(raw), TT_METHOD_GET, &lim, &r), 0, "%s", raw);
	return r;
}

Test(headers, switching_protocols_head_keeps_upgrade_without_framing)
{
	struct tt_h1_head r = parse_101("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                                "Connection: Upgrade\r\nSec-WebSocket-Accept: a=\r\n"
	                                "Content-Length: 0\r\n\r\n");
	struct tt_hdr_response_ctx c = {.request_id = "rid",
	                                .proxy_name = "telltale",
	                                .framing = TT_H1_BODY_NONE,
	                                .upgrade = 1,
	                                .proxy_status = "telltale"};
	ssize_t n = tt_hdr_downstream_response(out, sizeof(out), &r, &c);
	cr_assert_gt(n, 0);
	out[n] = 0;
	cr_assert(strstr(out, "HTTP/1.1 101 Switching Protocols\r\n") == out, "%s", out);
	cr_assert(strstr(out, "\r\nUpgrade: websocket\r\n"), "%s", out);
	cr_assert(strstr(out, "\r\nConnection: upgrade\r\n"), "%s", out);
	cr_assert(strstr(out, "Sec-WebSocket-Accept: a=\r\n"), "%s", out);
	cr_assert(strstr(out, "Via: 1.1 telltale\r\nX-Request-Id: rid\r\n"), "%s", out);
	cr_assert(strstr(out, "Proxy-Status: telltale\r\n"), "%s", out);
	cr_assert_null(strstr(out, "Content-Length"), "%s", out);
	cr_assert_null(strstr(out, "Connection: Upgrade"), "%s", out);
}

static enum tt_hdr_upgrade_check check(const char *req_raw, const char *resp_raw, const char **bad,
                                       size_t *bad_len)
{
	struct tt_h1_head req = parse_req(req_raw);
	struct tt_h1_head resp = parse_101(resp_raw);
	*bad = NULL;
	*bad_len = 0;
	return tt_hdr_upgrade_check(&req, &resp, bad, bad_len);
}

Test(headers, switching_protocols_must_name_an_offered_protocol)
{
	const char *req = "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket, foo/2\r\n"
	                  "Upgrade: bar\r\nConnection: upgrade\r\n\r\n";
	const char *bad;
	size_t bad_len;
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nUpgrade: websocket\r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_OK, "names compare without case");
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nUpgrade: bar/1\r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_OK, "an offer without version takes any");
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nUpgrade: foo\r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_OK);
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nUpgrade: foo/3\r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_NOT_OFFERED, "another version");
	cr_assert_eq(bad_len, 5);
	cr_assert(strncmp(bad, "foo/3", 5) == 0);
	cr_assert_eq(
	    check(req, "HTTP/1.1 101 S\r\nUpgrade: websocket, h2c\r\n\r\n", &bad, &bad_len),
	    TT_HDR_UPGRADE_NOT_OFFERED);
	cr_assert(bad_len == 3 && strncmp(bad, "h2c", 3) == 0);
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nConnection: upgrade\r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_MISSING);
	cr_assert_eq(check(req, "HTTP/1.1 101 S\r\nUpgrade: \r\n\r\n", &bad, &bad_len),
	             TT_HDR_UPGRADE_MISSING, "an empty Upgrade names nothing");
}
