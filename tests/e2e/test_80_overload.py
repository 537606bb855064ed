"""Overload (GitHub issue 4): per-server connection limits with a bounded
queue (max_connections, max_pending, queue_timeout) and the global
downstream connection limit (limits.max_connections). A request that cannot
be served in time gets a quick 503 with Retry-After and Proxy-Status
error=connection_limit_reached, and telltale recovers when the load goes."""

import socket
import threading
import time

from conftest import group_config
from httpc import Conn, ResponseError, build_request
from sfv import Token
from stories import our_member


def check_overloaded(r):
    assert r.status == 503, r
    ra = r.header("retry-after")
    assert ra is not None and ra.isdigit(), "Retry-After %r is not integer seconds: %r" % (ra, r)
    params = our_member(r)
    assert params.get("error") == Token("connection_limit_reached"), params


def test_per_server_limit_queues_one_and_rejects_the_rest(telltale, app):
    tt = telltale(group_config([app], {"max_connections": 1, "max_pending": 1,
                                       "queue_timeout": "300ms", "retry": {"attempts": 1}}))
    results = [None] * 6
    start = threading.Barrier(6)

    def one(i):
        start.wait(5)
        t0 = time.monotonic()
        try:
            with Conn(tt.port, timeout=10) as c:
                c.send(build_request("GET", "/sleep?ms=800"))
                r = c.read_response(timeout=10)
            results[i] = (r, time.monotonic() - t0)
        except Exception as e:  # reported below
            results[i] = (e, time.monotonic() - t0)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    summary = ["%s after %.3f s" % (r.status if hasattr(r, "status") else repr(r), dt)
               for r, dt in results]
    print("six at once: " + ", ".join(summary))
    errors = [r for r, _ in results if not hasattr(r, "status")]
    assert not errors, "requests failed without a response: %r" % errors
    ok = [(r, dt) for r, dt in results if r.status == 200]
    rejected = [(r, dt) for r, dt in results if r.status != 200]
    assert ok, "no request got through: %s" % summary
    assert rejected, "six requests for one connection and one queue place, none refused: %s" % (
        summary)
    for r, _ in rejected:
        check_overloaded(r)
    fast = [dt for _, dt in rejected if dt < 0.2]
    queued = [dt for _, dt in rejected if 0.25 <= dt <= 0.75]
    assert fast, "no request was refused at once with the queue full: %s" % summary
    assert queued, "no queued request timed out after queue_timeout (300 ms): %s" % summary
    assert len(fast) + len(queued) == len(rejected), "a 503 came neither at once nor after " \
        "queue_timeout: %s" % summary
    assert app.stats()["requests"] == len(ok), "more requests reached the server than got 200"
    lines = tt.log_lines(6, timeout=3)
    tokens = sorted(l["fault"] for l in lines if l["status"] == 503)
    assert tokens == ["overloaded"] * len(rejected), lines
    # The load is gone: the next request is served.
    with Conn(tt.port, timeout=5) as c:
        r = c.request("GET", "/echo")
    assert r.status == 200, "no recovery after the burst: %r" % r


def _hello(port):
    c = Conn(port, timeout=5)
    r = c.request("GET", "/echo")
    assert r.status == 200, r
    return c


def _over_the_limit(port):
    """A connection beyond the global limit: whatever telltale sends,
    before or after a request. Returns (response, closed afterwards)."""
    c = Conn(port, timeout=5)
    try:
        try:
            r = c.read_response(timeout=0.3)  # some proxies answer at once
        except socket.timeout:
            try:
                c.send(build_request("GET", "/echo"))
            except OSError:
                pass
            r = c.read_response(timeout=5)
        closed, _ = c.wait_closed(3)
        return r, closed
    finally:
        c.close()


def test_global_connection_limit_refuses_the_third_connection(telltale, app):
    tt = telltale(group_config([app], limits={"max_connections": 2}))
    first, second = _hello(tt.port), _hello(tt.port)
    try:
        try:
            r, closed = _over_the_limit(tt.port)
        except ResponseError as e:
            raise AssertionError("the connection over limits.max_connections got no 503: %s" % e)
        check_overloaded(r)
        assert closed, "the connection over the limit was not closed after its 503"
        assert app.stats()["requests"] == 2, "the refused connection's request was forwarded"
        # Both admitted connections still work.
        for c in (first, second):
            r = c.request("GET", "/echo")
            assert r.status == 200, r
    finally:
        first.close()
    # One place is free again: a new connection is served (telltale may
    # take a moment to see the close).
    deadline = time.monotonic() + 3
    while True:
        with Conn(tt.port, timeout=5) as c:
            try:
                r = c.request("GET", "/echo")
            except ResponseError:
                r = None
        if (r is not None and r.status == 200) or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    second.close()
    assert r is not None and r.status == 200, \
        "no new connection served after one of the two closed: %r" % r
