"""OPENSSL (SSL, OPENSSL-CONNECT) and OPENSSL-LISTEN (SSL-L): TLS over TCP.

socat 1.7.4.4's xio-openssl.c with Python's ``ssl`` module (imported only
when an address of this family opens). The TCP part is the shared socket
layer (sockets.py): resolve, bind, connect with retry, listen/accept with
fork, range and the other peer checks. On top of it:

- the context (socat's _xioopen_openssl_prepare): cipher list (default
  ``HIGH:-NULL:-PSK:-aNULL``), min/max protocol version, cafile/capath (else
  the default store), cert/key, dhparams, compress, verify (default 1:
  peer certificate required; with verify=0 it is neither requested nor
  checked);
- the handshake: the client forks *after* it (so every child has its own TLS
  session), the listener *before* it (in the child), as socat documents;
- socat's own peer checks after the handshake: commonName / subjectAltName
  against ``commonname`` (client default: the host), with socat's wildcard
  rule, and the SOCAT_OPENSSL_* environment for programs started later.

The relay sees a TLSEndpoint: the TLS engine runs on memory BIOs, so reads
never block on a record that has not fully arrived (select() sees the fd;
``pending()`` reports plaintext already decrypted), half-close sends
close_notify once (socat's SSL_shutdown; the read side stays open), and
close sends it if not yet sent, then closes the socket. No splice: TLS
bytes must pass through the engine.
"""
from __future__ import annotations

import errno
import os
import select
import socket

from ..errors import SocatError
from ..log import LOG
from . import sockets as S
from .base import WRITE
from .registry import EXTRA_FEATURES, address

_STREAM, _TCP = socket.SOCK_STREAM, socket.IPPROTO_TCP
DEFAULT_CIPHERS = "HIGH:-NULL:-PSK:-aNULL"

# socat's _xio_openssl_versions (keyw: case-insensitive); DTLS names are
# accepted by the parser but no TLS context can take them
_VERSIONS = {"ssl2": 0x0002, "sslv2": 0x0002, "ssl3": 0x0300, "sslv3": 0x0300,
             "tls1": 0x0301, "tls1.0": 0x0301, "tlsv1": 0x0301, "tlsv1.0": 0x0301,
             "tls1.1": 0x0302, "tlsv1.1": 0x0302, "tls1.2": 0x0303, "tlsv1.2": 0x0303,
             "tls1.3": 0x0304, "tlsv1.3": 0x0304,
             "dtls1": 0xFEFF, "dtls1.0": 0xFEFF, "dtlsv1": 0xFEFF, "dtlsv1.0": 0xFEFF,
             "dtls1.2": 0xFEFD, "dtlsv1.2": 0xFEFD}

# OpenSSL's library numbers and names (ERR_LIB_*), for socat's error texts
_LIBS = {"SYS": (2, "system library"), "BN": (3, "bignum routines"),
         "RSA": (4, "rsa routines"), "DH": (5, "Diffie-Hellman routines"),
         "EVP": (6, "digital envelope routines"), "BUF": (7, "memory buffer routines"),
         "PEM": (9, "PEM routines"), "X509": (11, "x509 certificate routines"),
         "ASN1": (13, "asn1 encoding routines"), "CONF": (14, "configuration file routines"),
         "CRYPTO": (15, "common libcrypto routines"), "EC": (16, "elliptic curve routines"),
         "SSL": (20, "SSL routines"), "BIO": (32, "BIO routines"),
         "X509V3": (34, "X509 V3 routines"), "RAND": (36, "random number generator"),
         "OSSL_STORE": (44, "STORE routines"), "PROV": (57, "Provider routines"),
         "DECODER": (60, "DECODER routines")}

_ssl = None


def _import_ssl():
    global _ssl
    if _ssl is None:
        import ssl
        _ssl = ssl
    return _ssl


# ---------------------------------------------------------------------------
# socat's texts for OpenSSL errors
# ---------------------------------------------------------------------------


def error_string(exc) -> str:
    """OpenSSL 3's ERR_error_string() of the error behind a Python ssl exception.

    Python keeps only one error of OpenSSL's queue (socat prints them all).
    """
    ssl = _import_ssl()
    if not isinstance(exc, ssl.SSLError) and isinstance(exc, OSError) and exc.errno:
        return (f"error:{0x80000000 | exc.errno:08X}:system library::"
                f"{os.strerror(exc.errno)}")
    lib = getattr(exc, "library", None)
    reason = getattr(exc, "reason", None)
    text = _reason_text(exc)
    if lib and reason:
        import _ssl as c
        libno, libname = _LIBS.get(lib, (0, lib.lower() + " routines"))
        code = _reason_code(exc)
        if code is None:
            code = c.err_names_to_codes.get(reason, (libno, 0))[1]
        return f"error:{(libno << 23) | code:08X}:{libname}::{text}"
    return text


