"""Administrative events in the audit chain (issue 7, item 8; item 10's
duplicate import lines): every import attempt, accepted or refused, every
change of the client register, every purge, recorded when it happens.

The root tools leave one file per event in the spool <VerifyStore>/events
(root 0700); the httpd parent writes them into the chain, in order, at
every start and graceful restart (right after the start line). Everything
here runs the real tools against a real httpd: verify-import, verify-audit
purge, graceful restarts, full restarts with the register changed while the
server was down, and entries planted in the spool that must be refused
without being followed.
"""

import hashlib
import json
import os
import shutil
import stat
import threading
import time

import pytest

import harness
from harness import People, fields_for, mask_id
from test_160_cms import pki, sign, encrypt, import_cms  # noqa: F401
from test_185_auditor_more import synthetic_log

needs_root = pytest.mark.skipif(not harness.IS_ROOT,
                                reason="ownership needs root")

EVENT_OPS = ("import", "register", "purge", "spool_refused")


# -- helpers ----------------------------------------------------------

def events(s, op=None):
    return [ln for ln in s.audit_lines()
            if ln.get("op") in ((op,) if op else EVENT_OPS)]


def body_of(line):
    """The members of a chain line between ts and prev, as text."""
    raw = line.raw.decode("utf-8")
    return raw[raw.index(',"op":'):raw.index(',"prev":')]


def printed(res):
    """The event line a tool printed on stdout."""
    return [ln for ln in res.stdout.splitlines() if ln.startswith("{")][-1]


