"""One test per way an upstream (or the route to it) fails (issue 3, D):
the status, telltale's Proxy-Status member with its error type and
parameters, the three bodies (text, problem+json, HTML) and the log line
with fault, fault_type, fault_stage and the attempts. Downstreams here are
on loopback, so they are trusted and see next-hop and details."""

import contextlib
import re
import socket
import time

import pytest

from httpc import ResponseError, build_request
from stories import (NAME, Expect, check_story, closed_port_addr, config, fetch, fetch_kinds,
                     logs_by_request_id, our_member, timed)
from upstreams import close, recv_head, rst, send, sleep

FIELDS_20K = "".join("X-Fill-%02d: %s\r\n" % (i, "v" * 500) for i in range(40))
MARKER = b"X-Upstream-Marker: leaked\r\n"

# name: (script, extra config, status, RFC 9209 type, log token, stages,
#        exact Proxy-Status params, (min, max) seconds or None)
RAW_CASES = {
    "closed-before-any-byte": (
        [recv_head(), close()], {},
        502, "connection_terminated", "upstream_closed", {"wait-head"}, {}, None),
    "reset-in-the-head": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Le"), sleep(0.2), rst()], {},
        502, "connection_terminated", "upstream_closed", {"read-head"}, {}, None),
    "no-head-within-head-timeout": (
        [recv_head(), sleep(10)], {"timeouts": {"upstream_head": "1s"}},
        504, "http_response_timeout", "upstream_timeout", {"wait-head"}, {}, (0.9, 4.0)),
    "head-stalls-past-idle-timeout": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Type: text/"), sleep(10)],
        {"timeouts": {"upstream_head": "10s", "upstream_idle": "1s"}},
        504, "connection_read_timeout", "read_timeout", {"read-head"}, {}, (0.9, 4.0)),
    "garbage-status-line": (
        [recv_head(), send(b"GARBAGE\r\n\r\n"), sleep(0.5), close()], {},
        502, "http_protocol_error", "upstream_bad_response", {"read-head"}, {}, None),
    "head-over-16k": (
        [recv_head(), send(("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n" + FIELDS_20K + "\r\n")
                           .encode()), sleep(0.5), close()], {},
        502, "http_response_header_section_size", "upstream_head_too_large", {"read-head"}, {},
        None),
    "field-over-8k": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Big: " + b"b" * 9000
                           + b"\r\n\r\n"), sleep(0.5), close()], {},
        502, "http_response_header_size", "upstream_field_too_large", {"read-head"},
        {"header-name": "x-big"}, None),
    "length-and-chunked": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n" + MARKER +
                           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
         sleep(0.5), close()], {},
        502, "http_protocol_error", "upstream_bad_response", {"read-head"}, {}, None),
    "two-differing-lengths": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n" + MARKER +
                           b"Content-Length: 6\r\n\r\nhello!"), sleep(0.5), close()], {},
        502, "http_protocol_error", "upstream_bad_response", {"read-head"}, {}, None),
    "bad-chunk-size-with-the-head": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\n" + MARKER +
                           b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"), sleep(0.5), close()], {},
        502, "http_response_transfer_coding", "upstream_bad_coding", {"read-head", "read-body"},
        {"coding": "chunked", "received-status": 200}, None),
}


@pytest.mark.parametrize("case", list(RAW_CASES))
def test_raw_upstream_fault_story(telltale, raw_upstream, case):
    script, extra, status, rfc_type, token, stages, params, window = RAW_CASES[case]
    up = raw_upstream(script)
    tt = telltale(config(up, **extra))
    exp = Expect(status, rfc_type, token, stages, "proxy-upstream", upstream=up.addr,
                 params=params)
    got, elapsed = timed(fetch_kinds, tt)
    check_story(tt, got, exp)
    assert up.connections >= 1
    if window:
        lo, hi = window
        assert lo <= elapsed <= hi, "%s answered after %.2f s, want %s..%s s" % (
            case, elapsed, lo, hi)
    for r in got.values():
        assert MARKER.split(b":")[0].decode().lower() not in {n.lower() for n, _ in r.headers}, \
            "the bad upstream head was passed on: %r" % r
        assert b"hello" not in r.body and b"GARBAGE" not in r.body, r
        ps = our_member(r)
        if case == "head-over-16k":
            size = ps.get("header-section-size")
            assert type(size) is int and size > 0, "header-section-size=%r in %r" % (
                size, r.header_all("proxy-status"))
        if case == "garbage-status-line":
            details = ps["details"]
            assert "offset" in details, "details %r do not name the offset" % details
            assert re.search(r"0x[0-9a-fA-F]{2}|(['\"]).{1,4}\1", details), \
                "details %r do not show the offending byte (0x.. or quoted)" % details


def test_nothing_listening_is_502_connection_refused(telltale):
    dead = closed_port_addr()
    tt = telltale(config(dead))
    exp = Expect(502, "connection_refused", "upstream_refused", {"connect"}, "proxy-upstream",
                 upstream=dead)
    check_story(tt, fetch_kinds(tt), exp)


