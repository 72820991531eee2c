"""``pysocat --explain``: what socat would do with an address, without doing it.

The explanation is built only from data: the parsed spec (how the string was
split), the address row (canonical name, syntax, groups, ``steps``), the option
rows (type, groups, phase, help) and the flags. Nothing is opened. Every input
that would fail at run time before the first open fails here with the same
text (``core.resolve`` does the checking).

``explain()`` returns a plain dict whose layout is documented in
``explain.schema.json`` (JSON Schema, draft 2020-12) and is stable:
fields are only ever added. ``render_text()`` turns it into the text the
command prints.

Address rows describe their open with ``steps``: a tuple of
``(phase, call)`` or ``(phase, call, when)`` templates, or a callable
``steps(ctx) -> iterable of such tuples`` (``ctx`` is a ``StepContext``; it may
raise SocatError for parameters the opener would reject). ``call`` is a
``str.format`` template over the parameter names (``{host}``, ``{filename}``),
``{opt[NAME]}`` (value of an option, canonical name), ``{access}``/``{flags}``
(open(2) flags), ``{perm}`` and ``{mode}`` (user text put into a template by
a callable goes through ``ctx.literal``). ``when`` is an option name (the
step happens when it is given), ``"!NAME"`` (when it is not), None, or a
callable ``when(ctx) -> bool``. A fourth element names the options that step
applies. Rows without ``steps`` get a generic list derived from their groups.
Every other option is shown at the first step whose phase is not earlier
than its own.
"""
from __future__ import annotations

import json
import os

from .versions import DEFAULT

from .addresses.base import DIRECTION, RDWR, READ, WRITE
from .errors import SocatError
from .spec import DualSpec

SCHEMA = "pysocat-explain/1"
ROLE = {RDWR: "both", READ: "read", WRITE: "write"}

# What the parameter names of the address syntax mean (socat -h's <names>).
PARAM_HELP = {
    "filename": "path of the file system entry",
    "num": "number of an already open file descriptor",
    "command-line": "program and arguments, split at blanks; quotes and (), [], {} keep "
                    "blanks inside an argument (no shell runs)",
    "shell-command": "command line given to /bin/sh -c",
    "host": "host name or IP address of the peer ([...] for IPv6)",
    "port": "port number or service name",
    "ip-addr/bits": "IP address of the interface and the prefix length of its network",
    "ip-addr": "IP address",
    "bits": "prefix length of the network",
    "protocol": "IP protocol number",
    "interface": "network interface name",
    "tcp-port": "TCP port number or service name",
    "socks-server": "SOCKS server host",
    "socks-port": "port of the SOCKS server (optional; socksport= wins)",
    "proxy-server": "HTTP proxy host",
    "domain": "protocol family number (AF_*)",
    "type": "socket type number (SOCK_*)",
    "local-address": "local socket address as hex data",
    "remote-address": "peer socket address as hex data",
    "cid": "VSOCK context id",
}

_APPLY_TEXT = {
    "addr": "read by the address itself",
    "openflag": "an open(2) flag",
    "fdflag": "fcntl(F_SETFL) on the descriptor",
    "cloexec": "fcntl(F_SETFD, FD_CLOEXEC)",
    "flock": "flock(2) on the descriptor",
    "fchmod": "fchmod(2) on the descriptor",
    "fchown": "fchown(2) on the descriptor",
    "sockopt": "setsockopt(2)",
    "resolver": "a setting of the address's own resolver (/etc/hosts, then DNS with these "
                "settings, instead of getaddrinfo's)",
}

_SOL = {1: "SOL_SOCKET", 0: "SOL_IP", 41: "SOL_IPV6", 6: "SOL_TCP", 17: "SOL_UDP",
        136: "SOL_UDPLITE", 269: "SOL_DCCP"}

_FINAL = ("LATE", "apply the descriptor's FD and LATE options, then this side's relay "
                  "settings (line ends, ignoreeof, readbytes, shut-*)")


class _Opts(dict):
    """Option values by canonical name; a missing one formats as empty."""

    def __missing__(self, key):
        return ""


