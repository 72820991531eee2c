"""``-v`` / ``-x`` traffic dumps on stderr, in socat's exact layout."""
from __future__ import annotations

import sys
import time

_TEXT_ESC = {7: "\\a", 8: "\\b", 9: "\t", 10: "\n", 11: "\\v", 12: "\\f",
             13: "\\r", 92: "\\\\"}


def _printable(c: int) -> bool:
    return 32 <= c < 127


class Dumper:
    """Writes the block header and the data view for one direction."""

    def __init__(self, text: bool, hexa: bool, righttoleft: bool, out=None):
        self.text, self.hexa = text, hexa
        self.arrow = "<" if righttoleft else ">"
        self.offset = 0
        self.out = out or sys.stderr
        from ..versions import ACTIVE
        self.digits = ACTIVE.hexdump_micro_digits

    def header(self, n: int) -> str:
        ns = time.time_ns()
        stamp = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(ns // 10**9))
        usec = ns % 10**9 // 1000    # socat prints microseconds: 1.8 %06ld, 1.7 %09ld
        h = (f"{self.arrow} {stamp}.{usec:0{self.digits}d}  length={n} "
             f"from={self.offset} to={self.offset + n - 1}\n")
        self.offset += n
        return h

    def dump(self, data: bytes) -> None:
        parts = [self.header(len(data))]
        if self.text and self.hexa:
            i = 0
            while i < len(data):
                chunk = data[i:i + 16]
                nl = chunk.find(b"\n")
                if nl >= 0:
                    chunk = chunk[:nl + 1]
                hexs = "".join(f" {c:02x}" for c in chunk)
                txt = "".join("." if (c == 10 or not _printable(c)) else chr(c) for c in chunk)
                parts.append(hexs + "   " * (16 - len(chunk)) + "  " + txt + "\n")
                i += len(chunk)
            parts.append("--\n")
        elif self.text:
            parts.append("".join(_TEXT_ESC.get(c) or (chr(c) if _printable(c) else ".")
                                 for c in data))
        else:
            parts.append("".join(f" {c:02x}" for c in data) + "\n")
        self.out.write("".join(parts))
        self.out.flush()
