/*
 * The config file loader (src/config/load.c, diag.c, yaml_nodes.c): every
 * rule of the schema with the exact message, hint and position it
 * produces.
 */
#include "config/cfg_helpers.h"

TestSuite(load, .init = setup, .fini = teardown);

Test(load, workers_auto_and_range)
{
	cr_assert_eq(load("workers: auto\n" BASE), 0, "%s", printed());
	cr_assert_geq(C->workers, 1);
	cr_assert_eq(load("workers: 256\n" BASE), 0);
	cr_assert_eq(load("workers: 0\n" BASE), 1);
	expect_hint(1, 10, "workers: 0 is out of range", "auto, or an integer from 1 to 256");
	cr_assert_eq(load("workers: 257\n" BASE), 1);
	expect_diag(1, 10, "workers: 257 is out of range");
	cr_assert_eq(load("workers: 0x10\n" BASE), 1);
	expect_diag(1, 10, "workers: '0x10' is not a whole number");
	cr_assert_eq(load("workers: 04\n" BASE), 1);
	expect_diag(1, 10, "workers: '04' has a leading zero");
	cr_assert_eq(load("workers: \"4\"\n" BASE), 0, "%s", printed());
	cr_assert_eq(C->workers, 4);
}

Test(load, access_log_forms)
{
	cr_assert_eq(load("access_log: stdout\n" BASE), 0);
	cr_assert_str_eq(C->access_log, "-");
	cr_assert_eq(load("access_log: off\n" BASE), 0);
	cr_assert_null(C->access_log);
	cr_assert_eq(load("access_log: logs/a.log\n" BASE), 0);
	cr_assert_str_eq(C->access_log, "logs/a.log");
	cr_assert_eq(load("access_log: stderr\n" BASE), 1);
	expect_hint(1, 13, "access_log: 'stderr' is not a choice", "/dev/stderr");
	cr_assert_eq(load("access_log: \"\"\n" BASE), 1);
	expect_diag(1, 13, "access_log: the path is empty");
}

Test(load, pid_file_forms)
{
	cr_assert_eq(load(BASE), 0);
	cr_assert_not_null(C->pid_file, "on by default");
	cr_assert(strstr(C->pid_file, "telltale.pid"), "%s", C->pid_file);
	cr_assert_eq(load("pid_file: off\n" BASE), 0);
	cr_assert_null(C->pid_file);
	cr_assert_eq(load("pid_file: /tmp/x.pid\n" BASE), 0);
	cr_assert_str_eq(C->pid_file, "/tmp/x.pid");
	cr_assert_eq(load("pid_file: \"\"\n" BASE), 1);
	expect_diag(1, 11, "pid_file: the path is empty");
}

Test(load, io_uring_auto_or_off)
{
	cr_assert_eq(load(BASE), 0);
	cr_assert_eq(C->io_uring, 1, "auto by default");
	cr_assert_eq(load("io_uring: off\n" BASE), 0);
	cr_assert_eq(C->io_uring, 0);
	cr_assert_eq(load("io_uring: auto\n" BASE), 0);
	cr_assert_eq(C->io_uring, 1);
	cr_assert_eq(load("io_uring: on\n" BASE), 1);
	expect_hint(1, 11, "io_uring: 'on' is not a choice", "auto (the default) or io_uring: off");
}

Test(load, name_must_be_a_token)
{
	cr_assert_eq(load("name: \"tell tale\"\n" BASE), 1);
	expect_hint(1, 7, "name: 'tell tale' may only contain letters", "Via");
	cr_assert_eq(load("name: edge_1.example\n" BASE), 0);
	cr_assert_str_eq(C->name, "edge_1.example");
}

Test(load, empty_file_and_comments_only)
{
	cr_assert_eq(load(""), 1);
	expect_hint(1, 1, "the configuration is empty", "'listen' and 'upstreams'");
	cr_assert_eq(load("# nothing here\n\n"), 1);
	expect_diag(1, 1, "the configuration is empty");
	cr_assert_eq(load("---\n...\n"), 1);
	expect_diag(1, 1, "the configuration is empty");
}

