/*
 * Tests for src/respond/sf.c: the serializers (tokens, strings with the
 * '?' replacement, integers at the 15-digit edge, parameters, exact fit)
 * and the List parser against RFC 8941 section 4.2's rules, valid and
 * invalid, each input parsed from an exact-size heap copy so ASan catches a
 * read past its end.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "respond/sf.h"

#define S(lit) lit, sizeof(lit) - 1

static struct tt_sf_member members[8];
static struct tt_sf_param params[16];
static char scratch[256];

/* The input of the last parse: slices point into it until the next. */
static char *copy;

static void teardown(void)
{
	free(copy);
	copy = NULL;
}

TestSuite(sf, .fini = teardown);

static enum tt_sf_err parse(const char *in, size_t len, struct tt_sf_list *l)
{
	free(copy);
	copy = malloc(len ? len : 1);
	cr_assert(copy);
	memcpy(copy, in, len);
	*l = (struct tt_sf_list){members, 8, 0, params, 16, scratch, sizeof(scratch), 0};
	return tt_sf_parse_list(copy, len, l);
}

static int valid(const char *in, size_t len)
{
	struct tt_sf_list l;
	return parse(in, len, &l) == TT_SF_OK;
}

Test(sf, token_grammar)
{
	cr_assert(tt_sf_is_token(S("proxy.example.net")));
	cr_assert(tt_sf_is_token(S("*x")));
	cr_assert(tt_sf_is_token(S("edge-1:8443/a")));
	cr_assert(tt_sf_is_token(S("Foo!#$%&'*+-.^_`|~")));
	cr_assert_not(tt_sf_is_token(S("")));
	cr_assert_not(tt_sf_is_token(S("1.2.3.4")));
	cr_assert_not(tt_sf_is_token(S("a b")));
	cr_assert_not(tt_sf_is_token(S("a\"")));
	cr_assert_not(tt_sf_is_token(S("-a")));
	cr_assert_not(tt_sf_is_token(S("a\xc3\xa9")));
}

Test(sf, key_grammar)
{
	cr_assert(tt_sf_is_key(S("next-hop")));
	cr_assert(tt_sf_is_key(S("*a_b.c-9*")));
	cr_assert_not(tt_sf_is_key(S("")));
	cr_assert_not(tt_sf_is_key(S("Error")));
	cr_assert_not(tt_sf_is_key(S("9a")));
	cr_assert_not(tt_sf_is_key(S("_a")));
	cr_assert_not(tt_sf_is_key(S("a:b")));
}

Test(sf, string_escapes_and_replaces)
{
	char out[64];
	cr_assert_eq(tt_sf_string(out, sizeof(out), S("a\"b\\c")), 9);
	cr_assert_str_eq(out, "\"a\\\"b\\\\c\"");
	cr_assert_eq(tt_sf_string(out, sizeof(out), S("\x01\t\x7f\xc3\xa9 ~")), 9);
	cr_assert_str_eq(out, "\"????? ~\"");
	cr_assert_eq(tt_sf_string(out, sizeof(out), S("")), 2);
	cr_assert_str_eq(out, "\"\"");
}

Test(sf, text_is_token_when_it_can_be)
{
	char out[64];
	tt_sf_text(out, sizeof(out), S("proxy.example.net"));
	cr_assert_str_eq(out, "proxy.example.net");
	tt_sf_text(out, sizeof(out), S("10.0.0.1"));
	cr_assert_str_eq(out, "\"10.0.0.1\"");
	tt_sf_text(out, sizeof(out), S("my proxy"));
	cr_assert_str_eq(out, "\"my proxy\"");
}

Test(sf, integer_fifteen_digits)
{
	char out[32];
	cr_assert_eq(tt_sf_integer(out, sizeof(out), 999999999999999LL), 15);
	cr_assert_eq(tt_sf_integer(out, sizeof(out), -999999999999999LL), 16);
	cr_assert_eq(tt_sf_integer(out, sizeof(out), 1000000000000000LL), -1);
	cr_assert_eq(tt_sf_integer(out, sizeof(out), -1000000000000000LL), -1);
	cr_assert_eq(tt_sf_integer(out, sizeof(out), INT64_MIN), -1);
	cr_assert_eq(tt_sf_integer(out, sizeof(out), 0), 1);
	cr_assert_str_eq(out, "0");
}

Test(sf, params)
{
	char out[64];
	cr_assert_eq(tt_sf_param_token(out, sizeof(out), "error", S("dns_timeout")), 19);
	cr_assert_str_eq(out, "; error=dns_timeout");
	cr_assert_eq(tt_sf_param_token(out, sizeof(out), "error", S("1x")), -1);
	cr_assert_eq(tt_sf_param_string(out, sizeof(out), "details", S("a\"b")), 16);
	cr_assert_str_eq(out, "; details=\"a\\\"b\"");
	cr_assert_eq(tt_sf_param_integer(out, sizeof(out), "received-status", 503), 21);
	cr_assert_str_eq(out, "; received-status=503");
	cr_assert_eq(tt_sf_param_integer(out, sizeof(out), "Bad", 1), -1);
	cr_assert_eq(tt_sf_param_string(out, sizeof(out), "", S("x")), -1);
}

