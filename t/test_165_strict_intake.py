"""Strict intake by default (R4.1.1-R4.1.3; issue 10 item 6).

A batch must be CMS-signed by the data provider, encrypted to the county
and carry --approved-until, unless --allow-plain (recorded; refused by a
store that requires signed batches); the current batch again, or one
signed before it, is refused unless --force (recorded); a batch with
another key than the store's is refused, naming both key checks; the
common mistakes get messages that name the fix; and an importer killed
between its commit and the destruction of its input leaves a record that
the next run finishes.

Every refusal goes through the real importer: a message that names the
fix, the input kept, the store unchanged (a real httpd answers from the
previous snapshot), and an import event recorded in the chain.
"""

import hashlib
import hmac
import json
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

import harness
from harness import People, fields_for

PENDING = "pending"
FLAG = "require-signed"
STRICT_FAULT = "rejected, store unchanged"


# -- helpers -------------------------------------------------------------

def csv_file(s, people, name="household.csv"):
    s.add_people(people)
    path = os.path.join(s.workdir(), name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(harness.household_csv(people))
    return path


def printed(res):
    """The event lines the importer printed (JSON), in order."""
    return [json.loads(ln) for ln in res.stdout.splitlines()
            if ln.startswith("{")]


def run(s, path, opts, key=None):
    return harness.run_import(s.store, key or s.key, path, extra=opts)


def current(s):
    return os.readlink(os.path.join(s.store, "current"))


def resident(s, p, case="STRICT-1"):
    r = s.post(fields_for(p, case=case))
    assert r.status == 200, r
    return r.json["results"]["resident"], r.json["as_of"]["household"]


def serving(make_server, n=4):
    """A started server answering from one batch imported the strict
    way; (server, People, the people, their as_of)."""
    s = make_server()
    gen = People()
    first = gen.batch(n)
    s.import_household(first)
    s.start()
    found, as_of = resident(s, first[0])
    assert found is True
    return s, gen, first, as_of


def refused(s, res, path, words, before, first, as_of, outsiders=()):
    """@res is a refusal: exit 1, a message with each of @words, the
    input kept, `current` still @before, httpd answering from it (the
    people of @first found, @outsiders not, as_of unchanged), and the
    attempt's event printed (and spooled). The event."""
    assert res.returncode == 1, res.stdout + res.stderr
    assert STRICT_FAULT in res.stderr, res.stderr
    for w in words:
        assert w in res.stderr, (w, res.stderr)
    assert os.path.exists(path), "a refused batch must be kept"
    assert current(s) == before, "the store changed"
    assert resident(s, first[0]) == (True, as_of)
    for p in outsiders:
        assert resident(s, p)[0] is False
    [ev] = printed(res)
    assert ev["op"] == "import" and ev["result"] == "refused", ev
    assert ev["input"] == "kept" and ev["fault"], ev
    return ev


def chain_imports(s):
    """The import lines of the chain, after a graceful restart drained
    the spool."""
    s.graceful()
    return [ln for ln in s.audit_lines() if ln.get("op") == "import"]


def key_check(key_path):
    """hex key check of a key file (data-formats.md §3), computed here
    independently of the tools."""
    secret = harness.read_secret(key_path)
    store_key = hmac.new(secret, b"mod_verify/store/v1",
                         hashlib.sha256).digest()
    return hmac.new(store_key, b"mod_verify/key-check/v1",
                    hashlib.sha256).digest()[:16].hex()


def meta(s, source="household"):
    """The batch metadata of @source in the published snapshot (bytes),
    read with mdb_dump from a copy."""
    env = harness.store_env_copy(s.store)
    res = subprocess.run(["mdb_dump", "-s", "meta", env],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    i = lines.index(" " + source.encode().hex())
    return bytes.fromhex(lines[i + 1].strip())


# -- the strict rules and --allow-plain ------------------------------------

def test_plain_batch_refused_unless_allow_plain(make_server):
    """A plain CSV is refused by default, naming --allow-plain; with it,
    taken, and the event and the store say so."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    second = gen.batch(4)
    path = csv_file(s, second)
    res = run(s, path, [])
    ev = refused(s, res, path, ["not encrypted", "--allow-plain",
                                "R4.1.3"], before, first, as_of, second)
    assert ev["plain"] is False and ev["encrypted"] is False
    assert ev["records"] is None, "refused before its records were read"

    res = run(s, path, ["--allow-plain"])
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert (ev["result"], ev["plain"], ev["encrypted"], ev["signer"],
            ev["signed_at"], ev["approved_until"], ev["forced"]) == \
        ("accepted", True, False, None, None, None, None), ev
    assert not os.path.exists(path)
    assert resident(s, second[0])[0] is True
    assert resident(s, first[0])[0] is False
    m = meta(s)
    assert len(m) == 110 and m[0] == 3 and m[109] == 1, m.hex()
    lines = chain_imports(s)
    assert [(ln["result"], ln["plain"]) for ln in lines] == \
        [("accepted", False), ("refused", False), ("accepted", True)]


def test_common_mistakes_name_the_fix(make_server):
    """Each layer missing or wrong, as an operator gets it wrong: the
    message names the option or the certificate that fixes it."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    pki = harness.batch_pki()
    d = s.workdir()
    # another CA's signer (same subject), another recipient of the
    # county CA, and a key that is not the import certificate's
    harness.new_ca(d, "rogue-ca", "Test Rogue CA")
    rogue_crt, rogue_key = harness.new_cert(
        d, "rogue", harness.PROVIDER_SUBJECT, "rogue-ca")
    shutil.copy(os.path.join(pki.dir, "county-ca.crt"), d)
    shutil.copy(os.path.join(pki.dir, "county-ca.key"), d)
    other_crt, other_key = harness.new_cert(
        d, "other", "/O=Test County/CN=Another recipient", "county-ca")
    people = gen.batch(3)
    until = ["--approved-until", harness.approved_until()]
    dec = ["--decrypt-cert", pki.import_crt, "--decrypt-key",
           pki.import_key]
    ca = ["--signer-ca", pki.provider_ca]

    def made(name, signer=True, encrypt_to=None, rogue=False):
        csv = csv_file(s, people, name + ".csv")
        f = csv
        if signer:
            f = harness.cms_sign(d, f, rogue_crt if rogue else
                                 pki.provider_crt, rogue_key if rogue else
                                 pki.provider_key, name + ".signed")
        if encrypt_to:
            f = harness.cms_encrypt(d, f, encrypt_to, name + ".p7m")
        return f

    cases = [
        # (file, options, words the message must hold)
        (made("signed-only"), ca + until,
         ["not encrypted", "signed CMS data", "--allow-plain"]),
        (made("unsigned", signer=False, encrypt_to=pki.import_crt),
         dec + until, ["not signed", "R4.1.1", "--allow-plain"]),
        (made("no-signer-ca", encrypt_to=pki.import_crt), dec + until,
         ["is signed", "no --signer-ca", "--signer-ca CA"]),
        (made("no-decrypt", encrypt_to=pki.import_crt), ca + until,
         ["is encrypted", "--decrypt-cert", "--decrypt-key"]),
        (made("no-until", encrypt_to=pki.import_crt), dec + ca,
         ["no --approved-until", "R4.1.2", "--approved-until YYYY-MM-DD"]),
        (made("wrong-ca", encrypt_to=pki.import_crt, rogue=True),
         dec + ca + until,
         ['issued by "/O=Test PKI/CN=Test Rogue CA"',
          "--signer-ca " + pki.provider_ca,
          '"/O=Test PKI/CN=Test Provider CA"']),
        (made("wrong-recipient", encrypt_to=other_crt), dec + ca + until,
         ["encrypted to another certificate",
          'issuer "/O=Test PKI/CN=Test County CA"',
          "--decrypt-cert " + pki.import_crt]),
        (made("wrong-key", encrypt_to=pki.import_crt),
         ["--decrypt-cert", pki.import_crt, "--decrypt-key", other_key]
         + ca + until, ["--decrypt-key " + other_key,
                        "is not the private key of --decrypt-cert"]),
    ]
    faults = []
    for path, opts, words in cases:
        res = run(s, path, opts)
        ev = refused(s, res, path, words, before, first, as_of, people)
        assert "UTF-8" not in res.stderr, res.stderr
        # the signer is named only once its signature was checked
        assert (ev["signer"] is None) == ("R4.1.2" not in words), ev
        faults.append(ev["fault"])
    # the serials of the two recipients tell them apart in the message
    wrong = cases[6][2]
    res = run(s, cases[6][0], cases[6][1])
    serial = subprocess.run(["openssl", "x509", "-noout", "-serial", "-in",
                             other_crt], capture_output=True, text=True,
                            env=harness.CLEAN_ENV).stdout.split("=")[1]
    assert "serial " + serial.strip() in res.stderr, (wrong, res.stderr)
    lines = chain_imports(s)
    assert [ln["result"] for ln in lines] == \
        ["accepted"] + ["refused"] * (len(cases) + 1)
    assert [ln["fault"] for ln in lines[1:len(cases) + 1]] == faults
    # names quoted from certificates stay out of the chain
    assert "Rogue" not in "".join(faults)
    assert "Test Provider CA" not in "".join(faults)


# -- replays --------------------------------------------------------------

def test_same_file_again_refused_unless_force(make_server):
    """The current batch sent again (the same .p7m, digest equal) is
    refused; --force takes it, and says so in the event."""
    s = make_server()
    gen = People()
    people = gen.batch(4)
    path, opts = harness.as_sent(csv_file(s, people))
    keep = os.path.join(s.workdir(), "copy.p7m")
    shutil.copy(path, keep)
    res = run(s, path, opts)
    assert res.returncode == 0, res.stderr
    [first_ev] = printed(res)
    s.start()
    before = current(s)
    as_of = resident(s, people[0])[1]
    time.sleep(1.05)                # as_of has one-second resolution
    res = run(s, keep, opts)
    ev = refused(s, res, keep, ["the same file as the current household "
                                "batch", first_ev["batch_id"], "--force"],
                 before, people, as_of)
    assert ev["sha256"] == first_ev["sha256"] and ev["forced"] is None

    res = run(s, keep, opts + ["--force"])
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert ev["forced"] == ["same_sha256"] and ev["result"] == "accepted"
    assert current(s) != before
    assert resident(s, people[0])[1] > as_of
    assert meta(s)[109] == 2, "the store records that a check was forced"
    assert [(ln["result"], ln["forced"]) for ln in chain_imports(s)] == \
        [("accepted", None), ("refused", None), ("accepted", ["same_sha256"])]


def test_older_batch_refused_unless_force(make_server):
    """A batch signed before the current one would put older data back:
    refused, naming both signing times; --force takes it."""
    s = make_server()
    gen = People()
    old_people, new_people = gen.batch(3), gen.batch(3)
    old, opts = harness.as_sent(csv_file(s, old_people, "old.csv"))
    time.sleep(1.1)                 # signing time: whole seconds
    new, _ = harness.as_sent(csv_file(s, new_people, "new.csv"))
    res = run(s, new, opts)
    assert res.returncode == 0, res.stderr
    [new_ev] = printed(res)
    s.start()
    before = current(s)
    as_of = resident(s, new_people[0])[1]
    res = run(s, old, opts)
    ev = refused(s, res, old, ["before the current household batch",
                               new_ev["batch_id"], new_ev["signed_at"],
                               "--force"],
                 before, new_people, as_of, old_people)
    assert ev["signed_at"] < new_ev["signed_at"], (ev, new_ev)
    assert "signed at %s" % ev["signed_at"] in res.stderr

    res = run(s, old, opts + ["--force"])
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert ev["forced"] == ["older_signing_time"], ev
    assert resident(s, old_people[0])[0] is True
    assert resident(s, new_people[0])[0] is False
    # a newer batch again needs nothing
    newest, _ = harness.as_sent(csv_file(s, gen.batch(2), "newest.csv"))
    res = run(s, newest, opts)
    assert res.returncode == 0, res.stderr


def test_signature_without_signing_time(make_server):
    """Without a signing time a batch cannot be ordered: refused unless
    --force."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    pki = harness.batch_pki()
    people = gen.batch(3)
    d = s.workdir()
    signed = harness.cms_sign(d, csv_file(s, people), pki.provider_crt,
                              pki.provider_key, "b.signed",
                              extra=["-noattr"])
    p7m = harness.cms_encrypt(d, signed, pki.import_crt, "b.p7m")
    opts = pki.options() + ["--approved-until", harness.approved_until()]
    res = run(s, p7m, opts)
    ev = refused(s, res, p7m, ["no signing time", "--force"], before,
                 first, as_of, people)
    assert ev["signer"] == harness.PROVIDER_SUBJECT and \
        ev["signed_at"] is None
    res = run(s, p7m, opts + ["--force"])
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert ev["forced"] == ["no_signing_time"] and ev["signed_at"] is None
    assert resident(s, people[0])[0] is True


# -- the store's key -------------------------------------------------------

def test_batch_with_another_key_refused(make_server):
    """The key given is not the one the store was made with: refused
    before anything is written, naming both key checks."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    other = harness.make_key_file(os.path.join(s.workdir(), "other.key"))
    people = gen.batch(3)
    path, opts = harness.as_sent(csv_file(s, people))
    res = run(s, path, opts, key=other)
    ev = refused(s, res, path, ["was made with another key",
                                key_check(s.key), key_check(other),
                                "--key " + other, "VerifyKeyFile"],
                 before, first, as_of, people)
    assert key_check(s.key) in ev["fault"], "both checks in the chain"
    res = run(s, path, opts)
    assert res.returncode == 0, res.stderr
    assert resident(s, people[0])[0] is True


# -- a store that requires signed batches --------------------------------

def test_store_requiring_signed_batches(make_server):
    """`--require-signed on` (recorded) makes the store refuse
    --allow-plain, even for a batch that is signed and encrypted;
    `off` lifts it (recorded); a planted flag is never taken as unset."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    res = subprocess.run([harness.VERIFY_IMPORT, "--store", s.store,
                          "--require-signed", "maybe"], capture_output=True,
                         text=True, env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 2 and "on or off" in res.stderr, res.stderr
    res = subprocess.run([harness.VERIFY_IMPORT, "--store", s.store,
                          "--require-signed", "on"], capture_output=True,
                         text=True, env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert (ev["op"], ev["require_signed"], ev["previous"],
            ev["store"]) == ("intake_policy", True, False, s.store), ev
    flag = os.path.join(s.store, FLAG)
    st = os.lstat(flag)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()
    assert stat.S_IMODE(st.st_mode) == 0o640, oct(st.st_mode)
    assert "--allow-plain" in open(flag).read()

    people = gen.batch(3)
    plain = csv_file(s, people, "plain.csv")
    res = run(s, plain, ["--allow-plain"])
    refused(s, res, plain, ["requires signed and encrypted batches",
                            "--allow-plain is refused"], before, first,
            as_of, people)
    sent, opts = harness.as_sent(csv_file(s, people, "sent.csv"))
    res = run(s, sent, opts + ["--allow-plain"])
    refused(s, res, sent, ["--allow-plain is refused"], before, first,
            as_of, people)
    res = run(s, sent, opts)
    assert res.returncode == 0, res.stderr
    assert resident(s, people[0])[0] is True
    before = current(s)
    as_of = resident(s, people[0])[1]

    res = subprocess.run([harness.VERIFY_IMPORT, "--store", s.store,
                          "--require-signed", "off"], capture_output=True,
                         text=True, env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    [ev] = printed(res)
    assert (ev["require_signed"], ev["previous"]) == (False, True)
    assert not os.path.lexists(flag)
    # a flag replaced by a link is refused, not taken as "not set"
    os.symlink("/etc/hostname", flag)
    res = run(s, plain, ["--allow-plain"])
    refused(s, res, plain, ["require-signed"], before, people, as_of)
    os.unlink(flag)
    res = run(s, plain, ["--allow-plain"])
    assert res.returncode == 0, res.stderr

    s.graceful()
    ops = [(ln["op"], ln.get("result"), ln.get("require_signed"))
           for ln in s.audit_lines()
           if ln.get("op") in ("import", "intake_policy")]
    assert ops == [("import", "accepted", None),
                   ("intake_policy", None, True),
                   ("import", "refused", None), ("import", "refused", None),
                   ("import", "accepted", None),
                   ("intake_policy", None, False),
                   ("import", "refused", None),
                   ("import", "accepted", None)], ops


# -- killed between the commit and the destruction ------------------------

# Where the importer is killed (SIGKILL injected by strace as it enters a
# syscall on a path): (syscall, on what, what is left of the input).
KILL_POINTS = {
    # LMDB's commit of the new snapshot: nothing published
    "before-commit": ("fdatasync", None, "intact"),
    # the first write of zeros: published, the input intact
    "before-wipe": ("pwrite64", "input", "intact"),
    # the sync after the zeros: published, the input zero-filled
    "wiped": ("fsync", "input", "zeros"),
    # the sync of the spool after the import's event: published,
    # destroyed and recorded, only the record of the pending
    # destruction is left
    "recorded": ("fsync", "events", "gone"),
}


def killed_import(s, path, opts, point):
    syscall, on, _ = KILL_POINTS[point]
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null"]
    if on == "input":
        cmd += ["-P", path]
    elif on == "events":
        cmd += ["-P", harness.spool_dir(s.store)]
    cmd += ["-e", "trace=" + syscall, "-e",
            "inject=%s:signal=SIGKILL:when=1" % syscall,
            harness.VERIFY_IMPORT, "--store", s.store, "--key", s.key,
            "--source", "household"] + opts + [path]
    res = subprocess.run(cmd, capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=120)
    assert res.returncode == -signal.SIGKILL, (res.returncode, res.stderr)
    return res


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_killed_import_finished_by_the_next_run(make_server, point):
    """kill -9 between the commit and the end of the destruction: a
    record says the destruction is pending, and the next run of the
    importer (an import, or --require-signed) destroys what the path
    still holds of the input, says so and records it; killed before
    the commit, the input is left as it was and the record goes."""
    s, gen, first, as_of = serving(make_server)
    before = current(s)
    people = gen.batch(3)
    path, opts = harness.as_sent(csv_file(s, people))
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        original = f.read()
    killed_import(s, path, opts, point)
    left = KILL_POINTS[point][2]
    committed = point != "before-commit"
    [record] = os.listdir(os.path.join(s.store, PENDING))
    st = os.stat(os.path.join(s.store, PENDING, record))
    assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600
    batch_id = record[:-len(".json")]
    if left == "gone":
        assert not os.path.exists(path)
    else:
        with open(path, "rb") as f:
            data = f.read()
        assert data == (original if left == "intact" else b"\0" * size)
    # httpd answers from the new batch once it was committed, else from
    # the previous one
    assert (current(s) != before) == committed
    assert resident(s, people[0])[0] is committed
    assert resident(s, first[0])[0] is not committed

    # the next run
    if point == "wiped":
        res = subprocess.run([harness.VERIFY_IMPORT, "--store", s.store,
                              "--require-signed", "off"],
                             capture_output=True, text=True,
                             env=harness.CLEAN_ENV, timeout=60)
        next_op = "intake_policy"
    else:
        nxt, nopts = harness.as_sent(csv_file(s, gen.batch(2), "next.csv"))
        res = run(s, nxt, nopts)
        next_op = "import"
    assert res.returncode == 0, res.stderr
    assert os.listdir(os.path.join(s.store, PENDING)) == []
    [rec, ev] = printed(res)
    assert ev["op"] == next_op
    assert (rec["op"], rec["committed"], rec["batch_id"], rec["file"]) == \
        ("import_recovery", committed, batch_id, path), rec
    assert rec["sha256"] == hashlib.sha256(original).hexdigest()
    assert rec["import_user"] and rec["user"] and rec["pending_since"]
    assert "interrupted" in res.stderr and path in res.stderr, res.stderr
    if not committed:
        assert rec["input"] == "kept" and rec["records"] is None
        assert "before its commit" in res.stderr
        with open(path, "rb") as f:
            assert f.read() == original, "an input not imported was touched"
    else:
        assert not os.path.exists(path), "the input was not destroyed"
        assert rec["input"] == ("already gone" if left == "gone"
                                else "destroyed"), rec
        assert rec["records"] == len(people) and rec["imported_at"]
        assert "after its commit" in res.stderr
        if left == "zeros":
            assert "partly overwritten" in res.stderr
    s.graceful()
    ops = [ln["op"] for ln in s.audit_lines()
           if ln.get("op") in ("import", "import_recovery",
                               "intake_policy")]
    # the killed run recorded its import only at the last point
    assert ops == ["import"] + (["import"] if left == "gone" else []) + \
        ["import_recovery", next_op], ops
