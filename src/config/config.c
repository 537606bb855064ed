/*
 * The config object: defaults, building from flags, whole-config
 * validation, reference counting, and the two lookups the proxy makes per
 * connection and per request (trust, route).
 *
 * Invariant: once tt_cfg_validate has passed, every route's upstream points
 * into c->upstreams and nothing in the struct changes again; readers on any
 * thread need no lock, only a reference.
 */
#include "config/config_int.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

char *tt_cfg_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (!p)
		abort();
	memcpy(p, s, n);
	return p;
}

unsigned tt_cfg_auto_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > TT_CFG_MAX_WORKERS ? TT_CFG_MAX_WORKERS : (unsigned)n;
}

/* Grow *arr (n elements of `size`) by one zeroed element; capacity doubles
 * whenever n reaches a power of two, so no separate capacity is kept. */
static void *push(void **arr, size_t *n, size_t size)
{
	if (*n == 0 || (*n & (*n - 1)) == 0) {
		size_t cap = *n ? *n * 2 : 1;
		void *p = realloc(*arr, cap * size);
		if (!p)
			abort();
		*arr = p;
	}
	char *slot = (char *)*arr + *n * size;
	memset(slot, 0, size);
	(*n)++;
	return slot;
}

struct tt_cfg_listener *tt_cfg_push_listener(struct tt_config *c)
{
	return push((void **)&c->listeners, &c->nlisteners, sizeof(*c->listeners));
}

/* The shielding defaults of issue 4, the same for a file and for
 * `telltale proxy`; docs/config.md lists them. The retry budget and the
 * breaker follow Envoy's defaults (20%, 3 concurrent retries), the ejection
 * limits its outlier detection's. */
static void upstream_defaults(struct tt_cfg_upstream *u)
{
	u->balance = TT_CFG_BALANCE_ROUND_ROBIN;
	u->slow_start_ms = 10000;
	u->max_connections = 0;
	u->max_pending = 100;
	u->queue_timeout_ms = 1000;
	u->retry = (struct tt_cfg_retry){
	    .attempts = 2,
	    .budget_percent = 20,
	    .min_retries = 3,
	    .backoff_ms = 25,
	    .backoff_max_ms = 250,
	    .body_bytes = 64 * 1024,
	};
	u->passive = (struct tt_cfg_passive_health){
	    .consecutive_failures = 5,
	    .failure_percent = 50,
	    .min_requests = 20,
	    .window_ms = 10000,
	    .eject_ms = 10000,
	    .max_eject_ms = 300000,
	    .max_ejected_percent = 50,
	    .panic_percent = 50,
	};
	/* No path: no active checks until the file asks for them. */
	u->active = (struct tt_cfg_active_health){
	    .interval_ms = 5000,
	    .timeout_ms = 2000,
	    .expect_min = 200,
	    .expect_max = 399,
	    .healthy_threshold = 2,
	    .unhealthy_threshold = 3,
	};
	u->breaker = (struct tt_cfg_breaker){
	    .failure_percent = 50,
	    .min_requests = 20,
	    .window_ms = 10000,
	    .open_ms = 5000,
	    .half_open_requests = 3,
	};
}

struct tt_cfg_upstream *tt_cfg_push_upstream(struct tt_config *c)
{
	struct tt_cfg_upstream *u =
	    push((void **)&c->upstreams, &c->nupstreams, sizeof(*c->upstreams));
	u->keepalive_max_idle = 256;
	/* Below Node.js's 5 s keepAliveTimeout: an upstream that closes an idle
	 * connection just as we reuse it makes the request fail (the keep-alive
	 * race), so we drop idle connections first. */
	u->keepalive_idle_timeout_ms = 4000;
	upstream_defaults(u);
	return u;
}

struct tt_cfg_server *tt_cfg_push_server(struct tt_cfg_upstream *u)
{
	struct tt_cfg_server *s = push((void **)&u->servers, &u->nservers, sizeof(*u->servers));
	s->weight = 1;
	return s;
}

