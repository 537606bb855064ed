"""Retries (GitHub issue 4, "shield the user"): a failed attempt is tried
again on another server when that cannot run the request twice. An attempt
that reached nothing (connect refused) may be retried whatever the method;
one that may have reached the upstream only when the method is idempotent.
Each case checks the responses, telltale's Proxy-Status member, the log
line's attempts and what every upstream received."""

import json

from conftest import group_config
from httpc import build_request
from stories import check_attempts, closed_port_addr, fetch, logs_by_request_id, our_member
from sfv import Token
from upstreams import close, hget, parse_head, recv_request


def ids_in(raw_upstream_heads):
    """X-Test-Id of every request head a RawUpstream received."""
    out = []
    for raw in raw_upstream_heads:
        if raw is None:
            continue
        _, headers = parse_head(raw)
        out.append(hget(headers, "x-test-id"))
    return out


def send(tt, method, target, tid, body=None, timeout=10.0):
    with tt.conn(timeout=timeout) as c:
        c.send(build_request(method, target, headers=[("X-Test-Id", tid)], body=body))
        return c.read_response(method=method, timeout=timeout)


def check_forwarded_member(r, server):
    """A forwarded response's member: received-status, no error, and the
    server that answered as next-hop when one is named."""
    params = our_member(r)
    assert params.get("received-status") == r.status, params
    assert type(params["received-status"]) is int, params
    assert "error" not in params, "error on a forwarded %d: %r" % (r.status, params)
    if "next-hop" in params:
        assert params["next-hop"] == server, "next-hop %r is not the server that answered %s" % (
            params["next-hop"], server)


def test_get_fails_over_from_a_closed_port_to_the_live_server(telltale, app):
    dead = closed_port_addr()
    tt = telltale(group_config([dead, app], {"retry": {"attempts": 2}}))
    got = [fetch(tt, target="/echo?i=%d" % i, accept=None) for i in range(20)]
    for r in got:
        assert r.status == 200, "a GET failed although a live server was there: %r\n%s" % (
            r, r.body[:1000])
        assert r.json()["target"].startswith("/echo?i="), r.body[:300]
        check_forwarded_member(r, app.addr)
    logs = logs_by_request_id(tt, 20)
    retried = 0
    for r in got:
        line = logs[r.header("x-request-id")]
        ctx = json.dumps(line)
        attempts = check_attempts(line)
        assert line["status"] == 200, ctx
        assert 1 <= len(attempts) <= 2, ctx
        assert attempts[-1]["upstream"] == app.addr and attempts[-1]["fault"] is None, ctx
        if len(attempts) == 2:
            retried += 1
            first = attempts[0]
            assert first["upstream"] == dead, ctx
            assert first["fault"] == "upstream_refused", ctx
            assert first["stage"] == "connect", ctx
        assert line["upstream"] == app.addr and line["upstream_status"] == 200, ctx
    assert retried >= 1, "the closed port was never tried: every attempts list has one entry"
    assert app.stats()["requests"] == 20, "the live server saw %d requests for 20" % (
        app.stats()["requests"])


def test_both_servers_refusing_is_502_after_two_attempts(telltale):
    dead1, dead2 = closed_port_addr(), closed_port_addr()
    tt = telltale(group_config([dead1, dead2], {"retry": {"attempts": 2}}))
    r = fetch(tt, "json", target="/both-down")
    assert r.status == 502, r
    params = our_member(r)
    assert params.get("error") == Token("connection_refused"), params
    doc = r.json()
    assert doc["proxy_status"] == "connection_refused" and doc["fault"] == "upstream_refused", doc
    body_attempts = doc["attempts"]
    assert len(body_attempts) == 2, "want 2 attempts in the problem body: %r" % body_attempts
    assert {a["upstream"] for a in body_attempts} == {dead1, dead2}, \
        "the retry did not go to the other server: %r" % body_attempts
    assert all(a["fault"] == "upstream_refused" for a in body_attempts), body_attempts
    line = logs_by_request_id(tt, 1)[r.header("x-request-id")]
    attempts = check_attempts(line)
    assert [a["upstream"] for a in attempts] == [a["upstream"] for a in body_attempts], (
        line, body_attempts)
    assert all(a["fault"] == "upstream_refused" and a["stage"] == "connect" for a in attempts), \
        line
    assert line["status"] == 502 and line["fault"] == "upstream_refused", line
    assert line["fault_type"] == "connection_refused", line


