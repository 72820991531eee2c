"""Address strings to open endpoints, and the whole socat run — the library core.

The CLI is a thin layer over ``Config`` and ``run``; the public API
(pysocat/__init__.py) uses the same functions.
"""
from __future__ import annotations

from ._struct import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:                  # importing typing costs start-up time
    from typing import Any, Callable

from .addresses.base import RDWR, READ, WRITE, OpenContext
from .errors import SocatError
from .log import LOG
from .spec import AddressSpec, DualSpec

UNIVERSAL_GROUPS = frozenset({"APPL", "PROCESS"})


@dataclass
class Config:
    """socat's command line flags, as data."""
    bufsize: int = 8192
    bufsize_given: bool = False
    closing_timeout: float = 0.5
    total_timeout: float | None = None
    direction: str = "both"         # both | lr (-u) | rl (-U)
    verbose: bool = False
    verbhex: bool = False
    sniff_left: int | None = None
    sniff_right: int | None = None
    ignore_groups: bool = False     # -g
    sloppy: bool = False            # -s
    prefer_ip: str | None = None    # -4 / -6
    lockfile: str | None = None     # -L / -W
    waitlock: bool = False
    debug_fds: bool = False         # -D
    log_sigs: int | None = None     # -S mask (1.8; None: socat's default set)
    statistics: bool = False        # --statistics (1.8)
    experimental: bool = False      # --experimental (1.8): features that ask for it
    sniff_left_name: str | None = None   # 1.8 -r/-R: opened after the addresses
    sniff_right_name: str | None = None
    extra: dict = field(default_factory=dict)
    # library hooks (pysocat.api); the CLI leaves them None
    on_listen: Callable[[int, Any], None] | None = None  # see addresses.base.listening
    stop_fd: int | None = None      # readable: the transfer loop ends (Relay.stop)


@dataclass(frozen=True)
class Resolved:
    """A single address spec joined with its table row and checked options."""
    spec: AddressSpec
    row: object
    params: tuple
    opts: object


def resolve(spec: AddressSpec, ignore_groups: bool = False,
            check_count: bool = True) -> Resolved:
    """Look up the type, check the parameter count, parse the options."""
    from .addresses.registry import lookup
    from .options.table import Options
    row, params = lookup(spec, check_count)
    opts = Options.parse(spec.options, row.groups | UNIVERSAL_GROUPS, ignore_groups)
    return Resolved(spec, row, params, opts)


_MODETEXT = {READ: "read-only", WRITE: "write-only", RDWR: "read-write"}
# socat 1.8's addrdesc directions of the one-way addresses (others: read-write)
_WRITE_ONLY = frozenset({"stdout", "stderr", "create", "posixmq-send", "posixmq-write"})
_READ_ONLY_EXTRA = frozenset({"stdin", "posixmq-read", "posixmq-receive"})


def address_directions(name: str) -> int:
    """The directions the address type ``name`` supports: READ, WRITE or RDWR."""
    if name in _WRITE_ONLY:
        return WRITE
    if name in _READ_ONLY_EXTRA or name.endswith("-recv"):
        return READ
    return RDWR


def check_mode(row, mode: int) -> None:
    """1.8.1.3 (xioopen.c:760-762): opening an address in a direction it does
    not support is a warning."""
    from .versions import ACTIVE
    if not ACTIVE.mode_warning:
        return
    supports = address_directions(row.name)
    if supports != RDWR and mode != supports:
        LOG.warn(f"address is opened in {_MODETEXT[mode]} mode but only supports "
                 f"{_MODETEXT[supports]}")


def open_resolved(res: Resolved, ctx: OpenContext):
    check_mode(res.row, ctx.mode)
    # -g lets options outside the address's groups through; one that only its
    # own families read would be ignored here: refuse it as socat does
    from .options.table import every_address
    groups = res.row.groups | UNIVERSAL_GROUPS
    for it in res.opts.items:
        if it.row.apply[0] == "addr" and not (it.row.groups & groups) and \
                not every_address(it.row):
            raise SocatError(f'applyopts(): option "{it.row.name}" not implemented')

    def plain():
        return res.row.opener(ctx, res.row, res.spec, res.opts, res.params)

    def opener():
        if any(it.row.apply[0] == "resolver" for it in res.opts.items):
            from .resolver import with_res      # res-*: the address's own resolver
            return with_res(res.opts, with_ai)
        return with_ai()

    def with_ai():
        if any(it.row.name.startswith("ai-") for it in res.opts.items):
            from .addresses.sockets import with_ai_flags    # ai-* (1.8)
            return with_ai_flags(res.opts, plain)
        return plain()
    if not res.opts.items:
        return opener()
    from .options.process import around_open   # lock files, *-early, su-d
    if any(it.row.apply[0] == "context" for it in res.opts.items):
        from .options.context import with_context   # netns=, chdir= (1.8)
        return with_context(res.opts, lambda: around_open(res.opts, opener),
                            bool(getattr(ctx.config, "experimental", False)))
    return around_open(res.opts, opener)


