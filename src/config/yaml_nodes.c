/*
 * libyaml events -> tt_ynode tree. libyaml reports positions as 0-based
 * marks; every node stores its start mark plus one, which is what editors
 * show. The tree is built iteratively with an explicit stack capped at
 * TT_YN_MAX_DEPTH, so hostile input cannot exhaust the C stack, and
 * tt_yn_free's recursion is bounded by the same cap.
 */
#include "config/yaml_nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Tags written with "!!" expand to this prefix; they are harmless (the loader
 * reads every scalar as text anyway), anything else is a custom tag. */
#define YAML_CORE_TAG_PREFIX "tag:yaml.org,2002:"

struct builder {
	struct tt_ynode *root;
	struct tt_ynode *stack[TT_YN_MAX_DEPTH];
	size_t depth;
	unsigned ndocs;
	tt_yn_report_fn report;
	void *arg;
	const char *buf;
	size_t len;
};

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);
	/* Our own small structs: failing to allocate them is not recoverable. */
	if (!p)
		abort();
	return p;
}

static void say(struct builder *b, const yaml_mark_t *m, const char *msg, const char *hint)
{
	b->report(b->arg, (unsigned)m->line + 1, (unsigned)m->column + 1, msg, hint);
}

static struct tt_ynode *node_new(enum tt_yn_kind kind, const yaml_mark_t *m)
{
	struct tt_ynode *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static void append(struct tt_ynode *parent, struct tt_ynode *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? parent->cap * 2 : 8;
		struct tt_ynode **items = realloc(parent->items, cap * sizeof(*items));
		if (!items)
			abort();
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->n++] = child;
}

/* Hang a new node under the open container, or make it the root. */
static void attach(struct builder *b, struct tt_ynode *n)
{
	if (b->depth > 0)
		append(b->stack[b->depth - 1], n);
	else if (!b->root)
		b->root = n;
	else
		tt_yn_free(n); /* unreachable: one document, one root */
}

/* Anchors and custom tags are refused where they are written; the node is
 * still built (as BAD) so the tree keeps its shape. Returns 1 if refused. */
static int refuse_extras(struct builder *b, const yaml_event_t *ev, const yaml_char_t *anchor,
                         const yaml_char_t *tag)
{
	if (anchor) {
		say(b, &ev->start_mark, "anchors and aliases (&name, *name) are not supported",
		    "write the value out in full where it is used");
		return 1;
	}
	if (tag && strncmp((const char *)tag, YAML_CORE_TAG_PREFIX, strlen(YAML_CORE_TAG_PREFIX))) {
		say(b, &ev->start_mark, "custom YAML tags (!name) are not supported",
		    "remove the tag; values are read as plain text");
		return 1;
	}
	return 0;
}

static void on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct tt_ynode *n = node_new(TT_YN_SCALAR, &ev->start_mark);
	size_t len = ev->data.scalar.length;
	n->str = xcalloc(1, len + 1);
	memcpy(n->str, ev->data.scalar.value, len);
	n->len = len;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (refuse_extras(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag)) {
		n->kind = TT_YN_BAD;
	} else if (memchr(n->str, '\0', len)) {
		/* A "\0" escape would silently cut the value short in C strings. */
		say(b, &ev->start_mark, "value contains a NUL byte", "remove the \\0 escape");
		n->kind = TT_YN_BAD;
	}
	attach(b, n);
}

static int on_open(struct builder *b, const yaml_event_t *ev, enum tt_yn_kind kind)
{
	const yaml_char_t *anchor, *tag;
	if (kind == TT_YN_MAP) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	} else {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	}
	if (b->depth == TT_YN_MAX_DEPTH) {
		char msg[96];
		snprintf(msg, sizeof(msg), "nesting is deeper than %d levels", TT_YN_MAX_DEPTH);
		say(b, &ev->start_mark, msg, "telltale's configuration needs at most four levels");
		return -1;
	}
	struct tt_ynode *n = node_new(kind, &ev->start_mark);
	/* A refused container keeps its kind until closed so its children
	 * still attach to it and are freed with it. */
	n->refused = refuse_extras(b, ev, anchor, tag);
	attach(b, n);
	b->stack[b->depth++] = n;
	return 0;
}

