/*
 * The admin endpoint: see admin.h. Pages are gathered (gather) into a view
 * (view.h) and rendered by prom.c and status.c; this file holds the
 * sockets, the little HTTP it speaks, and the gathering.
 */
#include "obs/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/h1_parse.h"
#include "obs/prom.h"
#include "obs/status.h"
#include "obs/view.h"
#include "upstream/health.h"

#define ADMIN_HEAD_MAX   8192
#define ADMIN_FIELDS     64
#define ADMIN_TIMEOUT_MS 10000
#define ADMIN_MAGIC      0x74746164u
/* Admin connections open at once; more are closed on accept, so a flood of
 * idle connections costs the main loop a bounded amount of memory. */
#define ADMIN_MAX_CONNS 64

struct tt_admin {
	uv_tcp_t tcp;
	const struct tt_admin_source *src;
	struct aconn *conns;
	size_t nconns;
	int closing;
};

struct aconn {
	uint32_t magic;
	struct tt_admin *a;
	struct aconn *prev, *next;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wreq;
	int handles; /* open handles; freed at 0 */
	int answered;
	int trusted;
	size_t len;
	char in[ADMIN_HEAD_MAX];
	struct tt_sbuf head, body;
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t path_len(const char *target, size_t len)
{
	const char *q = memchr(target, '?', len);
	return q ? (size_t)(q - target) : len;
}

static int path_is(const char *target, size_t len, const char *path)
{
	size_t n = path_len(target, len);
	return n == strlen(path) && !memcmp(target, path, n);
}

int tt_admin_owns(const char *target, size_t len)
{
	return path_is(target, len, "/metrics") || path_is(target, len, "/healthz") ||
	       path_is(target, len, "/status") || path_is(target, len, "/status.json");
}

/* The newest notes of group g over every worker, newest first. */
static size_t merge_notes(const struct tt_admin_source *src, size_t g, struct tt_fault_note *out)
{
	struct tt_fault_note tmp[TT_METRICS_RING];
	size_t n = 0;
	for (unsigned w = 0; w < src->nworkers; w++) {
		size_t k = tt_metrics_notes(src->workers[w], g, tmp, TT_METRICS_RING);
		for (size_t i = 0; i < k; i++) {
			/* Insert by time, dropping the oldest past the cap. */
			size_t j = n < TT_VIEW_NOTES ? n++ : TT_VIEW_NOTES;
			if (j == TT_VIEW_NOTES && tmp[i].time_ms <= out[j - 1].time_ms)
				continue;
			if (j == TT_VIEW_NOTES)
				j--;
			while (j > 0 && out[j - 1].time_ms < tmp[i].time_ms) {
				out[j] = out[j - 1];
				j--;
			}
			out[j] = tmp[i];
		}
	}
	return n;
}

struct gathered {
	struct tt_obs_view v;
	struct tt_metrics sum;
	struct tt_health_view *servers;
	struct tt_health_summary *groups;
	struct tt_fault_note *notes;
	size_t *nnotes;
};

static void gather(const struct tt_admin_source *src, int trusted, struct gathered *g)
{
	const struct tt_config *cfg = src->cfg;
	uint64_t mono = uv_hrtime() / 1000000;
	size_t ng = cfg->nupstreams;
	tt_metrics_init(&g->sum, cfg);
	for (unsigned w = 0; w < src->nworkers; w++)
		tt_metrics_add(&g->sum, src->workers[w]);
	if (src->fold)
		src->fold(src, &g->sum);
	g->servers = calloc(g->sum.nservers ? g->sum.nservers : 1, sizeof(*g->servers));
	g->groups = calloc(ng ? ng : 1, sizeof(*g->groups));
	g->notes = calloc(ng ? ng * TT_VIEW_NOTES : 1, sizeof(*g->notes));
	g->nnotes = calloc(ng ? ng : 1, sizeof(*g->nnotes));
	if (!g->servers || !g->groups || !g->notes || !g->nnotes)
		abort();
	for (size_t i = 0; i < ng; i++) {
		tt_health_summary(src->health[i], mono, &g->groups[i]);
		for (size_t j = 0; j < cfg->upstreams[i].nservers; j++)
			tt_health_server_view(src->health[i], j, mono,
			                      &g->servers[tt_metrics_server(&g->sum, i, j)]);
		g->nnotes[i] = merge_notes(src, i, g->notes + i * TT_VIEW_NOTES);
	}
	g->v = (struct tt_obs_view){
	    .cfg = cfg,
	    .m = &g->sum,
	    .servers = g->servers,
	    .groups = g->groups,
	    .notes = g->notes,
	    .nnotes = g->nnotes,
	    .downstream_open = atomic_load_explicit(src->ds_total, memory_order_relaxed),
	    .workers = src->nworkers,
	    .now_ms = wall_ms(),
	    .mono_ms = mono,
	    .started_ms = src->started_ms,
	    .trusted = trusted,
	    .generation = 1,
	    .last_reload_ok = -1,
	};
	if (src->reload) {
		const struct tt_reload_info *r = src->reload;
		g->v.generation = atomic_load_explicit(&r->generation, memory_order_relaxed);
		g->v.reloads_ok = atomic_load_explicit(&r->ok, memory_order_relaxed);
		g->v.reloads_error = atomic_load_explicit(&r->errors, memory_order_relaxed);
		g->v.last_reload_ms = atomic_load_explicit(&r->last_ms, memory_order_relaxed);
		g->v.last_reload_ok = atomic_load_explicit(&r->last_ok, memory_order_relaxed);
	}
}

static void gathered_fini(struct gathered *g)
{
	tt_metrics_fini(&g->sum);
	free(g->servers);
	free(g->groups);
	free(g->notes);
	free(g->nnotes);
}

int tt_admin_render(const struct tt_admin_source *src, const char *target, size_t len, int trusted,
                    struct tt_sbuf *body, const char **content_type)
{
	struct gathered g;
	*content_type = "text/plain; charset=utf-8";
	if (path_is(target, len, "/healthz")) {
		tt_sbuf_fmt(body, "ok: %u workers\n", src->nworkers);
		return 200;
	}
	if (!tt_admin_owns(target, len)) {
		tt_sbuf_str(body,
		            "not found; the admin endpoint serves /metrics, /healthz, /status "
		            "and /status.json\n");
		return 404;
	}
	gather(src, trusted, &g);
	if (path_is(target, len, "/metrics")) {
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		tt_prom_write(body, &g.v);
	} else if (path_is(target, len, "/status")) {
		*content_type = "text/html; charset=utf-8";
		tt_status_html(body, &g.v);
	} else {
		*content_type = "application/json";
		tt_status_json(body, &g.v);
	}
	gathered_fini(&g);
	return 200;
}

/* ---- connections ---- */

static void on_conn_closed(uv_handle_t *h)
{
	struct aconn *c = h->data;
	if (--c->handles)
		return;
	tt_sbuf_fini(&c->head);
	tt_sbuf_fini(&c->body);
	c->magic = 0;
	free(c);
}

static void conn_close(struct aconn *c)
{
	if (uv_is_closing((uv_handle_t *)&c->tcp))
		return;
	c->a->nconns--;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->a->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_written(uv_write_t *req, int status)
{
	conn_close(req->data);
}

static void answer(struct aconn *c, int status, const char *reason, const char *ctype, int head)
{
	uv_buf_t iov[2];
	c->answered = 1;
	uv_read_stop((uv_stream_t *)&c->tcp);
	tt_sbuf_fmt(&c->head,
	            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	            "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	            "%sConnection: close\r\n\r\n",
	            status, reason, ctype, c->body.len,
	            status == 405 ? "Allow: GET, HEAD\r\n" : "");
	iov[0] = uv_buf_init(c->head.p, (unsigned)c->head.len);
	iov[1] = uv_buf_init(c->body.p ? c->body.p : "", head ? 0 : (unsigned)c->body.len);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, iov, 2, on_written) != 0)
		conn_close(c);
}

