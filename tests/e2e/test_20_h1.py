"""Malformed requests on a raw socket: each gets its status, a short body,
Connection: close, a closed connection and an access log line, and none
reaches the upstream."""

import socket
import time

import pytest

from conftest import upstream_config
from sfv import parse_field_lines

H = "Host: example.test\r\n"


def req(text):
    return text.encode("latin-1")


CASES = {
    "cl-and-te": (req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400),
    "two-differing-cl": (req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
                             "Content-Length: 6\r\n\r\nhello"), 400),
    "cl-plus-sign": (req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: +5\r\n\r\nhello"), 400),
    "cl-list": (req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5, 6\r\n\r\nhello"), 400),
    "te-gzip-chunked": (req("POST /echo HTTP/1.1\r\n" + H +
                            "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"), 501),
    "te-chunked-not-last": (req("POST /echo HTTP/1.1\r\n" + H +
                                "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"), 400),
    # RFC 9112 section 6.3: chunked is not the final coding, so the length
    # cannot be determined: MUST 400 (the SHOULD 501 of 6.1 is for codings
    # before a final chunked, as in gzip, chunked above).
    "te-xchunked": (req("POST /echo HTTP/1.1\r\n" + H +
                        "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"), 400),
    "space-before-colon": (req("GET /echo HTTP/1.1\r\n" + H + "X-Foo : bar\r\n\r\n"), 400),
    "obs-fold": (req("GET /echo HTTP/1.1\r\n" + H + "X-Foo: bar\r\n baz\r\n\r\n"), 400),
    "bare-cr": (req("GET /echo HTTP/1.1\r\n" + H + "X-Foo: a\rb\r\n\r\n"), 400),
    "nul-in-value": (req("GET /echo HTTP/1.1\r\n" + H + "X-Foo: a\x00b\r\n\r\n"), 400),
    "missing-host-1.1": (req("GET /echo HTTP/1.1\r\nX-Foo: bar\r\n\r\n"), 400),
    "two-hosts": (req("GET /echo HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n"), 400),
    "http-2.0": (req("GET /echo HTTP/2.0\r\n" + H + "\r\n"), 505),
    "garbage-request-line": (req("this is not http\r\n\r\n"), 400),
    "target-10k": (req("GET /" + "a" * 10240 + " HTTP/1.1\r\n" + H + "\r\n"), 414),
    "target-20k": (req("GET /" + "a" * 20480 + " HTTP/1.1\r\n" + H + "\r\n"), (414, 431)),
    "head-over-16k": (req("GET /echo HTTP/1.1\r\n" + H +
                          "".join("X-Big-%02d: %s\r\n" % (i, "v" * 500) for i in range(40))
                          + "\r\n"), 431),
    "over-100-fields": (req("GET /echo HTTP/1.1\r\n" + H +
                            "".join("X-H-%03d: 1\r\n" % i for i in range(120)) + "\r\n"), 431),
    "bad-chunk-size": (req("POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                           "zz\r\nhello\r\n0\r\n\r\n"), 400),
    "http-1.0-with-te": (req("POST /echo HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
                             "5\r\nhello\r\n0\r\n\r\n"), 400),
}


# The log token (access log "fault") of each case. cl-plus-sign and cl-list
# are invalid Content-Length values rather than conflicting framing: either
# token is accepted for them.
TOKENS = {
    "cl-and-te": "bad_framing",
    "two-differing-cl": "bad_framing",
    "cl-plus-sign": ("bad_request", "bad_framing"),
    "cl-list": ("bad_request", "bad_framing"),
    "te-gzip-chunked": "coding_unsupported",
    "te-chunked-not-last": "bad_framing",
    "te-xchunked": "bad_framing",
    "space-before-colon": "bad_request",
    "obs-fold": "bad_request",
    "bare-cr": "bad_request",
    "nul-in-value": "bad_request",
    "missing-host-1.1": "bad_request",
    "two-hosts": "bad_request",
    "http-2.0": "version_unsupported",
    "garbage-request-line": "bad_request",
    "target-10k": "target_too_long",
    "target-20k": ("target_too_long", "head_too_large"),
    "head-over-16k": "head_too_large",
    "over-100-fields": "head_too_large",
    "bad-chunk-size": "bad_request_body",
    "http-1.0-with-te": "bad_framing",
}
assert set(TOKENS) == set(CASES)


# Bodies stream: telltale may already have sent the head upstream when a bad
# chunk arrives. The upstream must still never see a complete request.
HEAD_MAY_REACH_UPSTREAM = {"bad-chunk-size"}


def check_rejected(tt, app, data, want, config_note="", head_may_reach_upstream=False,
                   token=None):
    with tt.conn(timeout=5) as c:
        c.send(data)
        r = c.read_response(timeout=5)
        closed, extra = c.wait_closed(3)
    wants = want if isinstance(want, tuple) else (want,)
    assert r.status in wants, "want %s, got %r%s" % (want, r, config_note)
    assert r.body_len > 0, "error response has no body: %r" % r
    assert "close" in r.tokens("connection"), "no Connection: close in %r" % r
    assert closed, "connection still open 3 s after the error (then got %r)" % extra
    assert extra == b"", "bytes after the error response: %r" % extra[:200]
    line = tt.log_line()
    assert line["status"] == r.status, line
    assert isinstance(line["fault"], str) and line["fault"], line
    if token is not None:
        tokens = token if isinstance(token, tuple) else (token,)
        assert line["fault"] in tokens, "want fault %s: %r" % (token, line)
    assert line["fault_type"] == "http_request_error", line
    assert line["fault_stage"] == "request", line
    assert line["bytes_out"] == r.wire_len, (line, r.wire_len)
    if not head_may_reach_upstream:
        assert line["upstream"] is None, line
        assert line["attempts"] == [], line
    # Every response telltale generates carries its Proxy-Status member.
    members = parse_field_lines(r.header_all("proxy-status"))
    assert members and members[-1][1].get("error") == "http_request_error", (members, r)
    assert app.requests == 0, "a rejected request reached the upstream: %r" % app.heads


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_request_is_rejected(telltale, app, case):
    data, want = CASES[case]
    tt = telltale(upstream_config(app))
    check_rejected(tt, app, data, want, head_may_reach_upstream=case in HEAD_MAY_REACH_UPSTREAM,
                   token=TOKENS[case])


def test_body_over_limit_is_413(telltale, app):
    tt = telltale(upstream_config(app, limits={"body_bytes": "1k"}))
    # Only the head: telltale can decide from Content-Length alone, and no
    # unread body is left to turn its close into a reset.
    data = req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 2000\r\n\r\n")
    check_rejected(tt, app, data, 413, token="body_too_large")


def test_chunked_body_over_limit_is_413(telltale, app):
    tt = telltale(upstream_config(app, limits={"body_bytes": "1k"}))
    body = b"800\r\n" + b"x" * 0x800 + b"\r\n0\r\n\r\n"
    data = req("POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n") + body
    with tt.conn(timeout=5) as c:
        c.send(data)
        r = c.read_response(timeout=5, allow_incomplete=True)
    # Streaming may already have sent the head upstream; the upstream must
    # still never see a complete request.
    assert r.status == 413, r
    assert app.requests == 0, app.stats()
    line = tt.log_line()
    assert line["fault"] == "body_too_large" and line["fault_type"] == "http_request_error", line


def test_well_formed_request_passes(telltale, app):
    """The control for the cases above: the same setup serves a good request."""
    tt = telltale(upstream_config(app))
    with tt.conn(timeout=5) as c:
        c.send(req("GET /echo HTTP/1.1\r\n" + H + "X-Foo: bar\r\n\r\n"))
        r = c.read_response()
    assert r.status == 200, r
    assert app.requests == 1
    line = tt.log_line()
    assert line["status"] == 200 and line["fault"] is None, line
    assert line["fault_type"] is None and line["fault_stage"] is None, line


@pytest.mark.parametrize("limit", ["header_count", "head_bytes"])
def test_configured_head_limits_apply(telltale, app, limit):
    if limit == "header_count":
        tt = telltale(upstream_config(app, limits={"header_count": 10}))
        data = req("GET /echo HTTP/1.1\r\n" + H +
                   "".join("X-H-%02d: 1\r\n" % i for i in range(20)) + "\r\n")
    else:
        tt = telltale(upstream_config(app, limits={"head_bytes": "4k"}))
        data = req("GET /echo HTTP/1.1\r\n" + H +
                   "".join("X-Big-%02d: %s\r\n" % (i, "v" * 500) for i in range(12)) + "\r\n")
    check_rejected(tt, app, data, 431, token="head_too_large")


def send_byte_by_byte(c, data):
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(len(data)):
        c.send(data[i:i + 1])
        time.sleep(0.001)


def test_request_sent_byte_by_byte_is_served(telltale, app):
    tt = telltale(upstream_config(app))
    data = req("POST /echo HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n"
               "5;x=y\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n")
    with tt.conn(timeout=10) as c:
        send_byte_by_byte(c, data)
        r = c.read_response()
    assert r.status == 200, r
    assert r.json()["body_len"] == 8


def test_smuggling_attempt_sent_byte_by_byte_is_rejected(telltale, app):
    tt = telltale(upstream_config(app))
    data = req("POST /echo HTTP/1.1\r\n" + H + "Content-Length: 5\r\n"
               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    with tt.conn(timeout=10) as c:
        send_byte_by_byte(c, data)
        r = c.read_response()
        closed, _ = c.wait_closed(3)
    assert r.status == 400, r
    assert closed
    assert app.requests == 0
