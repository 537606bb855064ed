"""The command line and the config file: usage, version, `check`, and
`run` refusing a bad config with file:line:col diagnostics."""

import re

import pytest

from conftest import run_cli, sanitizer_report

CFG = "telltale.yaml"

BASE = """\
listen: ["127.0.0.1:18080"]
upstreams:
  app:
    servers: ["127.0.0.1:18000"]
"""

FULL_EXAMPLE = """\
workers: auto            # or integer
access_log: stdout       # stdout | off | path
name: telltale           # used in Via
listen: ["127.0.0.1:18080"]
upstreams:
  app:
    servers: ["127.0.0.1:18000", {address: "127.0.0.1:18001", weight: 2}]
    keepalive: {max_idle: 32, idle_timeout: 4s}
routes:                  # optional when there is exactly one upstream
  - {host: example.com, path: /api, upstream: app}
timeouts: {downstream_head: 10s, downstream_keepalive: 75s, downstream_idle: 60s, upstream_connect: 5s, upstream_head: 60s, upstream_idle: 60s, total: 0, grace: 10s}
limits: {head_bytes: 16k, header_count: 100, body_bytes: 0}
trusted_networks: [127.0.0.0/8, "::1/128"]
"""

DIAG = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): error: (?P<msg>.*)$")


def diagnostics(stderr, file=CFG):
    """[(line, col, message, hint)] for every `FILE:L:C: error: M` line."""
    out = []
    lines = stderr.splitlines()
    for i, text in enumerate(lines):
        m = DIAG.match(text)
        if not m or m.group("file") != file:
            continue
        hint = ""
        if i + 1 < len(lines) and lines[i + 1].startswith("  hint: "):
            hint = lines[i + 1][len("  hint: "):]
        out.append((int(m.group("line")), int(m.group("col")), m.group("msg"), hint))
    return out


def run_on(tmp_path, sub, text):
    (tmp_path / CFG).write_text(text)
    p = run_cli([sub, "-c", CFG], cwd=tmp_path)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


def find_diag(p, phrase):
    diags = diagnostics(p.stderr)
    hits = [d for d in diags if phrase in d[2]]
    assert hits, "no diagnostic containing %r in stderr:\n%s" % (phrase, p.stderr)
    return hits[0]


# -- usage and version -------------------------------------------------------------

def test_version_prints_name_and_version():
    p = run_cli(["version"])
    assert p.returncode == 0, p.stderr
    assert re.fullmatch(r"telltale \S+", p.stdout.strip()), p.stdout


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["check", "--help"],
                                  ["proxy", "--help"], ["version", "--help"]],
                         ids=lambda a: " ".join(a))
def test_help_prints_usage_and_exits_0(argv):
    p = run_cli(argv)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "usage" in (p.stdout + p.stderr).lower(), (p.stdout, p.stderr)
    assert not sanitizer_report(p.stderr), p.stderr


def test_unknown_subcommand_prints_usage_on_stderr_and_exits_2():
    p = run_cli(["frobnicate"])
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert "usage" in p.stderr.lower(), p.stderr
    assert not sanitizer_report(p.stderr), p.stderr


# -- check: valid -------------------------------------------------------------------

@pytest.mark.parametrize("text", [BASE, FULL_EXAMPLE,
                                  BASE + "workers: 2\naccess_log: off\nname: edge\n"],
                         ids=["minimal", "full-example", "workers-2-log-off"])
def test_check_valid_config_exits_0_with_one_ok_line(tmp_path, text):
    p = run_on(tmp_path, "check", text)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.strip().splitlines()
    assert len(lines) == 1, p.stdout
    assert "ok" in lines[0].lower(), p.stdout


# -- check and run: invalid ---------------------------------------------------------
#
# Positions: a key problem (unknown, duplicate) points at the key; a value
# problem (type, duration, address, missing upstream) points at the value.