class StepContext:
    """What a ``steps`` callable sees: the resolved address, not yet opened."""

    def __init__(self, res, mode, config, index=1):
        self.index = index
        self.warnings = []
        self.row = res.row
        self.spec = res.spec
        self.params = join_params(res.row, res.params)
        self.raw_params = tuple(res.params)     # as split at ':', before joining
        self.mode = mode
        self.config = config
        self.opts = _Opts()
        for it in res.opts.items:
            self.opts[it.row.name] = it.value

    def warn(self, text: str, code: str = "runtime-warning", severity: str = "W") -> None:
        """A message the open will log (socat's exact text)."""
        self.warnings.append(_w(code, "runtime", text, severity))

    def advise(self, code: str, text: str) -> None:
        """An expert's note about this address (kind "advice")."""
        self.warnings.append(_w(code, "advice", text))

    @staticmethod
    def literal(text: str) -> str:
        """User text to put into a step template as it is."""
        return str(text).replace("{", "{{").replace("}", "}}")

    def has(self, name: str) -> bool:
        return name in self.opts

    def get(self, name: str, default=None):
        return self.opts[name] if name in self.opts else default

    def fields(self) -> dict:
        """The names a step template may use."""
        out = dict(zip(self.row.params, self.params))
        out.update(opt=self.opts, mode=DIRECTION[self.mode], access=self.access(),
                   flags=self.open_flags(), perm=f"0{self.get('perm', 0o666):03o}")
        return out

    def access(self) -> str:
        mode = self.mode
        for name, m in (("o-rdonly", READ), ("o-wronly", WRITE), ("o-rdwr", RDWR)):
            if self.get(name):
                mode = m
        return ("O_RDONLY", "O_WRONLY", "O_RDWR")[mode]

    def open_flags(self) -> str:
        from .options import table
        flags = [self.access()]
        for name in self.opts:
            row = table.OPTIONS[name]
            if row.apply[0] == "openflag" and self.opts[name]:
                flags.append(_flag_name(row.apply[1]))
        if self.get("o-trunc"):
            flags.append("O_TRUNC")
        return "|".join(flags)


def _flag_name(value: int) -> str:
    for name in ("O_CREAT", "O_EXCL", "O_NOCTTY", "O_SYNC", "O_DSYNC", "O_RSYNC",
                 "O_NOFOLLOW", "O_DIRECTORY", "O_LARGEFILE", "O_APPEND", "O_NONBLOCK",
                 "O_NOATIME", "O_ASYNC"):
        if getattr(os, name, None) == value:
            return name
    return f"0{value:o}"


def param_meaning(name: str, value: str) -> str:
    """PARAM_HELP's text, plus what this value says (no name is resolved)."""
    text = PARAM_HELP.get(name, name)
    if name == "ip-addr/bits" and "/" in value:
        addr, _, bits = value.partition("/")
        extra = f"address {addr}, prefix length {bits}"
        if bits.isdigit() and int(bits) <= 32:
            mask = (0xFFFFFFFF << (32 - int(bits))) & 0xFFFFFFFF
            extra += f" (netmask {'.'.join(str(mask >> s & 255) for s in (24, 16, 8, 0))})"
        return f"{text}: {extra}"
    if name == "host" and value.startswith("[") and value.endswith("]"):
        return f"{text}: the IPv6 address {value[1:-1]}"
    if name in ("port", "tcp-port") and value and not value[0].isdigit():
        return f"{text}: {value!r} is a service name, looked up in /etc/services"
    return text


def join_params(row, params) -> tuple:
    """Words beyond the last named parameter belong to it (SYSTEM:echo a:b)."""
    n = len(row.params)
    if n and len(params) > n:
        return tuple(params[:n - 1]) + (":".join(params[n - 1:]),)
    return tuple(params)


# ------------------------------------------------------------------ steps

_FD_LIKE = ("fd", "stdio", "stdin", "stdout", "stderr", "gopen", "exec", "system")


def _socket_triple(row) -> tuple[str, str, str]:
    """socket(2) arguments a socket row implies, from its groups and name."""
    g, name = row.groups, row.name
    dgram = any(w in name for w in ("datagram", "sendto", "recv", "udp"))
    if name == "interface":
        return "AF_PACKET", "SOCK_RAW", "htons(ETH_P_ALL)"
    if "domain" in row.params:       # SOCKET-*: the numbers as given; so-type= may change the type
        stype = "{type}" if "type" in row.params else "SOCK_STREAM (or so-type=)"
        return "{domain}", stype, "{protocol}"
    if "UNIX" in g and not g & {"IP4", "IP6"}:
        return "AF_UNIX", "SOCK_DGRAM" if dgram else "SOCK_STREAM", "0"
    if g >= {"IP4", "IP6"}:
        pf = "AF_INET or AF_INET6 (as the address resolves; -4/-6, pf=)"
    else:
        pf = "AF_INET6" if "IP6" in g else "AF_INET"
    if "TCP" in g:
        return pf, "SOCK_STREAM", "IPPROTO_TCP"
    if "UDP" in g:
        return pf, "SOCK_DGRAM", "IPPROTO_UDP"
    return pf, "SOCK_RAW", "{protocol}"


