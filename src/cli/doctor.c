/*
 * `telltale doctor URL [-c FILE]` and `telltale doctor --upstream NAME
 * [-c FILE]`: walk the way from telltale to an upstream (config, DNS,
 * connect, TLS, HTTP head, body, idle keep-alive, timeouts) and say where
 * it breaks, with the fault telltale itself would produce.
 *
 * This file reads the arguments, loads the config and runs step 1; the
 * other steps are src/doctor/. Exit status: 0 when no step failed
 * (warnings allowed), 1 when one did, 2 on a usage error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "doctor/report.h"
#include "doctor/steps.h"
#include "doctor/url.h"
#include "net/tls.h"

static const char usage[] =
    "usage: telltale doctor URL [-c FILE] [--json] [--no-keepalive-check]\n"
    "       telltale doctor --upstream NAME [-c FILE] [--path PATH] [--json]\n"
    "                       [--no-keepalive-check]\n"
    "\n"
    "Walk DNS, TCP, TLS and HTTP to an upstream and say where it breaks, with the\n"
    "fault telltale would produce and how to fix it.\n"
    "\n"
    "  URL                   http[s]://HOST[:PORT]/PATH. With -c FILE, the route HOST\n"
    "                        and PATH meet chooses the upstream group, and every server\n"
    "                        of it is probed; without, HOST:PORT is probed directly\n"
    "                        with telltale's default timeouts and limits (https: TLS,\n"
    "                        verified against the system CA store)\n"
    "  --upstream NAME       probe every server of group NAME of FILE (default\n"
    "                        telltale.yaml) at --path (default /)\n"
    "  -c, --config FILE     the configuration whose timeouts and limits apply\n"
    "  --json                one JSON document (docs/doctor.md) instead of text\n"
    "  --no-keepalive-check  do not wait to see whether the upstream closes idle\n"
    "                        connections before telltale does\n"
    "\n"
    "Exit status: 0 when every step passed (warnings allowed), 1 when one failed,\n"
    "2 on a usage error.\n";

struct args {
	const char *url, *file, *upstream, *path;
	int json, keepalive_check;
};

__attribute__((format(printf, 1, 2))) static int bad_usage(const char *fmt, ...)
{
	va_list ap;
	fputs("telltale doctor: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct args *a)
{
	memset(a, 0, sizeof(*a));
	a->keepalive_check = 1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		int r;
		if (tt_cli_is_help(s)) {
			fputs(usage, stdout);
			return 0;
		}
		r = tt_cli_config_flag(argc, argv, &i, &a->file);
		if (r < 0)
			return bad_usage("%s needs a file", s);
		if (r > 0)
			continue;
		if (strcmp(s, "--json") == 0) {
			a->json = 1;
		} else if (strcmp(s, "--no-keepalive-check") == 0) {
			a->keepalive_check = 0;
		} else if (strcmp(s, "--upstream") == 0 || strcmp(s, "--path") == 0) {
			if (i + 1 >= argc)
				return bad_usage("%s needs a value", s);
			*(s[2] == 'u' ? &a->upstream : &a->path) = argv[++i];
		} else if (s[0] == '-') {
			return bad_usage("unknown option '%s'", s);
		} else if (a->url) {
			return bad_usage("one URL at a time ('%s' is one too many)", s);
		} else {
			a->url = s;
		}
	}
	if (!a->url == !a->upstream)
		return bad_usage("%s", a->url ? "give a URL or --upstream NAME, not both"
		                              : "give a URL or --upstream NAME");
	if (a->url && a->path)
		return bad_usage("%s", "--path goes with --upstream; a URL carries its own path");
	if (a->path && a->path[0] != '/')
		return bad_usage("--path must start with '/' ('%s')", a->path);
	return -1;
}

/* The timeouts and limits that apply, for step 1's text. */
static void describe_cfg(struct tt_doc_step *st, const struct tt_config *c,
                         const struct tt_cfg_upstream *g)
{
	const struct tt_cfg_timeouts *to = &c->timeouts;
	tt_doc_step_more(st,
	                 "\ntimeouts: upstream_connect %llu ms, upstream_head %llu ms, "
	                 "upstream_idle %llu ms, total %llu ms (0 = none); limits.head_bytes "
	                 "%u, header_count %u; keepalive.idle_timeout %llu ms",
	                 (unsigned long long)to->upstream_connect_ms,
	                 (unsigned long long)to->upstream_head_ms,
	                 (unsigned long long)to->upstream_idle_ms, (unsigned long long)to->total_ms,
	                 c->limits.head_bytes, c->limits.header_count,
	                 (unsigned long long)g->keepalive_idle_timeout_ms);
}

