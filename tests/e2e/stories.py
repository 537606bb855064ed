"""Checks for the error story telltale tells (GitHub issue 3): the
Proxy-Status member (RFC 9209), the three bodies chosen by Accept (text/plain,
application/problem+json of RFC 9457, the HTML page with its chain), and the
access log line, all read from one Expect.

    exp = Expect(502, "connection_refused", "upstream_refused", {"connect"},
                 "proxy-upstream", upstream=dead)
    got = fetch_kinds(tt, "/story")          # plain, json and html at once
    check_story(tt, got, exp)
"""

import html.parser
import json
import re
import threading
import time

from conftest import free_port, upstream_config
from httpc import Conn, build_request
from sfv import Token, parse_field_lines

NAME = "tt-test"
UNTRUSTED = ["10.0.0.0/8"]  # error_detail_networks that leave loopback out

ACCEPTS = {
    "plain": None,
    "json": "application/json",
    "html": "text/html",
}
CONTENT_TYPES = {
    "plain": "text/plain",
    "json": "application/problem+json",
    "html": "text/html",
}
STAGES = {"connect", "send", "wait-head", "read-head", "read-body", "request", "route",
          "respond", "proxy"}
FAILED_HOPS = {"downstream-proxy", "proxy", "proxy-upstream"}
ATTEMPT_KEYS = {"upstream", "fault", "stage", "connect_ms", "head_ms", "reused"}


def config(*upstreams, trusted=True, **extra):
    """upstream_config with this proxy named tt-test; trusted=False sets
    error_detail_networks so that loopback downstreams are not trusted."""
    extra.setdefault("name", NAME)
    if not trusted:
        extra.setdefault("error_detail_networks", UNTRUSTED)
    return upstream_config(*upstreams, **extra)


class Expect:
    """What one error response must say.

    status, rfc_type (RFC 9209 error type), token (log "fault"), stages (the
    allowed fault_stage values), failed_hop; upstream: "ip:port" of the server
    tried last, or None when no upstream was tried; trusted: whether the
    downstream sees detail; params: type-specific Proxy-Status parameters
    that must be present with these exact values (everyone may see them)."""

    def __init__(self, status, rfc_type, token, stages, failed_hop, upstream=None, trusted=True,
                 params=None):
        assert failed_hop in FAILED_HOPS
        self.status = status
        self.rfc_type = rfc_type
        self.token = token
        self.stages = set(stages)
        assert self.stages <= STAGES, self.stages
        self.failed_hop = failed_hop
        self.upstream = upstream
        self.trusted = trusted
        self.params = dict(params or {})


# -- requests -------------------------------------------------------------------

def fetch(tt, kind="plain", method="GET", target="/story", headers=(), accept=Ellipsis,
          timeout=10.0, close=False):
    """One request on a fresh connection with the Accept of `kind` (or the
    given accept; None sends no Accept). Returns the Response."""
    if accept is Ellipsis:
        accept = ACCEPTS[kind]
    hs = list(headers)
    if accept is not None:
        hs.append(("Accept", accept))
    if close:
        hs.append(("Connection", "close"))
    with Conn(tt.port, timeout=timeout) as c:
        c.send(build_request(method, target, headers=hs))
        r = c.read_response(method=method, timeout=timeout)
        if close:
            closed, extra = c.wait_closed(3)
            r.after = extra
            r.closed = closed
    return r


def fetch_kinds(tt, target="/story", headers=(), timeout=10.0, kinds=("plain", "json", "html")):
    """The same request with each Accept, sent concurrently (timeouts then
    cost their duration once). Returns {kind: Response}; raises the first
    error any request met."""
    out, errors = {}, []

    def one(kind):
        try:
            out[kind] = fetch(tt, kind, target=target, headers=headers, timeout=timeout)
        except Exception as e:  # re-raised in the test's thread below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(k,), daemon=True) for k in kinds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    if errors:
        raise errors[0]
    assert set(out) == set(kinds), "requests did not finish within %ss" % (timeout + 5)
    return out


# -- Proxy-Status -----------------------------------------------------------------

def proxy_status(r):
    """The parsed Proxy-Status list of a response (all field lines)."""
    return parse_field_lines(r.header_all("proxy-status"))


def our_member(r):
    """The params of telltale's own Proxy-Status member, which must be the
    last member (RFC 9209 section 2: intermediaries append) and appear once."""
    members = proxy_status(r)
    assert members, "no Proxy-Status in %r" % r
    ours = [i for i, (item, _) in enumerate(members) if item == NAME]
    assert len(ours) == 1, "want one %r member in Proxy-Status %r" % (NAME, members)
    assert ours[0] == len(members) - 1, "telltale's member is not the last: %r" % members
    item, params = members[-1]
    assert isinstance(item, str) and not isinstance(item, bool)
    return params


