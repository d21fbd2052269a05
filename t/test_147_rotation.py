"""Rotating a client's certificate without reusing a key (R3.4, R3.5;
issue 9 item 2): two certificates overlap, VerifyClientRetired keeps the
history, configtest refuses a current key that is one of the client's
last three retired ones, and a connection whose certificate has such a
key is refused 403 credential_reused. Real httpd, real TLS, certificates
made with the openssl command."""

import datetime
import os
import shutil
import ssl
import subprocess
import tempfile

import pytest

import harness
from harness import fields_for

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
TAIL = "checks=resident approval=APP-ROT valid=2020-01-01..2099-12-31"


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
        harness.make_ca(d, "ca", "rotation test CA")
        out = {"dir": d, "ca": os.path.join(d, "ca.crt"),
               "server": harness.make_cert(d, "server", "127.0.0.1",
                                           server=True)}

        def cert(name, key=None, age=DAY):
            out[name] = harness.sign_cert(d, name, name + " client",
                                          NOW - age, NOW + 60 * DAY,
                                          key=key)

        cert("old", age=60 * DAY)
        cert("new")
        # the old key certified again: "the same password"
        cert("rekeyed", key=out["old"][1])
        cert("other")
        # four generations of history, and the oldest key come back
        for i in range(1, 5):
            cert("h%d" % i, age=(100 - 20 * i) * DAY)
        cert("back4", key=out["h1"][1])
        cert("back3", key=out["h2"][1])
        for name in list(out):
            if isinstance(out[name], tuple):
                out[name + ".fp"] = harness.cert_sha256(out[name][0])
                out[name + ".spki"] = harness.spki_sha256(out[name][0])
        yield out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def context(pki, cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki["ca"])
    ctx.load_cert_chain(*pki[cert])
    return ctx


def tls(pki, probe):
    return {"cert": pki["server"][0], "key": pki["server"][1],
            "ca": pki["ca"], "probe_cert": pki[probe][0],
            "probe_key": pki[probe][1]}


def retired(pki, client, cert):
    return "VerifyClientRetired %s cert-sha256=%s spki-sha256=%s" % (
        client, pki[cert + ".fp"], pki[cert + ".spki"])


def bound(pki, name, *certs, spki=True, ip="127.0.0.1"):
    line = "%s ip=%s %s cert-sha256=%s" % (
        name, ip, TAIL, ",".join(pki[c + ".fp"] for c in certs))
    if spki:
        line += " spki-sha256=" + ",".join(pki[c + ".spki"] for c in certs)
    return line


def test_key_hash_commands_agree(pki):
    """The key hash of the admin-guide (from the certificate, the key or
    the CSR) is one value, and a re-issued certificate has its old key's
    hash under a new fingerprint."""
    d = pki["dir"]
    from_key = subprocess.run(
        ["sh", "-c", "openssl pkey -in old.key -pubout -outform DER "
         "| sha256sum"], cwd=d, capture_output=True, text=True,
        env=harness.CLEAN_ENV, check=True).stdout.split()[0]
    from_csr = subprocess.run(
        ["sh", "-c", "openssl req -in rekeyed.csr -noout -pubkey "
         "| openssl pkey -pubin -outform DER | sha256sum"], cwd=d,
        capture_output=True, text=True, env=harness.CLEAN_ENV,
        check=True).stdout.split()[0]
    assert from_key == from_csr == pki["old.spki"] == pki["rekeyed.spki"]
    assert pki["old.fp"] != pki["rekeyed.fp"]
    assert pki["old.spki"] != pki["new.spki"]


