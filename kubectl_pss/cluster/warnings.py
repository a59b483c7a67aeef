"""The API server's ``Warning`` headers (RFC 7234 section 5.5), as kubectl shows them."""
from __future__ import annotations

import re

_WARN_HEAD = re.compile(r'[ \t]*(\d{3})[ \t]+([^ \t"]+)[ \t]+"')
_WARN_DATE = re.compile(r'[ \t]+"[^"]*"')


def parse_warning_header(value: str) -> list[tuple[int, str, str]]:
    """``299 - "text \\"q\\"", 299 - "b"`` -> [(299, "-", 'text "q"'), (299, "-", "b")]; ValueError if malformed."""
    out: list[tuple[int, str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " \t,":
            i += 1
        if i >= n:
            break
        m = _WARN_HEAD.match(value, i)
        if not m:
            raise ValueError(f"malformed warning: {value[i:]!r}")
        i = m.end()
        text: list[str] = []
        while True:
            if i >= n:
                raise ValueError("unterminated warn-text")
            c = value[i]
            if c == "\\" and i + 1 < n:
                text.append(value[i + 1])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                text.append(c)
                i += 1
        m_date = _WARN_DATE.match(value, i)
        if m_date:
            i = m_date.end()
        while i < n and value[i] in " \t":
            i += 1
        if i < n and value[i] != ",":
            raise ValueError(f"garbage after warning: {value[i:]!r}")
        out.append((int(m.group(1)), m.group(2), "".join(text)))
    return out


def _latin1_to_utf8(value: str) -> str:
    # http.client decodes header bytes as latin-1; the apiserver writes UTF-8.
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def warnings_from_headers(headers: list[tuple[str, str]]) -> list[str]:
    """Texts of the ``299`` warnings, like client-go (malformed headers are kept verbatim)."""
    out: list[str] = []
    for k, v in headers:
        if k.lower() != "warning":
            continue
        v = _latin1_to_utf8(v)
        try:
            out += [text for code, _agent, text in parse_warning_header(v) if code == 299 and text]
        except ValueError:
            out.append(v.strip())
    return out
