"""Process lifecycle: startup line, workers, graceful stop on SIGTERM and
SIGINT, and the downstream keep-alive and head timeouts."""

import signal
import time

import pytest

from conftest import upstream_config
from httpc import build_request, connect_refused


def test_startup_line_names_the_listen_address(telltale, app):
    tt = telltale(upstream_config(app))
    deadline = time.monotonic() + 2
    while "listening on" not in tt.stderr() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "listening on http://%s" % tt.addr in tt.stderr(), tt.stderr()


def test_two_workers_serve_requests(telltale, app):
    tt = telltale(upstream_config(app, workers=2))
    statuses = []
    for i in range(20):
        with tt.conn() as c:
            statuses.append(c.request("GET", "/echo?i=%d" % i).status)
    assert statuses == [200] * 20
    assert app.requests == 20
    assert len(tt.log_lines(20)) == 20


def test_one_worker_serves_slow_requests_concurrently(telltale, app):
    """An event loop, not a request at a time: ten 500 ms requests at once
    take about 500 ms, not 5 s (bound kept loose: 3 s)."""
    tt = telltale(upstream_config(app, workers=1))
    conns = [tt.conn(timeout=10) for _ in range(10)]
    t0 = time.monotonic()
    for i, c in enumerate(conns):
        c.send(build_request("GET", "/sleep?ms=500&i=%d" % i))
    statuses = [c.read_response().status for c in conns]
    elapsed = time.monotonic() - t0
    for c in conns:
        c.close()
    assert statuses == [200] * 10
    assert elapsed < 3.0, "ten concurrent 500 ms requests took %.2f s" % elapsed


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_drains_in_flight_request_then_exits_0(telltale, app, sig):
    tt = telltale(upstream_config(app))
    c = tt.conn(timeout=10)
    c.send(build_request("GET", "/sleep?ms=1500"))
    heads = app.wait_heads(1, timeout=5)
    assert heads, "the request never reached the upstream"
    t0 = time.monotonic()
    tt.send_signal(sig)

    refused = False
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        if connect_refused(tt.port, timeout=0.5):
            refused = True
            break
        time.sleep(0.05)
    assert refused, "new connections still accepted 1 s after %s" % sig.name

    r = c.read_response(timeout=8)
    c.close()
    assert r.status == 200, r
    assert r.json()["target"] == "/sleep?ms=1500"
    rc = tt.wait(timeout=10)
    assert rc is not None, "telltale still running 10 s after %s" % sig.name
    assert rc == 0, "exit code %s after %s; stderr:\n%s" % (rc, sig.name, tt.stderr())
    assert time.monotonic() - t0 >= 1.0  # it did wait for the request
    assert [l["status"] for l in tt.log_lines(1)] == [200]


def test_idle_keepalive_connection_is_closed(telltale, app):
    tt = telltale(upstream_config(app, timeouts={"downstream_keepalive": "1s"}))
    with tt.conn() as c:
        assert c.request("GET", "/echo").status == 200
        t0 = time.monotonic()
        closed, extra = c.wait_closed(4)
        elapsed = time.monotonic() - t0
    assert closed, "idle keep-alive connection still open after 4 s (keepalive 1s)"
    assert extra == b"", "unexpected bytes on an idle connection: %r" % extra[:200]
    assert 0.5 <= elapsed <= 3.0, "closed after %.2f s with downstream_keepalive: 1s" % elapsed


def test_a_connection_is_handed_over_with_its_first_bytes(telltale, app):
    """Listeners defer the accept until the client sends (TCP_DEFER_ACCEPT):
    a silent connection is not in telltale for its first second, one that
    sends is served at once, and a silent one is still handed over and then
    meets downstream_head."""
    tt = telltale(upstream_config(app, timeouts={"downstream_head": "1s"}))

    def accepted():
        return tt.metric("telltale_downstream_connections_accepted_total")

    before = accepted()
    assert before is not None, "no telltale_downstream_connections_accepted_total in /metrics"
    with tt.conn() as silent, tt.conn() as talker:
        t0 = time.monotonic()
        time.sleep(0.3)
        assert accepted() == before, "a connection that sent nothing was accepted"
        r = talker.request("GET", "/echo")
        assert r.status == 200 and time.monotonic() - t0 < 0.8
        assert accepted() == before + 1
        closed, got = silent.wait_closed(6)
        elapsed = time.monotonic() - t0
    assert closed, "a silent connection still open after 6 s (downstream_head 1s)"
    # About 1 s in the kernel (one SYN-ACK retransmission), then 1 s of
    # downstream_head in telltale.
    assert 1.6 <= elapsed <= 4.0, "silent connection closed after %.2f s" % elapsed
    assert got == b"" or got.startswith(b"HTTP/1.1 408 "), got[:200]
    assert accepted() == before + 2
    assert app.requests == 1


def test_half_sent_head_times_out(telltale, app):
    tt = telltale(upstream_config(app, timeouts={"downstream_head": "1s"}))
    with tt.conn() as c:
        c.send(b"GET /echo HTTP/1.1\r\nHost: example.test\r\n")
        t0 = time.monotonic()
        closed, got = c.wait_closed(4)
        elapsed = time.monotonic() - t0
    assert closed, "connection with a half-sent head still open after 4 s (downstream_head 1s)"
    assert elapsed <= 3.0, "closed after %.2f s" % elapsed
    assert elapsed >= 0.5, "closed after only %.2f s" % elapsed
    if got:
        assert got.startswith(b"HTTP/1.1 408 "), "expected a 408 or nothing, got %r" % got[:200]
        line = tt.log_line()
        assert line["status"] == 408 and line["fault"] == "request_timeout", line
        assert line["fault_type"] == "http_request_error", line
    assert app.requests == 0
