"""Balancing sanity (GitHub issue 4): least_conn and p2c send fewer requests
to a slow server when requests overlap; weighted round robin keeps the
weights' proportions."""

import threading

import pytest

from conftest import group_config
from httpc import Conn, build_request


@pytest.mark.parametrize("balance", ["least_conn", "p2c"])
def test_load_aware_balancing_favours_the_fast_server(telltale, app_factory, balance):
    slow, fast = app_factory(delay_ms=200), app_factory()
    tt = telltale(group_config([slow, fast], {"balance": balance, "slow_start": "0s"}))
    statuses, lock = [], threading.Lock()

    def client():
        with Conn(tt.port, timeout=10) as c:
            for _ in range(5):
                c.send(build_request("GET", "/echo"))
                r = c.read_response(timeout=10)
                with lock:
                    statuses.append(r.status)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 40, statuses
    s, f = slow.stats()["requests"], fast.stats()["requests"]
    print("%s: slow %d, fast %d" % (balance, s, f))
    assert s + f == 40
    assert f >= 2 * s, "%s sent %d requests to the 200 ms server and %d to the 1 ms one" % (
        balance, s, f)


def test_weighted_round_robin_keeps_three_to_one(telltale, app_factory):
    a, b = app_factory(), app_factory()
    tt = telltale(group_config([{"address": a.addr, "weight": 3}, {"address": b.addr,
                                                                    "weight": 1}],
                               {"balance": "round_robin"}))
    with Conn(tt.port, timeout=10) as c:
        for _ in range(40):
            r = c.request("GET", "/echo")
            assert r.status == 200, r
    na, nb = a.stats()["requests"], b.stats()["requests"]
    assert na + nb == 40
    assert abs(na - 30) <= 1 and abs(nb - 10) <= 1, "weights 3:1 gave %d:%d over 40" % (na, nb)
