/*
 * bench/floor.c: the floor of proxy CPU per request on this machine, for
 * issue 8's "at most 0.8x the best peer's CPU for small bodies" target.
 *
 * A byte forwarder with no HTTP at all: every accepted downstream
 * connection gets one upstream connection to the origin, and whatever one
 * side sends is written to the other. For the benchmark's keep-alive
 * request/response traffic this does the least a proxy can do: one read
 * and one write per direction per request. Two I/O engines:
 *
 *   epoll   level-triggered epoll, read(2)/write(2) per socket operation:
 *           what libuv does under telltale (and what nginx and haproxy do)
 *   uring   io_uring: a recv kept armed on every socket, a send per
 *           message, all submitted and reaped in batches (one
 *           io_uring_enter per loop turn for many sockets' operations)
 *
 * Not a proxy anyone should run: no parsing, no limits, no errors told.
 * It exists to measure (bench/floor-run). Listens on 127.0.0.1 only.
 *
 *   build/bench/floor epoll|uring LISTEN_PORT ORIGIN_PORT
 *
 * Built by bench/floor-run with: cc -O2 -o build/bench/floor bench/floor.c -luring
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF   16384
#define MAXFD 65536

struct side {
	int fd, peer;
	char buf[BUF];
	int len;     /* uring: bytes received, being sent to peer */
	int sending; /* uring: a send of buf is in flight */
};

static struct side *sides[MAXFD];
static int origin_port;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int listen_on(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* A ring's pending accept keeps the previous run's listener alive for a
	 * moment after that process exits: retry for up to 5 s. */
	for (int i = 0; bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0; i++) {
		if (errno != EADDRINUSE || i == 50)
			die("bind");
		usleep(100000);
	}
	if (listen(fd, 4096) != 0)
		die("listen");
	return fd;
}

/* The upstream connection for a new downstream one (blocking connect: the
 * benchmark opens its connections before the timed run). */
static int connect_origin(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)origin_port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int pair_up(int dfd)
{
	int ufd = connect_origin();
	if (ufd < 0 || dfd >= MAXFD || ufd >= MAXFD) {
		close(dfd);
		if (ufd >= 0)
			close(ufd);
		return -1;
	}
	sides[dfd] = calloc(1, sizeof(struct side));
	sides[ufd] = calloc(1, sizeof(struct side));
	sides[dfd]->fd = dfd, sides[dfd]->peer = ufd;
	sides[ufd]->fd = ufd, sides[ufd]->peer = dfd;
	return ufd;
}

static void unpair(int fd)
{
	struct side *s = sides[fd];
	int peer = s ? s->peer : -1;
	if (!s)
		return;
	free(sides[peer]);
	free(s);
	sides[fd] = sides[peer] = NULL;
	close(fd);
	close(peer);
}

/* ---- epoll ---- */

/* An epoll set holding the listener. */
static int epoll_on(int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	return ep;
}

/* A new downstream connection and its upstream one, both in the set. */
static void accept_pair(int ep, int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int dfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	int ufd = dfd >= 0 ? pair_up(dfd) : -1;
	if (ufd < 0)
		return;
	ev.data.fd = dfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, dfd, &ev);
	ev.data.fd = ufd;
	epoll_ctl(ep, EPOLL_CTL_ADD, ufd, &ev);
}

static void run_epoll(int lfd)
{
	struct epoll_event evs[1024];
	int ep = epoll_on(lfd);
	for (;;) {
		int n = epoll_wait(ep, evs, 1024, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_pair(ep, lfd);
				continue;
			}
			struct side *s = sides[fd];
			if (!s)
				continue;
			ssize_t r = read(fd, s->buf, BUF);
			/* Blocking sockets, small messages: the write completes. */
			if (r <= 0 || write(s->peer, s->buf, (size_t)r) != r)
				unpair(fd);
		}
	}
}

/* ---- io_uring ---- */

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };
#define UD(op, fd) (((uint64_t)(op) << 32) | (uint32_t)(fd))

static struct io_uring ring;

static struct io_uring_sqe *sqe(void)
{
	struct io_uring_sqe *e = io_uring_get_sqe(&ring);
	if (!e) {
		io_uring_submit(&ring);
		e = io_uring_get_sqe(&ring);
	}
	return e;
}

static void arm_recv(struct side *s)
{
	struct io_uring_sqe *e = sqe();
	io_uring_prep_recv(e, s->fd, s->buf, BUF, 0);
	io_uring_sqe_set_data64(e, UD(OP_RECV, s->fd));
}

