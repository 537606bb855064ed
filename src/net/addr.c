/*
 * Address formatting: see addr.h.
 */
#include "net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

/* Decimal digits of v at out; returns how many. By hand: inet_ntop and
 * snprintf were most of the user time of an accept (per connection). */
static size_t put_dec(char *out, unsigned v)
{
	char tmp[10];
	size_t n = 0, i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i < sizeof(tmp))
		out[n++] = tmp[i++];
	return n;
}

/* "a.b.c.d" of four bytes in network order; cap >= INET_ADDRSTRLEN. */
static size_t put_v4(char *out, const unsigned char *b)
{
	size_t n = 0;
	for (int i = 0; i < 4; i++) {
		if (i)
			out[n++] = '.';
		n += put_dec(out + n, b[i]);
	}
	out[n] = 0;
	return n;
}

size_t tt_addr_ip(const struct sockaddr *sa, char *out, size_t cap, int *v6)
{
	const unsigned char *v4 = NULL; /* an IPv4 address, or a v4-mapped one */
	*v6 = 0;
	out[0] = 0;
	if (sa->sa_family == AF_INET) {
		v4 = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			v4 = &s6->sin6_addr.s6_addr[12];
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)cap);
			*v6 = 1;
		}
	}
	if (v4 && cap >= INET_ADDRSTRLEN)
		return put_v4(out, v4);
	if (v4)
		inet_ntop(AF_INET, v4, out, (socklen_t)cap);
	return strlen(out);
}

size_t tt_addr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN], tmp[INET6_ADDRSTRLEN + 8];
	int v6;
	unsigned port = 0;
	size_t n = 0, len = tt_addr_ip(sa, ip, sizeof(ip), &v6);
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	if (v6)
		tmp[n++] = '[';
	memcpy(tmp + n, ip, len);
	n += len;
	if (v6)
		tmp[n++] = ']';
	tmp[n++] = ':';
	n += put_dec(tmp + n, port);
	if (!cap)
		return 0;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, tmp, n);
	out[n] = 0;
	return n;
}
