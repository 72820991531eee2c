"""The address table: one row per address type, registered by its family module.

A row carries the names (canonical first, then aliases), the parameter syntax
socat's ``-h`` shows, how many parameters it takes, its option groups, the
``WITH_*`` feature it belongs to, and the function that opens it. Family
modules stay import-light (stdlib only at module level) so that resolving a
type name never costs start-up time.
"""
from __future__ import annotations

from .._struct import dataclass

from ..errors import SocatError
from ..log import LOG

# Family modules, each registering its rows on import. One family per module.
FAMILIES = (
    "stdio", "file", "pipe", "exec", "tun",
)

# WITH_* features a family provides beyond its address rows (LISTEN, RETRY, …)
EXTRA_FEATURES: set[str] = set()

ADDRESSES: dict[str, "AddrDef"] = {}   # every name and alias, lower case
ROWS: list["AddrDef"] = []


@dataclass(frozen=True)
class AddrDef:
    """One address type row."""
    name: str
    syntax: str               # as in socat -h, e.g. ":<host>:<port>"
    nparams: tuple            # (min, max) number of parameters
    groups: frozenset
    opener: object            # callable(ctx, AddrDef, AddressSpec, Options) -> Endpoint
    feature: str              # WITH_* name shown by -V
    help: str = ""
    aliases: tuple = ()
    params: tuple = ()        # parameter names, for --explain
    count_text: str | None = None  # socat's wording of the expected count, if special
    count_prefix: object = None    # callable(head, params) -> message prefix, if special
    steps: object = None      # --explain: the calls the open makes (see explain.py)
    transport: str | None = None   # "stream" | "datagram" | "packet" | "fd"; None: derived

    @property
    def names(self) -> tuple:
        return (self.name,) + self.aliases


def address(name, syntax, groups, opener, feature, help="", aliases=(),
            params=None, nparams=None, count_text=None, count_prefix=None,
            steps=None, transport=None):
    """Define one address row (called at import time by family modules)."""
    if params is None:
        params = tuple(p.strip("<>[]") for p in syntax.split(":")[1:])
    if nparams is None:
        nparams = (len(params), len(params))
    row = AddrDef(name, syntax, tuple(nparams), frozenset(groups.split(",")),
                  opener, feature, help, tuple(aliases), tuple(params),
                  count_text, count_prefix, steps, transport)
    for n in row.names:
        if n.lower() in ADDRESSES:
            raise AssertionError(f"address {n} defined twice")
        ADDRESSES[n.lower()] = row
    ROWS.append(row)
    return row


_loaded = False


def load_all() -> None:
    """Import every family module (cheap: they import only the stdlib)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for fam in FAMILIES:
            __import__(f"pysocat.addresses.{fam}")   # importlib would add ~0.5 ms


def lookup(spec) -> tuple["AddrDef", tuple]:
    """Resolve a spec's head to its row and effective parameters.

    Follows socat: a known keyword wins; else a single digit is FD, a head
    containing '/' is a file name (GOPEN); else "unknown device/address".
    """
    load_all()
    head = spec.head
    row = ADDRESSES.get(head.lower())
    params = spec.params
    if row is None:
        if len(head) == 1 and head.isdigit():
            LOG.info(f'interpreting address "{head}" as file descriptor')
            row, params = ADDRESSES["fd"], (head,) + params
        elif "/" in head:
            LOG.info(f'interpreting address "{head}" as file name')
            row, params = ADDRESSES["gopen"], (head,) + params
        else:
            raise SocatError(f'unknown device/address "{head}"')
    lo, hi = row.nparams
    if not lo <= len(params) <= hi:
        want = row.count_text or (lo if len(params) < lo else hi)
        prefix = row.count_prefix(head, params) if row.count_prefix else head
        raise SocatError(f"{prefix}: wrong number of parameters "
                         f"({len(params)} instead of {want})")
    return row, params
