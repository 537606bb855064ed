/*
 * The config object (src/config/config.c): a full file landing in the
 * struct, defaults, the builder behind `telltale proxy`, reference
 * counting, route matching and trust decisions.
 */
#include "config/cfg_helpers.h"

TestSuite(config, .init = setup, .fini = teardown);

static const char full[] = "workers: 3\n"
                           "access_log: /var/log/telltale.log\n"
                           "name: edge-1\n"
                           "listen:\n"
                           "  - 127.0.0.1:8080\n"
                           "  - \"[::1]:8443\"\n"
                           "  - :8081\n"
                           "upstreams:\n"
                           "  app:\n"
                           "    servers:\n"
                           "      - 127.0.0.1:8000\n"
                           "      - address: app.internal:8001\n"
                           "        weight: 2\n"
                           "    keepalive:\n"
                           "      max_idle: 16\n"
                           "      idle_timeout: 2s500ms\n"
                           "  api:\n"
                           "    servers: [\"[::1]:9000\"]\n"
                           "routes:\n"
                           "  - host: Example.com\n"
                           "    path: /api\n"
                           "    upstream: api\n"
                           "  - path: /\n"
                           "    upstream: app\n"
                           "timeouts:\n"
                           "  downstream_head: 11s\n"
                           "  downstream_keepalive: 76s\n"
                           "  downstream_idle: 61s\n"
                           "  upstream_connect: 6s\n"
                           "  upstream_head: 1m30s\n"
                           "  upstream_idle: 62s\n"
                           "  total: 5m\n"
                           "  grace: 12s\n"
                           "limits:\n"
                           "  head_bytes: 32KiB\n"
                           "  header_count: 50\n"
                           "  body_bytes: 10m\n"
                           "trusted_networks:\n"
                           "  - 10.0.0.0/8\n"
                           "  - fd00::/8\n"
                           "  - 192.168.1.5\n";

Test(config, full_file_lands_in_struct)
{
	cr_assert_eq(load(full), 0, "%s", printed());
	expect_ok();
	cr_assert_eq(C->refs, 1);
	cr_assert_str_eq(C->path, "t.yaml");
	cr_assert_eq(C->workers, 3);
	cr_assert_str_eq(C->access_log, "/var/log/telltale.log");
	cr_assert_str_eq(C->name, "edge-1");
	cr_assert_eq(C->nlisteners, 3);
	cr_assert_str_eq(C->listeners[1].address, "[::1]:8443");
	cr_assert_eq(C->listeners[1].addr.ss_family, AF_INET6);
	const struct sockaddr_in *any = (const struct sockaddr_in *)&C->listeners[2].addr;
	cr_assert_eq(any->sin_addr.s_addr, htonl(INADDR_ANY));
	cr_assert_eq(ntohs(any->sin_port), 8081);
	cr_assert_eq(C->nupstreams, 2);
	const struct tt_cfg_upstream *app = &C->upstreams[0];
	cr_assert_str_eq(app->name, "app");
	cr_assert_eq(app->nservers, 2);
	cr_assert_eq(app->servers[0].weight, 1);
	cr_assert_str_eq(app->servers[1].address, "app.internal:8001");
	cr_assert_eq(app->servers[1].weight, 2);
	/* A name is kept for the worker's resolver, never resolved at load. */
	cr_assert_str_eq(app->servers[1].host, "app.internal");
	cr_assert_eq(app->servers[1].port, 8001);
	cr_assert_eq(app->servers[1].dynamic, 1);
	cr_assert_eq(app->servers[1].addr_len, 0);
	/* A literal is parsed, and its host and port kept as well. */
	const struct sockaddr_in *s0 = (const struct sockaddr_in *)&app->servers[0].addr;
	cr_assert_eq(s0->sin_addr.s_addr, inet_addr("127.0.0.1"));
	cr_assert_eq(ntohs(s0->sin_port), 8000);
	cr_assert_eq(app->servers[0].addr_len, sizeof(struct sockaddr_in));
	cr_assert_str_eq(app->servers[0].host, "127.0.0.1");
	cr_assert_eq(app->servers[0].port, 8000);
	cr_assert_eq(app->servers[0].dynamic, 0);
	cr_assert_str_eq(C->upstreams[1].servers[0].host, "::1");
	cr_assert_eq(app->keepalive_max_idle, 16);
	cr_assert_eq(app->keepalive_idle_timeout_ms, 2500);
	cr_assert_eq(C->upstreams[1].keepalive_max_idle, 256);
	cr_assert_eq(C->nroutes, 2);
	cr_assert_str_eq(C->routes[0].host, "Example.com");
	cr_assert_str_eq(C->routes[0].path_prefix, "/api");
	cr_assert_eq(C->routes[0].upstream, &C->upstreams[1]);
	cr_assert_null(C->routes[1].host);
	cr_assert_eq(C->routes[1].upstream, &C->upstreams[0]);
	cr_assert_eq(C->timeouts.downstream_head_ms, 11000);
	cr_assert_eq(C->timeouts.downstream_keepalive_ms, 76000);
	cr_assert_eq(C->timeouts.downstream_idle_ms, 61000);
	cr_assert_eq(C->timeouts.upstream_connect_ms, 6000);
	cr_assert_eq(C->timeouts.upstream_head_ms, 90000);
	cr_assert_eq(C->timeouts.upstream_idle_ms, 62000);
	cr_assert_eq(C->timeouts.total_ms, 300000);
	cr_assert_eq(C->timeouts.grace_ms, 12000);
	cr_assert_eq(C->limits.head_bytes, 32768);
	cr_assert_eq(C->limits.header_count, 50);
	cr_assert_eq(C->limits.body_bytes, 10485760);
	cr_assert_eq(C->ntrusted, 3);
	cr_assert_eq(C->trusted[1].family, AF_INET6);
	cr_assert_eq(C->trusted[2].prefix, 32);
}

