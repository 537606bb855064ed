"""WebSocket and other Upgrade requests (issue 5, item 4): the 101 passes
through and both connections become a byte tunnel; tunnel_idle closes an
idle one; an upstream that refuses is passed on; one that botches the 101
is http_upgrade_failed.

The WebSocket side is written here from RFC 6455 with the standard library
(the handshake's Sec-WebSocket-Accept and the framing), so that the echo
upstream and the client are real WebSocket peers.
"""

import base64
import hashlib
import os
import socket
import struct
import threading
import time

from httpc import Conn
from sfv import Token
from stories import NAME, config, our_member

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
IO_TIMEOUT = 10.0


def accept_for(key):
    """RFC 6455 section 4.2.2: base64(SHA-1(key + GUID))."""
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode()


def frame(opcode, payload, mask):
    """One final frame (RFC 6455 section 5.2); a client masks, a server not."""
    n = len(payload)
    head = bytes([0x80 | opcode])
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Stream:
    """Buffered reads on a socket, bounded by one deadline per call."""

    def __init__(self, sock, buf=b""):
        self.sock = sock
        self.buf = bytearray(buf)

    def _more(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        data = self.sock.recv(262144)
        if not data:
            raise EOFError("end of stream")
        self.buf += data

    def exactly(self, n, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            self._more(deadline)
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def head(self, timeout=IO_TIMEOUT):
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._more(deadline)
        i = self.buf.find(b"\r\n\r\n") + 4
        raw = bytes(self.buf[:i])
        del self.buf[:i]
        lines = raw.decode("latin-1").split("\r\n")
        fields = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                fields.append((name.lower(), value.strip()))
        return lines[0], fields

    def read_frame(self, timeout=IO_TIMEOUT):
        """(opcode, payload), unmasking when masked."""
        b0, b1 = self.exactly(2, timeout)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exactly(2, timeout))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exactly(8, timeout))[0]
        key = self.exactly(4, timeout) if b1 & 0x80 else None
        payload = self.exactly(n, timeout)
        if key:
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        return b0 & 0x0F, payload

    def wait_eof(self, timeout):
        """True when the peer ends its stream (or resets) within timeout;
        bytes received meanwhile are dropped."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.buf.clear()
                self._more(deadline)
        except (EOFError, ConnectionResetError):
            return True
        except socket.timeout:
            return False


def field(fields, name):
    vals = [v for n, v in fields if n == name]
    return ", ".join(vals) if vals else None


class TunnelUpstream:
    """Accepts connections and runs handler(stream, head_fields) on each in
    a thread, after reading the request head. Records per connection:
    heads (status line and fields), events (strings the handler adds)."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.heads = []
        self.events = []
        self.errors = []
        self.done = threading.Event()
        self._stop = threading.Event()
        self._threads = []
        self._acc = threading.Thread(target=self._accept, daemon=True)
        self._acc.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn):
        st = Stream(conn)
        try:
            line, fields = st.head()
            self.heads.append((line, fields))
            self.handler(self, st, fields)
        except Exception as e:  # recorded, asserted by the test
            self.errors.append(repr(e))
        finally:
            conn.close()
            self.done.set()

    def close(self):
        self._stop.set()
        self.sock.close()
        self._acc.join(2)
        for t in self._threads:
            t.join(IO_TIMEOUT + 2)


def ws_echo(up, st, fields, greeting=b"hello from upstream"):
    """A WebSocket echo server: 101 (with a text frame in the same send),
    then each data frame back, until a close frame."""
    key = field(fields, "sec-websocket-key")
    st.sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n"
                     % accept_for(key)).encode() + frame(0x1, greeting, False))
    while True:
        op, payload = st.read_frame()
        if op == 0x8:
            st.sock.sendall(frame(0x8, payload, False))
            up.events.append("closed")
            return
        st.sock.sendall(frame(op, payload, False))
        up.events.append("echo %d" % len(payload))


def handshake(key, extra=b"", target="/chat", offer="websocket"):
    return (("GET %s HTTP/1.1\r\nHost: example.test\r\nUpgrade: %s\r\n"
             "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n" % (target, offer, key)).encode() + extra)


def start(telltale, upstream, **extra):
    return telltale(config(upstream, **extra))


