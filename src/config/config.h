/*
 * telltale's configuration: a YAML file (libyaml) mapped to typed structs,
 * validated as a whole, and handed out as an immutable, reference-counted
 * snapshot.
 *
 * Every problem found while loading is reported as file:line:col with a
 * message and a hint; loading never stops at the first problem, so
 * `telltale check` can print them all. Unknown keys, wrong types, bad
 * durations, sizes and addresses, duplicate names and routes to missing
 * upstreams are all errors.
 *
 * Invariant: a struct tt_config returned by tt_cfg_load_file or
 * tt_cfg_finish is complete and valid (every route's upstream points into
 * upstreams[], every address is parsed) and is never modified again; it is
 * freed when its last reference goes.
 */
#ifndef TT_CONFIG_CONFIG_H
#define TT_CONFIG_CONFIG_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A network, for trust decisions: address family, address, prefix bits. */
struct tt_cfg_cidr {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* network byte order; 4 bytes used for AF_INET */
	unsigned prefix;  /* bits */
};

struct tt_cfg_server {
	char *address;                /* as written: "127.0.0.1:8000" or "app:80" */
	char *host;                   /* the host part as written, without brackets */
	uint16_t port;                /* host byte order */
	int dynamic;                  /* host is a name, resolved at run time by the
	                               * worker's resolver (net/dns.h); addr unset */
	struct sockaddr_storage addr; /* an IP literal's address; addr_len 0 when dynamic */
	socklen_t addr_len;
	uint32_t weight; /* >= 1, default 1 */
};

/* One certificate of a TLS listener (tls.certificates[]). */
struct tt_cfg_tls_cert {
	char *cert; /* PEM file: leaf first, then intermediates */
	char *key;  /* PEM key file */
};

/* listen[].tls: telltale terminates TLS on this listener (docs/tls.md). */
struct tt_cfg_tls_listener {
	struct tt_cfg_tls_cert *certs; /* >= 1; certs[0] is the default */
	size_t ncerts;
	int redirect_http;    /* plain HTTP on the port gets 301 to https:// */
	char *client_ca;      /* mutual TLS: CA file; NULL = no client certificate asked */
	unsigned min_version; /* 12 (default) or 13 */
	/* Built by the loader from the above (every pair checked): shared by
	 * every worker, released with the config. A struct tt_tls_ctx *. */
	void *ctx;
};

/* upstreams.NAME.tls: telltale speaks TLS to every server of the group. */
struct tt_cfg_tls_upstream {
	int verify;           /* default 1 */
	char *ca_file;        /* NULL = the system store */
	char *sni;            /* NULL = each server's host */
	char *client_cert;    /* NULL = none */
	char *client_key;     /* required with client_cert */
	unsigned min_version; /* 12 (default) or 13 */
	void *ctx;            /* struct tt_tls_ctx *, built by the loader */
};

/* The engine's client spec (net/tls.h) for an upstream group's tls: the
 * loader builds the group's context from it, and `telltale doctor` a
 * verifying one for verify: false. */
struct tt_tls_client_spec;
void tt_cfg_tls_client_spec(const struct tt_cfg_tls_upstream *t, struct tt_tls_client_spec *spec);

/* resolver: how named upstream servers are resolved (docs/dns.md). */
struct tt_cfg_resolver {
	char **servers;      /* "ip", "ip:port", "[v6]:port"; none = the system's */
	size_t nservers;     /* <= 8 */
	uint64_t timeout_ms; /* default 2 s */
	uint32_t tries;      /* 1..8, default 2 */
	uint64_t min_ttl_ms; /* default 1 s */
	uint64_t max_ttl_ms; /* default 5 min */
	uint64_t stale_ms;   /* default 5 min; 0 = off */
};

/* How a group spreads requests over its servers. */
enum tt_cfg_balance {
	TT_CFG_BALANCE_ROUND_ROBIN = 0, /* smooth weighted round robin (default) */
	TT_CFG_BALANCE_LEAST_CONN,      /* fewest active requests, weighted */
	TT_CFG_BALANCE_P2C              /* power of two choices on latency EWMA */
};

/* retry: when another attempt may run (see upstream/retry.h). */
struct tt_cfg_retry {
	uint32_t attempts;       /* tries per request in all, >= 1; default 2 */
	uint32_t budget_percent; /* retries in flight as a share of active requests; default 20 */
	uint32_t min_retries;    /* retries in flight always allowed; default 3 */
	uint64_t backoff_ms;     /* base of the jittered backoff; default 25 ms */
	uint64_t backoff_max_ms; /* cap; default 250 ms */
	uint64_t body_bytes; /* request bodies up to this are held for a replay; default 64 KiB */
};

