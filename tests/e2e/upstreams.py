"""Upstreams for the end-to-end tests, on plain sockets and threads.

AppUpstream is a well-behaved HTTP/1.1 server whose behaviour is chosen by
the URL (see AppUpstream.__doc__). RawUpstream runs a script of steps per
connection, for faults.

Everything listens on 127.0.0.1, every socket operation has a timeout, and
close() stops all threads within a bounded time.
"""

import email.utils
import hashlib
import http
import json
import select
import socket
import struct
import threading
import time
import urllib.parse

MAX_HEAD = 1 << 20
IO_TIMEOUT = 30.0

# Bodies served by /bytes, /chunks and /close-delimited: byte i is i % 256.
_PAT = bytes(range(256)) * 1025


def pattern(offset, length):
    """`length` bytes of the body pattern starting at `offset` (length <= 256 KiB)."""
    start = offset % 256
    return _PAT[start:start + length]


def pattern_bytes(n):
    out = bytearray()
    while len(out) < n:
        out += pattern(len(out), min(65536, n - len(out)))
    return bytes(out)


def pattern_sha256(n):
    h = hashlib.sha256()
    off = 0
    while off < n:
        k = min(65536, n - off)
        h.update(pattern(off, k))
        off += k
    return h.hexdigest()


def reason(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Status"


class BadRequest(Exception):
    pass


def parse_head(raw):
    """Split a request or response head into (start-line fields, [(name, value)])."""
    text = raw.decode("latin-1")
    lines = text.split("\r\n")
    start = lines[0]
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequest("header without colon: %r" % line)
        headers.append((name, value.strip(" \t")))
    return start, headers


def hget(headers, name):
    name = name.lower()
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def hall(headers, name):
    name = name.lower()
    return [v for n, v in headers if n.lower() == name]


def _tokens(values):
    out = []
    for v in values:
        out += [t.strip().lower() for t in v.split(",") if t.strip()]
    return out


class _Reader:
    """Buffered reads from one socket; raises EOFError on a closed peer."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise EOFError
        self.buf += data

    def head(self):
        """The next head up to and including CRLFCRLF, or None on a clean EOF
        between messages."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                raw = bytes(self.buf[:i + 4])
                del self.buf[:i + 4]
                return raw
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("head too large")
            try:
                self.fill()
            except EOFError:
                if self.buf:
                    raise
                return None

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                raw = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return raw
            if len(self.buf) > 65536:
                raise BadRequest("line too long")
            self.fill()

    def exactly(self, n, sink):
        while n > 0:
            if not self.buf:
                self.fill()
            k = min(n, len(self.buf))
            sink(bytes(self.buf[:k]))
            del self.buf[:k]
            n -= k


class AppUpstream:
    """A well-behaved HTTP/1.1 app. Behaviour by URL:

    /, /echo[...]        JSON: method, target, version, headers, body_len,
                         body_sha256, framing, conn_id, request_no
    /status/NNN          that status (204, 304 and 1xx with no body)
    /bytes?n=N           N pattern bytes with Content-Length
    /chunks?n=N&size=S   N chunks of S pattern bytes, chunked
    /close-delimited?n=N N pattern bytes, no length, then close
    /sleep?ms=M          wait M ms (at most 10 s), then answer like /echo
    /_stats              {"connections": .., "requests": ..} (not counted)
    /healthz             status health_status (200 unless changed), not
                         counted in requests but in health_checks
    /cache?cc=V, .../cache  a fixed body for the target, Cache-Control: V
                         (when given) and Date

    Any URL: `h=Name:Value` query parameters are added to the response head.
    Request header `X-Close-After: 1` closes the connection after the
    response without saying so. Every response carries X-Conn-Id and
    X-Request-No. `Expect: 100-continue` gets an interim 100 before the body
    is read; chunked request bodies are decoded.

    Attributes: connections (accepted), requests (complete requests
    received, /_stats and /healthz excluded), heads (one record per request head:
    raw, method, target, version, headers, then body_len, body_sha256,
    framing once the body is in), health_checks, ids (the X-Test-Id of
    every request executed, in order), ids_received (also those read and
    then dropped by stop()), dropped (requests read and never answered),
    closed_on_request (idle closes with bytes already arriving).

    Options: idle_close_ms closes a keep-alive connection that stays idle
    that long after a response (as Node.js does after its keepAliveTimeout),
    close_lag_ms later (a request arriving in between is dropped unread,
    as when the server's close races the request on a real network);
    delay_ms waits that long before every answer (/_stats and /healthz
    excepted). stop() and start() take the server down and up again on the
    same port.
    """

    def __init__(self, idle_close_ms=None, close_lag_ms=0, delay_ms=0):
        self.idle_close_ms = idle_close_ms
        self.close_lag_ms = close_lag_ms
        self.delay_ms = delay_ms
        self.health_status = 200
        self.lock = threading.Lock()
        self.connections = 0
        self.requests = 0
        self.health_checks = 0
        self.heads = []
        self.ids = []
        self.ids_received = []
        self.dropped = 0
        self.closed_on_request = 0
        self.errors = []
        self.bad_requests = []
        self._stop = threading.Event()
        self._stopping = False
        self._conns = set()
        self._busy = set()
        self._threads = []
        self.port = 0
        self._listen()
        self.addr = "127.0.0.1:%d" % self.port

    # -- lifecycle -----------------------------------------------------------

    def _listen(self):
        deadline = time.monotonic() + 3
        while True:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", self.port))
                break
            except OSError:
                s.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        s.listen(256)
        s.settimeout(0.1)
        self.sock = s
        self.port = s.getsockname()[1]
        with self.lock:
            self._stopping = False
        t = threading.Thread(target=self._accept_loop, args=(s,), name="app-accept", daemon=True)
        t.start()
        self._accepter = t

    def _accept_loop(self, lsock):
        while not self._stop.is_set():
            try:
                conn, _ = lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self.lock:
                if self._stopping:
                    conn.close()
                    continue
                self.connections += 1
                conn_id = self.connections
                self._conns.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
            t = threading.Thread(target=self._serve, args=(conn, conn_id), daemon=True)
            self._threads.append(t)
            t.start()

    def stop(self, reset=False):
        """Go down like a killed server, but never in the middle of a
        response: close the listener (connections still in its accept
        queue are reset), shut down every connection waiting for a request
        (reset=True: they end with RST rather than FIN), let answers being
        written finish and then close their connections; a request that
        arrives from now on is read and dropped without an answer."""
        with self.lock:
            self._stopping = True
            idle = [c for c in self._conns if c not in self._busy]
            for c in idle:
                if reset:
                    try:
                        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
                    except OSError:
                        pass
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        try:
            self.sock.close()
        except OSError:
            pass
        self._accepter.join(2)

    def start(self):
        """Listen again on the same port after stop()."""
        assert self._stopping, "start() is for a stopped server"
        self._accepter.join(2)
        self._listen()

    def close(self):
        self._stop.set()
        with self.lock:
            self._stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
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

    def stats(self):
        with self.lock:
            return {"connections": self.connections, "requests": self.requests}

    def wait_heads(self, n, timeout=5.0):
        """Wait until at least n request heads have arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.heads) >= n:
                    return list(self.heads)
            time.sleep(0.01)
        with self.lock:
            return list(self.heads)

    # -- one connection ------------------------------------------------------

    def _serve(self, conn, conn_id):
        conn.settimeout(IO_TIMEOUT)
        rd = _Reader(conn)
        served = 0
        try:
            while not self._stop.is_set():
                if served and self.idle_close_ms is not None and not rd.buf:
                    ready, _, _ = select.select([conn], [], [], self.idle_close_ms / 1000.0)
                    if not ready:
                        # Decided to close; what arrives meanwhile is
                        # never read (the close then resets).
                        if self.close_lag_ms:
                            time.sleep(self.close_lag_ms / 1000.0)
                        if select.select([conn], [], [], 0)[0]:
                            with self.lock:
                                self.closed_on_request += 1
                        break
                raw = rd.head()
                if raw is None:
                    break
                with self.lock:
                    stopping = self._stopping
                    if stopping:
                        self.dropped += 1
                    else:
                        self._busy.add(conn)
                if stopping:
                    self._drop(raw)
                    break
                try:
                    keep = self._one(conn, conn_id, rd, raw)
                finally:
                    with self.lock:
                        self._busy.discard(conn)
                        stopping = self._stopping
                served += 1
                if not keep or stopping:
                    break
        except (EOFError, OSError):
            pass
        except (BadRequest, ValueError) as e:  # what telltale sent was not HTTP
            self.bad_requests.append(repr(e))
        except Exception as e:  # a bug in the test server: keep it visible
            self.errors.append(repr(e))
        finally:
            with self.lock:
                self._conns.discard(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _drop(self, raw):
        try:
            _, headers = parse_head(raw)
        except BadRequest:
            return
        tid = hget(headers, "x-test-id")
        if tid is not None:
            with self.lock:
                self.ids_received.append(tid)

    def _one(self, conn, conn_id, rd, raw):
        start, headers = parse_head(raw)
        parts = start.split(" ")
        if len(parts) != 3:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        method, target, version = parts
        rec = {"raw": raw, "method": method, "target": target, "version": version,
               "headers": headers, "conn_id": conn_id}
        with self.lock:
            self.heads.append(rec)

        te = _tokens(hall(headers, "transfer-encoding"))
        cl = hget(headers, "content-length")
        has_body = bool(te) or (cl is not None and int(cl) > 0)
        if has_body and (hget(headers, "expect") or "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        h = hashlib.sha256()
        n = [0]

        def sink(b):
            h.update(b)
            n[0] += len(b)

        if te:
            if te[-1] != "chunked":
                raise BadRequest("unsupported transfer-encoding %r" % te)
            framing = "chunked"
            while True:
                size_line = rd.line()
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    break
                rd.exactly(size, sink)
                if rd.line() != b"":
                    raise BadRequest("chunk not followed by CRLF")
            while rd.line() != b"":  # trailers
                pass
        elif cl is not None:
            framing = "length"
            rd.exactly(int(cl), sink)
        else:
            framing = "none"
        rec.update(body_len=n[0], body_sha256=h.hexdigest(), framing=framing)

        url = urllib.parse.urlsplit(target)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        tid = hget(headers, "x-test-id")
        if path == "/healthz":
            with self.lock:
                self.health_checks += 1
            request_no = 0
        elif path != "/_stats":
            with self.lock:
                self.requests += 1
                request_no = self.requests
                if tid is not None:
                    self.ids_received.append(tid)
                    self.ids.append(tid)
            if self.delay_ms:
                self._stop.wait(self.delay_ms / 1000.0)
        else:
            request_no = 0

        extra = []
        for hv in query.get("h", []):
            name, _, value = hv.partition(":")
            extra.append((name, value))
        extra += [("X-Conn-Id", str(conn_id)), ("X-Request-No", str(request_no))]

        conn_tokens = _tokens(hall(headers, "connection"))
        close = "close" in conn_tokens or (version == "HTTP/1.0" and "keep-alive" not in conn_tokens)
        quiet_close = hget(headers, "x-close-after") == "1"
        if close:
            extra.append(("Connection", "close"))
        head_only = method == "HEAD"

        def q(name, default):
            return int(query.get(name, [default])[0])

        if path == "/_stats":
            self._send(conn, 200, extra, json.dumps(self.stats()).encode(), head_only)
        elif path == "/healthz":
            code = self.health_status
            self._send(conn, code, extra, b"health %d\n" % code, head_only)
        elif path == "/cache" or path.endswith("/cache"):
            cc = query.get("cc", [None])[0]
            hs = [("Date", email.utils.formatdate(usegmt=True)), ("Content-Type", "text/plain")]
            if cc is not None:
                hs.append(("Cache-Control", cc))
            self._send(conn, 200, extra + hs, b"the copy of " + target.encode("latin-1") + b"\n",
                       head_only)
        elif path.startswith("/status/"):
            code = int(path[len("/status/"):])
            if code in (204, 304) or code < 200:
                self._send_head(conn, code, extra)
            else:
                self._send(conn, code, extra, b"status %d\n" % code, head_only)
        elif path == "/bytes":
            total = q("n", 0)
            self._send_head(conn, 200, extra + [("Content-Length", str(total)),
                                                ("Content-Type", "application/octet-stream")])
            if not head_only:
                off = 0
                while off < total and not self._stop.is_set():
                    k = min(65536, total - off)
                    conn.sendall(pattern(off, k))
                    off += k
        elif path == "/chunks":
            count, size = q("n", 1), q("size", 16)
            self._send_head(conn, 200, extra + [("Transfer-Encoding", "chunked")])
            if not head_only:
                off = 0
                for _ in range(count):
                    if size > 0:
                        conn.sendall(b"%x\r\n" % size + pattern(off, size) + b"\r\n")
                        off += size
                conn.sendall(b"0\r\n\r\n")
        elif path == "/close-delimited":
            total = q("n", 0)
            self._send_head(conn, 200, extra)
            if not head_only:
                off = 0
                while off < total and not self._stop.is_set():
                    k = min(65536, total - off)
                    conn.sendall(pattern(off, k))
                    off += k
            return False
        elif path in ("/", "/sleep") or path.startswith("/echo"):
            if path == "/sleep":
                self._stop.wait(min(q("ms", 0), 10000) / 1000.0)
            body = json.dumps({
                "method": method, "target": target, "version": version,
                "headers": headers, "body_len": rec["body_len"],
                "body_sha256": rec["body_sha256"], "framing": framing,
                "conn_id": conn_id, "request_no": request_no,
            }).encode()
            self._send(conn, 200, extra + [("Content-Type", "application/json")], body, head_only)
        else:
            self._send(conn, 404, extra, b"no such app path\n", head_only)
        return not (close or quiet_close)

    @staticmethod
    def _send_head(conn, code, headers):
        out = ["HTTP/1.1 %d %s" % (code, reason(code))]
        out += ["%s: %s" % (n, v) for n, v in headers]
        conn.sendall(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))

    def _send(self, conn, code, headers, body, head_only):
        self._send_head(conn, code, headers + [("Content-Length", str(len(body)))])
        if not head_only:
            conn.sendall(body)


# -- the raw scripted upstream ------------------------------------------------

def recv_head():
    return ("recv_head",)


def recv_request():
    """The request head and then its Content-Length body (read whole, so
    that a close() after it ends with FIN, not RST)."""
    return ("recv_request",)


def send(data):
    return ("send", bytes(data))


def sleep(seconds):
    return ("sleep", float(seconds))


def close():
    return ("close",)


def rst():
    return ("rst",)


class RawUpstream:
    """Runs a script of steps on each accepted connection. With several
    scripts, connection i runs scripts[i], the last one repeating.

    Steps: recv_head(), recv_request(), send(b"..."), sleep(s), close(),
    rst(). A script that ends without close() or rst() closes normally.
    Attributes: connections (accepted), heads (raw request heads received;
    None for a connection closed before one), bodies (the bodies read by
    recv_request)."""

    def __init__(self, *scripts):
        assert scripts, "at least one script"
        self.scripts = [list(s) for s in scripts]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.connections = 0
        self.heads = []
        self.bodies = []
        self._stop = threading.Event()
        self._conns = set()
        self._threads = []
        self._accepter = threading.Thread(target=self._accept_loop, name="raw-accept", daemon=True)
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
                i = self.connections
                self.connections += 1
                self._conns.add(conn)
            script = self.scripts[min(i, len(self.scripts) - 1)]
            t = threading.Thread(target=self._run, args=(conn, script), daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, conn, script):
        conn.settimeout(IO_TIMEOUT)
        rd = _Reader(conn)
        closed = False
        try:
            for step in script:
                if self._stop.is_set():
                    break
                op = step[0]
                if op == "recv_head":
                    raw = rd.head()
                    with self.lock:
                        self.heads.append(raw)
                    if raw is None:
                        break
                elif op == "recv_request":
                    raw = rd.head()
                    if raw is None:
                        with self.lock:
                            self.heads.append(None)
                        break
                    _, headers = parse_head(raw)
                    body = bytearray()
                    cl = hget(headers, "content-length")
                    if cl is not None:
                        rd.exactly(int(cl), body.extend)
                    with self.lock:
                        self.heads.append(raw)
                        self.bodies.append(bytes(body))
                elif op == "send":
                    conn.sendall(step[1])
                elif op == "sleep":
                    self._stop.wait(step[1])
                elif op == "close":
                    conn.close()
                    closed = True
                    break
                elif op == "rst":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    conn.close()
                    closed = True
                    break
                else:
                    raise ValueError("unknown step %r" % (step,))
        except (EOFError, OSError, BadRequest):
            pass
        finally:
            with self.lock:
                self._conns.discard(conn)
            if not closed:
                try:
                    conn.close()
                except OSError:
                    pass

    def close(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
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
