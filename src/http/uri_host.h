/*
 * uri-host [ ":" port ] validation (RFC 3986 section 3.2.2, RFC 9110
 * section 7.2): reg-name (with percent-encoding), IPv4, or [IPv6] without a
 * zone ID; IPvFuture is refused. A port, when its colon is there, is 1 to 5
 * digits up to 65535.
 */
#ifndef TT_HTTP_URI_HOST_H
#define TT_HTTP_URI_HOST_H

#include <stddef.h>

/* 1 when p[0..n) is a valid host[:port]; need_port requires the port
 * (authority-form of CONNECT). */
int tt_uri_host_valid(const char *p, size_t n, int need_port);

#endif
