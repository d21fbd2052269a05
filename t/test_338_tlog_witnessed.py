"""The log against checkpoints kept elsewhere (issue 7, item 3):
`verify --verifier KEY --witnessed FILE` reads signed notes from a note
file (a copy of VerifyCheckpointDir/checkpoint-NNN), a directory of them,
or a syslog extract whose lines carry note=<base64> tokens; each must
verify, and the log's root at its size must be the signed one. The
first contradiction is named (file, line, size, both roots), and a
witnessed size beyond the log's end names the missing seq range (the
log cut back, or an older backup restored)."""

import base64
import os
import re

import harness
import tlogref
from harness.tlog import LogBuilder, SigningKey, reseal

UNSAFE_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f"
                       "\u202a-\u202e\u2066-\u2069]")


def run(*args):
    return harness.run_audit_tool(*[str(a) for a in args])


def out(res):
    return res.stdout + res.stderr


def b64(h):
    return base64.b64encode(h).decode()


def built():
    """Three days, a checkpoint after every few lines, a short tail on
    the last day."""
    b = LogBuilder()
    for day in range(3):
        if day:
            b.next_day()
        for _ in range(3):
            b.queries(3 + day)
            b.checkpoint()
    b.queries(2)
    return b


def verify(*args):
    return run("verify", *args)


def test_witnessed_sources_agree(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    cpdir = b.checkpoint_dir(tmp_path / "checkpoints")
    extract = b.syslog_extract(tmp_path / "syslog.txt")
    one = os.path.join(cpdir, sorted(os.listdir(cpdir))[3])
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir,
                 "--witnessed", extract, "--witnessed", one, log)
    assert res.returncode == 0, out(res)
    n = len(b.notes)
    assert "witnessed:   %d of %d checkpoint(s) agree with the log" % (
        2 * n + 1, 2 * n + 1) in res.stdout
    assert res.stdout.splitlines()[-1].startswith("OK: ")
    # each note in the extract is the module's syslog message
    for line in open(extract):
        m = re.search(r" note=(\S+)$", line)
        if m:
            tlogref.open_checkpoint(base64.b64decode(m.group(1)),
                                    b.key.verifier)


def test_witnessed_checkpoint_covers_the_tail(tmp_path):
    """A checkpoint file of the log's whole size (its line not written
    yet): every line is signed."""
    b = built()
    log = b.write(tmp_path / "log")
    b.notes.append((b.size, b.note()))
    cpdir = b.checkpoint_dir(tmp_path / "checkpoints")
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir, log)
    assert res.returncode == 0, out(res)
    assert "WARNING" not in res.stdout
    assert "chain intact, every line signed" in res.stdout


def contradiction(res):
    m = re.findall(r"^(?!FAILED: )(.*): WITNESSED CHECKPOINT CONTRADICTS "
                   r"THE LOG: size (\d+): it signed root (\S+), the log's "
                   r"root at size "
                   r"\d+ is (\S+): lines 1\.\.\d+ are not the lines that "
                   r"were signed$", res.stdout, re.M)
    return [(w, int(n), tlogref.b64decode_strict(r1),
             tlogref.b64decode_strict(r2)) for w, n, r1, r2 in m]


def test_witnessed_fork(tmp_path):
    """The log was rewritten from line 5 on with a fresh chain, its
    checkpoint lines dropped: the lines alone are intact, the witnessed
    checkpoints from 5 on contradict it, and the first is named with
    both roots."""
    b = built()
    extract = b.syslog_extract(tmp_path / "syslog.txt")
    cpdir = b.checkpoint_dir(tmp_path / "checkpoints")
    keep = [x for x in b.lines if b'"op":"checkpoint"' not in x]
    lines = []
    for i, raw in enumerate(keep, 1):
        raw = b'{"seq":%d' % i + raw[raw.index(b","):]
        lines.append(raw.replace(b'"status":200', b'"status":403')
                     if i >= 5 else raw)
    b.lines = reseal(lines)
    log = b.write(tmp_path / "log")
    assert verify(log).returncode == 0
    res = verify("--verifier", b.key.verifier, "--witnessed", extract, log)
    assert res.returncode == 1, out(res)
    tree = tlogref.Tree(b.lines)
    found = contradiction(res)
    assert found, res.stdout
    where, size, signed, theirs = found[0]
    first = min(s for s, _ in b.notes if s >= 5)
    assert size == first and where == "%s:%d" % (extract, 2 * 2)
    assert theirs == tree.root(size)
    assert signed == tlogref.b64decode_strict(
        dict(b.notes)[size].split("\n")[2])
    assert res.stdout.splitlines()[-1].startswith("FAILED: ")
    assert "; the first: %s: WITNESSED CHECKPOINT CONTRADICTS" % where in \
        res.stdout.splitlines()[-1]
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir, log)
    assert res.returncode == 1
    assert contradiction(res)[0][0] == os.path.join(
        cpdir, "checkpoint-%020d" % first)
    # a note of another log signed by the same key: the same for one size
    other = LogBuilder(key=b.key)
    other.queries(b.size)
    alien = tmp_path / "alien-note"
    alien.write_text(other.note(size=7))
    res = verify("--verifier", b.key.verifier, "--witnessed", alien, log)
    assert res.returncode == 1
    [(w, size, signed, theirs)] = contradiction(res)
    assert (w, size, signed, theirs) == (str(alien), 7, other.root(7),
                                         tree.root(7))


