"""Options of the groups every non-network address uses.

FD (any descriptor), NAMED (file system entries), OPEN (open(2) flags),
APPL (the relay's own per-side behaviour), FORK/EXEC/PARENT (programs).
Rows only: the families read ``"addr"`` rows themselves; ``openflag`` and
``fdflag`` rows are applied generically (options/table.py).
"""
import os

from .table import OFFSET, opt

# --- OPEN: flags of open(2), honoured by OPEN, GOPEN, PIPE, CREATE ----------
opt("o-rdonly", "BOOL", "OPEN", "OPEN", ("addr",), "open read-only", ("rdonly", "o_rdonly"), nick="rdonly")
opt("o-wronly", "BOOL", "OPEN", "OPEN", ("addr",), "open write-only", ("wronly", "o_wronly"), nick="wronly")
opt("o-rdwr", "BOOL", "OPEN", "OPEN", ("addr",), "open read-write", ("rdwr", "o_rdwr"), nick="rdwr")
opt("o-create", "BOOL", "OPEN", "OPEN", ("openflag", os.O_CREAT), "create the file if it is missing", ("creat", "create", "o-creat", "o_create"), nick="creat",
    help18={"name": "o-creat"}, aliases18=("o_creat",))
opt("o-excl", "BOOL", "OPEN", "OPEN", ("openflag", os.O_EXCL), "with creat: fail when the file exists", ("excl", "o_excl"), nick="excl")
opt("o-noctty", "BOOL", "OPEN", "OPEN", ("openflag", os.O_NOCTTY), "do not make a tty the controlling terminal", ("noctty", "o_noctty"), nick="noctty")
opt("o-sync", "BOOL", "OPEN", "OPEN", ("openflag", os.O_SYNC), "synchronous writes", ("sync", "o_sync"), nick="sync")
opt("o-dsync", "BOOL", "OPEN", "OPEN", ("openflag", os.O_DSYNC), "synchronous data writes", ("dsync", "o_dsync"), nick="dsync")
opt("o-rsync", "BOOL", "OPEN", "OPEN", ("openflag", os.O_RSYNC), "synchronous reads", ("rsync", "o_rsync"), nick="rsync")
opt("o-nofollow", "BOOL", "OPEN", "OPEN", ("openflag", os.O_NOFOLLOW), "do not follow a symbolic link", ("nofollow", "o_nofollow"), nick="nofollow")
opt("o-directory", "BOOL", "OPEN", "OPEN", ("openflag", os.O_DIRECTORY), "fail unless a directory", ("directory", "o_directory"), nick="directory")
opt("o-largefile", "BOOL", "OPEN", "OPEN", ("openflag", os.O_LARGEFILE), "allow files over 2 GiB", ("largefile", "o_largefile"), nick="largefile")
opt("o-trunc", "BOOL", "OPEN", "LATE", ("addr",), "truncate the file to length 0", ("trunc",), nick="trunc")
# --- FD: any file descriptor ------------------------------------------------
opt("append", "BOOL", "FD,OPEN", "LATE", ("fdflag", os.O_APPEND), "append every write", ("o-append",))
opt("o-nonblock", "BOOL", "FD,OPEN", "FD", ("fdflag", os.O_NONBLOCK), "non-blocking mode", ("nonblock", "o-ndelay", "ndelay", "o_ndelay"), nick="nonblock")
opt("o-noatime", "BOOL", "FD,OPEN", "FD", ("fdflag", os.O_NOATIME), "do not update the access time", ("noatime",), nick="noatime")
opt("async", "BOOL", "FD,OPEN", "LATE", ("fdflag", os.O_ASYNC), "signal-driven I/O", ("o-async",))
opt("cloexec", "BOOL", "FD", "LATE", ("cloexec",), "close on exec")
opt("cool-write", "BOOL", "FD", "INIT", ("addr",),
    "a write failing with EPIPE or ECONNRESET is a notice, not an error", ("coolwrite",), nick="coolwrite")
