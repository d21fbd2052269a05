"""TLS material for the tests: a throw-away CA and the server and client
certificates it signs (through the openssl command), certificates with
chosen dates or for a key certified before (`openssl ca`), and the
SHA-256 fingerprint and public-key hash a VerifyClient line names a
certificate by (the openssl pipelines admin-guide.md shows); and the CMS
batches a data provider sends (signed, then encrypted to the county),
with the PKI they need."""

import atexit
import contextlib
import datetime
import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile

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


# -- batches as the data provider sends them (CMS) ----------------------
#
# The data provider signs the CSV with its certificate (CMS SignedData,
# content attached, with a signing time) and encrypts the result to the
# county's import certificate (CMS EnvelopedData), with the openssl
# command line, as data-formats.md §1 shows. RSA and S/MIME usage, as
# the demo makes them.

PROVIDER_SUBJECT = ("/O=Test Civil Affairs/CN=Test Household "
                    "Registration Office")
IMPORT_SUBJECT = "/O=Test County/CN=Test verify import"


def openssl(*args, cwd, stdin=None):
    """Run the openssl command; the CompletedProcess, or an assertion
    naming its error."""
    res = subprocess.run(["openssl"] + list(args), cwd=cwd,
                         capture_output=True, env=CLEAN_ENV, timeout=60,
                         input=stdin)
    assert res.returncode == 0, ("openssl %s failed:\n%s" % (
        " ".join(args), res.stderr.decode(errors="replace")))
    return res


def new_ca(d, name, cn):
    """A CA (RSA 2048) named /O=Test PKI/CN=@cn: @name.crt, @name.key."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
            "-keyout", name + ".key", "-out", name + ".crt", "-days", "2",
            "-subj", "/O=Test PKI/CN=" + cn,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, name + ".crt")


def new_cert(d, name, subject, ca):
    """An end-entity certificate for signing and key transport (S/MIME
    usage, RSA) issued by CA @ca; (crt, key)."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("basicConstraints = CA:FALSE\n"
                "keyUsage = critical, digitalSignature, keyEncipherment\n"
                "extendedKeyUsage = emailProtection\n")
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", subject, cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".crt", cwd=d)
    os.chmod(os.path.join(d, name + ".key"), 0o600)
    return os.path.join(d, name + ".crt"), os.path.join(d, name + ".key")


def cms_sign(d, infile, crt, key, out, extra=()):
    """`openssl cms -sign -binary -nodetach` (DER): what the provider
    signs; a signing time is added, as openssl does by default."""
    openssl("cms", "-sign", "-binary", "-nodetach", "-in", infile,
            "-signer", crt, "-inkey", key, "-outform", "DER", "-out", out,
            *extra, cwd=d)
    return os.path.join(d, out)


def cms_encrypt(d, infile, recipient, out, inform="DER", outform="DER"):
    """`openssl cms -encrypt -aes-256-cbc` to certificate @recipient."""
    openssl("cms", "-encrypt", "-binary", "-aes-256-cbc", "-in", infile,
            "-inform", inform, "-outform", outform, "-out", out, recipient,
            cwd=d)
    return os.path.join(d, out)


class BatchPKI:
    """The data provider's CA and signing certificate, and the county's
    import certificate, in directory @d."""

    def __init__(self, d):
        self.dir = d
        self.provider_ca = new_ca(d, "provider-ca", "Test Provider CA")
        self.provider_crt, self.provider_key = new_cert(
            d, "provider", PROVIDER_SUBJECT, "provider-ca")
        new_ca(d, "county-ca", "Test County CA")
        self.import_crt, self.import_key = new_cert(
            d, "import", IMPORT_SUBJECT, "county-ca")

    def options(self):
        """verify-import's options for this PKI's batches."""
        return ["--decrypt-cert", self.import_crt,
                "--decrypt-key", self.import_key,
                "--signer-ca", self.provider_ca]

    def protect(self, csv_path, out=None):
        """Sign @csv_path and encrypt it to the import certificate, as
        the provider sends it: the .p7m's path (beside the CSV, which is
        left as it is; the signed middle layer is removed)."""
        d = os.path.dirname(os.path.abspath(csv_path))
        out = out or os.path.basename(csv_path) + ".p7m"
        signed = cms_sign(d, csv_path, self.provider_crt, self.provider_key,
                          out + ".signed")
        p7m = cms_encrypt(d, signed, self.import_crt, out)
        os.unlink(signed)
        return p7m


_BATCH_PKI = []


def batch_pki():
    """One BatchPKI for the whole test run (RSA keys take a while),
    removed at exit."""
    if not _BATCH_PKI:
        d = tempfile.mkdtemp(prefix="mod_verify-batch-pki-")
        atexit.register(shutil.rmtree, d, True)
        _BATCH_PKI.append(BatchPKI(d))
    return _BATCH_PKI[0]


@contextlib.contextmanager
def tls_pki(cn):
    """A temporary directory with a CA called @cn and a server
    certificate for 127.0.0.1: yields {"dir", "ca", "server"}, to which
    a test adds its clients' (crt, key) with sign_cert(); removed after."""
    d = tempfile.mkdtemp(prefix="mod_verify-pki-")
    os.chmod(d, 0o755)
    try:
        make_ca(d, "ca", cn)
        yield {"dir": d, "ca": os.path.join(d, "ca.crt"),
               "server": make_cert(d, "server", "127.0.0.1", server=True)}
    finally:
        shutil.rmtree(d, ignore_errors=True)
