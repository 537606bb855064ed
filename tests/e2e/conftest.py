"""Fixtures for the end-to-end tests: the telltale binary and its upstreams.

    def test_x(telltale, app):
        tt = telltale(upstream_config(app))     # dict or YAML string
        r = tt.request("GET", "/echo")
        assert r.status == 200
        assert tt.log_lines(1)[0]["status"] == 200

The binary is $TELLTALE_BIN (default: ../../build/telltale-san), run under
$TELLTALE_WRAPPER when set (a command line such as "valgrind
--error-exitcode=99 --leak-check=full": scripts/valgrind-smoke). Each
telltale runs in tmp_path with stdout (the access log) and stderr in files
there; on teardown it gets SIGTERM and must exit 0 with no sanitizer report.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import time

import pytest

import httpc
from tls_util import TlsUpstream, make_certs
from upstreams import AppUpstream, RawUpstream

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "..", "build", "telltale-san")
SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")


def telltale_bin():
    path = os.environ.get("TELLTALE_BIN", DEFAULT_BIN)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail("telltale binary %s is missing; build it (make build/telltale-san) or set "
                    "TELLTALE_BIN" % path, pytrace=False)
    return os.path.abspath(path)


_HANDED_OUT = set()


def free_port():
    """A port on 127.0.0.1 where nothing listens now, never the same one
    twice in a run: a port a test keeps closed (a dead upstream) must not
    come back as telltale's own listener or admin port, or the "refused"
    upstream answers (seen: a 502 proxy_loop_detected instead of
    connection_refused)."""
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no fresh port on 127.0.0.1")


def sanitizer_report(text):
    return any(m in text for m in SANITIZER_MARKS)


# -- config -------------------------------------------------------------------

def to_yaml(value, indent=0):
    """Block-style YAML for mappings, flow (JSON) style for everything else."""
    pad = " " * indent
    lines = []
    for key, v in value.items():
        if isinstance(v, dict) and v:
            lines.append("%s%s:" % (pad, key))
            lines.append(to_yaml(v, indent + 2))
        else:
            lines.append("%s%s: %s" % (pad, key, json.dumps(v)))
    return "\n".join(lines)


def upstream_config(*apps, **extra):
    """Config with one upstream group 'app' holding the given servers."""
    servers = [a if isinstance(a, str) else a.addr for a in apps]
    cfg = {"upstreams": {"app": {"servers": servers}}}
    cfg.update(extra)
    return cfg


def group_config(servers, group=None, routes=None, **extra):
    """Config named tt-test with one upstream group 'app' of the given
    servers (AppUpstreams, RawUpstreams, "ip:port" strings or
    {address, weight} mappings); group: more keys of the group (retry,
    health, breaker, balance, ...); routes: the routes list."""
    items = []
    for s in servers:
        items.append(s if isinstance(s, (str, dict)) else s.addr)
    g = {"servers": items}
    g.update(group or {})
    cfg = {"name": "tt-test", "upstreams": {"app": g}}
    if routes is not None:
        cfg["routes"] = routes
    cfg.update(extra)
    return cfg


def run_cli(args, cwd=None, timeout=20):
    """Run the binary to completion; returns CompletedProcess (text)."""
    return subprocess.run([telltale_bin()] + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


# -- the running proxy ---------------------------------------------------------

def _listening(port):
    """True when something on this host listens on 127.0.0.1:port (read from
    /proc so that no probe connection reaches telltale)."""
    want = ":%04X" % port
    found_proc = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        found_proc = True
        for row in rows:
            fields = row.split()
            if len(fields) > 3 and fields[1].endswith(want) and fields[3] == "0A":
                return True
    if found_proc:
        return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def wrapper():
    """The $TELLTALE_WRAPPER command as a list ([] when unset)."""
    return shlex.split(os.environ.get("TELLTALE_WRAPPER", ""))


class Telltale:
    def __init__(self, argv, cwd, port, name, preexec_fn=None):
        self.argv = argv
        self.cwd = str(cwd)
        self.port = port
        self.addr = "127.0.0.1:%d" % port
        self.stdout_path = os.path.join(self.cwd, "%s.stdout" % name)
        self.stderr_path = os.path.join(self.cwd, "%s.stderr" % name)
        self.expect_exit = 0  # checked on teardown; None to skip
        self.returncode = None
        self.admin_port = None  # the admin endpoint's port, when the fixture chose it
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(wrapper() + argv, cwd=self.cwd, stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL,
                                         preexec_fn=preexec_fn)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=10.0):
        if wrapper():
            timeout *= 6  # valgrind starts slowly
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("telltale exited with %s before listening on %s; stderr:\n%s"
                            % (self.proc.returncode, self.addr, self.stderr()), pytrace=False)
            if _listening(self.port):
                return
            time.sleep(0.02)
        pytest.fail("telltale did not listen on %s within %ss; stderr:\n%s"
                    % (self.addr, timeout, self.stderr()), pytrace=False)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines(self, count=None, timeout=2.0, path=None):
        """The access log as parsed JSON, after waiting (bounded) until it has
        at least `count` lines. Every line must be JSON."""
        path = path or self.stdout_path
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except FileNotFoundError:
                text = ""
            lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
            if count is None or len(lines) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:
                pytest.fail("access log line is not JSON: %r" % line, pytrace=False)
        return out

    def log_line(self, timeout=2.0):
        """The single access log line (asserts there is exactly one)."""
        lines = self.log_lines(1, timeout)
        time.sleep(0.15)  # one more flush period: nothing else may follow
        lines = self.log_lines()
        assert len(lines) == 1, "expected one access log line, got %r" % lines
        return lines[0]

    def vmrss_kib(self):
        try:
            with open("/proc/%d/status" % self.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=10.0):
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal (if still running) and wait; returns the exit code, killing
        the process and failing when it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait(timeout)
        if rc is None:
            self.proc.kill()
            self.proc.wait(5)
            pytest.fail("telltale did not exit within %ss of %s; stderr:\n%s"
                        % (timeout, signal.Signals(sig).name, self.stderr()), pytrace=False)
        return rc

    def conn(self, timeout=10.0):
        return httpc.Conn(self.port, timeout=timeout)

    def request(self, *args, **kwargs):
        return httpc.request(self.port, *args, **kwargs)

    def admin(self, target="/metrics", method="GET", **kwargs):
        """One request to the admin endpoint (issue 7)."""
        assert self.admin_port, "this telltale's admin port is not known"
        return httpc.request(self.admin_port, method, target, host="127.0.0.1", **kwargs)

    def metric(self, name):
        """The value of metric name's first sample in /metrics, or None."""
        for line in self.admin("/metrics").body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None


