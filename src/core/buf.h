/*
 * Fixed-size buffer blocks from a per-worker free list.
 *
 * Every connection reads into a block taken when bytes arrive and given back
 * when the connection goes idle, so an idle keep-alive connection holds no
 * block at all. Blocks never grow: a peer that sends more than a block holds
 * meets a limit (431, 413 or backpressure), never a realloc.
 *
 * Invariant: a block is either on the free list or owned by exactly one
 * connection; the pool is touched only by its worker's thread.
 */
#ifndef TT_CORE_BUF_H
#define TT_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct tt_bufpool {
	char **free;        /* free blocks, the most recently returned last */
	size_t cap;         /* room in free[] */
	size_t block_bytes; /* size of every block */
	size_t nfree;
	size_t max_free; /* blocks always kept on the list */
	size_t nlive;    /* blocks handed out and not yet returned */
	size_t peak;     /* most blocks live at once since the last trim */
	size_t want;     /* the working set: recent peaks, decaying */
};

/* Free blocks past this many are unmapped at once, between ticks. */
#define TT_BUF_MAX_FREE 8192

void tt_bufpool_init(struct tt_bufpool *p, size_t block_bytes, size_t max_free);
/* Free every block on the list. Blocks still handed out are the caller's bug. */
void tt_bufpool_fini(struct tt_bufpool *p);
/* A block of p->block_bytes. Aborts on allocation failure (our own memory). */
char *tt_bufpool_get(struct tt_bufpool *p);
/* Give a block back; NULL is ignored. Sets *b to NULL. */
void tt_bufpool_put(struct tt_bufpool *p, char **b);
/* On the worker's tick: unmap free blocks beyond the recent working set
 * (and max_free), so memory follows load down without unmapping and
 * mapping blocks request by request. */
void tt_bufpool_trim(struct tt_bufpool *p);

/* A linear buffer over one block: bytes [off, len) are unread. */
struct tt_buf {
	char *data;   /* block from the pool, or NULL when idle */
	uint32_t off; /* first unread byte */
	uint32_t len; /* end of data */
};

/* Move unread bytes to keep[] bytes after the start: keep the first `keep`
 * bytes (a parsed head still referenced), drop [keep, off), slide [off, len)
 * down. */
void tt_buf_compact(struct tt_buf *b, uint32_t keep);

#endif