def test_rotation_end_to_end(make_server, pki):
    """admin-guide.md's walk-through: the new certificate beside the old
    one (both answered), then the old one retired (refused), each change
    a graceful restart and a `register` line of the chain."""
    before = [bound(pki, "rot", "old")]
    s = make_server(clients=before, tls=tls(pki, "old"),
                    loglevel="warn verify:info", checkpoints=False)
    people = harness.People().batch(2)
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0], case="ROT-0"),
               context=context(pki, "old"))
    assert r.status == 200, r
    r = s.post(fields_for(people[0], case="ROT-0b"),
               context=context(pki, "new"))
    assert r.status == 403 and r.json["error"] == "unknown_client", r

    # during: both certificates, each with its key
    s.clients = [bound(pki, "rot", "old", "new")]
    assert s.configtest().returncode == 0
    s.tls = tls(pki, "new")
    s.write_conf()
    s.graceful()
    for cert in ("old", "new"):
        r = s.post(fields_for(people[0], case="ROT-1-" + cert),
                   context=context(pki, cert))
        assert r.status == 200, (cert, r)
        assert s.audit_for(r.json["request_id"])[0]["client"] == "rot"

    # after: the new one alone, the old one remembered
    s.clients = [bound(pki, "rot", "new")]
    s.extra_conf = retired(pki, "rot", "old")
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr
    s.graceful()
    r = s.post(fields_for(people[0], case="ROT-2-old"),
               context=context(pki, "old"))
    assert r.status == 403 and r.json["error"] == "unknown_client", r
    r = s.post(fields_for(people[0], case="ROT-2-new"),
               context=context(pki, "new"))
    assert r.status == 200, r

    changes = [ln for ln in s.audit_lines() if ln.get("op") == "register"]
    assert [c["changed"] for c in changes[1:]] == [["rot"], ["rot"]], changes
    assert harness.chain_problems(s.audit_lines()) == []


def test_reused_key_refused_at_connection(make_server, pki):
    """A line without spki-sha256= cannot be checked by configtest: the
    key the certificate holds is, at the connection. One of the last
    three retired keys: 403 credential_reused, audited; the fourth-latest
    may come back (R3.5 counts three)."""
    s = make_server(clients=[
        bound(pki, "reuse", "rekeyed", spki=False),
        bound(pki, "deep", "back4", spki=False),
        bound(pki, "third", "back3", spki=False),
        bound(pki, "fine", "new"),
    ], tls=tls(pki, "new"), extra_conf="\n".join(
        [retired(pki, "reuse", "old")]
        + [retired(pki, "deep", "h%d" % i) for i in range(1, 5)]
        + [retired(pki, "third", "h%d" % i) for i in range(1, 5)]))
    s.expect_log(r"VFY143: client reuse \(.*\): the certificate sent "
                 r"\(cert-sha256 %s\) has the key of the certificate "
                 r"retired at .*httpd\.conf:\d+ \(spki-sha256 %s\)"
                 % (pki["rekeyed.fp"], pki["old.spki"]),
                 r"VFY143: client third \(")
    people = harness.People().batch(1)
    s.import_household(people)
    s.start()
    for client, cert in (("reuse", "rekeyed"), ("third", "back3")):
        r = s.post(fields_for(people[0], case="REUSE-" + client),
                   context=context(pki, cert))
        assert r.status == 403, r
        assert r.json["error"] == "credential_reused", r
        assert "new key" in r.json["message"]
        line = s.audit_for(r.json["request_id"])[0]
        assert line["client"] == client and line["status"] == 403
        assert line["error"] == "credential_reused"
        assert line["case"] == "REUSE-" + client
        assert "results" not in line.obj
    r = s.post(fields_for(people[0], case="DEEP"),
               context=context(pki, "back4"))
    assert r.status == 200, r
    assert s.audit_for(r.json["request_id"])[0]["client"] == "deep"
    said = [ln for ln in s.error_log_text().splitlines() if "VFY143" in ln]
    assert len(said) == 2, said


