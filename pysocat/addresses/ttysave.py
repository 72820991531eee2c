"""socat's ``ttyvalid``/``savetty``: a terminal gets its settings back at close.

STDIO, FD, OPEN and GOPEN remember the settings of a terminal descriptor
before any option changes them and put them back when the address is closed
(also on exits through signals: they close the endpoints on their way out).
Kept apart from the TERMIOS rows so that a run without options stays cheap.
"""
from __future__ import annotations

import os

from ..log import LOG


def save_tty(ep) -> None:
    """Remember the settings of the endpoint's terminals; restore them at close.

    The restore runs from ``ep.on_close`` (after the endpoint closed its
    descriptors), so it works on a duplicate of each terminal descriptor.
    """
    for fd in sorted({f for f in (ep.rfd, ep.wfd) if f is not None and f >= 0}):
        try:
            if not os.isatty(fd):
                continue
        except OSError:
            continue
        import termios as T
        try:
            attrs = T.tcgetattr(fd)
        except T.error as e:
            LOG.warn(f"cannot query current terminal settings on fd {fd}: "
                     f"{os.strerror(e.args[0])}")
            continue
        try:
            keep = os.dup(fd)
        except OSError:
            continue
        ep.on_close.append(_restorer(fd, keep, attrs))


def _restorer(fd: int, keep: int, attrs: list):
    def restore() -> None:
        import termios as T
        try:
            T.tcsetattr(keep, T.TCSANOW, attrs)
        except T.error as e:
            LOG.warn(f"cannot restore terminal settings on fd {fd}: {os.strerror(e.args[0])}")
        finally:
            try:
                os.close(keep)
            except OSError:
                pass
    return restore


def finish_tty(ep, opts, finish):
    """``save_tty`` then ``finish``; a failing option still restores the terminal."""
    save_tty(ep)
    try:
        return finish(ep, opts)
    except BaseException:
        ep.close()          # socat's exit closes it too: restores, unlinks
        raise
