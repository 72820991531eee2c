"""POSIX message queues (new in socat 1.8): POSIXMQ-READ, -RECEIVE/-RECV, -SEND,
-WRITE and -BIDIRECTIONAL (alias POSIXMQ).

glibc's mq_open/mq_receive/mq_send (in libc since 2.34, librt before) through
ctypes; on Linux a queue descriptor is a file descriptor, so the relay
select()s on it like on any other. Every message is one packet. RECEIVE takes
one message and then reports EOF; with ``fork`` it waits for a message, forks
a child for it and waits until the child has taken it before it looks again.
SEND with ``fork`` forks a child whenever the queue has room, every
``interval``. After each message received, SOCAT_POSIXMQ_PRIO holds its
priority. A plain ``POSIXMQ`` in a read-write context is refused (it might
take messages meant for someone else); POSIXMQ-BIDIRECTIONAL confirms it.
"""
from __future__ import annotations

import errno
import os

from ..errors import SocatError
from ..log import LOG, NOTICE
from ..relay.endpoint import Endpoint
from .base import RDWR, READ, WRITE, finish
from .registry import address

PROC_MAXMSG = "/proc/sys/fs/mqueue/msg_default"
PROC_MSGSIZE = "/proc/sys/fs/mqueue/msgsize_default"

_LIB = None


