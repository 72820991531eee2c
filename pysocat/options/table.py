"""The option table: one row per option, and the parsed option set of an address.

A row says what an option is (name, aliases, value type, groups), *when* it acts
(socat's phase) and *how* it is applied. Generic appliers below carry out the
common kinds (setsockopt, open flags, fcntl flags) at the phase an opener
announces; kind ``"addr"`` means the address family reads the value itself.

Only options pysocat honours have rows: anything else is "unknown option",
and an option outside an address's groups is "not supported with this
address type", both exactly as socat words them.
"""
from __future__ import annotations

from .._struct import dataclass, field

from ..errors import OptionError
from ..log import DEBUG, LOG
from .values import parse_value

# socat's phases, in the order an open passes through them
PHASES = ("INIT", "EARLY", "PREOPEN", "OPEN", "PASTOPEN", "PRESOCKET", "SOCKET",
          "PASTSOCKET", "PREBIND", "BIND", "PASTBIND", "PRELISTEN", "LISTEN",
          "PASTLISTEN", "PRECONNECT", "CONNECT", "PASTCONNECT", "ACCEPT",
          "PASTACCEPT", "CONNECTED", "BIGEN", "PASTBIGEN", "FORK", "PASTFORK",
          "PREEXEC", "EXEC", "FD", "LATE", "LATE2", "PASTEXEC")


@dataclass(frozen=True)
class OptDef:
    """One option row."""
    name: str
    type: str                 # BOOL INT UINT … STRING MODE_T TIMEVAL CONST
    groups: frozenset
    phase: str
    apply: tuple = ("addr",)  # ("addr",) | ("sockopt", level, opt) | ("openflag", f) | ("fdflag", f)
    help: str = ""
    aliases: tuple = ()
    nick: str | None = None   # socat's short name, the one -hh lists ("rdonly")
    choices: tuple = ()       # the values an enumerated option takes (shell completion)
    since: str | None = None  # "1.8": new in socat 1.8 (versions.new_options)
    help18: tuple | None = None  # how socat 1.8's -hh lists it where that differs:
    #                              (("name"|"nick"|"phase"|"type", value), …)
    aliases18: tuple = ()     # aliases new in socat 1.8 (new_options), of an older row

    @property
    def names(self) -> tuple:
        """The names of the row under the active profile."""
        if self.aliases18 and not _since_available("1.8"):
            return (self.name,) + self.aliases
        return (self.name,) + self.aliases + self.aliases18


OPTIONS: dict[str, OptDef] = {}      # every name and alias → row, lower case
ROWS: list[OptDef] = []              # canonical rows in definition order


# socat 1.8 lists an option that only sets a field of the address (its phase
# PH_OFFSET, "automatically applied to xio-fd", xioopts.h) in phase OFFSET; 1.7
# called most of them INIT or FD. help18= for those rows.
OFFSET = {"phase": "OFFSET"}


def opt(name, vtype, groups, phase, apply=("addr",), help="", aliases=(), nick=None,
        choices=(), since=None, help18=None, aliases18=()):
    """Define one option row (called at import time by option modules).

    ``nick`` is socat's nickname of the option (second field of its optdesc),
    if it has one: ``-hh`` lists the option under it, and not at all when the
    nickname is not one of the option's names (socat's ``tclass``).
    ``since="1.8"``: an option socat 1.7.4.4 does not have; under that profile
    it is an unknown option and -hh/-hhh leave it out.
    ``help18`` is what socat 1.8's help shows differently, e.g. ``{"phase":
    "OFFSET"}`` for an option 1.8 keeps in its address structure.
    ``aliases18``: names socat 1.8 added to an older option (unknown under 1.7.4.4).
    """
    if since is not None and since not in SINCE:
        raise AssertionError(f"option {name}: unknown since={since!r}")
    aliases = tuple(aliases)
    row = OptDef(name, vtype, frozenset(groups.split(",")), phase, tuple(apply),
                 help, aliases, nick, tuple(choices), since,
                 tuple(sorted(help18.items())) if help18 else None, tuple(aliases18))
    for n in (name,) + aliases + tuple(aliases18):
        if n.lower() in OPTIONS:
            raise AssertionError(f"option {n} defined twice")
        OPTIONS[n.lower()] = row
    ROWS.append(row)
    return row


# since= value of a row -> the versions.py behaviour that says whether it exists
SINCE = {"1.8": "new_options"}


def _since_available(since: str) -> bool:
    from .. import versions
    return bool(getattr(versions.ACTIVE, SINCE[since]))


