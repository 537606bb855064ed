/*
 * `telltale reload [-c FILE]` (issue 7, item 4): validate FILE, then ask
 * the running telltale (found through FILE's pid_file) to load it again,
 * and report what it did.
 *
 * Nothing is signalled when FILE is invalid. Otherwise the running process
 * gets SIGHUP and this command waits up to 10 s for its status file
 * (core/pidfile.h) to show a new attempt: "reloaded: generation N", exit
 * 0; or the process's own diagnostics, exit 1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "core/pidfile.h"

#define WAIT_MS 10000
#define POLL_MS 50

static const char usage[] =
    "usage: telltale reload [-c FILE]\n"
    "\n"
    "Validate FILE (default: telltale.yaml), then tell the telltale running\n"
    "with it (its pid is in FILE's pid_file) to load it again, and wait up to\n"
    "10 s for the outcome. In-flight requests finish on the old config.\n"
    "Exit 0 when the new config serves, 1 when it was refused or no process\n"
    "answered. Same as `kill -HUP $(cat PID_FILE)`, with the outcome.\n";

static int validate(const char *file, struct tt_config **cfg)
{
	struct tt_cfg_diags diags;
	memset(&diags, 0, sizeof(diags));
	if (tt_cfg_load_file(file, cfg, &diags) != 0) {
		tt_cfg_diags_print(&diags, stderr);
		tt_cfg_diags_fini(&diags);
		fprintf(stderr, "telltale reload: %s is invalid; nothing was signalled\n", file);
		return -1;
	}
	tt_cfg_diags_fini(&diags);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait for the status file to show an attempt past `before`. */
static int wait_outcome(const char *pid_file, uint64_t before, long pid)
{
	struct tt_reload_status st;
	for (long waited = 0; waited < WAIT_MS; waited += POLL_MS) {
		if (tt_reload_status_read(pid_file, &st) == 0 && st.attempt > before) {
			if (st.result == 1) {
				printf("reloaded: generation %llu\n",
				       (unsigned long long)st.generation);
				return 0;
			}
			fputs(st.text, stderr);
			fprintf(
			    stderr,
			    "telltale reload: refused by pid %ld; generation %llu keeps serving\n",
			    pid, (unsigned long long)st.generation);
			return 1;
		}
		if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
			fprintf(stderr, "telltale reload: pid %ld exited\n", pid);
			return 1;
		}
		sleep_ms(POLL_MS);
	}
	fprintf(stderr,
	        "telltale reload: pid %ld did not report within %d s (a reload waits while the "
	        "previous generation drains; its stderr says more)\n",
	        pid, WAIT_MS / 1000);
	return 1;
}

static int signal_running(const char *pid_file)
{
	struct tt_reload_status st;
	long pid = tt_pidfile_read(pid_file);
	uint64_t before = 0;
	if (pid < 0) {
		fprintf(stderr, "telltale reload: no running telltale: pid file %s: %s\n", pid_file,
		        strerror((int)-pid));
		return 1;
	}
	if (tt_reload_status_read(pid_file, &st) == 0)
		before = st.attempt;
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "telltale reload: cannot signal pid %ld (from %s): %s\n", pid,
		        pid_file, strerror(errno));
		return 1;
	}
	return wait_outcome(pid_file, before, pid);
}

int tt_cli_reload(int argc, char **argv)
{
	const char *file = "telltale.yaml";
	struct tt_config *cfg = NULL;
	int rc;

	int done = tt_cli_config_only(argc, argv, "reload", usage, &file);
	if (done >= 0)
		return done;
	if (validate(file, &cfg) < 0)
		return 1;
	if (!cfg->pid_file) {
		fprintf(stderr,
		        "telltale reload: %s has pid_file: off; send SIGHUP to the process "
		        "yourself\n",
		        file);
		tt_cfg_unref(&cfg);
		return 1;
	}
	rc = signal_running(cfg->pid_file);
	tt_cfg_unref(&cfg);
	return rc;
}
