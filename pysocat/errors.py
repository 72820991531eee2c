"""Structured errors. Library code raises; the CLI decides how they print.

``SocatError.text`` is socat's own message text (without time/prog/severity);
socat prints it as an ``E`` line and exits 1.
"""
from __future__ import annotations


class SocatError(Exception):
    """An error socat would report with ``E <text>`` and exit status 1."""

    level = "E"

    def __init__(self, text: str, status: int = 1, position: int | None = None):
        super().__init__(text)
        self.text = text
        self.status = status
        self.position = position
        # what socat's xioexit() still does after "exit(1)": close the
        # addresses left open (cli.py runs these once the error is printed)
        self.at_exit: list = []

    def run_at_exit(self) -> None:
        funcs, self.at_exit = self.at_exit, []
        for func in funcs:
            try:
                func()
            except Exception:       # closing must never turn into a traceback
                pass


class ReadInError(Exception):
    """An endpoint's read failed in a way socat only logs (xioread() returning
    -1 after its own message): the transfer direction is "in error" and
    closing starts, without an E."""


class RetryLater(SocatError):
    """socat's STAT_RETRYLATER reaching the top without an E (1.8: a temporary
    resolver failure, already logged as a W): "exiting with status -1"."""

    def __init__(self, text: str) -> None:
        super().__init__(text, status=-1)


class AddressSyntaxError(SocatError):
    """The address string itself cannot be split (unbalanced quote, …)."""


class OptionError(SocatError):
    """An option is unknown, misplaced or has a malformed value."""


class FatalError(SocatError):
    """socat's ``F`` severity: unrecoverable, exit 1."""

    level = "F"
