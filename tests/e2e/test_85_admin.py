"""The admin endpoint (GitHub issue 7, items 1-3): /metrics in the
Prometheus text format, parsed with the Prometheus client library's own
parser, with exact counter deltas after known traffic; /healthz; /status
and /status.json with each server's state and the last faults with their
stories; the admin address kept off the public listener; W3C trace
context passed on with telltale as a span; the status page looked at in
headless Chromium."""

import base64
import json
import os
import time

import pytest

import httpc
from conftest import group_config, run_cli
from stories import closed_port_addr

parser = pytest.importorskip("prometheus_client.parser",
                             reason="python3-prometheus-client is not installed "
                                    "(scripts/install-deps)")

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(HERE, "..", "..", "build", "e2e-artifacts")
TID = "4bf92f3577b34da6a3ce929d0e0e4736"
PID = "00f067aa0ba902b7"
TRACEPARENT = "00-%s-%s-01" % (TID, PID)


def scrape(tt):
    r = tt.admin("/metrics")
    assert r.status == 200, r
    assert r.header("content-type").startswith("text/plain; version=0.0.4"), r
    samples = {}
    for fam in parser.text_string_to_metric_families(r.body.decode("utf-8")):
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def two_groups(app, dead, workers=2, **extra):
    cfg = {
        "name": "tt-test",
        "workers": workers,
        "upstreams": {
            "ok": {"servers": [app.addr]},
            "dead": {"servers": [dead], "retry": {"attempts": 1}},
        },
        "routes": [{"path": "/echo", "upstream": "ok"}, {"path": "/dead", "upstream": "dead"}],
    }
    cfg.update(extra)
    return cfg


def test_metrics_count_known_traffic_exactly(telltale, app):
    dead = closed_port_addr()
    tt = telltale(two_groups(app, dead))
    before = scrape(tt)
    for i in range(5):
        assert tt.request("GET", "/echo?n=%d" % i).status == 200
    for i in range(3):
        assert tt.request("GET", "/dead/x%d" % i).status == 502
    tt.log_lines(8)  # a line is written after the exchange is counted
    after = scrape(tt)

    assert delta(before, after, "telltale_requests_total", route="*/echo", code="2xx") == 5
    assert delta(before, after, "telltale_requests_total", route="*/dead", code="5xx") == 3
    assert delta(before, after, "telltale_requests_total", route="*/echo", code="5xx") == 0
    assert delta(before, after, "telltale_faults_total", fault="upstream_refused",
                 type="connection_refused", upstream_group="dead", upstream=dead) == 3
    assert delta(before, after, "telltale_upstream_attempts_total", upstream_group="ok",
                 upstream=app.addr) == 5
    assert delta(before, after, "telltale_upstream_attempts_total", upstream_group="dead",
                 upstream=dead) == 3
    assert delta(before, after, "telltale_upstream_retries_total", upstream_group="dead") == 0
    assert delta(before, after, "telltale_downstream_connections_accepted_total") == 8
    # Histograms: one observation per request, per head received.
    assert delta(before, after, "telltale_request_duration_seconds_count", route="*/echo") == 5
    assert delta(before, after, "telltale_request_duration_seconds_count", route="*/dead") == 3
    assert delta(before, after, "telltale_request_duration_seconds_bucket", route="*/echo",
                 le="+Inf") == 5
    assert delta(before, after, "telltale_upstream_head_duration_seconds_count",
                 upstream_group="ok") == 5
    assert value(after, "telltale_upstream_connect_duration_seconds_count",
                 upstream_group="ok") >= 1
    assert value(after, "telltale_upstream_state", upstream_group="dead", upstream=dead,
                 state="up") == 1
    assert value(after, "telltale_upstream_circuit", upstream_group="ok", upstream=app.addr,
                 state="closed") == 1
    assert value(after, "telltale_workers") == 2
    # The idle keep-alive connection to the app shows in the pool gauges
    # once a worker tick (100 ms) published it.
    time.sleep(0.25)
    assert value(scrape(tt), "telltale_upstream_connections_idle", upstream_group="ok",
                 upstream=app.addr) >= 1


def test_healthz_and_unknown_paths(telltale, app):
    tt = telltale(group_config([app]))
    r = tt.admin("/healthz")
    assert r.status == 200 and r.body.startswith(b"ok"), r
    assert tt.admin("/nope").status == 404
    assert tt.admin("/metrics", method="POST", body=b"").status == 405
    r = tt.admin("/metrics", method="HEAD")
    assert r.status == 200 and r.body == b"", r


def test_admin_paths_are_not_served_on_the_public_listener(telltale, app):
    tt = telltale(group_config([app]))
    r = tt.request("GET", "/metrics")
    # The app answered (it knows no /metrics): the request was proxied.
    assert r.status == 404 and r.header("x-conn-id") is not None, r
    assert b"telltale_requests_total" not in r.body