def _reuseaddr_step(ctx) -> str:
    """SO_REUSEADDR of a TCP listener under the active profile, and the other's."""
    from .versions import ACTIVE
    if ctx.has("so-reuseaddr") and ctx.get("so-reuseaddr") is None:
        text = "no setsockopt() of SO_REUSEADDR: reuseaddr= leaves it as the system has it"
    elif ctx.has("so-reuseaddr"):
        text = "setsockopt(fd, SO_REUSEADDR, {opt[so-reuseaddr]}) as the reuseaddr option says"
    elif ACTIVE.listen_reuseaddr_default:
        text = "setsockopt(fd, SO_REUSEADDR, 1): implicit for TCP listeners"
    else:
        text = "SO_REUSEADDR stays off unless the reuseaddr option is given"
    other = ACTIVE.differs("listen_reuseaddr_default")
    if other is not None and not ctx.has("so-reuseaddr"):
        text += (f" (socat {other[0]}: " + ("sets it implicitly, reuseaddr=0 clears it)"
                                            if other[1] else "only with reuseaddr)"))
    return text


def _has_res(ctx) -> bool:
    """Whether the address carries res-* options (its names go to pysocat.resolver)."""
    from .options.table import OPTIONS
    return any(ctx.has(r.name) for r in set(OPTIONS.values()) if r.apply[0] == "resolver")


def _generic_steps(ctx) -> list:
    """A step list from the groups and name, for rows that do not describe their open."""
    g, name = ctx.row.groups, ctx.row.name
    params = set(ctx.row.params)
    steps = []
    if "NAMED" in g and "SOCKET" not in g:
        steps.append(("EARLY", "prepare the file system entry (unlink-early, umask)"))
    if "SOCKET" in g and name not in _FD_LIKE:
        pf, stype, proto = _socket_triple(ctx.row)
        peer = ("{host}:{port}" if {"host", "port"} <= params else
                "{host}" if "host" in params else
                "{remote-address} (the bytes after sa_family)" if "remote-address" in params else
                '"{filename}"' if "filename" in params else "the peer")
        if "host" in params:
            how = ("getaddrinfo" if not _has_res(ctx) else
                   "/etc/hosts, then DNS as the res-* options say")
            steps.append(("PRESOCKET", f"resolve {{host}} and {{port}} ({how})"
                          if "port" in params else f"resolve {{host}} ({how})"))
        steps.append(("SOCKET", f"socket({pf}, {stype}, {proto})"))
        if "LISTEN" in g and proto == "IPPROTO_TCP":
            steps.append(("PREBIND", _reuseaddr_step(ctx)))
        listening = "LISTEN" in g or "recv" in name or name == "interface"
        if listening:
            if name == "interface":
                local = "the interface {interface} (sockaddr_ll)"
            elif "port" in params:
                local = ("{opt[bind]}, port {port}" if ctx.has("bind")
                         else "any address, port {port}")
            elif "filename" in params:
                local = '"{filename}"'
            elif "local-address" in params:
                local = "{local-address} (the bytes after sa_family)"
            else:
                local = "{opt[bind]}" if ctx.has("bind") else "any address"
            steps.append(("BIND", f"bind(fd, {local})"))
        else:
            steps.append(("BIND", "bind(fd, {opt[bind]})", "bind"))
        if "LISTEN" in g and stype == "SOCK_DGRAM":
            steps += [("ACCEPT", "recvfrom(): wait for the first packet"),
                      ("FORK", "fork(): a child serves that sender, the parent waits for "
                               "the next", "fork"),
                      ("CONNECTED", "connect(fd, the sender's address): only it is served")]
        elif "LISTEN" in g:
            steps += [("LISTEN", "listen(fd, {opt[backlog]})" if ctx.has("backlog")
                       else "listen(fd, backlog)"),
                      ("ACCEPT", "accept(): wait for a connection"),
                      ("FORK", "fork(): a child handles the connection, the parent "
                               "accepts the next", "fork")]
        elif "connect" in name or stype == "SOCK_STREAM" and not listening or "OPENSSL" in g:
            steps.append(("CONNECT", f"connect(fd, {peer})"))
        elif "sendto" in name or "datagram" in name:
            steps.append(("CONNECTED", f"sendto(fd, {peer}) for every packet; recvfrom() "
                                       "takes packets from any sender"))
        elif name == "interface":
            steps.append(("CONNECTED", "recvfrom()/sendto() whole frames on that interface"))
        elif "recv" in name:
            steps.append(("CONNECTED", "recvfrom(): the first packet's sender becomes the peer"
                          if "recvfrom" in name else "recv() packets from any sender"))
            if "recvfrom" in name:
                steps.append(("FORK", "fork(): a child answers this packet, the parent waits "
                                      "for the next", "fork"))
        if "OPENSSL" in g:
            kind = "DTLS" if stype == "SOCK_DGRAM" else "TLS"
            call = "SSL_accept()" if "LISTEN" in g else "SSL_connect()"
            steps.append(("CONNECTED", f"{call}: the {kind} handshake, then socat's checks of "
                                       "the peer certificate (verify, commonname)"))
        if g & {"RETRY"}:
            steps.append(("CONNECT", "on failure retry {opt[retry]} times" if ctx.has("retry")
                          else "on failure retry forever",
                          lambda c: c.has("retry") or c.has("forever"),
                          ("retry", "forever", "interval")))
    elif "INTERFACE" in g:
        steps.append(("OPEN", "open the network interface"))
    elif "OPEN" in g:
        steps.append(("OPEN", "open() the file"))
    if ("FORK" in g or "EXEC" in g) and name not in _FD_LIKE:
        steps += [("FORK", "fork()"), ("EXEC", "execute the program")]
    if not steps:
        steps.append(("OPEN", f"open the {name} address"))
    return steps


