"""Response bodies spliced socket to socket (issue 8: a body is copied zero
times where splice can be used on plain sockets).

A body passed as it is (Content-Length, or until close to an HTTP/1.0
client) of at least 16 KiB beyond what came with the head goes upstream
socket -> pipe -> downstream socket. The metric
telltale_response_body_spliced_bytes_total counts those bytes, so each test
can tell the spliced path from the copying one; every body is checked byte
for byte against the upstream's pattern.
"""

import hashlib
import re
import socket
import time

from conftest import upstream_config
from httpc import build_request
from upstreams import close, pattern_sha256, recv_head, rst, send, sleep

MIB = 1048576


def spliced(tt):
    r = tt.admin("/metrics")
    assert r.status == 200, r
    m = re.search(rb"^telltale_response_body_spliced_bytes_total (\d+)$", r.body, re.M)
    assert m, "no spliced-bytes sample in /metrics"
    return int(m.group(1))


def sha(data):
    return hashlib.sha256(data).hexdigest()


def test_a_large_body_is_spliced_and_arrives_intact(telltale, app):
    tt = telltale(upstream_config(app))
    before = spliced(tt)
    r = tt.request("GET", "/bytes?n=%d" % MIB)
    assert r.status == 200, r
    assert r.body_len == MIB and sha(r.body) == pattern_sha256(MIB)
    moved = spliced(tt) - before
    # All but what arrived with the head (at most one read buffer).
    assert MIB - 65536 <= moved <= MIB, moved
    line = tt.log_line()
    assert line["status"] == 200 and line["fault"] is None, line
    assert line["bytes_out"] > MIB, line


def test_spliced_responses_keep_both_connections_alive(telltale, app):
    """Three spliced bodies and a small one on one downstream connection:
    the upstream connection is reused for all four (the pipe leaves no byte
    behind to make it unusable)."""
    tt = telltale(upstream_config(app))
    before = spliced(tt)
    with tt.conn() as c:
        for n in (300000, 65536 * 3 + 17, MIB):
            r = c.request("GET", "/bytes?n=%d" % n)
            assert r.status == 200 and r.body_len == n, r
            assert sha(r.body) == pattern_sha256(n)
        r = c.request("GET", "/echo")
        assert r.status == 200, r
        assert r.json()["method"] == "GET"
    assert app.connections == 1, "upstream connections: %d" % app.connections
    assert spliced(tt) - before >= 300000 + 65536 * 3 + MIB - 3 * 65536


def test_pipelined_requests_after_a_spliced_body(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        c.send(build_request("GET", "/bytes?n=200000") + build_request("GET", "/echo?second"))
        r1 = c.read_response()
        r2 = c.read_response()
    assert r1.status == 200 and r1.body_len == 200000 and sha(r1.body) == pattern_sha256(200000)
    assert r2.status == 200 and r2.json()["target"] == "/echo?second", r2


def test_http10_close_delimited_body_is_spliced(telltale, app):
    tt = telltale(upstream_config(app))
    before = spliced(tt)
    n = 700000
    with tt.conn() as c:
        c.send(build_request("GET", "/close-delimited?n=%d" % n, version="HTTP/1.0"))
        r = c.read_response()
        assert c.eof
    assert r.status == 200 and r.body_len == n, r
    assert sha(r.body) == pattern_sha256(n)
    assert spliced(tt) - before >= n - 65536


def test_a_rechunked_body_is_not_spliced(telltale, app):
    """HTTP/1.1 downstream, close-delimited upstream: telltale writes chunk
    framing around the payload, so the pump carries it."""
    tt = telltale(upstream_config(app))
    before = spliced(tt)
    r = tt.request("GET", "/close-delimited?n=300000")
    assert r.status == 200 and r.body_len == 300000, r
    assert r.header("transfer-encoding") == "chunked"
    assert sha(r.body) == pattern_sha256(300000)
    assert spliced(tt) == before


def test_a_slow_reader_gets_every_byte(telltale, app):
    """The downstream fills up while splicing: telltale waits for room
    (one byte of the pipe through libuv's write) and goes on."""
    tt = telltale(upstream_config(app))
    n = 4 * MIB
    before = spliced(tt)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(10)
    s.connect(("127.0.0.1", tt.port))
    s.sendall(build_request("GET", "/bytes?n=%d" % n, headers=[("Connection", "close")]))
    data = bytearray()
    deadline = time.monotonic() + 20
    pauses = 0
    while time.monotonic() < deadline:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
        if pauses < 20 and len(data) > (pauses + 1) * 100000:
            pauses += 1
            time.sleep(0.05)  # the kernel buffers fill; telltale must wait
    s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head[:100]
    assert len(body) == n and sha(body) == pattern_sha256(n)
    assert spliced(tt) - before >= n - 65536
    line = tt.log_line()
    assert line["status"] == 200 and line["fault"] is None, line


def test_upstream_cut_mid_splice_cuts_downstream(telltale, raw_upstream):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % MIB
    body = b"x" * 300000
    for how in (close, rst):
        up = raw_upstream([recv_head(), send(head), sleep(0.1), send(body), sleep(0.2), how()])
        tt = telltale(upstream_config(up))
        before = spliced(tt)
        with tt.conn(timeout=5) as c:
            c.send(build_request("GET", "/big"))
            r = c.read_response(allow_incomplete=True)
            assert r.status == 200, r
            assert not r.complete, "a body cut by the upstream looked complete: %r" % r
            assert r.body_len == 300000
            assert c.eof, "connection not closed after the cut body"
        assert spliced(tt) - before == 300000
        line = tt.log_line()
        assert line["status"] == 200 and line["upstream_status"] == 200, line
        if how is close:
            assert line["fault"] == "upstream_incomplete", line
        else:
            assert line["fault"] in ("upstream_incomplete", "upstream_closed"), line


def test_downstream_gone_mid_splice(telltale, app):
    """The client leaves after 100 KB of 8 MiB: the exchange ends with
    downstream_closed, the half-read upstream connection is not reused, and
    the next request is served."""
    tt = telltale(upstream_config(app))
    n = 8 * MIB
    s = socket.create_connection(("127.0.0.1", tt.port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.sendall(build_request("GET", "/bytes?n=%d" % n))
    got = 0
    while got < 100000:
        chunk = s.recv(65536)
        assert chunk
        got += len(chunk)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # a reset: the next splice out fails at once
    line = tt.log_line(timeout=10)
    assert line["fault"] == "downstream_closed", line
    # The story says who left and how far the response got.
    assert "127.0.0.1:" in line["fault_details"], line
    assert "bytes of the response" in line["fault_details"], line
    r = tt.request("GET", "/bytes?n=100000")
    assert r.status == 200 and sha(r.body) == pattern_sha256(100000), r
    assert app.connections == 2, "the cut upstream connection was reused"