Test(load, yaml_syntax_error_has_libyaml_position)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\nupstreams: a: b\n"), 1);
	expect_hint(2, 13, "YAML syntax error: mapping values are not allowed in this context",
	            "indentation");
	cr_assert_eq(load("listen: [127.0.0.1:8080\n"), 1);
	cr_assert_eq(D.n, 1);
	cr_assert(strstr(D.items[0].message, "YAML syntax error: did not find expected"), "%s",
	          printed());
	cr_assert_eq(D.items[0].line, 2);
	cr_assert(strstr(D.items[0].hint, "while parsing a flow sequence at line 1 column 9"), "%s",
	          printed());
}

Test(load, bad_utf8_is_a_positioned_reader_error)
{
	cr_assert_eq(load("name: ok\nlisten: \xff\n"), 1);
	expect_hint(2, 9, "YAML syntax error: invalid leading UTF-8 octet", "UTF-8");
}

Test(load, top_level_must_be_a_mapping)
{
	cr_assert_eq(load("- a\n- b\n"), 1);
	expect_diag(1, 1, "the top level must be a mapping, found a list");
	cr_assert_eq(load("hello\n"), 1);
	expect_diag(1, 1, "the top level must be a mapping, found a scalar");
}

Test(load, unknown_key_suggests_and_lists)
{
	cr_assert_eq(load(BASE "listn: [x]\n"), 1);
	expect_hint(5, 1, "unknown key 'listn' at the top level",
	            "did you mean 'listen'? valid keys: workers, access_log, name, listen, "
	            "upstreams, routes, timeouts, limits, trusted_networks");
	cr_assert_eq(load(BASE "timeouts:\n  upstream_hed: 5s\n"), 1);
	expect_hint(6, 3, "unknown key 'upstream_hed' in 'timeouts'",
	            "did you mean 'upstream_head'? valid keys: downstream_head,");
	cr_assert_eq(load(BASE "frobnicate: 1\n"), 1);
	expect_diag(5, 1, "unknown key 'frobnicate' at the top level");
	cr_assert_null(strstr(D.items[0].hint, "did you mean"), "%s", printed());
	cr_assert(strstr(D.items[0].hint, "valid keys: workers"));
}

Test(load, unknown_keys_at_every_level)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    server: [127.0.0.1:8000]\n"
	                  "    keepalive: {max_idel: 3}\n"
	                  "routes:\n"
	                  "  - {path: /, upstream: app, hots: a}\n"
	                  "limits: {head_byte: 1k}\n"),
	             5, "%s", printed());
	expect_hint(4, 5, "unknown key 'server' in 'upstreams.app'", "did you mean 'servers'?");
	expect_diag(3, 3, "upstream 'app' has no 'servers'");
	expect_hint(5, 17, "unknown key 'max_idel' in 'upstreams.app.keepalive'",
	            "did you mean 'max_idle'?");
	expect_hint(7, 30, "unknown key 'hots' in 'route 1'",
	            "did you mean 'host'? valid keys: host, path, upstream");
	expect_hint(8, 10, "unknown key 'head_byte' in 'limits'", "did you mean 'head_bytes'?");
}

Test(load, wrong_types_name_the_expected_type)
{
	cr_assert_eq(load("listen: {a: 1}\n"
	                  "upstreams: [a]\n"
	                  "timeouts: [1]\n"
	                  "workers: [1]\n"
	                  "limits: 5\n"),
	             5, "%s", printed());
	expect_hint(1, 9, "'listen' must be a list, found a mapping",
	            "expected a list of addresses");
	expect_diag(2, 12, "'upstreams' must be a mapping, found a list");
	expect_diag(3, 11, "'timeouts' must be a mapping, found a list");
	expect_diag(4, 10, "'workers' must be a single value, found a list");
	expect_diag(5, 9, "'limits' must be a mapping, found a scalar");
}