/* Issue 4's defaults, the same from a file and from `telltale proxy`. */
static void assert_shield_defaults(const struct tt_cfg_upstream *u)
{
	cr_assert_eq(u->balance, TT_CFG_BALANCE_ROUND_ROBIN);
	cr_assert_eq(u->slow_start_ms, 10000);
	cr_assert_eq(u->max_connections, 0);
	cr_assert_eq(u->max_pending, 100);
	cr_assert_eq(u->queue_timeout_ms, 1000);
	cr_assert_eq(u->retry.attempts, 2);
	cr_assert_eq(u->retry.budget_percent, 20);
	cr_assert_eq(u->retry.min_retries, 3);
	cr_assert_eq(u->retry.backoff_ms, 25);
	cr_assert_eq(u->retry.backoff_max_ms, 250);
	cr_assert_eq(u->retry.body_bytes, 65536);
	cr_assert_eq(u->passive.consecutive_failures, 5);
	cr_assert_eq(u->passive.failure_percent, 50);
	cr_assert_eq(u->passive.min_requests, 20);
	cr_assert_eq(u->passive.window_ms, 10000);
	cr_assert_eq(u->passive.eject_ms, 10000);
	cr_assert_eq(u->passive.max_eject_ms, 300000);
	cr_assert_eq(u->passive.max_ejected_percent, 50);
	cr_assert_eq(u->passive.panic_percent, 50);
	cr_assert_null(u->active.path);
	cr_assert_null(u->active.host);
	cr_assert_eq(u->active.interval_ms, 5000);
	cr_assert_eq(u->active.timeout_ms, 2000);
	cr_assert_eq(u->active.expect_min, 200);
	cr_assert_eq(u->active.expect_max, 399);
	cr_assert_eq(u->active.healthy_threshold, 2);
	cr_assert_eq(u->active.unhealthy_threshold, 3);
	cr_assert_eq(u->breaker.failure_percent, 50);
	cr_assert_eq(u->breaker.min_requests, 20);
	cr_assert_eq(u->breaker.window_ms, 10000);
	cr_assert_eq(u->breaker.open_ms, 5000);
	cr_assert_eq(u->breaker.half_open_requests, 3);
}

