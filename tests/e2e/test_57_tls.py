"""TLS on both sides (issue 5, items 1, 2 and 5): TLS listeners with
certificates chosen by SNI, TLS 1.2 and 1.3, ALPN, resumption, redirect of
plain HTTP; TLS to upstreams with verification, SNI and client
certificates; and every upstream TLS failure told exactly (status,
Proxy-Status, details, log line). Certificates are made by the openssl
command (tls_util.py); the upstreams are Python's ssl module; curl is a
real client through the TLS listener."""

import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest

import httpc
from conftest import free_port, group_config, run_cli
from sfv import Token
from stories import our_member


def tls_listener(certs, port, names=("localhost",), **extra):
    tls = {"certificates": [certs.pair(n) for n in names]}
    tls.update(extra)
    return [{"address": "127.0.0.1:%d" % port, "tls": tls}]


def upstream_tls(certs, **kw):
    t = {"ca_file": certs.crt("ca")}
    t.update(kw)
    return t


# -- downstream: TLS listeners ------------------------------------------------------


@pytest.fixture
def https(telltale, app, certs):
    """telltale with a TLS listener (localhost first, other.test second) in
    front of the plain app upstream."""
    port = free_port()
    cfg = group_config([app], listen=tls_listener(certs, port, ("localhost", "other")))
    return telltale(cfg, port=port)


