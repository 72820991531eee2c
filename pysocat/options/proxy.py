"""Options of the proxy clients: HTTP (PROXY) and SOCKS4 (SOCKS4, SOCKS4A).

All are read by addresses/proxy.py.
"""
from .table import opt

opt("proxyport", "STRING", "HTTP", "LATE", ("addr",), "port of the HTTP proxy (default 8080)")
opt("ignorecr", "BOOL", "HTTP", "LATE", ("addr",), "proxy answer lines may end with LF only")
opt("http-version", "STRING", "HTTP", "LATE", ("addr",),
    "the HTTP version of the CONNECT request (default 1.0)", since="1.8")
opt("proxy-resolve", "BOOL", "HTTP", "LATE", ("addr",),
    "resolve the target here and send its IPv4 address", ("resolve", "resolv"), nick="resolve")
opt("proxy-authorization", "STRING", "HTTP", "LATE", ("addr",),
    "user:password for Proxy-authorization: Basic", ("proxyauth", "proxy-auth"), nick="proxyauth")
opt("proxy-authorization-file", "STRING", "HTTP", "LATE", ("addr",),
    "file holding user:password for the proxy", ("proxyauthfile",), nick="proxyauthfile")
opt("socksport", "STRING", "SOCKS4", "LATE", ("addr",), "port of the SOCKS server (default socks/1080)")
opt("socksuser", "STRING", "SOCKS4", "LATE", ("addr",), "user id sent to the SOCKS server")
opt("sockspass", "STRING", "SOCKS4", "LATE", ("addr",),
    "password for the SOCKS5 server (user/password authentication)", since="1.8")
