"""A minimum request rate (GitHub issue 9, item 3): limits.downstream_min_rate,
averaged over windows of timeouts.downstream_rate_window. A downstream that
drips its request head gets 408 request_timeout; one that drips its body
gets the body timeout fault; one at a decent rate, or any downstream when
the limit is 0, is served. Every loop is bounded in time and count."""

import time

from conftest import run_cli, upstream_config
from httpc import Conn

RATE = {"limits": {"downstream_min_rate": 100},
        "timeouts": {"downstream_rate_window": "1s", "downstream_head": "30s",
                     "downstream_idle": "30s"}}


def drip(c, data, every, seconds):
    """Send data one byte every `every` seconds until it is all sent, the
    connection breaks or `seconds` pass. Returns (bytes sent, seconds)."""
    t0 = time.monotonic()
    sent = 0
    while sent < len(data) and time.monotonic() - t0 < seconds:
        try:
            c.send(data[sent:sent + 1])
        except OSError:
            break
        sent += 1
        time.sleep(every)
    return sent, time.monotonic() - t0


def faults(tt, name):
    """telltale_faults_total for this fault, summed over its series."""
    total = 0
    for line in tt.admin("/metrics").body.decode().splitlines():
        if line.startswith("telltale_faults_total{") and 'fault="%s"' % name in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def config(app, **over):
    cfg = upstream_config(app, **RATE)
    for k, v in over.items():
        cfg[k] = dict(cfg[k], **v)
    return cfg


def test_a_dripped_head_gets_408_after_the_window(telltale, app):
    tt = telltale(config(app))
    head = b"GET /echo HTTP/1.1\r\nHost: example.test\r\nX-Slow: " + b"a" * 400 + b"\r\n\r\n"
    with Conn(tt.port, timeout=10) as c:
        t0 = time.monotonic()
        sent, _ = drip(c, head, 0.1, 6.0)  # 10 bytes/s, under 100
        r = c.read_response(timeout=5)
        took = time.monotonic() - t0
    assert r.status == 408, r
    assert sent < len(head), "the whole dripped head was taken (%d bytes)" % sent
    assert 0.9 <= took <= 4.0, "408 after %.2f s, window 1 s" % took
    line = tt.log_line()
    assert line["status"] == 408 and line["fault"] == "request_timeout", line
    assert "downstream_min_rate" in (line.get("fault_details") or ""), line
    assert app.requests == 0
    assert faults(tt, "request_timeout") == 1


def test_a_dripped_body_gets_the_body_timeout(telltale, app):
    tt = telltale(config(app))
    with Conn(tt.port, timeout=10) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: example.test\r\nContent-Length: 1000\r\n\r\n")
        t0 = time.monotonic()
        sent, _ = drip(c, b"b" * 1000, 0.1, 6.0)
        r = c.read_response(timeout=5, allow_incomplete=True)
        took = time.monotonic() - t0
    assert r.status == 408, r
    assert sent < 1000
    assert 0.9 <= took <= 4.0, "answered after %.2f s, window 1 s" % took
    line = tt.log_line()
    assert line["fault"] == "request_body_timeout", line
    assert "downstream_min_rate" in (line.get("fault_details") or ""), line
    assert faults(tt, "request_body_timeout") == 1


def test_a_head_and_body_at_a_decent_rate_are_served(telltale, app):
    tt = telltale(config(app))
    body = b"c" * 3000
    with Conn(tt.port, timeout=10) as c:
        head = (b"POST /echo HTTP/1.1\r\nHost: example.test\r\nX-Pad: " + b"p" * 600 +
                b"\r\nContent-Length: %d\r\n\r\n" % len(body))
        for i in range(0, len(head), 100):  # 1,000 bytes/s for 0.7 s
            c.send(head[i:i + 100])
            time.sleep(0.1)
        for i in range(0, len(body), 100):  # 1,000 bytes/s for 3 s: three windows
            c.send(body[i:i + 100])
            time.sleep(0.1)
        r = c.read_response(timeout=5)
    assert r.status == 200, r
    assert r.json()["body_len"] == len(body)
    assert tt.log_line()["status"] == 200


def test_zero_turns_the_minimum_rate_off(telltale, app):
    tt = telltale(config(app, limits={"downstream_min_rate": 0}))
    with Conn(tt.port, timeout=10) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: example.test\r\nContent-Length: 25\r\n\r\n")
        sent, took = drip(c, b"d" * 25, 0.1, 6.0)  # 10 bytes/s for 2.5 s
        r = c.read_response(timeout=5)
    assert sent == 25 and took >= 2.4
    assert r.status == 200, r
    assert r.json()["body_len"] == 25


BASE = "listen: [127.0.0.1:8080]\nupstreams: {app: {servers: [127.0.0.1:8000]}}\n"


def test_the_keys_are_checked(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE + "limits: {downstream_min_rate: fast}\n"
                   "timeouts: {downstream_rate_window: 10ms}\n")
    r = run_cli(["check", "-c", str(bad)])
    assert r.returncode != 0
    out = r.stdout + r.stderr
    assert "downstream_min_rate" in out and "downstream_rate_window" in out, out
    good = tmp_path / "good.yaml"
    good.write_text(BASE + "limits: {downstream_min_rate: 1k}\n"
                    "timeouts: {downstream_rate_window: 5s}\n")
    r = run_cli(["check", "-c", str(good)])
    assert r.returncode == 0, r.stdout + r.stderr
