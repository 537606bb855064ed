"""The circuit breaker (GitHub issue 4): once enough attempts on a server
failed within the window, requests for it are answered at once with 503
destination_unavailable instead of waiting on a server known to fail; after
open_time a trial request goes through again. Passive health is off here so
that only the breaker acts."""

import time

from conftest import group_config
from httpc import Conn, build_request
from sfv import Token
from stories import check_attempts, logs_by_request_id, our_member
from upstreams import close, recv_request


def get(tt, i, timeout=5.0):
    t0 = time.monotonic()
    with Conn(tt.port, timeout=timeout) as c:
        c.send(build_request("GET", "/breaker?i=%d" % i))
        r = c.read_response(timeout=timeout)
    return r, time.monotonic() - t0


def requests_seen(raw):
    return sum(1 for h in raw.heads if h is not None)


def check_open(r, elapsed, raw_before, raw):
    assert r.status == 503, "want 503 from an open circuit, got %r\n%s" % (r, r.body[:800])
    params = our_member(r)
    assert params.get("error") == Token("destination_unavailable"), params
    assert elapsed < 0.05, "an open circuit answered after %.0f ms, not at once" % (elapsed * 1000)
    assert requests_seen(raw) == raw_before, "a request reached the server of an open circuit"


def test_breaker_opens_after_failures_and_lets_a_trial_through(telltale, raw_upstream):
    raw = raw_upstream([recv_request(), close()])
    tt = telltale(group_config([raw], {
        "retry": {"attempts": 1},
        "health": {"passive": {"consecutive_failures": 0, "failure_ratio": "0%"}},
        "breaker": {"failure_ratio": "50%", "min_requests": 4, "window": "10s",
                    "open_time": "1s"},
    }))
    sent = []
    for i in range(4):
        r, _ = get(tt, i)
        sent.append(r)
        assert r.status == 502, r
        assert our_member(r).get("error") == Token("connection_terminated"), r
    assert requests_seen(raw) == 4, raw.heads
    opened_at = time.monotonic()
    for i in range(4, 7):
        r, elapsed = get(tt, i)
        sent.append(r)
        check_open(r, elapsed, 4, raw)
    logs = logs_by_request_id(tt, len(sent))
    for r in sent[4:]:
        line = logs[r.header("x-request-id")]
        assert line["status"] == 503 and line["fault"] == "no_server", line
        assert line["fault_type"] == "destination_unavailable", line
        assert check_attempts(line) == [], "an open circuit's request has attempts: %r" % line

    # After open_time the next request is a trial and reaches the server.
    time.sleep(max(0.0, opened_at + 1.2 - time.monotonic()))
    r, _ = get(tt, 7)
    assert requests_seen(raw) == 5, "no trial request reached the server after open_time"
    assert r.status == 502, r
    # The trial failed: the circuit is open again.
    r, elapsed = get(tt, 8)
    check_open(r, elapsed, 5, raw)
