/*
 * A small strict JSON reader (RFC 8259) for one line of text at a time,
 * written for `telltale explain`, which reads the access log line by line.
 *
 * tt_json_parse turns one document into a flat array of nodes in document
 * order (a container is followed by its children; an object's children
 * alternate key, value). It allocates nothing: the nodes and the decoded
 * strings go into arrays the caller hands over in struct tt_json_doc, and
 * nesting is bounded, so any input costs bounded stack and memory.
 *
 * Strict means: exactly one value and nothing after it but whitespace; no
 * comments, trailing commas, single quotes, leading zeros, NaN or Infinity;
 * strings are valid UTF-8 without raw control characters, and \u escapes
 * pair their surrogates; an object does not repeat a key; a number must fit
 * a double (overflow is an error, underflow rounds to 0).
 *
 * Invariant: after TT_JSON_OK every string node's str is NUL-terminated
 * inside the caller's scratch buffer (it may also contain NUL bytes, from
 * \u0000: use len), and every number node's str is its text as written.
 */
#ifndef TT_OBS_JSON_H
#define TT_OBS_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Hard ceiling on nesting, whatever the caller asks for. */
#define TT_JSON_DEPTH_MAX 64

enum tt_json_type {
	TT_JSON_NULL = 0,
	TT_JSON_FALSE,
	TT_JSON_TRUE,
	TT_JSON_NUMBER,
	TT_JSON_STRING,
	TT_JSON_ARRAY,
	TT_JSON_OBJECT
};

enum tt_json_err {
	TT_JSON_OK = 0,
	TT_JSON_E_END,      /* the input ended inside a value */
	TT_JSON_E_SYNTAX,   /* a byte that cannot start or continue the value here */
	TT_JSON_E_TRAILING, /* something after the value */
	TT_JSON_E_STRING,   /* a raw control character in a string */
	TT_JSON_E_ESCAPE,   /* an unknown escape, bad \u digits or an unpaired surrogate */
	TT_JSON_E_UTF8,     /* a string is not valid UTF-8 */
	TT_JSON_E_NUMBER,   /* a number breaks the grammar or overflows a double */
	TT_JSON_E_DUPKEY,   /* an object repeats a key */
	TT_JSON_E_DEPTH,    /* nested deeper than max_depth */
	TT_JSON_E_NODES,    /* more values than the caller's node array holds */
	TT_JSON_E_SCRATCH   /* the caller's scratch buffer is too small */
};

struct tt_json_node {
	enum tt_json_type type;
	uint32_t end;    /* index one past this node's subtree (next sibling) */
	uint32_t count;  /* array: elements; object: members (key-value pairs) */
	const char *str; /* string: decoded bytes; number: its text in the input */
	size_t len;      /* bytes at str, NUL excluded */
	double num;      /* number: its value */
};

/* What the caller lends the parser; the parser fills the rest. */
struct tt_json_doc {
	struct tt_json_node *nodes; /* caller's array */
	size_t max_nodes;
	char *scratch; /* decoded strings; len + 1 bytes always suffice */
	size_t scratch_cap;
	int max_depth; /* containers nested at most this deep (1..TT_JSON_DEPTH_MAX); 0 = 32 */
	/* Results: */
	size_t nnodes;  /* nodes used; nodes[0] is the root */
	size_t err_off; /* byte offset of the offending byte when not TT_JSON_OK */
};

/* Parse in[0..len) as one JSON document into d. Returns TT_JSON_OK, or an
 * error with d->err_off set; nodes and scratch are then undefined. Reads no
 * byte at or past in + len. The nodes point into in and d->scratch, so both
 * must outlive their use. */
enum tt_json_err tt_json_parse(struct tt_json_doc *d, const char *in, size_t len);

/* A short English phrase for an error ("invalid escape"). */
const char *tt_json_strerror(enum tt_json_err e);

/* The value of key in object node obj, or NULL when obj is not an object or
 * has no such key. Keys compare byte for byte after decoding. */
const struct tt_json_node *tt_json_get(const struct tt_json_doc *d, const struct tt_json_node *obj,
                                       const char *key);

/* Children of an array or object: prev NULL gives the first, else the one
 * after prev; NULL at the end. For an object the children are its keys;
 * a key's value is the node right after it (key + 1). */
const struct tt_json_node *tt_json_next(const struct tt_json_doc *d,
                                        const struct tt_json_node *parent,
                                        const struct tt_json_node *prev);

/* 1 and the value in *out when n is a number that is an integer strictly between
 * -2^53 and 2^53; 0 otherwise (also for n NULL). */
int tt_json_int(const struct tt_json_node *n, int64_t *out);

/* 1 when n is a string equal to s (NUL-terminated). */
int tt_json_eq(const struct tt_json_node *n, const char *s);

/* Write s[0..len) to out as a JSON string, quotes included: '"', '\\' and
 * control characters are escaped, other bytes pass through (the caller
 * gives valid UTF-8). */
void tt_json_fput_str(FILE *out, const char *s, size_t len);

#endif
