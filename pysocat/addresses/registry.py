"""The address table: one row per address type, registered by its family module.

A row carries the names (canonical first, then aliases), the parameter syntax
socat's ``-h`` shows, how many parameters it takes, its option groups, the
``WITH_*`` feature it belongs to, and the function that opens it. Family
modules stay import-light (stdlib only at module level) so that resolving a
type name never costs start-up time.
"""
from __future__ import annotations

import os
import sys

from .._struct import dataclass

from ..errors import SocatError
from ..log import LOG

# Family modules, each registering its rows on import. One family per module.
FAMILIES = (
    "stdio", "file", "pipe", "exec", "tun", "pty",
    "udp", "udplite", "ip", "interface",
    "tcp", "proxy", "socks5", "openssl", "dtls", "unix", "socket_generic", "sctp", "dccp", "vsock",
    "readline",
    "socketpair", "stall", "text", "shell", "posixmq", "accept_fd",
)

# WITH_* features a family provides beyond its address rows (LISTEN, RETRY, …)
# (NAMESPACES: the netns= option of options/context.py; only 1.8's -V lists it)
EXTRA_FEATURES: set[str] = {"NAMESPACES"}

ADDRESSES: dict[str, "AddrDef"] = {}   # every name and alias, lower case
ROWS: list["AddrDef"] = []


@dataclass(frozen=True)
class AddrDef:
    """One address type row."""
    name: str
    syntax: str               # as in socat -h, e.g. ":<host>:<port>"
    nparams: tuple            # (min, max) number of parameters
    base_groups: frozenset    # the option groups (1.7.4.4's; see groups)
    opener: object            # callable(ctx, AddrDef, AddressSpec, Options) -> Endpoint
    feature: str              # WITH_* name shown by -V
    help: str = ""
    aliases: tuple = ()
    params: tuple = ()        # parameter names, for --explain
    count_text: str | None = None  # socat's wording of the expected count, if special
    count_prefix: object = None    # callable(head, params) -> message prefix, if special
    steps: object = None      # --explain: the calls the open makes (see explain.py)
    transport: str | None = None   # "stream" | "datagram" | "packet" | "fd"; None: derived
    since: str | None = None  # "1.8": the type is new in socat 1.8 (see SINCE)
    help18: tuple | None = None    # how socat 1.8's -h lists it where that differs: (("syntax", …),)
    groups18: frozenset | None = None  # socat 1.8's groups where they differ (versions.groups_18)

    @property
    def groups(self) -> frozenset:
        """The option groups under the active profile."""
        if self.groups18 is not None:
            from ..versions import ACTIVE
            if ACTIVE.groups_18:
                return self.groups18
        return self.base_groups

    @property
    def names(self) -> tuple:
        return (self.name,) + self.aliases


def address(name, syntax, groups, opener, feature, help="", aliases=(),
            params=None, nparams=None, count_text=None, count_prefix=None,
            steps=None, transport=None, since=None, help18=None, groups18=None):
    """Define one address row (called at import time by family modules).

    ``since="1.8"`` marks a type that socat 1.7.4.4 does not have: under that
    profile it is an unknown address, hidden from -h, -V and the index.
    ``help18``: what socat 1.8's ``-h`` shows differently (``{"syntax": …}``).
    ``groups18``: socat 1.8's option groups where they differ (which options the
    address takes, and what -h shows).
    """
    if since is not None and since not in SINCE:
        raise AssertionError(f"address {name}: unknown since={since!r}")
    if params is None:
        params = tuple(p.strip("<>[]") for p in syntax.split(":")[1:])
    if nparams is None:
        nparams = (len(params), len(params))
    row = AddrDef(name, syntax, tuple(nparams), frozenset(groups.split(",")),
                  opener, feature, help, tuple(aliases), tuple(params),
                  count_text, count_prefix, steps, transport, since,
                  tuple(sorted(help18.items())) if help18 else None,
                  frozenset(groups18.split(",")) if groups18 is not None else None)
    origin = sys._getframe(1).f_globals.get("__name__", "")
    for n in row.names:
        if n.lower() in ADDRESSES:
            raise AssertionError(f"address {n} defined twice")
        ADDRESSES[n.lower()] = row
        ORIGIN[n.lower()] = origin
    ROWS.append(row)
    return row


# since= value of a row -> the versions.py behaviour that says whether it exists
SINCE = {"1.8": "new_address_types"}


def available(row) -> bool:
    """Whether the active version profile has this address type."""
    if row.since is None:
        return True
    from .. import versions
    return bool(getattr(versions.ACTIVE, SINCE[row.since]))


def rows() -> list["AddrDef"]:
    """The rows of the active profile (every family loaded)."""
    load_all()
    return [r for r in ROWS if available(r)]


_loaded = False
ORIGIN: dict[str, str] = {}            # address name → module that registered it


def load_all() -> None:
    """Import every family module (cheap: they import only the stdlib)."""
    global _loaded
    if not _loaded:
        _loaded = True
        for fam in FAMILIES:
            __import__(f"pysocat.addresses.{fam}")   # importlib would add ~0.5 ms


# ------------------------------------------------------------ the family index
# A run needs one or two families, -V only the feature names; importing every
# family (each with socket, struct, …) would cost every start-up the sum of
# all of them. The index — which module registers which name, and the WITH_*
# features — is computed by load_all() once and cached next to the byte code,
# keyed by the size and mtime of every family module, so it is never stale.
# Without a writable cache everything still works, only slower.
_INDEX = None
_FEATURE_SINCE: dict = {}      # feature -> since, when only rows new in that version have it


