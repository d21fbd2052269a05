"""verify-import destroys what it read (R4.4): the input is opened once
(O_NOFOLLOW, O_NONBLOCK); a FIFO, a device or a directory is refused at
once; the file is overwritten and synced through that descriptor, and
the path is unlinked only if it still names that file: a file swapped
during the import keeps the decoy, says so, and leaves nothing of the
batch on disk."""

import os
import stat
import subprocess
import time

import pytest

import harness


def batch_file(d, people, name="household.csv"):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(people))
    return path


def quick_import(store, key, path, extra=(), timeout=10):
    t0 = time.monotonic()
    res = subprocess.run([harness.VERIFY_IMPORT, "--store", store, "--key",
                          key, "--source", "household"] + list(extra)
                         + [path], capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=timeout)
    return res, time.monotonic() - t0


@pytest.mark.parametrize("extra", [[], ["--keep-input"], ["--dry-run"]],
                         ids=["destroy", "keep", "dry-run"])
def test_fifo_refused_at_once(tmp_path, extra):
    """A FIFO with no writer: before, the open waited for one forever.
    Now it is refused within the time limit, and nothing is imported."""
    d = str(tmp_path)
    store = os.path.join(d, "store")
    key = harness.make_key_file(os.path.join(d, "k.key"))
    fifo = os.path.join(d, "batch.csv")
    os.mkfifo(fifo)
    res, took = quick_import(store, key, fifo, extra)
    assert res.returncode != 0 and took < 5, (took, res.stderr)
    assert "not a regular file" in res.stderr, res.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert harness.no_snapshot(store)
    # a dry run is not recorded; an import attempt is, though refused
    want = [] if "--dry-run" in extra else ["refused"]
    assert [e["result"] for e in harness.spooled_events(store)] == want


@pytest.mark.parametrize("kind", ["directory", "device"])
def test_directory_and_device_refused(tmp_path, kind):
    d = str(tmp_path)
    store = os.path.join(d, "store")
    key = harness.make_key_file(os.path.join(d, "k.key"))
    if kind == "directory":
        path = os.path.join(d, "batch.csv")
        os.mkdir(path)
    else:
        path = "/dev/null"
    for extra in ([], ["--keep-input"]):
        res, took = quick_import(store, key, path, extra)
        assert res.returncode != 0 and took < 5, res.stderr
        assert "not a regular file" in res.stderr, res.stderr
    assert os.path.exists(path) and harness.no_snapshot(store)
    assert [e["result"] for e in harness.spooled_events(store)] == \
        ["refused"] * 2


def test_input_swapped_during_import(make_server):
    """The batch file is renamed away and a decoy put at its path while
    the import runs (held deterministically: strace delays the
    importer's mkdirat of the new snapshot by 3 s, after the batch was
    read). The file read is wiped through its descriptor; the decoy is
    kept byte for byte; the importer says the path was replaced and
    exits non-zero; the import itself is published."""
    s = make_server()
    people = harness.People().batch(4)
    s.add_people(people)
    work = s.workdir()
    path, opts = harness.as_sent(batch_file(work, people))
    original = open(path, "rb").read()
    moved = os.path.join(work, "moved-away.csv")
    decoy = b"decoy: not the batch\n"
    # (the first mkdirat, of the store's pending/, is delayed too)
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdirat",
           "-e", "inject=mkdirat:delay_exit=3000000", harness.VERIFY_IMPORT,
           "--store", s.store, "--key", s.key, "--source", "household"] \
        + opts + [path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=harness.CLEAN_ENV)
    deadline = time.time() + 20
    while not [n for n in os.listdir(s.store) if n.startswith("snap-")]:
        assert time.time() < deadline and proc.poll() is None, \
            proc.communicate()
        time.sleep(0.01)
    # the importer has read the batch and sits in its delayed mkdirat
    os.rename(path, moved)
    with open(path, "wb") as f:
        f.write(decoy)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert "was replaced during the import" in err, err
    assert open(path, "rb").read() == decoy, "the decoy was touched"
    wiped = open(moved, "rb").read()
    assert wiped == b"\0" * len(original), "the batch is still on disk"
    ev = [ln for ln in out.splitlines() if ln.startswith("{")]
    assert len(ev) == 1 and '"input":"wiped; path replaced"' in ev[0], out
    s.start()
    r = s.post(harness.fields_for(people[0]))
    assert r.status == 200 and r.json["results"] == {"resident": True}, r


def test_destroyed_through_its_descriptor(tmp_path):
    """The ordinary case: the file read is overwritten, synced (through
    the descriptor it was read from) and unlinked."""
    d = str(tmp_path)
    store = os.path.join(d, "store")
    key = harness.make_key_file(os.path.join(d, "k.key"))
    path, opts = harness.as_sent(batch_file(d, harness.People().batch(3)))
    trace = os.path.join(d, "trace")
    res = subprocess.run(["strace", "-qq", "-o", trace, "-e",
                          "trace=openat,pwrite64,fsync,unlinkat",
                          harness.VERIFY_IMPORT, "--store", store, "--key",
                          key, "--source", "household"] + opts + [path],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    assert '"input":"destroyed"' in res.stdout
    assert not os.path.exists(path)
    lines = open(trace).read().splitlines()
    opens = [ln for ln in lines if path in ln and "openat" in ln
             and "O_DIRECTORY" not in ln]
    assert len(opens) == 1 and "O_NOFOLLOW" in opens[0] \
        and "O_NONBLOCK" in opens[0], opens
    fd = opens[0].rsplit("=", 1)[1].strip()
    assert any(ln.startswith("pwrite64(%s," % fd) for ln in lines), lines
    assert "fsync(%s)" % fd in "\n".join(lines)