def test_curl_through_a_tls_listener(https, certs):
    curl = shutil.which("curl")
    assert curl, "curl is missing (scripts/install-deps installs it)"
    out = subprocess.run([curl, "-sS", "--cacert", certs.crt("ca"), "-o", "-", "-w",
                          "\n%{http_code} %{http_version} %{ssl_verify_result}",
                          "https://localhost:%d/echo?via=curl" % https.port],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    body, _, tail = out.stdout.rpartition("\n")
    assert tail == "200 1.1 0", out.stdout
    assert "/echo?via=curl" in body
    line = https.log_line()
    assert line["status"] == 200 and line["fault"] is None
    assert line["tls"] in ("TLSv1.2", "TLSv1.3") and line["tls_cipher"], line
    assert line["tls_resumed"] is False
    assert "listening on https://127.0.0.1:%d" % https.port in https.stderr(), https.stderr()


def served_subject(port, certs, server_name, **ctx_kw):
    ctx = certs.client_ctx(**ctx_kw)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as s:
            cert = s.getpeercert()
            return dict(x[0] for x in cert["subject"]), s.version(), s.selected_alpn_protocol()


def test_certificate_is_chosen_by_sni(https, certs):
    subj, _, _ = served_subject(https.port, certs, "other.test")
    assert subj["commonName"] == "other.test"
    subj, _, _ = served_subject(https.port, certs, "localhost")
    assert subj["commonName"] == "localhost"


def test_no_sni_or_an_unknown_name_gets_the_first_certificate(https, certs):
    ctx = certs.client_ctx(server_name=False)
    ctx.verify_mode = ssl.CERT_REQUIRED
    with socket.create_connection(("127.0.0.1", https.port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:  # no server_hostname: no SNI
            assert dict(x[0] for x in s.getpeercert()["subject"])["commonName"] == "localhost"
    with socket.create_connection(("127.0.0.1", https.port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="nobody.test") as s:
            assert dict(x[0] for x in s.getpeercert()["subject"])["commonName"] == "localhost"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_with_alpn_http11(https, certs, version):
    ctx = certs.client_ctx(max_version=version, alpn=["h2", "http/1.1"])
    ctx.minimum_version = version
    with httpc.Conn(https.port, tls=ctx, server_hostname="localhost") as c:
        assert c.sock.version() == {ssl.TLSVersion.TLSv1_2: "TLSv1.2",
                                    ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        assert c.sock.selected_alpn_protocol() == "http/1.1"
        for i in range(3):  # keep-alive over TLS
            r = c.request("GET", "/echo?n=%d" % i)
            assert r.status == 200 and b"/echo?n=%d" % i in r.body


def test_only_h2_offered_gets_no_alpn_but_http11_still_works(https, certs):
    ctx = certs.client_ctx(alpn=["h2"])
    with httpc.Conn(https.port, tls=ctx, server_hostname="localhost") as c:
        assert c.sock.selected_alpn_protocol() is None
        assert c.request("GET", "/echo").status == 200


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_session_resumption(https, certs, version):
    ctx = certs.client_ctx(max_version=version)
    with httpc.Conn(https.port, tls=ctx, server_hostname="localhost") as c:
        assert c.request("GET", "/echo").status == 200  # the TLS 1.3 ticket comes after
        session = c.sock.session
        assert not c.sock.session_reused
    assert session is not None
    with httpc.Conn(https.port, tls=ctx, server_hostname="localhost", session=session) as c:
        assert c.sock.session_reused, "the second handshake was not resumed"
        assert c.request("GET", "/echo").status == 200
    lines = https.log_lines(2)
    assert [ln["tls_resumed"] for ln in lines] == [False, True], lines


def test_large_bodies_both_ways_over_tls(https, certs, app):
    ctx = certs.client_ctx()
    body = bytes(range(256)) * 4096  # 1 MiB up
    with httpc.Conn(https.port, tls=ctx, server_hostname="localhost", timeout=30) as c:
        r = c.request("POST", "/echo", body=body, timeout=30)
        assert r.status == 200
        r = c.request("GET", "/bytes?n=3000000", timeout=30)  # 3 MB down
        assert r.status == 200 and len(r.body) == 3000000


def test_plain_http_on_a_tls_port_is_closed_and_logged(https):
    with socket.create_connection(("127.0.0.1", https.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(5)
        assert s.recv(100) == b""  # closed without an answer
    line = https.log_line()
    assert line["fault"] == "tls_protocol_error"
    assert "plain HTTP" in line["fault_details"]


def test_plain_http_is_redirected_with_redirect_http(telltale, app, certs):
    port = free_port()
    cfg = group_config([app], listen=tls_listener(certs, port, redirect_http=True))
    telltale(cfg, port=port)
    r = httpc.request(port, "GET", "/some/path?q=1", host="localhost:%d" % port)
    assert r.status == 301
    assert r.header("location") == "https://localhost:%d/some/path?q=1" % port
    assert r.header("connection") == "close"
    # And TLS on the same port still works.
    with httpc.Conn(port, tls=certs.client_ctx(), server_hostname="localhost") as c:
        assert c.request("GET", "/echo").status == 200


def test_a_client_that_rejects_our_certificate_is_logged(https, certs):
    ctx = ssl.create_default_context()  # the system store: the test CA is unknown
    with socket.create_connection(("127.0.0.1", https.port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            ctx.wrap_socket(raw, server_hostname="localhost")
    line = https.log_line()
    assert line["fault"] == "tls_alert"
    assert "unknown_ca" in line["fault_details"]


def test_client_ca_admits_a_signed_client_certificate_and_refuses_none(telltale, app, certs):
    """Mutual TLS on a listener (tls.client_ca): a client certificate
    signed by the CA gets through; a client without one is refused in the
    handshake, and that refusal is logged."""
    port = free_port()
    cfg = group_config([app], listen=tls_listener(certs, port, client_ca=certs.crt("ca")))
    tt = telltale(cfg, port=port)
    ctx = certs.client_ctx()
    ctx.load_cert_chain(certs.crt("client"), certs.key("client"))
    with httpc.Conn(port, tls=ctx, server_hostname="localhost") as c:
        r = c.request("GET", "/echo")
        assert r.status == 200, r
    line = tt.log_line()
    assert line["status"] == 200 and line["fault"] is None, line
    # No certificate: TLS 1.3 finishes the client's side of the handshake
    # first, so the refusal (alert 116, certificate_required) comes with the
    # first read.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            s = certs.client_ctx().wrap_socket(raw, server_hostname="localhost")
            s.sendall(httpc.build_request("GET", "/echo"))
            assert s.recv(100) == b"", "answered without a client certificate"
            raise ConnectionResetError("closed without an alert")
    line = tt.log_lines(2)[-1]
    assert line["fault"] in ("tls_alert", "tls_certificate_error", "tls_protocol_error"), line
    assert "certificate" in line["fault_details"], line
    assert len(app.heads) == 1, "the refused client reached the upstream"


def test_idle_tls_connections_give_their_buffers_back(telltale, app, certs, monkeypatch):
    """A TLS connection waiting between requests holds no BIO pair (2 x 17
    KiB): 400 idle keep-alive connections after one request each cost less
    than 24,000 bytes of RSS apiece (39,000 when the pair stayed; nginx
    1.22 with the same certificate: 14,600). The release binary: ASan keeps
    freed memory in quarantine."""
    binary = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                          "telltale"))
    assert os.access(binary, os.X_OK), "build/telltale is missing (make e2e builds it)"
    monkeypatch.setenv("TELLTALE_BIN", binary)
    port = free_port()
    tt = telltale(group_config([app], listen=tls_listener(certs, port)), port=port)
    ctx = certs.client_ctx()

    def one():
        c = httpc.Conn(port, tls=ctx, server_hostname="localhost")
        r = c.request("GET", "/echo")
        assert r.status == 200, r
        return c

    for _ in range(20):
        one().close()
    time.sleep(0.3)
    before = tt.vmrss_kib()
    held = [one() for _ in range(400)]
    time.sleep(0.3)
    per = (tt.vmrss_kib() - before) * 1024 / len(held)
    # Still usable after their buffers went back.
    for c in held[:20]:
        assert c.request("GET", "/echo").status == 200
    for c in held:
        c.close()
    assert per < 24000, "%.0f bytes of RSS per idle TLS connection" % per


def test_handshake_must_finish_within_the_head_timeout(telltale, app, certs):
    port = free_port()
    cfg = group_config([app], listen=tls_listener(certs, port),
                       timeouts={"downstream_head": "500ms"})
    telltale(cfg, port=port)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01")  # the start of a record, then nothing
        s.settimeout(5)
        t0 = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - t0 < 3


# -- upstream: TLS to servers ----------------------------------------------------------


def test_tls_upstream_with_verification_and_sni(telltale, tls_upstream, certs):
    up = tls_upstream()
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost")}))
    for i in range(3):
        r = tt.request("GET", "/x%d" % i)
        assert r.status == 200 and r.body == b"tls ok /x%d" % i
    assert up.snis and set(up.snis) == {"localhost"}
    # Pooled: three requests, one handshake.
    assert len(up.snis) == 1
    # The downstream side is plain HTTP: no tls fields in its log lines.
    assert all("tls" not in ln for ln in tt.log_lines(3)), tt.log_lines()


def test_an_ip_server_gets_no_sni_and_is_checked_against_its_ip_san(telltale, tls_upstream,
                                                                       certs):
    up = tls_upstream()
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs)}))
    assert tt.request("GET", "/ip").status == 200
    assert up.snis == [None]


def test_client_certificate_is_presented(telltale, tls_upstream, certs):
    up = tls_upstream(mode="client_cert")
    tls = upstream_tls(certs, sni="localhost", client_cert=certs.crt("client"),
                       client_key=certs.key("client"))
    tt = telltale(group_config([up], group={"tls": tls}))
    r = tt.request("GET", "/mtls")
    assert r.status == 200 and r.body == b"tls ok /mtls"


def expect_fault(tt, fault_type, token, status=502, details=None, params=None):
    r = tt.request("GET", "/f")
    assert r.status == status, r
    ps = our_member(r)
    assert ps.get("error") == Token(fault_type), ps
    for k, v in (params or {}).items():
        assert ps.get(k) == v, ps
    if details:
        assert details in ps.get("details", ""), ps
    line = tt.log_lines(1)[-1]
    assert line["fault"] == token, line
    assert line["fault_stage"] == "tls", line
    if details:
        assert details in line["fault_details"], line
    return r, ps, line


@pytest.mark.parametrize("name,details", [
    ("expired", "certificate has expired (verify code 10)"),
    ("self", "self-signed certificate (verify code 18)"),
    ("other", "hostname mismatch (verify code 62)"),
])
def test_certificate_errors(telltale, tls_upstream, certs, name, details):
    up = tls_upstream(name=name)
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost"),
                                            "retry": {"attempts": 1}}))
    expect_fault(tt, "tls_certificate_error", "tls_certificate_error", details=details)
    assert up.requests == 0


