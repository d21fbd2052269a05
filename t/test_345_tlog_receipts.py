"""Receipts and proofs against signed checkpoints (issue 7, items 4 and
6): `check-receipt --seq N --leaf HEX --verifier KEY` proves the line is
in the log and covered by the first signed checkpoint of size >= N,
printing the inclusion proof against that signed root and the note; or
says why not (the leaf differs, no checkpoint covers it yet, the
covering checkpoint does not verify, the log's root is not the signed
one). `prove --seq N --size M --verifier KEY` takes only the size of a
signed checkpoint. Everything printed is checked with t/tlogref.py."""

import base64
import hashlib
import re

import harness
import tlogref
from harness.tlog import LogBuilder, SigningKey, reseal


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


def out(res):
    return res.stdout + res.stderr


def leaf(raw):
    return hashlib.sha256(b"\x00" + raw).hexdigest()


def built():
    b = LogBuilder()
    b.queries(5)
    b.checkpoint(reason="start")         # size 5, seq 6
    b.queries(6)
    b.checkpoint()                       # size 12, seq 13
    b.next_day()
    b.queries(9)
    b.checkpoint(reason="day")           # size 22, seq 23
    b.queries(3)                         # the tail: 24..26
    return b


def checked_proof(res, b, seq, size):
    """The proof and note printed after the verdict line, checked: the
    note opens with the key and is of @size; the inclusion proof of the
    line's leaf holds against the note's root."""
    assert res.returncode == 0, out(res)
    text = res.stdout.split("\n", 1)[1] if res.stdout.startswith(
        "receipt") else res.stdout
    f, path, rest = tlogref.parse_proof_text(text, "inclusion")
    assert int(f["seq"]) == seq and int(f["size"]) == size
    assert f["leaf"] == leaf(b.lines[seq - 1])
    m = re.match(r"checkpoint (.*), signed by (\S+):\n", rest)
    assert m, rest
    assert m.group(2) == "%s+%s" % (b.key.name, b.key.key_id.hex())
    note = rest[m.end():]
    origin, nsize, root, ext = tlogref.open_checkpoint(note, b.key.verifier)
    assert nsize == size and origin == b.key.name
    assert ext[0].startswith("time ")
    assert tlogref.b64decode_strict(f["root"]) == root
    tlogref.check_inclusion(seq - 1, size, bytes.fromhex(f["leaf"]), path,
                            root)
    assert root == tlogref.Tree(b.lines).root(size)
    return m.group(1)


