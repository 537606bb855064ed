/*
 * Tests for src/http/traceparent.c: a table of traceparent values, valid
 * and not, by the rules of W3C Trace Context level 1; every value is read
 * from an exact-size heap copy so ASan catches a read past it.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "http/traceparent.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define PID "00f067aa0ba902b7"

struct vec {
	const char *in;
	int ok;
	const char *why;
};

static const struct vec vecs[] = {
    {"00-" TID "-" PID "-01", 1, "the spec's example"},
    {"00-" TID "-" PID "-00", 1, "not sampled"},
    {"00-" TID "-" PID "-ff", 1, "unknown flags are kept when read"},
    {"01-" TID "-" PID "-01", 1, "a later version, same length"},
    {"01-" TID "-" PID "-01-what-the-future-holds", 1, "a later version with more fields"},
    {"cc-" TID "-" PID "-01-x", 1, "any later version"},
    {"00-" TID "-" PID "-01-x", 0, "version 00 has exactly 55 bytes"},
    {"01-" TID "-" PID "-01x", 0, "a later version's extra fields follow a dash"},
    {"ff-" TID "-" PID "-01", 0, "version ff is forbidden"},
    {"00-00000000000000000000000000000000-" PID "-01", 0, "all-zero trace-id"},
    {"00-" TID "-0000000000000000-01", 0, "all-zero parent-id"},
    {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" PID "-01", 0, "upper-case trace-id"},
    {"00-" TID "-00F067AA0BA902B7-01", 0, "upper-case parent-id"},
    {"00-" TID "-" PID "-0A", 0, "upper-case flags"},
    {"0-" TID "-" PID "-01", 0, "short version"},
    {"00-" TID "a-" PID "-01", 0, "long trace-id"},
    {"00-" TID "-" PID "0-01", 0, "long parent-id"},
    {"00_" TID "-" PID "-01", 0, "wrong separator"},
    {"00-" TID "-" PID "-0g", 0, "non-hex flags"},
    {"00-4bf92f3577b34da6a3ce929d0e0e473z-" PID "-01", 0, "non-hex trace-id"},
    {"00-" TID "-" PID "-", 0, "missing flags"},
    {"", 0, "empty"},
    {"00", 0, "version only"},
};

Test(traceparent, table)
{
	for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		size_t n = strlen(vecs[i].in);
		char *copy = malloc(n ? n : 1);
		struct tt_trace t;
		cr_assert(copy);
		memcpy(copy, vecs[i].in, n);
		int ok = tt_traceparent_parse(copy, n, &t);
		cr_expect_eq(ok, vecs[i].ok, "%s: '%s' gave %d", vecs[i].why, vecs[i].in, ok);
		if (ok) {
			cr_expect_str_eq(t.trace_id, TID, "%s", vecs[i].why);
			cr_expect_str_eq(t.parent_id, PID, "%s", vecs[i].why);
		}
		free(copy);
	}
}

Test(traceparent, flags_are_read)
{
	struct tt_trace t;
	cr_assert(tt_traceparent_parse("00-" TID "-" PID "-03", 55, &t));
	cr_assert_eq(t.flags, 3);
}

Test(traceparent, format_is_version_00_with_the_new_span_and_sampled_only)
{
	struct tt_trace t;
	char out[TT_TRACEPARENT_LEN + 1], span[TT_SPAN_ID_HEX + 1];
	cr_assert(tt_traceparent_parse("7f-" TID "-" PID "-ff-more", 60, &t));
	tt_span_id(span, 0x0123456789abcdefull);
	cr_assert_str_eq(span, "0123456789abcdef");
	tt_traceparent_format(out, &t, span);
	cr_assert_str_eq(out, "00-" TID "-0123456789abcdef-01");
	cr_assert(tt_traceparent_parse(out, strlen(out), &t), "what telltale sends reads back");
}

Test(traceparent, new_trace_is_never_all_zero)
{
	struct tt_trace t;
	char span[TT_SPAN_ID_HEX + 1], out[TT_TRACEPARENT_LEN + 1];
	tt_trace_new(&t, 0, 0);
	cr_assert_str_eq(t.trace_id, "00000000000000000000000000000001");
	tt_span_id(span, 0);
	cr_assert_str_eq(span, "0000000000000001");
	tt_trace_new(&t, 0xfedcba9876543210ull, 0x1ull);
	cr_assert_str_eq(t.trace_id, "fedcba98765432100000000000000001");
	cr_assert_eq(t.flags, 0);
	cr_assert_str_eq(t.parent_id, "");
	tt_traceparent_format(out, &t, span);
	cr_assert_str_eq(out, "00-fedcba98765432100000000000000001-0000000000000001-00");
}
