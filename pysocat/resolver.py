"""The resolver of an address with res-* options: glibc's getaddrinfo() rules,
with the address's own _res settings, on the wire through dnspython.

socat steers the C library's resolver state for such an address (see
pysocat/options/resolver.py); Python cannot, so while that address opens
``with_res`` puts a ``Settings`` in force and pysocat/addresses/sockets.py sends
its name lookups here instead of to socket.getaddrinfo(). What this does, as
glibc does it:

- numeric hosts and all service names go to getaddrinfo() itself (no DNS);
- /etc/hosts first (nsswitch "files dns"), then DNS;
- the search list (resolv.conf search/domain, LOCALDOMAIN, else the host
  name's domain): a name with at least ``ndots`` dots is asked as it is first;
  RES_DEFNAMES searches names without dots, RES_DNSRCH those with dots;
- every query is sent ``retry`` times to each name server, waiting
  ``retrans`` seconds (at least 1) for the answer; UDP unless RES_USEVC; a
  truncated UDP answer is asked again over TCP unless RES_IGNTC; the RD bit
  follows RES_RECURSE; RES_STAYOPEN keeps the TCP connection for the next query;
- A and AAAA together when no IP version is given (AI_ADDRCONFIG narrows it to
  the versions the host has non-loopback addresses of);
- failures as getaddrinfo() reports them: NXDOMAIN everywhere is EAI_NONAME,
  no record of the type EAI_NODATA, no answer (timeouts, refusals, SERVFAIL)
  EAI_AGAIN.

dnspython is imported only here, and this module only for such addresses.
"""
from __future__ import annotations

import os
import socket
import time

from .addresses.sockets import RES as CURRENT    # the Settings in force, or None
from .log import LOG

RES_INIT, RES_DEBUG, RES_USEVC, RES_IGNTC = 0x1, 0x2, 0x8, 0x20
RES_RECURSE, RES_DEFNAMES, RES_STAYOPEN, RES_DNSRCH = 0x40, 0x80, 0x100, 0x200
RES_NOTLDQUERY = 0x1000000
RES_DEFAULT = RES_RECURSE | RES_DEFNAMES | RES_DNSRCH

# resolv.conf "options" words that set a bit (resolv/res_init.c)
_OPTION_BITS = {"debug": RES_DEBUG, "use-vc": RES_USEVC, "usevc": RES_USEVC,
                "rotate": 0x4000, "no-check-names": 0x8000, "edns0": 0x100000,
                "single-request": 0x200000, "single-request-reopen": 0x400000,
                "no-tld-query": RES_NOTLDQUERY, "no-reload": 0x2000000,
                "trust-ad": 0x4000000, "no-aaaa": 0x8000000}

# h_errno values (netdb.h) and what getaddrinfo() makes of them
HOST_NOT_FOUND, TRY_AGAIN, NO_RECOVERY, NO_DATA = 1, 2, 3, 4
_GAI = {HOST_NOT_FOUND: (socket.EAI_NONAME, "Name or service not known"),
        NO_DATA: (getattr(socket, "EAI_NODATA", -5), "No address associated with hostname"),
        TRY_AGAIN: (socket.EAI_AGAIN, "Temporary failure in name resolution"),
        NO_RECOVERY: (socket.EAI_FAIL, "Non-recoverable failure in name resolution")}


class Conf:
    """What res_init() reads: /etc/resolv.conf and the LOCALDOMAIN/RES_OPTIONS variables."""

    def __init__(self, path: str = "/etc/resolv.conf") -> None:
        self.nameservers: list = []          # (ip, 53)
        self.search: list = []
        self.ndots, self.timeout, self.attempts = 1, 5, 2
        self.options = RES_DEFAULT | RES_INIT
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            lines = []
        have_search = False
        for line in lines:
            words = line.split()
            if not words or words[0][:1] in ("#", ";"):
                continue
            key, args = words[0], words[1:]
            if key == "nameserver" and args and len(self.nameservers) < 3:
                self.nameservers.append((args[0], 53))
            elif key == "domain" and args:
                self.search, have_search = [args[0]], True
            elif key == "search":
                self.search, have_search = args[:6], True
            elif key == "options":
                self._options(args)
        local = os.environ.get("LOCALDOMAIN")
        if local is not None:
            self.search, have_search = local.split()[:6], True
        self._options(os.environ.get("RES_OPTIONS", "").split())
        if not have_search:
            host = socket.gethostname()
            if "." in host:
                self.search = [host.partition(".")[2]]

    def _options(self, words) -> None:
        for w in words:
            name, _, val = w.partition(":")
            if name in ("ndots", "timeout", "attempts") and val.isdigit():
                limit = {"ndots": 15, "timeout": 30, "attempts": 5}[name]
                setattr(self, name, min(int(val), limit))
            elif name in _OPTION_BITS:
                self.options |= _OPTION_BITS[name]

    def first_ns(self) -> tuple:
        """_res.nsaddr_list[0] as res_init() leaves it."""
        if not self.nameservers:
            return ("127.0.0.1", 53)
        ip, port = self.nameservers[0]
        return (ip, port) if ":" not in ip else ("0.0.0.0", 0)


