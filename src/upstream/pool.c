/*
 * Upstream connections and keep-alive pools: see pool.h.
 */
#include "upstream/pool.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/worker.h"
#include "net/addr.h"
#include "net/tls_io.h"

static void pool_init(struct tt_pool *p, struct tt_worker *w, const struct tt_cfg_upstream *g,
                      const struct tt_cfg_server *s)
{
	memset(p, 0, sizeof(*p));
	p->w = w;
	p->group = g;
	if (g->max_connections) {
		/* Each worker owns its pools: the limit is shared out so that
		 * no lock is needed (at least one connection each). */
		unsigned nw = w->cfg->workers ? w->cfg->workers : 1;
		p->max_live = (g->max_connections + nw - 1) / nw;
	}
	p->server = s;
	if (s->dynamic) {
		p->dyn = tt_addrset_new();
		snprintf(p->addr, sizeof(p->addr), "%s", s->address);
	} else {
		tt_addr_format((const struct sockaddr *)&s->addr, p->addr, sizeof(p->addr));
	}
}

void tt_upstream_rt_init(struct tt_upstream_rt *u, struct tt_worker *w,
                         const struct tt_cfg_upstream *cfg)
{
	struct tt_lb_server *all = calloc(cfg->nservers ? cfg->nservers : 1, sizeof(*all));
	u->cfg = cfg;
	u->pools = calloc(cfg->nservers, sizeof(*u->pools));
	if (!u->pools || !all)
		abort();
	for (size_t i = 0; i < cfg->nservers; i++) {
		pool_init(&u->pools[i], w, cfg, &cfg->servers[i]);
		u->pools[i].rt = u;
		all[i] = (struct tt_lb_server){
		    .weight = cfg->servers[i].weight, .weight_factor = 1.0, .usable = 1};
	}
	tt_balancer_init(&u->bal, cfg->balance, cfg->nservers);
	/* Workers start at different points of the rotation. */
	for (unsigned i = 0; i < w->id % (cfg->nservers ? cfg->nservers : 1); i++)
		tt_balancer_pick(&u->bal, all, -1, i);
	free(all);
}

void tt_upstream_rt_close_idle(struct tt_upstream_rt *u)
{
	for (size_t i = 0; i < u->cfg->nservers; i++)
		while (u->pools[i].idle)
			tt_upconn_close(u->pools[i].idle);
}

/*
 * Close connections idle past keepalive.idle_timeout; and beyond the idle
 * connections the recent load needs (at least max_idle), those idle for a
 * second or more, oldest first. The load's need is the pool's recent peak
 * of open connections (decaying by 1/32 a tick, so about 10 s after a load
 * stops the pool is back to max_idle) less those in use. Trimming to
 * max_idle under a load that needs more made its next swing reconnect
 * hundreds at once: the origin's listen queue overflowed and those
 * connects waited a second for a SYN retransmit (p99 of a second at 5,000
 * connections, bench/RESULTS.md). The worker's tick runs it, so that
 * reusing a connection starts and stops no timer.
 */
static void pool_trim(struct tt_pool *p, uint64_t now_ms)
{
	struct tt_upconn *u = p->idle;
	size_t kept = 0, keep = p->group->keepalive_max_idle, busy = p->nlive - p->nidle;
	p->want = p->peak > p->want - p->want / 32 ? p->peak : p->want - p->want / 32;
	p->peak = p->nlive;
	if (p->want > busy && p->want - busy > keep)
		keep = p->want - busy;
	while (u) {
		struct tt_upconn *next = u->next;
		uint64_t idle = now_ms - u->idle_since_ms;
		if (idle >= p->group->keepalive_idle_timeout_ms || (kept >= keep && idle >= 1000))
			tt_upconn_close(u);
		else
			kept++;
		u = next;
	}
}

void tt_upstream_rt_trim(struct tt_upstream_rt *u, uint64_t now_ms)
{
	for (size_t i = 0; i < u->cfg->nservers; i++)
		pool_trim(&u->pools[i], now_ms);
}

void tt_upstream_rt_fini(struct tt_upstream_rt *u)
{
	tt_upstream_rt_close_idle(u);
	tt_balancer_fini(&u->bal);
	for (size_t i = 0; u->pools && i < u->cfg->nservers; i++)
		free(u->pools[i].dyn);
	free(u->pools);
	u->pools = NULL;
}

