/*
 * A TLS engine connection over a libuv TCP handle: see tls_io.h.
 *
 * Three paths meet in process(): the handshake, plaintext delivered to the
 * reader, and the pending plaintext write. flush() is the only place that
 * sends ciphertext: one socket write at a time, straight from the
 * engine's output ring (no copy), tried synchronously first.
 */
#include "net/tls_io.h"

#include <stdlib.h>
#include <string.h>

#define container_of(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct tt_tls_io {
	struct tt_tls_conn *tls;
	uv_tcp_t *tcp;
	uv_idle_t idle; /* runs process() on a later turn */
	uv_alloc_cb sock_alloc;
	uv_read_cb sock_read;
	tt_tls_io_hs_cb on_handshake;
	/* the ciphertext write in flight: bytes of the output ring */
	uv_write_t sreq;
	size_t inflight;
	/* the reader */
	uv_alloc_cb alloc_cb;
	uv_read_cb read_cb;
	/* the pending plaintext write */
	uv_write_t *wreq;
	uv_write_cb wcb;
	uv_buf_t wbufs[TT_TLS_IO_BUFS];
	int nw, iw;
	/* the pending shutdown */
	uv_shutdown_t *shreq;
	uv_shutdown_cb shcb;
	int werr; /* a failed socket write: every later write fails */
	unsigned started : 1;
	unsigned open : 1;       /* handshake done */
	unsigned failed : 1;     /* handshake failed (reported) */
	unsigned reading : 1;    /* the owner wants plaintext */
	unsigned ended : 1;      /* EOF or an error was delivered to the reader */
	unsigned sock_on : 1;    /* uv_read_start is active on the socket */
	unsigned sock_eof : 1;   /* the socket reached its end */
	unsigned dead : 1;       /* closing: touch nothing of the owner */
	unsigned owner_idle : 1; /* the owner is idle: release the buffers once empty */
};

static void process(struct tt_tls_io *io);

static void on_idle(uv_idle_t *h)
{
	struct tt_tls_io *io = container_of(h, struct tt_tls_io, idle);
	uv_idle_stop(h);
	if (!io->dead)
		process(io);
}

static void kick(struct tt_tls_io *io)
{
	if (!io->dead)
		uv_idle_start(&io->idle, on_idle);
}

struct tt_tls_io *tt_tls_io_new(uv_loop_t *loop, uv_tcp_t *tcp, struct tt_tls_conn *tls,
                                uv_alloc_cb sock_alloc, uv_read_cb sock_read,
                                tt_tls_io_hs_cb on_handshake)
{
	struct tt_tls_io *io = calloc(1, sizeof(*io));
	if (!io)
		abort();
	io->tls = tls;
	io->tcp = tcp;
	io->sock_alloc = sock_alloc;
	io->sock_read = sock_read;
	io->on_handshake = on_handshake;
	uv_idle_init(loop, &io->idle);
	io->idle.data = tcp->data;
	return io;
}

void *tt_tls_io_owner(const struct tt_tls_io *io)
{
	return io->tcp->data;
}

int tt_tls_io_open(const struct tt_tls_io *io)
{
	return io->open;
}

struct tt_tls_conn *tt_tls_io_conn(const struct tt_tls_io *io)
{
	return io->tls;
}

void tt_tls_io_start(struct tt_tls_io *io, const char *initial, size_t len)
{
	io->started = 1;
	while (len) {
		size_t k = tt_tls_feed(io->tls, initial, len);
		if (!k)
			break; /* more than a ClientHello's worth: the rest is lost,
			        * and the handshake fails on it */
		initial += k;
		len -= k;
	}
	kick(io);
}

/* Read the socket while someone needs its bytes: the handshake, or a
 * reader. A stopped reader leaves the engine's input to fill: backpressure. */
static void sock_update(struct tt_tls_io *io)
{
	int want =
	    !io->dead && !io->sock_eof && !io->failed && (!io->open || (io->reading && !io->ended));
	if (want && !io->sock_on) {
		if (uv_read_start((uv_stream_t *)io->tcp, io->sock_alloc, io->sock_read) == 0)
			io->sock_on = 1;
	} else if (!want && io->sock_on) {
		uv_read_stop((uv_stream_t *)io->tcp);
		io->sock_on = 0;
	}
}

static void on_sock_written(uv_write_t *req, int status);