class Settings:
    """The _res of one address: options bits, retrans, retry and the name servers."""

    def __init__(self, conf: Conf, options: int, retrans: int, retry: int, nsaddr) -> None:
        self.conf = conf
        self.options = options
        self.retrans = conf.timeout if retrans < 0 else retrans
        self.retry = conf.attempts if retry < 0 else retry
        self.nameservers = [nsaddr] if nsaddr is not None else \
            [ns for ns in conf.nameservers] or [("127.0.0.1", 53)]
        self.tcp_cache: dict = {}


_INITIALISED = [False]       # res_init() already ran in this process


def _res_init() -> None:
    if not _INITIALISED[0]:
        LOG.debug("res_init()")
        LOG.debug("res_init() -> 0")
        _INITIALISED[0] = True


def wanted(opts) -> dict:
    """The res-* options of an address: {"on", "off", "retrans", "retry", "nsaddr"}."""
    from .options.resolver import BIT
    on = off = 0
    retrans = retry = -1
    nsaddr = None
    for it in opts.items:
        if it.row.apply[0] != "resolver":
            continue
        it.used = True
        name = it.row.name
        if name in BIT:
            if it.value:
                on |= BIT[name]
            else:
                off |= BIT[name]
        elif name == "res-retrans":
            retrans = it.value
        elif name == "res-retry":
            retry = it.value
        elif name == "res-nsaddr":
            nsaddr = it.value
    return {"on": on, "off": off, "retrans": retrans, "retry": retry, "nsaddr": nsaddr}


def with_res(opts, opener):
    """Open with the address's res-* settings in force (socat's xio_res_init /
    xio_res_restore around the open; 1.7: around each resolution)."""
    from .versions import ACTIVE
    w = wanted(opts)
    if not (w["on"] or w["off"] or w["retrans"] >= 0 or w["retry"] >= 0 or
            w["nsaddr"] is not None):
        return opener()
    conf = Conf()
    if ACTIVE.res_options_per_open:
        options = (conf.options | w["on"]) & ~w["off"]
    else:
        options = (conf.options & ~w["off"]) | w["on"]
    nsaddr = w["nsaddr"]
    if nsaddr is not None and nsaddr[1] == 0:
        nsaddr = (nsaddr[0], 53)
    st = Settings(conf, options, w["retrans"], w["retry"], nsaddr)
    if ACTIVE.res_options_per_open:
        _res_init()
        LOG.debug(f"changed _res.options from 0x{conf.options:x} to 0x{options:x}")
        if w["retrans"] >= 0:
            LOG.debug(f"changed _res.retrans from 0x{conf.timeout:x} to 0x{w['retrans'] & 0xffffffff:x}")
        if w["retry"] >= 0:
            LOG.debug(f"changed _res.retry from 0x{conf.attempts:x} to 0x{w['retry'] & 0xffffffff:x}")
        if nsaddr is not None:
            old = conf.first_ns()
            LOG.debug(f"changed _res.nsaddr_list[0] from {old[0]}:{old[1]} to "
                      f"{nsaddr[0]}:{nsaddr[1]}")
    saved = CURRENT[0]
    CURRENT[0] = st
    try:
        return opener()
    finally:
        CURRENT[0] = saved
        for s in st.tcp_cache.values():
            s.close()


def note_resolution() -> None:
    """1.7.4.4: each resolution of the address logs the change of _res.options."""
    from .versions import ACTIVE
    st = CURRENT[0]
    if st is None or ACTIVE.res_options_per_open:
        return
    _res_init()
    LOG.debug(f"changed _res.options from 0x{st.conf.options:x} to 0x{st.options:x}")


# ---------------------------------------------------------------------------
# getaddrinfo()
# ---------------------------------------------------------------------------

def getaddrinfo(host, service, family: int, socktype: int, proto: int, flags: int) -> list:
    """socket.getaddrinfo() with the current Settings for the DNS part."""
    st = CURRENT[0]
    try:
        return socket.getaddrinfo(host, service, family, socktype, proto,
                                  flags | socket.AI_NUMERICHOST)
    except socket.gaierror as e:
        if e.errno != socket.EAI_NONAME or flags & socket.AI_NUMERICHOST or host is None:
            raise
    name = os.fsdecode(host) if isinstance(host, bytes) else host
    families = _families(family, flags)
    if not families:
        raise socket.gaierror(*_GAI[HOST_NOT_FOUND])
    addrs = _from_hosts(name, families)
    if not addrs:
        addrs = _from_dns(st, name, families, family, flags)
    out = []
    for fam, ip in addrs:
        out += socket.getaddrinfo(ip, service, fam, socktype, proto,
                                  (flags & socket.AI_PASSIVE) | socket.AI_NUMERICHOST)
    return out


