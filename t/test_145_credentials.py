"""credential_expired (SPEC section 3): mod_ssl refuses an expired
client certificate at the handshake, but a keep-alive connection can
outlive its certificate; the register's binding then refuses it."""

import datetime
import http.client
import os
import time
import shutil
import ssl
import subprocess
import tempfile

import pytest

import harness
from harness import fields_for

CA_CNF = """[ca]
default_ca = c
[c]
dir = .
database = index.txt
new_certs_dir = newcerts
serial = serial
default_md = sha256
policy = p
copy_extensions = none
[p]
commonName = supplied
"""


LIFE = 4       # seconds the short-lived certificate has left


def stamp(offset):
    t = datetime.datetime.now(datetime.timezone.utc) \
        + datetime.timedelta(seconds=offset)
    return t.strftime("%Y%m%d%H%M%SZ")


def openssl(*args, cwd):
    res = subprocess.run(["openssl"] + list(args), cwd=cwd,
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    return res


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="mod_verify-pki-")
    os.chmod(d, 0o755)
    try:
        harness.make_ca(d, "ca", "credentials test CA")
        out = {"dir": d, "ca": os.path.join(d, "ca.crt")}
        out["server"] = harness.make_cert(d, "server", "127.0.0.1",
                                          server=True)
        # a client certificate that expires a few seconds from now,
        # signed by `openssl ca` (which, unlike `openssl x509`, takes
        # explicit dates)
        os.mkdir(os.path.join(d, "newcerts"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write(CA_CNF)
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:P-256", "-nodes", "-keyout", "old.key",
                "-out", "old.csr", "-subj", "/CN=old client", cwd=d)
        openssl("ca", "-batch", "-notext", "-config", "ca.cnf",
                "-cert", "ca.crt",
                "-keyfile", "ca.key", "-in", "old.csr", "-out", "old.crt",
                "-startdate", stamp(-3600), "-enddate", stamp(LIFE), cwd=d)
        os.chmod(os.path.join(d, "old.crt"), 0o644)
        out["old"] = (os.path.join(d, "old.crt"), os.path.join(d, "old.key"))
        yield out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def context(pki, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    ctx.load_cert_chain(*pki[cert])
    return ctx


def post(conn, fields):
    body, ctype = harness.encode_body(fields, "form")
    conn.request("POST", "/verify", body=body,
                 headers={"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    return harness.Response(r.status, r.reason,
                            {k.lower(): v for k, v in r.getheaders()}, data)


def test_certificate_expiring_on_a_keepalive_connection(make_server, pki):
    expires = time.time() + LIFE
    clients = [
        "shortlived ip=127.0.0.1 checks=resident approval=APP-C-2 "
        "valid=2020-01-01..2099-12-31 cert-sha256="
        + harness.cert_sha256(pki["old"][0]),
    ]
    s = make_server(clients=clients, tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["old"][0], "probe_key": pki["old"][1]},
        extra_conf="KeepAlive On\nKeepAliveTimeout 60\n")
    gen = harness.People()
    people = gen.batch(3)
    s.import_household(people)
    s.start()
    assert time.time() < expires - 1, "set-up took too long"

    conn = http.client.HTTPSConnection("127.0.0.1", s.port, timeout=30,
                                       context=context(pki, "old"))
    try:
        r = post(conn, fields_for(people[0], case="LIVE-1"))
        assert r.status == 200, r
        assert r.json["results"] == {"resident": True}
        time.sleep(max(0, expires - time.time()) + 1.5)
        # the same TLS connection, now with an expired certificate
        r = post(conn, fields_for(people[0], case="LIVE-2"))
    finally:
        conn.close()
    assert r.status == 403, r
    assert r.json["error"] == "credential_expired"
    assert "results" not in r.json
    line = [l for l in harness.read_audit(s.audit)
            if l.get("request_id") == r.json["request_id"]][0]
    assert line["client"] == "shortlived" and line["status"] == 403
    assert line["error"] == "credential_expired"
    assert line["case"] == "LIVE-2" and "results" not in line.obj