static void group_line(struct tt_doc_step *st, const struct tt_cfg_upstream *g)
{
	tt_doc_step_more(st, "upstream group %s: %zu server%s", g->name, g->nservers,
	                 g->nservers == 1 ? "" : "s");
	for (size_t i = 0; i < g->nservers; i++)
		tt_doc_step_more(st, "%s%s", i ? ", " : " (", g->servers[i].address);
	tt_doc_step_more(st, "%s", g->nservers ? ")" : "");
}

/* Load FILE; on failure step 1 fails with the fault telltale would give
 * (it would not start). */
static struct tt_config *load(const char *file, struct tt_doc_report *rep)
{
	struct tt_cfg_diags diags;
	struct tt_config *cfg = NULL;
	struct tt_fault f;

	memset(&diags, 0, sizeof(diags));
	if (tt_cfg_load_file(file, &cfg, &diags) == 0) {
		tt_cfg_diags_fini(&diags);
		return cfg;
	}
	tt_cfg_diags_print(&diags, stderr);
	tt_fault_clear(&f);
	tt_fault_set(&f, TT_FAULT_PROXY_CONFIGURATION_ERROR, TT_STAGE_PROXY, 0);
	tt_fault_details(&f, "%s: %zu problem%s; `telltale check -c %s` lists them", file,
	                 diags.nerrors, diags.nerrors == 1 ? "" : "s", file);
	tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_FAIL, -1, "%s", f.details);
	tt_doc_verdict(rep, &f, "");
	tt_cfg_diags_fini(&diags);
	return NULL;
}

/* Step 1 for a URL with a config: the route. Returns the group or NULL. */
static const struct tt_cfg_upstream *
route_step(struct tt_doc_report *rep, const struct tt_config *cfg, const struct tt_doc_url *u)
{
	size_t plen = strcspn(u->path, "?"), hlen = strlen(u->authority);
	const struct tt_cfg_route *r = tt_cfg_route_match(cfg, u->authority, hlen, u->path, plen);
	struct tt_doc_step *st;
	struct tt_fault f;

	if (!r) {
		/* The proxy's own words for it (proxy/exchange.c). */
		tt_fault_clear(&f);
		tt_fault_set(&f, TT_FAULT_DESTINATION_NOT_FOUND, TT_STAGE_ROUTE, 0);
		tt_fault_details(&f, "no route for host '%.*s' and path '%.*s'",
		                 (int)(hlen > 64 ? 64 : hlen), u->authority,
		                 (int)(plen > 64 ? 64 : plen), u->path);
		tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_FAIL, -1, "%s in %s", f.details,
		                cfg->path);
		tt_doc_verdict(rep, &f, "");
		return NULL;
	}
	st = tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_PASS, -1,
	                     "%s: route host %s path %s -> ", cfg->path,
	                     r->host ? r->host : "(any)", r->path_prefix);
	group_line(st, r->upstream);
	describe_cfg(st, cfg, r->upstream);
	return r->upstream;
}

/* Step 1 for --upstream NAME. Returns the group, or NULL after printing a
 * usage error. */
static const struct tt_cfg_upstream *group_step(struct tt_doc_report *rep,
                                                const struct tt_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		const struct tt_cfg_upstream *g = &cfg->upstreams[i];
		if (strcmp(g->name, name) != 0)
			continue;
		struct tt_doc_step *st = tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_PASS,
		                                         -1, "%s: ", cfg->path);
		group_line(st, g);
		describe_cfg(st, cfg, g);
		return g;
	}
	fprintf(stderr, "telltale doctor: no upstream group '%s' in %s; it has:", name, cfg->path);
	for (size_t i = 0; i < cfg->nupstreams; i++)
		fprintf(stderr, " %s", cfg->upstreams[i].name);
	fputc('\n', stderr);
	return NULL;
}

/* Step 1 without a config: telltale's defaults, one group "default" with
 * the URL's host:port, as `telltale proxy --to` builds it. */
static struct tt_config *direct_step(struct tt_doc_report *rep, const struct tt_doc_url *u)
{
	struct tt_config *cfg = tt_cfg_new_default();
	struct tt_cfg_diags diags;
	const char *servers[1] = {u->hostport};
	struct tt_doc_step *st;

	memset(&diags, 0, sizeof(diags));
	/* A host that does not resolve leaves the group without servers:
	 * step 2 tells why. */
	tt_cfg_add_upstream(cfg, "default", servers, 1, &diags);
	tt_cfg_diags_fini(&diags);
	st = tt_doc_step_add(rep, TT_DOC_STEP_CONFIG, "", TT_DOC_SKIP, -1,
	                     "no configuration (-c FILE): probing %s directly with telltale's "
	                     "defaults",
	                     u->hostport);
	describe_cfg(st, cfg, &cfg->upstreams[0]);
	return cfg;
}

