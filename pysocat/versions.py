"""Version profiles: which socat pysocat behaves as, and every way the two differ.

pysocat behaves as socat 1.8.1.3 unless ``PYSOCAT_COMPAT=1.7.4.4`` (environment,
so it reaches through scripts that call the program by name) or
``--compat=1.7.4.4`` (command line) selects Debian 12's socat. Every behaviour
that differs between the two is one row of ``BEHAVIOURS`` below: code asks
``versions.ACTIVE.<name>``, never compares version strings. ``--explain`` and
the man page read the same rows to say how the other version differs.
"""
from __future__ import annotations

import os

DEFAULT = "1.8.1.3"
VERSIONS = ("1.8.1.3", "1.7.4.4")


class Behaviour:
    """One difference: its name, a sentence for humans, its value per version."""
    __slots__ = ("name", "doc", "values", "source")

    def __init__(self, name: str, doc: str, v18, v17, source: str = ""):
        self.name = name
        self.doc = doc
        self.values = {"1.8.1.3": v18, "1.7.4.4": v17}
        self.source = source      # where socat's sources show it (1.8.1.3's file:line)


# socat's addressgroupnames[] (xiohelp.c): the group names in the order of the group bits
GROUPS_18 = ("FD", "FIFO", "CHR", "BLK", "REG", "SOCKET", "READLINE", "undef",
             "NAMED", "OPEN", "EXEC", "FORK", "LISTEN", "SHELL", "CHILD", "RETRY",
             "TERMIOS", "RANGE", "PTY", "PARENT", "UNIX", "IP4", "IP6", "INTERFACE",
             "UDP", "TCP", "SOCKS", "OPENSSL", "PROCESS", "APPL", "HTTP", "undef",
             "POSIXMQ", "SCTP", "DCCP", "UDPLITE")
GROUPS_17 = ("FD", "FIFO", "CHR", "BLK", "REG", "SOCKET", "READLINE", "undef",
             "NAMED", "OPEN", "EXEC", "FORK", "LISTEN", "DEVICE", "CHILD", "RETRY",
             "TERMIOS", "RANGE", "PTY", "PARENT", "UNIX", "IP4", "IP6", "INTERFACE",
             "UDP", "TCP", "SOCKS4", "OPENSSL", "PROCESS", "APPL", "HTTP", "SCTP")

# socat_version(): the WITH_* features in the order -V prints them
FEATURES_18 = ("HELP", "STATS", "STDIO", "FDNUM", "FILE", "CREAT", "GOPEN", "TERMIOS",
               "PIPE", "STALL", "TEXT", "SOCKETPAIR", "UNIX", "ABSTRACT_UNIXSOCKET", "IP4",
               "IP6", "RAWIP", "GENERICSOCKET", "INTERFACE", "TCP", "UDP", "SCTP", "DCCP",
               "UDPLITE", "LISTEN", "POSIXMQ", "SOCKS4", "SOCKS4A", "SOCKS5", "VSOCK",
               "NAMESPACES", "PROXY", "SYSTEM", "SHELL", "EXEC", "READLINE", "TUN", "PTY",
               "OPENSSL", "FIPS", "LIBWRAP", "SYCLS", "FILAN", "RETRY", "DEVTESTS",
               "MSGLEVEL", "DEFAULT_IPV")
FEATURES_17 = ("STDIO", "FDNUM", "FILE", "CREAT", "GOPEN", "TERMIOS", "PIPE", "UNIX",
               "ABSTRACT_UNIXSOCKET", "IP4", "IP6", "RAWIP", "GENERICSOCKET",
               "INTERFACE", "TCP", "UDP", "SCTP", "LISTEN", "SOCKS4", "SOCKS4A",
               "VSOCK", "PROXY", "SYSTEM", "EXEC", "READLINE", "TUN", "PTY",
               "OPENSSL", "FIPS", "LIBWRAP", "SYCLS", "FILAN", "RETRY", "MSGLEVEL")

