/*
 * libFuzzer target for the strict JSON reader (src/obs/json.c) and the
 * access-log line reader of `telltale explain` (src/obs/explain.c).
 *
 * The input is parsed from an exact-size heap copy with a scratch buffer of
 * exactly size + 1 bytes, which json.h promises is always enough. On
 * success the tree must be consistent (every subtree ends inside its
 * parent, counts match the children, strings are NUL-terminated inside the
 * scratch buffer), and the document written out again (strings through
 * tt_json_fput_str, numbers as written) must parse to the same tree. On
 * failure the error offset must lie within the input. The same bytes then
 * go through tt_explain_line, which must count them as exactly one line.
 *
 * The Makefile links the sources it drives (FUZZ_DEPS_fuzz_json).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obs/explain.h"
#include "obs/json.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MAX_NODES 512

static struct tt_json_node nodes[MAX_NODES], nodes2[MAX_NODES];

/* Check node i's subtree; returns the index one past it. */
static size_t check_tree(const struct tt_json_doc *d, size_t i)
{
	const struct tt_json_node *n = &d->nodes[i];
	size_t next = i + 1, kids = 0;

	CHECK(n->end > i && n->end <= d->nnodes);
	if (n->type == TT_JSON_STRING) {
		CHECK(n->str >= d->scratch && n->str + n->len < d->scratch + d->scratch_cap);
		CHECK(n->str[n->len] == 0);
	}
	if (n->type != TT_JSON_ARRAY && n->type != TT_JSON_OBJECT) {
		CHECK(n->end == i + 1);
		return next;
	}
	while (next < n->end) {
		if (n->type == TT_JSON_OBJECT) {
			CHECK(d->nodes[next].type == TT_JSON_STRING);
			next++;
		}
		next = check_tree(d, next);
		kids++;
	}
	CHECK(next == n->end && kids == n->count);
	return next;
}

/* Write node i's subtree to f; returns the index one past it. */
static size_t write_tree(FILE *f, const struct tt_json_doc *d, size_t i)
{
	static const char *const lit[] = {"null", "false", "true"};
	const struct tt_json_node *n = &d->nodes[i];
	size_t next = i + 1;
	int first = 1;

	switch (n->type) {
	case TT_JSON_NULL:
	case TT_JSON_FALSE:
	case TT_JSON_TRUE: fputs(lit[n->type], f); return next;
	case TT_JSON_NUMBER: fwrite(n->str, 1, n->len, f); return next;
	case TT_JSON_STRING: tt_json_fput_str(f, n->str, n->len); return next;
	default: break;
	}
	fputc(n->type == TT_JSON_OBJECT ? '{' : '[', f);
	while (next < n->end) {
		if (!first)
			fputc(',', f);
		first = 0;
		if (n->type == TT_JSON_OBJECT) {
			next = write_tree(f, d, next);
			fputc(':', f);
		}
		next = write_tree(f, d, next);
	}
	fputc(n->type == TT_JSON_OBJECT ? '}' : ']', f);
	return next;
}

static void same_tree(const struct tt_json_doc *a, const struct tt_json_doc *b)
{
	CHECK(a->nnodes == b->nnodes);
	for (size_t i = 0; i < a->nnodes; i++) {
		const struct tt_json_node *x = &a->nodes[i], *y = &b->nodes[i];
		CHECK(x->type == y->type && x->end == y->end && x->count == y->count);
		if (x->type == TT_JSON_STRING)
			CHECK(x->len == y->len && !memcmp(x->str, y->str, x->len));
		if (x->type == TT_JSON_NUMBER)
			CHECK(x->num == y->num);
	}
}

static void round_trip(const struct tt_json_doc *d)
{
	char *out = NULL, *sc;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);

	CHECK(f);
	write_tree(f, d, 0);
	CHECK(fclose(f) == 0);
	sc = malloc(n + 1);
	struct tt_json_doc d2 = {nodes2, MAX_NODES, sc, n + 1, d->max_depth, 0, 0};
	CHECK(tt_json_parse(&d2, out, n) == TT_JSON_OK);
	same_tree(d, &d2);
	free(sc);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tt_explain *x;
	char *in = malloc(size ? size : 1), *sc = malloc(size + 1);
	struct tt_json_doc d = {nodes, MAX_NODES, sc, size + 1, 16, 0, 0};
	enum tt_json_err e;

	memcpy(in, data, size);
	e = tt_json_parse(&d, in, size);
	CHECK(e != TT_JSON_E_SCRATCH);
	if (e == TT_JSON_OK) {
		CHECK(check_tree(&d, 0) == d.nnodes);
		round_trip(&d);
	} else {
		CHECK(d.err_off <= size);
	}
	free(sc);

	if (!x)
		x = tt_explain_new(INT64_MIN, INT64_MAX);
	uint64_t lines = x->lines;
	uint64_t accounted = x->blank + x->bad + x->outside + x->requests;
	tt_explain_line(x, in, size);
	CHECK(x->lines == lines + 1);
	CHECK(x->blank + x->bad + x->outside + x->requests == accounted + 1);
	CHECK(x->nwin <= TT_EXPLAIN_WINDOWS);
	free(in);
	return 0;
}
