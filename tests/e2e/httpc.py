"""A strict little HTTP/1.1 client on raw sockets, for the e2e tests.

Conn sends whatever bytes a test gives it and reads responses framed by
Content-Length, chunked or connection close, with a deadline on every read.
"""

import errno
import hashlib
import json
import socket
import time

MAX_HEAD = 1 << 20


class ResponseError(Exception):
    pass


class IncompleteResponse(ResponseError):
    def __init__(self, msg, response):
        super().__init__(msg)
        self.response = response


class Response:
    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []
        self.raw_head = b""
        self.body = b""
        self.body_len = 0
        self.sha256 = None
        self.framing = None  # "length", "chunked", "close" or "none"
        self.complete = False
        self.wire_len = 0  # bytes of head + body as received, framing included
        self.interim = []  # 1xx responses before this one

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n.lower() == name]

    def tokens(self, name):
        out = []
        for v in self.header_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %s %s framing=%s len=%d complete=%s headers=%r>" % (
            self.status, self.reason, self.framing, self.body_len, self.complete, self.headers)


def build_request(method="GET", target="/", headers=(), body=None, host="example.test",
                  version="HTTP/1.1"):
    """Bytes of a request. Host is added unless host is None or headers have
    one; Content-Length is added when body is not None and headers carry no
    Content-Length or Transfer-Encoding."""
    headers = list(headers)
    names = {n.lower() for n, _ in headers}
    out = ["%s %s %s" % (method, target, version)]
    if host is not None and "host" not in names:
        out.append("Host: %s" % host)
    for n, v in headers:
        out.append("%s: %s" % (n, v))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        out.append("Content-Length: %d" % len(body))
    raw = ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")
    return raw + (body or b"")


def chunked(*pieces, ext=None):
    """A chunked body from byte strings (empty pieces are skipped)."""
    out = bytearray()
    for i, p in enumerate(pieces):
        if not p:
            continue
        if ext and i == 0:
            out += b"%x;%s\r\n" % (len(p), ext.encode())
        else:
            out += b"%x\r\n" % len(p)
        out += p + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