enum tt_val_err tt_cfg_server_parse(const char *address, struct tt_cfg_server *s)
{
	char host[256];
	memset(s, 0, sizeof(*s));
	enum tt_val_err e =
	    tt_val_server(address, host, sizeof(host), &s->port, &s->addr, &s->addr_len);
	if (e)
		return e;
	s->address = tt_cfg_strdup(address);
	s->host = tt_cfg_strdup(host);
	s->dynamic = s->addr_len == 0;
	s->weight = 1;
	return TT_VAL_OK;
}

struct tt_cfg_route *tt_cfg_push_route(struct tt_config *c)
{
	return push((void **)&c->routes, &c->nroutes, sizeof(*c->routes));
}

struct tt_cfg_cidr *tt_cfg_push_trusted(struct tt_config *c)
{
	return push((void **)&c->trusted, &c->ntrusted, sizeof(*c->trusted));
}

struct tt_cfg_cidr *tt_cfg_push_detail(struct tt_config *c)
{
	return push((void **)&c->detail, &c->ndetail, sizeof(*c->detail));
}

/* The default name is the machine's host name (issue 3: the Proxy-Status
 * member names the intermediary), cut to the token characters Via allows;
 * "telltale" when there is none. */
static char *default_name(void)
{
	char host[256], out[TT_CFG_MAX_NAME + 1];
	size_t n = 0;
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = 0;
	host[sizeof(host) - 1] = 0;
	for (const char *p = host; *p && n < TT_CFG_MAX_NAME; p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_')
			out[n++] = *p;
	out[n] = 0;
	return tt_cfg_strdup(n ? out : TT_CFG_DEFAULT_NAME);
}

/* The default pid file (docs/config.md): where a system daemon keeps
 * it, else the user's runtime directory, else /tmp. */
static char *default_pid_file(void)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	char path[4096];
	if (geteuid() == 0)
		return tt_cfg_strdup("/run/telltale.pid");
	if (!dir || dir[0] != '/' || strlen(dir) > sizeof(path) - 16)
		dir = "/tmp";
	snprintf(path, sizeof(path), "%s/telltale.pid", dir);
	return tt_cfg_strdup(path);
}

struct tt_config *tt_cfg_new_default(void)
{
	struct tt_config *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	atomic_init(&c->refs, 1);
	c->path = tt_cfg_strdup("(flags)");
	c->workers = tt_cfg_auto_workers();
	c->io_uring = 1;
	c->access_log = tt_cfg_strdup("-");
	c->name = default_name();
	c->pid_file = default_pid_file();
	c->timeouts = (struct tt_cfg_timeouts){
	    .downstream_head_ms = 10000,
	    .downstream_keepalive_ms = 75000,
	    .downstream_idle_ms = 60000,
	    .upstream_connect_ms = 5000,
	    .upstream_head_ms = 60000,
	    .upstream_idle_ms = 60000,
	    .total_ms = 0,
	    .grace_ms = 10000,
	    .upstream_handshake_ms = 5000,
	    .tunnel_idle_ms = 600000,
	    .downstream_rate_window_ms = 10000,
	};
	c->resolver = (struct tt_cfg_resolver){.timeout_ms = 2000,
	                                       .tries = 2,
	                                       .min_ttl_ms = 1000,
	                                       .max_ttl_ms = 300000,
	                                       .stale_ms = 300000};
	c->limits = (struct tt_cfg_limits){
	    .head_bytes = 16384, .header_count = 100, .body_bytes = 0, .max_connections = 10000};
	c->limits.downstream_min_rate = 500;
	/* The stale store is off until given a size: it costs memory per
	 * worker, which only the operator can budget. */
	c->stale = (struct tt_cfg_stale){.max_bytes = 0, .max_object_bytes = 1024 * 1024};
	/* The admin listener is on by default, on loopback only (issue 7). */
	c->admin.address = tt_cfg_strdup(TT_CFG_DEFAULT_ADMIN);
	tt_cfg_parse_addr(TT_CFG_DEFAULT_ADMIN, &c->admin.addr, &c->admin.addr_len);
	tt_val_cidr("127.0.0.0/8", tt_cfg_push_trusted(c));
	tt_val_cidr("::1/128", tt_cfg_push_trusted(c));
	tt_val_cidr("127.0.0.0/8", tt_cfg_push_detail(c));
	tt_val_cidr("::1/128", tt_cfg_push_detail(c));
	return c;
}