def _families(family: int, flags: int) -> list:
    if family == socket.AF_INET:
        return [socket.AF_INET]
    if family == socket.AF_INET6:
        return [socket.AF_INET6]
    fams = [socket.AF_INET, socket.AF_INET6]
    if flags & socket.AI_ADDRCONFIG:
        v4, v6 = _seen_families()
        if v4 != v6:
            fams = [socket.AF_INET] if v4 else [socket.AF_INET6]
    return fams


def _seen_families() -> tuple:
    """glibc's __check_pf(): IPv4 other than 127.0.0.1, IPv6 other than loopback
    and link-local configured on this host."""
    v4 = v6 = False
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and int(parts[3], 16) not in (0x10, 0x20):
                    v6 = True
    except OSError:
        pass
    try:
        import array
        import fcntl
        import struct
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            buf = array.array("B", b"\0" * 40 * 128)
            addr, _ = buf.buffer_info()
            req = struct.pack("iL", len(buf), addr)
            n = struct.unpack("iL", fcntl.ioctl(s.fileno(), 0x8912, req))[0]   # SIOCGIFCONF
            data = buf.tobytes()[:n]
            for i in range(0, n, 40):
                ip = socket.inet_ntoa(data[i + 20:i + 24])
                if ip != "127.0.0.1":
                    v4 = True
        finally:
            s.close()
    except OSError:
        pass
    return v4, v6