Test(sf, exact_fit_and_one_short)
{
	char out[8];
	/* "\"abcd\"" is 6 bytes and its NUL the 7th. */
	cr_assert_eq(tt_sf_string(out, 7, S("abcd")), 6);
	cr_assert_str_eq(out, "\"abcd\"");
	cr_assert_eq(tt_sf_string(out, 6, S("abcd")), -1);
	cr_assert_eq(tt_sf_string(out, 0, S("")), -1);
	cr_assert_eq(tt_sf_integer(out, 4, 123), 3);
	cr_assert_eq(tt_sf_integer(out, 3, 123), -1);
}

Test(sf, parse_members_and_params)
{
	struct tt_sf_list l;
	const char in[] = "proxy.example.net; error=dns_timeout; next-hop=\"a \\\"b\\\\\"; "
	                  "received-status=503, ?0;x, :aGVsbG8=:, -1.5;d=1.250, \"s\"";
	cr_assert_eq(parse(in, sizeof(in) - 1, &l), TT_SF_OK);
	cr_assert_eq(l.nmembers, 5);
	cr_assert_eq(l.members[0].item.type, TT_SF_TOKEN);
	cr_assert_eq(l.members[0].item.len, 17);
	cr_assert_eq(l.members[0].nparams, 3);
	const struct tt_sf_param *p = tt_sf_param_get(&l.members[0], "next-hop");
	cr_assert(p);
	cr_assert_eq(p->value.type, TT_SF_STRING);
	cr_assert_eq(p->value.len, 5);
	cr_assert_eq(memcmp(p->value.str, "a \"b\\", 5), 0);
	p = tt_sf_param_get(&l.members[0], "received-status");
	cr_assert_eq(p->value.type, TT_SF_INTEGER);
	cr_assert_eq(p->value.integer, 503);
	cr_assert_eq(l.members[1].item.type, TT_SF_BOOLEAN);
	cr_assert_eq(l.members[1].item.integer, 0);
	p = tt_sf_param_get(&l.members[1], "x");
	cr_assert_eq(p->value.type, TT_SF_BOOLEAN);
	cr_assert_eq(p->value.integer, 1);
	cr_assert_eq(l.members[2].item.type, TT_SF_BYTES);
	cr_assert_eq(l.members[2].item.len, 8);
	cr_assert_eq(l.members[3].item.type, TT_SF_DECIMAL);
	cr_assert_eq(l.members[3].item.integer, -1500);
	cr_assert_eq(l.members[3].params[0].value.integer, 1250);
	cr_assert_eq(l.members[4].item.type, TT_SF_STRING);
	cr_assert_null(tt_sf_param_get(&l.members[4], "x"));
}

Test(sf, whitespace_rules)
{
	/* Section 4.2: SP (not HTAB) may surround the field. */
	cr_assert(valid(S("")));
	cr_assert(valid(S("   ")));
	cr_assert(valid(S(" a, b ")));
	cr_assert_not(valid(S("\ta")));
	/* Section 4.2.1: OWS around commas; a trailing OWS ends the List. */
	cr_assert(valid(S("a , b")));
	cr_assert(valid(S("a\t,\tb")));
	cr_assert(valid(S("a,b")));
	cr_assert(valid(S("a\t")));
	cr_assert_not(valid(S("a,")));
	cr_assert_not(valid(S("a, ")));
	cr_assert_not(valid(S(",a")));
	cr_assert_not(valid(S("a,,b")));
	cr_assert_not(valid(S("a b")));
	/* Section 4.2.3.2: SP only after ';', nothing before it or around '='. */
	cr_assert(valid(S("a; b=1;  c")));
	cr_assert_not(valid(S("a ;b")));
	cr_assert_not(valid(S("a;\tb")));
	cr_assert_not(valid(S("a;b =1")));
	cr_assert_not(valid(S("a;b= 1")));
}

Test(sf, numbers)
{
	cr_assert(valid(S("-0")));
	cr_assert(valid(S("00")));
	cr_assert(valid(S("999999999999999")));
	cr_assert(valid(S("-999999999999999")));
	cr_assert_not(valid(S("1000000000000000")));
	cr_assert(valid(S("123456789012.123")));
	cr_assert_not(valid(S("1234567890123.0")));
	cr_assert_not(valid(S("1.1234")));
	cr_assert_not(valid(S("1.")));
	cr_assert_not(valid(S("-")));
	cr_assert_not(valid(S("--1")));
	cr_assert_not(valid(S("1a")));
	cr_assert_not(valid(S("1.2.3")));
}

