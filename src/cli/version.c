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
	printf("telltale %s\n", TT_VERSION);
	return 0;
}
