"""The operator register (R4.3, issue 8 item 5): `VerifyOperators CLIENT
FILE` gives a client a register of the accounts inside it that may
query. A query whose `operator` is not registered, or whose registered
period does not cover the Taipei date, is refused 403 `unknown_operator`
and audited; clients without a register are not affected; configtest
refuses a bad register naming its file and line; a graceful restart
reads the files again."""

import datetime
import hashlib
import os
import pwd
import re
import subprocess

import pytest

import harness
from harness import fields_for

TODAY = harness.today_taipei()
DAY = datetime.timedelta(days=1)


def register_text(extra=""):
    """testsys's operators: valid, ended yesterday, begins tomorrow, and
    one in Chinese."""
    return ("# operators of testsys (UTF-8): ACCOUNT ROLE FROM..TO\n"
            "clerk.ok    caseworker  2020-01-01..2099-12-31\n"
            "clerk.old   caseworker  2020-01-01..%s\n"
            "clerk.new\tsupervisor\t%s..2099-12-31\r\n"
            "\n"
            "王小明      社工        %s..%s\n" % (
                (TODAY - DAY).isoformat(), (TODAY + DAY).isoformat(),
                TODAY.isoformat(), TODAY.isoformat())) + extra


def write(path, text, mode=0o644):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def operators_line(path):
    return 'VerifyOperators testsys "%s"' % path


@pytest.fixture(scope="module")
def srv():
    s = harness.Server(mpm="event")
    s.regfile = write(os.path.join(s.root, "testsys.operators"),
                      register_text())
    s.extra_conf = operators_line(s.regfile)
    gen = harness.People("test_148")
    s.people = gen.batch(3)
    s.import_household(s.people)
    try:
        s.start()
        yield s
        s.stop()
    finally:
        s.cleanup()


def ask(s, operator, ip="127.0.0.1", person=0, kind="form"):
    fields = fields_for(s.people[person], operator=operator)
    if operator is None:
        del fields["operator"]
    return s.post(fields, kind=kind, source_address=(ip, 0))


def refused_line(s, r, operator, message_re):
    """@r is 403 unknown_operator with @message_re, and its audit line
    says so."""
    assert r.status == 403, r
    body = r.json
    assert body["error"] == "unknown_operator", body
    assert re.search(message_re, body["message"]), body
    assert "results" not in body and "receipt" not in body
    lines = s.audit_for(body["request_id"])
    assert len(lines) == 1, lines
    ln = lines[0]
    assert ln["status"] == 403 and ln["error"] == "unknown_operator", ln
    assert ln["operator"] == operator and ln["client"] == "testsys", ln
    assert ln["as_of"] is None and "results" not in ln.obj
    return ln


def test_registered_operator_answered(srv):
    for op in ("clerk.ok", "王小明"):
        r = ask(srv, op)
        assert r.status == 200, (op, r)
        ln = srv.audit_for(r.json["request_id"])[0]
        assert ln["operator"] == op and ln["status"] == 200


def test_unregistered_operator_refused_and_audited(srv):
    for op in ("clerk.nobody", "CLERK.OK", "clerk.ok ", "clerk"):
        r = ask(srv, op)
        refused_line(srv, r, op, r"^the operator is not in the client's "
                     r"operator register$")
    assert re.search(r"\[verify:info\].*VFY120: request \w+: client "
                     r"testsys: operator not registered in .*"
                     r"testsys\.operators; refused \(403 unknown_operator\)",
                     srv.error_log_text())
    # the account is in the audit line, never in the error log
    assert "clerk.nobody" not in srv.error_log_text()


def test_operator_outside_period_refused(srv):
    r = ask(srv, "clerk.old")
    refused_line(srv, r, "clerk.old", r"registered period 2020-01-01\.\.%s "
                 r"has ended \(Taipei date\)" % (TODAY - DAY).isoformat())
    r = ask(srv, "clerk.new", kind="json")
    refused_line(srv, r, "clerk.new", r"registered period %s\.\.2099-12-31 "
                 r"has not begun" % (TODAY + DAY).isoformat())
    assert "no longer valid" in srv.error_log_text()
    assert "not valid yet" in srv.error_log_text()


def test_client_without_register_unaffected(srv):
    # narrow (127.0.0.4) has no VerifyOperators: any operator is taken
    r = ask(srv, "anyone.at.all", ip="127.0.0.4")
    assert r.status == 200, r


