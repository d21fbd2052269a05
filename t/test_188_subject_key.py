"""The least key (issue 8, item 7): `verify-audit subject-key` exports
from the master key file only the derived subject key, HMAC(secret,
"mod_verify/subject/v1"), as one labelled line in a new file of mode
0400; `subject` finds the same lines with it as with the master key;
the file holds neither the secret nor the store key; VerifyKeyFile (and
verify-import) refuse it, so it can never open the store."""

import hashlib
import hmac
import json
import os
import pty
import re
import shutil
import subprocess

import pytest

import harness
from harness import fields_for

LABEL = "mod_verify-subject-key-v1"

CLIENTS = [
    "testsys ip=127.0.0.1 checks=resident,indigenous "
    "approval=APP-2026-001 valid=2020-01-01..2099-12-31",
]

# (person index, operator, check, expected status)
QUERIES = [
    (0, "clerkA", "resident", 200),
    (1, "clerkA", "resident", 200),
    (0, "clerkB", "indigenous", 200),
    (0, "clerkA", "disability", 403),
    (2, "clerkB", "resident", 200),
]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    s = harness.Server(mpm="event", clients=CLIENTS)
    s.people = harness.People("test_188").batch(4)
    s.import_household(s.people)
    try:
        s.start()
        s.rids = {}
        for who, op, check, status in QUERIES:
            r = s.post(fields_for(s.people[who], check=check, operator=op,
                                  case="C188-%d" % who))
            assert r.status == status, r
            s.rids.setdefault(who, []).append(r.json["request_id"])
        s.tmp = tmp_path_factory.mktemp("subjkey188")
        s.copy = str(s.tmp / "audit")
        shutil.copytree(s.audit, s.copy)
        s.subject_key = str(s.tmp / "auditor.subject-key")
        res = harness.run_audit_tool("subject-key", "--key", s.key,
                                     "--out", s.subject_key)
        assert res.returncode == 0, res.stderr
        assert res.stdout == ""
        yield s
        s.stop()
    finally:
        s.cleanup()


def derived(key_path, label):
    secret = harness.read_secret(key_path)
    return hmac.new(secret, label.encode(), hashlib.sha256).digest()


def write_key(path, data):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, 0o400)
    return str(path)


def test_subject_with_exported_key_finds_the_same_lines(logs):
    s = logs
    for i in range(4):
        pid = s.people[i].id
        by_master = harness.run_audit_tool("subject", "--id", pid, "--key",
                                           s.key, s.copy)
        by_subject = harness.run_audit_tool("subject", "--id", pid,
                                            "--key", s.subject_key, s.copy)
        assert by_master.returncode == 0, by_master.stderr
        assert by_subject.returncode == 0, by_subject.stderr
        assert by_subject.stdout == by_master.stdout
        found = set(re.findall(r"\b[0-9a-f]{24}\b", by_subject.stdout))
        assert found == set(s.rids.get(i, [])), (i, by_subject.stdout)
        assert harness.subject_tag(s.key, pid) in by_subject.stdout
        assert pid not in by_subject.stdout + by_subject.stderr
        js = [harness.run_audit_tool("subject", "--json", "--id", pid,
                                     "--key", k, s.copy)
              for k in (s.key, s.subject_key)]
        assert js[0].returncode == js[1].returncode == 0
        assert js[0].stdout == js[1].stdout
        rows = [json.loads(x) for x in js[1].stdout.splitlines()[1:]]
        assert [r["request_id"] for r in rows] == s.rids.get(i, [])


def test_exported_file_is_the_subject_key_only(logs):
    s = logs
    data = open(s.subject_key, "rb").read()
    sk = derived(s.key, "mod_verify/subject/v1")
    assert data == ("%s %s\n" % (LABEL, sk.hex())).encode()
    secret = harness.read_secret(s.key)
    master_file = open(s.key, "rb").read()
    for secret_bytes in (secret, master_file.strip(),
                         derived(s.key, "mod_verify/store/v1"),
                         derived(s.key, "mod_verify/name/v1")):
        for form in (secret_bytes, secret_bytes.hex().encode(),
                     secret_bytes.hex().upper().encode()):
            assert form not in data
    # (and so the subject key is not the store key: the tags differ)
    assert sk != derived(s.key, "mod_verify/store/v1")