opt("flock-ex", "BOOL", "FD", "FD", ("flock", "LOCK_EX"), "exclusive flock(2), waits", ("flock",), nick="flock")
opt("flock-ex-nb", "BOOL", "FD", "FD", ("flock", "LOCK_EX_NB"), "exclusive flock(2), fails at once", ("flock-nb",), nick="flock-nb")
opt("flock-sh", "BOOL", "FD", "FD", ("flock", "LOCK_SH"), "shared flock(2), waits")
opt("flock-sh-nb", "BOOL", "FD", "FD", ("flock", "LOCK_SH_NB"), "shared flock(2), fails at once")
opt("f-setlk-rd", "BOOL", "FD", "FD", ("fcntl-lock", "F_SETLK", "F_RDLCK"), "POSIX read lock, fails at once", ("setlk-rd",), nick="setlk-rd")
opt("f-setlk-wr", "BOOL", "FD", "FD", ("fcntl-lock", "F_SETLK", "F_WRLCK"), "POSIX write lock, fails at once", ("f-setlk", "setlk", "setlk-wr"), nick="setlk")
opt("f-setlkw-rd", "BOOL", "FD", "FD", ("fcntl-lock", "F_SETLKW", "F_RDLCK"), "POSIX read lock, waits", ("setlkw-rd",), nick="setlkw-rd")
opt("f-setlkw-wr", "BOOL", "FD", "FD", ("fcntl-lock", "F_SETLKW", "F_WRLCK"), "POSIX write lock, waits", ("f-setlkw", "setlkw", "setlkw-wr", "lock", "lockw"), nick="setlkw")
# lseek at LATE: socat's 32-bit rows and 64-bit rows (off_t is 64 bits here)
for _bits, _t, _nicks in (("32", "OFF_T", {}), ("64", "OFF64_T", {"set": "seek", "cur": "seek-cur",
                                                                  "end": "seek-end"})):
    for _w, _whence in (("set", os.SEEK_SET), ("cur", os.SEEK_CUR), ("end", os.SEEK_END)):
        _al = ()
        if _w == "set":
            _al = (f"lseek{_bits}",) + (("lseek", "seek", "seek-set") if _bits == "64" else ())
        elif _bits == "64":
            _al = (f"seek-{_w}",)
        opt(f"lseek{_bits}-{_w}", _t, "REG,BLK", "LATE",
            ("seek", "lseek" if _bits == "32" else "lseek64", _whence),
            f"lseek() to this offset from the {'start' if _w == 'set' else 'current position' if _w == 'cur' else 'end'}",
            _al, nick=_nicks.get(_w))
opt("o-direct", "BOOL", "OPEN", "OPEN", ("openflag", getattr(os, "O_DIRECT", 0o40000)),
    "open with O_DIRECT: no page cache", ("direct", "o_direct"), nick="direct")
opt("f-setpipe-sz", "INT", "FIFO", "FD", ("fcntl-int", 1031),
    "set the pipe's capacity (F_SETPIPE_SZ)", ("pipesz",), nick="pipesz", since="1.8")
opt("ftruncate32", "OFF_T", "REG", "LATE", ("ftruncate", "ftruncate"), "truncate the file to this length")
opt("ftruncate64", "OFF64_T", "REG", "LATE", ("ftruncate", "ftruncate64"), "truncate the file to this length", ("ftruncate", "truncate"), nick="truncate")
opt("perm", "MODE_T", "FD,NAMED", "FD", ("fchmod",), "permission bits of the file", ("mode",), nick="mode")
opt("perm-late", "MODE_T", "FD", "LATE", ("fchmod",), "permission bits, set late")
opt("user", "UID_T", "FD,NAMED", "FD", ("fchown", "uid"), "owner of the file", ("owner", "uid"), nick="uid")
opt("user-late", "UID_T", "FD", "LATE", ("fchown", "uid"), "owner, set late", ("uid-l",), nick="uid-l")
opt("group", "GID_T", "FD,NAMED", "FD", ("fchown", "gid"), "group of the file", ("gid",), nick="gid")
opt("user-early", "UID_T", "NAMED", "PREOPEN", ("addr",),
    "owner of an existing file, set before it is opened", ("uid-e",))
