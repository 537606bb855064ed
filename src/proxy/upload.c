/*
 * The request body spliced: downstream socket -> pipe -> upstream socket in
 * the kernel (net/splice.h), the upload twin of the response's splice
 * (response.c). A Content-Length body between two plain sockets takes this
 * path once the bytes that came with the head are written and at least
 * TT_EX_SPLICE_MIN_BYTES are still to come; a chunked body is re-framed by
 * the pump, TLS needs the bytes in memory and an upgrade's body may become
 * tunnel bytes, so those never do.
 *
 * The downstream is read in notify mode (tt_conn_read_notify): libuv says
 * when it is readable and reads nothing. A full upstream gets one byte of
 * the pipe through libuv's write, whose callback (the request pump) says
 * when there is room; the downstream is paused meanwhile, as the pump
 * pauses it. Only `remaining` bytes are ever taken from the socket, so a
 * pipelined request after the body stays in the kernel for the next
 * exchange.
 */
#include "proxy/exchange_int.h"

int tt_ex_upload_begin(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	const struct tt_pump *p = &ex->reqpump;

	/* An upgrade's body may turn into tunnel bytes, read by the pump. */
	if (c->tls || ex->up->tls || ex->upgrade || p->in != TT_PUMP_IN_LENGTH ||
	    p->out != TT_PUMP_OUT_RAW || p->remaining < TT_EX_SPLICE_MIN_BYTES || c->eof ||
	    c->in.len != c->head_len)
		return 0;
	/* No pipe at the descriptor limit: the pump copies instead. */
	if (tt_pipe_get(&c->w->pipes, &ex->reqpipe) != 0)
		return 0;
	ex->req_splicing = 1;
	return 1;
}

/* Empty the pipe upstream. Returns 1 when it is empty, 0 when the upstream
 * is full (libuv writes one byte of it; its callback goes on), -1 when the
 * exchange failed. */
static int upload_flush(struct tt_exchange *ex, int ufd)
{
	for (;;) {
		uv_buf_t b = uv_buf_init(&ex->req_spill, 1);
		uint64_t moved = 0;
		int err = 0, r = tt_pipe_drain(&ex->reqpipe, ufd, &ex->req_spill, &moved);
		tt_counter_add(&ex->c->w->metrics.upload_spliced, moved);
		if (r == 1)
			return 1;
		if (r == 0) {
			r = tt_ex_us_write(ex, &b, 1, &err);
			if (r == 0)
				return 0;
			if (r < 0)
				r = err;
		}
		if (r < 0) {
			tt_ex_send_failed(ex, r);
			return -1;
		}
	}
}

void tt_ex_upload(struct tt_exchange *ex)
{
	struct tt_conn *c = ex->c;
	struct tt_pump *p = &ex->reqpump;
	uv_os_fd_t dfd, ufd;

	if (uv_fileno((uv_handle_t *)&c->tcp, &dfd) != 0 ||
	    uv_fileno((uv_handle_t *)&ex->up->tcp, &ufd) != 0) {
		tt_ex_send_failed(ex, UV_EBADF);
		return;
	}
	for (;;) {
		ssize_t n;
		int r = upload_flush(ex, ufd);
		if (r < 0)
			return;
		if (r == 0) {
			tt_conn_pause(c);
			return;
		}
		if (p->remaining == 0) {
			/* Anything after the body is the next request's: it
			 * waits in the kernel until this exchange ends. */
			p->done = 1;
			ex->req_done = 1;
			c->want_read = 0;
			tt_conn_pause(c);
			tt_conn_untime(c);
			tt_ex_request_sent(ex);
			return;
		}
		n = tt_splice_in(&ex->reqpipe, dfd, p->remaining);
		if (n == UV_EAGAIN)
			break;
		if (n > 0) {
			p->body_bytes += (uint64_t)n;
			p->remaining -= (uint64_t)n;
			ex->bytes_in = p->body_bytes;
		}
		if (tt_conn_body_read(c, n))
			return; /* the downstream ended or was too slow: failed */
	}
	tt_conn_read_notify(c);
}
