"""Forwarding: bodies both ways, framing, keep-alive, the headers a proxy
adds and removes, and the access log line."""

import calendar
import hashlib
import os
import re
import socket
import threading
import time
import urllib.parse

import pytest

from conftest import upstream_config
from httpc import Conn, build_request, chunked
from upstreams import pattern_bytes, pattern_sha256

MiB = 1 << 20
RSS_LIMIT_KIB = 64 * 1024
HEX32 = re.compile(r"[0-9a-f]{32}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def sha(b):
    return hashlib.sha256(b).hexdigest()


def up_all(rec, name):
    name = name.lower()
    return [v for n, v in rec["headers"] if n.lower() == name]


def up_one(rec, name):
    vals = up_all(rec, name)
    assert len(vals) == 1, "upstream saw %s %r; head:\n%s" % (name, vals, rec["raw"].decode("latin-1"))
    return vals[0]


def list_tokens(values):
    out = []
    for v in values:
        out += [t.strip() for t in v.split(",") if t.strip()]
    return out


class RssSampler:
    """Samples VmRSS of a pid every 20 ms in a thread; .max in KiB."""

    def __init__(self, tt):
        self.tt = tt
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            v = self.tt.vmrss_kib()
            if v:
                self.max = max(self.max, v)
                self.samples += 1
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(2)


# -- basic forwarding and the log line ---------------------------------------------

def test_get_is_forwarded_and_logged(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("GET", "/echo?x=1")
        local_port = c.local_port
    assert r.status == 200, r
    e = r.json()
    assert (e["method"], e["target"], e["body_len"]) == ("GET", "/echo?x=1", 0)
    line = tt.log_line()
    expected_keys = {"time", "request_id", "downstream", "method", "target", "status", "bytes_in",
                     "bytes_out", "duration_ms", "upstream", "upstream_status",
                     "upstream_connect_ms", "upstream_head_ms", "attempts", "fault", "fault_type",
                     "fault_stage", "fault_details"}
    assert expected_keys <= set(line), "missing keys %s" % (expected_keys - set(line))
    assert TIME.fullmatch(line["time"]), line["time"]
    assert HEX32.fullmatch(line["request_id"]), line
    assert line["downstream"] == "127.0.0.1:%d" % local_port
    assert (line["method"], line["target"], line["status"]) == ("GET", "/echo?x=1", 200)
    assert line["bytes_in"] == 0
    assert line["bytes_out"] == r.wire_len, (line, r.wire_len)
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert line["upstream"] == app.addr
    assert line["upstream_status"] == 200
    assert isinstance(line["upstream_connect_ms"], (int, float)), line
    assert isinstance(line["upstream_head_ms"], (int, float)), line
    assert "error" not in line, "the key 'error' was renamed 'fault': %r" % line
    assert line["fault"] is None and line["fault_type"] is None, line
    assert line["fault_stage"] is None and line["fault_details"] is None, line
    assert isinstance(line["attempts"], list) and len(line["attempts"]) == 1, line
    a = line["attempts"][0]
    assert {"upstream", "fault", "stage", "connect_ms", "head_ms", "reused"} <= set(a), a
    assert a["upstream"] == app.addr and a["fault"] is None, a
    assert isinstance(a["connect_ms"], (int, float)) and isinstance(a["head_ms"], (int, float)), a
    assert a["reused"] is False, a


def test_logged_timings_follow_the_clock(telltale, app):
    """The worker reads its clock once per loop turn (core/worker.h): the
    timings of a request that waited 300 ms for its head still say so, and
    its time stamp is the wall clock's."""
    tt = telltale(upstream_config(app))
    before = time.time()
    r = tt.request("GET", "/sleep?ms=300")
    after = time.time()
    assert r.status == 200, r
    line = tt.log_line()
    assert 300 <= line["upstream_head_ms"] < 2000, line
    assert line["upstream_head_ms"] <= line["duration_ms"] < after * 1000 - before * 1000 + 1, line
    stamp = calendar.timegm(time.strptime(line["time"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert before - 1 <= stamp <= after, (line["time"], before, after)


@pytest.mark.parametrize("size", [0, 1, 64 * 1024], ids=["0B", "1B", "64KiB"])
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_request_body_arrives_intact(telltale, app, method, size):
    tt = telltale(upstream_config(app))
    body = os.urandom(size)
    r = tt.request(method, "/echo", body=body)
    assert r.status == 200, r
    e = r.json()
    assert e["method"] == method
    assert (e["body_len"], e["body_sha256"]) == (size, sha(body))
    rec = app.heads[-1]
    if rec["framing"] == "length":
        assert up_one(rec, "content-length") == str(size)
    elif size == 0:
        assert rec["framing"] in ("none", "chunked"), rec
    else:
        assert rec["framing"] == "chunked", rec
    line = tt.log_line()
    assert line["bytes_in"] == size, line
    assert line["bytes_out"] == r.wire_len, line


def test_upload_100mib_streams(telltale, app):
    tt = telltale(upstream_config(app))
    total = 100 * MiB
    block = os.urandom(MiB)
    h = hashlib.sha256()

    def body():
        for _ in range(total // MiB):
            h.update(block)
            yield block

    with RssSampler(tt) as rss, tt.conn(timeout=120) as c:
        c.send(build_request("POST", "/echo", headers=[("Content-Length", str(total))]))
        for part in body():
            c.send(part)
        r = c.read_response(timeout=120)
    assert r.status == 200, r
    e = r.json()
    assert (e["body_len"], e["body_sha256"]) == (total, h.hexdigest())
    assert rss.samples > 0
    assert rss.max < RSS_LIMIT_KIB, "VmRSS reached %d KiB during a 100 MiB upload" % rss.max
    assert tt.log_line()["bytes_in"] == total


def test_download_100mib_streams(telltale, app):
    tt = telltale(upstream_config(app))
    total = 100 * MiB
    with RssSampler(tt) as rss, tt.conn(timeout=120) as c:
        r = c.request("GET", "/bytes?n=%d" % total, store_body=False, timeout=120)
    assert r.status == 200, r
    assert (r.body_len, r.sha256) == (total, pattern_sha256(total))
    assert rss.samples > 0
    assert rss.max < RSS_LIMIT_KIB, "VmRSS reached %d KiB during a 100 MiB download" % rss.max
    line = tt.log_line()
    assert line["bytes_out"] == r.wire_len


# -- framing -----------------------------------------------------------------------

def test_chunked_request_body_arrives_intact(telltale, app):
    tt = telltale(upstream_config(app))
    pieces = [b"a", os.urandom(10), os.urandom(1000), os.urandom(65536), os.urandom(3)]
    whole = b"".join(pieces)
    data = build_request("POST", "/echo", headers=[("Transfer-Encoding", "chunked")]) + \
        chunked(*pieces, ext="name=value")
    with tt.conn() as c:
        c.send(data)
        r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    assert (e["body_len"], e["body_sha256"]) == (len(whole), sha(whole))
    rec = app.heads[-1]
    te = up_all(rec, "transfer-encoding")
    cl = up_all(rec, "content-length")
    if rec["framing"] == "chunked":
        assert te == ["chunked"] and not cl, rec["raw"]
    else:
        assert rec["framing"] == "length" and cl == [str(len(whole))] and not te, rec["raw"]


def test_chunked_response_arrives_intact(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/chunks?n=10&size=1000")
    assert r.status == 200, r
    assert r.body == pattern_bytes(10000)


def test_close_delimited_response_to_http11_client(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("GET", "/close-delimited?n=5000")
    assert r.status == 200, r
    assert r.framing in ("chunked", "close"), r
    assert r.body == pattern_bytes(5000)


def test_close_delimited_response_to_http10_client(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("GET", "/close-delimited?n=5000", version="HTTP/1.0")
    assert r.status == 200, r
    assert not r.header_all("transfer-encoding"), "chunked sent to an HTTP/1.0 client: %r" % r
    assert r.framing in ("close", "length"), r
    assert r.body == pattern_bytes(5000)


def test_http10_client_gets_response_and_close(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("GET", "/echo", version="HTTP/1.0")
        closed, extra = c.wait_closed(3)
    assert r.status == 200, r
    assert not r.header_all("transfer-encoding"), r
    assert r.json()["target"] == "/echo"
    assert closed and extra == b"", "HTTP/1.0 connection without keep-alive left open"


@pytest.mark.parametrize("later", [False, True], ids=["with_it", "while_waiting"])
def test_close_request_with_bytes_behind_it_gets_its_whole_response(telltale, app, later):
    """Connection: close ends the connection after the response (RFC 9112
    section 9.6). A client that sends more anyway, with the request or while
    the response is on its way, still gets the response whole, then a clean
    end (its unread bytes make the close linger: a reset would destroy the
    response, whose last bytes wait in the kernel for the FIN), and nothing
    for its extra bytes."""
    tt = telltale(upstream_config(app))
    req = build_request("GET", "/sleep?ms=300", headers=[("Connection", "close")])
    extra = build_request("GET", "/echo?i=2") + b"x" * 20000
    with tt.conn() as c:
        if later:
            c.send(req)
            time.sleep(0.1)
            c.send(extra)
        else:
            c.send(req + extra)
        r = c.read_response()
        closed, extra = c.wait_closed(3)
    assert r.status == 200, r
    assert r.json()["target"] == "/sleep?ms=300"
    assert "close" in r.tokens("connection"), r
    assert closed and extra == b"", "no clean end after the close response: %r" % extra[:80]


@pytest.mark.parametrize("asked_close", [True, False], ids=["close", "keep_alive"])
def test_client_reset_while_waiting_is_logged_at_once(telltale, app, asked_close):
    """A client that resets while its response is awaited ends the exchange
    as downstream_closed when the reset arrives, not when the response comes:
    telltale reads on while it waits, also from a client that asked for the
    close (which could only send a half-close or a reset)."""
    tt = telltale(upstream_config(app))
    headers = [("Connection", "close")] if asked_close else []
    s = socket.create_connection(("127.0.0.1", tt.port), timeout=10)
    s.sendall(build_request("GET", "/sleep?ms=1500", headers=headers))
    time.sleep(0.15)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    line = tt.log_line(timeout=10)
    assert line["fault"] == "downstream_closed", line
    assert "127.0.0.1:" in line["fault_details"], line
    assert "closed the connection" in line["fault_details"], line
    assert line["duration_ms"] < 1200, line
    assert tt.request("GET", "/echo").status == 200


def test_pipelined_requests_get_responses_in_order(telltale, app):
    tt = telltale(upstream_config(app))
    data = (build_request("GET", "/echo?i=1") +
            build_request("POST", "/echo?i=2", body=b"hello") +
            build_request("GET", "/sleep?ms=50&i=3") +
            build_request("GET", "/echo?i=4"))
    with tt.conn() as c:
        c.send(data)
        rs = [c.read_response() for _ in range(4)]
    assert [r.status for r in rs] == [200] * 4, rs
    assert [r.json()["target"] for r in rs] == ["/echo?i=1", "/echo?i=2", "/sleep?ms=50&i=3",
                                                "/echo?i=4"]
    assert rs[1].json()["body_len"] == 5


def test_head_gets_no_body_but_the_get_length(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("HEAD", "/bytes?n=1234")
        assert r.status == 200, r
        assert r.header("content-length") == "1234", r
        r2 = c.request("GET", "/echo?after=head")  # a stray body would break this one
    assert r2.status == 200 and r2.json()["target"] == "/echo?after=head", r2


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_statuses_keep_the_connection_usable(telltale, app, code):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        r = c.request("GET", "/status/%d" % code)
        assert r.status == code, r
        assert not r.header_all("transfer-encoding"), r
        r2 = c.request("GET", "/echo?after=%d" % code)
        assert r2.status == 200 and r2.json()["target"] == "/echo?after=%d" % code, r2
        assert c.buf == b"", "bytes left over: %r" % bytes(c.buf)


def test_expect_100_continue(telltale, app):
    tt = telltale(upstream_config(app))
    body = os.urandom(5000)
    with tt.conn() as c:
        c.send(build_request("POST", "/echo", headers=[("Expect", "100-continue"),
                                                       ("Content-Length", str(len(body)))]))
        interim = c.read_head(timeout=3)
        assert interim.status == 100, "expected 100 Continue before sending the body, got %r" % interim
        c.send(body)
        r = c.read_response()
    assert r.status == 200, r
    e = r.json()
    assert (e["body_len"], e["body_sha256"]) == (len(body), sha(body))


# -- keep-alive --------------------------------------------------------------------

def test_keepalive_one_downstream_connection_reuses_upstream(telltale, app):
    tt = telltale(upstream_config(app))
    with tt.conn() as c:
        for i in range(20):
            r = c.request("GET", "/echo?i=%d" % i)
            assert r.status == 200, r
    assert app.requests == 20
    assert app.connections == 1, "20 requests used %d upstream connections" % app.connections
    reused = [[a["reused"] for a in l["attempts"]] for l in tt.log_lines(20)]
    assert reused == [[False]] + [[True]] * 19, reused


def test_keepalive_many_downstream_connections_reuse_upstream(telltale, app):
    tt = telltale(upstream_config(app))
    for i in range(20):
        with tt.conn() as c:
            r = c.request("GET", "/echo?i=%d" % i)
            assert r.status == 200, r
    assert app.requests == 20
    assert app.connections == 1, "20 requests used %d upstream connections" % app.connections


def test_upstream_closing_idle_connection_is_not_an_error(telltale, app):
    tt = telltale(upstream_config(app))
    statuses = []
    with tt.conn() as c:
        for i in range(10):
            r = c.request("GET", "/echo?round=%d" % i, headers=[("X-Close-After", "1")])
            statuses.append(r.status)
            time.sleep(0.05)
    assert statuses == [200] * 10, statuses
    assert app.requests == 10
    lines = tt.log_lines(10)
    assert [l["status"] for l in lines] == [200] * 10, lines
    assert [l["fault"] for l in lines] == [None] * 10, lines


def test_response_not_read_to_the_end_is_not_reused(telltale, app):
    tt = telltale(upstream_config(app))
    c = tt.conn()
    c.send(build_request("GET", "/bytes?n=%d" % (4 * MiB)))
    head = c.read_head()
    assert head.status == 200, head
    first_conn = head.header("x-conn-id")
    deadline = time.monotonic() + 5
    while len(c.buf) < 1000:
        assert c._recv(deadline), "no body bytes"
    c.close()
    time.sleep(0.2)
    r = tt.request("GET", "/echo?after=abort")
    assert r.status == 200, r
    assert r.json()["target"] == "/echo?after=abort"
    assert str(r.json()["conn_id"]) != first_conn, "upstream connection reused mid-body"


# -- headers toward the upstream ---------------------------------------------------

def test_hop_by_hop_request_fields_are_removed(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/echo", headers=[
        ("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"), ("Upgrade", "foo/1"), ("Proxy-Connection", "keep-alive"),
        ("Trailer", "X-T"), ("X-Kept", "yes")])
    assert r.status == 200, r
    rec = app.heads[-1]
    names = {n.lower() for n, _ in rec["headers"]}
    leaked = names & {"x-secret", "keep-alive", "te", "upgrade", "proxy-connection", "trailer"}
    assert not leaked, "hop-by-hop fields forwarded: %s\n%s" % (leaked, rec["raw"].decode())
    conn_tokens = {t.lower() for t in list_tokens(up_all(rec, "connection"))}
    assert conn_tokens <= {"keep-alive", "close"}, conn_tokens
    assert up_one(rec, "x-kept") == "yes"


@pytest.mark.parametrize("incoming,expected", [
    (None, ["1.1 tt-test"]),
    ("1.0 fred", ["1.0 fred", "1.1 tt-test"]),
    ("1.0 fred, 1.1 p.example.net", ["1.0 fred", "1.1 p.example.net", "1.1 tt-test"]),
], ids=["none", "one", "two"])
def test_via_is_added_upstream(telltale, app, incoming, expected):
    tt = telltale(upstream_config(app, name="tt-test"))
    r = tt.request("GET", "/echo", headers=[("Via", incoming)] if incoming else [])
    assert r.status == 200, r
    assert list_tokens(up_all(app.heads[-1], "via")) == expected


def test_via_uses_configured_name(telltale, app):
    tt = telltale(upstream_config(app, name="edge1"))
    r = tt.request("GET", "/echo")
    assert r.status == 200, r
    assert list_tokens(up_all(app.heads[-1], "via")) == ["1.1 edge1"]
    assert list_tokens(r.header_all("via"))[-1] == "1.1 edge1"


def test_forwarding_fields_from_a_trusted_downstream(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/echo", host="example.test:8443",
                   headers=[("X-Forwarded-For", "203.0.113.7")])
    assert r.status == 200, r
    rec = app.heads[-1]
    assert list_tokens(up_all(rec, "x-forwarded-for")) == ["203.0.113.7", "127.0.0.1"]
    assert up_one(rec, "x-forwarded-proto") == "http"
    assert up_one(rec, "x-forwarded-host") == "example.test:8443"
    assert up_one(rec, "host") == "example.test:8443"


def test_forwarding_fields_without_incoming_ones(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/echo", host="example.test")
    assert r.status == 200, r
    rec = app.heads[-1]
    assert up_one(rec, "x-forwarded-for") == "127.0.0.1"
    assert up_one(rec, "x-forwarded-proto") == "http"
    assert up_one(rec, "x-forwarded-host") == "example.test"
    assert up_one(rec, "host") == "example.test"


def test_forwarded_rfc7239(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/echo", host="example.test:8443")
    assert r.status == 200, r
    elements = list_tokens(up_all(app.heads[-1], "forwarded"))
    assert elements, "no Forwarded field upstream"
    last = elements[-1]
    params = {}
    for pair in last.split(";"):
        k, _, v = pair.strip().partition("=")
        params[k.lower()] = v
    assert params.get("for") == "127.0.0.1", last
    assert params.get("proto") == "http", last
    assert params.get("host") == '"example.test:8443"', last  # ':' is not a tchar: quoted


def test_untrusted_downstream_fields_are_replaced(telltale, app):
    tt = telltale(upstream_config(app, trusted_networks=["10.0.0.0/8"]))
    r = tt.request("GET", "/echo", headers=[("X-Forwarded-For", "203.0.113.7"),
                                            ("X-Request-Id", "spoofed-id-1")])
    assert r.status == 200, r
    rec = app.heads[-1]
    assert list_tokens(up_all(rec, "x-forwarded-for")) == ["127.0.0.1"]
    rid = up_one(rec, "x-request-id")
    assert HEX32.fullmatch(rid), rid
    assert r.header("x-request-id") == rid
    assert tt.log_line()["request_id"] == rid


def test_untrusted_downstream_forwarded_is_replaced(telltale, app):
    # From config.h: Forwarded, like X-Forwarded-*, is kept only from trusted
    # downstreams.
    tt = telltale(upstream_config(app, trusted_networks=["10.0.0.0/8"]))
    r = tt.request("GET", "/echo", headers=[("Forwarded", "for=203.0.113.7")])
    assert r.status == 200, r
    elements = list_tokens(up_all(app.heads[-1], "forwarded"))
    assert len(elements) == 1 and "203.0.113.7" not in elements[0], elements


def test_request_id_generated_when_absent(telltale, app):
    tt = telltale(upstream_config(app))
    r1 = tt.request("GET", "/echo")
    r2 = tt.request("GET", "/echo")
    ids = [up_one(app.heads[i], "x-request-id") for i in (0, 1)]
    for rid, r in zip(ids, (r1, r2)):
        assert HEX32.fullmatch(rid), rid
        assert r.header("x-request-id") == rid, r
    assert ids[0] != ids[1]
    assert [l["request_id"] for l in tt.log_lines(2)] == ids


def test_request_id_kept_from_trusted_downstream(telltale, app):
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/echo", headers=[("X-Request-Id", "req-abc-123")])
    assert r.status == 200, r
    assert up_one(app.heads[-1], "x-request-id") == "req-abc-123"
    assert r.header("x-request-id") == "req-abc-123"
    assert tt.log_line()["request_id"] == "req-abc-123"


# -- headers toward the downstream -------------------------------------------------

def test_response_hop_by_hop_removed_and_via_added(telltale, app):
    tt = telltale(upstream_config(app, name="tt-test"))
    q = urllib.parse.urlencode([("h", "Connection:X-Up-Secret"), ("h", "X-Up-Secret:1"),
                                ("h", "Keep-Alive:timeout=5"), ("h", "Proxy-Connection:keep-alive"),
                                ("h", "Upgrade:foo/1"), ("h", "Via:1.1 backend"),
                                ("h", "X-Up-Kept:yes")])
    with tt.conn() as c:
        r = c.request("GET", "/echo?" + q)
        assert r.status == 200, r
        names = {n.lower() for n, _ in r.headers}
        leaked = names & {"x-up-secret", "keep-alive", "proxy-connection", "upgrade"}
        assert not leaked, "hop-by-hop response fields passed on: %s in %r" % (leaked, r)
        assert set(r.tokens("connection")) <= {"keep-alive", "close"}, r
        assert r.header("x-up-kept") == "yes"
        assert list_tokens(r.header_all("via")) == ["1.1 backend", "1.1 tt-test"], r
        # and the connection is still good
        assert c.request("GET", "/echo").status == 200


def test_response_carries_via(telltale, app):
    # Without `name:` the proxy is named after the machine (issue 3).
    tt = telltale(upstream_config(app))
    r = tt.request("GET", "/status/404")
    assert r.status == 404
    assert list_tokens(r.header_all("via")) == ["1.1 %s" % socket.gethostname()], r


# -- access log destinations and proxy mode -------------------------------------------

def test_access_log_off_writes_nothing(telltale, app):
    tt = telltale("workers: 1\naccess_log: off\nlisten: [\"{listen}\"]\n"
                  "upstreams:\n  app:\n    servers: [\"%s\"]\n" % app.addr)
    assert tt.request("GET", "/echo").status == 200
    time.sleep(0.3)
    assert tt.stdout() == ""


def test_access_log_to_a_file(telltale, app, tmp_path):
    path = str(tmp_path / "access.log")
    tt = telltale(upstream_config(app, access_log=path))
    assert tt.request("GET", "/echo?to=file").status == 200
    lines = tt.log_lines(1, path=path)
    assert len(lines) == 1 and lines[0]["target"] == "/echo?to=file", lines
    assert tt.stdout() == ""


def test_proxy_subcommand_without_config(telltale, app):
    tt = telltale(argv=["proxy", "--listen", "{listen}", "--to", app.addr, "--access-log", "stdout"])
    r = tt.request("GET", "/echo?mode=proxy")
    assert r.status == 200, r
    assert r.json()["target"] == "/echo?mode=proxy"
    line = tt.log_line()
    assert line["status"] == 200 and line["upstream"] == app.addr


def test_proxy_subcommand_two_upstreams_and_workers(telltale, app, app2):
    tt = telltale(argv=["proxy", "--listen", "{listen}", "--to", "%s,%s" % (app.addr, app2.addr),
                        "--workers", "2", "--access-log", "off", "--connect-timeout", "2s",
                        "--head-timeout", "5s", "--idle-timeout", "5s"])
    statuses = [tt.request("GET", "/echo?i=%d" % i).status for i in range(10)]
    assert statuses == [200] * 10
    assert app.requests + app2.requests == 10
    time.sleep(0.2)
    assert tt.stdout() == ""