def available(row: OptDef, name: str | None = None) -> bool:
    """Whether the active version profile has this option (by this name)."""
    if name is not None and row.aliases18 and name in row.aliases18:
        if not _since_available("1.8"):
            return False
    if row.since is None:
        return True
    return _since_available(row.since)


def rows() -> list:
    """The option rows of the active profile (every option module loaded)."""
    load_all()
    return [r for r in ROWS if available(r)]


def load_all() -> None:
    """Import every option module so the table is complete."""
    from . import rows  # noqa: F401  (registers its rows)


def every_address(row: OptDef) -> bool:
    """1.8.1.3's GROUP_ADDR options (umask, chdir): accepted on every address."""
    if "ADDR" in row.groups:
        return True                 # rows of that group exist only where it does
    if row.name != "umask":
        return False
    from ..versions import ACTIVE
    return ACTIVE.umask_every_address


@dataclass
class OptValue:
    """One option as given on one address."""
    row: OptDef
    value: object
    raw: str
    used: bool = False
    applied_to: tuple = ()    # (phase, fd) of its last generic application


@dataclass
class Options:
    """The options of one address, checked against its groups."""
    items: list = field(default_factory=list)

    @classmethod
    def parse(cls, specs, groups: frozenset, ignore_groups: bool = False) -> "Options":
        if specs:
            load_all()      # no options given: the option modules need not load
        items = []
        for o in specs:
            try:
                row = OPTIONS.get(o.name.lower())
                if row is None or not available(row, o.name.lower()):
                    raise OptionError(f'parseopts_table(): unknown option "{o.name}"')
                if not (row.groups & groups) and not ignore_groups and \
                        not every_address(row):
                    raise OptionError(
                        f'parseopts_table(): option "{o.name}" not supported with this address type')
                val = parse_value(row.type, o.value, o.raw, row.name)
            except OptionError as e:
                if LOG.exitlevel <= 4:     # ERROR is fatal unless -s (sloppy)
                    raise
                LOG.error(e.text)          # socat -s: report and drop the option
                continue
            if LOG.level <= 1:
                _log_setting(row, val)
            items.append(OptValue(row, val, o.raw))
        return cls(items)

    # explicit use by address families -----------------------------------
    def get(self, name: str, default=None):
        """Last value given for option ``name`` (marks it used)."""
        found = default
        for it in self.items:
            if it.row.name == name:
                it.used = True
                found = it.value
        return found

    def unused(self, name: str):
        """The value of an option given but not yet consumed (marks it used)."""
        val = None
        for it in self.items:
            if it.row.name == name and not it.used:
                it.used = True
                val = it.value
        return val

    def has(self, name: str) -> bool:
        return any(it.row.name == name for it in self.items)

    def all(self, name: str) -> list:
        """Every value given for a repeatable option, in order."""
        out = []
        for it in self.items:
            if it.row.name == name:
                it.used = True
                out.append(it.value)
        return out

    def names(self) -> list[str]:
        return [it.row.name for it in self.items]

    def take(self, pred) -> "Options":
        """Move the items whose row matches ``pred`` into a new Options.

        For a family that applies them elsewhere (in a child, to another
        descriptor): ``apply``/``finish`` on this set no longer see them.
        """
        taken = [it for it in self.items if pred(it.row)]
        self.items = [it for it in self.items if not pred(it.row)]
        return Options(taken)

    # generic application -------------------------------------------------
    def openflags(self) -> int:
        """OR of every open(2) flag option (phase OPEN)."""
        flags = 0
        for it in self.items:
            if it.row.apply[0] == "openflag" and it.value:
                flags |= it.row.apply[1]
                it.used = True
        return flags

    def apply(self, phase: str, fd: int, again: bool = True) -> None:
        """Apply every generically applied option of ``phase`` to ``fd``.

        ``again=False`` (base.finish) skips the options the opener has already
        applied in this phase to this descriptor: socat applies each once."""
        for it in self.items:
            kind = it.row.apply[0]
            if it.row.phase != phase or kind == "addr" or kind == "openflag":
                continue
            if not again and it.applied_to == (phase, fd):
                continue
            APPLIERS[kind](fd, it)
            it.used = True
            it.applied_to = (phase, fd)


