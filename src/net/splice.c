#include "net/splice.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>

int tt_pipe_get(struct tt_pipepool *pp, struct tt_pipe *p)
{
	int fds[2];
	if (pp->nfree > 0) {
		*p = pp->free[--pp->nfree];
		return 0;
	}
	if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
		return uv_translate_sys_error(errno);
	p->rd = fds[0];
	p->wr = fds[1];
	p->bytes = 0;
	return 0;
}

static void pipe_close(struct tt_pipe *p)
{
	close(p->rd);
	close(p->wr);
	p->rd = p->wr = -1;
	p->bytes = 0;
}

void tt_pipe_put(struct tt_pipepool *pp, struct tt_pipe *p)
{
	if (p->bytes == 0 && pp->nfree < TT_PIPEPOOL_MAX)
		pp->free[pp->nfree++] = *p;
	else
		pipe_close(p);
	p->rd = p->wr = -1;
	p->bytes = 0;
}

void tt_pipepool_fini(struct tt_pipepool *pp)
{
	while (pp->nfree > 0)
		pipe_close(&pp->free[--pp->nfree]);
}

ssize_t tt_splice_in(struct tt_pipe *p, int fd, size_t max)
{
	size_t room = TT_PIPE_BYTES - p->bytes;
	ssize_t n;
	if (max > room)
		max = room;
	if (max == 0)
		return UV_ENOBUFS;
	do
		n = splice(fd, NULL, p->wr, NULL, max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return uv_translate_sys_error(errno);
	p->bytes += (size_t)n;
	return n;
}

ssize_t tt_splice_out(struct tt_pipe *p, int fd)
{
	size_t moved = 0;
	while (p->bytes > 0) {
		ssize_t n =
		    splice(p->rd, NULL, fd, NULL, p->bytes, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (moved)
				break;
			return n < 0 ? uv_translate_sys_error(errno) : UV_EAGAIN;
		}
		p->bytes -= (size_t)n;
		moved += (size_t)n;
	}
	return (ssize_t)moved;
}

int tt_pipe_drain(struct tt_pipe *p, int fd, char *spill, uint64_t *moved)
{
	while (p->bytes) {
		ssize_t n = tt_splice_out(p, fd);
		if (n > 0) {
			*moved += (uint64_t)n;
			continue;
		}
		if (n != UV_EAGAIN)
			return (int)n;
		n = tt_pipe_take_byte(p, spill);
		return n < 0 ? (int)n : 0;
	}
	return 1;
}

int tt_pipe_take_byte(struct tt_pipe *p, char *b)
{
	ssize_t n;
	do
		n = read(p->rd, b, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return uv_translate_sys_error(errno);
	if (n == 0)
		return UV_EOF;
	p->bytes--;
	return 1;
}
