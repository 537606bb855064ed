/*
 * W3C traceparent: see traceparent.h. Upper-case hex is invalid (the spec
 * says lower-case only, and a receiver must not accept other forms).
 */
#include "http/traceparent.h"

#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static int lowhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1 when v[0..n) is lower-case hex; *nonzero set when a digit is not 0. */
static int hex_run(const char *v, size_t n, int *nonzero)
{
	*nonzero = 0;
	for (size_t i = 0; i < n; i++) {
		int d = lowhex(v[i]);
		if (d < 0)
			return 0;
		*nonzero |= d != 0;
	}
	return 1;
}

int tt_traceparent_parse(const char *v, size_t len, struct tt_trace *out)
{
	int nz;
	if (!v || len < TT_TRACEPARENT_LEN)
		return 0;
	if (!hex_run(v, 2, &nz) || (v[0] == 'f' && v[1] == 'f'))
		return 0;
	/* Version 00 has exactly this length; a later version may append
	 * fields after a dash (section 3.2.4). */
	if (v[0] == '0' && v[1] == '0' ? len != TT_TRACEPARENT_LEN
	                               : len > TT_TRACEPARENT_LEN && v[TT_TRACEPARENT_LEN] != '-')
		return 0;
	if (v[2] != '-' || v[35] != '-' || v[52] != '-')
		return 0;
	if (!hex_run(v + 3, TT_TRACE_ID_HEX, &nz) || !nz)
		return 0;
	if (!hex_run(v + 36, TT_SPAN_ID_HEX, &nz) || !nz)
		return 0;
	if (!hex_run(v + 53, 2, &nz))
		return 0;
	memcpy(out->trace_id, v + 3, TT_TRACE_ID_HEX);
	out->trace_id[TT_TRACE_ID_HEX] = 0;
	memcpy(out->parent_id, v + 36, TT_SPAN_ID_HEX);
	out->parent_id[TT_SPAN_ID_HEX] = 0;
	out->flags = (uint8_t)(lowhex(v[53]) << 4 | lowhex(v[54]));
	return 1;
}

static void put_hex64(char *out, uint64_t v)
{
	for (int i = 15; i >= 0; i--) {
		out[i] = hexdigits[v & 15];
		v >>= 4;
	}
}

void tt_trace_new(struct tt_trace *t, uint64_t hi, uint64_t lo)
{
	if ((hi | lo) == 0)
		lo = 1;
	put_hex64(t->trace_id, hi);
	put_hex64(t->trace_id + 16, lo);
	t->trace_id[TT_TRACE_ID_HEX] = 0;
	t->parent_id[0] = 0;
	t->flags = 0;
}

void tt_span_id(char *out, uint64_t v)
{
	put_hex64(out, v ? v : 1);
	out[TT_SPAN_ID_HEX] = 0;
}

void tt_traceparent_format(char *out, const struct tt_trace *t, const char *span_id)
{
	uint8_t f = t->flags & TT_TRACE_FLAG_SAMPLED;
	memcpy(out, "00-", 3);
	memcpy(out + 3, t->trace_id, TT_TRACE_ID_HEX);
	out[35] = '-';
	memcpy(out + 36, span_id, TT_SPAN_ID_HEX);
	out[52] = '-';
	out[53] = hexdigits[f >> 4];
	out[54] = hexdigits[f & 15];
	out[TT_TRACEPARENT_LEN] = 0;
}
