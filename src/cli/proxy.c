/*
 * `telltale proxy --listen ADDR --to ADDR[,ADDR...]`: serve without a
 * config file, like `caddy reverse-proxy`. Builds the same validated config
 * a file would give, with one upstream group named "default".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/worker.h"

static const char usage[] =
    "usage: telltale proxy --listen ADDR --to ADDR[,ADDR...] [options]\n"
    "\n"
    "Forward everything received on ADDR to the servers listed with --to,\n"
    "without a configuration file.\n"
    "\n"
    "options:\n"
    "  --listen ADDR              address to listen on, e.g. 127.0.0.1:8080 (repeatable)\n"
    "  --to ADDR[,ADDR...]        upstream servers, host:port each\n"
    "  --workers N|auto           worker threads (default: auto = one per core)\n"
    "  --connect-timeout DUR      upstream connect timeout (default 5s)\n"
    "  --head-timeout DUR         upstream response head timeout (default 60s)\n"
    "  --idle-timeout DUR         upstream silence between body bytes (default 60s)\n"
    "  --keepalive-timeout DUR    downstream idle keep-alive timeout (default 75s)\n"
    "  --access-log off|stdout|FILE  where the JSON access log goes (default stdout)\n"
    "  --admin ADDR|off           /metrics, /healthz and /status (default 127.0.0.1:9901)\n"
    "DUR is like 250ms, 5s, 2m.\n";

static int set_duration(const char *flag, const char *v, uint64_t *ms, struct tt_cfg_diags *d)
{
	if (tt_cfg_parse_duration(v, ms) == 0)
		return 0;
	fprintf(stderr, "telltale proxy: %s: invalid duration '%s' (use e.g. 500ms, 5s, 2m)\n",
	        flag, v);
	return -1;
}

static int set_workers(const char *v, struct tt_config *cfg)
{
	char *end;
	unsigned long n;
	if (strcmp(v, "auto") == 0)
		return 0;
	n = strtoul(v, &end, 10);
	if (*v == 0 || *end || n < 1 || n > 256) {
		fprintf(stderr, "telltale proxy: --workers: '%s' is not 1..256 or auto\n", v);
		return -1;
	}
	cfg->workers = (unsigned)n;
	return 0;
}

static void set_access_log(const char *v, struct tt_config *cfg)
{
	free(cfg->access_log);
	cfg->access_log = NULL;
	if (strcmp(v, "off") == 0)
		return;
	cfg->access_log = strdup(strcmp(v, "stdout") == 0 ? "-" : v);
	if (!cfg->access_log)
		abort();
}

/* Split "a,b,c" into the servers array (pointers into a copy). */
static size_t split_servers(char *list, const char **out, size_t cap)
{
	size_t n = 0;
	char *p = list;
	while (p && *p && n < cap) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = 0;
		if (*p)
			out[n++] = p;
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

static int apply(struct tt_config *cfg, const char *flag, const char *v, char **to,
                 struct tt_cfg_diags *d)
{
	struct tt_cfg_timeouts *t = &cfg->timeouts;
	if (strcmp(flag, "--listen") == 0)
		return tt_cfg_add_listener(cfg, v, d) ? -1 : 0;
	if (strcmp(flag, "--to") == 0) {
		free(*to);
		*to = strdup(v);
		return *to ? 0 : -1;
	}
	if (strcmp(flag, "--workers") == 0)
		return set_workers(v, cfg);
	if (strcmp(flag, "--connect-timeout") == 0)
		return set_duration(flag, v, &t->upstream_connect_ms, d);
	if (strcmp(flag, "--head-timeout") == 0)
		return set_duration(flag, v, &t->upstream_head_ms, d);
	if (strcmp(flag, "--idle-timeout") == 0)
		return set_duration(flag, v, &t->upstream_idle_ms, d);
	if (strcmp(flag, "--keepalive-timeout") == 0)
		return set_duration(flag, v, &t->downstream_keepalive_ms, d);
	if (strcmp(flag, "--admin") == 0)
		return tt_cfg_set_admin(cfg, v, d) ? -1 : 0;
	if (strcmp(flag, "--access-log") == 0) {
		set_access_log(v, cfg);
		return 0;
	}
	fprintf(stderr, "telltale proxy: unknown option '%s'\n", flag);
	return -2;
}

static int parse_args(int argc, char **argv, struct tt_config *cfg, char **to,
                      struct tt_cfg_diags *d)
{
	for (int i = 1; i < argc; i++) {
		char *flag = argv[i], *eq = strchr(flag, '=');
		const char *v;
		int r;
		if (tt_cli_is_help(flag)) {
			fputs(usage, stdout);
			return 1;
		}
		if (strncmp(flag, "--", 2) != 0) {
			fprintf(stderr, "telltale proxy: unexpected argument '%s'\n%s", flag,
			        usage);
			return -2;
		}
		if (eq) {
			*eq = 0;
			v = eq + 1;
		} else if (i + 1 < argc) {
			v = argv[++i];
		} else {
			fprintf(stderr, "telltale proxy: %s needs a value\n", flag);
			return -2;
		}
		r = apply(cfg, flag, v, to, d);
		if (eq)
			*eq = '=';
		if (r < 0)
			return r;
	}
	return 0;
}

int tt_cli_proxy(int argc, char **argv)
{
	struct tt_cfg_diags diags;
	struct tt_config *cfg = tt_cfg_new_default();
	const char *servers[64];
	char *to = NULL;
	size_t n;
	int r, rc;

	memset(&diags, 0, sizeof(diags));
	r = parse_args(argc, argv, cfg, &to, &diags);
	if (r == 0 && (!cfg->nlisteners || !to)) {
		fprintf(stderr, "telltale proxy: --listen and --to are required\n%s", usage);
		r = -2;
	}
	if (r == 0) {
		n = split_servers(to, servers, sizeof(servers) / sizeof(servers[0]));
		if (tt_cfg_add_upstream(cfg, "default", servers, n, &diags) ||
		    tt_cfg_finish(cfg, &diags))
			r = -1;
	}
	free(to);
	if (r != 0) {
		if (diags.n)
			tt_cfg_diags_print(&diags, stderr);
		tt_cfg_diags_fini(&diags);
		tt_cfg_unref(&cfg);
		return r == 1 ? 0 : (r == -2 ? 2 : 1);
	}
	tt_cfg_diags_fini(&diags);
	rc = tt_server_run(cfg, NULL);
	tt_cfg_unref(&cfg);
	return rc;
}
