"""Terminal options (socat's GROUP_TERMIOS), applied to any tty descriptor.

Each row names one change of the ``struct termios`` of a descriptor, in
socat's four flavours (xio-termios.c):

- ``flag``: a BOOL that sets or clears bits of one flag word (``echo=0``);
- ``value``: a number shifted into a bit field (``crdly=1``), checked like
  socat (``option crdly: invalid value 9``);
- ``pattern``: a CONST that puts a fixed value into a field (``b9600``, ``cs8``);
- ``char``: a control character (``vintr=3``, ``vmin``, ``vtime``);
- plus the speeds (``ispeed``/``ospeed``) and the composite settings
  ``raw``, ``rawer``, ``cfmakeraw`` and ``sane``.

All of them act in phase FD, through the ``termios`` applier registered here:
tcgetattr, change, tcsetattr(TCSADRAIN). A descriptor that is not a terminal
fails with socat's ``tcgetattr(fd, …): Inappropriate ioctl for device``.
``ctty`` (tiocsctty, phase LATE2) makes the terminal the controlling one.

Remembering and restoring a terminal's settings is addresses/ttysave.py.
"""
from __future__ import annotations

import os
import termios as T

from ..errors import OptionError, SocatError
from ..log import LOG
from .table import opt, register_applier
from .values import VALUE_PARSERS, int_pair

IFLAG, OFLAG, CFLAG, LFLAG = 0, 1, 2, 3

# --- rows, in socat's xio-termios.c order ------------------------------------
_FLAGS = (
    # iflag
    ("brkint", IFLAG, T.BRKINT), ("icrnl", IFLAG, T.ICRNL), ("ignbrk", IFLAG, T.IGNBRK),
    ("igncr", IFLAG, T.IGNCR), ("ignpar", IFLAG, T.IGNPAR), ("imaxbel", IFLAG, T.IMAXBEL),
    ("inlcr", IFLAG, T.INLCR), ("inpck", IFLAG, T.INPCK), ("istrip", IFLAG, T.ISTRIP),
    ("iuclc", IFLAG, T.IUCLC), ("ixany", IFLAG, T.IXANY), ("ixoff", IFLAG, T.IXOFF),
    ("ixon", IFLAG, T.IXON), ("parmrk", IFLAG, T.PARMRK),
    # oflag
    ("nldly", OFLAG, T.NLDLY), ("ocrnl", OFLAG, T.OCRNL), ("ofdel", OFLAG, T.OFDEL),
    ("ofill", OFLAG, T.OFILL), ("opost", OFLAG, T.OPOST), ("olcuc", OFLAG, T.OLCUC),
    ("onlcr", OFLAG, T.ONLCR), ("onlret", OFLAG, T.ONLRET), ("onocr", OFLAG, T.ONOCR),
    ("bsdly", OFLAG, T.BSDLY), ("vtdly", OFLAG, T.VTDLY), ("ffdly", OFLAG, T.FFDLY),
    # cflag
    ("cstopb", CFLAG, T.CSTOPB), ("cread", CFLAG, T.CREAD), ("parenb", CFLAG, T.PARENB),
    ("parodd", CFLAG, T.PARODD), ("hupcl", CFLAG, T.HUPCL), ("clocal", CFLAG, T.CLOCAL),
    ("crtscts", CFLAG, T.CRTSCTS),
    # lflag
    ("isig", LFLAG, T.ISIG), ("icanon", LFLAG, T.ICANON), ("xcase", LFLAG, T.XCASE),
    ("echo", LFLAG, T.ECHO), ("echoe", LFLAG, T.ECHOE), ("echok", LFLAG, T.ECHOK),
    ("echonl", LFLAG, T.ECHONL), ("echoctl", LFLAG, T.ECHOCTL), ("echoprt", LFLAG, T.ECHOPRT),
    ("echoke", LFLAG, T.ECHOKE), ("flusho", LFLAG, T.FLUSHO), ("noflsh", LFLAG, T.NOFLSH),
    ("tostop", LFLAG, T.TOSTOP), ("pendin", LFLAG, T.PENDIN), ("iexten", LFLAG, T.IEXTEN),
)

