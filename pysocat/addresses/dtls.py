"""OPENSSL-DTLS-CLIENT (DTLS) and OPENSSL-DTLS-SERVER (DTLS-L): DTLS over UDP.

socat's OPENSSL addresses with ``use_dtls`` (xio-openssl.c): the same
openers, options, certificate checks and log lines as OPENSSL and
OPENSSL-LISTEN (addresses/openssl.py, whose ``Kind`` says what differs), on
a UDP socket:

- the client connects a UDP socket as UDP-CONNECT does (retry, fork after
  the handshake), the server waits as UDP-LISTEN does for the first datagram
  of a permitted sender, connects its socket to that sender (fork: in the
  child) and does the handshake there; like socat it uses no cookie exchange
  (DTLSv1_listen) and no retransmission timer: the engine reads the
  connected socket itself, so so-rcvtimeo bounds a handshake with nobody;
- the DTLS engine is OpenSSL's through pyOpenSSL (Python's ``ssl`` has no
  DTLS), imported only when an address of this family opens. As socat does
  (SSL_set_fd), the engine reads and writes the socket itself, one record
  a datagram; socat's texts for OpenSSL's error queue come from the same
  library calls socat makes (SSL_get_error, ERR_get_error).
"""
from __future__ import annotations

import errno
import os
import socket
import weakref

from ..errors import SocatError
from ..log import LOG
from . import openssl as O
from . import sockets as S
from .registry import address

_DGRAM, _UDP = socket.SOCK_DGRAM, socket.IPPROTO_UDP

# OpenSSL's SSL_get_error() codes
_NONE, _SSL, _WANT_READ, _WANT_WRITE, _X509, _SYSCALL, _ZERO, _CONNECT = range(8)
_RECORD = 8192          # socat's default buffer size: what one SSL_write() takes
# maxsendfrag per context: the largest piece one SSL_write() of an endpoint takes
MAX_SEND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

_mods = None


def _openssl():
    """pyOpenSSL's SSL module and its library binding (lib, ffi), imported once."""
    global _mods
    if _mods is None:
        try:
            from OpenSSL import SSL
            from OpenSSL._util import ffi, lib
        except ImportError:
            raise SocatError("OPENSSL-DTLS: DTLS needs the Python package pyOpenSSL, "
                             "which is not installed") from None
        _mods = (SSL, lib, ffi)
    return _mods


def _err_text(code: int) -> str:
    """OpenSSL 3's ERR_error_string() of one error code."""
    _, lib, ffi = _openssl()
    if code & 0x80000000:           # ERR_SYSTEM_ERROR: the reason is an errno
        return f"error:{code:08X}:system library::{os.strerror(code & 0x7FFFFFFF)}"
    ls, rs = lib.ERR_lib_error_string(code), lib.ERR_reason_error_string(code)
    libname = ffi.string(ls).decode() if ls != ffi.NULL else f"lib({(code >> 23) & 0xFF})"
    reason = ffi.string(rs).decode() if rs != ffi.NULL else f"reason({code & 0x7FFFFF})"
    return f"error:{code:08X}:{libname}::{reason}"


def _errors() -> list[str]:
    """Empty OpenSSL's error queue: every entry, oldest first."""
    _, lib, _ = _openssl()
    texts = []
    while True:
        code = lib.ERR_get_error()
        if not code:
            return texts
        texts.append(_err_text(code))


def _fail(func: str) -> SocatError:
    """socat's error for a failed call: the first entry of OpenSSL's queue
    (socat's first E line ends the program; the queue's later entries, which
    OpenSSL adds for the layers above, never show)."""
    texts = _errors()
    if not texts:
        return SocatError(f"{func}() failed")
    return SocatError(f"{func}(): {texts[0]}")


