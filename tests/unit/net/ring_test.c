/*
 * Batched sends on io_uring (src/net/ring.c) between real loopback TCP
 * sockets, on a real libuv loop: bytes arrive whole and in order, a send
 * the socket cannot take at once goes on until it is out, a cancelled send
 * never reaches the socket or stops touching its bytes at once, and every
 * callback runs from the loop.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "net/ring.h"
#include "net/tcp_pair.h"

static uv_loop_t loop;
static uv_timer_t alive; /* the ring's handles do not keep a loop running */
static struct tt_ring *ring;
static int calls, last_status;

static void on_alive(uv_timer_t *t)
{
	(void)t;
}

static void setup(void)
{
	int err = 0;
	cr_assert_eq(uv_loop_init(&loop), 0);
	ring = tt_ring_new(&loop, &err);
	cr_assert_not_null(ring, "io_uring refused: %s", uv_strerror(err));
	uv_timer_init(&loop, &alive);
	cr_assert_eq(uv_timer_start(&alive, on_alive, 3600 * 1000, 0), 0);
	calls = 0;
	last_status = 1;
}

static void teardown(void)
{
	tt_ring_close(ring);
	uv_close((uv_handle_t *)&alive, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle of the ring is left open");
}

TestSuite(ring, .init = setup, .fini = teardown);

static void on_sent(struct tt_ring_send *s, int status)
{
	(void)s;
	calls++;
	last_status = status;
}

/* A TCP pair with small buffers, so that a few MiB fill them. */
static void small_pair(int fds[2])
{
	int small = 65536;
	tcp_pair(fds);
	setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
}

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

static unsigned char *pattern(size_t n)
{
	unsigned char *p = malloc(n);
	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = byte_at(i);
	return p;
}

/* Read what is there from fd, checking each byte against the pattern;
 * returns 0 at end of stream, else 1. */
static int drain(int fd, size_t *got)
{
	unsigned char buf[65536];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			cr_assert_eq(buf[i], byte_at(*got + (size_t)i), "byte %zu changed",
			             *got + (size_t)i);
		*got += (size_t)r;
	}
	return r != 0;
}

Test(ring, sends_arrive_whole_and_in_order_from_the_loop)
{
	struct tt_ring_send s = {0};
	uv_buf_t b[3] = {uv_buf_init("hello ", 6), uv_buf_init("ring ", 5),
	                 uv_buf_init("world", 5)};
	char got[32] = {0};
	int fds[2];
	small_pair(fds);
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], b, 3, 0, on_sent), 0);
	cr_assert(tt_ring_busy(&s));
	cr_assert_eq(calls, 0, "the callback ran inside tt_ring_send");
	/* The send waits for the end of the loop turn. */
	cr_assert_eq(read(fds[1], got, sizeof(got)), -1);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 1);
	cr_assert_eq(last_status, 0);
	cr_assert_not(tt_ring_busy(&s));
	cr_assert_eq(read(fds[1], got, sizeof(got)), 16);
	cr_assert_str_eq(got, "hello ring world");
	close(fds[0]);
	close(fds[1]);
}

/* MSG_MORE (the last bytes before a close): the kernel holds them, even
 * with TCP_NODELAY, and they leave with the FIN. */
Test(ring, a_send_with_msg_more_leaves_with_the_fin)
{
	struct tt_ring_send s = {0};
	uv_buf_t b = uv_buf_init("last bytes", 10);
	char got[32] = {0};
	int fds[2], one = 1;
	struct pollfd pfd;
	tcp_pair(fds);
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], &b, 1, MSG_MORE, on_sent), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 1);
	cr_assert_eq(last_status, 0);
	pfd = (struct pollfd){.fd = fds[1], .events = POLLIN};
	cr_assert_eq(poll(&pfd, 1, 100), 0, "the bytes left without the FIN");
	cr_assert_eq(shutdown(fds[0], SHUT_WR), 0);
	cr_assert_eq(poll(&pfd, 1, 2000), 1);
	cr_assert_eq(read(fds[1], got, sizeof(got)), 10);
	cr_assert_str_eq(got, "last bytes");
	cr_assert_eq(poll(&pfd, 1, 2000), 1);
	cr_assert_eq(read(fds[1], got, sizeof(got)), 0, "no end of stream after the bytes");
	close(fds[0]);
	close(fds[1]);
}

Test(ring, a_send_the_socket_cannot_take_goes_on_until_it_is_out)
{
	const size_t n = 8u << 20;
	unsigned char *p = pattern(n);
	struct tt_ring_send s = {0};
	uv_buf_t b[2] = {uv_buf_init((char *)p, 3u << 20),
	                 uv_buf_init((char *)p + (3u << 20), 5u << 20)};
	size_t got = 0;
	int fds[2], turns = 0;
	small_pair(fds);
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], b, 2, 0, on_sent), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 0, "8 MiB went into a 64 KiB socket at once");
	cr_assert(tt_ring_busy(&s));
	/* Room made by the reader wakes the loop (the ring's eventfd), and
	 * each short send is continued where it stopped. */
	while (calls == 0 && turns++ < 100000) {
		drain(fds[1], &got);
		uv_run(&loop, UV_RUN_NOWAIT);
	}
	cr_assert_eq(calls, 1);
	cr_assert_eq(last_status, 0);
	/* All handed to the kernel; the tail may still sit in fds[0]'s
	 * send queue. */
	for (int i = 0; i < 1000 && got < n; i++) {
		drain(fds[1], &got);
		usleep(1000);
	}
	cr_assert_eq(got, n, "%zu of %zu bytes arrived", got, n);
	close(fds[0]);
	close(fds[1]);
	free(p);
}