def _want(when, ctx) -> bool:
    if when is None:
        return True
    if callable(when):
        return bool(when(ctx))
    if when.startswith("!"):
        return not ctx.has(when[1:])
    return ctx.has(when)


def build_steps(res, mode, config, index=1, warnings=None) -> list[dict]:
    from .options.table import PHASES
    ctx = StepContext(res, mode, config, index)
    spec = res.row.steps
    raw = spec(ctx) if callable(spec) else (spec or _generic_steps(ctx))
    fields = ctx.fields()
    steps = []
    claims = {}
    for entry in raw:
        phase, call = entry[0], entry[1]
        if not _want(entry[2] if len(entry) > 2 else None, ctx):
            continue
        for name in (entry[3] if len(entry) > 3 else ()):
            claims.setdefault(name, len(steps))
        try:
            call = call.format_map(fields)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError):
            pass
        steps.append({"phase": phase, "call": call, "options": []})
    if not any(s["phase"] in ("LATE", "LATE2") for s in steps):
        steps.append({"phase": _FINAL[0], "call": _FINAL[1], "options": []})
    rank = {p: i for i, p in enumerate(PHASES)}
    for it in res.opts.items:
        r = rank.get(it.row.phase, len(PHASES))
        if it.row.name in claims:
            target = steps[claims[it.row.name]]
        else:
            target = next((s for s in steps if rank.get(s["phase"], len(PHASES)) >= r),
                          steps[-1])
        if it.row.name not in target["options"]:
            target["options"].append(it.row.name)
    if warnings is not None:
        warnings += ctx.warnings
    return steps


# ------------------------------------------------------------- one address

def transport(row) -> str:
    """stream | datagram | packet | inherited (what the descriptor is)."""
    if row.transport:
        return row.transport
    g, name = row.groups, row.name
    if name in ("stdio", "stdin", "stdout", "stderr", "fd"):
        return "inherited"
    if "INTERFACE" in g or name == "interface":
        return "packet"
    if any(w in name for w in ("datagram", "sendto", "recv")) or ("UDP" in g and "TCP" not in g):
        return "datagram"
    return "stream"


def _jsonable(v):
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, bytes):
        return v.decode("latin-1")
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    return str(v)


def _option(it, groups) -> dict:
    from .help import group_list, type_name
    from .options.table import every_address
    row = it.row
    given = it.raw.partition("=")[0]
    how = _APPLY_TEXT.get(row.apply[0], row.apply[0])
    if row.apply[0] == "sockopt":
        level = _SOL.get(row.apply[1], str(row.apply[1]))
        how = (f"setsockopt(fd, {level}, {row.name.upper().replace('-', '_')}, value) "
               f"({row.apply[1]}, {row.apply[2]})")
    elif row.apply[0] in ("openflag", "fdflag"):
        how += f" ({_flag_name(row.apply[1])})"
    if row.type == "CONST":
        value = True
    elif row.type == "BOOL":
        value = bool(it.value)
    else:
        value = _jsonable(it.value)
    return {"given": given, "name": row.name, "raw": it.raw, "value": value,
            "type": type_name(row.type), "groups": group_list(row.groups),
            "phase": row.phase, "help": row.help, "applied_by": how,
            "in_groups": bool(row.groups & groups) or every_address(row)}


