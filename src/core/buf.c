/*
 * Block pool: see buf.h. A free block stores the next pointer in its first
 * bytes; nothing else is kept per block.
 *
 * Blocks are mapped pages, not malloc memory, so that a burst that needed
 * many blocks does not leave the process's RSS high for good (glibc keeps
 * freed 32 KiB chunks in its heap). They go back to the kernel on the
 * worker's tick (tt_bufpool_trim), not when freed: at 500 concurrent
 * requests, unmapping every block past a small cap at once and mapping a
 * fresh one for the next request (page faults, zeroed pages) halved the
 * requests per second (bench/RESULTS.md).
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
	while (p->free) {
		void *next = *(void **)p->free;
		munmap(p->free, p->block_bytes);
		p->free = next;
	}
	p->nfree = 0;
}

char *tt_bufpool_get(struct tt_bufpool *p)
{
	char *b = p->free;
	if (b) {
		p->free = *(void **)b;
		p->nfree--;
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
	*(void **)b = p->free;
	p->free = b;
	p->nfree++;
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
	while (p->nfree > keep) {
		void *next = *(void **)p->free;
		munmap(p->free, p->block_bytes);
		p->free = next;
		p->nfree--;
	}
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
