/*
 * The strict JSON reader: valid and invalid vectors, escapes and UTF-8,
 * numbers, the depth and node limits, repeated keys, and every proper
 * prefix of the valid vectors (which must fail without reading past the
 * end: each input is a heap copy of exactly its length, so ASan sees any
 * overread).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/json.h"

static struct tt_json_node nodes[256];
static char scratch[4096];

static struct tt_json_doc doc(void)
{
	struct tt_json_doc d = {nodes, 256, scratch, sizeof(scratch), 0, 0, 0};
	return d;
}

/* Parse len bytes of s from an exact-size heap copy. */
static enum tt_json_err parse_n(struct tt_json_doc *d, const char *s, size_t len)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, s, len);
	enum tt_json_err e = tt_json_parse(d, copy, len);
	/* Strings live in scratch, numbers point at the input: keep the copy
	 * alive only as long as the test needs no number text. */
	free(copy);
	return e;
}

static enum tt_json_err parse(struct tt_json_doc *d, const char *s)
{
	return parse_n(d, s, strlen(s));
}

static const char *valid[] = {
    "{}",
    "[]",
    "0",
    "-0",
    "1.5e+3",
    "\"\"",
    "true",
    "false",
    "null",
    " \t\r\n{ \"a\" : [ 1 , 2 , { } ] , \"b\" : null } \n",
    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"]",
    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
    "{\"time\":\"2025-11-26T00:00:00.123Z\",\"status\":502,\"attempts\":[{\"reused\":false}]}",
    "[[[[[[[[]]]]]]]]",
    "-12.345E-6",
    "{\"a\":{\"a\":1}}", /* the same key at two levels is not a repeat */
};

static const struct {
	const char *in;
	enum tt_json_err err;
	size_t off;
} invalid[] = {
    {"", TT_JSON_E_END, 0},
    {"   ", TT_JSON_E_END, 3},
    {"{", TT_JSON_E_END, 1},
    {"[1,]", TT_JSON_E_SYNTAX, 3},
    {"{\"a\":1,}", TT_JSON_E_SYNTAX, 7},
    {"{\"a\" 1}", TT_JSON_E_SYNTAX, 5},
    {"{a:1}", TT_JSON_E_SYNTAX, 1},
    {"['a']", TT_JSON_E_SYNTAX, 1},
    {"[1 2]", TT_JSON_E_SYNTAX, 3},
    {"{} {}", TT_JSON_E_TRAILING, 3},
    {"nul", TT_JSON_E_END, 3},
    {"nulL", TT_JSON_E_SYNTAX, 3},
    {"truex", TT_JSON_E_TRAILING, 4},
    {"01", TT_JSON_E_TRAILING, 1},
    {"-", TT_JSON_E_END, 1},
    {"-a", TT_JSON_E_NUMBER, 1},
    {"1.", TT_JSON_E_END, 2},
    {"1.e3", TT_JSON_E_NUMBER, 2},
    {"1e", TT_JSON_E_END, 2},
    {"1e+x", TT_JSON_E_NUMBER, 3},
    {"+1", TT_JSON_E_SYNTAX, 0},
    {".5", TT_JSON_E_SYNTAX, 0},
    {"NaN", TT_JSON_E_SYNTAX, 0},
    {"Infinity", TT_JSON_E_SYNTAX, 0},
    {"1e999", TT_JSON_E_NUMBER, 0},
    {"-1e999", TT_JSON_E_NUMBER, 0},
    {"\"a\tb\"", TT_JSON_E_STRING, 2},
    {"\"a\nb\"", TT_JSON_E_STRING, 2},
    {"\"\\x\"", TT_JSON_E_ESCAPE, 1},
    {"\"\\u12g4\"", TT_JSON_E_ESCAPE, 5},
    {"\"\\ud83d\"", TT_JSON_E_ESCAPE, 1},
    {"\"\\ud83dx\"", TT_JSON_E_ESCAPE, 1},
    {"\"\\ud83d\\u0041\"", TT_JSON_E_ESCAPE, 1},
    {"\"\\ude00\"", TT_JSON_E_ESCAPE, 1},
    {"\"\xff\"", TT_JSON_E_UTF8, 1},
    {"\"\xc0\xaf\"", TT_JSON_E_UTF8, 1},         /* overlong '/' */
    {"\"\xe0\x80\xaf\"", TT_JSON_E_UTF8, 1},     /* overlong, 3 bytes */
    {"\"\xed\xa0\x80\"", TT_JSON_E_UTF8, 1},     /* a surrogate as UTF-8 */
    {"\"\xf4\x90\x80\x80\"", TT_JSON_E_UTF8, 1}, /* past U+10FFFF */
    {"\"\xc3(\"", TT_JSON_E_UTF8, 1},
    {"\"abc", TT_JSON_E_END, 4},
    {"{\"a\":1,\"b\":2,\"a\":3}", TT_JSON_E_DUPKEY, 18},
    {"/* c */ 1", TT_JSON_E_SYNTAX, 0},
};

