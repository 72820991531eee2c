"""Options of the OPENSSL group (OPENSSL, OPENSSL-LISTEN).

All are read by addresses/openssl.py (Python's ssl module); 1.8's
openssl-maxfraglen and openssl-maxsendfrag, which that module lacks, are set on
the context's SSL_CTX by addresses/sslctx.py. openssl-fips has
no row: FIPS mode is not reachable from Python's ssl, so it is "unknown
option" rather than silently ignored. openssl-egd does what socat built
against OpenSSL 3 does (no RAND_egd there): a debug line, nothing else.
openssl-method has no row either: socat 1.7.4.4 built against OpenSSL 3 has
none.
"""
from .table import OFFSET, opt

_G, _S = "OPENSSL", "SPECIFIC"
opt("openssl-cipherlist", "STRING", _G, _S, ("addr",),
    "the OpenSSL cipher list (TLS 1.2 and older; default HIGH:-NULL:-PSK:-aNULL)",
    ("cipherlist", "ciphers", "cipher"), nick="ciphers")
_PROTO_VERSIONS = ("TLS1", "TLS1.1", "TLS1.2", "TLS1.3")
opt("openssl-min-proto-version", "STRING", _G, "INIT", ("addr",),
    "lowest protocol version: SSL3, TLS1, TLS1.1, TLS1.2, TLS1.3", ("min-version",),
    nick="min-version", choices=_PROTO_VERSIONS, help18=OFFSET,
    aliases18=("min-proto-version",))
opt("openssl-max-proto-version", "STRING", _G, "INIT", ("addr",),
    "highest protocol version: SSL3, TLS1, TLS1.1, TLS1.2, TLS1.3", ("max-version",),
    nick="max-version", choices=_PROTO_VERSIONS, help18=OFFSET,
    aliases18=("max-proto-version",))
opt("openssl-egd", "STRING", _G, _S, ("addr",),
    "socket of an entropy gathering daemon (OpenSSL 3 has no RAND_egd: "
    "'D RAND_egd() is not available by OpenSSL')", ("egd",), nick="egd")
opt("openssl-verify", "BOOL", _G, _S, ("addr",),
    "verify the peer's certificate (default 1)", ("verify",), nick="verify")
opt("openssl-certificate", "STRING", _G, _S, ("addr",),
    "PEM file with this side's certificate (and key)", ("cert", "certificate"), nick="cert")
opt("openssl-key", "STRING", _G, _S, ("addr",), "PEM file with the private key", ("key",),
    nick="key")
opt("openssl-dhparam", "STRING", _G, _S, ("addr",), "PEM file with Diffie-Hellman parameters",
    ("dh", "dhparam", "dhparams", "openssl-dhparams"), nick="dh")
opt("openssl-cafile", "STRING", _G, _S, ("addr",), "PEM file with the trusted CA certificates",
    ("cafile",), nick="cafile")
opt("openssl-capath", "STRING", _G, _S, ("addr",), "directory of trusted (hashed) CA certificates",
    ("capath",), nick="capath")
opt("openssl-pseudo", "BOOL", _G, _S, ("addr",),
    "seed the random generator with pseudo entropy if it has none", ("pseudo",), nick="pseudo")
opt("openssl-compress", "STRING", _G, _S, ("addr",),
    "compression: none or auto (OpenSSL's default)", ("compress",), nick="compress")
opt("openssl-commonname", "STRING", _G, _S, ("addr",),
    "the name the peer certificate must match (client default: the host)",
    ("cn", "commonname"), nick="cn")
opt("openssl-no-sni", "BOOL", _G, _S, ("addr",), "do not send the server name (SNI)",
    ("no-sni", "nosni"), nick="nosni")
opt("openssl-snihost", "STRING", _G, _S, ("addr",),
    "server name sent as SNI (default: commonname or the host)", ("snihost",), nick="snihost")
opt("openssl-maxfraglen", "INT", _G, _S, ("addr",),
    "client: ask the server for at most this record size, 512, 1024, 2048 or 4096 "
    "(RFC 6066 max_fragment_length)", ("maxfraglen",), nick="maxfraglen", since="1.8")
opt("openssl-maxsendfrag", "INT", _G, _S, ("addr",),
    "send TLS records of at most this many plaintext bytes (512..16384)", ("maxsendfrag",),
    nick="maxsendfrag", since="1.8")
