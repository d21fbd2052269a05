"""verify-import takes a batch in with several threads (issue 10, item 8):
the store it makes is byte for byte the one a single thread makes, and a
bad batch is refused with the same message, naming the first fault in
file order, whichever thread found it; nothing changes."""

import os
import re
import subprocess

import harness
from harness import People
from harness.env import BUILD, CLEAN_ENV, VERIFY_IMPORT

GEN = os.path.join(BUILD, "gen-household-fast")
# more than one thread keeps in memory (2^20 records, shared out): every
# thread's record set spills into partitions of its own
COUNT = 1_100_000


def household_dump(store):
    """The household database of @store's current snapshot, as mdb_dump
    writes it (a private copy of the file: the tools make a lock file)."""
    env = harness.store_env_copy(store)
    assert env, "nothing published in %s" % store
    out = subprocess.run(["mdb_dump", "-n", "-s", "household",
                          os.path.join(env, "data.mdb")], check=True,
                         capture_output=True, env=CLEAN_ENV, timeout=300)
    return out.stdout


def run(store, key, path, *extra, env=None):
    cmd = [VERIFY_IMPORT, "--store", store, "--key", key, "--source",
           "household", "--allow-plain", "--keep-input"] + list(extra) + [path]
    return subprocess.run(cmd, capture_output=True, text=True,
                          errors="replace", timeout=900,
                          env=env or CLEAN_ENV)


def test_threads_make_the_same_store(tmp_path):
    assert os.path.exists(GEN), "run `make unit` first"
    d = str(tmp_path)
    key = harness.make_key_file(os.path.join(d, "k.key"))
    path = os.path.join(d, "household.csv")
    with open(path, "wb") as f:
        subprocess.run([GEN, str(COUNT), "178"], stdout=f, check=True,
                       stderr=subprocess.DEVNULL, timeout=120, env=CLEAN_ENV)
    dumps = {}
    for how, extra, env in (
            ("1", ["--threads", "1"], None),
            ("2", ["--threads", "2"], None),
            ("env 3", [], dict(CLEAN_ENV, VERIFY_IMPORT_THREADS="3"))):
        store = os.path.join(d, "store-%s" % how.replace(" ", "-"))
        res = run(store, key, path, *extra, env=env)
        assert res.returncode == 0, (how, res.stderr)
        assert '"records":%d' % COUNT in res.stdout.replace(" ", ""), \
            res.stdout
        assert not [n for n in os.listdir(store) if n.startswith(".spill")]
        dumps[how] = household_dump(store)
    assert dumps["1"].count(b"\n") > COUNT
    assert dumps["2"] == dumps["1"], "2 threads: another store"
    assert dumps["env 3"] == dumps["1"], "3 threads: another store"


def test_signed_batch_in_threads_same_store(tmp_path):
    """A signed and encrypted batch (decrypted into memory) the same."""
    d = str(tmp_path)
    key = harness.make_key_file(os.path.join(d, "k.key"))
    people = People().batch(300)
    dumps = []
    for threads in ("1", "2"):
        store = os.path.join(d, "store-%s" % threads)
        harness.import_people(store, key, people, keep_input=True,
                              extra=["--threads", threads], workdir=d)
        dumps.append(household_dump(store))
    assert dumps[0] == dumps[1]


# Faults in the form of a data row (the harness's People and these):
# a record with a wrong check digit, an impossible date, a field too many.
def bad_id(p):
    wrong = str((int(p.id[-1]) + 1) % 10)
    return "%s%s,%s,%s," % (p.id[:-1], wrong, p.name, p.birth.isoformat())


def bad_date(p):
    return "%s,%s,1980-02-30," % (p.id, p.name)


def extra_field(p):
    return "%s,%s,%s,,x" % (p.id, p.name, p.birth.isoformat())


def test_faults_in_both_halves_first_named(make_server):
    s = make_server()
    gen = People()
    first = gen.batch(5)
    s.import_household(first)
    current = os.readlink(os.path.join(s.store, "current"))
    events = len(harness.spooled_events(s.store))

    people = gen.batch(3000)
    cases = [
        # (row index of the fault, its form) ...: data row i is line i + 2
        [(40, bad_date), (2500, bad_id)],
        [(1800, bad_id), (2900, extra_field)],
        [(2200, extra_field)],
        # the same ID again in the second half: found when the joined
        # sets are walked
        [(2700, lambda p: "%s,%s,%s," % (people[100].id, p.name,
                                         p.birth.isoformat()))],
    ]
    for faults in cases:
        extra_lines = [(i, form(gen.person())) for i, form in faults]
        first_line = min(i for i, _ in faults) + 2
        said = {}
        for threads in ("1", "2"):
            res = harness.import_people(
                s.store, s.key, people, check=False, plain=True,
                extra_lines=extra_lines, extra=["--threads", threads],
                workdir=s.workdir())
            assert res.returncode == 1, res.stderr
            assert os.path.exists(res.path), "input of a refused batch gone"
            # the message, less the file's name (a new directory each)
            said[threads] = res.stderr.split(": rejected, store unchanged: ",
                                             1)[1]
        assert said["1"] == said["2"], said
        assert re.search(r"\bline %d\b" % first_line, said["2"]), said["2"]
        if len(faults) == 1 and faults[0][0] == 2700:
            assert "duplicate" in said["2"] and "line 102" in said["2"]
        for p in people:
            assert p.id not in said["2"]
        # nothing changed: the same snapshot, each refusal recorded
        assert os.readlink(os.path.join(s.store, "current")) == current
        evs = harness.spooled_events(s.store)
        assert [e["result"] for e in evs[events:]] == ["refused"] * 2
        assert evs[-1]["fault"] == evs[-2]["fault"]
        events = len(evs)
        assert not [n for n in os.listdir(s.store) if n.startswith(".spill")]


def test_threads_option_checked(tmp_path):
    d = str(tmp_path)
    store = os.path.join(d, "store")
    key = harness.make_key_file(os.path.join(d, "k.key"))
    path = os.path.join(d, "h.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(People().batch(3)))
    for extra, env, said in (
            (["--threads", "0"], None, "--threads must be a number from 1"),
            (["--threads", "9"], None, "--threads must be a number from 1"),
            (["--threads", "2x"], None, "--threads must be a number"),
            ([], dict(CLEAN_ENV, VERIFY_IMPORT_THREADS="many"),
             "VERIFY_IMPORT_THREADS must be a number from 1 to 8")):
        res = run(store, key, path, *extra, env=env)
        assert res.returncode == 2, res
        assert said in res.stderr, res.stderr
        assert harness.no_snapshot(store)
    # the option wins over the environment
    res = run(store, key, path, "--threads", "1",
              env=dict(CLEAN_ENV, VERIFY_IMPORT_THREADS="many"))
    assert res.returncode == 0, res.stderr
