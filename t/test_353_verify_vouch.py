"""Which checkpoint signatures `verify-audit verify` checks (issue 8,
item 8; scripts/verify-audit/vouch.c). A checkpoint whose root equals
the log's root at its size signs every earlier line byte for byte,
earlier checkpoint lines included; so verify checks the grammar, origin,
size and root of every checkpoint line but the signatures only of the
newest checkpoint and of those no newer root covers, and reads the log
again with every signature checked when one of those fails. What it says
of a log is then what `--every-signature` says, with one exception, by
design and tested here: a covered checkpoint line whose signature the
signer itself got wrong (its line is exactly what the newer signed root
holds)."""

import os
import pathlib
import random
import re
import shutil
import subprocess
import tempfile

import harness
from harness.env import CLEAN_ENV, VERIFY_AUDIT
from harness.tlog import LogBuilder

import test_350_tlog_mutations as m350
from test_335_tlog_verify import built, flip_signature

SIGNATURES = re.compile(rb"^signatures: .*\n", re.M)


def verify(*args):
    res = subprocess.run([VERIFY_AUDIT, "verify"] + [str(a) for a in args],
                         capture_output=True, env=CLEAN_ENV, timeout=300)
    return res.returncode, res.stdout, res.stderr


def both(log, verifier, *more):
    """verify's answer, and --every-signature's."""
    return (verify("--verifier", verifier, *more, log),
            verify("--every-signature", "--verifier", verifier, *more, log))


def test_sound_log_checks_one_signature(tmp_path):
    b = built(n=7)
    lazy, every = both(b.write(tmp_path / "log"), b.key.verifier)
    assert lazy[0] == 0 and every[0] == 0
    said = SIGNATURES.findall(lazy[1])
    assert said == [b"signatures:  1 checked (the newest checkpoint's, and "
                    b"any no newer root covers); the other 6 checkpoint "
                    b"line(s) are in the tree a checked signature signs, "
                    b"byte for byte (--every-signature checks each)\n"], \
        lazy[1]
    assert not SIGNATURES.search(every[1])
    assert SIGNATURES.sub(b"", lazy[1]) == every[1]
    assert lazy[2] == every[2]


def test_newest_signature_bad_reads_again(tmp_path):
    """The newest checkpoint's signature fails: read again, each checked,
    and the answer is --every-signature's byte for byte."""
    b = built(n=5)
    b.queries(2)
    seq = b.checkpoint(note=flip_signature(b.note()))
    b.queries(1)
    lazy, every = both(b.write(tmp_path / "log"), b.key.verifier)
    assert lazy == every
    assert lazy[0] == 1
    assert re.search(rb"BAD CHECKPOINT at seq %d: the note does not verify: "
                     rb"the signature by \S+ does not verify" % seq, lazy[1])


def test_forged_note_refused_for_its_root_is_named_forged(tmp_path):
    """A checkpoint line added by someone without the key (a made-up
    root, a signature that cannot verify, the chain resealed) is refused
    for its root before its signature is looked at: its signature is
    then checked, and what is said is --every-signature's (the note does
    not verify), not that lines 1..N were changed."""
    b = built(n=3)
    b.queries(2)
    seq = b.checkpoint(note=flip_signature(b.note(root=bytes(32))))
    b.queries(1)
    lazy, every = both(b.write(tmp_path / "log"), b.key.verifier)
    assert lazy == every and lazy[0] == 1
    bad = re.findall(rb"^\S+: BAD CHECKPOINT at seq (\d+): (.*)$", lazy[1],
                     re.M)
    assert bad == [(b"%d" % seq, b"the note does not verify: the signature "
                    b"by %s+%s does not verify" % (b.key.name.encode(),
                                                   b.key.key_id.hex()
                                                   .encode()))], lazy[1]


def test_older_checkpoint_not_covered_is_checked(tmp_path):
    """A newer checkpoint of an older size (the signer may sign a size
    below the last line) does not hold the older checkpoint's line: that
    signature is checked, fails, and the log is read again."""
    b = built(n=3)
    b.queries(3)
    size = b.size
    seq = b.checkpoint(note=flip_signature(b.note()))
    b.checkpoint(upto=size)
    b.queries(2)
    lazy, every = both(b.write(tmp_path / "log"), b.key.verifier)
    assert lazy == every and lazy[0] == 1
    assert re.search(rb"BAD CHECKPOINT at seq %d: " % seq, lazy[1])


