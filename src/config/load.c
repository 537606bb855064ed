/*
 * The config file: a tree of YAML nodes (yaml_nodes.c) walked against the
 * schema below, filling a struct tt_config that starts from the defaults.
 *
 * Each mapping level is one table of keys saying what type each value must
 * have and which handler reads it (load_int.h; the upstream groups' tables
 * are in load_upstream.c); tt_ld_walk_map does the checks every level
 * shares (duplicate keys, unknown keys with a suggestion, wrong types,
 * missing values), so a handler sees only a value of the right shape.
 * Walking never stops at a problem: everything wrong in the file is
 * reported in one pass. Invariant: every problem is reported exactly once,
 * at the position of the node it is about; BAD nodes are skipped silently.
 */
#include "config/load_int.h"
#include "respond/error_body.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A config file larger than this is not a config file. */
#define FILE_MAX (4u << 20)

/* tt_ld_uint stores 'workers' (an unsigned) through a 4-byte field width. */
_Static_assert(sizeof(unsigned) == 4, "tt_config.workers is stored as 4 bytes");

void tt_ld_say(struct tt_ld *l, const struct tt_ynode *n, const char *hint, const char *fmt, ...)
{
	char msg[sizeof(((struct tt_cfg_diag *)0)->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tt_cfg_diag_add(l->d, n->line, n->col, hint, "%s", msg);
}

void tt_ld_warn(struct tt_ld *l, const struct tt_ynode *n, const char *hint, const char *fmt, ...)
{
	char msg[sizeof(((struct tt_cfg_diag *)0)->message)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tt_cfg_diag_warn(l->d, n->line, n->col, hint, "%s", msg);
}

static const char *kind_expect(enum tt_yn_kind k)
{
	return k == TT_YN_MAP ? "a mapping" : k == TT_YN_SEQ ? "a list" : "a single value";
}

static void store(void *obj, const struct tt_ld_key *key, uint64_t v)
{
	char *p = (char *)obj + key->off;
	if (key->width == 4) {
		uint32_t w = (uint32_t)v;
		memcpy(p, &w, sizeof(w));
	} else {
		memcpy(p, &v, sizeof(v));
	}
}

static void range_problem(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                          const struct tt_ynode *v)
{
	char q[280], hint[256];
	tt_cfg_quote(q, sizeof(q), v->str);
	snprintf(hint, sizeof(hint), "expected %s", key->expect);
	tt_ld_say(l, v, hint, "%s: %s is out of range", what, q);
}

void tt_ld_uint(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	uint64_t n;
	enum tt_val_err e = tt_val_uint(v->str, &n);
	if (e == TT_VAL_OK && (n < key->min || n > key->max))
		e = TT_VAL_RANGE;
	if (e == TT_VAL_RANGE)
		range_problem(l, key, what, v);
	else if (e)
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_INT, v->str, e, NULL);
	else
		store(obj, key, n);
}

void tt_ld_duration(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	uint64_t ms;
	enum tt_val_err e = tt_val_duration(v->str, &ms);
	char hint[256];
	if (e) {
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_DURATION, v->str, e,
		                     NULL);
	} else if (ms < key->min) {
		snprintf(hint, sizeof(hint), "expected %s", key->expect);
		tt_ld_say(l, v, hint, "%s: must be greater than 0", what);
	} else {
		store(obj, key, ms);
	}
}

void tt_ld_size(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	uint64_t n;
	enum tt_val_err e = tt_val_size(v->str, &n);
	if (e == TT_VAL_OK && (n < key->min || n > key->max))
		range_problem(l, key, what, v);
	else if (e)
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_SIZE, v->str, e, NULL);
	else
		store(obj, key, n);
}

/* Stores the node itself, for handlers that need several keys at once. */
void tt_ld_node(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	memcpy((char *)obj + key->off, &v, sizeof(v));
}

void tt_ld_percent(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                   const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	uint32_t n;
	enum tt_val_err e = tt_val_percent(v->str, &n);
	if (e == TT_VAL_OK && (n < key->min || n > key->max))
		range_problem(l, key, what, v);
	else if (e)
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_PERCENT, v->str, e,
		                     NULL);
	else
		store(obj, key, n);
}

_Static_assert(sizeof(int) == 4, "booleans are stored as 4-byte ints");

void tt_ld_bool(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	int b;
	if (tt_val_bool(v->str, &b))
		tt_cfg_value_problem(l->d, v->line, v->col, what, TT_CFG_V_BOOL, v->str,
		                     TT_VAL_SYNTAX, NULL);
	else
		memcpy((char *)obj + key->off, &b, sizeof(b));
}