Test(load, wrong_types_inside_lists_and_groups)
{
	cr_assert_eq(load("listen: [[1]]\n"
	                  "upstreams:\n"
	                  "  app: [127.0.0.1:8000]\n"
	                  "  web:\n"
	                  "    servers: [[1]]\n"
	                  "routes: [/api]\n"
	                  "trusted_networks: [{a: 1}]\n"),
	             5, "%s", printed());
	expect_diag(1, 10, "listen 1 must be an address or a mapping, found a list");
	expect_diag(3, 8, "'upstreams.app' must be a mapping, found a list");
	expect_diag(5, 15, "upstreams.web.servers 1 must be an address or a mapping, found a list");
	expect_diag(6, 10, "route 1 must be a mapping, found a scalar");
	expect_diag(7, 20, "trusted_networks 1 must be a single value, found a mapping");
}

Test(load, key_without_value)
{
	cr_assert_eq(load("workers:\n" BASE), 1);
	expect_hint(1, 9, "'workers' has no value", "expected auto, or an integer");
	cr_assert_eq(load("timeouts:\n  grace: ~\n" BASE), 1);
	expect_diag(2, 10, "'timeouts.grace' has no value");
}

Test(load, duplicate_keys_point_at_the_first)
{
	cr_assert_eq(load("workers: 1\n" BASE "workers: 2\n"), 1);
	expect_diag(6, 1, "duplicate key 'workers', first at line 1");
	cr_assert_eq(load("timeouts:\n  grace: 1s\n  grace: 2s\n" BASE), 1);
	expect_diag(3, 3, "duplicate key 'grace', first at line 2");
}

Test(load, duplicate_upstream_names_are_duplicate_keys)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    servers: [127.0.0.1:8000]\n"
	                  "  app:\n"
	                  "    servers: [127.0.0.1:8001]\n"),
	             1, "%s", printed());
	expect_hint(5, 3, "duplicate key 'app', first at line 3", "remove or merge");
}

static const char two_upstreams[] = "listen: [127.0.0.1:8080]\n"
                                    "upstreams:\n"
                                    "  app: {servers: [127.0.0.1:8000]}\n"
                                    "  api: {servers: [127.0.0.1:8001]}\n";

Test(load, route_to_missing_upstream_suggests)
{
	char y[1024];
	snprintf(y, sizeof(y),
	         "%sroutes:\n  - {path: /, upstream: app}\n  - path: /x\n"
	         "    upstream: ap\n",
	         two_upstreams);
	cr_assert_eq(load(y), 1, "%s", printed());
	expect_hint(8, 15, "route 2: upstream 'ap' is not defined; did you mean 'app'?",
	            "defined upstreams: app, api");
	cr_assert_str_eq(D.items[0].message,
	                 "route 2: upstream 'ap' is not defined; did you mean 'app'?");
	snprintf(y, sizeof(y), "%sroutes:\n  - {path: /, upstream: zzzzz}\n", two_upstreams);
	cr_assert_eq(load(y), 1);
	cr_assert_str_eq(D.items[0].message, "route 1: upstream 'zzzzz' is not defined");
}

Test(load, route_needs_an_upstream_and_valid_fields)
{
	cr_assert_eq(load(BASE "routes:\n"
	                       "  - path: /a\n"
	                       "  - {host: 'a.com:80', upstream: app}\n"
	                       "  - {path: api, upstream: app}\n"
	                       "  - {host: '*.a.com', upstream: app}\n"),
	             4, "%s", printed());
	expect_hint(6, 5, "route 1 has no 'upstream'", "add upstream: NAME");
	expect_diag(7, 12, "route 2: host 'a.com:80' must not include a port");
	expect_hint(8, 12, "route 3: path 'api' must start with '/'", "/api");
	expect_diag(9, 12, "route 4: host '*.a.com' has a wildcard");
}

Test(load, duplicate_routes_same_host_and_path)
{
	char y[1024];
	snprintf(y, sizeof(y),
	         "%sroutes:\n"
	         "  - {host: a.com, path: /api, upstream: app}\n"
	         "  - {host: A.COM, path: /api, upstream: api}\n"
	         "  - {path: /api, upstream: api}\n"
	         "  - {path: /api, upstream: app}\n",
	         two_upstreams);
	cr_assert_eq(load(y), 2, "%s", printed());
	expect_hint(7, 5, "route 2: host 'A.COM' and path '/api' repeat route 1 (line 6)",
	            "only one of them could ever match");
	expect_diag(9, 5, "route 4: host 'any' and path '/api' repeat route 3 (line 8)");
}

