"""The two OpenSSL knobs Python's ``ssl`` module does not expose (socat 1.8's
openssl-maxfraglen and openssl-maxsendfrag), set on the context's own SSL_CTX.

CPython's ``_ssl`` links the system libssl dynamically and keeps the SSL_CTX
pointer right after the object header of an ``ssl.SSLContext``; loading the same
libssl by its soname gives the same library, so the call acts on that context.
Where the interpreter is built otherwise (static OpenSSL, another libssl), the
options are refused with a clear error rather than silently ignored.
"""
import ctypes
import sys

from ..errors import SocatError

SSL3_RT_MAX_PLAIN_LENGTH = 16384
_SSL_CTRL_SET_MAX_SEND_FRAGMENT = 52
# TLSEXT_max_fragment_length_512 .. _4096
MFL_CODES = {512: 1, 1024: 2, 2048: 3, 4096: 4}
MFL_LENGTHS = {v: k for k, v in MFL_CODES.items()}

_lib = None


def _libssl():
    """libssl as ``_ssl`` loaded it, or None when that cannot be made sure."""
    global _lib
    if _lib is None:
        _lib = False
        import ssl
        try:
            path = _loaded_libssl()
            if path:
                lib = ctypes.CDLL(path)
                lib.OpenSSL_version.restype = ctypes.c_char_p
                lib.OpenSSL_version.argtypes = [ctypes.c_int]
                if lib.OpenSSL_version(0).decode() == ssl.OPENSSL_VERSION:
                    lib.SSL_CTX_ctrl.restype = ctypes.c_long
                    lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long,
                                                 ctypes.c_void_p]
                    lib.SSL_CTX_set_tlsext_max_fragment_length.argtypes = [ctypes.c_void_p,
                                                                           ctypes.c_uint8]
                    lib.SSL_get_SSL_CTX.restype = ctypes.c_void_p
                    lib.SSL_get_SSL_CTX.argtypes = [ctypes.c_void_p]
                    lib.SSL_get_session.restype = ctypes.c_void_p
                    lib.SSL_get_session.argtypes = [ctypes.c_void_p]
                    lib.SSL_SESSION_get_max_fragment_length.restype = ctypes.c_uint8
                    lib.SSL_SESSION_get_max_fragment_length.argtypes = [ctypes.c_void_p]
                    _lib = lib
        except (OSError, AttributeError):
            pass
    return _lib or None


def _loaded_libssl():
    """The libssl file mapped into this process (the one ``_ssl`` uses)."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.rsplit(None, 1)[-1]
                if "/libssl.so" in path:
                    return path
    except OSError:
        pass
    return None


_SSL_CTRL_GET_MIN_PROTO_VERSION = 130


def _head() -> int:
    """The size of PyObject_HEAD (a debug build has two more pointers)."""
    n = 4 if hasattr(sys, "gettotalrefcount") else 2
    return n * ctypes.sizeof(ctypes.c_void_p)


def _ctx_pointer(lib, ctx):
    """SSL_CTX * of an ssl.SSLContext (the first field after PyObject_HEAD), checked:
    the minimum protocol version libssl reports there is the context's."""
    ptr = ctypes.c_void_p.from_address(id(ctx) + _head()).value
    if not ptr:
        return None
    want = ctx.minimum_version.value
    got = lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_GET_MIN_PROTO_VERSION, 0, None)
    return ptr if got == want or (want < 0 and got == 0) else None


def _ctx_of(ctx, option: str) -> tuple:
    """(libssl, SSL_CTX *), or socat-style refusal when they cannot be reached."""
    lib = _libssl()
    ptr = _ctx_pointer(lib, ctx) if lib else None
    if ptr is None:
        raise SocatError(f"openssl: option {option} needs Python's ssl module linked "
                         "against the system libssl, which this interpreter is not")
    return lib, ptr


def apply_fragment_options(ctx, opts, server: bool, setters=None) -> None:
    """socat's end of _xioopen_openssl_prepare(): maxfraglen (client only),
    then maxsendfrag, with socat's checks and messages. ``setters``: two
    functions (max fragment length code, max send fragment) for a context
    that is not Python's (DTLS, addresses/dtls.py)."""
    maxfraglen = opts.get("openssl-maxfraglen")
    if maxfraglen is not None:
        if server:
            raise SocatError("openssl: maxfraglen option not applicable to a server")
        code = MFL_CODES.get(maxfraglen)
        if code is None:
            raise SocatError(f"openssl: maxfraglen {maxfraglen} is not one of 512, 1024, "
                             "2048, or 4096")
        if setters is not None:
            setters[0](code)
        else:
            lib, ptr = _ctx_of(ctx, "maxfraglen")
            lib.SSL_CTX_set_tlsext_max_fragment_length(ptr, code)
    maxsendfrag = opts.get("openssl-maxsendfrag")
    if maxsendfrag is not None:
        if not 512 <= maxsendfrag <= SSL3_RT_MAX_PLAIN_LENGTH:
            # socat's message shows the lower bound where the value was meant
            raise SocatError(f"openssl: maxsendfrag 512 out of range 512 - "
                             f"{SSL3_RT_MAX_PLAIN_LENGTH}")
        if setters is not None:
            setters[1](maxsendfrag)
        else:
            lib, ptr = _ctx_of(ctx, "maxsendfrag")
            lib.SSL_CTX_ctrl(ptr, _SSL_CTRL_SET_MAX_SEND_FRAGMENT, maxsendfrag, None)


def negotiated_fragment_length(sslobj):
    """The max fragment length the session agreed on (0: none), or None when
    libssl cannot be reached. ``sslobj`` is an ssl.SSLObject."""
    lib = _libssl()
    inner = getattr(sslobj, "_sslobj", None)       # the _ssl._SSLSocket
    if lib is None or inner is None:
        return None
    # PySSLSocket: PyObject_HEAD, PyObject *Socket, SSL *ssl; checked by its SSL_CTX
    ssl_ptr = ctypes.c_void_p.from_address(id(inner) + _head()
                                           + ctypes.sizeof(ctypes.c_void_p)).value
    if not ssl_ptr or lib.SSL_get_SSL_CTX(ssl_ptr) != _ctx_pointer(lib, sslobj.context):
        return None
    session = lib.SSL_get_session(ssl_ptr)
    if not session:
        return None
    return MFL_LENGTHS.get(lib.SSL_SESSION_get_max_fragment_length(session), 0)