static void arm_accept(int lfd)
{
	struct io_uring_sqe *e = sqe();
	io_uring_prep_accept(e, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(e, UD(OP_ACCEPT, lfd));
}

static unsigned reap(int lfd);

static void ring_init(void)
{
	struct io_uring_params p = {0};
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	if (getenv("FLOOR_COOP"))
		p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	if (io_uring_queue_init_params(4096, &ring, &p) != 0 &&
	    io_uring_queue_init(4096, &ring, 0) != 0)
		die("io_uring_queue_init");
}

static void run_uring(int lfd)
{
	ring_init();
	arm_accept(lfd);
	for (;;) {
		io_uring_submit_and_wait(&ring, 1);
		reap(lfd);
	}
}

/* The completions in the ring, handled; how many there were. */
static unsigned reap(int lfd)
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	{
		io_uring_for_each_cqe(&ring, head, cqe)
		{
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			int op = (int)(ud >> 32), fd = (int)(uint32_t)ud, res = cqe->res;
			struct side *s = fd < MAXFD ? sides[fd] : NULL;
			seen++;
			if (op == OP_ACCEPT) {
				arm_accept(lfd);
				if (res >= 0 && pair_up(res) >= 0) {
					arm_recv(sides[res]);
					arm_recv(sides[sides[res]->peer]);
				}
			} else if (op == OP_RECV) {
				if (!s)
					continue;
				if (res <= 0) {
					unpair(fd);
					continue;
				}
				/* Send what came to the peer; recv again once it is out. */
				struct io_uring_sqe *e = sqe();
				s->len = res;
				io_uring_prep_send(e, s->peer, s->buf, (size_t)res, 0);
				io_uring_sqe_set_data64(e, UD(OP_SEND, fd));
			} else if (op == OP_SEND) {
				if (!s)
					continue;
				if (res != s->len) {
					unpair(fd);
					continue;
				}
				arm_recv(s);
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	return seen;
}

/* defer: epoll and read(2)/write(2) as epoll, but the writes of a loop
 * turn are made after all its reads, as a uv_check handle could. */
static void run_defer(int lfd)
{
	struct epoll_event evs[1024];
	static int wq[1024];
	static ssize_t wl[1024];
	int ep = epoll_on(lfd);
	for (;;) {
		int n = epoll_wait(ep, evs, 1024, -1), nw = 0;
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_pair(ep, lfd);
				continue;
			}
			struct side *s = sides[fd];
			if (!s)
				continue;
			ssize_t r = read(fd, s->buf, BUF);
			if (r <= 0) {
				unpair(fd);
				continue;
			}
			wq[nw] = fd, wl[nw++] = r;
		}
		for (int i = 0; i < nw; i++) {
			struct side *s = sides[wq[i]];
			if (s && write(s->peer, s->buf, (size_t)wl[i]) != wl[i])
				unpair(wq[i]);
		}
	}
}

/* hybrid: every socket operation in the ring as uring does, but the wait is
 * an epoll_wait on the ring's fd, as an io_uring engine under libuv's loop
 * (a uv_poll_t on the ring) would wait. */
static void run_hybrid(int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = epoll_create1(EPOLL_CLOEXEC);
	int wfd;
	ring_init();
	/* A ring with deferred task work does not wake a poller of its fd; an
	 * eventfd registered with it is signalled when completions wait. */
	wfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wfd < 0 || io_uring_register_eventfd(&ring, wfd) != 0)
		die("eventfd");
	ev.data.fd = wfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, wfd, &ev) != 0)
		die("epoll_ctl ring");
	arm_accept(lfd);
	for (;;) {
		io_uring_submit_and_get_events(&ring);
		if (reap(lfd) == 0 && epoll_wait(ep, &ev, 1, -1) == 1) {
			uint64_t n;
			if (read(wfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
				die("read eventfd");
		}
	}
}

/* wsend: readiness and reads by epoll and read(2), as libuv does; only the
 * writes go through the ring, all of a loop turn's in one io_uring_enter. */
static void run_wsend(int lfd)
{
	struct epoll_event evs[1024];
	int ep = epoll_on(lfd);
	ring_init();
	for (;;) {
		int n = epoll_wait(ep, evs, 1024, -1);
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == lfd) {
				accept_pair(ep, lfd);
				continue;
			}
			struct side *s = sides[fd];
			if (!s)
				continue;
			ssize_t r = read(fd, s->buf, BUF);
			if (r <= 0) {
				unpair(fd);
				continue;
			}
			struct io_uring_sqe *e = sqe();
			io_uring_prep_send(e, s->peer, s->buf, (size_t)r, 0);
			io_uring_sqe_set_data64(e, 0);
		}
		io_uring_submit_and_get_events(&ring);
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		io_uring_for_each_cqe(&ring, head, cqe) seen++;
		io_uring_cq_advance(&ring, seen);
	}
}

int main(int argc, char **argv)
{
	const char *engine = argc == 4 ? argv[1] : "";
	if (strcmp(engine, "epoll") != 0 && strcmp(engine, "uring") != 0 &&
	    strcmp(engine, "hybrid") != 0 && strcmp(engine, "wsend") != 0 &&
	    strcmp(engine, "defer") != 0) {
		fprintf(stderr, "usage: %s epoll|uring|hybrid|wsend LISTEN_PORT ORIGIN_PORT\n",
		        argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	origin_port = atoi(argv[3]);
	int lfd = listen_on(atoi(argv[2]));
	if (engine[0] == 'e')
		run_epoll(lfd);
	else if (engine[0] == 'u')
		run_uring(lfd);
	else if (engine[0] == 'd')
		run_defer(lfd);
	else if (engine[0] == 'h')
		run_hybrid(lfd);
	else
		run_wsend(lfd);
	return 0;
}
