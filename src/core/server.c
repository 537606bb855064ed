/*
 * The process around the workers (worker.h): the main thread's loop, its
 * signals, the admin endpoint, the pid file, and reloads.
 *
 * Reload (issue 7, item 4, README "Reload"): on SIGHUP the main thread
 * loads the file again. An invalid file, or one whose new listening
 * address cannot be bound, is refused: every diagnostic goes to stderr
 * (file:line:col) and the status file, the refusal is counted, and
 * nothing changes. A valid one becomes a new generation of workers
 * (gen.h) on the same listening sockets; the previous generation stops
 * accepting and drains on its own snapshot within its timeouts.grace,
 * then its threads are joined and it is freed.
 *
 * Invariant: at most two generations live, the serving one (cur) and one
 * draining (old). A SIGHUP while one drains is queued and runs when it is
 * gone, so a page never has to add up more than two, and a burst of
 * SIGHUPs is one reload.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gen.h"
#include "core/pidfile.h"
#include "obs/admin.h"

struct server {
	const char *path; /* the config file; NULL: no reload */
	struct tt_gen *cur, *old;
	uv_loop_t loop; /* main thread: signals, active probes, admin endpoint */
	uv_signal_t sigterm, sigint, sighup;
	int stopped;
	int pending; /* a SIGHUP came while old drains */
	int fail;    /* the exit status */
	_Atomic uint32_t ds_total;
	struct tt_admin *admin;       /* NULL when off, not bound, or shared */
	struct tt_cfg_admin admin_at; /* addr and addr_len: where admin listens */
	struct tt_reload_info info;
	uint64_t attempts;
	uint64_t started_ms;
	char *pid_file; /* written at start; NULL: none */
};

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_gen_done(uv_async_t *a);

static struct tt_gen *make_gen(struct server *s, struct tt_config *cfg, FILE *err)
{
	const struct tt_gen_env env = {
	    .loop = &s->loop,
	    .on_done = on_gen_done,
	    .owner = s,
	    .ds_total = &s->ds_total,
	    .info = &s->info,
	    .started_ms = s->started_ms,
	    .prev = s->cur,
	};
	struct tt_gen *g = tt_gen_new(cfg, s->cur ? s->cur->id + 1 : 1, &env, err);
	if (g && tt_gen_bind(g, s->cur, err) < 0)
		tt_gen_free(&g);
	return g;
}

/* ---- the admin endpoint ---- */

static int admin_same(const struct tt_cfg_admin *a, const struct tt_cfg_admin *b)
{
	return a->address && a->addr_len == b->addr_len && !memcmp(&a->addr, &b->addr, a->addr_len);
}

/* The admin socket for cfg: one, on the main loop, without SO_REUSEPORT
 * so that a second telltale cannot share the address and answer half the
 * scrapes. Sets *fd (-1: none needed, or the address is the one already
 * bound: *keep). A default address that is taken only warns (two
 * instances on one machine still proxy); one written in the config stops
 * the start or refuses the reload. */
static int admin_bind(struct server *s, const struct tt_config *cfg, int *fd, int *keep, FILE *err)
{
	const struct tt_cfg_admin *a = &cfg->admin;
	*fd = -1;
	*keep = 0;
	if (!a->address || a->shared)
		return 0;
	if (s->admin && admin_same(a, &s->admin_at)) {
		*keep = 1;
		return 0;
	}
	int r = tt_gen_bind_one(&a->addr, a->addr_len, 0);
	if (r >= 0) {
		*fd = r;
		return 0;
	}
	fprintf(err, "telltale: %s admin endpoint on %s: %s%s\n",
	        a->configured ? "cannot open the" : "warning: no", a->address, strerror(-r),
	        a->configured ? "" : " (set admin.listen, or admin: off)");
	return a->configured ? -1 : 0;
}

/* Serve cur's pages: on the kept socket, on fd, or nowhere. */
static void admin_switch(struct server *s, int fd, int keep)
{
	const struct tt_cfg_admin *a = &s->cur->cfg->admin;
	if (keep) {
		tt_admin_set_source(s->admin, &s->cur->admin_src);
		return;
	}
	tt_admin_stop(&s->admin);
	memset(&s->admin_at, 0, sizeof(s->admin_at));
	if (fd < 0)
		return;
	s->admin = tt_admin_start(&s->loop, fd, &s->cur->admin_src);
	s->admin_at.addr = a->addr;
	s->admin_at.addr_len = a->addr_len;
}