def check_proxy_status(r, exp):
    params = our_member(r)
    ctx = "Proxy-Status %r of %r" % (r.header_all("proxy-status"), r)
    assert params.get("error") == Token(exp.rfc_type), ctx
    assert isinstance(params["error"], Token), "error must be a Token: %s" % ctx
    for key, want in exp.params.items():
        assert key in params, "no %s parameter: %s" % (key, ctx)
        got = params[key]
        assert got == want and type(got) is type(want), \
            "%s=%r (%s), want %r (%s): %s" % (key, got, type(got).__name__, want,
                                               type(want).__name__, ctx)
    if exp.trusted and exp.upstream:
        assert params.get("next-hop") == exp.upstream, "next-hop: %s" % ctx
        assert type(params["next-hop"]) is str, ctx
    else:
        assert "next-hop" not in params, "next-hop shown: %s" % ctx
    if exp.trusted and exp.upstream:
        d = params.get("details")
        assert type(d) is str and d.strip(), "no details for a trusted downstream: %s" % ctx
    if not exp.trusted:
        assert "details" not in params, "details shown to an untrusted downstream: %s" % ctx
    return params


# -- bodies ------------------------------------------------------------------------

def content_type(r):
    return (r.header("content-type") or "").split(";")[0].strip().lower()


def check_plain(r, exp):
    assert content_type(r) == "text/plain", r
    assert r.body.strip(), "empty text/plain body: %r" % r
    text = r.body.decode("utf-8")
    rid = r.header("x-request-id")
    assert rid and rid in text, "request id %r not in the text body:\n%s" % (rid, text)
    assert exp.rfc_type in text, "error type %r not in the text body:\n%s" % (exp.rfc_type, text)


def check_problem(r, exp, log=None):
    assert content_type(r) == "application/problem+json", r
    doc = json.loads(r.body)
    ctx = json.dumps(doc, indent=1)
    for key in ("type", "title", "detail", "instance", "time", "request_id"):
        assert isinstance(doc.get(key), str), "%s is not a string in\n%s" % (key, ctx)
    assert doc["title"].strip(), ctx
    assert doc["status"] == exp.status and type(doc["status"]) is int, ctx
    assert doc["proxy_status"] == exp.rfc_type, ctx
    assert doc["fault"] == exp.token, ctx
    assert doc["request_id"] == r.header("x-request-id"), ctx
    assert doc["failed_hop"] == exp.failed_hop, ctx
    for key in ("visitor_steps", "operator_steps"):
        assert isinstance(doc.get(key), list), "%s is not a list in\n%s" % (key, ctx)
        assert all(isinstance(s, str) and s.strip() for s in doc[key]), ctx
    assert doc["visitor_steps"], "no visitor steps in\n%s" % ctx
    if exp.trusted:
        assert isinstance(doc.get("attempts"), list), ctx
        assert doc.get("stage") in exp.stages, ctx
        if exp.upstream:
            assert doc["attempts"], ctx
            assert doc.get("upstream") == exp.upstream, ctx
            assert isinstance(doc.get("details"), str) and doc["details"].strip(), ctx
        else:
            assert doc["attempts"] == [], ctx
            assert doc.get("upstream") is None, ctx
        if log is not None:
            assert doc["stage"] == log["fault_stage"], (ctx, log)
    else:
        for key in ("attempts", "details", "upstream", "stage"):
            assert doc.get(key) in (None, [], ""), \
                "%s shown to an untrusted downstream:\n%s" % (key, ctx)
    return doc


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = attrs
        self.parent = parent
        self.children = []  # Nodes and strings

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, **attrs):
        return [n for n in self.iter()
                if all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())]

    def __repr__(self):
        return "<%s %r>" % (self.tag, self.attrs)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "param"}


