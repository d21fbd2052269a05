"""`make bench`'s tooling, small: the TLS part (a private httpd, TLS 1.3
with a client certificate, VerifyAuditSync Off and On) runs one short round
to its end and writes its Markdown table; the load generator refuses bad
usage and a server it cannot reach, clearly, and counts non-2xx answers."""
import os
import re
import subprocess

import harness

LOADGEN = os.path.join(harness.BUILD, "bench-load")
SCRIPTS = os.path.join(harness.REPO, "scripts")


def run(cmd, env=None, timeout=60):
    return subprocess.run(cmd, cwd=harness.REPO, capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def test_loadgen_is_built():
    assert os.access(LOADGEN, os.X_OK), "make build/bench-load"


def test_loadgen_usage_errors():
    for args in ([], ["-p", "0", "-u", "/"], ["-p", "80", "-u", "x"],
                 ["-p", "80", "-u", "/", "-c", "0"], ["-p"],
                 ["-p", "80", "-u", "/", "--bogus", "1"]):
        res = run([LOADGEN] + args)
        assert res.returncode == 1, args
        assert "usage: bench-load" in res.stderr, args
        assert res.stdout == ""


def test_loadgen_refuses_half_tls_and_missing_files(tmp_path):
    res = run([LOADGEN, "-p", "80", "-u", "/", "--cert", "x"])
    assert res.returncode == 1
    assert "--cert, --key and --ca go together" in res.stderr
    res = run([LOADGEN, "-p", "80", "-u", "/", "--cert", str(tmp_path / "c"),
               "--key", str(tmp_path / "k"), "--ca", str(tmp_path / "a")])
    assert res.returncode == 1
    assert "cannot set up TLS" in res.stderr
    res = run([LOADGEN, "-p", "80", "-u", "/", "-b", str(tmp_path / "none")])
    assert res.returncode == 1
    assert "cannot open the bodies file" in res.stderr
    (tmp_path / "empty").write_text("\n")
    res = run([LOADGEN, "-p", "80", "-u", "/", "-b", str(tmp_path / "empty")])
    assert res.returncode == 1
    assert "the bodies file is empty" in res.stderr


def test_loadgen_no_server():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    res = run([LOADGEN, "-p", str(port), "-u", "/", "-c", "2", "-n", "10"])
    assert res.returncode == 1
    assert "cannot connect" in res.stderr


def test_bench_script_refuses_bad_settings():
    res = run(["bash", os.path.join(SCRIPTS, "bench-tls.sh")],
              env={"BENCH_CONNS": "many"})
    assert res.returncode == 1
    assert "BENCH_CONNS must be a positive number" in res.stderr
    res = run(["bash", os.path.join(SCRIPTS, "bench-verify.sh"), "udp"])
    assert res.returncode == 1
    assert "usage: bench-verify.sh http|tls" in res.stderr
    res = run(["bash", os.path.join(SCRIPTS, "bench-all.sh")],
              env={"BENCH_QUICK": "yes"})
    assert res.returncode == 1
    assert "BENCH_QUICK must be 0 or 1" in res.stderr


def test_bench_tls_one_short_round(tmp_path):
    out = tmp_path / "out"
    res = run(["bash", os.path.join(SCRIPTS, "bench-tls.sh")], timeout=240,
              env={"BENCH_QUICK": "1", "BENCH_ROUNDS": "1",
                   "BENCH_DURATION": "1", "BENCH_COUNT": "1000",
                   "BENCH_CONNS": "4", "BENCH_OUT_DIR": str(out)})
    text = res.stdout + res.stderr
    assert res.returncode == 0, text[-4000:]
    assert "every audit chain intact" in res.stdout
    md = (out / "tls.md").read_text()
    assert md.startswith("### TLS 1.3, client certificate\n")
    rows = [l for l in md.splitlines() if l.startswith("| ")]
    assert len(rows) == 4, md  # the header and three pages
    for row, page in zip(rows[1:], ("static file", "VerifyAuditSync Off",
                                    "VerifyAuditSync On")):
        assert page in row
        rps = float(row.split("|")[2])
        assert rps > 0, row
        assert re.search(r"\| [0-9.]+ ms \| [0-9.]+ ms \|", row), row
    # the scratch directory (store, audit lines, keys) is gone
    d = re.search(r"setting up in (\S+)", res.stdout).group(1)
    assert not os.path.exists(d)


def test_loadgen_counts_answers_and_refusals(make_server):
    s = make_server().start()
    res = run([LOADGEN, "-p", str(s.port), "-u", "/static/small.txt",
               "-c", "2", "-n", "50"])
    assert res.returncode == 0, res.stderr
    got = dict(l.split() for l in res.stdout.splitlines())
    assert got["requests"] == "50" and got["non2xx"] == "0"
    assert got["errors"] == "0"
    res = run([LOADGEN, "-p", str(s.port), "-u", "/no-such-page",
               "-c", "2", "-n", "20"])
    assert res.returncode == 0, res.stderr
    got = dict(l.split() for l in res.stdout.splitlines())
    assert got["requests"] == "20" and got["non2xx"] == "20"