const struct tt_ynode *tt_ld_value_of(const struct tt_ynode *map, const char *name)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i]->kind == TT_YN_SCALAR && !strcmp(map->items[i]->str, name))
			return map->items[i + 1];
	return NULL;
}

/* A default, written the way the file would write it: 250ms, 5s, 64k, 1m. */
static void show_default(char *out, size_t size, uint64_t v, int is_size)
{
	unsigned long long n = v;
	if (is_size && n && n % (1024 * 1024) == 0)
		snprintf(out, size, "%llum, the default", n / (1024 * 1024));
	else if (is_size && n && n % 1024 == 0)
		snprintf(out, size, "%lluk, the default", n / 1024);
	else if (is_size || !n)
		snprintf(out, size, "%llu, the default", n);
	else if (n % 1000 == 0)
		snprintf(out, size, "%llus, the default", n / 1000);
	else
		snprintf(out, size, "%llums, the default", n);
}

static int later(const struct tt_ynode *a, const struct tt_ynode *b)
{
	return a->line > b->line || (a->line == b->line && a->col > b->col);
}

void tt_ld_check_order(struct tt_ld *l, const struct tt_ynode *map, const char *where,
                       const struct tt_ld_order *rule, const void *obj, size_t before)
{
	const struct tt_ynode *lo = tt_ld_value_of(map, rule->lo),
	                      *hi = tt_ld_value_of(map, rule->hi);
	uint64_t a, b;
	char q[280], shown[300];
	if (tt_cfg_nproblems(l->d) > before || (!lo && !hi))
		return;
	/* A node the YAML reader refused (an alias) was reported there and
	 * set nothing: there is no order to check (fuzz_config found this). */
	if ((lo && lo->kind == TT_YN_BAD) || (hi && hi->kind == TT_YN_BAD))
		return;
	memcpy(&a, (const char *)obj + rule->lo_off, sizeof(a));
	memcpy(&b, (const char *)obj + rule->hi_off, sizeof(b));
	if ((rule->zero_off && b == 0) || (rule->strict ? a < b : a <= b))
		return;
	int hi_later = !lo || (hi && later(hi, lo));
	const struct tt_ynode *at = hi_later ? hi : lo, *other = hi_later ? lo : hi;
	if (other)
		tt_cfg_quote(shown, sizeof(shown), other->str);
	else
		show_default(shown, sizeof(shown), hi_later ? a : b, rule->size);
	tt_cfg_quote(q, sizeof(q), at->str);
	if (hi_later)
		tt_ld_say(l, at, rule->hint, "%s.%s: '%s' must be %s %s (%s)", where, rule->hi, q,
		          rule->strict ? "more than" : "at least", rule->lo, shown);
	else
		tt_ld_say(l, at, rule->hint, "%s.%s: '%s' must be %s %s (%s)", where, rule->lo, q,
		          rule->strict ? "less than" : "at most", rule->hi, shown);
}

static void key_list(const struct tt_ld_key *keys, size_t n, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", keys[i].name);
}

static void unknown_key(struct tt_ld *l, const struct tt_ynode *k, const char *where,
                        const struct tt_ld_key *keys, size_t nkeys)
{
	const char *names[16];
	char list[200], hint[256], q[280];
	size_t n = nkeys < 16 ? nkeys : 16;
	for (size_t i = 0; i < n; i++)
		names[i] = keys[i].name;
	const char *close = tt_val_closest(k->str, names, n);
	key_list(keys, nkeys, list, sizeof(list));
	if (close)
		snprintf(hint, sizeof(hint), "did you mean '%s'? valid keys: %s", close, list);
	else
		snprintf(hint, sizeof(hint), "valid keys: %s", list);
	tt_cfg_quote(q, sizeof(q), k->str);
	if (where[0])
		tt_ld_say(l, k, hint, "unknown key '%s' in '%s'", q, where);
	else
		tt_ld_say(l, k, hint, "unknown key '%s' at the top level", q);
}

/* Reports the key at items[i] if an earlier key has the same text. */
static int duplicate_key(struct tt_ld *l, const struct tt_ynode *map, size_t i)
{
	const struct tt_ynode *k = map->items[i];
	for (size_t j = 0; j < i; j += 2) {
		const struct tt_ynode *o = map->items[j];
		if (o->kind != TT_YN_SCALAR || strcmp(o->str, k->str))
			continue;
		char q[280];
		tt_cfg_quote(q, sizeof(q), k->str);
		tt_ld_say(l, k,
		          "each key may appear once in a mapping; remove or merge one of them",
		          "duplicate key '%s', first at line %u", q, o->line);
		return 1;
	}
	return 0;
}

