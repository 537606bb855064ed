"""The tests' own RFC 8941 parser (sfv.py), checked before anything relies
on it: valid members parse to the right values, anything off-grammar
raises."""

import pytest

from sfv import InnerList, ParseError, Token, parse_field_lines, parse_item, parse_list


def test_proxy_status_example_from_rfc9209():
    got = parse_list('ExampleCDN, CacheB; error=http_protocol_error; details="Malformed response header: space before colon"')
    assert got == [(Token("ExampleCDN"), {}),
                   (Token("CacheB"), {"error": Token("http_protocol_error"),
                                      "details": "Malformed response header: space before colon"})]
    assert isinstance(got[0][0], Token) and isinstance(got[1][1]["details"], str)
    assert not isinstance(got[1][1]["details"], Token)


@pytest.mark.parametrize("text,want", [
    ('"a\\"b\\\\c"', ('a"b\\c', {})),
    ("42", (42, {})),
    ("-7", (-7, {})),
    ("999999999999999", (999999999999999, {})),
    ("4.5", (4.5, {})),
    ("?1", (True, {})),
    ("?0", (False, {})),
    ("*foo/bar:baz", (Token("*foo/bar:baz"), {})),
    (":aGVsbG8=:", (b"hello", {})),
    ("x;a;b=?0;c=1;d=\"s\";e=tok", (Token("x"), {"a": True, "b": False, "c": 1, "d": "s",
                                                   "e": Token("tok")})),
    ("x;a=1;a=2", (Token("x"), {"a": 2})),
    ("x; a=1", (Token("x"), {"a": 1})),
])
def test_items(text, want):
    assert parse_item(text) == want


def test_integer_is_not_a_string_and_string_is_not_a_token():
    (v, p), = parse_list('a; n=12; s="12"; t=t12')
    assert p["n"] == 12 and type(p["n"]) is int
    assert p["s"] == "12" and type(p["s"]) is str
    assert type(p["t"]) is Token


def test_lists_with_whitespace_and_inner_lists():
    assert parse_list("  a ,\tb;x=1,c  ") == [(Token("a"), {}), (Token("b"), {"x": 1}),
                                             (Token("c"), {})]
    got = parse_list('(1 "two" three);p=?1, z')
    assert isinstance(got[0][0], InnerList)
    assert got[0] == ([(1, {}), ("two", {}), (Token("three"), {})], {"p": True})
    assert parse_list("") == []


def test_field_lines_are_joined_in_order():
    assert [m[0] for m in parse_field_lines(["a, b", "c"])] == ["a", "b", "c"]


@pytest.mark.parametrize("bad", [
    "a,", ",a", "a,,b", "a b", "a;", "a;A=1", "a;1=1", "a;=1", '"unterminated',
    '"bad \\n escape"', '"tab\there"', "1234567890123456", "1.2345", "1.", "12345678901234.5",
    "?2", "?", "-", "-a", ":not base64!:", ":abc", "é", "(a b", "(a,b)", "@x",
    "a;b=", "a ;b=1", 'a;b="x" c',
])
def test_off_grammar_raises(bad):
    with pytest.raises((ParseError, UnicodeError)):
        parse_list(bad)