static int output(const struct tt_doc_report *rep, int json)
{
	const char *nc = getenv("NO_COLOR");
	int colour = isatty(STDOUT_FILENO) && !(nc && nc[0]);

	if (json)
		tt_doc_write_json(stdout, rep);
	else
		tt_doc_write_text(stdout, rep, colour);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("telltale doctor: stdout");
		return 1;
	}
	return tt_doc_report_failed(rep) ? 1 : 0;
}

/* An https:// URL without a config: the default client spec
 * (verification on, the system store; SNI from the URL's host). NULL with
 * step 4's reason in err when it cannot be made. */
static struct tt_tls_ctx *default_tls(char *err, size_t cap)
{
	struct tt_tls_client_spec spec;
	memset(&spec, 0, sizeof(spec));
	return tt_tls_client_new(&spec, err, cap);
}

/* Steps 2 to 8 for every server of g. */
static void probe_group(struct tt_doc_report *rep, const struct tt_config *cfg,
                        const struct tt_cfg_upstream *g, const struct args *a,
                        const struct tt_doc_url *u)
{
	struct tt_tls_ctx *own = NULL;
	char err[200] = "";

	struct tt_doc_target t = {
	    .cfg = cfg,
	    .group = g,
	    .host = a->url ? u->authority : NULL,
	    .path = a->url    ? u->path
	            : a->path ? a->path
	                      : "/",
	    .https_url = a->url && !a->file && u->https,
	    .keepalive_check = a->keepalive_check,
	    .tls_ctx = g->tls ? g->tls->ctx : NULL,
	    .tls_cfg = g->tls,
	};
	if (t.https_url && !t.tls_ctx) {
		own = default_tls(err, sizeof(err));
		if (!own) {
			struct tt_fault f;
			tt_fault_clear(&f);
			tt_fault_set(&f, TT_FAULT_PROXY_CONFIGURATION_ERROR, TT_STAGE_TLS, 0);
			tt_fault_details(&f, "no TLS client context: %s", err);
			tt_doc_step_add(rep, TT_DOC_STEP_TLS, "", TT_DOC_FAIL, -1, "%s", f.details);
			tt_doc_verdict(rep, &f, "");
			return;
		}
		t.tls_ctx = own;
	}
	snprintf(rep->upstream, sizeof(rep->upstream), "%s", g->name);
	for (size_t i = 0; i < g->nservers; i++)
		tt_doc_probe_server(rep, &t, &g->servers[i]);
	if (g->nservers == 0) {
		/* Only without a config: the URL's host did not resolve. */
		struct tt_cfg_server fake = {.address = (char *)u->hostport,
		                             .host = (char *)u->host,
		                             .port = u->port,
		                             .dynamic = 1};
		tt_doc_probe_server(rep, &t, &fake);
	}
	tt_tls_ctx_unref(&own);
}

int tt_cli_doctor(int argc, char **argv)
{
	struct args a;
	struct tt_doc_url u;
	struct tt_doc_report rep;
	struct tt_config *cfg = NULL;
	const struct tt_cfg_upstream *g = NULL;
	char why[160];
	int rc = parse_args(argc, argv, &a);

	if (rc >= 0)
		return rc;
	if (a.url && tt_doc_url_parse(a.url, &u, why, sizeof(why)) != 0)
		return bad_usage("bad URL: %s", why);
	if (!a.url)
		memset(&u, 0, sizeof(u));
	tt_doc_report_init(&rep);
	snprintf(rep.url, sizeof(rep.url), "%s", a.url ? a.url : "");
	if (a.upstream && !a.file)
		a.file = "telltale.yaml";
	if (a.file)
		cfg = load(a.file, &rep);
	else
		cfg = direct_step(&rep, &u);
	if (cfg && a.upstream) {
		g = group_step(&rep, cfg, a.upstream);
		if (!g) {
			tt_cfg_unref(&cfg);
			tt_doc_report_fini(&rep);
			return 2;
		}
	} else if (cfg) {
		g = a.file ? route_step(&rep, cfg, &u) : &cfg->upstreams[0];
	}
	if (g)
		probe_group(&rep, cfg, g, &a, &u);
	else
		tt_doc_skip_from(&rep, "", TT_DOC_STEP_DNS, "not reached: step 1 failed");
	if (!a.file)
		rep.upstream[0] = 0;
	rc = output(&rep, a.json);
	tt_doc_report_fini(&rep);
	if (cfg)
		tt_cfg_unref(&cfg);
	return rc;
}
