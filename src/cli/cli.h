/*
 * The subcommands. Each takes argc/argv starting at its own name and
 * returns the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef TT_CLI_CLI_H
#define TT_CLI_CLI_H

int tt_cli_run(int argc, char **argv);
int tt_cli_reload(int argc, char **argv);
int tt_cli_proxy(int argc, char **argv);
int tt_cli_check(int argc, char **argv);
int tt_cli_version(int argc, char **argv);
int tt_cli_errors(int argc, char **argv);
int tt_cli_explain(int argc, char **argv);
int tt_cli_doctor(int argc, char **argv);

/* Shared by the subcommands: "-c FILE", "--config FILE", "--config=FILE".
 * Returns 1 and sets *file when argv[*i] is one (advancing *i past a
 * separate value), 0 when it is not, -1 when the value is missing. */
int tt_cli_config_flag(int argc, char **argv, int *i, const char **file);

/* 1 when the argument asks for help. */
int tt_cli_is_help(const char *arg);

/* The arguments of a subcommand that takes only the config flag and
 * --help: sets *file (keep its default otherwise). Returns -1 to go on,
 * else the exit status: 0 after printing usage for --help, 2 after a
 * usage error ("telltale NAME: ..." and usage on stderr). */
int tt_cli_config_only(int argc, char **argv, const char *name, const char *usage,
                       const char **file);

#endif
