"""Datagram sockets as socat reads and writes them: the layer under UDP, IP and INTERFACE.

socat 1.7.4.4 (xio-socket.c ``_xioopen_dgram_sendto/recvfrom/recv``, xioread.c,
xiowrite.c) knows three ways to read a datagram socket, chosen per address:

``stream``    a connected socket (UDP-CONNECT, UDP-LISTEN): read()/write().
``recv``      XIOREAD_RECV (UDP-DATAGRAM, UDP-RECV, IP-DATAGRAM, IP-RECV): every
              packet's sender is checked (range, sourceport, lowport) and logged
              "permitting packet from …", then "received packet with N bytes from …";
              refused packets are dropped.
``recvfrom``  XIOREAD_RECV_FROM (UDP-SENDTO, UDP-RECVFROM, IP-SENDTO, IP-RECVFROM,
              INTERFACE): "received packet with N bytes from …"; when a peer is
              registered, packets from anyone else are ignored
              ("recvfrom(): wrong peer address, ignoring packet").
Writes go with sendto() to the registered peer and log "local address: …".
``oneshot`` (RECVFROM without fork) gives EOF after the first packet;
``skipip`` strips the IPv4 header raw sockets deliver.

This module builds on the shared socket layer (sockets.py) and adds only the
datagram semantics.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import socket
import struct

from ..errors import ReadInError, SocatError
from ..log import LOG, NOTICE
from ..options.multicast import apply_membership
from . import sockets as S
from .base import listening

AF_INET, AF_INET6 = socket.AF_INET, socket.AF_INET6
AF_PACKET = getattr(socket, "AF_PACKET", 17)
PACKET_OUTGOING = 4
CMSG_SPACE = 1024
SOL_PACKET, PACKET_AUXDATA = 263, 8


class DatagramEndpoint(S.SocketEndpoint):
    """A datagram socket read and written the socat way (see the module doc)."""

    def __init__(self, sock, name="", mode="recv", peer=None, local=None,
                 checker=None, skipip=False, oneshot=False, check_addr=True) -> None:
        super().__init__(sock, name, datagram=True, peer=peer, local=local)
        self.mode = mode
        self.checker = checker
        self.skipip = skipip
        self.oneshot = oneshot
        self.check_addr = check_addr    # recvfrom: compare senders with the peer
        self.sendto = peer if mode != "stream" else None
        self._eof = False
        self._plain = None              # read's fast path applies (decided once)
        self.parent = None              # RECVFROM,fork child: a ParentNotice

    # reading --------------------------------------------------------------
    def pending(self) -> bool:
        return self._eof

    def read(self, n: int, flags: int = 0):
        if self._eof:
            return None
        if self.mode == "stream":
            return self.sock.recv(n, flags) if flags else os.read(self.rfd, n)
        if self._plain is None:
            self._plain = self.mode == "recv" and self.family != AF_PACKET and \
                not self.skipip and not self.oneshot and \
                (self.checker is None or not self.checker.active())
        try:
            if self._plain and LOG.level > NOTICE:
                # nothing to check or log about the sender (ancillary data is only
                # logged): one recv() and no address object per packet
                data = self.sock.recv(n, flags)
                if data or self.null_eof:
                    return data or None
                raise BlockingIOError(errno.EAGAIN, "empty")
            data, anc, _flags, addr = self.sock.recvmsg(n, CMSG_SPACE, flags)
        except (BlockingIOError, InterruptedError):
            raise
        except OSError as e:
            if self.mode != "recv":
                raise
            # socat peeks at the packet first (xiogetancillary/xiogetpacketsrc):
            # its failure is only logged, and the direction is in error
            from ..versions import ACTIVE
            (LOG.info if ACTIVE.quieter_messages else LOG.warn)(f"recvmsg(): {e.strerror}")
            raise ReadInError(e.strerror) from None
        sender = _sockaddr(self.family, addr)
        if self.mode == "recv":
            if self.family == AF_PACKET:
                LOG.info(f"socket_init(): unknown address family {AF_PACKET}")
            log_ancillary(anc)
            if self.checker is not None and not self.checker.check(sender, sock=self.sock):
                raise BlockingIOError(errno.EAGAIN, "dropped")
            if self.family == AF_PACKET and anc:
                data = _restore_vlan(data, anc, n)
            if LOG.level <= NOTICE:     # per packet: build the texts only when shown
                LOG.info(f"permitting packet from {sender.info()}")
                LOG.notice(f"received packet with {len(data)} bytes from {sender.info()}")
        else:
            if self.family == AF_PACKET and not addr[2] & PACKET_OUTGOING:
                raise BlockingIOError(errno.EAGAIN, "not outgoing")  # as socat
            if LOG.level <= NOTICE:
                LOG.notice(f"received packet with {len(data)} bytes from {sender.info()}")
        if not data:
            if self.null_eof:
                return None
            raise BlockingIOError(errno.EAGAIN, "empty")
        if self.mode == "recvfrom" and self.peer is not None and self.check_addr \
                and not self._same_peer(sender):
            raise BlockingIOError(errno.EAGAIN, "other peer")
        if self.skipip and sender.family == AF_INET:
            hl = 4 * (data[0] & 0x0F)
            if hl > len(data):
                LOG.warn(f"xioread({self.rfd}, ...)/IP4: short packet")
                data = b""
            else:
                data = data[hl:]
        if self.oneshot:
            self._eof = True
            if self.parent:
                notice, self.parent = self.parent, None
                notice.notify()
        self.last_peer = sender
        return data

    def read_nowait(self, n: int):
        return self.read(n, socket.MSG_DONTWAIT)

    def batch_reader(self):
        """relay/batch.py: "mmsg" when recvmmsg() reads exactly what read() would
        (a connected socket, or RECV with nothing to check or log per packet)."""
        if self._eof or self.family == AF_PACKET or self.skipip or self.oneshot:
            return None
        if self.mode == "stream":
            return "mmsg"
        if self.mode == "recv" and (self.checker is None or not self.checker.active()):
            return "mmsg"
        return None

    def batch_writer(self):
        """relay/batch.py: "mmsg" when sendmmsg() sends what write() would."""
        if self.mode == "stream" and self.sendto is None:
            return "mmsg"
        if self.sendto is not None and self.sendto.family in (AF_INET, AF_INET6):
            return "mmsg"
        return None

    def send_failed(self, n: int, exc: OSError) -> SocatError:
        """socat's sendto() failure for a packet of n bytes."""
        dest = self.sendto
        return SocatError(f"sendto({self.wfd}, {n}, 0, {dest.info()}, {dest.salen()}): "
                          f"{exc.strerror}")

    def _same_peer(self, sender) -> bool:
        peer = self.peer
        if self.skipip:
            if peer.family != sender.family:
                LOG.info("recvfrom(): wrong peer protocol, ignoring packet")
                return False
            if peer.family == AF_INET and peer.host != sender.host:
                LOG.info("recvfrom(): wrong peer address, ignoring packet")
                return False
            return True
        if peer.family in (AF_INET, AF_INET6):
            same = peer.family == sender.family and \
                peer.packed_host() == sender.packed_host() and peer.port == sender.port
        else:
            same = peer == sender
        if not same:
            LOG.info("recvfrom(): wrong peer address, ignoring packet")
        return same

    # writing --------------------------------------------------------------
    def write(self, data) -> int:
        if self.sendto is None:
            if self.mode == "stream":
                return os.write(self.wfd, data)
            # RECV: socat sends to its empty peer address, which the kernel refuses
            raise SocatError(f'sendto({self.wfd}, {len(data)}, 0, AF=0 "<anon>", 0): '
                             f"{os.strerror(errno.EINVAL)}")
        dest = self.sendto
        fd = self.wfd
        try:
            n = self.sock.sendto(data, dest.addr)
        except OSError as e:
            raise self.send_failed(len(data), e) from None
        if n < len(data):
            LOG.warn(f"sendto({fd}, {len(data)}, 0, {dest.info()}, {dest.salen()}) "
                     f"only wrote {n} of {len(data)} bytes")
        if LOG.level <= NOTICE:         # a getsockname() per packet otherwise
            try:
                LOG.notice(f"local address: {S.sockaddr_of(self.sock).info()}")
            except OSError:
                pass
        return n

    def shutdown_write(self) -> None:
        if self.shut in ("none", "null", "close"):
            return super().shutdown_write()
        fd = self.wfd
        if self.howtoend == "none":
            # socat's xioshutdown for RECVFROM: close, this side is then at EOF
            LOG.info(f"close({fd})")
            self.sock.close()
            self._eof = True
            return
        LOG.info(f"shutdown({fd}, 1)")
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            from ..relay.endpoint import shutdown_failed
            shutdown_failed(fd, 1, e)