static void unlink_idle(struct tt_upconn *u)
{
	struct tt_pool *p = u->pool;
	if (u->prev)
		u->prev->next = u->next;
	else if (p->idle == u)
		p->idle = u->next;
	else
		return; /* not on the list */
	if (u->next)
		u->next->prev = u->prev;
	u->prev = u->next = NULL;
	p->nidle--;
}

int tt_pool_has_room(const struct tt_pool *p)
{
	return p->nidle > 0 || !p->max_live || p->nlive < p->max_live;
}

void tt_upstream_rt_wait(struct tt_upstream_rt *u, struct tt_pool_waiter *w, uint64_t deadline_ms)
{
	w->deadline_ms = deadline_ms;
	w->next = NULL;
	w->prev = u->wait_last;
	if (u->wait_last)
		u->wait_last->next = w;
	else
		u->wait_first = w;
	u->wait_last = w;
	w->queued = 1;
	u->npending++;
}

void tt_upstream_rt_unwait(struct tt_upstream_rt *u, struct tt_pool_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev)
		w->prev->next = w->next;
	else
		u->wait_first = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		u->wait_last = w->prev;
	w->prev = w->next = NULL;
	w->queued = 0;
	u->npending--;
}

void tt_upstream_rt_expire(struct tt_upstream_rt *u, uint64_t now_ms)
{
	struct tt_pool_waiter *w;
	while ((w = u->wait_first) && w->deadline_ms <= now_ms) {
		tt_upstream_rt_unwait(u, w);
		w->on_timeout(w);
	}
}

/* A slot freed in p: the first waiter of the group tries again. */
static void kick(struct tt_pool *p)
{
	struct tt_pool_waiter *w = p->rt ? p->rt->wait_first : NULL;
	if (!w || p->w->stopping)
		return;
	tt_upstream_rt_unwait(p->rt, w);
	w->on_slot(w);
}

/* One of the connection's handles (or a hold on it) is gone; freed at 0. */
static void unref(struct tt_upconn *u)
{
	if (--u->handles == 0) {
		struct tt_pool *p = u->pool;
		p->nlive--;
		tt_tls_io_free(&u->tls);
		u->magic = 0;
		free(u);
		kick(p);
	}
}

static void on_handle_closed(uv_handle_t *h)
{
	unref(h->data);
}

void tt_upconn_close(struct tt_upconn *u)
{
	if (u->closing)
		return;
	u->closing = 1;
	unlink_idle(u);
	u->ex = NULL;
	tt_bufpool_put(&u->pool->w->bufs, &u->in.data);
	if (tt_ring_busy(&u->rsend)) {
		/* The send may outlive the socket, never its bytes or u. */
		tt_ring_cancel(u->pool->w->ring, &u->rsend);
		u->handles++; /* given back by on_ring_written */
	}
	if (u->tls)
		tt_tls_io_close(u->tls, on_handle_closed);
	uv_close((uv_handle_t *)&u->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&u->timer, on_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tt_upconn *u = h->data;
	struct tt_bufpool *bp = &u->pool->w->bufs;
	if (u->notify) {
		*buf = uv_buf_init(NULL, 0); /* libuv then reports UV_ENOBUFS */
		return;
	}
	if (!u->in.data) {
		u->in.data = tt_bufpool_get(bp);
		u->in.off = u->in.len = 0;
	}
	buf->base = u->in.data + u->in.len;
	buf->len = bp->block_bytes - u->in.len;
}

/* Every read goes through here to the connection's current reader, so
 * that handing a connection between the pool and an exchange changes a
 * pointer, not the socket's poll registration (a stop and a start cost
 * two epoll_ctl calls per request). Parked (no reader), anything that
 * arrives makes the connection unusable. */
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	if (u->read_cb) {
		u->read_cb(s, nread, buf);
		return;
	}
	if (nread == 0)
		return;
	u->unusable = 1;
	tt_upconn_read_stop(u);
}

void tt_upconn_read_start(struct tt_upconn *u, uv_read_cb cb)
{
	u->read_cb = cb;
	u->notify = 0;
	if (u->reading || u->closing)
		return;
	u->reading = 1;
	if (u->tls)
		tt_tls_io_read_start(u->tls, on_alloc, on_read);
	else
		uv_read_start((uv_stream_t *)&u->tcp, on_alloc, on_read);
}

