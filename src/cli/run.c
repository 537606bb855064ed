/*
 * `telltale run [-c FILE]`: load and validate the config, then serve until
 * SIGTERM or SIGINT; SIGHUP loads FILE again (`telltale reload`).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/worker.h"

static const char usage[] =
    "usage: telltale run [-c FILE]\n"
    "\n"
    "Start telltale with the configuration in FILE (default: telltale.yaml).\n"
    "Stops gracefully on SIGTERM or SIGINT: in-flight requests finish within\n"
    "timeouts.grace. SIGHUP (or `telltale reload -c FILE`) loads FILE again:\n"
    "in-flight requests finish on the old config; an invalid file is refused.\n"
    "See docs/config.md for every key.\n";

int tt_cli_config_flag(int argc, char **argv, int *i, const char **file)
{
	const char *a = argv[*i];
	if (strncmp(a, "--config=", 9) == 0) {
		*file = a + 9;
		return 1;
	}
	if (strcmp(a, "-c") != 0 && strcmp(a, "--config") != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*file = argv[++*i];
	return 1;
}

int tt_cli_config_only(int argc, char **argv, const char *name, const char *usage_text,
                       const char **file)
{
	for (int i = 1; i < argc; i++) {
		if (tt_cli_is_help(argv[i])) {
			fputs(usage_text, stdout);
			return 0;
		}
		int r = tt_cli_config_flag(argc, argv, &i, file);
		if (r <= 0) {
			fprintf(stderr,
			        r < 0 ? "telltale %s: %s needs a file\n%s"
			              : "telltale %s: unknown argument '%s'\n%s",
			        name, argv[i], usage_text);
			return 2;
		}
	}
	return -1;
}

int tt_cli_is_help(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "help") == 0;
}

int tt_cli_run(int argc, char **argv)
{
	const char *file = "telltale.yaml";
	struct tt_cfg_diags diags;
	struct tt_config *cfg = NULL;
	int rc;

	int done = tt_cli_config_only(argc, argv, "run", usage, &file);
	if (done >= 0)
		return done;
	/* SIGTERM, SIGINT or SIGHUP during start-up waits until tt_server_run
	 * has its handlers (it unblocks them), then acts as at any other time:
	 * a stop exits 0 with nothing half started; a reload reloads. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	memset(&diags, 0, sizeof(diags));
	if (tt_cfg_load_file(file, &cfg, &diags) != 0) {
		tt_cfg_diags_print(&diags, stderr);
		tt_cfg_diags_fini(&diags);
		fprintf(stderr,
		        "telltale: not started: fix the configuration (telltale check -c %s)\n",
		        file);
		return 1;
	}
	tt_cfg_diags_print(&diags, stderr); /* warnings */
	tt_cfg_diags_fini(&diags);
	rc = tt_server_run(cfg, file);
	tt_cfg_unref(&cfg);
	return rc;
}
