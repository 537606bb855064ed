"""`telltale doctor` (issue 6, items 1, 2 and 4): run against each scripted
faulty upstream of the fault stories (test_45), doctor must reach the same
fault type as the proxy does for that upstream; a healthy upstream passes
every step; an upstream that closes idle connections sooner than telltale's
keepalive.idle_timeout gets the keep-alive race warning; the text output
marks steps with a check or a cross and carries no colour off a terminal.

Step 4 (tls) does the handshake with the proxy's engine against a Python
TLS upstream (tls_util.py, certificates made by the openssl command), and
step 2 (dns) resolves names with the proxy's resolver against a scripted
UDP DNS server (the answers of tests/unit/net/dns_server.py, imported).

Doctor's --json output is parsed here; docs/doctor.md describes it."""

import json
import os
import re
import socket
import sys
import threading
import time

import pytest

from conftest import run_cli, to_yaml
from httpc import ResponseError, build_request
from stories import closed_port_addr, config, our_member
from test_45_fault_stories import RAW_CASES, syn_blackhole
from upstreams import close, recv_head, send, sleep

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "unit", "net"))
import dns_server  # noqa: E402  (the unit tests' scripted answers)

STEP_NAMES = ["config", "dns", "connect", "tls", "http", "body", "keepalive", "timeouts"]
STATUSES = {"pass", "fail", "skip", "warn"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Faults the proxy meets after it forwarded the head (it cuts the
# downstream instead of answering): the proxy's type is read from its log.
CUT_CASES = {
    "body-shorter-than-its-length": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"),
         sleep(0.3), close()], {}),
    "bad-chunk-size-in-a-later-packet": (
        [recv_head(), send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
         sleep(0.3), send(b"zz\r\n"), sleep(1), close()], {}),
}
CASES = dict({name: (c[0], c[1]) for name, c in RAW_CASES.items()}, **CUT_CASES)


def doctor(args, timeout=40, keepalive=False):
    """Run `telltale doctor --json ARGS`; returns (CompletedProcess, document)."""
    argv = ["doctor", "--json"] + ([] if keepalive else ["--no-keepalive-check"]) + list(args)
    p = run_cli(argv, timeout=timeout)
    assert p.returncode in (0, 1), "doctor exited %s\nstdout:\n%s\nstderr:\n%s" % (
        p.returncode, p.stdout, p.stderr)
    assert "AddressSanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        pytest.fail("doctor --json printed no JSON document:\n%s\nstderr:\n%s"
                    % (p.stdout, p.stderr), pytrace=False)
    check_shape(doc)
    assert (p.returncode == 1) == any(s["status"] == "fail" for s in doc["steps"]), (
        p.returncode, doc)
    assert doc["ok"] == (p.returncode == 0), doc
    return p, doc


def check_shape(doc):
    assert set(doc) >= {"url", "upstream", "steps", "verdict"}, doc
    for s in doc["steps"]:
        assert set(s) >= {"n", "name", "status", "ms", "seen"}, s
        assert s["status"] in STATUSES, s
        assert STEP_NAMES[s["n"] - 1] == s["name"], s
        assert s["ms"] is None or s["ms"] >= 0, s
    v = doc["verdict"]
    assert set(v) >= {"fault", "type", "status", "title", "explanation", "operator_steps"}, v
    if v["fault"] is not None:
        assert v["type"] and v["title"] and v["explanation"], v
        assert len(v["operator_steps"]) >= 3, v


def steps_by_name(doc):
    out = {}
    for s in doc["steps"]:
        out.setdefault(s["name"], s)
    return out


def proxy_fault_type(tt):
    """The fault type the proxy reached for one GET: Proxy-Status's error
    when it answered with its own error, else (a cut response) its log."""
    with tt.conn(timeout=15) as c:
        c.send(build_request("GET", "/story"))
        try:
            r = c.read_response(allow_incomplete=True, timeout=15)
        except ResponseError:
            r = None
    line = tt.log_line(timeout=5)
    if r is not None and r.status >= 500:
        ps_type = str(our_member(r)["error"])
        assert ps_type == line["fault_type"], (ps_type, line)
        return ps_type
    return line["fault_type"]


def write_config(tmp_path, cfg, name="doctor.yaml"):
    full = {"workers": 1, "access_log": "stdout", "listen": ["127.0.0.1:1"]}
    full.update(cfg)
    path = tmp_path / name
    path.write_text(to_yaml(full) + "\n")
    return str(path)