def _sockaddr(family, addr):
    if family == AF_PACKET:
        return PacketAddr(addr)
    return S.SockAddr(family, addr)


class PacketAddr(S.SockAddr):
    """A sockaddr_ll as socat's sockaddr_info shows it (``AF=17 …``)."""

    def __init__(self, addr) -> None:
        super().__init__(AF_PACKET, addr)

    def info(self) -> str:
        ifname, proto, pkttype, hatype, haddr = (tuple(self.addr) + (0, 0, 0, b""))[:5]
        try:
            ifindex = socket.if_nametoindex(ifname)
        except OSError:
            ifindex = 0
        raw = struct.pack("!H", proto) + struct.pack("=iHBB", ifindex, hatype, pkttype,
                                                      len(haddr)) + (haddr + bytes(8))[:8]
        return f"AF=17 AF=17 {_hexdump(raw[:14])}"

    def salen(self) -> int:
        return 20


def _hexdump(b: bytes) -> str:
    return "0x" + b.hex()


# ---------------------------------------------------------------------------
# ancillary messages (socat's xiodopacketinfo), for ip-pktinfo, ip-recvtos …
# ---------------------------------------------------------------------------

def log_ancillary(anc, withenv: bool = False) -> None:
    """Log (and with ``withenv`` export) each ancillary message like socat."""
    for level, ctype, cdata in anc:
        LOG.debug(f"ancillary message: len={len(cdata) + 16}, level={level}, type={ctype}, "
                  f"data={_xiodump(cdata)}")
        typ, names, envs, vals = _ancillary_items(level, ctype, cdata)
        for name, env, val in zip(names, envs, vals):
            LOG.info(f"ancillary message: {typ}: {name}={val}")
            if withenv:
                if env:
                    S.set_env(env, val)
                elif typ.lower().endswith(name.lower()):
                    S.set_env(typ, val)
                else:
                    S.set_env(f"{typ}_{name}", val)


def _auxdata(anc):
    """The struct tpacket_auxdata of a PACKET_AUXDATA message, or None."""
    for level, ctype, cdata in anc:
        if level == SOL_PACKET and ctype == PACKET_AUXDATA and len(cdata) >= 20:
            return struct.unpack("=IIIHHHH", cdata[:20])
    return None


def _restore_vlan(data: bytes, anc, bufsiz: int) -> bytes:
    """socat 1.8's xioread(): a frame whose VLAN tag the kernel reported in
    PACKET_AUXDATA (retrieve-vlan) gets it back before its network header."""
    aux = _auxdata(anc)
    if aux is None:
        return data
    tci, net = aux[5], aux[4]
    LOG.debug(f"xioread(..., ...): auxdata: flag=1, vlan-id={tci}")
    if not tci or net < 2:
        return data
    if len(data) + 4 > bufsiz:
        LOG.error("buffer too small to restore VLAN id")
    offs = net - 2
    return data[:offs] + struct.pack("!HH", 0x8100, tci) + data[offs:]


def _xiodump(data: bytes) -> str:
    return "x" + data.hex() if data else ""


def _ifname(index: int) -> str:
    try:
        return socket.if_indextoname(index)
    except OSError:
        return "(null)"


def _ancillary_items(level, ctype, cdata):
    """socat's xiolog_ancillary_socket/_ip/_ip6: (type, names, env names, values)."""
    dump = _xiodump(cdata)
    if level == socket.SOL_SOCKET:
        if ctype == 29 and len(cdata) >= 16:          # SCM_TIMESTAMP
            import time
            sec, usec = struct.unpack("=qq", cdata[:16])
            return "SCM_TIMESTAMP", ["timestamp"], ["TIMESTAMP"], \
                [f"{time.ctime(sec)}, {usec:06d} usecs"]
        return f"SOCKET.{ctype}", ["data"], [""], [dump]
    if level == socket.SOL_IP:
        if ctype == 8 and len(cdata) >= 12:           # IP_PKTINFO
            ifindex, spec, dst = struct.unpack("=i4s4s", cdata[:12])
            ifname = _ifname(ifindex)
            loc, dsta = socket.inet_ntoa(spec), socket.inet_ntoa(dst)
            LOG.notice(f'Ancillary message: interface "{ifname}", locaddr={loc}, dstaddr={dsta}')
            return "IP_PKTINFO", ["if", "locaddr", "dstaddr"], \
                ["IP_IF", "IP_LOCADDR", "IP_DSTADDR"], [ifname, loc, dsta]
        # IP_RECVOPTS (6) is logged as IP_OPTIONS, as socat does
        names = {4: ("IP_OPTIONS", "options"), 6: ("IP_OPTIONS", "options"),
                 1: ("IP_TOS", "tos"), 2: ("IP_TTL", "ttl")}
        if ctype in names:
            typ, name = names[ctype]
            val = dump
            if ctype not in (4, 6) and len(cdata) in (1, 4):
                n = cdata[0] if len(cdata) == 1 else struct.unpack("=I", cdata)[0]
                val = f"{n}"
                LOG.notice(f"Ancillary message: {name}={n}")
            return typ, [name], [""], [val]
        return "IP", [f"type_{ctype}"], [""], [dump]
    if level == 41:                                    # SOL_IPV6
        if ctype == 50 and len(cdata) >= 20:           # IPV6_PKTINFO
            addr, ifindex = struct.unpack("=16si", cdata[:20])
            return "IPV6_PKTINFO", ["dstaddr", "if"], ["IPV6_DSTADDR", "IPV6_IF"], \
                [S.inet6_text(addr), _ifname(ifindex)]
        if ctype == 52 and len(cdata) >= 4:            # IPV6_HOPLIMIT
            return "IPV6_HOPLIMIT", ["hoplimit"], [""], [f"{struct.unpack('=i', cdata[:4])[0]}"]
        names = {57: "rthdr", 10: "authhdr", 59: "dstopts", 54: "hopopts", 11: "flowinfo"}
        if ctype in names:
            return f"IPV6_{names[ctype].upper()}", [names[ctype]], [""], [dump]
        if ctype == 67 and len(cdata) >= 4:            # IPV6_TCLASS, as socat: ntohl'd
            u = struct.unpack("!I", cdata[:4])[0]
            return "IPV6_TCLASS", ["tclass"], [""], [_xiodump(struct.pack("=I", u)[:len(cdata)])]
        return f"IPV6.{ctype}", ["data"], [""], [dump]
    if level == SOL_PACKET and ctype == PACKET_AUXDATA and len(cdata) >= 20:
        st, ln, snap, mac, net, tci, tpid = struct.unpack("=IIIHHHH", cdata[:20])
        LOG.info(f"xiolog_ancillary_packet(): Ancillary message: PACKET_AUXDATA: "
                 f"status={st}, len={ln}, snaplen={snap}, mac={mac}, net={net}, "
                 f"vlan_tci={tci}, vlan_tpid={tpid}")
        return f"PACKET.{ctype}", [], [], []
    return f"LEVEL{level}", [f"type{ctype}"], [""], [dump]


# ---------------------------------------------------------------------------
# opening
# ---------------------------------------------------------------------------

def prepare_sendto(opts, pf, socktype, proto, us=None, lowport=False):
    """socat's _xioopen_dgram_sendto(): socket, options, bind; returns (sock, local)."""
    sock = S.make_socket(opts, pf, socktype, proto)
    try:
        apply_membership(opts, sock)
        S.apply_phase(opts, sock, "PASTSOCKET", "FD")
        S.bind_socket(sock, us, opts, pf, lowport)
        local = _local(sock)
        S.apply_phase(opts, sock, "CONNECTED", "LATE")
    except BaseException:
        sock.close()
        raise
    LOG.notice(f"successfully prepared local socket {local.info() if local else ''}")
    return sock, local


def _local(sock):
    try:
        a = sock.getsockname()
    except OSError as e:
        LOG.warn(f"getsockname({sock.fileno()}, {{}}): {e.strerror}")
        return None
    return _sockaddr(sock.family, a)


def _bound_notice(func, sock, us, proto) -> None:
    """socat 1.8: a UDP socket bound to port 0 says which port it got."""
    from ..versions import ACTIVE
    if not ACTIVE.udp_bound_notice or proto not in (socket.IPPROTO_UDP, 136) \
            or us is None or us.family not in (AF_INET, AF_INET6) or us.port != 0:
        return
    try:
        got = S.sockaddr_of(sock)
    except OSError:
        return
    LOG.notice(f"{func}(): bound to {got.info()}")