/* health.passive: eject a server after failures seen on real traffic. */
struct tt_cfg_passive_health {
	uint32_t consecutive_failures; /* 0 = off; default 5 */
	uint32_t failure_percent;      /* 0 = off; default 50 */
	uint32_t min_requests;         /* in the window, before the ratio counts; default 20 */
	uint64_t window_ms;            /* default 10 s */
	uint64_t eject_ms;             /* first ejection; doubles on repeat; default 10 s */
	uint64_t max_eject_ms;         /* default 300 s */
	uint32_t max_ejected_percent;  /* never eject more of the group; default 50 */
	uint32_t panic_percent;        /* below this share healthy, use every server; default 50 */
};

/* health.active: an HTTP probe per server. */
struct tt_cfg_active_health {
	char *path;                      /* NULL = no active checks */
	char *host;                      /* Host of the probe; NULL = the server's address */
	uint64_t interval_ms;            /* default 5 s */
	uint64_t timeout_ms;             /* default 2 s */
	uint32_t expect_min, expect_max; /* healthy statuses; default 200..399 */
	uint32_t healthy_threshold;      /* successes to come back; default 2 */
	uint32_t unhealthy_threshold;    /* failures to go down; default 3 */
};

/* breaker: per server, closed -> open -> half-open. */
struct tt_cfg_breaker {
	uint32_t failure_percent;    /* 0 = off; default 50 */
	uint32_t min_requests;       /* in the window; default 20 */
	uint64_t window_ms;          /* default 10 s */
	uint64_t open_ms;            /* before trying again (half-open); default 5 s */
	uint32_t half_open_requests; /* trial requests let through; default 3 */
};

struct tt_cfg_upstream {
	char *name;
	struct tt_cfg_server *servers;
	size_t nservers;
	uint32_t keepalive_max_idle;        /* idle connections kept per server per worker */
	uint64_t keepalive_idle_timeout_ms; /* idle connection dropped after this */
	enum tt_cfg_balance balance;
	struct tt_cfg_retry retry;
	struct tt_cfg_passive_health passive;
	struct tt_cfg_active_health active;
	struct tt_cfg_breaker breaker;
	uint64_t slow_start_ms; /* a server coming back ramps up over this; 0 = off; default 10 s */
	uint32_t max_connections; /* per server, all workers together; 0 = no limit */
	uint32_t max_pending; /* requests waiting for a connection slot, per group; default 100 */
	uint64_t queue_timeout_ms;       /* longest wait in that queue; default 1 s */
	struct tt_cfg_tls_upstream *tls; /* NULL = plain HTTP */
};

struct tt_cfg_route {
	char *host;        /* exact Host to match (port ignored), NULL for any */
	char *path_prefix; /* "/" matches everything */
	char *upstream_name;
	struct tt_cfg_upstream *upstream; /* points into tt_config.upstreams */
	uint64_t stale_if_error_ms;       /* serve a stored copy this long past freshness when the
	                                   * upstream fails and the response set no stale-if-error;
	                                   * 0 = only what the response allows (RFC 5861) */
	int always_online;                /* serve the last good copy whenever the upstream fails */
};

struct tt_cfg_listener {
	char *address; /* as written */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	struct tt_cfg_tls_listener *tls; /* NULL = plain HTTP */
};

struct tt_cfg_timeouts {
	uint64_t downstream_head_ms;      /* whole request head must arrive within */
	uint64_t downstream_keepalive_ms; /* idle time between requests */
	uint64_t downstream_idle_ms;      /* silence while reading a request body */
	uint64_t upstream_connect_ms;
	uint64_t upstream_head_ms;      /* from request sent to response head received */
	uint64_t upstream_idle_ms;      /* silence between bytes of the response */
	uint64_t total_ms;              /* whole exchange; 0 = no limit */
	uint64_t grace_ms;              /* on SIGTERM, in-flight exchanges get this long */
	uint64_t upstream_handshake_ms; /* upstream TLS handshake, after connect; default 5 s */
	uint64_t tunnel_idle_ms;        /* an upgraded (WebSocket) tunnel with no byte either
	                                 * way for this long is closed; default 10 min */
	/* limits.downstream_min_rate is averaged over windows this long;
	 * default 10 s */
	uint64_t downstream_rate_window_ms;
};

