/*
 * libFuzzer target for the Proxy-Status writer (src/respond/proxy_status.c)
 * and the sf List parser (src/respond/sf.c).
 *
 * The input builds a fault: a header of 12 bytes (fault id, flags, the
 * received status, the lengths of the name, upstream, details, parameter
 * name and value), then those strings one after the other, then 8 bytes of
 * integer parameter value. The member is written at both trust levels and
 * parsed back; it aborts unless it parses as a one-member List and every
 * parameter round-trips: the name (token, or string with bytes outside
 * printable ASCII as '?'), error, next-hop, received-status, details and
 * the type parameter, each present exactly when proxy_status.h says so. A
 * smaller buffer must give -1, never a cut member.
 *
 * The whole input is also parsed as a List; when it parses, each string
 * member is written again with tt_sf_string and must parse back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "respond/proxy_status.h"
#include "respond/sf.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

struct rd {
	const uint8_t *p;
	size_t n;
};

/* Take up to len bytes (stopping at a NUL) into dst, NUL-terminated. */
static void take(struct rd *r, char *dst, size_t cap, size_t len)
{
	size_t k = len < r->n ? len : r->n, i;
	if (k > cap - 1)
		k = cap - 1;
	for (i = 0; i < k && r->p[i]; i++)
		dst[i] = (char)r->p[i];
	dst[i] = 0;
	r->p += k;
	r->n -= k;
}

/* The sf-string content tt_sf_string writes for s: '?' for non-printables. */
static int same_sanitized(const char *s, const char *got, size_t got_len)
{
	size_t n = strlen(s);
	if (n != got_len)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (got[i] != (c >= 0x20 && c <= 0x7e ? (char)c : '?'))
			return 0;
	}
	return 1;
}

static int is_public(const char *k)
{
	return !strcmp(k, "header-section-size") || !strcmp(k, "header-name") ||
	       !strcmp(k, "body-size") || !strcmp(k, "coding");
}

static int is_own(const char *k)
{
	return !strcmp(k, "error") || !strcmp(k, "next-hop") || !strcmp(k, "received-status") ||
	       !strcmp(k, "details");
}

static void check_name(const char *name, const struct tt_sf_item *it)
{
	const char *s = name[0] ? name : "telltale";
	size_t n = strlen(s);

	if (tt_sf_is_token(s, n)) {
		CHECK(it->type == TT_SF_TOKEN && it->len == n && !memcmp(it->str, s, n));
		return;
	}
	CHECK(it->type == TT_SF_STRING);
	if (s[0] == '"' && s[n - 1] == '"') {
		/* A name that is one whole sf-string passes through as it is. */
		static char sc[128];
		struct tt_sf_member m[1];
		struct tt_sf_list l = {m, 1, 0, NULL, 0, sc, sizeof(sc), 0};
		if (tt_sf_parse_list(s, n, &l) == TT_SF_OK && l.nmembers == 1 &&
		    m[0].item.type == TT_SF_STRING) {
			CHECK(it->len == m[0].item.len && !memcmp(it->str, m[0].item.str, it->len));
			return;
		}
	}
	CHECK(same_sanitized(s, it->str, it->len));
}

static void check_param(const struct tt_fault *f, const struct tt_sf_member *m, int trusted,
                        size_t *expected)
{
	const char *k = f->param_name;
	const struct tt_sf_param *p;
	int want =
	    f->id != TT_FAULT_NONE && tt_sf_is_key(k, strlen(k)) && !is_own(k) &&
	    (trusted || is_public(k)) &&
	    (!f->param_is_int || (f->int_value <= TT_SF_INT_MAX && f->int_value >= -TT_SF_INT_MAX));

	if (!want)
		return;
	p = tt_sf_param_get(m, k);
	CHECK(p);
	(*expected)++;
	if (f->param_is_int)
		CHECK(p->value.type == TT_SF_INTEGER && p->value.integer == f->int_value);
	else
		CHECK(p->value.type == TT_SF_STRING &&
		      same_sanitized(f->param_value, p->value.str, p->value.len));
}