Test(config, defaults_from_minimal_file)
{
	cr_assert_eq(load(BASE), 0, "%s", printed());
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	cr_assert_eq(C->workers, cores > 256 ? 256 : (unsigned)cores);
	cr_assert_str_eq(C->access_log, "-");
	{
		/* The default name is the host name, cut to token characters. */
		char host[256];
		cr_assert_eq(gethostname(host, sizeof(host)), 0);
		cr_assert(C->name[0] && strncmp(C->name, host, strlen(C->name)) == 0, "%s vs %s",
		          C->name, host);
	}
	cr_assert_eq(C->ndetail, 2);
	cr_assert_eq(C->upstreams[0].keepalive_max_idle, 256);
	cr_assert_eq(C->upstreams[0].keepalive_idle_timeout_ms, 4000);
	cr_assert_eq(C->upstreams[0].servers[0].weight, 1);
	cr_assert_eq(C->timeouts.downstream_head_ms, 10000);
	cr_assert_eq(C->timeouts.downstream_keepalive_ms, 75000);
	cr_assert_eq(C->timeouts.downstream_idle_ms, 60000);
	cr_assert_eq(C->timeouts.upstream_connect_ms, 5000);
	cr_assert_eq(C->timeouts.upstream_head_ms, 60000);
	cr_assert_eq(C->timeouts.upstream_idle_ms, 60000);
	cr_assert_eq(C->timeouts.total_ms, 0);
	cr_assert_eq(C->timeouts.grace_ms, 10000);
	cr_assert_eq(C->limits.head_bytes, 16384);
	cr_assert_eq(C->limits.header_count, 100);
	cr_assert_eq(C->limits.body_bytes, 0);
	cr_assert_eq(C->limits.max_connections, 10000);
	cr_assert_eq(C->stale.max_bytes, 0);
	cr_assert_eq(C->stale.max_object_bytes, 1048576);
	assert_shield_defaults(&C->upstreams[0]);
	cr_assert_eq(C->ntrusted, 2);
	/* One upstream and no routes: one route "/" to it. */
	cr_assert_eq(C->nroutes, 1);
	cr_assert_null(C->routes[0].host);
	cr_assert_str_eq(C->routes[0].path_prefix, "/");
	cr_assert_eq(C->routes[0].upstream, &C->upstreams[0]);
	cr_assert_eq(C->routes[0].stale_if_error_ms, 0);
	cr_assert_eq(C->routes[0].always_online, 0);
}

Test(config, print_format)
{
	cr_assert_eq(load(BASE "listn: 1\n"), 1);
	cr_assert_str_eq(printed(),
	                 "t.yaml:5:1: error: unknown key 'listn' at the top level\n"
	                 "  hint: did you mean 'listen'? valid keys: workers, "
	                 "access_log, name, listen, upstreams, routes, timeouts, "
	                 "limits, trusted_networks, error_detail_networks, error_page, stale, "
	                 "admin, resolver, pid_file, io_uring\n");
}

Test(config, refcount_frees_on_last_unref)
{
	cr_assert_eq(load(full), 0);
	struct tt_config *other = C;
	tt_cfg_ref(other);
	cr_assert_eq(C->refs, 2);
	tt_cfg_unref(&other);
	cr_assert_null(other);
	cr_assert_eq(C->refs, 1);
	tt_cfg_unref(&C);
	cr_assert_null(C);
	tt_cfg_unref(&C); /* NULL is fine */
}

/* The builder behind `telltale proxy --listen A --to B,C`. */

