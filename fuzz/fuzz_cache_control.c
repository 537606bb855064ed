/*
 * libFuzzer target for src/http/cache_control.c. Every input is read three
 * ways: as one Cache-Control field value, as an HTTP-date, and as a
 * response head whose freshness is computed.
 *
 * Besides crashes and sanitizer reports, it aborts when an invariant of
 * cache_control.h breaks: a delta value above 2^31 or set without its
 * flag, an unknown flag bit, a result that changes when the same line is
 * parsed twice (repeats keep the smallest value, so parsing is
 * idempotent), a second line that removes a flag or raises a value, a
 * parsed date that does not survive format-and-parse, or a freshness
 * lifetime or age above 2^31 (never negative: they are unsigned and
 * clamped), or a Vary record that does not match the request it was
 * taken from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cache_control.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define KNOWN_FLAGS ((1u << 16) - 1 | TT_CC_INVALID)

static void check_cc(const struct tt_cc *cc)
{
	CHECK((cc->flags & ~KNOWN_FLAGS) == 0);
	CHECK(cc->max_age_s <= TT_CC_DELTA_MAX && cc->s_maxage_s <= TT_CC_DELTA_MAX);
	CHECK(cc->stale_if_error_s <= TT_CC_DELTA_MAX && cc->max_stale_s <= TT_CC_DELTA_MAX);
	CHECK(cc->stale_while_revalidate_s <= TT_CC_DELTA_MAX &&
	      cc->min_fresh_s <= TT_CC_DELTA_MAX);
	CHECK((cc->flags & TT_CC_MAX_AGE) || cc->max_age_s == 0);
	CHECK((cc->flags & TT_CC_S_MAXAGE) || cc->s_maxage_s == 0);
	CHECK((cc->flags & TT_CC_STALE_IF_ERROR) || cc->stale_if_error_s == 0);
	CHECK((cc->flags & TT_CC_STALE_WHILE_REVALIDATE) || cc->stale_while_revalidate_s == 0);
	CHECK((cc->flags & TT_CC_MAX_STALE) || cc->max_stale_s == 0);
	CHECK((cc->flags & TT_CC_MIN_FRESH) || cc->min_fresh_s == 0);
}

/* b is a after more lines: flags only added, values only lowered. */
static void check_narrower(const struct tt_cc *a, const struct tt_cc *b)
{
	CHECK((a->flags & b->flags) == a->flags);
	CHECK(!(a->flags & TT_CC_MAX_AGE) || b->max_age_s <= a->max_age_s);
	CHECK(!(a->flags & TT_CC_S_MAXAGE) || b->s_maxage_s <= a->s_maxage_s);
	CHECK(!(a->flags & TT_CC_STALE_IF_ERROR) || b->stale_if_error_s <= a->stale_if_error_s);
	CHECK(!(a->flags & TT_CC_MAX_STALE) || b->max_stale_s <= a->max_stale_s);
}

static void fuzz_cc(const char *v, size_t len)
{
	struct tt_cc once, twice, more;
	size_t half = len / 2;

	tt_cc_init(&once);
	tt_cc_parse(&once, v, len);
	check_cc(&once);
	twice = once;
	tt_cc_parse(&twice, v, len);
	CHECK(memcmp(&once, &twice, sizeof(once)) == 0);
	/* Two lines: the halves, then the whole. */
	tt_cc_init(&more);
	tt_cc_parse(&more, v, half);
	check_cc(&more);
	twice = more;
	tt_cc_parse(&more, v + half, len - half);
	check_cc(&more);
	check_narrower(&twice, &more);
	tt_cc_parse(&once, v, half);
	check_cc(&once);
}

static void fuzz_date(const char *v, size_t len, int64_t now)
{
	char buf[TT_HTTP_DATE_LEN + 1];
	int64_t t, back;

	if (tt_http_date_parse(v, len, now, &t) != 0)
		return;
	CHECK(tt_http_date_format(t, buf) == TT_HTTP_DATE_LEN);
	CHECK(buf[TT_HTTP_DATE_LEN] == '\0');
	CHECK(tt_http_date_parse(buf, TT_HTTP_DATE_LEN, now, &back) == 0);
	CHECK(back == t);
}

/* The head stands for both the response (its Vary) and the request (the
 * values): the record must count what it writes and match its source. */
static void fuzz_vary(const struct tt_h1_head *h)
{
	size_t n = tt_cc_vary_record(NULL, h, h), i;
	char *rec = malloc(n ? n : 1);

	CHECK(rec);
	CHECK(tt_cc_vary_record(rec, h, h) == n);
	if (tt_cc_vary_valid(h))
		CHECK(tt_cc_vary_match(rec, n, h) == 1);
	for (i = 0; i < n && i < 256; i++)
		(void)tt_cc_vary_match(rec, i, h); /* a cut record: no crash */
	free(rec);
}

static void fuzz_head(const char *v, size_t len, int64_t now)
{
	static struct tt_h1_field fields[64];
	static const struct tt_h1_limits lim = {65536, 8192, 8192, 64};
	struct tt_h1_head h;
	struct tt_cc cc;
	struct tt_cc_fresh f;
	int ex;

	memset(&h, 0, sizeof(h));
	h.fields = fields;
	if (tt_h1_parse_response(v, len, TT_METHOD_GET, &lim, &h) <= 0)
		return;
	tt_cc_from_head(&cc, &h);
	check_cc(&cc);
	ex = tt_cc_freshness(&h, &cc, now, &f);
	CHECK(ex == f.is_explicit);
	CHECK(f.lifetime_s <= TT_CC_DELTA_MAX && f.initial_age_s <= TT_CC_DELTA_MAX);
	CHECK(ex == ((cc.flags & (TT_CC_MAX_AGE | TT_CC_S_MAXAGE)) || tt_h1_find(&h, "expires")));
	CHECK(ex || f.lifetime_s == 0);
	(void)tt_cc_pragma_no_cache(&h);
	fuzz_vary(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char *v = malloc(len ? len : 1); /* exact size: ASan sees any overread */
	int64_t now = 784111777;         /* 1994; the first bytes move it */
	size_t i;

	CHECK(v);
	if (len)
		memcpy(v, data, len);
	for (i = 0; i < len && i < 4; i++)
		now += (int64_t)data[i] << (8 * i + 4);
	fuzz_cc(v, len);
	fuzz_date(v, len, now);
	fuzz_head(v, len, now);
	free(v);
	return 0;
}