class _Lib:
    """The mq_* calls of the C library, typed."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util
        lib = None
        for name in (None, ctypes.util.find_library("rt")):
            try:
                cand = ctypes.CDLL(name, use_errno=True)
                cand.mq_open
                lib = cand
                break
            except (OSError, AttributeError, TypeError):
                continue
        if lib is None:
            raise SocatError("POSIX message queues are not available (no mq_open in libc/librt)")
        c = ctypes

        class Attr(c.Structure):
            _fields_ = [("mq_flags", c.c_long), ("mq_maxmsg", c.c_long),
                        ("mq_msgsize", c.c_long), ("mq_curmsgs", c.c_long),
                        ("pad", c.c_long * 4)]
        self.c = c
        self.Attr = Attr
        self.open = lib.mq_open
        self.open.restype = c.c_int
        self.open.argtypes = [c.c_char_p, c.c_int, c.c_uint, c.POINTER(Attr)]
        self.receive = lib.mq_receive
        self.receive.restype = c.c_ssize_t
        self.receive.argtypes = [c.c_int, c.c_char_p, c.c_size_t, c.POINTER(c.c_uint)]
        self.send = lib.mq_send
        self.send.restype = c.c_int
        self.send.argtypes = [c.c_int, c.c_char_p, c.c_size_t, c.c_uint]
        self.getattr = lib.mq_getattr
        self.getattr.restype = c.c_int
        self.getattr.argtypes = [c.c_int, c.POINTER(Attr)]
        self.close = lib.mq_close
        self.close.restype = c.c_int
        self.close.argtypes = [c.c_int]
        self.unlink = lib.mq_unlink
        self.unlink.restype = c.c_int
        self.unlink.argtypes = [c.c_char_p]

    def err(self) -> str:
        return os.strerror(self.c.get_errno())


def lib() -> _Lib:
    global _LIB
    if _LIB is None:
        _LIB = _Lib()
    return _LIB


def _b(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def mq_unlink(name: str, warn: bool) -> None:
    L = lib()
    LOG.debug(f'mq_unlink("{name}")')
    if L.unlink(_b(name)) < 0:
        (LOG.warn if warn else LOG.info)(f'mq_unlink("{name}"): {L.err()}')


class PosixMQEndpoint(Endpoint):
    """One queue descriptor; every read one message, every write one message."""

    datagram = True
    zero_copy = False

    def __init__(self, mqd: int, name: str, prio: int, oneshot: bool) -> None:
        super().__init__(mqd, mqd, name)
        self.mqd = mqd
        self.qname = name
        self.prio = prio
        self.oneshot = oneshot
        self.done = False            # RECEIVE: the one message has been taken
        self.triggerfd = -1          # RECEIVE,fork child: tells the parent
        self.unlink_close = False

    def pending(self) -> bool:
        return self.done             # the EOF after the one message needs no select()

    def read(self, n: int):
        if self.done:
            return None
        L = lib()
        buf = L.c.create_string_buffer(n)
        prio = L.c.c_uint(0)
        LOG.debug(f"mq_receive(mqd={self.mqd}, 0x{L.c.addressof(buf):x}, {n}, {{}} )")
        got = L.receive(self.mqd, buf, n, L.c.byref(prio))
        if got < 0:
            err = L.c.get_errno()
            if err in (errno.EAGAIN, errno.EINTR):
                raise BlockingIOError(err, os.strerror(err))
            raise SocatError(f"mq_receive(mqd={self.mqd}): {os.strerror(err)}")
        LOG.debug(f"mq_receive() -> {got}")
        if self.triggerfd >= 0:
            os.close(self.triggerfd)
            self.triggerfd = -1
        LOG.info(f"mq_receive() ->  {{prio={prio.value}}}")
        from .sockets import set_env
        set_env("POSIXMQ_PRIO", str(prio.value))
        if self.oneshot:
            self.done = True
        return buf.raw[:got]

    def write(self, data) -> int:
        L = lib()
        data = bytes(data)
        LOG.debug(f"mq_send(mqd={self.mqd}, 0x0, {len(data)}, {self.prio})")
        if L.send(self.mqd, data, len(data), self.prio) < 0:
            raise SocatError(f"mq_send(mqd={self.mqd}): {L.err()}")
        LOG.debug("mq_send() -> 0")
        return len(data)

    def shutdown_write(self) -> None:
        return None                  # a queue has no half-close

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.mqd >= 0:
            L = lib()
            LOG.debug(f"xioclose_posixmq(): mq_close({self.mqd})")
            if L.close(self.mqd) < 0:
                LOG.warn(f"xioclose_posixmq(): mq_close({self.mqd}) -> -1: {L.err()}")
            else:
                LOG.debug("xioclose_posixmq(): mq_close() -> 0")
            self.mqd = -1
        if self.triggerfd >= 0:
            os.close(self.triggerfd)
            self.triggerfd = -1
        if self.unlink_close:
            mq_unlink(self.qname, warn=True)
        for func in self.on_close:
            func()
        for child in self.children:
            child.reap()


def _proc_default(path: str) -> int:
    try:
        with open(path, "rb") as f:
            return int(f.read(20).split()[0])
    except (OSError, ValueError, IndexError) as e:
        LOG.warn(f'open("{path}", O_RDONLY, 0): {getattr(e, "strerror", None) or e}')
        return 0


def _flush(name: str) -> None:
    """mq-flush: take whatever the queue holds now, before the real open."""
    L = lib()
    LOG.info(f'flushing POSIXMQ queue "{name}"')
    LOG.debug(f'mq_open("{name}", O_RDONLY|O_NONBLOCK, 0, NULL)')
    mqd = L.open(_b(name), os.O_RDONLY | os.O_NONBLOCK, 0, None)
    if mqd < 0:
        err = L.c.get_errno()
        if err == errno.ENOENT:
            LOG.info("this queue does not exist, no need to flush it")
            return
        _warn_fail(f'mq_open("{name}", ...): {os.strerror(err)}')
    try:
        attr = L.Attr()
        if L.getattr(mqd, L.c.byref(attr)) < 0:
            _warn_fail(f'mq_getattr({mqd}["{name}"], 0x0): {L.err()}')
        if attr.mq_curmsgs == 0:
            LOG.info(f'POSIXMQ "{name}" is empty')
            return
        size = attr.mq_msgsize
        buf = L.c.create_string_buffer(size)
        prio = L.c.c_uint(0)
        count = total = 0
        while True:
            got = L.receive(mqd, buf, size, L.c.byref(prio))
            if got == 0 or (got < 0 and L.c.get_errno() == errno.EAGAIN):
                break
            if got < 0:
                _warn_fail(f'flushing POSIXMQ "{name}" failed: {L.err()}')
            count += 1
            total += got
        LOG.info(f'flushed {total} bytes in {count} packets from queue "{name}"')
    finally:
        L.close(mqd)


def _warn_fail(text: str):
    """socat warns and then gives up without an error of its own (exit 1)."""
    LOG.warn(text)
    if LOG.level <= NOTICE:
        LOG.notice("exit(1)")
    raise SystemExit(1)


_ROLE = {"posixmq-read": READ, "posixmq-receive": READ, "posixmq-send": WRITE,
         "posixmq-write": WRITE, "posixmq-bidirectional": RDWR}


def open_posixmq(ctx, row, spec, opts, params):
    head = spec.head
    name = params[0]
    role = _ROLE[row.name]
    oneshot = row.name == "posixmq-receive"
    # a one-way type opened the other way: core.check_mode() has warned
    if row.name == "posixmq-bidirectional" and ctx.mode == RDWR and head.lower() == "posixmq":
        raise SocatError('Keyword "POSIXMQ" in bidirectional mode might unwanted flush the '
                         'queue; use "POSIXMQ-BIDIRECTIONAL" to confirm usage')
    dofork = bool(opts.get("fork"))
    dirs = ctx.mode if role == RDWR else role
    maxchildren = int(opts.get("max-children", 0) or 0)
    if not dofork and maxchildren:
        raise SocatError("option max-children not allowed without option fork")
    prio = opts.get("posixmq-priority")
    prio = 0 if prio is None else prio
    mine = opts.take(lambda r: r.name in ("o-create", "o-excl", "o-nonblock", "perm"))
    creat = mine.get("o-create")
    creat = True if creat is None else bool(creat)
    excl = bool(mine.get("o-excl"))
    nonblock = bool(mine.get("o-nonblock"))
    mode = mine.get("perm")
    mode = 0o666 if mode is None else mode
    flush = bool(opts.get("posixmq-flush"))
    maxmsg = opts.get("posixmq-maxmsg")
    msgsize = opts.get("posixmq-msgsize")
    setattrs = maxmsg is not None or msgsize is not None
    if setattrs:
        # only one of the two given: the other is the system's default
        if not maxmsg:
            maxmsg = _proc_default(PROC_MAXMSG)
        if not msgsize:
            msgsize = _proc_default(PROC_MSGSIZE)
    L = lib()
    if opts.get("unlink-early"):
        mq_unlink(name, warn=False)
    unlink_close = bool(opts.get("unlink-close"))
    oflag = os.O_CLOEXEC
    if creat:
        oflag |= os.O_CREAT
    if excl:
        oflag |= os.O_EXCL
    oflag |= (os.O_RDWR, os.O_RDONLY, os.O_WRONLY)[(RDWR, READ, WRITE).index(dirs)]
    if nonblock:
        oflag |= os.O_NONBLOCK
    if flush:
        _flush(name)
    attr = None
    if setattrs:
        attr = L.Attr(0, maxmsg, msgsize, 0)
        call = (f'{head}: mq_open("{name}", 0{oflag:o}, 0{mode:03o}, {{flags=0, '
                f"maxmsg={maxmsg}, msgsize={msgsize}, curmsgs=0}} )")
    else:
        call = f'{head}: mq_open("{name}", 0{oflag:o}, 0{mode:03o}, NULL)'
    LOG.debug(call)
    mqd = L.open(_b(name), oflag, mode, L.c.byref(attr) if attr is not None else None)
    LOG.debug(f"mq_open() -> {mqd}")
    if mqd < 0:
        raise SocatError(f"{call}: {L.err()}")
    got = L.Attr()
    LOG.debug(f"mq_getattr({mqd}, ...)")
    if L.getattr(mqd, L.c.byref(got)) < 0:
        text = f'mq_getattr({mqd}["{name}"], 0x0): {L.err()}'
        L.close(mqd)
        _warn_fail(text)
    LOG.info(f'POSIXMQ queue "{name}" attrs: {{ flags={got.mq_flags}, maxmsg={got.mq_maxmsg}, '
             f"msgsize={got.mq_msgsize}, curmsgs={got.mq_curmsgs} }}")
    if setattrs:
        if got.mq_maxmsg != maxmsg:
            LOG.warn(f"mq_open(): requested maxmsg={maxmsg}, but result is {got.mq_maxmsg}")
        if got.mq_msgsize != msgsize:
            LOG.warn(f"mq_open(): requested msgsize={msgsize}, but result is {got.mq_msgsize}")
    ep = PosixMQEndpoint(mqd, name, prio, oneshot)
    ep.unlink_close = unlink_close
    if dofork or oneshot:
        try:
            _wait_and_fork(ctx, opts, ep, head, dirs, nonblock, dofork, maxchildren)
        except BaseException:
            ep.close()
            raise
    return finish(ep, opts)


def _wait_until_ready(fd: int, dirs: int, mgr) -> None:
    """Until the queue has a message (READ) or room; every wait here ends
    after SIGNAL_LOOK at the latest (see sockets.SIGNAL_LOOK)."""
    import select
    from .sockets import SIGNAL_LOOK
    while True:
        if mgr is not None:
            if dirs == READ:
                if mgr.wait_readable([fd]):
                    return
                continue
        try:
            r, w, _ = select.select([fd] if dirs == READ else [],
                                    [fd] if dirs != READ else [], [], SIGNAL_LOOK)
        except InterruptedError:
            continue
        if r or w:
            return


def _wait_consumed(fd: int) -> None:
    """Until the child has taken the message: the trigger pipe's EOF (or byte)."""
    import select
    from .sockets import SIGNAL_LOOK
    while True:
        try:
            if not select.select([fd], [], [], SIGNAL_LOOK)[0]:
                continue
            os.read(fd, 1)
            return
        except InterruptedError:
            continue


