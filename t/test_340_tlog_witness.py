"""A witness that sees no personal data (issue 7, item 5): `verify-audit
witness --verifier KEY --state FILE CHECKPOINT [PROOF]` accepts a signed
checkpoint when it extends the one accepted before (proven by the text
`consistency` printed on the log), keeps it in FILE (replaced
atomically), and refuses, naming both sizes and roots, a fork or a
rewind. Its run needs only notes and proofs: no log is given to it."""

import base64
import os
import re

import harness
import tlogref
from harness.tlog import LogBuilder, SigningKey, reseal


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


def out(res):
    return res.stdout + res.stderr


def b64(h):
    return base64.b64encode(h).decode()


class Agency:
    """The other agency: a state file, and the notes and proofs it gets."""

    def __init__(self, tmp_path, verifier):
        self.dir = tmp_path / "witness"
        self.dir.mkdir()
        self.state = self.dir / "state"
        self.verifier = verifier
        self.n = 0

    def file(self, text, name):
        self.n += 1
        path = self.dir / ("%d-%s" % (self.n, name))
        path.write_text(text)
        return path

    def witness(self, note, proof=None, *keys):
        args = ["witness"]
        for k in keys or (self.verifier,):
            args += ["--verifier", k]
        args += ["--state", self.state, self.file(note, "checkpoint")]
        if proof is not None:
            args.append(self.file(proof, "proof"))
        return run(*args)

    def held(self):
        return self.state.read_text() if self.state.exists() else None


def proof(b, m1, m2, tmp_path):
    """What the log's operator runs and sends: consistency --from --to."""
    log = b.write(tmp_path / ("log-%d" % b.size))
    res = run("consistency", "--from", m1, "--to", m2, log)
    assert res.returncode == 0, out(res)
    return res.stdout


def grown(b, n):
    b.queries(n)
    b.checkpoint()
    return b.notes[-1]


def test_first_use_extend_and_equal(tmp_path):
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 5)
    res = w.witness(n1)
    assert res.returncode == 0, out(res)
    assert "the first checkpoint (no state yet): nothing to compare" in \
        res.stdout
    assert w.held() == n1
    # the tree grows; each step proven, the proof checked by tlogref too
    sizes = [s1]
    for n in (1, 7, 2, 30):
        s2, n2 = grown(b, n)
        text = proof(b, sizes[-1], s2, tmp_path)
        f, hashes, _ = tlogref.parse_proof_text(text, "consistency")
        _, _, r1, _ = tlogref.open_checkpoint(w.held(), b.key.verifier)
        _, _, r2, _ = tlogref.open_checkpoint(n2, b.key.verifier)
        tlogref.check_consistency(sizes[-1], s2, r1, r2, hashes)
        res = w.witness(n2, text)
        assert res.returncode == 0, out(res)
        assert ("accepted: %s, size %d (root %s), signed by %s+%s: it "
                "extends size %d (root %s), proven by %d hash(es)"
                % (b.key.name, s2, b64(r2), b.key.name, b.key.key_id.hex(),
                   sizes[-1], b64(r1), len(hashes))) in res.stdout
        assert w.held() == n2
        sizes.append(s2)
    # the same checkpoint again, and another note of the same tree
    res = w.witness(n2)
    assert res.returncode == 0 and "the same tree as accepted before" in \
        res.stdout
    again = b.note(size=s2)
    res = w.witness(again)
    assert res.returncode == 0, out(res)
    assert "the same tree as accepted before" in res.stdout
    assert not [x for x in os.listdir(w.dir) if ".tmp-" in x]