def test_websocket_echo_through_telltale(telltale):
    up = TunnelUpstream(ws_echo)
    try:
        tt = start(telltale, up)
        key = base64.b64encode(os.urandom(16)).decode()
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        # A first frame right behind the head, in the same send: it must
        # reach the upstream after the switch, not be lost or parsed.
        s.sendall(handshake(key, frame(0x1, b"early", True)))
        line, fields = st.head()
        assert line.startswith("HTTP/1.1 101 "), line
        assert field(fields, "sec-websocket-accept") == accept_for(key), fields
        assert field(fields, "upgrade") == "websocket", fields
        assert [t.strip().lower() for t in field(fields, "connection").split(",")] == \
            ["upgrade"], fields
        assert field(fields, "via") == "1.1 " + NAME, fields
        assert field(fields, "content-length") is None and \
            field(fields, "transfer-encoding") is None, fields
        # The upstream's first frame came in the same packet as its 101.
        assert st.read_frame() == (0x1, b"hello from upstream")
        assert st.read_frame() == (0x1, b"early")
        sent = 0
        for msg in [b"one", b"x" * 200, os.urandom(70000), os.urandom(300000), b"last"]:
            s.sendall(frame(0x2, msg, True))
            sent += len(msg)
            op, got = st.read_frame()
            assert op == 0x2 and got == msg, (op, len(got), len(msg))
        s.sendall(frame(0x8, b"\x03\xe8", True))
        assert st.read_frame() == (0x8, b"\x03\xe8")
        assert st.wait_eof(5), "telltale kept the downstream open after the upstream closed"
        s.close()
        up_line, up_fields = up.heads[0]
        assert field(up_fields, "upgrade") == "websocket", up_fields
        assert field(up_fields, "connection").lower() == "upgrade", up_fields
        assert field(up_fields, "sec-websocket-key") == key
        log = tt.log_line()
        assert log["status"] == 101 and log["upstream_status"] == 101, log
        assert log["fault"] is None, log
        assert log["bytes_in"] > sent and log["bytes_out"] > sent, log
        assert up.events[-1] == "closed" and "echo 300000" in up.events, up.events
        assert not up.errors, up.errors
        # Counted like any request, under 1xx.
        m = tt.admin("/metrics")
        rows = [ln for ln in m.body.decode().splitlines()
                if ln.startswith("telltale_requests_total{") and 'code="1xx"' in ln]
        assert sum(float(r.split()[-1]) for r in rows) == 1, rows
    finally:
        up.close()


def raw_echo(up, st, fields, reply=None):
    """Switch to a made-up byte protocol, then echo every byte until the
    downstream's end of stream; record when it came."""
    proto = field(fields, "upgrade")
    # Tunnel bytes must wait for the 101: none may come with the request.
    assert not st.buf, "bytes before the 101: %r" % bytes(st.buf[:40])
    st.sock.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: %s\r\n"
                     "Connection: upgrade\r\n\r\n" % proto).encode())
    st.sock.settimeout(IO_TIMEOUT)
    while True:
        try:
            data = st.sock.recv(65536)
        except ConnectionResetError:
            up.events.append("reset")
            return
        if not data:
            up.events.append("eof")
            up.eof_at = time.monotonic()
            if reply:
                st.sock.sendall(reply)
            return
        st.sock.sendall(data)


def upgrade_request(proto="echo/1", target="/t", extra=b""):
    return ("GET %s HTTP/1.1\r\nHost: h\r\nUpgrade: %s\r\nConnection: upgrade\r\n\r\n"
            % (target, proto)).encode() + extra


def test_idle_tunnel_is_closed_after_tunnel_idle(telltale):
    up = TunnelUpstream(raw_echo)
    try:
        tt = start(telltale, up, timeouts={"tunnel_idle": "1500ms", "total": "400ms",
                                           "upstream_idle": "400ms"})
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        s.sendall(upgrade_request())
        line, _ = st.head()
        assert line.startswith("HTTP/1.1 101"), line
        # Traffic for longer than total and upstream_idle: neither applies
        # to a tunnel, only tunnel_idle does.
        for _ in range(3):
            time.sleep(0.6)
            s.sendall(b"ping")
            assert st.exactly(4) == b"ping"
        t0 = time.monotonic()
        assert st.wait_eof(6), "idle tunnel still open"
        waited = time.monotonic() - t0
        assert 1.0 < waited < 4, waited
        assert up.done.wait(5)
        assert up.events == ["eof"], up.events
        s.close()
        log = tt.log_line()
        assert log["status"] == 101 and log["fault"] is None, log
        assert log["bytes_in"] == 12, log
        assert not up.errors, up.errors
    finally:
        up.close()