class Conn:
    def __init__(self, port, timeout=10.0, host="127.0.0.1", tls=None, server_hostname=None,
                 session=None):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:  # an ssl.SSLContext: speak HTTPS
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_hostname,
                                        session=session)
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    @property
    def local_port(self):
        return self.sock.getsockname()[1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def request(self, *args, **kwargs):
        """Send build_request(*args) and read the response."""
        method = kwargs.get("method", args[0] if args else "GET")
        read_kw = {k: kwargs.pop(k) for k in ("timeout", "store_body", "allow_incomplete")
                   if k in kwargs}
        self.send(build_request(*args, **kwargs))
        return self.read_response(method=method, **read_kw)

    # -- reading -------------------------------------------------------------

    def _recv(self, deadline):
        """Append one read to buf; False on EOF (or reset). Raises
        socket.timeout when the deadline passes."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline passed")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(262144)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_head(self, timeout=None):
        """The next response head as a Response without a body."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                break
            if len(self.buf) > MAX_HEAD:
                raise ResponseError("response head over 1 MiB")
            if not self._recv(deadline):
                raise ResponseError("connection closed before a complete response head "
                                    "(got %r)" % bytes(self.buf[:200]))
        raw = bytes(self.buf[:i + 4])
        del self.buf[:i + 4]
        r = Response()
        r.raw_head = raw
        r.wire_len = len(raw)
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise ResponseError("bad status line %r" % lines[0])
        r.version, r.status = parts[0], int(parts[1])
        r.reason = parts[2] if len(parts) > 2 else ""
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep or name != name.strip() or not name:
                raise ResponseError("bad header line %r" % line)
            r.headers.append((name, value.strip(" \t")))
        return r

    def read_response(self, method="GET", timeout=None, store_body=True, allow_incomplete=False,
                      skip_interim=True):
        """Read one response (after any 1xx when skip_interim). The body is
        hashed as it comes; it is kept only when store_body. A body cut short
        raises IncompleteResponse unless allow_incomplete."""
        timeout = timeout or self.timeout
        deadline = time.monotonic() + timeout
        interim = []
        while True:
            r = self.read_head(timeout=max(0.001, deadline - time.monotonic()))
            if 100 <= r.status < 200 and r.status != 101 and skip_interim:
                interim.append(r)
                continue
            break
        r.interim = interim
        h = hashlib.sha256()
        body = bytearray()

        def take(n):
            data = bytes(self.buf[:n])
            del self.buf[:n]
            h.update(data)
            r.body_len += len(data)
            r.wire_len += len(data)
            if store_body:
                body.extend(data)

        def finish(complete):
            r.complete = complete
            r.sha256 = h.hexdigest()
            r.body = bytes(body) if store_body else None
            if not complete and not allow_incomplete:
                raise IncompleteResponse("response body cut short: %r" % r, r)
            return r

        te = r.tokens("transfer-encoding")
        cl = r.header_all("content-length")
        if method == "HEAD" or 100 <= r.status < 200 or r.status in (204, 304):
            r.framing = "none"
            return finish(True)
        if te:
            if te[-1] != "chunked":
                raise ResponseError("response transfer-encoding %r" % te)
            if cl:
                raise ResponseError("response has both Content-Length and Transfer-Encoding")
            r.framing = "chunked"
            while True:
                while b"\r\n" not in self.buf:
                    if not self._recv(deadline):
                        return finish(False)
                i = self.buf.find(b"\r\n")
                line = bytes(self.buf[:i])
                r.wire_len += i + 2
                del self.buf[:i + 2]
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ResponseError("bad chunk size line %r" % line)
                if size == 0:
                    break
                while size > 0:
                    if not self.buf and not self._recv(deadline):
                        return finish(False)
                    k = min(size, len(self.buf))
                    take(k)
                    size -= k
                while len(self.buf) < 2:
                    if not self._recv(deadline):
                        return finish(False)
                if self.buf[:2] != b"\r\n":
                    raise ResponseError("chunk data not followed by CRLF")
                del self.buf[:2]
                r.wire_len += 2
            while True:  # trailer section
                while b"\r\n" not in self.buf:
                    if not self._recv(deadline):
                        return finish(False)
                i = self.buf.find(b"\r\n")
                del self.buf[:i + 2]
                r.wire_len += i + 2
                if i == 0:
                    break
            return finish(True)
        if cl:
            if len(set(cl)) != 1 or not cl[0].isdigit():
                raise ResponseError("bad response Content-Length %r" % cl)
            left = int(cl[0])
            r.framing = "length"
            while left > 0:
                if not self.buf and not self._recv(deadline):
                    return finish(False)
                k = min(left, len(self.buf))
                take(k)
                left -= k
            return finish(True)
        r.framing = "close"
        while True:
            if self.buf:
                take(len(self.buf))
            if not self._recv(deadline):
                break
        return finish(True)

    def wait_closed(self, timeout):
        """Wait for the peer to close. Returns (closed, bytes received meanwhile)."""
        deadline = time.monotonic() + timeout
        got = bytearray(self.buf)
        self.buf.clear()
        while True:
            try:
                more = self._recv(deadline)
            except socket.timeout:
                return False, bytes(got)
            got += self.buf
            self.buf.clear()
            if not more:
                return True, bytes(got)


def request(port, *args, **kwargs):
    """One request on a fresh connection."""
    with Conn(port, timeout=kwargs.pop("conn_timeout", 10.0)) as c:
        return c.request(*args, **kwargs)


def connect_refused(port, timeout=1.0):
    """True when a connect to the port is refused."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except ConnectionRefusedError:
        return True
    except OSError as e:
        return e.errno == errno.ECONNREFUSED
    s.close()
    return False
