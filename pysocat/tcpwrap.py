"""hosts_access(5) in Python: socat's tcpwrap options without libwrap.

socat (built WITH_LIBWRAP) asks libwrap's ``hosts_access()`` about every
peer a server address accepts (xiocheckpeer, after range/sourceport/lowport)
when one of ``tcpwrap[=daemon]``, ``tcpwrap-etc=dir``, ``allow-table=file`` or
``deny-table=file`` is given. This module answers the same question, the way
Debian's libwrap 7.6.q (the one socat 1.7.4.4 links) does:

- ``hosts.allow`` is read first: the first rule whose daemon list and client
  list both match decides "permit"; else the first matching rule of
  ``hosts.deny`` decides "refuse"; else the peer is permitted. A missing
  or unreadable table is an empty one (libwrap only tells syslog).
- A rule is ``daemons : clients [: option : option …]``; ``#`` starts a
  comment only at the start of a line; ``\\`` + newline continues a line;
  ``:`` inside ``[…]`` does not separate. Lists are separated by blanks or
  commas, ``EXCEPT`` subtracts, keywords and names compare case-insensitively.
- Daemons: ``ALL``, names (the tcpwrap= value, else the -lp program name,
  else the program's basename; "pysocat" answers as "socat", as the
  SOCAT_* environment variables do), ``name@host`` (matched against the local
  address), suffix/prefix/wildcard patterns as for clients.
- Clients: ``ALL``, ``KNOWN``, ``UNKNOWN``, ``LOCAL``, ``PARANOID``,
  addresses, ``a.b.c.`` prefixes, ``.domain`` suffixes, ``*``/``?``
  wildcards, ``a.b.c.d/m.m.m.m`` and ``a.b.c.d/bits``, ``[v6]`` and
  ``[v6]/bits``, ``/path`` (a file of patterns), ``user@host``.
  Host names come from the system resolver (a reverse lookup, confirmed by a
  forward lookup, as libwrap does; a name that does not confirm is
  "paranoid"), and only when a pattern needs one. Netgroups (``@group``)
  never match (libwrap without NETGROUP). No ident (RFC 931) lookup is made:
  the user is always "unknown".
- Options (libwrap's PROCESS_OPTIONS language): ``allow``, ``deny``,
  ``spawn cmd`` (run with /bin/sh, %-expansions, waited for), ``setenv name
  value``, ``umask``, ``nice``, ``user``/``group`` (of the server process,
  as libwrap in socat does), ``keepalive``/``linger`` (on the listening
  socket: socat hands libwrap that one), ``severity`` (accepted: no syslog
  messages are written). ``twist`` (which would replace the server),
  ``rfc931`` (an ident lookup) and ``banners`` are not supported: a rule
  using them refuses the peer with a warning. An option error refuses, as in
  libwrap.

libwrap writes its own diagnostics to syslog; socat shows none of them, and
neither does this module (except the warning about unsupported options).
"""

from __future__ import annotations

import os
import socket

from .log import LOG

