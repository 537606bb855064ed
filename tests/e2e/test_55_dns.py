"""Upstream servers named by host name (GitHub issue 5, item 3): resolved at
run time by each worker's resolver (c-ares), every address used, TTLs
followed without a reload, failures told with the DNS rcode, and the last
good answer served while the resolver fails.

The DNS server is this file's own (UDP on 127.0.0.1, a free port, standard
library only), configured as telltale's only resolver.server. Names end in
.telltale.test, which /etc/hosts does not know. The upstreams are small
HTTP servers bound on 127.0.0.1 and 127.0.0.2 with the same port, each
answering with the address it listens on, and closing every connection so
that each request opens a new upstream connection (no pooling hides the
rotation)."""

import http.server
import socket
import socketserver
import struct
import threading
import time

import pytest

from conftest import free_port
from httpc import request
from sfv import Token, parse_field_lines

A = 1
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
NAME = "tt-test"


class DnsServer:
    """Answers by name from self.script: name -> list of behaviours, one per
    query of each type (A and AAAA are counted apart; the last behaviour
    repeats). A behaviour is [(ip, ttl), ...] for A records (an AAAA query
    then gets NOERROR and no record), an rcode (int) for an error, or None
    for silence. Names not in the script are NXDOMAIN."""

    def __init__(self):
        self.script = {}
        self.queries = {}
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def set(self, name, *behaviours):
        with self.lock:
            self.script[name] = list(behaviours)
            self.queries[(name, A)] = self.queries[(name, 28)] = 0

    def count(self, name):
        """A queries received for the name."""
        with self.lock:
            return self.queries.get((name, A), 0)

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                msg, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            out = self._answer(msg)
            if out is not None:
                self.sock.sendto(out, peer)

    def _answer(self, msg):
        if len(msg) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", msg[:6])
        labels, at = [], 12
        while at < len(msg) and msg[at]:
            n = msg[at]
            labels.append(msg[at + 1:at + 1 + n].decode("ascii", "replace"))
            at += 1 + n
        at += 1
        if qd != 1 or at + 4 > len(msg):
            return None
        qtype = struct.unpack("!H", msg[at:at + 2])[0]
        qend = at + 4
        name = ".".join(labels).lower()
        rcode, records = NXDOMAIN, []
        with self.lock:
            if name in self.script and (name, qtype) in self.queries:
                steps = self.script[name]
                n = self.queries[(name, qtype)]
                self.queries[(name, qtype)] = n + 1
                step = steps[min(n, len(steps) - 1)]
                if step is None:
                    return None
                rcode = step if isinstance(step, int) else NOERROR
                records = step if qtype == A and not isinstance(step, int) else []
        head = struct.pack("!HHHHHH", qid, 0x8000 | (flags & 0x7900) | 0x0080 | rcode, 1,
                           len(records), 0, 0)
        body = b"".join(struct.pack("!HHHIH", 0xC00C, A, 1, ttl, 4) + socket.inet_aton(ip)
                        for ip, ttl in records)
        return head + msg[12:qend] + body


class Upstream(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = self.server.server_address[0].encode()
        with self.server.lock:
            self.server.hits += 1
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *args):
        pass


def start_upstream(ip, port):
    s = Upstream((ip, port), Handler)
    s.lock = threading.Lock()
    s.hits = 0
    threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return s


@pytest.fixture
def dns():
    d = DnsServer()
    yield d
    d.close()


@pytest.fixture
def ups():
    """Two upstreams, on 127.0.0.1 and 127.0.0.2, same port."""
    for _ in range(20):
        port = free_port()
        try:
            a = start_upstream("127.0.0.1", port)
        except OSError:
            continue
        try:
            b = start_upstream("127.0.0.2", port)
        except OSError:
            a.shutdown()
            a.server_close()
            continue
        break
    else:
        pytest.fail("no port free on both 127.0.0.1 and 127.0.0.2")
    yield port, a, b
    for s in (a, b):
        s.shutdown()
        s.server_close()


def config(dns, port, name="app.telltale.test", resolver=None, **extra):
    r = {"servers": [dns.addr], "timeout": "1s", "tries": 1}
    r.update(resolver or {})
    cfg = {"name": NAME, "upstreams": {"app": {"servers": ["%s:%d" % (name, port)],
                                               "retry": {"attempts": 1}}},
           "resolver": r}
    cfg.update(extra)
    return cfg


def get(tt, timeout=10):
    return request(tt.port, "GET", "/", timeout=timeout)


def our_params(r):
    members = parse_field_lines(r.header_all("proxy-status"))
    assert members and members[-1][0] == Token(NAME), members
    return members[-1][1]


def test_named_upstream_is_resolved_and_used(telltale, dns, ups):
    port, a, b = ups
    dns.set("app.telltale.test", [("127.0.0.1", 300)])
    tt = telltale(config(dns, port))
    r = get(tt)
    assert r.status == 200, r
    assert r.body == b"127.0.0.1"
    r = get(tt)
    assert r.status == 200, r
    # The answer is kept for its TTL: one query for both requests.
    assert dns.count("app.telltale.test") == 1
    assert a.hits == 2 and b.hits == 0


