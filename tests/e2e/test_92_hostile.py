"""Slow and hostile clients (GitHub issue 9, item 3): the head-read timeout
holds against 1,000 slowloris connections while normal requests go on;
oversized heads, endless header lines and endless chunked bodies are
bounded and answered; a client that never reads a large response costs
bounded memory.

Every loop here is bounded in time and in count. The slowloris test holds
timeouts.downstream_head (3 s) against 1,000 connections; the minimum rate
(limits.downstream_min_rate) is tested in test_94_min_rate.py, and the
descriptor and connection limits in test_93_exhaustion.py."""

import resource
import select
import socket
import threading
import time

import pytest

from conftest import upstream_config
from httpc import Conn, build_request

H = b"Host: example.test\r\n"
RSS_LIMIT_KIB = 64 * 1024


class RssSampler:
    """Samples VmRSS of telltale every 20 ms in a thread; .max in KiB."""

    def __init__(self, tt):
        self.tt = tt
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = self.tt.vmrss_kib()
            if v:
                self.max = max(self.max, v)
                self.samples += 1
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(2)


def raise_nofile(need):
    """Raise this process's soft RLIMIT_NOFILE to at least `need` (telltale,
    started afterwards, inherits it), the hard limit too when it is lower
    (the tests run as root, as on CI); fails when it cannot be raised.
    Returns the previous limits."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, need))
        except (ValueError, OSError) as e:
            pytest.fail("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test "
                        "needs and cannot be raised: %s" % (hard, need, e), pytrace=False)
        hard = need
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY
                                                    else min(hard, max(need, 4096)), hard))
    return soft, hard


def readable(sock, timeout=0.0):
    return bool(select.select([sock], [], [], timeout)[0])


def flood(c, first, piece, total, pause=0.001, seconds=5.0):
    """Send `first`, then `piece` repeatedly up to `total` bytes in all (or
    `seconds`), stopping as soon as a response starts to arrive or the
    send fails. Returns the bytes sent."""
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.send(first)
    sent = len(first)
    deadline = time.monotonic() + seconds
    while sent < total and time.monotonic() < deadline:
        if readable(c.sock):
            break
        try:
            c.send(piece)
        except OSError:  # telltale closed: the response is (or was) there
            break
        sent += len(piece)
        if pause:
            time.sleep(pause)
    return sent


def check_rejected_and_closed(tt, c, want, sent, total, what):
    r = c.read_response(timeout=5)
    wants = want if isinstance(want, tuple) else (want,)
    assert r.status in wants, "%s: want %s, got %r" % (what, want, r)
    assert "close" in r.tokens("connection"), "%s: no Connection: close in %r" % (what, r)
    assert sent < total, "%s: all %d bytes went in before telltale answered" % (what, total)
    closed, extra = c.wait_closed(5)
    assert closed, "%s: connection still open 5 s after the %d" % (what, r.status)
    assert extra == b"", "%s: bytes after the response: %r" % (what, extra[:200])
    return r


# -- (a) slowloris -------------------------------------------------------------

SLOW_CONNS = 1000
SLOW_HEAD = b"GET /echo HTTP/1.1\r\nHost: example.test\r\nX-Slow: "  # never ends


def test_slowloris_is_cut_by_the_head_timeout_and_normal_requests_go_on(telltale, app):
    old = raise_nofile(2100)
    try:
        _slowloris(telltale, app)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


def _slowloris(telltale, app):
    tt = telltale(upstream_config(app, timeouts={"downstream_head": "3s"}))
    socks, opened = [], []
    try:
        for _ in range(SLOW_CONNS):
            s = socket.create_connection(("127.0.0.1", tt.port), timeout=5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(SLOW_HEAD[:1])
            s.setblocking(False)
            socks.append(s)
            opened.append(time.monotonic())
        connect_spread = opened[-1] - opened[0]

        normal = []

        def normal_requests():
            time.sleep(0.5)
            for i in range(20):
                t0 = time.monotonic()
                try:
                    with Conn(tt.port, timeout=5) as c:
                        r = c.request("GET", "/echo?n=%d" % i)
                    normal.append((r.status, time.monotonic() - t0))
                except Exception as e:  # reported below
                    normal.append(("%s: %s" % (type(e).__name__, e), time.monotonic() - t0))
                time.sleep(0.15)

        runner = threading.Thread(target=normal_requests, daemon=True)
        runner.start()

        closed_at = [None] * SLOW_CONNS
        got = [b""] * SLOW_CONNS
        sent = [1] * SLOW_CONNS
        fd_index = {s.fileno(): i for i, s in enumerate(socks)}
        poller = select.poll()
        for s in socks:
            poller.register(s, select.POLLIN)
        end = opened[-1] + 5.5
        next_tick = time.monotonic() + 1.0
        open_count = SLOW_CONNS

        def gone(i, now):
            nonlocal open_count
            if closed_at[i] is None:
                closed_at[i] = now
                open_count -= 1
                poller.unregister(socks[i])

        while open_count and time.monotonic() < end:
            now = time.monotonic()
            if now >= next_tick:  # one more byte on every open connection
                next_tick += 1.0
                for i, s in enumerate(socks):
                    if closed_at[i] is None and sent[i] < len(SLOW_HEAD):
                        try:
                            s.send(SLOW_HEAD[sent[i]:sent[i] + 1])
                            sent[i] += 1
                        except BlockingIOError:
                            pass
                        except OSError:
                            gone(i, now)
            wait_ms = max(1, int((min(next_tick, end) - time.monotonic()) * 1000))
            for fd, ev in poller.poll(wait_ms):
                i = fd_index[fd]
                try:
                    data = socks[i].recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    gone(i, time.monotonic())
                    continue
                if data:
                    got[i] += data
                else:
                    gone(i, time.monotonic())
        runner.join(10)
    finally:
        for s in socks:
            s.close()

    lifetimes = sorted(c - o for c, o in zip(closed_at, opened) if c is not None)
    by_4s = sum(1 for t in lifetimes if t <= 4.0)
    early = sum(1 for t in lifetimes if t < 2.9)
    answers = {}
    for g in got:
        key = g[:12].decode("latin-1") if g else "(nothing)"
        answers[key] = answers.get(key, 0) + 1
    print("slowloris: %d connections opened over %.2f s; closed %d, by 4 s %d, before 2.9 s "
          "%d; lifetimes min %.2f median %.2f max %.2f; answers %r"
          % (SLOW_CONNS, connect_spread, len(lifetimes), by_4s, early,
             lifetimes[0] if lifetimes else -1, lifetimes[len(lifetimes) // 2] if lifetimes else -1,
             lifetimes[-1] if lifetimes else -1, answers))
    print("normal requests (status, seconds): %r" % [(s, round(t, 3)) for s, t in normal])

    assert len(normal) == 20, "normal requests did not finish: %r" % normal
    bad = [(s, t) for s, t in normal if s != 200 or t >= 1.0]
    assert not bad, "normal requests failed or took 1 s or more among 1,000 slowloris " \
        "connections: %r" % bad
    assert early == 0, "%d slowloris connections closed before downstream_head (3s)" % early
    assert len(lifetimes) == SLOW_CONNS, "%d of %d slowloris connections still open %.1f s " \
        "after the last one opened (downstream_head 3s)" % (
            SLOW_CONNS - len(lifetimes), SLOW_CONNS, 5.5)
    assert by_4s == SLOW_CONNS, "only %d of %d slowloris connections closed within 4 s " \
        "(downstream_head 3s)" % (by_4s, SLOW_CONNS)
    assert set(answers) <= {"HTTP/1.1 408", "(nothing)"}, answers
    assert app.requests == 20, app.stats()
    lines = tt.log_lines(SLOW_CONNS + 20, timeout=5)
    statuses = {}
    for l in lines:
        statuses[l["status"]] = statuses.get(l["status"], 0) + 1
    assert statuses.get(200) == 20, statuses
    timeouts = [l for l in lines if l["status"] == 408]
    assert all(l["fault"] == "request_timeout" for l in timeouts), timeouts[:3]
    # Telltale is still fine afterwards.
    assert tt.request("GET", "/echo").status == 200


# -- (b), (c) oversized heads ----------------------------------------------------

HEAD_TOTAL = 1 << 20


@pytest.mark.parametrize("lines", ["short", "long"])
def test_endless_header_lines_get_431_and_close(telltale, app, lines):
    """1 MiB of header lines with no end: 431 (the field count limit for
    short lines, the head size limit for long ones) long before it is all
    sent, and no growth of telltale's memory to speak of."""
    if lines == "short":
        tt = telltale(upstream_config(app))
        piece = b"X-a: b\r\n" * 512
    else:
        tt = telltale(upstream_config(app, limits={"header_count": 1000}))
        piece = (b"X-a: " + b"b" * 93 + b"\r\n") * 41
    assert tt.request("GET", "/echo").status == 200  # warm
    before = tt.vmrss_kib()
    with RssSampler(tt) as rss, tt.conn(timeout=10) as c:
        sent = flood(c, b"GET /echo HTTP/1.1\r\n" + H, piece, HEAD_TOTAL)
        r = check_rejected_and_closed(tt, c, 431, sent, HEAD_TOTAL, "%s header lines" % lines)
    print("%s lines: 431 after %d bytes sent; VmRSS %d -> max %d KiB"
          % (lines, sent, before, rss.max))
    assert rss.max - before < 16 * 1024, "VmRSS grew %d KiB for one oversized head" % (
        rss.max - before)
    line = tt.log_lines(2)[-1]
    assert line["status"] == 431 and line["fault"] == "head_too_large", line
    assert app.requests == 1, app.stats()
    assert r.body_len > 0