def explain_single(spec, mode, config, index) -> dict:
    """One single address (not a!!b), opened for ``mode``."""
    from .core import UNIVERSAL_GROUPS, resolve
    from .help import group_list
    from .parse import _SPECIAL
    res = resolve(spec, config.ignore_groups)
    row = res.row
    head_l = spec.head.lower()
    if head_l == row.name:
        via = "name"
    elif head_l in row.aliases:
        via = "alias"
    elif row.name == "fd":
        via = "fd-number"
    else:
        via = "file-name"
    params = [{"name": n, "value": v, "meaning": param_meaning(n, v)}
              for n, v in zip(row.params, join_params(row, res.params))]
    groups = row.groups | UNIVERSAL_GROUPS
    part = {
        "role": ROLE[mode], "mode": DIRECTION[mode], "text": spec.raw,
        "split": {"head": spec.head, "params": list(spec.params),
                  "options": [o.raw for o in spec.options],
                  "parser": "plain" if _SPECIAL.isdisjoint(spec.raw) else "grammar"},
        "head": spec.head, "type": row.name, "via": via, "syntax": row.syntax,
        "help": row.help, "feature": row.feature, "groups": group_list(row.groups),
        "params": params,
        "options": [_option(it, groups) for it in res.opts.items],
        "transport": transport(row),
    }
    opened = []
    part["steps"] = build_steps(res, mode, config, index, opened)
    part = {k: part[k] for k in ("role", "mode", "text", "split", "head", "type", "via",
                                 "syntax", "help", "feature", "groups", "params", "options",
                                 "steps", "transport")}
    from .versions import ACTIVE
    if ACTIVE.mode_warning and _one_way(row.name, part["role"]):
        from .core import _MODETEXT, address_directions
        opened.insert(0, _w("one-way-address", "runtime",
                            f"address is opened in {_MODETEXT[mode]} mode but only "
                            f"supports {_MODETEXT[address_directions(row.name)]}", "W"))
    part["warnings"] = [dict(w, address=index) for w in opened + _warnings(part, res, config)]
    return part


def explain_address(text: str, mode: int, config, index: int) -> dict:
    from .core import parse_address
    spec = parse_address(text)
    out = {"index": index, "text": text, "mode": DIRECTION[mode],
           "kind": "dual" if isinstance(spec, DualSpec) else "single", "parts": []}
    if isinstance(spec, DualSpec):
        if mode != RDWR:
            out["warnings"] = [_w("dual-unidirectional", "runtime",
                                  "unidirectional open of dual address", "W", index)]
        if mode in (RDWR, READ):
            out["parts"].append(explain_single(spec.read, READ, config, index))
        if mode in (RDWR, WRITE):
            out["parts"].append(explain_single(spec.write, WRITE, config, index))
    else:
        out["parts"].append(explain_single(spec, mode, config, index))
    out.setdefault("warnings", [])
    for p in out["parts"]:
        out["warnings"] += p["warnings"]
    return out


# -------------------------------------------------------------- warnings

def _w(code, kind, text, severity=None, address=None) -> dict:
    return {"code": code, "kind": kind, "severity": severity, "text": text,
            "address": address}


def _warnings(part, res, config) -> list[dict]:
    out = []
    name = part["type"]
    opts = {o["name"]: o for o in part["options"]}
    for o in part["options"]:
        if not o["in_groups"]:
            out.append(_w("option-outside-groups", "advice",
                          f'option "{o["given"]}" does not belong to {name} (groups '
                          f'{",".join(part["groups"])}); -g lets it pass, but no step '
                          f'of this address uses it (socat ends with "1 option(s) could '
                          f'not be used")'))
    if "bind" in opts:
        bind = str(opts["bind"]["value"])
        if "LISTEN" in part["groups"]:
            out += _bind_in_listen(name, bind)
        else:
            out += _bind_trailing(bind)
    if "UDP" in part["groups"] and "connect" in name:
        out.append(_w("udp-connected", "advice",
                      f"{name} connect()s its UDP socket: it only receives from that one "
                      "peer, and an ICMP port unreachable (nobody listening there yet) "
                      'makes the next read or write fail with "Connection refused", '
                      "which ends the relay; UDP-DATAGRAM or UDP-SENDTO do not connect"))
    if "OPENSSL" not in part["groups"]:      # DTLS ends with close_notify
        out += _udp_notes(name, part["groups"], opts, config)
    if "INTERFACE" in part["groups"] and name.startswith("tun"):
        out += _tun_warnings(part, opts, config)
    return out


def _udp_notes(name, groups, opts, config) -> list[dict]:
    """What a socat expert says about the UDP address types."""
    if "UDP" not in groups or "TCP" in groups or name in _FD_LIKE:
        return []
    out = []
    if "listen" in name:
        out.append(_w("udp-listen-one-peer", "advice",
                      f"{name} waits for the first packet and then connect()s to its sender: "
                      "only that peer is served" + ("" if "fork" in opts else
                                                    " (with fork: a child per sender)")))
    elif "recvfrom" in name and "fork" not in opts:
        out.append(_w("udp-recvfrom-one-packet", "advice",
                      f"{name} without fork takes one packet from any sender, answers it, "
                      "and then the transfer ends; fork makes it a server"))
    elif name.endswith("-recv") and config.direction == "both":
        out.append(_w("udp-recv-no-replies", "advice",
                      f"{name} merges the packets of all senders and cannot answer: use -u"))
    if config.total_timeout is None:
        out.append(_w("udp-no-eof", "advice",
                      "UDP carries no end of file: this side never ends the transfer; "
                      "-T <seconds> ends it after a quiet spell"))
    return out