UNKNOWN = "unknown"
PARANOID = "paranoid"
_SEP = ", \t\r\n"
_BUFLEN = 2048
_OK_CHARS = frozenset("1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class _Verdict(Exception):
    """libwrap's longjmp(tcpd_buf, …) out of the table scan."""

    def __init__(self, permit: bool) -> None:
        super().__init__(permit)
        self.permit = permit


class Host:
    """One end of a request: its numeric address and (looked up lazily) name."""

    def __init__(self, family: int, addr: tuple | None) -> None:
        self.family = family
        self.sockaddr = addr
        self._name: str | None = None
        if family in (socket.AF_INET, socket.AF_INET6) and addr:
            self.addr = addr[0]
            if family == socket.AF_INET6 and len(addr) > 3 and addr[3] and "%" not in self.addr:
                try:
                    self.addr += "%" + socket.if_indextoname(addr[3])
                except OSError:
                    self.addr += "%" + str(addr[3])
        else:
            self.addr = UNKNOWN

    @property
    def looked_up(self) -> bool:
        return self._name is not None

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = self._lookup()
        return self._name

    def _lookup(self) -> str:
        if self.addr == UNKNOWN:
            return UNKNOWN
        host, fam = self.addr, self.family
        if host.lower().startswith("::ffff:") and _dot_quad(host[7:]) is not None:
            host, fam = host[7:], socket.AF_INET
        sa = (host, 0) if fam == socket.AF_INET else (host, 0, 0, 0)
        try:
            name, _ = socket.getnameinfo(sa, socket.NI_NAMEREQD)
        except (OSError, UnicodeError, ValueError):
            return UNKNOWN
        try:            # a numeric "name" is a lie
            socket.getaddrinfo(name, None, 0, 0, 0, socket.AI_NUMERICHOST)
            return PARANOID
        except (OSError, UnicodeError, ValueError):
            pass
        try:
            infos = socket.getaddrinfo(name, None, fam, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
        except (OSError, UnicodeError, ValueError):
            return PARANOID
        canon = infos[0][3] if infos else ""
        if canon.lower() != name.lower() and name.lower() != "localhost":
            return PARANOID
        want = _packed(fam, host)
        for info in infos:
            if _packed(fam, info[4][0]) == want:
                return name
        return PARANOID

    def info(self) -> str:
        """libwrap's eval_hostinfo: the name if already looked up and known."""
        if self._name is not None and _known(self._name):
            return self._name
        return self.addr


class Request:
    """libwrap's request_info: daemon, client, server, user, pid."""

    def __init__(self, daemon: str, client: Host, server: Host, fd: int = -1) -> None:
        self.daemon = daemon
        self.fd = fd
        self.client = client
        self.server = server
        self.user = UNKNOWN
        self.pid = str(os.getpid())

    def eval_client(self) -> str:
        return self.client.info()

    def eval_server(self) -> str:
        return f"{self.daemon}@{self.server.info()}"


def _known(name: str) -> bool:
    return name.lower() not in (UNKNOWN, PARANOID)


def _packed(fam: int, host: str) -> bytes | None:
    try:
        return socket.inet_pton(fam, host.split("%")[0])
    except (OSError, ValueError):
        return None


def _dot_quad(text: str) -> int | None:
    """libwrap's dot_quad_addr(): exactly four decimal parts, else None."""
    parts = text.split(".")
    if len(parts) != 4:
        return None
    val = 0
    for p in parts:
        if not p.isdigit() or not p.isascii() or int(p) > 255:
            return None
        val = (val << 8) | int(p)
    return val


# ---------------------------------------------------------------------------
# the access control language
# ---------------------------------------------------------------------------


def split_at(text: str, delim: str) -> tuple[str, str | None]:
    """(before, after) the first ``delim`` outside [brackets]; after=None if none."""
    depth = 0
    for i, ch in enumerate(text):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0 and ch == delim:
            return text[:i], text[i + 1:]
    return text, None


def _tokens(text: str) -> list[str]:
    out, cur = [], []
    for ch in text:
        if ch in _SEP:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def list_match(tokens: list[str], req: Request, match) -> bool:
    """Match a list with EXCEPT: the first match counts unless an exception matches."""
    for i, tok in enumerate(tokens):
        if tok.upper() == "EXCEPT":
            return False
        if match(tok, req):
            rest = tokens[i + 1:]
            for j, t in enumerate(rest):
                if t.upper() == "EXCEPT":
                    return not list_match(rest[j + 1:], req, match)
            return True
    return False


def server_match(tok: str, req: Request) -> bool:
    head, host = split_at(tok[1:], "@")
    if host is None:
        return string_match(tok, req.daemon)
    return string_match(tok[0] + head, req.daemon) and host_match(host, req.server)


def client_match(tok: str, req: Request) -> bool:
    head, host = split_at(tok[1:], "@")
    if host is None:
        return host_match(tok, req.client)
    return host_match(host, req.client) and string_match(tok[0] + head, req.user)


def _not_inaddr(tok: str) -> bool:
    return any(ch not in "0123456789./" for ch in tok)


def host_match(tok: str, host: Host) -> bool:
    if tok.startswith("@"):         # netgroups: libwrap built without NETGROUP
        return False
    if tok.startswith("/"):
        return _hostfile_match(tok, host)
    up = tok.upper()
    if up == "KNOWN":
        name = host.name
        return host.addr != UNKNOWN and _known(name)
    if up == "LOCAL":
        name = host.name
        return "." not in name and _known(name)
    net, mask = split_at(tok, "/")
    if mask is not None:
        return masked_match(net, mask, host.addr)
    return string_match(tok, host.addr) or (_not_inaddr(tok) and string_match(tok, host.name))


def _hostfile_match(path: str, host: Host) -> bool:
    try:
        with open(path, encoding="latin-1") as f:
            words = f.read().split()
    except OSError:
        return False
    return any(host_match(w, host) for w in words)


def _wildcard(pattern: str, text: str) -> bool:
    """``*`` and ``?`` (case-insensitive), as Debian's match_pattern_ylo."""
    p, t = pattern.lower(), text.lower()
    pi = ti = 0
    star, mark = -1, 0
    while ti < len(t):
        if pi < len(p) and (p[pi] == "?" or p[pi] == t[ti]):
            pi += 1
            ti += 1
        elif pi < len(p) and p[pi] == "*":
            star, mark = pi, ti
            pi += 1
        elif star >= 0:
            pi = star + 1
            mark += 1
            ti = mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)


def string_match(tok: str, text: str) -> bool:
    if text.lower().startswith("::ffff:") and _dot_quad(text[7:]) is not None:
        text = text[7:]
    if tok.startswith("."):                         # domain suffix
        n = len(text) - len(tok)
        return n > 0 and text[n:].lower() == tok.lower()
    up = tok.upper()
    if up == "ALL":
        return True
    if up == "KNOWN":
        return text.lower() != UNKNOWN
    if tok.endswith("."):                           # address prefix
        return text[:len(tok)].lower() == tok.lower()
    if "*" in tok or "?" in tok:
        return _wildcard(tok, text)
    if len(tok) > 1 and tok.startswith("[") and tok.endswith("]"):
        pat = _v6(tok[1:-1])
        addr = _v6(text)
        if pat is None or addr is None:
            return False
        if pat[1] and addr[1] != pat[1]:
            return False
        return pat[0] == addr[0]
    return tok.lower() == text.lower()


def _v6(text: str):
    """(16 packed bytes, scope id) of a numeric IPv6 address, else None."""
    try:
        info = socket.getaddrinfo(text, None, socket.AF_INET6, socket.SOCK_STREAM, 0,
                                  socket.AI_NUMERICHOST | socket.AI_PASSIVE)
    except (OSError, UnicodeError, ValueError):
        return None
    sa = info[0][4]
    return socket.inet_pton(socket.AF_INET6, sa[0].split("%")[0]), sa[3]


def _v4_mask(text: str) -> int | None:
    """a dotted quad mask, or (Debian) a prefix length."""
    val = _dot_quad(text)
    if val is not None:
        return val
    if text.isdigit() and text.isascii() and int(text) <= 32:
        bits = int(text)
        return ((1 << bits) - 1) << (32 - bits) if bits else 0
    return None


def masked_match(net: str, mask: str, addr: str) -> bool:
    a = _dot_quad(addr)
    if a is not None:
        n, m = _dot_quad(net), _v4_mask(mask)
        return n is not None and m is not None and (a & m) == n
    got = _v6(addr)
    if got is None:
        return False
    packed, scope = got
    if packed[:12] == bytes(10) + b"\xff\xff":      # v4-mapped client, v4 rule
        n, m = _dot_quad(net), _v4_mask(mask)
        if n is None or m is None:
            return False
        return (int.from_bytes(packed[12:], "big") & m) == n
    if not (len(net) > 1 and net.startswith("[") and net.endswith("]")):
        return False
    pat = _v6(net[1:-1])
    if pat is None or not mask.isdigit() or int(mask) > 128:
        return False
    if pat[1] and scope != pat[1]:
        return False
    bits = int(mask)
    full = ((1 << bits) - 1) << (128 - bits) if bits else 0
    return (int.from_bytes(packed, "big") & full) == (int.from_bytes(pat[0], "big") & full)


# ---------------------------------------------------------------------------
# options (libwrap's PROCESS_OPTIONS language)
# ---------------------------------------------------------------------------

_NEED_ARG, _OPT_ARG, _USE_LAST, _EXPAND = 1, 2, 4, 8
_OPTIONS = {
    "user": _NEED_ARG, "group": _NEED_ARG, "umask": _NEED_ARG, "linger": _NEED_ARG,
    "keepalive": 0, "spawn": _NEED_ARG | _EXPAND,
    "twist": _NEED_ARG | _EXPAND | _USE_LAST, "rfc931": _OPT_ARG,
    "setenv": _NEED_ARG | _EXPAND, "nice": _OPT_ARG, "severity": _NEED_ARG,
    "allow": _USE_LAST, "deny": _USE_LAST, "banners": _NEED_ARG,
}
_UNSUPPORTED = ("twist", "rfc931", "banners")
_FACILITIES = {"kern", "user", "mail", "daemon", "auth", "lpr", "news", "uucp", "cron",
               "authpriv", "ftp", "syslog", "security"} | {f"local{i}" for i in range(8)}
_LEVELS = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
           "panic", "error", "warn"}


