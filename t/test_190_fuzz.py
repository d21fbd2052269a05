"""Coverage-guided fuzzing of the core library (t/fuzz/, libFuzzer).

t/fuzz/build.sh builds each target with clang, -fsanitize=fuzzer,
address,undefined, against the library sources compiled with the same
flags; each target then runs for a bounded time over a copy of its seed
corpus (t/fuzz/corpus/TARGET/) and must finish without a crash, a leak,
a sanitizer report or a broken invariant (the targets abort() on those).

Without clang and its runtime libraries the test fails: fuzzing is part
of the suite, not an optional extra. Debian: clang-14 (or clang),
libclang-rt-14-dev (libFuzzer, ASan, UBSan) and llvm-14 (symbolizer).

Reproducers of crashes found (named TARGET-*) are kept under
t/fuzz/crashes/ and run here too, and every file of every seed corpus
is replayed once through its target, without fuzzing
(test_fuzz_corpus_replay): with libFuzzer, or, where clang is missing,
through the targets built by gcc with t/fuzz/replay.c (FUZZ_REPLAY=1,
build/fuzz-replay/), so that the replay still runs when fuzzing cannot.

Environment: MOD_VERIFY_FUZZ_SECONDS overrides the time per target
(default 8).
"""

import glob
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ_SRC = os.path.join(ROOT, "t", "fuzz")
FUZZ_BIN = os.path.join(ROOT, "build", "fuzz")
TARGETS = ["fuzz_id", "fuzz_audit", "fuzz_csv", "fuzz_cms", "fuzz_event",
           "fuzz_body", "fuzz_text"]
SECONDS = int(os.environ.get("MOD_VERIFY_FUZZ_SECONDS", "8"))
PACKAGES = "clang-14 libclang-rt-14-dev llvm-14"


def _env():
    env = dict(os.environ)
    env["LANG"] = "C"
    # make every sanitizer report fatal and keep reports readable
    env["ASAN_OPTIONS"] = "abort_on_error=0:detect_leaks=1:" \
                          "allocator_may_return_null=0"
    env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    if not shutil.which("llvm-symbolizer", path=env.get("PATH")):
        sym = shutil.which("llvm-symbolizer-14")
        if sym:
            env["ASAN_SYMBOLIZER_PATH"] = sym
    return env


@pytest.fixture(scope="module")
def fuzzers():
    """Build the targets; fail (never skip) when clang is missing."""
    clang = shutil.which("clang") or shutil.which("clang-14")
    if not clang:
        pytest.fail("clang is not installed: the fuzz targets need clang "
                    "with libFuzzer (Debian: apt-get install %s)" % PACKAGES,
                    pytrace=False)
    ver = subprocess.run([clang, "--version"], capture_output=True,
                         text=True, timeout=60)
    assert ver.returncode == 0 and "clang version" in ver.stdout, \
        "%s --version failed:\n%s%s" % (clang, ver.stdout, ver.stderr)
    env = _env()
    env["FUZZ_CC"] = clang
    res = subprocess.run(["bash", os.path.join(FUZZ_SRC, "build.sh")]
                         + TARGETS, cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env=env)
    if res.returncode != 0:
        hint = ""
        if "libclang_rt" in res.stderr or "fuzzer" in res.stderr:
            hint = ("\n(libFuzzer/sanitizer runtimes missing? Debian: "
                    "apt-get install %s)" % PACKAGES)
        pytest.fail("t/fuzz/build.sh failed:\n%s%s%s" % (
            res.stdout[-3000:], res.stderr[-6000:], hint), pytrace=False)
    bins = {t: os.path.join(FUZZ_BIN, t) for t in TARGETS}
    missing = [b for b in bins.values() if not os.access(b, os.X_OK)]
    assert not missing, "build.sh did not make: %s" % ", ".join(missing)
    return bins


