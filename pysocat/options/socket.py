"""Socket options: SOCKET, IP4/IP6, TCP, LISTEN, CHILD, RANGE, RETRY, IPAPP.

Rows as in socat 1.7.4.4 (xio-socket.c, xio-ip.c, xio-ip6.c, xio-tcp.c,
xio-listen.c, xio-ipapp.c, xiolayer.c): the canonical name is socat's, the
aliases are socat's. ``("sockopt", level, name)`` rows are applied by
``Options.apply(phase, fd)`` at the phases the socket layer
(addresses/sockets.py) passes; ``("addr",)`` rows are read by that layer.
Multicast/membership rows belong to the UDP/IP family module.
"""
import socket as _s

from .table import OFFSET, opt

SOL_SOCKET, SOL_IP, SOL_IPV6, SOL_TCP = _s.SOL_SOCKET, 0, 41, 6


def _c(name, linux):
    return getattr(_s, name, linux)


def _so(name, optname, phase="PASTSOCKET", aliases=(), vtype="INT", help="", nick=None,
        since=None):
    opt(name, vtype, "SOCKET", phase, ("sockopt", SOL_SOCKET, optname), help, aliases, nick=nick,
        since=since)


# --- SOCKET: SOL_SOCKET options ------------------------------------------------
_so("so-debug", _c("SO_DEBUG", 1), aliases=("debug",), help="SO_DEBUG", nick="debug")
_so("so-acceptconn", _c("SO_ACCEPTCONN", 30), aliases=("acceptconn",), help="SO_ACCEPTCONN", nick="acceptconn")
_so("so-broadcast", _c("SO_BROADCAST", 6), aliases=("broadcast",), help="allow sending to broadcast addresses", nick="broadcast")
_so("so-reuseaddr", _c("SO_REUSEADDR", 2), "PREBIND", ("reuseaddr",), vtype="INT_NULL",
    help="allow binding a port in TIME_WAIT (1.8: TCP listeners set it unless "
    "reuseaddr=0 or reuseaddr=)", nick="reuseaddr")
_so("so-keepalive", _c("SO_KEEPALIVE", 9), "FD", ("keepalive",), help="send TCP keepalive probes", nick="keepalive")
_so("so-linger", _c("SO_LINGER", 13), aliases=("linger",), vtype="LINGER", help="linger on close this many seconds", nick="linger")
_so("so-oobinline", _c("SO_OOBINLINE", 10), aliases=("oobinline",), help="out-of-band data inline", nick="oobinline")
_so("so-sndbuf", _c("SO_SNDBUF", 7), aliases=("sndbuf",), help="send buffer size", nick="sndbuf")
_so("so-sndbuf-late", _c("SO_SNDBUF", 7), "LATE", ("sndbuf-late",), help="send buffer size, set late", nick="sndbuf-late")
_so("so-rcvbuf", _c("SO_RCVBUF", 8), aliases=("rcvbuf",), help="receive buffer size", nick="rcvbuf")
_so("so-rcvbuf-late", _c("SO_RCVBUF", 8), "LATE", ("rcvbuf-late",), help="receive buffer size, set late", nick="rcvbuf-late")
_so("so-error", _c("SO_ERROR", 4), aliases=("error",), help="SO_ERROR", nick="error")
_so("so-dontroute", _c("SO_DONTROUTE", 5), aliases=("dontroute",), help="bypass routing", nick="dontroute")
_so("so-rcvlowat", _c("SO_RCVLOWAT", 18), aliases=("rcvlowat",), help="receive low water mark", nick="rcvlowat")
_so("so-sndlowat", _c("SO_SNDLOWAT", 19), aliases=("sndlowat",), help="send low water mark", nick="sndlowat")
_so("so-attach-filter", 26, aliases=("attach-filter", "attachfilter"), help="SO_ATTACH_FILTER", nick="attachfilter")
_so("so-detach-filter", 27, aliases=("detach-filter", "detachfilter"), help="SO_DETACH_FILTER", nick="detachfilter")
_so("so-bindtodevice", _c("SO_BINDTODEVICE", 25), aliases=("bindtodevice", "if", "interface"),
    vtype="STRING", help="bind the socket to a network interface", nick="if")
