/*
 * Diagnostics for the config: the list of problems found while loading,
 * how each bad value is described, and how the list is printed.
 *
 * One message style everywhere: "<what>: <what is wrong with 'value'>",
 * then a hint showing a valid form. Values from the file are always quoted
 * through tt_cfg_quote, so no input can put control characters on the
 * operator's terminal or blow a message past its buffer.
 */
#include "config/config_int.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Quoted values are cut here; enough to recognise a value, short enough to
 * keep the message on one line. */
#define QUOTE_MAX 64

static void diag_vadd(struct tt_cfg_diags *d, enum tt_cfg_severity sev, unsigned line, unsigned col,
                      const char *hint, const char *fmt, va_list ap)
{
	if (sev == TT_CFG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= TT_CFG_DIAGS_MAX) {
		d->ndropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct tt_cfg_diag *items = realloc(d->items, cap * sizeof(*items));
		if (!items)
			abort();
		d->items = items;
		d->cap = cap;
	}
	struct tt_cfg_diag *g = &d->items[d->n++];
	g->severity = sev;
	g->line = line;
	g->col = line ? col : 0;
	vsnprintf(g->message, sizeof(g->message), fmt, ap);
	snprintf(g->hint, sizeof(g->hint), "%s", hint ? hint : "");
}

void tt_cfg_diag_add(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *hint,
                     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, TT_CFG_ERROR, line, col, hint, fmt, ap);
	va_end(ap);
}

void tt_cfg_diag_warn(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *hint,
                      const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vadd(d, TT_CFG_WARNING, line, col, hint, fmt, ap);
	va_end(ap);
}

size_t tt_cfg_nproblems(const struct tt_cfg_diags *d)
{
	return d->nerrors;
}

void tt_cfg_diags_set_file(struct tt_cfg_diags *d, const char *file)
{
	if (!d->file)
		d->file = tt_cfg_strdup(file ? file : "(config)");
}

void tt_cfg_quote(char *dst, size_t size, const char *s)
{
	size_t o = 0, i = 0;
	if (!size)
		return;
	if (!s)
		s = "";
	for (; s[i] && o + 5 < size; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == QUOTE_MAX)
			break;
		if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
			dst[o++] = (char)ch;
		} else {
			snprintf(dst + o, size - o, "\\x%02x", ch);
			o += 4;
		}
	}
	if (s[i] && o + 4 < size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

void tt_cfg_diags_print(const struct tt_cfg_diags *d, void *stdio_file)
{
	FILE *f = stdio_file;
	const char *file = d->file ? d->file : "telltale";
	for (size_t i = 0; i < d->n; i++) {
		const struct tt_cfg_diag *g = &d->items[i];
		const char *sev = g->severity == TT_CFG_WARNING ? "warning" : "error";
		if (g->line)
			fprintf(f, "%s:%u:%u: %s: %s\n", file, g->line, g->col, sev, g->message);
		else
			fprintf(f, "%s: %s: %s\n", file, sev, g->message);
		if (g->hint[0])
			fprintf(f, "  hint: %s\n", g->hint);
	}
	if (d->ndropped)
		fprintf(f, "%s: error: %zu more problem%s not shown\n", file, d->ndropped,
		        d->ndropped == 1 ? "" : "s");
}

void tt_cfg_diags_fini(struct tt_cfg_diags *d)
{
	free(d->items);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

/* "10.1.2.3/8" -> "10.0.0.0/8", to suggest the network the user meant. */
static void network_of(const char *s, char *out, size_t size)
{
	struct tt_cfg_cidr c;
	char buf[64], text[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : 0;
	uint64_t prefix;

	out[0] = '\0';
	if (!slash || alen >= sizeof(buf) || tt_val_uint(slash + 1, &prefix))
		return;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	memset(&c, 0, sizeof(c));
	c.family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(c.family, buf, c.addr) != 1 || prefix > (c.family == AF_INET ? 32 : 128))
		return;
	for (unsigned bit = (unsigned)prefix; bit < 128; bit++)
		c.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	if (inet_ntop(c.family, c.addr, text, sizeof(text)))
		snprintf(out, size, "%s/%u", text, (unsigned)prefix);
}

static void duration_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                             const char *q, enum tt_val_err e)
{
	char hint[256];
	switch (e) {
	case TT_VAL_NO_UNIT:
		snprintf(hint, sizeof(hint),
		         "add a unit: '%.32ss' for seconds or '%.32sms' for milliseconds", q, q);
		tt_cfg_diag_add(d, line, col, hint, "%s: '%s' has no unit", what, q);
		break;
	case TT_VAL_RANGE:
		tt_cfg_diag_add(d, line, col, "durations are capped at 24h; check the unit",
		                "%s: '%s' is longer than 24h", what, q);
		break;
	default:
		tt_cfg_diag_add(d, line, col,
		                "durations look like 250ms, 5s, 2m, 1h or 1m30s (units largest "
		                "first); 0 alone means zero",
		                "%s: '%s' is not a duration", what, q);
	}
}

static void addr_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                         const char *value, const char *q, enum tt_val_err e, const char *why,
                         int listener)
{
	const char *forms = listener ? "addresses look like 127.0.0.1:8080, [::1]:8080, "
	                               "localhost:8080, or :8080 for every IPv4 interface"
	                             : "addresses look like 127.0.0.1:8080, [::1]:8080 or "
	                               "app.internal:8080";
	char host[QUOTE_MAX * 4 + 8], raw[300];
	const char *colon;
	switch (e) {
	case TT_VAL_PORT:
		tt_cfg_diag_add(d, line, col, forms,
		                "%s: '%s' needs a port from 1 to 65535 after the last ':'", what,
		                q);
		break;
	case TT_VAL_V6_BRACKETS:
		tt_cfg_diag_add(d, line, col, "write IPv6 addresses in brackets: [::1]:8080",
		                "%s: IPv6 address '%s' needs brackets", what, q);
		break;
	case TT_VAL_NO_HOST:
		tt_cfg_diag_add(d, line, col, forms, "%s: '%s' has no host", what, q);
		break;
	case TT_VAL_RESOLVE:
		/* Name the host alone: the port is not what failed. */
		colon = strrchr(value, ':');
		snprintf(raw, sizeof(raw), "%.*s", colon ? (int)(colon - value) : 0, value);
		tt_cfg_quote(host, sizeof(host), raw);
		tt_cfg_diag_add(d, line, col,
		                "check the name, or write an IP address; names are resolved once, "
		                "when the configuration is loaded",
		                "%s: host '%s' does not resolve (%s)", what, host,
		                why && why[0] ? why : "unknown");
		break;
	default: tt_cfg_diag_add(d, line, col, forms, "%s: '%s' is not a valid address", what, q);
	}
}

