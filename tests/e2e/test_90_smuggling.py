"""Request smuggling and malformed framing, end to end (GitHub issue 9,
item 2).

Each case is the raw bytes a client sends on one connection (typically a
first request with a smuggled second one behind it), the statuses telltale
must answer, and the requests a strict recording upstream must receive,
as (method, target, body). The recorder parses what it gets strictly
(RFC 9112 syntax, one framing, origin-form) and records each complete
request with its body as framed (Content-Length, or chunked decoded); any
request beyond the expected ones, and anything it cannot parse, fails the
case. After an error response the connection must close and nothing sent
after the bad request may reach the upstream.

The expectations are RFC 9112's, not the binary's: a difference is a
failing case."""

import collections
import re
import socket
import threading
import time

import pytest

from conftest import upstream_config
from sfv import parse_field_lines

# -- the strict recording upstream -------------------------------------------

TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
RE_TOKEN = re.compile(b"^" + TOKEN + b"$")
# A proxy talks origin-form (or "*") to the origin, always HTTP/1.1.
RE_REQUEST_LINE = re.compile(b"^(" + TOKEN + rb") (/[\x21-\x7e]*|\*) HTTP/1\.1$")
RE_FIELD_VALUE = re.compile(rb"^(?:[\x21-\x7e\x80-\xff](?:[\x20-\x7e\x80-\xff\t]*"
                            rb"[\x21-\x7e\x80-\xff])?)?$")
QUOTED = rb'"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"'
RE_CHUNK_LINE = re.compile(rb"^([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + TOKEN +
                           rb"(?:[ \t]*=[ \t]*(?:" + TOKEN + b"|" + QUOTED + b"))?)*)$")
MAX_HEAD = 65536
MAX_BODY = 1 << 20

Seen = collections.namedtuple("Seen", "method target body headers trailers conn")


class Violation(Exception):
    pass


