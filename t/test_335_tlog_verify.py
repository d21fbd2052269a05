"""Signed checkpoints in the log, as the auditor checks them (issue 7,
items 2 and 3): `verify-audit pubkey` prints the verifier key of an
`openssl genpkey` key, and `verify --verifier` checks every checkpoint
line (signature, key, origin, the line's members against its note, size
below its own seq and never going back, root against the log's tree)
and reports the lines after the newest checkpoint as an unsigned tail.

The logs are built without a server by harness.tlog (sealed as the
module seals lines, signed from the C2SP texts with python3-cryptography);
keys and roots are checked again with t/tlogref.py."""

import base64
import json
import os
import re
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

import harness
import tlogref
from harness.tlog import ORIGIN, LogBuilder, SigningKey, reseal

UNSAFE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f"
                       "\u202a-\u202e\u2066-\u2069]")


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


def out(res):
    return res.stdout + res.stderr


def built(n=3, tail=2):
    """A log of two days: n checkpoints, each after a few queries (the
    first at start), and @tail queries after the last one."""
    b = LogBuilder()
    b.queries(4)
    b.checkpoint(reason="start")
    for i in range(1, n):
        b.queries(3 + i)
        if i == n // 2:
            b.next_day()
            b.checkpoint(reason="day")
        else:
            b.checkpoint()
    b.queries(tail)
    return b


def tree_line(res):
    m = re.search(r"^tree: size (\d+) root (\S+)(?: \(.*\))?$", res.stdout,
                  re.M)
    assert m, out(res)
    return int(m.group(1)), tlogref.b64decode_strict(m.group(2))


# -- pubkey --------------------------------------------------------------

def genpkey(path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    str(path)], check=True, capture_output=True,
                   env=harness.CLEAN_ENV)
    os.chmod(path, 0o600)
    return str(path)


def test_pubkey_of_an_openssl_key(tmp_path):
    key = genpkey(tmp_path / "checkpoint.pem")
    res = run("pubkey", "--key", key, "--origin", ORIGIN)
    assert res.returncode == 0, out(res)
    vkey = res.stdout.strip()
    assert res.stdout == vkey + "\n"
    pem = subprocess.run(["openssl", "pkey", "-in", key, "-pubout"],
                         check=True, capture_output=True).stdout
    raw = tlogref.raw_public(tlogref.public_from_pem(pem))
    assert vkey == tlogref.vkey(ORIGIN, raw)
    name, _, public = tlogref.parse_vkey(vkey)
    assert name == ORIGIN and public == raw
    # a log signed with that key (here by Python) verifies with it
    private = serialization.load_pem_private_key(
        open(key, "rb").read(), password=None)
    b = LogBuilder(key=SigningKey(ORIGIN, private))
    b.queries(3)
    b.checkpoint()
    res = run("verify", "--verifier", vkey, b.write(tmp_path / "log"))
    assert res.returncode == 0, out(res)
    # another origin is another key name: another key id
    res = run("pubkey", "--key", key, "--origin", "other.example/verify-audit")
    assert res.returncode == 0
    assert res.stdout.strip() == tlogref.vkey("other.example/verify-audit",
                                              raw)


def test_pubkey_of_the_builders_key(tmp_path):
    k = SigningKey()
    res = run("pubkey", "--key", k.write_pem(tmp_path / "k.pem"),
              "--origin", ORIGIN)
    assert res.returncode == 0 and res.stdout == k.verifier + "\n"


def test_pubkey_refusals(tmp_path):
    key = genpkey(tmp_path / "k.pem")
    res = run("pubkey", "--key", key)
    assert res.returncode == 2 and "--origin NAME" in res.stderr
    res = run("pubkey", "--origin", ORIGIN)
    assert res.returncode == 2 and "--key FILE" in res.stderr
    for bad in ("a b", "a+b", "", "x\x1b[2Jy", "x\u202ey"):
        res = run("pubkey", "--key", key, "--origin", bad)
        assert res.returncode == 2, (bad, out(res))
        assert "cannot name a key" in res.stderr
        assert not UNSAFE_RE.search(out(res)), repr(out(res))
    res = run("pubkey", "--key", key, "--origin", ORIGIN, str(tmp_path))
    assert res.returncode == 2 and "takes no files" in res.stderr
    os.chmod(key, 0o644)
    res = run("pubkey", "--key", key, "--origin", ORIGIN)
    assert res.returncode == 1 and "readable by group or others" in \
        res.stderr
    os.chmod(key, 0o600)
    rsa = tmp_path / "rsa.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "rsa", "-out",
                    str(rsa)], check=True, capture_output=True)
    os.chmod(rsa, 0o600)
    res = run("pubkey", "--key", rsa, "--origin", ORIGIN)
    assert res.returncode == 1 and "not Ed25519" in res.stderr
    res = run("pubkey", "--key", tmp_path / "none.pem", "--origin", ORIGIN)
    assert res.returncode == 1 and "cannot open" in res.stderr