def _log_setting(row: OptDef, val) -> None:
    if row.type in ("INT:ULONG", "INT:INT", "INT:INTP"):     # socat: %d:%lu, %d:%d
        LOG.info(f'setting option "{row.name}" to {_sint(val[0])}:{val[1]}')
    elif row.type == "CONST":
        LOG.info(f'setting option "{row.name}"')
    elif row.type in ("STRING_NULL", "INT_NULL") and val is None:
        LOG.info(f'setting option "{row.name}" to NULL')
    elif row.type in ("STRING", "STRING_NULL"):
        LOG.info(f'setting option "{row.name}" to "{val}"')
    elif row.type == "INT:INT:INT":
        LOG.info(f'setting option "{row.name}" to {val[0]}:{val[1]}:{val[2]}')
    elif row.type in ("INT:INT:BIN", "INT:INT:STRING"):
        LOG.info(f'setting option "{row.name}" to {val[0]}:{val[1]}:...')
    elif row.type == "INT:BIN":
        LOG.info(f'setting option "{row.name}" to {val[0]}:...')
    elif row.type == "INT:STRING":
        LOG.info(f'setting option "{row.name}" to {val[0]}:"{val[1]}"')
    elif row.type == "LINGER":
        LOG.info(f'setting option "{row.name}" to {{1,{val}}}')
    elif row.type in ("TIMEVAL", "TIMESPEC", "BIN", "IP4NAME"):
        pass
    else:
        LOG.info(f'setting option "{row.name}" to {val}')


def _sint(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _sockopt_bytes(vtype: str, value):
    """(bytes for setsockopt, socat's text of the value) for a row's type."""
    import struct
    if vtype == "BYTE":
        return struct.pack("B", value & 0xFF), f"{{{value & 0xFF}}}"
    if vtype in ("STRING", "STRING_NULL"):
        return value.encode() + b"\0", f'"{value}"'
    if vtype == "LINGER":
        return struct.pack("ii", 1, value), f"{{1,{value}}}"
    if vtype == "TIMEVAL":          # struct timeval: seconds, microseconds
        sec = int(value)
        usec = int(round((value - sec) * 1000000))
        return struct.pack("ll", sec, usec), f"{{{sec},{usec}}}"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value), "{...}"
    v = int(value) & 0xFFFFFFFF
    if v >= 1 << 31:
        v -= 1 << 32
    return struct.pack("i", v), f"{{{v}}}"


def _sycls_value(data: bytes) -> str:
    """The value as socat's Setsockopt() trace shows it: the first one or two
    native unsigned ints in hex."""
    import struct
    pad = bytes(data) + bytes(8)
    if len(data) <= 4:
        return f"{{0x{struct.unpack('=I', pad[:4])[0]:x}}}"
    a, b = struct.unpack("=II", pad[:8])
    return f"{{0x{a:08x},{b:08x}}}"


def _setsockopt(fd: int, level: int, name: int, data: bytes, shown: str) -> None:
    import socket
    from ..errors import SocatError
    s = socket.socket(fileno=fd)
    try:
        if LOG.enabled(DEBUG):
            LOG.debug(f"setsockopt({fd}, {level}, {name}, {_sycls_value(data)}, {len(data)})")
        s.setsockopt(level, name, data)
        LOG.debug("setsockopt() -> 0")
    except OSError as e:
        LOG.debug("setsockopt() -> -1")
        raise SocatError(f"setsockopt({fd}, {level}, {name}, {shown}, {len(data)}): "
                         f"{e.strerror}") from None
    finally:
        s.detach()


def _apply_sockopt(fd: int, it: OptValue) -> None:
    _, level, name = it.row.apply
    if it.row.type == "INT_NULL" and it.value is None:
        return              # "reuseaddr=": socat calls no setsockopt()
    data, shown = _sockopt_bytes(it.row.type, it.value)
    _setsockopt(fd, level, name, data, shown)


def _apply_sockopt_generic(fd: int, it: OptValue) -> None:
    """setsockopt-int/-bin/-string: level, name and data from the value."""
    level, name, third = it.value
    if it.row.type == "INT:INT:INT":
        data, shown = _sockopt_bytes("INT", third)
    elif it.row.type == "INT:INT:STRING":
        data, shown = _sockopt_bytes("STRING", third)
    else:
        data, shown = bytes(third), "{...}"
    _setsockopt(fd, level, name, data, shown)


def _apply_fdflag(fd: int, it: OptValue) -> None:
    import fcntl
    flag = it.row.apply[1]
    cur = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, (cur | flag) if it.value else (cur & ~flag))


def _apply_cloexec(fd: int, it: OptValue) -> None:
    import os
    os.set_inheritable(fd, not it.value)


