/*
 * The value parsers (src/config/values.c): durations, sizes, integers,
 * addresses, networks, and the edit distance behind "did you mean".
 * Host names go through a fake resolver so no test touches DNS.
 */
#include "config/config.h"
#include "config/values.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

static int fake_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	if (strcmp(host, "app.internal"))
		return -1;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.7", &in->sin_addr);
	*len = sizeof(*in);
	return 0;
}

static void setup(void)
{
	tt_cfg_set_resolver(fake_resolve);
}

static void teardown(void)
{
	tt_cfg_set_resolver(NULL);
}

TestSuite(values, .init = setup, .fini = teardown);

static uint64_t dur(const char *s)
{
	uint64_t ms = 12345;
	cr_assert_eq(tt_val_duration(s, &ms), TT_VAL_OK, "duration '%s' rejected", s);
	cr_assert_eq(tt_cfg_parse_duration(s, &ms), 0);
	return ms;
}

static enum tt_val_err dur_err(const char *s)
{
	uint64_t ms = 777;
	enum tt_val_err e = tt_val_duration(s, &ms);
	cr_assert_neq(e, TT_VAL_OK, "duration '%s' accepted", s);
	cr_assert_eq(ms, 777, "output touched on error");
	cr_assert_eq(tt_cfg_parse_duration(s, &ms), -1);
	return e;
}

Test(values, duration_units_and_combinations)
{
	cr_assert_eq(dur("0"), 0);
	cr_assert_eq(dur("250ms"), 250);
	cr_assert_eq(dur("5s"), 5000);
	cr_assert_eq(dur("2m"), 120000);
	cr_assert_eq(dur("1h"), 3600000);
	cr_assert_eq(dur("1m30s"), 90000);
	cr_assert_eq(dur("1h2m3s4ms"), 3723004);
	cr_assert_eq(dur("0s"), 0);
	cr_assert_eq(dur("05s"), 5000);
	cr_assert_eq(dur("24h"), 86400000);
	cr_assert_eq(dur("1500ms"), 1500);
}

Test(values, duration_bare_integer_needs_unit)
{
	cr_assert_eq(dur_err("30"), TT_VAL_NO_UNIT);
	cr_assert_eq(dur_err("1"), TT_VAL_NO_UNIT);
	cr_assert_eq(dur_err("00"), TT_VAL_NO_UNIT);
}

Test(values, duration_malformed)
{
	const char *bad[] = {"",   "5x", "1.5s",  "-1s",  "5 s",  " 5s", "5s ",  "s",
	                     "5S", "1d", "30s1m", "1s1s", "1m1h", "ms",  "5sec", "1h1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dur_err(bad[i]), TT_VAL_SYNTAX, "'%s'", bad[i]);
}

Test(values, duration_cap_and_overflow)
{
	cr_assert_eq(dur_err("25h"), TT_VAL_RANGE);
	cr_assert_eq(dur_err("24h1ms"), TT_VAL_RANGE);
	cr_assert_eq(dur_err("86400001ms"), TT_VAL_RANGE);
	cr_assert_eq(dur_err("99999999999999999999999h"), TT_VAL_RANGE);
	cr_assert_eq(dur_err("99999999999999999999999x"), TT_VAL_SYNTAX);
}

static uint64_t size(const char *s)
{
	uint64_t b = 0;
	cr_assert_eq(tt_val_size(s, &b), TT_VAL_OK, "size '%s' rejected", s);
	cr_assert_eq(tt_cfg_parse_size(s, &b), 0);
	return b;
}

Test(values, size_units)
{
	cr_assert_eq(size("0"), 0);
	cr_assert_eq(size("512"), 512);
	cr_assert_eq(size("512b"), 512);
	cr_assert_eq(size("16k"), 16384);
	cr_assert_eq(size("16K"), 16384);
	cr_assert_eq(size("16kb"), 16384);
	cr_assert_eq(size("16KB"), 16384);
	cr_assert_eq(size("16KiB"), 16384);
	cr_assert_eq(size("1m"), 1048576);
	cr_assert_eq(size("1MiB"), 1048576);
	cr_assert_eq(size("1g"), 1073741824ULL);
	cr_assert_eq(size("2GiB"), 2147483648ULL);
}

Test(values, size_bad)
{
	uint64_t b = 99;
	const char *bad[] = {"", "16q", "k", "-1", "1.5k", "16 k", " 16k", "16kk", "0x10", "1t"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_neq(tt_val_size(bad[i], &b), TT_VAL_OK, "'%s'", bad[i]);
		cr_assert_eq(tt_cfg_parse_size(bad[i], &b), -1);
	}
	cr_assert_eq(tt_val_size("99999999999999999999", &b), TT_VAL_RANGE);
	cr_assert_eq(tt_val_size("17179869184g", &b), TT_VAL_RANGE);
	cr_assert_eq(tt_val_size("010k", &b), TT_VAL_LEADING_ZERO);
	cr_assert_eq(b, 99);
}

Test(values, uint_decimal_only)
{
	uint64_t v = 0;
	cr_assert_eq(tt_val_uint("0", &v), TT_VAL_OK);
	cr_assert_eq(v, 0);
	cr_assert_eq(tt_val_uint("18446744073709551615", &v), TT_VAL_OK);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(tt_val_uint("18446744073709551616", &v), TT_VAL_RANGE);
	cr_assert_eq(tt_val_uint("010", &v), TT_VAL_LEADING_ZERO);
	const char *bad[] = {"", "-1", "+1", "0x10", "1e3", "1_000", "1.0", " 1", "1 "};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tt_val_uint(bad[i], &v), TT_VAL_SYNTAX, "'%s'", bad[i]);
}

