/*
 * Batched socket sends on io_uring: see ring.h.
 */
#include "net/ring.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RING_ENTRIES 1024
#define REAP_BATCH   64
/* Rounds of submit-and-reap in one flush: a callback may queue the next
 * send at once (a pipelined response); past this the next turn goes on. */
#define FLUSH_ROUNDS 16
/* Sends queued at most: past this a loop turn's sends are written at once
 * by the caller. Batching a few hundred sends saves system calls; batching
 * thousands (libuv's poll phase can run 48 rounds of 1,024 events before
 * the check handle) costs more than it saves: every exchange waiting on
 * its send holds its buffers, and their bytes are out of the cache when
 * the batch goes. At 5,000 connections a whole-turn batch took a third
 * more CPU per request and half again the memory. */
#define BATCH_SENDS 256

struct tt_ring {
	struct io_uring ring;
	uv_prepare_t prepare;
	uv_check_t check;
	uv_poll_t poll; /* on evfd: a send out in the kernel completed */
	int evfd;
	int handles;  /* open uv handles: freed at 0 */
	int flushing; /* re-entry guard */
	int evfd_on;  /* completions signal evfd */
	int kicked;   /* evfd made readable by us: a flush is due */
	unsigned queued;
	unsigned inflight;
	struct tt_ring_send *head, *tail;
};

static void push(struct tt_ring *r, struct tt_ring_send *s)
{
	s->next = NULL;
	s->state = TT_RS_QUEUED;
	r->queued++;
	if (r->tail)
		r->tail->next = s;
	else
		r->head = s;
	r->tail = s;
}

static struct tt_ring_send *pop(struct tt_ring *r)
{
	struct tt_ring_send *s = r->head;
	r->head = s->next;
	r->queued--;
	if (!r->head)
		r->tail = NULL;
	s->next = NULL;
	return s;
}

/* Bytes still to send, after res of them went. */
static size_t advance(struct tt_ring_send *s, size_t res)
{
	size_t left = 0;
	while (s->msg.msg_iovlen && res >= s->msg.msg_iov[0].iov_len) {
		res -= s->msg.msg_iov[0].iov_len;
		s->msg.msg_iov++;
		s->msg.msg_iovlen--;
	}
	if (s->msg.msg_iovlen) {
		s->msg.msg_iov[0].iov_base = (char *)s->msg.msg_iov[0].iov_base + res;
		s->msg.msg_iov[0].iov_len -= res;
	}
	for (size_t i = 0; i < s->msg.msg_iovlen; i++)
		left += s->msg.msg_iov[i].iov_len;
	return left;
}

static void done(struct tt_ring_send *s, int status)
{
	s->state = TT_RS_IDLE;
	s->cb(s, status);
}

static void complete(struct tt_ring *r, struct tt_ring_send *s, int res)
{
	r->inflight--;
	if (s->cancelled)
		res = UV_ECANCELED;
	else if (res > 0 && advance(s, (size_t)res) > 0) {
		push(r, s); /* a short send: the rest goes in the next round */
		return;
	} else if (res == 0)
		res = UV_EPIPE; /* nothing taken of a non-empty send */
	done(s, res < 0 ? res : 0);
}

/* Handle the completions the ring holds; how many there were. */
static unsigned reap(struct tt_ring *r)
{
	struct io_uring_cqe *cqes[REAP_BATCH];
	unsigned n, total = 0;
	while ((n = io_uring_peek_batch_cqe(&r->ring, cqes, REAP_BATCH)) > 0) {
		struct {
			struct tt_ring_send *s;
			int res;
		} got[REAP_BATCH];
		for (unsigned i = 0; i < n; i++) {
			got[i].s = io_uring_cqe_get_data(cqes[i]);
			got[i].res = cqes[i]->res;
		}
		io_uring_cq_advance(&r->ring, n);
		for (unsigned i = 0; i < n; i++)
			complete(r, got[i].s, got[i].res);
		total += n;
	}
	return total;
}

/* Turn what is queued into submission entries, as many as there is room
 * for (the rest go in the next round). */
static void fill(struct tt_ring *r)
{
	while (r->head) {
		struct io_uring_sqe *e;
		struct tt_ring_send *s = r->head;
		if (s->cancelled) {
			/* Dropped before it reached the kernel: its descriptor
			 * may be closed and reused already. */
			pop(r);
			done(s, UV_ECANCELED);
			continue;
		}
		if (!(e = io_uring_get_sqe(&r->ring)))
			return;
		pop(r);
		s->state = TT_RS_INFLIGHT;
		r->inflight++;
		io_uring_prep_sendmsg(e, s->fd, &s->msg, MSG_NOSIGNAL | s->flags);
		io_uring_sqe_set_data(e, s);
	}
}

/* The eventfd wakes the loop only while a send is out in the kernel; a
 * completion at submission needs no wake-up and would cost a loop turn. */
static void evfd_want(struct tt_ring *r, int on)
{
	if (r->evfd_on == on)
		return;
	r->evfd_on = on;
	io_uring_cq_eventfd_toggle(&r->ring, on);
}

/* Work for a flush: sends queued, or completions posted (a cancelled
 * send's). */
static int pending(struct tt_ring *r)
{
	return r->head || io_uring_cq_ready(&r->ring);
}