def test_wrong_key_in_the_line(make_server, pki):
    """spki-sha256= that is not the certificate's key: the line does not
    describe the certificate (a rotation would copy the wrong key into
    the history), so the caller is unknown and the error log says why."""
    s = make_server(clients=[
        "wrongkey ip=127.0.0.1 %s cert-sha256=%s spki-sha256=%s"
        % (TAIL, pki["other.fp"], pki["new.spki"]),
        bound(pki, "fine", "new")], tls=tls(pki, "new"))
    s.expect_log(r"VFY142: VerifyClient wrongkey \(.*\): the certificate "
                 r"sent \(cert-sha256 %s\) has spki-sha256 %s, not %s"
                 % (pki["other.fp"], pki["other.spki"], pki["new.spki"]))
    people = harness.People().batch(1)
    s.import_household(people)
    s.start()
    r = s.post(fields_for(people[0], case="WRONGKEY"),
               context=context(pki, "other"))
    assert r.status == 403 and r.json["error"] == "unknown_client", r
    line = s.audit_for(r.json["request_id"])[0]
    assert line["client"] is None and line["error"] == "unknown_client"


def test_configtest_refuses_a_retired_key(make_server, pki):
    """With spki-sha256= configtest knows the current key: one of the
    client's last three retired keys is refused, naming the client and
    the retired line; the fourth-latest is accepted."""
    s = make_server(clients=harness.DEFAULT_CLIENTS + [
        bound(pki, "again", "new", "rekeyed", ip="127.0.0.6")],
        extra_conf="\n".join([retired(pki, "again", "old"),
                              retired(pki, "again", "h1")]))
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    lines = open(s.conf).read().splitlines()
    client_no = lines.index("VerifyClient " + bound(
        pki, "again", "new", "rekeyed", ip="127.0.0.6")) + 1
    retired_no = lines.index(retired(pki, "again", "old")) + 1
    assert "VFY140" in out, out
    assert ("client again (%s:%d): certificate %s has the public key "
            "(spki-sha256 %s) of the certificate %s retired at %s:%d, the "
            "one before the latest of its last 3: a certificate re-issued "
            "for the same key is the same password (R3.5); make a new key"
            % (s.conf, client_no, pki["rekeyed.fp"], pki["old.spki"],
               pki["old.fp"], s.conf, retired_no)) in out, out

    s2 = make_server(clients=harness.DEFAULT_CLIENTS + [
        bound(pki, "deep", "back4", ip="127.0.0.6")], extra_conf="\n".join(
        retired(pki, "deep", "h%d" % i) for i in range(1, 5)))
    res = s2.configtest()
    assert res.returncode == 0, res.stdout + res.stderr
    s3 = make_server(clients=harness.DEFAULT_CLIENTS + [
        bound(pki, "third", "back3", ip="127.0.0.6")], extra_conf="\n".join(
        retired(pki, "third", "h%d" % i) for i in range(1, 5)))
    res = s3.configtest()
    assert res.returncode != 0 and "the third latest of its last 3" in (
        res.stdout + res.stderr), res.stdout + res.stderr


HEX_A, HEX_B, HEX_C = "a" * 64, "b" * 64, "c" * 64
ROT = "rot ip=127.0.0.5 %s cert-sha256=%s" % (TAIL, HEX_A)

RETIRED_FAULTS = {
    "no_key": ("VerifyClientRetired rot cert-sha256=" + HEX_B,
               "spki-sha256= is required"),
    "no_cert": ("VerifyClientRetired rot spki-sha256=" + HEX_B,
                "cert-sha256= is required"),
    "bad_hex": ("VerifyClientRetired rot cert-sha256=%s spki-sha256=xyz"
                % HEX_B, 'spki-sha256 "xyz" is not 64 hex digits'),
    "two_certs": ("VerifyClientRetired rot cert-sha256=%s,%s "
                  "spki-sha256=%s" % (HEX_B, HEX_C, HEX_B),
                  "is not 64 hex digits"),
    "item_twice": ("VerifyClientRetired rot cert-sha256=%s cert-sha256=%s "
                   "spki-sha256=%s" % (HEX_B, HEX_C, HEX_B),
                   "item cert-sha256 given twice"),
    "unknown_item": ("VerifyClientRetired rot cert-sha256=%s spki-sha256=%s "
                     "when=2026-01-01" % (HEX_B, HEX_B),
                     'unknown item "when" (cert-sha256, spki-sha256)'),
    "no_name": ("VerifyClientRetired", "missing client name"),
    "unknown_client": ("VerifyClientRetired nobody cert-sha256=%s "
                       "spki-sha256=%s" % (HEX_B, HEX_B),
                       "no VerifyClient nobody above this line"),
    "still_current": ("VerifyClientRetired rot cert-sha256=%s "
                      "spki-sha256=%s" % (HEX_A, HEX_B),
                      "certificate %s is still current for client rot"
                      % HEX_A),
}