struct tt_cfg_limits {
	uint32_t head_bytes;      /* request and response heads */
	uint32_t header_count;    /* fields per head */
	uint64_t body_bytes;      /* request body; 0 = no limit */
	uint32_t max_connections; /* downstream connections, all workers; 0 = no limit;
	                           * default 10000 */
	/* Bytes/s a request head or body must keep up, averaged over
	 * timeouts.downstream_rate_window; 0 = off; default 500. */
	uint64_t downstream_min_rate;
};

/* stale: the store of responses served when the upstream fails. */
struct tt_cfg_stale {
	uint64_t max_bytes;        /* per worker; 0 = off (default) */
	uint64_t max_object_bytes; /* largest response kept; default 1 MiB */
};

/* admin: the listener for /metrics, /healthz, /status and /status.json
 * (issue 7, docs/admin.md). */
struct tt_cfg_admin {
	char *address; /* as written; NULL = off ("admin: off") */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int allow_public; /* admin.allow_public: the address may be a public listener's */
	int configured;   /* the file set admin.listen: failing to bind it stops the start;
	                   * the default address only gives a warning */
	size_t shared;    /* 1 + index of the public listener whose address it is (then
	                   * served there, allow_public only); 0 = its own socket */
};

struct tt_config {
	_Atomic int refs; /* see tt_cfg_ref */
	char *path;       /* file it came from, or "(flags)" */

	unsigned workers; /* >= 1; "auto" resolved to the number of cores */
	char *access_log; /* NULL = off, "-" = stdout, else a file path */
	char *name;       /* this proxy's name in Via; default "telltale" */
	int io_uring;     /* io_uring: auto (1) batches socket sends (net/ring.h); off (0) */
	/* Where `telltale run` writes its pid for `telltale reload` (issue 7,
	 * item 4); NULL = off. Default /run/telltale.pid for root, else
	 * $XDG_RUNTIME_DIR/telltale.pid, else /tmp/telltale.pid. */
	char *pid_file;

	struct tt_cfg_listener *listeners;
	size_t nlisteners;
	struct tt_cfg_upstream *upstreams;
	size_t nupstreams;
	struct tt_cfg_route *routes;
	size_t nroutes;

	struct tt_cfg_timeouts timeouts;
	struct tt_cfg_limits limits;
	struct tt_cfg_stale stale;
	struct tt_cfg_admin admin;
	struct tt_cfg_resolver resolver;

	/* Downstreams whose X-Forwarded-*, Forwarded and X-Request-Id are kept;
	 * default loopback only. */
	struct tt_cfg_cidr *trusted;
	size_t ntrusted;

	/* Downstreams shown full error detail (upstream addresses, system
	 * errors, Proxy-Status details, every attempt); default loopback only. */
	struct tt_cfg_cidr *detail;
	size_t ndetail;

	/* The operator's error page template (error_page): its path, and its
	 * content, read and checked at load time. NULL = the built-in page. */
	char *error_page;
	char *error_page_html;
	size_t error_page_len;
};

/* An error fails the load; a warning (a certificate about to expire,
 * verification turned off) is printed and the load goes on. */
enum tt_cfg_severity { TT_CFG_ERROR = 0, TT_CFG_WARNING };

/* One problem found while loading. */
struct tt_cfg_diag {
	enum tt_cfg_severity severity;
	unsigned line, col; /* 1-based; 0 when the problem is not in one place */
	char message[256];
	char hint[256]; /* may be empty */
};

/* At most this many diagnostics are kept; later ones are only counted, so a
 * hostile or badly broken file cannot make the list grow without bound. */
#define TT_CFG_DIAGS_MAX 100

struct tt_cfg_diags {
	struct tt_cfg_diag *items; /* heap; freed by tt_cfg_diags_fini */
	size_t n, cap;
	char *file;       /* heap copy of the file name */
	size_t ndropped;  /* problems past TT_CFG_DIAGS_MAX: counted, not kept */
	size_t nerrors;   /* errors, kept or dropped */
	size_t nwarnings; /* warnings, kept or dropped */
};

/*
 * Load and validate a file. On success returns 0 and *out holds a config
 * with one reference (the caller's); diags may still hold warnings
 * (diags->nwarnings), which the caller should print. On failure returns
 * the number of errors (> 0), *out is NULL, and diags lists them all
 * (and the warnings). diags must be zeroed by the caller and released
 * with tt_cfg_diags_fini either way.
 */
