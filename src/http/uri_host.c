/*
 * uri-host [ ":" port ] validation (RFC 3986 section 3.2.2, RFC 9110
 * section 7.2), for the Host field and absolute-form and authority-form
 * request targets. Pure, no allocation.
 */
#include "http/uri_host.h"

#include <string.h>

#include "http/h1_parse.h"

#define IS_DIGIT(c) tt_h1_is(c, TT_H1_C_DIGIT)
#define IS_HEX(c)   tt_h1_is(c, TT_H1_C_HEX)

/* dec-octet "." dec-octet "." dec-octet "." dec-octet (RFC 3986 3.2.2);
 * no leading zeros. */
static int ipv4_valid(const char *p, size_t n)
{
	size_t i = 0, digits;
	unsigned v, parts;

	for (parts = 0; parts < 4; parts++) {
		if (parts > 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
		for (v = 0, digits = 0; i < n && IS_DIGIT(p[i]) && digits < 4; i++, digits++)
			v = v * 10 + (unsigned)(p[i] - '0');
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && p[i - digits] == '0'))
			return 0;
	}
	return i == n;
}

/* IPv6address of RFC 3986 section 3.2.2: eight h16 pieces, or fewer with
 * one "::", the last two of which may be an IPv4 address. No zone ID. */
static int ipv6_valid(const char *p, size_t n)
{
	size_t i = 0, j, groups = 0;
	int dcolon = 0;

	if (n >= 2 && p[0] == ':' && p[1] == ':') {
		dcolon = 1;
		i = 2;
		if (i == n)
			return 1;
	}
	for (;;) {
		for (j = i; j < n && j - i < 5 && IS_HEX(p[j]); j++)
			;
		if (j < n && p[j] == '.') {
			if (!ipv4_valid(p + i, n - i))
				return 0;
			groups += 2;
			break;
		}
		if (j == i || j - i > 4)
			return 0;
		groups++;
		i = j;
		if (i == n)
			break;
		if (p[i] != ':' || ++i == n)
			return 0;
		if (p[i] == ':') {
			if (dcolon)
				return 0;
			dcolon = 1;
			if (++i == n)
				break;
		}
	}
	return dcolon ? groups <= 7 : groups == 8;
}

/* reg-name = *( unreserved / pct-encoded / sub-delims ), here not empty. */
static size_t regname_len(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (tt_h1_is(p[i], TT_H1_C_REGNAME)) {
			i++;
		} else if (p[i] == '%' && i + 2 < n && IS_HEX(p[i + 1]) && IS_HEX(p[i + 2])) {
			i += 3;
		} else {
			break;
		}
	}
	return i;
}

/*
 * uri-host [ ":" port ] (RFC 9110 section 7.2, RFC 3986 section 3.2.2).
 * IPv4 addresses are a subset of reg-name; IPvFuture is refused. The port,
 * when its colon is there, is 1 to 5 digits up to 65535: an empty port is
 * legal in RFC 3986 but only makes host matching ambiguous.
 */
int tt_uri_host_valid(const char *p, size_t n, int need_port)
{
	size_t i, k;
	unsigned port;
	const char *close;

	if (n == 0)
		return 0;
	if (p[0] == '[') {
		close = memchr(p, ']', n);
		if (!close || !ipv6_valid(p + 1, (size_t)(close - p) - 1))
			return 0;
		i = (size_t)(close - p) + 1;
	} else {
		i = regname_len(p, n);
		if (i == 0)
			return 0;
	}
	if (i == n)
		return !need_port;
	if (p[i] != ':' || n - i - 1 == 0 || n - i - 1 > 5)
		return 0;
	for (port = 0, k = i + 1; k < n; k++) {
		if (!IS_DIGIT(p[k]))
			return 0;
		port = port * 10 + (unsigned)(p[k] - '0');
	}
	return port <= 65535;
}
