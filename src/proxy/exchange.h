/*
 * The exchange: one request from downstream, its attempt(s) upstream, and
 * the response streamed back, with backpressure both ways.
 *
 * An exchange begins when a downstream connection has a complete request
 * head (or a head that failed to parse) and ends, freed back to the
 * worker's list, after the last byte of the response is written and the
 * request has been read to its end. It owns the upstream connection it
 * uses; the downstream connection owns it.
 *
 * Flow: route -> server (balancer) -> pooled or new connection -> request
 * head and body (pump) -> response head parsed strictly -> response head
 * rewritten -> response body (pump) -> access log line. An upgrade request
 * (WebSocket) answered by a 101 ends instead as a byte tunnel between the
 * two connections (tunnel.c), closed when both sides ended or it idled.
 *
 * Invariant: no byte of a response reaches downstream before its head
 * parsed without error; after the first byte is sent, a failure closes the
 * downstream connection instead of sending a second response.
 */
#ifndef TT_PROXY_EXCHANGE_H
#define TT_PROXY_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "fault/fault.h"
#include "http/h1_parse.h"
#include "http/traceparent.h"
#include "proxy/headers.h"
#include "net/ring.h"
#include "net/splice.h"
#include "proxy/pump.h"
#include "upstream/pool.h"

#define TT_EXCHANGE_MAGIC 0x74746578u

struct tt_conn;
struct tt_upconn;
struct tt_stale_capture;
struct tt_stale_entry;
struct tt_cfg_route;
struct tt_upstream_rt;
struct tt_pool;

enum tt_resp_state {
	TT_RESP_WAIT = 0, /* no response head yet */
	TT_RESP_BODY,     /* head sent downstream, body streaming */
	TT_RESP_DONE      /* every response byte handed to the downstream writer */
};

struct tt_exchange {
	uint32_t magic;
	struct tt_conn *c;
	struct tt_exchange *next_free;
	struct tt_upconn *up;
	struct tt_upstream_rt *ups;
	struct tt_pool *pool;
	uv_write_t wreq;            /* the downstream write in flight, if any */
	struct tt_ring_send rsend;  /* ... when it goes through the worker's ring */
	struct tt_pool_waiter wait; /* queued for a connection slot (max_connections) */
	const struct tt_cfg_route *route;
	struct tt_stale_capture *capture; /* the response being copied for stale-if-error */
	struct tt_stale_entry *stale;     /* a stored copy being served (a reference) */

	char *reqhead; /* pool block: request head for the upstream */
	uint32_t reqhead_len;
	char *resphead; /* pool block: response head for the downstream */
	uint32_t resphead_len;
	char *body; /* heap: telltale's own error body, only on the error path */

	struct tt_pump reqpump, resppump;

	uint8_t resp; /* enum tt_resp_state */
	enum tt_h1_method method_id;
	unsigned req_done : 1;     /* request body read to its end */
	unsigned head_sent : 1;    /* request head handed to the upstream writer */
	unsigned resp_started : 1; /* some response byte went downstream */
	unsigned local : 1;        /* the response is telltale's own */
	unsigned ds_keep : 1;      /* downstream connection may stay open */
	unsigned http10 : 1;       /* downstream spoke HTTP/1.0 */
	unsigned up_keep : 1;      /* upstream connection may be pooled */
	unsigned continue_sent : 1;
	unsigned has_body : 1; /* request has a body to stream */
	unsigned req_sent : 1; /* request fully written upstream */
	unsigned resp_head_written : 1;
	unsigned local_pending : 1; /* a local response waits for a write to drain */
	unsigned retried : 1;
	unsigned orphan : 1;   /* freed while wreq was queued: recycled by its callback */
	unsigned fresh : 1;    /* the next attempt must open a new connection */
	unsigned acquired : 1; /* a health slot is held for the running attempt */
	unsigned in_group : 1; /* counted in ups->active */
	unsigned retrying : 1; /* counted in ups->retrying */
	unsigned trace_in : 1; /* a valid traceparent came: tracestate is passed on */
	int server;            /* index of the running attempt's server in its group */

	/* Upgrade and tunnel (tunnel.c). */
	unsigned upgrade : 1;     /* the request asks to switch protocols (RFC 9110 7.8) */
	unsigned tunnel : 1;      /* a 101 went downstream: bytes pass both ways */
	unsigned tun_up_shut : 1; /* the downstream ended: upstream write side shut */
	unsigned tun_ds_shut : 1; /* the upstream ended: downstream write side shut */
	unsigned tun_up_eof : 1;  /* the upstream sent its end of stream */
	uint64_t tunnel_last_ms;  /* uv_now() of the tunnel's last byte either way */

