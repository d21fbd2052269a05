#!/usr/bin/python3
"""A fuzzing campaign measured in CPU time (`make fuzz-run`).

Runs each libFuzzer target of build/fuzz/ (t/fuzz/build.sh) on a copy of
its seed corpus in slices of at most SLICE seconds of wall time until the
target has spent CPU_MINUTES of CPU time (user + system, measured with
getrusage on the finished slices, so that a loaded machine still gives
each target the same work), then prints per target: CPU seconds, runs,
the corpus size before and after, and the crashes found. A crash stops
that target and is copied to t/fuzz/crashes/TARGET-crash-SHA1 (fix it,
then keep it: t/test_190 replays it). With --merge, the inputs that add
coverage are merged (libFuzzer -merge=1) into t/fuzz/corpus/TARGET/.

Usage: t/fuzz/campaign.py [--cpu-minutes N] [--jobs J] [--merge] [TARGET...]
Environment: FUZZ_CPU_MINUTES (default 2), FUZZ_JOBS (default 1)
"""

import argparse
import concurrent.futures
import glob
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FUZZ = os.path.join(ROOT, "t", "fuzz")
BIN = os.path.join(ROOT, "build", "fuzz")
SLICE = 60


def env():
    e = dict(os.environ, LANG="C")
    e["ASAN_OPTIONS"] = "detect_leaks=1:allocator_may_return_null=0"
    e["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    sym = shutil.which("llvm-symbolizer") or \
        shutil.which("llvm-symbolizer-14")
    if sym:
        e["ASAN_SYMBOLIZER_PATH"] = sym
    return e


def run_slice(cmd, cwd):
    """One slice; (returncode, stderr, CPU seconds) from wait4's rusage."""
    p = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    # read stderr, then reap with wait4 for this child's own rusage
    err = p.stderr.read()
    p.stderr.close()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err.decode(errors="replace"), \
        ru.ru_utime + ru.ru_stime


def campaign(target, cpu_budget, merge):
    binary = os.path.join(BIN, target)
    seeds = os.path.join(FUZZ, "corpus", target)
    work = tempfile.mkdtemp(prefix="fuzz-%s-" % target)
    corpus = os.path.join(work, "corpus")
    arts = os.path.join(work, "artifacts")
    shutil.copytree(seeds, corpus)
    os.mkdir(arts)
    before = len(os.listdir(corpus))
    spent, runs, slices, crash = 0.0, 0, 0, None
    start = time.time()
    while spent < cpu_budget and not crash:
        wall = int(max(5, min(SLICE, cpu_budget - spent)))
        rc, err, cpu = run_slice(
            [binary, "-max_total_time=%d" % wall, "-rss_limit_mb=2048",
             "-max_len=8192", "-timeout=20", "-print_final_stats=1",
             "-artifact_prefix=%s/" % arts, corpus], work)
        spent += cpu
        slices += 1
        m = re.search(r"stat::number_of_executed_units:\s*(\d+)", err)
        runs += int(m.group(1)) if m else 0
        found = sorted(os.listdir(arts))
        if rc != 0 or found:
            crash = (found, "\n".join(err.splitlines()[-60:]))
    kept = []
    if crash:
        for f in crash[0]:
            data = open(os.path.join(arts, f), "rb").read()
            name = "%s-crash-%s" % (target, hashlib.sha1(data).hexdigest())
            dest = os.path.join(FUZZ, "crashes", name)
            shutil.copyfile(os.path.join(arts, f), dest)
            kept.append(dest)
    after = len(os.listdir(corpus))
    merged = 0
    if merge and not crash:
        n0 = len(os.listdir(seeds))
        subprocess.run([binary, "-merge=1", seeds, corpus], cwd=work,
                       env=env(), capture_output=True, timeout=1800)
        merged = len(os.listdir(seeds)) - n0
    shutil.rmtree(work, ignore_errors=True)
    return {"target": target, "cpu": spent, "wall": time.time() - start,
            "runs": runs, "slices": slices, "before": before,
            "after": after, "merged": merged, "crash": crash, "kept": kept}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu-minutes", type=float,
                    default=float(os.environ.get("FUZZ_CPU_MINUTES", "2")))
    ap.add_argument("--jobs", type=int,
                    default=int(os.environ.get("FUZZ_JOBS", "1")))
    ap.add_argument("--merge", action="store_true")
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    targets = a.targets or sorted(
        os.path.basename(p)[:-2]
        for p in glob.glob(os.path.join(FUZZ, "fuzz_*.c")))
    missing = [t for t in targets if not os.access(os.path.join(BIN, t),
                                                   os.X_OK)]
    if missing:
        sys.exit("not built (t/fuzz/build.sh): " + ", ".join(missing))
    bad = 0
    print("%-11s %8s %8s %11s %7s %7s %6s  %s" % (
        "target", "CPU s", "wall s", "runs", "corpus", "after", "merged",
        "result"))
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(lambda t: campaign(t, a.cpu_minutes * 60, a.merge),
                        targets):
            res = "clean"
            if r["crash"]:
                bad += 1
                res = "CRASH " + " ".join(r["kept"]) + "\n" + r["crash"][1]
            print("%-11s %8.0f %8.0f %11d %7d %7d %6d  %s" % (
                r["target"], r["cpu"], r["wall"], r["runs"], r["before"],
                r["after"], r["merged"], res), flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
