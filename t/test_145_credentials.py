"""credential_expired (SPEC section 3): mod_ssl refuses an expired
client certificate at the handshake, but a keep-alive connection can
outlive its certificate; the register's binding then refuses it. And
the age of a credential (R3.5, issue 9 item 1): VerifyMaxCredentialAge
from the certificate's notBefore, the Verify-Warning header near any
limit, and the error log's notice once per client and day."""

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
from conftest import MPMS
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


# -- credential age and warnings (issue 9 item 1; R3.5) -----------------

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
TODAY = harness.today_taipei()
APPROVAL_END = TODAY + datetime.timedelta(days=3)
# certificates made at NOW; the limits are judged a little later
AGING = {
    # name: (notBefore, notAfter, last approved day)
    "calm": (NOW - DAY, NOW + 200 * DAY, None),
    "agewarn": (NOW - 80 * DAY, NOW + 200 * DAY, None),
    "expwarn": (NOW - DAY, NOW + 5 * DAY, None),
    "apprwarn": (NOW - DAY, NOW + 200 * DAY, APPROVAL_END),
    "allwarn": (NOW - 80 * DAY, NOW + 5 * DAY, APPROVAL_END),
    "aged": (NOW - 91 * DAY, NOW + 200 * DAY, None),
}


def taipei(t):
    """A limit as Verify-Warning writes it: Taipei time, seconds."""
    return t.astimezone(harness.TAIPEI).strftime("%Y-%m-%dT%H:%M:%S+08:00")


def expected_warning(name):
    nb, na, last = AGING[name]
    parts = []
    if NOW + 14 * DAY >= nb + 90 * DAY:
        parts.append("credential-age " + taipei(nb + 90 * DAY))
    if NOW + 14 * DAY >= na:
        parts.append("certificate-expiry " + taipei(na))
    if last:
        parts.append("approval-end %sT00:00:00+08:00"
                     % (last + datetime.timedelta(days=1)).isoformat())
    return ", ".join(parts) or None


@pytest.fixture(scope="module")
def aging_pki():
    with harness.tls_pki("aging test CA") as out:
        d = out["dir"]
        for name, (nb, na, _) in AGING.items():
            out[name] = harness.sign_cert(d, name, name + " client", nb, na)
        for name, nb, na in (("young", NOW - datetime.timedelta(minutes=30),
                              NOW + DAY),
                             ("hours", NOW - datetime.timedelta(hours=2),
                              NOW + DAY)):
            out[name] = harness.sign_cert(d, name, name + " client", nb, na)
        yield out


def aging_line(pki, name, last=None):
    valid = "2020-01-01..%s" % (last.isoformat() if last else "2099-12-31")
    return ("%s ip=127.0.0.1 checks=resident approval=APP-%s valid=%s "
            "cert-sha256=%s" % (name, name.upper(), valid,
                                harness.cert_sha256(pki[name][0])))


@pytest.fixture(scope="module", params=MPMS)
def aging(request, aging_pki):
    """Defaults: VerifyMaxCredentialAge 90d, VerifyCredentialWarn 14d."""
    pki = aging_pki
    clients = [aging_line(pki, n, AGING[n][2]) for n in AGING]
    s = harness.Server(mpm=request.param, clients=clients, tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["calm"][0], "probe_key": pki["calm"][1]})
    s.people = harness.People().batch(3)
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


def aging_post(s, pki, name, case):
    return s.post(fields_for(s.people[0], case=case),
                  context=context(pki, name))


@pytest.mark.parametrize("name", ["agewarn", "expwarn", "apprwarn",
                                  "allwarn"])
def test_warning_near_each_limit(aging, aging_pki, name):
    """Within 14 days of the age limit (notBefore + 90 days), of notAfter
    or of the end of the approval, answers say which and when."""
    r = aging_post(aging, aging_pki, name, "WARN-" + name)
    assert r.status == 200, r
    assert r.headers.get("verify-warning") == expected_warning(name), r
    assert r.headers["verify-warning"].isascii()
    line = aging.audit_for(r.json["request_id"])[0]
    assert line["client"] == name and line["status"] == 200


def test_no_warning_far_from_limits(aging, aging_pki):
    r = aging_post(aging, aging_pki, "calm", "CALM")
    assert r.status == 200, r
    assert "verify-warning" not in r.headers