Test(load, several_upstreams_need_routes)
{
	cr_assert_eq(load(two_upstreams), 1);
	expect_hint(2, 1, "2 upstreams but no routes: which one gets the traffic?", "add 'routes'");
	char y[1024];
	snprintf(y, sizeof(y), "%sroutes: []\n", two_upstreams);
	cr_assert_eq(load(y), 1);
}

Test(load, listen_and_upstreams_are_required)
{
	cr_assert_eq(load("workers: 1\n"), 2);
	expect_hint(1, 1, "at least one listen address is required", "listen:");
	expect_hint(1, 1, "at least one upstream is required", "upstreams:");
	cr_assert_eq(load("listen: []\nupstreams: {}\n"), 2);
	expect_diag(1, 9, "'listen' is empty");
	expect_diag(2, 12, "'upstreams' is empty");
	cr_assert_eq(load("listen: [127.0.0.1:1]\nupstreams: {a: {servers: []}}\n"), 1);
	expect_diag(2, 26, "'upstreams.a.servers' is empty");
}

Test(load, bad_durations_quote_value_and_hint)
{
	cr_assert_eq(load(BASE "timeouts:\n"
	                       "  upstream_head: 30\n"
	                       "  upstream_idle: 5x\n"
	                       "  grace: 48h\n"
	                       "  upstream_connect: 0\n"
	                       "  total: 0\n"),
	             4, "%s", printed());
	expect_hint(6, 18, "timeouts.upstream_head: '30' has no unit", "'30s' for seconds");
	expect_hint(7, 18, "timeouts.upstream_idle: '5x' is not a duration",
	            "250ms, 5s, 2m, 1h or 1m30s");
	expect_hint(8, 10, "timeouts.grace: '48h' is longer than 24h", "capped at 24h");
	expect_hint(9, 21, "timeouts.upstream_connect: must be greater than 0", "greater than 0");
}

Test(load, keepalive_values)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    servers: [127.0.0.1:8000]\n"
	                  "    keepalive: {max_idle: 100001, idle_timeout: 0}\n"),
	             2, "%s", printed());
	expect_hint(5, 27, "upstreams.app.keepalive.max_idle: 100001 is out of range",
	            "from 0 to 100000");
	expect_hint(5, 49, "upstreams.app.keepalive.idle_timeout: must be greater than 0",
	            "max_idle: 0");
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    servers: [127.0.0.1:8000]\n"
	                  "    keepalive: {max_idle: 0}\n"),
	             0, "%s", printed());
	cr_assert_eq(C->upstreams[0].keepalive_max_idle, 0);
}

Test(load, bad_sizes_and_limits)
{
	cr_assert_eq(load(BASE "limits:\n"
	                       "  head_bytes: 16q\n"
	                       "  header_count: 1001\n"
	                       "  body_bytes: 1.5m\n"),
	             3, "%s", printed());
	expect_hint(6, 15, "limits.head_bytes: '16q' is not a size", "16k, 16kb, 16KiB");
	expect_hint(7, 17, "limits.header_count: 1001 is out of range", "from 1 to 1000");
	expect_diag(8, 15, "limits.body_bytes: '1.5m' is not a size");
	cr_assert_eq(load(BASE "limits: {head_bytes: 512}\n"), 1);
	expect_hint(5, 22, "limits.head_bytes: 512 is out of range", "from 1k to 1m");
	cr_assert_eq(load(BASE "limits: {head_bytes: 2m}\n"), 1);
	cr_assert_eq(load(BASE "limits: {head_bytes: 1m, header_count: 1, body_bytes: 1g}\n"), 0);
	cr_assert_eq(C->limits.head_bytes, 1048576);
	cr_assert_eq(C->limits.body_bytes, 1073741824ULL);
}

