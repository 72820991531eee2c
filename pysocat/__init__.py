"""pysocat: socat's address language (1.8.1.3, or 1.7.4.4 by profile) and relay, as a Python library and CLI.

Importing this package is cheap: no parser, no netlink, no TLS until used.

    pysocat.parse(text)              address text -> frozen spec objects
    pysocat.explain(a, b, **flags)   the --explain --json data, as a dict
    pysocat.run(a, b, **flags)       relay in this thread, like `pysocat a b`
    pysocat.start(a, b, **flags)     relay in a thread/process -> Relay handle
    pysocat.open(address)            one address as a socket-like Stream

Errors are ``SocatError`` (``.text`` is socat's message). Thread-safety and
fork behaviour: see pysocat/api.py.
"""
from __future__ import annotations

import sys

from . import parse as _parse_module  # noqa: F401  first, so ``parse`` below wins
from .errors import AddressSyntaxError, OptionError, SocatError
from .spec import AddressSpec, DualSpec, OptionSpec

__version__ = "0.1.0"

# The API module (threading, typing, …) loads on first use: the command line
# imports this package too, and its start-up must stay cheap.
_LAZY = frozenset({"Relay", "Stream", "Transferred", "open", "run", "start"})


TYPE_CHECKING = False
if TYPE_CHECKING:                  # what mypy sees; at run time they load lazily
    from typing import Any

    from .api import Relay, Stream, Transferred, open, run, start
    from .spec import Spec


def parse(text: str, *, check: bool = False) -> Spec:
    """Parse one address into spec objects (see ``pysocat.api.parse``)."""
    from .api import parse as _parse
    return _parse(text, check=check)


def explain(addr1: str, addr2: str | None = None, **flags: Any) -> dict[str, Any]:
    """The ``--explain --json`` data as a dict (see ``pysocat.api.explain``)."""
    from .api import explain as _explain
    return _explain(addr1, addr2, **flags)


class _Package(type(sys)):  # type: ignore[misc]
    """The package's names ``parse`` and ``explain`` are API functions; importing
    the modules of the same names (pysocat.parse, pysocat.explain) must not
    rebind them (the import system sets a loaded submodule on its parent)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _FUNCTIONS and isinstance(value, type(sys)):
            return
        super().__setattr__(name, value)


_FUNCTIONS = frozenset({"parse", "explain"})
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import api
        value = globals()[name] = getattr(api, name)
        return value
    raise AttributeError(f"module 'pysocat' has no attribute {name!r}")

__all__ = [
    "AddressSpec", "AddressSyntaxError", "DualSpec", "OptionError", "OptionSpec",
    "Relay", "SocatError", "Stream", "Transferred", "explain", "open", "parse", "run",
    "start",
]