Test(sf, strings_tokens_bytes_booleans)
{
	cr_assert(valid(S("\"\"")));
	cr_assert(valid(S("\"a\\\\b\"")));
	cr_assert_not(valid(S("\"\\a\"")));
	cr_assert_not(valid(S("\"a\x01\"")));
	cr_assert_not(valid(S("\"a\x7f\"")));
	cr_assert_not(valid(S("\"\xc3\xa9\"")));
	cr_assert_not(valid(S("\"abc")));
	cr_assert_not(valid(S("\"abc\\")));
	cr_assert(valid(S("*foo:/a")));
	cr_assert_not(valid(S("a\xff")));
	cr_assert_not(valid("a\0b", 3));
	cr_assert(valid(S("::")));
	cr_assert_not(valid(S(":aGV sbG8=:")));
	cr_assert_not(valid(S(":aGVsbG8=")));
	cr_assert(valid(S("?1")));
	cr_assert_not(valid(S("?2")));
	cr_assert_not(valid(S("?")));
	cr_assert_not(valid(S("@")));
}

Test(sf, keys)
{
	cr_assert(valid(S("a;*x=1;x_y-z.*9=2")));
	cr_assert_not(valid(S("a;A=1")));
	cr_assert_not(valid(S("a;_x")));
	cr_assert_not(valid(S("a;")));
	cr_assert_not(valid(S("a;=1")));
}

Test(sf, duplicate_param_keeps_place_takes_last_value)
{
	struct tt_sf_list l;
	cr_assert_eq(parse(S("a;x=1;y=2;x=3"), &l), TT_SF_OK);
	cr_assert_eq(l.members[0].nparams, 2);
	cr_assert_eq(l.members[0].params[0].key[0], 'x');
	cr_assert_eq(l.members[0].params[0].value.integer, 3);
	cr_assert_eq(l.members[0].params[1].value.integer, 2);
}

Test(sf, inner_list_refused_cleanly)
{
	struct tt_sf_list l;
	cr_assert_eq(parse(S("(a b)"), &l), TT_SF_ERR_INNER_LIST);
	cr_assert_eq(parse(S("a, (b)"), &l), TT_SF_ERR_INNER_LIST);
	cr_assert_eq(l.nmembers, 1);
	cr_assert_eq(l.err_offset, 3);
	cr_assert_eq(parse(S("a;b=(c)"), &l), TT_SF_ERR_SYNTAX);
}

Test(sf, error_offset)
{
	struct tt_sf_list l;
	cr_assert_eq(parse(S("a, b c"), &l), TT_SF_ERR_SYNTAX);
	cr_assert_eq(l.err_offset, 5);
	cr_assert_eq(parse(S("a;b=\"x\x01\""), &l), TT_SF_ERR_SYNTAX);
	cr_assert_eq(l.err_offset, 6);
}

Test(sf, limits)
{
	struct tt_sf_member m[2];
	struct tt_sf_param p[2];
	char sc[4];
	struct tt_sf_list l = {m, 2, 0, p, 2, sc, sizeof(sc), 0};

	cr_assert_eq(tt_sf_parse_list(S("a, b"), &l), TT_SF_OK);
	cr_assert_eq(tt_sf_parse_list(S("a, b, c"), &l), TT_SF_ERR_LIMIT);
	cr_assert_eq(tt_sf_parse_list(S("a;x;y, b"), &l), TT_SF_OK);
	cr_assert_eq(tt_sf_parse_list(S("a;x;y, b;z"), &l), TT_SF_ERR_LIMIT);
	cr_assert_eq(tt_sf_parse_list(S("\"abcd\""), &l), TT_SF_OK);
	cr_assert_eq(tt_sf_parse_list(S("\"abcde\""), &l), TT_SF_ERR_LIMIT);
	/* No storage at all still parses the empty List. */
	struct tt_sf_list none = {0};
	cr_assert_eq(tt_sf_parse_list(S(""), &none), TT_SF_OK);
	cr_assert_eq(tt_sf_parse_list(S("a"), &none), TT_SF_ERR_LIMIT);
}

Test(sf, string_round_trip_every_byte)
{
	char in[256], out[1024];
	struct tt_sf_list l;

	for (int i = 0; i < 256; i++)
		in[i] = (char)i;
	ssize_t n = tt_sf_string(out, sizeof(out), in, sizeof(in));
	cr_assert_gt(n, 0);
	struct tt_sf_member m[1];
	char sc[300];
	l = (struct tt_sf_list){m, 1, 0, NULL, 0, sc, sizeof(sc), 0};
	cr_assert_eq(tt_sf_parse_list(out, (size_t)n, &l), TT_SF_OK);
	cr_assert_eq(m[0].item.len, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(m[0].item.str[i], i >= 0x20 && i <= 0x7e ? (char)i : '?', "byte %d",
		             i);
}