Test(load, bad_addresses)
{
	cr_assert_eq(load("listen:\n"
	                  "  - 127.0.0.1\n"
	                  "  - ::1:80\n"
	                  "  - 300.1.1.1:80\n"
	                  "  - 127.0.0.1:8080\n"
	                  "  - 127.0.0.1:8080\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    servers: [':80', bad..internal:8000, {address: 'x y:1'}]\n"),
	             7, "%s", printed());
	expect_hint(2, 5, "listen 1: '127.0.0.1' needs a port from 1 to 65535", ":8080 for every");
	expect_hint(3, 5, "listen 2: IPv6 address '::1:80' needs brackets", "[::1]:8080");
	expect_diag(4, 5, "listen 3: '300.1.1.1:80' is not a valid address");
	expect_hint(6, 5, "listen 5: '127.0.0.1:8080' is the same address as line 5",
	            "each address once");
	expect_diag(9, 15, "upstreams.app.servers 1: ':80' has no host");
	expect_diag(9, 22, "upstreams.app.servers 2: 'bad..internal:8000' is not a valid address");
	expect_diag(9, 52, "upstreams.app.servers 3: 'x y:1' is not a valid address");
}

Test(load, server_mapping_needs_address_and_weight_range)
{
	cr_assert_eq(load("listen: [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app:\n"
	                  "    servers:\n"
	                  "      - weight: 2\n"
	                  "      - {address: 127.0.0.1:1, weight: 0}\n"
	                  "      - {address: 127.0.0.1:2, weight: 1001}\n"),
	             3, "%s", printed());
	expect_diag(5, 9, "upstreams.app.servers 1 has no 'address'");
	expect_hint(6, 40, "upstreams.app.servers 2.weight: 0 is out of range", "1 to 1000");
	expect_diag(7, 40, "upstreams.app.servers 3.weight: 1001 is out of range");
}

Test(load, bad_networks)
{
	cr_assert_eq(load(BASE "trusted_networks: [10.1.2.3/8, '::1/129', foo, 10.0.0.0/8]\n"), 3,
	             "%s", printed());
	expect_hint(5, 20, "trusted_networks 1: '10.1.2.3/8' has bits set past its prefix",
	            "(10.0.0.0/8)");
	expect_hint(5, 32, "trusted_networks 2: the prefix of '::1/129' is longer", "/128");
	expect_hint(5, 43, "trusted_networks 3: 'foo' is not a network", "10.0.0.0/8, 192.168.1.5");
	cr_assert_eq(load(BASE "trusted_networks: []\n"), 0);
	cr_assert_eq(C->ntrusted, 0);
}

Test(load, anchors_aliases_and_tags_are_refused)
{
	cr_assert_eq(load("listen: &l [127.0.0.1:8080]\n"
	                  "upstreams:\n"
	                  "  app: {servers: *l}\n"
	                  "name: !custom x\n"),
	             3, "%s", printed());
	expect_hint(1, 9, "anchors and aliases (&name, *name) are not supported", "in full");
	expect_diag(3, 18, "anchors and aliases (&name, *name) are not supported");
	expect_diag(4, 7, "custom YAML tags (!name) are not supported");
	cr_assert_eq(load("name: !!str telltale\n" BASE), 0, "%s", printed());
}

/* fuzz_config found it: an alias where an ordered pair's second value
 * goes (retry.backoff_max after backoff) made the order check quote the
 * refused node's missing text. The alias is the one problem. */
Test(load, an_alias_in_an_ordered_pair_is_one_error_not_a_crash)
{
	cr_assert_eq(load(BASE "    retry:\n"
	                       "      backoff: 5m2s\n"
	                       "      backoff_max: *x0ms\n"),
	             1, "%s", printed());
	expect_diag(7, 20, "anchors and aliases (&name, *name) are not supported");
}

Test(load, second_document_is_refused)
{
	cr_assert_eq(load(BASE "---\nworkers: 1\n"), 1);
	expect_hint(5, 1, "only one YAML document is allowed", "second '---'");
}

Test(load, deep_nesting_is_refused_not_crashed)
{
	char y[400] = "listen: ";
	size_t o = strlen(y);
	for (int i = 0; i < 100; i++)
		y[o++] = '[';
	y[o] = '\0';
	cr_assert_eq(load(y), 1);
	expect_diag(1, 40, "nesting is deeper than 32 levels");
}