def _bind_in_listen(name: str, value: str) -> list[dict]:
    """A listener's bind= is an address only; its port is the parameter."""
    import socket
    try:
        socket.inet_pton(socket.AF_INET6, value.strip("[]"))
        return []
    except OSError:
        pass
    if ":" not in value:
        return []
    return [_w("bind-port-in-listen", "advice",
               f'{name} takes the port as its parameter and bind= only an address: '
               f'"{value}" is looked up as a host name, and the open fails with '
               f'getaddrinfo("{value}", ...)')]


def _bind_trailing(value: str) -> list[dict]:
    """socat's xiogetaddrinfo() warning for a port with trailing data."""
    from .options.values import strtoul
    if value.startswith("["):
        close = value.find("]")
        service = value[close + 2:] if close >= 0 and value[close + 1:close + 2] == ":" else ""
    else:
        service = value.partition(":")[2]
    if not service or not service[0].isdigit():
        return []
    _, extra = strtoul(service)
    if not extra:
        return []
    return [_w("bind-trailing-data", "runtime",
               f'xiogetaddrinfo(, "{service}", ...): extra trailing data "{extra}"', "W")]


def _tun_warnings(part, opts, config) -> list[dict]:
    out = []
    if os.geteuid() != 0:
        out.append(_w("needs-cap-net-admin", "advice",
                      "TUN needs CAP_NET_ADMIN (root): without it TUNSETIFF fails with "
                      '"Operation not permitted"; you are not root'))
    else:
        out.append(_w("needs-cap-net-admin", "advice",
                      "TUN needs CAP_NET_ADMIN (root) for TUNSETIFF and the interface set-up"))
    mtu = 1500
    out.append(_w("tunnel-mtu", "advice",
                  f"each read returns one packet of up to the interface MTU ({mtu} unless "
                  "changed); carried over UDP/IPv4 a packet grows by 28 bytes of headers "
                  f"(48 over IPv6), so full-size packets fragment on a {mtu} byte path: lower "
                  "the MTU of both tunnel interfaces (ip link set dev NAME mtu 1400; socat "
                  "has no option for it)"))
    if config.bufsize < mtu:
        out.append(_w("tunnel-bufsize", "advice",
                      f"-b {config.bufsize} is smaller than the MTU {mtu}: longer packets "
                      "are truncated"))
    return out


def _relay_warnings(addrs, config) -> list[dict]:
    out = []
    tr = [_side_transport(a) for a in addrs]
    packetish = {"packet", "datagram"}
    if tr[0] in packetish and tr[1] == "stream" or tr[1] in packetish and tr[0] == "stream":
        pkt = 1 if tr[0] in packetish else 2
        out.append(_w("boundaries-lost", "advice",
                      f"address {pkt} carries packets, address {3 - pkt} a byte stream: "
                      "packet boundaries are lost on the way into the stream, and the "
                      "other way each read of the stream becomes one packet"))
    return out


def _side_transport(addr) -> str:
    kinds = {p["transport"] for p in addr["parts"]}
    return kinds.pop() if len(kinds) == 1 else "mixed"


# --------------------------------------------------------------- the whole

def _config(flags):
    from .core import Config
    if flags is None:
        return Config()
    if isinstance(flags, Config):
        return flags
    from .cli import parse_args
    from .log import LOG
    saved = dict(vars(LOG))        # -d/-l* flags must not reconfigure the caller's log
    try:
        cfg, _, _ = parse_args(["--explain", *flags, "-"])
    finally:
        vars(LOG).clear()
        vars(LOG).update(saved)
    return cfg


def _relay(addrs, config) -> dict:
    direction = {"both": "both", "lr": "left-to-right", "rl": "right-to-left"}[config.direction]
    flows = []
    if config.direction in ("both", "lr"):
        flows.append({"from": 1, "to": 2})
    if config.direction in ("both", "rl"):
        flows.append({"from": 2, "to": 1})
    for f in flows:
        f["reads"] = _side_transport(addrs[f["from"] - 1])
        f["writes"] = _side_transport(addrs[f["to"] - 1])
    dump = "hex" if config.verbhex else "text" if config.verbose else "none"
    return {"direction": direction, "flows": flows, "block_size": config.bufsize,
            "closing_timeout": config.closing_timeout,
            "total_timeout": config.total_timeout, "dump": dump}


