"""docs/clients.md is true (issue 9 item 5): its three programs (curl in
shell, Python with requests, PHP with its curl extension), taken from
the document as written, ask a real httpd over TLS with a client
certificate and get answers that conform to docs/openapi.yaml; a refusal
exits 1 naming the error; Verify-Warning reaches standard error; the ID
travels on standard input, never on a command line."""

import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import harness
from harness import openapi

DOC = os.path.join(harness.REPO, "docs", "clients.md")
BLOCK_RE = re.compile(r"<!-- clients\.md: ([\w.]+) -->\n```(\w+)\n(.*?)^```$",
                      re.S | re.M)
# file name in clients.md: how it is run
PROGRAMS = {
    "verify.sh": ["sh"],
    "verify_client.py": ["/usr/bin/python3"],
    "verify_client.php": ["php"],
}

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
TAIL = "checks=resident,indigenous approval=APP-DOC " \
       "valid=2020-01-01..2099-12-31"


def blocks():
    """{file name: code} of the programs in docs/clients.md."""
    text = open(DOC, encoding="utf-8").read()
    found = {}
    for name, lang, code in BLOCK_RE.findall(text):
        assert name not in found, "%s twice in clients.md" % name
        found[name] = code
    return found


def test_clients_md_has_the_three_programs():
    found = blocks()
    # (verify_batch.py runs in t/openapi_pending_batch_health.py until
    # batches land)
    assert sorted(found) == sorted(list(PROGRAMS) + ["verify_batch.py"])
    assert found["verify.sh"].startswith("#!/bin/sh\n")
    assert found["verify_client.py"].startswith("#!/usr/bin/env python3\n")
    assert found["verify_client.php"].startswith("<?php\n")
    # each with a client certificate, and the server's certificate checked
    for name, words in (("verify.sh", ("--cert", "--key", "--cacert")),
                        ("verify_client.py", ("cert=CERT", "verify=CA")),
                        ("verify_batch.py", ("cert=CERT", "verify=CA")),
                        ("verify_client.php", ("CURLOPT_SSLCERT",
                                               "CURLOPT_SSLKEY",
                                               "CURLOPT_CAINFO"))):
        for w in words:
            assert w in found[name], (name, w)
    for name in found:
        assert "--insecure" not in found[name]
        assert "verify=False" not in found[name]


