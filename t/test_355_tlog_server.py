"""The auditor's side of signed checkpoints against a real httpd (issue
7, items 2-6): with Server(checkpoints=True) the parent signs
checkpoints of the log; `verify-audit pubkey` gives the verifier key the
harness derived independently, `verify --verifier --witnessed` accepts
the log with its checkpoint lines and VerifyCheckpointDir, every 200
answer's receipt is confirmed against a signed checkpoint, a witness
follows the checkpoints one by one with the proofs `consistency` prints,
and an insider's rewrite of a covered line (the chain resealed, as
www-data can) is named by the checkpoint that covers it."""

import hashlib
import os
import re
import time

import harness
import tlogref
from conftest import household_server_fixture
from harness import fields_for
from harness.tlog import reseal


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


def out(res):
    return res.stdout + res.stderr


def checkpoint_sizes(s):
    return sorted(int(n[len("checkpoint-"):])
                  for n in os.listdir(s.checkpoint_dir)
                  if n.startswith("checkpoint-"))


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end and not pred():
        time.sleep(0.5)
    return pred()


class Request:
    param = "event"


def test_real_log_with_signed_checkpoints(tmp_path):
    s = household_server_fixture(Request, n=10, checkpoints=True)
    try:
        answers = []
        for i, person in enumerate(s.people):
            answers.append(s.post(fields_for(person, case="RC-%d" % i)))
            if i == 4:
                # a checkpoint between the two halves
                n = len(harness.read_audit(s.audit))
                assert wait_for(lambda: checkpoint_sizes(s)[-1] >= n, 40)
        n = len(harness.read_audit(s.audit))
        assert wait_for(lambda: checkpoint_sizes(s)[-1] >= n, 40), \
            checkpoint_sizes(s)
        s.stop()
        lines = [ln.raw for ln in harness.read_audit(s.audit)]
        tree = tlogref.Tree(lines)

        # the verifier key, as the admin guide makes it
        res = run("pubkey", "--key", s.checkpoint_key, "--origin", s.origin)
        assert res.returncode == 0, out(res)
        assert res.stdout == s.verifier + "\n"

        # the whole log against its checkpoint lines and the directory
        res = run("verify", "--verifier", s.verifier, "--witnessed",
                  s.checkpoint_dir, s.audit)
        assert res.returncode == 0, out(res)
        sizes = checkpoint_sizes(s)
        cps = [ln for ln in harness.read_audit(s.audit)
               if ln.get("op") == "checkpoint"]
        assert len(cps) == len(sizes) >= 3
        assert "checkpoints: %d of %d line(s) sound" % (len(cps), len(cps)) \
            in res.stdout
        assert "witnessed:   %d of %d checkpoint(s) agree" % (
            len(sizes), len(sizes)) in res.stdout
        # the stop's checkpoint covers all but its own line
        assert sizes[-1] == len(lines) - 1
        assert ("WARNING: unsigned tail: seq %d..%d (1 line(s)"
                % (len(lines), len(lines))) in res.stdout

        # every receipt: confirmed against the first checkpoint covering it
        for r in answers:
            assert r.status == 200
            rc = r.json["receipt"]
            res = run("check-receipt", "--seq", rc["seq"], "--leaf",
                      rc["leaf"], "--verifier", s.verifier, s.audit)
            assert res.returncode == 0, out(res)
            cover = min(x for x in sizes if x >= rc["seq"])
            f, path, rest = tlogref.parse_proof_text(
                res.stdout.split("\n", 1)[1], "inclusion")
            assert int(f["size"]) == cover
            note = rest.split("\n", 1)[1]
            _, size, root, _ = tlogref.open_checkpoint(note, s.verifier)
            assert size == cover and root == tree.root(cover)
            tlogref.check_inclusion(rc["seq"] - 1, cover,
                                    bytes.fromhex(rc["leaf"]), path, root)

        # a witness at another agency follows every checkpoint
        state = tmp_path / "witness-state"
        held = None
        for size in sizes:
            note = os.path.join(s.checkpoint_dir, "checkpoint-%020d" % size)
            args = ["witness", "--verifier", s.verifier, "--state", state,
                    note]
            if held:
                proof = tmp_path / ("proof-%d" % size)
                res = run("consistency", "--from", held, "--to", size,
                          s.audit)
                assert res.returncode == 0, out(res)
                proof.write_text(res.stdout)
                args.append(proof)
            res = run(*args)
            assert res.returncode == 0, out(res)
            assert res.stdout.startswith("accepted: ")
            held = size

        # www-data rewrites a covered query line and reseals the chain
        k = next(i for i, x in enumerate(lines) if b'"case":"RC-2"' in x)
        forged = reseal(lines[:k] + [lines[k].replace(b'"RC-2"', b'"RC-9"')]
                        + lines[k + 1:], k)
        name = harness.audit_files(s.audit)[-1]
        assert len(harness.audit_files(s.audit)) == 1
        copy = tmp_path / "forged"
        copy.mkdir()
        (copy / name).write_bytes(b"".join(x + b"\n" for x in forged))
        assert run("verify", copy).returncode == 0
        res = run("verify", "--verifier", s.verifier, "--witnessed",
                  s.checkpoint_dir, copy)
        assert res.returncode == 1, out(res)
        first = min(x for x in sizes if x > k)
        m = re.search(r"^\S+:(\d+): BAD CHECKPOINT at seq (\d+): the log's "
                      r"root at size (\d+) is ", res.stdout, re.M)
        assert m and int(m.group(3)) == first, res.stdout
        assert ("checkpoint-%020d: WITNESSED CHECKPOINT CONTRADICTS THE LOG: "
                "size %d" % (first, first)) in res.stdout
        rc = answers[2].json["receipt"]
        res = run("check-receipt", "--seq", rc["seq"], "--leaf", rc["leaf"],
                  "--verifier", s.verifier, copy)
        assert res.returncode == 1
        assert "has leaf hash %s" % hashlib.sha256(
            b"\x00" + forged[rc["seq"] - 1]).hexdigest() in res.stdout
    finally:
        s.stop()
        s.cleanup()