def _from_hosts(name: str, families: list) -> list:
    """The files service: /etc/hosts entries of the name, in file order."""
    out = []
    want = name.rstrip(".").lower()
    try:
        with open("/etc/hosts", encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.partition("#")[0].split()
                if len(words) < 2 or want not in (w.lower() for w in words[1:]):
                    continue
                fam = socket.AF_INET6 if ":" in words[0] else socket.AF_INET
                if fam in families and (fam, words[0]) not in out:
                    out.append((fam, words[0]))
    except OSError:
        pass
    return out


class _Answer:
    def __init__(self, herr: int, addrs=(), servfail: bool = False) -> None:
        self.herr = herr            # 0: records found
        self.addrs = list(addrs)
        self.servfail = servfail


def _from_dns(st: Settings, name: str, families: list, family: int, flags: int) -> list:
    """res_search(): the search list as glibc walks it, one res_query per name."""
    opts = st.options
    dots = name.count(".")
    trailing = name.endswith(".")
    saved = -1
    got_nodata = got_servfail = False
    last = TRY_AGAIN
    tried_as_is = searched = root_on_list = False

    def query(qname):
        ans = _query(st, qname, families, family, flags)
        return ans

    if dots >= st.conf.ndots or trailing:
        ans = query(name)
        if ans.herr == 0:
            return ans.addrs
        if trailing:
            raise socket.gaierror(*_GAI[ans.herr])
        saved, tried_as_is, last = ans.herr, True, ans.herr
    if (not dots and opts & RES_DEFNAMES) or (dots and not trailing and opts & RES_DNSRCH):
        for domain in st.conf.search:
            searched = True
            domain = domain[1:] if domain.startswith(".") else domain
            if not domain:
                root_on_list = True
            ans = query(f"{name}.{domain}" if domain else f"{name}.")
            if ans.herr == 0:
                return ans.addrs
            last = ans.herr
            if ans.herr == NO_DATA:
                got_nodata = True
            elif ans.herr == HOST_NOT_FOUND:
                pass
            elif ans.herr == TRY_AGAIN and ans.servfail:
                got_servfail = True
            else:
                break
    if (dots or not searched or not opts & RES_NOTLDQUERY) and not (tried_as_is or root_on_list):
        ans = query(name)
        if ans.herr == 0:
            return ans.addrs
        last = ans.herr
    if saved != -1:
        last = saved
    elif got_nodata:
        last = NO_DATA
    elif got_servfail:
        last = TRY_AGAIN
    raise socket.gaierror(*_GAI[last])


def _query(st: Settings, qname: str, families: list, family: int, flags: int) -> _Answer:
    """One res_query(): A and/or AAAA for one name."""
    import dns.rdatatype
    types = [dns.rdatatype.A if f == socket.AF_INET else dns.rdatatype.AAAA for f in families]
    mapped = (family == socket.AF_INET6 and flags & socket.AI_V4MAPPED)
    res = _send(st, qname, types)
    if isinstance(res, _Answer):
        return res
    addrs, rcodes = [], []
    for t, fam in zip(types, families):
        rcode, ips = res[t]
        rcodes.append(rcode)
        addrs += [(fam, ip) for ip in ips]
    if mapped and (not addrs or flags & socket.AI_ALL):
        more = _send(st, qname, [dns.rdatatype.A])
        if not isinstance(more, _Answer):
            addrs += [(socket.AF_INET6, "::ffff:" + ip) for ip in more[dns.rdatatype.A][1]]
    if addrs:
        return _Answer(0, addrs)
    import dns.rcode
    if all(r == dns.rcode.NXDOMAIN for r in rcodes):
        return _Answer(HOST_NOT_FOUND)
    return _Answer(NO_DATA)


def _send(st: Settings, qname: str, types: list):
    """res_send(): the questions to each name server, ``retry`` rounds; returns
    {type: (rcode, [ip, ...])} or an _Answer with the error."""
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    try:
        name = dns.name.from_text(os.fsencode(qname) if not qname.isascii() else qname)
        msgs = []
        for t in types:
            m = dns.message.make_query(name, t)
            if not st.options & RES_RECURSE:
                m.flags &= ~dns.flags.RD
            msgs.append(m)
    except (dns.exception.DNSException, UnicodeError, ValueError):
        return _Answer(HOST_NOT_FOUND)
    servfail = False
    nscount = len(st.nameservers)
    for _try in range(max(st.retry, 0)):
        for i, ns in enumerate(st.nameservers):
            seconds = st.retrans << i
            if i > 0:
                seconds //= nscount
            seconds = max(seconds, 1)
            use_tcp = bool(st.options & RES_USEVC)
            answers = None
            if not use_tcp:
                answers = _udp(ns, msgs, seconds)
                if answers and not st.options & RES_IGNTC and \
                        any(a.flags & dns.flags.TC for a in answers):
                    use_tcp = True
            if use_tcp:
                answers = _tcp(st, ns, msgs, seconds)
            if not answers:
                continue
            codes = [a.rcode() for a in answers]
            if any(c in (dns.rcode.SERVFAIL, dns.rcode.NOTIMP, dns.rcode.REFUSED)
                   for c in codes):
                servfail = servfail or dns.rcode.SERVFAIL in codes
                continue
            out = {}
            for t, a in zip(types, answers):
                ips = [rd.address for rrset in a.answer if rrset.rdtype == t for rd in rrset]
                out[t] = (a.rcode(), ips)
            return out
    return _Answer(TRY_AGAIN, servfail=servfail)


def _sockfamily(ip: str) -> int:
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def _udp(ns, msgs, seconds: int):
    """The questions in datagrams to one server; the answers, or None (no answer
    in time, or the server's port refused)."""
    s = socket.socket(_sockfamily(ns[0]), socket.SOCK_DGRAM)
    try:
        s.connect(ns)
        for m in msgs:
            s.send(m.to_wire())
        return _collect(s, msgs, seconds, lambda: s.recv(65535))
    except OSError:
        return None
    finally:
        s.close()


def _tcp(st: Settings, ns, msgs, seconds: int):
    """The questions over one TCP connection (kept for the next query with
    RES_STAYOPEN)."""
    s = st.tcp_cache.pop(ns, None)
    try:
        if s is None:
            s = socket.socket(_sockfamily(ns[0]), socket.SOCK_STREAM)
            s.settimeout(seconds)
            s.connect(ns)
        s.settimeout(seconds)
        for m in msgs:
            w = m.to_wire()
            s.sendall(len(w).to_bytes(2, "big") + w)

        def recv():
            head = _exact(s, 2)
            return _exact(s, int.from_bytes(head, "big"))
        answers = _collect(s, msgs, seconds, recv)
    except OSError:
        if s is not None:
            s.close()
        return None
    if answers is not None and st.options & RES_STAYOPEN:
        st.tcp_cache[ns] = s
    else:
        s.close()
    return answers


def _exact(s, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionResetError("EOF")
        data += chunk
    return data


def _collect(s, msgs, seconds: int, recv):
    """Read answers until each question has its own; None after ``seconds``."""
    import dns.message
    deadline = time.monotonic() + seconds
    got = [None] * len(msgs)
    while None in got:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        s.settimeout(left)
        try:
            wire = recv()
        except (socket.timeout, TimeoutError):
            return None
        try:
            a = dns.message.from_wire(wire, ignore_trailing=True, raise_on_truncation=False)
        except Exception:
            continue
        for i, m in enumerate(msgs):
            if got[i] is None and m.is_response(a):
                got[i] = a
                break
    return got
