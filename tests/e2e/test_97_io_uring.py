"""Socket sends batched on io_uring (issue 8; src/net/ring.c), and the
libuv writes that `io_uring: off` keeps.

Each worker has its own ring; with `io_uring: off` none exists. Both ways
carry the same traffic byte for byte. A send still in the kernel when its
connection is cut (a client that stopped reading, an upstream that takes no
request bytes) is cancelled: the socket really closes, so the peer sees the
end of the connection instead of a socket kept alive by the ring."""

import hashlib
import os
import signal
import socket
import threading
import time

import pytest

from conftest import upstream_config
from httpc import Conn, build_request
from upstreams import pattern_bytes, pattern_sha256

MODES = ["auto", "off"]
ESTABLISHED = "01"


def rings(tt):
    """io_uring instances the telltale process holds."""
    n = 0
    fd_dir = "/proc/%d/fd" % tt.proc.pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == "anon_inode:[io_uring]":
                n += 1
        except OSError:
            pass
    return n


def sha(b):
    return hashlib.sha256(b).hexdigest()


def wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def test_each_worker_has_its_ring_and_off_has_none(telltale, app):
    tt = telltale(upstream_config(app, workers=2))
    assert wait_for(lambda: rings(tt) == 2), "%d rings for 2 workers" % rings(tt)
    assert tt.request("GET", "/echo").status == 200
    tt.stop()
    tt = telltale(upstream_config(app, workers=2, io_uring="off"))
    assert tt.request("GET", "/echo").status == 200
    assert rings(tt) == 0, "io_uring: off made %d rings" % rings(tt)
    assert "io_uring unavailable" not in tt.stderr()


@pytest.mark.parametrize("mode", MODES)
def test_the_same_traffic_either_way(telltale, app, mode):
    """Small and large, copied and spliced, chunked both ways, pipelined:
    every byte arrives, in order, and nothing is left over."""
    tt = telltale(upstream_config(app, io_uring=mode))
    with Conn(tt.port) as c:
        r = c.request("GET", "/bytes?n=100")
        assert r.status == 200 and r.body == pattern_bytes(100), r
        r = c.request("GET", "/bytes?n=%d" % (4 << 20))  # spliced
        assert r.status == 200 and sha(r.body) == pattern_sha256(4 << 20), r
        r = c.request("GET", "/chunks?n=300&size=1000")  # re-framed: the pump
        assert r.status == 200 and len(r.body) == 300000, r
        body = os.urandom(200000)  # a spliced upload
        r = c.request("POST", "/echo", body=body)
        assert r.status == 200 and r.json()["body_len"] == len(body), r
        # A chunked upload of many chunks: the copying request pump.
        chunks = b"".join(b"%x\r\n%s\r\n" % (1000, b"c" * 1000) for _ in range(100)) + b"0\r\n\r\n"
        c.send(build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]) + chunks)
        r = c.read_response()
        assert r.status == 200 and r.json()["body_len"] == 100000, r
        # Ten pipelined requests in one write, answered in order.
        c.send(b"".join(build_request("GET", "/bytes?n=%d" % (1000 + i)) for i in range(10)))
        for i in range(10):
            r = c.read_response()
            assert r.status == 200 and r.body == pattern_bytes(1000 + i), (i, r)
    lines = tt.log_lines(17)
    assert all(line["status"] == 200 and not line.get("fault") for line in lines), lines
    assert app.connections == 1, "the upstream connection was not kept: %d" % app.connections


