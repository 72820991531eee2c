"""pysocat: socat 1.7.4.4's address language and relay, as a Python library and CLI.

Importing this package is cheap: no parser, no netlink, no TLS until used.

    pysocat.parse(text)              address text -> frozen spec objects
    pysocat.run(a, b, **flags)       relay in this thread, like `pysocat a b`
    pysocat.start(a, b, **flags)     relay in a thread/process -> Relay handle
    pysocat.open(address)            one address as a socket-like Stream

Errors are ``SocatError`` (``.text`` is socat's message). Thread-safety and
fork behaviour: see pysocat/api.py.
"""
from . import parse as _parse_module  # noqa: F401  first, so ``parse`` below wins
from .errors import AddressSyntaxError, OptionError, SocatError
from .spec import AddressSpec, DualSpec, OptionSpec

__version__ = "0.1.0"

# The API module (threading, typing, …) loads on first use: the command line
# imports this package too, and its start-up must stay cheap.
_LAZY = frozenset({"Relay", "Stream", "Transferred", "open", "run", "start"})


def parse(text: str, *, check: bool = False):
    """Parse one address into spec objects (see ``pysocat.api.parse``)."""
    from .api import parse as _parse
    return _parse(text, check=check)


def __getattr__(name: str):
    if name in _LAZY:
        from . import api
        value = globals()[name] = getattr(api, name)
        return value
    raise AttributeError(f"module 'pysocat' has no attribute {name!r}")

__all__ = [
    "AddressSpec", "AddressSyntaxError", "DualSpec", "OptionError", "OptionSpec",
    "Relay", "SocatError", "Stream", "Transferred", "open", "parse", "run", "start",
]
