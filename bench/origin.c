/*
 * bench/origin.c: the benchmark origin. A tiny single-threaded epoll
 * HTTP/1.1 keep-alive server that answers every request with a fixed
 * response chosen by path:
 *
 *   GET /64k...  -> 200, 65536-byte body
 *   GET /1m...   -> 200, 1 MiB (1048576-byte) body
 *   GET /__accepts -> 200, body = connections accepted so far (decimal);
 *                     bench/run reads it around each load run to report how
 *                     many upstream connections a proxy opened
 *   anything else-> 200, 100-byte body   (/small)
 *
 * Pipelined requests are answered in order. A request body announced by
 * Content-Length is read and discarded before the answer goes out, as an
 * application that handles an upload does (POST /post with a 16 KiB or
 * 1 MiB body gets the 100-byte answer); chunked request bodies are not
 * supported (the benchmark never sends one). "Connection: close" closes the
 * connection after the response. Listens on 127.0.0.1 only.
 *
 *   build/bench/origin PORT
 *
 * Built by bench/run with: cc -O2 -o build/bench/origin bench/origin.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define INBUF 8192
#define SMALL_BODY 100
#define BIG_BODY 65536
#define HUGE_BODY (1024 * 1024)

struct conn {
    int fd;
    size_t inlen;
    size_t skip;          /* request body bytes still to discard */
    int pending;          /* `out` goes once the body is discarded */
    const char *out;      /* response being written, NULL if none */
    size_t outlen, outoff;
    int close_after;
    int want_out;         /* EPOLLOUT currently registered */
    char dyn[160];        /* dynamic response (/__accepts) */
    char in[INBUF];
};

/* Responses by size (small, 64 KiB, 1 MiB), keep-alive and with
 * "Connection: close" (answers to a request that asked for it; without
 * the header, wrk would reuse the connection and count the close as an
 * error). */
enum { R_SMALL, R_BIG, R_HUGE, R_SIZES };
static char *resp[2][R_SIZES];
static size_t resp_len[2][R_SIZES];
static int epfd;
static unsigned long long accepts;

static char *make_response(size_t body, int close, size_t *len)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\n"
                     "Server: bench-origin\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "\r\n",
                     body, close ? "Connection: close\r\n" : "");
    char *r = malloc((size_t)h + body);
    if (!r) {
        perror("malloc");
        exit(1);
    }
    memcpy(r, head, (size_t)h);
    for (size_t i = 0; i < body; i++)
        r[(size_t)h + i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
    *len = (size_t)h + body;
    return r;
}

static void conn_close(struct conn *c)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void set_events(struct conn *c, int want_out)
{
    if (c->want_out == want_out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

/* Find header `name` (lowercase, with colon) in head[0..len). */
static const char *find_header(const char *head, size_t len, const char *name)
{
    size_t nl = strlen(name);
    const char *p = memchr(head, '\n', len);
    const char *end = head + len;
    while (p && p + 1 + nl < end) {
        p++;
        if (strncasecmp(p, name, nl) == 0)
            return p + nl;
        p = memchr(p, '\n', (size_t)(end - p));
    }
    return NULL;
}

/* Write pending output. Returns -1 if the connection must be closed. */
static int flush_out(struct conn *c)
{
    while (c->out && c->outoff < c->outlen) {
        ssize_t n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                set_events(c, 1);
                return 0;
            }
            return -1;
        }
        c->outoff += (size_t)n;
    }
    c->out = NULL;
    set_events(c, 0);
    return c->close_after ? -1 : 0;
}

/* Parse as many complete requests from the input as possible, answering each.
 * Stops while a response is still being written (keeps order). */
static int process(struct conn *c)
{
    for (;;) {
        if (c->skip) {
            size_t k = c->skip < c->inlen ? c->skip : c->inlen;
            memmove(c->in, c->in + k, c->inlen - k);
            c->inlen -= k;
            c->skip -= k;
            if (c->skip)
                return 0;
        }
        if (c->pending) {
            c->pending = 0;
            c->outoff = 0;
            if (flush_out(c) < 0)
                return -1;
            continue;
        }
        if (c->out)
            return 0;
        char *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
        if (!e) {
            if (c->inlen == INBUF)
                return -1; /* head too large */
            return 0;
        }
        size_t hl = (size_t)(e - c->in) + 4;
        int big = hl > 8 && memcmp(c->in, "GET /64k", 8) == 0;
        int huge = hl > 7 && memcmp(c->in, "GET /1m", 7) == 0;
        int stats = hl > 14 && memcmp(c->in, "GET /__accepts", 14) == 0;
        const char *cl = find_header(c->in, hl, "content-length:");
        size_t body = cl ? strtoul(cl, NULL, 10) : 0;
        const char *conn = find_header(c->in, hl, "connection:");
        if (conn) {
            while (*conn == ' ' || *conn == '\t')
                conn++;
            if (strncasecmp(conn, "close", 5) == 0)
                c->close_after = 1;
        }
        memmove(c->in, c->in + hl, c->inlen - hl);
        c->inlen -= hl;
        c->skip = body;
        int size = huge ? R_HUGE : big ? R_BIG : R_SMALL;
        c->out = resp[c->close_after][size];
        c->outlen = resp_len[c->close_after][size];
        if (stats) {
            char num[32];
            int nl = snprintf(num, sizeof num, "%llu", accepts);
            int n = snprintf(c->dyn, sizeof c->dyn,
                             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             "Content-Length: %d\r\n\r\n%s",
                             nl, num);
            c->out = c->dyn;
            c->outlen = (size_t)n;
        }
        c->pending = 1;
    }
}

static int on_readable(struct conn *c)
{
    for (;;) {
        if (c->inlen == INBUF) {
            if (c->out) {
                /* backpressure: stop reading until the output drains */
                struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                c->want_out = 2;
                return 0;
            }
            if (process(c) < 0)
                return -1;
            if (c->inlen == INBUF)
                return -1;
        }
        ssize_t n = read(c->fd, c->in + c->inlen, INBUF - c->inlen);
        if (n == 0)
            return -1;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return process(c);
            return -1;
        }
        c->inlen += (size_t)n;
        if (process(c) < 0)
            return -1;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    static const size_t sizes[R_SIZES] = {SMALL_BODY, BIG_BODY, HUGE_BODY};
    for (int close = 0; close < 2; close++)
        for (int i = 0; i < R_SIZES; i++)
            resp[close][i] = make_response(sizes[i], close, &resp_len[close][i]);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0) {
        perror("origin: bind/listen");
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &lev);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(epfd, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = calloc(1, sizeof *nc);
                    if (!nc) {
                        close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    accepts++;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            int rc = 0;
            if (evs[i].events & EPOLLOUT) {
                rc = flush_out(c);
                if (rc == 0)
                    rc = process(c);
            }
            if (rc == 0 && (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                rc = on_readable(c);
            if (rc < 0)
                conn_close(c);
        }
    }
}