Test(config, builder_one_upstream_gets_default_route)
{
	const char *servers[] = {"127.0.0.1:8000", "app.internal:8001"};
	C = tt_cfg_new_default();
	cr_assert_eq(C->refs, 1);
	cr_assert_str_eq(C->path, "(flags)");
	cr_assert_eq(C->ntrusted, 2);
	cr_assert_eq(tt_cfg_add_listener(C, ":8080", &D), 0);
	cr_assert_eq(tt_cfg_add_upstream(C, "default", servers, 2, &D), 0, "%s", printed());
	cr_assert_eq(tt_cfg_finish(C, &D), 0, "%s", printed());
	cr_assert_eq(C->nroutes, 1);
	cr_assert_str_eq(C->routes[0].path_prefix, "/");
	cr_assert_eq(C->routes[0].upstream, &C->upstreams[0]);
	cr_assert_eq(C->upstreams[0].nservers, 2);
	cr_assert_eq(C->upstreams[0].servers[1].weight, 1);
	cr_assert_eq(C->upstreams[0].keepalive_idle_timeout_ms, 4000);
	assert_shield_defaults(&C->upstreams[0]);
	cr_assert_eq(C->limits.max_connections, 10000);
	cr_assert_eq(C->stale.max_bytes, 0);
	cr_assert_eq(C->stale.max_object_bytes, 1048576);
	cr_assert_eq(C->routes[0].stale_if_error_ms, 0);
	cr_assert_eq(C->routes[0].always_online, 0);
}

Test(config, builder_reports_without_position)
{
	const char *bad[] = {"127.0.0.1", "-nosuch.internal:80"};
	C = tt_cfg_new_default();
	cr_assert_eq(tt_cfg_add_listener(C, "::1:80", &D), -1);
	cr_assert_eq(tt_cfg_add_upstream(C, "app", bad, 2, &D), -1);
	cr_assert_eq(tt_cfg_add_upstream(C, "app", bad, 0, &D), -1);
	cr_assert_eq(tt_cfg_add_route(C, "a.com:80", "/", "app", &D), -1);
	cr_assert_eq(tt_cfg_add_route(C, NULL, "api", "app", &D), -1);
	cr_assert_eq(tt_cfg_add_route(C, NULL, "/", NULL, &D), -1);
	cr_assert_eq(tt_cfg_finish(C, &D), 8, "%s", printed());
	expect_diag(0, 0, "listen: IPv6 address '::1:80' needs brackets");
	expect_diag(0, 0, "upstream 'app' server 1: '127.0.0.1' needs a port");
	expect_diag(0, 0, "upstream 'app' server 2: '-nosuch.internal:80' is not a valid address");
	expect_diag(0, 0, "upstream name 'app' is already defined");
	expect_diag(0, 0, "route 1: host 'a.com:80' must not include a port");
	expect_diag(0, 0, "route 1: path 'api' must start with '/'");
	expect_diag(0, 0, "route 1 has no upstream");
	expect_diag(0, 0, "at least one listen address is required");
	cr_assert(strstr(printed(), "(flags): error: listen: IPv6 address '::1:80' needs brackets\n"
	                            "  hint: write IPv6 addresses in brackets: [::1]:8080\n"),
	          "%s", printed());
}

Test(config, builder_routes_and_validation)
{
	const char *a[] = {"127.0.0.1:8000"}, *b[] = {"127.0.0.1:8001"};
	C = tt_cfg_new_default();
	cr_assert_eq(tt_cfg_add_listener(C, "127.0.0.1:8080", &D), 0);
	cr_assert_eq(tt_cfg_add_listener(C, "127.0.0.1:8080", &D), -1);
	expect_diag(0, 0, "listen: '127.0.0.1:8080' is the same address as listener 1");
	tt_cfg_diags_fini(&D);
	cr_assert_eq(tt_cfg_add_upstream(C, "a", a, 1, &D), 0);
	cr_assert_eq(tt_cfg_add_upstream(C, "b", b, 1, &D), 0);
	cr_assert_eq(tt_cfg_finish(C, &D), 1);
	expect_diag(0, 0, "2 upstreams but no routes");
	tt_cfg_diags_fini(&D);
	cr_assert_eq(tt_cfg_add_route(C, "x.com", NULL, "b", &D), 0);
	cr_assert_eq(tt_cfg_add_route(C, NULL, "/", "c", &D), 0);
	cr_assert_eq(tt_cfg_finish(C, &D), 1);
	cr_assert_str_eq(D.items[0].message, "route 2: upstream 'c' is not defined");
	cr_assert_str_eq(D.items[0].hint, "defined upstreams: a, b");
}

