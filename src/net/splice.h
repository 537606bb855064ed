/*
 * Zero-copy forwarding between two plain TCP sockets with splice(2): the
 * bytes go socket -> pipe -> socket inside the kernel, as page references,
 * and never through a user-space buffer (HAProxy's "option splice-auto",
 * the same mechanism).
 *
 * A worker keeps the pipes it used in a small pool, so a spliced response
 * costs no pipe(2) and no close(2) once warm. A pipe goes back to the pool
 * only empty; one still holding bytes (a response cut midway) is closed.
 *
 * All calls are non-blocking. Return values follow libuv: a byte count,
 * 0 for end of stream (tt_splice_in only), or a negative libuv error code
 * (UV_EAGAIN when the socket has nothing to give or no room to take).
 */
#ifndef TT_NET_SPLICE_H
#define TT_NET_SPLICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A pipe's capacity as created (Linux default: 16 pages). One splice moves
 * at most this much. */
#define TT_PIPE_BYTES   65536
#define TT_PIPEPOOL_MAX 32

struct tt_pipe {
	int rd, wr;   /* the pipe's ends */
	size_t bytes; /* spliced in, not yet out */
};

struct tt_pipepool {
	struct tt_pipe free[TT_PIPEPOOL_MAX];
	int nfree;
};

/* A pipe from the pool, or a new one. Returns 0, or a negative libuv code
 * (UV_EMFILE at the descriptor limit: the caller copies instead). */
int tt_pipe_get(struct tt_pipepool *pp, struct tt_pipe *p);

/* Give p back: pooled when empty and there is room, else closed. */
void tt_pipe_put(struct tt_pipepool *pp, struct tt_pipe *p);

/* Close every pooled pipe (the worker ends). */
void tt_pipepool_fini(struct tt_pipepool *pp);

/* Move up to max bytes (at most TT_PIPE_BYTES - p->bytes) from socket fd
 * into the pipe. */
ssize_t tt_splice_in(struct tt_pipe *p, int fd, size_t max);

/* Move what the pipe holds to socket fd, as much as it takes. Returns the
 * bytes moved (fewer than p->bytes held when the socket filled up), or a
 * negative code when the socket failed or took nothing (UV_EAGAIN). */
ssize_t tt_splice_out(struct tt_pipe *p, int fd);

/* Read the first byte the pipe holds into *b (a copy of one byte: how the
 * caller hands libuv a write to wait on when the socket is full). Returns
 * 1, or a negative libuv code. */
int tt_pipe_take_byte(struct tt_pipe *p, char *b);

/*
 * Empty the pipe into socket fd, a socket libuv owns. Adds the bytes moved
 * to *moved. Returns 1 when the pipe is empty; 0 when the socket is full:
 * the pipe's next byte is then in *spill, for the caller to write through
 * libuv, whose callback says when there is room (libuv watches the
 * socket, not telltale); a negative libuv code when the socket failed (or
 * the pipe could not be read).
 */
int tt_pipe_drain(struct tt_pipe *p, int fd, char *spill, uint64_t *moved);

#endif
