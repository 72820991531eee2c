"""pysocat: socat 1.7.4.4's address language and relay, as a Python library and CLI.

Importing this package is cheap: no parser, no netlink, no TLS until used.

    pysocat.parse(text)              address text -> frozen spec objects
    pysocat.run(a, b, **flags)       relay in this thread, like `pysocat a b`
    pysocat.start(a, b, **flags)     relay in a thread/process -> Relay handle
    pysocat.open(address)            one address as a socket-like Stream

Errors are ``SocatError`` (``.text`` is socat's message). Thread-safety and
fork behaviour: see pysocat/api.py.
"""
from .api import Relay, Stream, Transferred, open, parse, run, start
from .errors import AddressSyntaxError, OptionError, SocatError
from .spec import AddressSpec, DualSpec, OptionSpec

__version__ = "0.1.0"

__all__ = [
    "AddressSpec", "AddressSyntaxError", "DualSpec", "OptionError", "OptionSpec",
    "Relay", "SocatError", "Stream", "Transferred", "open", "parse", "run", "start",
]
