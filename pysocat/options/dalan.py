"""socat's dalan(): the data description language of BIN options and of the
generic socket addresses (``x7f000001``, ``"text"``, ``'c'``, ``i80``, ``S80`` …).

``dalan(text, limit)`` returns ``(rc, data)``: rc 0 ok, -1 cut at ``limit``
bytes, 1 syntax error (socat also writes a short reason to stderr).
Items: ``x`` hex bytes (even digit count), ``"…"`` and ``'c'`` with C
escapes, ``i I l L s S b B`` decimal numbers in native byte order; an item
without a type letter uses the previous type (initially ``i``).
"""
from __future__ import annotations

import re
import struct
import sys

_ESC = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "b": "\b", "a": "\a", "e": "\033"}
_NUM = re.compile(r"\s*[+-]?\d*")
_SIZES = {"l": "=q", "L": "=Q", "i": "=i", "I": "=I", "s": "=h", "S": "=H"}


def _strtol(line: str, pos: int):
    m = _NUM.match(line, pos)
    txt = m.group().strip()
    try:
        val = int(txt) if txt not in ("", "+", "-") else 0
    except ValueError:
        val = 0
    if txt in ("", "+", "-"):
        return 0, pos
    return val, m.end()


def _pack(fmt: str, val: int) -> bytes:
    bits = struct.calcsize(fmt) * 8
    val &= (1 << bits) - 1
    if fmt[1].islower() and val >= 1 << (bits - 1):
        val -= 1 << bits
    return struct.pack(fmt, val)


def _err(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except Exception:
        pass


def _item(c: str, line: str, pos: int, data: bytearray, n: int):
    """One item; returns (rc, pos)."""
    if c in " \t\r\n":
        return 2, pos
    if c == '"':
        while True:
            if pos >= len(line):
                _err("unterminated string")
                return 1, pos
            ch = line[pos]
            pos += 1
            if ch == '"':
                return 0, pos
            if ch == "\\":
                if pos >= len(line):
                    _err("continuation line not implemented")
                    return 1, pos
                ch = line[pos]
                pos += 1
                ch = "\0" if ch == "0" else _ESC.get(ch, ch)
            if len(data) >= n:
                return -1, pos
            data.append(ord(ch) & 0xFF)
    if c == "'":
        if pos >= len(line):
            _err("unterminated character")
            return 1, pos
        ch = line[pos]
        pos += 1
        if ch == "'":
            _err("error in character")
            return 1, pos
        if ch == "\\":
            if pos >= len(line):
                _err("continuation line not implemented")
                return 1, pos
            ch = _ESC.get(line[pos], line[pos])
            pos += 1
        if len(data) >= n:
            return -1, pos
        data.append(ord(ch) & 0xFF)
        if pos >= len(line) or line[pos] != "'":
            _err("error in character termination")
            return 1, pos
        return 0, pos + 1
    if c == "x":
        hexd = "0123456789abcdefABCDEF"
        while pos < len(line) and line[pos] in hexd:
            if pos + 1 >= len(line) or line[pos + 1] not in hexd:
                _err("odd number of hexadecimal digits")
                return 1, pos + 1
            x = int(line[pos:pos + 2], 16)
            pos += 2
            if len(data) >= n:
                return -1, pos
            data.append(x)
        return 0, pos
    if c in _SIZES:
        val, pos = _strtol(line, pos)
        data += _pack(_SIZES[c], val)
        return 0, pos
    if c in "bB":
        val, pos = _strtol(line, pos)
        data.append(val & 0xFF)
        if c == "b":    # socat falls through from 'b' into 'B'
            val, pos = _strtol(line, pos)
            data.append(val & 0xFF)
        return 0, pos
    return 3, pos


def dalan(line: str, limit: int = 1024, deflt: str = "i"):
    """Parse ``line``; returns (rc, bytes)."""
    data = bytearray()
    n = limit
    pos = 0
    while pos < len(line):
        c = line[pos]
        pos += 1
        p0 = len(data)
        rc, npos = _item(c, line, pos, data, n)
        if rc == 0:
            deflt = c
            pos = npos
        elif rc == 2:
            continue
        elif rc == 3:
            pos -= 1
            start = pos
            rc, pos = _item(deflt, line, pos, data, n)
            if pos == start:
                # Nothing parsed ("/tmp/sock"): a syntax error, as in socat 1.8
                # (dalan.c:317-320). 1.7.4.4 has no such check and loops until it
                # crashes (test.sh DALAN_NO_SIGSEGV); pysocat never loops.
                return 1, bytes(data)
        else:
            pos = npos
        if rc != 0:
            return rc, bytes(data)
        n -= len(data) - p0
    return 0, bytes(data)
