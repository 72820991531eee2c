"""Test certificates made with the openssl command: two CAs, a server
certificate for localhost and a client certificate, signed by the first CA
(the OPENSSL and DTLS tests share one set per test session)."""
import shutil
import subprocess

OPENSSL = shutil.which("openssl")


def openssl_cmd(*args, cwd):
    subprocess.run([OPENSSL] + list(args), cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(d) -> dict:
    """{"ca", "ca2", "server", "client"}: paths of PEM files (key and certificate)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "ca2"):
        openssl_cmd("req", "-x509", *ec, "-keyout", f"{ca}.key", "-out", f"{ca}.pem", "-days", "2",
             "-subj", f"/CN=Test {ca}", cwd=d)
    for name, cn in (("server", "localhost"), ("client", "client")):
        openssl_cmd("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
             "-subj", f"/C=XY/O=pysocat test/CN={cn}", cwd=d)
        openssl_cmd("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", cwd=d)
        with open(d / f"{name}.pem", "wb") as f:
            f.write((d / f"{name}.key").read_bytes() + (d / f"{name}.crt").read_bytes())
    return {k: str(d / f"{k}.pem") for k in ("ca", "ca2", "server", "client")}
