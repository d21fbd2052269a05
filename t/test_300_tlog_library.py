"""The transparency-log library (verify_merkle, verify_note) checked by an
independent verifier (t/tlogref.py, from RFC 6962/9162 and the C2SP
texts): roots of random trees, inclusion and consistency proofs, signed
checkpoints made with an `openssl genpkey` key and checked with
python3-cryptography, verifier keys, and notes signed in Python opened
by the C library. The C side is driven through build/t/tlog-driver."""

import base64
import os
import random
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

import harness
import tlogref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DRIVER = os.path.join(harness.BUILD, "t", "tlog-driver")
ORIGIN = "county.example/mod_verify/audit"


@pytest.fixture(scope="module", autouse=True)
def driver():
    if not os.path.exists(DRIVER):
        pytest.fail("run `make unit` first (no %s)" % DRIVER, pytrace=False)


def run(*args, stdin=None, ok=True):
    res = subprocess.run([DRIVER] + [str(a) for a in args], input=stdin,
                         capture_output=True, text=True, timeout=120)
    if ok:
        assert res.returncode == 0, res.stdout + res.stderr
    return res


def random_lines(rng, n):
    """Audit-like lines of varied length, some with UTF-8, none with a
    newline."""
    words = ["verify", "import", "checkpoint", "\u6236\u653f",
             "a\\\"b", "\u2014", "x" * 300]
    return [('{"seq":%d,"op":"%s","n":%d}'
             % (i + 1, rng.choice(words), rng.randrange(10 ** 9)))
            .encode("utf-8") for i in range(n)]


def write_leaves(tmp_path, lines, name="leaves"):
    path = tmp_path / name
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    return path


def parse_proof(line):
    assert line != "error"
    return [] if line == "-" else [bytes.fromhex(h) for h in line.split()]


def queries(path, lines):
    res = run("proofs", path, stdin="".join(q + "\n" for q in lines))
    out = res.stdout.splitlines()
    assert len(out) == len(lines), res.stdout + res.stderr
    return out


# -- trees and proofs ---------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_roots_of_random_trees(tmp_path, seed):
    rng = random.Random(seed)
    lines = random_lines(rng, rng.randrange(200, 700))
    tree = tlogref.Tree(lines)
    out = run("roots", write_leaves(tmp_path, lines)).stdout.splitlines()
    assert len(out) == len(lines) + 1
    for n, line in enumerate(out):
        size, edge, ranged = line.split()
        want = tree.root(n).hex()
        assert int(size) == n
        assert edge == want, "right-edge root of size %d" % n
        assert ranged == want, "range root of size %d" % n
    assert out[0].split()[1] == tlogref.EMPTY_ROOT.hex() == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_inclusion_proofs(tmp_path):
    rng = random.Random(7)
    lines = random_lines(rng, 300)
    tree = tlogref.Tree(lines)
    pairs = [(i, n) for n in range(1, 41) for i in range(n)]
    pairs += [(rng.randrange(n), n) for n in
              (rng.randrange(41, 301) for _ in range(300))]
    out = queries(write_leaves(tmp_path, lines),
                  ["inclusion %d %d" % p for p in pairs])
    for (i, n), line in zip(pairs, out):
        proof = parse_proof(line)
        assert proof == tree.path(i, n), "PATH(%d, D[%d])" % (i, n)
        tlogref.check_inclusion(i, n, tree.leaves[i], proof, tree.root(n))
        if proof:
            bad = list(proof)
            bad[rng.randrange(len(bad))] = bytes(32)
            with pytest.raises(tlogref.Invalid):
                tlogref.check_inclusion(i, n, tree.leaves[i], bad,
                                        tree.root(n))


def test_consistency_proofs(tmp_path):
    rng = random.Random(8)
    lines = random_lines(rng, 300)
    tree = tlogref.Tree(lines)
    pairs = [(m, n) for n in range(0, 41) for m in range(n + 1)]
    pairs += sorted((rng.randrange(0, 301), rng.randrange(0, 301))
                    for _ in range(300))
    pairs = [(min(p), max(p)) for p in pairs]
    out = queries(write_leaves(tmp_path, lines),
                  ["consistency %d %d" % p for p in pairs])
    for (m, n), line in zip(pairs, out):
        proof = parse_proof(line)
        assert proof == tree.proof(m, n), "PROOF(%d, D[%d])" % (m, n)
        tlogref.check_consistency(m, n, tree.root(m), tree.root(n), proof)
        if proof:
            bad = list(proof)
            bad[rng.randrange(len(bad))] = bytes(32)
            with pytest.raises(tlogref.Invalid):
                tlogref.check_consistency(m, n, tree.root(m), tree.root(n),
                                          bad)