def test_order_of_refusals(srv):
    # an unknown client is told that, whatever its operator
    r = ask(srv, "clerk.nobody", ip="127.0.0.9")
    assert r.status == 403 and r.json["error"] == "unknown_client", r
    # an unregistered operator learns nothing about the question
    fields = fields_for(harness.bad_checksum(srv.people[0].id),
                        operator="clerk.nobody")
    r = srv.post(fields, source_address=("127.0.0.1", 0))
    assert r.status == 403 and r.json["error"] == "unknown_operator", r
    fields = fields_for(srv.people[0], operator="clerk.nobody",
                        check="disability")
    r = srv.post(fields, source_address=("127.0.0.1", 0))
    assert r.json["error"] == "unknown_operator", r
    # the fields are still checked after the refusal: an ID typed into
    # the reason is masked in the audit line (and the answer says only
    # unknown_operator)
    other = srv.people[1].id
    fields = fields_for(srv.people[0], operator="clerk.nobody",
                        reason="about " + other)
    r = srv.post(fields, source_address=("127.0.0.1", 0))
    assert r.json["error"] == "unknown_operator", r
    [ln] = srv.audit_for(r.json["request_id"])
    assert other not in ln.raw.decode() and other[:3] in ln["reason"], ln
    # no operator at all: the field is missing, as without a register
    r = ask(srv, None)
    assert r.status == 400 and r.json["error"] == "missing_field", r
    r = ask(srv, "")
    assert r.status == 400 and r.json["error"] == "missing_field", r


def register_lines(s):
    return [ln for ln in s.audit_lines() if ln.get("op") == "register"]


def operators_digest(text):
    """What the register records of a register file (data-formats.md):
    its entries as "ACCOUNT ROLE FROM..TO\n", sorted by account."""
    entries = sorted(ln.split() for ln in text.splitlines()
                     if ln.strip() and not ln.strip().startswith("#"))
    body = "".join("%s %s %s\n" % tuple(e) for e in entries)
    return "accounts=%d sha256=%s" % (
        len(entries), hashlib.sha256(body.encode()).hexdigest())


CHECK_ORDER = ["resident", "indigenous", "elderly_alone", "disability",
               "identity"]