Test(json, valid_vectors_parse)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		struct tt_json_doc d = doc();
		enum tt_json_err e = parse(&d, valid[i]);
		cr_assert_eq(e, TT_JSON_OK, "%s: %s at %zu", valid[i], tt_json_strerror(e),
		             d.err_off);
		cr_assert_eq(d.nodes[0].end, d.nnodes, "%s: the root spans every node", valid[i]);
	}
}

Test(json, invalid_vectors_fail_at_the_offending_byte)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct tt_json_doc d = doc();
		enum tt_json_err e = parse(&d, invalid[i].in);
		cr_assert_eq(e, invalid[i].err, "'%s': got '%s' at %zu", invalid[i].in,
		             tt_json_strerror(e), d.err_off);
		cr_assert_eq(d.err_off, invalid[i].off, "'%s': offset %zu", invalid[i].in,
		             d.err_off);
	}
}

/* Split at every byte: a line cut short is never taken for a whole one
 * (a number's own prefixes excepted: "1.5" starts with "1"). */
Test(json, every_proper_prefix_of_a_container_fails)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const char *s = valid[i];
		size_t len = strlen(s);
		while (len && strchr(" \t\r\n", s[len - 1]))
			len--;
		if (s[0] != '{' && s[0] != '[' && s[0] != '"' && s[0] != ' ')
			continue;
		for (size_t k = 0; k < len; k++) {
			struct tt_json_doc d = doc();
			cr_assert_neq(parse_n(&d, s, k), TT_JSON_OK, "prefix %zu of %s parsed", k,
			              s);
		}
	}
}

Test(json, escapes_decode_to_utf8)
{
	struct tt_json_doc d = doc();
	cr_assert_eq(parse(&d, valid[10]), TT_JSON_OK);
	const struct tt_json_node *s = &d.nodes[1];
	const char want[] = "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	cr_assert_eq(s->type, TT_JSON_STRING);
	cr_assert_eq(s->len, sizeof(want) - 1);
	cr_assert(!memcmp(s->str, want, s->len));
	cr_assert_eq(s->str[s->len], 0, "strings are NUL-terminated");
}

Test(json, u0000_is_kept_with_its_length)
{
	struct tt_json_doc d = doc();
	cr_assert_eq(parse(&d, "\"a\\u0000b\""), TT_JSON_OK);
	cr_assert_eq(d.nodes[0].len, 3);
	cr_assert(!memcmp(d.nodes[0].str, "a\0b", 3));
}

Test(json, numbers_convert)
{
	static const struct {
		const char *in;
		double v;
	} nums[] = {{"0", 0},
	            {"-0", 0},
	            {"42", 42},
	            {"-7.25", -7.25},
	            {"1e3", 1000},
	            {"2.5E-1", 0.25},
	            {"1e-400", 0}, /* underflow rounds */
	            {"123456789012", 123456789012.0}};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		struct tt_json_doc d = doc();
		char in[64];
		snprintf(in, sizeof(in), "[%s]", nums[i].in);
		cr_assert_eq(tt_json_parse(&d, in, strlen(in)), TT_JSON_OK, "%s", in);
		cr_assert_eq(d.nodes[1].type, TT_JSON_NUMBER);
		cr_assert_eq(d.nodes[1].num, nums[i].v, "%s", in);
		cr_assert_eq(d.nodes[1].len, strlen(nums[i].in));
		cr_assert(!memcmp(d.nodes[1].str, nums[i].in, d.nodes[1].len));
	}
}

Test(json, int_accepts_only_exact_integers)
{
	struct tt_json_doc d = doc();
	const char *in = "[502, 1.5, 1e2, -3, 9007199254740993, \"7\"]";
	int64_t v;
	cr_assert_eq(tt_json_parse(&d, in, strlen(in)), TT_JSON_OK);
	cr_assert(tt_json_int(&d.nodes[1], &v) && v == 502);
	cr_assert(!tt_json_int(&d.nodes[2], &v));
	cr_assert(tt_json_int(&d.nodes[3], &v) && v == 100);
	cr_assert(tt_json_int(&d.nodes[4], &v) && v == -3);
	cr_assert(!tt_json_int(&d.nodes[5], &v), "past 2^53");
	cr_assert(!tt_json_int(&d.nodes[6], &v), "a string is not a number");
	cr_assert(!tt_json_int(NULL, &v));
}

