/*
 * Splice between real loopback TCP sockets (src/net/splice.c): bytes go
 * socket -> pipe -> socket unchanged, the end of stream and a full socket
 * are reported as libuv codes, and the pipe pool keeps only empty pipes.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "net/splice.h"
#include "net/tcp_pair.h"

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* Write what fits of src[*off..n) to fd. */
static void feed(int fd, size_t *off, size_t n)
{
	unsigned char buf[8192];
	while (*off < n) {
		size_t k = n - *off < sizeof(buf) ? n - *off : sizeof(buf);
		ssize_t w;
		for (size_t i = 0; i < k; i++)
			buf[i] = byte_at(*off + i);
		w = write(fd, buf, k);
		if (w <= 0)
			return;
		*off += (size_t)w;
	}
}

/* Read what is there from fd, checking each byte against the pattern. */
static void drain(int fd, size_t *got)
{
	unsigned char buf[8192];
	ssize_t r;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < r; i++)
			cr_assert_eq(buf[i], byte_at(*got + (size_t)i), "byte %zu",
			             *got + (size_t)i);
		*got += (size_t)r;
	}
}

Test(splice, four_mib_pass_unchanged_then_the_end_of_stream)
{
	int up[2], down[2];
	struct tt_pipepool pool = {0};
	struct tt_pipe p;
	size_t n = 4u << 20, sent = 0, got = 0, moved = 0;
	int eof = 0;

	tcp_pair(up);
	tcp_pair(down);
	cr_assert_eq(tt_pipe_get(&pool, &p), 0);
	cr_assert_eq(tt_splice_in(&p, up[1], 65536), UV_EAGAIN, "nothing sent yet");
	for (int spins = 0; spins < 100000 && !(eof && got == n); spins++) {
		ssize_t r;
		feed(up[0], &sent, n);
		if (sent == n && up[0] >= 0) {
			shutdown(up[0], SHUT_WR);
			close(up[0]);
			up[0] = -1;
		}
		r = tt_splice_out(&p, down[0]);
		cr_assert(r >= 0 || r == UV_EAGAIN, "splice out: %zd", r);
		if (r > 0)
			moved += (size_t)r;
		if (p.bytes == 0 && !eof) {
			r = tt_splice_in(&p, up[1], 65536);
			if (r == 0)
				eof = 1;
			else
				cr_assert(r > 0 || r == UV_EAGAIN, "splice in: %zd", r);
			cr_assert_leq(p.bytes, TT_PIPE_BYTES);
		}
		drain(down[1], &got);
	}
	cr_assert(eof, "the end of stream was seen");
	cr_assert_eq(moved, n);
	cr_assert_eq(got, n);
	tt_pipe_put(&pool, &p);
	cr_assert_eq(pool.nfree, 1);
	tt_pipepool_fini(&pool);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

Test(splice, a_full_socket_says_eagain_and_one_byte_can_be_taken)
{
	int up[2], down[2];
	struct tt_pipepool pool = {0};
	struct tt_pipe p;
	size_t sent = 0, got = 0, out = 0;
	char b = 0;
	ssize_t r;

	tcp_pair(up);
	tcp_pair(down);
	cr_assert_eq(tt_pipe_get(&pool, &p), 0);
	/* Fill the downstream until it takes nothing more. */
	for (int i = 0; i < 10000; i++) {
		if (p.bytes == 0) {
			feed(up[0], &sent, sent + 65536);
			r = tt_splice_in(&p, up[1], 65536);
			cr_assert(r > 0 || r == UV_EAGAIN, "splice in: %zd", r);
		}
		r = tt_splice_out(&p, down[0]);
		if (r == UV_EAGAIN)
			break;
		cr_assert_geq(r, 0);
		out += (size_t)r;
		if (p.bytes)
			break; /* partial: full now */
	}
	if (p.bytes && tt_splice_out(&p, down[0]) != UV_EAGAIN)
		cr_assert_fail("a full socket must say UV_EAGAIN");
	cr_assert_gt(p.bytes, 0);
	{
		size_t before = p.bytes;
		cr_assert_eq(tt_pipe_take_byte(&p, &b), 1);
		cr_assert_eq(p.bytes, before - 1);
		cr_assert_eq((unsigned char)b, byte_at(out), "the byte after the last one moved");
	}
	/* Bytes still in the pipe: put closes it instead of pooling it. */
	tt_pipe_put(&pool, &p);
	cr_assert_eq(pool.nfree, 0);
	cr_assert_eq(p.rd, -1);
	drain(down[1], &got);
	cr_assert_eq(got, out);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}

Test(splice, drain_empties_the_pipe_or_hands_out_the_next_byte_when_the_socket_is_full)
{
	struct tt_pipepool pool = {0};
	struct tt_pipe p;
	int up[2], down[2];
	size_t sent = 0, got = 0;
	uint64_t moved = 0;
	char spill = 0;
	int r = 1;

	tcp_pair(up);
	tcp_pair(down);
	cr_assert_eq(tt_pipe_get(&pool, &p), 0);
	/* Room in the socket: the pipe empties. */
	feed(up[0], &sent, 1000);
	cr_assert_eq(tt_splice_in(&p, up[1], 65536), 1000);
	cr_assert_eq(tt_pipe_drain(&p, down[0], &spill, &moved), 1);
	cr_assert_eq(moved, 1000);
	cr_assert_eq(p.bytes, 0);
	/* Keep filling until the socket is full: then 0, and the byte after
	 * the last one moved is in spill, out of the pipe. */
	for (int i = 0; i < 10000 && r == 1; i++) {
		feed(up[0], &sent, sent + 65536);
		if (tt_splice_in(&p, up[1], 65536) > 0)
			r = tt_pipe_drain(&p, down[0], &spill, &moved);
	}
	cr_assert_eq(r, 0, "a full socket must stop the drain");
	cr_assert_eq((unsigned char)spill, byte_at(moved), "the byte after the last one moved");
	tt_pipe_put(&pool, &p);
	drain(down[1], &got);
	cr_assert_eq(got, moved);
	/* A socket that failed: its libuv code. */
	close(down[1]);
	close(down[0]);
	cr_assert_eq(tt_pipe_get(&pool, &p), 0);
	feed(up[0], &sent, sent + 10);
	while (p.bytes == 0)
		tt_splice_in(&p, up[1], 10);
	cr_assert_lt(tt_pipe_drain(&p, down[0], &spill, &moved), 0);
	tt_pipe_put(&pool, &p);
	close(up[0]);
	close(up[1]);
	tt_pipepool_fini(&pool);
}

Test(splice, the_pool_hands_back_the_same_pipes_and_keeps_at_most_its_max)
{
	struct tt_pipepool pool = {0};
	static struct tt_pipe p[TT_PIPEPOOL_MAX + 4];
	int kept, extra;
	for (int i = 0; i < TT_PIPEPOOL_MAX + 4; i++)
		cr_assert_eq(tt_pipe_get(&pool, &p[i]), 0);
	kept = p[TT_PIPEPOOL_MAX - 1].rd;
	extra = p[TT_PIPEPOOL_MAX].rd;
	for (int i = 0; i < TT_PIPEPOOL_MAX + 4; i++)
		tt_pipe_put(&pool, &p[i]);
	cr_assert_eq(pool.nfree, TT_PIPEPOOL_MAX);
	cr_assert_eq(fcntl(extra, F_GETFD), -1, "a pipe past the pool's max is closed");
	cr_assert_eq(tt_pipe_get(&pool, &p[0]), 0);
	cr_assert_eq(p[0].rd, kept, "the last pipe pooled is the next one out");
	cr_assert_eq(p[0].bytes, 0);
	tt_pipe_put(&pool, &p[0]);
	tt_pipepool_fini(&pool);
	cr_assert_eq(pool.nfree, 0);
	cr_assert_eq(fcntl(kept, F_GETFD), -1, "fini closes the pooled pipes");
}
