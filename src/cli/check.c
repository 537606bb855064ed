/*
 * `telltale check [-c FILE]`: validate a configuration and print every
 * problem as file:line:col, or one summary line.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "config/config.h"

static const char usage[] = "usage: telltale check [-c FILE]\n"
                            "\n"
                            "Validate FILE (default: telltale.yaml) without starting anything.\n"
                            "Prints each problem as FILE:LINE:COL: error: MESSAGE with a hint and\n"
                            "exits 1, or prints a one-line summary and exits 0. Warnings\n"
                            "(FILE:LINE:COL: warning: ...) do not change the exit status.\n";

int tt_cli_check(int argc, char **argv)
{
	const char *file = "telltale.yaml";
	struct tt_cfg_diags diags;
	struct tt_config *cfg = NULL;
	size_t nservers = 0;

	int done = tt_cli_config_only(argc, argv, "check", usage, &file);
	if (done >= 0)
		return done;
	memset(&diags, 0, sizeof(diags));
	if (tt_cfg_load_file(file, &cfg, &diags) != 0) {
		tt_cfg_diags_print(&diags, stderr);
		size_t total = diags.nerrors;
		fprintf(stderr, "%s: %zu problem%s\n", file, total, total == 1 ? "" : "s");
		tt_cfg_diags_fini(&diags);
		return 1;
	}
	tt_cfg_diags_print(&diags, stderr); /* warnings only */
	tt_cfg_diags_fini(&diags);
	for (size_t i = 0; i < cfg->nupstreams; i++)
		nservers += cfg->upstreams[i].nservers;
	printf(
	    "%s: ok (%zu listener%s, %zu upstream%s with %zu server%s, %zu route%s, %u worker%s)\n",
	    file, cfg->nlisteners, cfg->nlisteners == 1 ? "" : "s", cfg->nupstreams,
	    cfg->nupstreams == 1 ? "" : "s", nservers, nservers == 1 ? "" : "s", cfg->nroutes,
	    cfg->nroutes == 1 ? "" : "s", cfg->workers, cfg->workers == 1 ? "" : "s");
	tt_cfg_unref(&cfg);
	return 0;
}
