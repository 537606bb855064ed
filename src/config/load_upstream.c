/*
 * The 'upstreams' part of the config file: groups, their servers and
 * keep-alive pools, and the keys that shield downstreams from a failing
 * upstream (issue 4): balancing, slow start, connection limits and the
 * queue, retries, passive and active health checks, and the breaker.
 *
 * Each group starts from the defaults tt_cfg_push_upstream sets, the same
 * ones `telltale proxy` gets, so a key left out never means something else
 * in a file. Pairs of keys that must agree (backoff and backoff_max,
 * eject_time and max_eject_time, timeout and interval) are checked after
 * their mapping, at the later of the two keys.
 */
#include "config/load_int.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds that catch unit slips without limiting real use. */
#define MAX_PENDING      1000000
#define MAX_ATTEMPTS     10
#define MAX_MIN_RETRIES  10000
#define MAX_REPLAY_BYTES (64ULL * 1024 * 1024) /* a body held in memory per request */
#define MAX_FAILURES     10000
#define MAX_MIN_REQUESTS 1000000
#define MAX_THRESHOLD    1000
#define MAX_PROBE_PATH   1024
#define MAX_PROBE_HOST   255

struct server_tmp {
	const struct tt_ynode *address;
	uint32_t weight;
};

static const struct tt_ld_key server_keys[] = {
    {"address", TT_YN_SCALAR, "host:port, e.g. 127.0.0.1:8000", tt_ld_node,
     offsetof(struct server_tmp, address), 0, 0, 0},
    {"weight", TT_YN_SCALAR, "an integer from 1 to 1000", tt_ld_uint,
     offsetof(struct server_tmp, weight), 1, TT_CFG_MAX_WEIGHT, 4},
};

static const struct tt_ld_key keepalive_keys[] = {
    {"max_idle", TT_YN_SCALAR, "an integer from 0 to 100000", tt_ld_uint,
     offsetof(struct tt_cfg_upstream, keepalive_max_idle), 0, TT_CFG_MAX_KEEPALIVE_IDLE, 4},
    {"idle_timeout", TT_YN_SCALAR,
     "a duration greater than 0, such as 4s (to keep no idle connections, set max_idle: 0)",
     tt_ld_duration, offsetof(struct tt_cfg_upstream, keepalive_idle_timeout_ms), 1,
     TT_VAL_DURATION_MAX_MS, 8},
};

static void add_server(struct tt_ld *l, struct tt_cfg_upstream *u, const char *what,
                       const struct tt_ynode *addr, uint32_t weight)
{
	struct tt_cfg_server srv;
	enum tt_val_err e = tt_cfg_server_parse(addr->str, &srv);
	if (e) {
		tt_cfg_value_problem(l->d, addr->line, addr->col, what, TT_CFG_V_ADDR, addr->str, e,
		                     NULL);
		return;
	}
	srv.weight = weight;
	*tt_cfg_push_server(u) = srv;
}

static void h_servers(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                      const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	if (v->n == 0) {
		tt_ld_say(l, v, "list at least one server, e.g. servers: [\"127.0.0.1:8000\"]",
		          "'%s' is empty", what);
		return;
	}
	for (size_t i = 0; i < v->n; i++) {
		const struct tt_ynode *it = v->items[i];
		char iw[TT_LD_WHAT_MAX];
		snprintf(iw, sizeof(iw), "%s %zu", what, i + 1);
		if (it->kind == TT_YN_BAD)
			continue;
		if (it->kind == TT_YN_SCALAR && !tt_yn_is_null(it)) {
			add_server(l, u, iw, it, 1);
		} else if (it->kind == TT_YN_MAP) {
			struct server_tmp t = {NULL, 1};
			tt_ld_walk_map(l, it, iw, server_keys, TT_LD_NKEYS(server_keys), NULL, &t);
			if (t.address)
				add_server(l, u, iw, t.address, t.weight);
			else if (!tt_ld_has_key(it, "address"))
				tt_ld_say(l, it, "write {address: \"127.0.0.1:8000\", weight: 2}",
				          "%s has no 'address'", iw);
		} else {
			tt_ld_say(l, it, "write host:port, or {address: host:port, weight: N}",
			          "%s must be an address or a mapping, found %s", iw,
			          tt_yn_kind_name(it));
		}
	}
}

static void h_keepalive(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                        const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	tt_ld_walk_map(l, v, what, keepalive_keys, TT_LD_NKEYS(keepalive_keys), NULL, obj);
}

/* balance: the algorithm, by name. */

static const struct {
	const char *name;
	enum tt_cfg_balance balance;
} balances[] = {
    {"round_robin", TT_CFG_BALANCE_ROUND_ROBIN},
    {"least_conn", TT_CFG_BALANCE_LEAST_CONN},
    {"p2c", TT_CFG_BALANCE_P2C},
};