def test_unknown_ca(telltale, tls_upstream, certs):
    up = tls_upstream()
    tt = telltale(group_config([up], group={"tls": {"sni": "localhost"},
                                            "retry": {"attempts": 1}}))
    expect_fault(tt, "tls_certificate_error", "tls_certificate_error",
                 details="unable to get local issuer certificate (verify code 20)")


def test_verify_false_accepts_a_self_signed_upstream(telltale, tls_upstream, certs):
    up = tls_upstream(name="self")
    tt = telltale(group_config([up], group={"tls": {"verify": False}}))
    assert tt.request("GET", "/nv").status == 200


def test_tls13_alert_certificate_required(telltale, tls_upstream, certs):
    up = tls_upstream(mode="client_cert")
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost"),
                                            "retry": {"attempts": 1}}))
    expect_fault(tt, "tls_alert_received", "tls_alert", params={"alert-id": 116},
                 details="certificate_required")


def test_tls12_alert_during_the_handshake(telltale, tls_upstream, certs):
    up = tls_upstream(mode="client_cert", max_version=ssl.TLSVersion.TLSv1_2)
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost"),
                                            "retry": {"attempts": 1}}))
    _, ps, _ = expect_fault(tt, "tls_alert_received", "tls_alert")
    assert ps.get("alert-id") == 40  # handshake_failure: no certificate given


