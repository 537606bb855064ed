/*
 * Block pool: see buf.h. The free blocks are a stack of pointers beside
 * them: a get takes the block returned last (still in the cache) without
 * reading the block itself. When a free block held the link to the next,
 * that load missed the cache on most gets at 500 connections (1.9% of the
 * CPU in tt_bufpool_get alone).
 *
 * Blocks are mapped pages, not malloc memory, so that a burst that needed
 * many blocks does not leave the process's RSS high for good (glibc keeps
 * freed 32 KiB chunks in its heap). They go back to the kernel on the
 * worker's tick (tt_bufpool_trim), not when freed: at 500 concurrent
 * requests, unmapping every block past a small cap at once and mapping a
 * fresh one for the next request (page faults, zeroed pages) halved the
 * requests per second (bench/RESULTS.md). The trim unmaps the blocks
 * returned longest ago.
 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void tt_bufpool_init(struct tt_bufpool *p, size_t block_bytes, size_t max_free)
{
	memset(p, 0, sizeof(*p));
	p->block_bytes = block_bytes;
	p->max_free = max_free;
}

void tt_bufpool_fini(struct tt_bufpool *p)
{
	for (size_t i = 0; i < p->nfree; i++)
		munmap(p->free[i], p->block_bytes);
	free(p->free);
	p->free = NULL;
	p->nfree = p->cap = 0;
}

char *tt_bufpool_get(struct tt_bufpool *p)
{
	char *b;
	if (p->nfree) {
		b = p->free[--p->nfree];
	} else {
		b = mmap(NULL, p->block_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		         -1, 0);
		if (b == MAP_FAILED)
			abort();
	}
	if (++p->nlive > p->peak)
		p->peak = p->nlive;
	return b;
}

void tt_bufpool_put(struct tt_bufpool *p, char **bp)
{
	char *b = *bp;
	if (!b)
		return;
	*bp = NULL;
	p->nlive--;
	if (p->nfree >= TT_BUF_MAX_FREE) {
		munmap(b, p->block_bytes);
		return;
	}
	if (p->nfree == p->cap) {
		/* Grows with the working set (at most TT_BUF_MAX_FREE pointers),
		 * then never again. */
		size_t cap = p->cap ? p->cap * 2 : 64;
		char **f = realloc(p->free, cap * sizeof(*f));
		if (!f) {
			munmap(b, p->block_bytes);
			return;
		}
		p->free = f;
		p->cap = cap;
	}
	p->free[p->nfree++] = b;
}

void tt_bufpool_trim(struct tt_bufpool *p)
{
	size_t keep;
	/* The working set: the recent peak, decaying by a quarter a tick
	 * once the load is gone (1000 blocks down to 64 in about a second). */
	p->want = p->peak > p->want - p->want / 4 ? p->peak : p->want - p->want / 4;
	p->peak = p->nlive;
	keep = p->want > p->nlive ? p->want - p->nlive : 0;
	if (keep < p->max_free)
		keep = p->max_free;
	if (p->nfree <= keep)
		return;
	for (size_t i = 0; i < p->nfree - keep; i++)
		munmap(p->free[i], p->block_bytes);
	memmove(p->free, p->free + (p->nfree - keep), keep * sizeof(*p->free));
	p->nfree = keep;
}

void tt_buf_compact(struct tt_buf *b, uint32_t keep)
{
	uint32_t unread = b->len - b->off;
	if (b->off == keep)
		return;
	if (unread)
		memmove(b->data + keep, b->data + b->off, unread);
	b->off = keep;
	b->len = keep + unread;
}