def test_upgrade_request_with_a_body_sends_the_body_first(telltale):
    got = {}

    def body_then_echo(up, st, fields):
        got["body"] = st.exactly(int(field(fields, "content-length")))
        raw_echo(up, st, fields)

    up = TunnelUpstream(body_then_echo)
    try:
        tt = start(telltale, up)
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        s.sendall(b"POST /t HTTP/1.1\r\nHost: h\r\nUpgrade: echo/1\r\nConnection: Upgrade\r\n"
                  b"Content-Length: 5\r\n\r\nhelloTUNNEL")
        line, fields = st.head()
        assert line.startswith("HTTP/1.1 101"), line
        assert field(fields, "upgrade") == "echo/1", fields
        assert st.exactly(6) == b"TUNNEL"
        s.sendall(b"more")
        assert st.exactly(4) == b"more"
        s.close()
        assert up.done.wait(5)
        assert got["body"] == b"hello", got
        assert up.events == ["eof"], up.events
        assert field(up.heads[0][1], "content-length") == "5", up.heads
        log = tt.log_line()
        assert log["status"] == 101 and log["bytes_in"] == 5 + 6 + 4, log
    finally:
        up.close()


def test_half_close_each_way(telltale):
    """The downstream's FIN reaches the upstream, which still answers after
    it; the upstream's FIN then ends the downstream's stream too."""
    def echo_then_bye(up, st, fields):
        raw_echo(up, st, fields, reply=b"bye")

    up = TunnelUpstream(echo_then_bye)
    try:
        tt = start(telltale, up)
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        s.sendall(upgrade_request(extra=b"abc"))
        line, _ = st.head()
        assert line.startswith("HTTP/1.1 101"), line
        assert st.exactly(3) == b"abc"
        s.shutdown(socket.SHUT_WR)
        assert st.exactly(3) == b"bye"
        assert st.wait_eof(5), "no end of stream after the upstream's"
        s.close()
        assert up.done.wait(5)
        assert up.events == ["eof"], up.events
        log = tt.log_line()
        assert log["status"] == 101 and log["fault"] is None, log
        assert log["bytes_in"] == 3, log
    finally:
        up.close()


def test_downstream_closing_mid_tunnel_closes_the_upstream(telltale):
    up = TunnelUpstream(raw_echo)
    try:
        tt = start(telltale, up)
        for how in ("close", "rst"):
            s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
            st = Stream(s)
            s.sendall(upgrade_request())
            line, _ = st.head()
            assert line.startswith("HTTP/1.1 101"), line
            s.sendall(b"x" * 100000)
            assert st.exactly(100000) == b"x" * 100000
            n_done = len(up.events)
            if how == "rst":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            deadline = time.monotonic() + 5
            while len(up.events) == n_done and time.monotonic() < deadline:
                time.sleep(0.02)
            assert up.events[n_done:] in (["eof"], ["reset"]), (how, up.events)
        lines = tt.log_lines(2)
        assert [l["status"] for l in lines] == [101, 101], lines
        assert all(l["bytes_in"] == 100000 for l in lines), lines
    finally:
        up.close()


def test_upstream_refusing_the_upgrade_is_passed_on(telltale, app):
    tt = telltale(config(app))
    with Conn(tt.port) as c:
        for status in (426, 400):
            r = c.request("GET", "/status/%d?h=Upgrade:websocket" % status, headers=[
                ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                ("Sec-WebSocket-Version", "13")])
            assert r.status == status, r
            assert r.header("proxy-status") is None or \
                "error" not in our_member(r), r
            if status == 426:
                # RFC 9110 section 15.5.22: a 426 names the protocol to
                # switch to; Connection carries the option (section 7.8).
                assert r.header_all("upgrade") == ["websocket"], r
                assert "upgrade" in r.tokens("connection"), r
            else:
                assert r.header("upgrade") is None, r
            up = app.heads[-1]
            assert [v for n, v in up["headers"] if n.lower() == "upgrade"] == ["websocket"], up
            # The connection goes on as plain HTTP.
            r = c.request("GET", "/echo")
            assert r.status == 200, r
            assert not [n for n, _ in app.heads[-1]["headers"] if n.lower() == "upgrade"]
    lines = tt.log_lines(4)
    assert [l["status"] for l in lines] == [426, 200, 400, 200], lines
    assert all(l["fault"] is None for l in lines), lines