static void h_balance(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                      const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	const char *names[TT_LD_NKEYS(balances)];
	char q[280], hint[256];
	for (size_t i = 0; i < TT_LD_NKEYS(balances); i++) {
		if (!strcmp(v->str, balances[i].name)) {
			u->balance = balances[i].balance;
			return;
		}
		names[i] = balances[i].name;
	}
	const char *close = tt_val_closest(v->str, names, TT_LD_NKEYS(balances));
	snprintf(hint, sizeof(hint), "%s%s%schoose round_robin (the default), least_conn or p2c",
	         close ? "did you mean '" : "", close ? close : "", close ? "'? " : "");
	tt_cfg_quote(q, sizeof(q), v->str);
	tt_ld_say(l, v, hint, "%s: '%s' is not a balancing algorithm", what, q);
}

/* retry */

#define RETRY(field) offsetof(struct tt_cfg_retry, field)
static const struct tt_ld_key retry_keys[] = {
    {"attempts", TT_YN_SCALAR, "an integer from 1 (no retry) to 10", tt_ld_uint, RETRY(attempts), 1,
     MAX_ATTEMPTS, 4},
    {"budget", TT_YN_SCALAR, "a percentage such as 20%", tt_ld_percent, RETRY(budget_percent), 0,
     100, 4},
    {"min_retries", TT_YN_SCALAR, "an integer from 0 to 10000", tt_ld_uint, RETRY(min_retries), 0,
     MAX_MIN_RETRIES, 4},
    {"backoff", TT_YN_SCALAR, "a duration such as 25ms", tt_ld_duration, RETRY(backoff_ms), 0,
     TT_VAL_DURATION_MAX_MS, 8},
    {"backoff_max", TT_YN_SCALAR, "a duration such as 250ms", tt_ld_duration, RETRY(backoff_max_ms),
     0, TT_VAL_DURATION_MAX_MS, 8},
    {"body_bytes", TT_YN_SCALAR, "a size up to 64m, such as 64k, or 0 to never replay a body",
     tt_ld_size, RETRY(body_bytes), 0, MAX_REPLAY_BYTES, 8},
};

static const struct tt_ld_order backoff_order = {
    .lo = "backoff",
    .hi = "backoff_max",
    .lo_off = RETRY(backoff_ms),
    .hi_off = RETRY(backoff_max_ms),
    .hint = "backoff_max caps the growing backoff; make it at least backoff",
};
#undef RETRY

static void h_retry(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, what, retry_keys, TT_LD_NKEYS(retry_keys), NULL, &u->retry);
	tt_ld_check_order(l, v, what, &backoff_order, &u->retry, before);
}

/* health.passive */

