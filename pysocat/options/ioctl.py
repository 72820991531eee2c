"""Generic ioctls (ioctl-void/-int/-intp/-bin/-string), the socket owner ioctls
(fiosetown, siocspgrp) and the file system attribute flags of chattr(1)
(fs-*, with socat's ext2-*/ext3-* and short aliases), as socat 1.7/1.8 apply them.

The generic rows take the request number and its argument from the value
(``ioctl-int=0x5421:1``); the fs-* rows read the flags with FS_IOC_GETFLAGS, set or
clear their bit and write them back with FS_IOC_SETFLAGS, at phase FD.
"""
from __future__ import annotations

from ..errors import OptionError
from .table import opt, register_applier
from .values import VALUE_PARSERS, int_pair, strtoul

FS_IOC_GETFLAGS, FS_IOC_SETFLAGS = 0x80086601, 0x40086602
FIOSETOWN, SIOCSPGRP = 0x8901, 0x8902

opt("ioctl-void", "INT", "FD", "FD", ("ioctl-generic",),
    "ioctl(fd, request, NULL)", ("ioctl",), nick="ioctl")
opt("ioctl-int", "INT:INT", "FD", "FD", ("ioctl-generic",), "ioctl(fd, request, int)")
opt("ioctl-intp", "INT:INTP", "FD", "FD", ("ioctl-generic",),
    "ioctl(fd, request, pointer to int)")
opt("ioctl-bin", "INT:BIN", "FD", "FD", ("ioctl-generic",), "ioctl(fd, request, data)")
opt("ioctl-string", "INT:STRING", "FD", "FD", ("ioctl-generic",),
    "ioctl(fd, request, string)")
opt("fiosetown", "INT", "SOCKET", "PASTSOCKET", ("ioctl-intp", FIOSETOWN),
    "the process (group) that gets SIGIO/SIGURG for the socket (FIOSETOWN)")
opt("siocspgrp", "INT", "SOCKET", "PASTSOCKET", ("ioctl-intp", SIOCSPGRP),
    "the process (group) that gets SIGIO/SIGURG for the socket (SIOCSPGRP)")

# name, flag, short alias (or None), socat's nickname (listed by -hh when it is a name)
_FS = (("secrm", 0x1, "secrm", "secrm", "secure deletion (chattr s)"),
       ("unrm", 0x2, "unrm", "unrm", "undelete (chattr u)"),
       ("compr", 0x4, "compr", "compr", "compress the file (chattr c)"),
       ("sync", 0x8, None, "sync", "synchronous updates (chattr S)"),
       ("immutable", 0x10, "immutable", "immutable", "immutable file (chattr i)"),
       ("append", 0x20, None, "append", "writes may only append (chattr a)"),
       ("nodump", 0x40, "nodump", "nodump", "not dumped (chattr d)"),
       ("noatime", 0x80, None, "noatime", "no access time updates (chattr A)"),
       ("journal-data", 0x4000, "journal-data", "journal-data", "journal the data (chattr j)"),
       ("notail", 0x8000, None, "notail", "no tail merging (chattr t)"),
       ("dirsync", 0x10000, "dirsync", "dirsync", "synchronous directory updates (chattr D)"),
       ("topdir", 0x20000, "topdir", "topdir", "top of a directory hierarchy (chattr T)"))
for _name, _flag, _short, _nick, _help in _FS:
    _al = (f"ext2-{_name}", f"ext3-{_name}") + ((_short,) if _short else ())
    if _name == "journal-data":
        _al += ("journal",)
    opt(f"fs-{_name}", "BOOL", "REG", "FD", ("fsflag", _flag), _help, _al, nick=_nick)


def _req_then(value, raw, name, second):
    """``request:rest``: socat's TYPE_INT_* parsers (request by strtoul, base 0)."""
    if value is None:
        raise OptionError(f'option "{raw}": values required')
    req, rest = strtoul(value, 0)
    if req is None:
        raise OptionError(f'parseopts(): missing numerical value of option "{raw}"')
    if rest[:1] != ":":
        raise OptionError(f'parseopts(): trailing garbage in numerical arg of option "{raw}"')
    if rest == "":
        raise OptionError(f'parseopts(): option "{name}": 2 arguments required')
    rest = rest[1:]
    if second == "bin":
        from .dalan import dalan
        rc, data = dalan(rest, 1024)
        if rc != 0:
            raise OptionError(f'parseopts_table(): problem with "{rest}" data')
        return (req & 0xFFFFFFFF, data)
    return (req & 0xFFFFFFFF, rest)


VALUE_PARSERS["INT:INTP"] = int_pair        # INT:INT is termios.py's (winsz), the same
VALUE_PARSERS["INT:BIN"] = lambda v, raw, name: _req_then(v, raw, name, "bin")
VALUE_PARSERS["INT:STRING"] = lambda v, raw, name: _req_then(v, raw, name, "string")


def _ioctl(fd, req, arg, shown):
    import fcntl
    from ..errors import SocatError
    try:
        return fcntl.ioctl(fd, req, arg)
    except OSError as e:
        raise SocatError(f"ioctl({fd}, 0x{req:x}, {shown}): {e.strerror}") from None


def _ptr(obj) -> str:
    return f"0x{id(obj):x}"        # socat prints the address of its buffer


def _apply_generic(fd: int, it) -> None:
    import struct
    t = it.row.type
    if t == "INT":
        req = it.value & 0xFFFFFFFF
        _ioctl(fd, req, 0, "NULL")
        return
    req, arg = it.value
    if t in ("INT:INT", "INT:INTP"):    # socat's u_int, passed as a C int
        arg &= 0xFFFFFFFF
    if t == "INT:INT":
        _ioctl(fd, req, arg - (1 << 32) if arg >= 1 << 31 else arg, f"0x{arg:x}")
    elif t == "INT:INTP":
        buf = bytearray(struct.pack("I", arg))
        _ioctl(fd, req, buf, _ptr(buf))
    elif t == "INT:BIN":
        buf = bytearray(arg)
        _ioctl(fd, req, buf, _ptr(buf))
    else:
        buf = bytearray(arg.encode() + b"\0")
        _ioctl(fd, req, buf, _ptr(buf))


def _apply_intp(fd: int, it) -> None:
    import struct
    buf = bytearray(struct.pack("i", it.value))
    _ioctl(fd, it.row.apply[1], buf, _ptr(buf))


def _apply_fsflag(fd: int, it) -> None:
    import struct
    flag = it.row.apply[1]
    buf = bytearray(8)
    _ioctl(fd, FS_IOC_GETFLAGS, buf, _ptr(buf))
    val = struct.unpack("l", buf)[0] & ~flag
    if it.value:
        val |= flag
    buf = bytearray(struct.pack("l", val))
    _ioctl(fd, FS_IOC_SETFLAGS, buf, _ptr(buf))


register_applier("ioctl-generic", _apply_generic)
register_applier("ioctl-intp", _apply_intp)
register_applier("fsflag", _apply_fsflag)
