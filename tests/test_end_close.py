"""end-close (socat's END_CLOSE): a socket is never shut down, only closed at the end."""
import socket
import threading

import pytest

from conftest import needs_socat, run_pysocat, run_socat


def _eof_server(conns):
    """Answers each connection only after its EOF arrived."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)
    ls.settimeout(15)

    def serve():
        try:
            for _ in range(conns):
                c, _ = ls.accept()
                with c:
                    c.settimeout(15)
                    data = b""
                    while True:
                        chunk = c.recv(100)
                        if not chunk:
                            break
                        data += chunk
                    try:
                        c.sendall(b"reply to " + data)
                    except OSError:
                        pass
        except OSError:
            pass
        finally:
            ls.close()
    threading.Thread(target=serve, daemon=True).start()
    return ls.getsockname()[1]


@pytest.mark.parametrize("opts,want", [("", b"reply to req"), (",end-close", b""),
                                       (",close", b""), (",end-close,shut-down", b"reply to req")])
def test_end_close_sends_no_eof(opts, want):
    port = _eof_server(1)
    r = run_pysocat("-", f"TCP:127.0.0.1:{port}{opts}", input=b"req")
    assert r.returncode == 0, r.stderr
    assert r.stdout == want


@needs_socat
@pytest.mark.parametrize("opts", ["", ",end-close"])
def test_end_close_like_socat(opts):
    outs = []
    for run in (run_pysocat, run_socat):
        port = _eof_server(1)
        r = run("-", f"TCP:127.0.0.1:{port}{opts}", input=b"req")
        outs.append((r.returncode, r.stdout))
    assert outs[0] == outs[1]