_so("so-bsdcompat", 14, aliases=("bsdcompat",), help="SO_BSDCOMPAT", nick="bsdcompat")
_so("so-timestamp", 29, aliases=("timestamp",), help="receive time stamps", nick="timestamp")
_so("so-no-check", 11, aliases=("no-check", "nocheck"), help="no UDP checksums", nick="nocheck")
_so("so-passcred", _c("SO_PASSCRED", 16), aliases=("passcred",), help="receive credentials", nick="passcred")
_so("so-priority", _c("SO_PRIORITY", 12), aliases=("priority",), help="packet priority", nick="priority")
_so("so-reuseport", _c("SO_REUSEPORT", 15), "PREBIND", ("reuseport",), help="several sockets may bind the same port", nick="reuseport")
_so("so-security-authentication", 22, aliases=("security-authentication", "securityauthentication"), nick="securityauthentication")
_so("so-security-encryption-network", 24, aliases=("security-encryption-network", "securityencryptionnetwork"), nick="securityencryptionnetwork")
_so("so-security-encryption-transport", 23, aliases=("security-encryption-transport", "securityencryptiontransport"), nick="securityencryptiontransport")
opt("so-type", "INT", "SOCKET", "SOCKET", ("addr",), "socket type for socket(2)", ("socktype", "type"), nick="type",
    choices=("1", "2", "3", "5"))
opt("so-protocol", "INT", "SOCKET", "SOCKET", ("addr",), "protocol for socket(2)", ("protocol", "prototype", "so-prototype"), nick="protocol")
opt("bind", "STRING", "SOCKET", "BIND", ("addr",), "bind the socket to this local address")
opt("connect-timeout", "TIMEVAL", "SOCKET", "PASTSOCKET", ("addr",), "give up connecting after this many seconds")
opt("protocol-family", "STRING", "SOCKET", "PRESOCKET", ("addr",), "protocol family: ip4, ip6 or a number", ("pf",), nick="pf",
    choices=("ip4", "ip6", "inet", "inet6", "ipv4", "ipv6"))
opt("null-eof", "BOOL", "SOCKET", "INIT", ("addr",), "an empty datagram means EOF",
    help18=OFFSET)
# new in 1.8: receive/send timeouts, generic setsockopt right after socket() or connect
_so("so-rcvtimeo", _c("SO_RCVTIMEO", 20), aliases=("rcvtimeo",), vtype="TIMEVAL",
    help="a blocking receive fails after this many seconds", nick="rcvtimeo", since="1.8")
_so("so-sndtimeo", _c("SO_SNDTIMEO", 21), aliases=("sndtimeo",), vtype="TIMEVAL",
    help="a blocking send fails after this many seconds", nick="sndtimeo", since="1.8")
opt("setsockopt-socket", "INT:INT:BIN", "SOCKET", "PASTSOCKET", ("sockopt-generic",),
    "setsockopt(level, name, data) right after socket()", ("sockopt-sock",),
    nick="sockopt-sock", since="1.8")
opt("setsockopt-connected", "INT:INT:BIN", "SOCKET", "CONNECTED", ("sockopt-generic",),
    "setsockopt(level, name, data) once connected", ("sockopt-conn",),
    nick="sockopt-conn", since="1.8")
opt("setsockopt", "INT:INT:BIN", "SOCKET", "CONNECTED", ("sockopt-generic",), "setsockopt(level, name, data)", ("sockopt",), nick="sockopt")
opt("setsockopt-int", "INT:INT:INT", "SOCKET", "CONNECTED", ("sockopt-generic",), "setsockopt(level, name, int)", ("sockopt-int",), nick="sockopt-int")
opt("setsockopt-bin", "INT:INT:BIN", "SOCKET", "CONNECTED", ("sockopt-generic",), "setsockopt(level, name, data)", ("sockopt-bin",), nick="sockopt-bin")
opt("setsockopt-string", "INT:INT:STRING", "SOCKET", "CONNECTED", ("sockopt-generic",), "setsockopt(level, name, string)", ("sockopt-string",), nick="sockopt-string")
opt("setsockopt-listen", "INT:INT:BIN", "SOCKET", "PREBIND", ("sockopt-generic",), "setsockopt before bind (listen socket)", ("sockopt-listen",), nick="sockopt-listen")


def _ip(name, optname, phase="PASTSOCKET", aliases=(), vtype="INT", help="", nick=None,
        since=None, level=None):
    opt(name, vtype, "IP4,IP6", phase, ("sockopt", SOL_IP if level is None else level, optname),
        help, aliases, nick=nick, since=since)