opt("group-early", "GID_T", "NAMED", "PREOPEN", ("addr",),
    "group of an existing file, set before it is opened", ("gid-e",))
opt("perm-early", "MODE_T", "NAMED", "PREOPEN", ("addr",),
    "permission bits of an existing file, set before it is opened")
opt("group-late", "GID_T", "FD", "LATE", ("fchown", "gid"), "group, set late", ("gid-l",), nick="gid-l")
opt("shut-none", "CONST", "FD", "INIT", ("addr",), "do not half-close this side at EOF", help18=OFFSET)
opt("shut-down", "CONST", "FD", "INIT", ("addr",), "half-close with shutdown(2)", help18=OFFSET)
opt("shut-close", "CONST", "FD", "INIT", ("addr",), "half-close by closing the descriptor", help18=OFFSET)
opt("shut-null", "CONST", "FD", "INIT", ("addr",), "half-close by sending an empty packet", help18=OFFSET)
opt("end-close", "CONST", "FD", "INIT", ("addr",),
    "at EOF and at the end just close (sockets: no shutdown)", ("close",), nick="close",
    help18=OFFSET)
# --- NAMED: the file system entry -------------------------------------------
opt("unlink-early", "BOOL", "NAMED", "EARLY", ("addr",), "remove the file before opening", ("new",))
opt("unlink", "BOOL", "NAMED", "PREOPEN", ("addr",), "remove an existing file before opening",
    ("delete", "remove"))
opt("unlink-late", "BOOL", "NAMED", "PASTOPEN", ("addr",), "remove the file right after opening")
opt("unlink-close", "BOOL", "NAMED", "LATE", ("addr",), "remove the file when the address is closed")
opt("umask", "MODE_T", "NAMED", "EARLY", ("addr",), "umask while creating the file",
    help18={"groups": frozenset(), "phase": "INIT"})    # 1.8: every address (process.py)
# --- APPL: how the relay treats this side (valid on every address) ------------
opt("ignoreeof", "BOOL", "APPL", "LATE", ("addr",), "at EOF keep reading (like tail -f)",
    ("ignoreof",))
opt("readbytes", "SIZE_T", "APPL", "LATE", ("addr",), "read at most this many bytes, then EOF", ("bytes",), nick="bytes")
opt("cr", "CONST", "APPL", "LATE", ("addr",), "this side ends lines with CR")
opt("crnl", "CONST", "APPL", "LATE", ("addr",), "this side ends lines with CR LF", ("crlf",))
opt("escape", "INT", "APPL", "INIT", ("addr",), "this byte read on this side means EOF")
# --- FORK / EXEC / PARENT: programs ---------------------------------------------
opt("pipes", "BOOL", "FORK", "BIGEN", ("addr",), "talk to the program through two pipes")
opt("pty", "BOOL", "FORK", "BIGEN", ("addr",), "talk to the program through a pseudo terminal")
opt("nofork", "BOOL", "FORK", "BIGEN", ("addr",), "exec the program in socat's own process")
opt("stderr", "BOOL", "FORK", "PASTFORK", ("addr",), "program's stderr goes to the channel too")
opt("fdin", "USHORT", "FORK", "PASTBIGEN", ("addr",), "program reads from this fd")
opt("fdout", "USHORT", "FORK", "PASTBIGEN", ("addr",), "program writes to this fd")
opt("setsid", "BOOL", "PROCESS", "LATE", ("addr",), "run in a new session (the program's, or socat's own)", ("sid",), nick="sid")
opt("setpgid", "INT", "FORK", "LATE", ("addr",), "program's process group", ("pgid",), nick="pgid")
opt("path", "STRING", "EXEC", "PREEXEC", ("addr",), "PATH for finding the program")
opt("dash", "BOOL", "EXEC", "PREEXEC", ("addr",), "argv[0] starts with '-' (login shell)", ("login",), nick="login")
