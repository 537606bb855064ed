/*
 * Socket address helpers: text forms for logs and headers.
 */
#ifndef TT_NET_ADDR_H
#define TT_NET_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* "1.2.3.4:80" or "[::1]:80" into out (NUL-terminated, cut to size).
 * Returns the length. */
size_t tt_addr_format(const struct sockaddr *sa, char *out, size_t cap);

/* The address alone, without port or brackets ("::1"); v4-mapped v6
 * addresses are written as IPv4. Returns the length; *v6 says whether it is
 * an IPv6 address. */
size_t tt_addr_ip(const struct sockaddr *sa, char *out, size_t cap, int *v6);

#endif
