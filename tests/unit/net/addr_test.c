/*
 * Address text (src/net/addr.c): the forms logs and X-Forwarded-For carry,
 * checked against inet_ntop for every octet value, and cut to size.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net/addr.h"

static struct sockaddr_in v4(const char *ip, unsigned port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return s;
}

static struct sockaddr_in6 v6(const char *ip, unsigned port)
{
	struct sockaddr_in6 s;
	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
	return s;
}

Test(addr, ipv4_every_octet_as_inet_ntop_writes_it)
{
	for (unsigned b = 0; b < 256; b++) {
		struct sockaddr_in s;
		char want[INET_ADDRSTRLEN], got[64], full[64], port_form[80];
		int is6 = -1;
		unsigned char raw[4] = {(unsigned char)b, (unsigned char)(255 - b), 0,
		                        (unsigned char)(b * 7)};
		memset(&s, 0, sizeof(s));
		s.sin_family = AF_INET;
		s.sin_port = htons((uint16_t)(b * 257));
		memcpy(&s.sin_addr, raw, 4);
		inet_ntop(AF_INET, &s.sin_addr, want, sizeof(want));
		cr_assert_eq(tt_addr_ip((struct sockaddr *)&s, got, sizeof(got), &is6),
		             strlen(want));
		cr_assert_str_eq(got, want);
		cr_assert_eq(is6, 0);
		snprintf(port_form, sizeof(port_form), "%s:%u", want, b * 257);
		cr_assert_eq(tt_addr_format((struct sockaddr *)&s, full, sizeof(full)),
		             strlen(port_form));
		cr_assert_str_eq(full, port_form);
	}
}

Test(addr, ipv6_in_brackets_and_v4_mapped_as_ipv4)
{
	struct sockaddr_in6 a = v6("2001:db8::1", 8443), m = v6("::ffff:10.0.0.7", 80);
	char out[64];
	int is6;
	cr_assert_eq(tt_addr_format((struct sockaddr *)&a, out, sizeof(out)), 18);
	cr_assert_str_eq(out, "[2001:db8::1]:8443");
	tt_addr_ip((struct sockaddr *)&a, out, sizeof(out), &is6);
	cr_assert_str_eq(out, "2001:db8::1");
	cr_assert_eq(is6, 1);
	tt_addr_format((struct sockaddr *)&m, out, sizeof(out));
	cr_assert_str_eq(out, "10.0.0.7:80");
	tt_addr_ip((struct sockaddr *)&m, out, sizeof(out), &is6);
	cr_assert_str_eq(out, "10.0.0.7");
	cr_assert_eq(is6, 0);
}

Test(addr, cut_to_size_and_terminated)
{
	struct sockaddr_in s = v4("192.168.100.200", 65535);
	char out[8];
	memset(out, 'x', sizeof(out));
	cr_assert_eq(tt_addr_format((struct sockaddr *)&s, out, sizeof(out)), 7);
	cr_assert_str_eq(out, "192.168");
	cr_assert_eq(tt_addr_format((struct sockaddr *)&s, out, 1), 0);
	cr_assert_str_eq(out, "");
}