def bad_101(head):
    def handler(up, st, fields):
        st.sock.sendall(head)
        st.wait_eof(3)
    return handler


BAD_101 = [
    # (the request's Upgrade offer or None, the 101 head, words in details)
    (None, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
     "without Upgrade"),
    ("websocket", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
     "'h2c', which the request did not offer"),
    ("echo/1", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo/2\r\nConnection: upgrade\r\n\r\n",
     "'echo/2'"),
    ("websocket", b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n",
     "without an Upgrade field"),
]


def test_botched_101_is_http_upgrade_failed(telltale):
    for offer, head, words in BAD_101:
        up = TunnelUpstream(bad_101(head + b"garbage after the switch"))
        try:
            tt = telltale(config(up))
            with Conn(tt.port) as c:
                hdrs = [("Accept", "application/json")]
                if offer:
                    hdrs += [("Upgrade", offer), ("Connection", "upgrade")]
                r = c.request("GET", "/ws", headers=hdrs)
                assert r.status == 502, (offer, r)
                params = our_member(r)
                assert params.get("error") == Token("http_upgrade_failed"), (offer, params)
                assert words in params.get("details", ""), (offer, params)
                assert r.header("upgrade") is None, r
                if offer:
                    assert "close" in r.tokens("connection"), r
            log = tt.log_line()
            assert log["status"] == 502 and log["fault"] == "upgrade_failed", log
            assert log["fault_type"] == "http_upgrade_failed", log
            assert log["upstream_status"] == 101, log
            assert words in log["fault_details"], log
            assert len(up.heads) == 1, "retried: %r" % up.heads
        finally:
            up.close()
        tt.stop()


def test_shutdown_cuts_an_open_tunnel_after_the_grace_period(telltale):
    up = TunnelUpstream(raw_echo)
    try:
        tt = start(telltale, up, timeouts={"grace": "1s"})
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        s.sendall(upgrade_request(extra=b"hi"))
        line, _ = st.head()
        assert line.startswith("HTTP/1.1 101"), line
        assert st.exactly(2) == b"hi"
        t0 = time.monotonic()
        assert tt.stop() == 0
        assert time.monotonic() - t0 < 5
        assert st.wait_eof(2), "the tunnel outlived telltale"
        s.close()
        assert up.done.wait(5)
        assert up.events in (["eof"], ["reset"]), up.events
        log = tt.log_line()
        assert log["status"] == 101, log
    finally:
        up.close()


def test_upstream_closing_mid_101_head_is_the_usual_cut_head(telltale, raw_upstream):
    """Like any response head cut short: connection_terminated at read-head."""
    from upstreams import close, recv_head, send
    up = raw_upstream([recv_head(), send(b"HTTP/1.1 101 Switching Protocols\r\nUpgr"), close()])
    tt = telltale(config(up))
    with Conn(tt.port) as c:
        r = c.request("GET", "/ws", headers=[("Upgrade", "websocket"),
                                             ("Connection", "upgrade")])
        assert r.status == 502, r
        params = our_member(r)
        assert params.get("error") == Token("connection_terminated"), r
        assert "38 bytes of the response head" in params.get("details", ""), r
    log = tt.log_line()
    assert log["status"] == 502 and log["fault_type"] == "connection_terminated", log
    assert log["fault_stage"] == "read-head", log
    # Before a 101 went downstream, an upgrade GET retries like any GET.
    assert up.connections == len(log["attempts"]) == 2, log


def test_downstream_end_of_stream_before_the_101_reaches_the_upstream_after_it(telltale):
    """The downstream sends its bytes and its FIN before the upstream has
    answered: the bytes go through after the 101, then the FIN."""
    def slow_echo(up, st, fields):
        time.sleep(0.3)
        raw_echo(up, st, fields, reply=b"bye")

    up = TunnelUpstream(slow_echo)
    try:
        tt = start(telltale, up)
        s = socket.create_connection(("127.0.0.1", tt.port), timeout=IO_TIMEOUT)
        st = Stream(s)
        s.sendall(upgrade_request(extra=b"early"))
        s.shutdown(socket.SHUT_WR)
        line, _ = st.head()
        assert line.startswith("HTTP/1.1 101"), line
        assert st.exactly(8) == b"earlybye"
        assert st.wait_eof(5)
        s.close()
        assert up.done.wait(5)
        assert up.events == ["eof"], up.events
        assert tt.log_line()["bytes_in"] == 5
    finally:
        up.close()