def test_refusals_carry_the_warning_too(aging, aging_pki):
    """An answer refused for a fault of the request still tells a client
    with a limit near: its admins may only read the errors."""
    r = aging.post({"id": aging.people[0].id, "check": "resident"},
                   context=context(aging_pki, "expwarn"))
    assert r.status == 400 and r.json["error"] == "missing_field", r
    assert r.headers.get("verify-warning") == expected_warning("expwarn")


def test_credential_older_than_the_limit(aging, aging_pki):
    """notBefore more than 90 days ago: 403 credential_expired, audited,
    however long the certificate itself is valid."""
    r = aging_post(aging, aging_pki, "aged", "AGED-1")
    assert r.status == 403, r
    assert r.json["error"] == "credential_expired"
    assert "90d from its notBefore" in r.json["message"]
    assert "results" not in r.json and "verify-warning" not in r.headers
    line = aging.audit_for(r.json["request_id"])[0]
    assert line["client"] == "aged" and line["status"] == 403
    assert line["error"] == "credential_expired"
    assert line["flag"] == "credential_age"
    assert line["case"] == "AGED-1" and "results" not in line.obj


def notices(s):
    return [ln for ln in s.error_log_text().splitlines() if "VFY141" in ln]


def test_notice_once_per_client_per_day(aging, aging_pki):
    """Every answer carries the warning; the error log says it once per
    client and Taipei day, across all children (new connections, so
    prefork spreads them over its processes)."""
    for i in range(6):
        for name in ("expwarn", "apprwarn"):
            r = aging_post(aging, aging_pki, name, "NOTICE-%d" % i)
            assert r.status == 200, r
            assert r.headers.get("verify-warning") == expected_warning(name)
    lines = notices(aging)
    for name in ("agewarn", "expwarn", "apprwarn", "allwarn"):
        said = [ln for ln in lines if "client %s (" % name in ln]
        assert len(said) <= 1, said
    said = [ln for ln in lines if "client expwarn (" in ln]
    assert len(said) == 1, lines
    assert ":notice]" in said[0]
    assert expected_warning("expwarn") in said[0]
    assert not [ln for ln in lines if "client calm (" in ln]


def test_age_limit_and_warning_set_by_directives(make_server, aging_pki):
    """VerifyMaxCredentialAge 1h and VerifyCredentialWarn 45min, set in
    the vhost: a certificate from two hours ago is refused, one from half
    an hour ago is answered with a warning for its age limit only."""
    pki = aging_pki
    s = make_server(clients=[aging_line(pki, "young"),
                             aging_line(pki, "hours")], tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["young"][0], "probe_key": pki["young"][1]},
        vhost_conf="    VerifyMaxCredentialAge 1h\n"
                   "    VerifyCredentialWarn 45min")
    people = harness.People().batch(1)
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0]), context=context(pki, "hours"))
    assert r.status == 403 and r.json["error"] == "credential_expired", r
    assert "1h from its notBefore" in r.json["message"]
    r = s.post(fields_for(people[0]), context=context(pki, "young"))
    assert r.status == 200, r
    assert r.headers.get("verify-warning") == "credential-age " + taipei(
        NOW - datetime.timedelta(minutes=30) + datetime.timedelta(hours=1))


@pytest.mark.parametrize("line,words", [
    ("VerifyMaxCredentialAge 90", ("unit", "90d")),
    ("VerifyMaxCredentialAge 0d", ("1s to 3650d",)),
    ("VerifyMaxCredentialAge 3651d", ("1s to 3650d",)),
    ("VerifyCredentialWarn 2w", ("unit", "or off")),
    ("VerifyCredentialWarn", ("takes one argument",)),
])
def test_credential_directive_faults(make_server, line, words):
    s = make_server(extra_conf=line)
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, "accepted: " + line
    lineno = open(s.conf).read().splitlines().index(line) + 1
    assert "Syntax error on line %d of %s" % (lineno, s.conf) in out, out
    for w in words:
        assert w in out, out


def test_credential_directives_accepted(make_server):
    s = make_server(extra_conf="VerifyMaxCredentialAge 2160h\n"
                               "VerifyCredentialWarn off")
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr
