"""The month of several nodes as one R5.1 population (issue 11 item 4,
docs/scaling.md section 5): real httpd nodes, each with its own
VerifyNodeId, audit log and checkpoint key, run under libfaketime from a
few seconds before midnight Taipei at the end of November 2026, so that
each signs its "month" checkpoint of December. `verify-audit sample` given
the nodes' directories draws one sample from all their answered queries:
the seed is re-derived from the signed checkpoints (in Python, and by the
sha256sum recipe of docs/audit-guide.md), the ranks by HMAC over
NODE:request_id, the sample size from the total; the anomaly flags count
a client's queries on every node; equal origins, a missing or wrong key
for one node, a broken chain in one node, lines without a node id and
one node id in two directories are refused, each naming the node's
directory."""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import shutil
import subprocess
import time

import pytest

import harness
from harness import fields_for
from harness.tools import verifier_key

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(ROOT, "docs", "audit-guide.md")
MONTH = "2026-11"
# answered queries per node (and three "burst" ones on node-a and node-b)
ANSWERED = {"node-a": 10, "node-b": 20, "node-c": 10}
BURST = {"node-a": 3, "node-b": 3}
REFUSED = 2
DECEMBER = 4        # answered queries per node after the month's end
NO_FLAGS = ("off_hours = off\nburst_queries = 0\nday_subjects = 0\n"
            "subject_clients = 0\nnot_found_run = 0\n"
            "identity_mismatch = off\nreason_share = 0\nnew_operator = off\n")
# six queries of one client+operator in a minute: three on each of two
# nodes, a burst only when the nodes are counted together
BURST_FLAGS = NO_FLAGS.replace("burst_queries = 0",
                               "burst_queries = 5\nburst_seconds = 60")

pytestmark = pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                                reason="libfaketime is not installed")


def audit(*args):
    return harness.run_audit_tool(*args)