const char *tt_cfg_bad_route_host(const char *h)
{
	size_t n = strlen(h);
	if (n == 0)
		return "is empty";
	if (n > 253)
		return "is longer than 253 bytes";
	if (h[0] == '[') {
		/* An IPv6 literal as the Host header carries it (RFC 3986 3.2.2). */
		if (h[n - 1] != ']' || n < 3)
			return "is not a valid [IPv6] host";
		for (size_t i = 1; i + 1 < n; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return "is not a valid [IPv6] host";
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)h[i];
		if (ch == ':')
			return "must not include a port (routes match the Host header without it)";
		if (ch == '*')
			return "has a wildcard; only exact hosts are supported";
		if (!isalnum(ch) && ch != '.' && ch != '-' && ch != '_')
			return "may only contain letters, digits, '.', '-' and '_'";
	}
	return NULL;
}

const char *tt_cfg_bad_route_path(const char *p)
{
	if (p[0] != '/')
		return "must start with '/'";
	if (strlen(p) > 1024)
		return "is longer than 1024 bytes";
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x20 || ch >= 0x7f)
			return "may not contain spaces or control characters";
		if (ch == '?' || ch == '#')
			return "may not contain '?' or '#' (routes match the path only)";
	}
	return NULL;
}

const char *tt_cfg_bad_upstream_name(const char *s)
{
	if (!*s)
		return "is empty";
	if (strlen(s) > TT_CFG_MAX_NAME)
		return "is longer than 64 bytes";
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return "may only contain letters, digits, '.', '-' and '_'";
	return NULL;
}

const char *tt_cfg_bad_proxy_name(const char *s)
{
	/* Via's received-by is a pseudonym, a token (RFC 9110 sections 5.6.2 and
	 * 7.6.3). */
	static const char tchar[] = "!#$%&'*+-.^_`|~";
	if (!*s)
		return "is empty";
	if (strlen(s) > TT_CFG_MAX_NAME)
		return "is longer than 64 bytes";
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(tchar, *s))
			return "may only contain letters, digits and !#$%&'*+-.^_`|~";
	return NULL;
}

static int same_sockaddr(const struct sockaddr_storage *a, socklen_t alen,
                         const struct sockaddr_storage *b, socklen_t blen)
{
	return alen == blen && !memcmp(a, b, alen);
}

int tt_cfg_add_listener(struct tt_config *c, const char *address, struct tt_cfg_diags *d)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char why[128];
	tt_cfg_diags_set_file(d, c->path);
	enum tt_val_err e = tt_val_addr(address, 1, &ss, &len, why, sizeof(why));
	if (e) {
		tt_cfg_value_problem(d, 0, 0, "listen", TT_CFG_V_LISTEN_ADDR, address, e, why);
		return -1;
	}
	for (size_t i = 0; i < c->nlisteners; i++) {
		if (same_sockaddr(&ss, len, &c->listeners[i].addr, c->listeners[i].addr_len)) {
			char q[280];
			tt_cfg_quote(q, sizeof(q), address);
			tt_cfg_diag_add(d, 0, 0, "give each address once",
			                "listen: '%s' is the same address as listener %zu", q,
			                i + 1);
			return -1;
		}
	}
	struct tt_cfg_listener *l = tt_cfg_push_listener(c);
	l->address = tt_cfg_strdup(address);
	l->addr = ss;
	l->addr_len = len;
	return 0;
}

int tt_cfg_set_admin(struct tt_config *c, const char *address, struct tt_cfg_diags *d)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char why[128];
	tt_cfg_diags_set_file(d, c->path);
	free(c->admin.address);
	c->admin.address = NULL;
	if (!strcmp(address, "off"))
		return 0;
	enum tt_val_err e = tt_val_addr(address, 1, &ss, &len, why, sizeof(why));
	if (e) {
		tt_cfg_value_problem(d, 0, 0, "admin", TT_CFG_V_LISTEN_ADDR, address, e, why);
		return -1;
	}
	c->admin.address = tt_cfg_strdup(address);
	c->admin.addr = ss;
	c->admin.addr_len = len;
	c->admin.configured = 1;
	return 0;
}