# --- IP4, IP6: SOL_IP options ---------------------------------------------------
_ip("ip-pktinfo", 8, aliases=("ippktinfo", "pktinfo"), help="IP_PKTINFO", nick="pktinfo")
_ip("ip-recvtos", 13, aliases=("iprecvtos", "recvtos"), help="IP_RECVTOS", nick="recvtos")
_ip("ip-recvttl", 12, aliases=("iprecvttl", "recvttl"), help="IP_RECVTTL", nick="recvttl")
_ip("ip-recvopts", 6, aliases=("iprecvopts", "recvopts"), help="IP_RECVOPTS", nick="recvopts")
_ip("ip-retopts", 7, aliases=("ipretopts", "retopts"), help="IP_RETOPTS", nick="retopts")
_ip("ip-tos", 1, aliases=("iptos", "tos"), help="type of service of sent packets", nick="tos")
_ip("ip-ttl", 2, aliases=("ipttl", "ttl"), help="time to live of sent packets", nick="ttl")
_ip("ip-hdrincl", 3, aliases=("iphdrincl", "hdrincl"), help="IP_HDRINCL", nick="hdrincl")
_ip("ip-recverr", 11, aliases=("iprecverr", "recverr"), help="IP_RECVERR", nick="recverr")
_ip("ip-mtu-discover", 10, aliases=("ipmtudiscover", "mtudiscover"), help="path MTU discovery mode", nick="mtudiscover")
_ip("ip-mtu", 14, aliases=("ipmtu", "mtu"), help="IP_MTU", nick="mtu")
_ip("ip-transparent", 19, "PREBIND", ("transparent",), vtype="BOOL", help="IP_TRANSPARENT", nick="transparent")
_ip("ip-freebind", 15, aliases=("freebind", "ipfreebind"), help="bind non-local addresses", nick="freebind")
_ip("ip-router-alert", 5, aliases=("iprouteralert", "routeralert"), help="IP_ROUTER_ALERT", nick="routeralert")
_ip("ip-options", 4, aliases=("ipoptions",), vtype="BIN", help="IP options of sent packets (IP_OPTIONS)", nick="ipoptions")
_ip("ip-pktoptions", 9, aliases=("ippktoptions", "pktoptions", "pktopts"), help="IP_PKTOPTIONS", nick="pktopts")


def _ip6(name, optname, phase="PASTSOCKET", aliases=(), help="", nick=None, since=None):
    opt(name, "INT", "IP6", phase, ("sockopt", SOL_IPV6, optname), help, aliases, nick=nick,
        since=since)


# --- IP6: SOL_IPV6 options ------------------------------------------------------
_ip("ipv6-mtu-discover", 23, aliases=("mtudiscover6",), level=SOL_IPV6,
    help="IPv6 path MTU discovery mode", nick="mtudiscover6", since="1.8")
_ip6("ipv6-multicast-loop", 19, aliases=("ipv6-mcloop", "mcloop6"),
     help="multicast packets sent come back to this host (IPv6)", nick="mcloop6", since="1.8")