# -- verify --verifier: a sound log ----------------------------------------

def test_sound_log_with_unsigned_tail(tmp_path):
    b = built(n=4, tail=3)
    log = b.write(tmp_path / "log")
    res = run("verify", "--verifier", b.key.verifier, log)
    assert res.returncode == 0, out(res)
    last = b.notes[-1][0]
    assert "checkpoints: 4 of 4 line(s) sound" in res.stdout
    assert "signed by %s+%s (4)" % (ORIGIN, b.key.key_id.hex()) in res.stdout
    # the tail: every line after the newest checkpoint's size, the
    # checkpoint line itself included
    assert ("WARNING: unsigned tail: seq %d..%d (%d line(s)"
            % (last + 1, b.size, b.size - last)) in res.stdout
    verdict = res.stdout.splitlines()[-1]
    assert verdict.startswith("OK: %d lines in 2 file(s)" % b.size)
    assert ("signed through seq %d, seq %d..%d (%d line(s)) NOT yet signed"
            % (last, last + 1, b.size, b.size - last)) in verdict
    size, root = tree_line(res)
    assert size == b.size and root == tlogref.Tree(b.lines).root(size)


def test_without_verifier_checkpoints_not_checked(tmp_path):
    b = built()
    # even a checkpoint with a bad signature: nothing is checked
    b.checkpoint(note=flip_signature(b.note()))
    res = run("verify", b.write(tmp_path / "log"))
    assert res.returncode == 0, out(res)
    assert ("checkpoints: NOT checked (no --verifier given): 4 checkpoint "
            "line(s)") in res.stdout
    assert re.search(r"^OK: .*chain intact, head [0-9a-f]{64}$",
                     res.stdout, re.M)


def test_verifier_key_file_and_rotation(tmp_path):
    """Checkpoints signed by an old key, then a new one (same origin):
    both keys are needed, as strings or in one file."""
    old, new = SigningKey(), SigningKey()
    b = LogBuilder(key=old)
    b.queries(3)
    b.checkpoint()
    b.queries(2)
    b.checkpoint()
    b.key = new
    b.queries(2)
    b.checkpoint(reason="restart")
    log = b.write(tmp_path / "log")
    res = run("verify", "--verifier", old.verifier, "--verifier",
              new.verifier, log)
    assert res.returncode == 0, out(res)
    assert "%s+%s (2), %s+%s (1)" % (ORIGIN, old.key_id.hex(), ORIGIN,
                                     new.key_id.hex()) in res.stdout
    keys = tmp_path / "keys"
    keys.write_text("%s\n\n%s  \r\n" % (new.verifier, old.verifier))
    res = run("verify", "--verifier", keys, log)
    assert res.returncode == 0, out(res)
    # only the new key: the old checkpoints are not signed by a key given
    res = run("verify", "--verifier", new.verifier, log)
    assert res.returncode == 1
    assert re.search(r"audit-2026-12-01\.jsonl:4: BAD CHECKPOINT at seq 4: "
                     r"the note does not verify: the note has no signature "
                     r"by %s\+%s" % (re.escape(ORIGIN), new.key_id.hex()),
                     res.stdout), res.stdout
    assert res.stdout.splitlines()[-1].startswith("FAILED: ")