static struct tt_cfg_upstream *find_upstream(const struct tt_config *c, const char *name)
{
	for (size_t i = 0; i < c->nupstreams; i++)
		if (!strcmp(c->upstreams[i].name, name))
			return &c->upstreams[i];
	return NULL;
}

int tt_cfg_add_upstream(struct tt_config *c, const char *name, const char *const *servers,
                        size_t nservers, struct tt_cfg_diags *d)
{
	const char *bad = tt_cfg_bad_upstream_name(name);
	char q[280];
	int rc = 0;
	tt_cfg_diags_set_file(d, c->path);
	tt_cfg_quote(q, sizeof(q), name);
	if (bad || find_upstream(c, name)) {
		tt_cfg_diag_add(d, 0, 0, "use letters, digits, '.', '-' and '_'",
		                "upstream name '%s' %s", q, bad ? bad : "is already defined");
		return -1;
	}
	if (nservers == 0) {
		tt_cfg_diag_add(d, 0, 0, "give at least one host:port",
		                "upstream '%s' has no servers", q);
		rc = -1;
	}
	struct tt_cfg_upstream *u = tt_cfg_push_upstream(c);
	u->name = tt_cfg_strdup(name);
	for (size_t i = 0; i < nservers; i++) {
		struct tt_cfg_server srv;
		char what[320];
		enum tt_val_err e = tt_cfg_server_parse(servers[i], &srv);
		if (e) {
			snprintf(what, sizeof(what), "upstream '%s' server %zu", q, i + 1);
			tt_cfg_value_problem(d, 0, 0, what, TT_CFG_V_ADDR, servers[i], e, NULL);
			rc = -1;
			continue;
		}
		*tt_cfg_push_server(u) = srv;
	}
	return rc;
}

int tt_cfg_add_route(struct tt_config *c, const char *host, const char *path_prefix,
                     const char *upstream_name, struct tt_cfg_diags *d)
{
	const char *bad;
	char q[280];
	tt_cfg_diags_set_file(d, c->path);
	if (!path_prefix)
		path_prefix = "/";
	if (!upstream_name || !upstream_name[0]) {
		tt_cfg_diag_add(d, 0, 0, "name the upstream group the route sends to",
		                "route %zu has no upstream", c->nroutes + 1);
		return -1;
	}
	if (host && (bad = tt_cfg_bad_route_host(host))) {
		tt_cfg_quote(q, sizeof(q), host);
		tt_cfg_diag_add(d, 0, 0, "write a host name such as example.com",
		                "route %zu: host '%s' %s", c->nroutes + 1, q, bad);
		return -1;
	}
	if ((bad = tt_cfg_bad_route_path(path_prefix))) {
		tt_cfg_quote(q, sizeof(q), path_prefix);
		tt_cfg_diag_add(d, 0, 0, "write a path prefix such as /api",
		                "route %zu: path '%s' %s", c->nroutes + 1, q, bad);
		return -1;
	}
	struct tt_cfg_route *r = tt_cfg_push_route(c);
	r->host = host ? tt_cfg_strdup(host) : NULL;
	r->path_prefix = tt_cfg_strdup(path_prefix);
	r->upstream_name = tt_cfg_strdup(upstream_name);
	return 0;
}

int tt_cfg_finish(struct tt_config *c, struct tt_cfg_diags *d)
{
	tt_cfg_diags_set_file(d, c->path);
	tt_cfg_validate(c, d, NULL);
	return (int)tt_cfg_nproblems(d);
}

/* "a, b, c" for a hint, cut to fit. */
static void list_upstreams(const struct tt_config *c, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "defined upstreams: ");
	for (size_t i = 0; i < c->nupstreams && o < size; i++) {
		char q[280];
		tt_cfg_quote(q, sizeof(q), c->upstreams[i].name);
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", q);
	}
}

