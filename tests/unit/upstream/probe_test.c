/*
 * The active probe against real sockets on 127.0.0.1: a tiny libuv origin
 * on the test's own loop answers as the test says (200, 503, garbage, 1xx
 * then 204, nothing), or its port is closed. Intervals are 20 ms and every
 * wait is bounded; each test ends with the loop empty.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "upstream/probe.h"

enum mode { ANSWER_200, ANSWER_503, ANSWER_GARBAGE, ANSWER_1XX_204, ANSWER_NOTHING };

static const char *const answers[] = {
    [ANSWER_200] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    [ANSWER_503] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    [ANSWER_GARBAGE] = "garbage\r\n\r\n",
    [ANSWER_1XX_204] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
    [ANSWER_NOTHING] = NULL,
};

struct oconn;

struct origin {
	uv_tcp_t listener;
	int listening;
	enum mode mode;
	int answered[ANSWER_NOTHING + 1]; /* request heads received, per mode */
	char last[1024];                  /* the last request head */
	struct sockaddr_storage addr;
	char address[64];
	struct oconn *conns;
};

struct oconn {
	uv_tcp_t tcp;
	uv_write_t w;
	struct origin *o;
	struct oconn *next;
	char buf[1024];
	size_t len;
	int done;
};

static uv_loop_t loop;
static struct origin origin;
static struct tt_cfg_server server;
static struct tt_cfg_upstream cfg;
static struct tt_health_group *group;
static uv_timer_t watchdog; /* wakes the loop when a wait runs out */

static void on_oconn_close(uv_handle_t *h)
{
	struct oconn *c = h->data;
	struct oconn **pp = &c->o->conns;
	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	free(c);
}

static void oconn_close(struct oconn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, on_oconn_close);
}

static void on_answered(uv_write_t *w, int status)
{
	oconn_close(w->data);
}

static void on_oalloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct oconn *c = h->data;
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - 1 - c->len));
}

static void on_oread(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct oconn *c = s->data;
	if (n < 0) {
		oconn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = 0;
	if (c->done || !strstr(c->buf, "\r\n\r\n"))
		return;
	c->done = 1;
	struct origin *o = c->o;
	o->answered[o->mode]++;
	snprintf(o->last, sizeof(o->last), "%s", c->buf);
	const char *a = answers[o->mode];
	if (!a)
		return; /* ANSWER_NOTHING: hold the connection until the probe gives up */
	uv_buf_t b = uv_buf_init((char *)a, (unsigned)strlen(a));
	c->w.data = c;
	uv_write(&c->w, s, &b, 1, on_answered);
}

static void on_oconnection(uv_stream_t *l, int status)
{
	struct origin *o = l->data;
	struct oconn *c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	c->o = o;
	uv_tcp_init(&loop, &c->tcp);
	c->tcp.data = c;
	c->next = o->conns;
	o->conns = c;
	cr_assert_eq(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_oalloc, on_oread);
}

static void origin_close(struct origin *o)
{
	if (o->listening) {
		uv_close((uv_handle_t *)&o->listener, NULL);
		o->listening = 0;
	}
}

static void setup(void)
{
	cr_assert_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &watchdog);
	memset(&origin, 0, sizeof(origin));
	struct sockaddr_in sin;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	uv_tcp_init(&loop, &origin.listener);
	origin.listener.data = &origin;
	cr_assert_eq(uv_tcp_bind(&origin.listener, (const struct sockaddr *)&sin, 0), 0);
	cr_assert_eq(uv_listen((uv_stream_t *)&origin.listener, 16, on_oconnection), 0);
	origin.listening = 1;
	int len = sizeof(origin.addr);
	uv_tcp_getsockname(&origin.listener, (struct sockaddr *)&origin.addr, &len);
	snprintf(origin.address, sizeof(origin.address), "127.0.0.1:%d",
	         ntohs(((struct sockaddr_in *)&origin.addr)->sin_port));

	memset(&server, 0, sizeof(server));
	server.address = origin.address;
	memcpy(&server.addr, &origin.addr, sizeof(server.addr));
	server.addr_len = sizeof(struct sockaddr_in);
	server.weight = 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.name = "app";
	cfg.servers = &server;
	cfg.nservers = 1;
	cfg.active = (struct tt_cfg_active_health){
	    .path = "/healthz",
	    .interval_ms = 20,
	    .timeout_ms = 200,
	    .expect_min = 200,
	    .expect_max = 399,
	    .healthy_threshold = 2,
	    .unhealthy_threshold = 3,
	};
	group = tt_health_group_new(&cfg);
}

/* Stop the prober, close the origin, and check that the loop ends empty. */
static void finish_loop(struct tt_prober **p)
{
	tt_prober_stop(p);
	cr_assert_null(*p);
	origin_close(&origin);
	uv_close((uv_handle_t *)&watchdog, NULL);
	for (struct oconn *c = origin.conns; c; c = c->next)
		oconn_close(c);
	cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
	tt_health_group_free(&group);
}

static struct tt_health_view view(void)
{
	struct tt_health_view v;
	tt_health_server_view(group, 0, uv_now(&loop), &v);
	return v;
}

static void on_watchdog(uv_timer_t *t)
{
}

/* Run the loop until cond holds, at most max_ms of loop time; the
 * watchdog bounds each blocking iteration too. */