def test_fork_is_refused(tmp_path):
    """The operator rewrote line 3 and every line after (resealed), and
    the signer signed the rewritten log: its proof from the size the
    witness holds cannot hold."""
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 6)
    assert w.witness(n1).returncode == 0
    fork = LogBuilder(key=b.key)
    fork.days = list(b.days)
    fork.rewrite(reseal(b.lines[:2] + [b.lines[2].replace(b'"status":200',
                                                          b'"status":403')]
                        + b.lines[3:], 2))
    fork.queries(4)
    fork.checkpoint()
    s2, n2 = fork.notes[-1]
    text = proof(fork, s1, s2, tmp_path)
    res = w.witness(n2, text)
    assert res.returncode == 1, out(res)
    r1, r2 = b.root(s1), fork.root(s2)
    assert res.stdout.startswith(
        "REFUSED: fork: the checkpoint of size %d (root %s) does not extend "
        "the one accepted before, size %d (root %s): " % (s2, b64(r2), s1,
                                                         b64(r1)))
    assert "the log the proof was made from has root %s at size %d" % (
        b64(fork.root(s1)), s1) in res.stdout
    assert "the state is unchanged" in res.stdout
    assert w.held() == n1
    # an honest proof from the real log does not help the forked note
    b.queries(4)
    honest = proof(b, s1, s2, tmp_path)
    res = w.witness(n2, honest)
    assert res.returncode == 1 and res.stdout.startswith("REFUSED: fork: ")
    # the same size with another root
    res = w.witness(fork.note(size=s1))
    assert res.returncode == 1, out(res)
    assert ("REFUSED: fork: the checkpoint has size %d (root %s), but the one "
            "accepted before has size %d (root %s): two different trees "
            "were signed" % (s1, b64(fork.root(s1)), s1, b64(r1))
            in res.stdout)
    assert w.held() == n1


def test_rewind_is_refused(tmp_path):
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 4)
    s2, n2 = grown(b, 4)
    assert w.witness(n1).returncode == 0
    assert w.witness(n2, proof(b, s1, s2, tmp_path)).returncode == 0
    res = w.witness(n1)
    assert res.returncode == 1, out(res)
    assert res.stdout.startswith(
        "REFUSED: rewind: the checkpoint has size %d (root %s), smaller than "
        "the size %d (root %s) accepted before" % (s1, b64(b.root(s1)), s2,
                                                   b64(b.root(s2))))
    assert w.held() == n2


def test_not_accepted_without_the_right_proof(tmp_path):
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 4)
    assert w.witness(n1).returncode == 0
    s2, n2 = grown(b, 9)
    res = w.witness(n2)
    assert res.returncode == 1, out(res)
    assert ("NOT ACCEPTED: the checkpoint has size %d (root %s) and the one "
            "accepted before size %d (root %s): a consistency proof between "
            "them is needed (on the log: verify-audit consistency --from %d "
            "--to %d DIR)" % (s2, b64(b.root(s2)), s1, b64(b.root(s1)), s1,
                              s2)) in res.stdout
    res = w.witness(n2, proof(b, 2, s2, tmp_path))
    assert res.returncode == 1
    assert "NOT ACCEPTED: the proof is from size 2 to %d, not from %d" % (
        s2, s1) in res.stdout
    good = proof(b, s1, s2, tmp_path)
    for bad in ("", "inclusion\n", good.replace("hashes ", "hashes 0"),
                good[:-10], good.replace("size1 ", "size1 0"),
                good.replace("root2 ", "root2 x")):
        res = w.witness(n2, bad)
        assert res.returncode == 1, (bad, out(res))
        assert "NOT ACCEPTED: the proof" in res.stdout and \
            "cannot be read" in res.stdout, res.stdout
    # a proof with one hash changed is a fork
    lines = good.split("\n")
    lines[-2] = b64(b"\x00" * 32)
    res = w.witness(n2, "\n".join(lines))
    assert res.returncode == 1 and res.stdout.startswith("REFUSED: fork: ")
    assert w.held() == n1
    assert w.witness(n2, good).returncode == 0


