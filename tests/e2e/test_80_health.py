"""Server health (GitHub issue 4): passive ejection from the failures of
real traffic (consecutive_failures, eject_time doubled on each ejection of
a streak), active probes (health.active: a server whose /healthz fails gets
no traffic until it passes again), and a group whose servers all fail
(panic): answers come, quickly, with Proxy-Status, never a hang."""

import json
import time

from conftest import group_config
from httpc import Conn, build_request
from sfv import Token
from stories import check_attempts, closed_port_addr, logs_by_request_id, our_member


def get(tt, target="/echo", timeout=5.0):
    with Conn(tt.port, timeout=timeout) as c:
        c.send(build_request("GET", target))
        return c.read_response(timeout=timeout)


class Tracker:
    """Sends GETs one at a time and returns, for each, the upstreams its
    attempts went to (from the log line found by X-Request-Id)."""

    def __init__(self, tt):
        self.tt = tt
        self.sent = 0

    def one(self):
        r = get(self.tt)
        self.sent += 1
        assert r.status == 200, "a GET failed with a live server in the group: %r\n%s" % (
            r, r.body[:800])
        line = logs_by_request_id(self.tt, self.sent)[r.header("x-request-id")]
        return [a["upstream"] for a in check_attempts(line)], line


def test_passive_ejection_skips_a_failing_server_then_tries_it_again(telltale, app):
    dead = closed_port_addr()
    tt = telltale(group_config([dead, app], {
        "slow_start": "0s",
        "retry": {"attempts": 2},
        "health": {"passive": {"consecutive_failures": 2, "eject_time": "2s",
                               "max_eject_time": "60s"}},
    }))
    tr = Tracker(tt)
    # Phase 1: round robin sends every other request to the closed port;
    # its second failure in a row ejects it.
    failures = 0
    for _ in range(8):
        ups, line = tr.one()
        if ups[0] == dead:
            failures += 1
            assert ups == [dead, app.addr], line
            if failures == 2:
                break
    assert failures == 2, "the closed port was tried %d times in 8 requests" % failures
    ejected_at = time.monotonic()
    # Phase 2: within eject_time (2 s) nobody tries it.
    while time.monotonic() < ejected_at + 1.5:
        ups, line = tr.one()
        assert ups == [app.addr], "an ejected server was tried %.2f s after its ejection: %s" % (
            time.monotonic() - ejected_at, json.dumps(line))
        time.sleep(0.1)
    # Phase 3: after 2.5 s it is back and tried again, then ejected again
    # after consecutive_failures more failures at most.
    time.sleep(max(0.0, ejected_at + 2.5 - time.monotonic()))
    tried, since_last, last_try = 0, 0, None
    for _ in range(10):
        ups, line = tr.one()
        if ups[0] == dead:
            tried += 1
            since_last = 0
            last_try = time.monotonic()
            assert ups == [dead, app.addr], line
            if tried == 2:  # consecutive_failures: ejected again by now
                break
        elif tried:
            since_last += 1
            if since_last == 3:  # one failure sufficed: ejected again
                break
    print("passive: tried %d time(s) after the first ejection ended" % tried)
    assert tried >= 1, "the server was not tried again 2.5 s after a 2 s ejection"
    reejected_at = last_try
    # Phase 4: the second ejection of the streak lasts 4 s: it is still out
    # past the first ejection's 2 s.
    while time.monotonic() < reejected_at + 3.0:
        ups, line = tr.one()
        assert ups == [app.addr], "the server was tried %.2f s into its second ejection, which " \
            "should last 4 s (eject_time doubled): %s" % (time.monotonic() - reejected_at,
                                                          json.dumps(line))
        time.sleep(0.15)


def test_all_servers_failing_answers_quickly_with_proxy_status(telltale):
    dead1, dead2 = closed_port_addr(), closed_port_addr()
    tt = telltale(group_config([dead1, dead2], {
        "retry": {"attempts": 2},
        "health": {"passive": {"consecutive_failures": 2, "eject_time": "2s",
                               "max_ejected": "50%", "panic_threshold": "50%"}},
    }))
    for i in range(10):
        t0 = time.monotonic()
        r = get(tt, "/all-down?i=%d" % i, timeout=5)
        elapsed = time.monotonic() - t0
        assert r.status in (502, 503), r
        assert elapsed < 2.0, "request %d took %.2f s with every server down" % (i, elapsed)
        params = our_member(r)
        assert params.get("error") in (Token("connection_refused"),
                                       Token("destination_unavailable")), params
    lines = tt.log_lines(10)
    assert len(lines) == 10, lines
    for l in lines:
        assert l["fault"] in ("upstream_refused", "no_server"), json.dumps(l)


def test_active_probe_takes_a_failing_server_out_and_back(telltale, app_factory):
    sick, well = app_factory(), app_factory()
    tt = telltale(group_config([sick, well], {
        "slow_start": "0s",
        "health": {"active": {"path": "/healthz", "host": "probe.test", "interval": "200ms",
                              "timeout": "100ms", "healthy_threshold": 2,
                              "unhealthy_threshold": 2}},
    }))
    for _ in range(4):
        assert get(tt).status == 200
    assert sick.stats()["requests"] >= 1 and well.stats()["requests"] >= 1, \
        "round robin did not use both servers at first"
    # The probes reach /healthz with the configured Host.
    deadline = time.monotonic() + 2
    while sick.health_checks < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sick.health_checks >= 2, "no active probes within 2 s at interval 200ms"
    probes = [h for h in sick.heads if h["target"].startswith("/healthz")]
    assert probes and probes[0]["target"] == "/healthz", probes[:1]
    hosts = {dict((n.lower(), v) for n, v in h["headers"]).get("host") for h in probes}
    assert hosts == {"probe.test"}, "probe Host headers %r" % hosts

    sick.health_status = 503
    time.sleep(1.0)  # two failed probes at 200 ms, with room
    before_sick, before_well = sick.stats()["requests"], well.stats()["requests"]
    for _ in range(20):
        assert get(tt).status == 200
    assert sick.stats()["requests"] == before_sick, \
        "a server whose /healthz answers 503 still got %d of 20 requests" % (
            sick.stats()["requests"] - before_sick)
    assert well.stats()["requests"] == before_well + 20

    sick.health_status = 200
    back_at = time.monotonic()
    back = None
    while time.monotonic() < back_at + 2.5:
        assert get(tt).status == 200
        if sick.stats()["requests"] > before_sick:
            back = time.monotonic() - back_at
            break
        time.sleep(0.05)
    assert back is not None, "the server got no traffic 2.5 s after /healthz answered 200 again"
    assert back <= 1.5, "the server got traffic again only %.2f s after its probes passed" % back