def test_admin_on_a_public_listener_is_refused_unless_allowed(telltale, app, tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("listen: [\"127.0.0.1:18080\"]\nupstreams: {app: {servers: [%s]}}\n"
                    "admin: {listen: \"127.0.0.1:18080\"}\n" % app.addr)
    p = run_cli(["check", "-c", str(path)])
    assert p.returncode != 0
    assert "is the public listener" in p.stderr + p.stdout, p

    port = httpc_free_port()
    tt = telltale(group_config([app], admin={"listen": "127.0.0.1:%d" % port,
                                             "allow_public": True}), port=port)
    r = tt.request("GET", "/metrics")
    assert r.status == 200 and b"telltale_requests_total" in r.body, r
    assert tt.request("GET", "/echo").status == 200


def httpc_free_port():
    from conftest import free_port
    return free_port()


def test_status_shows_an_ejected_server_and_the_story(telltale, app):
    dead = closed_port_addr()
    tt = telltale(group_config([dead, app], {
        "slow_start": "0s",
        "retry": {"attempts": 2},
        "health": {"passive": {"consecutive_failures": 1, "eject_time": "30s"}},
    }))
    for _ in range(4):
        assert tt.request("GET", "/echo").status == 200
    doc = json.loads(tt.admin("/status.json").body)
    group = [g for g in doc["upstreams"] if g["name"] == "app"][0]
    states = {s["address"]: s["state"] for s in group["servers"]}
    assert states == {dead: "ejected", app.addr: "up"}, group
    ejected = [s for s in group["servers"] if s["address"] == dead][0]
    assert ejected["ejected_for_ms"] > 0 and ejected["ejections"] == 1, ejected
    faults = group["last_faults"]
    assert faults and faults[0]["fault"] == "upstream_refused", faults
    assert faults[0]["server"] == dead and faults[0]["type"] == "connection_refused"
    assert "refused" in faults[0]["details"], faults[0]
    assert doc["routes"][0]["requests"]["2xx"] == 4

    r = tt.admin("/status")
    assert r.status == 200 and r.header("content-type").startswith("text/html"), r
    html = r.body.decode()
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'data-server="%s" data-state="ejected"' % dead in html
    assert 'data-server="%s" data-state="up"' % app.addr in html
    assert "upstream_refused" in html
    assert "http://" not in html and "https://" not in html, "the page must be self-contained"


BAD_HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBad Header: x\r\n\r\nok"


def test_status_keeps_the_bytes_of_a_rejected_head_for_trusted_eyes(telltale, raw_upstream):
    from upstreams import close, recv_head, send
    up = raw_upstream([recv_head(), send(BAD_HEAD), close()])
    tt = telltale(group_config([up.addr], {"retry": {"attempts": 1}}))
    assert tt.request("GET", "/x").status == 502
    note = json.loads(tt.admin("/status.json").body)["upstreams"][0]["last_faults"][0]
    assert note["fault"] == "upstream_bad_response", note
    bad = note["bad_bytes"]
    assert bad and bytes.fromhex(bad["hex"]) in BAD_HEAD, note
    assert bytes.fromhex(bad["hex"])[bad["at"]:bad["at"] + 1] == b" ", bad
    assert "bad-bytes" in tt.admin("/status").body.decode()


def test_untrusted_admin_readers_see_no_details(telltale, raw_upstream):
    from upstreams import close, recv_head, send
    up = raw_upstream([recv_head(), send(BAD_HEAD), close()])
    tt = telltale(group_config([up.addr], {"retry": {"attempts": 1}},
                               error_detail_networks=["10.0.0.0/8"]))
    assert tt.request("GET", "/x").status == 502
    doc = json.loads(tt.admin("/status.json").body)
    note = doc["upstreams"][0]["last_faults"][0]
    assert doc["trusted"] is False
    assert "bad_bytes" not in note and "details" not in note, note
    assert "bad-bytes" not in tt.admin("/status").body.decode()


# -- tracing (item 3) -----------------------------------------------------------

def test_traceparent_continues_the_trace_with_a_new_span(telltale, app):
    tt = telltale(group_config([app]))
    r = tt.request("GET", "/echo", headers=[("traceparent", TRACEPARENT),
                                            ("tracestate", "vendor=abc,other=1")])
    assert r.status == 200
    got = dict((n.lower(), v) for n, v in r.json()["headers"])
    version, trace_id, parent_id, flags = got["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", TID, "01"), got
    assert len(parent_id) == 16 and parent_id != PID and parent_id != "0" * 16
    assert got["tracestate"] == "vendor=abc,other=1"
    line = tt.log_line()
    assert line["trace_id"] == TID and line["request_id"] == r.header("x-request-id")


def test_invalid_traceparent_starts_a_new_trace_and_drops_tracestate(telltale, app):
    tt = telltale(group_config([app]))
    bad = "00-%s-%s-01" % (TID.upper(), PID)
    r = tt.request("GET", "/echo", headers=[("traceparent", bad), ("tracestate", "v=1")])
    got = dict((n.lower(), v) for n, v in r.json()["headers"])
    version, trace_id, parent_id, flags = got["traceparent"].split("-")
    assert version == "00" and trace_id != TID.lower() and len(trace_id) == 32
    assert trace_id != "0" * 32 and flags == "00"
    assert "tracestate" not in got, got
    assert tt.log_line()["trace_id"] == trace_id
    # Without any traceparent a trace starts too.
    r = tt.request("GET", "/echo")
    got = dict((n.lower(), v) for n, v in r.json()["headers"])
    assert len(got["traceparent"]) == 55


def test_error_pages_show_the_trace_id(telltale):
    dead = closed_port_addr()
    tt = telltale(group_config([dead], {"retry": {"attempts": 1}}))
    hdrs = [("traceparent", TRACEPARENT)]
    r = tt.request("GET", "/x", headers=hdrs + [("accept", "text/plain")])
    assert r.status == 502 and ("Trace ID: %s" % TID).encode() in r.body, r.body
    r = tt.request("GET", "/x", headers=hdrs + [("accept", "application/json")])
    assert r.json()["trace_id"] == TID
    r = tt.request("GET", "/x", headers=hdrs + [("accept", "text/html")])
    assert ('id="trace-id">%s<' % TID).encode() in r.body
    lines = tt.log_lines(3)
    assert all(l["trace_id"] == TID for l in lines), lines


# -- the status page in a browser ------------------------------------------------

def test_status_page_in_headless_chromium(telltale, app, tmp_path, capsys):
    from test_60_browser import Chromium, RecordingProxy
    dead = closed_port_addr()
    tt = telltale(group_config([dead, app], {
        "slow_start": "0s",
        "retry": {"attempts": 2},
        "health": {"passive": {"consecutive_failures": 1, "eject_time": "60s"}},
    }))
    for _ in range(4):
        tt.request("GET", "/echo")
    url = "http://127.0.0.1:%d/status" % tt.admin_port
    recorder = RecordingProxy()
    browser = Chromium(tmp_path, recorder.port)
    try:
        browser.attach()
        browser.call("Network.enable")
        browser.call("Page.enable")
        nav = browser.call("Page.navigate", url=url)
        assert not nav.get("errorText"), nav
        browser.wait_event("Page.loadEventFired", timeout=15)
        vis = browser.call("Runtime.evaluate", returnByValue=True, expression="""
            (() => Array.from(document.querySelectorAll('li.server')).map(e => ({
                server: e.dataset.server, state: e.dataset.state,
                h: e.getBoundingClientRect().height,
                visible: e.checkVisibility ? e.checkVisibility() : true})))()""")
        servers = vis["result"]["value"]
        shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        png = base64.b64decode(shot["data"])
    finally:
        browser.close()
        recorder.close()
    os.makedirs(ARTIFACTS, exist_ok=True)
    out = os.path.abspath(os.path.join(ARTIFACTS, "status-page.png"))
    with open(out, "wb") as f:
        f.write(png)
    with capsys.disabled():
        print("\nstatus page screenshot: %s" % out)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    states = {s["server"]: s["state"] for s in servers}
    assert states == {dead: "ejected", app.addr: "up"}, servers
    assert all(s["h"] > 0 and s["visible"] for s in servers), servers
    requests = [e["params"]["request"]["url"] for e in browser.events
                if e["method"] == "Network.requestWillBeSent"]
    assert all(u.startswith("http://127.0.0.1:%d/" % tt.admin_port) or
               u.startswith(("data:", "about:")) for u in requests), requests


def test_proxy_flags_set_or_turn_off_the_admin_endpoint(telltale, app):
    from conftest import free_port
    port = free_port()
    tt = telltale(argv=["proxy", "--listen", "{listen}", "--to", app.addr, "--workers", "1",
                        "--admin", "127.0.0.1:%d" % port])
    tt.admin_port = port
    assert tt.admin("/healthz").status == 200
    assert "admin on http://127.0.0.1:%d/status" % port in tt.stderr()
    off = telltale(argv=["proxy", "--listen", "{listen}", "--to", app.addr, "--workers", "1",
                         "--admin", "off"])
    assert off.request("GET", "/echo").status == 200
    assert "admin on" not in off.stderr()