def test_verifier_argument_refusals(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    for bad in ("nokey", b.key.verifier[:-4] + "AAA=",
                b.key.verifier.replace("+", "+0", 1)):
        res = run("verify", "--verifier", bad, log)
        assert res.returncode == 2, (bad, out(res))
        assert "is neither a verifier key" in res.stderr
    f = tmp_path / "keys"
    f.write_text(b.key.verifier + "\nnot a key\n")
    res = run("verify", "--verifier", f, log)
    assert res.returncode == 2 and "keys:2: not a verifier key" in \
        res.stderr
    f.write_text("\n \n")
    res = run("verify", "--verifier", f, log)
    assert res.returncode == 2 and "holds no verifier key" in res.stderr
    res = run("verify", "--witnessed", f, log)
    assert res.returncode == 2 and "--witnessed needs --verifier" in \
        res.stderr


# -- verify --verifier: each refusal -----------------------------------------

def bad_checkpoint(tmp_path, b, verifier=None):
    """verify refuses the log; the BAD CHECKPOINT lines and the verdict."""
    return bad_checkpoint_of(b.write(tmp_path / "log"),
                             verifier or b.key.verifier)


def bad_checkpoint_of(log, verifier):
    res = run("verify", "--verifier", verifier, log)
    assert res.returncode == 1, out(res)
    bad = re.findall(r"^(\S+:\d+): BAD CHECKPOINT at seq (\d+): (.*)$",
                     res.stdout, re.M)
    verdict = res.stdout.splitlines()[-1]
    assert verdict.startswith("FAILED: "), res.stdout
    assert not UNSAFE_RE.search(out(res)), repr(out(res))
    return bad, verdict


def flip_signature(note):
    """The note with one bit of its signature changed (still canonical
    base64 of the same length)."""
    text, sig = note.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 1
    return text + " " + base64.b64encode(bytes(raw)).decode() + "\n"


def test_bad_signature(tmp_path):
    b = built()
    b.queries(1)
    seq = b.checkpoint(note=flip_signature(b.note()))
    bad, verdict = bad_checkpoint(tmp_path, b)
    assert len(bad) == 1 and int(bad[0][1]) == seq
    assert bad[0][2] == ("the note does not verify: the signature by %s+%s "
                         "does not verify" % (ORIGIN, b.key.key_id.hex()))
    assert "1 bad checkpoint line(s); the first: " in verdict


def test_wrong_key(tmp_path):
    """A log signed by one key, checked with another of the same name."""
    b = built()
    other = SigningKey()
    bad, _ = bad_checkpoint(tmp_path, b, other.verifier)
    assert len(bad) == 3
    assert all("has no signature by %s+%s" % (ORIGIN, other.key_id.hex())
               in why for _, _, why in bad)
    assert tlogref.parse_vkey(other.verifier)[1] != b.key.key_id


def test_origin_must_be_the_keys_name(tmp_path):
    """A checkpoint of this log signed by a key named for another log."""
    b = built()
    stranger = SigningKey("other.example/verify-audit")
    b.checkpoint(note=b.note(key=stranger, origin=ORIGIN))
    bad, _ = bad_checkpoint(tmp_path, b, stranger.verifier)
    assert ('its origin "%s" is not the name of the key that signed it '
            '(other.example/verify-audit+%s)' % (ORIGIN,
                                                 stranger.key_id.hex())
            in bad[-1][2])


def test_root_mismatch(tmp_path):
    """A note signed by the right key over a root that is not the log's
    (the signer was fed other lines), and a covered line rewritten by an
    insider who resealed the chain after it."""
    b = built()
    b.queries(2)
    wrong = b"\x07" * 32
    seq = b.checkpoint(note=b.note(root=wrong))
    bad, _ = bad_checkpoint(tmp_path, b)
    assert [int(s) for _, s, _ in bad] == [seq]
    size = b.size - 1
    assert bad[0][2] == (
        "the log's root at size %d is %s, the note signed %s: lines 1..%d "
        "are not the lines that were signed"
        % (size, base64.b64encode(b.root(size)).decode(),
           base64.b64encode(wrong).decode(), size))
    # an insider rewrites query line 2 and reseals the chain
    b = built(n=3)
    b.lines = reseal(b.lines[:1] + [b.lines[1].replace(b'"CASE-2"',
                                                       b'"CASE-X"')]
                     + b.lines[2:], 1)
    res = run("verify", b.write(tmp_path / "forged"))
    assert res.returncode == 0, "the chain alone does not see it"
    bad, _ = bad_checkpoint(tmp_path, b)
    assert len(bad) == 3 and all("the log's root at size" in why
                                 for _, _, why in bad)


def test_size_going_backwards(tmp_path):
    b = built(n=2)
    big = b.notes[-1][0]
    b.queries(2)
    seq = b.checkpoint(upto=big - 3)
    bad, _ = bad_checkpoint(tmp_path, b)
    prev_seq = big + 1
    assert bad == [(bad[0][0], str(seq),
                    "its size %d is below the size %d of the checkpoint at "
                    "seq %d (sizes never go back: lines were cut and "
                    "written again, or the line was copied from elsewhere)"
                    % (big - 3, big, prev_seq))]
    # the same size again is no fault (a month's checkpoint on a log that
    # did not grow)
    b = built(n=2)
    b.checkpoint(upto=b.notes[-1][0])
    res = run("verify", "--verifier", b.key.verifier,
              b.write(tmp_path / "same"))
    assert res.returncode == 0, out(res)


def test_size_not_below_own_seq(tmp_path):
    b = built(n=2)
    s = b.size + 1
    seq = b.checkpoint(note=b.note(size=s, root=b"\x01" * 32))
    assert seq == s
    bad, _ = bad_checkpoint(tmp_path, b)
    assert bad[-1][2] == ("it names size %d, not below its own seq %d (a "
                          "checkpoint covers only lines written before it)"
                          % (s, s))
    b = built(n=2)
    b.checkpoint(note=b.note(size=b.size + 5, root=b"\x01" * 32))
    bad, _ = bad_checkpoint(tmp_path, b)
    assert "not below its own seq" in bad[-1][2]


@pytest.mark.parametrize("member, value, why", [
    ("size", 2, "the line's size is not the note's size"),
    ("size", "7", "the line's size is not the note's size"),
    ("root", base64.b64encode(b"\x02" * 32).decode(),
     "the line's root AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI= is not"),
    ("origin", "other/verify-audit", 'the line\'s origin "other/verify-'
                                     'audit" is not the note\'s'),
    ("origin", "\x1b]0;evil\x07\u202e", "the line's origin"),
    ("note", 5, "the line has no note"),
    ("note", "not a note", "the note does not verify: the note has no "
                           "blank line"),
])
def test_line_members_must_say_what_the_note_says(tmp_path, member, value,
                                                  why):
    b = built(n=2)
    b.checkpoint(**{member: value})
    bad, _ = bad_checkpoint(tmp_path, b)
    assert len(bad) == 1 and why in bad[0][2], bad


def test_no_checkpoint_at_all(tmp_path):
    b = LogBuilder()
    b.queries(5)
    res = run("verify", "--verifier", b.key.verifier,
              b.write(tmp_path / "log"))
    assert res.returncode == 1, out(res)
    assert "checkpoints: none in the log" in res.stdout
    assert ("WARNING: unsigned log: no line is covered by a signed "
            "checkpoint (seq 1..5, 5 lines)") in res.stdout
    assert res.stdout.splitlines()[-1].endswith(
        "chain intact, but no line is covered by a signed checkpoint")


def test_insider_rewrite_of_the_tail_is_only_a_warning(tmp_path):
    """What www-data can do (the threat model): rewrite lines after the
    newest checkpoint and reseal them. Nothing signed covers them: the
    tail warning is all verify can say."""
    b = built(n=2, tail=4)
    k = b.size - 2
    b.lines = reseal(b.lines[:k] + [b.lines[k].replace(b'"status":200',
                                                       b'"status":403')]
                     + b.lines[k + 1:], k)
    res = run("verify", "--verifier", b.key.verifier,
              b.write(tmp_path / "log"))
    assert res.returncode == 0, out(res)
    assert "WARNING: unsigned tail" in res.stdout


def test_log_start_missing(tmp_path):
    """The first day file removed: no root can be checked, and no purge
    says those lines may be gone."""
    b = built(n=4)
    log = b.write(tmp_path / "log")
    first = sorted(os.listdir(log))[0]
    os.unlink(os.path.join(log, first))
    res = run("verify", log)
    assert res.returncode == 0, "without keys it is only a note"
    res = run("verify", "--verifier", b.key.verifier, log)
    assert res.returncode == 1, out(res)
    assert "LOG START MISSING: the log starts at seq " in res.stdout
    assert "roots NOT checked" in res.stdout
    # a purge checkpoint forged beside it, younger than 5 years
    start = min(int(x.split(b",")[0][7:]) for x in
                open(os.path.join(log, sorted(os.listdir(log))[0]),
                     "rb").read().splitlines()) - 1
    last = b.lines[start - 1]
    pc = os.path.join(log, "purged-through-%s.json" % first[6:16])
    with open(pc, "w") as f:
        f.write('{"last_seq":%d,"last_hash":"%s","purged_through":"%s"}\n'
                % (start, last[-66:-2].decode(), first[6:16]))
    res = run("verify", log)
    assert res.returncode == 0, out(res)
    assert "chain resumes after the purge checkpoint" in res.stdout
    res = run("verify", "--verifier", b.key.verifier, log)
    assert res.returncode == 1, out(res)
    assert "less than 5 years ago" in res.stdout


def test_checkpoint_further_back_than_the_recent_roots(tmp_path):
    """A checkpoint line written more than 65,536 lines after the size it
    signs: its root is checked by a second reading of the log."""
    b = LogBuilder()
    b.queries(10)
    note = b.note()
    b.queries(66000)
    b.checkpoint(note=note)
    b.queries(1)
    b.checkpoint(note=b.note(size=20, root=b"\x05" * 32))
    bad, _ = bad_checkpoint(tmp_path, b)
    assert [int(s) for _, s, _ in bad] == [66013]
    assert "the log's root at size 20 is %s" % (
        base64.b64encode(b.root(20)).decode()) in bad[0][2]
    b.lines = b.lines[:-1]
    res = run("verify", "--verifier", b.key.verifier, b.write(
        tmp_path / "good"))
    assert res.returncode == 0, out(res)
    assert "1 of 1 line(s) sound" in res.stdout


def purged_log(tmp_path):
    """A log whose first day (2020) was purged: the purge checkpoint keeps
    the tree's edge at the last purged line, and verify goes on from it."""
    b = LogBuilder(day=__import__("datetime").date(2020, 1, 1))
    b.queries(5)
    b.checkpoint(reason="start")
    b.queries(2)
    b.clock = b.clock.replace(year=2026, month=11, day=30)
    b.queries(4)
    b.checkpoint()
    b.queries(3)
    b.checkpoint()
    b.queries(1)
    log = b.write(tmp_path / "log")
    res = run("purge", "--before", "2021-01-01", "--events",
              harness.make_spool(str(tmp_path)), log)
    assert res.returncode == 0, out(res)
    assert sorted(os.listdir(log))[0] == "audit-2026-11-30.jsonl"
    return b, log


def test_purged_log_goes_on_from_the_kept_edge(tmp_path):
    b, log = purged_log(tmp_path)
    res = run("verify", "--verifier", b.key.verifier, log)
    assert res.returncode == 0, out(res)
    assert "chain resumes after the purge checkpoint" in res.stdout
    assert "checkpoints: 2 of 2 line(s) sound" in res.stdout
    assert "and roots equal to the log's" in res.stdout
    size, root = tree_line(res)
    assert size == b.size and root == tlogref.Tree(b.lines).root(size)
    assert "from the tree's edge at size 8 kept by the purge checkpoint" in \
        res.stdout
    # a line after the purge rewritten and resealed: its checkpoint says so
    name = os.path.join(log, "audit-2026-11-30.jsonl")
    lines = open(name, "rb").read().splitlines()
    forged = reseal(lines[:1] + [lines[1].replace(b'"status":200',
                                                  b'"status":403')]
                    + lines[2:], 1)
    # the chain links to the purge checkpoint's last hash
    forged[0] = lines[0]
    with open(name, "wb") as f:
        f.write(b"".join(x + b"\n" for x in forged))
    assert run("verify", log).returncode == 0
    bad, _ = bad_checkpoint_of(log, b.key.verifier)
    assert [int(s) for _, s, _ in bad] == [13, 17]
    assert "the log's root at size 12" in bad[0][2]


def test_forged_purge_edge_is_caught(tmp_path):
    b, log = purged_log(tmp_path)
    pc = [x for x in os.listdir(log) if x.startswith("purged-through-")][0]
    path = os.path.join(log, pc)
    cp = json.load(open(path))
    cp["edge"][0] = "00" * 32
    with open(path, "w") as f:
        json.dump(cp, f)
    bad, _ = bad_checkpoint_of(log, b.key.verifier)
    assert len(bad) == 2 and all("the log's root at size" in why
                                 for _, _, why in bad)
