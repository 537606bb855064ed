/*
 * RFC 8941 Structured Field Values: the parts telltale needs to write a
 * Proxy-Status member (RFC 9209 section 2) and to read one back.
 *
 * Serializers write into a caller's buffer, never allocate, NUL-terminate
 * the output, and return its length without the NUL, or -1 when the output
 * and its NUL do not fit in cap (the buffer's content is then unspecified).
 * They never fail on content: text that is not a valid sf-string is made
 * one by replacing each byte outside printable ASCII (0x20..0x7E) with '?'
 * (RFC 8941 section 3.3.3 allows nothing else in an sf-string).
 *
 * The parser reads a List of Items with Parameters (RFC 8941 sections 3.1,
 * 3.1.2 and 4.2.1), strictly: whatever section 4.2 says fails, fails here.
 * Inner Lists are valid sf but not needed by telltale; they are refused
 * with their own error code. Results are bounded by caller arrays; tokens,
 * keys and byte sequences are slices into the input, strings are unescaped
 * into a caller scratch buffer.
 */
#ifndef TT_RESPOND_SF_H
#define TT_RESPOND_SF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest magnitude of an sf-integer (RFC 8941 section 3.3.1: 15 digits). */
#define TT_SF_INT_MAX 999999999999999LL

/* 1 when s[0..n) matches sf-token (section 3.3.4): ALPHA or "*", then
 * tchar / ":" / "/". The empty string is not a token. */
int tt_sf_is_token(const char *s, size_t n);

/* 1 when s[0..n) matches key (section 3.1.2): lcalpha or "*", then
 * lcalpha / DIGIT / "_" / "-" / "." / "*". */
int tt_sf_is_key(const char *s, size_t n);

/* sf-string of s[0..n): '"', the bytes with '"' and '\' escaped and bytes
 * outside 0x20..0x7E replaced by '?', '"'. */
ssize_t tt_sf_string(char *out, size_t cap, const char *s, size_t n);

/* s[0..n) as an sf-token when it is one, else as tt_sf_string. */
ssize_t tt_sf_text(char *out, size_t cap, const char *s, size_t n);

/* sf-integer; -1 also when |v| > TT_SF_INT_MAX. */
ssize_t tt_sf_integer(char *out, size_t cap, int64_t v);

/*
 * One parameter, "; key=value". The "; " form (SP after ';') is what RFC
 * 9209's examples use; RFC 8941 section 4.2.3.2 discards that SP when
 * parsing, so the field means the same and reads better in logs. -1 also
 * when key is not a valid key.
 */
ssize_t tt_sf_param_token(char *out, size_t cap, const char *key, const char *tok, size_t n);
ssize_t tt_sf_param_string(char *out, size_t cap, const char *key, const char *s, size_t n);
ssize_t tt_sf_param_integer(char *out, size_t cap, const char *key, int64_t v);

/* ---- parsing ---- */

enum tt_sf_type {
	TT_SF_INTEGER = 0,
	TT_SF_DECIMAL,
	TT_SF_STRING,
	TT_SF_TOKEN,
	TT_SF_BYTES, /* str/len: the base64 text between the colons, not decoded */
	TT_SF_BOOLEAN
};

struct tt_sf_item {
	enum tt_sf_type type;
	int64_t integer; /* INTEGER; BOOLEAN: 0 or 1; DECIMAL: value * 1000 */
	const char *str; /* STRING (into scratch), TOKEN and BYTES (into the input) */
	size_t len;
};

struct tt_sf_param {
	const char *key; /* into the input */
	size_t key_len;
	struct tt_sf_item value; /* Boolean true when the key has no "=value" */
};

struct tt_sf_member {
	struct tt_sf_item item;
	struct tt_sf_param *params; /* into the caller's params array */
	size_t nparams;
};

enum tt_sf_err {
	TT_SF_OK = 0,
	TT_SF_ERR_SYNTAX,     /* not a valid List */
	TT_SF_ERR_INNER_LIST, /* a valid List, but with an Inner List */
	TT_SF_ERR_LIMIT       /* more members, parameters or string bytes than room */
};

/* Caller storage for one parse. */
struct tt_sf_list {
	struct tt_sf_member *members;
	size_t members_cap;
	size_t nmembers;            /* out */
	struct tt_sf_param *params; /* shared by all members, in order */
	size_t params_cap;
	char *scratch; /* unescaped strings */
	size_t scratch_cap;
	size_t err_offset; /* out: offset in the input where parsing failed */
};

/*
 * Parse in[0..len) as the value of a List field (section 4.2 with
 * field_type "list"). An empty value is the empty List. A duplicate
 * parameter key keeps the place of its first occurrence and the value of
 * its last (section 4.2.3.2). On error, nmembers and the arrays hold what
 * was parsed before the error and err_offset points at the offending byte.
 */
enum tt_sf_err tt_sf_parse_list(const char *in, size_t len, struct tt_sf_list *l);

/* The parameter named key of m, or NULL. */
const struct tt_sf_param *tt_sf_param_get(const struct tt_sf_member *m, const char *key);

#endif
