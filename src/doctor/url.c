/*
 * Doctor's URL and host:port splitting (see url.h). Strict on purpose: a
 * URL that the proxy would not accept as a Host is refused here too.
 */
#include "doctor/url.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/uri_host.h"

static int port_of(const char *s, size_t n, uint16_t *port)
{
	unsigned long v = 0;
	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* Split s[0..n) into host (brackets removed) and optional port. Returns 1
 * when a port was there, 0 when not, -1 when malformed. */
static int split(const char *s, size_t n, char *host, size_t cap, uint16_t *port)
{
	const char *h = s, *colon = NULL;
	size_t hlen;

	if (n && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (!rb)
			return -1;
		h = s + 1;
		hlen = (size_t)(rb - h);
		if (rb + 1 < s + n) {
			if (rb[1] != ':')
				return -1;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', n);
		hlen = colon ? (size_t)(colon - s) : n;
		if (colon && memchr(colon + 1, ':', (size_t)(s + n - colon - 1)))
			return -1; /* an IPv6 literal needs brackets */
	}
	if (hlen == 0 || hlen >= cap)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	if (!colon)
		return 0;
	return port_of(colon + 1, (size_t)(s + n - colon - 1), port) ? -1 : 1;
}

int tt_doc_split_hostport(const char *s, char *host, size_t cap, uint16_t *port)
{
	return split(s, strlen(s), host, cap, port) == 1 ? 0 : -1;
}

int tt_doc_is_ip_literal(const char *host)
{
	unsigned char tmp[16];
	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

static int fail(char *why, size_t whylen, const char *msg)
{
	snprintf(why, whylen, "%s", msg);
	return -1;
}

/* The path and query after the authority, up to a fragment. */
static int take_path(const char *p, struct tt_doc_url *u, char *why, size_t whylen)
{
	size_t n = strcspn(p, "#"), off = 0;
	if (n + 2 > sizeof(u->path))
		return fail(why, whylen, "the path is too long");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] == 0x7f)
			return fail(
			    why, whylen,
			    "the path contains a space or control character (percent-encode it)");
	if (n == 0 || p[0] != '/')
		u->path[off++] = '/';
	memcpy(u->path + off, p, n);
	u->path[off + n] = 0;
	return 0;
}

int tt_doc_url_parse(const char *s, struct tt_doc_url *u, char *why, size_t whylen)
{
	size_t alen;
	const char *a;
	int r;

	memset(u, 0, sizeof(*u));
	if (why && whylen)
		why[0] = 0;
	if (strncasecmp(s, "http://", 7) == 0) {
		a = s + 7;
	} else if (strncasecmp(s, "https://", 8) == 0) {
		a = s + 8;
		u->https = 1;
	} else {
		return fail(why, whylen, "the URL must start with http:// or https://");
	}
	alen = strcspn(a, "/?#");
	if (memchr(a, '@', alen))
		return fail(why, whylen, "user information (user@) is not supported in the URL");
	if (alen == 0 || alen >= sizeof(u->authority) || !tt_uri_host_valid(a, alen, 0))
		return fail(why, whylen, "the URL has no valid host[:port]");
	u->port = u->https ? 443 : 80;
	r = split(a, alen, u->host, sizeof(u->host), &u->port);
	if (r < 0)
		return fail(why, whylen, "the URL has no valid host[:port]");
	memcpy(u->authority, a, alen);
	u->authority[alen] = 0;
	snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ? "[%s]:%u" : "%s:%u",
	         u->host, (unsigned)u->port);
	return take_path(a + alen, u, why, whylen);
}