/* Checks the shape of v against key; 1 when the handler may read it. */
static int shape_ok(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *v)
{
	char hint[256];
	snprintf(hint, sizeof(hint), "expected %s", key->expect);
	if (tt_yn_is_null(v)) {
		tt_ld_say(l, v, hint, "'%s' has no value", what);
		return 0;
	}
	if (v->kind == TT_YN_SCALAR && key->kind == TT_YN_MAP && key->min == TT_LD_OR_OFF)
		return 1; /* "admin: off": the handler reads it */
	if (v->kind != key->kind) {
		tt_ld_say(l, v, hint, "'%s' must be %s, found %s", what, kind_expect(key->kind),
		          tt_yn_kind_name(v));
		return 0;
	}
	return 1;
}

/*
 * Walk one mapping: every key is checked for type, duplicates and validity,
 * then handed to its handler. keys == NULL means any key name is valid (a
 * mapping of user-chosen names) and `any` reads each.
 */
void tt_ld_walk_map(struct tt_ld *l, const struct tt_ynode *map, const char *where,
                    const struct tt_ld_key *keys, size_t nkeys, const struct tt_ld_key *any,
                    void *obj)
{
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct tt_ynode *k = map->items[i], *v = map->items[i + 1];
		const struct tt_ld_key *key = any;
		char what[TT_LD_WHAT_MAX], q[280];
		if (k->kind == TT_YN_BAD)
			continue;
		if (k->kind != TT_YN_SCALAR || tt_yn_is_null(k)) {
			tt_ld_say(l, k, "write keys as plain names", "keys must be names, found %s",
			          tt_yn_kind_name(k));
			continue;
		}
		if (duplicate_key(l, map, i))
			continue;
		for (size_t j = 0; keys && j < nkeys; j++)
			if (!strcmp(keys[j].name, k->str))
				key = &keys[j];
		if (!key) {
			unknown_key(l, k, where, keys, nkeys);
			continue;
		}
		tt_cfg_quote(q, sizeof(q), k->str);
		snprintf(what, sizeof(what), "%s%s%s", where, where[0] ? "." : "", q);
		if (v->kind == TT_YN_BAD || !shape_ok(l, key, what, v))
			continue;
		key->fn(l, key, what, k, v, obj);
	}
}

/* 1 when the mapping has the key (whatever its value). */
int tt_ld_has_key(const struct tt_ynode *map, const char *name)
{
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (map->items[i]->kind == TT_YN_SCALAR && !strcmp(map->items[i]->str, name))
			return 1;
	return 0;
}

/* A list item must be a scalar; reports and returns 0 otherwise. */
static int item_scalar(struct tt_ld *l, const char *what, const struct tt_ynode *it,
                       const char *expect)
{
	if (it->kind == TT_YN_BAD)
		return 0;
	if (it->kind == TT_YN_SCALAR && !tt_yn_is_null(it))
		return 1;
	tt_ld_say(l, it, expect, "%s must be a single value, found %s", what, tt_yn_kind_name(it));
	return 0;
}

static void h_workers(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                      const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	if (!strcmp(v->str, "auto"))
		l->c->workers = tt_cfg_auto_workers();
	else
		tt_ld_uint(l, key, what, k, v, l->c);
}

static void h_io_uring(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                       const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	char why[128];
	if (!strcmp(v->str, "auto") || !strcmp(v->str, "off")) {
		l->c->io_uring = v->str[0] == 'a';
		return;
	}
	tt_cfg_quote(why, sizeof(why), v->str);
	tt_ld_say(l, v, "write io_uring: auto (the default) or io_uring: off",
	          "io_uring: '%s' is not a choice", why);
}

static void h_access_log(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                         const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_config *c = l->c;
	const char *s = v->str;
	if (!strcmp(s, "stderr")) {
		tt_ld_say(l, v, "write stdout, off, or a file path such as /dev/stderr",
		          "access_log: 'stderr' is not a choice");
		return;
	}
	if (!s[0]) {
		tt_ld_say(l, v, "expected stdout, off, or a file path",
		          "access_log: the path is empty");
		return;
	}
	free(c->access_log);
	if (!strcmp(s, "off"))
		c->access_log = NULL;
	else
		c->access_log = tt_cfg_strdup(!strcmp(s, "stdout") ? "-" : s);
}

