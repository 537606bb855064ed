/*
 * Doctor's URL parsing and host:port splitting.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "doctor/url.h"

Test(doctor_url, host_port_and_path)
{
	struct tt_doc_url u;
	char why[128];
	cr_assert_eq(tt_doc_url_parse("http://Example.com:8080/a/b?x=1#frag", &u, why, sizeof(why)),
	             0, "%s", why);
	cr_expect_str_eq(u.host, "Example.com");
	cr_expect_eq(u.port, 8080);
	cr_expect_str_eq(u.authority, "Example.com:8080");
	cr_expect_str_eq(u.hostport, "Example.com:8080");
	cr_expect_str_eq(u.path, "/a/b?x=1");
	cr_expect_not(u.https);
}

Test(doctor_url, default_ports_and_empty_path)
{
	struct tt_doc_url u;
	char why[128];
	cr_assert_eq(tt_doc_url_parse("http://h", &u, why, sizeof(why)), 0);
	cr_expect_eq(u.port, 80);
	cr_expect_str_eq(u.path, "/");
	cr_expect_str_eq(u.hostport, "h:80");
	cr_assert_eq(tt_doc_url_parse("HTTPS://h?q", &u, why, sizeof(why)), 0);
	cr_expect(u.https);
	cr_expect_eq(u.port, 443);
	cr_expect_str_eq(u.path, "/?q");
}

Test(doctor_url, ipv6_literal_keeps_brackets_only_where_needed)
{
	struct tt_doc_url u;
	char why[128];
	cr_assert_eq(tt_doc_url_parse("http://[::1]:9000/", &u, why, sizeof(why)), 0, "%s", why);
	cr_expect_str_eq(u.host, "::1");
	cr_expect_str_eq(u.authority, "[::1]:9000");
	cr_expect_str_eq(u.hostport, "[::1]:9000");
	cr_expect(tt_doc_is_ip_literal(u.host));
}

Test(doctor_url, bad_urls_say_why)
{
	const char *bad[] = {"ftp://h/",     "h:80/",           "http://",      "http://u@h/",
	                     "http://h:0/",  "http://h:99999/", "http://h:8x/", "http:///p",
	                     "http://h/a b", "http://[::1/",    "http://a:b:c/"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tt_doc_url u;
		char why[128];
		cr_expect_eq(tt_doc_url_parse(bad[i], &u, why, sizeof(why)), -1, "%s", bad[i]);
		cr_expect(why[0], "no reason for %s", bad[i]);
	}
}

Test(doctor_url, split_server_addresses)
{
	char host[64];
	uint16_t port = 0;
	cr_assert_eq(tt_doc_split_hostport("app.internal:8000", host, sizeof(host), &port), 0);
	cr_expect_str_eq(host, "app.internal");
	cr_expect_eq(port, 8000);
	cr_assert_eq(tt_doc_split_hostport("[fe80::1]:80", host, sizeof(host), &port), 0);
	cr_expect_str_eq(host, "fe80::1");
	cr_expect_eq(tt_doc_split_hostport("noport", host, sizeof(host), &port), -1);
	cr_expect_eq(tt_doc_split_hostport("::1:80", host, sizeof(host), &port), -1);
	cr_expect(tt_doc_is_ip_literal("10.0.0.1"));
	cr_expect_not(tt_doc_is_ip_literal("localhost"));
}