Test(load, nul_byte_and_control_chars_are_quoted_safely)
{
	cr_assert_eq(load("name: \"a\\0b\"\n" BASE), 1);
	expect_diag(1, 7, "value contains a NUL byte");
	cr_assert_eq(load("name: \"a\\x01\\x1b[2Jb\"\n" BASE), 1);
	expect_diag(1, 7, "name: 'a\\x01\\x1b[2Jb' may only contain");
}

Test(load, long_values_are_cut_in_messages)
{
	char y[2048];
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(y, sizeof(y), "name: \"%s\"\n" BASE, big);
	cr_assert_eq(load(y), 1);
	cr_assert(strstr(D.items[0].message, "xxx...' is longer than 64 bytes"), "%s", printed());
}

Test(load, all_problems_are_reported_in_file_order)
{
	cr_assert_eq(load("workers: x\n"
	                  "listen: [nope]\n"
	                  "upstreams:\n"
	                  "  a: {servers: [127.0.0.1:1]}\n"
	                  "routes:\n"
	                  "  - {path: /, upstream: b}\n"
	                  "timeouts: {grace: 1}\n"),
	             4, "%s", printed());
	for (size_t i = 0; i < D.n; i++) {
		cr_assert_gt(D.items[i].line, 0);
		cr_assert_gt(D.items[i].col, 0);
		if (i)
			cr_assert_geq(D.items[i].line, D.items[i - 1].line, "%s", printed());
	}
	cr_assert_null(C);
}

Test(load, too_many_problems_are_counted_not_kept)
{
	char y[8192] = "";
	size_t o = 0;
	for (int i = 0; i < 150; i++)
		o += (size_t)snprintf(y + o, sizeof(y) - o, "k%d: 1\n", i);
	int rc = load(y);
	/* 150 unknown keys, plus the two required sections missing. */
	cr_assert_eq(rc, 152);
	cr_assert_eq(D.n, TT_CFG_DIAGS_MAX);
	cr_assert_eq(D.ndropped, 52);
	cr_assert(strstr(printed(), "t.yaml: error: 52 more problems not shown\n"));
}

Test(load, load_file_and_missing_file)
{
	char path[] = "/tmp/tt_cfg_testXXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, BASE, strlen(BASE)), (ssize_t)strlen(BASE));
	close(fd);
	int rc = tt_cfg_load_file(path, &C, &D);
	unlink(path);
	cr_assert_eq(rc, 0, "%s", printed());
	cr_assert_str_eq(C->path, path);
	cr_assert_eq(C->nupstreams, 1);
	tt_cfg_unref(&C);
	tt_cfg_diags_fini(&D);
	cr_assert_eq(tt_cfg_load_file("/nonexistent/t.yaml", &C, &D), 1);
	cr_assert_null(C);
	cr_assert_str_eq(printed(),
	                 "/nonexistent/t.yaml: error: cannot read the file: No such file "
	                 "or directory\n  hint: check the path given with -c\n");
	tt_cfg_diags_fini(&D);
	cr_assert_eq(tt_cfg_load_file("/tmp", &C, &D), 1);
	cr_assert(strstr(D.items[0].message, "Is a directory"));
}

Test(load, limits_max_connections)
{
	cr_assert_eq(load(BASE "limits: {max_connections: 0}\n"), 0, "%s", printed());
	cr_assert_eq(C->limits.max_connections, 0);
	cr_assert_eq(load(BASE "limits:\n  max_connections: 20000\n"), 0, "%s", printed());
	cr_assert_eq(C->limits.max_connections, 20000);
	cr_assert_eq(load(BASE "limits:\n  max_connections: 10000001\n"), 1);
	expect_hint(6, 20, "limits.max_connections: 10000001 is out of range",
	            "an integer from 0 (no limit) to 10000000");
	cr_assert_eq(load(BASE "limits:\n  max_connections: 1e4\n"), 1);
	expect_diag(6, 20, "limits.max_connections: '1e4' is not a whole number");
}

