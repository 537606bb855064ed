/*
 * libFuzzer target for the config loader: any bytes go to
 * tt_cfg_load_string, which must not crash, leak or hang, and must keep its
 * contract: a config on success (complete, every route resolved), no config
 * and at least one positioned diagnostic on failure.
 *
 * Host names never reach DNS here: a fake resolver answers listener and
 * admin names ending in ".test" and refuses the rest, so runs are fast and
 * deterministic (upstream server names are never resolved at load).
 * Success may come with warnings (an expiring certificate), never errors.
 */
#include "config/config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int fake_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	size_t n = strlen(host);
	if (n < 5 || strcmp(host + n - 5, ".test"))
		return -1;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1, TEST-NET-1 */
	*len = sizeof(*in);
	return 0;
}

/* Use what was loaded the way the proxy would, to catch dangling pointers. */
static void exercise(const struct tt_config *c)
{
	static const char *hosts[] = {"example.com", "EXAMPLE.com:8080", "[::1]:80", "", "a"};
	static const char *paths[] = {"/", "/api", "/api/x", "/apix", "/api?q", "*"};
	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
		for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
			const struct tt_cfg_route *r = tt_cfg_route_match(
			    c, hosts[h], strlen(hosts[h]), paths[p], strlen(paths[p]));
			if (r && (!r->upstream || r->upstream->nservers == 0))
				__builtin_trap();
		}
	}
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	(void)tt_cfg_is_trusted(c, (const struct sockaddr *)&in6);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static FILE *devnull;
	struct tt_cfg_diags d;
	struct tt_config *c = NULL;

	if (!devnull) {
		tt_cfg_set_resolver(fake_resolve);
		devnull = fopen("/dev/null", "w");
	}
	memset(&d, 0, sizeof(d));
	int rc = tt_cfg_load_string("fuzz.yaml", (const char *)data, size, &c, &d);
	if (rc == 0) {
		if (!c || d.nerrors || !c->nlisteners || !c->nupstreams || !c->nroutes)
			__builtin_trap();
		exercise(c);
		tt_cfg_ref(c);
		struct tt_config *second = c;
		tt_cfg_unref(&second);
		tt_cfg_unref(&c);
	} else {
		if (c || d.n == 0 || (size_t)rc != d.nerrors)
			__builtin_trap();
		/* Every problem in a file is positioned. */
		for (size_t i = 0; i < d.n; i++)
			if (d.items[i].line == 0 || d.items[i].col == 0)
				__builtin_trap();
		if (devnull)
			tt_cfg_diags_print(&d, devnull);
	}
	tt_cfg_diags_fini(&d);
	return 0;
}