/* Send what the engine has for the socket: 1 = all out, nothing in
 * flight; 0 = a write is in flight; -1 = the socket failed. */
static int flush(struct tt_tls_io *io)
{
	if (io->werr)
		return -1;
	if (io->inflight)
		return 0;
	for (;;) {
		const char *p;
		size_t n = tt_tls_pending_out(io->tls, &p);
		uv_buf_t b;
		int r;
		if (!n)
			return 1;
		b = uv_buf_init((char *)p, (unsigned)n);
		r = uv_try_write((uv_stream_t *)io->tcp, &b, 1);
		if (r == UV_EAGAIN || r == UV_ENOSYS)
			r = 0;
		if (r < 0) {
			io->werr = r;
			return -1;
		}
		tt_tls_consumed_out(io->tls, (size_t)r);
		if ((size_t)r == n)
			continue;
		b.base += r;
		b.len -= (size_t)r;
		r = uv_write(&io->sreq, (uv_stream_t *)io->tcp, &b, 1, on_sock_written);
		if (r != 0) {
			io->werr = r;
			return -1;
		}
		io->inflight = b.len;
		return 0;
	}
}

static void maybe_shutdown(struct tt_tls_io *io)
{
	uv_shutdown_t *req = io->shreq;
	uv_shutdown_cb cb = io->shcb;
	if (!req || io->inflight || io->wreq)
		return;
	if (!io->werr && flush(io) == 0)
		return;
	io->shreq = NULL;
	if (io->werr || uv_shutdown(req, (uv_stream_t *)io->tcp, cb) != 0)
		cb(req, io->werr ? io->werr : UV_EPIPE);
}

/* Move the pending plaintext through the engine to the socket: 1 = all
 * sent, 0 = waiting for the socket, -1 = failed. */
static int pump(struct tt_tls_io *io)
{
	for (;;) {
		int f;
		while (io->iw < io->nw) {
			uv_buf_t *b = &io->wbufs[io->iw];
			ssize_t k;
			if (!b->len) {
				io->iw++;
				continue;
			}
			k = tt_tls_write(io->tls, b->base, b->len);
			if (k < 0)
				return -1;
			if (k == 0)
				break; /* output full: flush first */
			b->base += k;
			b->len -= (size_t)k;
		}
		f = flush(io);
		if (f <= 0)
			return f;
		if (io->iw == io->nw)
			return 1;
	}
}

/* The pending write finished (asynchronously): tell its owner. */
static void write_done(struct tt_tls_io *io, int status)
{
	uv_write_t *req = io->wreq;
	uv_write_cb cb = io->wcb;
	io->wreq = NULL;
	io->nw = io->iw = 0;
	cb(req, status);
}

static void try_release(struct tt_tls_io *io)
{
	if (io->owner_idle && !io->inflight && !io->wreq && !io->shreq &&
	    tt_tls_release_buffers(io->tls))
		io->owner_idle = 0;
}

void tt_tls_io_idle(struct tt_tls_io *io)
{
	io->owner_idle = 1;
	try_release(io);
}

static void on_sock_written(uv_write_t *req, int status)
{
	struct tt_tls_io *io = container_of(req, struct tt_tls_io, sreq);
	size_t n = io->inflight;
	io->inflight = 0;
	if (io->dead || status == UV_ECANCELED)
		return; /* the TCP handle is closing */
	if (status < 0) {
		io->werr = status;
	} else {
		tt_tls_consumed_out(io->tls, n);
	}
	if (io->wreq) {
		int r = io->werr ? -1 : pump(io);
		if (r != 0)
			write_done(io, r > 0 ? 0 : (io->werr ? io->werr : UV_EPROTO));
		if (io->dead)
			return;
	} else if (!io->werr) {
		flush(io);
	}
	maybe_shutdown(io);
	try_release(io);
}

int tt_tls_io_write(struct tt_tls_io *io, uv_write_t *req, const uv_buf_t *bufs, int n,
                    uv_write_cb cb)
{
	int r;
	if (io->dead || io->wreq || !io->open || n > TT_TLS_IO_BUFS || n < 0)
		return UV_EBUSY;
	io->owner_idle = 0;
	memcpy(io->wbufs, bufs, (size_t)n * sizeof(*bufs));
	io->nw = n;
	io->iw = 0;
	io->wreq = req;
	io->wcb = cb;
	r = pump(io);
	if (r != 0) {
		io->wreq = NULL;
		io->nw = io->iw = 0;
		/* The socket's own error tells more than "TLS failed". */
		return r > 0 ? r : io->werr ? io->werr : UV_EPROTO;
	}
	return 0;
}