def test_every_address_of_the_answer_gets_traffic(telltale, dns, ups):
    port, a, b = ups
    dns.set("app.telltale.test", [("127.0.0.1", 300), ("127.0.0.2", 300)])
    tt = telltale(config(dns, port))
    bodies = [get(tt).body for _ in range(10)]
    assert set(bodies) == {b"127.0.0.1", b"127.0.0.2"}, bodies
    # New connections rotate over the addresses.
    assert a.hits == 5 and b.hits == 5, (a.hits, b.hits)


def test_a_changed_address_is_followed_without_reload(telltale, dns, ups):
    port, a, b = ups
    dns.set("app.telltale.test", [("127.0.0.1", 1)], [("127.0.0.2", 1)])
    tt = telltale(config(dns, port, resolver={"min_ttl": "0", "stale": "0"}))
    assert get(tt).body == b"127.0.0.1"
    time.sleep(1.3)
    r = get(tt)
    assert r.status == 200, r
    assert r.body == b"127.0.0.2"
    assert dns.count("app.telltale.test") == 2


@pytest.mark.parametrize("rcode,text", [(NXDOMAIN, "NXDOMAIN"), (SERVFAIL, "SERVFAIL"),
                                        (REFUSED, "REFUSED")])
def test_dns_errors_are_502_with_the_rcode(telltale, dns, ups, rcode, text):
    port, a, b = ups
    dns.set("app.telltale.test", rcode)
    tt = telltale(config(dns, port))
    r = get(tt)
    assert r.status == 502, r
    params = our_params(r)
    assert params["error"] == Token("dns_error"), params
    assert params["rcode"] == text, params
    assert a.hits == 0 and b.hits == 0
    line = tt.log_line()
    assert line["status"] == 502, line


def test_unknown_name_is_nxdomain(telltale, dns, ups):
    port, _, _ = ups
    tt = telltale(config(dns, port, name="nosuch.telltale.test"))
    r = get(tt)
    assert r.status == 502, r
    params = our_params(r)
    assert params["error"] == Token("dns_error") and params["rcode"] == "NXDOMAIN", params


def test_silent_resolver_is_504_dns_timeout_within_the_timeout(telltale, dns, ups):
    port, _, _ = ups
    dns.set("app.telltale.test", None)
    tt = telltale(config(dns, port))
    t0 = time.monotonic()
    r = get(tt)
    spent = time.monotonic() - t0
    assert r.status == 504, r
    params = our_params(r)
    assert params["error"] == Token("dns_timeout"), params
    assert "rcode" not in params
    # resolver.timeout is 1s, all tries included.
    assert 0.9 <= spent < 2.0, spent


def test_total_timeout_applies_while_waiting_for_dns(telltale, dns, ups):
    port, _, _ = ups
    dns.set("app.telltale.test", None)
    tt = telltale(config(dns, port, resolver={"timeout": "5s"}, timeouts={"total": "300ms"}))
    t0 = time.monotonic()
    r = get(tt)
    spent = time.monotonic() - t0
    assert r.status == 504, r
    assert our_params(r)["error"] == Token("dns_timeout")
    assert 0.25 <= spent < 1.5, spent


def test_stale_answer_is_served_when_the_resolver_fails(telltale, dns, ups):
    port, a, _ = ups
    dns.set("app.telltale.test", [("127.0.0.1", 1)], SERVFAIL)
    tt = telltale(config(dns, port, resolver={"min_ttl": "0", "stale": "1m"}))
    assert get(tt).body == b"127.0.0.1"
    time.sleep(1.3)
    r = get(tt)
    assert r.status == 200, r
    assert r.body == b"127.0.0.1"
    assert dns.count("app.telltale.test") >= 2
    deadline = time.monotonic() + 3
    while "serving the last good answer" not in tt.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    err = tt.stderr()
    assert "dns: app.telltale.test: SERVFAIL; serving the last good answer (1 address" in err, err


def test_client_gone_while_waiting_for_dns(telltale, dns, ups):
    """An exchange freed while its request waits for the resolver cancels
    the wait; the next request still works."""
    port, a, _ = ups
    dns.set("app.telltale.test", None, [("127.0.0.1", 300)])
    tt = telltale(config(dns, port, resolver={"min_ttl": "0", "timeout": "1s"}))
    s = socket.create_connection(("127.0.0.1", tt.port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
    time.sleep(0.2)
    s.close()
    time.sleep(1.2)
    r = get(tt)
    assert r.status == 200, r
    assert r.body == b"127.0.0.1"


def test_exchange_failing_otherwise_while_waiting_for_dns(telltale, dns, ups):
    """A request body that stalls while the request waits for the resolver
    ends the exchange (408); the resolver's late answer is not used for
    it, and the next request gets the address."""
    port, a, _ = ups
    dns.set("app.telltale.test", None, [("127.0.0.1", 300)])
    tt = telltale(config(dns, port, resolver={"min_ttl": "0", "timeout": "1500ms"},
                         timeouts={"downstream_idle": "300ms"}))
    with socket.create_connection(("127.0.0.1", tt.port), timeout=5) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 10\r\n\r\nabc")
        t0 = time.monotonic()
        got = b""
        while b"\r\n\r\n" not in got and time.monotonic() - t0 < 5:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    assert got.startswith(b"HTTP/1.1 408 "), got[:200]
    assert time.monotonic() - t0 < 1.2
    time.sleep(1.6)  # past the resolver's timeout for the abandoned wait
    r = get(tt)
    assert r.status == 200, r
    assert r.body == b"127.0.0.1"
    assert a.hits == 1