/* ---- reload ---- */

/* The status file for `telltale reload` (pidfile.h). */
static void write_status(struct server *s, int result, const char *text)
{
	struct tt_reload_status st;
	if (!s->pid_file)
		return;
	memset(&st, 0, sizeof(st));
	st.attempt = s->attempts;
	st.generation = s->cur->id;
	st.result = result;
	snprintf(st.text, sizeof(st.text), "%s", text ? text : "");
	tt_reload_status_write(s->pid_file, &st);
}

/* A reload attempt's outcome, for the pages and the status file. */
static void record(struct server *s, int ok, const char *text)
{
	atomic_store(&s->info.last_ms, wall_ms());
	atomic_fetch_add(ok ? &s->info.ok : &s->info.errors, 1);
	if (ok)
		atomic_store(&s->info.generation, s->cur->id);
	atomic_store(&s->info.last_ok, ok);
	write_status(s, ok, text);
}

/* Load the file and build a generation; NULL with the reasons on err. */
static struct tt_gen *prepare(struct server *s, FILE *err, int *admin_fd, int *admin_keep)
{
	struct tt_cfg_diags diags;
	struct tt_config *cfg = NULL;
	struct tt_gen *g;
	memset(&diags, 0, sizeof(diags));
	if (tt_cfg_load_file(s->path, &cfg, &diags) != 0) {
		tt_cfg_diags_print(&diags, err);
		tt_cfg_diags_fini(&diags);
		return NULL;
	}
	tt_cfg_diags_fini(&diags);
	g = make_gen(s, cfg, err);
	tt_cfg_unref(&cfg);
	if (g && admin_bind(s, g->cfg, admin_fd, admin_keep, err) < 0)
		tt_gen_free(&g);
	return g;
}

static void reload(struct server *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len);
	int admin_fd = -1, admin_keep = 0;
	struct tt_gen *g;

	if (!err)
		abort();
	s->attempts++;
	g = prepare(s, err, &admin_fd, &admin_keep);
	fclose(err);
	if (!g) {
		fputs(text, stderr);
		fprintf(stderr,
		        "telltale: reload refused: %s has errors; generation %llu keeps serving\n",
		        s->path, (unsigned long long)s->cur->id);
		record(s, 0, text);
		free(text);
		return;
	}
	fputs(text, stderr); /* warnings, such as a default admin address taken */
	free(text);
	tt_gen_adopt(g, s->cur);
	s->old = s->cur;
	s->cur = g;
	tt_gen_start(g, &s->loop);
	tt_gen_stop(s->old);
	admin_switch(s, admin_fd, admin_keep);
	fprintf(stderr,
	        "telltale: reloaded %s: generation %llu serving (%u worker%s); generation %llu "
	        "drains (up to %llu ms)\n",
	        s->path, (unsigned long long)g->id, g->n, g->n == 1 ? "" : "s",
	        (unsigned long long)s->old->id, (unsigned long long)s->old->cfg->timeouts.grace_ms);
	record(s, 1, NULL);
}

static void on_sighup(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	(void)signum;
	if (s->stopped)
		return;
	if (!s->path) {
		fprintf(stderr,
		        "telltale: SIGHUP ignored: no config file to reload (telltale proxy)\n");
		return;
	}
	if (s->old) {
		/* Queued: see the invariant at the top. */
		if (!s->pending)
			fprintf(stderr,
			        "telltale: SIGHUP: reload queued until generation %llu has "
			        "drained\n",
			        (unsigned long long)s->old->id);
		s->pending = 1;
		return;
	}
	reload(s);
}

/* The last worker thread of a generation has ended. */
static void on_gen_done(uv_async_t *a)
{
	struct tt_gen *g = a->data;
	struct server *s = g->owner;
	if (g == s->old) {
		if (s->cur)
			tt_gen_retire(s->cur);
		s->old = NULL;
		fprintf(stderr, "telltale: generation %llu drained\n", (unsigned long long)g->id);
		tt_gen_free(&g);
		if (s->pending && !s->stopped) {
			s->pending = 0;
			reload(s);
		}
		return;
	}
	if (g == s->cur)
		s->cur = NULL;
	tt_gen_free(&g);
}

