/*
 * What config.c (diagnostics, building, validation, lookups) and load.c (the
 * YAML walker) share. Internal to src/config/.
 *
 * The loader and the command-line builder fill a struct tt_config through
 * the same push helpers and finish through the same tt_cfg_validate, so a
 * config from flags and one from a file obey the same rules; the loader
 * only adds file positions.
 */
#ifndef TT_CONFIG_CONFIG_INT_H
#define TT_CONFIG_CONFIG_INT_H

#include "config/config.h"
#include "config/values.h"

#include <stdarg.h>

/* Defaults; docs/config.md lists the same values. */
#define TT_CFG_DEFAULT_NAME       "telltale"
#define TT_CFG_DEFAULT_ADMIN      "127.0.0.1:9901"
#define TT_CFG_MAX_WORKERS        256
#define TT_CFG_MAX_NAME           64
#define TT_CFG_MAX_WEIGHT         1000
#define TT_CFG_MAX_KEEPALIVE_IDLE 100000
#define TT_CFG_MAX_TEMPLATE       (64 * 1024) /* error_page: fits a buffer block with room */
/* Connection counts past this are a typo: ten million sockets outgrow any
 * one machine's memory long before. */
#define TT_CFG_MAX_CONNECTIONS 10000000

struct tt_cfg_pos {
	unsigned line, col; /* 0 when not from a file */
};

/* Where the loader found things, for tt_cfg_validate's messages. NULL from
 * the flag builder. */
struct tt_cfg_vpos {
	struct tt_cfg_pos top;             /* the document's top-level mapping */
	struct tt_cfg_pos upstreams;       /* the 'upstreams' key */
	int listen_seen;                   /* the key was present: its own problems */
	int upstreams_seen;                /* were reported, "missing" would repeat them */
	struct tt_cfg_pos admin;           /* the admin.listen value (or 'admin') */
	struct tt_cfg_pos *route_start;    /* per route, parallel to c->routes */
	struct tt_cfg_pos *route_upstream; /* per route: its 'upstream' value */
	size_t nroutes;                    /* entries in the two arrays above */
};

/* Record one problem. The message is formatted; the hint is taken as is
 * and may be NULL. */
void tt_cfg_diag_add(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *hint,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Write s into dst for quoting in a message: bytes outside printable ASCII
 * become \xNN and long values are cut with "...", so a message stays
 * readable whatever the input. NULL (a node with no text) quotes as "". */
void tt_cfg_quote(char *dst, size_t size, const char *s);

/* Record a warning: printed, but the load goes on. */
void tt_cfg_diag_warn(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The number of errors recorded in d so far (warnings do not count). */
size_t tt_cfg_nproblems(const struct tt_cfg_diags *d);

/* Set the file name used in messages, unless one is already set. */
void tt_cfg_diags_set_file(struct tt_cfg_diags *d, const char *file);

/* What kind of value a parser rejected, for tt_cfg_value_problem. */
enum tt_cfg_vkind {
	TT_CFG_V_DURATION,
	TT_CFG_V_SIZE,
	TT_CFG_V_ADDR,
	TT_CFG_V_LISTEN_ADDR,
	TT_CFG_V_CIDR,
	TT_CFG_V_INT,
	TT_CFG_V_PERCENT,
	TT_CFG_V_STATUS, /* one HTTP status or a range */
	TT_CFG_V_BOOL,
};

/* Report a bad value with a message naming `what` and quoting `value`, and
 * a hint showing valid forms. why: resolver reason, for TT_VAL_RESOLVE. */
void tt_cfg_value_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                          enum tt_cfg_vkind kind, const char *value, enum tt_val_err e,
                          const char *why);

/* NULL when acceptable, else why not (a sentence fragment for messages). */
const char *tt_cfg_bad_route_host(const char *host);
const char *tt_cfg_bad_route_path(const char *path);
const char *tt_cfg_bad_upstream_name(const char *name);
const char *tt_cfg_bad_proxy_name(const char *name);

/* New zeroed (defaulted, for upstreams) elements at the end of the arrays;
 * string fields are for the caller to fill. */
struct tt_cfg_listener *tt_cfg_push_listener(struct tt_config *c);
struct tt_cfg_upstream *tt_cfg_push_upstream(struct tt_config *c);
struct tt_cfg_server *tt_cfg_push_server(struct tt_cfg_upstream *u);
struct tt_cfg_route *tt_cfg_push_route(struct tt_config *c);
struct tt_cfg_cidr *tt_cfg_push_trusted(struct tt_config *c);
struct tt_cfg_cidr *tt_cfg_push_detail(struct tt_config *c);

/* An upstream server from "host:port": an IP literal is parsed into addr,
 * a host name is kept (dynamic, resolved by the worker); weight 1. On
 * success s owns its strings; on failure s holds nothing to free. */
enum tt_val_err tt_cfg_server_parse(const char *address, struct tt_cfg_server *s);

/* Free a TLS section and drop its context (load_edge.c); NULL is ignored. */
void tt_cfg_tls_listener_free(struct tt_cfg_tls_listener *t);
void tt_cfg_tls_upstream_free(struct tt_cfg_tls_upstream *t);

/* strdup that aborts on failure (our own small allocation). */
char *tt_cfg_strdup(const char *s);

/* Read a whole file of at most max bytes, NUL-terminated, into a heap
 * buffer (*len excludes the NUL). NULL with a reason in why on failure. */
char *tt_cfg_read_file(const char *path, size_t max, size_t *len, char *why, size_t whycap);

/* Number of online cores, clamped to 1..TT_CFG_MAX_WORKERS. */
unsigned tt_cfg_auto_workers(void);

/*
 * Check the whole: at least one listener and one upstream, the default route
 * when there are none and exactly one upstream, every route's upstream
 * resolved, no two routes with the same host and path. vp carries file
 * positions, or is NULL. Returns the number of problems it found.
 */
size_t tt_cfg_validate(struct tt_config *c, struct tt_cfg_diags *d, const struct tt_cfg_vpos *vp);

/* Free a config regardless of its reference count (failed loads). */
void tt_cfg_free(struct tt_config *c);

#endif