int tt_cfg_load_file(const char *path, struct tt_config **out, struct tt_cfg_diags *diags);

/* Same, from a string in memory; `name` stands for the file in messages. */
int tt_cfg_load_string(const char *name, const char *yaml, size_t len, struct tt_config **out,
                       struct tt_cfg_diags *diags);

/* Print every diagnostic as "file:line:col: error: message" (or
 * "warning:") plus an indented hint line to the given stdio stream. */
void tt_cfg_diags_print(const struct tt_cfg_diags *diags, void *stdio_file);
void tt_cfg_diags_fini(struct tt_cfg_diags *diags);

/* A config with every default set and no listeners, upstreams or routes,
 * for building one from command-line flags. Caller owns the one reference. */
struct tt_config *tt_cfg_new_default(void);

/*
 * Add a listener / an upstream with servers / a route to a default config
 * being built from flags; they report problems into diags (line 0) and
 * return 0 on success. tt_cfg_finish validates the whole and resolves
 * routes to upstreams; it returns the number of problems.
 */
int tt_cfg_add_listener(struct tt_config *c, const char *address, struct tt_cfg_diags *diags);
int tt_cfg_add_upstream(struct tt_config *c, const char *name, const char *const *servers,
                        size_t nservers, struct tt_cfg_diags *diags);
int tt_cfg_add_route(struct tt_config *c, const char *host, const char *path_prefix,
                     const char *upstream_name, struct tt_cfg_diags *diags);
int tt_cfg_finish(struct tt_config *c, struct tt_cfg_diags *diags);

/* The admin endpoint's address from a flag: "off", or an address, which
 * then counts as configured (a bind failure stops the start). Returns 0,
 * or -1 after reporting into diags. */
int tt_cfg_set_admin(struct tt_config *c, const char *address, struct tt_cfg_diags *diags);

void tt_cfg_ref(struct tt_config *c);
/* Drop a reference; frees at zero and sets *c to NULL either way. */
void tt_cfg_unref(struct tt_config **c);

/*
 * Value parsers shared by the file loader and the command-line flags.
 * Each returns 0 on success, -1 on bad input.
 * Durations: "250ms", "5s", "2m", "1h", "0" (plain integers are rejected
 * except 0, to avoid unit mistakes). Sizes: "512", "16k", "16KiB", "1m",
 * "1MiB", "1g". Percentages: "20%" or "20", 0 to 100. Addresses:
 * "host:port", "[v6]:port"; host names are resolved with getaddrinfo at
 * load time (listeners and the admin address only: an upstream server's
 * host name is kept as a name and resolved by the worker, net/dns.h).
 */
int tt_cfg_parse_duration(const char *s, uint64_t *ms);
int tt_cfg_parse_size(const char *s, uint64_t *bytes);
int tt_cfg_parse_percent(const char *s, uint32_t *percent);
int tt_cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len);
int tt_cfg_parse_cidr(const char *s, struct tt_cfg_cidr *out);

/*
 * Test hook for listener and admin addresses (upstream server names are
 * never resolved at load): resolve host names with `resolve` instead of getaddrinfo; NULL
 * restores getaddrinfo. resolve returns 0 after filling ss and len (the
 * port is set afterwards), or -1 when the name is unknown. Numeric
 * addresses never reach it. Not thread-safe: for tests and fuzz targets,
 * set before loading.
 */
void tt_cfg_set_resolver(int (*resolve)(const char *host, uint16_t port,
                                        struct sockaddr_storage *ss, socklen_t *len));

/* 1 when the address (sockaddr_in or sockaddr_in6, v4-mapped handled) lies
 * in one of the config's trusted networks. */
int tt_cfg_is_trusted(const struct tt_config *c, const struct sockaddr *sa);

/* 1 when the address lies in error_detail_networks. */
int tt_cfg_shows_detail(const struct tt_config *c, const struct sockaddr *sa);

/* The route for a request's Host (without port, case-insensitive) and path,
 * or NULL. Routes are tried in file order; the longest matching prefix among
 * routes whose host matches wins, host-specific routes before any-host ones. */
const struct tt_cfg_route *tt_cfg_route_match(const struct tt_config *c, const char *host,
                                              size_t host_len, const char *path, size_t path_len);

#endif