	/* A response body spliced socket to socket (response.c, net/splice.h). */
	struct tt_pipe pipe; /* valid while splicing */
	unsigned splicing : 1;
	char spill; /* a byte out of the pipe, written by libuv when the downstream is full */
	/* A request body spliced the other way (upload.c). */
	struct tt_pipe reqpipe; /* valid while req_splicing */
	unsigned req_splicing : 1;
	char req_spill; /* as spill, when the upstream is full */

	/* A server named by host name (proxy/ex_dns.c). */
	struct tt_dns_req dns;     /* waiting for the resolver */
	int addr_idx;              /* the attempt's address in the server's set, -1 = none */
	unsigned dns_answered : 1; /* the resolver just answered: use the set whatever its age */
	unsigned dns_waiting : 1;  /* dns is waiting (and the total timeout on retry_timer) */

	/* Slices of the request head in c->in (kept in place for the whole
	 * exchange), for the log and the error page. */
	const char *method, *target, *host, *accept;
	uint32_t method_len, target_len, host_len, accept_len;

	int status;          /* sent downstream */
	int upstream_status; /* received, 0 = none */
	uint64_t bytes_in, bytes_out;
	uint64_t t_start_ns, t_connect_start_ns, t_sent_ns;
	uint64_t head_deadline_ns; /* when the response head is due, 0 = not yet */
	uint64_t wall_ms;
	/* W3C trace context (issue 7): the trace this request belongs to and
	 * telltale's span in it, sent upstream as the new parent-id. */
	struct tt_trace trace;
	char span_id[TT_SPAN_ID_HEX + 1];
	/* The response head the parser rejected, for the status page's fault
	 * ring: a slice of the upstream buffer, valid until tt_ex_fail. */
	const char *bad_head;
	uint32_t bad_head_len, bad_head_off;
	int up_eof;            /* libuv code of the upstream's end of stream, 0 = none */
	int send_err;          /* a failed TLS write waiting for the reader's verdict */
	struct tt_fault fault; /* why it failed; id NONE when it did not */
	char request_id[TT_REQUEST_ID_MAX + 1];
	/* Kept across recycling (not cleared by a new exchange): initialised
	 * once when the struct is allocated, closed when the worker ends. */
	uv_timer_t retry_timer; /* backoff before a retry */
};

/* A complete request head, parsed into req, is at the start of c->in
 * (length c->head_len): run the exchange. req's fields live in the
 * worker's scratch array and are only read during this call. */
void tt_exchange_start(struct tt_conn *c, const struct tt_h1_head *req);

/* The request head at the start of c->in could not be used: answer with
 * telltale's own response for this fault (catalogue status, Proxy-Status,
 * body by Accept), log it, and close afterwards. details may be NULL. */
void tt_exchange_reject(struct tt_conn *c, enum tt_fault_id id, const char *details);

/* The fault for a request head the parser rejected. */
enum tt_fault_id tt_exchange_request_fault(enum tt_h1_err err);

/* The downstream sent more bytes while the exchange is reading the body. */
void tt_exchange_on_ds_data(struct tt_exchange *ex);
/* A queued downstream write completed (status < 0: failed). */
void tt_exchange_on_ds_written(struct tt_exchange *ex, int status);
/* The downstream closed or failed (err is a libuv code: UV_EOF for a
 * clean end of stream). */
void tt_exchange_on_ds_eof(struct tt_exchange *ex, int err);
/* The downstream timer fired during the exchange (body idle timeout). */
void tt_exchange_on_ds_timeout(struct tt_exchange *ex);
/* The request body arrives slower than limits.downstream_min_rate (the
 * connection measured it; details says by how much): the body timeout
 * fault, and 1 is returned. Once the request is complete nothing happens
 * and 0 is returned. */
int tt_exchange_on_ds_slow(struct tt_exchange *ex, const char *details);
/* Cut the exchange at once (shutdown past the grace period). */
void tt_exchange_abort(struct tt_exchange *ex);

/* Called by the downstream write callback first: when the exchange was
 * freed while its write was queued, recycle it now and return 1. */
int tt_exchange_orphaned(struct tt_exchange *ex);

#endif