_PATTERNS = (
    ("cr0", OFLAG, T.CR0, T.CRDLY), ("cr1", OFLAG, T.CR1, T.CRDLY),
    ("cr2", OFLAG, T.CR2, T.CRDLY), ("cr3", OFLAG, T.CR3, T.CRDLY),
    ("nl0", OFLAG, T.NL0, T.NLDLY), ("nl1", OFLAG, T.NL1, T.NLDLY),
    ("tab0", OFLAG, T.TAB0, T.TABDLY), ("tab1", OFLAG, T.TAB1, T.TABDLY),
    ("tab2", OFLAG, T.TAB2, T.TABDLY), ("tab3", OFLAG, T.TAB3, T.TABDLY),
    ("xtabs", OFLAG, T.XTABS, T.TABDLY),
    ("bs0", OFLAG, T.BS0, T.BSDLY), ("bs1", OFLAG, T.BS1, T.BSDLY),
    ("vt0", OFLAG, T.VT0, T.VTDLY), ("vt1", OFLAG, T.VT1, T.VTDLY),
    ("ff0", OFLAG, T.FF0, T.FFDLY), ("ff1", OFLAG, T.FF1, T.FFDLY),
    ("cs5", CFLAG, T.CS5, T.CSIZE), ("cs6", CFLAG, T.CS6, T.CSIZE),
    ("cs7", CFLAG, T.CS7, T.CSIZE), ("cs8", CFLAG, T.CS8, T.CSIZE),
)

_SPEEDS = (0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600,
           19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
           1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000)

# (name, word, mask, shift): numeric bit fields
_VALUES = (("crdly", OFLAG, T.CRDLY, 9), ("tabdly", OFLAG, T.TABDLY, 11),
           ("csize", CFLAG, T.CSIZE, 4))

# control characters: (name, nick, index)
_CHARS = (("vintr", "intr", T.VINTR), ("vquit", "quit", T.VQUIT),
          ("verase", "erase", T.VERASE), ("vkill", "kill", T.VKILL),
          ("veof", "eof", T.VEOF), ("vtime", "time", T.VTIME), ("vmin", "min", T.VMIN),
          ("vswtc", "swtc", T.VSWTC), ("vstart", "start", T.VSTART),
          ("vstop", "stop", T.VSTOP), ("vsusp", "susp", T.VSUSP), ("veol", "eol", T.VEOL),
          ("vreprint", "reprint", T.VREPRINT), ("vdiscard", "discard", T.VDISCARD),
          ("vwerase", "werase", T.VWERASE), ("vlnext", "lnext", T.VLNEXT),
          ("veol2", "eol2", T.VEOL2))
_CHAR_ALIASES = {"vswtc": ("swtch",), "vreprint": ("rprnt",)}

_FLAG_ALIASES = {"echoe": ("crterase",), "echoke": ("crtkill",), "echoctl": ("ctlecho",),
                 "echoprt": ("prterase",), "hupcl": ("hup",), "ixoff": ("tandem",)}

for _n, _w, _m in _FLAGS:
    opt(_n, "BOOL", "TERMIOS", "FD", ("termios", "flag", _w, _m),
        f"set (or with =0 clear) the terminal flag {_n.upper()}", _FLAG_ALIASES.get(_n, ()))
for _n, _w, _v, _m in _PATTERNS:
    opt(_n, "CONST", "TERMIOS", "FD", ("termios", "pattern", _w, _v, _m),
        f"terminal field {_n[:-1].upper()} := {_n.upper()}")
for _s in _SPEEDS:
    opt(f"b{_s}", "CONST", "TERMIOS", "FD",
        ("termios", "pattern", CFLAG, getattr(T, f"B{_s}"), T.CBAUD),
        f"line speed {_s} baud" if _s else "hang up (speed 0)")
for _n, _w, _m, _sh in _VALUES:
    opt(_n, "UINT", "TERMIOS", "FD", ("termios", "value", _w, _m, _sh),
        f"numeric value of the terminal field {_n.upper()}")
for _n, _nick, _i in _CHARS:
    opt(_n, "BYTE", "TERMIOS", "FD", ("termios", "char", _i),
        f"control character {_n[1:].upper()}", (_nick,) + _CHAR_ALIASES.get(_n, ()), nick=_nick)
opt("raw", "CONST", "TERMIOS", "FD", ("termios", "spec", "raw"),
    "raw mode: no line editing, signals or character translation")
opt("sane", "CONST", "TERMIOS", "FD", ("termios", "spec", "sane"),
    "reset to sane settings (like stty sane)")
opt("termios-cfmakeraw", "CONST", "TERMIOS", "FD", ("termios", "spec", "cfmakeraw"),
    "raw mode as cfmakeraw(3) sets it", ("cfmakeraw",), nick="cfmakeraw")