def _fields(text: str) -> list[str]:
    """libwrap's get_field(): split at ``:``, ``\\:`` is a literal colon."""
    out, cur, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and text[i + 1:i + 2] == ":":
            cur.append(":")
            i += 2
            continue
        if ch == ":":
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def percent_x(text: str, req: Request) -> str:
    """libwrap's %-expansions; unsafe characters of expansions become ``_``."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "%" and i + 1 < len(text):
            ch = text[i + 1]
            i += 2
            exp = {
                "a": lambda: req.client.addr, "A": lambda: req.server.addr,
                "c": req.eval_client, "d": lambda: req.daemon,
                "h": req.client.info, "H": req.server.info,
                "n": lambda: req.client.name, "N": lambda: req.server.name,
                "p": lambda: req.pid, "s": req.eval_server, "u": lambda: req.user,
                "%": lambda: "%",
            }.get(ch, lambda: "")()
            out.append("".join(c if c in _OK_CHARS else "_" for c in exp))
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _bad(why: str):
    raise _Verdict(False)


def process_options(text: str, req: Request, where: str) -> None:
    fields = _fields(text)
    for idx, field in enumerate(fields):
        field = field.strip(" \t\r\n")
        n = 0
        while n < len(field) and field[n] not in " \t\r\n=":
            n += 1
        key, value = field[:n], field[n:]
        if value and value[0] != "=":
            value = value.lstrip(" \t\r\n")
        if value.startswith("="):
            value = value[1:].lstrip(" \t\r\n")
        value = value or None
        if not key:
            _bad("missing option name")
        key = key.lower()
        flags = _OPTIONS.get(key)
        if flags is None:
            _bad(f'bad option name: "{key}"')
        if value is None and flags & _NEED_ARG:
            _bad(f'option "{key}" requires value')
        if value is not None and not flags & (_NEED_ARG | _OPT_ARG):
            _bad(f'option "{key}" requires no value')
        if idx + 1 < len(fields) and flags & _USE_LAST:
            _bad(f'option "{key}" must be at end')
        if key in _UNSUPPORTED:
            LOG.warn(f'tcpwrap: option "{key}" ({where}) is not supported, refusing')
            raise _Verdict(False)
        if value is not None and flags & _EXPAND:
            value = percent_x(value, req).strip(" \t\r\n")
        _OPTION_FUNCS[key](value, req)


def _allow(value, req):
    raise _Verdict(True)


def _deny(value, req):
    raise _Verdict(False)


def _spawn(value, req):
    """libwrap's shell_cmd(): /bin/sh -c, std fds on /dev/null, waited for.

    SIGCHLD is not handled meanwhile, so a fork server does not log this
    child as one of its own; children of its own that end meanwhile are
    reaped at the next SIGCHLD."""
    import signal
    import subprocess
    try:
        old = signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    except ValueError:          # not the main thread
        old = None
    try:
        subprocess.run(["/bin/sh", "-c", value], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    except OSError:
        pass
    finally:
        if old is not None:
            signal.signal(signal.SIGCHLD, old)


def _setenv(value, req):
    n = 0
    while n < len(value) and value[n] not in " \t\r\n":
        n += 1
    os.environ[value[:n]] = value[n:].strip(" \t\r\n")


def _umask(value, req):
    if not value or any(c not in "01234567" for c in value) or int(value, 8) & ~0o777:
        _bad("bad umask value")
    os.umask(int(value, 8))


def _nice(value, req):
    val = 10
    if value is not None:
        try:
            val = int(value)
        except ValueError:
            _bad("bad nice value")
    try:
        os.nice(val)
    except OSError:
        pass


def _severity(value, req):
    fac, _, level = value.lower().rpartition(".")
    if level not in _LEVELS or (fac and fac not in _FACILITIES):
        _bad("bad syslog facility or severity")


def _keepalive(value, req):
    """On libwrap's RQ_FILE, which socat sets to the listening socket."""
    import struct
    _setsockopt(req.fd, socket.SO_KEEPALIVE, struct.pack("i", 1))


