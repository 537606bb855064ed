/*
 * Batched socket sends on io_uring.
 *
 * With libuv every socket write is its own system call, made the moment a
 * callback asks for it. A worker's ring collects the sends its callbacks
 * ask for during one loop turn and hands them to the kernel together, in
 * one io_uring_enter, after the turn's reads (a uv_check handle) and again
 * before the loop waits (a uv_prepare handle). On this machine that makes
 * a small keep-alive request cost about a quarter less CPU than a write(2)
 * per send (bench/RESULTS.md, "The floor"). Reads, connects, accepts, TLS
 * and splices stay with libuv. A batch holds at most a few hundred sends:
 * past that, in a turn with thousands of events, the caller writes at once
 * and the batch goes at the poll phase's next round.
 *
 * A send is a struct tt_ring_send embedded in its owner, one at a time per
 * socket: queue it, and its callback runs once every byte is out (status
 * 0) or the send failed (a negative libuv code; UV_ECANCELED after
 * tt_ring_cancel). Callbacks run from the loop, never inside the call that
 * queued or cancelled the send. A short send is continued by the ring, so
 * the callback sees all or an error.
 *
 * The descriptor is used only when the send is handed to the kernel, which
 * then holds its own reference to the socket: an owner that closes its
 * socket must first cancel a send that is still busy, and keep the send's
 * memory (and the bytes it points at) until its callback has run.
 *
 * Completions that cannot happen at once (the socket's buffer is full) are
 * reported through an eventfd the loop polls, enabled only while such a
 * send is out.
 */
#ifndef TT_NET_RING_H
#define TT_NET_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <uv.h>

/* Buffers one send can carry; a write with more goes through libuv. */
#define TT_RING_MAX_IOV 16

struct tt_ring;
struct tt_ring_send;

typedef void (*tt_ring_send_cb)(struct tt_ring_send *s, int status);

enum tt_ring_send_state {
	TT_RS_IDLE = 0,
	TT_RS_QUEUED,   /* waiting for the end of the loop turn */
	TT_RS_INFLIGHT, /* in the kernel */
};

struct tt_ring_send {
	struct tt_ring_send *next; /* the ring's queue */
	tt_ring_send_cb cb;
	void *data; /* the owner's */
	struct msghdr msg;
	struct iovec iov[TT_RING_MAX_IOV];
	int fd;
	uint8_t state; /* enum tt_ring_send_state */
	uint8_t cancelled;
	int flags; /* MSG_ flags beside MSG_NOSIGNAL */
};

/* A ring on loop, made in the thread that runs loop (it alone may submit).
 * NULL with a negative libuv code in *err when the kernel refuses io_uring
 * (older than 6.1, kernel.io_uring_disabled, a seccomp filter): the caller
 * writes through libuv then. */
struct tt_ring *tt_ring_new(uv_loop_t *loop, int *err);

/* Close the ring's handles; it frees itself in their close callbacks. No
 * send may be busy. */
void tt_ring_close(struct tt_ring *r);

/* Queue bufs[0..n) for socket fd; the buffers must stay valid until cb.
 * flags: 0, or MSG_MORE for the last bytes before the caller shuts or
 * closes the socket: TCP then holds a partial segment back and sends it
 * with the FIN, one segment instead of two. Returns 0, or with nothing
 * queued UV_E2BIG (n over TT_RING_MAX_IOV) or UV_EAGAIN (a batch is
 * full): the caller then writes at once, as libuv does. */
int tt_ring_send(struct tt_ring *r, struct tt_ring_send *s, int fd, const uv_buf_t *bufs, int n,
                 int flags, tt_ring_send_cb cb);

/* Stop a busy send before its socket closes: one still queued is dropped
 * without touching the socket; one in the kernel is cancelled there at
 * once, and the bytes it points at may be reused when this returns (bytes
 * already sent stay sent). Its callback still runs, from the loop, with
 * UV_ECANCELED: s must stay valid until then. No-op on an idle send. */
void tt_ring_cancel(struct tt_ring *r, struct tt_ring_send *s);

static inline int tt_ring_busy(const struct tt_ring_send *s)
{
	return s->state != TT_RS_IDLE;
}

#endif
