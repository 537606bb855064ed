/*
 * A TLS engine connection (net/tls.h) driven over a libuv TCP handle: the
 * owner of the handle reads and writes plaintext with calls shaped like
 * libuv's own (read start/stop with alloc and read callbacks, a write
 * with a uv_write_t and its callback, a shutdown), and this module moves
 * the ciphertext between the socket and the engine. The downstream
 * connection (core/conn.c) and the upstream connection (upstream/pool.c)
 * use it when their listener or group speaks TLS, and call libuv directly
 * otherwise: the plain path pays one branch.
 *
 * The owner keeps tcp->data pointing at itself, so its callbacks get the
 * stream they always got. Because the socket callbacks then cannot find
 * the tt_tls_io, the owner passes two one-line wrappers (sock_alloc,
 * sock_read) that call tt_tls_io_sock_alloc / tt_tls_io_sock_read.
 *
 * Callbacks never run inside a tt_tls_io_* call: handshake results and
 * buffered plaintext are delivered from the io's uv_idle handle or from
 * socket callbacks, as libuv delivers reads. A callback may call any
 * function here, including tt_tls_io_close.
 *
 * Life: tt_tls_io_new (allocates; one per TLS connection) -> start ->
 * reads and writes -> tt_tls_io_close when the owner closes its TCP handle
 * (closes the idle handle, which the owner counts as one of its handles:
 * its close callback gets the io's idle handle with data = the owner) ->
 * tt_tls_io_free once every handle is closed, from the owner's last close
 * callback. A write still in flight on the socket is cancelled by the
 * TCP handle's close, never completed into a freed io.
 */
#ifndef TT_NET_TLS_IO_H
#define TT_NET_TLS_IO_H

#include <stddef.h>
#include <uv.h>

#include "net/tls.h"

/* Plaintext buffers one tt_tls_io_write takes at most. */
#define TT_TLS_IO_BUFS 16

struct tt_tls_io;

/* status 0: the handshake completed; -1: it failed (tt_tls_io_conn and
 * tt_tls_classify tell why; the alert we owe the peer is being sent). */
typedef void (*tt_tls_io_hs_cb)(struct tt_tls_io *io, int status);

/*
 * A new io for tcp (initialised, owned by the caller, data = the owner)
 * and tls (from tt_tls_conn_new; the io owns it from here). Its idle
 * handle is initialised on loop with data = tcp->data.
 */
struct tt_tls_io *tt_tls_io_new(uv_loop_t *loop, uv_tcp_t *tcp, struct tt_tls_conn *tls,
                                uv_alloc_cb sock_alloc, uv_read_cb sock_read,
                                tt_tls_io_hs_cb on_handshake);

/* The owner's data, for the handshake callback. */
void *tt_tls_io_owner(const struct tt_tls_io *io);

/* Start: feed initial (ciphertext the owner already read, for a listener
 * that sniffed the first bytes; may be NULL), then drive the handshake
 * (a client sends its ClientHello) and read the socket. The handshake
 * callback fires once, later. */
void tt_tls_io_start(struct tt_tls_io *io, const char *initial, size_t len);

/* The socket callbacks, called by the owner's wrappers. */
void tt_tls_io_sock_alloc(struct tt_tls_io *io, uv_buf_t *buf);
void tt_tls_io_sock_read(struct tt_tls_io *io, ssize_t nread);

/* Plaintext reading, as uv_read_start / uv_read_stop: alloc_cb and read_cb
 * get (uv_handle_t *)tcp / (uv_stream_t *)tcp; nread is UV_EOF after the
 * peer's close_notify or a TCP end, UV_EPROTO when TLS failed
 * (tt_tls_classify on tt_tls_io_conn tells why), UV_ENOBUFS when alloc_cb
 * gave no room. Bytes already decrypted are delivered after a restart. */
void tt_tls_io_read_start(struct tt_tls_io *io, uv_alloc_cb alloc_cb, uv_read_cb read_cb);
void tt_tls_io_read_stop(struct tt_tls_io *io);

/* The owner expects no bytes for a while (a keep-alive wait, a pooled
 * connection): the engine's buffers go back now, or once the socket took
 * what is in flight. The next byte either way brings them back. */
void tt_tls_io_idle(struct tt_tls_io *io);

/*
 * Write plaintext: bufs[0..n) (n <= TT_TLS_IO_BUFS; the array is copied,
 * the bytes must stay valid until done). Returns 1 when every byte was
 * encrypted and sent now (cb will not run), 0 when the rest goes out
 * later (cb(req, status) then runs once), or a libuv error code: the
 * socket's (UV_EPIPE, UV_ECONNRESET...), UV_EPROTO when TLS itself failed,
 * UV_EBUSY when a write is already pending. One write at a time.
 */
int tt_tls_io_write(struct tt_tls_io *io, uv_write_t *req, const uv_buf_t *bufs, int n,
                    uv_write_cb cb);

/* Send close_notify, then shut the socket's write side with
 * uv_shutdown(req, tcp, cb) once everything queued is out. Returns 0, or
 * -1 when the shutdown could not start (close instead). */
int tt_tls_io_shutdown(struct tt_tls_io *io, uv_shutdown_t *req, uv_shutdown_cb cb);

/* 1 once the handshake completed. */
int tt_tls_io_open(const struct tt_tls_io *io);

/* The engine connection, for tt_tls_info and tt_tls_classify. */
struct tt_tls_conn *tt_tls_io_conn(const struct tt_tls_io *io);

/* The owner closes its TCP handle: stop, and close the idle handle with
 * close_cb (the owner's handle-closed callback). */
void tt_tls_io_close(struct tt_tls_io *io, uv_close_cb close_cb);

/* Free after every handle closed; sets *io to NULL; NULL is ignored. */
void tt_tls_io_free(struct tt_tls_io **io);

#endif
