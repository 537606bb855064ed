/*
 * Address formatting: see addr.h.
 */
#include "net/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

size_t tt_addr_ip(const struct sockaddr *sa, char *out, size_t cap, int *v6)
{
	*v6 = 0;
	out[0] = 0;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
		          (socklen_t)cap);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out, (socklen_t)cap);
		} else {
			inet_ntop(AF_INET6, &s6->sin6_addr, out, (socklen_t)cap);
			*v6 = 1;
		}
	}
	return strlen(out);
}

size_t tt_addr_format(const struct sockaddr *sa, char *out, size_t cap)
{
	char ip[64];
	int v6, n;
	unsigned port = 0;
	tt_addr_ip(sa, ip, sizeof(ip), &v6);
	if (sa->sa_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	else if (sa->sa_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	n = snprintf(out, cap, v6 ? "[%s]:%u" : "%s:%u", ip, port);
	return n < 0 ? 0 : ((size_t)n < cap ? (size_t)n : cap - 1);
}