static void check_route_upstream(struct tt_config *c, struct tt_cfg_diags *d, size_t i,
                                 struct tt_cfg_pos at)
{
	struct tt_cfg_route *r = &c->routes[i];
	r->upstream = find_upstream(c, r->upstream_name);
	/* An empty name marks a route the loader already reported as broken. */
	if (r->upstream || !r->upstream_name[0])
		return;
	const char *names[64];
	size_t n = c->nupstreams < 64 ? c->nupstreams : 64;
	char q[280], sq[280] = "", hint[256];
	for (size_t j = 0; j < n; j++)
		names[j] = c->upstreams[j].name;
	const char *close = tt_val_closest(r->upstream_name, names, n);
	tt_cfg_quote(q, sizeof(q), r->upstream_name);
	if (close) {
		tt_cfg_quote(sq, sizeof(sq) - 1, close);
	}
	list_upstreams(c, hint, sizeof(hint));
	tt_cfg_diag_add(d, at.line, at.col, c->nupstreams ? hint : NULL,
	                "route %zu: upstream '%s' is not defined%s%s%s", i + 1, q,
	                close ? "; did you mean '" : "", sq, close ? "'?" : "");
}

static void check_route_unique(const struct tt_config *c, struct tt_cfg_diags *d, size_t i,
                               const struct tt_cfg_vpos *vp)
{
	const struct tt_cfg_route *r = &c->routes[i];
	for (size_t j = 0; j < i && r->upstream_name[0]; j++) {
		const struct tt_cfg_route *o = &c->routes[j];
		if (!o->upstream_name[0])
			continue;
		int same_host =
		    (!r->host && !o->host) || (r->host && o->host && !strcasecmp(r->host, o->host));
		if (!same_host || strcmp(r->path_prefix, o->path_prefix))
			continue;
		char qh[280] = "any", qp[280];
		struct tt_cfg_pos at = {0, 0}, first = {0, 0};
		if (vp && i < vp->nroutes) {
			at = vp->route_start[i];
			first = vp->route_start[j];
		}
		if (r->host)
			tt_cfg_quote(qh, sizeof(qh), r->host);
		tt_cfg_quote(qp, sizeof(qp), r->path_prefix);
		char line[32] = "";
		if (first.line)
			snprintf(line, sizeof(line), " (line %u)", first.line);
		tt_cfg_diag_add(d, at.line, at.col,
		                "only one of them could ever match; remove one or change its host "
		                "or path",
		                "route %zu: host '%s' and path '%s' repeat route %zu%s", i + 1, qh,
		                qp, j + 1, line);
		return;
	}
}

/* 1 when binding both addresses would clash: same family and port, and the
 * same address or either one the wildcard. */
static int addr_overlap(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
		return x->sin_port == y->sin_port &&
		       (x->sin_addr.s_addr == y->sin_addr.s_addr || x->sin_addr.s_addr == 0 ||
		        y->sin_addr.s_addr == 0);
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
		return x->sin6_port == y->sin6_port && (!memcmp(&x->sin6_addr, &y->sin6_addr, 16) ||
		                                        IN6_IS_ADDR_UNSPECIFIED(&x->sin6_addr) ||
		                                        IN6_IS_ADDR_UNSPECIFIED(&y->sin6_addr));
	}
	return 0;
}

/* issue 7: the admin endpoint is never on a public listener unless
 * admin.allow_public says so; then it is served there, on the paths it
 * owns, instead of on a socket of its own. */
