/*
 * Value parsers for the config: integers, durations, sizes, percentages,
 * HTTP status ranges, booleans, addresses and networks. Strict on purpose: a config value that
 * could mean two things
 * ("30" seconds or milliseconds? "010" octal?) is refused with a reason, so
 * the loader can say exactly what to write instead.
 *
 * Invariant: on any error the output arguments are left untouched.
 */
#include "config/values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

/* Host names are at most 253 bytes (RFC 1035 section 2.3.4); the brackets and
 * port fit in the rest. */
#define HOST_MAX 256

static int (*resolver)(const char *host, uint16_t port, struct sockaddr_storage *ss,
                       socklen_t *len);

void tt_cfg_set_resolver(int (*resolve)(const char *host, uint16_t port,
                                        struct sockaddr_storage *ss, socklen_t *len))
{
	resolver = resolve;
}

/* Reads digits at *p into *out, advancing *p. */
static enum tt_val_err digits(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!isdigit((unsigned char)*s))
		return TT_VAL_SYNTAX;
	if (s[0] == '0' && isdigit((unsigned char)s[1]))
		return TT_VAL_LEADING_ZERO;
	for (; isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return TT_VAL_RANGE;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return TT_VAL_OK;
}

enum tt_val_err tt_val_uint(const char *s, uint64_t *out)
{
	uint64_t v;
	enum tt_val_err e = digits(&s, &v);
	if (e)
		return e;
	if (*s)
		return TT_VAL_SYNTAX;
	*out = v;
	return TT_VAL_OK;
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Duration units. "ms" comes before "m" so it is not read as minutes. */
static const struct {
	const char *name;
	uint64_t ms;
} dunits[] = {{"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};

/* In a combination, units must shrink ("1m30s", not "30s1m" or "1s1s"),
 * which catches repeated and swapped parts. */
static int unit_at(const char *p, size_t *ulen, uint64_t *mult)
{
	for (size_t i = 0; i < sizeof(dunits) / sizeof(dunits[0]); i++) {
		size_t n = strlen(dunits[i].name);
		if (!strncmp(p, dunits[i].name, n)) {
			*ulen = n;
			*mult = dunits[i].ms;
			return 1;
		}
	}
	return 0;
}

enum tt_val_err tt_val_duration(const char *s, uint64_t *ms)
{
	if (!strcmp(s, "0")) {
		*ms = 0;
		return TT_VAL_OK;
	}
	if (all_digits(s))
		return TT_VAL_NO_UNIT;
	uint64_t total = 0, last = UINT64_MAX;
	const char *p = s;
	do {
		uint64_t v = 0, mult;
		size_t ulen;
		if (!isdigit((unsigned char)*p))
			return TT_VAL_SYNTAX;
		/* Saturate past the cap rather than overflow; the range is judged
		 * after the unit, so "99999999999x" is a syntax error first. */
		for (; isdigit((unsigned char)*p); p++)
			if (v <= TT_VAL_DURATION_MAX_MS)
				v = v * 10 + (uint64_t)(*p - '0');
		if (!unit_at(p, &ulen, &mult) || mult >= last)
			return TT_VAL_SYNTAX;
		p += ulen;
		last = mult;
		if (v > TT_VAL_DURATION_MAX_MS / mult)
			return TT_VAL_RANGE;
		total += v * mult;
	} while (*p);
	if (total > TT_VAL_DURATION_MAX_MS)
		return TT_VAL_RANGE;
	*ms = total;
	return TT_VAL_OK;
}

static const struct {
	const char *name;
	unsigned shift;
} sunits[] = {{"", 0},    {"b", 0},    {"k", 10}, {"kb", 10}, {"kib", 10}, {"m", 20},
              {"mb", 20}, {"mib", 20}, {"g", 30}, {"gb", 30}, {"gib", 30}};

enum tt_val_err tt_val_size(const char *s, uint64_t *bytes)
{
	const char *p = s;
	uint64_t v;
	enum tt_val_err e = digits(&p, &v);
	if (e)
		return e;
	for (size_t i = 0; i < sizeof(sunits) / sizeof(sunits[0]); i++) {
		if (strcasecmp(p, sunits[i].name))
			continue;
		if (v > (UINT64_MAX >> sunits[i].shift))
			return TT_VAL_RANGE;
		*bytes = v << sunits[i].shift;
		return TT_VAL_OK;
	}
	return TT_VAL_SYNTAX;
}

enum tt_val_err tt_val_percent(const char *s, uint32_t *out)
{
	const char *p = s;
	uint64_t v;
	enum tt_val_err e = digits(&p, &v);
	if (e)
		return e;
	/* The sign is optional: "20" and "20%" are the same, since a bare
	 * number here can only mean a percentage. */
	if (*p == '%')
		p++;
	if (*p)
		return TT_VAL_SYNTAX;
	if (v > 100)
		return TT_VAL_RANGE;
	*out = (uint32_t)v;
	return TT_VAL_OK;
}

enum tt_val_err tt_val_status_range(const char *s, uint32_t *min, uint32_t *max)
{
	const char *p = s;
	uint64_t lo, hi;
	enum tt_val_err e = digits(&p, &lo);
	if (e)
		return e;
	hi = lo;
	if (*p == '-') {
		p++;
		if ((e = digits(&p, &hi)))
			return e;
	}
	/* The form first, so "2xx" reads as a typo rather than as status 2. */
	if (*p)
		return TT_VAL_SYNTAX;
	/* RFC 9110 section 15: statuses are three digits, 1xx to 5xx. */
	if (lo < 100 || lo > 599 || hi < 100 || hi > 599)
		return TT_VAL_RANGE;
	if (hi < lo)
		return TT_VAL_ORDER;
	*min = (uint32_t)lo;
	*max = (uint32_t)hi;
	return TT_VAL_OK;
}

enum tt_val_err tt_val_bool(const char *s, int *out)
{
	if (!strcmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "false"))
		*out = 0;
	else
		return TT_VAL_SYNTAX;
	return TT_VAL_OK;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Host names and IPv4 literals: letters, digits, '.', '-', '_'. */
static int host_chars_ok(const char *h, int bracketed)
{
	for (; *h; h++) {
		unsigned char ch = (unsigned char)*h;
		if (isalnum(ch) || ch == '.' || ch == '-' || ch == '_')
			continue;
		if (bracketed && (ch == ':' || ch == '%'))
			continue;
		return 0;
	}
	return 1;
}

static int looks_numeric_v4(const char *h)
{
	for (; *h; h++)
		if (!isdigit((unsigned char)*h) && *h != '.')
			return 0;
	return 1;
}

/* getaddrinfo with the given flags and family; the first address wins. */
static int gai_first(const char *host, uint16_t port, int family, int flags,
                     struct sockaddr_storage *ss, socklen_t *len, char *why, size_t whylen)
{
	struct addrinfo hints = {
	    .ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = flags | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	int rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0 || !res || res->ai_addrlen > sizeof(*ss)) {
		snprintf(why, whylen, "%s", rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Turns an already split host and port into an address; a host name is
 * looked up only when `lookup` is set, else *len is 0 (a name for later). */
static enum tt_val_err resolve(const char *host, int bracketed, uint16_t port, int lookup,
                               struct sockaddr_storage *ss, socklen_t *len, char *why,
                               size_t whylen)
{
	struct sockaddr_storage tmp;
	socklen_t tlen = sizeof(struct sockaddr_in);
	memset(&tmp, 0, sizeof(tmp));
	if (bracketed) {
		/* A literal only (zone ids such as %eth0 included); never DNS. */
		if (gai_first(host, port, AF_INET6, AI_NUMERICHOST, &tmp, &tlen, why, whylen))
			return TT_VAL_SYNTAX;
	} else if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&tmp)->sin_addr) == 1) {
		tmp.ss_family = AF_INET;
	} else if (looks_numeric_v4(host)) {
		return TT_VAL_SYNTAX; /* "300.1.1.1" is a typo, not a name to look up */
	} else if (!lookup) {
		if (strlen(host) > 253 || host[0] == '.' || host[0] == '-' || strstr(host, ".."))
			return TT_VAL_SYNTAX;
		memset(ss, 0, sizeof(*ss));
		*len = 0;
		return TT_VAL_OK;
	} else if (resolver) {
		if (resolver(host, port, &tmp, &tlen)) {
			snprintf(why, whylen, "not found");
			return TT_VAL_RESOLVE;
		}
	} else if (gai_first(host, port, AF_UNSPEC, 0, &tmp, &tlen, why, whylen)) {
		return TT_VAL_RESOLVE;
	}
	set_port(&tmp, port);
	*ss = tmp;
	*len = tlen;
	return TT_VAL_OK;
}

/* Splits "host:port" / "[v6]:port" into host (without brackets) and port. */
static enum tt_val_err split_hostport(const char *s, int empty_host_ok, char *host, size_t hostcap,
                                      int *bracketed, uint16_t *port)
{
	const char *ps;
	size_t hlen;
	*bracketed = s[0] == '[';
	if (*bracketed) {
		const char *rb = strchr(s, ']');
		if (!rb)
			return TT_VAL_SYNTAX;
		if (rb[1] != ':')
			return rb[1] ? TT_VAL_SYNTAX : TT_VAL_PORT;
		hlen = (size_t)(rb - s - 1);
		s++;
		ps = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return TT_VAL_PORT;
		hlen = (size_t)(colon - s);
		ps = colon + 1;
		if (memchr(s, ':', hlen))
			return TT_VAL_V6_BRACKETS;
	}
	if (hlen >= hostcap)
		return TT_VAL_SYNTAX;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	uint64_t pv;
	if (tt_val_uint(ps, &pv) != TT_VAL_OK || pv == 0 || pv > 65535)
		return TT_VAL_PORT;
	if (hlen == 0) {
		if (!empty_host_ok || *bracketed)
			return *bracketed ? TT_VAL_SYNTAX : TT_VAL_NO_HOST;
		snprintf(host, hostcap, "0.0.0.0");
	}
	if (!host_chars_ok(host, *bracketed))
		return TT_VAL_SYNTAX;
	*port = (uint16_t)pv;
	return TT_VAL_OK;
}

enum tt_val_err tt_val_addr(const char *s, int empty_host_ok, struct sockaddr_storage *ss,
                            socklen_t *len, char *why, size_t whylen)
{
	char host[HOST_MAX];
	int bracketed;
	uint16_t port;
	if (why && whylen)
		why[0] = '\0';
	enum tt_val_err e = split_hostport(s, empty_host_ok, host, sizeof(host), &bracketed, &port);
	if (e)
		return e;
	return resolve(host, bracketed, port, 1, ss, len, why, whylen);
}

enum tt_val_err tt_val_server(const char *s, char *host, size_t hostcap, uint16_t *port,
                              struct sockaddr_storage *ss, socklen_t *len)
{
	char h[HOST_MAX], why[8];
	int bracketed;
	uint16_t p;
	enum tt_val_err e = split_hostport(s, 0, h, sizeof(h), &bracketed, &p);
	if (e == TT_VAL_OK)
		e = resolve(h, bracketed, p, 0, ss, len, why, sizeof(why));
	if (e == TT_VAL_OK) {
		snprintf(host, hostcap, "%s", h);
		*port = p;
	}
	return e;
}

enum tt_val_err tt_val_nameserver(const char *s)
{
	unsigned char buf[16];
	char host[HOST_MAX];
	int bracketed;
	uint16_t port;
	if (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1)
		return TT_VAL_OK;
	enum tt_val_err e = split_hostport(s, 0, host, sizeof(host), &bracketed, &port);
	if (e)
		return e;
	if (inet_pton(bracketed ? AF_INET6 : AF_INET, host, buf) != 1)
		return TT_VAL_SYNTAX;
	return TT_VAL_OK;
}

static int host_bits_set(const struct tt_cfg_cidr *c)
{
	size_t nbytes = c->family == AF_INET ? 4 : 16;
	size_t full = c->prefix / 8;
	unsigned rem = c->prefix % 8;
	if (rem && (c->addr[full] & (0xffu >> rem)))
		return 1;
	for (size_t i = full + (rem ? 1 : 0); i < nbytes; i++)
		if (c->addr[i])
			return 1;
	return 0;
}

enum tt_val_err tt_val_cidr(const char *s, struct tt_cfg_cidr *out)
{
	struct tt_cfg_cidr c;
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	memset(&c, 0, sizeof(c));
	if (alen == 0 || alen >= sizeof(buf))
		return TT_VAL_SYNTAX;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return TT_VAL_SYNTAX;
	}
	c.prefix = max;
	if (slash) {
		uint64_t p;
		if (tt_val_uint(slash + 1, &p) != TT_VAL_OK)
			return TT_VAL_SYNTAX;
		if (p > max)
			return TT_VAL_PREFIX;
		c.prefix = (unsigned)p;
	}
	if (host_bits_set(&c))
		return TT_VAL_HOST_BITS;
	*out = c;
	return TT_VAL_OK;
}

#define DIST_MAX 64

/* Optimal string alignment distance: Levenshtein plus adjacent
 * transpositions, so "hots" is one slip from "host". */
unsigned tt_val_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned rows[3][DIST_MAX + 1];
	if (la > DIST_MAX || lb > DIST_MAX)
		return DIST_MAX * 2;
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			int ai = tolower((unsigned char)a[i - 1]),
			    bj = tolower((unsigned char)b[j - 1]);
			unsigned best = prev[j - 1] + (ai != bj);
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == bj && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		unsigned *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

const char *tt_val_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	unsigned best_d = DIST_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned d = tt_val_distance(word, cands[i]);
		/* Short words are close to everything; allow them one slip, and
		 * never suggest a word that shares nothing with the input. */
		size_t len = strlen(cands[i]);
		unsigned limit = len <= 4 ? 1 : 2;
		if (d <= limit && d < len && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}

/* The public wrappers: same parsers, reason dropped. */

int tt_cfg_parse_duration(const char *s, uint64_t *ms)
{
	return s && tt_val_duration(s, ms) == TT_VAL_OK ? 0 : -1;
}

int tt_cfg_parse_size(const char *s, uint64_t *bytes)
{
	return s && tt_val_size(s, bytes) == TT_VAL_OK ? 0 : -1;
}

int tt_cfg_parse_percent(const char *s, uint32_t *percent)
{
	return s && tt_val_percent(s, percent) == TT_VAL_OK ? 0 : -1;
}

int tt_cfg_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char why[128];
	return s && tt_val_addr(s, 0, ss, len, why, sizeof(why)) == TT_VAL_OK ? 0 : -1;
}

int tt_cfg_parse_cidr(const char *s, struct tt_cfg_cidr *out)
{
	return s && tt_val_cidr(s, out) == TT_VAL_OK ? 0 : -1;
}