def _until_raw_gets_one(tt, raw, app, method, body, limit=6):
    """Send requests (fresh connections, unique X-Test-Id) until one reaches
    the raw upstream; round robin sends the others to app. Returns
    (response to that one, its id, [(id, response) of the others])."""
    others = []
    for i in range(limit):
        tid = "%s-%d" % (method.lower(), i)
        r = send(tt, method, "/echo/never-twice", tid, body=body)
        if tid in ids_in(raw.heads):
            return r, tid, others
        others.append((tid, r))
    raise AssertionError("none of %d %ss reached the raw upstream %s (it saw %r)" % (
        limit, method, raw.addr, raw.heads))


def test_post_that_reached_an_upstream_which_then_closed_is_not_retried(
        telltale, app, raw_upstream):
    raw = raw_upstream([recv_request(), close()])
    tt = telltale(group_config([raw, app], {"retry": {"attempts": 2}}))
    body = b'{"order": 1}'
    r, tid, others = _until_raw_gets_one(tt, raw, app, "POST", body)
    assert r.status == 502, "a POST the upstream received and dropped was answered %r" % r
    params = our_member(r)
    assert params.get("error") == Token("connection_terminated"), params
    assert ids_in(raw.heads).count(tid) == 1, "the raw upstream saw %s %d times" % (
        tid, ids_in(raw.heads).count(tid))
    assert raw.bodies[ids_in(raw.heads).index(tid)] == body
    assert tid not in app.ids_received, "the POST was sent again to the healthy server"
    for otid, other in others:
        assert other.status == 200 and app.ids.count(otid) == 1, (otid, other)
    line = logs_by_request_id(tt, len(others) + 1)[r.header("x-request-id")]
    attempts = check_attempts(line)
    assert [a["upstream"] for a in attempts] == [raw.addr], line
    assert line["fault"] == "upstream_closed" and line["fault_type"] == "connection_terminated", \
        line


def test_post_to_a_closed_port_is_retried_on_the_other_server(telltale, app):
    dead = closed_port_addr()
    tt = telltale(group_config([dead, app], {"retry": {"attempts": 2}}))
    got = []
    for i in range(4):
        tid = "post-%d" % i
        got.append((tid, send(tt, "POST", "/echo", tid, body=b"x" * 100)))
    logs = logs_by_request_id(tt, 4)
    tried_dead = 0
    for tid, r in got:
        assert r.status == 200, "a POST that reached nothing was not retried: %r\n%s" % (
            r, r.body[:1000])
        assert app.ids.count(tid) == 1, "the healthy server ran %s %d times" % (
            tid, app.ids.count(tid))
        assert r.json()["body_len"] == 100, r.body[:300]
        line = logs[r.header("x-request-id")]
        attempts = check_attempts(line)
        if len(attempts) == 2:
            tried_dead += 1
            assert attempts[0]["upstream"] == dead, line
            assert attempts[0]["fault"] == "upstream_refused", line
            assert attempts[1]["upstream"] == app.addr and attempts[1]["fault"] is None, line
    assert tried_dead >= 1, "no POST went to the closed port first: nothing was tested"


def test_get_that_reached_an_upstream_which_then_closed_is_retried(telltale, app, raw_upstream):
    raw = raw_upstream([recv_request(), close()])
    tt = telltale(group_config([raw, app], {"retry": {"attempts": 2}}))
    r, tid, others = _until_raw_gets_one(tt, raw, app, "GET", None)
    assert r.status == 200, "an idempotent GET was not retried after the upstream closed: %r\n%s" \
        % (r, r.body[:1000])
    assert ids_in(raw.heads).count(tid) == 1, raw.heads
    assert app.ids.count(tid) == 1, "the healthy server ran %s %d times" % (
        tid, app.ids.count(tid))
    check_forwarded_member(r, app.addr)
    line = logs_by_request_id(tt, len(others) + 1)[r.header("x-request-id")]
    attempts = check_attempts(line)
    assert [a["upstream"] for a in attempts] == [raw.addr, app.addr], line
    assert attempts[0]["fault"] == "upstream_closed", line
    assert attempts[0]["stage"] in ("wait-head", "read-head"), line
