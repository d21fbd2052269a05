"""mTLS: clients identified by their certificate (SPEC section 2)."""

import http.client
import os
import shutil
import ssl
import tempfile

import pytest

import harness
from harness import fields_for


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="mod_verify-pki-")
    os.chmod(d, 0o755)
    harness.make_ca(d, "ca", "mod_verify test CA")
    harness.make_ca(d, "rogue", "some other CA")
    out = {"dir": d, "ca": os.path.join(d, "ca.crt")}
    for name, cn, ca, server in (("server", "127.0.0.1", "ca", True),
                                 ("client", "testsys client", "ca", False),
                                 ("other", "unregistered client", "ca",
                                  False),
                                 ("stranger", "stranger", "rogue", False)):
        out[name] = harness.make_cert(d, name, cn, ca=ca, server=server)
    yield out
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def tserver(pki):
    fp = harness.cert_sha256(pki["client"][0])
    clients = [
        "tlssys ip=127.0.0.1 checks=resident,indigenous "
        "approval=APP-2026-010 valid=2020-01-01..2099-12-31 "
        "cert-sha256=" + fp,
    ]
    s = harness.Server(mpm="event", clients=clients, tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["client"][0], "probe_key": pki["client"][1]})
    # the certificate from another CA, refused on purpose below
    s.expect_log(r"\[ssl:error\].*AH02039: Certificate Verification: "
                 r"Error \(20\): unable to get local issuer")
    gen = harness.People()
    s.people = gen.batch(8)
    s.import_household(s.people)
    try:
        s.start()
    except BaseException:
        s.cleanup()
        raise
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def context(pki, cert=None, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    if cert:
        ctx.load_cert_chain(*pki[cert])
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def verify_lines(s):
    return [ln for ln in s.audit_lines() if ln.get("op") == "verify"]


@pytest.mark.parametrize("version", [None, ssl.TLSVersion.TLSv1_2])
def test_registered_certificate_is_answered(tserver, pki, version):
    s = tserver
    p = next(q for q in s.people if q.indigenous)
    r = s.post(fields_for(p, check="resident,indigenous"),
               context=context(pki, "client", version))
    assert r.status == 200, r
    assert r.json["results"] == {"resident": True, "indigenous": True}
    a = s.audit_for(r.json["request_id"])
    assert len(a) == 1
    assert a[0]["client"] == "tlssys"
    assert a[0]["ip"] == "127.0.0.1"


@pytest.mark.parametrize("version", [None, ssl.TLSVersion.TLSv1_2])
@pytest.mark.parametrize("cert", [None, "stranger"])
def test_refused_at_tls_layer(tserver, pki, cert, version):
    """No client certificate, or one from another CA: no HTTP at all."""
    s = tserver
    before = len(verify_lines(s))
    with pytest.raises((ssl.SSLError, ConnectionError,
                        http.client.RemoteDisconnected)):
        r = s.post(fields_for(s.people[0]),
                   context=context(pki, cert, version))
        pytest.fail("answered without a valid client certificate: %r" % r)
    assert len(verify_lines(s)) == before


def test_unregistered_certificate(tserver, pki):
    s = tserver
    r = s.post(fields_for(s.people[0], case="tls-other"),
               context=context(pki, "other"))
    assert r.status == 403, r
    assert r.json["error"] == "unknown_client"
    a = s.audit_for(r.json["request_id"])
    assert len(a) == 1 and a[0]["client"] is None
    assert "results" not in a[0].obj


def test_registered_certificate_from_other_address(tserver, pki):
    """The certificate alone is not enough: the address must match too."""
    s = tserver
    r = s.post(fields_for(s.people[0], case="tls-wrong-ip"),
               context=context(pki, "client"),
               source_address=("127.0.0.2", 0))
    assert r.status == 403, r
    assert r.json["error"] == "unknown_client"
    a = s.audit_for(r.json["request_id"])
    assert len(a) == 1 and a[0]["ip"] == "127.0.0.2"


def test_plain_http_on_tls_port_is_refused(tserver):
    s = tserver
    before = len(verify_lines(s))
    r = harness.request(s.port, "POST", "/verify", body=b"id=x",
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
    assert r.status == 400, r        # mod_ssl: "speaking plain HTTP"
    assert len(verify_lines(s)) == before