def explain(addr1: str, addr2: str | None = None, flags=None) -> dict:
    """Explain one or two addresses as ``pysocat [flags] addr1 addr2`` would use them.

    ``flags`` is a ``core.Config``, a list of command line flags
    (``["-u", "-b", "4096"]``) or None. Raises SocatError exactly where a run
    would fail before opening anything.
    """
    config = _config(flags)
    mode1 = {"lr": READ, "rl": WRITE}.get(config.direction, RDWR)
    addrs = [explain_address(addr1, mode1, config, 1)]
    if addr2 is not None:
        mode2 = {RDWR: RDWR, READ: WRITE, WRITE: READ}[mode1]
        addrs.append(explain_address(addr2, mode2, config, 2))
    warnings = [w for a in addrs for w in a["warnings"]]
    relay = None
    if addr2 is not None:
        relay = _relay(addrs, config)
        warnings += _relay_warnings(addrs, config)
    from .versions import ACTIVE, VERSIONS
    return {
        "schema": SCHEMA,
        "version": {"profile": ACTIVE.version,
                    "others": [v for v in VERSIONS if v != ACTIVE.version]},
        "flags": {"direction": config.direction, "bufsize": config.bufsize,
                  "closing_timeout": config.closing_timeout,
                  "total_timeout": config.total_timeout, "verbose": config.verbose,
                  "hexdump": config.verbhex, "ignore_groups": config.ignore_groups,
                  "sloppy": config.sloppy, "prefer_ip": config.prefer_ip},
        "addresses": addrs,
        "relay": relay,
        "warnings": warnings,
        "version_differences": version_differences(addrs, config),
    }


# ------------------------------------------------------------ versions

# TCP-like listeners that 1.8.1.3 gives SO_REUSEADDR unasked
_NO_REUSEADDR = ("unix", "abstract", "openssl-dtls")     # DTLS listens on UDP


def version_differences(addrs, config) -> list[dict]:
    """Where the other socat version would do this run differently: one entry
    per versions.py row that matters here, with both values and the row's text."""
    from .versions import ACTIVE, behaviour
    out = []

    def note(name, address=None, detail=""):
        other = ACTIVE.differs(name)
        if other is None or any(d["behaviour"] == name and d["address"] == address
                                for d in out):
            return
        row = behaviour(name)
        out.append({"behaviour": name, "address": address, "text": row.doc,
                    "detail": detail, "value": _jsonable(getattr(ACTIVE, name)),
                    "other_version": other[0], "other_value": _jsonable(other[1]),
                    "source": row.source})

    note("default_log_level", detail="without -d, W messages are shown"
         if ACTIVE.default_log_level <= 3 else "without -d, only E messages are shown")
    if config.total_timeout is not None and config.total_timeout <= 0:
        note("timeout_zero_is_zero", detail=f"-T {config.total_timeout:g}")
    for a in addrs:
        index = a["index"]
        for p in a["parts"]:
            name, opts = p["type"], {o["name"]: o for o in p["options"]}
            groups = set(p["groups"])
            if name in ("exec", "system"):
                note("child_exit_warns", index)
            if name == "exec" and p["split"]["params"][:1] and \
                    p["split"]["params"][0][:1] == " ":
                note("exec_skips_blanks", index, "the command starts with a blank")
            if name == "system" and len(p["split"]["params"]) > 1:
                note("system_one_param", index, "the command contains ':'")
            if "umask" in opts:
                note("umask_every_address", index)
            if any(n.startswith("res-") for n in opts):
                note("res_options_per_open", index)
            if "LISTEN" in groups and p["transport"] == "stream" and \
                    not name.startswith(_NO_REUSEADDR) and "so-reuseaddr" not in opts:
                note("listen_reuseaddr_default", index)
            if "SOCKET" in groups and p["transport"] == "stream" and name not in _FD_LIKE:
                note("read_reset_is_error", index)
            if name.endswith("-connect") and groups & {"TCP", "UDP", "SCTP", "DCCP",
                                                       "UDPLITE"}:
                note("connect_notices", index)
                note("connect_failure_pair", index)
            if "OPENSSL" in groups and "LISTEN" not in groups:
                note("openssl_handshake_retrylater", index)
                host = (p["split"]["params"] or [""])[0]
                if "openssl-snihost" in opts or _is_ip_literal(host):
                    note("openssl_sni_ip_checks", index)
            if "OPENSSL" in groups and ("openssl-min-proto-version" in opts
                                        or "openssl-max-proto-version" in opts):
                note("openssl_version_hint", index)
            if _one_way(name, p["role"]):
                note("mode_warning", index, f"{name} opened for {p['mode']}")
    return out


def _is_ip_literal(text: str) -> bool:
    from .addresses.openssl import is_ip_address
    return is_ip_address(text)


def _one_way(name: str, role: str) -> bool:
    from .core import address_directions
    supports = address_directions(name)
    return supports != RDWR and ROLE[supports] != role


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


# ---------------------------------------------------------------- text