@pytest.mark.parametrize("fault", sorted(RETIRED_FAULTS))
def test_retired_line_faults(make_server, fault):
    line, words = RETIRED_FAULTS[fault]
    s = make_server(clients=harness.DEFAULT_CLIENTS + [ROT],
                    extra_conf=line)
    out = s.configtest_refuses(line)
    assert words in out, out


def test_retired_twice_and_above_its_client(make_server):
    first = "VerifyClientRetired rot cert-sha256=%s spki-sha256=%s" % (
        HEX_B, HEX_C)
    again = "VerifyClientRetired rot cert-sha256=%s spki-sha256=%s" % (
        HEX_B.upper(), HEX_C)
    s = make_server(clients=harness.DEFAULT_CLIENTS + [ROT],
                    extra_conf=first + "\n" + again)
    out = s.configtest_refuses(again)
    assert "certificate %s of client rot is retired already (%s:%d)" % (
        HEX_B, s.conf, open(s.conf).read().splitlines().index(first) + 1) \
        in out, out

    above = "VerifyClientRetired late cert-sha256=%s spki-sha256=%s" % (
        HEX_B, HEX_C)
    s = make_server(extra_conf=above + "\nVerifyClient late ip=127.0.0.9 "
                    + TAIL + " cert-sha256=" + HEX_A)
    out = s.configtest_refuses(above)
    assert "no VerifyClient late above this line in this server config" \
        in out, out


@pytest.mark.parametrize("tail,words", [
    (" cert-sha256=%s,%s,%s" % (HEX_A, HEX_B, HEX_C),
     "cert-sha256 lists more than 2 values"),
    (" cert-sha256=%s,%s spki-sha256=%s" % (HEX_A, HEX_B, HEX_C),
     "spki-sha256= lists 1 public key for 2 certificates"),
    (" spki-sha256=" + HEX_C, "spki-sha256= lists 1 public key for 0"),
    (" cert-sha256=%s,%s spki-sha256=%s,%s" % (HEX_A, HEX_B, HEX_C, HEX_C),
     "the two certificates have one key"),
])
def test_client_line_rotation_faults(make_server, tail, words):
    line = "VerifyClient bad ip=127.0.0.5 " + TAIL + tail
    s = make_server(clients=harness.DEFAULT_CLIENTS + [line[13:]])
    out = s.configtest_refuses(line)
    assert words in out, out


def test_register_file_with_history(pki, tmp_path):
    """verify-audit reads the register with the same grammar: the
    history is taken, a reused key refused (ip-review --config)."""
    audit = tmp_path / "audit"
    audit.mkdir()
    line, _ = harness.seal_line(
        1, "2026-01-01T00:00:00.000000+08:00",
        ',"request_id":"x","client":"rot","operator":"o","ip":"127.0.0.1",'
        '"op":"verify"', harness.ZERO_HASH)
    (audit / "audit-2026-01-01.jsonl").write_bytes(line + b"\n")
    reg = tmp_path / "clients.conf"
    reg.write_text("VerifyClient %s\n%s\n" % (
        bound(pki, "rot", "new"), retired(pki, "rot", "old")))
    res = harness.run_audit_tool("ip-review", "--config", str(reg),
                                 str(audit))
    assert res.returncode == 0, res.stdout + res.stderr
    reg.write_text("VerifyClient %s\n%s\n" % (
        bound(pki, "rot", "rekeyed"), retired(pki, "rot", "old")))
    res = harness.run_audit_tool("ip-review", "--config", str(reg),
                                 str(audit))
    assert res.returncode != 0
    assert "of the certificate %s retired at %s:2" % (pki["old.fp"], reg) \
        in res.stdout + res.stderr, res.stdout + res.stderr