#define PASSIVE(field) offsetof(struct tt_cfg_passive_health, field)
static const struct tt_ld_key passive_keys[] = {
    {"consecutive_failures", TT_YN_SCALAR, "an integer from 0 (off) to 10000", tt_ld_uint,
     PASSIVE(consecutive_failures), 0, MAX_FAILURES, 4},
    {"failure_ratio", TT_YN_SCALAR, "a percentage such as 50%, or 0% for off", tt_ld_percent,
     PASSIVE(failure_percent), 0, 100, 4},
    {"min_requests", TT_YN_SCALAR, "an integer from 1 to 1000000", tt_ld_uint,
     PASSIVE(min_requests), 1, MAX_MIN_REQUESTS, 4},
    {"window", TT_YN_SCALAR, "a duration greater than 0, such as 10s", tt_ld_duration,
     PASSIVE(window_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"eject_time", TT_YN_SCALAR, "a duration greater than 0, such as 10s", tt_ld_duration,
     PASSIVE(eject_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"max_eject_time", TT_YN_SCALAR, "a duration greater than 0, such as 300s", tt_ld_duration,
     PASSIVE(max_eject_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"max_ejected", TT_YN_SCALAR, "a percentage such as 50%", tt_ld_percent,
     PASSIVE(max_ejected_percent), 0, 100, 4},
    {"panic_threshold", TT_YN_SCALAR, "a percentage such as 50%", tt_ld_percent,
     PASSIVE(panic_percent), 0, 100, 4},
};

static const struct tt_ld_order eject_order = {
    .lo = "eject_time",
    .hi = "max_eject_time",
    .lo_off = PASSIVE(eject_ms),
    .hi_off = PASSIVE(max_eject_ms),
    .hint = "an ejection doubles on repeat up to max_eject_time; make it at least eject_time",
};
#undef PASSIVE

static void h_passive(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                      const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, what, passive_keys, TT_LD_NKEYS(passive_keys), NULL, &u->passive);
	tt_ld_check_order(l, v, what, &eject_order, &u->passive, before);
}

/* health.active */

static const char *bad_probe_path(const char *p)
{
	if (p[0] != '/')
		return "must start with '/'";
	if (strlen(p) > MAX_PROBE_PATH)
		return "is longer than 1024 bytes";
	for (; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x20 || ch >= 0x7f)
			return "may not contain spaces or control characters";
		if (ch == '#')
			return "may not contain '#' (a fragment is never sent)";
	}
	return NULL;
}

/* A Host field value: uri-host [":" port] (RFC 9110 section 7.2). */
static const char *bad_probe_host(const char *h)
{
	size_t n = strlen(h);
	if (n == 0)
		return "is empty";
	if (n > MAX_PROBE_HOST)
		return "is longer than 255 bytes";
	for (; *h; h++)
		if (!isalnum((unsigned char)*h) && !strchr(".-_:[]", *h))
			return "may only contain letters, digits, '.', '-', '_', ':' and brackets";
	return NULL;
}

static void h_probe_path(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                         const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_active_health *a = obj;
	const char *bad = bad_probe_path(v->str);
	char q[280];
	if (bad) {
		tt_cfg_quote(q, sizeof(q), v->str);
		tt_ld_say(l, v, "write the path to probe, such as /healthz", "%s: '%s' %s", what, q,
		          bad);
		return;
	}
	free(a->path);
	a->path = tt_cfg_strdup(v->str);
}

static void h_probe_host(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                         const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_active_health *a = obj;
	const char *bad = bad_probe_host(v->str);
	char q[280];
	if (bad) {
		tt_cfg_quote(q, sizeof(q), v->str);
		tt_ld_say(l, v, "write a host name such as app.internal, with a port if needed",
		          "%s: '%s' %s", what, q, bad);
		return;
	}
	free(a->host);
	a->host = tt_cfg_strdup(v->str);
}

static void h_expect_status(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                            const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_active_health *a = obj;
	enum tt_val_err e = tt_val_status_range(v->str, &a->expect_min, &a->expect_max);
	if (e)
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_STATUS, v->str, e, NULL);
}