def prepare_recv(opts, pf, socktype, proto, us):
    """socat's _xioopen_dgram_recv(): socket, options, bind; no waiting."""
    sock = S.make_socket(opts, pf, socktype, proto)
    try:
        apply_membership(opts, sock, pf)
        S.apply_phase(opts, sock, "PASTSOCKET")
        S.bind_socket(sock, us, opts, pf)
        _bound_notice("_xioopen_dgram_recv", sock, us, proto)
    except BaseException:
        sock.close()
        raise
    return sock


def recvfrom_wait(ctx, opts, pf, socktype, proto, us, checker, dofork):
    """socat's _xioopen_dgram_recvfrom(): bind, wait for a permitted packet, fork.

    Returns (sock, peer, parent): the peer is the sender of the packet that the
    returned socket reads first; with ``fork`` this returns in a child (parent
    is the ParentNotice to give once the packet is consumed: 1.7 SIGUSR1, 1.8 a
    socket pair) and the parent loops.
    """
    from ..versions import ACTIVE
    trigger = dofork and ACTIVE.recvfrom_fork_trigger
    sock = S.make_socket(opts, pf, socktype, proto)
    try:
        apply_membership(opts, sock)
        S.apply_phase(opts, sock, "PASTSOCKET")
        S.bind_socket(sock, us, opts, pf)
        _bound_notice("_xioopen_dgram_recvfrom", sock, us, proto)
    except BaseException:
        sock.close()
        raise
    listening(ctx, sock)
    LOG.start_loop("recvfrom")
    waiter = _ChildWaiter(S.children_shutup(opts)) if dofork and not trigger else None
    mgr = None
    if trigger:
        mgr = S.ForkManager(shutup=S.children_shutup(opts))
        mgr.install()
    while True:
        LOG.info("Recvfrom: Checking/waiting for next packet")
        while True:
            if us is not None:
                LOG.notice(f"receiving on {us.info()}")
            else:
                LOG.notice(f"receiving IP protocol {proto}")
            if waiter is not None:
                if waiter.wait_packet(sock):
                    break
                continue
            if mgr is not None:
                if mgr.wait_readable([sock.fileno()], wake=True):
                    break
                continue
            try:
                if select.select([sock], [], [], None)[0]:
                    break
            except InterruptedError:
                continue
        try:
            _, anc, _, addr = sock.recvmsg(1, CMSG_SPACE, socket.MSG_PEEK | socket.MSG_TRUNC)
            if addr is None:        # shut down while waiting (library API stop)
                raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        except OSError as e:
            from ..versions import ACTIVE
            (LOG.info if ACTIVE.quieter_messages else LOG.warn)(f"recvmsg(): {e.strerror}")
            raise SocatError(f"recvmsg(): {e.strerror}") from None
        peer = _sockaddr(sock.family, addr)
        LOG.notice(f"receiving packet from {peer.info()}")
        log_ancillary(anc, withenv=True)
        if checker is not None and not checker.check(peer, sock=sock):
            _drop(sock)
            continue
        LOG.info(f"permitting packet from {peer.info()}")
        S.set_sockaddr_env("PEER", peer, proto)
        S.apply_phase(opts, sock, "FD", "CONNECTED")
        if mgr is not None:
            pid, notice = S.fork_with_trigger(mgr)
            if pid == 0:
                return sock, peer, notice
            LOG.info("continue listening")
            continue
        if waiter is None:
            return sock, peer, None
        pid = waiter.fork()
        if pid == 0:
            return sock, peer, S.ParentNotice(ppid=os.getppid())
        if waiter.wait(pid):
            _drop(sock)
            LOG.info("drop data because of child exit failed")
        LOG.info("continue listening")


