"""Proxy-Status on forwarded responses and the proxy's name (issue 3, A and
C): every forwarded response gets `tt-test; received-status=NNN`, appended
after the members the upstream sent; next-hop only for trusted
downstreams."""

import socket
import urllib.parse

import pytest

from conftest import upstream_config
from sfv import Token
from stories import NAME, closed_port_addr, config, fetch, our_member, proxy_status


def with_headers(path, *pairs):
    return path + "?" + urllib.parse.urlencode([("h", "%s:%s" % p) for p in pairs])


@pytest.mark.parametrize("code", [200, 201, 204, 304, 404, 502])
def test_forwarded_response_has_received_status(telltale, app, code):
    tt = telltale(config(app))
    r = tt.request("GET", "/status/%d" % code)
    assert r.status == code, r
    members = proxy_status(r)
    assert len(members) == 1, members
    params = our_member(r)
    assert params.get("received-status") == code and type(params["received-status"]) is int, \
        params
    assert params.get("next-hop") == app.addr and type(params["next-hop"]) is str, params
    assert "error" not in params and "details" not in params, params


def test_forwarded_response_to_untrusted_has_no_next_hop(telltale, app):
    tt = telltale(config(app, trusted=False))
    r = tt.request("GET", "/echo")
    assert r.status == 200, r
    params = our_member(r)
    assert params.get("received-status") == 200, params
    assert "next-hop" not in params and "details" not in params, params
    head = r.raw_head.decode("latin-1")
    assert app.addr not in head, "upstream address in the head for an untrusted downstream:\n" + head


def test_upstream_members_are_kept_and_ours_is_appended(telltale, app):
    tt = telltale(config(app))
    target = with_headers("/status/504",
                          ("Proxy-Status", 'inner-lb; error=http_response_timeout; details="slow app"'),
                          ("Proxy-Status", '"cache 2"; received-status=504'))
    r = tt.request("GET", target)
    assert r.status == 504, r
    members = proxy_status(r)
    assert [m[0] for m in members] == [Token("inner-lb"), "cache 2", Token(NAME)], members
    assert type(members[1][0]) is str and not isinstance(members[1][0], Token)
    assert members[0][1] == {"error": Token("http_response_timeout"), "details": "slow app"}
    assert members[1][1] == {"received-status": 504}
    params = our_member(r)
    assert params.get("received-status") == 504 and "error" not in params, params
    assert r.body == b"status 504\n", "not the app's own 504 body: %r" % r.body


def test_error_response_has_one_member_with_an_error(telltale):
    # A closed port: telltale's generated 502 carries exactly its own member.
    dead = closed_port_addr()
    tt = telltale(config(dead))
    r = fetch(tt)
    assert r.status == 502, r
    members = proxy_status(r)
    assert len(members) == 1 and members[0][0] == NAME, members
    assert members[0][1]["error"] == Token("connection_refused"), members
    assert "received-status" not in members[0][1], members


def test_name_is_used_in_via_and_proxy_status(telltale, app):
    tt = telltale(config(app, name="edge-7"))
    r = tt.request("GET", "/echo")
    assert r.status == 200, r
    members = proxy_status(r)
    assert [m[0] for m in members] == ["edge-7"], members
    vias = [v.strip() for v in ",".join(r.header_all("via")).split(",") if v.strip()]
    assert vias[-1] == "1.1 edge-7", vias


def test_default_name_is_the_host_name(telltale, app):
    tt = telltale(upstream_config(app))  # no name: the default
    r = tt.request("GET", "/echo")
    assert r.status == 200, r
    host = socket.gethostname()
    members = proxy_status(r)
    assert [m[0] for m in members] == [host], "want the host name %r as member: %r" % (host, members)
    vias = [v.strip() for v in ",".join(r.header_all("via")).split(",") if v.strip()]
    assert vias[-1] == "1.1 %s" % host, vias
