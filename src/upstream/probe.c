/*
 * The active health probe's I/O (see probe.h): one timer and one TCP handle
 * per server, embedded in the prober. Each probe is a small state machine:
 * idle (timer armed for the next probe) -> running (connect, write, read
 * the head; the same timer armed for the timeout) -> finish (report, close
 * the TCP handle) -> the close callback arms the next probe. What the
 * results mean lives in health.c (tt_health_probe_report), so it is tested
 * without sockets.
 *
 * Invariant: `running` is set exactly while a probe may still report; a
 * callback of an abandoned probe (timed out, or the prober stopping) finds
 * it clear and does nothing. The prober is freed when its last handle has
 * closed, never inside a callback of a handle that is still open.
 */
#include "upstream/probe.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault/classify.h"
#include "fault/fault.h"
#include "http/h1_parse.h"

#define PROBE_MAGIC 0x74747071u

/* A probe's response head is small; one larger than this is a bad probe
 * answer (HTTP_RESPONSE_HEADER_SECTION_SIZE), like one with more fields. */
#define PROBE_HEAD_MAX   8192
#define PROBE_FIELDS_MAX 100

/* Used when the config holds 0, which validation should refuse: the
 * documented defaults, rather than a probe storm or no timeout. */
#define PROBE_DEFAULT_INTERVAL_MS 5000
#define PROBE_DEFAULT_TIMEOUT_MS  2000

struct probe {
	uint32_t magic;
	struct tt_prober *owner;
	size_t idx; /* server index in the group */
	const struct tt_cfg_server *server;
	uv_timer_t timer; /* idle: the next probe; running: this probe's timeout */
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	char *req; /* the request bytes; heap, owned */
	size_t req_len;
	size_t len;  /* bytes of response in buf */
	size_t scan; /* tt_h1_head_end's resume point */
	unsigned running : 1;
	unsigned tcp_open : 1; /* tcp initialised and its close callback not yet run */
	unsigned connected : 1;
	char buf[PROBE_HEAD_MAX];
};

struct tt_prober {
	uint32_t magic;
	uv_loop_t *loop;
	struct tt_health_group *g;
	const struct tt_cfg_upstream *cfg;
	uint64_t interval_ms, timeout_ms;
	struct probe *probes; /* one per server; heap, owned */
	size_t n;
	size_t handles; /* open handles; the prober is freed at 0 once stopping */
	int stopping;
	/* Scratch for one parse: probes on one loop never parse at once. */
	struct tt_h1_field fields[PROBE_FIELDS_MAX];
};

static void on_timer(uv_timer_t *t);

/* Bytes that may go on a request line or in a field value unquoted: no
 * space, no control character, nothing a server could split on. */
