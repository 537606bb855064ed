/*
 * Shared by the config test files: a diagnostics list and config that each
 * test starts empty, a loader from a string, the printed diagnostics for
 * failure messages, and assertions on a problem's position and text.
 * Host names go through a fake resolver (app.internal -> 10.0.0.7) so no
 * test touches DNS.
 */
#ifndef TT_TESTS_CONFIG_HELPERS_H
#define TT_TESTS_CONFIG_HELPERS_H

#include "config/config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tt_cfg_diags D;
static struct tt_config *C;

static inline int fake_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
                               socklen_t *len)
{
	if (strcmp(host, "app.internal"))
		return -1;
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	inet_pton(AF_INET, "10.0.0.7", &in->sin_addr);
	*len = sizeof(*in);
	return 0;
}

static inline void setup(void)
{
	memset(&D, 0, sizeof(D));
	C = NULL;
	tt_cfg_set_resolver(fake_resolve);
}

static inline void teardown(void)
{
	tt_cfg_unref(&C);
	tt_cfg_diags_fini(&D);
	tt_cfg_set_resolver(NULL);
}

static inline int load(const char *yaml)
{
	tt_cfg_unref(&C);
	tt_cfg_diags_fini(&D);
	return tt_cfg_load_string("t.yaml", yaml, strlen(yaml), &C, &D);
}

/* All diagnostics as printed, for failure messages and format checks. */
static inline const char *printed(void)
{
	static char out[65536];
	FILE *f = fmemopen(out, sizeof(out) - 1, "w");
	memset(out, 0, sizeof(out));
	tt_cfg_diags_print(&D, f);
	fclose(f);
	return out;
}

static inline const struct tt_cfg_diag *find(unsigned line, unsigned col, const char *msg)
{
	for (size_t i = 0; i < D.n; i++)
		if (D.items[i].line == line && D.items[i].col == col &&
		    strstr(D.items[i].message, msg))
			return &D.items[i];
	return NULL;
}

#define expect_diag(line, col, msg)                                                                \
	cr_assert(find(line, col, msg), "no %u:%u '%s' in:\n%s", line, col, msg, printed())

#define expect_hint(line, col, msg, hint_part)                                                     \
	do {                                                                                       \
		expect_diag(line, col, msg);                                                       \
		cr_assert(strstr(find(line, col, msg)->hint, hint_part),                           \
		          "hint of '%s' lacks '%s':\n%s", msg, hint_part, printed());              \
	} while (0)

#define expect_ok() cr_assert(C != NULL && D.n == 0, "load failed:\n%s", printed())

/* A valid file's tail, for tests that only vary the top. */
#define BASE                                                                                       \
	"listen: [127.0.0.1:8080]\n"                                                               \
	"upstreams:\n"                                                                             \
	"  app:\n"                                                                                 \
	"    servers: [127.0.0.1:8000]\n"

#endif
