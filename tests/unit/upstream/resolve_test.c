/*
 * A named server's address set (src/upstream/resolve.c): answers replace
 * it, new connections rotate over every address, an address whose connect
 * failed is passed over, the set ends with its answer's life (a stale one
 * lasts min_ttl), and a server given by IP address keeps its one address.
 * A worker with a real (idle) libuv loop; no resolver is asked.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/worker.h"
#include "upstream/pool.h"
#include "upstream/resolve.h"

static struct tt_worker W;
static struct tt_config *C;
static struct tt_cfg_server S;
static struct tt_pool P;

static void setup(void)
{
	memset(&W, 0, sizeof(W));
	C = tt_cfg_new_default();
	C->resolver.min_ttl_ms = 1000;
	cr_assert_eq(uv_loop_init(&W.loop), 0);
	W.cfg = C;
	memset(&S, 0, sizeof(S));
	S.host = "app.internal";
	S.port = 8080;
	S.dynamic = 1;
	memset(&P, 0, sizeof(P));
	P.w = &W;
	P.server = &S;
	P.dyn = tt_addrset_new();
}

static void teardown(void)
{
	free(P.dyn);
	uv_loop_close(&W.loop);
	tt_cfg_unref(&C);
}

TestSuite(resolve, .init = setup, .fini = teardown);

static void answer(struct tt_dns_answer *a, enum tt_dns_source src, const char *const *ips,
                   size_t n, uint64_t life_ms)
{
	memset(a, 0, sizeof(*a));
	a->source = src;
	for (size_t i = 0; i < n; i++) {
		a->addrs[i].u.in.sin_family = AF_INET;
		inet_pton(AF_INET, ips[i], &a->addrs[i].u.in.sin_addr);
	}
	a->naddrs = n;
	a->received_ms = uv_now(&W.loop) + 1; /* differs from the empty set's 0 */
	a->expires_ms = uv_now(&W.loop) + life_ms;
}

static const char *picked(int any_age)
{
	static char text[64];
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int idx = 99;
	if (!tt_resolve_pick(&P, &ss, &len, &idx, any_age))
		return NULL;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
	cr_assert_eq(len, sizeof(*in));
	cr_assert_eq(ntohs(in->sin_port), 8080);
	cr_assert(idx >= 0);
	inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
	return text;
}

Test(resolve, empty_set_needs_the_resolver)
{
	cr_assert_null(picked(0));
	cr_assert_null(picked(1));
}

Test(resolve, rotates_over_every_address)
{
	struct tt_dns_answer a;
	const char *ips[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
	answer(&a, TT_DNS_FRESH, ips, 3, 30000);
	tt_resolve_update(&P, &a);
	int seen[3] = {0};
	for (int i = 0; i < 9; i++) {
		const char *t = picked(0);
		cr_assert_not_null(t);
		seen[t[7] - '1']++;
	}
	cr_assert(seen[0] == 3 && seen[1] == 3 && seen[2] == 3, "%d %d %d", seen[0], seen[1],
	          seen[2]);
}

Test(resolve, a_failed_address_is_passed_over)
{
	struct tt_dns_answer a;
	const char *ips[] = {"10.0.0.1", "10.0.0.2"};
	answer(&a, TT_DNS_FRESH, ips, 2, 30000);
	tt_resolve_update(&P, &a);
	cr_assert_str_eq(picked(0), "10.0.0.1");
	tt_resolve_failed(&P, 0);
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(picked(0), "10.0.0.2");
	/* A new answer forgets it. */
	answer(&a, TT_DNS_FRESH, ips, 2, 30000);
	a.received_ms += 5;
	tt_resolve_update(&P, &a);
	cr_assert_eq(P.dyn->bad, -1);
	char x[64];
	snprintf(x, sizeof(x), "%s", picked(0));
	cr_assert_str_neq(x, picked(0));
}

Test(resolve, the_set_ends_with_its_life)
{
	struct tt_dns_answer a;
	const char *one[] = {"10.0.0.1"};
	answer(&a, TT_DNS_FRESH, one, 1, 0); /* already over */
	tt_resolve_update(&P, &a);
	cr_assert_null(picked(0));
	/* Just answered: used whatever its age, once. */
	cr_assert_str_eq(picked(1), "10.0.0.1");
	/* A stale answer lasts min_ttl from now. */
	answer(&a, TT_DNS_STALE, one, 1, 0);
	tt_resolve_update(&P, &a);
	cr_assert_eq(P.dyn->expires_ms, uv_now(&W.loop) + 1000);
	cr_assert_str_eq(picked(0), "10.0.0.1");
	/* A failure leaves the set as it was. */
	struct tt_dns_answer none;
	answer(&none, TT_DNS_NONE, one, 0, 0);
	tt_resolve_update(&P, &none);
	cr_assert_str_eq(picked(0), "10.0.0.1");
}

Test(resolve, a_literal_keeps_its_address)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	int idx = 5;
	S.dynamic = 0;
	struct sockaddr_in *in = (struct sockaddr_in *)&S.addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(81);
	inet_pton(AF_INET, "192.0.2.1", &in->sin_addr);
	S.addr_len = sizeof(*in);
	cr_assert_eq(tt_resolve_pick(&P, &ss, &len, &idx, 0), 1);
	cr_assert_eq(idx, -1);
	cr_assert_eq(len, sizeof(*in));
	cr_assert_eq(memcmp(&ss, &S.addr, sizeof(*in)), 0);
}

Test(resolve, no_resolver_without_named_servers)
{
	/* The default config names no server: no resolver is made. */
	cr_assert_eq(tt_resolve_open(&W), 0);
	cr_assert_null(W.dns);
	struct tt_dns_req req;
	memset(&req, 0, sizeof(req));
	cr_assert_eq(tt_resolve_start(&P, &req, NULL, NULL), -1);
}

Test(resolve, opts_follow_the_config)
{
	char *servers[] = {"127.0.0.1:5353"};
	struct tt_cfg_resolver rc = {.servers = servers,
	                             .nservers = 1,
	                             .timeout_ms = 700,
	                             .tries = 3,
	                             .min_ttl_ms = 10,
	                             .max_ttl_ms = 20,
	                             .stale_ms = 0};
	struct tt_dns_opts o;
	tt_resolve_opts(&rc, &o);
	cr_assert_eq(o.nservers, 1);
	cr_assert_str_eq(o.servers[0], "127.0.0.1:5353");
	cr_assert_eq(o.timeout_ms, 700);
	cr_assert_eq(o.tries, 3);
	cr_assert_eq(o.min_ttl_ms, 10);
	cr_assert_eq(o.max_ttl_ms, 20);
	cr_assert_eq(o.stale_ms, 0);
	cr_assert_eq(o.max_names, 1024, "the module's default stays");
}
