"""Bodies spliced socket to socket, responses and uploads (issue 8: a body
is copied zero times where splice can be used on plain sockets).

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
from httpc import build_request, chunked
from upstreams import (close, pattern_bytes, pattern_sha256, recv_head, recv_request, rst, send,
                       sleep)

MIB = 1048576


def spliced(tt, body="response"):
    """telltale_{response,request}_body_spliced_bytes_total."""
    r = tt.admin("/metrics")
    assert r.status == 200, r
    name = "telltale_%s_body_spliced_bytes_total" % body
    m = re.search(rb"^" + name.encode() + rb" (\d+)$", r.body, re.M)
    assert m, "no %s sample in /metrics" % name
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


# -- request bodies (uploads) --------------------------------------------------
# A Content-Length request body between plain sockets, with at least 16 KiB
# still to come once the bytes that came with the head are sent, goes
# downstream socket -> pipe -> upstream socket, counted by
# telltale_request_body_spliced_bytes_total.

def upload_spliced(tt):
    return spliced(tt, "request")


def post(n, target="/echo", headers=()):
    return build_request("POST", target, headers=list(headers) + [("Content-Length", str(n))])


def test_a_large_upload_is_spliced_and_arrives_intact(telltale, app):
    tt = telltale(upstream_config(app))
    before = upload_spliced(tt)
    n = 4 * MIB
    with tt.conn(timeout=20) as c:
        c.send(post(n) + pattern_bytes(n))
        r = c.read_response()
    assert r.status == 200, r
    got = r.json()
    assert got["body_len"] == n and got["body_sha256"] == pattern_sha256(n), got
    moved = upload_spliced(tt) - before
    # All but what arrived with the head (at most one read buffer).
    assert n - 65536 <= moved <= n, moved
    assert spliced(tt) == 0, "a small response was spliced"
    line = tt.log_line()
    assert line["status"] == 200 and line["fault"] is None, line
    assert line["bytes_in"] == n, line


def test_spliced_uploads_keep_both_connections_alive_and_pipelined_requests_wait(telltale, app):
    """An upload, then an upload and a GET pipelined behind it: splicing
    takes exactly the body's bytes from the socket, so the requests after
    it are read whole, and one upstream connection serves all three."""
    tt = telltale(upstream_config(app))
    before = upload_spliced(tt)
    with tt.conn(timeout=20) as c:
        c.send(post(300000, "/echo?1") + pattern_bytes(300000))
        r1 = c.read_response()
        c.send(post(MIB, "/echo?2") + pattern_bytes(MIB) + build_request("GET", "/echo?3"))
        r2 = c.read_response()
        r3 = c.read_response()
    assert r1.status == 200 and r1.json()["body_sha256"] == pattern_sha256(300000), r1
    assert r2.status == 200 and r2.json()["target"] == "/echo?2", r2
    assert r2.json()["body_len"] == MIB and r2.json()["body_sha256"] == pattern_sha256(MIB)
    assert r3.status == 200 and r3.json()["target"] == "/echo?3", r3
    assert r3.json()["body_len"] == 0 and r3.json()["method"] == "GET"
    assert app.connections == 1, "upstream connections: %d" % app.connections
    assert upload_spliced(tt) - before >= 300000 + MIB - 2 * 65536


def test_an_upload_after_100_continue_is_spliced(telltale, app):
    """The client waits for 100 Continue: the head arrives alone, and the
    body takes the splice (all of it, unless some bytes beat telltale's
    connect to the upstream and wait in its buffer)."""
    tt = telltale(upstream_config(app))
    before = upload_spliced(tt)
    n = MIB
    with tt.conn(timeout=20) as c:
        c.send(post(n, headers=[("Expect", "100-continue")]))
        interim = c.read_head(timeout=3)
        assert interim.status == 100, interim
        c.send(pattern_bytes(n))
        r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_len"] == n and r.json()["body_sha256"] == pattern_sha256(n)
    assert n - 65536 <= upload_spliced(tt) - before <= n


def test_a_chunked_upload_is_not_spliced(telltale, app):
    """Chunked framing is decoded and written again by telltale: the pump
    carries it."""
    tt = telltale(upstream_config(app))
    before = upload_spliced(tt)
    body = pattern_bytes(300000)
    with tt.conn() as c:
        c.send(build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]) +
               chunked(body[:100000], body[100000:]))
        r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_len"] == 300000 and r.json()["body_sha256"] == pattern_sha256(300000)
    assert upload_spliced(tt) == before


def test_an_upstream_that_reads_late_gets_every_byte(telltale, raw_upstream):
    """The upstream reads nothing for a second: telltale's socket toward it
    fills, the splice waits for room (one byte through libuv's write) and
    the downstream is paused meanwhile; then every byte arrives in order."""
    n = 16 * MIB
    up = raw_upstream([sleep(1.0), recv_request(),
                       send(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")])
    tt = telltale(upstream_config(up))
    before = upload_spliced(tt)
    with tt.conn(timeout=30) as c:
        c.send(post(n, "/up") + pattern_bytes(n))
        r = c.read_response(timeout=30)
    assert r.status == 201 and r.body == b"ok", r
    assert len(up.bodies) == 1 and len(up.bodies[0]) == n
    assert sha(up.bodies[0]) == pattern_sha256(n), "the upload arrived changed"
    assert upload_spliced(tt) - before >= n - 65536
    line = tt.log_line()
    assert line["status"] == 201 and line["fault"] is None and line["bytes_in"] == n, line


def test_a_client_gone_mid_upload(telltale, app):
    """The client sends 200,000 bytes of a 4 MiB body and closes: the
    exchange ends as downstream_closed, telling how far the body got, and
    the next request is served."""
    tt = telltale(upstream_config(app))
    before = upload_spliced(tt)
    s = socket.create_connection(("127.0.0.1", tt.port), timeout=10)
    s.sendall(post(4 * MIB) + pattern_bytes(200000))
    time.sleep(0.3)
    s.close()
    line = tt.log_line(timeout=10)
    assert line["fault"] == "downstream_closed" and line["status"] == 499, line
    assert "200000 bytes of the request body" in line["fault_details"], line
    assert line["bytes_in"] == 200000, line
    assert upload_spliced(tt) - before >= 200000 - 65536
    r = tt.request("POST", "/echo", body=b"after")
    assert r.status == 200 and r.json()["body_len"] == 5, r


def test_an_upstream_gone_mid_upload_is_a_502(telltale, raw_upstream):
    up = raw_upstream([recv_head(), sleep(0.3), rst()])
    tt = telltale(upstream_config(up))
    n = 16 * MIB
    with tt.conn(timeout=20) as c:
        try:
            c.send(post(n, "/up") + pattern_bytes(n))
        except OSError:
            pass  # telltale may stop reading and answer first
        r = c.read_response(timeout=10)
    assert r.status == 502, r
    line = tt.log_line()
    assert line["status"] == 502, line
    # Whether the read or the write saw the reset first, the stage is the
    # same: the upstream left while the request was going out.
    assert line["fault"] == "upstream_closed" and line["fault_stage"] == "send", line
    d = line["fault_details"]
    assert "while the request was being sent, after" in d or "writing the request" in d, line
    assert "bytes of its body" in d, line


def test_a_dripped_spliced_upload_gets_the_body_timeout(telltale, app):
    """limits.downstream_min_rate counts spliced bytes as read ones."""
    cfg = upstream_config(app, limits={"downstream_min_rate": 100},
                          timeouts={"downstream_rate_window": "1s", "downstream_idle": "30s"})
    tt = telltale(cfg)
    before = upload_spliced(tt)
    with tt.conn(timeout=10) as c:
        c.send(post(100000))
        t0 = time.monotonic()
        for i in range(25):  # 10 bytes/s, under 100, for 2.5 s
            try:
                c.send(b"b")
            except OSError:
                break
            time.sleep(0.1)
        r = c.read_response(timeout=5, allow_incomplete=True)
        took = time.monotonic() - t0
    assert r.status == 408, r
    assert took < 8, took
    line = tt.log_line()
    assert line["fault"] == "request_body_timeout", line
    assert "downstream_min_rate" in (line.get("fault_details") or ""), line
    # Only the dripped bytes were spliced, and the window judged them.
    assert 5 <= upload_spliced(tt) - before <= 25, upload_spliced(tt) - before