def write_batch(s, text, name="batch.csv"):
    path = os.path.join(s.workdir(), name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def import_text(s, text, extra=(), ok=True):
    """Import @text as the data provider sends it (signed, encrypted)."""
    path, opts = harness.as_sent(write_batch(s, text), extra)
    res = harness.run_import(s.store, s.key, path, extra=opts)
    assert (res.returncode == 0) == ok, res.stdout + res.stderr
    return res


def current(store):
    return os.readlink(os.path.join(store, "current"))


def spool(s):
    return harness.spool_dir(s.store)


def check_chain(s):
    lines = s.audit_lines()
    problems = harness.chain_problems(lines) + \
        harness.line_format_problems(lines)
    assert problems == [], "\n".join(problems[:20])
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
    return lines


def no_masked_ids(s, people):
    """Not even the masked ID of anyone in a batch is in an event line."""
    text = "\n".join(ln.raw.decode("utf-8") for ln in events(s))
    for p in people:
        assert mask_id(p.id) not in text, mask_id(p.id)


# -- imports, accepted and refused --------------------------------------

def test_refused_imports_leave_events(make_server, pki):  # noqa: F811
    """A refused batch (a bad record, a header that is a name, a
    duplicate ID, a bad signature) leaves the store as it was and an
    event the next drain writes into the chain: what was refused, the
    digest of the input, the user, and a fault that names the line but
    never what the batch held (not even a masked ID)."""
    s = make_server()
    gen = People()
    first = gen.batch(5)
    s.import_household(first)
    s.start()
    snap = current(s.store)
    bad = gen.batch(4)
    s.add_people(bad)
    wrong = harness.bad_checksum(bad[2].id)
    s.add_secret(wrong)
    results = []
    # a bad record on data line 3 (line 4 of the file)
    text = harness.household_csv(bad).replace(bad[2].id, wrong)
    results.append(("line 4: invalid id", import_text(s, text, ok=False)))
    # no header: the first line is data, and its name is not echoed
    s.add_secret("Chen Mei Ling")
    text = "Chen Mei Ling,%s,1970-01-02,\n" % bad[0].id
    results.append(("line 1: header: unknown column",
                    import_text(s, text, ok=False)))
    # the same person twice
    text = harness.household_csv(bad + bad[:1])
    results.append(("duplicate ID", import_text(s, text, ok=False)))
    # signed by a certificate of another CA
    d = s.workdir()
    csv = write_batch(s, harness.household_csv(bad))
    p7m = encrypt(d, sign(d, csv, pki.rogue_crt, pki.rogue_key),
                  pki.import_crt)
    digest = harness.hashlib.sha256(open(p7m, "rb").read()).hexdigest()
    res = import_cms(s, p7m, pki)
    assert res.returncode != 0 and os.path.exists(p7m), res.stderr
    results.append(("signature", res))

    assert current(s.store) == snap, "the store is untouched"
    waiting = harness.spooled_events(s.store)
    assert [e["result"] for e in waiting] == ["refused"] * 4, waiting
    s.graceful()
    imp = events(s, "import")
    assert len(imp) == 5 and imp[0]["result"] == "accepted"
    for (why, res), line in zip(results, imp[1:]):
        assert line["result"] == "refused" and line["input"] == "kept"
        assert why in line["fault"], (why, line["fault"])
        assert "(id " not in line["fault"]
        assert line["batch_id"] is None and line["imported_at"] is None
        assert line["user"], line
        assert printed(res) == "{" + body_of(line)[1:] + "}", \
            "the chain's line is what the tool printed"
    assert imp[1]["records"] is None and imp[3]["records"] == 5, \
        "records counted once the batch was read"
    assert "Chen" not in imp[2]["fault"] and '"\u2026"' in imp[2]["fault"]
    assert imp[4]["sha256"] == digest and imp[4]["signer"] is None
    assert "signature check failed" in imp[4]["fault"]
    assert harness.spooled_events(s.store) == []
    no_masked_ids(s, bad + first)
    check_chain(s)


def test_accepted_import_event(make_server, mpm, pki):  # noqa: F811
    """An accepted import: source, batch, records, the digest of the
    file as received, the signer, the period, the input destroyed, the
    login user; in the chain after the next drain, once."""
    s = make_server(mpm=mpm)
    gen = People()
    s.import_household(gen.batch(3))
    s.start()
    people = gen.batch(6)
    s.add_people(people)
    d = s.workdir()
    csv = write_batch(s, harness.household_csv(people))
    p7m = encrypt(d, sign(d, csv, pki.provider_crt, pki.provider_key),
                  pki.import_crt)
    os.unlink(csv)
    digest = harness.hashlib.sha256(open(p7m, "rb").read()).hexdigest()
    until = (harness.today_taipei() + harness.datetime.timedelta(days=30))
    res = import_cms(s, p7m, pki, extra=["--approved-until",
                                         until.isoformat()])
    assert res.returncode == 0, res.stderr
    ev = json.loads(printed(res))
    r = s.post(fields_for(people[0]))
    assert r.status == 200 and r.json["results"] == {"resident": True}
    s.graceful()
    [_, line] = events(s, "import")
    assert (line["result"], line["source"], line["batch_id"],
            line["records"], line["sha256"], line["imported_at"],
            line["approved_until"], line["input"], line["event_id"]) == \
        ("accepted", "household", ev["batch_id"], 6, digest,
         r.json["as_of"]["household"], until.isoformat(), "destroyed",
         ev["event_id"])
    assert line["signer"].endswith("CN=Test Household Registration Office")
    assert line["user"] == ev["user"] and line["at"] <= line["ts"]
    # the line comes after the graceful restart's start line
    lines = s.audit_lines()
    i = [x.raw for x in lines].index(line.raw)
    assert lines[i - 1]["op"] == "start" and lines[i - 1]["generation"] == 2
    s.graceful()
    assert len(events(s, "import")) == 2, "written once"
    check_chain(s)


def test_events_in_order_across_restarts(make_server, mpm):
    """Imports made while the server is down are written at its start,
    right after the start line; those made while it runs at the next
    graceful restart; always in the order they happened, each once."""
    s = make_server(mpm=mpm)
    gen = People()
    expect = []
    for k in range(3):
        people = gen.batch(2 + k)
        if k == 1:
            res = s.import_household(people, check=False,
                                     extra_lines=[(1, "A,B,C,D")])
        else:
            res = s.import_household(people)
        expect.append(json.loads(printed(res))["event_id"])
    s.start()
    lines = s.audit_lines()
    assert [ln["op"] for ln in lines[:5]] == ["start", "import", "import",
                                              "import", "register"]
    assert [ln["event_id"] for ln in lines[1:4]] == expect
    assert [ln["result"] for ln in lines[1:4]] == ["accepted", "refused",
                                                   "accepted"]
    more = []
    for k in range(4):
        res = s.import_household(gen.batch(2))
        more.append(json.loads(printed(res))["event_id"])
    assert [e["event_id"] for e in harness.spooled_events(s.store)] == more
    s.graceful()
    imp = events(s, "import")
    assert [ln["event_id"] for ln in imp] == expect + more
    assert [ln["at"] for ln in imp] == sorted(ln["at"] for ln in imp)
    assert os.listdir(spool(s)) == ["register.state"]
    check_chain(s)


# -- the client register --------------------------------------------------

def register_lines(s):
    return events(s, "register")


CHECK_ORDER = ["resident", "indigenous", "elderly_alone", "disability",
               "identity"]


def register_digest(lines):
    """The register's digest from its VerifyClient lines, as
    data-formats.md section 5 defines it (lines without cert-sha256 or
    rate here)."""
    entries = {}
    for line in lines:
        name, *items = line.split()
        kv = dict(i.split("=", 1) for i in items)
        checks = [c for c in CHECK_ORDER if c in kv["checks"].split(",")]
        canon = "%s ip=%s checks=%s approval=%s valid=%s" % (
            name, kv["ip"], ",".join(checks), kv["approval"], kv["valid"])
        entries.setdefault(name, []).append(canon)
    text = "".join("%s %s\n" % (n, hashlib.sha256(
        "\n".join(entries[n]).encode()).hexdigest()) for n in sorted(entries))
    return hashlib.sha256(text.encode()).hexdigest()


def test_register_changes(make_server):
    """The first start records the register; a graceful restart records
    what changed (added, removed, changed, by name); an unchanged one
    records nothing; a change made while the server was down is
    recorded at its start. No address, approval or certificate is in
    the line: names and digests only."""
    s = make_server()
    s.import_household(People().batch(2))
    s.start()
    [first] = register_lines(s)
    assert first["previous"] is None and first["clients"] == 3
    assert first["digest"] == register_digest(harness.DEFAULT_CLIENTS), \
        "the digest an auditor computes from the register file"
    assert first["added"] == ["narrow", "oldsys", "testsys"]
    assert first["removed"] == [] and first["changed"] == []

    s.graceful()
    assert len(register_lines(s)) == 1, "no change, no line"

    s.clients = [c for c in s.clients if not c.startswith("narrow")]
    s.clients = [c.replace("APP-2019-007", "APP-2019-008") for c in
                 s.clients]
    s.clients.append("newsys ip=127.0.0.9 checks=resident approval=APP-9 "
                     "valid=2020-01-01..2099-12-31")
    s.write_conf()
    s.graceful()
    [_, second] = register_lines(s)
    assert (second["added"], second["removed"], second["changed"]) == \
        (["newsys"], ["narrow"], ["oldsys"])
    assert second["previous"] == first["digest"] != second["digest"]
    assert second["digest"] == register_digest(s.clients)
    assert second["clients"] == 3

    # changed while the server is down: recorded at start
    s.stop()
    s.clients = [c for c in s.clients if not c.startswith("newsys")]
    s.start()
    lines = s.audit_lines()
    third = register_lines(s)[-1]
    assert lines[-1].raw == third.raw and lines[-2]["op"] == "start"
    assert lines[-2]["generation"] == 1
    assert (third["added"], third["removed"], third["changed"]) == \
        ([], ["newsys"], [])
    assert third["previous"] == second["digest"]
    # going back to an earlier register: the same digest as then
    s.clients = list(harness.DEFAULT_CLIENTS)
    s.write_conf()
    s.graceful()
    assert register_lines(s)[-1]["digest"] == first["digest"]

    for ln in register_lines(s):
        text = ln.raw.decode()
        assert "127.0.0" not in text and "APP-" not in text, text
    st = os.stat(os.path.join(spool(s), "register.state"))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    check_chain(s)


def test_register_state_damaged(make_server):
    """A register state that cannot be read back is said (VFY105) and
    the register recorded in full, never silently taken as unchanged."""
    s = make_server()
    s.import_household(People().batch(2))
    s.start()
    state = os.path.join(spool(s), "register.state")
    text = open(state).read()
    with open(state, "w") as f:
        f.write(text.replace("client narrow", "client narrov"))
    s.expect_log(r"VFY105: the register state .* is not usable")
    s.graceful()
    [first, again] = register_lines(s)
    assert again["previous"] is None and again["added"] == first["added"]
    assert again["digest"] == first["digest"]
    s.graceful()
    assert len(register_lines(s)) == 2, "the state was written anew"


# -- purges ------------------------------------------------------------------

def test_purge_events(make_server, tmp_path):
    """verify-audit purge leaves its event in the spool it is given (the
    server's <VerifyStore>/events): a purge done, and one refused, both
    reach the chain at the next drain; a dry run is not an event; a
    purge without a usable spool is not made."""
    s = make_server()
    s.import_household(People().batch(2))
    s.start()
    d = str(tmp_path / "old-audit")
    today = harness.today_taipei().isoformat()
    chain = synthetic_log(d, ["2015-01-01", "2015-01-02", today])
    res = harness.run_audit_tool("purge", "--before", "2015-01-02",
                                 "--events", spool(s), "--dry-run", d)
    assert res.returncode == 0 and harness.spooled_events(s.store) == []
    res = harness.run_audit_tool("purge", "--before", today, "--events",
                                 spool(s), d)
    assert res.returncode == 1 and "5 years" in res.stderr
    res = harness.run_audit_tool("purge", "--before", "2015-01-02",
                                 "--events", spool(s), d)
    assert res.returncode == 0, res.stderr
    # a spool that is not the server's (not root 0700): no purge
    loose = str(tmp_path / "loose")
    os.mkdir(loose, 0o755)
    res = harness.run_audit_tool("purge", "--before", "2015-01-03",
                                 "--events", loose, d)
    assert res.returncode == 1 and "could not be recorded" in res.stderr
    assert "audit-2015-01-02.jsonl" in os.listdir(d)

    s.graceful()
    [refused, done] = events(s, "purge")
    assert (refused["result"], refused["files"], refused["audit_dir"],
            refused["before"]) == ("refused", 0, d, today)
    assert "5 years" in refused["fault"]
    assert (done["result"], done["files"], done["purged_through"],
            done["last_seq"], done["last_hash"], done["checkpoint"]) == \
        ("purged", 1, "2015-01-01", chain[1][0], chain[1][1],
         "purged-through-2015-01-01.json")
    assert done["user"] and "fault" not in done.obj
    check_chain(s)


# -- what else may be found in the spool ----------------------------------

def plant_file(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


@needs_root
def test_hostile_spool_entries(make_server, tmp_path):
    """Whatever is in the spool besides the tools' event files is
    refused, never followed or opened, moved to refused/, said in the
    error log (VFY102) and recorded in the chain (spool_refused); the
    events around it are written in order; a FIFO does not hang the
    restart."""
    s = make_server()
    gen = People()
    s.import_household(gen.batch(2))
    s.start()
    sp = spool(s)
    res = s.import_household(gen.batch(2))
    good = json.loads(printed(res))
    good_raw = open(os.path.join(sp, good["event_id"] + ".json")).read()
    # a secret outside the spool, which a link must not lead root to
    secret_dir = str(tmp_path / "secret")
    os.mkdir(secret_dir, 0o700)
    target = os.path.join(secret_dir, "target")
    victim = gen.person()
    s.add_people([victim])
    plant_file(target, good_raw.replace(good["batch_id"], victim.id))
    before = os.stat(target)
    t = "20200101T000000.000000Z-00%02d.json"
    os.symlink(target, os.path.join(sp, t % 1))
    os.mkfifo(os.path.join(sp, t % 2), 0o600)
    plant_file(os.path.join(sp, t % 3), good_raw)          # id != name
    plant_file(os.path.join(sp, t % 4),
               "garbage %s %s\n" % (victim.id, victim.name))
    plant_file(os.path.join(sp, t % 5), good_raw, 0o644)
    www = os.path.join(sp, t % 6)
    plant_file(www, good_raw.replace(good["event_id"], (t % 6)[:-5]))
    shutil.chown(www, harness.RUN_USER, harness.RUN_USER)
    os.mkdir(os.path.join(sp, t % 7))
    plant_file(os.path.join(sp, "notes.txt"), "x\n")
    planted = sorted([t % k for k in range(1, 8)] + ["notes.txt"])
    res = s.import_household(gen.batch(2))
    later = json.loads(printed(res))

    s.expect_log(r"VFY102: refused ")
    t0 = time.time()
    s.graceful()
    assert time.time() - t0 < 20
    refused = events(s, "spool_refused")
    assert len(refused) == len(planted), [ln.obj for ln in refused]
    kept = sorted(os.listdir(os.path.join(sp, "refused")))
    assert sorted(ln["kept_as"] for ln in refused) == \
        ["refused/" + k for k in kept]
    log = s.error_log_text()
    for name in planted:
        assert "VFY102: refused %s " % name in log, name
    whys = " | ".join(ln["fault"] for ln in refused)
    for why in ("symbolic link", "FIFO", "event_id is not its name",
                "first member is op", "group or others", "owned by uid",
                "a directory", "not an event file's name"):
        assert why in whys, (why, whys)
    # the link moved, its target neither changed nor read into the chain
    assert os.stat(target).st_mtime == before.st_mtime
    moved = [os.path.join(sp, "refused", k) for k in kept]
    assert any(os.path.islink(m) for m in moved)
    assert any(stat.S_ISFIFO(os.lstat(m).st_mode) for m in moved)
    # the real events: written in order, around the refusals
    imp = events(s, "import")
    assert [ln["event_id"] for ln in imp[-2:]] == [good["event_id"],
                                                  later["event_id"]]
    assert sorted(os.listdir(sp)) == ["refused", "register.state"]
    # nothing is said twice: the next drain finds nothing
    s.graceful()
    assert len(events(s, "spool_refused")) == len(planted)
    check_chain(s)


def test_unsafe_spool_refused(make_server):
    """A spool others may read is refused by configtest (VFY100), by the
    importer (store unchanged) and by purge; fixed, all is well again."""
    s = make_server()
    s.import_household(People().batch(2))
    s.start()
    snap = current(s.store)
    os.chmod(spool(s), 0o755)
    res = s.configtest()
    assert res.returncode != 0 and "VFY100" in res.stdout + res.stderr
    res = s.import_household(People().batch(2), check=False)
    assert res.returncode == 1 and "could not be recorded" in res.stderr
    assert "0755" in res.stderr and current(s.store) == snap
    os.chmod(spool(s), 0o700)
    assert s.configtest().returncode == 0
    s.import_household(People().batch(2))
    s.graceful()
    assert len(events(s, "import")) == 2


# -- no personal data, one line per batch -----------------------------------

@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_one_import_line_per_batch(make_server, mpm):
    """12 batches imported while clients ask without pause, their
    answers coming from children on old and new snapshots alike: exactly
    one import line per batch (before, children alternating between
    snapshots wrote 50 lines for 12 batches), and every answer's as_of
    is the import time of a recorded batch."""
    s = make_server(mpm=mpm)
    gen = People()
    person = gen.person()
    s.import_household([person] + gen.batch(3))
    s.start()
    stop = threading.Event()
    as_of, bad = set(), []
    lock = threading.Lock()

    def ask(k):
        n = 0
        while not stop.is_set():
            n += 1
            r = s.post(fields_for(person, case="ONE-%d-%d" % (k, n)))
            with lock:
                if r.status != 200:
                    bad.append(r)
                else:
                    as_of.add(r.json["as_of"]["household"])

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    ids = []
    try:
        for k in range(12):
            res = s.import_household([person] + gen.batch(2))
            ids.append(json.loads(printed(res))["batch_id"])
            time.sleep(0.15)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not bad, bad[:3]
    assert len(as_of) > 3, "answers came from several batches"
    s.graceful()
    imp = events(s, "import")
    assert len(imp) == 13, len(imp)
    assert [ln["batch_id"] for ln in imp[1:]] == ids
    assert len({ln["batch_id"] for ln in imp}) == 13
    assert as_of <= {ln["imported_at"] for ln in imp}, as_of
    check_chain(s)
