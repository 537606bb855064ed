/*
 * telltale: the table of subcommands, and nothing else.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"run", tt_cli_run, "serve with a configuration file (default telltale.yaml)"},
    {"reload", tt_cli_reload, "make the running telltale load its configuration file again"},
    {"proxy", tt_cli_proxy, "serve without a file: --listen ADDR --to ADDR[,ADDR...]"},
    {"check", tt_cli_check, "validate a configuration file and explain every problem"},
    {"errors", tt_cli_errors, "explain the errors telltale produces (docs/errors.md)"},
    {"explain", tt_cli_explain, "tell the stories of the errors in an access log"},
    {"doctor", tt_cli_doctor, "walk DNS, TCP, TLS and HTTP to an upstream and say where it breaks"},
    {"version", tt_cli_version, "print the version"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: telltale COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'telltale COMMAND --help' tells more.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		return tt_cli_version(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "telltale: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