/* Containers refused for an anchor or tag turn BAD once complete. */
static void on_close(struct builder *b)
{
	if (b->depth == 0)
		return;
	struct tt_ynode *n = b->stack[--b->depth];
	if (n->refused)
		n->kind = TT_YN_BAD;
}

static unsigned line_of_offset(const struct builder *b, size_t off)
{
	unsigned line = 1;
	for (size_t i = 0; i < off && i < b->len; i++)
		line += b->buf[i] == '\n';
	return line;
}

static unsigned col_of_offset(const struct builder *b, size_t off)
{
	size_t i = off < b->len ? off : b->len;
	unsigned col = 1;
	while (i > 0 && b->buf[i - 1] != '\n') {
		i--;
		col++;
	}
	return col;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	char msg[256], hint[256];
	const char *problem = p->problem ? p->problem : "cannot parse";
	snprintf(msg, sizeof(msg), "YAML syntax error: %s", problem);
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors (bad UTF-8, control characters) carry a byte offset
		 * rather than a mark. */
		b->report(b->arg, line_of_offset(b, p->problem_offset),
		          col_of_offset(b, p->problem_offset), msg,
		          "the file must be UTF-8 text without control characters");
		return;
	}
	if (p->context)
		snprintf(hint, sizeof(hint),
		         "%s at line %u column %u; check indentation and quoting", p->context,
		         (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
	else
		snprintf(hint, sizeof(hint), "check indentation, quoting and the space after ':'");
	say(b, &p->problem_mark, msg, hint);
}

/* Returns 1 to continue, 0 at the end of the stream, -1 on a fatal problem. */
static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->ndocs > 1) {
			say(b, &ev->start_mark, "only one YAML document is allowed",
			    "remove the second '---' and what follows it");
			return -1;
		}
		return 1;
	case YAML_SCALAR_EVENT: on_scalar(b, ev); return 1;
	case YAML_ALIAS_EVENT: {
		struct tt_ynode *n = node_new(TT_YN_BAD, &ev->start_mark);
		say(b, &ev->start_mark, "anchors and aliases (&name, *name) are not supported",
		    "write the value out in full where it is used");
		attach(b, n);
		return 1;
	}
	case YAML_MAPPING_START_EVENT: return on_open(b, ev, TT_YN_MAP) ? -1 : 1;
	case YAML_SEQUENCE_START_EVENT: return on_open(b, ev, TT_YN_SEQ) ? -1 : 1;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT: on_close(b); return 1;
	case YAML_STREAM_END_EVENT: return 0;
	default: return 1;
	}
}

int tt_yn_parse(const char *buf, size_t len, struct tt_ynode **root, tt_yn_report_fn report,
                void *arg)
{
	struct builder b = {.report = report, .arg = arg, .buf = buf, .len = len};
	yaml_parser_t p;
	int rc = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&p, &ev)) {
			syntax_error(&b, &p);
			rc = -1;
			break;
		}
		int r = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (r <= 0) {
			rc = r;
			break;
		}
	}
	yaml_parser_delete(&p);
	if (rc < 0 || (b.root && tt_yn_is_null(b.root))) {
		tt_yn_free(b.root);
		return rc;
	}
	*root = b.root;
	return 0;
}

void tt_yn_free(struct tt_ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		tt_yn_free(n->items[i]);
	free(n->items);
	free(n->str);
	free(n);
}

int tt_yn_is_null(const struct tt_ynode *n)
{
	if (!n || n->kind != TT_YN_SCALAR || !n->plain)
		return 0;
	return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

const char *tt_yn_kind_name(const struct tt_ynode *n)
{
	if (!n || tt_yn_is_null(n))
		return "nothing";
	switch (n->kind) {
	case TT_YN_SCALAR: return "a scalar";
	case TT_YN_SEQ: return "a list";
	case TT_YN_MAP: return "a mapping";
	default: return "an unusable value";
	}
}