Test(load, stale_store_sizes)
{
	cr_assert_eq(load(BASE "stale:\n  max_bytes: 64m\n  max_object_bytes: 512k\n"), 0, "%s",
	             printed());
	cr_assert_eq(C->stale.max_bytes, 64ULL << 20);
	cr_assert_eq(C->stale.max_object_bytes, 512 << 10);
	/* Off: the object size is not compared with a store that does not exist. */
	cr_assert_eq(load(BASE "stale: {max_bytes: 0, max_object_bytes: 2g}\n"), 0, "%s",
	             printed());
	cr_assert_eq(C->stale.max_bytes, 0);
	cr_assert_eq(load(BASE "stale: {max_bytes: 1m}\n"), 0, "%s", printed());
	cr_assert_eq(load(BASE "stale:\n  max_bytes: lots\n  max_object_bytes: 0\n"), 2, "%s",
	             printed());
	expect_hint(6, 14, "stale.max_bytes: 'lots' is not a size", "16k, 16kb");
	expect_hint(7, 21, "stale.max_object_bytes: 0 is out of range", "greater than 0");
	cr_assert_eq(load(BASE "stale: {max_byte: 1m}\n"), 1);
	expect_hint(5, 9, "unknown key 'max_byte' in 'stale'",
	            "did you mean 'max_bytes'? valid keys: max_bytes, max_object_bytes");
	cr_assert_eq(load(BASE "stale: 64m\n"), 1);
	expect_hint(5, 8, "'stale' must be a mapping, found a scalar", "max_object_bytes: 1m");
}

Test(load, stale_object_larger_than_store_is_reported_at_the_later_key)
{
	cr_assert_eq(load(BASE "stale:\n  max_bytes: 1m\n  max_object_bytes: 2m\n"), 1);
	expect_hint(7, 21, "stale.max_object_bytes: '2m' must be at most max_bytes (1m)",
	            "raise max_bytes or lower max_object_bytes");
	cr_assert_eq(load(BASE "stale:\n  max_object_bytes: 2m\n  max_bytes: 1m\n"), 1);
	expect_diag(7, 14, "stale.max_bytes: '1m' must be at least max_object_bytes (2m)");
	cr_assert_eq(load(BASE "stale: {max_bytes: 512k}\n"), 1);
	expect_diag(5, 20,
	            "stale.max_bytes: '512k' must be at least max_object_bytes (1m, the default)");
	cr_assert_eq(D.n, 1, "%s", printed());
}

Test(load, route_stale_if_error_and_always_online)
{
	cr_assert_eq(load(BASE "routes:\n"
	                       "  - path: /\n"
	                       "    upstream: app\n"
	                       "    stale_if_error: 60s\n"
	                       "    always_online: true\n"
	                       "  - {path: /api, upstream: app, always_online: false}\n"
	                       "  - {path: /x, upstream: app}\n"),
	             0, "%s", printed());
	cr_assert_eq(C->routes[0].stale_if_error_ms, 60000);
	cr_assert_eq(C->routes[0].always_online, 1);
	cr_assert_eq(C->routes[1].stale_if_error_ms, 0);
	cr_assert_eq(C->routes[1].always_online, 0);
	cr_assert_eq(C->routes[2].always_online, 0);
	cr_assert_eq(load(BASE "routes:\n"
	                       "  - path: /\n"
	                       "    upstream: app\n"
	                       "    stale_if_error: 60\n"
	                       "    always_online: yes\n"),
	             2, "%s", printed());
	expect_hint(8, 21, "route 1.stale_if_error: '60' has no unit", "'60s' for seconds");
	expect_hint(9, 20, "route 1.always_online: 'yes' is not true or false",
	            "yes, no, on and off are not accepted");
	cr_assert_eq(load(BASE "routes: [{path: /, upstream: app, always_online: 1}]\n"), 1);
	expect_diag(5, 50, "route 1.always_online: '1' is not true or false");
	cr_assert_eq(load(BASE "routes: [{path: /, upstream: app, stale_if_error: 25h}]\n"), 1);
	expect_diag(5, 51, "route 1.stale_if_error: '25h' is longer than 24h");
}