def _tail(text, n=80):
    return "\n".join(text.splitlines()[-n:])


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz(fuzzers, target, tmp_path):
    corpus = tmp_path / "corpus"
    seeds = os.path.join(FUZZ_SRC, "corpus", target)
    assert os.path.isdir(seeds) and os.listdir(seeds), \
        "no seed corpus in " + seeds
    shutil.copytree(seeds, corpus)
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    cmd = [fuzzers[target],
           "-max_total_time=%d" % SECONDS,
           "-rss_limit_mb=2048",
           "-max_len=8192",
           "-timeout=20",
           "-print_final_stats=1",
           "-artifact_prefix=%s/" % artifacts,
           str(corpus)]
    res = subprocess.run(cmd, cwd=str(tmp_path), capture_output=True,
                         text=True, errors="replace", timeout=SECONDS + 120,
                         env=_env())
    found = sorted(os.listdir(artifacts))
    assert res.returncode == 0 and not found, (
        "%s failed (exit %d); reproducer(s) in %s: %s\n"
        "(keep one as t/fuzz/crashes/%s-NAME; rerun with %s FILE)\n%s" % (
            target, res.returncode, artifacts, ", ".join(found) or "none",
            target, fuzzers[target], _tail(res.stderr)))
    assert "Done" in res.stderr, _tail(res.stderr)


def test_fuzz_reproducers(fuzzers):
    """Crashes found once (t/fuzz/crashes/TARGET-*) stay fixed."""
    failed = []
    for path in sorted(glob.glob(os.path.join(FUZZ_SRC, "crashes",
                                              "fuzz_*-*"))):
        target = os.path.basename(path).split("-", 1)[0]
        assert target in fuzzers, "no target %s for %s" % (target, path)
        res = subprocess.run([fuzzers[target], "-runs=1", path],
                             capture_output=True, text=True,
                             errors="replace", timeout=120, cwd=ROOT,
                             env=_env())
        if res.returncode != 0:
            failed.append("%s:\n%s" % (os.path.basename(path),
                                        _tail(res.stderr, 40)))
    assert not failed, "reproducers still failing:\n" + "\n".join(failed)


def _replayers():
    """The targets with libFuzzer when clang is here, else built by gcc
    with t/fuzz/replay.c (no fuzzing: each file named runs once)."""
    if shutil.which("clang") or shutil.which("clang-14"):
        return None
    env = _env()
    env["FUZZ_REPLAY"] = "1"
    res = subprocess.run(["bash", os.path.join(FUZZ_SRC, "build.sh")]
                         + TARGETS, cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env=env)
    assert res.returncode == 0, "replay build failed:\n%s%s" % (
        res.stdout[-3000:], res.stderr[-6000:])
    return {t: os.path.join(ROOT, "build", "fuzz-replay", t)
            for t in TARGETS}


@pytest.fixture(scope="module")
def replayers(request):
    bins = _replayers()
    if bins is None:
        bins = request.getfixturevalue("fuzzers")
    return bins


@pytest.mark.parametrize("target", TARGETS)
def test_fuzz_corpus_replay(replayers, target):
    """Every seed of the corpus, whole (no -max_len cut), runs once
    through its target: an input that once passed keeps passing."""
    seeds = os.path.join(FUZZ_SRC, "corpus", target)
    files = sorted(os.path.join(seeds, f) for f in os.listdir(seeds))
    assert files, "no seed corpus in " + seeds
    res = subprocess.run([replayers[target], "-runs=1"] + files,
                         capture_output=True, text=True, errors="replace",
                         timeout=300, cwd=ROOT, env=_env())
    assert res.returncode == 0, "%s on its corpus (exit %d):\n%s" % (
        target, res.returncode, _tail(res.stderr, 60))
    # libFuzzer says "Executed FILE" per input, replay.c counts them
    ran = res.stderr.count("Executed ") or \
        int(res.stderr.rsplit("replay: ", 1)[-1].split()[0])
    assert ran == len(files), (ran, len(files), _tail(res.stderr))