static void check_member(const struct tt_fault *f, const char *name, int status, int trusted)
{
	static char out[TT_PS_MEMBER_MAX], small[TT_PS_MEMBER_MAX], sc[TT_PS_MEMBER_MAX];
	struct tt_sf_member m[2];
	struct tt_sf_param ps[8];
	struct tt_sf_list l = {m, 2, 0, ps, 8, sc, sizeof(sc), 0};
	const struct tt_fault_info *info = tt_fault_info(f->id);
	const struct tt_sf_param *p;
	size_t expected = 0;
	int eff = status > 0 ? status : f->received_status;
	int last =
	    (f->nattempts < TT_FAULT_MAX_ATTEMPTS ? f->nattempts : TT_FAULT_MAX_ATTEMPTS) - 1;
	const char *hop = !trusted                                     ? NULL
	                  : f->upstream[0]                             ? f->upstream
	                  : last >= 0 && f->attempts[last].upstream[0] ? f->attempts[last].upstream
	                                                               : NULL;

	ssize_t n = tt_ps_member(out, sizeof(out), name, f, status, trusted);
	CHECK(n > 0 && (size_t)n == strlen(out));
	/* One byte short fails whole; so does any shorter buffer. */
	CHECK(tt_ps_member(small, (size_t)n, name, f, status, trusted) == -1);
	CHECK(tt_ps_member(small, (size_t)n / 2, name, f, status, trusted) == -1);
	CHECK(tt_sf_parse_list(out, (size_t)n, &l) == TT_SF_OK);
	CHECK(l.nmembers == 1);
	check_name(name, &m[0].item);

	p = tt_sf_param_get(&m[0], "error");
	CHECK(!!p == !!info);
	if (p) {
		expected++;
		CHECK(p->value.type == TT_SF_TOKEN && p->value.len == strlen(info->type) &&
		      !memcmp(p->value.str, info->type, p->value.len));
	}
	p = tt_sf_param_get(&m[0], "received-status");
	CHECK(!!p == (eff > 0));
	if (p) {
		expected++;
		CHECK(p->value.type == TT_SF_INTEGER && p->value.integer == eff);
	}
	p = tt_sf_param_get(&m[0], "next-hop");
	CHECK(!!p == !!hop);
	if (p) {
		expected++;
		CHECK(p->value.type == TT_SF_STRING &&
		      same_sanitized(hop, p->value.str, p->value.len));
	}
	p = tt_sf_param_get(&m[0], "details");
	CHECK(!!p == (trusted && info && f->details[0]));
	if (p) {
		expected++;
		CHECK(p->value.type == TT_SF_STRING &&
		      same_sanitized(f->details, p->value.str, p->value.len));
	}
	check_param(f, &m[0], trusted, &expected);
	CHECK(m[0].nparams == expected);
}

/* Any List that parses: its strings written again must read the same. */
static void reparse(const uint8_t *data, size_t size)
{
	static char sc[4096], sc2[4096], out[4 * 4096];
	struct tt_sf_member m[16], m2[1];
	struct tt_sf_param ps[64];
	struct tt_sf_list l = {m, 16, 0, ps, 64, sc, sizeof(sc), 0};

	if (tt_sf_parse_list((const char *)data, size, &l) != TT_SF_OK)
		return;
	for (size_t i = 0; i < l.nmembers; i++) {
		struct tt_sf_list l2 = {m2, 1, 0, NULL, 0, sc2, sizeof(sc2), 0};
		if (m[i].item.type != TT_SF_STRING && m[i].item.type != TT_SF_TOKEN)
			continue;
		const struct tt_sf_item *it = &m[i].item;
		ssize_t n = it->type == TT_SF_STRING
		                ? tt_sf_string(out, sizeof(out), it->str, it->len)
		                : tt_sf_text(out, sizeof(out), it->str, it->len);
		CHECK(n > 0);
		CHECK(tt_sf_parse_list(out, (size_t)n, &l2) == TT_SF_OK && l2.nmembers == 1);
		CHECK(m2[0].item.type == m[i].item.type && m2[0].item.len == m[i].item.len &&
		      !memcmp(m2[0].item.str, m[i].item.str, m[i].item.len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_fault f;
	struct rd r = {data, size};
	char name[80];
	int status;

	reparse(data, size);
	if (size < 12)
		return 0;
	memset(&f, 0, sizeof(f));
	f.id = (enum tt_fault_id)(data[0] % TT_FAULT__COUNT);
	f.param_is_int = data[1] & 1;
	status = (data[1] & 2) ? data[2] | (data[3] << 8) : 0;
	f.received_status = (data[1] & 4) ? 200 + data[3] : 0;
	r.p += 12;
	r.n -= 12;
	take(&r, name, sizeof(name), data[4]);
	take(&r, f.upstream, sizeof(f.upstream), data[5]);
	take(&r, f.details, sizeof(f.details), data[6]);
	take(&r, f.param_name, sizeof(f.param_name), data[7]);
	take(&r, f.param_value, sizeof(f.param_value), data[8]);
	if (r.n >= 8) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | r.p[i];
		f.int_value = (int64_t)v;
	} else {
		f.int_value = data[9] | (data[10] << 8);
	}
	if (data[1] & 8) { /* a forwarded response's successful attempt */
		f.nattempts = 1 + (data[11] & 15);
		memcpy(f.attempts[0].upstream, "10.0.0.1:80", 12);
		int last =
		    (f.nattempts < TT_FAULT_MAX_ATTEMPTS ? f.nattempts : TT_FAULT_MAX_ATTEMPTS) - 1;
		memcpy(f.attempts[last].upstream, "10.0.0.2:80", 12);
	}
	check_member(&f, name, status, 0);
	check_member(&f, name, status, 1);
	return 0;
}