@pytest.mark.parametrize("case", list(CASES))
def test_doctor_reaches_the_proxys_fault(telltale, raw_upstream, tmp_path, case):
    script, extra = CASES[case]
    up = raw_upstream(script)
    tt = telltale(config(up, **extra))
    want = proxy_fault_type(tt)
    assert want, "the proxy reached no fault for %s" % case
    url = "http://%s/story" % up.addr
    # Timeouts of the story need the same config; the others run without
    # one, on telltale's defaults.
    args = ["-c", write_config(tmp_path, config(up, **extra)), url] if extra else [url]
    p, doc = doctor(args)
    assert p.returncode == 1, doc
    v = doc["verdict"]
    assert v["type"] == want, "doctor says %r, the proxy %r: %s" % (v["type"], want, doc)
    assert v["server"] == up.addr, v
    assert v["details"], v
    failed = [s for s in doc["steps"] if s["status"] == "fail"]
    assert len(failed) == 1 and failed[0]["name"] in ("http", "body"), doc["steps"]
    assert want in failed[0]["seen"], failed[0]


def test_doctor_refused_like_the_proxy(telltale):
    dead = closed_port_addr()
    tt = telltale(config(dead))
    want = proxy_fault_type(tt)
    p, doc = doctor(["http://%s/" % dead])
    assert doc["verdict"]["type"] == want == "connection_refused", doc
    st = steps_by_name(doc)
    assert st["connect"]["status"] == "fail", st
    assert st["http"]["status"] == "skip" and st["body"]["status"] == "skip", st


def test_doctor_connect_timeout_like_the_proxy(telltale, tmp_path):
    with syn_blackhole() as hole:
        extra = {"timeouts": {"upstream_connect": "500ms"}}
        tt = telltale(config(hole, **extra))
        want = proxy_fault_type(tt)
        p, doc = doctor(["-c", write_config(tmp_path, config(hole, **extra)),
                         "http://%s/" % hole])
        assert doc["verdict"]["type"] == want == "connection_timeout", doc


def test_doctor_healthy_upstream_passes(app, tmp_path):
    cfg = config(app, upstreams={"app": {"servers": [app.addr],
                                         "keepalive": {"idle_timeout": "300ms"}}})
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "http://example.test/echo"],
                    keepalive=True)
    assert p.returncode == 0, doc
    st = steps_by_name(doc)
    assert [s["name"] for s in doc["steps"]] == STEP_NAMES, doc["steps"]
    for name in ("config", "dns", "connect", "http", "body", "keepalive", "timeouts"):
        assert st[name]["status"] == "pass", st[name]
    assert st["tls"]["status"] == "skip" and "plain http" in st["tls"]["seen"], st["tls"]
    assert "200" in st["http"]["seen"], st["http"]
    assert doc["verdict"]["fault"] is None and doc["verdict"]["type"] is None, doc["verdict"]
    assert doc["upstream"] == "app", doc
    head = app.wait_heads(1)[0]
    assert ("User-Agent", "telltale-doctor") in head["headers"], head
    assert head["target"] == "/echo", head


def test_doctor_warns_of_the_keepalive_race(raw_upstream, tmp_path):
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    up = raw_upstream([recv_head(), send(body), sleep(0.2), close()])
    cfg = config(up, upstreams={"app": {"servers": [up.addr],
                                        "keepalive": {"idle_timeout": "4s"}}})
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "http://%s/" % up.addr],
                    keepalive=True)
    assert p.returncode == 0, doc
    ka = steps_by_name(doc)["keepalive"]
    assert ka["status"] == "warn", ka
    assert "keep-alive race" in ka["seen"] and "idle_timeout" in ka["seen"], ka
    assert ka["ms"] is not None and 100 <= ka["ms"] <= 2000, ka
    assert doc["verdict"]["fault"] is None, doc["verdict"]


def test_doctor_text_output_marks_steps_without_colour(app, raw_upstream):
    ok = run_cli(["doctor", "--no-keepalive-check", "http://%s/" % app.addr], timeout=30)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "\u2713" in ok.stdout and "\u2717" not in ok.stdout, ok.stdout
    up = raw_upstream([recv_head(), send(b"GARBAGE\r\n\r\n"), close()])
    bad = run_cli(["doctor", "--no-keepalive-check", "http://%s/" % up.addr], timeout=30)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "\u2717" in bad.stdout and "http_protocol_error" in bad.stdout, bad.stdout
    assert "What the operator can do" in bad.stdout and "  1. " in bad.stdout, bad.stdout
    for out in (ok.stdout, bad.stdout):
        assert not ANSI.search(out), "colour codes off a terminal: %r" % out