static int safe_text(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static char *build_request(const char *path, const char *host, size_t *len)
{
	static const char fmt[] = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: telltale-health\r\n"
	                          "Connection: close\r\n\r\n";
	int n = snprintf(NULL, 0, fmt, path, host);
	assert(n > 0);
	char *req = malloc((size_t)n + 1);
	if (!req)
		abort();
	snprintf(req, (size_t)n + 1, fmt, path, host);
	*len = (size_t)n;
	return req;
}

static struct probe *probe_of(void *data)
{
	struct probe *p = data;
	assert(p && p->magic == PROBE_MAGIC);
	return p;
}

static void maybe_free(struct tt_prober *pr)
{
	if (!pr->stopping || pr->handles > 0)
		return;
	for (size_t i = 0; i < pr->n; i++) {
		free(pr->probes[i].req);
		pr->probes[i].magic = 0;
	}
	free(pr->probes);
	pr->magic = 0;
	free(pr);
}

static void on_tcp_close(uv_handle_t *h)
{
	struct probe *p = probe_of(h->data);
	struct tt_prober *pr = p->owner;
	p->tcp_open = 0;
	pr->handles--;
	if (pr->stopping) {
		maybe_free(pr);
		return;
	}
	/* The next probe starts an interval after this one ended, so a slow
	 * server is never probed twice at once. */
	uv_timer_start(&p->timer, on_timer, pr->interval_ms, 0);
}

static void on_timer_close(uv_handle_t *h)
{
	struct probe *p = probe_of(h->data);
	struct tt_prober *pr = p->owner;
	pr->handles--;
	maybe_free(pr);
}

/* The probe's end: report it once, close its connection. */
static void finish(struct probe *p, int ok, int status, enum tt_fault_id fault)
{
	struct tt_prober *pr = p->owner;
	if (!p->running)
		return;
	p->running = 0;
	uv_timer_stop(&p->timer);
	tt_health_probe_report(pr->g, p->idx, ok, status, fault, uv_now(pr->loop));
	if (p->tcp_open && !uv_is_closing((uv_handle_t *)&p->tcp))
		uv_close((uv_handle_t *)&p->tcp, on_tcp_close);
}

/* Look for a whole final response head in buf. RFC 9110 section 15.2: a
 * client must accept 1xx interim responses it did not ask for, so they are
 * skipped (101 is final: the probe asked for no upgrade, so it is
 * unexpected and its status outside any sane expect range). */
static void check_head(struct probe *p)
{
	struct tt_prober *pr = p->owner;
	const struct tt_h1_limits lim = {PROBE_HEAD_MAX, PROBE_HEAD_MAX, PROBE_HEAD_MAX,
	                                 PROBE_FIELDS_MAX};
	while (p->running) {
		if (tt_h1_head_end(p->buf, p->len, &p->scan) == 0) {
			if (p->len == sizeof(p->buf))
				finish(p, 0, 0, TT_FAULT_HTTP_RESPONSE_HEADER_SECTION_SIZE);
			return;
		}
		struct tt_h1_head h;
		memset(&h, 0, sizeof(h));
		h.fields = pr->fields;
		ssize_t r = tt_h1_parse_response(p->buf, p->len, TT_METHOD_GET, &lim, &h);
		if (r == TT_H1_ERROR) {
			finish(p, 0, 0, tt_fault_from_head_error(h.err));
			return;
		}
		if (r == TT_H1_INCOMPLETE)
			return;
		if (h.status >= 100 && h.status < 200 && h.status != 101) {
			memmove(p->buf, p->buf + r, p->len - (size_t)r);
			p->len -= (size_t)r;
			p->scan = 0;
			continue;
		}
		int ok = h.status >= (int)pr->cfg->active.expect_min &&
		         h.status <= (int)pr->cfg->active.expect_max;
		finish(p, ok, h.status, TT_FAULT_NONE);
	}
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct probe *p = probe_of(h->data);
	*buf = uv_buf_init(p->buf + p->len, (unsigned)(sizeof(p->buf) - p->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct probe *p = probe_of(s->data);
	if (!p->running || nread == 0)
		return;
	if (nread < 0) {
		enum tt_stage st = p->len ? TT_STAGE_READ_HEAD : TT_STAGE_WAIT_HEAD;
		finish(p, 0, 0, tt_fault_from_uv((int)nread, st));
		return;
	}
	p->len += (size_t)nread;
	check_head(p);
}

static void on_write(uv_write_t *req, int status)
{
	struct probe *p = probe_of(req->data);
	if (p->running && status < 0)
		finish(p, 0, 0, tt_fault_from_uv(status, TT_STAGE_SEND));
}

static void on_connect(uv_connect_t *req, int status)
{
	struct probe *p = probe_of(req->data);
	/* UV_ECANCELED: the handle was closed (timeout or stop) first. */
	if (!p->running)
		return;
	if (status < 0) {
		finish(p, 0, 0, tt_fault_from_uv(status, TT_STAGE_CONNECT));
		return;
	}
	p->connected = 1;
	uv_buf_t b = uv_buf_init(p->req, (unsigned)p->req_len);
	int r = uv_write(&p->wreq, (uv_stream_t *)&p->tcp, &b, 1, on_write);
	if (r == 0)
		r = uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read);
	if (r < 0)
		finish(p, 0, 0, tt_fault_from_uv(r, TT_STAGE_SEND));
}

static void begin(struct probe *p)
{
	struct tt_prober *pr = p->owner;
	p->len = 0;
	p->scan = 0;
	p->connected = 0;
	int r = uv_tcp_init(pr->loop, &p->tcp);
	if (r < 0) {
		/* No socket (descriptors exhausted): telltale's trouble, not
		 * the server's; shown, not counted (tt_health_probe_report),
		 * and tried again next interval. */
		tt_health_probe_report(pr->g, p->idx, 0, 0, tt_fault_from_uv(r, TT_STAGE_CONNECT),
		                       uv_now(pr->loop));
		uv_timer_start(&p->timer, on_timer, pr->interval_ms, 0);
		return;
	}
	p->tcp.data = p;
	p->tcp_open = 1;
	pr->handles++;
	p->running = 1;
	uv_timer_start(&p->timer, on_timer, pr->timeout_ms, 0);
	r = uv_tcp_connect(&p->creq, &p->tcp, (const struct sockaddr *)&p->server->addr,
	                   on_connect);
	if (r < 0)
		finish(p, 0, 0, tt_fault_from_uv(r, TT_STAGE_CONNECT));
}

static void on_timer(uv_timer_t *t)
{
	struct probe *p = probe_of(t->data);
	if (!p->running) {
		begin(p);
		return;
	}
	/* timeout_ms covers connect and head together. */
	finish(p, 0, 0,
	       p->connected ? TT_FAULT_HTTP_RESPONSE_TIMEOUT : TT_FAULT_CONNECTION_TIMEOUT);
}

struct tt_prober *tt_prober_start(uv_loop_t *loop, struct tt_health_group *g,
                                  const struct tt_cfg_upstream *cfg)
{
	const struct tt_cfg_active_health *a = &cfg->active;
	if (!a->path || !safe_text(a->path) || (a->host && !safe_text(a->host)))
		return NULL;
	assert(tt_health_group_size(g) == cfg->nservers);
	struct tt_prober *pr = calloc(1, sizeof(*pr));
	struct probe *probes = calloc(cfg->nservers ? cfg->nservers : 1, sizeof(*probes));
	if (!pr || !probes)
		abort();
	pr->magic = TT_PROBER_MAGIC;
	pr->loop = loop;
	pr->g = g;
	pr->cfg = cfg;
	pr->interval_ms = a->interval_ms ? a->interval_ms : PROBE_DEFAULT_INTERVAL_MS;
	pr->timeout_ms = a->timeout_ms ? a->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS;
	pr->probes = probes;
	pr->n = cfg->nservers;
	for (size_t i = 0; i < pr->n; i++) {
		struct probe *p = &probes[i];
		const struct tt_cfg_server *s = &cfg->servers[i];
		p->magic = PROBE_MAGIC;
		p->owner = pr;
		p->idx = i;
		p->server = s;
		p->req = build_request(a->path, a->host ? a->host : s->address, &p->req_len);
		p->creq.data = p;
		p->wreq.data = p;
		uv_timer_init(loop, &p->timer);
		p->timer.data = p;
		pr->handles++;
		if (s->dynamic) {
			/* Probes run on the main loop, which has no resolver:
			 * a named server is left to passive health. */
			fprintf(stderr,
			        "telltale: upstream '%s': server %s is named by host name: active "
			        "health checks skip it (passive health still applies)\n",
			        cfg->name, s->address);
			continue;
		}
		/* Spread the first probes over one interval. */
		uv_timer_start(&p->timer, on_timer, pr->interval_ms * i / pr->n, 0);
	}
	return pr;
}

void tt_prober_stop(struct tt_prober **pp)
{
	if (!pp || !*pp)
		return;
	struct tt_prober *pr = *pp;
	*pp = NULL;
	assert(pr->magic == TT_PROBER_MAGIC);
	pr->stopping = 1;
	for (size_t i = 0; i < pr->n; i++) {
		struct probe *p = &pr->probes[i];
		p->running = 0;
		uv_close((uv_handle_t *)&p->timer, on_timer_close);
		if (p->tcp_open && !uv_is_closing((uv_handle_t *)&p->tcp))
			uv_close((uv_handle_t *)&p->tcp, on_tcp_close);
	}
	maybe_free(pr);
}
