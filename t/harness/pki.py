"""TLS material for the tests: a throw-away CA and the server and client
certificates it signs (through the openssl command), certificates with
chosen dates or for a key certified before (`openssl ca`), and the
SHA-256 fingerprint and public-key hash a VerifyClient line names a
certificate by (the openssl pipelines admin-guide.md shows)."""

import datetime
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


def _write_ext(d, name, server):
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
    return ext


def make_cert(d, name, cn, ca="ca", server=False):
    ext = _write_ext(d, name, server)
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


# `openssl ca` takes explicit dates (OpenSSL 3.0's `x509 -req` takes only
# -days from now); each CA keeps its database beside its files in d
_CA_CNF = """[ca]
default_ca = c
[c]
dir = .
database = {ca}.index
new_certs_dir = {ca}.issued
serial = {ca}.serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
"""


def _stamp(t):
    return t.astimezone(datetime.timezone.utc).strftime("%Y%m%d%H%M%SZ")


def sign_cert(d, name, cn, start, end, ca="ca", key=None, server=False):
    """A certificate NAME.crt valid from @start to @end (aware datetimes)
    for a new P-256 key NAME.key, or for the existing key file @key (a
    certificate re-issued for the same key); returns (crt, key)."""
    cnf = os.path.join(d, ca + ".cnf")
    if not os.path.exists(cnf):
        os.mkdir(os.path.join(d, ca + ".issued"))
        open(os.path.join(d, ca + ".index"), "w").close()
        with open(os.path.join(d, ca + ".serial"), "w") as f:
            f.write("1000\n")
        with open(cnf, "w") as f:
            f.write(_CA_CNF.format(ca=ca))
    ext = _write_ext(d, name, server)
    if key is None:
        key = os.path.join(d, name + ".key")
        _openssl("req", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", name + ".csr", "-subj", "/CN=" + cn, cwd=d)
        os.chmod(key, 0o600)
    else:
        _openssl("req", "-new", "-key", key, "-out", name + ".csr",
                 "-subj", "/CN=" + cn, cwd=d)
    _openssl("ca", "-batch", "-notext", "-config", cnf, "-cert",
             ca + ".crt", "-keyfile", ca + ".key", "-in", name + ".csr",
             "-out", name + ".crt", "-extfile", ext,
             "-startdate", _stamp(start), "-enddate", _stamp(end), cwd=d)
    crt = os.path.join(d, name + ".crt")
    os.chmod(crt, 0o644)
    return crt, key


def spki_sha256(path):
    """SHA-256 of the certificate's public key (DER SubjectPublicKeyInfo),
    by the commands admin-guide.md gives the admin."""
    res = subprocess.run(
        ["sh", "-c", "openssl x509 -in \"$1\" -noout -pubkey "
         "| openssl pkey -pubin -outform DER | sha256sum", "sh", path],
        check=True, capture_output=True, text=True, env=CLEAN_ENV,
        timeout=60)
    return res.stdout.split()[0]
