/*
 * Proxy-Status member writer: see proxy_status.h. Each parameter is written
 * by the sf serializers straight into the caller's buffer; the first one
 * that does not fit makes the whole member -1, so a member is never cut.
 */
#include "respond/proxy_status.h"

#include <string.h>

#include "respond/sf.h"

/* Type-specific parameters of RFC 9209 section 2.3 that describe the
 * message, not the network behind telltale: safe for any downstream. */
static const char *const public_params[] = {"header-section-size", "header-name", "body-size",
                                            "coding"};

/* The parameters telltale writes itself; a type parameter may not repeat
 * one, or a parser would keep only the last (RFC 8941 section 4.2.3.2). */
static const char *const own_params[] = {"error", "next-hop", "received-status", "details"};

static int in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* A whole, valid sf-string: '"', then printable ASCII with '"' and '\'
 * only escaped, then '"' and nothing after. */
static int is_sf_string(const char *s, size_t n)
{
	if (n < 2 || s[0] != '"' || s[n - 1] != '"')
		return 0;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (i + 1 >= n - 1 || (s[i + 1] != '"' && s[i + 1] != '\\'))
				return 0;
			i++;
		} else if (c == '"' || c < 0x20 || c > 0x7e) {
			return 0;
		}
	}
	return 1;
}

ssize_t tt_ps_name(char *out, size_t cap, const char *configured)
{
	const char *s = configured && *configured ? configured : "telltale";
	size_t n = strlen(s);

	if (is_sf_string(s, n)) {
		if (n + 1 > cap)
			return -1;
		memcpy(out, s, n + 1);
		return (ssize_t)n;
	}
	return tt_sf_text(out, cap, s, n);
}

struct cur {
	char *p;
	size_t len, cap;
	int full;
};

/* Account for what a serializer wrote at the cursor. */
static void took(struct cur *c, ssize_t n)
{
	if (n < 0)
		c->full = 1;
	else if (!c->full)
		c->len += (size_t)n;
}

static char *at(struct cur *c)
{
	return c->p + c->len;
}

static size_t room(struct cur *c)
{
	return c->full ? 0 : c->cap - c->len;
}

static const char *next_hop(const struct tt_fault *f)
{
	int n = f->nattempts < TT_FAULT_MAX_ATTEMPTS ? f->nattempts : TT_FAULT_MAX_ATTEMPTS;

	if (f->upstream[0])
		return f->upstream;
	if (n > 0 && f->attempts[n - 1].upstream[0])
		return f->attempts[n - 1].upstream;
	return NULL;
}

static void type_param(struct cur *c, const struct tt_fault *f, int trusted)
{
	const char *key = f->param_name;
	size_t n = strnlen(key, sizeof(f->param_name));

	/* The record's arrays are NUL-terminated by its invariant; strnlen
	 * keeps a broken record from reading past them all the same. */
	if (n == 0 || n == sizeof(f->param_name) || !tt_sf_is_key(key, n))
		return;
	if (in_list(key, own_params, sizeof(own_params) / sizeof(own_params[0])))
		return;
	if (!trusted &&
	    !in_list(key, public_params, sizeof(public_params) / sizeof(public_params[0])))
		return;
	if (f->param_is_int) {
		if (f->int_value > TT_SF_INT_MAX || f->int_value < -TT_SF_INT_MAX)
			return;
		took(c, tt_sf_param_integer(at(c), room(c), key, f->int_value));
	} else {
		size_t vn = strnlen(f->param_value, sizeof(f->param_value));
		took(c, tt_sf_param_string(at(c), room(c), key, f->param_value, vn));
	}
}

/* The member of a forwarded response, NAME[; next-hop="HOP"];
 * received-status=N, written directly: it is built for every response,
 * and the serializers' checks of constant keys cost a tenth of a small
 * request's instructions (bench/RESULTS.md). A HOP byte that would need
 * escaping returns -2: the caller takes the general path. */
static ssize_t forwarded(char *out, size_t cap, const char *name, const char *hop, size_t nh,
                         int status)
{
	static const char k_hop[] = "; next-hop=\"", k_rs[] = "; received-status=";
	char digits[12];
	size_t nd = sizeof(digits), len;
	ssize_t n;

	for (size_t i = 0; i < nh; i++)
		if (hop[i] < 0x20 || hop[i] > 0x7e || hop[i] == '"' || hop[i] == '\\')
			return -2;
	if ((n = tt_ps_name(out, cap, name)) < 0)
		return -1;
	len = (size_t)n;
	do {
		digits[--nd] = (char)('0' + status % 10);
		status /= 10;
	} while (status > 0);
	if (len + (nh ? sizeof(k_hop) + nh : 0) + sizeof(k_rs) + (sizeof(digits) - nd) + 1 > cap)
		return -1;
	if (nh) {
		memcpy(out + len, k_hop, sizeof(k_hop) - 1);
		len += sizeof(k_hop) - 1;
		memcpy(out + len, hop, nh);
		len += nh;
		out[len++] = '"';
	}
	memcpy(out + len, k_rs, sizeof(k_rs) - 1);
	len += sizeof(k_rs) - 1;
	memcpy(out + len, digits + nd, sizeof(digits) - nd);
	len += sizeof(digits) - nd;
	out[len] = 0;
	return (ssize_t)len;
}

ssize_t tt_ps_member(char *out, size_t cap, const char *name, const struct tt_fault *f,
                     int received_status, int trusted)
{
	struct cur c = {out, 0, cap, 0};
	const struct tt_fault_info *info = f ? tt_fault_info(f->id) : NULL;

	if (received_status <= 0 && f && f->received_status > 0)
		received_status = f->received_status;
	if (!info && received_status > 0 && received_status < 1000) {
		const char *hop = f && trusted ? next_hop(f) : NULL;
		ssize_t n = forwarded(out, cap, name, hop,
		                      hop ? strnlen(hop, sizeof(f->upstream)) : 0, received_status);
		if (n != -2)
			return n;
	}
	took(&c, tt_ps_name(at(&c), room(&c), name));
	if (info)
		took(&c,
		     tt_sf_param_token(at(&c), room(&c), "error", info->type, strlen(info->type)));
	if (f && trusted) {
		const char *hop = next_hop(f);
		if (hop)
			took(&c, tt_sf_param_string(at(&c), room(&c), "next-hop", hop,
			                            strnlen(hop, sizeof(f->upstream))));
	}
	if (received_status > 0)
		took(&c, tt_sf_param_integer(at(&c), room(&c), "received-status", received_status));
	if (info && trusted && f->details[0])
		took(&c, tt_sf_param_string(at(&c), room(&c), "details", f->details,
		                            strnlen(f->details, sizeof(f->details))));
	if (info)
		type_param(&c, f, trusted);
	if (c.full)
		return -1;
	return (ssize_t)c.len;
}
