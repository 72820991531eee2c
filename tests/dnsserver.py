"""A tiny DNS server for the res-* option tests: UDP and TCP on one loopback port.

``DnsServer(records={"web.pysocat.test": ["127.0.0.1", "::1"]})`` answers A and
AAAA questions for the names it knows (NXDOMAIN otherwise) and records every
question it sees in ``queries`` as ``(transport, name, type, rd)`` and counts
the TCP connections it accepts in ``accepts``. ``mode``:
"answer"; "silent" (reads and never answers: a resolver must time out);
"truncate" (a UDP answer has TC set and no records, so a resolver asks again
over TCP unless it ignores truncation). Run it as a context manager; nothing
it does leaves loopback.
"""
import select
import socket
import threading
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self, records=None, mode="answer", host="127.0.0.1", port=0):
        self.records = {k.rstrip(".").lower(): v for k, v in (records or {}).items()}
        self.mode = mode
        self.queries = []
        self.accepts = 0
        self._stop = threading.Event()
        for _ in range(50):
            self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.udp.bind((host, port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                self.udp.close()
                self.tcp.close()
                if port:
                    raise
        self.tcp.listen(8)
        self.addr = f"{host}:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.udp.close()
        self.tcp.close()
        return False

    def wait_queries(self, n=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while len(self.queries) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.queries

    # ------------------------------------------------------------------
    def _answer(self, wire, transport):
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None
        if not q.question:
            return None
        rr = q.question[0]
        name = rr.name.to_text().rstrip(".").lower()
        self.queries.append((transport, name, dns.rdatatype.to_text(rr.rdtype),
                             bool(q.flags & dns.flags.RD)))
        if self.mode == "silent":
            return None
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        if self.mode == "truncate" and transport == "udp":
            r.flags |= dns.flags.TC
            return r.to_wire()
        if name not in self.records:
            r.set_rcode(dns.rcode.NXDOMAIN)
            return r.to_wire()
        want = {dns.rdatatype.A: ".", dns.rdatatype.AAAA: ":"}.get(rr.rdtype)
        addrs = [a for a in self.records[name] if want and want in a]
        if addrs:
            r.answer.append(dns.rrset.from_text(rr.name, 60, "IN",
                                                dns.rdatatype.to_text(rr.rdtype), *addrs))
        return r.to_wire()

    def _serve(self):
        conns = []
        while not self._stop.is_set():
            rl, _, _ = select.select([self.udp, self.tcp] + conns, [], [], 0.05)
            for s in rl:
                if s is self.udp:
                    try:
                        wire, peer = self.udp.recvfrom(65535)
                    except OSError:
                        continue
                    out = self._answer(wire, "udp")
                    if out is not None:
                        self.udp.sendto(out, peer)
                elif s is self.tcp:
                    c, _ = self.tcp.accept()
                    self.accepts += 1
                    conns.append(c)
                else:
                    data = self._read_tcp(s)
                    if data is None:
                        conns.remove(s)
                        s.close()
                        continue
                    out = self._answer(data, "tcp")
                    if out is not None:
                        s.sendall(len(out).to_bytes(2, "big") + out)
        for c in conns:
            c.close()

    @staticmethod
    def _read_tcp(s):
        s.settimeout(2)
        try:
            head = s.recv(2)
            if len(head) < 2:
                return None
            n = int.from_bytes(head, "big")
            data = b""
            while len(data) < n:
                chunk = s.recv(n - len(data))
                if not chunk:
                    return None
                data += chunk
            return data
        except OSError:
            return None