void tt_upconn_read_notify(struct tt_upconn *u, uv_read_cb cb)
{
	tt_upconn_read_start(u, cb);
	u->notify = 1;
}

void tt_upconn_read_park(struct tt_upconn *u)
{
	u->read_cb = NULL;
	u->notify = 0;
}

void tt_upconn_read_stop(struct tt_upconn *u)
{
	if (!u->reading)
		return;
	u->reading = 0;
	if (u->tls)
		tt_tls_io_read_stop(u->tls);
	else
		uv_read_stop((uv_stream_t *)&u->tcp);
}

static void tls_sock_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct tt_upconn *u = h->data;
	tt_tls_io_sock_alloc(u->tls, buf);
}

static void tls_sock_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	tt_tls_io_sock_read(u->tls, nread);
}

int tt_upconn_tls_start(struct tt_upconn *u, void (*on_done)(struct tt_tls_io *io, int status))
{
	const struct tt_cfg_tls_upstream *cfg = u->pool->group->tls;
	struct tt_tls_conn *t = tt_tls_conn_new(cfg->ctx, u->pool->server->host);
	if (!t)
		return -1;
	u->tls =
	    tt_tls_io_new(&u->pool->w->loop, &u->tcp, t, tls_sock_alloc, tls_sock_read, on_done);
	u->handles++;
	tt_tls_io_start(u->tls, NULL, 0);
	return 0;
}

int tt_upconn_handshaking(const struct tt_upconn *u)
{
	return u->connected && u->tls && !tt_tls_io_open(u->tls);
}

static void on_shutdown_write(uv_shutdown_t *req, int status);

static void on_ring_written(struct tt_ring_send *s, int status)
{
	struct tt_upconn *u = s->data;
	/* Closed under the send: tt_upconn_close took a handle count for it.
	 * Read before wcb, which may close u (then without a count). */
	int held = u->closing;
	if (u->shut_pending) {
		u->shut_pending = 0;
		if (!u->closing && status == 0)
			(void)uv_shutdown(&u->sreq, (uv_stream_t *)&u->tcp, on_shutdown_write);
	}
	u->wcb(&u->wreq, status); /* with u->ex NULL once closing */
	if (held)
		unref(u);
}

int tt_upconn_write(struct tt_upconn *u, uv_buf_t *iov, int n, uv_write_cb cb, int *err)
{
	size_t total = 0, done;
	int r, i = 0;

	if (u->tls) {
		r = tt_tls_io_write(u->tls, &u->wreq, iov, n, cb);
		if (r < 0) {
			*err = r;
			return -1;
		}
		u->writing = r == 0;
		return r;
	}
	for (int k = 0; k < n; k++)
		total += iov[k].len;
	if (tt_ring_busy(&u->rsend)) {
		*err = UV_EBUSY; /* one write at a time: none can follow a ring send */
		return -1;
	}
	if (u->pool->w->ring && !u->writing) {
		uv_os_fd_t fd;
		u->rsend.data = u;
		u->wcb = cb;
		if (uv_fileno((uv_handle_t *)&u->tcp, &fd) == 0 &&
		    tt_ring_send(u->pool->w->ring, &u->rsend, fd, iov, n, 0, on_ring_written) ==
		        0) {
			u->writing = 1;
			return 0;
		}
	}
	r = uv_try_write((uv_stream_t *)&u->tcp, iov, (unsigned)n);
	if (r < 0 && r != UV_EAGAIN) {
		*err = r;
		return -1;
	}
	done = r > 0 ? (size_t)r : 0;
	if (done == total)
		return 1;
	while (done >= iov[i].len) {
		done -= iov[i].len;
		i++;
	}
	iov[i].base += done;
	iov[i].len -= done;
	r = uv_write(&u->wreq, (uv_stream_t *)&u->tcp, iov + i, (unsigned)(n - i), cb);
	if (r != 0) {
		*err = r;
		return -1;
	}
	u->writing = 1;
	return 0;
}

static void on_shutdown_write(uv_shutdown_t *req, int status)
{
	(void)req;
	(void)status; /* a failure shows as a failed write or read */
}

