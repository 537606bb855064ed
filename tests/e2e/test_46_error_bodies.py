"""The error bodies (issue 3, E): the body kind chosen by Accept, HEAD, the
hooks of the HTML page, and what trusted and untrusted downstreams may see."""

import pytest

from httpc import build_request
from stories import (Expect, check_log, check_problem, check_proxy_status, check_story,
                     closed_port_addr, config, content_type, fetch, fetch_kinds, logs_by_request_id,
                     parse_html, BODY_CHECKS, CONTENT_TYPES, one_id)
from upstreams import close, recv_head, rst, send, sleep

BROWSER_ACCEPT = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                  "image/webp,*/*;q=0.8")


def refused(trusted=True):
    dead = closed_port_addr()
    return dead, Expect(502, "connection_refused", "upstream_refused", {"connect"},
                        "proxy-upstream", upstream=dead, trusted=trusted)


@pytest.mark.parametrize("accept,kind", [
    (None, "plain"),
    ("*/*", "plain"),
    ("text/plain", "plain"),
    ("application/json", "json"),
    ("application/problem+json", "json"),
    ("text/html", "html"),
    (BROWSER_ACCEPT, "html"),
], ids=["none", "any", "text-plain", "json", "problem-json", "html", "browser"])
def test_accept_chooses_the_body(telltale, accept, kind):
    dead, exp = refused()
    tt = telltale(config(dead))
    r = fetch(tt, accept=accept)
    assert content_type(r) == CONTENT_TYPES[kind], "Accept %r gave %r" % (accept, r)
    check_proxy_status(r, exp)
    line = check_log(tt.log_line(), exp)
    if kind == "json":
        check_problem(r, exp, line)
    else:
        BODY_CHECKS[kind](r, exp)


@pytest.mark.parametrize("kind", ["plain", "json", "html"])
def test_head_gets_the_status_and_headers_without_a_body(telltale, kind):
    dead, exp = refused()
    tt = telltale(config(dead))
    get = fetch(tt, kind, close=True)
    head = fetch(tt, kind, method="HEAD", close=True)
    assert head.status == get.status == 502, (get, head)
    assert head.closed and head.after == b"", "bytes after the HEAD response: %r" % head.after[:300]
    assert content_type(head) == content_type(get) == CONTENT_TYPES[kind], (get, head)
    check_proxy_status(head, exp)
    skip = {"date", "connection", "keep-alive"}
    names = lambda r: sorted(n.lower() for n, _ in r.headers if n.lower() not in skip)
    assert names(head) == names(get), "HEAD and GET heads differ:\n%r\n%r" % (head, get)
    lines = logs_by_request_id(tt, 2)
    line = lines[head.header("x-request-id")]
    assert line["method"] == "HEAD" and line["fault"] == "upstream_refused", line


# -- what each downstream may see ---------------------------------------------------

UPSTREAM_FAULTS = {
    "refused": (None, 502, "connection_refused", "upstream_refused", {"connect"}, {}),
    "reset": ([recv_head(), send(b"HTTP/1.1 200 OK\r\nServer: x"), sleep(0.2), rst()],
              502, "connection_terminated", "upstream_closed", {"read-head"}, {}),
    "garbage": ([recv_head(), send(b"GARBAGE\r\n\r\n"), sleep(0.5), close()],
                502, "http_protocol_error", "upstream_bad_response", {"read-head"}, {}),
    "field-too-large": ([recv_head(), send(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * 9000 +
                                           b"\r\nContent-Length: 0\r\n\r\n"), sleep(0.5), close()],
                        502, "http_response_header_size", "upstream_field_too_large",
                        {"read-head"}, {"header-name": "x-big"}),
}


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
@pytest.mark.parametrize("case", list(UPSTREAM_FAULTS))
def test_detail_only_for_trusted_downstreams(telltale, raw_upstream, case, trusted):
    script, status, rfc_type, token, stages, params = UPSTREAM_FAULTS[case]
    addr = raw_upstream(script).addr if script else closed_port_addr()
    tt = telltale(config(addr, trusted=trusted))
    # header-name and the like "may" be shown to everyone: required only
    # when trusted.
    exp = Expect(status, rfc_type, token, stages, "proxy-upstream", upstream=addr,
                 trusted=trusted, params=params if trusted else {})
    got = fetch_kinds(tt)
    # check_story checks the untrusted responses for the address (head and
    # all three bodies) and for details, next-hop, attempts, stage.
    lines = check_story(tt, got, exp)
    for line in lines.values():  # the log is the operator's: always the full story
        assert line["attempts"][-1]["upstream"] == addr, line
        assert line["fault_details"], line
    if trusted:
        doc = parse_html(got["html"].body)
        assert addr in one_id(doc, "attempts").text() or addr in got["html"].body.decode(), \
            "a trusted HTML page does not name the upstream %s" % addr


def test_untrusted_html_keeps_chain_and_visitor_steps(telltale):
    dead, exp = refused(trusted=False)
    tt = telltale(config(dead, trusted=False))
    r = fetch(tt, "html")
    check_proxy_status(r, exp)
    doc = BODY_CHECKS["html"](r, exp)
    assert not doc.find_all(id="details") and not doc.find_all(id="attempts")


# -- the failed hop ---------------------------------------------------------------

def raw_request_kinds(tt, data_for):
    """Send one raw request per body kind on its own connection."""
    out = {}
    for kind in ("plain", "json", "html"):
        with tt.conn(timeout=5) as c:
            c.send(data_for(kind))
            out[kind] = c.read_response(timeout=5)
    return out


def test_request_fault_marks_the_downstream_link(telltale, app):
    tt = telltale(config(app))

    def data(kind):
        accept = {"plain": [], "json": [("Accept", "application/problem+json")],
                  "html": [("Accept", "text/html")]}[kind]
        return build_request("POST", "/story", headers=accept + [
            ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n"

    got = raw_request_kinds(tt, data)
    exp = Expect(400, "http_request_error", "bad_framing", {"request"}, "downstream-proxy")
    check_story(tt, got, exp)
    assert app.requests == 0


def test_upstream_fault_marks_the_upstream_link_and_proxy_fault_the_proxy(telltale, app):
    # The HTML hooks for the two other hops, side by side: a closed port
    # (proxy-upstream) and no route (the proxy itself).
    dead = closed_port_addr()
    tt = telltale({"name": "tt-test",
                   "upstreams": {"dead": {"servers": [dead]}, "app": {"servers": [app.addr]}},
                   "routes": [{"host": "dead.test", "path": "/", "upstream": "dead"},
                              {"host": "app.test", "path": "/", "upstream": "app"}]})
    up = fetch(tt, "html", headers=[("Host", "dead.test")])
    nr = fetch(tt, "html", headers=[("Host", "nowhere.test")])
    BODY_CHECKS["html"](up, Expect(502, "connection_refused", "upstream_refused", {"connect"},
                                   "proxy-upstream", upstream=dead))
    BODY_CHECKS["html"](nr, Expect(404, "destination_not_found", "no_route", {"route"}, "proxy"))
    assert app.requests == 0
