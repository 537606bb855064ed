/*
 * libFuzzer target for tt_traceparent_parse (src/http/traceparent.c).
 *
 * Besides crashes and sanitizer reports, it aborts when an invariant of
 * traceparent.h breaks: an accepted value whose ids are not lower-case hex
 * or are all zero, or a value telltale formats from it that does not parse
 * back to the same trace-id and span.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/traceparent.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static int lower_hex_nonzero(const char *s, size_t n)
{
	int nz = 0;
	for (size_t i = 0; i < n; i++) {
		CHECK((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
		nz |= s[i] != '0';
	}
	return nz;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_trace t, back;
	char span[TT_SPAN_ID_HEX + 1], out[TT_TRACEPARENT_LEN + 1];
	char *copy = malloc(size ? size : 1);
	uint64_t v = 0;

	CHECK(copy);
	memcpy(copy, data, size);
	if (tt_traceparent_parse(copy, size, &t)) {
		CHECK(strlen(t.trace_id) == TT_TRACE_ID_HEX && lower_hex_nonzero(t.trace_id, 32));
		CHECK(strlen(t.parent_id) == TT_SPAN_ID_HEX && lower_hex_nonzero(t.parent_id, 16));
		for (size_t i = 0; i < size && i < 8; i++)
			v = v << 8 | data[i];
		tt_span_id(span, v);
		tt_traceparent_format(out, &t, span);
		CHECK(tt_traceparent_parse(out, strlen(out), &back));
		CHECK(!memcmp(back.trace_id, t.trace_id, sizeof(t.trace_id)));
		CHECK(!strcmp(back.parent_id, span));
		CHECK(back.flags == (t.flags & TT_TRACE_FLAG_SAMPLED));
	}
	free(copy);
	return 0;
}
