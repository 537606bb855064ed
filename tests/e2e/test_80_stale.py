"""Stale-if-error (GitHub issue 4, item 7; RFC 5861, RFC 9111): with
stale.max_bytes set, a storable GET response is kept, and when the upstream
then fails, the kept copy is served with Age and telltale's Proxy-Status
member naming the error and saying it was stale. Copies the origin forbade
(must-revalidate once stale, no-store) are never served; an always_online
route serves a copy of any age."""

import time
import urllib.parse

from conftest import group_config
from httpc import Conn, build_request
from sfv import Token
from stories import our_member

STALE = {"max_bytes": "1m"}


def get(tt, target, timeout=5.0):
    with Conn(tt.port, timeout=timeout) as c:
        c.send(build_request("GET", target))
        return c.read_response(timeout=timeout)


def cache_target(cc, prefix=""):
    return "%s/cache?cc=%s" % (prefix, urllib.parse.quote(cc, safe=""))


def routes(stale_if_error="60s", always_online=False, path="/"):
    return [{"path": path, "upstream": "app", "stale_if_error": stale_if_error,
             "always_online": always_online}]


def check_stale(r, fresh):
    assert r.status == 200, "no stale copy served: %r\n%s" % (r, r.body[:800])
    assert r.body == fresh.body, "the stale body differs: %r vs %r" % (r.body, fresh.body)
    age = r.header("age")
    assert age is not None and age.isdigit() and int(age) >= 0, "Age %r on %r" % (age, r)
    params = our_member(r)
    assert params.get("error") == Token("connection_refused"), params
    details = params.get("details")
    assert type(details) is str and "stale" in details.lower(), \
        "details %r do not say the copy was stale" % details
    return int(age)


def test_stale_copy_served_when_the_upstream_is_down(telltale, app):
    tt = telltale(group_config([app], routes=routes(), stale=STALE))
    target = cache_target("max-age=1")
    fresh = get(tt, target)
    assert fresh.status == 200 and fresh.header("cache-control") == "max-age=1", fresh
    assert fresh.header("age") in (None, "0"), "the first answer is not from a store: %r" % fresh
    app.stop()
    time.sleep(1.2)  # past max-age: the copy is stale now
    r = get(tt, target)
    age = check_stale(r, fresh)
    assert age >= 1, "Age %d for a copy stored 1.2 s ago" % age
    line = tt.log_lines(2)[-1]
    assert line["status"] == 200 and line["fault"] == "upstream_refused", line
    # Another target was never stored: it gets the error.
    r = get(tt, cache_target("max-age=2"))
    assert r.status == 502, r


def test_must_revalidate_copy_is_never_served_stale(telltale, app):
    tt = telltale(group_config([app], routes=routes(), stale=STALE))
    target = cache_target("max-age=1, must-revalidate")
    fresh = get(tt, target)
    assert fresh.status == 200, fresh
    app.stop()
    time.sleep(1.2)
    r = get(tt, target)
    assert r.status == 502, "a stale must-revalidate copy was served: %r" % r
    assert our_member(r).get("error") == Token("connection_refused"), r


def test_no_store_response_is_never_stored(telltale, app):
    tt = telltale(group_config([app], routes=routes(), stale=STALE))
    target = cache_target("max-age=60, no-store")
    fresh = get(tt, target)
    assert fresh.status == 200, fresh
    app.stop()
    r = get(tt, target)
    assert r.status == 502, "a no-store response was kept and served: %r" % r


def test_always_online_serves_a_copy_older_than_stale_if_error(telltale, app):
    rts = [{"path": "/on", "upstream": "app", "stale_if_error": "1s", "always_online": True},
           {"path": "/off", "upstream": "app", "stale_if_error": "1s", "always_online": False}]
    tt = telltale(group_config([app], routes=rts, stale=STALE))
    on, off = cache_target("max-age=1", "/on"), cache_target("max-age=1", "/off")
    fresh_on, fresh_off = get(tt, on), get(tt, off)
    assert fresh_on.status == 200 and fresh_off.status == 200, (fresh_on, fresh_off)
    app.stop()
    time.sleep(2.5)  # age > max-age 1 s + stale_if_error 1 s
    r = get(tt, off)
    assert r.status == 502, "a copy past max-age + stale_if_error was served: %r" % r
    r = get(tt, on)
    check_stale(r, fresh_on)


def test_stale_off_by_default(telltale, app):
    tt = telltale(group_config([app], routes=routes()))
    target = cache_target("max-age=60")
    assert get(tt, target).status == 200
    app.stop()
    r = get(tt, target)
    assert r.status == 502, "a copy was served with stale.max_bytes 0 (the default): %r" % r