Test(ring, a_send_cancelled_in_its_turn_never_reaches_the_socket)
{
	struct tt_ring_send s = {0};
	uv_buf_t b = uv_buf_init("never", 5);
	char got[8];
	int fds[2];
	small_pair(fds);
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], &b, 1, 0, on_sent), 0);
	tt_ring_cancel(ring, &s);
	/* The descriptor may be closed (and reused) at once. */
	close(fds[0]);
	cr_assert_eq(calls, 0, "the callback ran inside tt_ring_cancel");
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 1);
	cr_assert_eq(last_status, UV_ECANCELED);
	cr_assert_eq(read(fds[1], got, sizeof(got)), 0, "the cancelled bytes were sent");
	close(fds[1]);
}

Test(ring, a_send_cancelled_in_the_kernel_lets_go_of_its_bytes_at_once)
{
	const size_t n = 8u << 20;
	unsigned char *p = pattern(n);
	struct tt_ring_send s = {0};
	uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
	size_t got = 0;
	int fds[2];
	small_pair(fds);
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], &b, 1, 0, on_sent), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert(tt_ring_busy(&s), "not in the kernel: the test proves nothing");
	tt_ring_cancel(ring, &s);
	/* The bytes are the caller's again: whatever the socket still sends
	 * must come from before this point. */
	memset(p, 0xEE, n);
	close(fds[0]);
	for (int i = 0; i < 1000 && drain(fds[1], &got); i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_lt(got, n, "the whole send went out despite the cancel");
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 1);
	cr_assert_eq(last_status, UV_ECANCELED);
	cr_assert_not(tt_ring_busy(&s));
	close(fds[1]);
	free(p);
}

Test(ring, a_peer_gone_fails_the_send)
{
	struct linger lg = {1, 0};
	struct tt_ring_send s = {0};
	uv_buf_t b = uv_buf_init("too late", 8);
	int fds[2];
	small_pair(fds);
	setsockopt(fds[1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fds[1]); /* a reset */
	usleep(10000);
	cr_assert_eq(tt_ring_send(ring, &s, fds[0], &b, 1, 0, on_sent), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 1);
	cr_assert(last_status == UV_ECONNRESET || last_status == UV_EPIPE, "status %s",
	          uv_err_name(last_status));
	close(fds[0]);
}

Test(ring, a_send_of_too_many_buffers_is_refused_untouched)
{
	struct tt_ring_send s = {0};
	uv_buf_t b[TT_RING_MAX_IOV + 1];
	for (int i = 0; i <= TT_RING_MAX_IOV; i++)
		b[i] = uv_buf_init("x", 1);
	cr_assert_eq(tt_ring_send(ring, &s, 0, b, TT_RING_MAX_IOV + 1, 0, on_sent), UV_E2BIG);
	cr_assert_not(tt_ring_busy(&s));
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, 0);
}

Test(ring, sends_to_many_sockets_in_one_turn_all_arrive)
{
	enum { N = 64 };
	struct tt_ring_send s[N];
	int fds[N][2];
	char msg[N][24];
	memset(s, 0, sizeof(s));
	for (int i = 0; i < N; i++) {
		uv_buf_t b;
		small_pair(fds[i]);
		snprintf(msg[i], sizeof(msg[i]), "message %02u", (unsigned)i);
		b = uv_buf_init(msg[i], 10);
		cr_assert_eq(tt_ring_send(ring, &s[i], fds[i][0], &b, 1, 0, on_sent), 0);
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, N);
	for (int i = 0; i < N; i++) {
		char got[24] = {0};
		cr_assert_eq(read(fds[i][1], got, sizeof(got)), 10);
		cr_assert_str_eq(got, msg[i]);
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

Test(ring, a_full_batch_refuses_the_next_send_and_goes_at_the_next_round)
{
	enum { BATCH = 256 }; /* BATCH_SENDS in ring.c */
	static struct tt_ring_send s[BATCH + 1];
	uv_buf_t b = uv_buf_init("x", 1);
	char got[BATCH + 1];
	int fds[2];
	small_pair(fds);
	memset(s, 0, sizeof(s));
	for (int i = 0; i < BATCH; i++)
		cr_assert_eq(tt_ring_send(ring, &s[i], fds[0], &b, 1, 0, on_sent), 0, "send %d", i);
	/* The caller writes this one itself, at once. */
	cr_assert_eq(tt_ring_send(ring, &s[BATCH], fds[0], &b, 1, 0, on_sent), UV_EAGAIN);
	cr_assert_not(tt_ring_busy(&s[BATCH]));
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, BATCH);
	{
		ssize_t total = 0, r;
		for (int i = 0; i < 1000 && total < BATCH; i++) {
			if ((r = read(fds[1], got, sizeof(got))) > 0)
				total += r;
			else
				usleep(1000); /* Nagle holds the tail until an ACK */
		}
		cr_assert_eq(total, BATCH);
	}
	cr_assert_eq(tt_ring_send(ring, &s[BATCH], fds[0], &b, 1, 0, on_sent), 0, "room again");
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(calls, BATCH + 1);
	close(fds[0]);
	close(fds[1]);
}