def _reason_text(exc) -> str:
    """The reason string OpenSSL has for the error (Python's message, cleaned)."""
    msg = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], str) else str(exc)
    if getattr(exc, "reason", None) and (isinstance(exc, _import_ssl().SSLEOFError)
                                         or not msg.startswith("[")):
        # Python's own wording: OpenSSL's reason string is its reason name in
        # lower case ("unexpected eof while reading")
        return exc.reason.lower().replace("_", " ")
    if msg.startswith("["):
        msg = msg.split("] ", 1)[-1]
    pos = msg.rfind(" (_ssl.c:")
    if pos >= 0:
        msg = msg[:pos]
    vmsg = getattr(exc, "verify_message", None)
    if vmsg and msg.endswith(": " + vmsg):
        msg = msg[:-len(vmsg) - 2]
    return msg


def _handshake_error(exc, func: str) -> str:
    """socat's xioSSL_connect / _xioopen_openssl_listen message for a failure."""
    ssl = _import_ssl()
    if isinstance(exc, ssl.SSLZeroReturnError):
        return "connection closed (wrong version number?)"
    if isinstance(exc, (ssl.SSLWantReadError, ssl.SSLWantWriteError)):
        return "nonblocking operation did not complete"
    if isinstance(exc, _PeerClosed):
        return f"{func}(): socket closed by peer"
    if isinstance(exc, ssl.SSLEOFError) and not getattr(exc, "reason", None):
        return f"{func}(): socket closed by peer"
    if isinstance(exc, ssl.SSLSyscallError) or (isinstance(exc, OSError)
                                                and not isinstance(exc, ssl.SSLError)):
        return f"{func}(): {os.strerror(exc.errno) if exc.errno else 'I/O error'}"
    return f"{func}(): {error_string(exc)}"


def _reason_code(exc):
    import _ssl as c
    lib = _LIBS.get(getattr(exc, "library", None) or "", (None,))[0]
    for (ln, rn), name in c.err_codes_to_names.items():
        if ln == lib and name == getattr(exc, "reason", None):
            return rn
    return None


def _is_alert(exc) -> bool:
    """An alert the peer sent (OpenSSL's SSL_AD_REASON_OFFSET + alert)."""
    code = _reason_code(exc)
    return code is not None and code >= 1000


class _PeerClosed(Exception):
    """TCP EOF during the handshake."""


# ---------------------------------------------------------------------------
# the context: socat's _xioopen_openssl_prepare
# ---------------------------------------------------------------------------


def _delete_cert_info() -> None:
    """socat's openssl_delete_cert_info(): drop <PROG>_OPENSSL_* variables."""
    prefix = S.env_name("OPENSSL_")
    for name in [n for n in os.environ if n.startswith(prefix)]:
        del os.environ[name]


def unknown_version(text: str) -> SocatError:
    from ..versions import ACTIVE
    hint = ' (use forms like "TLS1.2")' if ACTIVE.openssl_version_hint else ""
    return SocatError(f'Unknown SSL/TLS version "{text}"{hint}')


def _version(ssl, text: str, which: str):
    val = _VERSIONS.get(text.lower())
    if val is None:
        raise unknown_version(text)
    try:
        tv = ssl.TLSVersion(val)
    except ValueError:
        tv = None
    fail = (f'_xioopen_openssl_prepare(): SSL_CTX_set_{which}_proto_version("{text}"->{val}): '
            f'failed')
    return tv, fail + (" (0)" if which == "min" else "")