/* ---- start and stop ---- */

static void on_signal(uv_signal_t *sig, int signum)
{
	struct server *s = sig->data;
	if (s->stopped)
		return;
	s->stopped = 1;
	s->pending = 0;
	fprintf(stderr, "telltale: %s received, finishing in-flight requests (up to %llu ms)\n",
	        signum == SIGINT ? "SIGINT" : "SIGTERM",
	        (unsigned long long)s->cur->cfg->timeouts.grace_ms);
	tt_admin_stop(&s->admin);
	tt_gen_stop(s->cur);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
	uv_close((uv_handle_t *)&s->sighup, NULL);
}

static void announce(const struct server *s)
{
	const struct tt_config *cfg = s->cur->cfg;
	unsigned n = s->cur->n;
	for (size_t i = 0; i < cfg->nlisteners; i++)
		fprintf(stderr, "telltale: listening on %s://%s (%u worker%s)\n",
		        cfg->listeners[i].tls ? "https" : "http", cfg->listeners[i].address, n,
		        n == 1 ? "" : "s");
	for (size_t i = 0; i < cfg->nupstreams; i++) {
		fprintf(stderr, "telltale: upstream %s:", cfg->upstreams[i].name);
		for (size_t j = 0; j < cfg->upstreams[i].nservers; j++)
			fprintf(stderr, " %s", cfg->upstreams[i].servers[j].address);
		fprintf(stderr, "\n");
	}
	if (s->admin || cfg->admin.shared)
		fprintf(stderr, "telltale: admin on http://%s/status and /metrics\n",
		        cfg->admin.address);
	if (cfg->nlisteners)
		fprintf(stderr, "telltale: try: curl -i %s://%s/   (stop with Ctrl-C)\n",
		        cfg->listeners[0].tls ? "https" : "http", cfg->listeners[0].address);
}

/* The pid file and the first status, for `telltale reload`. */
static void write_pid_file(struct server *s, const struct tt_config *cfg)
{
	int r;
	if (!s->path || !cfg->pid_file)
		return;
	r = tt_pidfile_write(cfg->pid_file);
	if (r) {
		fprintf(stderr,
		        "telltale: warning: pid file %s: %s; `telltale reload` cannot find this "
		        "process (set pid_file, or send SIGHUP to pid %ld)\n",
		        cfg->pid_file, r > 0 ? "held by another running telltale" : strerror(-r),
		        (long)getpid());
		return;
	}
	s->pid_file = strdup(cfg->pid_file);
	if (!s->pid_file)
		abort();
	write_status(s, -1, NULL);
}

static void init_signals(struct server *s)
{
	uv_signal_init(&s->loop, &s->sigterm);
	uv_signal_init(&s->loop, &s->sigint);
	uv_signal_init(&s->loop, &s->sighup);
	s->sigterm.data = s->sigint.data = s->sighup.data = s;
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sighup, on_sighup, SIGHUP);
	/* `telltale run` blocks them while it starts (cli/run.c); one that
	 * came meanwhile is delivered now, to these handlers, once the loop
	 * runs: no half-started state, no death by a SIGHUP's default. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int tt_server_run(struct tt_config *cfg, const char *path)
{
	struct server s;
	int admin_fd, keep;

	memset(&s, 0, sizeof(s));
	s.path = path;
	s.started_ms = wall_ms();
	atomic_init(&s.info.generation, 1);
	atomic_init(&s.info.last_ok, -1);
	signal(SIGPIPE, SIG_IGN);
	uv_loop_init(&s.loop);
	s.cur = make_gen(&s, cfg, stderr);
	if (!s.cur || admin_bind(&s, cfg, &admin_fd, &keep, stderr) < 0) {
		tt_gen_free(&s.cur);
		uv_run(&s.loop, UV_RUN_DEFAULT);
		uv_loop_close(&s.loop);
		return 1;
	}
	init_signals(&s);
	admin_switch(&s, admin_fd, 0);
	announce(&s);
	write_pid_file(&s, cfg);
	tt_gen_start(s.cur, &s.loop);
	uv_run(&s.loop, UV_RUN_DEFAULT);
	uv_loop_close(&s.loop);
	if (s.pid_file)
		tt_pidfile_remove(s.pid_file);
	free(s.pid_file);
	fprintf(stderr, "telltale: stopped\n");
	return 0;
}