@pytest.fixture(scope="module")
def programs():
    d = tempfile.mkdtemp(prefix="mod_verify-clients-")
    try:
        for name, code in blocks().items():
            path = os.path.join(d, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(code)
            os.chmod(path, 0o755)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def pki():
    with harness.tls_pki("clients test CA") as out:
        d = out["dir"]
        out["fresh"] = harness.sign_cert(d, "fresh", "fresh client",
                                         NOW - DAY, NOW + 200 * DAY)
        # 80 days old: the 90-day limit is within the warning's 14 days
        out["aging"] = harness.sign_cert(d, "aging", "aging client",
                                         NOW - 80 * DAY, NOW + 200 * DAY)
        out["stranger"] = harness.sign_cert(d, "stranger", "stranger",
                                            NOW - DAY, NOW + 200 * DAY)
        for name in ("fresh", "aging", "stranger"):
            os.chmod(out[name][1], 0o600)
        yield out


@pytest.fixture(scope="module")
def docserver(pki):
    clients = ["%s ip=127.0.0.1 %s cert-sha256=%s" % (
        name, TAIL, harness.cert_sha256(pki[name][0]))
        for name in ("fresh", "aging")]
    s = harness.Server(mpm="event", clients=clients, tls={
        "cert": pki["server"][0], "key": pki["server"][1], "ca": pki["ca"],
        "probe_cert": pki["fresh"][0], "probe_key": pki["fresh"][1]})
    gen = harness.People()
    s.people = gen.batch(10)
    s.outsider = gen.person("citizen")
    s.add_people([s.outsider])
    try:
        s.import_household(s.people)
        s.start()
    except BaseException:
        s.cleanup()
        raise
    yield s
    try:
        s.stop()
    finally:
        s.cleanup()


def run(s, pki, programs, name, stdin, args, cert="fresh"):
    """Run program @name of clients.md as a client system would: its
    settings in the environment, the ID on standard input."""
    env = dict(harness.CLEAN_ENV,
               VERIFY_URL="https://127.0.0.1:%d/verify" % s.port,
               VERIFY_CERT=pki[cert][0], VERIFY_KEY=pki[cert][1],
               VERIFY_CA=pki["ca"])
    for a in args:
        assert stdin.strip() not in a
    return subprocess.run(PROGRAMS[name] + [os.path.join(programs, name)]
                          + list(args), input=stdin, capture_output=True,
                          text=True, env=env, timeout=120)


def answer_conforms(body):
    spec = openapi.load()
    problems = openapi.schema_errors(
        spec, {"$ref": "#/components/schemas/Answer"}, body)
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_is_answered(docserver, pki, programs, name):
    s = docserver
    p = next(q for q in s.people if q.indigenous)
    case = "DOC-" + name
    res = run(s, pki, programs, name, p.id + "\n",
              ["resident,indigenous", case, "敬老津貼資格審查", "clerk07"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr == "", res.stderr
    body = json.loads(res.stdout)
    answer_conforms(body)
    assert body["results"] == {"resident": True, "indigenous": True}
    line = s.audit_for(body["request_id"])[0]
    assert line["client"] == "fresh" and line["case"] == case
    assert line["reason"] == "敬老津貼資格審查"
    assert line["operator"] == "clerk07"
    assert line["seq"] == body["receipt"]["seq"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_someone_not_registered(docserver, pki, programs, name):
    s = docserver
    res = run(s, pki, programs, name, s.outsider.id + "\n",
              ["resident", "DOC-NO-" + name, "review", "clerk07"])
    assert res.returncode == 0, res.stdout + res.stderr
    body = json.loads(res.stdout)
    answer_conforms(body)
    assert body["results"] == {"resident": False}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_refused(docserver, pki, programs, name):
    """A bad ID: exit 1, the error code on standard error, nothing on
    standard output; its audit line is there."""
    s = docserver
    res = run(s, pki, programs, name, "A123456788\n",
              ["resident", "DOC-BAD-" + name, "review", "clerk07"])
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stdout == ""
    assert "400" in res.stderr and "invalid_id" in res.stderr, res.stderr
    assert [ln for ln in s.audit_lines()
            if ln.get("case") == "DOC-BAD-" + name
            and ln.get("error") == "invalid_id"]


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_not_permitted(docserver, pki, programs, name):
    s = docserver
    res = run(s, pki, programs, name, s.people[0].id + "\n",
              ["resident,disability", "DOC-PERM-" + name, "review",
               "clerk07"])
    assert res.returncode == 1, res.stdout + res.stderr
    assert "403" in res.stderr and "check_not_permitted" in res.stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_says_the_warning(docserver, pki, programs, name):
    s = docserver
    res = run(s, pki, programs, name, s.people[0].id + "\n",
              ["resident", "DOC-WARN-" + name, "review", "clerk07"],
              cert="aging")
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.fullmatch(r"verify: warning: credential-age \d{4}-\d\d-\d\dT"
                        r"\d\d:\d\d:\d\d\+08:00\n", res.stderr), res.stderr
    assert json.loads(res.stdout)["results"] == {"resident": True}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_with_an_unregistered_certificate(docserver, pki, programs,
                                                 name):
    s = docserver
    res = run(s, pki, programs, name, s.people[0].id + "\n",
              ["resident", "DOC-STRANGER", "review", "clerk07"],
              cert="stranger")
    assert res.returncode == 1, res.stdout + res.stderr
    assert "403" in res.stderr and "unknown_client" in res.stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_client_checks_the_server_certificate(docserver, pki, programs,
                                              name, tmp_path):
    """Against a server whose certificate the given CA did not sign, the
    program does not send anything: exit 2."""
    s = docserver
    other = str(tmp_path)
    harness.make_ca(other, "ca", "some other CA")
    env_ca = os.path.join(other, "ca.crt")
    env = dict(harness.CLEAN_ENV,
               VERIFY_URL="https://127.0.0.1:%d/verify" % s.port,
               VERIFY_CERT=pki["fresh"][0], VERIFY_KEY=pki["fresh"][1],
               VERIFY_CA=env_ca)
    before = len(s.audit_lines())
    res = subprocess.run(PROGRAMS[name] + [os.path.join(programs, name),
                                           "resident", "DOC-MITM", "review",
                                           "clerk07"],
                         input=s.people[0].id + "\n", capture_output=True,
                         text=True, env=env, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stdout == ""
    assert len(s.audit_lines()) == before