/* pid_file: off, or the path `telltale run` writes its pid to. */
static void h_pid_file(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                       const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	if (!v->str[0]) {
		tt_ld_say(l, v, "expected off or a file path such as /run/telltale.pid",
		          "pid_file: the path is empty");
		return;
	}
	free(l->c->pid_file);
	l->c->pid_file = strcmp(v->str, "off") ? tt_cfg_strdup(v->str) : NULL;
}

static void h_name(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                   const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	const char *bad = tt_cfg_bad_proxy_name(v->str);
	char q[280];
	if (bad) {
		tt_cfg_quote(q, sizeof(q), v->str);
		tt_ld_say(l, v, "the name goes into the Via header, which allows a single token",
		          "name: '%s' %s", q, bad);
		return;
	}
	free(l->c->name);
	l->c->name = tt_cfg_strdup(v->str);
}

/* An explicit list replaces the loopback default; [] matches no one. */
static void load_cidrs(struct tt_ld *l, const struct tt_ynode *v, const char *list_name,
                       struct tt_cfg_cidr *(*push_one)(struct tt_config *), size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct tt_ynode *it = v->items[i];
		struct tt_cfg_cidr cidr;
		char iw[TT_LD_WHAT_MAX];
		snprintf(iw, sizeof(iw), "%s %zu", list_name, i + 1);
		if (!item_scalar(l, iw, it, "write each network as 10.0.0.0/8 or ::1/128"))
			continue;
		enum tt_val_err e = tt_val_cidr(it->str, &cidr);
		if (e)
			tt_cfg_value_problem(l->d, it->line, it->col, iw, TT_CFG_V_CIDR, it->str, e,
			                     NULL);
		else
			*push_one(l->c) = cidr;
	}
}

static void h_cidrs(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	load_cidrs(l, v, "trusted_networks", tt_cfg_push_trusted, &l->c->ntrusted);
}

static void h_detail_cidrs(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                           const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	load_cidrs(l, v, "error_detail_networks", tt_cfg_push_detail, &l->c->ndetail);
}

static int printable(const char *s)
{
	size_t n = 0;
	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return n < 1024;
}

/* A relative path is taken from the config file's folder, as with nginx's
 * include: the file and its templates move together. */
static char *read_relative(struct tt_ld *l, const char *path, size_t *len, char *why, size_t whycap)
{
	const char *file = l->d->file, *slash = file ? strrchr(file, '/') : NULL;
	char full[4096];
	if (path[0] == '/' || !slash)
		return tt_cfg_read_file(path, TT_CFG_MAX_TEMPLATE, len, why, whycap);
	snprintf(full, sizeof(full), "%.*s/%s", (int)(slash - file), file, path);
	return tt_cfg_read_file(full, TT_CFG_MAX_TEMPLATE, len, why, whycap);
}

/* error_page: read the operator's template now, so that a missing file or
 * an unknown placeholder stops the start (and `telltale check`) with the
 * template's own line and column. */
static void h_error_page(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                         const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_config *c = l->c;
	char q[280], msg[256];
	unsigned tl = 0, tc = 0;
	size_t len = 0;
	char *html = NULL;

	tt_cfg_quote(q, sizeof(q), v->str);
	free(html);
	html = read_relative(l, v->str, &len, msg, sizeof(msg));
	if (!html) {
		tt_ld_say(l, v,
		          "give the path of an HTML file with {{placeholders}}, see docs/config.md",
		          "error_page: cannot use '%s': %s", printable(v->str) ? v->str : q, msg);
		return;
	}
	if (tt_error_template_check(html, len, &tl, &tc, msg, sizeof(msg)) != 0) {
		/* The template's own position, with its whole path when it is
		 * printable, so an editor can jump there. */
		tt_ld_say(l, v, "placeholders are listed in docs/config.md (error_page)",
		          "error_page: %s:%u:%u: %s", printable(v->str) ? v->str : q, tl, tc, msg);
		free(html);
		return;
	}
	free(c->error_page);
	free(c->error_page_html);
	c->error_page = tt_cfg_strdup(v->str);
	c->error_page_html = html;
	c->error_page_len = len;
}

