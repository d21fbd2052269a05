"""The audit log as an RFC 6962 tree (issue 7, items 1, 4 and 6): after
a load of queries from several children, the root verify-audit prints
is the root an independent verifier (t/tlogref.py) computes over the
audit lines; inclusion and consistency proofs printed by `verify-audit
prove` and `consistency` hold for tlogref and fail for a changed log;
every 200 answer carries the receipt of its own line, refusals none;
`check-receipt` confirms good receipts and refuses wrong ones."""

import base64
import hashlib
import os
import random
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

import harness
import tlogref
from conftest import MPMS, household_server_fixture
from harness import fields_for, run_audit_tool

HASH_TAIL = 9 + 64 + 2      # ,"hash":"<64 hex>"}


@pytest.fixture(scope="module", params=MPMS)
def loaded(request, tmp_path_factory):
    """A server after a concurrent load of form and JSON queries (and a
    few refusals); the answers and a copy of the audit directory."""
    s = household_server_fixture(request)
    answers = []
    try:
        jobs = []
        for i in range(160):
            person = s.people[i % len(s.people)]
            kind = "json" if i % 3 == 0 else "form"
            if i % 10 == 7:
                f = fields_for(person)
                del f["case"]               # 400 missing_field
            else:
                f = fields_for(person, check="resident,indigenous",
                               case="CASE-%d" % i)
            jobs.append((f, kind))
        with ThreadPoolExecutor(max_workers=12) as ex:
            answers = list(ex.map(lambda j: s.post(j[0], kind=j[1]), jobs))
        copy = tmp_path_factory.mktemp("audit-%s" % request.param) / "audit"
        shutil.copytree(s.audit, copy)
        s.copy = str(copy)
        s.answers = answers
        yield s
    finally:
        s.stop()
        s.cleanup()


def raws(audit_dir):
    return [ln.raw for ln in harness.read_audit(audit_dir)]


def b64(h):
    return base64.b64encode(h).decode()


def parse_proof(text, kind):
    """The text format of docs/data-formats.md section 4: a kind line,
    "key value" lines, "hashes K", then K base64 lines."""
    lines = text.splitlines()
    assert lines[0] == kind, text
    fields, i = {}, 1
    while not lines[i].startswith("hashes "):
        k, v = lines[i].split(" ", 1)
        fields[k] = v
        i += 1
    n = int(lines[i].split(" ")[1])
    hashes = [tlogref.b64decode_strict(x) for x in lines[i + 1:i + 1 + n]]
    assert len(hashes) == n, text
    return fields, hashes


def reseal_from(lines, k, new_raw):
    """An insider's rewrite: line k replaced, every later line's prev and
    hash recomputed, so that the chain is intact again."""
    out = list(lines[:k])
    prev = None
    if k:
        prev = lines[k - 1][-HASH_TAIL + 9:-2].decode()
    for j in range(k, len(lines)):
        raw = new_raw if j == k else lines[j]
        covered = raw[:-HASH_TAIL]
        if prev is not None:
            covered = covered[:-65] + prev.encode() + b'"'
        h = hashlib.sha256(covered).hexdigest()
        out.append(covered + (',"hash":"%s"}' % h).encode())
        prev = h
    return out


def write_log(tmp_path, lines, name):
    d = tmp_path / name
    d.mkdir()
    (d / "audit-2026-12-01.jsonl").write_bytes(b"".join(x + b"\n"
                                                         for x in lines))
    return str(d)


def test_root_equals_independent_root(loaded):
    lines = raws(loaded.copy)
    assert len(lines) > 160
    res = run_audit_tool("verify", loaded.copy)
    assert res.returncode == 0, res.stdout + res.stderr
    m = re.search(r"^tree: size (\d+) root (\S+)$", res.stdout, re.M)
    assert m, res.stdout
    tree = tlogref.Tree(lines)
    assert int(m.group(1)) == len(lines)
    assert tlogref.b64decode_strict(m.group(2)) == tree.root(len(lines))


def test_receipts(loaded):
    """Every 200 answer has the receipt of its own line: the seq of the
    line with its request_id, and SHA-256(0x00 || the line's bytes)."""
    by_seq = {ln["seq"]: ln for ln in harness.read_audit(loaded.copy)}
    answered = refused = 0
    for r in loaded.answers:
        if r.status != 200:
            assert "receipt" not in r.json, r
            refused += 1
            continue
        answered += 1
        rc = r.json["receipt"]
        assert set(rc) == {"seq", "leaf"}
        line = by_seq[rc["seq"]]
        assert line["request_id"] == r.json["request_id"]
        assert rc["leaf"] == hashlib.sha256(b"\x00" + line.raw).hexdigest()
    assert answered >= 140 and refused >= 10