def test_signature_and_state_refusals(tmp_path):
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 3)
    text, sig = n1.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[30] ^= 4
    forged = text + " " + b64(bytes(raw)) + "\n"
    res = w.witness(forged)
    assert res.returncode == 1, out(res)
    assert ("REFUSED: the checkpoint %s does not verify: the signature by "
            "%s+%s does not verify" % (w.dir / "1-checkpoint", b.key.name,
                                       b.key.key_id.hex())) in res.stdout
    assert w.held() is None
    other = SigningKey()
    res = w.witness(LogBuilder(key=other).note(size=0))
    assert res.returncode == 1 and "has no signature by" in res.stdout
    assert w.witness(n1).returncode == 0
    # the state changed behind the witness's back
    w.state.write_text(n1.replace("\n%d\n" % s1, "\n%d\n" % (s1 + 1)))
    s2, n2 = grown(b, 2)
    res = w.witness(n2, proof(b, s1, s2, tmp_path))
    assert res.returncode == 1, out(res)
    assert "REFUSED: the state %s does not verify" % w.state in res.stdout
    # usage
    res = run("witness", "--verifier", b.key.verifier, w.dir / "x")
    assert res.returncode == 2 and "--state FILE" in res.stderr
    res = run("witness", "--verifier", b.key.verifier, "--state", w.state)
    assert res.returncode == 2
    assert "takes a signed checkpoint file and, optionally, a proof" in \
        res.stderr


def test_key_rotation_and_another_log(tmp_path):
    """After a rotation the state was signed by the old key: the witness
    gives both. A checkpoint of another origin is another log."""
    old, new = SigningKey(), SigningKey()
    b = LogBuilder(key=old)
    w = Agency(tmp_path, old.verifier)
    s1, n1 = grown(b, 3)
    assert w.witness(n1).returncode == 0
    b.key = new
    s2, n2 = grown(b, 3)
    p = proof(b, s1, s2, tmp_path)
    res = w.witness(n2, p, new.verifier)
    assert res.returncode == 1 and "REFUSED: the state" in res.stdout
    res = w.witness(n2, p, new.verifier, old.verifier)
    assert res.returncode == 0, out(res)
    assert "signed by %s+%s" % (new.name, new.key_id.hex()) in res.stdout
    other = LogBuilder(key=SigningKey("other.example/verify-audit"))
    other.queries(30)
    res = w.witness(other.note(), None, new.verifier, other.key.verifier)
    assert res.returncode == 1, out(res)
    assert ('REFUSED: the checkpoint is of the log "other.example/verify-'
            'audit", the state of "%s": another log' % new.name) in res.stdout
    assert w.held() == n2


def test_state_is_replaced_atomically(tmp_path):
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 3)
    assert w.witness(n1).returncode == 0
    ino = os.stat(w.state).st_ino
    s2, n2 = grown(b, 3)
    assert w.witness(n2, proof(b, s1, s2, tmp_path)).returncode == 0
    assert os.stat(w.state).st_ino != ino, "renamed over, not rewritten"
    assert os.stat(w.state).st_mode & 0o777 == 0o644
    assert not [x for x in os.listdir(w.dir) if ".tmp-" in x]
    # a state directory that is not writable: refused, state kept
    if not harness.IS_ROOT:
        os.chmod(w.dir, 0o555)
        s3, n3 = grown(b, 1)
        res = w.witness(n3, proof(b, s2, s3, tmp_path))
        os.chmod(w.dir, 0o755)
        assert res.returncode == 1
        assert w.held() == n2


def test_proof_made_elsewhere(tmp_path):
    """The proof text made by another tool (here tlogref, from RFC 6962),
    with lines after the K hashes, which the format says are not read."""
    b = LogBuilder()
    w = Agency(tmp_path, b.key.verifier)
    s1, n1 = grown(b, 1)
    assert w.witness(n1).returncode == 0
    b.queries(5)
    n2 = b.note()
    tree = tlogref.Tree(b.lines)
    hashes = tree.proof(s1, b.size)
    p = "".join("%s\n" % x for x in
                ["consistency", "size1 %d" % s1, "root1 " + b64(tree.root(s1)),
                 "size2 %d" % b.size, "root2 " + b64(tree.root(b.size)),
                 "hashes %d" % len(hashes)] + [b64(h) for h in hashes]
                + ["anything after"])
    res = w.witness(n2, p)
    assert res.returncode == 0, out(res)
    assert re.search(r"proven by %d hash\(es\)" % len(hashes), res.stdout)
