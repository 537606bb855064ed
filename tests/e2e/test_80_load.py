"""Servers going away under load (GitHub issue 4, item 9) and the
keep-alive race: a bounded load of keep-alive clients runs while upstream
servers are stopped, reset and restarted, or close idle connections at the
moment telltale reuses them. Idempotent requests must never fail; a POST
must never run twice.

Every loop here is bounded in time and in count."""

import collections
import json
import random
import threading
import time

from conftest import group_config
from httpc import Conn, build_request
from sfv import Token
from stories import logs_by_request_id, our_member

Result = collections.namedtuple("Result", "tid status error elapsed response")


def run_load(port, clients, seconds, per_client, spacing, request, events=()):
    """`clients` threads, each on its own keep-alive connection (a new one
    when telltale closes it or it breaks), start a request every `spacing`
    seconds (a number, or a function returning one) until `seconds` have
    passed or it made `per_client` requests. request(client, k) returns
    (test id, method, target, headers, body). Meanwhile the calling thread
    runs events: (seconds after the start, function). Returns the Results."""
    results = []
    lock = threading.Lock()
    t0 = time.monotonic()
    end = t0 + seconds

    def client(n):
        conn = None
        next_at = time.monotonic()
        for k in range(per_client):
            now = time.monotonic()
            if now >= end:
                break
            if next_at > now:
                time.sleep(next_at - now)
            next_at = time.monotonic() + (spacing() if callable(spacing) else spacing)
            tid, method, target, headers, body = request(n, k)
            started = time.monotonic()
            status, error, r = None, None, None
            try:
                if conn is None:
                    conn = Conn(port, timeout=10)
                conn.send(build_request(method, target, headers=headers, body=body))
                r = conn.read_response(method=method, timeout=10)
                status = r.status
                if "close" in r.tokens("connection"):
                    conn.close()
                    conn = None
            except Exception as e:  # recorded: the test reports every failure
                error = "%s: %s" % (type(e).__name__, e)
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                results.append(Result(tid, status, error, time.monotonic() - started, r))
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for t in threads:
        t.start()
    for at, fn in sorted(events, key=lambda e: e[0]):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        fn()
    for t in threads:
        t.join(seconds + 30)
    assert not any(t.is_alive() for t in threads), "load clients did not finish"
    return results


def describe(failures, tt=None, limit=10):
    """The failures, with their log lines' attempts when tt is given."""
    logs = {}
    if tt is not None:
        logs = {l["request_id"]: l for l in tt.log_lines(timeout=0.5)}
    out = []
    for f in failures[:limit]:
        ps = f.response.header_all("proxy-status") if f.response is not None else None
        out.append("%s: status=%s error=%s after %.3f s Proxy-Status=%r" % (
            f.tid, f.status, f.error, f.elapsed, ps))
        line = logs.get(f.response.header("x-request-id")) if f.response is not None else None
        if line is not None:
            out.append("    attempts: %s" % json.dumps(line["attempts"]))
    if len(failures) > limit:
        out.append("... and %d more" % (len(failures) - limit))
    return "\n".join(out)


def get_request(client, k):
    tid = "g%d-%d" % (client, k)
    return tid, "GET", "/echo?id=%s" % tid, [("X-Test-Id", tid)], None


def post_request(client, k):
    tid = "p%d-%d" % (client, k)
    return tid, "POST", "/echo", [("X-Test-Id", tid)], ("order %s" % tid).encode()


def shield_group():
    # Four clients may have four retries in flight at once: min_retries 4
    # keeps the retry budget (tested elsewhere) out of this test's way.
    return {"retry": {"attempts": 2, "min_retries": 4}}


def test_gets_never_fail_while_servers_stop_and_restart(telltale, app_factory):
    a, b, c = app_factory(), app_factory(), app_factory()
    tt = telltale(group_config([a, b, c], shield_group()))
    restarted_at = {}

    def restart_b():
        b.start()
        restarted_at["requests"] = b.stats()["requests"]

    events = [(2.0, lambda: a.stop(reset=True)), (3.5, b.stop), (5.0, restart_b)]
    results = run_load(tt.port, 4, 8.0, 400, 0.02, get_request, events)
    failures = [r for r in results if r.status != 200]
    print("GET load: %d requests, %d failed; served a=%d b=%d c=%d, b after restart %d" % (
        len(results), len(failures), a.requests, b.requests, c.requests,
        b.requests - restarted_at.get("requests", b.requests)))
    assert len(results) >= 200, "the load made only %d requests" % len(results)
    assert not failures, "%d of %d GETs failed while servers went away:\n%s" % (
        len(failures), len(results), describe(failures, tt))
    for r in results:
        assert r.response.json()["target"] == "/echo?id=%s" % r.tid, \
            "a response answered another request: %r" % r.response.body[:300]