def test_mode_0400_and_never_overwritten(logs, tmp_path):
    s = logs
    st = os.stat(s.subject_key)
    assert st.st_mode & 0o7777 == 0o400
    before = open(s.subject_key, "rb").read()
    other = harness.make_key_file(str(tmp_path / "other.key"))
    res = harness.run_audit_tool("subject-key", "--key", other, "--out",
                                 s.subject_key)
    assert res.returncode == 1
    assert "never overwritten" in res.stderr
    assert open(s.subject_key, "rb").read() == before
    # nor through a link planted where the file is to go
    link = str(tmp_path / "link")
    os.symlink(str(tmp_path / "target"), link)
    res = harness.run_audit_tool("subject-key", "--key", s.key, "--out",
                                 link)
    assert res.returncode == 1, res.stderr
    assert not os.path.exists(str(tmp_path / "target"))
    # a umask that would leave more bits still yields 0400
    out = str(tmp_path / "umask.key")
    res = subprocess.run(["sh", "-c", 'umask 000; exec "$@"', "sh",
                          harness.VERIFY_AUDIT, "subject-key", "--key",
                          s.key, "--out", out], capture_output=True,
                         text=True, env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    assert os.stat(out).st_mode & 0o7777 == 0o400


def test_never_printed_on_a_terminal_unless_asked(logs):
    s = logs
    line = open(s.subject_key).read()
    master, slave = pty.openpty()
    try:
        for extra, shown in (([], False), (["--out", "-"], True)):
            res = subprocess.run([harness.VERIFY_AUDIT, "subject-key",
                                  "--key", s.key] + extra, stdout=slave,
                                 stderr=subprocess.PIPE, text=True,
                                 env=harness.CLEAN_ENV, timeout=60)
            os.set_blocking(master, False)
            try:
                got = os.read(master, 4096).decode()
            except BlockingIOError:
                got = ""
            if shown:
                assert res.returncode == 0, res.stderr
                assert line.strip() in got
            else:
                assert res.returncode == 2
                assert "--out" in res.stderr and "terminal" in res.stderr
                assert LABEL not in got
    finally:
        os.close(master)
        os.close(slave)
    # not a terminal: stdout, for a pipe into the auditor's own tooling
    res = harness.run_audit_tool("subject-key", "--key", s.key)
    assert res.returncode == 0 and res.stdout == line


def test_wrong_label_or_length_refused(logs, tmp_path):
    s = logs
    pid = s.people[0].id
    hx = derived(s.key, "mod_verify/subject/v1").hex()
    cases = [
        ("mod_verify-subject-key-v2 %s\n" % hx,
         'labelled "mod_verify-subject-key-v2", not ' + LABEL),
        ("mod_verify-store-key-v1 %s\n" % hx,
         'labelled "mod_verify-store-key-v1"'),
        ("%s %s\n" % (LABEL, hx[:-1]), "64 hex digits"),
        ("%s %s0\n" % (LABEL, hx), "64 hex digits"),
        ("%s %s\n" % (LABEL, hx[:-2] + "zz"), "64 hex digits"),
        ("%s %s\n\n" % (LABEL, hx), "64 hex digits"),
        ("%s\n%s\n" % (LABEL, hx), "one space"),
        ("%s  %s\n" % (LABEL, hx), "64 hex digits"),
    ]
    for i, (text, why) in enumerate(cases):
        k = write_key(tmp_path / ("bad%d" % i), text.encode())
        res = harness.run_audit_tool("subject", "--id", pid, "--key", k,
                                     s.copy)
        assert res.returncode == 1, (text, res.stdout)
        assert why in res.stderr, (text, res.stderr)
        assert res.stdout == ""
    # the exported key is held to the rules of a secret: no group/other
    k = str(tmp_path / "open")
    shutil.copy(s.subject_key, k)
    os.chmod(k, 0o440)
    res = harness.run_audit_tool("subject", "--id", pid, "--key", k, s.copy)
    assert res.returncode == 1 and "unprotected" in res.stderr


def test_exported_key_opens_nothing_else(logs, tmp_path):
    s = logs
    # not a master key for a second export ...
    res = harness.run_audit_tool("subject-key", "--key", s.subject_key,
                                 "--out", str(tmp_path / "again"))
    assert res.returncode == 1
    assert "labelled mod_verify file" in res.stderr
    assert not os.path.exists(str(tmp_path / "again"))
    # ... nor for verify-import
    res = harness.run_import(str(tmp_path / "store"), s.subject_key,
                             str(tmp_path / "none.csv"))
    assert res.returncode != 0
    assert "labelled mod_verify file" in res.stderr, res.stderr


def test_verifykeyfile_refuses_exported_key(logs):
    t = harness.Server(mpm="event", clients=CLIENTS,
                       key=logs.subject_key)
    try:
        res = t.configtest()
        out = res.stdout + res.stderr
        assert res.returncode != 0, out
        assert "labelled mod_verify file" in out, out
        assert "VerifyKeyFile" in out and "subject key" in out, out
    finally:
        t.cleanup()


def test_usage(logs, tmp_path):
    s = logs
    for args, why in [
        (["subject-key"], "--key"),
        (["subject-key", "--key", s.key, s.copy],
         "takes no files or directories"),
        (["subject-key", "--key", s.key, "--id", s.people[0].id],
         "does not belong"),
        (["subject", "--id", s.people[0].id, "--key", s.key, "--out", "x",
          s.copy], "does not belong"),
    ]:
        res = harness.run_audit_tool(*args)
        assert res.returncode == 2, (args, res.stderr)
        assert why in res.stderr, (args, res.stderr)
    res = harness.run_audit_tool("subject-key", "--key",
                                 str(tmp_path / "nokey"), "--out",
                                 str(tmp_path / "out"))
    assert res.returncode == 1 and "cannot open key file" in res.stderr
    assert not os.path.exists(str(tmp_path / "out"))


def test_by_hand_script_takes_either_key(logs, tmp_path):
    """The find-subject script of audit-guide.md §5 finds the same lines
    with the exported subject key as with the master key."""
    guide = open(os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "docs", "audit-guide.md"),
        encoding="utf-8").read()
    m = re.search(r"```sh\n(#!/bin/sh\n# find-subject .*?)```", guide, re.S)
    assert m, "find-subject script not in audit-guide.md"
    script = str(tmp_path / "find-subject")
    with open(script, "w") as f:
        f.write(m.group(1))
    s = logs
    pid = s.people[0].id
    outs = []
    for key in (s.key, s.subject_key):
        res = subprocess.run(["sh", script, key, s.copy], input=pid + "\n",
                             capture_output=True, text=True,
                             env=harness.CLEAN_ENV, timeout=60)
        assert res.returncode == 0, res.stderr
        rids = [json.loads(x)["request_id"] for x in res.stdout.splitlines()]
        assert rids == s.rids[0]
        outs.append(res.stdout)
    assert outs[0] == outs[1]