static void check_admin(struct tt_config *c, struct tt_cfg_diags *d, const struct tt_cfg_vpos *vp)
{
	struct tt_cfg_pos at = vp ? vp->admin : (struct tt_cfg_pos){0, 0};
	c->admin.shared = 0;
	if (!c->admin.address)
		return;
	for (size_t i = 0; i < c->nlisteners; i++) {
		const struct tt_cfg_listener *l = &c->listeners[i];
		if (!addr_overlap(&c->admin.addr, &l->addr))
			continue;
		if (!c->admin.allow_public)
			tt_cfg_diag_add(d, at.line, at.col,
			                "give admin.listen an address of its own (the default is "
			                "127.0.0.1:9901), or set admin.allow_public: true to serve "
			                "/metrics and /status on the public listener",
			                "admin.listen '%s' is the public listener '%s'",
			                c->admin.address, l->address);
		else if (same_sockaddr(&c->admin.addr, c->admin.addr_len, &l->addr, l->addr_len))
			c->admin.shared = i + 1;
		else
			tt_cfg_diag_add(d, at.line, at.col,
			                "with allow_public, write the listener's address exactly",
			                "admin.listen '%s' overlaps the public listener '%s'",
			                c->admin.address, l->address);
		return;
	}
}

size_t tt_cfg_validate(struct tt_config *c, struct tt_cfg_diags *d, const struct tt_cfg_vpos *vp)
{
	size_t before = tt_cfg_nproblems(d);
	struct tt_cfg_pos top = vp ? vp->top : (struct tt_cfg_pos){0, 0};
	if (!c->nlisteners && !(vp && vp->listen_seen))
		tt_cfg_diag_add(d, top.line, top.col,
		                vp ? "add a 'listen' list, e.g. listen: [\"127.0.0.1:8080\"]"
		                   : "give an address to listen on, e.g. 127.0.0.1:8080",
		                "at least one listen address is required");
	if (!c->nupstreams && !(vp && vp->upstreams_seen))
		tt_cfg_diag_add(d, top.line, top.col,
		                vp ? "add 'upstreams', e.g. upstreams: {app: {servers: "
		                     "[\"127.0.0.1:8000\"]}}"
		                   : "give an upstream server, e.g. 127.0.0.1:8000",
		                "at least one upstream is required");
	if (c->nroutes == 0 && c->nupstreams == 1) {
		/* One upstream and no routes: everything goes there, as in
		 * `telltale proxy --to`. */
		struct tt_cfg_route *r = tt_cfg_push_route(c);
		r->path_prefix = tt_cfg_strdup("/");
		r->upstream_name = tt_cfg_strdup(c->upstreams[0].name);
	} else if (c->nroutes == 0 && c->nupstreams > 1) {
		struct tt_cfg_pos at = vp ? vp->upstreams : (struct tt_cfg_pos){0, 0};
		tt_cfg_diag_add(d, at.line, at.col,
		                "add 'routes' saying which requests go where, e.g. routes: "
		                "[{path: /, upstream: NAME}]",
		                "%zu upstreams but no routes: which one gets the traffic?",
		                c->nupstreams);
	}
	for (size_t i = 0; i < c->nroutes; i++) {
		struct tt_cfg_pos at = {0, 0};
		if (vp && i < vp->nroutes)
			at = vp->route_upstream[i];
		check_route_upstream(c, d, i, at);
		check_route_unique(c, d, i, vp);
	}
	check_admin(c, d, vp);
	return tt_cfg_nproblems(d) - before;
}

void tt_cfg_ref(struct tt_config *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void tt_cfg_free(struct tt_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nlisteners; i++) {
		free(c->listeners[i].address);
		tt_cfg_tls_listener_free(c->listeners[i].tls);
	}
	for (size_t i = 0; i < c->nupstreams; i++) {
		struct tt_cfg_upstream *u = &c->upstreams[i];
		for (size_t j = 0; j < u->nservers; j++) {
			free(u->servers[j].address);
			free(u->servers[j].host);
		}
		tt_cfg_tls_upstream_free(u->tls);
		free(u->servers);
		free(u->name);
		free(u->active.path);
		free(u->active.host);
	}
	for (size_t i = 0; i < c->nroutes; i++) {
		free(c->routes[i].host);
		free(c->routes[i].path_prefix);
		free(c->routes[i].upstream_name);
	}
	free(c->listeners);
	free(c->upstreams);
	free(c->routes);
	free(c->trusted);
	free(c->detail);
	free(c->error_page);
	free(c->error_page_html);
	free(c->path);
	free(c->access_log);
	free(c->name);
	free(c->pid_file);
	free(c->admin.address);
	for (size_t i = 0; i < c->resolver.nservers; i++)
		free(c->resolver.servers[i]);
	free(c->resolver.servers);
	free(c);
}