def _apply_flock(fd: int, it: OptValue) -> None:
    import fcntl
    if not it.value:
        return
    how = {"LOCK_EX": fcntl.LOCK_EX, "LOCK_SH": fcntl.LOCK_SH,
           "LOCK_EX_NB": fcntl.LOCK_EX | fcntl.LOCK_NB,
           "LOCK_SH_NB": fcntl.LOCK_SH | fcntl.LOCK_NB}[it.row.apply[1]]
    try:
        fcntl.flock(fd, how)
    except OSError as e:
        from ..errors import SocatError
        raise SocatError(f"flock({fd}, {how}): {e.strerror}") from None


def _apply_fchmod(fd: int, it: OptValue) -> None:
    import os
    try:
        os.fchmod(fd, it.value)
    except OSError as e:
        from ..errors import SocatError
        raise SocatError(f"fchmod({fd}, {it.value:o}): {e.strerror}") from None


def _apply_fchown(fd: int, it: OptValue) -> None:
    import os
    uid, gid = (it.value, -1) if it.row.apply[1] == "uid" else (-1, it.value)
    try:
        os.fchown(fd, uid, gid)
    except OSError as e:
        from ..errors import SocatError
        raise SocatError(f"fchown({fd}, {uid}, {gid}): {e.strerror}") from None


def _apply_fcntl_lock(fd: int, it: OptValue) -> None:
    """f-setlk*: a POSIX record lock on the whole file (socat's struct flock)."""
    import fcntl
    import struct
    if not it.value:
        return
    _, cmd, ltype = it.row.apply
    cmd = getattr(fcntl, cmd)
    # struct flock: l_type, l_whence, l_start, l_len = LONG_MAX, l_pid
    lock = struct.pack("hhqqi4x", getattr(fcntl, ltype), 0, 0, (1 << 63) - 1, 0)
    try:
        fcntl.fcntl(fd, cmd, lock)
    except OSError as e:
        from ..errors import SocatError
        # socat names F_WRLCK in this message for read locks too
        raise SocatError(f"fcntl({fd}, {cmd}, {{type=F_WRLCK,whence=SEEK_SET,start=0,"
                         f"len=LONG_MAX,pid=0}}): {e.strerror}") from None


def _apply_ftruncate(fd: int, it: OptValue) -> None:
    import os
    length = it.value & ((1 << 64) - 1)
    if length >= 1 << 63:
        length -= 1 << 64          # off_t is signed: a negative length fails EINVAL
    try:
        os.ftruncate(fd, length)
    except OSError as e:
        from ..errors import SocatError
        raise SocatError(f"{it.row.apply[1]}({fd}, {length}): {e.strerror}") from None


def _apply_seek(fd: int, it: OptValue) -> None:
    """lseek32-*/lseek64-* (seek=, seek-cur=, seek-end=): position the file at LATE."""
    import os
    call, whence = it.row.apply[1], it.row.apply[2]
    off = it.value & ((1 << 64) - 1)
    if off >= 1 << 63:
        off -= 1 << 64
    LOG.debug(f"{call}({fd}, {off}, {whence})")
    try:
        pos = os.lseek(fd, off, whence)
    except OSError as e:
        LOG.debug(f"{call}() -> -1")
        from ..errors import SocatError
        raise SocatError(f"lseek({fd}, {off}, {whence}): {e.strerror}") from None
    LOG.debug(f"{call}() -> {pos}")


def _apply_fcntl_int(fd: int, it: OptValue) -> None:
    """fcntl(fd, cmd, int) rows (f-setpipe-sz)."""
    import fcntl
    cmd = it.row.apply[1]
    LOG.debug(f"fcntl({fd}, {cmd}, 0x{it.value & 0xFFFFFFFF:x})")
    try:
        got = fcntl.fcntl(fd, cmd, it.value)
    except OSError as e:
        LOG.debug("fcntl() -> -1")
        from ..errors import SocatError
        raise SocatError(f"fcntl({fd}, {cmd}, {it.value}): {e.strerror}") from None
    LOG.debug(f"fcntl() -> 0x{got:x}")


APPLIERS = {
    "seek": _apply_seek,
    "fcntl-int": _apply_fcntl_int,
    "fcntl-lock": _apply_fcntl_lock,
    "ftruncate": _apply_ftruncate,
    "sockopt": _apply_sockopt,
    "sockopt-generic": _apply_sockopt_generic,
    "fdflag": _apply_fdflag,
    "cloexec": _apply_cloexec,
    "flock": _apply_flock,
    "fchmod": _apply_fchmod,
    "fchown": _apply_fchown,
}


def register_applier(kind: str, func) -> None:
    """Families with their own kind of row (e.g. TUN flags) add an applier."""
    APPLIERS[kind] = func
