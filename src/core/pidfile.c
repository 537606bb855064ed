/*
 * The pid file and the reload status file: see pidfile.h.
 */
#include "core/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PATH_CAP 4096

/* Write len bytes of data to path through path.tmp.<pid> and rename. */
static int write_atomically(const char *path, const char *data, size_t len)
{
	char tmp[PATH_CAP];
	int fd, e = 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len && !e) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno != EINTR)
			e = errno;
		else if (n > 0) {
			data += n;
			len -= (size_t)n;
		}
	}
	if (close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e)
		unlink(tmp);
	return -e;
}

/* Up to cap-1 bytes of path, NUL-terminated; bytes read or -errno. */
static long read_small(const char *path, char *out, size_t cap)
{
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len + 1 < cap) {
		ssize_t n = read(fd, out + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	out[len] = 0;
	return (long)len;
}

long tt_pidfile_read(const char *path)
{
	char buf[32], *end;
	long r = read_small(path, buf, sizeof(buf)), pid;
	if (r < 0)
		return r;
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno || end == buf || pid <= 0 || (*end && *end != '\n'))
		return -EINVAL;
	return pid;
}

int tt_pidfile_write(const char *path)
{
	char buf[32];
	long old = tt_pidfile_read(path);
	int n;
	if (old > 0 && old != (long)getpid() && (kill((pid_t)old, 0) == 0 || errno == EPERM))
		return 1;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	return write_atomically(path, buf, (size_t)n);
}

int tt_pidfile_status_path(const char *pid_file, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.reload", pid_file);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void tt_pidfile_remove(const char *path)
{
	char st[PATH_CAP];
	if (tt_pidfile_read(path) != (long)getpid())
		return;
	if (tt_pidfile_status_path(path, st, sizeof(st)) == 0)
		unlink(st);
	unlink(path);
}

static const char *result_word(int result)
{
	return result < 0 ? "none" : result ? "ok" : "error";
}

int tt_reload_status_write(const char *pid_file, const struct tt_reload_status *st)
{
	char path[PATH_CAP], buf[sizeof(st->text) + 128];
	int n;
	if (tt_pidfile_status_path(pid_file, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, sizeof(buf), "attempt %llu\ngeneration %llu\nresult %s\n%s",
	             (unsigned long long)st->attempt, (unsigned long long)st->generation,
	             result_word(st->result), st->text);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	return write_atomically(path, buf, (size_t)n);
}

int tt_reload_status_read(const char *pid_file, struct tt_reload_status *st)
{
	char path[PATH_CAP], buf[sizeof(st->text) + 128], word[16];
	unsigned long long attempt, gen;
	int used = 0;
	long r;
	if (tt_pidfile_status_path(pid_file, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = read_small(path, buf, sizeof(buf));
	if (r < 0)
		return (int)r;
	if (sscanf(buf, "attempt %llu\ngeneration %llu\nresult %15s\n%n", &attempt, &gen, word,
	           &used) < 3 ||
	    !used)
		return -EINVAL;
	st->attempt = attempt;
	st->generation = gen;
	st->result = !strcmp(word, "ok") ? 1 : !strcmp(word, "error") ? 0 : -1;
	snprintf(st->text, sizeof(st->text), "%s", buf + used);
	return 0;
}