def _linger(value, req):
    import struct
    try:
        secs = int(value)
    except ValueError:
        _bad("bad linger value")
    _setsockopt(req.fd, socket.SO_LINGER, struct.pack("ii", 1 if secs else 0, secs))


def _setsockopt(fd, opt, data):
    if fd < 0:
        return
    try:
        s = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        s.setsockopt(socket.SOL_SOCKET, opt, data)
    except OSError:
        pass
    finally:
        s.detach()


def _group(value, req):
    import grp
    try:
        gid = grp.getgrnam(value).gr_gid
    except KeyError:
        _bad(f'unknown group: "{value}"')
    try:
        os.setgid(gid)
    except OSError:
        _bad(f"setgid({value})")


def _user(value, req):
    import pwd
    name, group = split_at(value, ".")
    if group is not None:
        _group(group, req)
    try:
        uid = pwd.getpwnam(name).pw_uid
    except KeyError:
        _bad(f'unknown user: "{name}"')
    try:
        os.setuid(uid)
    except OSError:
        _bad(f"setuid({name})")


_OPTION_FUNCS = {"allow": _allow, "deny": _deny, "spawn": _spawn, "setenv": _setenv,
                 "umask": _umask, "nice": _nice, "severity": _severity,
                 "keepalive": _keepalive, "linger": _linger, "user": _user, "group": _group}


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------


