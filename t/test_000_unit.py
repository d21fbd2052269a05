"""Runs the C unit tests of the core library (t/unit/test_*.c, TAP)."""
import glob
import os
import subprocess

import pytest

import harness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = sorted(glob.glob(os.path.join(ROOT, "t", "unit", "test_*.c")))


@pytest.mark.parametrize("src", UNITS, ids=[os.path.basename(u) for u in UNITS])
def test_unit(src):
    binary = os.path.join(harness.BUILD, "t",
                          os.path.basename(src)[:-2])
    assert os.path.exists(binary), "run `make unit` first"
    # under `make asan`, reports go where the harness checks them
    # (UBSan's would otherwise only print and exit 0)
    res = subprocess.run([binary], capture_output=True, text=True,
                         timeout=120, cwd=ROOT,
                         env=dict(os.environ, **harness.sanitizer.options()))
    assert not harness.sanitizer.REPORT_LINE_RE.search(res.stderr), \
        res.stderr[-6000:]
    failed = [l for l in res.stdout.splitlines() if l.startswith("not ok")]
    assert res.returncode == 0 and not failed, res.stdout + res.stderr
    assert any(l.startswith("ok ") for l in res.stdout.splitlines()), \
        "no test ran"
