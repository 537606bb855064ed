/*
 * `telltale version`.
 */
#include <stdio.h>

#include "cli/cli.h"

#ifndef TT_VERSION
#define TT_VERSION "dev"
#endif

int tt_cli_version(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (tt_cli_is_help(argv[i])) {
			printf("usage: telltale version\n\nPrint telltale's version.\n");
			return 0;
		}
		fprintf(stderr, "telltale version: unknown argument '%s'\n", argv[i]);
		return 2;
	}
	printf("telltale %s\n", TT_VERSION);
	return 0;
}
