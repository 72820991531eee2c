"""Per-thread routing of LOG messages for library relays (pysocat.api).

``LOG`` (pysocat/log.py) is one process-wide logger: the CLI sets its level and
sink once. A library relay runs in some thread (its own, or the caller's) and
wants its own level and callback. While any route exists, ``LOG.callback`` is
``_dispatch``, ``LOG.level`` the lowest level anybody asked for, and each
message goes to the route of the thread that logged it; messages of any other
thread go to LOG's own sink at the level LOG had before the first route.

A forked child (EXEC/SYSTEM before its exec) inherits its parent thread's
route but not the callback's process: its messages go to LOG's stream (stderr)
at the route's level, as socat's child messages do; if the route has a
callback (which lives in the parent), only its E and F messages do.
"""
from __future__ import annotations

import os
import threading
from typing import Callable

from .log import ERROR, LETTERS, LOG

LogCallback = Callable[[str, str], None]


class _Route:
    __slots__ = ("level", "callback", "pid")

    def __init__(self, level: int, callback: LogCallback | None) -> None:
        self.level = level
        self.callback = callback
        self.pid = os.getpid()


_routes: dict[int, list[_Route]] = {}
_lock = threading.Lock()
_base: tuple[int, Callable[[int, str], None] | None] | None = None   # LOG.level and LOG.callback before routing


def _dispatch(level: int, text: str) -> None:
    stack = _routes.get(threading.get_ident())
    route = stack[-1] if stack else None
    if route is not None and route.pid == os.getpid():
        if level >= route.level:
            if route.callback is not None:
                route.callback(LETTERS[level], text)
            else:
                LOG.emit(level, text)
        return
    base = _base
    want = route.level if route is not None else (base[0] if base else LOG.level)
    if route is not None and route.callback is not None:
        want = max(want, ERROR)   # the callback is in the parent: only errors to stderr
    if level < want:
        return
    other = base[1] if base else None
    if other is not None and route is None:
        other(level, text)
    else:
        LOG.emit(level, text)


def _recompute() -> None:
    assert _base is not None
    LOG.level = min([_base[0]] + [r.level for s in _routes.values() for r in s])


def push(level: int, callback: LogCallback | None) -> _Route:
    """Route this thread's messages to ``callback`` (None: LOG's stream) from ``level``."""
    global _base
    route = _Route(level, callback)
    with _lock:
        if _base is None:
            _base = (LOG.level, LOG.callback)
            LOG.callback = _dispatch
        _routes.setdefault(threading.get_ident(), []).append(route)
        _recompute()
    return route


def pop(route: _Route) -> None:
    """Undo ``push``; the last route restores LOG's level and callback."""
    global _base
    with _lock:
        ident = threading.get_ident()
        stack = _routes.get(ident, [])
        if route in stack:
            stack.remove(route)
        if not stack:
            _routes.pop(ident, None)
        if _base is not None:
            if _routes:
                _recompute()
            else:
                LOG.level, LOG.callback = _base
                _base = None
