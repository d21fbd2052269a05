"""`verify-audit roster --config FILE [--certs DIR]` (R4.3, R5.5, issue 8
item 5): the register (clients with approval, validity and certificate
expiry; operators with role and period) joined with a real log from a
real httpd: counts per client and per operator, first and last query,
the registered who never queried and the queriers nobody registered."""

import datetime
import os
import re
import shutil

import pytest

import harness
from harness import fields_for

TODAY = harness.today_taipei()
DAY = datetime.timedelta(days=1)
NOW = datetime.datetime.now(datetime.timezone.utc)


def rows(out, section):
    """The rows (cells split on 2+ spaces) of the table under the line
    starting with @section, without its head."""
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith(section))
    table = []
    for ln in lines[start + 2:]:
        if not ln.strip():
            break
        table.append(re.split(r"\s{2,}", ln.strip()))
    assert table and table[0][0] == "client", (section, out)
    return table[1:]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("roster149"))
    os.chmod(d, 0o755)
    pki = os.path.join(d, "pki")
    os.mkdir(pki)
    harness.make_ca(pki, "ca", "roster test CA")
    soon, _ = harness.make_cert(pki, "soon", "certsys soon")
    later, _ = harness.sign_cert(pki, "later", "certsys later",
                                 NOW - 10 * DAY, NOW + 400 * DAY)
    certs = os.path.join(d, "certs")
    os.mkdir(certs)
    for c in (soon, later):
        shutil.copy(c, certs)
    ops = os.path.join(d, "testsys.operators")
    with open(ops, "w", encoding="utf-8") as f:
        f.write("# testsys operators\n"
                "alice  caseworker  2020-01-01..2099-12-31\n"
                "bob    supervisor  2020-01-01..2099-12-31\n"
                "carol  caseworker  2020-01-01..2099-12-31\n"
                "dave   caseworker  2020-01-01..%s\n"
                % (TODAY - DAY).isoformat())
    os.chmod(ops, 0o644)
    ends = (TODAY + 10 * DAY).isoformat()
    clients = [
        "VerifyClient testsys ip=127.0.0.1 checks=resident "
        "approval=APP-149-1 valid=2020-01-01..2099-12-31",
        'VerifyOperators testsys "%s"' % ops,
        "VerifyClient narrow ip=127.0.0.4 checks=resident "
        "approval=APP-149-2 valid=2020-01-01..%s" % ends,
        "VerifyClient certsys ip=127.0.0.6 checks=resident "
        "approval=APP-149-3 valid=2020-01-01..2099-12-31 "
        "cert-sha256=%s,%s" % (harness.cert_sha256(soon),
                               harness.cert_sha256(later)),
    ]
    conf = os.path.join(d, "clients.conf")
    with open(conf, "w") as f:
        f.write("# the register\n" + "\n".join(clients) + "\n")
    os.chmod(conf, 0o644)
    s = harness.Server(mpm="event", clients=[],
                       extra_conf='Include "%s"' % conf)
    gen = harness.People("test_149")
    s.people = gen.batch(3)
    s.import_household(s.people)
    plan = [("alice", "127.0.0.1", "resident", 200)] * 3 + [
        ("bob", "127.0.0.1", "resident", 200),
        ("bob", "127.0.0.1", "disability", 403),
        ("mallory", "127.0.0.1", "resident", 403),
        ("mallory", "127.0.0.1", "resident", 403),
        ("dave", "127.0.0.1", "resident", 403),
        ("zed", "127.0.0.4", "resident", 200),
        ("eve", "127.0.0.9", "resident", 403),
    ]
    try:
        s.start()
        for i, (op, ip, check, status) in enumerate(plan):
            r = s.post(fields_for(s.people[i % 3], operator=op, check=check),
                       source_address=(ip, 0))
            assert r.status == status, (op, r)
        copy = os.path.join(d, "audit")
        shutil.copytree(s.audit, copy)
        s.stop()
    finally:
        s.cleanup()
    return {"dir": d, "conf": conf, "certs": certs, "audit": copy,
            "ops": ops, "people": s.people, "ends": ends}