# name, what it decides, 1.8.1.3 value, 1.7.4.4 value, socat source
BEHAVIOURS = [Behaviour(*row) for row in (
    ("socat_version", "the socat version reported by -V and SOCAT_VERSION",
     "1.8.1.3", "1.7.4.4", "VERSION"),
    ("default_log_level", "the lowest severity shown without -d (W in 1.8, E in 1.7)",
     3, 4, "error.c:49"),
    ("flags_18", "the 1.8 command line flags -d0..-d4, -0, -S, --statistics, --experimental",
     True, False, "socat.c:133-147,241-252,323-341,409-417"),
    ("timeout_zero_is_zero", "-T 0 is a timeout of 0 s (1.8; negative means none); "
     "in 1.7 -T 0 means no timeout",
     True, False, "socat.c:267-285"),
    ("help_layout", "the layout of the usage text and of -h/-hh/-hhh: 1.8 (\"tabbed\") "
     "prints upper-case address names and aligns the columns with tabs, lists 1.8's "
     "command line flags and PIPE as one address; 1.7 (\"plain\") separates the columns "
     "with one tab and lists the unnamed pipe as a bi-address",
     "tabbed", "plain", "xiohelp.c:76-234, socat.c:455-503"),
    ("help_group_names", "the option group names -h/-hh/-hhh print, in the order of the "
     "group bits (1.8 renames SOCKS4 to SOCKS, DEVICE to SHELL, adds POSIXMQ, DCCP, "
     "UDPLITE)", GROUPS_18, GROUPS_17, "xiohelp.c:42-52"),
    ("help_rows_18", "-h/-hh/-hhh show a row as socat 1.8 lists it (its help18= name, "
     "syntax, phase or type, where 1.8 differs)", True, False, "xioopts.c, xioopen.c"),
    ("version_features", "the WITH_* lines -V prints, in order (1.8 adds HELP, STATS, "
     "STALL, TEXT, SOCKETPAIR, DCCP, UDPLITE, POSIXMQ, SOCKS5, NAMESPACES, SHELL, "
     "DEVTESTS, DEFAULT_IPV)", FEATURES_18, FEATURES_17, "socat.c:511-760"),
    ("signal_error_exits_at_once", "an E 'exiting on signal N' (SIGQUIT, SIGPIPE, a signal "
     "caught only through -S) ends the run at once; 1.7 goes on with 'socat_signal(): "
     "finishing signal N' and a second exit(N) after SIGQUIT",
     True, False, "socat.c:1694-1718, error.c (1.7.4.4: socat.c:1517-1546)"),
    ("sigusr1_statistics", "SIGUSR1 logs the byte/packet statistics and the run goes on "
     "(1.7: SIGUSR1 keeps its default action and ends the process)",
     True, False, "socat.c:409-417,1794-1800"),
    ("sniff_files_late", "-r/-R names expand $VAR, $$, $PROGNAME, $TIMESTAMP, $MICROS and "
     "the files open after both addresses (in each child with fork); 1.7 opens them "
     "while reading the flags, names as given",
     True, False, "socat.c:929-950, sysutils.c:1043-1238"),
    ("lockfile_contents", "what the -L/-W lock file holds and its mode: the pid and a "
     "newline, 0644 (1.7: the pid without newline, 0600 as mkstemp made it)",
     ("{pid}\n", 0o644), ("{pid}", 0o600), "xiolockfile.c:54,59"),
    ("ip_version_notes", "before opening, I lines tell the default listen and preferred "
     "resolve IP version (-0/-4/-6 or SOCAT_DEFAULT_LISTEN_IP/SOCAT_PREFERRED_RESOLVE_IP)",
     True, False, "socat.c:442-443"),
    ("listen_ip_env_zero", "SOCAT_DEFAULT_LISTEN_IP other than 4 or 6 means 0 (no version, "
     "like -0); 1.7 ignores such a value and keeps 4",
     True, False, "xioinitialize.c:76-86"),
    ("hexdump_micro_digits", "digits of the fraction of a second in the -v/-x header",
     6, 9, "socat.c:1380 (1.7.4.4: socat.c:1225 prints microseconds as %09ld)"),
    ("child_exit_warns", "a child of EXEC/SYSTEM exiting non-zero is a W, the transfer goes "
     "on and the exit status becomes 1 (1.7: an E that ends the run)",
     True, False, "xiosigchld.c:90-91,148,158"),
    ("read_reset_is_error", "EPIPE/ECONNRESET on read or shutdown is an E that ends the run "
     "(1.7: on read a W, the direction is in error and closing starts; on shutdown an I)",
     True, False, "xioread.c:63-68, xioshutdown.c:56-72"),
    ("syntax_usage", "a wrong number of address parameters names the keyword and shows "
     "its syntax (': usage: KEYWORD:<...>')", True, False, "xiohelp.c:225-234"),
    ("system_one_param", "SYSTEM takes exactly one parameter: a ':' in the command is an "
     "error (1.7: the command ends at the first ':')", True, False, "xio-system.c:36"),
    ("exec_skips_blanks", "EXEC skips blanks before the program name (1.7: they make an "
     "empty program name, execvp fails)", True, False, "xio-exec.c:74"),
    ("umask_every_address", "umask is accepted on every address and applies only while that "
     "address opens (1.7: an option of file system addresses that sets the process umask "
     "for good)", True, False, "xiolayer.c:28, xioopen.c:793-808, xioopts.c:2155-2156"),
    ("mode_warning", "an address opened in a direction it does not support warns: "
     "'W address is opened in read-write mode but only supports read-only' (STDIN, *-RECV; "
     "write-only: STDOUT, STDERR, CREATE), and CREATE refuses read-only mode",
     True, False, "xioopen.c:760-762, xio-creat.c:63-64"),
    ("quieter_messages", "messages 1.8 lowered from W (W is shown by default there): a "
     "failed getpeername() after accept is an N, a failed open(\"/dev/tty\") for ctty an "
     "I, a failed recvmsg() peek at a packet or at the error queue after a failed connect "
     "an I",
     True, False, "xio-listen.c:325, xioopts.c:4137, xio-socket.c:1548"),
    ("childdied_no_more", "the SIGCHLD handler with nothing to reap: 'no (more) child has "
     "exited' (W), and 'No child processes' as an N (1.7: 'no child has exited', both W)",
     True, False, "xiosigchld.c:90-91,97-98"),
    ("connect_failure_pair", "a failed TCP/UDP/SCTP client connect prints W connect(...) "
     "then E <KEYWORD>:host:port: <error>, the keyword as typed (1.7: E connect(...))",
     True, False, "xio-ipapp.c:75,129,362,372, xio-socket.c:954"),
    ("connect_notices", "clients say N opening connection to host:port before resolving "
     "and N successfully connected to host:port once connected (1.7: neither)",
     True, False, "xio-ipapp.c:65,178,367"),
    ("connect_tries_all", "a client tries every address the name resolves to, the "
     "preferred IP version first (-4/-6, default 4); failures before the last are one "
     "level lower (1.7: the first address of the preferred version only)",
     True, False, "xio-ipapp.c:288-298,343-420, xio-ip.c:746-795"),
    ("resolver_18", "host and port are resolved in one getaddrinfo() call, with "
     "AI_ADDRCONFIG when no IP version is given and AI_PASSIVE only for local "
     "addresses; a failure is W getaddrinfo(...) with hex flags, then the caller's E "
     "(1.7: E getaddrinfo(...) with decimal flags, ports resolved apart)",
     True, False, "xio-ip.c:551-597,746-830,868-926"),
    ("res_options_per_open", "the res-* options hold for the whole open of their address "
     "(D changed _res.options ..., _res.retrans, _res.retry, _res.nsaddr_list[0] once, before "
     "it opens; res-nsaddr, res-retrans and res-retry exist; a bit given =1 and =0 ends "
     "cleared) (1.7: for each host name resolution of the address, each logging D changed "
     "_res.options ...; the bit ends set)",
     True, False, "xioopen.c:785-823, xio-ip.c:1499-1566"),
    ("listen_reuseaddr_default", "TCP listeners (TCP-LISTEN, OPENSSL-LISTEN) set "
     "SO_REUSEADDR implicitly; reuseaddr=0 clears it, reuseaddr= leaves it alone "
     "(1.7: only when reuseaddr is given)",
     True, False, "xio-socket.c:2341-2375, xio-listen.c:122"),
    ("reuseaddr_int_null", "reuseaddr takes an empty value, meaning: no setsockopt() "
     "at all (type INT/NULL in -hh; 1.7: INT, a number is required)",
     True, False, "xio-socket.c:82, xioopts.c:2243-2257"),
    ("unix_path_truncates", "an over-long UNIX socket path (or abstract name) is a W and "
     "is cut to the 108 bytes of sun_path (1.7.4.4 as Debian ships it: an E)",
     True, False, "xio-unix.c:79,98"),
    ("unix_client_error_defname", "a failed UNIX-CLIENT or ABSTRACT-CLIENT says "
     "E <ADDRESS-TYPE>: <name>: <error> (1.7: E UNIX-CLIENT:<name>: <error> for both)",
     True, False, "xio-unix.c:824"),
    ("abstract_client_refused_next", "ABSTRACT-CLIENT takes a refused connect like a "
     "wrong socket type: it tries SEQPACKET, then sends datagrams (1.7: the E)",
     True, False, "xio-unix.c:778-801"),
    ("recvfrom_fork_trigger", "a RECVFROM address with fork waits for its child to "
     "consume the packet on a socket pair the child closes, and reaps children as "
     "listeners do (1.7: the child sends SIGUSR1)",
     True, False, "xio-socket.c:1357-1393, xioread.c:363-367, xioinitialize.c:238-245"),
    ("openssl_crl_warning", "OPENSSL addresses that verify the peer say W OpenSSL: "
     "Warning: this implementation does not check CRLs (once: not in later fork children)",
     True, False, "xio-openssl.c:1468-1475, xioinitialize.c:19,263"),
    ("openssl_fraglen_info", "after an OpenSSL handshake that agreed on a maximum fragment "
     "length (maxfraglen, RFC 6066), I OpenSSL: max fragment length is N (1.7: nothing)",
     True, False, "xio-openssl.c:199-217"),
    ("openssl_handshake_retrylater", "A failed OPENSSL/DTLS client handshake is logged at "
     "the attempt's level (N while retries are left, else W), and with no retry left the "
     "open ends without an E: N exiting with status -1 (1.7: E and exit 1)",
     True, False, "xio-openssl.c:337-342,394-409,1990-2055"),
    ("openssl_sni_ip_checks", "OPENSSL/DTLS clients send no SNI for a host (or commonname) "
     "that is an IP address and say W refusing to set empty SNI host name; an snihost that "
     'is one says W specified SNI host "X" is an IP address (1.7: neither line)',
     True, False, "xio-openssl.c:288-299,506-515"),
    ("openssl_version_hint", "An unknown openssl-min/max-proto-version name says "
     'E Unknown SSL/TLS version "X" (use forms like "TLS1.2") (1.7: without the hint)',
     True, False, "xio-openssl.c:925-928"),
    ("udp_bound_notice", "UDP-RECV/RECVFROM on port 0 say N _xioopen_dgram_recv(from)(): "
     "bound to <address> (1.7: nothing)", True, False, "xio-socket.c:1220-1233,1445-1458"),
    ("udp_shut_null", "UDP-CONNECT and UDP-LISTEN half-close by sending an empty datagram "
     "(shut-null) unless a shut-* option says otherwise; 1.7 sends nothing",
     True, False, "xio-ipapp.c:58, xio-udp.c:295-297"),
    ("unix_listen_bind_error", "the error for bind= on UNIX-LISTEN/ABSTRACT-LISTEN, which bind "
     "implicitly: 1.8 names the address, 1.7 says its applyopts() does not implement the option",
     "{addr}:{name}: binds implicitly, bind option not allowed",
     'applyopts(): option "bind" not implemented', "xio-unix.c:144-147"),
    ("datagram_default_ip", "UDP-DATAGRAM and UDPLITE-DATAGRAM without an IP version "
     "take the default listen IP version (-4/-6, 4 unless -0) before resolving the peer "
     "and parsing range=, so range=127.0.0.1/8 works and an IPv6 peer needs -6 or pf= "
     "(1.7: no version, the peer's decides; range= then needs the addr:mask form)",
     True, False, "xio-udp.c:475-476"),
    ("range_unspec_syntax_error", "the error for a range= without ':' on an address "
     "of no address family (UDP-DATAGRAM under -0, SOCKET-DATAGRAM)",
     'syntax error in range "{range}" of unspecified address family: use <addr>:<mask>',
     'syntax error in range "{range}": use <addr>:<mask>', "xio-socket.c:1940"),
    ("interface_ignore_outgoing", "INTERFACE sets PACKET_IGNORE_OUTGOING on its packet "
     "socket, so the frames the host sends out of the interface are not read back "
     "(1.7 reads them)", True, False, "xio-interface.c:129-136, xioread.c:217-231"),
    ("groups_18", "address types take socat 1.8's option groups where they changed: "
     "INTERFACE has the INTERFACE group (iff-* flags set while it is open, interface-mtu), "
     "TUN is not in the NAMED group (1.7: INTERFACE FD,SOCKET only; TUN also NAMED)",
     True, False, "xio-interface.c:31,124-125, xio-tun.c:29, xioclose.c:104-108"),
    ("new_address_types", "the address types new in 1.8 (SOCKS5, SHELL, ACCEPT-FD, ...)",
     True, False, "xioopen.c"),
    ("new_options", "the address options new in 1.8 (netns, chdir, ai-*, ...)",
     True, False, "xioopts.c"),
    ("int3_type_number", "the number socat's option parser reports for the value type "
     "INT[3] it does not implement (so-peercred: 'unimplemented type N')",
     18, 17, "xioopts.h:50, xioopts.c:2833"),
)]
_BY_NAME = {b.name: b for b in BEHAVIOURS}