int tt_tls_io_shutdown(struct tt_tls_io *io, uv_shutdown_t *req, uv_shutdown_cb cb)
{
	if (io->dead || io->shreq || io->werr)
		return -1;
	if (io->open)
		tt_tls_shutdown(io->tls); /* best effort: a full output just closes */
	io->shreq = req;
	io->shcb = cb;
	if (!io->inflight && !io->wreq) {
		if (flush(io) < 0) {
			io->shreq = NULL;
			return -1;
		}
		if (!io->inflight) {
			io->shreq = NULL;
			return uv_shutdown(req, (uv_stream_t *)io->tcp, cb) == 0 ? 0 : -1;
		}
	}
	return 0;
}

/* Hand decrypted bytes to the reader while it reads. */
static void deliver(struct tt_tls_io *io)
{
	uv_stream_t *s = (uv_stream_t *)io->tcp;
	while (io->reading && !io->ended && !io->dead) {
		uv_buf_t b = uv_buf_init(NULL, 0);
		ssize_t n;
		io->alloc_cb((uv_handle_t *)io->tcp, 65536, &b);
		if (!b.base || !b.len) {
			io->read_cb(s, UV_ENOBUFS, &b);
			continue;
		}
		n = tt_tls_read(io->tls, b.base, b.len);
		if (n > 0) {
			io->read_cb(s, n, &b);
			continue;
		}
		flush(io); /* a read may owe the peer bytes (key update) */
		if (n == 0) {
			io->read_cb(s, 0, &b); /* give the buffer back, as libuv does */
			return;
		}
		io->ended = 1;
		io->read_cb(
		    s, tt_tls_state(io->tls) == TT_TLS_CLOSED || io->sock_eof ? UV_EOF : UV_EPROTO,
		    &b);
	}
}

static void process(struct tt_tls_io *io)
{
	if (!io->open && !io->failed) {
		int r = tt_tls_handshake(io->tls);
		flush(io); /* our flight, or the alert that says why not */
		if (r == 0 && !io->sock_eof) {
			sock_update(io);
			return;
		}
		if (r <= 0) {
			io->failed = 1;
			sock_update(io);
			io->on_handshake(io, -1);
			return;
		}
		io->open = 1;
		io->on_handshake(io, 0);
		if (io->dead)
			return;
	}
	if (io->open)
		deliver(io);
	if (!io->dead)
		sock_update(io);
}

void tt_tls_io_sock_alloc(struct tt_tls_io *io, uv_buf_t *buf)
{
	char *p = NULL;
	size_t n = tt_tls_in_room(io->tls, &p);
	*buf = uv_buf_init(n ? p : NULL, (unsigned)n);
}

void tt_tls_io_sock_read(struct tt_tls_io *io, ssize_t nread)
{
	if (io->dead || nread == 0)
		return;
	if (nread == UV_ENOBUFS) {
		/* The engine's input is full: stop until the reader drains it. */
		uv_read_stop((uv_stream_t *)io->tcp);
		io->sock_on = 0;
		process(io);
		return;
	}
	if (nread < 0) {
		io->sock_eof = 1;
		tt_tls_feed_eof(io->tls);
		process(io);
		return;
	}
	io->owner_idle = 0;
	tt_tls_fed(io->tls, (size_t)nread);
	process(io);
}

void tt_tls_io_read_start(struct tt_tls_io *io, uv_alloc_cb alloc_cb, uv_read_cb read_cb)
{
	io->alloc_cb = alloc_cb;
	io->read_cb = read_cb;
	if (io->reading)
		return;
	io->reading = 1;
	if (io->started)
		kick(io); /* bytes may wait in the engine */
}

void tt_tls_io_read_stop(struct tt_tls_io *io)
{
	io->reading = 0;
	if (io->open)
		sock_update(io);
}

void tt_tls_io_close(struct tt_tls_io *io, uv_close_cb close_cb)
{
	if (io->dead)
		return;
	io->dead = 1;
	io->reading = 0;
	uv_close((uv_handle_t *)&io->idle, close_cb);
}

void tt_tls_io_free(struct tt_tls_io **io)
{
	if (!*io)
		return;
	tt_tls_conn_free(&(*io)->tls);
	free(*io);
	*io = NULL;
}