static enum tt_val_err addr(const char *s, int listener, struct sockaddr_storage *ss)
{
	socklen_t len = 0;
	char why[128];
	memset(ss, 0, sizeof(*ss));
	return tt_val_addr(s, listener, ss, &len, why, sizeof(why));
}

static void assert_v4(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];
	cr_assert_eq(in->sin_family, AF_INET);
	inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
	cr_assert_str_eq(text, ip);
	cr_assert_eq(ntohs(in->sin_port), port);
}

Test(values, addr_good_forms)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	cr_assert_eq(addr("127.0.0.1:8080", 0, &ss), TT_VAL_OK);
	assert_v4(&ss, "127.0.0.1", 8080);
	cr_assert_eq(addr(":8080", 1, &ss), TT_VAL_OK);
	assert_v4(&ss, "0.0.0.0", 8080);
	cr_assert_eq(addr("app.internal:9000", 0, &ss), TT_VAL_OK);
	assert_v4(&ss, "10.0.0.7", 9000);
	cr_assert_eq(addr("[::1]:443", 0, &ss), TT_VAL_OK);
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	cr_assert_eq(in6->sin6_family, AF_INET6);
	cr_assert_eq(ntohs(in6->sin6_port), 443);
	cr_assert(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	cr_assert_eq(tt_cfg_parse_addr("10.1.2.3:1", &ss, &len), 0);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(tt_cfg_parse_addr("10.1.2.3:65535", &ss, &len), 0);
}