@pytest.fixture
def telltale(tmp_path):
    """Factory: telltale(config) runs `telltale run -c FILE` on a config given
    as a dict (listen, workers: 1 and access_log: stdout are filled in unless
    given, and admin on a free port of its own unless the config has an
    'admin' key: tt.admin_port) or a YAML string (with "{listen}" replaced
    by the address);
    telltale(argv=[...]) runs other subcommands, "{listen}" likewise replaced;
    preexec_fn runs in the child before exec (e.g. to lower a limit).
    Returns a started Telltale."""
    started = []

    def start(config=None, argv=None, port=None, ready=True, preexec_fn=None):
        port = port or free_port()
        listen = "127.0.0.1:%d" % port
        name = "telltale%d" % len(started)
        admin_port = None
        if argv is None:
            if isinstance(config, dict):
                cfg = {"workers": 1, "access_log": "stdout", "listen": [listen]}
                if "admin" not in config:
                    # Not the default 127.0.0.1:9901: tests run side by side.
                    admin_port = free_port()
                    cfg["admin"] = {"listen": "127.0.0.1:%d" % admin_port}
                cfg.update(config)
                text = to_yaml(cfg) + "\n"
            else:
                text = config.replace("{listen}", listen)
            cfg_path = tmp_path / ("%s.yaml" % name)
            cfg_path.write_text(text)
            argv = ["run", "-c", str(cfg_path)]
        else:
            argv = [a.replace("{listen}", listen) for a in argv]
        tt = Telltale([telltale_bin()] + argv, tmp_path, port, name, preexec_fn)
        tt.admin_port = admin_port
        started.append(tt)
        if ready:
            tt.wait_ready()
        return tt

    yield start

    problems = []
    for tt in started:
        running = tt.proc.poll() is None
        rc = tt.stop() if running else tt.proc.returncode
        err = tt.stderr()
        if sanitizer_report(err):
            problems.append("sanitizer report in stderr of %s:\n%s" % (" ".join(tt.argv), err))
        elif tt.expect_exit is not None and rc != tt.expect_exit:
            problems.append("telltale %s exited %s (expected %s)%s; stderr:\n%s"
                            % (" ".join(tt.argv[1:]), rc, tt.expect_exit,
                               "" if running else " on its own", err))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def app():
    a = AppUpstream()
    yield a
    a.close()
    assert not a.errors, "app upstream errors: %r" % a.errors


@pytest.fixture
def app2():
    a = AppUpstream()
    yield a
    a.close()


@pytest.fixture
def app_factory():
    """Factory: app_factory(**options) -> a started AppUpstream (options as
    AppUpstream takes them: idle_close_ms, delay_ms). All are closed on
    teardown and must have met no error of their own."""
    made = []

    def make(**options):
        a = AppUpstream(**options)
        made.append(a)
        return a

    yield make
    for a in made:
        a.close()
    for a in made:
        assert not a.errors, "app upstream %s errors: %r" % (a.addr, a.errors)


@pytest.fixture
def raw_upstream():
    """Factory: raw_upstream(script, ...) -> started RawUpstream."""
    made = []

    def make(*scripts):
        r = RawUpstream(*scripts)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """The TLS test certificates (tls_util.py), made once per run."""
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def tls_upstream(certs):
    """Factory: tls_upstream(**options) -> a started TlsUpstream (tls_util.py),
    closed on teardown."""
    made = []

    def make(**kw):
        u = TlsUpstream(certs, **kw)
        made.append(u)
        return u

    yield make
    for u in made:
        u.close()