void tt_cfg_unref(struct tt_config **cp)
{
	struct tt_config *c = *cp;
	*cp = NULL;
	/* The last holder frees; acq_rel so its reads happen before the free. */
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		tt_cfg_free(c);
}

static int in_cidr(const struct tt_cfg_cidr *n, const uint8_t *addr)
{
	unsigned full = n->prefix / 8, rem = n->prefix % 8;
	if (memcmp(n->addr, addr, full))
		return 0;
	if (!rem)
		return 1;
	uint8_t mask = (uint8_t)(0xffu << (8 - rem));
	return (n->addr[full] & mask) == (addr[full] & mask);
}

static int in_list(const struct tt_cfg_cidr *list, size_t n, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].family == family && in_cidr(&list[i], addr))
			return 1;
	return 0;
}

static int addr_in(const struct tt_cfg_cidr *list, size_t n, const struct sockaddr *sa)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		return in_list(list, n, AF_INET, (const uint8_t *)&in->sin_addr);
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a = in6->sin6_addr.s6_addr;
	if (in_list(list, n, AF_INET6, a))
		return 1;
	/* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d (RFC 4291
	 * section 2.5.5.2); they are matched by the IPv4 networks. */
	return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in_list(list, n, AF_INET, a + 12);
}

int tt_cfg_is_trusted(const struct tt_config *c, const struct sockaddr *sa)
{
	return c && addr_in(c->trusted, c->ntrusted, sa);
}

int tt_cfg_shows_detail(const struct tt_config *c, const struct sockaddr *sa)
{
	return c && addr_in(c->detail, c->ndetail, sa);
}

/* "/api" matches "/api", "/api/x" and "/api?q" but not "/apix": prefixes end
 * at a segment boundary unless they end with '/' themselves. */
static int prefix_matches(const char *prefix, const char *path, size_t path_len)
{
	size_t plen = strlen(prefix);
	if (path_len < plen || memcmp(prefix, path, plen))
		return 0;
	if (path_len == plen || (plen && prefix[plen - 1] == '/'))
		return 1;
	return path[plen] == '/' || path[plen] == '?';
}

/* The Host value without its port: "a.com:80" -> "a.com", "[::1]:80" ->
 * "[::1]". */
static size_t host_without_port(const char *host, size_t len)
{
	if (len && host[0] == '[') {
		const char *rb = memchr(host, ']', len);
		return rb ? (size_t)(rb - host) + 1 : len;
	}
	const char *colon = memchr(host, ':', len);
	return colon ? (size_t)(colon - host) : len;
}

static const struct tt_cfg_route *best_route(const struct tt_config *c, int with_host,
                                             const char *host, size_t hlen, const char *path,
                                             size_t path_len)
{
	const struct tt_cfg_route *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < c->nroutes; i++) {
		const struct tt_cfg_route *r = &c->routes[i];
		if (with_host != (r->host != NULL))
			continue;
		if (with_host && (strlen(r->host) != hlen || strncasecmp(r->host, host, hlen)))
			continue;
		size_t plen = strlen(r->path_prefix);
		/* Strictly longer: on a tie the earlier route in the file wins. */
		if ((!best || plen > best_len) && prefix_matches(r->path_prefix, path, path_len)) {
			best = r;
			best_len = plen;
		}
	}
	return best;
}

const struct tt_cfg_route *tt_cfg_route_match(const struct tt_config *c, const char *host,
                                              size_t host_len, const char *path, size_t path_len)
{
	const struct tt_cfg_route *r = NULL;
	if (!c || !path)
		return NULL;
	if (host && host_len) {
		size_t hlen = host_without_port(host, host_len);
		r = best_route(c, 1, host, hlen, path, path_len);
	}
	/* No route for this host matches the path: any-host routes still may. */
	return r ? r : best_route(c, 0, NULL, 0, path, path_len);
}