opt("termios-rawer", "CONST", "TERMIOS", "FD", ("termios", "spec", "rawer"),
    "all flags off except CREAD and CS8", ("rawer",), nick="rawer")
opt("ispeed", "UINT", "TERMIOS", "FD", ("termios", "speed", 0),
    "input speed as a B* constant (cfsetispeed)")
opt("ospeed", "UINT", "TERMIOS", "FD", ("termios", "speed", 1),
    "output speed as a B* constant (cfsetospeed)")
opt("tiocswinsz", "INT:INT", "TERMIOS", "FD", ("winsz",),
    "the size of the (pseudo) terminal: <col>:<row> (TIOCSWINSZ)", ("winsz",), nick="winsz",
    since="1.8")
opt("termios-setflags", "INT:ULONG", "TERMIOS", "FD", ("termios", "setflags"),
    "set one flag word of struct termios: <word>:<flags>, word 0 c_iflag .. 3 c_lflag",
    ("setflags",), nick="setflags", since="1.8")
opt("tiocsctty", "BOOL", "TERMIOS", "LATE2", ("ctty",),
    "make the terminal the controlling terminal", ("ctty",), nick="ctty")


# --- application -------------------------------------------------------------
_RAW_I = (T.IGNBRK | T.BRKINT | T.IGNPAR | T.PARMRK | T.INPCK | T.ISTRIP | T.INLCR
          | T.IGNCR | T.ICRNL | T.IXON | T.IXOFF | T.IUCLC | T.IXANY | T.IMAXBEL)


def _spec(attrs: list, what: str) -> None:
    cc = attrs[6]
    if what == "raw":
        attrs[IFLAG] &= ~_RAW_I
        attrs[OFLAG] &= ~T.OPOST
        attrs[LFLAG] &= ~(T.ISIG | T.ICANON | T.XCASE)
        cc[T.VMIN], cc[T.VTIME] = 1, 0
    elif what == "rawer":
        attrs[IFLAG] = attrs[OFLAG] = attrs[LFLAG] = 0
        attrs[CFLAG] = T.CREAD | T.CS8
        cc[T.VMIN], cc[T.VTIME] = 1, 0
    elif what == "sane":
        attrs[IFLAG] &= ~(T.IGNBRK | T.INLCR | T.IGNCR | T.IXOFF | T.IUCLC | T.IXANY)
        attrs[IFLAG] |= T.BRKINT | T.ICRNL | T.IMAXBEL
        attrs[OFLAG] &= ~(T.OLCUC | T.OCRNL | T.ONOCR | T.ONLRET | T.OFILL | T.OFDEL
                          | T.NLDLY | T.CRDLY | T.TABDLY | T.BSDLY | T.VTDLY | T.FFDLY)
        attrs[OFLAG] |= T.OPOST | T.ONLCR
        attrs[CFLAG] |= T.CREAD
        attrs[LFLAG] &= ~(T.ECHONL | T.NOFLSH | T.XCASE | T.TOSTOP | T.ECHOPRT)
        attrs[LFLAG] |= (T.ISIG | T.ICANON | T.IEXTEN | T.ECHO | T.ECHOE | T.ECHOK
                         | T.ECHOCTL | T.ECHOKE)
    else:  # cfmakeraw(3), as glibc does it
        attrs[IFLAG] &= ~(T.IGNBRK | T.BRKINT | T.PARMRK | T.ISTRIP | T.INLCR | T.IGNCR
                          | T.ICRNL | T.IXON)
        attrs[OFLAG] &= ~T.OPOST
        attrs[LFLAG] &= ~(T.ECHO | T.ECHONL | T.ICANON | T.ISIG | T.IEXTEN)
        attrs[CFLAG] &= ~(T.CSIZE | T.PARENB)
        attrs[CFLAG] |= T.CS8
        cc[T.VMIN], cc[T.VTIME] = 1, 0


def _valid_speed(speed: int) -> bool:
    """glibc's cfset[io]speed accepts the B* constants only (else EINVAL)."""
    return not speed & ~T.CBAUD


VALUE_PARSERS["INT:INT"] = int_pair
VALUE_PARSERS["INT:ULONG"] = int_pair