def _fmt_value(o) -> str:
    v = o["value"]
    if o["type"] == "MODE_T" and isinstance(v, int):
        return f"0{v:o}"
    if o["type"] == "CONST":
        return "(no value)"
    return json.dumps(v)


def render_text(data: dict) -> str:
    lines = []
    add = lines.append
    for a in data["addresses"]:
        add(f'address {a["index"]}: {a["text"]}')
        if a["kind"] == "dual":
            add("  a!!b: the left part is read from, the right part is written to")
        for p in a["parts"]:
            ind = "  " if a["kind"] == "single" else "    "
            if a["kind"] == "dual":
                add(f'  {p["role"]} part: {p["text"]}')
            s = p["split"]
            how = ("quotes, escapes and brackets resolved by the grammar"
                   if s["parser"] == "grammar" else "split at ':' and ','")
            add(f"{ind}split ({how}): head {s['head']!r}, params {s['params']!r}, "
                f"options {s['options']!r}")
            via = {"name": "", "alias": f" ({p['head']} is an alias)",
                   "fd-number": f" (a lone digit is a file descriptor)",
                   "file-name": f" (a head containing '/' is a file name)"}[p["via"]]
            add(f"{ind}type: {p['type']}{p['syntax']}{via} - {p['help']}")
            add(f"{ind}  groups {','.join(p['groups'])}; opened for {p['mode']}; "
                f"transport {p['transport']}")
            for q in p["params"]:
                add(f"{ind}param <{q['name']}> = {q['value']!r}: {q['meaning']}")
            for o in p["options"]:
                alias = "" if o["given"].lower() == o["name"] else f" (given as {o['given']})"
                add(f"{ind}option {o['name']}{alias} = {_fmt_value(o)}: {o['help']}")
                add(f"{ind}  type {o['type']}, groups {','.join(o['groups'])}, phase "
                    f"{o['phase']}, {o['applied_by']}")
            add(f"{ind}steps:")
            for i, st in enumerate(p["steps"], 1):
                opts = f"  [options: {', '.join(st['options'])}]" if st["options"] else ""
                add(f"{ind}  {i}. {st['phase']:<10} {st['call']}{opts}")
    r = data["relay"]
    if r:
        add("relay:")
        for f in r["flows"]:
            add(f"  address {f['from']} ({f['reads']}) -> address {f['to']} "
                f"({f['writes']}), reads of up to {r['block_size']} bytes")
        if r["direction"] != "both":
            add(f"  unidirectional ({r['direction']})")
        add(f"  after EOF on one side: the other direction gets {r['closing_timeout']} s "
            "(-t) before both are closed")
        if r["total_timeout"] is not None:
            from .relay.engine import total_timeout
            from .versions import ACTIVE
            raw = r["total_timeout"]
            t = total_timeout(raw)
            if t is None:
                add(f"  no inactivity timeout (-T {raw:g})")
            elif t < 0:
                add(f"  -T {raw:g}: poll() refuses a negative timeout, the run ends with E")
            else:
                add(f"  ends after {t} s without data (-T)")
            other = ACTIVE.differs("timeout_zero_is_zero")
            if other and raw <= 0:
                if other[1]:        # the other version reads -T as 1.8 does
                    what = "ends at the first idle moment" if raw == 0 else "means none"
                else:
                    what = "means no timeout" if raw == 0 else "is refused by poll()"
                add(f"  (socat {other[0]}: -T {raw:g} {what})")
        if r["dump"] != "none":
            add(f"  data is dumped to stderr as {r['dump']} (-v/-x)")
    v = data["version"]
    others = " or ".join(f"socat {o}" for o in v["others"])
    add(f"version: behaves as socat {v['profile']}"
        + (f" (PYSOCAT_COMPAT / --compat select {others})" if others else ""))
    for d in data["version_differences"]:
        where = f"address {d['address']}: " if d["address"] else ""
        detail = f" [{d['detail']}]" if d["detail"] else ""
        add(f"  differs in socat {d['other_version']}: {where}{d['text']}{detail} "
            f"(socat-{DEFAULT} {d['source']})")
    for w in data["warnings"]:
        where = f"address {w['address']}: " if w["address"] else ""
        if w["kind"] == "runtime":
            add(f"warning: {where}at run time socat logs: {w['severity']} {w['text']}")
        else:
            add(f"note: {where}{w['text']}")
    return "\n".join(lines) + "\n"


def main_explain(addrs: list[str], cfg, as_json: bool) -> int:
    """The CLI's --explain: print and return the exit status."""
    import sys
    data = explain(addrs[0], addrs[1] if len(addrs) > 1 else None, cfg)
    sys.stdout.write(to_json(data) if as_json else render_text(data))
    return 0


__all__ = ["explain", "render_text", "to_json", "StepContext", "SocatError"]