Test(config, builder_needs_listener_and_upstream)
{
	C = tt_cfg_new_default();
	cr_assert_eq(tt_cfg_finish(C, &D), 2);
	expect_hint(0, 0, "at least one listen address is required", "127.0.0.1:8080");
	expect_hint(0, 0, "at least one upstream is required", "127.0.0.1:8000");
}

/* Route matching. */

static const char routes_yaml[] = "listen: [127.0.0.1:8080]\n"
                                  "upstreams:\n"
                                  "  root: {servers: [127.0.0.1:1]}\n"
                                  "  api: {servers: [127.0.0.1:2]}\n"
                                  "  apiv2: {servers: [127.0.0.1:3]}\n"
                                  "  host: {servers: [127.0.0.1:4]}\n"
                                  "  hostapi: {servers: [127.0.0.1:5]}\n"
                                  "  slash: {servers: [127.0.0.1:6]}\n"
                                  "  v6: {servers: [127.0.0.1:7]}\n"
                                  "routes:\n"
                                  "  - {path: /, upstream: root}\n"
                                  "  - {path: /api, upstream: api}\n"
                                  "  - {path: /api/v2, upstream: apiv2}\n"
                                  "  - {path: /static/, upstream: slash}\n"
                                  "  - {host: example.com, upstream: host}\n"
                                  "  - {host: example.com, path: /api, upstream: hostapi}\n"
                                  "  - {host: '[::1]', path: /, upstream: v6}\n";

static const char *match(const char *host, const char *path)
{
	const struct tt_cfg_route *r =
	    tt_cfg_route_match(C, host, host ? strlen(host) : 0, path, strlen(path));
	return r ? r->upstream->name : "(none)";
}

Test(config, route_match_longest_prefix_any_host)
{
	cr_assert_eq(load(routes_yaml), 0, "%s", printed());
	cr_assert_str_eq(match("other.org", "/"), "root");
	cr_assert_str_eq(match("other.org", "/x"), "root");
	cr_assert_str_eq(match("other.org", "/api"), "api");
	cr_assert_str_eq(match("other.org", "/api/"), "api");
	cr_assert_str_eq(match("other.org", "/api/users"), "api");
	cr_assert_str_eq(match("other.org", "/api?x=1"), "api");
	cr_assert_str_eq(match("other.org", "/apix"), "root");
	cr_assert_str_eq(match("other.org", "/api/v2"), "apiv2");
	cr_assert_str_eq(match("other.org", "/api/v2/x"), "apiv2");
	cr_assert_str_eq(match("other.org", "/api/v20"), "api");
	cr_assert_str_eq(match("other.org", "/static/"), "slash");
	cr_assert_str_eq(match("other.org", "/static/a.css"), "slash");
	cr_assert_str_eq(match("other.org", "/static"), "root");
	cr_assert_str_eq(match(NULL, "/api"), "api");
	cr_assert_str_eq(match("", "/api"), "api");
}

Test(config, route_match_host_routes_win)
{
	cr_assert_eq(load(routes_yaml), 0, "%s", printed());
	cr_assert_str_eq(match("example.com", "/"), "host");
	cr_assert_str_eq(match("example.com", "/api/v2"), "hostapi");
	cr_assert_str_eq(match("EXAMPLE.COM:8080", "/api"), "hostapi");
	cr_assert_str_eq(match("Example.Com:80", "/x"), "host");
	cr_assert_str_eq(match("example.com.evil", "/"), "root");
	cr_assert_str_eq(match("example.co", "/"), "root");
	cr_assert_str_eq(match("[::1]:8080", "/api"), "v6");
	cr_assert_str_eq(match("[::1]", "/"), "v6");
	cr_assert_str_eq(match("[::2]:80", "/"), "root");
}