static void serve(struct aconn *c)
{
	struct tt_h1_field fields[ADMIN_FIELDS];
	struct tt_h1_limits lim = {ADMIN_HEAD_MAX, ADMIN_HEAD_MAX / 2, ADMIN_HEAD_MAX / 2,
	                           ADMIN_FIELDS};
	struct tt_h1_head req;
	const char *ctype = "text/plain; charset=utf-8";
	ssize_t n;
	int status;

	memset(&req, 0, sizeof(req));
	req.fields = fields;
	n = tt_h1_parse_request(c->in, c->len, &lim, &req);
	if (n == TT_H1_INCOMPLETE && c->len < sizeof(c->in))
		return;
	if (n <= 0) {
		tt_sbuf_str(&c->body, "bad request\n");
		answer(c, 400, "Bad Request", ctype, 0);
		return;
	}
	if (req.method_id != TT_METHOD_GET && req.method_id != TT_METHOD_HEAD) {
		tt_sbuf_str(&c->body, "the admin endpoint answers GET and HEAD only\n");
		answer(c, 405, "Method Not Allowed", ctype, 0);
		return;
	}
	status =
	    tt_admin_render(c->a->src, req.target, req.target_len, c->trusted, &c->body, &ctype);
	answer(c, status, status == 200 ? "OK" : "Not Found", ctype,
	       req.method_id == TT_METHOD_HEAD);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct aconn *c = h->data;
	buf->base = c->in + c->len;
	buf->len = sizeof(c->in) - c->len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct aconn *c = s->data;
	if (nread == 0 || c->answered)
		return;
	if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)nread;
	serve(c);
}

static void on_timeout(uv_timer_t *t)
{
	conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct tt_admin *a = server->data;
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct aconn *c;
	if (status < 0 || a->closing)
		return;
	if (!(c = calloc(1, sizeof(*c))))
		abort();
	c->magic = ADMIN_MAGIC;
	c->a = a;
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->handles = 2;
	c->next = a->conns;
	if (a->conns)
		a->conns->prev = c;
	a->conns = c;
	a->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || a->nconns > ADMIN_MAX_CONNS) {
		conn_close(c);
		return;
	}
	memset(&ss, 0, sizeof(ss));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
		c->trusted = tt_cfg_shows_detail(a->src->cfg, (struct sockaddr *)&ss);
	uv_timer_start(&c->timer, on_timeout, ADMIN_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct tt_admin *tt_admin_start(uv_loop_t *loop, int fd, const struct tt_admin_source *src)
{
	struct tt_admin *a = calloc(1, sizeof(*a));
	int r;
	if (!a)
		abort();
	a->src = src;
	uv_tcp_init(loop, &a->tcp);
	a->tcp.data = a;
	uv_tcp_open(&a->tcp, fd);
	r = uv_listen((uv_stream_t *)&a->tcp, 64, on_connection);
	if (r)
		fprintf(stderr, "telltale: admin: listen: %s\n", uv_strerror(r));
	return a;
}

static void on_admin_closed(uv_handle_t *h)
{
	free(h->data);
}

void tt_admin_set_source(struct tt_admin *a, const struct tt_admin_source *src)
{
	a->src = src;
}

void tt_admin_stop(struct tt_admin **ap)
{
	struct tt_admin *a = *ap;
	*ap = NULL;
	if (!a)
		return;
	a->closing = 1;
	while (a->conns)
		conn_close(a->conns);
	uv_close((uv_handle_t *)&a->tcp, on_admin_closed);
}