def _logical_lines(data: str):
    """(line number, text) with ``\\``-newline continuations joined."""
    lineno, buf = 0, ""
    for raw in data.splitlines(keepends=True):
        lineno += 1
        if raw.endswith("\\\n"):
            buf += raw[:-2]
            continue
        yield lineno, buf + raw
        buf = ""
    if buf:
        yield lineno, buf


def table_match(path: str, req: Request) -> bool:
    """Does a rule of the table match? Raises _Verdict for options and errors."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:     # missing, a directory, unreadable: libwrap warns (syslog), no match
        return False
    for lineno, line in _logical_lines(data):
        if len(line) >= _BUFLEN:
            continue
        if line.startswith("#") or not line.strip(" \t\r\n"):
            continue
        daemons, rest = split_at(line, ":")
        if rest is None:
            continue
        clients, options = split_at(rest, ":")
        if list_match(_tokens(daemons), req, server_match) and \
                list_match(_tokens(clients), req, client_match):
            if options is not None:
                process_options(options, req, f"{path} line {lineno}")
            return True
    return False


def hosts_access(req: Request, allow_table: str, deny_table: str) -> bool:
    """libwrap's verdict: True permits."""
    try:
        if table_match(allow_table, req):
            return True
        return not table_match(deny_table, req)
    except _Verdict as v:
        return v.permit