def test_python_proofs_check_in_c(tmp_path):
    """Proofs made by the reference are accepted by the C checks, and
    each mutation of them refused."""
    rng = random.Random(9)
    lines = random_lines(rng, 120)
    tree = tlogref.Tree(lines)
    qs, expect = [], []
    for _ in range(150):
        n = rng.randrange(1, 121)
        i = rng.randrange(n)
        proof = tree.path(i, n)
        args = (i, n, tree.leaves[i].hex(), tree.root(n).hex())
        qs.append("check-inclusion %d %d %s %s %s" % (
            args + (" ".join(h.hex() for h in proof),)))
        expect.append("ok")
        if proof:
            bad = list(proof)
            del bad[rng.randrange(len(bad))]
            qs.append("check-inclusion %d %d %s %s %s" % (
                args + (" ".join(h.hex() for h in bad),)))
            expect.append("fail")
        m = rng.randrange(0, n + 1)
        proof = tree.proof(m, n)
        args = (m, n, tree.root(m).hex(), tree.root(n).hex())
        qs.append("check-consistency %d %d %s %s %s" % (
            args + (" ".join(h.hex() for h in proof),)))
        expect.append("ok")
        if 0 < m < n:
            # a fork: the second tree with one leaf changed
            forked = tlogref.Tree(lines[:n - 1] + [b"rewritten"])
            qs.append("check-consistency %d %d %s %s %s" % (
                m, n, tree.root(m).hex(), forked.root(n).hex(),
                " ".join(h.hex() for h in proof)))
            expect.append("fail")
    out = queries(write_leaves(tmp_path, lines), qs)
    for q, want, got in zip(qs, expect, out):
        assert got.split(":")[0] == want, "%s -> %s" % (q[:60], got)


# -- signed checkpoints -------------------------------------------------

def genkey(tmp_path, name="ckpt.pem", mode=0o600):
    key = tmp_path / name
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    str(key)], check=True, capture_output=True)
    os.chmod(key, mode)
    pub = subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout"],
                         check=True, capture_output=True).stdout
    return key, tlogref.raw_public(tlogref.public_from_pem(pub))


def test_signed_checkpoint_verifies_with_openssl_key(tmp_path):
    key, pub = genkey(tmp_path)
    lines = random_lines(random.Random(11), 77)
    root = tlogref.Tree(lines).root(77)
    ext = tmp_path / "ext"
    ext.write_text("month 2026-10\n")
    note = run("sign", key, ORIGIN, 77, root.hex(), ext).stdout

    # the C2SP shape, to the byte
    body, sigline = note.split("\n\n")
    assert body + "\n" == tlogref.checkpoint_text(ORIGIN, 77, root,
                                                  ["month 2026-10"])
    assert sigline.startswith("\u2014 " + ORIGIN + " ")
    assert sigline.endswith("\n") and sigline.count("\n") == 1
    raw = base64.b64decode(sigline.split()[2])
    assert len(raw) == 4 + 64
    assert raw[:4] == tlogref.key_id(ORIGIN, pub)

    # python3-cryptography verifies the signature over the body
    text = tlogref.open_note(note.encode(), ORIGIN, pub)
    assert tlogref.parse_checkpoint(text) == (ORIGIN, 77, root,
                                              ["month 2026-10"])
    # ... and refuses it when one byte of the body changes
    with pytest.raises(tlogref.Invalid):
        tlogref.open_note(note.replace("\n77\n", "\n78\n"), ORIGIN, pub)
    # another key with the same name is not this key
    other = tlogref.raw_public(
        ed25519.Ed25519PrivateKey.generate().public_key())
    with pytest.raises(tlogref.Invalid):
        tlogref.open_note(note, ORIGIN, other)


