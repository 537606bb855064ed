"""`telltale explain`: a generated access log with known counts must be
reported with exactly those counts (--json, parsed here); one request's
story by --request-id; the --since/--until window; bad lines counted, not
fatal; a large log streamed through stdin in bounded memory; and the log of
a real telltale run explained."""

import json
import os
import random
import subprocess

import pytest

from conftest import free_port, run_cli, telltale_bin, upstream_config

APP1, APP2, APP3 = "10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"
DAY = "2025-11-26"


def entry(t, rid, status, target="/api/x", upstream=None, upstream_status=None, fault=None,
          ftype=None, stage=None, details=None, attempts=()):
    """One line as src/obs/access_log.c writes it."""
    return {
        "time": "%sT%s.000Z" % (DAY, t), "request_id": rid, "downstream": "192.0.2.7:50000",
        "method": "GET", "target": target, "status": status, "bytes_in": 0, "bytes_out": 321,
        "duration_ms": 2.5, "upstream": upstream, "upstream_status": upstream_status,
        "upstream_connect_ms": 0.25 if upstream_status else None,
        "upstream_head_ms": 1.5 if upstream_status else None, "fault": fault,
        "fault_type": ftype, "fault_stage": stage, "fault_details": details,
        "attempts": list(attempts),
    }


def attempt(upstream, fault=None, stage=None, reused=False):
    ok = fault is None
    return {"upstream": upstream, "fault": fault, "stage": stage,
            "connect_ms": 0.2 if ok else None, "head_ms": 1.0 if ok else None, "reused": reused}


def hms(minute, second):
    return "12:%02d:%02d" % (minute, second)


def generated_log():
    """Lines (shuffled, with bad and blank ones) and the records behind them."""
    recs = []
    routes = ["/api/users", "/static/app.css", "/"]
    for i in range(200):  # successes, spread over 12:00-12:09
        ups = APP1 if i % 2 else APP3
        recs.append(entry(hms(i % 10, i % 60), "ok-%d" % i, 200, routes[i % 3], ups, 200,
                          attempts=[attempt(ups, reused=i % 4 == 0)]))
    for i in range(37):  # app-2 not listening, 12:01-12:04
        recs.append(entry(hms(1 + i % 4, i), "refused-%d" % i, 502, "/api/orders", APP2, None,
                          "upstream_refused", "connection_refused", "connect",
                          "connect to %s: ECONNREFUSED" % APP2,
                          [attempt(APP2, "upstream_refused", "connect")]))
    for i in range(12):  # app-3 too slow, 12:06-12:07
        recs.append(entry(hms(6 + i % 2, 10 + i), "slow-%d" % i, 504, "/api/report", APP3, None,
                          "upstream_timeout", "http_response_timeout", "wait-head",
                          "no response head in 30000 ms",
                          [attempt(APP3, "upstream_timeout", "wait-head", True)]))
    for i in range(5):  # every server ejected, 12:08
        recs.append(entry(hms(8, i), "noserver-%d" % i, 503, "/checkout", None, None,
                          "no_server", "destination_unavailable", "route",
                          "all 3 servers of app are ejected"))
    for i in range(4):  # malformed requests, 12:05
        recs.append(entry(hms(5, i), "bad-%d" % i, 400, "/", None, None, "bad_request",
                          "http_request_error", "request", "bare_cr at offset 3"))
    for i in range(6):  # the upstream's own 503s, passed on: not telltale's errors
        recs.append(entry(hms(9, i), "own503-%d" % i, 503, "/api/users", APP1, 503,
                          attempts=[attempt(APP1)]))
    for i in range(3):  # a retry hid a refusal
        recs.append(entry(hms(2, 30 + i), "recovered-%d" % i, 200, "/api/users", APP1, 200,
                          attempts=[attempt(APP2, "upstream_refused", "connect"),
                                    attempt(APP1)]))
    lines = [json.dumps(r, separators=(",", ":")) for r in recs]
    lines += [
        "this is not json",
        "GET / HTTP/1.1",
        json.dumps(recs[0])[:-10],  # cut short
        json.dumps(dict(recs[0], status="200")),  # status of the wrong type
        '{"pad":"%s"}' % ("x" * 70000),  # past the 64 KiB line limit
        "",
        "   ",
    ]
    random.Random(7).shuffle(lines)
    return lines, recs


EXPECTED = {
    "lines": 274, "blank_lines": 2, "bad_lines": 5, "outside_window": 0, "requests": 267,
    "errors": 58, "status_5xx": 60, "upstream_5xx": 6, "recovered": 3,
    "first_time": "%sT12:00:00.000Z" % DAY, "last_time": "%sT12:09:59.000Z" % DAY,
}


@pytest.fixture
def log_file(tmp_path):
    lines, recs = generated_log()
    path = tmp_path / "access.log"
    path.write_text("\n".join(lines) + "\n")
    return str(path), recs