def _index_path() -> str:
    return os.path.join(os.path.dirname(__file__), "__pycache__", "families.index")


def _index_key() -> str:
    here = os.path.dirname(__file__)
    parts = []
    for fam in ("registry",) + tuple(FAMILIES):
        try:
            st = os.stat(os.path.join(here, fam + ".py"))
            parts.append(f"{fam}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{fam}:?")
    return " ".join(parts)


def _build_index() -> tuple[dict, frozenset]:
    load_all()
    names = {n: ORIGIN.get(n, "") for n in ADDRESSES}
    feats = frozenset({r.feature for r in ROWS} | EXTRA_FEATURES)
    return names, feats


def _feature_since() -> dict:
    """feature -> since, for features that only rows new in a version provide."""
    out: dict = {}
    for r in ROWS:
        if r.feature in EXTRA_FEATURES:
            continue
        if r.since is None:
            out[r.feature] = None
        else:
            out.setdefault(r.feature, r.since)
    return {f: v for f, v in out.items() if v is not None}


def index() -> tuple[dict, frozenset]:
    """(address name → defining module, WITH_* features), from the cache if current."""
    global _INDEX
    if _INDEX is not None:
        return _INDEX
    key = _index_key()
    path = _index_path()
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        if lines and lines[0] == "key " + key:
            names, feats, since = {}, set(), {}
            for line in lines[1:]:
                kind, _, rest = line.partition(" ")
                if kind == "n":
                    n, _, mod = rest.partition(" ")
                    names[n] = mod
                elif kind == "f":
                    feats.add(rest)
                elif kind == "s":
                    f, _, v = rest.partition(" ")
                    since[f] = v
            _INDEX = (names, frozenset(feats))
            _FEATURE_SINCE.clear()
            _FEATURE_SINCE.update(since)
            return _INDEX
    except (OSError, ValueError):
        pass
    _INDEX = _build_index()
    _FEATURE_SINCE.clear()
    _FEATURE_SINCE.update(_feature_since())
    text = "\n".join(["key " + key] + [f"f {x}" for x in sorted(_INDEX[1])]
                     + [f"s {f} {v}" for f, v in sorted(_FEATURE_SINCE.items())]
                     + [f"n {n} {m}" for n, m in sorted(_INDEX[0].items())]) + "\n"
    if not all(m.startswith("pysocat.") for m in _INDEX[0].values()):
        return _INDEX       # rows registered from outside (a plugin, a test): not cached
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        pass
    return _INDEX


def features() -> frozenset:
    """The WITH_* features of the active profile's rows, without importing the families."""
    feats = index()[1]
    from .. import versions
    gone = {f for f, v in _FEATURE_SINCE.items()
            if not getattr(versions.ACTIVE, SINCE[v])}
    return feats - gone if gone else feats


def _row(name: str):
    """The row of ``name`` (lower case), importing only the family defining it."""
    row = ADDRESSES.get(name)
    if row is None and not _loaded:
        mod = index()[0].get(name)     # the index is complete: no entry, no such type
        if mod:
            __import__(mod)
            row = ADDRESSES.get(name)
            if row is None:      # registered as a side effect of another module
                load_all()
                row = ADDRESSES.get(name)
    return row


def lookup(spec, check_count: bool = True) -> tuple["AddrDef", tuple]:
    """Resolve a spec's head to its row and effective parameters.

    Follows socat: a known keyword wins; else a single digit is FD, a head
    containing '/' is a file name (GOPEN); else "unknown device/address".
    """
    head = spec.head
    row = _row(head.lower())
    if row is not None and not available(row):
        row = None                # new in 1.8: unknown to the 1.7.4.4 profile
    params = spec.params
    if row is None:
        if len(head) == 1 and head.isdigit():
            LOG.info(f'interpreting address "{head}" as file descriptor')
            row, params = _row("fd"), (head,) + params
        elif "/" in head:
            LOG.info(f'interpreting address "{head}" as file name')
            row, params = _row("gopen"), (head,) + params
        else:
            raise SocatError(f'unknown device/address "{head}"')
    if check_count:
        check_param_count(row, head, params)
    return row, params


def check_param_count(row, head: str, params: tuple) -> None:
    """socat checks the count when it opens, after both halves of a!!b parsed."""
    lo, hi = row.nparams
    if not lo <= len(params) <= hi:
        want = row.count_text or (lo if len(params) < lo else hi)
        raise SocatError(count_error(row, head, params, want))


def count_error(row, head: str, params: tuple, want) -> str:
    """socat's "wrong number of parameters" text for ``head`` as typed.

    1.8.1.3 names the keyword (FD or GOPEN for a bare number or file name) and
    appends the address's syntax (xiohelp.c:225-234); 1.7.4.4 has none."""
    from ..versions import ACTIVE
    if not ACTIVE.syntax_usage:
        prefix = row.count_prefix(head, params) if row.count_prefix else head
        return f"{prefix}: wrong number of parameters ({len(params)} instead of {want})"
    if row.name in ("fd", "gopen") and _row(head.lower()) is None:
        head = row.name.upper()        # socat 1.8 rewrote "3"/"/path" to its keyword
    text = f"{head}: wrong number of parameters ({len(params)} instead of {want})"
    if row.name in _NO_USAGE:
        return text
    if row.name == "tun":           # xio-tun.c:75: its own wording
        return f"{text}; usage: {row.syntax}"
    return f"{text}: usage: {head}{row.syntax}"


# addresses whose 1.8 count check is not xio_syntax() (xio-fdnum.c, xio-stdio.c)
_NO_USAGE = frozenset({"fd", "stdio", "stdin", "stdout", "stderr"})