class TLSBackend:
    """How prepare() builds a context with Python's ``ssl`` (TLS over TCP).

    DTLS (addresses/dtls.py) has a backend of its own on pyOpenSSL with the same
    methods; prepare() holds socat's order of steps and its messages for both.
    """

    def __init__(self, server: bool):
        ssl = self.ssl = _import_ssl()
        ctx = self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server
                                        else ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # socat checks the names itself, after the handshake
        # Python's defaults that socat's SSL_CTX_new does not have
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED

    def set_version(self, text: str, which: str) -> None:
        ssl = self.ssl
        tv, fail = _version(ssl, text, which)
        if tv is None:
            raise SocatError(fail)
        try:
            if which == "min":
                self.ctx.minimum_version = tv
            else:
                self.ctx.maximum_version = tv
        except (ValueError, ssl.SSLError):
            raise SocatError(fail) from None

    def no_compression(self) -> None:
        self.ctx.options |= self.ssl.OP_NO_COMPRESSION

    def clear_auto_retry(self) -> None:
        """OpenSSL presets SSL_MODE_AUTO_RETRY (Python's ssl too); socat clears it
        so that SSL_read() cannot block on non-application records. Our
        endpoint runs SSL on memory BIOs and never blocks in SSL_read(), which
        is what the correction is for."""

    def load_verify(self, cafile, capath) -> None:
        try:
            self.ctx.load_verify_locations(cafile, capath)
        except (OSError, self.ssl.SSLError) as e:
            raise SocatError(f"SSL_CTX_load_verify_locations(): {error_string(e)}") from None

    def default_paths(self) -> None:
        self.ctx.set_default_verify_paths()

    def load_cert(self, cert: str, key) -> None:
        _load_cert(self.ssl, self.ctx, cert, key)

    def load_dh(self, dhfile: str) -> None:
        try:
            self.ctx.load_dh_params(dhfile)
        except (FileNotFoundError, PermissionError) as e:
            LOG.warn(f'BIO_new_file("{dhfile}", "r"): {e.strerror}')
        except (OSError, self.ssl.SSLError):
            LOG.info(f"PEM_read_bio_DHparams(0x{id(self.ctx):x}, NULL, NULL, NULL): error")

    def set_ciphers(self, ciphers: str) -> None:
        try:
            self.ctx.set_ciphers(ciphers)
        except self.ssl.SSLError:
            raise SocatError(f'SSL_set_cipher_list(, "{ciphers}"): '
                             f'error:0A0000B9:SSL routines::no cipher match') from None

    def set_verify(self, verify: bool) -> None:
        self.ctx.verify_mode = self.ssl.CERT_REQUIRED if verify else self.ssl.CERT_NONE

    def fragment_options(self, opts, server: bool) -> None:
        from .sslctx import apply_fragment_options
        apply_fragment_options(self.ctx, opts, server)


def prepare(opts, server: bool, cert, backend=TLSBackend):
    """The context and the verify flag, with socat's error texts
    (socat's _xioopen_openssl_prepare); ``backend`` builds the context."""
    ssl = _import_ssl()
    ciphers = opts.get("openssl-cipherlist", DEFAULT_CIPHERS)
    verify = bool(opts.get("openssl-verify", 1))
    cafile = opts.get("openssl-cafile")
    capath = opts.get("openssl-capath")
    key = opts.get("openssl-key")
    dhparam = opts.get("openssl-dhparam")
    pseudo = opts.get("openssl-pseudo")
    compress = opts.get("openssl-compress")
    minv = opts.get("openssl-min-proto-version")
    maxv = opts.get("openssl-max-proto-version")
    _delete_cert_info()
    if opts.get("openssl-egd") is not None:
        # OpenSSL 3 has no RAND_egd: socat says so at debug level and goes on
        LOG.debug("RAND_egd() is not available by OpenSSL")
    if pseudo:
        import random
        import time
        random.seed(time.time())
        while not ssl.RAND_status():
            data = random.getrandbits(64).to_bytes(8, "little")
            LOG.debug(f"RAND_seed(0x{{{data[::-1].hex()}}}, 8)")
            ssl.RAND_add(data, 8.0)
    be = backend(server)
    for text, which in ((minv, "min"), (maxv, "max")):
        if text is not None:
            be.set_version(text, which)
    if compress is not None:
        if compress.lower() == "auto":
            LOG.info("Using default OpenSSL compression")
        elif compress.lower() == "none":
            LOG.info("Disabling OpenSSL compression")
            be.no_compression()
        else:
            raise SocatError(f'openssl-compress="{compress}": unknown compression method')
    LOG.info("SSL_CTX mode has SSL_MODE_AUTO_RETRY set. Correcting..")
    be.clear_auto_retry()
    if cafile is not None or capath is not None:
        be.load_verify(cafile, capath)
    else:
        be.default_paths()
    if cert:
        be.load_cert(cert, key)
        be.load_dh(dhparam or cert)
    be.set_ciphers(ciphers)
    be.set_verify(verify)
    from ..versions import ACTIVE
    from .sockets import first_child
    if verify and ACTIVE.openssl_crl_warning and first_child():
        LOG.warn("OpenSSL: Warning: this implementation does not check CRLs")
    if opts.get("openssl-maxfraglen") is not None or opts.get("openssl-maxsendfrag") is not None:
        be.fragment_options(opts, server)
    return be.ctx, verify


