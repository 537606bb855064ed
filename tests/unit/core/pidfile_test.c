/*
 * Tests for src/core/pidfile.c: the pid file is written, read back, left
 * alone when it names another live process, removed only by its owner;
 * the reload status file round-trips.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/pidfile.h"

static char dir[64], path[128];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tt-pidfile-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.pid", dir);
}

static void teardown(void)
{
	char st[160];
	snprintf(st, sizeof(st), "%s.reload", path);
	unlink(st);
	unlink(path);
	rmdir(dir);
}

TestSuite(pidfile, .init = setup, .fini = teardown);

Test(pidfile, written_read_and_removed_by_its_owner)
{
	cr_assert_eq(tt_pidfile_write(path), 0);
	cr_assert_eq(tt_pidfile_read(path), (long)getpid());
	tt_pidfile_remove(path);
	cr_assert_eq(access(path, F_OK), -1);
}

Test(pidfile, another_live_process_keeps_its_file)
{
	FILE *f = fopen(path, "w");
	fprintf(f, "%ld\n", (long)getppid());
	fclose(f);
	cr_assert_eq(tt_pidfile_write(path), 1);
	cr_assert_eq(tt_pidfile_read(path), (long)getppid());
	tt_pidfile_remove(path); /* not ours: stays */
	cr_assert_eq(access(path, F_OK), 0);
}

Test(pidfile, garbage_is_no_pid)
{
	FILE *f = fopen(path, "w");
	fputs("12x\n", f);
	fclose(f);
	cr_assert_lt(tt_pidfile_read(path), 0);
	cr_assert_eq(tt_pidfile_write(path), 0, "a file without a live pid is taken over");
}

Test(pidfile, status_round_trips)
{
	struct tt_reload_status in, out;
	memset(&in, 0, sizeof(in));
	in.attempt = 3;
	in.generation = 2;
	in.result = 0;
	snprintf(in.text, sizeof(in.text), "a.yaml:7:1: error: bad\n  hint: fix\n");
	cr_assert_eq(tt_reload_status_write(path, &in), 0);
	cr_assert_eq(tt_reload_status_read(path, &out), 0);
	cr_assert_eq(out.attempt, 3);
	cr_assert_eq(out.generation, 2);
	cr_assert_eq(out.result, 0);
	cr_assert_str_eq(out.text, in.text);
	in.result = -1;
	in.text[0] = 0;
	cr_assert_eq(tt_reload_status_write(path, &in), 0);
	cr_assert_eq(tt_reload_status_read(path, &out), 0);
	cr_assert_eq(out.result, -1);
	cr_assert_str_eq(out.text, "");
}