Test(values, addr_real_resolver_localhost)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	tt_cfg_set_resolver(NULL);
	/* /etc/hosts answers this without the network. */
	cr_assert_eq(tt_cfg_parse_addr("localhost:80", &ss, &len), 0);
	cr_assert(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

Test(values, addr_bad_forms_say_why)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	cr_assert_eq(addr("127.0.0.1", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("127.0.0.1:", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("127.0.0.1:0", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("127.0.0.1:65536", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("127.0.0.1:http", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("127.0.0.1:080", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("[::1]", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("::1:80", 0, &ss), TT_VAL_V6_BRACKETS);
	cr_assert_eq(addr(":8080", 0, &ss), TT_VAL_NO_HOST);
	cr_assert_eq(addr("[]:80", 1, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("[::1]x:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("[::1:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("[example.com]:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("300.1.1.1:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("a b:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("a/b:80", 0, &ss), TT_VAL_SYNTAX);
	cr_assert_eq(addr("", 0, &ss), TT_VAL_PORT);
	cr_assert_eq(addr("nosuch.internal:80", 0, &ss), TT_VAL_RESOLVE);
	cr_assert_eq(tt_cfg_parse_addr("nosuch.internal:80", &ss, &len), -1);
	cr_assert_eq(tt_cfg_parse_addr(":80", &ss, &len), -1);
}

static struct tt_cfg_cidr cidr(const char *s)
{
	struct tt_cfg_cidr c;
	memset(&c, 0, sizeof(c));
	cr_assert_eq(tt_val_cidr(s, &c), TT_VAL_OK, "cidr '%s' rejected", s);
	cr_assert_eq(tt_cfg_parse_cidr(s, &c), 0);
	return c;
}

Test(values, cidr_good)
{
	struct tt_cfg_cidr c = cidr("10.0.0.0/8");
	cr_assert_eq(c.family, AF_INET);
	cr_assert_eq(c.prefix, 8);
	cr_assert_eq(c.addr[0], 10);
	c = cidr("::1/128");
	cr_assert_eq(c.family, AF_INET6);
	cr_assert_eq(c.prefix, 128);
	cr_assert_eq(c.addr[15], 1);
	cr_assert_eq(cidr("192.168.1.5").prefix, 32);
	cr_assert_eq(cidr("fd00::").prefix, 128);
	cr_assert_eq(cidr("fd00::/8").prefix, 8);
	cr_assert_eq(cidr("0.0.0.0/0").prefix, 0);
	cr_assert_eq(cidr("::/0").prefix, 0);
	cr_assert_eq(cidr("10.128.0.0/9").prefix, 9);
}

Test(values, cidr_bad)
{
	struct tt_cfg_cidr c;
	cr_assert_eq(tt_val_cidr("10.1.2.3/8", &c), TT_VAL_HOST_BITS);
	cr_assert_eq(tt_val_cidr("10.128.0.0/8", &c), TT_VAL_HOST_BITS);
	cr_assert_eq(tt_val_cidr("::1/64", &c), TT_VAL_HOST_BITS);
	cr_assert_eq(tt_val_cidr("::1/129", &c), TT_VAL_PREFIX);
	cr_assert_eq(tt_val_cidr("10.0.0.0/33", &c), TT_VAL_PREFIX);
	const char *bad[] = {
	    "",         "foo",          "10.0.0.0/",   "/8",       "10.0.0.0/08", "10.0.0.0/-1",
	    "10.0.0/8", "10.0.0.0/8/8", "10.0.0.0 /8", "[::1]/128"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(tt_val_cidr(bad[i], &c), TT_VAL_SYNTAX, "'%s'", bad[i]);
		cr_assert_eq(tt_cfg_parse_cidr(bad[i], &c), -1);
	}
}

Test(values, edit_distance_and_suggestions)
{
	static const char *const keys[] = {"listen", "upstreams", "routes", "timeouts"};
	cr_assert_eq(tt_val_distance("listn", "listen"), 1);
	cr_assert_eq(tt_val_distance("Listen", "listen"), 0);
	cr_assert_eq(tt_val_distance("", "abc"), 3);
	cr_assert_eq(tt_val_distance("kitten", "sitting"), 3);
	cr_assert_eq(tt_val_distance("hots", "host"), 1);
	cr_assert_eq(tt_val_distance("ab", "ba"), 1);
	cr_assert_eq(tt_val_distance("abc", "abc"), 0);
	cr_assert_str_eq(tt_val_closest("listn", keys, 4), "listen");
	cr_assert_str_eq(tt_val_closest("upstream", keys, 4), "upstreams");
	cr_assert_str_eq(tt_val_closest("timeout", keys, 4), "timeouts");
	cr_assert_null(tt_val_closest("workerz_and_more", keys, 4));
	cr_assert_null(tt_val_closest("x", keys, 4));
	static const char *const names[] = {"app", "api"};
	cr_assert_str_eq(tt_val_closest("ap", names, 2), "app");
	cr_assert_null(tt_val_closest("web", names, 2));
}

static uint32_t pct(const char *s)
{
	uint32_t p = 777;
	cr_assert_eq(tt_val_percent(s, &p), TT_VAL_OK, "percent '%s' rejected", s);
	cr_assert_eq(tt_cfg_parse_percent(s, &p), 0);
	return p;
}

Test(values, percent_with_and_without_sign)
{
	cr_assert_eq(pct("0%"), 0);
	cr_assert_eq(pct("0"), 0);
	cr_assert_eq(pct("20%"), 20);
	cr_assert_eq(pct("20"), 20);
	cr_assert_eq(pct("50%"), 50);
	cr_assert_eq(pct("100%"), 100);
	cr_assert_eq(pct("100"), 100);
}

Test(values, percent_bad_forms_say_why)
{
	uint32_t p = 777;
	cr_assert_eq(tt_val_percent("101%", &p), TT_VAL_RANGE);
	cr_assert_eq(tt_val_percent("1000", &p), TT_VAL_RANGE);
	cr_assert_eq(tt_val_percent("99999999999999999999%", &p), TT_VAL_RANGE);
	cr_assert_eq(tt_val_percent("020%", &p), TT_VAL_LEADING_ZERO);
	cr_assert_eq(tt_val_percent("00", &p), TT_VAL_LEADING_ZERO);
	const char *bad[] = {"",     "%",    "20%%", "-5%",    "+5%",  "20.5%",
	                     "0.5",  " 20%", "20 %", "20% ",   "20%x", "x20",
	                     "0x10", "%20",  "20p",  "twenty", "1e2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(tt_val_percent(bad[i], &p), TT_VAL_SYNTAX, "'%s'", bad[i]);
		cr_assert_eq(tt_cfg_parse_percent(bad[i], &p), -1);
	}
	cr_assert_eq(tt_cfg_parse_percent(NULL, &p), -1);
	cr_assert_eq(p, 777, "output touched on error");
}

Test(values, status_single_and_range)
{
	uint32_t lo = 0, hi = 0;
	cr_assert_eq(tt_val_status_range("200", &lo, &hi), TT_VAL_OK);
	cr_assert_eq(lo, 200);
	cr_assert_eq(hi, 200);
	cr_assert_eq(tt_val_status_range("200-399", &lo, &hi), TT_VAL_OK);
	cr_assert_eq(lo, 200);
	cr_assert_eq(hi, 399);
	cr_assert_eq(tt_val_status_range("100-599", &lo, &hi), TT_VAL_OK);
	cr_assert_eq(lo, 100);
	cr_assert_eq(hi, 599);
	cr_assert_eq(tt_val_status_range("204-204", &lo, &hi), TT_VAL_OK);
	cr_assert_eq(lo, 204);
}

Test(values, status_bad_forms_say_why)
{
	uint32_t lo = 7, hi = 7;
	cr_assert_eq(tt_val_status_range("99", &lo, &hi), TT_VAL_RANGE);
	cr_assert_eq(tt_val_status_range("600", &lo, &hi), TT_VAL_RANGE);
	cr_assert_eq(tt_val_status_range("200-600", &lo, &hi), TT_VAL_RANGE);
	cr_assert_eq(tt_val_status_range("0-200", &lo, &hi), TT_VAL_RANGE);
	cr_assert_eq(tt_val_status_range("399-200", &lo, &hi), TT_VAL_ORDER);
	cr_assert_eq(tt_val_status_range("0200", &lo, &hi), TT_VAL_LEADING_ZERO);
	const char *bad[] = {"",     "2xx",      "200-",    "-200", "200 - 399", "200-399-500",
	                     "200,", "200..399", "200-3xx", " 200", "200 ",      "abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tt_val_status_range(bad[i], &lo, &hi), TT_VAL_SYNTAX, "'%s'", bad[i]);
	cr_assert_eq(lo, 7, "output touched on error");
	cr_assert_eq(hi, 7);
}

Test(values, bool_true_and_false_only)
{
	int b = 7;
	cr_assert_eq(tt_val_bool("true", &b), TT_VAL_OK);
	cr_assert_eq(b, 1);
	cr_assert_eq(tt_val_bool("false", &b), TT_VAL_OK);
	cr_assert_eq(b, 0);
	const char *bad[] = {"",  "yes",  "no",    "on", "off", "y",
	                     "n", "True", "FALSE", "1",  "0",   "true "};
	b = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(tt_val_bool(bad[i], &b), TT_VAL_SYNTAX, "'%s'", bad[i]);
	cr_assert_eq(b, 7, "output touched on error");
}

Test(values, server_names_are_kept_not_resolved)
{
	struct sockaddr_storage ss;
	socklen_t len = 99;
	char host[256];
	uint16_t port = 0;
	/* Not even the fake resolver is asked: a name stays a name. */
	cr_assert_eq(tt_val_server("nosuch.internal:8080", host, sizeof(host), &port, &ss, &len),
	             TT_VAL_OK);
	cr_assert_str_eq(host, "nosuch.internal");
	cr_assert_eq(port, 8080);
	cr_assert_eq(len, 0);
	cr_assert_eq(tt_val_server("10.1.2.3:81", host, sizeof(host), &port, &ss, &len), TT_VAL_OK);
	assert_v4(&ss, "10.1.2.3", 81);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_str_eq(host, "10.1.2.3");
	cr_assert_eq(tt_val_server("[::1]:443", host, sizeof(host), &port, &ss, &len), TT_VAL_OK);
	cr_assert_str_eq(host, "::1");
	cr_assert_eq(len, sizeof(struct sockaddr_in6));
	cr_assert_eq(tt_val_server("a..b:80", host, sizeof(host), &port, &ss, &len), TT_VAL_SYNTAX);
	cr_assert_eq(tt_val_server("-a:80", host, sizeof(host), &port, &ss, &len), TT_VAL_SYNTAX);
	cr_assert_eq(tt_val_server("300.1.1.1:80", host, sizeof(host), &port, &ss, &len),
	             TT_VAL_SYNTAX);
	cr_assert_eq(tt_val_server("app:0", host, sizeof(host), &port, &ss, &len), TT_VAL_PORT);
	cr_assert_eq(tt_val_server(":80", host, sizeof(host), &port, &ss, &len), TT_VAL_NO_HOST);
}

Test(values, nameserver_forms)
{
	const char *good[] = {"10.0.0.53", "10.0.0.53:5353", "2001:db8::53", "[2001:db8::53]:53"};
	const char *bad[] = {"dns.internal",   "dns.internal:53", "10.0.0.53:0",
	                     "[10.0.0.53]:53", "10.0.0.300",      "",
	                     "[::1]"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert_eq(tt_val_nameserver(good[i]), TT_VAL_OK, "'%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_neq(tt_val_nameserver(bad[i]), TT_VAL_OK, "'%s'", bad[i]);
}