class Profile:
    """The behaviours of one version, as attributes (``ACTIVE.child_exit_warns``)."""

    def __init__(self, version: str):
        self.version = version
        for b in BEHAVIOURS:
            setattr(self, b.name, b.values[version])

    def differs(self, name: str) -> tuple[str, object] | None:
        """(other version, its value) when the other version differs in ``name``."""
        b = _BY_NAME[name]
        for v in VERSIONS:
            if v != self.version and b.values[v] != b.values[self.version]:
                return v, b.values[v]
        return None

    def __repr__(self) -> str:
        return f"Profile({self.version!r})"


class UnknownVersion(ValueError):
    pass


def check(version: str) -> str:
    if version not in VERSIONS:
        raise UnknownVersion(f'unknown compatibility version "{version}" '
                             f'(known: {", ".join(VERSIONS)})')
    return version


def select(version: str) -> Profile:
    """Make ``version`` the profile of this process (the CLI calls this once)."""
    global ACTIVE
    ACTIVE = Profile(check(version))
    from .log import LOG
    LOG.set_default_level(ACTIVE.default_log_level)
    return ACTIVE


class using:
    """``with versions.using(DEFAULT):`` the profile of ``version`` for a while.

    For output that must not depend on the caller's profile (the man page is
    generated for the default version); the log level is left alone.
    """

    def __init__(self, version: str):
        self.profile = Profile(check(version))

    def __enter__(self) -> Profile:
        global ACTIVE
        self.saved, ACTIVE = ACTIVE, self.profile
        return ACTIVE

    def __exit__(self, *exc) -> None:
        global ACTIVE
        ACTIVE = self.saved


def other_versions() -> tuple:
    """The versions that are not the active one (what -V tells how to select)."""
    return tuple(v for v in VERSIONS if v != ACTIVE.version)


def from_environment() -> str:
    return os.environ.get("PYSOCAT_COMPAT") or DEFAULT


def behaviour(name: str) -> Behaviour:
    return _BY_NAME[name]


_env = from_environment()
ACTIVE = Profile(_env if _env in VERSIONS else DEFAULT)