def _wait_and_fork(ctx, opts, ep, head, dirs, nonblock, dofork, maxchildren):
    """RECEIVE waits for a message; with fork a child handles each message (or,
    for SEND, each time the queue has room), the parent goes on waiting."""
    mgr = None
    interval = 1.0
    if dofork:
        from .sockets import ForkManager, children_shutup
        mgr = ForkManager(maxchildren, children_shutup(opts))
        if maxchildren:
            mgr.install()        # socat watches its children only for max-children
        iv = opts.get("interval")
        if iv is not None:
            interval = float(iv)
        LOG.info("starting POSIX-MQ fork loop")
    while True:
        LOG.info(f"{head}: waiting for data or interval")
        if not nonblock:
            _wait_until_ready(ep.mqd, dirs, mgr)
        if not dofork:
            return
        LOG.info("generating pipe that triggers parent when packet has been consumed")
        trig = os.pipe() if dirs == READ else None
        pid = mgr.fork(close_in_child=(trig[0],) if trig else ())
        if pid == 0:
            if trig is not None:
                os.set_inheritable(trig[1], False)
                ep.triggerfd = trig[1]
            return
        if trig is not None:
            os.close(trig[1])
            _wait_consumed(trig[0])
            os.close(trig[0])
        if dirs != READ:
            import time
            time.sleep(interval)
        while maxchildren and len(mgr.children) >= maxchildren:
            LOG.notice(f"max of {len(mgr.children)} children is active, waiting")
            mgr.wait_readable([], None)
        LOG.info("continue listening")