def register_digest(lines, more):
    """The register's digest (data-formats.md section 5) of VerifyClient
    lines without cert-sha256 or rate, with @more {name: line} after a
    client's canonical form."""
    entries = []
    for line in lines:
        name, *items = line.split()
        kv = dict(i.split("=", 1) for i in items)
        checks = [c for c in CHECK_ORDER if c in kv["checks"].split(",")]
        canon = "%s ip=%s checks=%s approval=%s valid=%s" % (
            name, kv["ip"], ",".join(checks), kv["approval"], kv["valid"])
        if name in more:
            canon += "\n" + more[name]
        entries.append((name, hashlib.sha256(canon.encode()).hexdigest()))
    text = "".join("%s %s\n" % e for e in sorted(entries))
    return hashlib.sha256(text.encode()).hexdigest()


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def test_graceful_reload_reads_the_register_again(srv):
    s = srv
    assert ask(s, "clerk.late").status == 403
    assert ask(s, "clerk.ok").status == 200
    before = register_lines(s)
    text = register_text("clerk.late  caseworker  %s..%s\n" % (
        TODAY.isoformat(), TODAY.isoformat()))
    write(s.regfile, text.replace("clerk.ok ", "clerk.gone "))
    s.graceful()
    r = ask(s, "clerk.late")
    assert r.status == 200, r
    r = ask(s, "clerk.ok")
    refused_line(s, r, "clerk.ok", "not in the client's operator register")
    # the change of who may query is in the chain: a register line
    # naming the client changed
    after = register_lines(s)
    assert len(after) == len(before) + 1, after
    assert after[-1]["changed"] == ["testsys"], after[-1]
    assert after[-1]["added"] == [] and after[-1]["removed"] == []
    # an auditor holding the files recomputes the register's digest
    assert after[-1]["digest"] == register_digest(
        harness.DEFAULT_CLIENTS, {"testsys": "testsys operators " +
                                  operators_digest(read(s.regfile))})
    # a broken register: the graceful restart is refused before the
    # running server is signalled, and it answers on as before
    write(s.regfile, text + "clerk.bad caseworker 2026-02-30..2026-12-31\n")
    res = subprocess.run([harness.APACHE, "-f", s.conf, "-k", "graceful"],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode != 0, res
    assert "%s:8: period" % s.regfile in res.stdout + res.stderr
    assert ask(s, "clerk.late").status == 200
    write(s.regfile, register_text())
    s.graceful()
    assert ask(s, "clerk.late").status == 403
    assert ask(s, "clerk.ok").status == 200


# -- configtest ---------------------------------------------------------

def refuses(make_server, tmp_path, text, mode=0o644, lines=None,
            clients=None):
    """A server whose testsys register holds @text (or whose extra
    configuration is @lines, with {reg} the register's path): configtest
    refuses, naming the VerifyOperators line; returns the output."""
    s = make_server(clients=clients)
    reg = write(os.path.join(s.root, "reg.txt"), text, mode)
    lines = lines or [operators_line(reg)]
    lines = [ln.format(reg=reg) for ln in lines]
    s.extra_conf = "\n".join(lines)
    bad = [ln for ln in lines if ln.startswith("VerifyOperators")][-1]
    out = s.configtest_refuses(bad)
    return out, reg


GOOD = "clerk.ok caseworker 2020-01-01..2099-12-31\n"


@pytest.mark.parametrize("text,lineno,fault", [
    (GOOD + "clerk.x caseworker\n", 2,
     "2 fields where ACCOUNT ROLE FROM..TO are three"),
    ("# c\n" + GOOD + "clerk.x r 2026-02-30..2026-12-31\n", 3,
     'period "2026-02-30..2026-12-31" is not YYYY-MM-DD..YYYY-MM-DD'),
    (GOOD + "clerk.x r 2026-12-31..2026-01-01\n", 2,
     "starts after it ends"),
    (GOOD + "\n" + GOOD, 3, "account clerk.ok is listed already on line 1"),
    (GOOD + "clerk.x r 2026-01-01..2026-12-31 # temp\n", 2,
     "more than three fields"),
    (GOOD + "\xa4\xa4 r 2026-01-01..2026-12-31\n", 2, "not UTF-8"),
    ("\ufeff" + GOOD, 1, "byte-order mark"),
])
def test_configtest_refuses_a_bad_register(make_server, tmp_path, text,
                                           lineno, fault):
    if "\xa4" in text:
        s = make_server()
        reg = os.path.join(s.root, "reg.txt")
        with open(reg, "wb") as f:
            f.write(text.replace("\xa4", "\x00").encode("utf-8")
                    .replace(b"\x00", b"\xa4"))
        os.chmod(reg, 0o644)
        s.extra_conf = operators_line(reg)
        out = s.configtest_refuses(s.extra_conf)
    else:
        out, reg = refuses(make_server, tmp_path, text)
    assert "%s:%d: " % (reg, lineno) in out, out
    assert fault in out, out


@pytest.mark.parametrize("lines,fault", [
    (['VerifyOperators nosuch "{reg}"'],
     "no VerifyClient nosuch above this line: an operator register is "
     "given below its client"),
    (['VerifyOperators testsys "{reg}"', 'VerifyOperators testsys {reg}'],
     "client testsys has an operator register already"),
    (['VerifyOperators testsys "{reg}.missing"'], "cannot open"),
])
def test_configtest_refuses_a_bad_line(make_server, tmp_path, lines, fault):
    out, reg = refuses(make_server, tmp_path, GOOD, lines=lines)
    assert fault in out, out


def test_configtest_refuses_a_wrong_argument_count(make_server):
    # httpd counts the arguments itself: it names the line by number
    s = make_server()
    s.extra_conf = "VerifyOperators testsys"
    res = s.configtest()
    out = res.stdout + res.stderr
    lineno = open(s.conf).read().splitlines().index(s.extra_conf) + 1
    assert res.returncode != 0 and "line %d of %s" % (lineno, s.conf) \
        in out, out
    assert "VerifyOperators takes two arguments, CLIENT FILE" in out, out


def test_configtest_refuses_a_line_above_its_client(make_server):
    s = make_server(clients=[])
    reg = write(os.path.join(s.root, "reg.txt"), GOOD)
    line = operators_line(reg)
    # the register line first, then the client it names
    s.extra_conf = "\n".join([line, "VerifyClient " +
                              harness.DEFAULT_CLIENTS[0]])
    out = s.configtest_refuses(line)
    assert "no VerifyClient testsys above this line in this server " \
        "config" in out, out


def test_configtest_refuses_a_register_others_can_change(make_server,
                                                         tmp_path):
    out, reg = refuses(make_server, tmp_path, GOOD, mode=0o664)
    assert "%s: writable by group or others (mode 0664)" % reg in out, out
    if os.geteuid() == 0:
        s = make_server()
        reg = write(os.path.join(s.root, "reg.txt"), GOOD)
        os.chown(reg, pwd.getpwnam(harness.RUN_USER).pw_uid, -1)
        s.extra_conf = operators_line(reg)
        out = s.configtest_refuses(s.extra_conf)
        assert "not owned by root" in out, out


def test_configtest_accepts_a_good_register(make_server):
    s = make_server()
    reg = write(os.path.join(s.root, "reg.txt"), register_text())
    s.extra_conf = operators_line(reg)
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr


def test_both_mpms_hold_operators_to_the_register(make_server, mpm):
    """The register is read in the parent and inherited by every child,
    threaded or not."""
    s = make_server(mpm=mpm)
    reg = write(os.path.join(s.root, "reg.txt"), register_text())
    s.extra_conf = operators_line(reg)
    gen = harness.People("test_148_mpm")
    s.people = gen.batch(1)
    s.import_household(s.people)
    s.start()
    for _ in range(4):          # more than one child answers
        assert ask(s, "clerk.ok").status == 200
        r = ask(s, "clerk.nobody")
        assert r.status == 403 and r.json["error"] == "unknown_operator", r
