"""A small SOCKS5 server (RFC 1928, user/password per RFC 1929) on loopback, for tests.

It does not connect anywhere: after a successful CONNECT (or BIND, with its
second reply) it echoes what the client sends, like socat's
socks5server-echo.sh. What each client sent is kept in ``requests`` (the
method list, user, password, command, address type, address, port) so tests
can check the bytes the client put on the wire. ``behaviour`` bends the
answers to provoke the client's error paths:

  method=N        the method chosen in the server hello (0xff: none acceptable)
  hello_version=N the version byte of the server hello
  auth_status=N   the status of the user/password reply (0: success)
  reply=N         the reply code of the (first) request reply
  reply_version=N the version byte of the request reply
  second_reply=N  the reply code of BIND's second reply
  atyp=N          the address type of the replies (1, 3, 4 or anything)
  close_after=S   close the connection after stage S ("hello", "auth", "request")
  bind_delay=F    seconds before BIND's second reply

Usage in a test::

    with Socks5Server() as srv:
        ... SOCKS5:127.0.0.1:{srv.port}:127.0.0.1:80 ...
        assert srv.requests[0]["cmd"] == 1

As a program (for trying by hand): ``python3 tests/socks5server.py [port]``.
"""
from __future__ import annotations

import socket
import struct
import sys
import threading


def _recv_exact(conn, n):
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise EOFError
        out += chunk
    return out


class Socks5Server:
    def __init__(self, host="127.0.0.1", port=0, **behaviour):
        self.behaviour = behaviour
        self.requests: list[dict] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        for t in self._threads:
            t.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._session, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _reply(self, code, version=5):
        atyp = self.behaviour.get("atyp", 1)
        if atyp == 1:
            addr = socket.inet_aton("127.0.0.1")
        elif atyp == 4:
            addr = socket.inet_pton(socket.AF_INET6, "::1")
        elif atyp == 3:
            addr = b"\x09localhost"
        else:
            addr = b""
        return bytes([version, code, 0, atyp]) + addr + struct.pack("!H", 4321)

    def _session(self, conn):
        b = self.behaviour
        rec: dict = {}
        self.requests.append(rec)
        conn.settimeout(10)
        try:
            with conn:
                ver, nmethods = _recv_exact(conn, 2)
                rec["version"] = ver
                rec["methods"] = list(_recv_exact(conn, nmethods))
                if b.get("close_after") == "greeting":
                    return
                if "method" in b:
                    method = b["method"]
                else:
                    method = 2 if 2 in rec["methods"] else 0
                conn.sendall(bytes([b.get("hello_version", 5), method]))
                if b.get("close_after") == "hello" or method == 0xFF:
                    return
                if method == 2:
                    aver, ulen = _recv_exact(conn, 2)
                    rec["auth_version"] = aver
                    rec["user"] = _recv_exact(conn, ulen).decode("latin-1")
                    plen = _recv_exact(conn, 1)[0]
                    rec["password"] = _recv_exact(conn, plen).decode("latin-1")
                    status = b.get("auth_status", 0)
                    conn.sendall(bytes([1, status]))
                    if b.get("close_after") == "auth" or status != 0:
                        return
                ver, cmd, rsv, atyp = _recv_exact(conn, 4)
                rec.update(req_version=ver, cmd=cmd, reserved=rsv, atyp=atyp)
                if atyp == 1:
                    rec["addr"] = socket.inet_ntoa(_recv_exact(conn, 4))
                elif atyp == 4:
                    rec["addr"] = socket.inet_ntop(socket.AF_INET6, _recv_exact(conn, 16))
                elif atyp == 3:
                    n = _recv_exact(conn, 1)[0]
                    rec["addr"] = _recv_exact(conn, n).decode("latin-1")
                rec["port"] = struct.unpack("!H", _recv_exact(conn, 2))[0]
                if b.get("close_after") == "request":
                    return
                code = b.get("reply", 0)
                conn.sendall(self._reply(code, b.get("reply_version", 5)))
                if code != 0:
                    return
                if cmd == 2:
                    if self._stop.wait(b.get("bind_delay", 0.2)):
                        return
                    second = b.get("second_reply", 0)
                    conn.sendall(self._reply(second))
                    if second != 0:
                        return
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    conn.sendall(data)
                try:
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
        except (EOFError, OSError):
            pass


if __name__ == "__main__":
    srv = Socks5Server(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(srv.port, flush=True)
    with srv:
        try:
            srv._thread.join()
        except KeyboardInterrupt:
            pass
