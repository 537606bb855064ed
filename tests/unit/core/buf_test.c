/*
 * The block pool (src/core/buf.c): blocks come back to the free list
 * whatever the load, and go back to the kernel only on the tick's trim,
 * following the recent working set down.
 */
#include <criterion/criterion.h>

#include "core/buf.h"

#define N 1000

Test(buf, a_burst_is_kept_for_the_next_one_then_trimmed_to_max_free)
{
	struct tt_bufpool p;
	static char *b[N];
	tt_bufpool_init(&p, 32768, 64);
	for (int i = 0; i < N; i++)
		b[i] = tt_bufpool_get(&p);
	cr_assert_eq(p.nlive, N);
	for (int i = 0; i < N; i++)
		tt_bufpool_put(&p, &b[i]);
	cr_assert_null(b[0]);
	cr_assert_eq(p.nfree, N, "returned blocks stay mapped between ticks");
	tt_bufpool_trim(&p);
	cr_assert_eq(p.nfree, N, "the burst's working set is kept one tick");
	/* The next burst reuses them: no new block is mapped. */
	for (int i = 0; i < N; i++)
		b[i] = tt_bufpool_get(&p);
	cr_assert_eq(p.nfree, 0);
	for (int i = 0; i < N; i++)
		tt_bufpool_put(&p, &b[i]);
	/* Idle: the working set decays by a quarter per tick, to max_free. */
	size_t last = p.nfree;
	for (int t = 0; t < 30; t++) {
		tt_bufpool_trim(&p);
		cr_assert_leq(p.nfree, last);
		last = p.nfree;
	}
	cr_assert_eq(p.nfree, 64);
	tt_bufpool_fini(&p);
	cr_assert_eq(p.nfree, 0);
}

Test(buf, blocks_in_use_are_never_counted_as_free)
{
	struct tt_bufpool p;
	char *held[100], *tmp;
	tt_bufpool_init(&p, 4096, 8);
	for (int i = 0; i < 100; i++)
		held[i] = tt_bufpool_get(&p);
	for (int t = 0; t < 20; t++)
		tt_bufpool_trim(&p);
	cr_assert_eq(p.nlive, 100);
	cr_assert_eq(p.nfree, 0);
	held[0][0] = 'x'; /* still mapped and writable */
	tmp = tt_bufpool_get(&p);
	tt_bufpool_put(&p, &tmp);
	for (int i = 0; i < 100; i++)
		tt_bufpool_put(&p, &held[i]);
	tt_bufpool_fini(&p);
}

Test(buf, the_block_returned_last_comes_first_and_trim_keeps_the_recent_ones)
{
	struct tt_bufpool p;
	static char *b[N], *kept[N];
	tt_bufpool_init(&p, 4096, 8);
	for (int i = 0; i < N; i++)
		b[i] = kept[i] = tt_bufpool_get(&p);
	for (int i = 0; i < N; i++)
		tt_bufpool_put(&p, &b[i]);
	/* The last one returned is the first one out: still in the cache. */
	char *first = tt_bufpool_get(&p);
	cr_assert_eq(first, kept[N - 1]);
	tt_bufpool_put(&p, &first);
	/* Idle for long: trimmed to max_free, and the blocks kept are the
	 * ones returned last; the others are unmapped. */
	for (int t = 0; t < 60; t++)
		tt_bufpool_trim(&p);
	cr_assert_eq(p.nfree, 8);
	for (int i = 0; i < 8; i++) {
		char *g = tt_bufpool_get(&p);
		cr_assert_eq(g, kept[N - 1 - i], "get %d", i);
		g[0] = 1; /* still mapped */
		b[i] = g;
	}
	for (int i = 0; i < 8; i++)
		tt_bufpool_put(&p, &b[i]);
	tt_bufpool_fini(&p);
	cr_assert_eq(p.nfree, 0);
}