BAD = {
    "unknown-key": (
        'listne: ["127.0.0.1:18080"]\n'
        "upstreams:\n  app:\n    servers: [\"127.0.0.1:18000\"]\n",
        1, 1, "unknown key 'listne'", "listen"),
    "wrong-type": (
        "listen: {a: 1}\n"
        "upstreams:\n  app:\n    servers: [\"127.0.0.1:18000\"]\n",
        1, 9, "must be a list, found a mapping", None),
    "bad-duration": (
        BASE + "timeouts:\n  upstream_connect: 5\n",
        6, 21, "'5'", re.compile(r"\b\d+(ms|s|m|h)\b")),
    "bad-address": (
        'listen: ["127.0.0.1:99999"]\n'
        "upstreams:\n  app:\n    servers: [\"127.0.0.1:18000\"]\n",
        1, 10, "port", None),
    "duplicate-upstream": (
        BASE + "  app:\n    servers: [\"127.0.0.1:18001\"]\n",
        5, 3, "duplicate key 'app'", None),
    "route-to-missing-upstream": (
        BASE + "routes:\n  - path: /\n    upstream: ap\n",
        7, 15, "upstream 'ap' is not defined", None),
}


@pytest.mark.parametrize("sub", ["check", "run"])
@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_config_reports_file_line_col(tmp_path, sub, case):
    text, line, col, phrase, hint = BAD[case]
    p = run_on(tmp_path, sub, text)
    assert p.returncode == 1, (p.stdout, p.stderr)
    got = find_diag(p, phrase)
    assert (got[0], got[1]) == (line, col), "want %d:%d, got %r" % (line, col, got)
    if isinstance(hint, str):
        assert hint in got[3], "hint %r lacks %r" % (got[3], hint)
    elif hint is not None:
        assert hint.search(got[3]), "hint %r lacks a duration with a unit" % got[3]


@pytest.mark.parametrize("sub", ["check", "run"])
def test_yaml_syntax_error_reports_file_line_col(tmp_path, sub):
    text = 'listen: ["127.0.0.1:18080"\nupstreams:\n  app:\n    servers: ["127.0.0.1:18000"]\n'
    p = run_on(tmp_path, sub, text)
    assert p.returncode == 1, (p.stdout, p.stderr)
    diags = diagnostics(p.stderr)
    assert diags, "no FILE:LINE:COL: error: line in stderr:\n%s" % p.stderr
    assert 1 <= diags[0][0] <= 5 and diags[0][1] >= 1, diags


def test_every_problem_is_reported_not_just_the_first(tmp_path):
    text = ('listen: ["127.0.0.1:99999"]\n'
            "upstreams:\n  app:\n    servers: [\"127.0.0.1:18000\"]\n"
            "timeouts:\n  upstream_connect: 5\n"
            "bogus: 1\n")
    p = run_on(tmp_path, "check", text)
    assert p.returncode == 1
    find_diag(p, "port")
    find_diag(p, "'5'")
    find_diag(p, "unknown key 'bogus'")


@pytest.mark.parametrize("sub", ["check", "run"])
def test_missing_config_file_is_named(tmp_path, sub):
    p = run_cli([sub, "-c", "no-such-telltale.yaml"], cwd=tmp_path)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "no-such-telltale.yaml" in p.stderr
    assert not sanitizer_report(p.stderr), p.stderr


# -- warnings: printed, never fatal -----------------------------------------------

def test_check_prints_warnings_and_exits_0(tmp_path):
    text = BASE + "    tls: {verify: false}\n"
    p = run_on(tmp_path, "check", text)
    assert p.returncode == 0, p.stderr
    assert "ok" in p.stdout.lower(), p.stdout
    warn = re.compile(r"^telltale\.yaml:5:19: warning: upstreams\.app\.tls\.verify: false "
                      r"accepts any certificate", re.M)
    assert warn.search(p.stderr), p.stderr
    assert ": error:" not in p.stderr, p.stderr


def test_check_warnings_do_not_hide_errors(tmp_path):
    text = BASE + "    tls: {verify: false}\nworkers: 0\n"
    p = run_on(tmp_path, "check", text)
    assert p.returncode == 1, p.stderr
    assert "telltale.yaml:5:19: warning: " in p.stderr, p.stderr
    assert [d[:2] for d in diagnostics(p.stderr)] == [(6, 10)], p.stderr
    assert "telltale.yaml: 1 problem" in p.stderr, p.stderr


def test_run_prints_warnings_at_start_and_runs(telltale, app):
    cfg = {"upstreams": {"app": {"servers": [app.addr], "tls": {"verify": False}}}}
    tt = telltale(cfg)
    err = tt.stderr()
    assert re.search(r"telltale\d\.yaml:\d+:\d+: warning: upstreams\.app\.tls\.verify: false", err), err
    assert "listening on" in err, err