#define ACTIVE(field) offsetof(struct tt_cfg_active_health, field)
static const struct tt_ld_key active_keys[] = {
    {"path", TT_YN_SCALAR, "a path such as /healthz", h_probe_path, 0, 0, 0, 0},
    {"host", TT_YN_SCALAR, "a host name such as app.internal", h_probe_host, 0, 0, 0, 0},
    {"interval", TT_YN_SCALAR, "a duration greater than 0, such as 5s", tt_ld_duration,
     ACTIVE(interval_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"timeout", TT_YN_SCALAR, "a duration greater than 0 and less than interval, such as 2s",
     tt_ld_duration, ACTIVE(timeout_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"expect_status", TT_YN_SCALAR, "a status such as 200, or a range such as 200-399",
     h_expect_status, 0, 0, 0, 0},
    {"healthy_threshold", TT_YN_SCALAR, "an integer from 1 to 1000", tt_ld_uint,
     ACTIVE(healthy_threshold), 1, MAX_THRESHOLD, 4},
    {"unhealthy_threshold", TT_YN_SCALAR, "an integer from 1 to 1000", tt_ld_uint,
     ACTIVE(unhealthy_threshold), 1, MAX_THRESHOLD, 4},
};

/* A probe still running when the next is due would overlap it. */
static const struct tt_ld_order probe_order = {
    .lo = "timeout",
    .hi = "interval",
    .lo_off = ACTIVE(timeout_ms),
    .hi_off = ACTIVE(interval_ms),
    .strict = 1,
    .hint = "a probe must end before the next one starts; make timeout shorter than interval",
};
#undef ACTIVE

static void h_active(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, what, active_keys, TT_LD_NKEYS(active_keys), NULL, &u->active);
	if (!tt_ld_has_key(v, "path"))
		tt_ld_say(l, k, "add path: /healthz; active checks probe that path on every server",
		          "%s has no 'path'", what);
	tt_ld_check_order(l, v, what, &probe_order, &u->active, before);
}

static const struct tt_ld_key health_keys[] = {
    {"passive", TT_YN_MAP, "a mapping, e.g. {consecutive_failures: 5, eject_time: 10s}", h_passive,
     0, 0, 0, 0},
    {"active", TT_YN_MAP, "a mapping, e.g. {path: /healthz, interval: 5s}", h_active, 0, 0, 0, 0},
};

static void h_health(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	tt_ld_walk_map(l, v, what, health_keys, TT_LD_NKEYS(health_keys), NULL, obj);
}

/* breaker */

#define BREAKER(field) offsetof(struct tt_cfg_breaker, field)
static const struct tt_ld_key breaker_keys[] = {
    {"failure_ratio", TT_YN_SCALAR, "a percentage such as 50%, or 0% for off", tt_ld_percent,
     BREAKER(failure_percent), 0, 100, 4},
    {"min_requests", TT_YN_SCALAR, "an integer from 1 to 1000000", tt_ld_uint,
     BREAKER(min_requests), 1, MAX_MIN_REQUESTS, 4},
    {"window", TT_YN_SCALAR, "a duration greater than 0, such as 10s", tt_ld_duration,
     BREAKER(window_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"open_time", TT_YN_SCALAR, "a duration greater than 0, such as 5s", tt_ld_duration,
     BREAKER(open_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"half_open_requests", TT_YN_SCALAR, "an integer from 1 to 1000", tt_ld_uint,
     BREAKER(half_open_requests), 1, MAX_THRESHOLD, 4},
};
#undef BREAKER

static void h_breaker(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                      const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_upstream *u = obj;
	tt_ld_walk_map(l, v, what, breaker_keys, TT_LD_NKEYS(breaker_keys), NULL, &u->breaker);
}

/* The group. */

#define GROUP(field) offsetof(struct tt_cfg_upstream, field)
static const struct tt_ld_key group_keys[] = {
    {"servers", TT_YN_SEQ, "a list of servers, e.g. [\"127.0.0.1:8000\"]", h_servers, 0, 0, 0, 0},
    {"keepalive", TT_YN_MAP, "a mapping, e.g. {max_idle: 32, idle_timeout: 4s}", h_keepalive, 0, 0,
     0, 0},
    {"balance", TT_YN_SCALAR, "round_robin, least_conn or p2c", h_balance, 0, 0, 0, 0},
    {"slow_start", TT_YN_SCALAR, "a duration such as 10s, or 0 for off", tt_ld_duration,
     GROUP(slow_start_ms), 0, TT_VAL_DURATION_MAX_MS, 8},
    {"max_connections", TT_YN_SCALAR, "an integer from 0 (no limit) to 10000000", tt_ld_uint,
     GROUP(max_connections), 0, TT_CFG_MAX_CONNECTIONS, 4},
    {"max_pending", TT_YN_SCALAR, "an integer from 0 (none wait) to 1000000", tt_ld_uint,
     GROUP(max_pending), 0, MAX_PENDING, 4},
    {"queue_timeout", TT_YN_SCALAR, "a duration greater than 0, such as 1s", tt_ld_duration,
     GROUP(queue_timeout_ms), 1, TT_VAL_DURATION_MAX_MS, 8},
    {"retry", TT_YN_MAP, "a mapping, e.g. {attempts: 2, budget: 20%}", h_retry, 0, 0, 0, 0},
    {"health", TT_YN_MAP, "a mapping with 'passive' and/or 'active'", h_health, 0, 0, 0, 0},
    {"breaker", TT_YN_MAP, "a mapping, e.g. {failure_ratio: 50%, open_time: 5s}", h_breaker, 0, 0,
     0, 0},
    {"tls", TT_YN_MAP, "true, or a mapping such as {ca_file: /etc/telltale/ca.pem}",
     tt_ld_upstream_tls, 0, TT_LD_OR_OFF, 0, 0},
};
#undef GROUP

static void h_group(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	const char *bad = tt_cfg_bad_upstream_name(k->str);
	char q[280];
	tt_cfg_quote(q, sizeof(q), k->str);
	if (bad)
		tt_ld_say(l, k, "use letters, digits, '.', '-' and '_'", "upstream name '%s' %s", q,
		          bad);
	/* Kept even when broken, so routes naming it do not add a second,
	 * misleading "not defined" problem. */
	struct tt_cfg_upstream *u = tt_cfg_push_upstream(l->c);
	u->name = tt_cfg_strdup(k->str);
	tt_ld_walk_map(l, v, what, group_keys, TT_LD_NKEYS(group_keys), NULL, u);
	if (!tt_ld_has_key(v, "servers"))
		tt_ld_say(l, k, "add servers: [\"127.0.0.1:8000\"]",
		          "upstream '%s' has no 'servers'", q);
	tt_ld_upstream_tls_check(l, v, what, u);
}

void tt_ld_upstreams(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	static const struct tt_ld_key group = {
	    "",      TT_YN_MAP, "a mapping with 'servers', e.g. {servers: [\"127.0.0.1:8000\"]}",
	    h_group, 0,         0,
	    0,       0};
	l->vp.upstreams = (struct tt_cfg_pos){k->line, k->col};
	if (v->n == 0) {
		tt_ld_say(l, v, "name at least one group, e.g. upstreams: {app: {servers: [...]}}",
		          "'upstreams' is empty");
		return;
	}
	tt_ld_walk_map(l, v, "upstreams", NULL, 0, &group, NULL);
}
