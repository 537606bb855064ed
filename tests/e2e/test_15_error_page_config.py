"""The config keys of issue 3 (A): name, error_detail_networks and the
operator's error_page template, checked by `telltale check` (an unknown
placeholder is reported at its line and column in the template) and used
by a running telltale."""

import re

import pytest

from conftest import run_cli, sanitizer_report
from stories import (Expect, assert_address_hidden, check_proxy_status, closed_port_addr, config,
                     content_type, fetch, parse_html, one_id)

PLACEHOLDERS = ["status", "reason", "title", "explanation", "request_id", "time", "failed_hop",
                "visitor_steps", "operator_steps", "proxy_status", "fault", "type", "chain",
                "details"]

TEMPLATE = "<!doctype html>\n<html><head><title>custom {{status}}</title></head><body>\n" + "".join(
    '<div id="p-%s">{{%s}}</div>\n' % (p, p) for p in PLACEHOLDERS) + "</body></html>\n"

BASE = """\
listen: ["127.0.0.1:18080"]
upstreams:
  app:
    servers: ["127.0.0.1:18000"]
"""


def check(tmp_path, text):
    (tmp_path / "telltale.yaml").write_text(text)
    p = run_cli(["check", "-c", "telltale.yaml"], cwd=tmp_path)
    assert not sanitizer_report(p.stderr), p.stderr
    return p


def test_check_accepts_the_new_keys(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(TEMPLATE)
    p = check(tmp_path, BASE + "name: tt-test\n"
                               'error_detail_networks: ["10.0.0.0/8", "::1/128", 127.0.0.0/8]\n'
                               "error_page: %s\n" % page)
    assert p.returncode == 0, p.stderr
    assert len(p.stdout.strip().splitlines()) == 1 and "ok" in p.stdout.lower(), p.stdout


@pytest.mark.parametrize("line,prefix,absolute", [
    (1, "", False), (3, "  <p>hello ", False), (4, "\t<b>", False), (3, "  <p>hello ", True)],
    ids=["first-line", "third-line", "after-a-tab", "absolute-path"])
def test_unknown_placeholder_fails_check_at_its_line_and_column(tmp_path, line, prefix, absolute):
    lines = ["<html>", "<body>", "<p>{{status}} {{reason}}</p>", "<p>{{request_id}}</p>",
             "</body></html>"]
    lines[line - 1] = prefix + "{{no_such_thing}}" + lines[line - 1]
    page = tmp_path / "page.html"
    page.write_text("\n".join(lines) + "\n")
    # Relative paths: the config sits in the working directory, so either
    # resolution (config directory or working directory) finds the file.
    p = check(tmp_path, BASE + "error_page: %s\n" % (page if absolute else "page.html"))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "no_such_thing" in p.stderr, p.stderr
    # The template's position, as PATH:LINE:COL, somewhere in the report
    # (standalone or inside the diagnostic for the config value).
    hits = re.findall(r"page\.html['\"]?:(\d+):(\d+)", p.stderr)
    assert hits, "no page.html:LINE:COL in stderr:\n%s" % p.stderr
    col = len(prefix) + 1  # 1-based column of "{{"
    assert any(int(l) == line and int(c) in (col, col + 2) for l, c in hits), \
        "want page.html:%d:%d (the placeholder), got %r in:\n%s" % (line, col, hits, p.stderr)


def test_known_placeholders_with_spaces_or_braces_elsewhere_pass(tmp_path):
    # Single braces (CSS, scripts) are not placeholders.
    page = tmp_path / "page.html"
    page.write_text("<style>body { color: red }</style>\n<p>{{status}}</p>\n")
    p = check(tmp_path, BASE + "error_page: %s\n" % page)
    assert p.returncode == 0, p.stderr


def test_missing_error_page_fails_check(tmp_path):
    p = check(tmp_path, BASE + "error_page: nope.html\n")
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "nope.html" in p.stderr, p.stderr


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted", "untrusted"])
def test_error_page_template_is_rendered(telltale, tmp_path, trusted):
    page = tmp_path / "page.html"
    page.write_text(TEMPLATE)
    dead = closed_port_addr()
    tt = telltale(config(dead, trusted=trusted, error_page=str(page)))
    r = fetch(tt, "html")
    exp = Expect(502, "connection_refused", "upstream_refused", {"connect"}, "proxy-upstream",
                 upstream=dead, trusted=trusted)
    check_proxy_status(r, exp)
    assert content_type(r) == "text/html", r
    body = r.body.decode("utf-8")
    assert "{{" not in body and "}}" not in body, "placeholders left in:\n%s" % body
    doc = parse_html(r.body)
    val = {p: one_id(doc, "p-" + p).text().strip() for p in PLACEHOLDERS}
    assert val["status"] == "502", val
    assert val["reason"] == "Bad Gateway", val
    assert val["request_id"] == r.header("x-request-id"), val
    assert val["type"] == "connection_refused", val
    assert val["fault"] == "upstream_refused", val
    assert val["failed_hop"] == "proxy-upstream", val
    assert "connection_refused" in val["proxy_status"], val
    for p in ("title", "explanation", "time", "visitor_steps", "chain"):
        assert val[p], "{{%s}} rendered empty: %r" % (p, val)
    if trusted:
        assert val["details"], "{{details}} empty for a trusted downstream: %r" % val
    else:
        assert_address_hidden(r, dead)
    # {{chain}} brings the chain markup of the built-in page, failed link marked.
    chain = one_id(doc, "p-chain")
    failed = [n for n in chain.iter() if n.attrs.get("data-failed") == "true"]
    assert [n.attrs.get("data-link") for n in failed] == ["proxy-upstream"], failed
    # Other body kinds are not the template.
    j = fetch(tt, "json")
    assert content_type(j) == "application/problem+json", j
