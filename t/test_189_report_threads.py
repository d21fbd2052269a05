"""`verify-audit report` with work on a second thread (issue 8 item 8):
each line's RFC 6962 leaf, each query's SHA-256 and the anomaly flags'
count of each query are done by another thread while the month is read
(hash_ahead.c). The sheet and its
CSV must be the same byte for byte whatever VERIFY_AUDIT_THREADS says
(1: the one-thread path), on a sound month, a month with a changed line,
and without --verifier; a bad value is a usage error that writes
nothing. The month (scripts/gen-audit.py, about 11,800 lines) holds many
more lines than the thread's ring of batches, so the ring turns over."""
import os
import re
import subprocess
import sys

import pytest

import harness
from harness.env import CLEAN_ENV, VERIFY_AUDIT

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "scripts", "gen-audit.py")
MONTH = "2026-10"
# the time the sheet was made: the only text that differs between runs
GENERATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00"
                       r"(?= by <code>|\. Every page)")


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("threads")
    audit = str(d / "audit")
    subprocess.run([sys.executable, GEN, "--month", MONTH, "--lines", "6000",
                    "--out", audit], check=True, capture_output=True,
                   timeout=300)
    verifier = str(d / "verifier")
    os.rename(os.path.join(audit, "verifier"), verifier)
    return audit, verifier


def report(audit, out, threads, *args):
    """One sheet: (returncode, stderr, html, csv) with the made time
    blanked; html and csv None when not written."""
    env = dict(CLEAN_ENV)
    if threads is not None:
        env["VERIFY_AUDIT_THREADS"] = threads
    html = str(out) + ".html"
    res = subprocess.run([VERIFY_AUDIT, "report", "--month", MONTH,
                          "--records",
                          os.path.join(os.path.dirname(str(out)), "records")]
                         + list(args)
                         + ["--output", html, audit], capture_output=True,
                         env=env, timeout=300, text=True, errors="replace")
    sheet = csv = None
    if os.path.exists(html):
        with open(html, encoding="utf-8") as f:
            sheet = f.read()
        with open(html[:-len(".html")] + ".csv", encoding="utf-8") as f:
            csv = f.read()
        assert len(GENERATED.findall(sheet)) == 2
        sheet = GENERATED.sub("(made)", sheet)
    return res.returncode, res.stderr, sheet, csv


def same_whatever_threads(audit, tmp_path, *args):
    one = report(audit, tmp_path / "t1", "1", *args)
    assert one[2] and "queries" in one[2]
    for n in ("2", "3", None):
        other = report(audit, tmp_path / ("t%s" % n), n, *args)
        assert other == one, "VERIFY_AUDIT_THREADS=%s" % n
    return one


def test_sound_month_same_sheet(month, tmp_path):
    audit, verifier = month
    rc, err, sheet, _ = same_whatever_threads(audit, tmp_path,
                                              "--verifier", verifier)
    assert rc == 0, err
    assert "checkpoints verified" in sheet
    # the flags, counted on the hashing thread too, found lines
    found = re.search(r"Anomaly flags \(R5\.2\): (\d+) line", sheet)
    assert found and int(found.group(1)) > 100


def test_without_verifier_same_sheet(month, tmp_path):
    audit, _ = month
    rc, err, _, _ = same_whatever_threads(audit, tmp_path)
    assert rc == 0, err


def test_changed_line_same_error(month, tmp_path):
    """A query line changed in place (same length): the chain breaks and
    the checkpoint covering it fails its root, the same way on one thread
    or two."""
    audit, verifier = month
    bad = str(tmp_path / "audit")
    os.makedirs(bad)
    names = sorted(os.listdir(audit))
    for name in names:
        with open(os.path.join(audit, name), "rb") as f:
            data = f.read()
        if name == names[len(names) // 2]:
            i = data.index(b'"reason":"') + len(b'"reason":"')
            data = data[:i] + (b"X" if data[i:i + 1] != b"X" else b"Y") \
                + data[i + 1:]
        with open(os.path.join(bad, name), "wb") as f:
            f.write(data)
    rc, err, sheet, _ = same_whatever_threads(bad, tmp_path,
                                              "--verifier", verifier)
    assert rc == 1
    assert "BROKEN" in err and "FAILED" in err, err
    assert "BROKEN" in sheet


@pytest.mark.parametrize("value", ["0", "65", "x", "+2", "-1", " 2", "2 ",
                                   "2x", "99999999999999999999"])
def test_bad_threads_value_writes_nothing(month, tmp_path, value):
    audit, verifier = month
    rc, err, sheet, _ = report(audit, tmp_path / "bad", value,
                               "--verifier", verifier)
    assert rc == 2
    assert "VERIFY_AUDIT_THREADS must be a whole number from 1 to 64" in err
    assert sheet is None
    assert not os.path.exists(str(tmp_path / "bad.csv"))


def test_bad_threads_value_several_nodes(month, tmp_path):
    """Read before anything, for the sheet of several nodes too."""
    audit, verifier = month
    other = str(tmp_path / "node2")
    os.makedirs(other)
    rc, err, sheet, _ = report(audit, tmp_path / "bad", "0",
                               "--verifier", verifier, other)
    assert rc == 2
    assert "VERIFY_AUDIT_THREADS must be a whole number" in err
    assert sheet is None