def _signed(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _apply_winsz(fd: int, it) -> None:
    """socat's xiotermios_tiocswinsz(): ioctl(fd, TIOCSWINSZ, {row, col})."""
    import fcntl
    import struct
    col, row = _signed(it.value[0]), _signed(it.value[1])
    vals = {}
    for what, v in (("row", row), ("col", col)):
        if v < 0:
            LOG.warn(f"xiotermios_tiocswinsz(): {what} {v} is outside range 0..65535, "
                     "falling back to 0")
            v = 0
        elif v > 0xFFFF:
            LOG.warn(f"xiotermios_tiocswinsz(): {what} {v} is outside range 0..65535, "
                     "falling back to 65535")
            v = 0xFFFF
        vals[what] = v
    try:
        fcntl.ioctl(fd, T.TIOCSWINSZ, struct.pack("HHHH", vals["row"], vals["col"], 0, 0))
    except OSError as e:
        raise SocatError(f"ioctl({fd}, TIOCSWINSZ, {{ {vals['col']},{vals['row']} }}: "
                         f"{e.strerror}") from None


def _apply_termios(fd: int, it) -> None:
    """tcgetattr, change one thing, tcsetattr(TCSADRAIN) — socat's xiotermios_*."""
    kind = it.row.apply[1]
    args = it.row.apply[2:]
    if kind == "setflags":
        word, val = _signed(it.value[0]), it.value[1] & 0xFFFFFFFF
        if not 0 <= word < 4:
            raise SocatError(f"xiotermios_setflags(fd={fd}, word={word}, val={val}): "
                             "word must be 0..3")
    if kind == "value":
        word, mask, shift = args
        v = int(it.value)
        if ((v << shift) & mask) != (v << shift):
            raise SocatError(f"option {it.row.name}: invalid value {v}")
    try:
        attrs = T.tcgetattr(fd)
    except T.error as e:
        raise SocatError(f"tcgetattr({fd}, 0x{id(it):x}): {os.strerror(e.args[0])}") from None
    cc = attrs[6]
    if kind == "setflags":
        attrs[word] = val
    elif kind == "flag":
        word, mask = args
        if it.value:
            attrs[word] |= mask
        else:
            attrs[word] &= ~mask
    elif kind == "pattern":
        word, value, mask = args
        attrs[word] = (attrs[word] & ~mask) | value
    elif kind == "value":
        word, mask, shift = args
        attrs[word] = (attrs[word] & ~mask) | ((int(it.value) << shift) & mask)
    elif kind == "char":
        cc[args[0]] = int(it.value) & 0xFF
    elif kind == "speed":
        speed = int(it.value)
        call = ("cfsetispeed", "cfsetospeed")[args[0]]
        if not _valid_speed(speed):
            raise SocatError(f"{call}(0x{id(attrs):x}, {speed}): Invalid argument")
        if speed or args[0]:
            # on Linux both speeds live in the CBAUD bits of c_cflag
            attrs[CFLAG] = (attrs[CFLAG] & ~T.CBAUD) | speed
    else:
        _spec(attrs, args[0])
    # Python's tcsetattr calls cfset[io]speed with these: keep them as c_cflag says
    attrs[4] = attrs[5] = attrs[CFLAG] & T.CBAUD
    try:
        T.tcsetattr(fd, T.TCSADRAIN, attrs)
    except T.error as e:
        raise SocatError(f"tcsetattr({fd}, TCSADRAIN, 0x{id(attrs):x}): "
                         f"{os.strerror(e.args[0])}") from None


def _apply_ctty(fd: int, it) -> None:
    """socat's OPT_TIOCSCTTY: drop the old controlling tty, take this one."""
    import fcntl
    if not it.value or it.used:
        return
    try:
        mytty = os.open("/dev/tty", os.O_NOCTTY)
    except OSError as e:
        from ..versions import ACTIVE
        (LOG.info if ACTIVE.quieter_messages else LOG.warn)(
            f'open("/dev/tty", O_NOCTTY, 0640): {e.strerror}')
    else:
        try:
            fcntl.ioctl(mytty, T.TIOCNOTTY)
        except OSError as e:
            LOG.warn(f"ioctl({mytty}, TIOCNOTTY, NULL): {e.strerror}")
        os.close(mytty)
    try:
        fcntl.ioctl(fd, T.TIOCSCTTY, 0)
    except OSError as e:
        LOG.warn(f"ioctl({fd}, TIOCSCTTY, NULL): {e.strerror}")
    try:
        os.tcsetpgrp(0, os.getpid())
    except OSError as e:
        LOG.warn(f"tcsetpgrp({os.getpid()}): {e.strerror}")


register_applier("termios", _apply_termios)
register_applier("ctty", _apply_ctty)
register_applier("winsz", _apply_winsz)


def is_termios(row) -> bool:
    return row.apply[0] in ("termios", "ctty", "winsz")