@pytest.mark.parametrize("args", [[], ["http://a/", "--upstream", "x"], ["ftp://a/"],
                                  ["--bogus", "http://a/"], ["http://a/", "http://b/"]],
                         ids=["nothing", "both", "scheme", "option", "two-urls"])
def test_doctor_usage_errors_exit_2(args):
    p = run_cli(["doctor"] + args, timeout=10)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "usage: telltale doctor" in p.stderr, p.stderr


def test_doctor_no_route_is_destination_not_found(app, tmp_path):
    cfg = config(app, routes=[{"host": "elsewhere.test", "path": "/", "upstream": "app"}])
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "http://other.test/"])
    assert doc["verdict"]["type"] == "destination_not_found", doc
    assert steps_by_name(doc)["config"]["status"] == "fail", doc
    assert app.stats()["connections"] == 0


def test_doctor_upstream_flag_probes_every_server(app, app2, tmp_path):
    cfg = {"upstreams": {"app": {"servers": [app.addr, app2.addr]}}}
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "--upstream", "app", "--path", "/echo"])
    assert p.returncode == 0, doc
    servers = {s["server"] for s in doc["steps"] if s["name"] == "http"}
    assert servers == {app.addr, app2.addr}, doc["steps"]
    unknown = run_cli(["doctor", "-c", write_config(tmp_path, cfg), "--upstream", "nope"])
    assert unknown.returncode == 2 and "app" in unknown.stderr, unknown.stderr


# -- step 4: TLS --------------------------------------------------------------------


def tls_doctor(tmp_path, up, tls, timeouts=None, keepalive=False, name="doctor.yaml"):
    cfg = {"upstreams": {"app": {"servers": [up.addr], "tls": tls}}}
    if timeouts:
        cfg["timeouts"] = timeouts
    return doctor(["-c", write_config(tmp_path, cfg, name), "--upstream", "app", "--path",
                   "/doc"], keepalive=keepalive)


def test_doctor_tls_handshake_passes_and_shows_the_session(tls_upstream, certs, tmp_path):
    up = tls_upstream()
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "sni": "localhost"})
    assert p.returncode == 0, doc
    st = steps_by_name(doc)
    tls = st["tls"]
    assert tls["status"] == "pass", tls
    assert tls["ms"] is not None and tls["ms"] > 0, tls
    # The Python upstream selects no ALPN protocol.
    for want in ("TLSv1.3", "ALPN none", "SNI: localhost", "new session",
                 "verify: ok", "CN=localhost, issuer CN=Test CA", "days left"):
        assert want in tls["seen"], (want, tls["seen"])
    t = tls["tls"]
    assert t["version"] == "TLSv1.3" and t["cipher"].startswith("TLS_"), t
    assert t["sni"] == "localhost" and t["alpn"] is None, t
    assert t["verify"] is True and t["verify_result"]["code"] == 0, t
    assert t["would_verify"] is None and t["resumed"] is False, t
    assert t["chain"][0]["subject"] == "CN=localhost", t
    assert t["chain"][0]["issuer"] == "CN=Test CA", t
    assert 28 <= t["chain"][0]["days_left"] <= 30, t
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", t["chain"][0]["not_after"]), t
    # Steps 5 and 6 ran through the engine: the upstream saw the request.
    assert st["http"]["status"] == "pass" and "200" in st["http"]["seen"], st["http"]
    assert st["body"]["status"] == "pass", st["body"]
    assert "timeouts.upstream_handshake" in st["timeouts"]["seen"], st["timeouts"]
    assert up.requests == 1 and up.snis == ["localhost"], (up.requests, up.snis)


def test_doctor_tls_to_an_ip_sends_no_sni(tls_upstream, certs, tmp_path):
    up = tls_upstream()
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca")}, keepalive=True)
    assert p.returncode == 0, doc
    st = steps_by_name(doc)
    assert "no SNI: IP address" in st["tls"]["seen"], st["tls"]
    assert st["tls"]["tls"]["sni"] is None and st["tls"]["tls"]["name"] == "127.0.0.1", st
    assert up.snis == [None], up.snis
    # The keep-alive watch ran over TLS too.
    assert st["keepalive"]["status"] in ("pass", "warn"), st["keepalive"]


def test_doctor_tls_warns_of_a_certificate_about_to_expire(tls_upstream, certs, tmp_path):
    up = tls_upstream(name="soon")
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "sni": "localhost"})
    assert p.returncode == 0, doc
    tls = steps_by_name(doc)["tls"]
    assert tls["status"] == "warn", tls
    assert re.search(r"expires in [45] days", tls["seen"]), tls["seen"]
    assert tls["tls"]["chain"][0]["days_left"] in (4, 5), tls