int tt_upconn_shutdown_write(struct tt_upconn *u)
{
	if (u->closing)
		return UV_ENOTCONN;
	if (u->tls)
		return tt_tls_io_shutdown(u->tls, &u->sreq, on_shutdown_write) == 0 ? 0 : UV_EPIPE;
	if (tt_ring_busy(&u->rsend)) {
		/* libuv orders a shutdown after its own writes only. */
		u->shut_pending = 1;
		return 0;
	}
	return uv_shutdown(&u->sreq, (uv_stream_t *)&u->tcp, on_shutdown_write);
}

/* An idle connection: any byte or end of stream means it is unusable. */
static void on_idle_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct tt_upconn *u = s->data;
	if (nread == 0)
		return;
	tt_upconn_close(u);
}

/* RFC 9112 section 9.3: a connection may be closed at any time; probe it
 * just before reuse so that a close already queued is not met mid-request. */
static int still_open(struct tt_upconn *u)
{
	uv_os_fd_t fd;
	char b;
	if (uv_fileno((uv_handle_t *)&u->tcp, &fd) != 0)
		return 0;
	ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct tt_upconn *tt_pool_take(struct tt_pool *p, struct tt_exchange *ex, int probe)
{
	while (p->idle) {
		struct tt_upconn *u = p->idle;
		unlink_idle(u);
		if (probe || uv_now(&p->w->loop) - u->idle_since_ms >= TT_POOL_PROBE_IDLE_MS) {
			if (!still_open(u)) {
				tt_upconn_close(u);
				continue;
			}
		}
		tt_upconn_read_park(u);
		u->ex = ex;
		u->reused = 1;
		return u;
	}
	return NULL;
}

static void on_timer(uv_timer_t *t)
{
	struct tt_upconn *u = t->data;
	uint64_t now = uv_now(t->loop);
	if (!u->due_ms)
		return;
	if (u->due_ms > now) {
		uv_timer_start(t, on_timer, u->due_ms - now, 0);
		return;
	}
	u->due_ms = 0;
	u->timer_cb(u);
}

void tt_upconn_timer(struct tt_upconn *u, uint64_t ms, void (*cb)(struct tt_upconn *u))
{
	u->due_ms = uv_now(u->timer.loop) + ms;
	u->timer_cb = cb;
	if (!uv_is_active((uv_handle_t *)&u->timer) || uv_timer_get_due_in(&u->timer) > ms)
		uv_timer_start(&u->timer, on_timer, ms, 0);
}

void tt_upconn_timer_stop(struct tt_upconn *u)
{
	u->due_ms = 0;
}

struct tt_upconn *tt_upconn_connect(struct tt_pool *p, struct tt_exchange *ex,
                                    const struct sockaddr *sa, uv_connect_cb cb, int *err)
{
	struct tt_upconn *u = calloc(1, sizeof(*u));
	if (!u)
		abort();
	u->magic = TT_UPCONN_MAGIC;
	u->pool = p;
	u->ex = ex;
	uv_tcp_init(&p->w->loop, &u->tcp);
	uv_timer_init(&p->w->loop, &u->timer);
	u->tcp.data = u->timer.data = u->creq.data = u->wreq.data = u;
	u->handles = 2;
	if (++p->nlive > p->peak)
		p->peak = p->nlive;
	uv_tcp_nodelay(&u->tcp, 1);
	*err = uv_tcp_connect(&u->creq, &u->tcp, sa, cb);
	if (*err) {
		tt_upconn_close(u);
		return NULL;
	}
	return u;
}

void tt_pool_give(struct tt_upconn *u)
{
	struct tt_pool *p = u->pool;
	u->ex = NULL;
	if (u->closing)
		return;
	if (p->w->stopping || p->group->keepalive_max_idle == 0 || u->in.len != u->in.off ||
	    u->unusable) {
		tt_upconn_close(u);
		return;
	}
	tt_bufpool_put(&p->w->bufs, &u->in.data);
	u->in.off = u->in.len = 0;
	u->next = p->idle;
	u->prev = NULL;
	if (p->idle)
		p->idle->prev = u;
	p->idle = u;
	p->nidle++;
	u->idle_since_ms = uv_now(&p->w->loop);
	kick(p);
	tt_upconn_timer_stop(u);
	tt_upconn_read_start(u, on_idle_read);
	if (u->tls)
		tt_tls_io_idle(u->tls);
}