def test_plain_http_upstream_is_a_tls_protocol_error(telltale, tls_upstream, certs):
    up = tls_upstream(mode="plain")
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost"),
                                            "retry": {"attempts": 1}}))
    expect_fault(tt, "tls_protocol_error", "tls_protocol_error", details="plain HTTP")


def test_handshake_timeout_is_a_504(telltale, tls_upstream, certs):
    up = tls_upstream(mode="silent")
    tt = telltale(group_config([up], group={"tls": upstream_tls(certs, sni="localhost"),
                                            "retry": {"attempts": 1}},
                               timeouts={"upstream_handshake": "300ms"}))
    t0 = time.monotonic()
    r, ps, line = expect_fault(tt, "connection_timeout", "connect_timeout", status=504,
                               details="TLS handshake")
    assert time.monotonic() - t0 < 3


def test_a_certificate_failure_is_retried_on_another_server(telltale, tls_upstream, certs):
    bad = tls_upstream(name="expired")
    good = tls_upstream()
    tt = telltale(group_config([bad, good],
                               group={"tls": upstream_tls(certs, sni="localhost"),
                                      "retry": {"attempts": 2}, "balance": "round_robin"}))
    for _ in range(4):
        r = tt.request("GET", "/r")
        assert r.status == 200 and r.body == b"tls ok /r"


# -- telltale check ------------------------------------------------------------------


def check(tmp_path, text):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return run_cli(["check", "-c", str(p)])


def listener_yaml(certs, name, key=None):
    return ("listen:\n  - address: 127.0.0.1:%d\n    tls:\n      certificates:\n"
            "        - cert: %s\n          key: %s\nupstreams:\n  app:\n    servers: "
            "[127.0.0.1:9]\n" % (free_port(), certs.crt(name), certs.key(key or name)))


def test_check_refuses_an_expired_certificate(tmp_path, certs):
    r = check(tmp_path, listener_yaml(certs, "expired"))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "t.yaml:5:" in out and "expired" in out, out


def test_check_refuses_a_key_that_does_not_match(tmp_path, certs):
    r = check(tmp_path, listener_yaml(certs, "localhost", key="other"))
    assert r.returncode == 1, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "t.yaml:" in out and "match" in out, out


def test_check_warns_of_a_certificate_expiring_soon(tmp_path, certs):
    r = check(tmp_path, listener_yaml(certs, "soon"))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "warning" in out and "expires in" in out, out