def test_posts_never_run_twice_while_servers_stop_and_restart(telltale, app_factory):
    a, b, c = app_factory(), app_factory(), app_factory()
    tt = telltale(group_config([a, b, c], shield_group()))
    events = [(2.0, lambda: a.stop(reset=True)), (3.5, b.stop), (5.0, b.start)]
    results = run_load(tt.port, 4, 8.0, 400, 0.02, post_request, events)
    failures = [r for r in results if r.status != 200]
    executed = collections.Counter(a.ids + b.ids + c.ids)
    received = collections.Counter(a.ids_received + b.ids_received + c.ids_received)
    print("POST load: %d requests, %d failed (%s); dropped by stopping servers: %d" % (
        len(results), len(failures),
        dict(collections.Counter(r.status or r.error for r in failures)), a.dropped + b.dropped))
    if failures:
        print(describe(failures, tt))
    twice = sorted(t for t, n in executed.items() if n > 1)
    assert not twice, "%d POSTs ran twice: %r" % (len(twice), twice[:10])
    reached_twice = sorted(t for t, n in received.items() if n > 1)
    assert not reached_twice, "%d POSTs were sent to an upstream twice (read, then sent again): " \
        "%r" % (len(reached_twice), reached_twice[:10])
    assert len(results) >= 200, "the load made only %d requests" % len(results)
    for r in results:
        if r.status == 200:
            assert executed[r.tid] == 1, "%s answered 200 but ran %d times" % (
                r.tid, executed[r.tid])
            doc = r.response.json()
            assert ("X-Test-Id", r.tid) in [tuple(h) for h in doc["headers"]], \
                "a response answered another request: %r" % r.response.body[:300]
        elif r.response is not None:
            assert r.status in (502, 503, 504), r.response
            params = our_member(r.response)
            assert isinstance(params.get("error"), Token), params
    # A POST fails only when it may have reached a server that went away
    # under it: one per connection open to a stopping server at most.
    assert len(failures) <= 12, "%d of %d POSTs failed:\n%s" % (
        len(failures), len(results), describe(failures, tt))
    assert not [r for r in failures if r.error], "requests without a response:\n%s" % describe(
        [r for r in failures if r.error], tt)


def test_keepalive_race_costs_no_request(telltale, app_factory):
    """Each upstream closes a keep-alive connection idle for 50 ms (as
    Node.js does after keepAliveTimeout), 5 ms after deciding to, leaving
    what arrives meanwhile unread; each client thread has its own group, so
    its pooled connection waits 40-60 ms between requests and many requests
    meet it just as the upstream closes it. telltale's pool
    idle_timeout stays the default 4 s: what protects the requests is the
    liveness check before reuse and the retry on a fresh connection."""
    clients = 4
    apps = [app_factory(idle_close_ms=50, close_lag_ms=5) for _ in range(clients)]
    cfg = {
        "name": "tt-test",
        "upstreams": {"g%d" % i: {"servers": [a.addr]} for i, a in enumerate(apps)},
        "routes": [{"host": "g%d.test" % i, "upstream": "g%d" % i} for i in range(clients)],
    }
    tt = telltale(cfg)

    def request(client, k):
        tid = "k%d-%d" % (client, k)
        return tid, "GET", "/echo?id=%s" % tid, [("Host", "g%d.test" % client),
                                                 ("X-Test-Id", tid)], None

    rng = random.Random(4)
    results = run_load(tt.port, clients, 18.0, 250, lambda: rng.uniform(0.040, 0.060), request)
    failures = [r for r in results if r.status != 200]
    conns = sum(a.connections for a in apps)
    lost = sum(a.closed_on_request for a in apps)
    lines = tt.log_lines(len(results), timeout=5)
    reused_failed = sum(1 for l in lines for at in l["attempts"][:-1]
                        if at["reused"] and at["fault"])
    print("keep-alive race: %d requests, %d failed, %d upstream connections, %d closed with a "
          "request arriving, %d reused attempts failed in the log" % (
              len(results), len(failures), conns, lost, reused_failed))
    assert len(results) == clients * 250, "only %d of %d requests ran in time" % (
        len(results), clients * 250)
    assert not failures, "%d of %d requests failed on the keep-alive race:\n%s" % (
        len(failures), len(results), describe(failures, tt))
    # The race was there to lose: the upstreams closed many idle connections.
    assert conns >= 100 and lost >= 10, "%d upstream connections and %d closed as a request " \
        "arrived, for %d requests: nothing raced" % (conns, lost, len(results))
    logs = logs_by_request_id(tt, len(results))
    assert all(l["status"] == 200 for l in logs.values())