def test_doctor_tls_expired_certificate(tls_upstream, certs, tmp_path):
    up = tls_upstream(name="expired")
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "sni": "localhost"})
    assert p.returncode == 1, doc
    st = steps_by_name(doc)
    assert st["tls"]["status"] == "fail", st["tls"]
    assert "tls_certificate_error" in st["tls"]["seen"], st["tls"]
    assert "expired" in st["tls"]["seen"], st["tls"]
    assert st["http"]["status"] == "skip", st["http"]
    v = doc["verdict"]
    assert v["type"] == "tls_certificate_error" and v["stage"] == "tls", v
    assert "certificate has expired" in v["details"], v
    assert len(v["operator_steps"]) >= 3, v
    assert up.requests == 0


def test_doctor_tls_plain_http_on_the_port(tls_upstream, certs, tmp_path):
    up = tls_upstream(mode="plain")
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca")})
    assert p.returncode == 1, doc
    v = doc["verdict"]
    assert v["type"] == "tls_protocol_error", v
    assert "plain HTTP" in v["details"], v
    assert steps_by_name(doc)["tls"]["status"] == "fail", doc


def test_doctor_tls_silent_upstream_times_out(tls_upstream, certs, tmp_path):
    up = tls_upstream(mode="silent")
    t0 = time.monotonic()
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca")},
                        timeouts={"upstream_handshake": "400ms"})
    took = time.monotonic() - t0
    assert p.returncode == 1, doc
    v = doc["verdict"]
    assert v["type"] == "connection_timeout" and v["stage"] == "tls", v
    assert "upstream_handshake" in v["details"] and "400 ms" in v["details"], v
    tls = steps_by_name(doc)["tls"]
    assert tls["status"] == "fail" and 350 <= tls["ms"] <= 5000, tls
    assert took < 20, took


def test_doctor_tls_verify_false_says_what_verification_would_find(tls_upstream, certs,
                                                                    tmp_path):
    up = tls_upstream(name="self")
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "verify": False})
    assert p.returncode == 0, doc
    tls = steps_by_name(doc)["tls"]
    assert tls["status"] == "warn", tls
    assert "verify: off" in tls["seen"], tls
    assert "with verification on, it would fail" in tls["seen"], tls
    wv = tls["tls"]["would_verify"]
    assert wv["ok"] is False and "tls_certificate_error" in wv["details"], wv
    assert doc["verdict"]["fault"] is None, doc["verdict"]
    assert up.requests == 1, up.requests


def test_doctor_tls_client_certificate_required(tls_upstream, certs, tmp_path):
    up = tls_upstream(mode="client_cert")
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "sni": "localhost"})
    assert p.returncode == 1, doc
    v = doc["verdict"]
    # TLS 1.3: the handshake ends on our side, the refusal is an alert on
    # the first read, which the proxy classifies as the handshake's.
    assert v["type"] == "tls_alert_received" and v["stage"] == "tls", v
    assert v["param"] == {"alert-id": 116} and "certificate_required" in v["details"], v
    p, doc = tls_doctor(tmp_path, up, {"ca_file": certs.crt("ca"), "sni": "localhost",
                                       "client_cert": certs.crt("client"),
                                       "client_key": certs.key("client")}, name="mtls.yaml")
    assert p.returncode == 0, doc
    assert steps_by_name(doc)["http"]["status"] == "pass", doc


def test_doctor_https_url_without_config_verifies_with_the_system_store(tls_upstream):
    up = tls_upstream()
    p, doc = doctor(["https://%s/" % up.addr])
    assert p.returncode == 1, doc
    tls = steps_by_name(doc)["tls"]
    assert tls["status"] == "fail", tls
    v = doc["verdict"]
    # The test CA is not in the system store.
    assert v["type"] == "tls_certificate_error", v
    assert "local issuer" in v["details"], v
    assert tls["tls"]["name"] == "127.0.0.1" and tls["tls"]["sni"] is None, tls
    assert tls["tls"]["chain"][0]["issuer"] == "CN=Test CA", tls


@pytest.mark.parametrize("name,mode", [("expired", "ok"), ("localhost", "plain")])
def test_doctor_tls_fault_is_the_proxys(telltale, tls_upstream, certs, tmp_path, name, mode):
    up = tls_upstream(name=name, mode=mode)
    cfg = config(up, upstreams={"app": {"servers": [up.addr],
                                        "tls": {"ca_file": certs.crt("ca")}}})
    tt = telltale(cfg)
    want = proxy_fault_type(tt)
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "http://%s/story" % up.addr])
    assert doc["verdict"]["type"] == want, (want, doc["verdict"])


