"""A stop signal during start-up (GitHub issue 9, item 5): SIGTERM or SIGINT
sent at any moment while telltale starts (config load, binding, workers
starting) ends in a clean exit, with no listener or admin socket left
behind and no sanitizer report. `telltale run` blocks both signals until its
handlers are in place, so the only other outcome allowed is death by the
signal itself before main() runs, when nothing exists yet (then nothing may
have been printed)."""

import os
import signal
import socket
import threading
import time

import pytest

from conftest import _listening, free_port, sanitizer_report, upstream_config

DELAYS = [0.0, 0.003, 0.01, 0.03, 0.06, 0.1, 0.2, 0.4]


def can_bind(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_stop_signal_at_any_point_of_start_up_exits_cleanly(telltale, app, sig):
    outcomes = []
    for delay in DELAYS:
        admin = free_port()
        tt = telltale(upstream_config(app, workers=2, admin={"listen": "127.0.0.1:%d" % admin}),
                      ready=False)
        tt.expect_exit = None  # checked here
        time.sleep(delay)
        tt.send_signal(sig)
        rc = tt.wait(15)
        assert rc is not None, "telltale still running 15 s after %s at %.3f s; stderr:\n%s" % (
            sig.name, delay, tt.stderr())
        err = tt.stderr()
        outcomes.append((delay, rc))
        assert not sanitizer_report(err), err
        assert rc in (0, -sig), "exit %s after %s at %.3f s; stderr:\n%s" % (
            rc, sig.name, delay, err)
        if rc == -sig:
            assert err == "", "killed by %s after printing:\n%s" % (sig.name, err)
        elif "listening on" in err:
            assert "telltale: stopped" in err, err
        for port in (tt.port, admin):
            assert not _listening(port), "port %d still listening after exit" % port
            assert can_bind(port), "port %d cannot be bound after exit" % port
    print("%s: (delay s, exit) %r" % (sig.name, outcomes))
    # Past the first moments the signal always finds telltale's handlers.
    assert all(rc == 0 for d, rc in outcomes if d >= 0.1), outcomes


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_signal_while_start_up_is_blocked_waits_for_the_handlers(telltale, app, tmp_path, sig):
    """The access log is a FIFO: opening it blocks start-up (before any
    handler exists) until a reader comes. The signal sent meanwhile must
    not kill the process; it stops it once started, exit 0."""
    fifo = str(tmp_path / "access.fifo")
    os.mkfifo(fifo)
    tt = telltale(upstream_config(app, access_log=fifo), ready=False)
    tt.expect_exit = None  # checked here
    time.sleep(0.5)
    assert tt.proc.poll() is None, tt.stderr()
    assert not _listening(tt.port)
    tt.send_signal(sig)
    time.sleep(0.3)
    assert tt.proc.poll() is None, "killed by %s while starting (exit %s)" % (
        sig.name, tt.proc.returncode)
    lines = []
    reader = threading.Thread(target=lambda: lines.append(open(fifo, "rb").read()), daemon=True)
    reader.start()
    rc = tt.wait(15)
    reader.join(5)
    err = tt.stderr()
    assert rc == 0, "exit %s; stderr:\n%s" % (rc, err)
    assert "received, finishing" in err and "telltale: stopped" in err, err
    assert not sanitizer_report(err), err
    assert not _listening(tt.port) and can_bind(tt.port)


def test_a_signal_after_start_up_still_drains_and_exits_zero(telltale, app):
    tt = telltale(upstream_config(app))
    assert tt.request("GET", "/echo").status == 200
    assert tt.stop(signal.SIGTERM) == 0
    assert not _listening(tt.port)


def test_a_sighup_while_start_up_is_blocked_reloads_once_started(telltale, app, tmp_path):
    """SIGHUP's default action kills a process: one that arrives while
    start-up is blocked (the access log is a FIFO) must wait for the
    handler and then be the reload it asks for."""
    fifo = str(tmp_path / "access.fifo")
    os.mkfifo(fifo)
    tt = telltale(upstream_config(app, access_log=fifo, pid_file=str(tmp_path / "tt.pid")),
                  ready=False)
    time.sleep(0.5)
    assert tt.proc.poll() is None, tt.stderr()
    tt.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert tt.proc.poll() is None, "killed by SIGHUP while starting (exit %s)" % tt.proc.returncode
    reader = threading.Thread(target=lambda: open(fifo, "rb").read(), daemon=True)
    reader.start()
    tt.wait_ready()
    deadline = time.monotonic() + 10
    while "generation 2" not in tt.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "generation 2" in tt.stderr(), tt.stderr()
    assert tt.request("GET", "/echo").status == 200