_ip6("ipv6-v6only", 26, "PREBIND", ("ipv6only", "v6only"), "IPv6 only, no mapped IPv4", nick="ipv6only")
_ip6("ipv6-pktinfo", 50, help="IPV6_PKTINFO", nick="pktinfo")   # socat: pktinfo is IP's
_ip6("ipv6-recvpktinfo", 49, aliases=("recvpktinfo",), help="IPV6_RECVPKTINFO", nick="recvpktinfo")
_ip6("ipv6-rthdr", 57, aliases=("rthdr",), help="IPV6_RTHDR", nick="rthdr")
_ip6("ipv6-recvrthdr", 56, aliases=("recvrthdr",), help="IPV6_RECVRTHDR", nick="recvrthdr")
_ip6("ipv6-authhdr", 10, aliases=("authhdr",), help="IPV6_AUTHHDR", nick="authhdr")
_ip6("ipv6-dstopts", 59, aliases=("dstopts",), help="IPV6_DSTOPTS", nick="dstopts")
_ip6("ipv6-recvdstopts", 58, aliases=("recvdstopts",), help="IPV6_RECVDSTOPTS", nick="recvdstopts")
_ip6("ipv6-hopopts", 54, aliases=("hopopts",), help="IPV6_HOPOPTS", nick="hopopts")
_ip6("ipv6-recvhopopts", 53, aliases=("recvhopopts",), help="IPV6_RECVHOPOPTS", nick="recvhopopts")
_ip6("ipv6-hoplimit", 52, aliases=("hoplimit",), help="IPV6_HOPLIMIT", nick="hoplimit")
_ip6("ipv6-unicast-hops", 16, aliases=("unicast-hops",), help="hop limit of sent packets", nick="unicast-hops")
_ip6("ipv6-recvhoplimit", 51, aliases=("recvhoplimit",), help="IPV6_RECVHOPLIMIT", nick="recvhoplimit")
_ip6("ipv6-recverr", 25, help="IPV6_RECVERR", nick="recverr")  # so -hh does not list these
_ip6("ipv6-tclass", 67, help="traffic class of sent packets", nick="tclass")
_ip6("ipv6-recvtclass", 66, help="IPV6_RECVTCLASS", nick="recvtclass")
_ip6("ipv6-recvpathmtu", 60, help="IPV6_RECVPATHMTU", nick="recvpathmtu")


def _tcp(name, optname, phase="PASTSOCKET", aliases=(), help="", nick=None):
    opt(name, "INT", "TCP", phase, ("sockopt", SOL_TCP, optname), help, aliases, nick=nick)


# --- TCP: SOL_TCP options -------------------------------------------------------
_tcp("tcp-nodelay", 1, aliases=("nodelay",), help="send small segments at once (no Nagle)", nick="nodelay")
opt("so-peercred", "INT3", "SOCKET", "PASTSOCKET", ("sockopt", SOL_SOCKET, 17),
    "SO_PEERCRED (get-only: socat's parser rejects its INT[3] value type)",
    ("peercred",), nick="peercred")
# getaddrinfo() hints of the address (1.8): =1 sets the flag, =0 clears it
for _n, _nick, _h in (("ai-addrconfig", "addrconfig", "AI_ADDRCONFIG: only IP versions "
                       "this host has addresses of (set when no version is given)"),
                      ("ai-all", None, "AI_ALL: with ai-v4mapped, IPv6 and mapped IPv4 "
                       "addresses"),
                      ("ai-passive", "passive", "AI_PASSIVE: resolve as a local address "
                       "(set for bind addresses)"),
                      ("ai-v4mapped", "v4mapped", "AI_V4MAPPED: IPv4 addresses as "
                       "::ffff:a.b.c.d when IPv6 is asked for")):
    opt(_n, "BOOL", "IP4,IP6", "INIT", ("addr",), _h, (_nick,) if _nick else (), nick=_nick,
        since="1.8", help18=OFFSET)
opt("unix-tightsocklen", "BOOL", "UNIX", "PREBIND", ("addr",),
    "UNIX socket addresses as long as the name (default 1); 0: all of sun_path, so an "
    "abstract name is padded with NULs", ("tightsocklen",), nick="tightsocklen")
_tcp("tcp-md5sig", 14, help="TCP_MD5SIG with an int (the kernel wants a struct tcp_md5sig: "
     "EINVAL, as in socat)", nick="md5sig")
_tcp("tcp-maxseg", 2, aliases=("maxseg", "mss"), help="maximum segment size", nick="mss")
_tcp("tcp-maxseg-late", 2, "CONNECTED", ("maxseg-late", "mss-late"), help="maximum segment size, set late", nick="mss-late")
_tcp("tcp-cork", 3, aliases=("cork",), help="do not send partial segments", nick="cork")
_tcp("tcp-keepidle", 4, aliases=("keepidle",), help="idle seconds before keepalive probes", nick="keepidle")
_tcp("tcp-keepintvl", 5, aliases=("keepintvl",), help="seconds between keepalive probes", nick="keepintvl")
_tcp("tcp-keepcnt", 6, aliases=("keepcnt",), help="keepalive probes before giving up", nick="keepcnt")
_tcp("tcp-syncnt", 7, aliases=("syncnt",), help="SYN retransmits", nick="syncnt")
_tcp("tcp-linger2", 8, aliases=("linger2",), help="lifetime of orphaned FIN_WAIT2", nick="linger2")
_tcp("tcp-defer-accept", 9, aliases=("defer-accept",), help="accept only when data arrived", nick="defer-accept")
_tcp("tcp-window-clamp", 10, aliases=("window-clamp",), help="bound the advertised window", nick="window-clamp")
_tcp("tcp-info", 11, aliases=("info",), help="TCP_INFO", nick="info")
_tcp("tcp-quickack", 12, aliases=("quickack",), help="quick ACK mode", nick="quickack")

