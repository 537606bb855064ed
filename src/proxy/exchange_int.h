/*
 * What the files of the exchange share: exchange.c (lifecycle, the
 * request side, attempts), upload.c (the request body spliced),
 * response.c (the response side, upstream timers), local.c (telltale's
 * own responses and cut connections), downstream.c (downstream events)
 * and tunnel.c (the byte tunnel after a 101).
 * Internal to src/proxy/.
 */
#ifndef TT_PROXY_EXCHANGE_INT_H
#define TT_PROXY_EXCHANGE_INT_H

#include "core/conn.h"
#include "core/worker.h"
#include "fault/fault.h"
#include "proxy/exchange.h"
#include "upstream/pool.h"

/* Milliseconds from a tt_worker_now_ns() value to the worker's clock. */
double tt_ex_ms_since(const struct tt_exchange *ex, uint64_t t_ns);

/* The attempt now running (the last one), or NULL. */
struct tt_fault_attempt *tt_ex_attempt(struct tt_exchange *ex);

/* The index of the exchange's upstream group in the worker's ups[] (-1
 * before routing), and of the server its running attempt holds (-1 when
 * none): the metrics' labels. */
int tt_ex_group(const struct tt_exchange *ex);
int tt_ex_server(const struct tt_exchange *ex);

/* Record fault id at stage on the exchange and on the running attempt;
 * counts it for metrics. Does not answer: see tt_ex_fail. */
void tt_ex_fault(struct tt_exchange *ex, enum tt_fault_id id, enum tt_stage stage, int sys_err);

/* Answer the recorded fault: telltale's own response when nothing of the
 * response went downstream yet, else a cut connection. The exchange may be
 * gone after this. */
void tt_ex_fail(struct tt_exchange *ex);

/* Record and answer in one step. */
void tt_ex_fail_with(struct tt_exchange *ex, enum tt_fault_id id, enum tt_stage stage, int sys_err);

/* The response broke after bytes of it went downstream: log, free, and
 * reset the downstream connection so it never looks complete. */
void tt_ex_abort_midstream(struct tt_exchange *ex);

/* Writing the response downstream failed with err (a libuv code): record
 * downstream_closed at stage respond, drop the upstream connection, free
 * the exchange and close the downstream. */
void tt_ex_ds_write_failed(struct tt_exchange *ex, int err);

/* Close and forget the upstream connection. */
void tt_ex_drop_upstream(struct tt_exchange *ex);

/* Log, release, and hand the downstream connection back when notify. */
void tt_ex_free(struct tt_exchange *ex, int notify);

/* Answer with the admin page for path (admin.allow_public, obs/admin.h). */
void tt_ex_local_admin(struct tt_exchange *ex, const char *path, size_t path_len);

/* Answer plain HTTP on a TLS listener (redirect_http): 301 to https://. */
void tt_ex_local_redirect(struct tt_exchange *ex, const char *path, size_t path_len);

/* Continue a local response once a queued downstream write drained. */
void tt_ex_local_send(struct tt_exchange *ex);

/* Response side (response.c). */
void tt_ex_on_up_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
void tt_ex_process_response(struct tt_exchange *ex);
void tt_ex_up_timer_arm(struct tt_exchange *ex, uint64_t ms);
void tt_ex_request_sent(struct tt_exchange *ex);

/* The running attempt ended: ok when a response head arrived, else the
 * fault. Feeds passive health, the breaker and the latency average, and
 * frees the attempt's health slot. Idempotent per attempt. */
void tt_ex_attempt_end(struct tt_exchange *ex, int ok, enum tt_fault_id fault);

/* The attempt failed before any response byte went downstream: run
 * another one when the retry policy allows (then return 1), else 0. */
int tt_ex_maybe_retry(struct tt_exchange *ex);

/* Parse the kept request head (c->in[0..head_len)) again into the
 * worker's req_fields: the stale store needs its fields after the
 * response head took the scratch. Returns 0, -1 if it does not parse. */
int tt_ex_reparse_request(struct tt_exchange *ex, struct tt_h1_head *req);

/* The attempt's upstream connection is ready (connected, and past TLS
 * when the group speaks it): read the response, send the request. */
void tt_ex_up_ready(struct tt_exchange *ex);

/* TLS for the attempt's connected upstream (ex_tls.c): start the
 * handshake, then tt_ex_up_ready, or fail with its fault. */
void tt_ex_tls_start(struct tt_exchange *ex);

/* The upstream TLS connection failed (handshake, or a fatal alert on the
 * first read): record the catalogue's TLS row and answer. */
void tt_ex_tls_failed(struct tt_exchange *ex);

/* Writing the request failed with err (a libuv code): record and answer. */
void tt_ex_send_failed(struct tt_exchange *ex, int err);

/* A body of at least this many bytes still to come, passed as it is
 * between two plain sockets, is spliced (net/splice.h); below it the
 * pump's copy costs less than the pipe's extra calls. */
#define TT_EX_SPLICE_MIN_BYTES 16384

/* Request side (exchange.c). */
void tt_ex_pump_request(struct tt_exchange *ex);

/* The request body from here on (upload.c): when it can be spliced, take
 * a pipe, splice what can move and return 1; else 0 (the pump goes on). */
int tt_ex_upload_begin(struct tt_exchange *ex);
/* Splice more of the request body: the downstream became readable or the
 * upstream took the byte it waited on. */
void tt_ex_upload(struct tt_exchange *ex);
void tt_ex_attempt_start(struct tt_exchange *ex, int fresh);

/* Write to the upstream: 1 written now, 0 queued (the upstream write
 * callback then runs the request pump, or the tunnel), -1 failed (libuv
 * code in *err). The memory behind iov must stay valid until then. */
int tt_ex_us_write(struct tt_exchange *ex, uv_buf_t *iov, int n, int *err);

/* A response head arrived for the running attempt: its latency, the
 * attempt's success, and the statuses (response.c). */
void tt_ex_head_arrived(struct tt_exchange *ex, int status);

/* ---- the tunnel (tunnel.c) ---- */

/* The final head at the upstream buffer's read position is a 101 (h, n
 * bytes): check it answers the request's upgrade and either start the
 * tunnel (the 101 head goes downstream first) or fail the exchange with
 * HTTP_UPGRADE_FAILED. Either way the response path stops here. */
void tt_ex_switch_protocols(struct tt_exchange *ex, const struct tt_h1_head *h, size_t n);

/* The tunnel's share of the downstream and upstream events. */
void tt_ex_tunnel_on_ds_data(struct tt_exchange *ex);
void tt_ex_tunnel_on_ds_written(struct tt_exchange *ex, int status);
void tt_ex_tunnel_on_ds_eof(struct tt_exchange *ex, int err);
void tt_ex_tunnel_on_us_written(struct tt_exchange *ex, int status);

/* Open a new connection for the running attempt (its server is picked):
 * resolves a named server first (proxy/ex_dns.c). */
void tt_ex_connect(struct tt_exchange *ex);

/* The address for the attempt's new connection: 1 = in *ss; 0 = waiting
 * for the resolver (tt_ex_connect runs again with the answer), or failed
 * (the exchange's fault is set and tt_ex_fail ran). */
int tt_ex_resolve(struct tt_exchange *ex, struct sockaddr_storage *ss, socklen_t *len);

/* Stop waiting for the resolver, if the exchange is (its callback and the
 * total timeout will not fire). */
void tt_ex_dns_stop(struct tt_exchange *ex);

#endif