class DTLSBackend:
    """openssl.prepare()'s context steps on a pyOpenSSL DTLS context."""

    def __init__(self, server: bool):
        SSL, self.lib, self.ffi = _openssl()
        self.lib.ERR_clear_error()
        self.ctx = SSL.Context(SSL.DTLS_SERVER_METHOD if server else SSL.DTLS_CLIENT_METHOD)
        self.raw = self.ctx._context
        # pyOpenSSL presets these two modes; socat's SSL_CTX_new() does not
        # have them (partial writes would split a write into records)
        self.lib.SSL_CTX_clear_mode(self.raw, self.lib.SSL_MODE_ENABLE_PARTIAL_WRITE
                                    | self.lib.SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

    def set_version(self, text: str, which: str) -> None:
        val = O._VERSIONS.get(text.lower())
        if val is None:
            raise O.unknown_version(text)
        fail = (f'_xioopen_openssl_prepare(): SSL_CTX_set_{which}_proto_version("{text}"->'
                f'{val}): failed')
        setter = (self.lib.SSL_CTX_set_min_proto_version if which == "min"
                  else self.lib.SSL_CTX_set_max_proto_version)
        if setter(self.raw, val) != 1:
            _errors()
            raise SocatError(fail + (" (0)" if which == "min" else ""))

    def no_compression(self) -> None:
        self.lib.SSL_CTX_set_options(self.raw, self.lib.SSL_OP_NO_COMPRESSION)

    def clear_auto_retry(self) -> None:
        # socat: SSL_read() must not wait for another record when one that
        # carries no data (a retransmitted handshake message) arrives
        self.lib.SSL_CTX_clear_mode(self.raw, self.lib.SSL_MODE_AUTO_RETRY)

    def load_verify(self, cafile, capath) -> None:
        ffi = self.ffi
        c = cafile.encode() if cafile is not None else ffi.NULL
        p = capath.encode() if capath is not None else ffi.NULL
        if self.lib.SSL_CTX_load_verify_locations(self.raw, c, p) != 1:
            raise _fail("SSL_CTX_load_verify_locations")

    def default_paths(self) -> None:
        self.lib.SSL_CTX_set_default_verify_paths(self.raw)

    def load_cert(self, cert: str, key) -> None:
        if self.lib.SSL_CTX_use_certificate_chain_file(self.raw, cert.encode()) <= 0:
            texts = _errors()
            if not texts:
                raise SocatError(f'SSL_CTX_use_certificate_file(0x{id(self.ctx):x}, "{cert}", '
                                 f'SSL_FILETYPE_PEM) failed')
            raise SocatError(f"SSL_CTX_use_certificate_file(): {texts[0]}")
        if self.lib.SSL_CTX_use_PrivateKey_file(self.raw, (key or cert).encode(),
                                                self.lib.SSL_FILETYPE_PEM) <= 0:
            raise _fail("SSL_CTX_use_PrivateKey_file")

    def load_dh(self, dhfile: str) -> None:
        try:
            with open(dhfile, "rb") as f:
                pem = f.read()
        except OSError as e:
            LOG.warn(f'BIO_new_file("{dhfile}", "r"): {e.strerror}')
            return
        if b"-----BEGIN DH PARAMETERS-----" not in pem:
            LOG.info(f"PEM_read_bio_DHparams(0x{id(pem):x}, NULL, NULL, NULL): error")
            return
        try:
            self.ctx.load_tmp_dh(dhfile)
        except Exception:
            _errors()
            LOG.info(f"PEM_read_bio_DHparams(0x{id(pem):x}, NULL, NULL, NULL): error")

    def set_ciphers(self, ciphers: str) -> None:
        if self.lib.SSL_CTX_set_cipher_list(self.raw, ciphers.encode()) <= 0:
            texts = _errors() or ["failed"]
            raise SocatError(f'SSL_set_cipher_list(, "{ciphers}"): {texts[0]}')

    def set_verify(self, verify: bool) -> None:
        SSL = _openssl()[0]
        if verify:
            mode = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
        else:
            mode = SSL.VERIFY_NONE
        self.lib.SSL_CTX_set_verify(self.raw, mode, self.ffi.NULL)


    def fragment_options(self, opts, server: bool) -> None:
        from .sslctx import SSL3_RT_MAX_PLAIN_LENGTH, apply_fragment_options

        def mfl(code):
            setter = getattr(self.lib, "SSL_CTX_set_tlsext_max_fragment_length", None)
            if setter is None:
                raise SocatError("openssl: maxfraglen is not available with DTLS here "
                                 "(pyOpenSSL's binding lacks "
                                 "SSL_CTX_set_tlsext_max_fragment_length)")
            setter(self.raw, code)

        def msf(size):
            # pyOpenSSL's binding lacks SSL_CTX_set_max_send_fragment(): the
            # endpoint cuts its writes at this size instead (one SSL_write() is one
            # DTLS record), so no data record carries more than ``size`` bytes
            setter = getattr(self.lib, "SSL_CTX_set_max_send_fragment", None)
            if setter is not None and size <= SSL3_RT_MAX_PLAIN_LENGTH:
                setter(self.raw, size)
            MAX_SEND[self.ctx] = size

        apply_fragment_options(self.ctx, opts, server, (mfl, msf))


class _PeerView:
    """What openssl.py's peer checks and conn_loginfo ask of a TLS object."""

    def __init__(self, conn):
        self.conn = conn

    def getpeercert(self, binary_form: bool = False):
        if not binary_form:
            return {}           # openssl._decoded_cert decodes the DER form
        cert = self.conn.get_peer_certificate()
        if cert is None:
            return None
        from OpenSSL import crypto
        return crypto.dump_certificate(crypto.FILETYPE_ASN1, cert)

    def cipher(self):
        # socat logs SSL_get_cipher_version(): the cipher's version ("TLSv1.2")
        return (self.conn.get_cipher_name(), self.conn.get_cipher_version(),
                self.conn.get_cipher_bits())

    def compression(self):
        return None


class DTLSEndpoint(S.SocketEndpoint, O.HandshakeWords):
    """A connected UDP socket carrying DTLS; the relay reads and writes plaintext."""

    zero_copy = False

    def __init__(self, sock, name, sslctx, server: bool, sni=None, peer=None, local=None):
        SSL, self.lib, self.ffi = _openssl()
        super().__init__(sock, name, peer=peer, local=local)
        # the handshake's start (SSL_connect/SSL_accept) by the state set below
        self.conn = SSL.Connection(sslctx, sock)          # SSL_set_fd(), as socat
        self.ssl = self.conn._ssl
        if server:
            self.conn.set_accept_state()
        else:
            self.conn.set_connect_state()
            if sni:
                self.conn.set_tlsext_host_name(sni.encode("idna"))
        self.tls = _PeerView(self.conn)
        self.record = min(_RECORD, MAX_SEND.get(sslctx, _RECORD))
        self.sent_close = False
        self.wronly = False

    def _call(self, func, *args):
        """One SSL_* call: (return value, SSL_get_error(), errno)."""
        self.ffi.errno = 0
        ret = func(self.ssl, *args)
        err = self.ffi.errno
        code = _NONE if ret > 0 else self.lib.SSL_get_error(self.ssl, ret)
        return ret, code, err

    def _syscall_text(self, func: str, ret: int, err: int) -> str:
        if not self.lib.ERR_peek_error():
            if ret == 0:
                return f"{func}(): socket closed by peer"
            return f"{func}(): {os.strerror(err or errno.EIO)}"
        LOG.error("I/O error")
        return f"{func}(): {_errors()[0]}"

    def handshake(self, func: str) -> None:
        """socat's xioSSL_connect / _xioopen_openssl_listen: one blocking
        SSL_connect()/SSL_accept() on the connected socket."""
        self.lib.ERR_clear_error()
        while True:
            ret, code, err = self._call(self.lib.SSL_do_handshake)
            if ret > 0:
                return
            if code == _SYSCALL and err == errno.EINTR and not self.lib.ERR_peek_error():
                continue
            break
        if code == _ZERO:
            raise O.HandshakeFailed("connection closed (wrong version number?)")
        if code in (_WANT_READ, _WANT_WRITE, _CONNECT, _X509):
            raise O.HandshakeFailed("nonblocking operation did not complete")
        if code == _SYSCALL:
            raise O.HandshakeFailed(self._syscall_text(func, ret, err))
        if code == _SSL:
            texts = _errors() or ["unknown error"]
            then = []
            if func == "SSL_connect" and self.conn.get_peer_certificate() is None and \
                    self.conn.get_context().get_verify_mode():
                then.append("no peer certificate")
            raise O.HandshakeFailed(f"{func}(): {texts[0]}", then)
        raise O.HandshakeFailed("unknown error")

    # data -----------------------------------------------------------------------
    def pending(self) -> bool:
        return self.lib.SSL_pending(self.ssl) > 0

    def read(self, n: int):
        buf = self.ffi.new("char[]", n)
        ret, code, err = self._call(self.lib.SSL_read, buf, n)
        if ret > 0:
            return self.ffi.buffer(buf, ret)[:]
        if ret == 0:
            _errors()
            return b""          # close_notify (or an alert): socat's EOF
        if code in (_WANT_READ, _WANT_WRITE, _CONNECT, _X509):
            LOG.info("nonblocking operation did not complete")
            raise BlockingIOError(errno.EAGAIN, "nonblocking operation did not complete")
        if code == _ZERO:
            raise SocatError("connection closed by peer")
        if code == _SYSCALL:
            raise SocatError(self._syscall_text("SSL_read", ret, err))
        if code == _SSL:
            raise _fail("SSL_read")
        raise SocatError("unknown error")

    def write(self, data) -> int:
        """One record per socat-sized piece: the relay's stream steps may be
        larger than socat's 8192 bytes, a DTLS record may not exceed 16384."""
        view = memoryview(data)
        total = len(view)
        while view:
            self._write(bytes(view[:self.record]))
            view = view[self.record:]
        return total

    def _write(self, data: bytes) -> int:
        ret, code, err = self._call(self.lib.SSL_write, data, len(data))
        if ret > 0:
            return ret
        if code == _ZERO:
            raise SocatError("connection closed by peer")
        if code in (_WANT_READ, _WANT_WRITE, _CONNECT, _X509):
            raise SocatError("nonblocking operation did not complete")
        if code == _SYSCALL:
            raise SocatError(self._syscall_text("SSL_write", ret, err))
        if code == _SSL:
            raise _fail("SSL_write")
        raise SocatError("unknown error")

    # end --------------------------------------------------------------------------
    def _close_notify(self, warn: bool = True) -> None:
        if self.sent_close:
            return
        self.sent_close = True
        rc = self.lib.SSL_shutdown(self.ssl)
        _errors()
        if rc < 0 and warn:
            LOG.warn(f"xioshutdown_openssl(): SSL_shutdown() -> {rc}")

    def shutdown_write(self) -> None:
        if self.shut is not None:
            super().shutdown_write()
            return
        self._close_notify()
        if self.wronly:
            # socat: "give peer time to read all data before closing socket"
            try:
                self.read(1)
            except (BlockingIOError, SocatError, OSError):
                pass

    close = O.TLSEndpoint.close      # xioclose(): SSL_shutdown() quietly, then close


class _DTLS(O.Kind):
    socktype, proto = _DGRAM, _UDP
    backend = DTLSBackend

    def client_endpoint(self, sock, spec, sslctx, no_sni, snihost, them):
        local = None
        try:
            local = S.sockaddr_of(sock)
        except OSError:
            pass
        sni = O.sni_for(no_sni, snihost)
        if sni is not None and O.is_ip_address(sni):
            sni = None              # as Python's ssl does (OPENSSL): no SNI for an address
        return DTLSEndpoint(sock, spec.raw, sslctx, False, sni, peer=them, local=local)

    def server_endpoint(self, sock, spec, sslctx, peer, local):
        return DTLSEndpoint(sock, spec.raw, sslctx, True, peer=peer, local=local)

    def acceptor(self, ctx, opts, params):
        from .udp import listen_connected
        return lambda: listen_connected(ctx, opts, params, socket.AF_UNSPEC, sync=True)


DTLS = _DTLS()


def open_client(ctx, row, spec, opts, params):
    return O.open_connect(ctx, row, spec, opts, params, DTLS)


def open_server(ctx, row, spec, opts, params):
    return O.open_listen(ctx, row, spec, opts, params, DTLS)


_C = "FD,SOCKET,CHILD,RETRY,IP4,IP6,UDP,OPENSSL"
_L = "FD,SOCKET,LISTEN,CHILD,RETRY,RANGE,IP4,IP6,UDP,OPENSSL"
address("openssl-dtls-client", ":<host>:<port>", _C, open_client, "OPENSSL",
        "DTLS client: DTLS over UDP to a DTLS server (verifies its certificate by default)",
        aliases=("dtls", "dtls-c", "dtls-client", "dtls-connect", "openssl-dtls-connect"),
        nparams=(0, 99), transport="stream")
address("openssl-dtls-server", ":<port>", _L, open_server, "OPENSSL",
        "DTLS server: wait for a UDP peer, connect to it and do the DTLS handshake",
        aliases=("dtls-l", "dtls-listen", "dtls-server", "openssl-dtls-listen"),
        nparams=(0, 99), transport="stream")