class RecordingUpstream:
    """Records every complete request it receives, framed strictly, and
    answers each with 200 "ok". `requests` are Seen tuples in arrival
    order; `violations` what it could not accept (the connection is then
    closed); `partial` heads whose body never completed (the connection
    closed under it)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.violations = []
        self.partial = []
        self.connections = 0
        self._stop = threading.Event()
        self._conns = set()
        self._threads = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                self.connections += 1
                n = self.connections
                self._conns.add(conn)
            t = threading.Thread(target=self._serve, args=(conn, n), daemon=True)
            self._threads.append(t)
            t.start()

    # -- reading, strictly ----------------------------------------------------

    def _fill(self, conn, buf):
        data = conn.recv(65536)
        if not data:
            raise EOFError
        buf += data

    def _line(self, conn, buf, limit=8192):
        while True:
            i = buf.find(b"\r\n")
            if i >= 0:
                line = bytes(buf[:i])
                del buf[:i + 2]
                if b"\r" in line or b"\n" in line:
                    raise Violation("bare CR or LF in line %r" % line[:200])
                return line
            if b"\n" in buf:
                raise Violation("bare LF in %r" % bytes(buf[:200]))
            if len(buf) > limit:
                raise Violation("line over %d bytes" % limit)
            self._fill(conn, buf)

    def _exactly(self, conn, buf, n):
        while len(buf) < n:
            self._fill(conn, buf)
        data = bytes(buf[:n])
        del buf[:n]
        return data

    def _fields(self, conn, buf, total):
        fields = []
        while True:
            line = self._line(conn, buf)
            total += len(line) + 2
            if total > MAX_HEAD:
                raise Violation("head over %d bytes" % MAX_HEAD)
            if line == b"":
                return fields
            if line[:1] in (b" ", b"\t"):
                raise Violation("obs-fold %r" % line)
            name, sep, value = line.partition(b":")
            if not sep or not RE_TOKEN.match(name):
                raise Violation("bad field line %r" % line)
            value = value.strip(b" \t")
            if not RE_FIELD_VALUE.match(value):
                raise Violation("bad field value %r" % line)
            fields.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def _request(self, conn, buf, n):
        """One request, or None on a clean close between requests."""
        while not buf:
            try:
                self._fill(conn, buf)
            except EOFError:
                return None
        line = self._line(conn, buf)
        m = RE_REQUEST_LINE.match(line)
        if not m:
            raise Violation("bad request line %r" % line)
        method, target = m.group(1).decode(), m.group(2).decode("latin-1")
        headers = self._fields(conn, buf, len(line) + 2)
        hosts = [v for k, v in headers if k == "host"]
        if len(hosts) != 1:
            raise Violation("%d Host fields in %r" % (len(hosts), line))
        te = [v for k, v in headers if k == "transfer-encoding"]
        cl = [v for k, v in headers if k == "content-length"]
        body, trailers = b"", []
        try:
            if te:
                codings = [t.strip().lower() for v in te for t in v.split(",")]
                if codings != ["chunked"] or cl:
                    raise Violation("framing TE %r CL %r" % (te, cl))
                body, trailers = self._chunked(conn, buf)
            elif cl:
                if len(cl) != 1 or not cl[0].isdigit() or int(cl[0]) > MAX_BODY:
                    raise Violation("Content-Length %r" % cl)
                body = self._exactly(conn, buf, int(cl[0]))
        except EOFError:
            with self.lock:
                self.partial.append((method, target))
            raise
        return Seen(method, target, body, headers, trailers, n)

    def _chunked(self, conn, buf):
        body = bytearray()
        while True:
            line = self._line(conn, buf)
            m = RE_CHUNK_LINE.match(line)
            if not m:
                raise Violation("bad chunk line %r" % line)
            size = int(m.group(1), 16)
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise Violation("chunked body over %d bytes" % MAX_BODY)
            body += self._exactly(conn, buf, size)
            if self._exactly(conn, buf, 2) != b"\r\n":
                raise Violation("chunk data not followed by CRLF")
        trailers = self._fields(conn, buf, 0)
        return bytes(body), trailers

    def _serve(self, conn, n):
        conn.settimeout(10)
        buf = bytearray()
        try:
            while not self._stop.is_set():
                seen = self._request(conn, buf, n)
                if seen is None:
                    break
                with self.lock:
                    self.requests.append(seen)
                    k = len(self.requests)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Seen: %d\r\n\r\nok\n"
                             % k)
        except Violation as e:
            with self.lock:
                self.violations.append("conn %d: %s" % (n, e))
        except (EOFError, OSError):
            pass
        finally:
            with self.lock:
                self._conns.discard(conn)
            conn.close()

    def settle(self, want, timeout=2.0, quiet=0.3):
        """Wait (bounded) for `want` requests, then `quiet` seconds more so
        that anything extra shows too."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= want:
                    break
            time.sleep(0.01)
        time.sleep(quiet)
        with self.lock:
            return list(self.requests)

    def close(self):
        self._stop.set()
        self.sock.close()
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accepter.join(2)
        deadline = time.monotonic() + 5
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture
def recorder():
    r = RecordingUpstream()
    yield r
    r.close()


# -- the corpus ----------------------------------------------------------------

def msg(*lines, body=b""):
    """A head from lines (str or bytes), then body."""
    out = b"".join((l.encode("latin-1") if isinstance(l, str) else l) + b"\r\n" for l in lines)
    return out + b"\r\n" + body


H = "Host: example.test"
SMUGGLED = msg("GET /smuggled HTTP/1.1", H)
NEXT = msg("GET /next HTTP/1.1", H)
FIRST = msg("GET /first HTTP/1.1", H)
OK_CHUNKED = b"5\r\nhello\r\n0\r\n\r\n"

# statuses: the status of each response in order (a tuple where RFC 9112
# allows either); upstream: the (method, target, body) each upstream
# request must be, in order; streams: telltale may have forwarded the head
# of the bad request before its body went wrong (a partial request the
# upstream sees cut off, never complete); hosts: the Host each forwarded
# request must carry.
Case = collections.namedtuple("Case", "data statuses upstream streams hosts")


def case(data, statuses, upstream=(), streams=False, hosts=None):
    return Case(data, tuple(statuses), tuple(upstream), streams, hosts)


POST = "POST /a HTTP/1.1"
TE = "Transfer-Encoding: chunked"

