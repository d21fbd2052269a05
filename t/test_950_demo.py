"""`make demo`'s script runs to its end on the built tree: a change of the
register or API that breaks the README's first command fails here too."""
import os
import subprocess

import harness


def test_demo_runs_to_the_end():
    res = subprocess.run(["bash", os.path.join(harness.REPO, "scripts",
                                               "demo.sh")],
                         cwd=harness.REPO, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, DEMO_COUNT="2000"))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-4000:]
    assert "Demo complete." in res.stdout
    assert "FAIL" not in out
