"""Exhaustion (GitHub issue 9, item 4): at the descriptor limit (a low
RLIMIT_NOFILE set in the child) and at limits.max_connections, telltale
keeps serving the connections it has, stops accepting without spinning,
and accepts again when connections close. CPU is read from /proc/PID/stat
while saturated. Every loop is bounded in time and count."""

import os
import resource
import select
import socket
import time

from conftest import upstream_config
from httpc import Conn

REQ = b"GET /echo HTTP/1.1\r\nHost: example.test\r\n\r\n"
NOFILE = 128


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); [0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid, seconds):
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def low_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, hard))


def open_clients(port, n):
    """n connections, each with one request sent (the kernel completes the
    handshake from its backlog whether or not telltale accepts)."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(REQ)
        s.setblocking(False)
        socks.append(s)
    return socks


def complete(data):
    """A whole response: its head and its Content-Length body (the upstream
    sends them apart, so they may arrive apart)."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    for line in data[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(data) - end - 4 >= int(value)
    return True


def collect(socks, got, closed, seconds):
    """Read what arrives on socks for up to `seconds` (or until every one has
    a whole response or is closed)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        live = [s for s in socks if s not in closed and not complete(got.get(s, b""))]
        if not live:
            return
        ready, _, _ = select.select(live, [], [], max(0.01, end - time.monotonic()))
        for s in ready:
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                closed.add(s)
                continue
            if data:
                got[s] = got.get(s, b"") + data
            else:
                closed.add(s)


def status_of(data):
    return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None


def test_at_the_descriptor_limit_accepting_pauses_and_resumes(telltale, app):
    tt = telltale(upstream_config(app), preexec_fn=low_nofile)
    n = 120
    socks = open_clients(tt.port, n)
    got, closed = {}, set()
    try:
        collect(socks, got, closed, 3.0)
        served = [s for s in socks if status_of(got.get(s, b"")) == 200]
        waiting = [s for s in socks if s not in got and s not in closed]
        print("nofile %d: %d of %d served, %d waiting, %d closed"
              % (NOFILE, len(served), n, len(waiting), len(closed)))
        assert 10 <= len(served) <= NOFILE // 2, len(served)
        assert not closed, "%d connections were closed instead of waiting" % len(closed)
        assert len(served) + len(waiting) == n
        # Saturated: no accept loop spinning on EMFILE.
        share = cpu_share(tt.pid, 2.0)
        print("cpu while saturated: %.1f%%" % (share * 100))
        assert share < 0.15, "telltale used %.0f%% of a CPU while paused" % (share * 100)
        # The connections it has are still served.
        s = served[0]
        got[s] = b""
        s.sendall(REQ)
        collect([s], got, closed, 5.0)
        assert status_of(got.get(s, b"")) == 200, got.get(s)
        assert tt.metric("telltale_downstream_accept_paused_total") >= 1
        # Closing them lets the waiting ones in, all of them, in turn.
        answered = set(served)
        deadline = time.monotonic() + 30
        while len(answered) < n and time.monotonic() < deadline:
            for s in list(answered):
                if s.fileno() >= 0:
                    s.close()
            pending = [s for s in socks if s.fileno() >= 0]
            collect(pending, got, closed, 2.0)
            answered |= {s for s in pending if status_of(got.get(s, b"")) == 200}
            assert not (closed - answered), "waiting connections were closed"
        assert len(answered) == n, "%d of %d answered after closing" % (len(answered), n)
    finally:
        for s in socks:
            s.close()
    assert tt.request("GET", "/echo").status == 200
    assert tt.proc.poll() is None


def test_past_max_connections_503_then_recovery_without_spinning(telltale, app):
    tt = telltale(upstream_config(app, limits={"max_connections": 20}))
    socks = open_clients(tt.port, 60)
    got, closed = {}, set()
    try:
        collect(socks, got, closed, 3.0)
        statuses = [status_of(got.get(s, b"")) for s in socks]
        assert statuses.count(200) == 20, statuses
        assert statuses.count(503) == 40, statuses
        share = cpu_share(tt.pid, 2.0)
        print("cpu with 20 connections open at the limit: %.1f%%" % (share * 100))
        assert share < 0.15, share
        with Conn(tt.port, timeout=5) as c:
            assert c.request("GET", "/echo").status == 503
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 5
    status = None
    while time.monotonic() < deadline:
        status = tt.request("GET", "/echo").status
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200