static void flush(struct tt_ring *r)
{
	if (r->flushing)
		return;
	r->flushing = 1;
	r->kicked = 0;
	for (int round = 0; round < FLUSH_ROUNDS && pending(r); round++) {
		fill(r);
		if (io_uring_sq_ready(&r->ring) || r->inflight)
			io_uring_submit_and_get_events(&r->ring);
		reap(r);
	}
	evfd_want(r, r->inflight > 0);
	/* A completion that came between the last reap and the toggle
	 * signalled nothing: look once more. */
	if (r->inflight > 0 && (io_uring_cq_ready(&r->ring) ||
	                        (IO_URING_READ_ONCE(*r->ring.sq.kflags) & IORING_SQ_TASKRUN))) {
		io_uring_get_events(&r->ring);
		reap(r);
	}
	r->flushing = 0;
}

static void on_prepare(uv_prepare_t *h)
{
	struct tt_ring *r = h->data;
	if (pending(r))
		flush(r);
}

static void on_check(uv_check_t *h)
{
	struct tt_ring *r = h->data;
	if (pending(r))
		flush(r);
}

static void on_evfd(uv_poll_t *h, int status, int events)
{
	struct tt_ring *r = h->data;
	uint64_t v;
	(void)status;
	(void)events;
	if (read(r->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	io_uring_get_events(&r->ring);
	reap(r);
	flush(r);
}

struct tt_ring *tt_ring_new(uv_loop_t *loop, int *err)
{
	struct io_uring_params p;
	struct tt_ring *r = calloc(1, sizeof(*r));
	int e;
	if (!r) {
		*err = UV_ENOMEM;
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	/* Deferred task work (Linux 6.1): completions are posted when this
	 * thread asks, in batches, never while it runs its own code, so a
	 * send progresses only inside this thread's io_uring_enter calls. A
	 * kernel without it gets no ring: then tt_ring_cancel's synchronous
	 * cancel (6.0) is sure to be there. */
	p.flags =
	    IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	e = io_uring_queue_init_params(RING_ENTRIES, &r->ring, &p);
	if (e != 0) {
		*err = e;
		free(r);
		return NULL;
	}
	r->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	e = r->evfd < 0 ? -errno : io_uring_register_eventfd(&r->ring, r->evfd);
	if (e == 0)
		e = uv_poll_init(loop, &r->poll, r->evfd);
	if (e != 0) {
		if (r->evfd >= 0)
			close(r->evfd);
		io_uring_queue_exit(&r->ring);
		free(r);
		*err = e;
		return NULL;
	}
	r->evfd_on = 1;
	evfd_want(r, 0);
	uv_prepare_init(loop, &r->prepare);
	uv_check_init(loop, &r->check);
	r->poll.data = r->prepare.data = r->check.data = r;
	r->handles = 3;
	uv_prepare_start(&r->prepare, on_prepare);
	uv_check_start(&r->check, on_check);
	uv_poll_start(&r->poll, UV_READABLE, on_evfd);
	/* The ring's handles do not keep the loop alive on their own. */
	uv_unref((uv_handle_t *)&r->prepare);
	uv_unref((uv_handle_t *)&r->check);
	uv_unref((uv_handle_t *)&r->poll);
	return r;
}

static void on_closed(uv_handle_t *h)
{
	struct tt_ring *r = h->data;
	if (--r->handles)
		return;
	io_uring_queue_exit(&r->ring);
	close(r->evfd);
	free(r);
}

void tt_ring_close(struct tt_ring *r)
{
	if (!r)
		return;
	uv_close((uv_handle_t *)&r->prepare, on_closed);
	uv_close((uv_handle_t *)&r->check, on_closed);
	uv_close((uv_handle_t *)&r->poll, on_closed);
}

int tt_ring_send(struct tt_ring *r, struct tt_ring_send *s, int fd, const uv_buf_t *bufs, int n,
                 int flags, tt_ring_send_cb cb)
{
	if (n > TT_RING_MAX_IOV)
		return UV_E2BIG;
	if (r->queued >= BATCH_SENDS) {
		/* Full: the batch goes at the next round of the poll phase,
		 * from evfd's callback, made readable here. */
		uint64_t one = 1;
		if (!r->kicked && write(r->evfd, &one, sizeof(one)) == sizeof(one))
			r->kicked = 1;
		return UV_EAGAIN;
	}
	for (int i = 0; i < n; i++) {
		s->iov[i].iov_base = bufs[i].base;
		s->iov[i].iov_len = bufs[i].len;
	}
	memset(&s->msg, 0, sizeof(s->msg));
	s->msg.msg_iov = s->iov;
	s->msg.msg_iovlen = (size_t)n;
	s->fd = fd;
	s->flags = flags;
	s->cb = cb;
	s->cancelled = 0;
	push(r, s);
	return 0;
}

void tt_ring_cancel(struct tt_ring *r, struct tt_ring_send *s)
{
	struct io_uring_sync_cancel_reg reg;
	if (s->state == TT_RS_IDLE || s->cancelled)
		return;
	s->cancelled = 1; /* a queued one is dropped by fill() */
	if (s->state != TT_RS_INFLIGHT)
		return;
	/* In the kernel: cancelled now, and synchronously, so that the bytes
	 * it points at can be reused once this returns. Its completion waits
	 * in the ring for the next reap; if it finished first, the cancel
	 * finds nothing and its result is dropped just the same. */
	memset(&reg, 0, sizeof(reg));
	reg.fd = s->fd;
	reg.flags = IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_ALL;
	reg.timeout.tv_sec = -1;
	reg.timeout.tv_nsec = -1;
	(void)io_uring_register_sync_cancel(&r->ring, &reg);
}
