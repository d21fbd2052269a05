"""The automatic import (R4.1.3; issue 10 item 7): verify-import --watch
INBOX imports each file renamed into INBOX (and those there at start)
under the same strict rules as by hand, moves a refused one to the
quarantine with a .reason file, records every attempt and carries on; a
real httpd answers from each new batch. conf/ ships a systemd unit for
it, checked with systemd-analyze."""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import harness
from harness import People, fields_for

UNIT = os.path.join(harness.REPO, "conf", "verify-import-watch@.service")


def resident(s, p, case="WATCH-1"):
    r = s.post(fields_for(p, case=case))
    assert r.status == 200, r
    return r.json["results"]["resident"]


def staged(s, stage, people, name, sent=True):
    """A batch of @people written in @stage (not the inbox): the .p7m as
    sent, or the plain CSV; its path."""
    s.add_people(people)
    path = os.path.join(stage, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(people))
    if sent:
        path, _ = harness.as_sent(path)
    return path


def arrive(path, inbox):
    """The transfer's last step: rename the complete file into @inbox."""
    to = os.path.join(inbox, os.path.basename(path))
    os.rename(path, to)
    return os.path.basename(to)


def wait_for(cond, what, proc, timeout=20):
    deadline = time.time() + timeout
    while not cond():
        assert proc.poll() is None, "the watcher ended: %s" % (
            proc.communicate(),)
        assert time.time() < deadline, "timed out waiting: " + what
        time.sleep(0.05)


def quarantined(qdir):
    """{original name: reason} of what the watcher moved aside."""
    out = {}
    for n in os.listdir(qdir):
        if n.endswith(".reason"):
            continue
        stamp, _, name = n.partition("-")
        assert len(stamp) == 16 and stamp.endswith("Z"), n
        with open(os.path.join(qdir, n + ".reason")) as f:
            out[name] = f.read()
    return out


def watcher(s, inbox, qdir, extra=()):
    opts = harness.batch_pki().options() + [
        "--approved-until", harness.approved_until()]
    cmd = [harness.VERIFY_IMPORT, "--store", s.store, "--key", s.key,
           "--source", "household"] + opts + list(extra) + [
           "--watch", inbox, "--quarantine", qdir]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=harness.CLEAN_ENV)


def test_watch_imports_arrivals_and_quarantines_refusals(make_server):
    s = make_server()
    gen = People()
    work = s.workdir()
    inbox, qdir, stage = (os.path.join(work, n)
                          for n in ("inbox", "quarantine", "stage"))
    os.mkdir(inbox, 0o700)
    os.mkdir(qdir, 0o700)
    os.mkdir(stage, 0o700)
    first = gen.batch(3)
    # arrived while nobody watched: taken at start
    arrive(staged(s, stage, first, "first.csv"), inbox)
    s.start()
    proc = watcher(s, inbox, qdir)
    try:
        wait_for(lambda: not os.listdir(inbox), "the first batch", proc)
        assert resident(s, first[0]) is True

        # a plain CSV: refused, quarantined with its reason; carries on
        plain_people = gen.batch(2)
        name = arrive(staged(s, stage, plain_people, "plain.csv",
                             sent=False), inbox)
        wait_for(lambda: name in quarantined(qdir), "the quarantine", proc)
        assert "not a CMS encrypted" in quarantined(qdir)[name]
        assert resident(s, plain_people[0]) is False

        # a file still being written (a dot name) is not taken
        hidden = os.path.join(inbox, ".second.p7m.part")
        with open(hidden, "wb") as f:
            f.write(b"\x30\x82")
        # the next batch replaces the first; a copy kept to send again
        second = gen.batch(3)
        path = staged(s, stage, second, "second.csv")
        copy = os.path.join(stage, "again.p7m")
        shutil.copy(path, copy)
        arrive(path, inbox)
        wait_for(lambda: os.listdir(inbox) == [".second.p7m.part"],
                 "the second batch", proc)
        assert resident(s, second[0]) is True
        assert resident(s, first[0]) is False
        # the same batch again: a replay, refused and quarantined
        arrive(copy, inbox)
        wait_for(lambda: "again.p7m" in quarantined(qdir), "the replay",
                 proc)
        assert "the same file as the current household batch" in \
            quarantined(qdir)["again.p7m"]
        assert resident(s, second[0]) is True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "watch: stopped" in err
    assert os.path.exists(hidden)
    events = [json.loads(ln) for ln in out.splitlines()]
    assert [(e["op"], e["result"]) for e in events] == [
        ("import", "accepted"), ("import", "refused"),
        ("import", "accepted"), ("import", "refused")], events
    for p in first + second + plain_people:
        assert p.id not in out + err
    # every attempt is in the chain, as printed
    s.graceful()
    lines = [ln for ln in s.audit_lines() if ln.get("op") == "import"]
    assert [ln["event_id"] for ln in lines] == \
        [e["event_id"] for e in events]
    assert stat_mode(qdir) == 0o700


def stat_mode(path):
    return os.stat(path).st_mode & 0o7777


def test_watch_refuses_a_bad_setup(tmp_path):
    """--watch needs --quarantine, a quarantine closed to others on the
    inbox's file system, and no --keep-input or --dry-run."""
    d = str(tmp_path)
    key = harness.make_key_file(os.path.join(d, "k.key"))
    inbox, qdir = os.path.join(d, "in"), os.path.join(d, "q")
    os.mkdir(inbox, 0o700)
    os.mkdir(qdir, 0o750)
    base = [harness.VERIFY_IMPORT, "--store", os.path.join(d, "store"),
            "--key", key, "--source", "household", "--allow-plain"]

    def run(*args):
        return subprocess.run(base + list(args), capture_output=True,
                              text=True, env=harness.CLEAN_ENV, timeout=30)

    res = run("--watch", inbox)
    assert res.returncode == 2, res.stderr
    res = run("--watch", inbox, "--quarantine", qdir, "--keep-input")
    assert res.returncode == 2 and "--keep-input" in res.stderr
    res = run("--watch", inbox, "--quarantine", qdir, "file.csv")
    assert res.returncode == 2
    res = run("--watch", inbox, "--quarantine", qdir)
    assert res.returncode == 1 and "mode 0700" in res.stderr, res.stderr
    os.chmod(qdir, 0o700)
    res = run("--watch", os.path.join(d, "missing"), "--quarantine", qdir)
    assert res.returncode == 1 and "missing" in res.stderr
    assert not os.path.exists(os.path.join(d, "store", "current"))


def test_systemd_unit_verifies(tmp_path):
    """conf/verify-import-watch@.service as an instance, with ExecStart
    pointing at the built tool (the unit names it by its bare name, found
    in /usr/local/sbin or /usr/sbin once installed): systemd-analyze
    verify says nothing. Its man page comes with the package, so it is
    not looked up here."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze")
    text = open(UNIT).read()
    assert "\nExecStart=verify-import --watch /var/lib/verify/incoming/%i" \
        in text
    for opt in ("--quarantine", "--signer-ca", "--decrypt-cert",
                "--approved-until ${APPROVED_UNTIL}", "--source %i"):
        assert opt in text, opt
    unit = os.path.join(str(tmp_path), "verify-import-watch@household.service")
    with open(unit, "w") as f:
        f.write(text.replace("ExecStart=verify-import ",
                             "ExecStart=%s " % harness.VERIFY_IMPORT))
    res = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                         capture_output=True, text=True, timeout=60,
                         env=harness.CLEAN_ENV, cwd=str(tmp_path))
    assert res.returncode == 0 and res.stderr == "" and res.stdout == "", \
        res.stdout + res.stderr