static const struct tt_ld_key timeout_keys[] = {
#define T(name, min, exp)                                                                          \
	{                                                                                          \
#name, TT_YN_SCALAR, exp, tt_ld_duration,                                          \
		    offsetof(struct tt_cfg_timeouts, name##_ms), min, TT_VAL_DURATION_MAX_MS, 8    \
	}
    T(downstream_head, 1, "a duration greater than 0, such as 10s"),
    T(downstream_keepalive, 1, "a duration greater than 0, such as 75s"),
    T(downstream_idle, 1, "a duration greater than 0, such as 60s"),
    T(upstream_connect, 1, "a duration greater than 0, such as 5s"),
    T(upstream_head, 1, "a duration greater than 0, such as 60s"),
    T(upstream_idle, 1, "a duration greater than 0, such as 60s"),
    T(total, 0, "a duration such as 5m, or 0 for no limit"),
    T(grace, 1, "a duration greater than 0, such as 10s"),
    T(upstream_handshake, 0, "a duration such as 5s, or 0 for no limit"),
    T(tunnel_idle, 0, "a duration such as 10m, or 0 for no limit"),
    T(downstream_rate_window, 100, "a duration of at least 100ms, such as 10s"),
#undef T
};

static const struct tt_ld_key limit_keys[] = {
    {"head_bytes", TT_YN_SCALAR, "a size from 1k to 1m, such as 16k", tt_ld_size,
     offsetof(struct tt_cfg_limits, head_bytes), 1024, 1024 * 1024, 4},
    {"header_count", TT_YN_SCALAR, "an integer from 1 to 1000", tt_ld_uint,
     offsetof(struct tt_cfg_limits, header_count), 1, 1000, 4},
    {"body_bytes", TT_YN_SCALAR, "a size such as 10m, or 0 for no limit", tt_ld_size,
     offsetof(struct tt_cfg_limits, body_bytes), 0, UINT64_MAX, 8},
    {"max_connections", TT_YN_SCALAR, "an integer from 0 (no limit) to 10000000", tt_ld_uint,
     offsetof(struct tt_cfg_limits, max_connections), 0, TT_CFG_MAX_CONNECTIONS, 4},
    {"downstream_min_rate", TT_YN_SCALAR, "bytes per second up to 1g, such as 500 or 1k; 0 for off",
     tt_ld_size, offsetof(struct tt_cfg_limits, downstream_min_rate), 0, 1u << 30, 8},
};

static const struct tt_ld_key stale_keys[] = {
    {"max_bytes", TT_YN_SCALAR, "a size such as 64m, or 0 to keep no stale copies", tt_ld_size,
     offsetof(struct tt_cfg_stale, max_bytes), 0, UINT64_MAX, 8},
    {"max_object_bytes", TT_YN_SCALAR, "a size greater than 0, such as 1m", tt_ld_size,
     offsetof(struct tt_cfg_stale, max_object_bytes), 1, UINT64_MAX, 8},
};

static const struct tt_ld_order stale_order = {
    .lo = "max_object_bytes",
    .hi = "max_bytes",
    .lo_off = offsetof(struct tt_cfg_stale, max_object_bytes),
    .hi_off = offsetof(struct tt_cfg_stale, max_bytes),
    .zero_off = 1,
    .size = 1,
    .hint = "a response larger than the whole store could never be kept; raise max_bytes or lower "
            "max_object_bytes",
};

static void h_timeouts(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                       const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	tt_ld_walk_map(l, v, "timeouts", timeout_keys, TT_LD_NKEYS(timeout_keys), NULL,
	               &l->c->timeouts);
}

static void h_limits(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	tt_ld_walk_map(l, v, "limits", limit_keys, TT_LD_NKEYS(limit_keys), NULL, &l->c->limits);
}

static void h_stale(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	size_t before = tt_cfg_nproblems(l->d);
	tt_ld_walk_map(l, v, "stale", stale_keys, TT_LD_NKEYS(stale_keys), NULL, &l->c->stale);
	tt_ld_check_order(l, v, "stale", &stale_order, &l->c->stale, before);
}

struct admin_tmp {
	const struct tt_ynode *listen;
	int allow_public;
};

static const struct tt_ld_key admin_keys[] = {
    {"listen", TT_YN_SCALAR, "an address such as 127.0.0.1:9901, or off", tt_ld_node,
     offsetof(struct admin_tmp, listen), 0, 0, 0},
    {"allow_public", TT_YN_SCALAR, "true or false", tt_ld_bool,
     offsetof(struct admin_tmp, allow_public), 0, 1, 4},
};

/* admin: off | {listen: ADDR|off, allow_public: BOOL}. The address is
 * checked against the public listeners in tt_cfg_validate. */
static void h_admin(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	struct tt_cfg_admin *a = &l->c->admin;
	struct admin_tmp t = {NULL, 0};
	const struct tt_ynode *addr = v;
	char why[128];
	l->vp.admin = (struct tt_cfg_pos){v->line, v->col};
	if (v->kind == TT_YN_MAP) {
		tt_ld_walk_map(l, v, "admin", admin_keys, TT_LD_NKEYS(admin_keys), NULL, &t);
		a->allow_public = t.allow_public;
		if (!t.listen)
			return; /* the default address */
		addr = t.listen;
		l->vp.admin = (struct tt_cfg_pos){addr->line, addr->col};
	} else if (strcmp(v->str, "off") != 0) {
		tt_cfg_quote(why, sizeof(why), v->str);
		tt_ld_say(l, v, "write admin: off, or admin: {listen: \"127.0.0.1:9901\"}",
		          "admin: '%s' is not a choice", why);
		return;
	}
	free(a->address);
	a->address = NULL;
	if (!strcmp(addr->str, "off"))
		return;
	enum tt_val_err e = tt_val_addr(addr->str, 1, &a->addr, &a->addr_len, why, sizeof(why));
	if (e) {
		tt_cfg_value_problem(l->d, addr->line, addr->col, "admin.listen",
		                     TT_CFG_V_LISTEN_ADDR, addr->str, e, why);
		return;
	}
	a->address = tt_cfg_strdup(addr->str);
	a->configured = 1;
}

/* The route walker lives below the top-level table, the upstream one in
 * load_upstream.c. */
static void h_routes(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj);

static const struct tt_ld_key top_keys[] = {
    {"workers", TT_YN_SCALAR, "auto, or an integer from 1 to 256", h_workers,
     offsetof(struct tt_config, workers), 1, TT_CFG_MAX_WORKERS, 4},
    {"access_log", TT_YN_SCALAR, "stdout, off, or a file path", h_access_log, 0, 0, 0, 0},
    {"name", TT_YN_SCALAR, "a name for Via and Proxy-Status, such as edge-1", h_name, 0, 0, 0, 0},
    {"listen", TT_YN_SEQ, "a list of addresses, e.g. [\"127.0.0.1:8080\"]", tt_ld_listen, 0, 0, 0,
     0},
    {"upstreams", TT_YN_MAP, "a mapping of names to groups, e.g. {app: {servers: [...]}}",
     tt_ld_upstreams, 0, 0, 0, 0},
    {"routes", TT_YN_SEQ, "a list of routes, e.g. [{path: /, upstream: app}]", h_routes, 0, 0, 0,
     0},
    {"timeouts", TT_YN_MAP, "a mapping of timeouts, e.g. {upstream_head: 60s}", h_timeouts, 0, 0, 0,
     0},
    {"limits", TT_YN_MAP, "a mapping of limits, e.g. {head_bytes: 16k}", h_limits, 0, 0, 0, 0},
    {"trusted_networks", TT_YN_SEQ, "a list of networks, e.g. [127.0.0.0/8, \"::1/128\"]", h_cidrs,
     0, 0, 0, 0},
    {"error_detail_networks", TT_YN_SEQ, "a list of networks, e.g. [127.0.0.0/8, \"::1/128\"]",
     h_detail_cidrs, 0, 0, 0, 0},
    {"error_page", TT_YN_SCALAR, "the path of an HTML template", h_error_page, 0, 0, 0, 0},
    {"stale", TT_YN_MAP, "a mapping, e.g. {max_bytes: 64m, max_object_bytes: 1m}", h_stale, 0, 0, 0,
     0},
    {"admin", TT_YN_MAP, "off, or a mapping such as {listen: \"127.0.0.1:9901\"}", h_admin, 0,
     TT_LD_OR_OFF, 0, 0},
    {"resolver", TT_YN_MAP, "a mapping, e.g. {servers: [10.0.0.53], timeout: 2s}", tt_ld_resolver,
     0, 0, 0, 0},
    {"pid_file", TT_YN_SCALAR, "off, or a file path such as /run/telltale.pid", h_pid_file, 0, 0, 0,
     0},
    {"io_uring", TT_YN_SCALAR, "auto or off", h_io_uring, 0, 0, 0, 0},
};

/* Routes. */

struct route_tmp {
	const struct tt_ynode *host, *path, *upstream;
	uint64_t stale_if_error_ms;
	int always_online;
};

static const struct tt_ld_key route_keys[] = {
    {"host", TT_YN_SCALAR, "a host name such as example.com", tt_ld_node,
     offsetof(struct route_tmp, host), 0, 0, 0},
    {"path", TT_YN_SCALAR, "a path prefix such as /api", tt_ld_node,
     offsetof(struct route_tmp, path), 0, 0, 0},
    {"upstream", TT_YN_SCALAR, "the name of an upstream", tt_ld_node,
     offsetof(struct route_tmp, upstream), 0, 0, 0},
    {"stale_if_error", TT_YN_SCALAR,
     "a duration such as 60s, or 0 for only what responses allow (RFC 5861)", tt_ld_duration,
     offsetof(struct route_tmp, stale_if_error_ms), 0, TT_VAL_DURATION_MAX_MS, 8},
    {"always_online", TT_YN_SCALAR, "true or false", tt_ld_bool,
     offsetof(struct route_tmp, always_online), 0, 1, 4},
};

/* Checks a route's host and path; 1 when both are usable. */
static int route_fields_ok(struct tt_ld *l, size_t nr, const struct route_tmp *t)
{
	const char *bad;
	char q[280];
	int ok = 1;
	if (t->host && (bad = tt_cfg_bad_route_host(t->host->str))) {
		tt_cfg_quote(q, sizeof(q), t->host->str);
		tt_ld_say(l, t->host, "write a host name such as example.com",
		          "route %zu: host '%s' %s", nr, q, bad);
		ok = 0;
	}
	if (t->path && (bad = tt_cfg_bad_route_path(t->path->str))) {
		tt_cfg_quote(q, sizeof(q), t->path->str);
		tt_ld_say(l, t->path, "write a path prefix such as /api", "route %zu: path '%s' %s",
		          nr, q, bad);
		ok = 0;
	}
	return ok;
}

static void route_one(struct tt_ld *l, const struct tt_ynode *it)
{
	struct tt_config *c = l->c;
	struct route_tmp t = {NULL, NULL, NULL, 0, 0};
	size_t nr = c->nroutes + 1;
	char iw[TT_LD_WHAT_MAX];
	int ok = it->kind == TT_YN_MAP;
	snprintf(iw, sizeof(iw), "route %zu", nr);
	if (ok) {
		tt_ld_walk_map(l, it, iw, route_keys, TT_LD_NKEYS(route_keys), NULL, &t);
		ok = route_fields_ok(l, nr, &t) && t.upstream;
		if (!t.upstream && !tt_ld_has_key(it, "upstream"))
			tt_ld_say(l, it, "add upstream: NAME", "route %zu has no 'upstream'", nr);
	} else if (it->kind != TT_YN_BAD) {
		tt_ld_say(l, it, "write a route as {path: /api, upstream: app}",
		          "route %zu must be a mapping, found %s", nr, tt_yn_kind_name(it));
	}
	/* A broken route is still kept, with no upstream name, so later routes
	 * keep their numbers; tt_cfg_validate skips it. */
	struct tt_cfg_route *r = tt_cfg_push_route(c);
	r->host = ok && t.host ? tt_cfg_strdup(t.host->str) : NULL;
	r->path_prefix = tt_cfg_strdup(ok && t.path ? t.path->str : "/");
	r->upstream_name = tt_cfg_strdup(ok ? t.upstream->str : "");
	r->stale_if_error_ms = t.stale_if_error_ms;
	r->always_online = t.always_online;
	struct tt_cfg_vpos *vp = &l->vp;
	vp->route_start = realloc(vp->route_start, c->nroutes * sizeof(*vp->route_start));
	vp->route_upstream = realloc(vp->route_upstream, c->nroutes * sizeof(*vp->route_upstream));
	if (!vp->route_start || !vp->route_upstream)
		abort();
	vp->route_start[c->nroutes - 1] = (struct tt_cfg_pos){it->line, it->col};
	vp->route_upstream[c->nroutes - 1] =
	    ok ? (struct tt_cfg_pos){t.upstream->line, t.upstream->col}
	       : (struct tt_cfg_pos){it->line, it->col};
	vp->nroutes = c->nroutes;
}

static void h_routes(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj)
{
	for (size_t i = 0; i < v->n; i++)
		route_one(l, v->items[i]);
}

static void report_yaml(void *arg, unsigned line, unsigned col, const char *message,
                        const char *hint)
{
	tt_cfg_diag_add(arg, line, col, hint, "%s", message);
}

/* Walks a parsed document into a config; returns it, or NULL. */
static struct tt_config *load_tree(const char *name, const struct tt_ynode *root,
                                   struct tt_cfg_diags *d)
{
	size_t before = tt_cfg_nproblems(d);
	struct tt_ld l = {.d = d};
	if (root->kind == TT_YN_BAD)
		return NULL;
	if (root->kind != TT_YN_MAP) {
		tt_cfg_diag_add(
		    d, root->line, root->col,
		    "start with keys such as listen: and upstreams:, see docs/config.md",
		    "the top level must be a mapping, found %s", tt_yn_kind_name(root));
		return NULL;
	}
	l.c = tt_cfg_new_default();
	free(l.c->path);
	l.c->path = tt_cfg_strdup(name);
	l.vp.top = (struct tt_cfg_pos){root->line, root->col};
	/* A present but broken 'listen' or 'upstreams' has been reported
	 * already; "missing" would say the same thing twice, and wrongly. */
	l.vp.listen_seen = tt_ld_has_key(root, "listen");
	l.vp.upstreams_seen = tt_ld_has_key(root, "upstreams");
	tt_ld_walk_map(&l, root, "", top_keys, TT_LD_NKEYS(top_keys), NULL, NULL);
	tt_cfg_validate(l.c, d, &l.vp);
	free(l.vp.route_start);
	free(l.vp.route_upstream);
	if (tt_cfg_nproblems(d) > before) {
		tt_cfg_free(l.c);
		return NULL;
	}
	return l.c;
}

/* Whole-config checks run last but read best in file order: a stable
 * insertion sort by position of the problems this load added. */
static void sort_diags(struct tt_cfg_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct tt_cfg_diag g = d->items[i];
		size_t j = i;
		while (j > from &&
		       (d->items[j - 1].line > g.line ||
		        (d->items[j - 1].line == g.line && d->items[j - 1].col > g.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = g;
	}
}

int tt_cfg_load_string(const char *name, const char *yaml, size_t len, struct tt_config **out,
                       struct tt_cfg_diags *d)
{
	struct tt_ynode *root = NULL;
	*out = NULL;
	if (!name)
		name = "(config)";
	tt_cfg_diags_set_file(d, name);
	size_t before = tt_cfg_nproblems(d), first = d->n;
	if (tt_yn_parse(yaml ? yaml : "", yaml ? len : 0, &root, report_yaml, d) == 0) {
		if (root)
			*out = load_tree(name, root, d);
		else if (tt_cfg_nproblems(d) == before)
			tt_cfg_diag_add(
			    d, 1, 1,
			    "at least 'listen' and 'upstreams' are needed; see docs/config.md",
			    "the configuration is empty");
	}
	tt_yn_free(root);
	sort_diags(d, first);
	if (*out && tt_cfg_nproblems(d) > before) {
		/* Non-fatal YAML problems (anchors, tags) still fail the load. */
		tt_cfg_free(*out);
		*out = NULL;
	}
	return *out ? 0 : (int)tt_cfg_nproblems(d);
}

/* Reads at most FILE_MAX bytes; returns 0, or an errno value. */
static int read_all(FILE *f, char **out, size_t *n)
{
	size_t cap = 0, len = 0;
	char *buf = NULL;
	struct stat st;
	if (fstat(fileno(f), &st))
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	for (;;) {
		if (len == cap) {
			if (cap >= FILE_MAX) {
				free(buf);
				return EFBIG;
			}
			cap = cap ? cap * 2 : 4096;
			char *p = realloc(buf, cap);
			if (!p)
				abort();
			buf = p;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return EIO;
	}
	*out = buf;
	*n = len;
	return 0;
}

char *tt_cfg_read_file(const char *path, size_t max, size_t *len, char *why, size_t whycap)
{
	char *buf = NULL, *p;
	size_t n = 0;
	FILE *f = fopen(path, "rb");
	int err = f ? read_all(f, &buf, &n) : errno;
	if (f)
		fclose(f);
	if (!err && n > max)
		err = EFBIG;
	if (err) {
		snprintf(why, whycap, "%s", strerror(err));
		free(buf);
		return NULL;
	}
	p = realloc(buf, n + 1);
	if (!p)
		abort();
	p[n] = 0;
	*len = n;
	return p;
}

int tt_cfg_load_file(const char *path, struct tt_config **out, struct tt_cfg_diags *d)
{
	char *buf = NULL;
	size_t n = 0;
	*out = NULL;
	tt_cfg_diags_set_file(d, path);
	FILE *f = fopen(path, "rb");
	int err = f ? read_all(f, &buf, &n) : errno;
	if (f)
		fclose(f);
	if (err) {
		tt_cfg_diag_add(d, 0, 0, "check the path given with -c", "cannot read the file: %s",
		                strerror(err));
		return (int)tt_cfg_nproblems(d);
	}
	int rc = tt_cfg_load_string(path, buf, n, out, d);
	free(buf);
	return rc;
}