Test(json, depth_limit_is_enforced)
{
	char in[200];
	struct tt_json_doc d = doc();

	memset(in, '[', 8);
	memset(in + 8, ']', 8);
	d.max_depth = 8;
	cr_assert_eq(tt_json_parse(&d, in, 16), TT_JSON_OK);
	memset(in, '[', 9);
	memset(in + 9, ']', 9);
	cr_assert_eq(tt_json_parse(&d, in, 18), TT_JSON_E_DEPTH);
	cr_assert_eq(d.err_off, 8);
	/* The hard ceiling holds whatever the caller asks for. */
	memset(in, '[', 100);
	memset(in + 100, ']', 100);
	d.max_depth = 1000;
	cr_assert_eq(tt_json_parse(&d, in, 200), TT_JSON_E_DEPTH);
	cr_assert_eq(d.err_off, TT_JSON_DEPTH_MAX);
}

Test(json, node_and_scratch_limits_are_errors)
{
	struct tt_json_node few[3];
	char small[4];
	struct tt_json_doc d = {few, 3, scratch, sizeof(scratch), 0, 0, 0};

	cr_assert_eq(tt_json_parse(&d, "[1,2]", 5), TT_JSON_OK);
	cr_assert_eq(tt_json_parse(&d, "[1,2,3]", 7), TT_JSON_E_NODES);
	cr_assert_eq(d.err_off, 5);
	d = (struct tt_json_doc){nodes, 256, small, sizeof(small), 0, 0, 0};
	cr_assert_eq(tt_json_parse(&d, "\"abc\"", 5), TT_JSON_OK, "len + 1 is always enough");
	cr_assert_eq(tt_json_parse(&d, "\"abcd\"", 6), TT_JSON_E_SCRATCH);
	cr_assert_eq(tt_json_parse(&d, "123", 3), TT_JSON_OK);
	cr_assert_eq(tt_json_parse(&d, "1234", 4), TT_JSON_E_SCRATCH);
}

Test(json, scratch_of_len_plus_one_always_suffices)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		size_t len = strlen(valid[i]);
		char *sc = malloc(len + 1);
		struct tt_json_doc d = {nodes, 256, sc, len + 1, 0, 0, 0};
		cr_assert_eq(tt_json_parse(&d, valid[i], len), TT_JSON_OK, "%s", valid[i]);
		free(sc);
	}
}

Test(json, get_and_next_walk_objects_and_arrays)
{
	struct tt_json_doc d = doc();
	const char *in = "{\"a\":[1,{\"x\":2},[3]],\"b\":\"B\",\"c\":{}}";
	const struct tt_json_node *root, *a, *e;
	int n = 0;

	cr_assert_eq(tt_json_parse(&d, in, strlen(in)), TT_JSON_OK);
	root = &d.nodes[0];
	cr_assert_eq(root->count, 3);
	a = tt_json_get(&d, root, "a");
	cr_assert(a && a->type == TT_JSON_ARRAY && a->count == 3);
	for (e = tt_json_next(&d, a, NULL); e; e = tt_json_next(&d, a, e))
		n++;
	cr_assert_eq(n, 3);
	cr_assert(tt_json_eq(tt_json_get(&d, root, "b"), "B"));
	cr_assert_eq(tt_json_get(&d, root, "c")->type, TT_JSON_OBJECT);
	cr_assert_null(tt_json_next(&d, tt_json_get(&d, root, "c"), NULL));
	cr_assert_null(tt_json_get(&d, root, "x"), "keys of nested objects are not the root's");
	cr_assert_null(tt_json_get(&d, a, "a"), "an array has no keys");
	e = tt_json_next(&d, a, tt_json_next(&d, a, NULL));
	cr_assert_eq(tt_json_get(&d, e, "x")->num, 2);
}

Test(json, fput_str_round_trips)
{
	const char s[] = "a\"b\\c\n\x01\x7f\xc3\xa9";
	char out[128];
	FILE *f = fmemopen(out, sizeof(out), "w");
	struct tt_json_doc d = doc();

	tt_json_fput_str(f, s, sizeof(s) - 1);
	long n = ftell(f);
	fclose(f);
	cr_assert_eq(tt_json_parse(&d, out, (size_t)n), TT_JSON_OK, "%.*s", (int)n, out);
	cr_assert_eq(d.nodes[0].len, sizeof(s) - 1);
	cr_assert(!memcmp(d.nodes[0].str, s, sizeof(s) - 1));
}