static int run_until(int (*cond)(void), uint64_t max_ms)
{
	uv_update_time(&loop);
	uint64_t end = uv_now(&loop) + max_ms;
	uv_timer_start(&watchdog, on_watchdog, max_ms, 0);
	while (!cond() && uv_now(&loop) < end)
		uv_run(&loop, UV_RUN_ONCE);
	uv_timer_stop(&watchdog);
	return cond();
}

static int is_down(void)
{
	return view().probe_down;
}

static int is_up(void)
{
	return !view().probe_down;
}

static int two_200s(void)
{
	return origin.answered[ANSWER_200] >= 2 && view().probed;
}

static int asked_once(void)
{
	return origin.answered[ANSWER_NOTHING] >= 1;
}

static uint64_t last_probe_at;

static int probed_since(void)
{
	struct tt_health_view v = view();
	return v.probed && v.probe_at_ms > last_probe_at;
}

/* Wait for a probe that ends after the previous one seen. */
static struct tt_health_view next_probe(void)
{
	cr_assert(run_until(probed_since, 2000), "no probe ended");
	struct tt_health_view v = view();
	last_probe_at = v.probe_at_ms;
	return v;
}

Test(probe, down_after_unhealthy_threshold_up_after_healthy_threshold, .init = setup)
{
	struct tt_prober *p = tt_prober_start(&loop, group, &cfg);
	cr_assert_not_null(p);

	cr_assert(run_until(two_200s, 2000));
	struct tt_health_view v = view();
	cr_assert_not(v.probe_down);
	cr_assert(v.probe_ok);
	cr_assert_eq(v.probe_status, 200);
	char want[256];
	snprintf(want, sizeof(want),
	         "GET /healthz HTTP/1.1\r\nHost: %s\r\nUser-Agent: telltale-health\r\n"
	         "Connection: close\r\n\r\n",
	         origin.address);
	cr_assert_str_eq(origin.last, want);

	origin.mode = ANSWER_503;
	cr_assert(run_until(is_down, 2000), "never went down on 503");
	cr_assert_eq(origin.answered[ANSWER_503], 3, "down after exactly unhealthy_threshold");
	v = view();
	cr_assert_eq(v.probe_status, 503);
	cr_assert_eq(v.probe_fault, TT_FAULT_NONE);
	cr_assert_eq(v.state, TT_HEALTH_PROBE_DOWN);

	origin.mode = ANSWER_200;
	int before = origin.answered[ANSWER_200];
	cr_assert(run_until(is_up, 2000), "never came back");
	cr_assert_eq(origin.answered[ANSWER_200] - before, 2, "up after exactly healthy_threshold");

	/* Closed port: connection refused. */
	origin_close(&origin);
	cr_assert(run_until(is_down, 2000), "never went down on a closed port");
	v = view();
	cr_assert_eq(v.probe_fault, TT_FAULT_CONNECTION_REFUSED);
	cr_assert_eq(v.probe_status, 0);
	finish_loop(&p);
}

Test(probe, records_the_fault_of_each_bad_answer, .init = setup)
{
	cfg.active.timeout_ms = 60;
	cfg.active.host = "health.internal";
	struct tt_prober *p = tt_prober_start(&loop, group, &cfg);
	cr_assert_not_null(p);
	last_probe_at = 0;

	origin.mode = ANSWER_NOTHING;
	struct tt_health_view v = next_probe();
	cr_assert_not(v.probe_ok);
	cr_assert_eq(v.probe_fault, TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_assert(strstr(origin.last, "\r\nHost: health.internal\r\n"), "%s", origin.last);

	origin.mode = ANSWER_GARBAGE;
	do
		v = next_probe();
	while (v.probe_fault == TT_FAULT_HTTP_RESPONSE_TIMEOUT);
	cr_assert_eq(v.probe_fault, TT_FAULT_HTTP_PROTOCOL_ERROR);
	cr_assert_not(v.probe_ok);

	origin.mode = ANSWER_1XX_204;
	do
		v = next_probe();
	while (v.probe_fault == TT_FAULT_HTTP_PROTOCOL_ERROR);
	cr_assert(v.probe_ok, "the interim 100 is skipped");
	cr_assert_eq(v.probe_status, 204);
	finish_loop(&p);
}

Test(probe, stop_with_a_probe_in_flight_leaves_the_loop_empty, .init = setup)
{
	origin.mode = ANSWER_NOTHING;
	cfg.active.timeout_ms = 5000;
	struct tt_prober *p = tt_prober_start(&loop, group, &cfg);
	cr_assert_not_null(p);
	cr_assert(run_until(asked_once, 2000));
	cr_assert_not(run_until(two_200s, 50), "nothing answers");
	cr_assert_eq(origin.answered[ANSWER_NOTHING], 1, "the probe is waiting for its answer");
	cr_assert_not(view().probed);
	finish_loop(&p);
}

Test(probe, no_prober_without_a_safe_path, .init = setup)
{
	cfg.active.path = NULL;
	cr_assert_null(tt_prober_start(&loop, group, &cfg));
	cfg.active.path = "/a b";
	cr_assert_null(tt_prober_start(&loop, group, &cfg));
	cfg.active.path = "/ok";
	cfg.active.host = "evil\r\nX: 1";
	cr_assert_null(tt_prober_start(&loop, group, &cfg));
	struct tt_prober *none = NULL;
	finish_loop(&none);
}
