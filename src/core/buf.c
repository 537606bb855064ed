/*
 * Block pool: see buf.h. A free block stores the next pointer in its first
 * bytes; nothing else is kept per block.
 */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

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
		free(p->free);
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
		b = malloc(p->block_bytes);
		if (!b)
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
		free(b);
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