def _drop(sock):
    try:
        sock.recv(512, socket.MSG_DONTWAIT)
    except OSError:
        pass


class _ChildWaiter:
    """RECVFROM,fork: block until the child consumed the packet (SIGUSR1) or died.

    SIGUSR1 and SIGCHLD stay blocked in the parent and are taken with
    sigwaitinfo() while a child has the packet. While waiting for the next
    packet SIGCHLD is let through (socat's xiosigaction_hasread handler): a
    no-op handler writes to a wakeup pipe, select() returns and the ended
    children are reaped, so none of them stays a zombie.
    """

    def __init__(self, shutup: int = 0) -> None:
        self.shutup = shutup        # children-shutup
        self.sigs = {signal.SIGUSR1, signal.SIGCHLD}
        signal.pthread_sigmask(signal.SIG_BLOCK, self.sigs)
        self._wake = None
        self._old = None
        self.waitingfor = 0     # the last child forked (socat's xio_waitingfor)
        r, w = os.pipe()
        os.set_blocking(r, False)
        os.set_blocking(w, False)
        try:
            self._old = signal.signal(signal.SIGCHLD, lambda s, f: None)
            self._oldfd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        except ValueError:          # not the main thread: poll for ended children
            os.close(r)
            os.close(w)
        else:
            self._wake = (r, w)

    def _undo(self) -> None:
        if self._wake is None:
            return
        signal.set_wakeup_fd(self._oldfd)
        signal.signal(signal.SIGCHLD, self._old if self._old is not None else signal.SIG_DFL)
        for fd in self._wake:
            os.close(fd)
        self._wake = None

    def wait_packet(self, sock) -> bool:
        """Wait until ``sock`` is readable (True) or children were reaped (False)."""
        if self._wake is None:
            got = select.select([sock], [], [], 0.5)[0]
            if not got:
                self._reap(log=False)
            return bool(got)
        r = self._wake[0]
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        try:
            got = select.select([sock, r], [], [], None)[0]
        finally:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        if r in got:
            try:
                while os.read(r, 512):
                    pass
            except OSError:
                pass
            self._reap(log=True)
            return False
        return True

    def _reap(self, log: bool) -> None:
        """xiosigaction_hasread(SIGCHLD): collect every ended child."""
        wassig = quiet = False
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                text = "waitpid(-1, {}, WNOHANG): No child processes"
                break
            if pid == 0:
                text = "waitpid(-1, {}, WNOHANG): no child has exited"
                break
            wassig = True
            if pid == self.waitingfor:  # socat returns silently for this one
                self.waitingfor = 0
                quiet = True
        if log and not quiet:
            (LOG.info if wassig else LOG.warn)(text)
            LOG.info("xiosigaction_hasread() finished")

    def fork(self) -> int:
        def in_child():
            self._undo()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, self.sigs)
        pid = S.fork_server_child(in_child, self.shutup)
        if pid:
            self.waitingfor = pid
        return pid

    def wait(self, pid: int) -> bool:
        """True when the child ended with a failure before consuming."""
        while True:
            info = signal.sigwaitinfo(self.sigs)
            if info.si_signo == signal.SIGUSR1:
                if info.si_pid == pid:
                    return False
                continue
            failed = None
            while True:
                try:
                    wpid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if wpid == 0:
                    break
                if wpid == pid:
                    self.waitingfor = 0
                    failed = os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0
            if failed is not None:
                return failed