CASES = {
    # Controls: well-formed, pipelined, both reach the upstream once.
    "control-cl-pipelined": case(
        msg(POST, H, "Content-Length: 5", body=b"hello") + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "control-chunked-pipelined": case(
        msg(POST, H, TE, body=OK_CHUNKED) + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),

    # The classic attacks as whole byte strings.
    "classic-cl-te": case(
        msg(POST, H, "Content-Length: 13", TE, body=b"0\r\n\r\nSMUGGLED"), [400]),
    "classic-cl-te-smuggled-request": case(
        msg(POST, H, "Content-Length: 6", TE, body=b"0\r\n\r\n") + SMUGGLED, [400]),
    "classic-te-cl": case(
        msg(POST, H, "Content-Length: 3", TE, body=b"8\r\nSMUGGLED\r\n0\r\n\r\n"), [400]),
    "classic-te-cl-smuggled-request": case(
        msg(POST, H, "Content-Length: 4", TE,
            body=b"%x\r\n" % len(SMUGGLED) + SMUGGLED + b"\r\n0\r\n\r\n"), [400]),
    "classic-te-te-obfuscated": case(
        msg(POST, H, "Content-Length: 4", TE, "Transfer-Encoding: xchunked",
            body=b"5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n") + SMUGGLED, [400]),
    "classic-te-te-no-cl": case(
        msg(POST, H, TE, "Transfer-encoding: cow", body=OK_CHUNKED) + SMUGGLED, [400]),
    "classic-cl-cl": case(
        msg(POST, H, "Content-Length: 5", "Content-Length: 6", body=b"hello") + SMUGGLED,
        [400]),
    "good-then-cl-te": case(
        FIRST + msg(POST, H, "Content-Length: 6", TE, body=b"0\r\n\r\n") + SMUGGLED,
        [200, 400], [("GET", "/first", b"")]),

    # Transfer-Encoding variants (RFC 9112 sections 5.1, 6.1, 6.3).
    "te-xchunked": case(msg(POST, H, "Transfer-Encoding: xchunked", body=OK_CHUNKED) + SMUGGLED,
                        [400]),
    "te-space-before-colon": case(
        msg(POST, H, "Transfer-Encoding : chunked", body=OK_CHUNKED) + SMUGGLED, [400]),
    "te-tab-before-value": case(
        msg(POST, H, "Transfer-Encoding:\tchunked", body=OK_CHUNKED) + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "te-vertical-tab-before-value": case(
        msg(POST, H, "Transfer-Encoding:\x0bchunked", body=OK_CHUNKED) + SMUGGLED, [400]),
    "te-chunked-twice-fields": case(msg(POST, H, TE, TE, body=OK_CHUNKED) + SMUGGLED, [400]),
    "te-chunked-twice-list": case(
        msg(POST, H, "Transfer-Encoding: chunked, chunked", body=OK_CHUNKED) + SMUGGLED, [400]),
    "te-chunked-identity": case(
        msg(POST, H, "Transfer-Encoding: chunked, identity", body=OK_CHUNKED) + SMUGGLED, [400]),
    "te-unknown-then-chunked": case(
        msg(POST, H, "Transfer-Encoding: foo, chunked", body=OK_CHUNKED) + SMUGGLED, [501]),

    # Content-Length values (RFC 9110 section 8.6, RFC 9112 section 6.3).
    "cl-plus-sign": case(msg(POST, H, "Content-Length: +5", body=b"hello") + SMUGGLED, [400]),
    "cl-list-differing": case(msg(POST, H, "Content-Length: 5, 6", body=b"hello") + SMUGGLED,
                              [400]),
    "cl-negative": case(msg(POST, H, "Content-Length: -1") + SMUGGLED, [400]),
    "cl-hex": case(msg(POST, H, "Content-Length: 0x5", body=b"hello") + SMUGGLED, [400]),

    # Chunk framing (RFC 9112 section 7.1). telltale streams bodies: the
    # head may already be upstream when the bad chunk line arrives.
    "chunk-size-ffffffffffffffed": case(
        msg(POST, H, TE, body=b"FFFFFFFFFFFFFFED\r\nSMUGGLED\r\n0\r\n\r\n") + SMUGGLED,
        [400], streams=True),
    "chunk-size-over-64-bits": case(
        msg(POST, H, TE, body=b"10000000000000005\r\nhello\r\n0\r\n\r\n") + SMUGGLED,
        [400], streams=True),
    "chunk-size-0x-prefix": case(
        msg(POST, H, TE, body=b"0x5\r\nhello\r\n0\r\n\r\n") + SMUGGLED, [400], streams=True),
    "chunk-bare-lf-after-size": case(
        msg(POST, H, TE, body=b"5\nhello\r\n0\r\n\r\n") + SMUGGLED, [400], streams=True),
    "chunk-bare-lf-after-data": case(
        msg(POST, H, TE, body=b"5\r\nhello\n0\r\n\r\n") + SMUGGLED, [400], streams=True),
    "chunk-bare-lf-last-chunk": case(
        msg(POST, H, TE, body=b"5\r\nhello\r\n0\n\r\n") + SMUGGLED, [400], streams=True),
    "chunk-bare-lf-end-of-trailers": case(
        msg(POST, H, TE, body=b"5\r\nhello\r\n0\r\n\n") + SMUGGLED, [400], streams=True),
    "chunk-ext-quoted": case(
        msg(POST, H, TE, body=b'5;name="va;l\\"ue"\r\nhello\r\n0\r\n\r\n') + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "chunk-ext-cr-in-quotes": case(
        msg(POST, H, TE, body=b'5;name="a\rb"\r\nhello\r\n0\r\n\r\n') + SMUGGLED, [400],
        streams=True),
    "chunk-ext-lf-in-quotes": case(
        msg(POST, H, TE, body=b'5;name="a\nb"\r\nhello\r\n0\r\n\r\n') + SMUGGLED, [400],
        streams=True),

    # Field names (RFC 9110 section 5.1: a token).
    "nul-in-name": case(msg("GET /a HTTP/1.1", H, b"X-F\x00oo: bar") + SMUGGLED, [400]),
    "high-byte-in-name": case(msg("GET /a HTTP/1.1", H, b"X-F\xffoo: bar") + SMUGGLED, [400]),
    "byte-0x80-in-te-name": case(
        msg(POST, H, b"Transfer-Encoding\x80: chunked", body=OK_CHUNKED) + SMUGGLED, [400]),

    # Targets and Host (RFC 9112 section 3.2).
    "absolute-form-matching-host": case(
        msg("GET http://example.test/abs?q=1 HTTP/1.1", H) + NEXT, [200, 200],
        [("GET", "/abs?q=1", b""), ("GET", "/next", b"")], hosts=["example.test"] * 2),
    "two-hosts": case(msg("GET /a HTTP/1.1", H, "Host: evil.test") + SMUGGLED, [400]),
    "host-with-space": case(msg("GET /a HTTP/1.1", "Host: exa mple.test") + SMUGGLED, [400]),
    "host-with-path": case(msg("GET /a HTTP/1.1", "Host: example.test/evil") + SMUGGLED, [400]),
    "host-with-userinfo": case(msg("GET /a HTTP/1.1", "Host: user@example.test") + SMUGGLED,
                               [400]),
    # RFC 9110 section 4.2.4: userinfo in an http URI SHOULD be an error.
    "absolute-form-userinfo": case(
        msg("GET http://user@example.test/a HTTP/1.1", H) + SMUGGLED, [400]),
    "space-in-target": case(msg("GET /a b HTTP/1.1", H) + SMUGGLED, [400]),

    # Well-formed variants a strict parser must still accept as one request.
    "te-uppercase": case(
        msg(POST, H, "Transfer-Encoding: CHUNKED", body=OK_CHUNKED) + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "te-empty-list-elements": case(
        msg(POST, H, "Transfer-Encoding: , chunked,", body=OK_CHUNKED) + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "cl-leading-zeros": case(
        msg(POST, H, "Content-Length: 005", body=b"hello") + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "chunk-ext-bws": case(
        msg(POST, H, TE, body=b"5 ; a = b\r\nhello\r\n0\r\n\r\n") + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "leading-crlf-before-request": case(
        b"\r\n" + msg("GET /a HTTP/1.1", H) + NEXT, [200, 200],
        [("GET", "/a", b""), ("GET", "/next", b"")]),
    # Framing fields named in Connection: the hop-by-hop removal must not
    # take the framing (or the Host) away from the forwarded request.
    "connection-names-content-length": case(
        msg(POST, H, "Content-Length: 5", "Connection: Content-Length", body=b"hello") + NEXT,
        [200, 200], [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "connection-names-transfer-encoding": case(
        msg(POST, H, TE, "Connection: Transfer-Encoding", body=OK_CHUNKED) + NEXT,
        [200, 200], [("POST", "/a", b"hello"), ("GET", "/next", b"")]),
    "connection-names-host": case(
        msg("GET /a HTTP/1.1", H, "Connection: Host") + NEXT, [200, 200],
        [("GET", "/a", b""), ("GET", "/next", b"")], hosts=["example.test"] * 2),
    # Framing fields in the trailer section must not reach the upstream as
    # fields (checked for every case below).
    "framing-fields-in-trailers": case(
        msg(POST, H, TE, body=b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n"
            b"Transfer-Encoding: chunked\r\nHost: evil.test\r\n\r\n") + NEXT, [200, 200],
        [("POST", "/a", b"hello"), ("GET", "/next", b"")], hosts=["example.test"] * 2),

    # More bad framing.
    "cl-over-64-bits": case(
        msg(POST, H, "Content-Length: 99999999999999999999999", body=b"hello") + SMUGGLED,
        [(400, 413)]),
    "expect-with-cl-and-te": case(
        msg(POST, H, "Expect: 100-continue", "Content-Length: 6", TE, body=b"0\r\n\r\n")
        + SMUGGLED, [400]),
    "chunk-data-longer-than-size": case(
        msg(POST, H, TE, body=b"5\r\nhelloXX\r\n0\r\n\r\n") + SMUGGLED, [400], streams=True),
    "chunk-size-trailing-space": case(
        msg(POST, H, TE, body=b"5 \r\nhello\r\n0\r\n\r\n") + SMUGGLED, [400], streams=True),
    "trailer-without-colon": case(
        msg(POST, H, TE, body=b"5\r\nhello\r\n0\r\nbad trailer\r\n\r\n") + SMUGGLED, [400],
        streams=True),
}

# Absolute-form with a Host that names another authority: RFC 9112 section
# 3.2.2 has a proxy (and an origin) ignore the received Host and use the
# target's authority instead; rejecting it with 400 is the stricter choice.
# Either is fine; forwarding the client's Host is not.
CONFLICTS = {
    "other-host": ("http://other.test/abs", "other.test"),
    "other-port": ("http://example.test:8080/abs", "example.test:8080"),
}


def check_error_close(c, r, name):
    assert "close" in r.tokens("connection"), "%s: no Connection: close in %r" % (name, r)
    closed, extra = c.wait_closed(3)
    assert closed, "%s: connection still open 3 s after %d (then got %r)" % (
        name, r.status, extra[:200])
    assert extra == b"", "%s: bytes after the error response: %r" % (name, extra[:200])


def run_case(tt, recorder, name, data, statuses):
    """Send data on one connection, read len(statuses) responses; returns
    the responses (their statuses are checked by the caller)."""
    got = []
    with tt.conn(timeout=5) as c:
        c.send(data)
        for want in statuses:
            try:
                r = c.read_response(timeout=5)
            except Exception as e:  # reported with what came before
                pytest.fail("%s: response %d of %d: %s: %s (before: %r)"
                            % (name, len(got) + 1, len(statuses), type(e).__name__, e,
                               [x.status for x in got]), pytrace=False)
            got.append(r)
            if r.status >= 400:
                break
        if got[-1].status >= 400:
            check_error_close(c, got[-1], name)
        else:
            closed, extra = c.wait_closed(0.3)
            assert extra == b"", "%s: more bytes than %d responses: %r" % (
                name, len(statuses), extra[:200])
    return got


FRAMING_FIELDS = ("content-length", "transfer-encoding", "host")


def status_match(got, want):
    """want: one entry per response, a status or a tuple of the allowed."""
    return len(got) == len(want) and all(
        g in (w if isinstance(w, tuple) else (w,)) for g, w in zip(got, want))


def summary(seen):
    return [(s.method, s.target, s.body) for s in seen]


@pytest.mark.parametrize("name", list(CASES))
def test_smuggling_corpus(telltale, recorder, name):
    cs = CASES[name]
    tt = telltale(upstream_config(recorder))
    got = run_case(tt, recorder, name, cs.data, cs.statuses)
    seen = recorder.settle(len(cs.upstream))
    statuses = [r.status for r in got]
    assert status_match(statuses, cs.statuses), "%s: want statuses %s, got %r" % (
        name, list(cs.statuses), got)
    assert not recorder.violations, "%s: upstream got unparseable bytes: %r" % (
        name, recorder.violations)
    assert summary(seen) == list(cs.upstream), "%s: upstream got %r, want %r" % (
        name, summary(seen), list(cs.upstream))
    if not cs.streams:
        assert not recorder.partial, "%s: a head reached the upstream: %r" % (
            name, recorder.partial)
    if cs.hosts is not None:
        hosts = [[v for k, v in s.headers if k == "host"] for s in seen]
        assert hosts == [[h] for h in cs.hosts], "%s: Host fields upstream %r" % (name, hosts)
    for seen_one in seen:
        framing = [k for k, _ in seen_one.trailers if k in FRAMING_FIELDS]
        assert not framing, "%s: trailer fields %r reached the upstream" % (name, framing)
    for r in got:
        if r.status >= 400:
            assert r.body_len > 0, "%s: error response without a body: %r" % (name, r)
            members = parse_field_lines(r.header_all("proxy-status"))
            assert members and members[-1][1].get("error") == "http_request_error", (
                name, members, r)
    lines = tt.log_lines(len(got), timeout=2)
    assert [l["status"] for l in lines] == statuses, (name, lines)


@pytest.mark.parametrize("conflict", list(CONFLICTS))
def test_absolute_form_with_conflicting_host(telltale, recorder, conflict):
    target, authority = CONFLICTS[conflict]
    tt = telltale(upstream_config(recorder))
    with tt.conn(timeout=5) as c:
        c.send(msg("GET %s HTTP/1.1" % target, H) + NEXT)
        r = c.read_response(timeout=5)
        if r.status == 400:
            check_error_close(c, r, "conflicting-host")
        else:
            assert r.status == 200, r
            r2 = c.read_response(timeout=5)
            assert r2.status == 200, r2
    seen = recorder.settle(0 if r.status == 400 else 2)
    assert not recorder.violations, recorder.violations
    if r.status == 400:
        assert seen == [] and not recorder.partial, summary(seen)
        return
    assert summary(seen) == [("GET", "/abs", b""), ("GET", "/next", b"")], summary(seen)
    hosts = [[v for k, v in s.headers if k == "host"] for s in seen]
    # The first request's Host must be the target's authority, never the
    # client's conflicting Host field.
    assert hosts[0] == [authority], "forwarded with Host %r for target %s " \
        "(RFC 9112 section 3.2.2)" % (hosts[0], target)


def test_smuggled_bytes_split_across_writes_never_reach_upstream(telltale, recorder):
    """The CL.TE attack again, its bytes in three writes with pauses, so
    that telltale sees the head before the body."""
    tt = telltale(upstream_config(recorder))
    data = msg(POST, H, "Content-Length: 6", TE, body=b"0\r\n\r\n") + SMUGGLED
    with tt.conn(timeout=5) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cut = data.index(b"\r\n\r\n") + 4
        for piece in (data[:cut - 2], data[cut - 2:cut + 5], data[cut + 5:]):
            try:
                c.send(piece)
            except OSError:
                break
            time.sleep(0.05)
        r = c.read_response(timeout=5)
        assert r.status == 400, r
        check_error_close(c, r, "split")
    seen = recorder.settle(0)
    assert seen == [] and not recorder.violations, (summary(seen), recorder.violations)


def test_recorder_catches_what_a_careless_proxy_would_forward(recorder):
    """The harness itself: bytes sent straight to the recorder, as a proxy
    forwarding them verbatim would. Without telltale in between the
    smuggled request shows up, or the framing is flagged."""
    host, port = recorder.addr.split(":")
    sends = [
        msg(POST, H, "Content-Length: 5", body=b"hello") + SMUGGLED,
        msg(POST, H, "Content-Length: 6", TE, body=b"0\r\n\r\n") + SMUGGLED,
        msg(POST, H, TE, body=b"5\nhello\r\n0\r\n\r\n"),
        msg("GET http://example.test/a HTTP/1.1", H),
    ]
    for data in sends:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(2)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
    seen = recorder.settle(2, quiet=0.1)
    assert summary(seen) == [("POST", "/a", b"hello"), ("GET", "/smuggled", b"")], summary(seen)
    assert len(recorder.violations) == 3, recorder.violations