def test_endless_header_line_gets_431_and_close(telltale, app):
    """One header line of 1 MiB, no newline."""
    tt = telltale(upstream_config(app))
    with tt.conn(timeout=10) as c:
        sent = flood(c, b"GET /echo HTTP/1.1\r\n" + H + b"X-a: ", b"a" * 4096, HEAD_TOTAL)
        r = check_rejected_and_closed(tt, c, (431, 400), sent, HEAD_TOTAL, "endless line")
    print("endless header line: %d after %d bytes sent" % (r.status, sent))
    line = tt.log_line()
    assert line["status"] == r.status and line["fault"], line
    assert app.requests == 0, app.stats()


def test_endless_request_target_gets_414_and_close(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn(timeout=10) as c:
        sent = flood(c, b"GET /", b"a" * 4096, HEAD_TOTAL)
        r = check_rejected_and_closed(tt, c, (414, 431), sent, HEAD_TOTAL, "endless target")
    print("endless target: %d after %d bytes sent" % (r.status, sent))
    line = tt.log_line()
    assert line["status"] == r.status and line["fault"], line
    assert app.requests == 0, app.stats()


# -- (d) endless chunked bodies --------------------------------------------------

CHUNK = b"%x\r\n%s\r\n" % (16384, b"c" * 16384)
CHUNK_DATA = 16384
STREAM_RATE = 48 << 20  # bytes a second
CHUNKED_HEAD = b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"


def test_endless_chunked_body_over_body_limit_gets_413_and_close(telltale, app):
    tt = telltale(upstream_config(app, limits={"body_bytes": "1m"}))
    total = 256 << 20
    with tt.conn(timeout=10) as c:
        sent = flood(c, CHUNKED_HEAD, CHUNK, total, pause=0, seconds=3.0)
        check_rejected_and_closed(tt, c, 413, sent, total, "endless chunked body")
    print("endless chunked body, limit 1m: 413 after %d bytes sent" % sent)
    assert sent > 1 << 20, "413 after only %d bytes, under the 1 MiB limit" % sent
    # How far past the limit the client got is bounded by socket buffers.
    assert sent < 32 << 20, "413 only after %d bytes with body_bytes 1m" % sent
    line = tt.log_line()
    assert line["status"] == 413 and line["fault"] == "body_too_large", line
    assert app.requests == 0, "the upstream got a complete request: %r" % app.stats()


def test_endless_chunked_body_without_limit_streams_in_bounded_memory(telltale, app):
    """No body limit: the chunks stream to an upstream that reads and
    discards them for 3 s (48 MiB/s), then the body ends and the upstream answers
    with the length it got."""
    tt = telltale(upstream_config(app))
    sent_data = 0
    with RssSampler(tt) as rss, tt.conn(timeout=20) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.send(CHUNKED_HEAD)
        t0 = time.monotonic()
        deadline = t0 + 3.0
        while time.monotonic() < deadline and sent_data < (160 << 20):
            assert not readable(c.sock), "telltale answered mid-body: %r" % c.sock.recv(300)
            c.send(CHUNK)
            sent_data += CHUNK_DATA
            ahead = sent_data / STREAM_RATE - (time.monotonic() - t0)
            if ahead > 0.01:  # paced: a stream for the whole 3 s, not a burst
                time.sleep(ahead)
        elapsed = time.monotonic() - t0
        c.send(b"0\r\n\r\n")
        r = c.read_response(timeout=20)
    print("endless chunked body, no limit: %d MiB streamed in %.1f s; VmRSS max %d KiB"
          % (sent_data >> 20, elapsed, rss.max))
    assert r.status == 200, r
    assert r.json()["body_len"] == sent_data, (r.json()["body_len"], sent_data)
    assert r.json()["framing"] == "chunked", r.json()
    assert rss.samples > 0
    assert rss.max < RSS_LIMIT_KIB, "VmRSS reached %d KiB streaming a chunked body" % rss.max
    assert tt.log_line()["status"] == 200


# -- (e) a client that never reads -------------------------------------------------

DOWNLOAD = 64 << 20


def test_client_that_never_reads_a_64m_download_costs_bounded_memory(telltale, app):
    tt = telltale(upstream_config(app))
    assert tt.request("GET", "/echo").status == 200  # warm
    before = tt.vmrss_kib()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(5)
    with RssSampler(tt) as rss:
        try:
            s.connect(("127.0.0.1", tt.port))
            s.sendall(build_request("GET", "/bytes?n=%d" % DOWNLOAD))
            time.sleep(3.0)  # and never read
            peek = s.recv(64, socket.MSG_PEEK)
        finally:
            s.close()
        # The upstream side must be let go once the client is gone.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with app.lock:
                upstream_open = len(app._conns)
            if upstream_open == 0:
                break
            time.sleep(0.05)
    print("never-reading client: VmRSS %d -> max %d KiB; upstream connections open after "
          "close: %d" % (before, rss.max, upstream_open))
    assert peek.startswith(b"HTTP/1.1 200 "), peek
    assert rss.max - before < 16 * 1024, "VmRSS grew %d KiB while a client did not read a " \
        "64 MiB response" % (rss.max - before)
    assert rss.max < RSS_LIMIT_KIB, rss.max
    assert upstream_open == 0, "upstream connection still open 5 s after the client left"
    lines = tt.log_lines(2, timeout=3)
    assert len(lines) == 2, lines
    assert lines[1]["bytes_out"] < DOWNLOAD, lines[1]
    assert tt.request("GET", "/echo").status == 200


def test_client_that_never_reads_is_not_blamed_on_the_upstream(telltale, app):
    """The same stall with upstream_idle: 1s. telltale stops reading the
    upstream because the client does not read (backpressure); the upstream
    is not silent, it is blocked by flow control. Whatever ends the
    exchange, the log line and the server's fault count must not say the
    upstream went silent."""
    # downstream_idle bounds how long telltale waits for a client that
    # stopped reading: it, not upstream_idle, must end this exchange.
    tt = telltale(upstream_config(app, timeouts={"upstream_idle": "1s",
                                                 "downstream_idle": "2s"}))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.settimeout(5)
    try:
        s.connect(("127.0.0.1", tt.port))
        s.sendall(build_request("GET", "/bytes?n=%d" % (16 << 20)))
        lines = tt.log_lines(1, timeout=4)  # and never read
    finally:
        s.close()
    assert lines, "no log line 4 s into a stalled download (upstream_idle 1s)"
    line = lines[0]
    print("never-reading client, upstream_idle 1s: %r" % {
        k: line.get(k) for k in ("status", "fault", "fault_type", "fault_details", "duration_ms")})
    st = tt.admin("/status.json").json()
    server = st["upstreams"][0]["servers"][0]
    assert line["fault_type"] != "connection_read_timeout", "the client's stall was logged as " \
        "the upstream going silent: %r" % line
    assert line["fault"] == "downstream_stalled", line
    assert server["faults"] == 0, "the client's stall counted as a fault of the server: %r" % (
        server)
