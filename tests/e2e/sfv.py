"""A strict parser for RFC 8941 Structured Field Values: Lists (as used by
Proxy-Status, RFC 9209) and their items and parameters.

    members = parse_list('tt-test; error=connection_refused; details="x"')
    item, params = members[0]
    assert item == Token("tt-test") and params["error"] == Token("connection_refused")

Bare items come back as Python values: Token (a str subclass, so tokens and
strings stay distinguishable), str (sf-string, escapes undone), int
(sf-integer), float (sf-decimal), bytes (sf-binary), bool (sf-boolean).
An Inner List comes back as InnerList([(item, params), ...]). Parameters are
an ordered dict; a parameter without a value is True, and a later duplicate
key overwrites the earlier one (RFC 8941 section 4.2.3.2).

Anything that does not follow the grammar of RFC 8941 section 4.2 raises
ParseError with the offset; nothing is guessed or repaired.
"""

import base64
import string

__all__ = ["ParseError", "Token", "InnerList", "parse_list", "parse_item", "parse_field_lines"]


class ParseError(ValueError):
    def __init__(self, msg, text, pos):
        super().__init__("%s at offset %d in %r" % (msg, pos, text))
        self.text = text
        self.pos = pos


class Token(str):
    """An sf-token (distinct from an sf-string with the same characters)."""

    def __repr__(self):
        return "Token(%s)" % str.__repr__(self)


class InnerList(list):
    pass


_DIGITS = set(string.digits)
_LCALPHA = set(string.ascii_lowercase)
_ALPHA = set(string.ascii_letters)
_TCHAR = set("!#$%&'*+-.^_`|~") | _ALPHA | _DIGITS
_TOKEN_REST = _TCHAR | set(":/")
_KEY_FIRST = _LCALPHA | {"*"}
_KEY_REST = _LCALPHA | _DIGITS | set("_-.*")
_B64 = set(string.ascii_letters + string.digits + "+/=")


class _Parser:
    def __init__(self, text):
        if isinstance(text, bytes):
            text = text.decode("ascii")  # non-ASCII is never valid: let it raise
        self.text = text
        self.pos = 0

    def fail(self, msg):
        raise ParseError(msg, self.text, self.pos)

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def eof(self):
        return self.pos >= len(self.text)

    def skip_sp(self):
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self):
        while self.peek() in (" ", "\t") and not self.eof():
            self.pos += 1

    # -- 4.2.1 List ---------------------------------------------------------
    def list_(self):
        members = []
        while not self.eof():
            members.append(self.item_or_inner_list())
            self.skip_ows()
            if self.eof():
                return members
            if self.peek() != ",":
                self.fail("expected ',' between list members")
            self.pos += 1
            self.skip_ows()
            if self.eof():
                self.fail("trailing ',' in list")
        return members

    def item_or_inner_list(self):
        if self.peek() == "(":
            return self.inner_list()
        return self.item()

    def inner_list(self):
        self.pos += 1  # "("
        items = InnerList()
        while not self.eof():
            self.skip_sp()
            if self.peek() == ")":
                self.pos += 1
                return items, self.parameters()
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                self.fail("expected ' ' or ')' in inner list")
        self.fail("unterminated inner list")

    # -- 4.2.3 Item and parameters -----------------------------------------
    def item(self):
        value = self.bare_item()
        return value, self.parameters()

    def parameters(self):
        params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            key = self.key()
            value = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value  # a duplicate overwrites in place (4.2.3.2)
        return params

    def key(self):
        c = self.peek()
        if not c or c not in _KEY_FIRST:
            self.fail("a key must start with a lower-case letter or '*'")
        start = self.pos
        while self.peek() and self.peek() in _KEY_REST:
            self.pos += 1
        return self.text[start:self.pos]

    def bare_item(self):
        c = self.peek()
        if c == "-" or (c and c in _DIGITS):
            return self.number()
        if c == '"':
            return self.string()
        if c == "*" or (c and c in _ALPHA):
            return self.token()
        if c == ":":
            return self.binary()
        if c == "?":
            return self.boolean()
        self.fail("expected a bare item")

    # -- 4.2.4 numbers ------------------------------------------------------
    def number(self):
        start = self.pos
        sign = 1
        if self.peek() == "-":
            sign = -1
            self.pos += 1
        if not (self.peek() and self.peek() in _DIGITS):
            self.fail("expected a digit")
        digits = ""
        decimal = False
        while self.peek() and (self.peek() in _DIGITS or (self.peek() == "." and not decimal)):
            if self.peek() == ".":
                if len(digits) > 12:
                    self.fail("decimal with more than 12 integer digits")
                decimal = True
            digits += self.peek()
            self.pos += 1
            if not decimal and len(digits) > 15:
                self.fail("integer with more than 15 digits")
            if decimal and len(digits) > 16:
                self.fail("decimal with more than 16 characters")
        if not decimal:
            return sign * int(digits)
        if digits.endswith("."):
            self.pos = start + len(digits) + (1 if sign < 0 else 0)
            self.fail("decimal ending in '.'")
        if len(digits.split(".")[1]) > 3:
            self.fail("decimal with more than 3 fraction digits")
        return sign * float(digits)

    # -- 4.2.5 string -------------------------------------------------------
    def string(self):
        self.pos += 1  # opening DQUOTE
        out = []
        while not self.eof():
            c = self.text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.eof():
                    self.fail("string ends in a backslash")
                n = self.text[self.pos]
                if n not in ('"', "\\"):
                    self.fail("backslash before %r in a string" % n)
                out.append(n)
                self.pos += 1
            elif c == '"':
                return "".join(out)
            elif ord(c) < 0x20 or ord(c) > 0x7E:
                self.pos -= 1
                self.fail("character %r not allowed in a string" % c)
            else:
                out.append(c)
        self.fail("unterminated string")

    # -- 4.2.6 token --------------------------------------------------------
    def token(self):
        start = self.pos
        self.pos += 1
        while self.peek() and self.peek() in _TOKEN_REST:
            self.pos += 1
        return Token(self.text[start:self.pos])

    # -- 4.2.7 byte sequence ------------------------------------------------
    def binary(self):
        self.pos += 1
        start = self.pos
        while self.peek() and self.peek() != ":":
            if self.peek() not in _B64:
                self.fail("character not allowed in a byte sequence")
            self.pos += 1
        if self.eof():
            self.fail("unterminated byte sequence")
        data = self.text[start:self.pos]
        self.pos += 1
        try:
            return base64.b64decode(data, validate=True)
        except ValueError:
            self.fail("bad base64 in a byte sequence")

    # -- 4.2.8 boolean ------------------------------------------------------
    def boolean(self):
        self.pos += 1
        c = self.peek()
        if c not in ("0", "1") or not c:
            self.fail("a boolean is ?0 or ?1")
        self.pos += 1
        return c == "1"


def _top(text, method):
    p = _Parser(text)
    p.skip_sp()  # 4.2 step 2: leading SP is discarded
    value = getattr(p, method)()
    p.skip_sp()
    if not p.eof():
        p.fail("unexpected characters after the value")
    return value


def parse_list(text):
    """An sf-list: [(bare item or InnerList, {param: value}), ...]."""
    return _top(text, "list_")


def parse_item(text):
    """An sf-item: (bare item, {param: value})."""
    return _top(text, "item")


def parse_field_lines(values):
    """An sf-list from several field lines of one field (RFC 8941 section
    4.2: combined with ', ' in order before parsing)."""
    return parse_list(", ".join(values)) if values else []