# --- UDPLITE (socat 1.8): IPPROTO_UDPLITE options, set on the descriptor --------
opt("udplite-send-cscov", "INT", "UDPLITE", "FD", ("sockopt", 136, 10),
    "checksum coverage of sent UDP-Lite packets (UDPLITE_SEND_CSCOV; 0: all)", since="1.8")
opt("udplite-recv-cscov", "INT", "UDPLITE", "FD", ("sockopt", 136, 11),
    "least checksum coverage of accepted UDP-Lite packets (UDPLITE_RECV_CSCOV)",
    since="1.8")

# --- DCCP (socat 1.8): SOL_DCCP options -------------------------------------------
opt("dccp-set-ccid", "BYTE", "DCCP", "PASTSOCKET", ("sockopt", 269, 13),
    "congestion control id of the connection (DCCP_SOCKOPT_CCID)", ("ccid",), nick="ccid",
    since="1.8")

# --- LISTEN / CHILD / RANGE / RETRY / IPAPP: read by addresses/sockets.py --------
opt("backlog", "INT", "LISTEN", "LISTEN", ("addr",), "length of the listen queue")
opt("accept-timeout", "TIMEVAL", "LISTEN", "LISTEN", ("addr",), "exit when no connection comes within this time", ("listen-timeout",), nick="listen-timeout")
opt("fork", "BOOL", "CHILD", "PASTACCEPT", ("addr",), "a child process for every connection")
opt("max-children", "INT", "CHILD", "PASTACCEPT", ("addr",), "at most this many children at once", ("maxchildren",))
opt("children-shutup", "INT", "CHILD", "PASTACCEPT", ("addr",),
    "a forked child logs every message this many levels lower (1 without a value: E as W)",
    nick="child-shutup", since="1.8")
opt("range", "STRING", "RANGE", "ACCEPT", ("addr",), "accept only peers in this network")
opt("tcpwrappers", "STRING_NULL", "RANGE", "ACCEPT", ("addr",),
    "check peers against hosts.allow/hosts.deny (hosts_access(5)) as this daemon",
    ("tcpwrap", "libwrap", "tcpwrapper", "wrap"), nick="tcpwrap")
opt("tcpwrap-etc", "STRING", "RANGE", "ACCEPT", ("addr",),
    "directory of hosts.allow and hosts.deny for tcpwrap", ("tcpwrap-dir",), nick="tcpwrap-dir")
opt("tcpwrap-hosts-allow-table", "STRING", "RANGE", "ACCEPT", ("addr",),
    "the hosts.allow file for tcpwrap", ("allow-table", "hosts-allow"), nick="allow-table")
opt("tcpwrap-hosts-deny-table", "STRING", "RANGE", "ACCEPT", ("addr",),
    "the hosts.deny file for tcpwrap", ("deny-table", "hosts-deny"), nick="deny-table")
opt("retry", "UINT", "RETRY", "INIT", ("addr",), "retry this often when connect/listen fails")
opt("forever", "BOOL", "RETRY", "INIT", ("addr",), "retry forever")
opt("interval", "TIMESPEC", "RETRY", "INIT", ("addr",), "seconds between retries", ("intervall",))
opt("sourceport", "USHORT", "UDP,TCP,SCTP,DCCP,UDPLITE", "LATE", ("addr",), "client: bind this port; server: accept only it", ("sp",), nick="sp")
opt("lowport", "BOOL", "UDP,TCP,SCTP,DCCP,UDPLITE", "LATE", ("addr",), "client: bind a port below 1024; server: accept only those")

# --- UNIX clients (1.8): bind to a fresh random name -----------------------------
opt("unix-bind-tempname", "STRING_NULL", "UNIX", "PREOPEN", ("addr",),
    "bind a UNIX client to a new random name made from this pattern (XXXXXX; "
    "default /tmp/socat-bind.XXXXXX)", ("bind-tempname",), nick="bind-tempname", since="1.8")