def test_receipts_from_several_children(loaded):
    """The load was served by more than one process (prefork) or thread
    (event): the request ids name the child that answered."""
    kids = {r.json["request_id"][:8] for r in loaded.answers}
    if loaded.mpm == "prefork":
        assert len(kids) > 1


def test_inclusion_proofs(loaded, tmp_path):
    lines = raws(loaded.copy)
    tree = tlogref.Tree(lines)
    n = len(lines)
    rng = random.Random(310)
    pairs = {(1, 1), (1, n), (n, n), (n // 2, n)}
    while len(pairs) < 30:
        m = rng.randrange(1, n + 1)
        pairs.add((rng.randrange(1, m + 1), m))
    for seq, size in sorted(pairs):
        args = ["prove", "--seq", str(seq)]
        if size != n or seq % 2:
            args += ["--size", str(size)]
        res = run_audit_tool(*args, loaded.copy)
        assert res.returncode == 0, res.stdout + res.stderr
        f, path = parse_proof(res.stdout, "inclusion")
        assert int(f["size"]) == size and int(f["seq"]) == seq
        assert int(f["index"]) == seq - 1
        leaf = bytes.fromhex(f["leaf"])
        assert leaf == tlogref.leaf_hash(lines[seq - 1])
        root = tlogref.b64decode_strict(f["root"])
        assert root == tree.root(size)
        tlogref.check_inclusion(seq - 1, size, leaf, path, root)
        assert path == tree.path(seq - 1, size)
        # the same proof does not hold for another leaf or another root
        with pytest.raises(tlogref.Invalid):
            tlogref.check_inclusion(seq - 1, size,
                                    tlogref.leaf_hash(b"x"), path, root)
    # a changed log: the old proofs fail against its root, and a log
    # whose chain is broken gives no proof at all
    # a query line about a third of the way in (not a start or import
    # line, which carry no case to change)
    k = next(i for i in range(n // 3, n) if b'"CASE-' in lines[i])
    changed = lines[k].replace(b'"CASE-', b'"CASF-', 1)
    broken = write_log(tmp_path, lines[:k] + [changed] + lines[k + 1:],
                       "broken")
    res = run_audit_tool("prove", "--seq", "1", broken)
    assert res.returncode == 1 and "broken" in res.stderr, res.stderr
    forged_lines = reseal_from(lines, k, changed)
    forged = write_log(tmp_path, forged_lines, "forged")
    assert run_audit_tool("verify", forged).returncode == 0
    res = run_audit_tool("prove", "--seq", str(k + 1), forged)
    assert res.returncode == 0, res.stderr
    f, path = parse_proof(res.stdout, "inclusion")
    with pytest.raises(tlogref.Invalid):
        # the forged line's proof against the root the log had
        tlogref.check_inclusion(k, n, bytes.fromhex(f["leaf"]), path,
                                tree.root(n))
    res = run_audit_tool("prove", "--seq", "1", loaded.copy)
    f, path = parse_proof(res.stdout, "inclusion")
    with pytest.raises(tlogref.Invalid):
        tlogref.check_inclusion(0, n, tlogref.leaf_hash(lines[0]), path,
                                tlogref.Tree(forged_lines).root(n))


def test_consistency_proofs(loaded, tmp_path):
    lines = raws(loaded.copy)
    tree = tlogref.Tree(lines)
    n = len(lines)
    rng = random.Random(3102)
    pairs = {(1, n), (n, n), (n - 1, n), (1, 1)}
    while len(pairs) < 30:
        b = rng.randrange(1, n + 1)
        pairs.add((rng.randrange(1, b + 1), b))
    for m1, m2 in sorted(pairs):
        res = run_audit_tool("consistency", "--from", str(m1), "--to",
                             str(m2), loaded.copy)
        assert res.returncode == 0, res.stdout + res.stderr
        f, proof = parse_proof(res.stdout, "consistency")
        assert (int(f["size1"]), int(f["size2"])) == (m1, m2)
        r1 = tlogref.b64decode_strict(f["root1"])
        r2 = tlogref.b64decode_strict(f["root2"])
        assert r1 == tree.root(m1) and r2 == tree.root(m2)
        tlogref.check_consistency(m1, m2, r1, r2, proof)
    # an insider rewrites line k and reseals the chain: the new log is
    # not an extension of any old tree that held line k
    k = n // 2
    forged_lines = reseal_from(lines, k, lines[k].replace(b'"op":"verify"',
                                                          b'"op":"verifx"', 1))
    assert forged_lines[k] != lines[k]
    forged = write_log(tmp_path, forged_lines, "forged")
    res = run_audit_tool("consistency", "--from", str(k + 1), "--to",
                         str(n), forged)
    assert res.returncode == 0, res.stderr
    f, proof = parse_proof(res.stdout, "consistency")
    with pytest.raises(tlogref.Invalid):
        tlogref.check_consistency(k + 1, n, tree.root(k + 1),
                                  tlogref.b64decode_strict(f["root2"]),
                                  proof)
    # a bad range is refused
    res = run_audit_tool("consistency", "--from", "5", "--to", "4",
                         loaded.copy)
    assert res.returncode == 2
    res = run_audit_tool("consistency", "--from", "1", "--to", str(n + 1),
                         loaded.copy)
    assert res.returncode == 1 and "larger than the log" in res.stderr


def test_check_receipt(loaded, tmp_path):
    lines = raws(loaded.copy)
    n = len(lines)
    good = [r.json["receipt"] for r in loaded.answers if r.status == 200]
    for rc in good[::15]:
        res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                             "--leaf", rc["leaf"], loaded.copy)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "receipt confirmed" in res.stdout
        assert "not checked: that a signed checkpoint" in res.stdout
        f, path = parse_proof(res.stdout.split("\n", 1)[1], "inclusion")
        tlogref.check_inclusion(rc["seq"] - 1, n, bytes.fromhex(rc["leaf"]),
                                path, tlogref.Tree(lines).root(n))
    rc = good[0]
    wrong = ("0" if rc["leaf"][0] != "0" else "1") + rc["leaf"][1:]
    res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                         "--leaf", wrong, loaded.copy)
    assert res.returncode == 1 and "NOT confirmed" in res.stdout
    assert "has leaf hash" in res.stdout
    res = run_audit_tool("check-receipt", "--seq", str(n + 5),
                         "--leaf", rc["leaf"], loaded.copy)
    assert res.returncode == 1 and "is not in the log" in res.stdout
    res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                         "--leaf", "zz", loaded.copy)
    assert res.returncode == 2
    # the line was altered after the answer: with the chain resealed by
    # an insider, and without
    k = rc["seq"] - 1
    altered = lines[k].replace(b'"status":200', b'"status":403', 1)
    assert altered != lines[k]
    forged = write_log(tmp_path, reseal_from(lines, k, altered), "forged")
    res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                         "--leaf", rc["leaf"], forged)
    assert res.returncode == 1 and "was changed" in res.stdout, res.stdout
    broken = write_log(tmp_path, lines[:k] + [altered] + lines[k + 1:],
                       "broken")
    res = run_audit_tool("check-receipt", "--seq", str(rc["seq"]),
                         "--leaf", rc["leaf"], broken)
    assert res.returncode == 1 and "NOT confirmed" in res.stdout
    assert "broken" in res.stderr


def test_tree_survives_restart(make_server, mpm):
    """A full restart rebuilds the edge from the files: the receipts and
    root after it are those of the whole log."""
    s = make_server(mpm=mpm)
    gen = harness.People()
    people = gen.batch(4)
    s.import_household(people)
    s.start()
    for p in people:
        assert s.post(fields_for(p)).status == 200
    s.stop()
    s.start()
    r = s.post(fields_for(people[0]), kind="json")
    assert r.status == 200
    # a graceful restart keeps the head and its edge
    s.graceful()
    r = s.post(fields_for(people[1]))
    assert r.status == 200
    lines = raws(s.audit)
    rc = r.json["receipt"]
    assert rc["leaf"] == tlogref.leaf_hash(lines[rc["seq"] - 1]).hex()
    res = run_audit_tool("verify", s.audit)
    m = re.search(r"^tree: size (\d+) root (\S+)$", res.stdout, re.M)
    assert m and int(m.group(1)) == len(lines)
    assert (tlogref.b64decode_strict(m.group(2))
            == tlogref.Tree(lines).root(len(lines)))