# -- step 2: DNS --------------------------------------------------------------------


class DnsServer:
    """UDP DNS on 127.0.0.1 answering as tests/unit/net/dns_server.py does,
    plus app.test: A 127.0.0.1 TTL 42 (so that doctor can connect)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.queries = []
        self.done = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _decide(self, name, qtype):
        if name == "app.test":
            return dns_server.NOERROR, [(dns_server.A, "127.0.0.1", 42)] \
                if qtype == dns_server.A else []
        return dns_server.decide(name, qtype, 1)

    def _serve(self):
        while not self.done:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            q = dns_server.parse_question(msg)
            if q is None:
                continue
            qid, flags, name, qtype, qend = q
            self.queries.append((name, qtype))
            d = self._decide(name, qtype)
            if d is not None:
                self.sock.sendto(dns_server.reply(msg, qid, flags, qend, d[0], d[1]), peer)

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def dns():
    d = DnsServer()
    yield d
    d.close()


def dns_doctor(tmp_path, dns, server, timeout="2s"):
    cfg = {"upstreams": {"app": {"servers": [server]}},
           "resolver": {"servers": [dns.addr], "timeout": timeout, "tries": 1}}
    return doctor(["-c", write_config(tmp_path, cfg), "--upstream", "app"])


def test_doctor_dns_lists_addresses_with_ttl(dns, app, tmp_path):
    port = app.addr.rsplit(":", 1)[1]
    p, doc = dns_doctor(tmp_path, dns, "app.test:%s" % port)
    assert p.returncode == 0, doc
    st = steps_by_name(doc)
    d = st["dns"]
    assert d["status"] == "pass", d
    assert "127.0.0.1 TTL 42 s" in d["seen"] and dns.addr in d["seen"], d["seen"]
    assert "reload" not in d["seen"], d["seen"]
    assert d["dns"]["resolver"] == dns.addr and d["dns"]["name"] == "app.test", d
    assert d["dns"]["addresses"] == [{"address": "127.0.0.1", "ttl": 42}], d
    assert d["dns"]["rcode"] is None, d
    assert st["connect"]["status"] == "pass" and "127.0.0.1:%s" % port in st["connect"]["seen"]
    assert st["http"]["status"] == "pass", st["http"]
    assert ("app.test", dns_server.A) in dns.queries, dns.queries


@pytest.mark.parametrize("name,rcode", [("nx.test", "NXDOMAIN"), ("servfail.test", "SERVFAIL"),
                                        ("refused.test", "REFUSED")])
def test_doctor_dns_error_carries_the_rcode(dns, tmp_path, name, rcode):
    p, doc = dns_doctor(tmp_path, dns, "%s:80" % name)
    assert p.returncode == 1, doc
    d = steps_by_name(doc)["dns"]
    assert d["status"] == "fail" and rcode in d["seen"] and dns.addr in d["seen"], d
    assert d["dns"]["rcode"] == rcode and d["dns"]["addresses"] == [], d
    v = doc["verdict"]
    assert v["type"] == "dns_error" and v["stage"] == "dns", v
    assert v["param"] == {"rcode": rcode}, v
    assert steps_by_name(doc)["connect"]["status"] == "skip", doc


def test_doctor_dns_timeout(dns, tmp_path):
    t0 = time.monotonic()
    p, doc = dns_doctor(tmp_path, dns, "silent.test:80", timeout="500ms")
    assert time.monotonic() - t0 < 20
    assert p.returncode == 1, doc
    v = doc["verdict"]
    assert v["type"] == "dns_timeout", v
    d = steps_by_name(doc)["dns"]
    assert d["status"] == "fail" and 300 <= d["ms"] <= 5000, d
    assert d["dns"]["rcode"] is None, d


def test_doctor_dns_system_resolver_named(app, tmp_path):
    port = app.addr.rsplit(":", 1)[1]
    cfg = {"upstreams": {"app": {"servers": ["localhost:%s" % port]}}}
    p, doc = doctor(["-c", write_config(tmp_path, cfg), "--upstream", "app"])
    d = steps_by_name(doc)["dns"]
    assert d["dns"]["resolver"] == "system (/etc/resolv.conf)", d
    assert any(a["address"] in ("127.0.0.1", "::1") for a in d["dns"]["addresses"]), d
    # The app listens on IPv4 only: an ::1 first costs a warning, and the
    # exchange runs on the address that connects.
    assert p.returncode == 0, doc
    st = steps_by_name(doc)
    assert st["connect"]["status"] in ("pass", "warn"), st["connect"]
    assert st["http"]["status"] == "pass", st["http"]