def test_covered_bad_signature_is_held_by_the_newer_root(tmp_path):
    """The exception: the signer wrote a checkpoint whose signature does
    not verify, and a newer checkpoint, signed well, holds that line in
    its root. Nobody without the key can make such a log (changing the
    line changes the newer root); verify accepts it, --every-signature
    names the line."""
    b = built(n=3)
    b.queries(2)
    seq = b.checkpoint(note=flip_signature(b.note()))
    b.queries(3)
    b.checkpoint()
    b.queries(1)
    lazy, every = both(b.write(tmp_path / "log"), b.key.verifier)
    assert lazy[0] == 0, lazy
    assert lazy[1].splitlines()[-1].startswith(b"OK: ")
    assert every[0] == 1
    assert re.search(rb"BAD CHECKPOINT at seq %d: the note does not verify"
                     % seq, every[1])


def test_full_tmp_reads_again_straight_to_stdout(tmp_path):
    """The first reading's output waits in an unnamed file in /tmp; a
    /tmp too small for it (a 4 KiB tmpfs, in a mount namespace of the
    test's own) makes verify read again, writing straight to stdout, so
    nothing is cut."""
    b = built(n=2)
    for _ in range(24):
        b.queries(1)
        b.checkpoint(note=b.note(root=bytes(32)))   # signed, wrong root
    b.queries(1)
    # outside /tmp, which the namespace covers: the log, and the program
    # too (a clone of the tree may itself be under /tmp)
    shm = tempfile.mkdtemp(dir="/dev/shm")
    try:
        d = b.write(pathlib.Path(shm) / "log")
        prog = os.path.join(shm, "verify-audit")
        shutil.copy2(VERIFY_AUDIT, prog)
        every = verify("--every-signature", "--verifier", b.key.verifier, d)
        assert every[0] == 1 and len(every[1]) > 4096, len(every[1])
        script = ('mount -t tmpfs -o size=4k tmpfs /tmp && exec "$@"')
        res = subprocess.run(["unshare", "--mount", "--propagation",
                              "private", "sh", "-c", script, "sh",
                              prog, "verify", "--verifier",
                              b.key.verifier, str(d)],
                             capture_output=True, env=CLEAN_ENV, timeout=120)
    finally:
        shutil.rmtree(shm, ignore_errors=True)
    assert (res.returncode, SIGNATURES.sub(b"", res.stdout), res.stderr) \
        == every


def test_mutations_say_what_every_signature_says(tmp_path):
    """Every mutation of t/test_350 (an insider's rewrites, resealed or
    not): verify's answer is --every-signature's, but for the line that
    says how many signatures were checked."""
    rng = random.Random(353)
    kinds = {}
    for i, log, cpdir in m350.random_logs(rng, tmp_path, 6):
        for k, mut in enumerate(m350.MUTATIONS):
            lines = mut(rng, log)
            if lines is None or lines == log.lines:
                continue
            d = log.write(tmp_path / ("m%d-%d" % (i, k)), lines)
            more = ("--witnessed", cpdir) if k % 2 else ()
            lazy, every = both(d, log.verifier, *more)
            assert (lazy[0], SIGNATURES.sub(b"", lazy[1]), lazy[2]) == every, \
                "%s of log %d:\n%r\n%r" % (mut.__name__, i, lazy, every)
            kinds[mut.__name__] = kinds.get(mut.__name__, 0) + 1
    assert set(kinds) == {m.__name__ for m in m350.MUTATIONS}, kinds


def test_checks_signatures_with_every_thread_count(tmp_path):
    """One and two threads check the same signatures."""
    b = built(n=9)
    b.queries(2)
    b.checkpoint(note=flip_signature(b.note()))
    d = b.write(tmp_path / "log")
    answers = set()
    for threads in ("1", "2", "3"):
        env = dict(CLEAN_ENV, VERIFY_AUDIT_THREADS=threads)
        res = subprocess.run([VERIFY_AUDIT, "verify", "--verifier",
                              b.key.verifier, str(d)], capture_output=True,
                             env=env, timeout=120)
        answers.add((res.returncode, res.stdout, res.stderr))
    assert len(answers) == 1 and answers.pop()[0] == 1
