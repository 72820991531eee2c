"""pysocat: socat 1.7.4.4's address language and relay, as a Python library and CLI.

Importing this package is cheap: no parser, no netlink, no TLS until used.
"""
__version__ = "0.1.0"