@contextlib.contextmanager
def syn_blackhole():
    """A loopback listener that never completes a handshake: listen(0) with
    its accept queue filled by connections nobody accepts, so Linux drops
    further SYNs. Yields its address; fails the test when the kernel still
    completes a connect (then no connect timeout can be made on loopback,
    and the tests that need one must say so, not pass)."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers = []
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        addr = lsock.getsockname()
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(addr)
            fillers.append(s)
        time.sleep(0.2)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(addr)
            completed = True
        except socket.timeout:
            completed = False
        except OSError:
            completed = True  # refused or otherwise answered: not a black hole
        finally:
            probe.close()
        if completed:
            pytest.fail("the kernel completed a connect to a listen(0) socket with a full "
                        "accept queue: no loopback address can make a connect time out here",
                        pytrace=False)
        yield "%s:%d" % addr
    finally:
        for s in fillers:
            s.close()
        lsock.close()


def test_connect_timeout_is_504_connection_timeout(telltale):
    with syn_blackhole() as hole:
        tt = telltale(config(hole, timeouts={"upstream_connect": "500ms"}))
        exp = Expect(504, "connection_timeout", "connect_timeout", {"connect"}, "proxy-upstream",
                     upstream=hole)
        got, elapsed = timed(fetch_kinds, tt)
        check_story(tt, got, exp)
        assert 0.4 <= elapsed <= 4.0, "504 after %.2f s with upstream_connect: 500ms" % elapsed


def test_bad_chunk_size_in_a_later_packet_cuts_the_downstream(telltale, raw_upstream):
    up = raw_upstream([recv_head(),
                       send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
                       sleep(0.3), send(b"zz\r\n"), sleep(1), close()])
    tt = telltale(config(up))
    with tt.conn(timeout=5) as c:
        c.send(build_request("GET", "/story"))
        try:
            r = c.read_response(allow_incomplete=True, timeout=5)
        except ResponseError as e:
            # A bad chunk line makes httpc raise too: what came must not
            # have looked like a complete response either way.
            r = None
            note = str(e)
        if r is not None:
            assert not r.complete, "a response with a bad chunk looked complete: %r" % r
            assert r.status == 200, "the head, if sent, is the upstream's: %r" % r
            note = repr(r)
        closed, extra = c.wait_closed(3)
        assert closed, "downstream connection not cut (%s)" % note
    line = tt.log_line()
    assert line["fault"] == "upstream_bad_coding", line
    assert line["fault_type"] == "http_response_transfer_coding", line
    assert line["fault_stage"] == "read-body", line
    if r is not None:
        assert line["status"] == 200, line


def test_body_shorter_than_its_length_cuts_the_downstream(telltale, raw_upstream):
    up = raw_upstream([recv_head(),
                       send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
                       sleep(0.3), close()])
    tt = telltale(config(up))
    with tt.conn(timeout=5) as c:
        c.send(build_request("GET", "/story"))
        r = c.read_response(allow_incomplete=True, timeout=5)
        assert r.status == 200, r
        assert not r.complete, "a body cut by the upstream looked complete: %r" % r
        assert r.body_len <= 10, r
        assert c.eof, "downstream connection not closed after the cut body"
    # The head was forwarded: it carries the member of a forwarded response.
    params = our_member(r)
    assert params.get("received-status") == 200 and "error" not in params, params
    line = tt.log_line()
    assert line["status"] == 200, line
    assert line["fault"] == "upstream_incomplete", line
    assert line["fault_type"] == "http_response_incomplete", line
    assert line["fault_stage"] == "read-body", line
    assert line["upstream_status"] == 200, line
    assert line["attempts"] and line["attempts"][-1]["upstream"] == up.addr, line


def test_no_route_is_404_destination_not_found(telltale, app):
    tt = telltale(config(app, routes=[{"host": "elsewhere.test", "path": "/",
                                       "upstream": "app"}]))
    exp = Expect(404, "destination_not_found", "no_route", {"route"}, "proxy")
    lines = check_story(tt, fetch_kinds(tt), exp)
    assert app.requests == 0
    assert all(l["upstream"] is None for l in lines.values()), lines


@pytest.mark.parametrize("via", ["1.1 %s" % NAME, "1.0 fred, 1.1 %s" % NAME],
                         ids=["alone", "after-another"])
def test_own_name_in_via_is_502_proxy_loop_detected(telltale, app, via):
    tt = telltale(config(app))
    exp = Expect(502, "proxy_loop_detected", "loop_detected", {"request", "route", "proxy"},
                 "proxy")
    before = app.stats()["requests"]
    check_story(tt, fetch_kinds(tt, headers=[("Via", via)]), exp)
    assert app.stats()["requests"] == before, "a looping request was forwarded: %r" % app.heads


@pytest.mark.parametrize("code", [502, 503, 500])
def test_upstream_own_5xx_passes_through_untouched(telltale, app, code):
    tt = telltale(config(app))
    got = {kind: fetch(tt, kind, target="/status/%d" % code)
           for kind in ("plain", "json", "html")}
    for kind, r in got.items():
        assert r.status == code, r
        assert r.body == b"status %d\n" % code, "not the app's body (%s): %r" % (kind, r.body[:300])
        assert (r.header("content-type") or "") == "", "telltale set a Content-Type: %r" % r
        params = our_member(r)
        assert params.get("received-status") == code, params
        assert type(params["received-status"]) is int, params
        assert "error" not in params, "error parameter on a forwarded %d: %r" % (code, params)
        assert params.get("next-hop") == app.addr, params
    logs = logs_by_request_id(tt, 3)
    for r in got.values():
        line = logs[r.header("x-request-id")] if r.header("x-request-id") in logs else None
        assert line is not None, (r, logs)
        assert line["status"] == code and line["upstream_status"] == code, line
        assert line["fault"] is None and line["fault_type"] is None, line
        assert line["fault_stage"] is None and line["fault_details"] is None, line
        assert [a["upstream"] for a in line["attempts"]] == [app.addr], line
        assert line["attempts"][0]["fault"] is None, line