class _Tree(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(data):
    t = _Tree()
    t.feed(data.decode("utf-8") if isinstance(data, bytes) else data)
    t.close()
    return t.root


def one_id(doc, ident):
    nodes = doc.find_all(id=ident)
    assert len(nodes) == 1, "want one element id=%r, found %d" % (ident, len(nodes))
    return nodes[0]


def failed_selector(failed_hop):
    """(attribute, value) of the chain element a failed hop marks."""
    if failed_hop == "proxy":
        return ("data-hop", "proxy")
    return ("data-link", failed_hop)


def check_html(r, exp):
    assert content_type(r) == "text/html", r
    doc = parse_html(r.body)
    chain = one_id(doc, "chain")
    marked = []
    for attr, values in (("data-hop", ("downstream", "proxy", "upstream")),
                         ("data-link", ("downstream-proxy", "proxy-upstream"))):
        for v in values:
            nodes = [n for n in chain.iter() if n.attrs.get(attr) == v]
            assert len(nodes) == 1, "want one %s=%r inside #chain, found %d" % (attr, v, len(nodes))
            if nodes[0].attrs.get("data-failed") == "true":
                marked.append((attr, v))
    assert marked == [failed_selector(exp.failed_hop)], \
        "data-failed=\"true\" on %r, want only %r" % (marked, failed_selector(exp.failed_hop))
    for ident in ("title", "explanation", "time"):
        assert one_id(doc, ident).text().strip(), "#%s is empty" % ident
    for ident in ("visitor-steps", "operator-steps"):
        assert one_id(doc, ident).tag == "ol", "#%s is not an <ol>" % ident
    items = [n for n in one_id(doc, "visitor-steps").iter() if n.tag == "li"]
    assert items and all(i.text().strip() for i in items), "#visitor-steps has no steps"
    assert one_id(doc, "request-id").text().strip() == r.header("x-request-id")
    for ident in ("details", "attempts"):
        nodes = doc.find_all(id=ident)
        if exp.trusted and exp.upstream:
            assert len(nodes) == 1, "no #%s for a trusted downstream" % ident
        elif not exp.trusted:
            assert not nodes, "#%s shown to an untrusted downstream" % ident
    if exp.trusted and exp.upstream:
        assert one_id(doc, "details").text().strip(), "#details is empty"
    return doc


BODY_CHECKS = {"plain": check_plain, "json": check_problem, "html": check_html}


# -- the log line ------------------------------------------------------------------

def check_log(line, exp):
    ctx = json.dumps(line)
    assert line["status"] == exp.status, ctx
    assert line["fault"] == exp.token, ctx
    assert line["fault_type"] == exp.rfc_type, ctx
    assert line["fault_stage"] in exp.stages, ctx
    assert line["fault_details"] is None or isinstance(line["fault_details"], str), ctx
    attempts = check_attempts(line)
    if exp.upstream:
        assert attempts, "no attempts logged: %s" % ctx
        last = attempts[-1]
        assert last["upstream"] == exp.upstream, ctx
        assert last["fault"] == exp.token, ctx
        assert last["stage"] in exp.stages, ctx
        assert all(a["upstream"] == exp.upstream for a in attempts), ctx
        assert isinstance(line["fault_details"], str) and line["fault_details"].strip(), \
            "no fault_details for an upstream fault: %s" % ctx
    else:
        assert attempts == [], ctx
    return line


def check_attempts(line):
    attempts = line["attempts"]
    ctx = json.dumps(line)
    assert isinstance(attempts, list), "attempts is not a list: %s" % ctx
    for a in attempts:
        assert isinstance(a, dict) and ATTEMPT_KEYS <= set(a), ctx
        assert isinstance(a["upstream"], str), ctx
        assert a["fault"] is None or isinstance(a["fault"], str), ctx
        assert a["stage"] is None or a["stage"] in STAGES, ctx
        for k in ("connect_ms", "head_ms"):
            v = a[k]
            assert v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                 and v >= 0), ctx
        assert isinstance(a["reused"], bool), ctx
    return attempts


def logs_by_request_id(tt, count, timeout=3.0):
    lines = tt.log_lines(count, timeout=timeout)
    assert len(lines) >= count, "want %d log lines, got %r" % (count, lines)
    return {l["request_id"]: l for l in lines}


# -- all of it ------------------------------------------------------------------

def check_response(r, exp, log=None):
    """Status, X-Request-Id, Proxy-Status and the body by its kind (guessed
    from the Content-Type the Accept asked for)."""
    assert r.status == exp.status, "want %d, got %r\n%s" % (exp.status, r, r.body[:2000])
    rid = r.header("x-request-id")
    assert rid, "no X-Request-Id on %r" % r
    check_proxy_status(r, exp)
    if not exp.trusted and exp.upstream:
        assert_address_hidden(r, exp.upstream)


def check_story(tt, responses, exp):
    """Every response of fetch_kinds and their log lines. Returns the lines
    by kind."""
    for r in responses.values():
        check_response(r, exp)
    logs = logs_by_request_id(tt, len(responses))
    out = {}
    for kind, r in responses.items():
        rid = r.header("x-request-id")
        assert rid in logs, "no log line with request_id %r in %r" % (rid, list(logs.values()))
        line = check_log(logs[rid], exp)
        if kind == "json":
            check_problem(r, exp, line)
        else:
            BODY_CHECKS[kind](r, exp)
        out[kind] = line
    return out


def assert_address_hidden(r, addr):
    """Neither the upstream's ip:port nor its port alone appears anywhere
    in the response (head and body)."""
    port = addr.rsplit(":", 1)[1]
    wire = (r.raw_head + (r.body or b"")).decode("latin-1")
    assert addr not in wire, "upstream address %s shown to an untrusted downstream:\n%s" % (
        addr, wire[:3000])
    m = re.search(r"(?<![0-9])%s(?![0-9])" % port, wire)
    assert not m, "upstream port %s shown to an untrusted downstream near %r" % (
        port, wire[max(0, m.start() - 80):m.end() + 80])


def closed_port_addr():
    """An address on 127.0.0.1 where nothing listens (free_port: never
    handed out again in this run)."""
    return "127.0.0.1:%d" % free_port()


def timed(fn, *args, **kwargs):
    t0 = time.monotonic()
    out = fn(*args, **kwargs)
    return out, time.monotonic() - t0
