"""Parsed address specifications: plain frozen values, no meaning attached.

The parser produces these; the address table gives them meaning. ``raw`` keeps
the text as the user wrote it, for messages and ``--explain``.
"""
from __future__ import annotations

from ._struct import dataclass


@dataclass(frozen=True)
class OptionSpec:
    """One ``name[=value]`` item after the address head (quotes resolved)."""
    name: str
    value: str | None
    raw: str


@dataclass(frozen=True)
class AddressSpec:
    """``TYPE[:param…][,option…]`` with quoting and nesting already resolved.

    ``head`` is the first token exactly as lexed (``TCP4``, ``-``, ``/dev/null``);
    ``params`` are the ``:``-separated words that follow it.
    """
    head: str
    params: tuple[str, ...]
    options: tuple[OptionSpec, ...]
    raw: str


@dataclass(frozen=True)
class DualSpec:
    """``read-address!!write-address``: two single addresses, one per direction."""
    read: AddressSpec
    write: AddressSpec
    raw: str


Spec = AddressSpec | DualSpec