def test_receipt_covered_by_the_first_signed_checkpoint(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    for seq, size in ((1, 5), (5, 5), (6, 12), (12, 12), (13, 22), (22, 22)):
        res = run("check-receipt", "--seq", seq, "--leaf",
                  leaf(b.lines[seq - 1]), "--verifier", b.key.verifier, log)
        assert res.stdout.startswith(
            "receipt confirmed: seq %d with leaf %s is in the log, covered "
            "by the signed checkpoint of size %d\n"
            % (seq, leaf(b.lines[seq - 1]), size)), out(res)
        where = checked_proof(res, b, seq, size)
        assert re.fullmatch(r".*audit-2026-12-0[12]\.jsonl:\d+, the "
                            r"checkpoint line of seq %d" % (
                                {5: 6, 12: 13, 22: 23}[size]), where)


def test_receipt_not_covered_yet(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    seq = 25
    res = run("check-receipt", "--seq", seq, "--leaf",
              leaf(b.lines[seq - 1]), "--verifier", b.key.verifier, log)
    assert res.returncode == 1, out(res)
    assert res.stdout == (
        "receipt NOT confirmed: no signed checkpoint covers seq 25 yet: the "
        "newest covers seq 1..22; the line is in the log now with the "
        "receipt's leaf hash, but nothing signed commits to it (check again "
        "after the next checkpoint)\n")
    # a checkpoint kept elsewhere that covers it: confirmed by that one
    b.notes.append((b.size, b.note()))
    cpdir = b.checkpoint_dir(tmp_path / "checkpoints")
    res = run("check-receipt", "--seq", seq, "--leaf",
              leaf(b.lines[seq - 1]), "--verifier", b.key.verifier,
              "--witnessed", cpdir, log)
    where = checked_proof(res, b, seq, b.size)
    assert where == "%s/checkpoint-%020d (--witnessed)" % (cpdir, b.size)
    # without --verifier: confirmed against the log as it is, and said so
    res = run("check-receipt", "--seq", seq, "--leaf",
              leaf(b.lines[seq - 1]), log)
    assert res.returncode == 0
    assert "not checked: that a signed checkpoint covers this line (no " \
        "--verifier given)" in res.stdout


def test_receipt_leaf_differs(tmp_path):
    """The line was changed after the answer and the chain resealed."""
    b = built()
    seq = 8
    want = leaf(b.lines[seq - 1])
    k = seq - 1
    b.lines = reseal(b.lines[:k] + [b.lines[k].replace(b'"status":200',
                                                       b'"status":403')]
                     + b.lines[k + 1:], k)
    res = run("check-receipt", "--seq", seq, "--leaf", want, "--verifier",
              b.key.verifier, b.write(tmp_path / "log"))
    assert res.returncode == 1, out(res)
    assert res.stdout.startswith(
        "receipt NOT confirmed: the line of seq 8 has leaf hash %s, not the "
        "receipt's %s" % (leaf(b.lines[k]), want))


def test_receipt_root_not_the_signed_one(tmp_path):
    """A line before the receipt's was rewritten and resealed: the
    receipt's own line is unchanged, but the log is not what was signed,
    so the proof against the signed root fails."""
    b = built()
    seq = 10
    b.lines = reseal(b.lines[:2] + [b.lines[2].replace(b'"status":200',
                                                       b'"status":403')]
                     + b.lines[3:], 2)
    res = run("check-receipt", "--seq", seq, "--leaf",
              leaf(b.lines[seq - 1]), "--verifier", b.key.verifier,
              b.write(tmp_path / "log"))
    assert res.returncode == 1, out(res)
    signed = b.notes[1][1].split("\n")[2]
    assert re.match(
        r"receipt NOT confirmed: the log's root at size 12 is %s, but the "
        r"covering checkpoint \(.*, the checkpoint line of seq 13\) signed "
        r"%s: lines 1\.\.12 are not the lines that were signed\n$"
        % (re.escape(base64.b64encode(tlogref.Tree(b.lines).root(12))
                     .decode()), re.escape(signed)), res.stdout), res.stdout


def test_receipt_covering_signature_bad(tmp_path):
    b = LogBuilder()
    b.queries(4)
    note = b.note()
    text, sig = note.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[12] ^= 2
    b.checkpoint(note=text + " " + base64.b64encode(bytes(raw)).decode()
                 + "\n")
    b.queries(2)
    b.checkpoint()
    res = run("check-receipt", "--seq", 2, "--leaf", leaf(b.lines[1]),
              "--verifier", b.key.verifier, b.write(tmp_path / "log"))
    assert res.returncode == 1, out(res)
    assert re.match(r"receipt NOT confirmed: a checkpoint line does not "
                    r"verify: .*audit-2026-12-01\.jsonl:5, the checkpoint "
                    r"line of seq 5: the note does not verify: the "
                    r"signature by %s\+%s does not verify"
                    % (re.escape(b.key.name), b.key.key_id.hex()),
                    res.stdout), res.stdout
    # with another key only: nothing covers it
    res = run("check-receipt", "--seq", 2, "--leaf", leaf(b.lines[1]),
              "--verifier", SigningKey().verifier, b.write(tmp_path / "l2"))
    assert res.returncode == 1 and "a checkpoint line does not verify" in \
        res.stdout


def test_prove_against_signed_checkpoints(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    # --size of a checkpoint: the proof against its signed root
    res = run("prove", "--seq", 3, "--size", 12, "--verifier",
              b.key.verifier, log)
    checked_proof(res, b, 3, 12)
    # the newest by default
    res = run("prove", "--seq", 3, "--verifier", b.key.verifier, log)
    checked_proof(res, b, 3, 22)
    # a size no checkpoint has
    res = run("prove", "--seq", 3, "--size", 11, "--verifier",
              b.key.verifier, log)
    assert res.returncode == 1, out(res)
    assert "no signed checkpoint of size 11" in res.stderr
    # a seq the checkpoint does not cover
    res = run("prove", "--seq", 13, "--size", 12, "--verifier",
              b.key.verifier, log)
    assert res.returncode == 1
    assert "seq 13 is not in the tree of size 12" in res.stderr
    # without --verifier, any size, as before
    res = run("prove", "--seq", 3, "--size", 11, log)
    assert res.returncode == 0, out(res)
    f, path, rest = tlogref.parse_proof_text(res.stdout, "inclusion")
    assert rest == ""
    tlogref.check_inclusion(2, 11, bytes.fromhex(f["leaf"]), path,
                            tlogref.Tree(b.lines).root(11))
    # a log that is not the signed one: refused, both roots named
    b.lines = reseal(b.lines[:1] + [b.lines[1].replace(b'"status":200',
                                                       b'"status":403')]
                     + b.lines[2:], 1)
    res = run("prove", "--seq", 3, "--size", 12, "--verifier",
              b.key.verifier, b.write(tmp_path / "forged"))
    assert res.returncode == 1
    assert "prove refused: the log's root at size 12 is %s" % (
        base64.b64encode(tlogref.Tree(b.lines).root(12)).decode()) in \
        res.stderr