def test_start_refuses_an_expired_certificate(telltale, certs, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(listener_yaml(certs, "expired"))
    r = run_cli(["run", "-c", str(p)], timeout=20)
    assert r.returncode != 0
    assert "expired" in r.stderr


# -- WebSocket over TLS ------------------------------------------------------------------


def test_websocket_through_a_tls_listener(telltale, certs):
    import base64
    import os
    from test_58_websocket import TunnelUpstream, Stream, frame, handshake, ws_echo

    up = TunnelUpstream(ws_echo)
    try:
        port = free_port()
        tt = telltale(group_config([up.addr], listen=tls_listener(certs, port)), port=port)
        key = base64.b64encode(os.urandom(16)).decode()
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = certs.client_ctx().wrap_socket(raw, server_hostname="localhost")
        st = Stream(s)
        s.sendall(handshake(key))
        line, fields = st.head()
        assert line.startswith("HTTP/1.1 101 "), line
        assert st.read_frame() == (0x1, b"hello from upstream")
        for msg in [b"one", os.urandom(70000), os.urandom(1 << 20)]:
            s.sendall(frame(0x2, msg, True))
            assert st.read_frame() == (0x2, msg)
        s.sendall(frame(0x8, b"\x03\xe8", True))
        assert st.read_frame() == (0x8, b"\x03\xe8")
        assert st.wait_eof(5)
        s.close()
        log = tt.log_line()
        assert log["status"] == 101 and log["fault"] is None, log
        assert not up.errors, up.errors
    finally:
        up.close()


# -- TLS to a server named by host name -------------------------------------------------


def test_a_named_tls_upstream_gets_its_name_as_sni_and_is_verified_against_it(
        telltale, tls_upstream, certs):
    from test_55_dns import DnsServer

    dns = DnsServer()
    try:
        up = tls_upstream(name="other")  # its certificate names other.test
        port = int(up.addr.rsplit(":", 1)[1])
        dns.set("other.test", [("127.0.0.1", 300)])
        cfg = {"name": "tt-test", "upstreams": {"app": {"servers": ["other.test:%d" % port],
                                     "tls": upstream_tls(certs)}},
               "resolver": {"servers": [dns.addr], "timeout": "1s", "tries": 1}}
        tt = telltale(cfg)
        r = tt.request("GET", "/named")
        assert r.status == 200 and r.body == b"tls ok /named", r
        assert up.snis == ["other.test"]
        # The same server under a name its certificate does not carry.
        dns.set("wrong.telltale.test", [("127.0.0.1", 300)])
        cfg["upstreams"]["app"]["servers"] = ["wrong.telltale.test:%d" % port]
        cfg["upstreams"]["app"]["retry"] = {"attempts": 1}
        tt2 = telltale(cfg)
        r = tt2.request("GET", "/named")
        assert r.status == 502, r
        ps = our_member(r)
        assert ps.get("error") == Token("tls_certificate_error"), ps
        assert "hostname mismatch" in ps.get("details", ""), ps
    finally:
        dns.close()


# -- certificate rotation by reload ---------------------------------------------------------


def test_reload_rotates_the_listener_certificate(telltale, app, certs, tmp_path):
    import json
    import signal

    from conftest import to_yaml

    port, admin = free_port(), free_port()

    def write(name):
        cfg = group_config([app], listen=tls_listener(certs, port, (name,)), workers=1,
                           access_log="off", admin={"listen": "127.0.0.1:%d" % admin},
                           pid_file=str(tmp_path / "tt.pid"))
        tmp = tmp_path / "tt.yaml.new"
        tmp.write_text(to_yaml(cfg) + "\n")
        tmp.rename(tmp_path / "tt.yaml")

    def not_after():
        ctx = certs.client_ctx()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                return ssl.cert_time_to_seconds(s.getpeercert()["notAfter"])

    write("soon")  # expires in 5 days
    tt = telltale(argv=["run", "-c", str(tmp_path / "tt.yaml")], port=port)
    before = not_after()
    assert before - time.time() < 6 * 86400
    write("localhost")  # 30 days
    tt.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        st = json.loads(httpc.request(admin, "GET", "/status.json", host="127.0.0.1").body)
        if st["config"]["generation"] >= 2:
            break
        time.sleep(0.05)
    else:
        pytest.fail("no second generation; stderr:\n" + tt.stderr())
    assert not_after() - time.time() > 25 * 86400
