/*
 * What the config file walker (load.c) shares with the schema parts kept
 * in their own files (load_upstream.c: upstream groups and the shielding
 * keys of issue 4). Internal to src/config/.
 *
 * A schema level is a table of struct tt_ld_key; tt_ld_walk_map checks
 * every key's shape, duplicates and spelling, then calls its handler with
 * a value of the right kind. The generic handlers below store into the
 * field at key->off of the object walked, range-checked against
 * key->min..key->max; every problem is reported once, at the value.
 */
#ifndef TT_CONFIG_LOAD_INT_H
#define TT_CONFIG_LOAD_INT_H

#include "config/config_int.h"
#include "config/yaml_nodes.h"

#include <stddef.h>
#include <stdint.h>

/* Room for a dotted key path such as "upstreams.app.health.passive.window". */
#define TT_LD_WHAT_MAX 320

/* The state of one load. */
struct tt_ld {
	struct tt_cfg_diags *d;
	struct tt_config *c;
	struct tt_cfg_vpos vp;
	int trusted_seen;
};

struct tt_ld_key;

/* A key's handler: `what` is the dotted path for messages, k the key node,
 * v its value (already of kind key->kind, never null), obj the object the
 * mapping fills. */
typedef void (*tt_ld_fn)(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                         const struct tt_ynode *k, const struct tt_ynode *v, void *obj);

struct tt_ld_key {
	const char *name;
	enum tt_yn_kind kind; /* what the value must be */
	const char *expect;   /* "expected ..." in hints */
	tt_ld_fn fn;
	size_t off;        /* field in obj, for the generic handlers */
	uint64_t min, max; /* range, for the generic handlers */
	int width;         /* bytes of the field: 4 or 8 */
};

/* A mapping key whose `min` is this also takes a single value ("admin:
 * off"): its handler sees either. */
#define TT_LD_OR_OFF 1

#define TT_LD_NKEYS(t) (sizeof(t) / sizeof((t)[0]))

/* Record a problem at node n. */
void tt_ld_say(struct tt_ld *l, const struct tt_ynode *n, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Walk one mapping: every key is checked for type, duplicates and validity,
 * then handed to its handler. keys == NULL means any key name is valid (a
 * mapping of user-chosen names) and `any` reads each. `where` is the
 * mapping's dotted path, "" at the top.
 */
void tt_ld_walk_map(struct tt_ld *l, const struct tt_ynode *map, const char *where,
                    const struct tt_ld_key *keys, size_t nkeys, const struct tt_ld_key *any,
                    void *obj);

/* 1 when the mapping has the key (whatever its value). */
int tt_ld_has_key(const struct tt_ynode *map, const char *name);

/* The value node of a key in a mapping, or NULL. */
const struct tt_ynode *tt_ld_value_of(const struct tt_ynode *map, const char *name);

/* Generic handlers: an integer, a duration in ms, a size in bytes, each in
 * key->min..key->max; a percentage (0..100 and key->min..key->max); a
 * boolean (an int field); the node itself (a const struct tt_ynode *
 * field), for handlers that need several keys at once. */
void tt_ld_uint(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_duration(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_size(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_percent(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                   const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_bool(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_node(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                const struct tt_ynode *k, const struct tt_ynode *v, void *obj);

/*
 * Two uint64_t fields of one object that must be ordered, lo <= hi (lo < hi
 * when strict), such as retry.backoff <= retry.backoff_max. `zero_off`:
 * the check is skipped when hi is 0 (stale.max_bytes: 0 means off).
 */
struct tt_ld_order {
	const char *lo, *hi; /* key names */
	size_t lo_off, hi_off;
	int strict;
	int zero_off;
	int size; /* 1: sizes, 0: durations (for showing a default) */
	const char *hint;
};

/*
 * Check an order rule on obj after its mapping `map` (path `where`) was
 * walked. The problem is reported at the value of whichever of the two
 * keys comes later in the file (the one the reader meets when the pair
 * stops making sense); nothing is said when neither key is written
 * (the defaults agree) or when the walk reported problems since `before`
 * problems were counted (a bad value left a default behind, and comparing
 * against it would mislead).
 */
void tt_ld_check_order(struct tt_ld *l, const struct tt_ynode *map, const char *where,
                       const struct tt_ld_order *rule, const void *obj, size_t before);

/* upstreams: the mapping of groups (load_upstream.c). */
void tt_ld_upstreams(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                     const struct tt_ynode *k, const struct tt_ynode *v, void *obj);

/* Record a warning at node n: printed, the load goes on. */
void tt_ld_warn(struct tt_ld *l, const struct tt_ynode *n, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The protocols at the edges (load_edge.c): listen[] entries with tls, an
 * upstream group's tls (obj is the group), its checks against the group's
 * servers once the whole group is read, and the resolver. */
void tt_ld_listen(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                  const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_upstream_tls(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                        const struct tt_ynode *k, const struct tt_ynode *v, void *obj);
void tt_ld_upstream_tls_check(struct tt_ld *l, const struct tt_ynode *group, const char *what,
                              struct tt_cfg_upstream *u);
void tt_ld_resolver(struct tt_ld *l, const struct tt_ld_key *key, const char *what,
                    const struct tt_ynode *k, const struct tt_ynode *v, void *obj);

#endif