def explain_json(*args, stdin=None):
    r = subprocess.run([telltale_bin(), "explain", "--json"] + list(args), input=stdin,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "", r.stderr
    return json.loads(r.stdout)


def by(items, key):
    return {i[key]: i for i in items}


def test_known_counts_are_reported_exactly(log_file):
    path, _ = log_file
    doc = explain_json(path)
    assert doc["file"] == path
    assert doc["since"] is None and doc["until"] is None
    tot = doc["totals"]
    for k, v in EXPECTED.items():
        assert tot[k] == v, (k, tot)
    assert tot["error_rate"] == pytest.approx(58 / 267, abs=1e-6)
    bad = doc["bad"]
    assert (bad["not_json"], bad["too_long"], bad["bad_status"]) == (3, 1, 1), bad
    assert bad["not_object"] == bad["bad_time"] == bad["bad_field"] == 0, bad
    assert bad["first"]["line"] >= 1 and bad["first"]["reason"] in ("not_json", "too_long",
                                                                     "bad_status")

    faults = by(doc["faults"], "token")
    assert {k: f["count"] for k, f in faults.items()} == {
        "upstream_refused": 37, "upstream_timeout": 12, "no_server": 5, "bad_request": 4}
    assert [f["token"] for f in doc["faults"]] == [
        "upstream_refused", "upstream_timeout", "no_server", "bad_request"]
    assert faults["upstream_refused"]["type"] == "connection_refused"
    assert faults["upstream_refused"]["status"] == 502
    assert faults["upstream_timeout"]["status"] == 504
    assert faults["upstream_refused"]["share"] == pytest.approx(37 / 58, abs=1e-6)

    ups = by(doc["upstreams"], "upstream")
    assert set(ups) == {APP1, APP2, APP3, "(none)"}
    assert (ups[APP2]["requests"], ups[APP2]["errors"]) == (37, 37)
    assert ups[APP2]["failed_attempts"] == 40, "retried refusals are counted too"
    assert (ups[APP1]["requests"], ups[APP1]["errors"]) == (100 + 6 + 3, 0)
    assert ups[APP1]["upstream_5xx"] == 6
    assert (ups[APP3]["requests"], ups[APP3]["errors"]) == (100 + 12, 12)
    assert (ups["(none)"]["requests"], ups["(none)"]["errors"]) == (9, 9)
    assert doc["upstreams_folded"] == 0

    routes = by(doc["routes"], "route")
    assert routes["/api"]["requests"] == 67 + 37 + 12 + 6 + 3
    assert routes["/api"]["errors"] == 49
    assert routes["/checkout"]["errors"] == 5
    assert routes["/"]["requests"] == 66 + 4
    assert routes["/static"]["requests"] == 67

    win = doc["windows"]
    assert win["width_s"] == 60
    buckets = by(win["buckets"], "start")
    assert sum(b["requests"] for b in win["buckets"]) == 267
    assert sum(b["errors"] for b in win["buckets"]) == 58
    assert buckets["%sT12:08:00.000Z" % DAY]["faults"] == {"no_server": 5}
    assert buckets["%sT12:09:00.000Z" % DAY]["upstream_5xx"] == 6

    top = doc["stories"]
    assert [(s["count"], s["token"], s["upstream"]) for s in top] == [
        (37, "upstream_refused", APP2), (12, "upstream_timeout", APP3),
        (5, "no_server", "(none)"), (4, "bad_request", "(none)")]
    assert top[0]["first"] == "%sT12:01:00.000Z" % DAY
    assert top[0]["last"] == "%sT12:04:35.000Z" % DAY
    assert top[0]["type"] == "connection_refused"
    assert top[0]["explanation"] and len(top[0]["operator_steps"]) >= 3


def test_text_report_tells_the_stories(log_file):
    path, _ = log_file
    r = run_cli(["explain", path])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "requests    267" in out
    assert "errors      58 (21.72%)" in out
    assert "1. 37 x connection_refused (upstream_refused) from %s between 12:01 and 12:04:" \
        % APP2 in out
    assert "2. 12 x http_response_timeout (upstream_timeout) from %s between 12:06 and 12:07:" \
        % APP3 in out
    assert "5 x destination_unavailable (no_server) with no upstream at 12:08:" in out
    assert "fix: 1. " in out and " 2. " in out
    assert "Bad lines: 5 (" in out


def test_stdin_dash_and_no_file_read_the_same(log_file):
    path, _ = log_file
    with open(path) as f:
        data = f.read()
    a = explain_json("-", stdin=data)
    b = explain_json(stdin=data)
    assert a["file"] == b["file"] == "-"
    assert a["totals"] == b["totals"] == explain_json(path)["totals"]


def test_since_until_keep_a_half_open_window(log_file):
    path, recs = log_file
    since, until = "%sT12:02:00Z" % DAY, "%sT12:04:00.000Z" % DAY
    inside = [r for r in recs if "12:02:00" <= r["time"][11:19] < "12:04:00"]
    doc = explain_json("--since", since, "--until=" + until, path)
    tot = doc["totals"]
    assert tot["requests"] == len(inside)
    assert tot["errors"] == sum(1 for r in inside if r["fault"])
    assert tot["outside_window"] == 267 - len(inside)
    assert tot["bad_lines"] == 5
    assert doc["since"] == "%sT12:02:00.000Z" % DAY
    assert doc["until"] == "%sT12:04:00.000Z" % DAY
    assert {f["token"] for f in doc["faults"]} == {"upstream_refused"}


def test_request_id_tells_one_story_with_every_attempt(log_file):
    path, _ = log_file
    r = run_cli(["explain", "--request-id", "recovered-1", path])
    assert r.returncode == 0, r.stderr
    assert "request recovered-1" in r.stdout
    assert "fault       none" in r.stdout
    assert "1. %s  upstream_refused at connect" % APP2 in r.stdout
    assert "2. %s  ok" % APP1 in r.stdout

    r = run_cli(["explain", "--request-id", "slow-3", path])
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "status      504" in out
    assert "upstream_timeout (http_response_timeout) at wait-head" in out
    assert "The upstream did not answer in time" in out
    assert "no response head in 30000 ms" in out
    assert "reused connection" in out
    assert "fix (operator):\n    1. " in out

    doc = explain_json("--request-id", "refused-5", path)
    assert doc["found"] is True
    assert doc["request"]["request_id"] == "refused-5"
    assert doc["request"]["attempts"][0]["fault"] == "upstream_refused"
    assert doc["story"]["type"] == "connection_refused"
    assert doc["story"]["operator_steps"]


def test_request_id_not_found_is_exit_1(log_file):
    path, _ = log_file
    r = run_cli(["explain", "--request-id", "no-such-id", path])
    assert r.returncode == 1
    assert "no-such-id" in r.stderr
    r = run_cli(["explain", "--json", "--request-id", "no-such-id", path])
    assert r.returncode == 1
    assert json.loads(r.stdout) == {"request_id": "no-such-id", "found": False}


@pytest.mark.parametrize("args", [
    ["--since", "yesterday"],
    ["--until", "2025-11-26 12:00"],
    ["--since", "2025-11-26T13:00:00Z", "--until", "2025-11-26T12:00:00Z"],
    ["--bogus"],
    ["a.log", "b.log"],
    ["--request-id"],
], ids=["bad-since", "bad-until", "since-after-until", "unknown-option", "two-files",
        "missing-value"])
def test_usage_errors_are_exit_2(args):
    r = run_cli(["explain"] + args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "usage: telltale explain" in r.stderr


def test_unreadable_file_is_exit_1(tmp_path):
    r = run_cli(["explain", str(tmp_path / "missing.log")])
    assert r.returncode == 1
    assert "missing.log" in r.stderr
    r = run_cli(["explain", str(tmp_path)])  # a directory opens but does not read
    assert r.returncode == 1


def stream(mib):
    """Stream about mib MiB of log lines into `explain --json -`; returns
    the report, the number of blocks sent and the process's peak RSS (KiB)."""
    lines, _ = generated_log()
    good = [ln for ln in lines if ln.startswith('{"time":"')]
    assert len(good) == 267
    block = ("\n".join(good * 8) + "\n").encode()
    n = max(1, mib * 1024 * 1024 // len(block))
    p = subprocess.Popen([telltale_bin(), "explain", "--json", "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(n):
        p.stdin.write(block)
    p.stdin.close()
    out = p.stdout.read()
    err = p.stderr.read()
    # wait4 gives this child's own peak RSS, whatever other children did.
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    assert p.returncode == 0, err
    doc = json.loads(out)
    assert doc["totals"]["requests"] == n * 8 * 267
    assert doc["totals"]["errors"] == n * 8 * 58
    return doc, n, usage.ru_maxrss


def test_a_large_log_streams_in_bounded_memory():
    _, _, small = stream(1)
    doc, n, big = stream(96)
    assert doc["stories"][0]["count"] == n * 8 * 37
    # Under ASan the baseline is some MiB of shadow and runtime; what
    # matters is that ~96x the input costs no more than a few MiB over it.
    assert big - small < 8 * 1024, (small, big)
    assert big < 100 * 1024, big


def test_a_real_log_is_explained(telltale):
    dead = "127.0.0.1:%d" % free_port()
    tt = telltale(upstream_config(dead))
    for _ in range(3):
        assert tt.request("GET", "/api/echo").status == 502
    tt.log_lines(3)
    tt.stop()
    doc = explain_json(tt.stdout_path)
    assert doc["totals"]["requests"] == 3
    assert doc["totals"]["errors"] == 3
    assert doc["totals"]["bad_lines"] == 0
    assert [(s["count"], s["token"], s["upstream"]) for s in doc["stories"]] == [
        (3, "upstream_refused", dead)]
    assert doc["routes"][0]["route"] == "/api"