def open_spec(spec, mode: int, cfg: Config, index: int = 1, other=None,
              res: Resolved | None = None):
    """Open a single or dual spec for ``mode``; returns an Endpoint."""
    from .relay.endpoint import DualEndpoint
    if isinstance(spec, DualSpec):
        # socat parses both halves (type and options) before it opens either
        rres, wres = (resolve(s, cfg.ignore_groups, check_count=False)
                      for s in (spec.read, spec.write))
        if mode != RDWR:
            LOG.warn("unidirectional open of dual address")
        reader = writer = None
        if mode in (RDWR, READ):
            reader = open_spec(spec.read, READ, cfg, index, other, rres)
        if mode in (RDWR, WRITE):
            try:
                writer = open_spec(spec.write, WRITE, cfg, index, other, wres)
            except BaseException:
                if reader is not None:
                    reader.close()
                raise
        if reader is None:
            return writer
        if writer is None:
            return reader
        return DualEndpoint(reader, writer)
    if res is None:
        res = resolve(spec, cfg.ignore_groups)
    else:
        from .addresses.registry import check_param_count
        check_param_count(res.row, spec.head, res.params)
    ctx = OpenContext(mode=mode, index=index, prefer_ip=cfg.prefer_ip, config=cfg,
                      extra={"other": other})
    return open_resolved(res, ctx)


def parse_address(text: str):
    from .parse import parse
    return parse(text)


def run(addr1: str, addr2: str, cfg: Config | None = None, on_ready=None) -> int:
    """socat's main flow after flag parsing: open both, relay, close."""
    from .relay.engine import Relay, RelayConfig
    cfg = cfg or Config()
    spec1 = parse_address(addr1)
    if cfg.direction == "lr":
        mode1 = READ
    elif cfg.direction == "rl":
        mode1 = WRITE
    else:
        mode1 = RDWR
    try:
        ep1 = open_spec(spec1, mode1, cfg, 1)
    except SocatError as e:
        _exit_closes(e, cfg)
        raise
    ep2 = None
    try:
        spec2 = parse_address(addr2)
        mode2 = {RDWR: RDWR, READ: WRITE, WRITE: READ}[mode1]
        ep2 = open_spec(spec2, mode2, cfg, 2, other=ep1)
        LOG.info("resolved and opened all sock addresses")
        if cfg.sniff_left_name is not None or cfg.sniff_right_name is not None:
            from .relay.sniff import open_sniff_files
            open_sniff_files(cfg)
        if cfg.debug_fds:
            from .filan import describe_endpoints
            describe_endpoints(ep1, ep2)
        if cfg.bufsize_given:
            from .relay.engine import check_bufsize
            bufsize = check_bufsize(cfg.bufsize)
            if bufsize is None:
                return -1       # socat -s: _socat() gives up, "exiting with status -1"
            cfg.bufsize = bufsize
        if on_ready is not None:
            on_ready(ep1, ep2)
        rcfg = RelayConfig(bufsize=cfg.bufsize, closing_timeout=cfg.closing_timeout,
                           total_timeout=cfg.total_timeout, direction=cfg.direction,
                           verbose=cfg.verbose, verbhex=cfg.verbhex,
                           sniff_left=cfg.sniff_left, sniff_right=cfg.sniff_right,
                           stop_fd=cfg.stop_fd, bufsize_given=cfg.bufsize_given,
                           statistics=cfg.statistics)
        children = [c for ep in (ep1, ep2) for c in _children(ep)]
        relay = Relay(ep1, ep2, rcfg, children)
        cfg.extra["relay"] = relay
        status = relay.run()
    except SocatError as e:
        # socat prints the error and "exit(1)", then its xioexit() closes the
        # addresses still open: first address, second address
        e.at_exit[:0] = [ep.close for ep in (ep1, ep2) if ep is not None]
        _exit_closes(e, cfg)
        raise
    except BaseException:
        for ep in (ep1, ep2):
            if ep is not None:
                ep.close()
        raise
    for ep in (ep1, ep2):
        ep.close()
    for c in [c for ep in (ep1, ep2) for c in _children(ep)]:
        if c.failure:
            if not c.warn_failure():
                raise SocatError(c.failure)
            if status == 0:
                status = 1      # socat.c:446-448: a failed child makes it 1
    return status


def prepare_children(addr2: str, cfg: Config) -> None:
    """A fork server's parent, once before its first accept: do what every child
    would otherwise do again for itself after the fork, where it is not
    observable: import the modules the second address and the relay need.
    Nothing is logged and no error is raised here: the child still parses and
    opens the second address itself and reports what socat reports there."""
    import gc
    saved = LOG.level
    LOG.level = 99
    try:
        spec = parse_address(addr2)
        for one in (spec.read, spec.write) if isinstance(spec, DualSpec) else (spec,):
            resolve(one, cfg.ignore_groups, check_count=False)
    except Exception:
        pass
    finally:
        LOG.level = saved
    import codecs
    codecs.lookup("idna")   # getaddrinfo() encodes a host name with it
    import shlex            # noqa: F401  EXEC/SYSTEM split their command line with it
    import warnings         # noqa: F401  os.execvp() imports it in EXEC's child
    from .relay import engine  # noqa: F401
    # what a forked child inherits stays shared: no collection moves it
    gc.collect()
    gc.freeze()


def _exit_closes(err: SocatError, cfg: Config) -> None:
    """Close now, unless the CLI runs ``err.at_exit`` after printing "exit(1)"."""
    if not cfg.extra.get("defer_close"):
        err.run_at_exit()


def _children(ep: Any) -> list[Any]:
    out = list(getattr(ep, "children", []))
    for sub in ("reader", "writer"):
        if hasattr(ep, sub):
            out += _children(getattr(ep, sub))
    return out