def test_verifier_key_string(tmp_path):
    key, pub = genkey(tmp_path)
    vkey = run("vkey", key, ORIGIN).stdout.strip()
    assert vkey == tlogref.vkey(ORIGIN, pub)
    name, kid, raw = tlogref.parse_vkey(vkey)
    assert (name, raw) == (ORIGIN, pub)
    assert vkey.split("+")[1] == kid.hex()
    # the C library opens its own checkpoints with it
    root = tlogref.Tree([b"one"]).root(1)
    note = tmp_path / "note"
    note.write_text(run("sign", key, ORIGIN, 1, root.hex()).stdout)
    assert run("open", vkey, note).stdout == \
        "%s\n1\n%s\n" % (ORIGIN, root.hex())


def test_c2sp_example_in_reference():
    """The reference itself against the C2SP signed-note example."""
    name, kid, pub = tlogref.parse_vkey(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    note = ("This is an example message.\n\n\u2014 example.com/foo "
            "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsY"
            "jOBH3mFXmRKuwHjG1Yu72IneyaQM=\n")
    assert tlogref.open_note(note, name, pub) == \
        "This is an example message.\n"


def test_python_signed_note_opens_in_c(tmp_path):
    priv = ed25519.Ed25519PrivateKey.generate()
    pub = tlogref.raw_public(priv.public_key())
    vkey = tlogref.vkey(ORIGIN, pub)
    root = tlogref.Tree(random_lines(random.Random(12), 5)).root(5)
    body = tlogref.checkpoint_text(ORIGIN, 5, root, ["x y z"])
    note = tlogref.sign_note(body, ORIGIN, priv)
    path = tmp_path / "note"

    path.write_text(note)
    assert run("open", vkey, path).stdout == \
        "%s\n5\n%s\nx y z\n" % (ORIGIN, root.hex())

    # a witness's cosignature after it is ignored
    witness = ed25519.Ed25519PrivateKey.generate()
    cosig = tlogref.sign_note(body, "witness.example/w1", witness)
    path.write_text(note + cosig.split("\n\n")[1])
    assert run("open", vkey, path).returncode == 0

    # refused: a changed body, a signature by another key under the
    # same name, a wrong verifier key, a malformed note
    path.write_text(note.replace("\n5\n", "\n6\n"))
    res = run("open", vkey, path, ok=False)
    assert res.returncode == 1 and "does not verify" in res.stderr
    path.write_text(tlogref.sign_note(body, ORIGIN, witness))
    res = run("open", vkey, path, ok=False)
    assert res.returncode == 1 and "no signature by" in res.stderr
    path.write_text(note)
    res = run("open", tlogref.vkey("other.example", pub), path, ok=False)
    assert res.returncode == 1
    path.write_text(note.replace("\n\n", "\n"))
    res = run("open", vkey, path, ok=False)
    assert res.returncode == 1 and "blank line" in res.stderr
    path.write_text(note.replace("\u2014", "-"))
    res = run("open", vkey, path, ok=False)
    assert res.returncode == 1 and "em dash" in res.stderr


def test_group_readable_key_refused(tmp_path):
    key, _ = genkey(tmp_path, mode=0o640)
    res = run("sign", key, ORIGIN, 0, tlogref.EMPTY_ROOT.hex(), ok=False)
    assert res.returncode == 1
    assert "readable by group or others" in res.stderr
    assert res.stdout == ""


def test_worked_example_in_docs(tmp_path):
    """docs/data-formats.md §4's example holds, in Python and in C."""
    with open(os.path.join(ROOT, "docs", "data-formats.md"),
              encoding="utf-8") as f:
        text = f.read()
    section = text.split("### A worked example", 1)[1]
    blocks = [b.split("\n", 1)[1] for b in section.split("```")[1::2]]
    leaves_txt, note, vkey = blocks[0], blocks[1], blocks[2].strip()
    tree = tlogref.Tree([x.encode() for x in leaves_txt.splitlines()])
    name, _, pub = tlogref.parse_vkey(vkey)
    origin, size, root, ext = tlogref.parse_checkpoint(
        tlogref.open_note(note, name, pub))
    assert (origin, size, root, ext) == (name, 3, tree.root(3), [])
    assert root.hex() in section and tree.root(2).hex() in section
    assert tree.proof(2, 3)[0].hex() in section
    path = tmp_path / "note"
    path.write_text(note)
    assert run("open", vkey, path).stdout.split("\n")[2] == root.hex()
