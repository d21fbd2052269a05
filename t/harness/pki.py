"""TLS material for the tests: a throw-away CA and the server and client
certificates it signs (through the openssl command), and the SHA-256
fingerprint a VerifyClient line names a certificate by."""

import hashlib
import os
import ssl
import subprocess

from .env import CLEAN_ENV


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), check=True, cwd=cwd,
                   capture_output=True, env=CLEAN_ENV, timeout=60)


def make_ca(d, name="ca", cn="mod_verify test CA"):
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
             "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def make_cert(d, name, cn, ca="ca", server=False):
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\n")
        if server:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                    "extendedKeyUsage=serverAuth\n"
                    "keyUsage=digitalSignature\n")
        else:
            f.write("extendedKeyUsage=clientAuth\n"
                    "keyUsage=digitalSignature\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
             "-subj", "/CN=" + cn, cwd=d)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
             "-CAkey", ca + ".key", "-CAcreateserial", "-out", name + ".crt",
             "-days", "2", "-extfile", ext, cwd=d)
    for f in (name + ".key", name + ".crt"):
        os.chmod(os.path.join(d, f), 0o644 if f.endswith(".crt") else 0o600)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def cert_sha256(path):
    der = ssl.PEM_cert_to_DER_cert(open(path).read())
    return hashlib.sha256(der).hexdigest()