def _steps(ctx):
    name = ctx.row.name
    role = _ROLE[name]
    dirs = ctx.mode if role == RDWR else role
    if role == RDWR and ctx.mode == RDWR and ctx.spec.head.lower() == "posixmq":
        raise SocatError('Keyword "POSIXMQ" in bidirectional mode might unwanted flush the '
                         'queue; use "POSIXMQ-BIDIRECTIONAL" to confirm usage')
    acc = ("O_RDWR", "O_RDONLY", "O_WRONLY")[(RDWR, READ, WRITE).index(dirs)]
    creat = "" if ctx.get("o-create") == 0 else "|O_CREAT"
    out = [("EARLY", 'mq_unlink("{mqname}")', "unlink-early"),
           ("EARLY", 'flush: mq_open("{mqname}", O_RDONLY|O_NONBLOCK) and mq_receive() until '
                     "empty", "posixmq-flush"),
           ("OPEN", f'mq_open("{{mqname}}", {acc}{creat}|O_CLOEXEC, '
                    f"0{ctx.get('perm', 0o666):03o}, "
                    + ("{{maxmsg, msgsize}})" if ctx.has("posixmq-maxmsg")
                       or ctx.has("posixmq-msgsize") else "NULL)")),
           ("OPEN", "mq_getattr(): the queue's maxmsg, msgsize and current messages")]
    if name == "posixmq-receive" or ctx.get("fork"):
        out.append(("ACCEPT", "wait until the queue has a message" if dirs == READ
                    else "wait until the queue has room"))
    if ctx.get("fork"):
        out.append(("FORK", "fork(): the child handles " + (
            "one message; the parent waits until it has taken it, then waits again"
            if dirs == READ else "the transfer; the parent waits the interval, then again")))
    if dirs != WRITE:
        out.append(("LATE", "mq_receive(): one message per read; SOCAT_POSIXMQ_PRIO is set to "
                            "its priority" + ("; then EOF" if name == "posixmq-receive" else "")))
    if dirs != READ:
        out.append(("LATE", "mq_send() of every read of the other side as one message, "
                            "priority {opt[posixmq-priority]}" if ctx.has("posixmq-priority")
                    else "mq_send() of every read of the other side as one message, priority 0"))
    out.append(("LATE", 'mq_unlink("{mqname}") at close', "unlink-close"))
    if name == "posixmq-read" and (ctx.config is None or ctx.config.total_timeout is None):
        ctx.advise("posixmq-no-eof", "a message queue has no end of file: POSIXMQ-READ never "
                   "ends the transfer by itself; use -T, or POSIXMQ-RECEIVE for one message")
    return out


_G = "FD,NAMED,OPEN,RETRY,POSIXMQ"
for _name, _groups, _help, _aliases in (
        ("posixmq-bidirectional", _G, "send and receive messages of a POSIX message queue",
         ("posixmq",)),
        ("posixmq-read", _G, "receive the messages of a POSIX message queue", ()),
        ("posixmq-receive", _G + ",CHILD",
         "receive one message of a POSIX message queue, then EOF (with fork: a child per "
         "message)", ("posixmq-recv",)),
        ("posixmq-send", _G + ",CHILD", "send messages to a POSIX message queue", ()),
        ("posixmq-write", _G + ",CHILD", "send messages to a POSIX message queue", ())):
    address(_name, ":<mqname>", _groups, open_posixmq, "POSIXMQ", _help, aliases=_aliases,
            steps=_steps, transport="packet", since="1.8")