def roster(env, *more):
    res = harness.run_audit_tool("roster", "--config", env["conf"], *more,
                                 env["audit"])
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_roster_joins_register_and_log(env):
    out = roster(env, "--certs", env["certs"])
    assert "config:       %s: 3 client(s), certificates from %s" % (
        env["conf"], env["certs"]) in out
    clients = {r[0]: r for r in rows(out, "Clients in the register")}
    assert set(clients) == {"testsys", "narrow", "certsys"}, out
    t = clients["testsys"]
    assert t[1:7] == ["APP-149-1", "2020-01-01..2099-12-31", "valid",
                      "none (bound to its address)", "4 registered", "8"], t
    assert t[7] == "4", t       # answered: alice 3, bob 1
    n = clients["narrow"]
    assert n[2] == "2020-01-01..%s" % env["ends"], n
    assert n[3] == "valid, last day in 10 days", n
    assert n[5:8] == ["no register", "1", "1"], n
    c = clients["certsys"]
    later = (NOW + 400 * DAY).astimezone(harness.TAIPEI).date().isoformat()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \(in [12] days?\), " + later, c[4]), c
    assert c[6:] == ["0", "0", "-", "-"], c

    ops = {r[1]: r for r in rows(out, "Registered operators")}
    assert set(ops) == {"alice", "bob", "carol", "dave"}, out
    assert ops["alice"][2:7] == ["caseworker", "2020-01-01..2099-12-31",
                                 "valid", "3", "3"], ops["alice"]
    assert ops["bob"][2] == "supervisor" and ops["bob"][5:7] == ["2", "1"]
    assert ops["carol"][5:] == ["0", "0", "-", "-"], ops["carol"]
    assert ops["dave"][4:7] == ["ended", "1", "0"], ops["dave"]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", ops["alice"][7])
    assert ops["alice"][7] <= ops["alice"][8]

    never = rows(out, "Registered, never queried")
    assert [(r[0], r[1], r[2]) for r in never] == [
        ("testsys", "carol", "caseworker")], out

    unreg = {(r[0], r[1]): r for r in rows(out, "Queried, registered by "
                                           "nobody")}
    assert set(unreg) == {("testsys", "mallory"), ("narrow", "zed"),
                          ("(none: unknown_client)", "eve")}, out
    assert unreg[("testsys", "mallory")][2:4] == ["2", "0"]
    assert unreg[("testsys", "mallory")][6] == \
        "not in the client's operator register"
    assert unreg[("narrow", "zed")][6] == \
        "the client has no operator register"
    assert unreg[("(none: unknown_client)", "eve")][6] == \
        "refused caller (no register line)"
    assert "findings:     1 registered operator(s) never queried, 3 " \
        "querier(s) not registered" in out
    # the log's own tables are still there, unchanged
    assert "queries:      10 by 6 client/operator pair(s)" in out
    for p in env["people"]:
        assert p.id not in out


def test_roster_without_certs_and_another_register(env, tmp_path):
    out = roster(env)
    c = {r[0]: r for r in rows(out, "Clients in the register")}["certsys"]
    assert c[4] == "not known (--certs DIR)", c
    # a register without narrow: its querier is a client nobody registered
    conf = str(tmp_path / "clients.conf")
    with open(env["conf"]) as f:
        text = "".join(ln for ln in f if "narrow" not in ln)
    with open(conf, "w") as f:
        f.write(text)
    res = harness.run_audit_tool("roster", "--config", conf, env["audit"])
    assert res.returncode == 0, res.stderr
    unreg = {(r[0], r[1]): r for r in rows(res.stdout, "Queried, registered "
                                           "by nobody")}
    assert unreg[("narrow", "zed")][6] == "client not in the register"


def test_roster_refusals(env, tmp_path):
    # --certs needs --config
    res = harness.run_audit_tool("roster", "--certs", env["certs"],
                                 env["audit"])
    assert res.returncode == 2 and "--certs needs --config" in res.stderr
    # a register verify-audit cannot read as httpd does: said, nothing
    # printed
    bad = str(tmp_path / "bad.conf")
    with open(bad, "w") as f:
        f.write("VerifyClient testsys ip=127.0.0.1 checks=resident "
                "approval=A valid=2020-01-01..2099-12-31\n"
                "VerifyOperators testsys testsys.operators\n")
    res = harness.run_audit_tool("roster", "--config", bad, env["audit"])
    assert res.returncode == 1 and res.stdout == "", res.stdout
    assert "VerifyOperators (%s:2): testsys.operators: give the file's " \
        "absolute path" % bad in res.stderr, res.stderr
    broken = str(tmp_path / "broken.ops")
    with open(broken, "w") as f:
        f.write("alice caseworker 2020-01-01..2099-13-01\n")
    with open(bad, "w") as f:
        f.write("VerifyClient testsys ip=127.0.0.1 checks=resident "
                "approval=A valid=2020-01-01..2099-12-31\n"
                "VerifyOperators testsys %s\n" % broken)
    res = harness.run_audit_tool("roster", "--config", bad, env["audit"])
    assert res.returncode == 1 and "%s:1: period" % broken in res.stderr
    # a --certs directory without one of the certificates: said per
    # certificate; one that cannot be opened: refused
    part = str(tmp_path / "part")
    os.mkdir(part)
    later = [f for f in os.listdir(env["certs"]) if f.startswith("later")]
    shutil.copy(os.path.join(env["certs"], later[0]), part)
    out = roster(env, "--certs", part)
    c = {r[0]: r for r in rows(out, "Clients in the register")}["certsys"]
    assert re.fullmatch(r"not in --certs, \d{4}-\d\d-\d\d", c[4]), c
    res = harness.run_audit_tool("roster", "--config", env["conf"],
                                 "--certs", str(tmp_path / "none"),
                                 env["audit"])
    assert res.returncode == 1 and "--certs %s: cannot open" % (
        tmp_path / "none") in res.stderr, res.stderr
    # a file in --certs that is no certificate
    certs = str(tmp_path / "certs")
    shutil.copytree(env["certs"], certs)
    with open(os.path.join(certs, "junk.pem"), "w") as f:
        f.write("not a certificate\n")
    res = harness.run_audit_tool("roster", "--config", env["conf"],
                                 "--certs", certs, env["audit"])
    assert res.returncode == 1 and "junk.pem: not a PEM certificate" in \
        res.stderr, res.stderr