@pytest.mark.parametrize("mode", MODES)
def test_a_client_that_stops_reading_is_cut_and_its_socket_closes(telltale, app, mode):
    """A chunked response (written by the pump, not spliced) to a client
    that reads nothing: the write stays in the kernel until
    downstream_idle cuts the exchange. The client must then see the
    connection end, and the next client be served."""
    tt = telltale(upstream_config(app, io_uring=mode, timeouts={"downstream_idle": "1s"}))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.connect(("127.0.0.1", tt.port))
    try:
        s.sendall(build_request("GET", "/chunks?n=2000&size=10000"))  # 20 MB
        line = tt.log_line(timeout=6)
        assert line["fault"] == "downstream_stalled", line
        # telltale's side of the connection is closed for real (a send
        # the ring kept would keep it established)...
        me = s.getsockname()[1]
        assert wait_for(lambda: ESTABLISHED not in tcp_states(tt.port, me)), \
            "telltale's side is still established: %r" % (tcp_states(tt.port, me),)
        # ... and whatever was sent before the cut can be read; then the end.
        s.settimeout(5)
        got, end = 0, None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                data = s.recv(1 << 20)
            except ConnectionResetError:
                end = "reset"
                break
            if not data:
                end = "eof"
                break
            got += len(data)
        assert end, "the connection is still open 5 s after the cut (%d bytes read)" % got
        assert got < 20000000, got
    finally:
        s.close()
    r = tt.request("GET", "/bytes?n=5000")
    assert r.status == 200 and r.body == pattern_bytes(5000), r


def tcp_states(local_port=None, remote_port=None):
    """TCP states (hex, as in /proc/net/tcp) of the IPv4 loopback
    connections with these ports."""
    states = []
    with open("/proc/net/tcp") as f:
        next(f)
        for row in f:
            fields = row.split()
            loc_port = int(fields[1].split(":")[1], 16)
            rem_port = int(fields[2].split(":")[1], 16)
            if local_port in (None, loc_port) and remote_port in (None, rem_port):
                states.append(fields[3])
    return states


@pytest.mark.parametrize("mode", MODES)
def test_an_upstream_that_takes_no_request_bytes_is_cut_and_its_socket_closes(telltale, mode):
    """A chunked upload to an upstream that reads the head and nothing
    more: once every buffer on the way is full, telltale's write to it
    stays in the kernel until downstream_idle ends the exchange with a
    write timeout. telltale's socket to the upstream must then be closed
    for real (a send the ring kept would keep it established)."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # inherited
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(4)
    port = lsock.getsockname()[1]
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(lsock.accept()[0]), daemon=True)
    t.start()
    tt = telltale(upstream_config("127.0.0.1:%d" % port, io_uring=mode,
                                  timeouts={"downstream_idle": "1s"}))
    c = socket.create_connection(("127.0.0.1", tt.port), timeout=10)
    chunk = b"%x\r\n%s\r\n" % (65536, b"u" * 65536)

    def upload():
        try:
            c.sendall(build_request("POST", "/upload",
                                    headers=[("Transfer-Encoding", "chunked")]))
            for _ in range(1024):  # 64 MiB: more than every buffer on the way
                c.sendall(chunk)
        except OSError:
            pass

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    try:
        line = tt.log_line(timeout=15)
        print("upload to a deaf upstream (%s): %r" % (mode, {
            k: line.get(k) for k in ("status", "fault", "fault_details", "bytes_in")}))
        assert line["fault"] == "write_timeout" and line["status"] == 504, line
        assert "took no request bytes" in line["fault_details"], line
        assert wait_for(lambda: ESTABLISHED not in tcp_states(remote_port=port)), \
            "telltale's connection to the upstream is still established: %r" % (
                tcp_states(remote_port=port),)
    finally:
        c.close()
        lsock.close()
        for a in accepted:
            a.close()


@pytest.mark.parametrize("mode", MODES)
def test_many_connections_in_one_turn_all_get_their_answer(telltale, app, mode):
    """600 requests on 600 connections, all sent before telltale reads:
    one loop turn holds more sends than a ring batch (256), so some are
    batched and the rest written at once. Each gets its own answer."""
    tt = telltale(upstream_config(app, io_uring=mode))
    conns = []
    try:
        # Stopped, telltale cannot read: the kernel queues the 600
        # connections and their requests, all there at its next turn.
        tt.send_signal(signal.SIGSTOP)
        try:
            for i in range(600):
                conns.append(Conn(tt.port))
            for i, c in enumerate(conns):
                c.send(build_request("GET", "/bytes?n=%d" % (100 + i)))
        finally:
            tt.send_signal(signal.SIGCONT)
        for i, c in enumerate(conns):
            r = c.read_response()
            assert r.status == 200 and r.body == pattern_bytes(100 + i), (i, r)
    finally:
        for c in conns:
            c.close()
