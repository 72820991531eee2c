"""Run one command beside a DnsServer and a TCP sink, report what happened as JSON.

Used inside a private network namespace by tests/test_resolver16.py:
``python dns_driver.py '<json>'`` with keys argv (``{dns}`` becomes the
server's host:port, ``{sink}`` the sink's port), records, mode, dns_port,
sink_port, input. Prints rc, stderr, queries, accepts, received, elapsed.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dnsserver import DnsServer  # noqa: E402


def main():
    cfg = json.loads(sys.argv[1])
    received = []
    sink = socket.socket()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sink.bind(("127.0.0.1", cfg.get("sink_port", 4242)))
    sink.listen(4)
    sink.settimeout(30)

    def serve():
        try:
            c, _ = sink.accept()
            c.settimeout(10)
            data = b""
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            received.append(data.decode("latin-1"))
            c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    with DnsServer(cfg.get("records"), cfg.get("mode", "answer"),
                   port=cfg.get("dns_port", 53)) as d:
        argv = [a.replace("{dns}", d.addr).replace("{sink}", str(sink.getsockname()[1]))
                for a in cfg["argv"]]
        t0 = time.monotonic()
        r = subprocess.run(argv, input=cfg.get("input", "").encode(), capture_output=True,
                           timeout=60)
        elapsed = time.monotonic() - t0
        t.join(2)
        out = {"rc": r.returncode, "stderr": r.stderr.decode(errors="replace"),
               "stdout": r.stdout.decode(errors="replace"), "queries": d.queries,
               "accepts": d.accepts, "received": received, "elapsed": elapsed}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
