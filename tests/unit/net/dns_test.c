/*
 * The resolver (src/net/dns.c) against a scripted DNS server
 * (tests/unit/net/dns_server.py, started per test on a free port): answers
 * and TTLs, the RCODE of each failure, timeouts, the cache, re-resolution,
 * TTL clamping, serve-stale, cancellation and a clean close. Each test
 * drives its own uv loop with bounded uv_run calls and ends with the loop
 * empty.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>
#include <uv.h>

#include "net/dns.h"

static uv_loop_t loop;
static uv_timer_t guard; /* wakes uv_run so waits stay bounded */
static struct tt_dns *res;
static pid_t server_pid;
static int server_stdin = -1; /* closing it ends the server */
static int server_port;
static char counts_path[64];
static char logbuf[4096];

struct got {
	int calls;
	struct tt_dns_answer a;
};

static void on_log(void *arg, const char *line)
{
	size_t n = strlen(logbuf);
	snprintf(logbuf + n, sizeof(logbuf) - n, "%s\n", line);
}

static void start_server(void)
{
	int fds[2], in[2];
	char line[64] = {0};
	struct pollfd p;
	ssize_t n;
	size_t got = 0;

	snprintf(counts_path, sizeof(counts_path), "/tmp/tt_dns_counts.%d", (int)getpid());
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(pipe(in), 0);
	server_pid = fork();
	cr_assert(server_pid >= 0);
	if (server_pid == 0) {
		dup2(fds[1], 1);
		dup2(in[0], 0);
		close(fds[0]);
		close(fds[1]);
		close(in[0]);
		close(in[1]);
		execl("/usr/bin/python3", "python3", "tests/unit/net/dns_server.py", "0",
		      counts_path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	close(in[0]);
	server_stdin = in[1];
	p.fd = fds[0];
	p.events = POLLIN;
	while (got < sizeof(line) - 1 && !memchr(line, '\n', got)) {
		cr_assert_eq(poll(&p, 1, 10000), 1, "the DNS server did not start");
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		cr_assert(n > 0, "the DNS server exited");
		got += (size_t)n;
	}
	close(fds[0]);
	cr_assert_eq(sscanf(line, "ready %d", &server_port), 1, "server said: %s", line);
}

static void on_guard(uv_timer_t *t)
{
}

static void setup(void)
{
	logbuf[0] = 0;
	start_server();
	cr_assert_eq(uv_loop_init(&loop), 0);
	uv_timer_init(&loop, &guard);
	uv_timer_start(&guard, on_guard, 20, 20);
	uv_unref((uv_handle_t *)&guard);
}

static void opts_for_server(struct tt_dns_opts *o)
{
	static char addr[32];

	tt_dns_opts_default(o);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", server_port);
	o->servers[0] = addr;
	o->nservers = 1;
	o->timeout_ms = 600;
	o->tries = 2;
	o->on_log = on_log;
}

static void start_resolver(const struct tt_dns_opts *o)
{
	char err[200] = "";
	res = tt_dns_new(&loop, o, err, sizeof(err));
	cr_assert_not_null(res, "tt_dns_new: %s", err);
}

static void start_default(void)
{
	struct tt_dns_opts o;
	opts_for_server(&o);
	start_resolver(&o);
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

static void run_until(const int *flag, uint64_t max_ms)
{
	uint64_t end = now_ms() + max_ms;
	while (!*flag && now_ms() < end)
		uv_run(&loop, UV_RUN_ONCE);
}

static void on_closed(void *arg)
{
	*(int *)arg = 1;
}

static void count_one(uv_handle_t *h, void *arg)
{
	(*(int *)arg)++;
}

/* Handles still on the loop once pending closes have run. */
static int count_handles(void)
{
	int n = 0;

	for (int t = 0; t < 3; t++)
		uv_run(&loop, UV_RUN_NOWAIT);
	uv_walk(&loop, count_one, &n);
	return n;
}

static void teardown(void)
{
	int closed = 0;

	if (res) {
		tt_dns_close(&res, on_closed, &closed);
		run_until(&closed, 3000);
		cr_assert(closed, "the resolver never finished closing");
	}
	uv_close((uv_handle_t *)&guard, NULL);
	cr_assert_eq(count_handles(), 0);
	cr_assert_eq(uv_loop_close(&loop), 0, "handles left on the loop");
	if (server_pid > 0) {
		close(server_stdin);
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	unlink(counts_path);
}

TestSuite(dns, .init = setup, .fini = teardown, .timeout = 30);

/* How many queries of name and type ("A", "AAAA") the server got. */
static int asked(const char *name, const char *type)
{
	FILE *f = fopen(counts_path, "r");
	char n[128], t[16];
	int c, found = 0;

	cr_assert_not_null(f);
	while (fscanf(f, "%127s %15s %d", n, t, &c) == 3)
		if (strcmp(n, name) == 0 && strcmp(t, type) == 0)
			found = c;
	fclose(f);
	return found;
}

static void on_answer(struct tt_dns_req *req, const struct tt_dns_answer *a, void *arg)
{
	struct got *g = arg;
	g->calls++;
	g->a = *a;
}

/* Resolve and wait; returns the milliseconds it took. */
static uint64_t resolve(const char *name, int family, struct got *g)
{
	struct tt_dns_req req;
	uint64_t t0 = now_ms();

	memset(&req, 0, sizeof(req));
	memset(g, 0, sizeof(*g));
	cr_assert_eq(tt_dns_resolve(res, &req, name, family, on_answer, g), 0);
	cr_assert_eq(g->calls, 0, "the callback ran inside tt_dns_resolve");
	run_until(&g->calls, 5000);
	cr_assert_eq(g->calls, 1, "%s: callback calls", name);
	return now_ms() - t0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	uv_update_time(&loop);
}

static const char *ip_of(const struct tt_dns_addr *d, char *buf, size_t cap)
{
	if (d->u.sa.sa_family == AF_INET)
		return inet_ntop(AF_INET, &d->u.in.sin_addr, buf, (socklen_t)cap);
	return inet_ntop(AF_INET6, &d->u.in6.sin6_addr, buf, (socklen_t)cap);
}

static void expect_ip(const struct tt_dns_answer *a, size_t i, const char *ip)
{
	char buf[64];
	cr_assert(i < a->naddrs);
	cr_assert_str_eq(ip_of(&a->addrs[i], buf, sizeof(buf)), ip);
}

Test(dns, an_answer_carries_the_address_and_its_ttl)
{
	struct got g;

	start_default();
	resolve("ok.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	cr_assert_eq(g.a.error.id, TT_FAULT_NONE);
	cr_assert_eq(g.a.naddrs, 1);
	expect_ip(&g.a, 0, "10.0.0.1");
	cr_assert_eq(g.a.addrs[0].ttl_s, 300);
	cr_assert_eq(g.a.ttl_s, 300);
	cr_assert_eq(g.a.expires_ms - g.a.received_ms, 300000);
	cr_assert_str_eq(g.a.name, "ok.test");
}

Test(dns, every_address_is_kept_and_the_smallest_ttl_rules)
{
	struct got g;

	start_default();
	resolve("multi.test", AF_INET, &g);
	cr_assert_eq(g.a.naddrs, 3);
	expect_ip(&g.a, 0, "10.0.0.1");
	expect_ip(&g.a, 1, "10.0.0.2");
	expect_ip(&g.a, 2, "10.0.0.3");
	cr_assert_eq(g.a.addrs[0].ttl_s, 30);
	cr_assert_eq(g.a.addrs[1].ttl_s, 20);
	cr_assert_eq(g.a.addrs[2].ttl_s, 40);
	cr_assert_eq(g.a.ttl_s, 20);
	cr_assert_eq(g.a.expires_ms - g.a.received_ms, 20000);
}

Test(dns, any_family_returns_a_and_aaaa)
{
	struct got g;
	int v4 = 0, v6 = 0;

	start_default();
	resolve("dual.test", AF_UNSPEC, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	cr_assert_eq(g.a.naddrs, 2);
	for (size_t i = 0; i < g.a.naddrs; i++) {
		char buf[64];
		const char *ip = ip_of(&g.a.addrs[i], buf, sizeof(buf));
		v4 += strcmp(ip, "10.0.0.1") == 0;
		v6 += strcmp(ip, "2001:db8::1") == 0;
	}
	cr_assert(v4 == 1 && v6 == 1);
}

Test(dns, a_v4_only_name_asked_for_any_family_still_resolves)
{
	struct got g;

	start_default();
	resolve("ok.test", AF_UNSPEC, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	cr_assert_eq(g.a.naddrs, 1);
	expect_ip(&g.a, 0, "10.0.0.1");
}

static void expect_dns_error(const char *name, const char *rcode)
{
	struct got g;
	struct tt_fault f;

	resolve(name, AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_NONE, "%s", name);
	cr_assert_eq(g.a.naddrs, 0);
	cr_assert_eq(g.a.error.id, TT_FAULT_DNS_ERROR, "%s", name);
	cr_assert_str_eq(g.a.error.rcode, rcode, "ares status %d", g.a.error.ares_status);
	tt_fault_clear(&f);
	tt_dns_fault(&g.a, &f);
	cr_assert_eq(f.id, TT_FAULT_DNS_ERROR);
	cr_assert_eq(f.stage, TT_STAGE_DNS);
	cr_assert_str_eq(f.param_name, "rcode");
	cr_assert_str_eq(f.param_value, rcode);
	cr_assert_eq(f.param_is_int, 0);
	cr_assert(strstr(f.details, name), "details: %s", f.details);
}

Test(dns, nxdomain_is_dns_error_with_its_rcode)
{
	start_default();
	expect_dns_error("nx.test", "NXDOMAIN");
	cr_assert_eq(asked("nx.test", "A"), 1);
}

Test(dns, servfail_is_dns_error_with_its_rcode)
{
	start_default();
	expect_dns_error("servfail.test", "SERVFAIL");
	/* ARES_FLAG_NOCHECKRESP: the answer is final, not retried. */
	cr_assert_eq(asked("servfail.test", "A"), 1);
}

Test(dns, refused_is_dns_error_with_its_rcode)
{
	start_default();
	expect_dns_error("refused.test", "REFUSED");
}

Test(dns, a_name_without_records_is_dns_error_noerror)
{
	start_default();
	expect_dns_error("nodata.test", "NOERROR");
}

Test(dns, silence_is_dns_timeout_within_the_timeout)
{
	struct got g;
	struct tt_fault f;
	uint64_t ms;

	start_default(); /* timeout 600 ms, 2 tries */
	ms = resolve("silent.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_NONE);
	cr_assert_eq(g.a.error.id, TT_FAULT_DNS_TIMEOUT);
	cr_assert_null(g.a.error.rcode);
	cr_assert(ms >= 400 && ms <= 800, "took %llu ms", (unsigned long long)ms);
	cr_assert_eq(asked("silent.test", "A"), 2);
	tt_fault_clear(&f);
	tt_dns_fault(&g.a, &f);
	cr_assert_eq(f.id, TT_FAULT_DNS_TIMEOUT);
	cr_assert_str_eq(f.param_name, "");
	cr_assert(strstr(f.details, "600 ms"), "details: %s", f.details);
}

Test(dns, a_kept_answer_is_served_without_asking_again)
{
	struct got g;
	struct tt_dns_answer peek;

	start_default();
	resolve("ok.test", AF_INET, &g);
	resolve("OK.Test", AF_INET, &g); /* names compare without case */
	cr_assert_eq(g.a.source, TT_DNS_CACHED);
	expect_ip(&g.a, 0, "10.0.0.1");
	cr_assert_eq(asked("ok.test", "A"), 1);
	cr_assert_eq(tt_dns_cached(res, "ok.test", AF_INET, &peek), 1);
	cr_assert_eq(peek.source, TT_DNS_CACHED);
	cr_assert_eq(peek.naddrs, 1);
	/* Another family is another question. */
	cr_assert_eq(tt_dns_cached(res, "ok.test", AF_INET6, &peek), 0);
}

Test(dns, the_name_is_asked_again_after_its_ttl_and_the_change_is_seen)
{
	struct got g;

	start_default(); /* TTL 1 s, min_ttl 1 s */
	resolve("changes.test", AF_INET, &g);
	expect_ip(&g.a, 0, "10.0.0.1");
	resolve("changes.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_CACHED);
	cr_assert_eq(asked("changes.test", "A"), 1);
	sleep_ms(1100);
	resolve("changes.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	expect_ip(&g.a, 0, "10.0.0.2");
	cr_assert_eq(asked("changes.test", "A"), 2);
}

Test(dns, ttls_are_clamped_by_min_and_max)
{
	struct tt_dns_opts o;
	struct got g;

	opts_for_server(&o);
	o.min_ttl_ms = 5000;
	o.max_ttl_ms = 10000;
	start_resolver(&o);
	resolve("short.test", AF_INET, &g);
	cr_assert_eq(g.a.ttl_s, 1);
	cr_assert_eq(g.a.expires_ms - g.a.received_ms, 5000);
	resolve("long.test", AF_INET, &g);
	cr_assert_eq(g.a.ttl_s, 86400);
	cr_assert_eq(g.a.expires_ms - g.a.received_ms, 10000);
}

Test(dns, a_zero_ttl_with_no_floor_asks_every_time)
{
	struct tt_dns_opts o;
	struct got g;

	opts_for_server(&o);
	o.min_ttl_ms = 0;
	start_resolver(&o);
	resolve("zero.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	resolve("zero.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_FRESH);
	cr_assert_eq(asked("zero.test", "A"), 2);
}

Test(dns, a_failed_refresh_serves_the_last_good_answer_and_says_so)
{
	struct got g;
	struct tt_fault f;

	start_default(); /* stale 300 s */
	resolve("fails-later.test", AF_INET, &g);
	expect_ip(&g.a, 0, "10.0.0.7");
	sleep_ms(1100);
	resolve("fails-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_STALE);
	expect_ip(&g.a, 0, "10.0.0.7");
	cr_assert_eq(g.a.error.id, TT_FAULT_DNS_ERROR);
	cr_assert_str_eq(g.a.error.rcode, "SERVFAIL");
	cr_assert(strstr(logbuf, "fails-later.test: SERVFAIL; serving the last good answer"),
	          "log: %s", logbuf);
	tt_fault_clear(&f);
	tt_dns_fault(&g.a, &f);
	cr_assert_str_eq(f.param_value, "SERVFAIL");
	/* Within min_ttl of that failure, nobody is asked again. */
	int before = asked("fails-later.test", "A");
	resolve("fails-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_STALE);
	cr_assert_eq(asked("fails-later.test", "A"), before);
}

Test(dns, a_timed_out_refresh_serves_the_last_good_answer)
{
	struct got g;

	start_default();
	resolve("silent-later.test", AF_INET, &g);
	expect_ip(&g.a, 0, "10.0.0.8");
	sleep_ms(1100);
	resolve("silent-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_STALE);
	expect_ip(&g.a, 0, "10.0.0.8");
	cr_assert_eq(g.a.error.id, TT_FAULT_DNS_TIMEOUT);
	cr_assert(strstr(logbuf, "no answer in time; serving the last good answer"), "log: %s",
	          logbuf);
}

Test(dns, without_stale_a_failed_refresh_is_an_error)
{
	struct tt_dns_opts o;
	struct got g;

	opts_for_server(&o);
	o.stale_ms = 0;
	start_resolver(&o);
	resolve("fails-later.test", AF_INET, &g);
	sleep_ms(1100);
	resolve("fails-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_NONE);
	cr_assert_eq(g.a.naddrs, 0);
	cr_assert_str_eq(g.a.error.rcode, "SERVFAIL");
	cr_assert_null(strstr(logbuf, "serving the last good answer"), "log: %s", logbuf);
}

Test(dns, a_failure_is_remembered_for_min_ttl)
{
	struct got g;

	start_default();
	expect_dns_error("nx.test", "NXDOMAIN");
	expect_dns_error("nx.test", "NXDOMAIN");
	cr_assert_eq(asked("nx.test", "A"), 1);
	sleep_ms(1100);
	resolve("nx.test", AF_INET, &g);
	cr_assert_eq(asked("nx.test", "A"), 2);
}

Test(dns, requests_waiting_for_one_name_share_one_lookup)
{
	struct tt_dns_req reqs[3];
	struct got g[3];
	int all = 0;

	start_default();
	memset(reqs, 0, sizeof(reqs));
	memset(g, 0, sizeof(g));
	for (int i = 0; i < 3; i++)
		cr_assert_eq(tt_dns_resolve(res, &reqs[i], "multi.test", AF_INET, on_answer, &g[i]),
		             0);
	/* A request already waiting cannot be used again. */
	cr_assert_eq(tt_dns_resolve(res, &reqs[0], "ok.test", AF_INET, on_answer, &g[0]), -1);
	while (!all) {
		run_until(&g[2].calls, 3000);
		all = g[0].calls && g[1].calls && g[2].calls;
		cr_assert(all || g[2].calls == 0);
	}
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(g[i].calls, 1);
		cr_assert_eq(g[i].a.source, TT_DNS_FRESH);
		cr_assert_eq(g[i].a.naddrs, 3);
	}
	cr_assert_eq(asked("multi.test", "A"), 1);
}

Test(dns, a_cancelled_request_is_not_called_back)
{
	struct tt_dns_req a, b;
	struct got ga = {0}, gb = {0};

	start_default();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(tt_dns_resolve(res, &a, "ok.test", AF_INET, on_answer, &ga), 0);
	cr_assert_eq(tt_dns_resolve(res, &b, "ok.test", AF_INET, on_answer, &gb), 0);
	tt_dns_cancel(&a);
	tt_dns_cancel(&a); /* twice is fine */
	run_until(&gb.calls, 3000);
	cr_assert_eq(gb.calls, 1);
	sleep_ms(50);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(ga.calls, 0);
	/* Cancelling a cache hit before its turn of the loop works too. */
	cr_assert_eq(tt_dns_resolve(res, &a, "ok.test", AF_INET, on_answer, &ga), 0);
	tt_dns_cancel(&a);
	uv_run(&loop, UV_RUN_NOWAIT);
	cr_assert_eq(ga.calls, 0);
}

Test(dns, bad_arguments_are_refused)
{
	struct tt_dns_req q;
	struct got g;
	char longname[300];

	start_default();
	memset(&q, 0, sizeof(q));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	cr_assert_eq(tt_dns_resolve(res, &q, "", AF_INET, on_answer, &g), -1);
	cr_assert_eq(tt_dns_resolve(res, &q, longname, AF_INET, on_answer, &g), -1);
	cr_assert_eq(tt_dns_resolve(res, &q, "ok.test", AF_UNIX, on_answer, &g), -1);
}

Test(dns, close_cancels_waiters_and_leaves_the_loop_empty)
{
	struct tt_dns_req q;
	struct got g = {0};
	int closed = 0;

	start_default();
	memset(&q, 0, sizeof(q));
	cr_assert_eq(tt_dns_resolve(res, &q, "silent.test", AF_INET, on_answer, &g), 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	tt_dns_close(&res, on_closed, &closed);
	cr_assert_null(res);
	cr_assert_eq(g.calls, 0, "called back inside tt_dns_close");
	run_until(&closed, 3000);
	cr_assert(closed);
	cr_assert_eq(g.calls, 1);
	cr_assert_eq(g.a.source, TT_DNS_CANCELLED);
	cr_assert_eq(g.a.error.id, TT_FAULT_NONE);
	/* teardown checks the loop is empty */
}

Test(dns, bad_options_are_refused_with_a_reason)
{
	struct tt_dns_opts o;
	char err[200];

	opts_for_server(&o);
	o.servers[0] = "not an address";
	cr_assert_null(tt_dns_new(&loop, &o, err, sizeof(err)));
	cr_assert(strstr(err, "not an address"), "%s", err);
	opts_for_server(&o);
	o.min_ttl_ms = 2000;
	o.max_ttl_ms = 1000;
	cr_assert_null(tt_dns_new(&loop, &o, err, sizeof(err)));
	cr_assert(strstr(err, "min_ttl"), "%s", err);
	opts_for_server(&o);
	o.tries = 0;
	cr_assert_null(tt_dns_new(&loop, &o, err, sizeof(err)));
}

Test(dns, the_system_resolver_is_the_default)
{
	struct tt_dns_opts o;
	char err[200] = "";

	tt_dns_opts_default(&o);
	res = tt_dns_new(&loop, &o, err, sizeof(err));
	cr_assert_not_null(res, "%s", err);
}

Test(dns, c_ares_statuses_map_to_the_catalogue)
{
	struct tt_dns_error e;

	tt_dns_classify(ARES_SUCCESS, &e);
	cr_assert_eq(e.id, TT_FAULT_NONE);
	tt_dns_classify(ARES_ENOTFOUND, &e);
	cr_assert_eq(e.id, TT_FAULT_DNS_ERROR);
	cr_assert_str_eq(e.rcode, "NXDOMAIN");
	tt_dns_classify(ARES_EFORMERR, &e);
	cr_assert_str_eq(e.rcode, "FORMERR");
	tt_dns_classify(ARES_ENOTIMP, &e);
	cr_assert_str_eq(e.rcode, "NOTIMP");
	tt_dns_classify(ARES_ETIMEOUT, &e);
	cr_assert_eq(e.id, TT_FAULT_DNS_TIMEOUT);
	cr_assert_null(e.rcode);
	tt_dns_classify(ARES_ECONNREFUSED, &e);
	cr_assert_eq(e.id, TT_FAULT_DNS_ERROR);
	cr_assert_null(e.rcode);
	cr_assert_eq(e.ares_status, ARES_ECONNREFUSED);
	tt_dns_classify(ARES_ENOMEM, &e);
	cr_assert_eq(e.id, TT_FAULT_PROXY_INTERNAL_ERROR);
}

Test(dns, life_is_the_ttl_clamped)
{
	cr_assert_eq(tt_dns_life_ms(30, 1000, 300000), 30000);
	cr_assert_eq(tt_dns_life_ms(0, 1000, 300000), 1000);
	cr_assert_eq(tt_dns_life_ms(86400, 1000, 300000), 300000);
	cr_assert_eq(tt_dns_life_ms(UINT32_MAX, 0, UINT64_MAX), (uint64_t)UINT32_MAX * 1000);
}

Test(dns, the_last_good_answer_is_dropped_when_stale_runs_out)
{
	struct tt_dns_opts o;
	struct got g;

	opts_for_server(&o);
	o.stale_ms = 500;
	start_resolver(&o);
	resolve("fails-later.test", AF_INET, &g);
	sleep_ms(1100);
	resolve("fails-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_STALE);
	sleep_ms(600);
	resolve("fails-later.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_NONE);
	cr_assert_eq(g.a.naddrs, 0);
	cr_assert_str_eq(g.a.error.rcode, "SERVFAIL");
	cr_assert(strstr(logbuf, "fails-later.test: still failing (SERVFAIL); the last good answer "
	                         "is past its life plus stale (0.5 s) and is dropped"),
	          "log: %s", logbuf);
}

Test(dns, a_closed_resolver_port_is_dns_error_without_rcode)
{
	struct tt_dns_opts o;
	struct got g;

	opts_for_server(&o);
	o.servers[0] = "127.0.0.1:9"; /* discard: nothing listens on UDP */
	start_resolver(&o);
	resolve("ok.test", AF_INET, &g);
	cr_assert_eq(g.a.source, TT_DNS_NONE);
	cr_assert_eq(g.a.error.id, TT_FAULT_DNS_ERROR, "status %d", g.a.error.ares_status);
	cr_assert_null(g.a.error.rcode);
	cr_assert_eq(g.a.error.ares_status, ARES_ECONNREFUSED);
}
