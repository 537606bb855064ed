/*
 * libyaml's event stream turned into a small tree of nodes, each remembering
 * where it started (1-based line and column), so the config loader can walk
 * a document and point at the exact spot of every problem.
 *
 * Internal to src/config/. The tree is plain data: scalars, lists and
 * mappings. Anchors, aliases and custom tags are refused (telltale's config
 * has no use for them and they make "where did this value come from?" hard
 * to answer); such nodes become TT_YN_BAD after the problem is reported, and
 * walkers skip BAD nodes silently so one problem is reported once.
 *
 * Invariant: a mapping's items alternate key, value (n is even); every
 * scalar's str is NUL-terminated and holds no interior NUL byte (a scalar
 * with one is reported and turned BAD).
 */
#ifndef TT_CONFIG_YAML_NODES_H
#define TT_CONFIG_YAML_NODES_H

#include <stddef.h>

enum tt_yn_kind {
	TT_YN_SCALAR,
	TT_YN_SEQ,
	TT_YN_MAP,
	TT_YN_BAD, /* already reported; ignore without a new message */
};

struct tt_ynode {
	enum tt_yn_kind kind;
	unsigned line, col;      /* 1-based, from libyaml's start mark */
	char *str;               /* SCALAR: the value, NUL-terminated; else NULL */
	size_t len;              /* SCALAR: bytes in str */
	int plain;               /* SCALAR: unquoted, so "~" and "null" mean null */
	int refused;             /* SEQ/MAP: anchor or tag reported; turns BAD when closed */
	struct tt_ynode **items; /* SEQ: elements; MAP: key, value, key, value */
	size_t n, cap;
};

/* Called once per problem found while building the tree. */
typedef void (*tt_yn_report_fn)(void *arg, unsigned line, unsigned col, const char *message,
                                const char *hint);

/* Nesting deeper than this is refused; telltale's schema needs four levels. */
#define TT_YN_MAX_DEPTH 32

/*
 * Parse one YAML document from buf. Returns 0 when the tree was built (*root
 * is the document's root node, or NULL when the input holds no document or
 * only a null), and -1 on a syntax error or an input the tree cannot hold
 * (too deep, several documents); then *root is NULL and the problem has been
 * reported. Non-fatal problems (anchors, aliases, tags, NUL bytes) are
 * reported and leave BAD nodes; the return is still 0. The caller owns *root
 * and frees it with tt_yn_free.
 */
int tt_yn_parse(const char *buf, size_t len, struct tt_ynode **root, tt_yn_report_fn report,
                void *arg);

void tt_yn_free(struct tt_ynode *n);

/* 1 for an empty plain scalar, "~", "null", "Null" or "NULL". */
int tt_yn_is_null(const struct tt_ynode *n);

/* "a scalar", "a list", "a mapping" or "nothing" (null), for messages. */
const char *tt_yn_kind_name(const struct tt_ynode *n);

#endif