def wait_for(pred, timeout, step=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def make_node(name, node_id, origin=None):
    conf = "VerifyNodeId %s\n" % node_id if node_id else ""
    if origin:
        conf += "VerifyCheckpointOrigin %s\n" % origin
    s = harness.Server(checkpoints=True, extra_conf=conf)
    s.name = name
    s.origin = origin or ("127.0.0.1/verify-audit/" + node_id if node_id
                          else "127.0.0.1/verify-audit")
    s.verifier = verifier_key(s.checkpoint_key, s.origin)
    s.env["LD_PRELOAD"] = FAKETIME_LIB
    s.env["FAKETIME"] = "@2026-11-30 15:59:35"      # 23:59:35 Taipei
    s.env["FAKETIME_DONT_RESET"] = "1"
    return s


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """November 2026 of three nodes (node-a, node-b, node-c), each closed
    by its month checkpoint, and more logs for the refusals: "twin" (node
    id node-a, an origin of its own), "plain" (no node id) and "renamed"
    (node-d, then node-e after a graceful restart).
    c.dirs[name]: a copy of the audit directory; c.keys[name]: its
    verifier key; c.work: scratch."""
    gen = harness.People("test_986")
    people = gen.batch(12)
    out = tmp_path_factory.mktemp("s986")
    nodes = [make_node("node-a", "node-a"), make_node("node-b", "node-b"),
             make_node("node-c", "node-c"),
             make_node("twin", "node-a", "127.0.0.1/verify-audit/twin"),
             make_node("plain", None), make_node("renamed", "node-d")]
    c = type("Cluster", (), {})()
    c.work, c.dirs, c.keys = str(out), {}, {}
    try:
        for s in nodes:
            s.import_household(people)
        for s in nodes:
            # each node's fake clock starts at its start: its queries
            # come at once, before its midnight
            s.start()
            n = ANSWERED.get(s.name, 2)
            for i in range(n):
                r = s.post(fields_for(people[i % 12], case="N-%d" % i,
                                      operator="clerk%d" % i))
                assert r.status == 200, r
            for i in range(BURST.get(s.name, 0)):
                r = s.post(fields_for(people[i], operator="burst"))
                assert r.status == 200, r
            for i in range(REFUSED):
                r = s.post(fields_for(people[i], operator="x"),
                           source_address=("127.0.0.9", 0))
                assert r.status == 403, r
            if s.name == "renamed":
                # the node's id changed in the month: its later lines,
                # and its month checkpoint, are node-e's
                s.extra_conf = "VerifyNodeId node-e\n"
                s.write_conf()
                s.graceful()
                s.origin = "127.0.0.1/verify-audit/node-e"
                s.verifier = verifier_key(s.checkpoint_key, s.origin)
                r = s.post(fields_for(people[5], operator="late"))
                assert r.status == 200, r
        for s in nodes:
            got = wait_for(lambda: [ln.obj for ln in
                                    harness.read_audit(s.audit)
                                    if ln.obj.get("reason") == "month"], 60)
            assert got, "no month checkpoint on " + s.name
        for s in nodes:
            if s.name in ANSWERED:
                # December has begun: its queries are a preview's
                for i in range(DECEMBER):
                    r = s.post(fields_for(people[i], operator="dec%d" % i))
                    assert r.status == 200, r
        for s in nodes:
            s.stop()
            c.dirs[s.name] = str(out / s.name)
            shutil.copytree(s.audit, c.dirs[s.name])
            c.keys[s.name] = s.verifier
        c.noflags = str(out / "noflags.conf")
        c.burstflags = str(out / "burst.conf")
        open(c.noflags, "w").write(NO_FLAGS)
        open(c.burstflags, "w").write(BURST_FLAGS)
        yield c
    finally:
        for s in nodes:
            s.stop()
            s.cleanup()


NODES = ("node-a", "node-b", "node-c")


def keys(c, names=NODES):
    args = []
    for n in names:
        args += ["--verifier", c.keys[n]]
    return args


def sample(c, *args, names=NODES, dirs=None):
    dirs = [c.dirs[n] for n in names] if dirs is None else dirs
    return audit("sample", "--month", MONTH, *keys(c, names), *args, *dirs)


def sample_json(c, *args, **kw):
    res = sample(c, "--json", *args, **kw)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    return lines[0], lines[1:]


def queries(path):
    return [ln.obj for ln in harness.read_audit(path)
            if ln.obj.get("op") == "verify" and ln.obj["ts"][:7] == MONTH]


def sample_size(n):
    return n if n < 10 else max(10, math.ceil(0.03 * n))


def rank_text(q, node=None):
    t = q["request_id"] + ("/%d" % q["item"] if "item" in q else "")
    return (node + ":" + t) if node else t


def note_parts(note):
    lines = note.split("\n")
    return lines[0], base64.b64decode(lines[2]).hex()


def test_one_population_and_the_draw_replays(cluster):
    c = cluster
    h, lines = sample_json(c, "--flags", c.noflags)
    h2, lines2 = sample_json(c, "--flags", c.noflags,
                             dirs=[c.dirs[n] for n in reversed(NODES)])
    assert (h2["seed"], lines2) == (h["seed"], lines), \
        "the order of the directories changes nothing"
    assert h["official"] is True
    # every node read apart, with its own checked seed checkpoint
    assert [n["node"] for n in h["nodes"]] == list(NODES)
    for n in h["nodes"]:
        origin, root_hex = note_parts(n["checkpoint"]["note"])
        assert origin == n["origin"] == "127.0.0.1/verify-audit/" + n["node"]
        assert root_hex == n["checkpoint"]["root_hex"]
        assert n["checkpoint"]["reason"] == "month"
        assert n["checkpoint"]["time"] >= "2026-12-01T00:00:00+08:00"
        assert n["checkpoint"]["key"].startswith(origin + "+")
        assert n["chain"]["intact"] and n["chain"]["first_seq"] == 1
        want = ANSWERED[n["node"]] + BURST.get(n["node"], 0)
        assert n["population"] == want and n["refused"] == REFUSED
    # the seed, re-derived from the signed checkpoints
    text = b"mod_verify multi-node seed v1\n"
    for n in sorted(h["nodes"], key=lambda n: n["origin"].encode()):
        origin, root_hex = note_parts(n["checkpoint"]["note"])
        text += origin.encode() + b"\n" + root_hex.encode() + b"\n"
    assert h["seed"] == hashlib.sha256(text).hexdigest()
    # the population of all nodes, the size from their total
    mine = []
    for node in NODES:
        for q in queries(c.dirs[node]):
            assert q["node"] == node
            if q["status"] == 200:
                mine.append((node, q))
    total = len(mine)
    assert total == sum(ANSWERED.values()) + sum(BURST.values())
    assert h["population"] == total
    assert h["sample_size"] == sample_size(total) == 10
    assert h["refusals"]["count"] == REFUSED * len(NODES)
    # the ranks: HMAC(seed, NODE:request_id), the k smallest of all nodes
    seed = bytes.fromhex(h["seed"])
    ranked = sorted(mine, key=lambda x: hmac.new(
        seed, rank_text(x[1], x[0]).encode(), hashlib.sha256).digest())
    want = sorted((n, q["seq"]) for n, q in ranked[:h["sample_size"]])
    got = sorted((x["node"], x["seq"]) for x in lines if x["drawn"])
    assert got == want
    assert len(lines) == 10, "no flags: the draw only"
    for x in lines:
        line = json.loads(x["line"])
        assert line["node"] == x["node"] and line["seq"] == x["seq"]
        assert line["status"] == 200
    # a query of any node can be drawn (node-b holds half of them: the
    # chance that none of ten is its is 0.02 %)
    assert "node-b" in {n for n, _ in got}, got
    assert len({n for n, _ in got}) >= 2
    print("\n  month %s of %d nodes: seed %s (re-derived from the signed "
          "checkpoints)\n  population %d answered (%s), sample size %d, "
          "drawn: %s" % (MONTH, len(NODES), h["seed"], total, ", ".join(
              "%s %d" % (n["node"], n["population"]) for n in h["nodes"]),
              h["sample_size"], ", ".join("%s seq %d" % x for x in got)))


def test_text_names_each_node_and_the_seed(cluster):
    c = cluster
    res = sample(c, "--flags", c.noflags)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "3 nodes, one population" in out
    for n in NODES:
        assert "node %s:" % n in out
        assert "origin:     127.0.0.1/verify-audit/%s" % n in out
        assert "directory:  %s" % c.dirs[n] in out
    h, lines = sample_json(c, "--flags", c.noflags)
    assert re.search(r"^seed:\s+%s$" % h["seed"], out, re.M)
    assert re.search(r"^population:\s+%d answered queries" % h["population"],
                     out, re.M)
    # each row names its node
    for x in lines:
        assert re.search(r"^%s\s+%d\s" % (x["node"], x["seq"]), out, re.M), \
            (x["node"], x["seq"])


def guide_recipe():
    """The sha256sum recipe as docs/audit-guide.md prints it."""
    text = open(GUIDE, encoding="utf-8").read()
    m = re.search(r"<!-- multi-node seed recipe -->\n```sh\n(.*?)```", text,
                  re.S)
    assert m, "the recipe is not in docs/audit-guide.md"
    return m.group(1)


def test_the_documented_sha256sum_recipe_gives_the_seed(cluster, tmp_path):
    c = cluster
    h, _ = sample_json(c, "--flags", c.noflags)
    for n in h["nodes"]:
        (tmp_path / ("%s.cp" % n["node"])).write_text(
            n["checkpoint"]["note"])
    res = subprocess.run(["bash", "-e", "-o", "pipefail", "-c",
                          guide_recipe()], cwd=str(tmp_path),
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split()[0] == h["seed"], res.stdout


def test_flags_count_a_client_over_all_nodes(cluster):
    c = cluster
    h, lines = sample_json(c, "--flags", c.burstflags)
    assert h["flags"]["counts"]["burst"] == sum(BURST.values())
    burst = [x for x in lines
             if any(f["flag"] == "burst" for f in x["flags"])]
    assert {x["node"] for x in burst} == set(BURST)
    for x in burst:
        assert json.loads(x["line"])["operator"] == "burst"
        why = [f["why"] for f in x["flags"] if f["flag"] == "burst"][0]
        # the lines named by node and seq
        assert re.search(r"\(node-[ab] seq \d+ to node-[ab] seq \d+\)", why)
    # each node alone stays under the threshold
    for node in BURST:
        res = audit("sample", "--month", MONTH, "--verifier", c.keys[node],
                    "--flags", c.burstflags, "--json", c.dirs[node])
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout.splitlines()[0])[
            "flags"]["counts"]["burst"] == 0


def test_one_directory_is_sampled_as_before(cluster):
    """One node's directory alone: ranked by request_id, as always."""
    c = cluster
    res = audit("sample", "--month", MONTH, "--verifier", c.keys["node-b"],
                "--flags", c.noflags, "--json", c.dirs["node-b"])
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    h, lines = rows[0], rows[1:]
    assert "nodes" not in h and "node" not in lines[0]
    mine = [q for q in queries(c.dirs["node-b"]) if q["status"] == 200]
    seed = bytes.fromhex(h["seed"])
    ranked = sorted(mine, key=lambda q: hmac.new(
        seed, rank_text(q).encode(), hashlib.sha256).digest())
    assert sorted(q["seq"] for q in ranked[:h["sample_size"]]) == \
        sorted(x["seq"] for x in lines if x["drawn"])


def test_equal_origins_are_refused(cluster, tmp_path):
    c = cluster
    copy = str(tmp_path / "node-a-again")
    shutil.copytree(c.dirs["node-a"], copy)
    res = sample(c, dirs=[c.dirs["node-a"], copy, c.dirs["node-b"]])
    assert res.returncode == 1 and res.stdout == ""
    assert "same origin 127.0.0.1/verify-audit/node-a" in res.stderr
    assert c.dirs["node-a"] in res.stderr and copy in res.stderr


def test_one_node_id_in_two_directories_is_refused(cluster):
    c = cluster
    res = audit("sample", "--month", MONTH, *keys(c, ("node-a", "twin")),
                c.dirs["node-a"], c.dirs["twin"])
    assert res.returncode == 1 and res.stdout == ""
    assert "both hold queries of the node node-a" in res.stderr, res.stderr


def test_lines_without_a_node_id_are_refused(cluster):
    c = cluster
    res = audit("sample", "--month", MONTH, *keys(c, ("node-a", "plain")),
                c.dirs["node-a"], c.dirs["plain"])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: the query line of seq" \
        % c.dirs["plain"] in res.stderr, res.stderr
    assert "names no node" in res.stderr


def test_a_missing_or_wrong_key_for_one_node_is_refused(cluster):
    c = cluster
    res = sample(c, names=("node-a", "node-c"),
                 dirs=[c.dirs[n] for n in NODES])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: the checkpoint line seq" \
        % c.dirs["node-b"] in res.stderr, res.stderr
    assert "does not verify" in res.stderr
    # node-a's key in the place of node-b's: it opens none of node-b's
    wrong = verifier_key_named(c, "node-a", "127.0.0.1/verify-audit/node-b")
    res = audit("sample", "--month", MONTH, "--verifier", c.keys["node-a"],
                "--verifier", wrong, "--verifier", c.keys["node-c"],
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s:" % c.dirs["node-b"] in res.stderr
    assert "does not verify" in res.stderr


def verifier_key_named(c, node, name):
    """node's public key under another log's name (a wrong key)."""
    vkey = c.keys[node]
    _, _, key = vkey.split("+", 2)
    import tlogref
    raw = base64.b64decode(key)[1:]
    return tlogref.vkey(name, raw)


def first_file(d):
    return os.path.join(d, sorted(f for f in os.listdir(d)
                                  if f.startswith("audit-"))[0])


def test_a_broken_chain_is_named_with_its_node(cluster, tmp_path):
    c = cluster
    bad = str(tmp_path / "node-b")
    shutil.copytree(c.dirs["node-b"], bad)
    path = first_file(bad)
    lines = open(path, encoding="utf-8").read().splitlines(True)
    i = next(i for i, ln in enumerate(lines) if '"case":"N-3"' in ln)
    lines[i] = lines[i].replace('"case":"N-3"', '"case":"N-4"')
    open(path, "w", encoding="utf-8").writelines(lines)
    res = sample(c, dirs=[c.dirs["node-a"], bad, c.dirs["node-c"]])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: the audit chain of the " \
        "node node-b is broken" % bad in res.stderr, res.stderr


def test_options_of_one_node_and_mixed_arguments_are_refused(cluster):
    c = cluster
    res = sample(c, "--checkpoints", c.work)
    assert res.returncode == 2 and "--checkpoints belongs to one node" \
        in res.stderr, res.stderr
    res = audit("sample", "--month", MONTH, "--preview",
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 2 and "a preview of several nodes needs " \
        "--verifier" in res.stderr, res.stderr
    one = first_file(c.dirs["node-c"])
    res = sample(c, dirs=[c.dirs["node-a"], c.dirs["node-b"], one])
    assert res.returncode == 2 and "give the nodes' directories only" \
        in res.stderr, res.stderr


def read_csv(path):
    import csv
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_report_is_one_sheet_naming_each_node(cluster, tmp_path):
    c = cluster
    html = str(tmp_path / "sheet.html")
    res = audit("report", "--month", MONTH, *keys(c), "--flags", c.burstflags,
                "--output", html, *[c.dirs[n] for n in NODES])
    assert res.returncode == 0, res.stderr
    text = open(html, encoding="utf-8").read()
    h, lines = sample_json(c, "--flags", c.burstflags)
    assert "3 nodes" in text
    for n in h["nodes"]:
        assert n["directory"] in text and n["origin"] in text
    assert h["seed"] in text, "the seed, in full among the notes"
    assert "<strong>%d of %d</strong>" % (h["sample_size"],
                                          h["population"]) in text
    rows = read_csv(str(tmp_path / "sheet.csv"))
    # every query of every node, each row naming its node
    total = sum(len(queries(c.dirs[n])) for n in NODES)
    assert len(rows) == total
    by_rid = {}
    for n in NODES:
        for q in queries(c.dirs[n]):
            by_rid[q["request_id"]] = (n, q["seq"])
    for r in rows:
        assert by_rid[r["request_id"]] == (r["node"], int(r["seq"])), r
    drawn = sorted((r["node"], int(r["seq"])) for r in rows
                   if r["sampled"] == "yes")
    assert drawn == sorted((x["node"], x["seq"]) for x in lines
                           if x["drawn"])
    flagged = sorted((r["node"], int(r["seq"])) for r in rows
                     if "burst" in (r["flags"] or ""))
    assert flagged == sorted((x["node"], x["seq"]) for x in lines
                             if any(f["flag"] == "burst"
                                    for f in x["flags"]))
    assert len(flagged) == sum(BURST.values())
    print("\n  one sheet of %d nodes: %d rows, each naming its node; %d "
          "drawn, %d flagged as a burst across node-a and node-b"
          % (len(NODES), len(rows), len(drawn), len(flagged)))
    # the table rows name their node before the seq
    for node, seq in drawn:
        assert re.search(r'<td class="mono">%s</td><td class="num">%d</td>'
                         % (node, seq), text), (node, seq)


def test_report_of_several_nodes_refuses_what_sample_refuses(cluster,
                                                             tmp_path):
    c = cluster
    res = audit("report", "--month", MONTH, *[c.dirs[n] for n in NODES])
    assert res.returncode == 2 and "needs --verifier" in res.stderr
    assert res.stdout == ""
    bad = str(tmp_path / "node-c")
    shutil.copytree(c.dirs["node-c"], bad)
    path = first_file(bad)
    data = open(path, encoding="utf-8").read()
    open(path, "w", encoding="utf-8").write(
        data.replace('"case":"N-2"', '"case":"N-9"', 1))
    html = str(tmp_path / "sheet.html")
    res = audit("report", "--month", MONTH, *keys(c), "--output", html,
                c.dirs["node-a"], c.dirs["node-b"], bad)
    assert res.returncode == 1
    assert "node directory %s: no sample drawn: the audit chain of the " \
        "node node-c is broken" % bad in res.stderr, res.stderr
    assert "no sheet made" in res.stderr
    assert not os.path.exists(html), "nothing written"


def test_a_directory_of_two_node_ids_is_refused(cluster):
    c = cluster
    res = audit("sample", "--month", MONTH, *keys(c, ("node-a", "renamed")),
                c.dirs["node-a"], c.dirs["renamed"])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: the query line of seq" \
        % c.dirs["renamed"] in res.stderr, res.stderr
    assert "names the node node-e, the month's queries before it node-d" \
        in res.stderr


def test_a_node_without_its_seed_or_its_first_lines_is_refused(cluster,
                                                               tmp_path):
    c = cluster
    days = sorted(f for f in os.listdir(c.dirs["node-b"])
                  if f.startswith("audit-"))
    assert days == ["audit-2026-11-30.jsonl", "audit-2026-12-01.jsonl"]
    # the files end before its month checkpoint: no seed yet
    cut = str(tmp_path / "cut")
    os.mkdir(cut)
    shutil.copy(os.path.join(c.dirs["node-b"], days[0]), cut)
    res = sample(c, dirs=[c.dirs["node-a"], cut, c.dirs["node-c"]])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: 2026-11 has no seed in " \
        "this node's log yet" % cut in res.stderr, res.stderr
    # its first day missing: the tree cannot check the seed
    late = str(tmp_path / "late")
    os.mkdir(late)
    shutil.copy(os.path.join(c.dirs["node-b"], days[1]), late)
    res = sample(c, dirs=[c.dirs["node-a"], late, c.dirs["node-c"]])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: its files start at seq" \
        % late in res.stderr, res.stderr
    # a directory without audit files
    empty = str(tmp_path / "empty")
    os.mkdir(empty)
    res = sample(c, dirs=[c.dirs["node-a"], empty, c.dirs["node-c"]])
    assert res.returncode == 1 and res.stdout == ""
    assert "node directory %s: no sample drawn: no audit files in it" \
        % empty in res.stderr, res.stderr


def test_an_open_month_is_only_previewed_and_marked(cluster):
    """December has no seed checkpoint on any node yet: refused without
    --preview; with it, drawn as the month would be, from every node's
    newest checkpoint, every line marked NOT an official draw."""
    c = cluster
    res = audit("sample", "--month", "2026-12", *keys(c),
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 1 and res.stdout == ""
    assert "no sample drawn: 2026-12 has no seed in this node's log yet" \
        in res.stderr and "--preview" in res.stderr, res.stderr
    res = audit("sample", "--month", "2026-12", "--preview", "--json",
                "--flags", c.noflags, *keys(c), *[c.dirs[n] for n in NODES])
    assert res.returncode == 0, res.stderr
    rows = [json.loads(x) for x in res.stdout.splitlines()]
    h, lines = rows[0], rows[1:]
    assert h["official"] is False and "NOT an official draw" in h["preview"]
    assert all(n["official"] is False for n in h["nodes"])
    assert all(x["official"] is False and x["preview"] for x in lines)
    text = b"mod_verify multi-node seed v1\n"
    for n in sorted(h["nodes"], key=lambda n: n["origin"].encode()):
        origin, root_hex = note_parts(n["checkpoint"]["note"])
        assert origin == n["origin"]
        text += origin.encode() + b"\n" + root_hex.encode() + b"\n"
    assert h["seed"] == hashlib.sha256(text).hexdigest()
    mine = [(n, q) for n in NODES for q in [
        ln.obj for ln in harness.read_audit(c.dirs[n])
        if ln.obj.get("op") == "verify" and ln.obj["ts"][:7] == "2026-12"]
        if q["status"] == 200]
    assert len(mine) == h["population"] == DECEMBER * len(NODES)
    seed = bytes.fromhex(h["seed"])
    ranked = sorted(mine, key=lambda x: hmac.new(
        seed, rank_text(x[1], x[0]).encode(), hashlib.sha256).digest())
    assert sorted((n, q["seq"]) for n, q in ranked[:h["sample_size"]]) == \
        sorted((x["node"], x["seq"]) for x in lines if x["drawn"])
    # the text: every line marked
    res = audit("sample", "--month", "2026-12", "--preview", *keys(c),
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out and all(ln.startswith("PREVIEW, NOT an official draw | ")
                       for ln in out)
    assert "its newest signed checkpoint (NOT the month's" in res.stdout
    # a closed month asked as a preview is the official draw, said so
    res = audit("sample", "--month", MONTH, "--preview", "--json", *keys(c),
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout.splitlines()[0])["official"] is True
    assert "is closed on every node" in res.stderr


# Where the sheet goes (sheet_files, one function for one node and for
# several): --csv naming the --output file is refused before anything is
# read or written; without --csv the CSV goes beside the HTML.
def test_csv_and_output_the_same_file_refused(cluster, tmp_path):
    c = cluster
    html = str(tmp_path / "sheet.html")
    for dirs in ([c.dirs["node-a"]], [c.dirs[n] for n in NODES]):
        res = audit("report", "--month", MONTH, *keys(c), "--output", html,
                    "--csv", html, *dirs)
        assert res.returncode == 2, res.stderr
        assert "--csv and --output name the same file" in res.stderr
        assert not os.path.exists(html), "nothing written"


def test_csv_beside_the_output_for_several_nodes(cluster, tmp_path):
    c = cluster
    html = str(tmp_path / "sheet.htm")
    res = audit("report", "--month", MONTH, *keys(c), "--output", html,
                *[c.dirs[n] for n in NODES])
    assert res.returncode == 0, res.stderr
    with open(str(tmp_path / "sheet.csv"), encoding="utf-8-sig") as f:
        head = f.readline()
    assert head.rstrip("\r\n").endswith(",node")