def _load_cert(ssl, ctx, cert: str, key) -> None:
    """SSL_CTX_use_certificate_chain_file, then SSL_CTX_use_PrivateKey_file."""
    try:
        with open(cert, "rb") as f:
            has_cert = b"-----BEGIN CERTIFICATE-----" in f.read()
    except OSError as e:
        raise SocatError(f"SSL_CTX_use_certificate_file(): {error_string(e)}") from None
    if not has_cert:
        raise SocatError("SSL_CTX_use_certificate_file(): "
                         "error:0480006C:PEM routines::no start line")
    try:
        ctx.load_cert_chain(cert, key or cert)
    except (OSError, ssl.SSLError) as e:
        raise SocatError(f"SSL_CTX_use_PrivateKey_file(): {error_string(e)}") from None


# ---------------------------------------------------------------------------
# the TLS endpoint
# ---------------------------------------------------------------------------


class TLSEndpoint(S.SocketEndpoint):
    """A TCP socket carrying TLS; the relay reads and writes plaintext."""

    zero_copy = False

    def __init__(self, sock, name, sslctx, server: bool, sni=None, peer=None, local=None):
        ssl = _import_ssl()
        super().__init__(sock, name, peer=peer, local=local)
        self.inbio = ssl.MemoryBIO()
        self.outbio = ssl.MemoryBIO()
        self.tls = sslctx.wrap_bio(self.inbio, self.outbio, server_side=server,
                                   server_hostname=sni)
        self.sent_close = False
        self.wronly = False
        self.tcp_eof = False
        self.held = b""             # plaintext decrypted before close_notify was sent

    # plumbing -----------------------------------------------------------------
    def _flush(self) -> None:
        data = self.outbio.read()
        if data:
            self.sock.sendall(data)

    def _fill(self, block: bool) -> bool:
        """Move bytes from the socket into the engine; False: none there now."""
        if self.tcp_eof:
            return False
        try:
            data = self.sock.recv(65536, 0 if block else socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        if not data:
            self.tcp_eof = True
            self.inbio.write_eof()
        else:
            self.inbio.write(data)
        return True

    def handshake(self) -> None:
        ssl = _import_ssl()
        while True:
            try:
                self.tls.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                if self.tcp_eof:       # cannot happen: OpenSSL saw the EOF
                    raise _PeerClosed() from None
                self._fill(True)       # at EOF, OpenSSL: "unexpected eof while reading"
            except ssl.SSLError:
                try:
                    self._flush()      # the alert for the peer
                except OSError:
                    pass
                raise

    # data -----------------------------------------------------------------------
    def pending(self) -> bool:
        return bool(self.held) or self.tls.pending() > 0 or self.inbio.pending > 0

    def read(self, n: int):
        ssl = _import_ssl()
        if self.held:
            data, self.held = self.held[:n], self.held[n:]
            return data
        filled = False
        while True:
            try:
                data = self.tls.read(n)
            except ssl.SSLWantReadError:
                self._flush()
                try:
                    more = not filled and self._fill(False)
                except OSError as e:
                    # SSL_ERROR_SYSCALL with errno set: socat's "SSL_read(): <strerror>"
                    raise SocatError(f"SSL_read(): {e.strerror}") from None
                if not more:
                    # a record that carried no data (session ticket, key update)
                    # or one not fully arrived: socat's SSL_read WANT_READ
                    LOG.info("nonblocking operation did not complete")
                    raise BlockingIOError(errno.EAGAIN, "nonblocking operation did not complete")
                filled = True
                continue
            except ssl.SSLZeroReturnError:
                return b""
            except ssl.SSLEOFError:
                # TCP EOF without close_notify: OpenSSL 3's SSL_read() returns 0
                # ("unexpected eof while reading" queued), which socat takes as EOF
                return b""
            except ssl.SSLSyscallError as e:
                raise SocatError(f"SSL_read(): {os.strerror(e.errno or errno.EIO)}") from None
            except ssl.SSLError as e:
                if _is_alert(e):
                    return b""     # a fatal alert: SSL_read() returns 0, socat's EOF
                raise SocatError(f"SSL_read(): {error_string(e)}") from None
            self._flush()
            return data

    def write(self, data) -> int:
        ssl = _import_ssl()
        view = memoryview(data)
        total = len(view)
        while view:
            try:
                n = self.tls.write(view)
            except ssl.SSLWantReadError:
                self._flush()
                self._fill(True)
                continue
            except ssl.SSLError as e:
                raise SocatError(f"SSL_write(): {error_string(e)}") from None
            view = view[n:]
            try:
                self._flush()
            except BrokenPipeError:
                raise SocatError("SSL_write(): Broken pipe") from None
            except OSError as e:
                raise SocatError(f"SSL_write(): {e.strerror}") from None
        return total

    # end --------------------------------------------------------------------------
    def _close_notify(self, warn: bool = True) -> None:
        """socat's SSL_shutdown(): send close_notify once; reading goes on.

        Every complete record already fetched is decrypted first and kept for
        read(): the shutdown call must find nothing in the engine it could
        consume (Python's unwrap() calls SSL_shutdown twice, and the second
        call would swallow application data it finds).
        """
        ssl = _import_ssl()
        if self.sent_close:
            return
        self.sent_close = True
        chunks = []
        while True:
            try:
                data = self.tls.read(65536)
            except ssl.SSLError:
                break
            if not data:
                break
            chunks.append(data)
        self.held = b"".join(chunks)
        try:
            self.tls.unwrap()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass
        except (ssl.SSLError, ValueError):
            if warn:
                LOG.warn("xioshutdown_openssl(): SSL_shutdown() -> -1")
        try:
            self._flush()
        except OSError:
            pass

    def shutdown_write(self) -> None:
        if self.shut is not None:
            super().shutdown_write()          # shut-none/-down/-close/-null as any socket
            return
        self._close_notify()
        if self.wronly:
            # socat: "give peer time to read all data before closing socket"
            while True:
                try:
                    select.select([self.sock], [], [])
                    self.read(1)
                    break
                except BlockingIOError:
                    continue
                except (SocatError, OSError):
                    break

    def close(self) -> None:
        if self._closed:
            return
        try:
            self._close_notify(warn=False)     # xioclose(): SSL_shutdown(), quietly
        except Exception:
            pass
        self._closed = True
        fd = self.sock.fileno()
        if fd >= 0:
            LOG.info(f"close({fd})")
        self._release()


# ---------------------------------------------------------------------------
# the peer certificate: socat's openssl_handle_peer_certificate
# ---------------------------------------------------------------------------


def _short_name(long_name: str) -> str:
    import _ssl as c
    try:
        return c.txt2obj(long_name, name=True)[1]
    except (ValueError, TypeError):
        return long_name


def _oneline_value(v: str) -> str:
    if any(ch in v for ch in ',+"\\<>;') or v[:1] in (" ", "#") or v[-1:] == " ":
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


def _oneline(name) -> str:
    """X509_NAME_print_ex(…, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB)."""
    rdns = []
    for rdn in name:
        rdns.append(" + ".join(f"{_short_name(k)} = {_oneline_value(v)}" for k, v in rdn))
    return ", ".join(rdns)


def _append_env(var: str, value: str) -> None:
    name = S.env_name(var)
    old = os.environ.get(name)
    os.environ[name] = value if old is None else old + " // " + value


def _decoded_cert(tls) -> dict:
    """The peer certificate as Python's dict, also when it was not verified."""
    info = tls.getpeercert()
    if info:
        return info
    der = tls.getpeercert(binary_form=True)
    if not der:
        return {}
    ssl = _import_ssl()
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as f:
        f.write(ssl.DER_cert_to_PEM_cert(der))
        f.flush()
        return ssl._ssl._test_decode_cert(f.name)


def check_name(nametype: str, cn: str, peername) -> bool:
    """socat's openssl_check_name(): exact, or ``*.domain`` one level deep."""
    if peername is None:
        LOG.info(f'{nametype} "{cn}": no peername')
        return False
    if peername == "":
        LOG.info(f'{nametype} "{cn}": matched by empty peername')
        return True
    if not cn.startswith("*."):
        if cn == peername:
            LOG.debug(f'{nametype} "{cn}" matches peername "{peername}"')
            return True
        LOG.info(f'{nametype} "{cn}" does not match peername "{peername}"')
        return False
    LOG.debug(f'{nametype} "{cn}" is a wildcard name')
    if cn[2:] == peername:
        LOG.debug(f'wildcard {nametype} "{cn}" matches base domain "{peername}"')
        return True
    dot = peername.find(".")
    if dot < 0:
        LOG.info(f'peername "{peername}" is not a subdomain, thus is not matched by '
                 f'wildcard commonName "{cn}"')
        return False
    if cn[1:] != peername[dot:]:
        LOG.info(f'{nametype} "{cn}" does not match subdomain peername "{peername}"')
        return False
    LOG.debug(f'{nametype} "{cn}" matches subdomain peername "{peername}"')
    return True


def _ip6_pton(text: str):
    """socat's xioip6_pton(): ``[v6]`` or a name resolved for IPv6; None when
    it cannot be converted (the resolver's error is logged, as socat does)."""
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except OSError:
        pass
    try:
        sa = S.resolve(text, None, socket.AF_INET6)
    except SocatError as e:
        LOG.error(e.text)
        return None
    return socket.inet_pton(socket.AF_INET6, sa.addr[0].split("%")[0])


def handle_peer_certificate(tls, peername, verify: bool) -> None:
    """Log, set SOCAT_OPENSSL_X509_*, check the name; SocatError on failure."""
    if not tls.getpeercert(binary_form=True):
        if verify:
            raise SocatError("no peer certificate")
        LOG.notice("no peer certificate and no check")
        return
    if verify:
        LOG.info("peer certificate is trusted")
    info = _decoded_cert(tls)
    subject = info.get("subject")
    if subject is not None:
        text = _oneline(subject)
        LOG.info(f'SSL peer cert subject: "{text}"')
        os.environ[S.env_name("OPENSSL_X509_SUBJECT")] = text
        for rdn in subject:
            for k, v in rdn:
                LOG.debug(f'SSL peer cert subject entry: {k}="{v}"')
                _append_env("OPENSSL_X509_" + k.upper(), v)
    issuer = info.get("issuer")
    if issuer is not None:
        text = _oneline(issuer)
        LOG.info(f'SSL peer cert issuer: "{text}"')
        os.environ[S.env_name("OPENSSL_X509_ISSUER")] = text
    if not verify:
        LOG.notice("option openssl-verify disabled, no check of certificate")
        return
    ok = False
    for kind, value in info.get("subjectAltName", ()):
        if kind == "DNS":
            _append_env("OPENSSL_X509V3_SUBJECTALTNAME_DNS", value)
            if peername is not None and check_name("subjectAltName", value, peername):
                ok = True
        elif kind == "IP Address":
            if ":" in value:
                packed = socket.inet_pton(socket.AF_INET6, value)
                value = socket.inet_ntop(socket.AF_INET6, packed)
                if peername is not None:
                    if _ip6_pton(peername) == packed:
                        LOG.debug(f'subjectAltName "{value}" matches peername "{peername}"')
                        ok = True
                    else:
                        LOG.info(f'subjectAltName "{value}" does not match peername '
                                 f'"{peername}"')
            elif peername is not None and check_name("subjectAltName", value, peername):
                ok = True
            _append_env("OPENSSL_X509V3_SUBJECTALTNAME_IPADD", value)
        if ok:
            break
    if ok:
        LOG.notice("trusting certificate, commonName matches")
        return
    if not peername:
        LOG.notice("trusting certificate, no check of commonName")
        return
    cns = [v for rdn in (subject or ()) for k, v in rdn if k == "commonName"]
    if not cns:
        LOG.info("no COMMONNAME field in peer certificate")
    if not cns or not check_name("commonName", cns[0], peername):
        e = SocatError(f'certificate is valid but its commonName does not match hostname '
                       f'"{peername}"')
        e.retry = False
        raise e
    LOG.notice("trusting certificate, commonName matches")


def conn_loginfo(ep: TLSEndpoint) -> None:
    """socat's openssl_conn_loginfo()."""
    name, version, _bits = ep.tls.cipher()
    LOG.notice(f"SSL proto version used: {version}")
    S.set_env("OPENSSL_PROTO_VERSION", version)
    LOG.notice(f"SSL connection using {name}")
    S.set_env("OPENSSL_CIPHER", name)
    comp = ep.tls.compression() or "none"
    LOG.notice(f'SSL connection compression "{comp}"')
    LOG.notice(f'SSL connection expansion "{comp}"')
    from ..versions import ACTIVE
    if ACTIVE.openssl_fraglen_info:
        from .sslctx import negotiated_fragment_length
        if negotiated_fragment_length(ep.tls):
            LOG.info(f"OpenSSL: max fragment length is {negotiated_fragment_length(ep.tls)}")


# ---------------------------------------------------------------------------
# the openers
# ---------------------------------------------------------------------------


def _peer_der(tls):
    try:
        return tls.getpeercert(binary_form=True)
    except ValueError:          # handshake not done
        return None


class HandshakeFailed(Exception):
    """A handshake failure in socat's words (DTLS endpoints raise it)."""

    def __init__(self, text: str, then=()):
        super().__init__(text)
        self.text = text
        self.then = list(then)


def _tls_session(ep: TLSEndpoint, func: str, peername, verify: bool, level_info: bool):
    """Handshake and peer checks; raises SocatError (retry attr set)."""
    ssl = _import_ssl()
    try:
        ep.handshake(func) if isinstance(ep, HandshakeWords) else ep.handshake()
    except HandshakeFailed as e:
        err = SocatError(e.text)
        err.retry = True
        err.then = e.then
        raise err from None
    except (ssl.SSLError, OSError, _PeerClosed) as e:
        err = SocatError(_handshake_error(e, func))
        err.retry = True
        err.then = []
        if func == "SSL_connect" and isinstance(e, ssl.SSLError) and verify \
                and not isinstance(e, (ssl.SSLEOFError, ssl.SSLSyscallError,
                                       ssl.SSLZeroReturnError)) \
                and not _peer_der(ep.tls):
            # xioSSL_connect checks the peer certificate after SSL_ERROR_SSL
            # too (shown when retrying; without retry the first error ends socat)
            err.then.append("no peer certificate")
        raise err from None
    handle_peer_certificate(ep.tls, peername, verify)


class HandshakeWords:
    """Marker: an endpoint whose handshake(func) gives socat's texts itself."""


class Kind:
    """What TLS over TCP (OPENSSL, OPENSSL-LISTEN) and DTLS over UDP
    (OPENSSL-DTLS-CLIENT/-SERVER, addresses/dtls.py) differ in; the openers
    below are socat's, shared by both (socat: one function, use_dtls)."""

    socktype, proto = _STREAM, _TCP
    backend = TLSBackend

    def client_endpoint(self, sock, spec, sslctx, no_sni, snihost, them):
        return _client_endpoint(sock, spec, sslctx, no_sni, snihost, them)

    def server_endpoint(self, sock, spec, sslctx, peer, local):
        return TLSEndpoint(sock, spec.raw, sslctx, True, peer=peer, local=local)

    def acceptor(self, ctx, opts, params):
        """A function that waits for the next peer: (socket, peer, local)."""
        pf = S.default_listen_pf(ctx, socket.AF_UNSPEC)
        pf = S.socket_pf(opts, pf)
        us = S.resolve(opts.get("bind"), params[0], pf, _STREAM, _TCP, S.preferred_ip(ctx),
                       passive=True)
        return lambda: S.listen_accept(ctx, opts, us.family, _STREAM, _TCP, us,
                                       range_family=pf)


TLS = Kind()


def open_connect(ctx, row, spec, opts, params, kind=TLS):
    """socat's xioopen_openssl_connect(): connect (retry), handshake, then fork."""
    if len(params) != 2:
        raise SocatError(f"{spec.head}: 2 parameters required")
    host, port = params
    if host == "":
        raise SocatError(f"{spec.head}: empty host name")
    dofork = bool(opts.get("fork"))
    cert = opts.get("openssl-certificate")
    commonname = opts.get("openssl-commonname")
    no_sni = bool(opts.get("openssl-no-sni"))
    snihost = opts.get("openssl-snihost")
    if commonname is None:
        commonname = host
    from ..versions import ACTIVE
    if not ACTIVE.openssl_sni_ip_checks:
        if snihost is None:
            snihost = commonname
    elif snihost is not None:
        if is_ip_address(snihost):
            LOG.warn(f'specified SNI host "{snihost}" is an IP address')
    elif not is_ip_address(commonname):
        snihost = commonname
    sslctx, verify = prepare(opts, False, cert, kind.backend)
    from ..versions import ACTIVE
    if ACTIVE.connect_tries_all:
        return _connect18(ctx, row, spec, opts, host, port, sslctx, verify, commonname,
                          no_sni, snihost, kind)
    stype, proto = kind.socktype, kind.proto
    pf = S.socket_pf(opts, socket.AF_UNSPEC)
    them = S.resolve(host, port, pf, stype, proto, S.preferred_ip(ctx))
    pf = them.family
    from .tcp import _client_bind
    us, lowport = _client_bind(ctx, opts, pf, stype, proto)
    S.LOG.notice(f"opening connection to {them.info()}")
    policy = S.RetryPolicy.from_opts(opts)
    if opts.has("max-children"):
        opts.get("max-children")
    mgr = S.ForkManager(shutup=S.children_shutup(opts)) if dofork else None
    if mgr is not None:
        mgr.install()
    LOG.start_loop("connect")
    while True:
        try:
            sock = S.connect_socket(opts, pf, stype, proto, them, us, lowport)
            ep = kind.client_endpoint(sock, spec, sslctx, no_sni, snihost, them)
            try:
                _tls_session(ep, "SSL_connect", commonname, verify, policy.more())
            except SocatError as e:
                if getattr(e, "retry", True) and policy.more():
                    LOG.info(e.text)
                    for text in getattr(e, "then", ()):
                        LOG.info(text)
                    LOG.info(f"close({ep.sock.fileno()})")
                    e.logged = True
                ep.sock.close()
                raise
            except BaseException:
                ep.sock.close()
                raise
        except SocatError as e:
            if getattr(e, "retry", True) and policy.more():
                if not getattr(e, "logged", False):
                    LOG.info(e.text)
                policy.consume()
                policy.sleep()
                continue
            raise
        if mgr is None:
            break
        pid = mgr.fork()
        if pid == 0:
            break
        ep.sock.close()
        S.fork_pause(mgr, policy, 0)
    conn_loginfo(ep)
    if ctx.mode == WRITE:
        ep.wronly = True
    return S.finish_socket(ep, opts)


def _connect18(ctx, row, spec, opts, host, port, sslctx, verify, commonname, no_sni,
               snihost, kind=TLS):
    """socat 1.8's xioopen_openssl_connect(): the 1.8 client loop
    (sockets.client_loop18) with the TLS/DTLS handshake as its session."""
    from ..versions import ACTIVE

    def start():
        LOG.info("starting connect loop")
        if ACTIVE.connect_notices:
            LOG.notice(f"opening OpenSSL connection to {host}:{port}")

    def session(sock, got, level, policy):
        ep = kind.client_endpoint(sock, spec, sslctx, no_sni, snihost, got)
        try:
            _tls_session(ep, "SSL_connect", commonname, verify, policy.more())
        except SocatError as e:
            ep.sock.close()
            if not getattr(e, "retry", True):
                raise
            # 1.8: a failed handshake at the attempt's level (N with retries
            # left, else W), and without retry STAT_RETRYLATER ends the open
            # without an E: "exiting with status -1"
            if not policy.more() and not ACTIVE.openssl_handshake_retrylater:
                raise
            LOG.msg(level, e.text)
            for text in getattr(e, "then", ()):
                LOG.msg(level, text)
            if not policy.more():
                raise S.RetryLater(e.text) from None
            raise S.TryAgain() from None
        except BaseException:
            ep.sock.close()
            raise
        return ep

    _, _, ep = S.client_loop18(ctx, row, opts, host, port, S.socket_pf(opts, socket.AF_UNSPEC),
                               kind.socktype, kind.proto, f"{spec.head}:{host}:{port}",
                               start=start,
                               notice=f"opening connection to server {host}:{port}",
                               session=session)
    conn_loginfo(ep)
    if ACTIVE.connect_notices:
        LOG.notice(f"successfully connected to SSL server {host}:{port}")
    if ctx.mode == WRITE:
        ep.wronly = True
    return S.finish_socket(ep, opts)


def is_ip_address(text: str) -> bool:
    """socat's check_ipaddr(): an IPv4 or (bracketed) IPv6 address literal."""
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except OSError:
            pass
    return False


def sni_for(no_sni: bool, snihost):
    """The SNI name to send (None: none); 1.8 warns when it has none."""
    from ..versions import ACTIVE
    if no_sni:
        return None
    if ACTIVE.openssl_sni_ip_checks and not snihost:
        LOG.warn("refusing to set empty SNI host name")
        return None
    return snihost


def _client_endpoint(sock, spec, sslctx, no_sni, snihost, them):
    local = None
    try:
        local = S.sockaddr_of(sock)
    except OSError:
        pass
    try:
        return TLSEndpoint(sock, spec.raw, sslctx, False, sni_for(no_sni, snihost),
                           peer=them, local=local)
    except ValueError:
        sock.close()
        e = SocatError(f'Failed to set SNI host "{snihost}"')
        e.retry = False
        raise e from None


def open_listen(ctx, row, spec, opts, params, kind=TLS):
    """socat's xioopen_openssl_listen(): listen/accept (fork), then handshake."""
    if len(params) != 1:
        raise SocatError(f"{spec.head}: 1 parameter required")
    cert = opts.get("openssl-certificate")
    if cert is None:
        LOG.warn('no certificate given; consider option "cert"')
    commonname = opts.get("openssl-commonname")
    sslctx, verify = prepare(opts, True, cert, kind.backend)
    accept = kind.acceptor(ctx, opts, params)
    policy = S.RetryPolicy.from_opts(opts)
    while True:
        sock, peer, local = accept()
        ep = kind.server_endpoint(sock, spec, sslctx, peer, local)
        try:
            _tls_session(ep, "SSL_accept", commonname, verify, policy.more())
        except SocatError as e:
            ep.sock.close()
            if getattr(e, "retry", True) and policy.more() and not opts.get("fork"):
                LOG.info(e.text)
                policy.consume()
                policy.sleep()
                continue
            raise
        break
    conn_loginfo(ep)
    if ctx.mode == WRITE:
        ep.wronly = True
    return S.finish_socket(ep, opts)


_C = "FD,SOCKET,CHILD,RETRY,IP4,IP6,TCP,OPENSSL"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,TCP,OPENSSL"
address("openssl", ":<host>:<port>", _C, open_connect, "OPENSSL",
        "TLS client: connect to a TLS server (verifies its certificate by default)",
        aliases=("openssl-connect", "ssl"), nparams=(0, 99))
address("openssl-listen", ":<port>", _L, open_listen, "OPENSSL",
        "TLS server: accept TCP connections and do the TLS handshake",
        aliases=("ssl-l",), nparams=(0, 99))

EXTRA_FEATURES.update({"IP4", "IP6", "LISTEN", "RETRY"})
