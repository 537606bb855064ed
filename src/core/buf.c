/*
 * Block pool: see buf.h. A free block stores the next pointer in its first
 * bytes; nothing else is kept per block.
 *
 * Blocks are mapped pages, not malloc memory: a block freed past the free
 * list's cap goes back to the kernel at once, so a burst that needed many
 * blocks does not leave the process's RSS high for good (glibc keeps
 * freed 32 KiB chunks in its heap).
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
	p->nlive++;
	return b;
}

void tt_bufpool_put(struct tt_bufpool *p, char **bp)
{
	char *b = *bp;
	if (!b)
		return;
	*bp = NULL;
	p->nlive--;
	if (p->nfree >= p->max_free) {
		munmap(b, p->block_bytes);
		return;
	}
	*(void **)b = p->free;
	p->free = b;
	p->nfree++;
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