static void cidr_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                         const char *value, const char *q, enum tt_val_err e)
{
	char net[64], hint[256];
	switch (e) {
	case TT_VAL_PREFIX:
		tt_cfg_diag_add(d, line, col,
		                "IPv4 prefixes go up to /32, IPv6 prefixes up to /128",
		                "%s: the prefix of '%s' is longer than the address", what, q);
		break;
	case TT_VAL_HOST_BITS:
		network_of(value, net, sizeof(net));
		snprintf(hint, sizeof(hint),
		         "write the network address%s%s%s, or a bare address for one host",
		         net[0] ? " (" : "", net, net[0] ? ")" : "");
		tt_cfg_diag_add(d, line, col, hint, "%s: '%s' has bits set past its prefix", what,
		                q);
		break;
	default:
		tt_cfg_diag_add(d, line, col,
		                "networks look like 10.0.0.0/8, 192.168.1.5, ::1/128 or fd00::/8",
		                "%s: '%s' is not a network", what, q);
	}
}

static void percent_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                            const char *q, enum tt_val_err e)
{
	const char *forms = "write a whole percentage from 0% to 100%, such as 20%";
	if (e == TT_VAL_RANGE)
		tt_cfg_diag_add(d, line, col, forms, "%s: '%s' is more than 100%%", what, q);
	else if (e == TT_VAL_LEADING_ZERO)
		tt_cfg_diag_add(d, line, col, forms, "%s: '%s' has a leading zero", what, q);
	else
		tt_cfg_diag_add(d, line, col, forms, "%s: '%s' is not a percentage", what, q);
}

static void status_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                           const char *q, enum tt_val_err e)
{
	const char *forms = "write a status such as 200, or a range such as 200-399";
	if (e == TT_VAL_RANGE)
		tt_cfg_diag_add(d, line, col, "HTTP statuses go from 100 to 599",
		                "%s: '%s' is not an HTTP status from 100 to 599", what, q);
	else if (e == TT_VAL_ORDER)
		tt_cfg_diag_add(d, line, col, "write the lower status first, such as 200-399",
		                "%s: the range '%s' ends before it starts", what, q);
	else
		tt_cfg_diag_add(d, line, col, forms, "%s: '%s' is not a status or a range", what,
		                q);
}

void tt_cfg_value_problem(struct tt_cfg_diags *d, unsigned line, unsigned col, const char *what,
                          enum tt_cfg_vkind kind, const char *value, enum tt_val_err e,
                          const char *why)
{
	char q[QUOTE_MAX * 4 + 8];
	tt_cfg_quote(q, sizeof(q), value);
	switch (kind) {
	case TT_CFG_V_DURATION: duration_problem(d, line, col, what, q, e); break;
	case TT_CFG_V_SIZE:
		if (e == TT_VAL_RANGE)
			tt_cfg_diag_add(d, line, col, NULL, "%s: '%s' is too large", what, q);
		else
			tt_cfg_diag_add(d, line, col,
			                "sizes look like 512, 16k, 16kb, 16KiB, 1m, 1MiB or 1g "
			                "(k = 1024)",
			                "%s: '%s' is not a size", what, q);
		break;
	case TT_CFG_V_ADDR:
	case TT_CFG_V_LISTEN_ADDR:
		addr_problem(d, line, col, what, value, q, e, why, kind == TT_CFG_V_LISTEN_ADDR);
		break;
	case TT_CFG_V_CIDR: cidr_problem(d, line, col, what, value, q, e); break;
	case TT_CFG_V_INT:
		if (e == TT_VAL_LEADING_ZERO)
			tt_cfg_diag_add(d, line, col, "write decimal numbers without leading zeros",
			                "%s: '%s' has a leading zero", what, q);
		else
			tt_cfg_diag_add(d, line, col, "write a decimal integer such as 100",
			                "%s: '%s' is not a whole number", what, q);
		break;
	case TT_CFG_V_PERCENT: percent_problem(d, line, col, what, q, e); break;
	case TT_CFG_V_STATUS: status_problem(d, line, col, what, q, e); break;
	case TT_CFG_V_BOOL:
		/* YAML 1.1 read yes/no/on/off as booleans, YAML 1.2 does not; one
		 * spelling leaves no doubt which was meant. */
		tt_cfg_diag_add(d, line, col,
		                "write true or false (yes, no, on and off are not "
		                "accepted)",
		                "%s: '%s' is not true or false", what, q);
		break;
	}
}