Test(config, route_match_host_routes_fall_back_to_any_host)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  a: {servers: [127.0.0.1:1]}\n"
	                  "  b: {servers: [127.0.0.1:2]}\n"
	                  "routes:\n"
	                  "  - {host: a.com, path: /only, upstream: a}\n"
	                  "  - {path: /api, upstream: b}\n"),
	             0, "%s", printed());
	cr_assert_str_eq(match("a.com", "/only/x"), "a");
	cr_assert_str_eq(match("a.com", "/api"), "b");
	cr_assert_str_eq(match("a.com", "/"), "(none)");
	cr_assert_str_eq(match("b.com", "/only"), "(none)");
	cr_assert_null(tt_cfg_route_match(C, "a.com", 5, "/api", 4)->host);
}

/* Trust. */

static int trusted_ip(const char *ip)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	}
	return tt_cfg_is_trusted(C, (const struct sockaddr *)&ss);
}

Test(config, trust_default_is_loopback)
{
	cr_assert_eq(load(BASE), 0);
	cr_assert(trusted_ip("127.0.0.1"));
	cr_assert(trusted_ip("127.255.0.9"));
	cr_assert(trusted_ip("::1"));
	cr_assert(trusted_ip("::ffff:127.0.0.1"));
	cr_assert_not(trusted_ip("128.0.0.1"));
	cr_assert_not(trusted_ip("10.0.0.1"));
	cr_assert_not(trusted_ip("::2"));
	cr_assert_not(trusted_ip("::ffff:10.0.0.1"));
	cr_assert_not(trusted_ip("::127.0.0.1")); /* v4-compatible, not mapped */
	struct sockaddr unix_sa = {.sa_family = AF_UNIX};
	cr_assert_not(tt_cfg_is_trusted(C, &unix_sa));
}

Test(config, trust_v4_v6_and_mapped_networks)
{
	cr_assert_eq(load(BASE "trusted_networks: [10.0.0.0/8, 192.168.1.5, 172.16.0.0/12, "
	                       "'fd00::/8', '::ffff:100.64.0.0/106']\n"),
	             0, "%s", printed());
	cr_assert(trusted_ip("10.1.2.3"));
	cr_assert(trusted_ip("192.168.1.5"));
	cr_assert_not(trusted_ip("192.168.1.6"));
	cr_assert(trusted_ip("172.31.255.255"));
	cr_assert_not(trusted_ip("172.32.0.0"));
	cr_assert(trusted_ip("fd12::1"));
	cr_assert_not(trusted_ip("fe80::1"));
	cr_assert(trusted_ip("::ffff:10.9.9.9"));
	cr_assert(trusted_ip("::ffff:192.168.1.5"));
	cr_assert_not(trusted_ip("::ffff:192.168.1.4"));
	cr_assert(trusted_ip("::ffff:100.64.1.1")); /* the v6 form of the network */
	cr_assert_not(trusted_ip("127.0.0.1"));     /* the list replaces the default */
	cr_assert_not(trusted_ip("::1"));
}

Test(config, trust_everyone_and_no_one)
{
	cr_assert_eq(load(BASE "trusted_networks: [0.0.0.0/0, '::/0']\n"), 0);
	cr_assert(trusted_ip("8.8.8.8"));
	cr_assert(trusted_ip("2001:db8::1"));
	cr_assert_eq(load(BASE "trusted_networks: []\n"), 0);
	cr_assert_not(trusted_ip("127.0.0.1"));
	cr_assert_not(tt_cfg_is_trusted(C, NULL));
}