# ---------------------------------------------------------------------------
# the socat options
# ---------------------------------------------------------------------------


class TcpWrap:
    """tcpwrap/tcpwrap-etc/allow-table/deny-table of one address (xio_retropt_tcpwrap)."""

    def __init__(self, daemon: str | None, etc: str | None, allow: str | None,
                 deny: str | None, fd: int = -1) -> None:
        if daemon is None:      # socat's diag_get_string('p'); pysocat answers as socat
            daemon = "socat" if LOG.progname == "pysocat" else LOG.progname
        self.daemon = daemon
        if etc is not None:
            allow = allow if allow is not None else etc + "/hosts.allow"
            deny = deny if deny is not None else etc + "/hosts.deny"
        self.allow_table = allow
        self.deny_table = deny
        self.fd = fd

    @classmethod
    def from_opts(cls, opts) -> "TcpWrap | None":
        given = [opts.has(n) for n in ("tcpwrappers", "tcpwrap-etc",
                                         "tcpwrap-hosts-allow-table", "tcpwrap-hosts-deny-table")]
        if not any(given):
            return None
        return cls(opts.get("tcpwrappers"), opts.get("tcpwrap-etc"),
                   opts.get("tcpwrap-hosts-allow-table"), opts.get("tcpwrap-hosts-deny-table"))

    def check(self, peer, local) -> bool:
        """socat's xio_tcpwrap_check(), with its log lines; True permits."""
        if peer is None:
            return False
        if local is None:       # xio_tcpwrap_check(): no local address, refuse
            LOG.warn(f"refusing connection from {peer.info()} due to tcpwrapper option")
            return False
        if self.allow_table is not None:
            LOG.debug(f'hosts_allow_table = "{self.allow_table}"')
        if self.deny_table is not None:
            LOG.debug(f'hosts_deny_table = "{self.deny_table}"')
        client = Host(peer.family, peer.addr if isinstance(peer.addr, tuple) else None)
        server = Host(local.family, local.addr if isinstance(local.addr, tuple) else None)
        req = Request(self.daemon, client, server, self.fd)
        rid = f"0x{id(req):x}"
        LOG.debug(f"request_init({rid}, RQ_FILE, {self.fd}, RQ_CLIENT_SIN, "
                  f"{{{_ntop(client)}:{peer.port or 0}}}, RQ_SERVER_SIN, "
                  f"{{{_ntop(server)}:{local.port or 0}}}, RQ_DAEMON, \"{self.daemon}\", 0")
        LOG.debug("request_init() ->")
        LOG.debug(f"sock_methods({rid})")
        LOG.debug("sock_methods() ->")
        LOG.debug(f"hosts_access({rid})")
        allow = hosts_access(req, self.allow_table or "/etc/hosts.allow",
                             self.deny_table or "/etc/hosts.deny")
        LOG.debug(f"hosts_access() -> {int(allow)}")
        if not allow:
            LOG.warn(f"refusing connection from {peer.info()} due to tcpwrapper option")
            return False
        LOG.info(f"permitting connection from {peer.info()} due to tcpwrapper option")
        return True

    __call__ = check


def _ntop(host: Host) -> str:
    return host.addr.split("%")[0] if host.addr != UNKNOWN else ""
