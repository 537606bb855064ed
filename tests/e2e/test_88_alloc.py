"""The hot path allocates nothing per request once warm (GitHub issue 8,
item 3).

The release binary build/telltale runs with build/alloc_count.so preloaded
(tests/e2e/alloc_count.c: it counts malloc, calloc, realloc, the aligned
allocators and free in a shared file). After 1,000 warm-up requests the
counts are read, 10,000 keep-alive requests of five kinds go through (small
GET, 64 KiB GET, POST with a 16 KiB body, POST with a 64 KiB body (spliced
both ways), a chunked response), and the
counts are read again: the difference must be zero. The access log stays on
(to stdout), so writing it is part of the path being counted.

make e2e builds both build/telltale and build/alloc_count.so. The ASan
build cannot be used here: it replaces the allocator itself."""

import os
import re
import socket
import struct
import threading
import time

import pytest

from conftest import upstream_config
from httpc import Conn

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "build")
SLOTS = ("malloc", "calloc", "realloc", "free", "aligned", "bytes")

WARMUP = 1000
MEASURED = 10000
POST_BODY = bytes(range(256)) * 64  # 16 KiB
POST_BIG = bytes(range(256)) * 256  # 64 KiB: spliced up, and back down


def build_file(name):
    path = os.path.abspath(os.path.join(BUILD, name))
    if not os.access(path, os.R_OK):
        pytest.fail("%s is missing; build it (make build/telltale build/alloc_count.so, "
                    "or make e2e)" % path, pytrace=False)
    return path


def read_counts(path):
    with open(path, "rb") as f:
        data = f.read(8 * 8)
    return dict(zip(SLOTS, struct.unpack("<6Q", data[:48])))


def allocations(c):
    return c["malloc"] + c["calloc"] + c["realloc"] + c["aligned"]


# (method, target, body, expected status, expected body length)
KINDS = [
    ("GET", "/small", None, 200, 100),
    ("GET", "/64k", None, 200, 65536),
    ("POST", "/post", POST_BODY, 200, len(POST_BODY)),
    ("POST", "/post", POST_BIG, 200, len(POST_BIG)),
    ("GET", "/chunked", None, 200, 4000),
]


def response(status_line, headers, body):
    head = status_line + "".join("\r\n%s: %s" % h for h in headers) + "\r\n\r\n"
    return head.encode("latin-1") + body


def chunked_body(pieces):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


class FastUpstream:
    """A keep-alive HTTP/1.1 origin on 127.0.0.1 with TCP_NODELAY that sends
    each response in one write (the AppUpstream writes head and body
    separately, which with Nagle and delayed ACKs costs 40 ms a request).
    POST answers with the request body it read; request bodies must carry a
    Content-Length."""

    RESPONSES = {
        "/small": response("HTTP/1.1 200 OK", [("Content-Length", "100")], b"s" * 100),
        "/64k": response("HTTP/1.1 200 OK", [("Content-Length", "65536")], b"b" * 65536),
        "/chunked": response("HTTP/1.1 200 OK", [("Transfer-Encoding", "chunked")],
                             chunked_body([b"c" * 1000] * 4)),
    }

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = 0
        self.errors = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.accept_loop, daemon=True)]
        self.threads[0].start()

    def accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self.serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def serve(self, conn):
        conn.settimeout(30)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        try:
            while not self.stopping.is_set():
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    continue
                lines = buf[:end].decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ")
                clen = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        clen = int(value)
                while len(buf) < end + 4 + clen:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body = buf[end + 4:end + 4 + clen]
                buf = buf[end + 4 + clen:]
                self.requests += 1
                if method == "POST":
                    out = response("HTTP/1.1 200 OK", [("Content-Length", str(len(body)))], body)
                else:
                    out = self.RESPONSES.get(target)
                    if out is None:
                        self.errors.append(target)
                        out = response("HTTP/1.1 404 Not Found", [("Content-Length", "0")], b"")
                conn.sendall(out)
        except (OSError, ValueError) as e:
            if not self.stopping.is_set():
                self.errors.append(repr(e))
        finally:
            conn.close()

    def close(self):
        self.stopping.set()
        self.sock.close()
        for t in self.threads:
            t.join(5)


def run_requests(conn, n, offset):
    """n requests on one keep-alive connection, cycling through KINDS; every
    response is checked so that a failing proxy cannot pass as lean."""
    for i in range(n):
        method, target, body, status, blen = KINDS[(offset + i) % len(KINDS)]
        r = conn.request(method, target, body=body, store_body=method == "POST")
        assert r.status == status, r
        assert r.complete, r
        assert r.body_len == blen, r
        if body is not None:
            assert r.body == body


@pytest.fixture
def origin():
    o = FastUpstream()
    yield o
    o.close()
    assert not o.errors, o.errors


def test_no_allocation_per_request_once_warm(telltale, origin, tmp_path, monkeypatch):
    binary = build_file("telltale")
    shim = build_file("alloc_count.so")
    counter = str(tmp_path / "alloc.counts")
    monkeypatch.setenv("TELLTALE_BIN", binary)
    monkeypatch.setenv("LD_PRELOAD", shim)
    monkeypatch.setenv("ALLOC_COUNT_FILE", counter)
    tt = telltale(upstream_config(origin))
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.delenv("ALLOC_COUNT_FILE")

    start = read_counts(counter)
    assert allocations(start) > 0, "the shim counted nothing at startup: is it preloaded?"

    t0 = time.monotonic()
    with Conn(tt.port, timeout=10) as conn:
        run_requests(conn, WARMUP, 0)
        time.sleep(0.3)  # let the access log flush and any timers settle
        before = read_counts(counter)
        # the first requests opened the upstream connection: the counter is
        # live in the serving process, so a zero below means something
        assert allocations(before) > allocations(start), (start, before)
        run_requests(conn, MEASURED, WARMUP)
        time.sleep(0.3)
        after = read_counts(counter)
    elapsed = time.monotonic() - t0

    delta = {k: after[k] - before[k] for k in SLOTS}
    assert allocations(delta) == 0, (
        "telltale allocated during %d warm proxied requests: %r (%.1f s)" % (MEASURED, delta, elapsed))
    assert delta["free"] == 0, delta
    # The 64 KiB bodies took the splice path both ways: it is counted too.
    metrics = tt.admin("/metrics").body.decode()
    for name in ("request", "response"):
        sample = re.search(r"^telltale_%s_body_spliced_bytes_total (\d+)$" % name, metrics, re.M)
        assert sample and int(sample.group(1)) > 0, "no %s body was spliced" % name
    lines = tt.log_lines(WARMUP + MEASURED, timeout=10)
    assert len(lines) == WARMUP + MEASURED
    assert origin.requests == WARMUP + MEASURED
