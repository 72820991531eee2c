"""Line terminator conversion between sides (options cr, crnl; socat's cv_newline)."""
from __future__ import annotations

from .endpoint import LT_CR, LT_CRNL, LT_RAW

_TERM = {LT_RAW: b"\n", LT_CR: b"\r", LT_CRNL: b"\r\n"}


def convert_lineterm(data: bytes, src: int, dst: int) -> bytes:
    """Rewrite the source side's line ends as the destination side's."""
    if src == dst:
        return data
    return data.replace(_TERM[src], _TERM[dst])