def test_witnessed_beyond_the_end(tmp_path):
    """The log cut back (the last day file removed, lines cut before the
    newest checkpoint) or an older copy restored: the witnessed sizes
    beyond its end name the missing seqs."""
    b = built()
    cpdir = b.checkpoint_dir(tmp_path / "checkpoints")
    sizes = [s for s, _ in b.notes]
    full = b.write(tmp_path / "full")
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir, full)
    assert res.returncode == 0, out(res)
    # an older backup: the log as it was at 20 lines
    old = b.write(tmp_path / "backup", b.lines[:20])
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir, old)
    assert res.returncode == 1, out(res)
    beyond = re.findall(r"^(?!FAILED: )(.*): WITNESSED CHECKPOINT BEYOND "
                        r"THE LOG: size (\d+), but the log ends at seq 20: "
                        r"seq 21\.\.(\d+) are missing \(lines cut from the "
                        r"end, or an older "
                        r"copy of the log restored\)$", res.stdout, re.M)
    assert [int(x[1]) for x in beyond] == [s for s in sizes if s > 20]
    assert all(x[1] == x[2] for x in beyond)
    assert beyond[0][0] == os.path.join(cpdir, "checkpoint-%020d"
                                        % min(s for s in sizes if s > 20))
    # without the witness, the backup passes (the gap the witness closes)
    assert verify("--verifier", b.key.verifier, old).returncode == 0
    # the newest day file removed
    log = b.write(tmp_path / "log")
    os.unlink(os.path.join(log, sorted(os.listdir(log))[-1]))
    res = verify("--verifier", b.key.verifier, "--witnessed", cpdir, log)
    assert res.returncode == 1
    assert "WITNESSED CHECKPOINT BEYOND THE LOG: size %d" % sizes[-1] in \
        res.stdout


def test_witnessed_refusals(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    bad = tmp_path / "bad"
    note = b.notes[2][1]
    text, sig = note.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(sig))
    raw[20] ^= 0x40
    bad.write_text(text + " " + b64(bytes(raw)) + "\n")
    res = verify("--verifier", b.key.verifier, "--witnessed", bad, log)
    assert res.returncode == 1, out(res)
    assert ("%s: WITNESSED CHECKPOINT REFUSED: the note does not verify: the "
            "signature by %s+%s does not verify" % (bad, b.key.name,
                                                    b.key.key_id.hex())
            in res.stdout)
    assert "1 witnessed note(s) do not verify" in res.stdout.splitlines()[-1]
    # another key's note
    stranger = LogBuilder(key=SigningKey())
    stranger.queries(3)
    bad.write_text(stranger.note())
    res = verify("--verifier", b.key.verifier, "--witnessed", bad, log)
    assert res.returncode == 1 and "has no signature by" in res.stdout
    # a syslog extract with a broken token, and one with none
    ext = tmp_path / "syslog.txt"
    ext.write_text("Dec  1 host mod_verify[1]: checkpoint note=%s\n"
                   "Dec  1 host mod_verify[1]: checkpoint note=abc\n"
                   % b64(note.encode()))
    res = verify("--verifier", b.key.verifier, "--witnessed", ext, log)
    assert res.returncode == 1, out(res)
    assert "%s:2: WITNESSED CHECKPOINT REFUSED: the note= token is not " \
        "base64" % ext in res.stdout
    assert "witnessed:   1 of 1 checkpoint(s) agree" in res.stdout
    ext.write_text("nothing here\n")
    res = verify("--verifier", b.key.verifier, "--witnessed", ext, log)
    assert res.returncode == 1
    assert "neither a signed note nor a text with note= tokens" in res.stdout
    # a checkpoint directory: no files; a name that is not the size
    d = tmp_path / "empty"
    d.mkdir()
    (d / "notes.txt").write_text(note)
    res = verify("--verifier", b.key.verifier, "--witnessed", d, log)
    assert res.returncode == 1
    assert "the directory holds no checkpoint-NNN file" in res.stdout
    (d / ("checkpoint-%020d" % 3)).write_text(note)
    res = verify("--verifier", b.key.verifier, "--witnessed", d, log)
    assert res.returncode == 1
    assert "its name says size 3, the note %d" % b.notes[2][0] in res.stdout
    res = verify("--verifier", b.key.verifier, "--witnessed",
                 tmp_path / "missing", log)
    assert res.returncode == 1 and "cannot read" in res.stderr


def test_hostile_witnessed_names_are_escaped(tmp_path):
    b = built()
    log = b.write(tmp_path / "log")
    name = tmp_path / "cp\x1b[2J\u202e"
    b.notes[:] = [(3, b.note(size=3, root=b"\x09" * 32))]
    name.write_text(b.notes[0][1])
    res = verify("--verifier", b.key.verifier, "--witnessed", name, log)
    assert res.returncode == 1, out(res)
    assert "CONTRADICTS THE LOG: size 3" in res.stdout
    assert not UNSAFE_RE.search(out(res)), repr(out(res))
