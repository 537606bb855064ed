/*
 * The pid file and the reload status file (issue 7, item 4): how
 * `telltale reload` finds the running process and learns what its SIGHUP
 * did.
 *
 * `telltale run` writes its pid to the config's pid_file at start and
 * removes it at exit (only if it still holds its own pid). Beside it,
 * "<pid_file>.reload" tells the outcome of the last reload:
 *
 *     attempt 3          reload attempts so far (0 at start)
 *     generation 3       the config generation serving (1 at start)
 *     result ok          ok, error, or none (no attempt yet)
 *     <diagnostics>      for an error: what was wrong, file:line:col
 *
 * Both are written to a temporary name and renamed, so a reader never
 * sees half a file.
 */
#ifndef TT_CORE_PIDFILE_H
#define TT_CORE_PIDFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write our pid to path. Returns 0, 1 when path names another process
 * that is alive (left alone: two instances must not steal each other's
 * file), or -errno. */
int tt_pidfile_write(const char *path);

/* Remove path if it holds our pid, and its status file. */
void tt_pidfile_remove(const char *path);

/* The pid in path; -errno when it cannot be read, -EINVAL when it holds
 * no pid. */
long tt_pidfile_read(const char *path);

/* "<pid_file>.reload" into out[cap]; -1 when it does not fit. */
int tt_pidfile_status_path(const char *pid_file, char *out, size_t cap);

struct tt_reload_status {
	uint64_t attempt, generation;
	int result;      /* 1 ok, 0 error, -1 none yet */
	char text[4096]; /* the diagnostics of an error, NUL-terminated */
};

/* Write or read the status file of pid_file. Return 0 or -errno (-EINVAL:
 * not a status file). */
int tt_reload_status_write(const char *pid_file, const struct tt_reload_status *st);
int tt_reload_status_read(const char *pid_file, struct tt_reload_status *st);

#endif
