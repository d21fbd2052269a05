"""The audit log (SPEC section 4): one line per request, a gap-free hash
chain across processes, graceful restarts and stop/start, checked in
Python and with `verify-audit verify`."""

import collections
import os
import queue
import re
import shutil
import threading
import time

import pytest

import harness
from harness import fields_for, mask_id


def verify_tool_ok(audit_dir):
    res = harness.run_audit_tool("verify", audit_dir)
    assert res.returncode == 0, ("verify-audit verify failed on an intact "
                                 "log:\n" + res.stdout + res.stderr)


def check_chain(s):
    lines = s.audit_lines()
    assert lines, "no audit lines"
    problems = harness.chain_problems(lines) + \
        harness.line_format_problems(lines)
    assert problems == [], "\n".join(problems[:20])
    assert lines[0]["seq"] == 1 and lines[0]["prev"] == harness.ZERO_HASH
    verify_tool_ok(s.audit)
    return lines


# -- load generator ---------------------------------------------------

class Load:
    """Fires jobs from several threads and records what came back.

    Each attempt carries its own `case`, so an attempt whose answer was
    lost (connection closed by a restart) can be told apart from a
    retry of the same job."""

    def __init__(self, s, threads=16, keepalive=True):
        self.s = s
        self.threads = threads
        self.keepalive = keepalive
        self.answered = []        # (case, status, request_id, expected)
        self.lost = []            # cases of attempts without an answer
        self.errors = []
        self.lock = threading.Lock()

    def _send(self, conns, fields, source):
        body, ctype = harness.encode_body(fields, "form")
        hdrs = {"Content-Type": ctype}
        if not self.keepalive or source is not None:
            return harness.request(self.s.port, "POST", "/verify", body,
                                   hdrs, source_address=source)
        conn = conns.get(source)
        if conn is None:
            conn = harness.http.client.HTTPConnection(
                "127.0.0.1", self.s.port, timeout=30,
                source_address=source)
            conns[source] = conn
        try:
            conn.request("POST", "/verify", body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                del conns[source]
            return harness.Response(r.status, r.reason, {}, data)
        except BaseException:
            conn.close()
            del conns[source]
            raise

    def worker(self, jobs):
        conns = {}
        try:
            while True:
                try:
                    job = jobs.get_nowait() if not callable(jobs) else jobs()
                except queue.Empty:
                    return
                if job is None:
                    return
                fields, source, expected = job
                for attempt in range(4):
                    f = dict(fields)
                    f["case"] = "%s.%d" % (fields["case"], attempt)
                    try:
                        r = self._send(conns, f, source)
                    except (OSError, harness.http.client.HTTPException):
                        with self.lock:
                            self.lost.append(f["case"])
                        time.sleep(0.01)
                        continue
                    try:
                        rid = r.json["request_id"]
                    except (ValueError, KeyError):
                        rid = None
                    with self.lock:
                        self.answered.append((f["case"], r.status, rid,
                                              expected))
                    break
                else:
                    with self.lock:
                        self.errors.append("no answer for " + fields["case"])
        except BaseException as e:     # pragma: no cover - reported below
            with self.lock:
                self.errors.append(repr(e))
        finally:
            for c in conns.values():
                c.close()

    def run(self, jobs):
        ts = [threading.Thread(target=self.worker, args=(jobs,))
              for _ in range(self.threads)]
        for t in ts:
            t.start()
        return ts


def make_jobs(s, n, prefix):
    """A mix of answers and refusals; returns a list of jobs."""
    jobs = []
    for i in range(n):
        k = i % 10
        p = s.people[i % len(s.people)]
        if k < 7:
            f, src, exp = fields_for(p), None, 200
        elif k == 7:
            f, src, exp = fields_for(s.outsiders[i % 2]), None, 200
        elif k == 8:
            f, src, exp = fields_for(harness.bad_checksum(p.id)), None, 400
        else:
            f, src, exp = fields_for(p), ("127.0.0.2", 0), 403
        f["case"] = "%s-%05d" % (prefix, i)
        f["operator"] = "load-%d" % (i % 16)
        jobs.append((f, src, exp))
    return jobs


def check_load(s, load, prefix):
    """Every answer has exactly one audit line; lost attempts at most one."""
    assert not load.errors, load.errors[:5]
    lines = check_chain(s)
    verify_lines = [ln for ln in lines if ln.get("op") == "verify"
                    and str(ln.get("case", "")).startswith(prefix + "-")]
    by_case = collections.defaultdict(list)
    for ln in verify_lines:
        by_case[ln["case"]].append(ln)
    rid_count = collections.Counter(ln.get("request_id")
                                    for ln in lines if ln.get("op") ==
                                    "verify")
    dup = [r for r, c in rid_count.items() if c > 1]
    assert not dup, "request_id on several lines: %r" % dup[:5]
    for case, status, rid, expected in load.answered:
        assert status == expected, (case, status, expected)
        got = by_case.get(case, [])
        assert len(got) == 1, "%s: %d audit lines" % (case, len(got))
        assert got[0]["request_id"] == rid
        assert got[0]["status"] == status
    for case in load.lost:
        assert len(by_case.get(case, [])) <= 1, case
    expected_lines = len(load.answered) + sum(1 for c in load.lost
                                              if by_case.get(c))
    assert len(verify_lines) == expected_lines
    return lines


def start_lines(lines):
    return [ln for ln in lines if ln.get("op") == "start"]


# -- tests ------------------------------------------------------------

def test_start_line(make_server, mpm):
    s = make_server(mpm=mpm)
    s.import_household(harness.People().batch(3))
    s.start()
    lines = check_chain(s)
    st = start_lines(lines)
    assert len(st) == 1, lines
    assert lines[0].get("op") == "start"
    assert "request_id" not in st[0].obj or st[0]["request_id"] is None
    assert harness.AUDIT_NAME_RE.match(lines[0].file).group(1) == \
        harness.today_taipei().isoformat()


def test_concurrency_graceful_and_restart(make_server, mpm):
    s = make_server(mpm=mpm)
    gen = harness.People()
    s.people = gen.batch(60)
    s.outsiders = [gen.person(), gen.person("resident")]
    s.add_people(s.outsiders)
    s.import_household(s.people)
    s.start()
    if mpm == "event":
        assert len(s.child_pids()) >= 2, "event MPM should run 2+ children"

    # 1. ~2000 requests from 16 threads, keep-alive connections
    jobs = queue.Queue()
    for j in make_jobs(s, 2000, "L1"):
        jobs.put(j)
    load = Load(s, threads=16, keepalive=True)
    t0 = time.time()
    for t in load.run(jobs):
        t.join(240)
    # (the event MPM closes idle keep-alive connections when a child is
    # at its connection limit, static files alike: a client then sees
    # the connection closed and sends again; such an attempt never
    # reached the handler)
    assert len(load.answered) == 2000
    lines = check_load(s, load, "L1")
    cases = {ln.get("case") for ln in lines}
    assert not [c for c in load.lost if c in cases], \
        "an attempt without an answer left an audit line"
    seqs = [ln["seq"] for ln in lines]
    assert seqs == list(range(1, len(lines) + 1))
    n_start = len(start_lines(lines))
    assert n_start == 1
    t_load = time.time() - t0

    # 2. two graceful restarts with requests in flight
    stop = threading.Event()
    counter = iter(range(10 ** 6))
    lock = threading.Lock()
    jobs2 = make_jobs(s, 20000, "L2")

    def next_job():
        if stop.is_set():
            return None
        with lock:
            i = next(counter)
        return jobs2[i] if i < len(jobs2) else None

    load2 = Load(s, threads=16, keepalive=(mpm == "event"))
    threads = load2.run(next_job)
    time.sleep(0.5)
    s.graceful()
    time.sleep(0.5)
    s.graceful()
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(120)
    assert len(load2.answered) > 100
    lines = check_load(s, load2, "L2")
    check_load(s, load, "L1")
    st = start_lines(lines)
    assert len(st) == 3, "a start line per graceful restart: %r" % st

    # 3. stop and start: the chain continues
    last = lines[-1]
    s.stop()
    s.start()
    r = s.post(fields_for(s.people[0], case="after-restart"))
    assert r.status == 200, r
    lines = check_chain(s)
    after = [ln for ln in lines if ln["seq"] > last["seq"]]
    assert after, "nothing written after the restart"
    assert after[0]["seq"] == last["seq"] + 1
    assert after[0]["prev"] == last["hash"]
    assert after[0].get("op") == "start"
    assert lines[-1]["request_id"] == r.json["request_id"]
    print("%s: %d requests in %.1fs; during graceful restarts: %d answered, "
          "%d attempts lost" % (mpm, len(load.answered), t_load,
                                len(load2.answered), len(load2.lost)))


def test_children_killed_during_load(make_server, mpm):
    """SIGKILL children of our httpd while requests run: every answer
    keeps its one line and the chain stays whole."""
    s = make_server(mpm=mpm)
    gen = harness.People()
    s.people = gen.batch(30)
    s.outsiders = [gen.person(), gen.person("resident")]
    s.add_people(s.outsiders)
    s.import_household(s.people)
    s.start()
    # a child killed while it held the chain step is recovered, loudly;
    # one killed with answers in flight has them marked
    s.expect_log(r"\[verify:error\].*audit writer pid \d+ died inside the "
                 r"chain step",
                 r"\[mpm_event:warn\].*AH10392: children are killed "
                 r"successively",
                 r"\[verify:warn\].*VFY92: process \d+ ended with \d+ "
                 r"answer\(s\) in flight")
    stop = threading.Event()
    counter = iter(range(10 ** 6))
    lock = threading.Lock()
    jobs = make_jobs(s, 50000, "K")

    def next_job():
        if stop.is_set():
            return None
        with lock:
            i = next(counter)
        return jobs[i] if i < len(jobs) else None

    load = Load(s, threads=12, keepalive=True)
    threads = load.run(next_job)
    killed = []
    rng = harness.random.Random()
    for _ in range(6):
        time.sleep(0.3)
        kids = s.child_pids()
        if kids:
            pid = rng.choice(kids)
            try:
                os.kill(pid, harness.signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(120)
    assert killed
    s.expect_log(r"AH00052: child pid (%s) exit signal Killed" %
                 "|".join(map(str, killed)))
    assert len(load.answered) > 100
    check_load(s, load, "K")
    # once the parent has reaped them, the next line marks what the
    # killed children had in flight
    deadline = time.time() + 15
    while any(os.path.exists("/proc/%d" % p) for p in killed):
        assert time.time() < deadline, "killed children not reaped"
        time.sleep(0.05)
    r = s.post(fields_for(s.people[0], case="after-kills"))
    assert r.status == 200, r
    lines = check_chain(s)
    # every lost request whose line was written is marked as unconfirmed
    named = {q for ln in lines if ln.get("op") == "unconfirmed"
             for q in ln["seqs"]}
    lost = {ln["seq"] for ln in lines if ln.get("op") == "verify"
            and ln.get("case") in set(load.lost)}
    assert lost <= named, sorted(lost - named)
    # a recovery is never silent: the chain itself records it
    for pid in re.findall(r"audit writer pid (\d+) died inside",
                          s.error_log_text()):
        assert [ln for ln in lines if ln.get("op") != "verify"
                and re.search(r"\b%s\b" % pid, ln.raw.decode())], \
            "recovery after pid %s is not in the audit log" % pid


@pytest.fixture(scope="module")
def sealed_log():
    """An audit log of a start line and 29 requests, server stopped."""
    s = harness.Server(mpm="event")
    try:
        people = harness.People().batch(5)
        s.import_household(people)
        s.start()
        for i in range(29):
            r = s.post(fields_for(people[i % 5], case="T-%02d" % i))
            assert r.status == 200
        s.stop()
        lines = s.audit_lines()
        assert len(lines) >= 30 and harness.chain_problems(lines) == []
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def log_copy(sealed_log, tmp_path):
    d = str(tmp_path / "audit")
    shutil.copytree(sealed_log.audit, d)
    files = harness.audit_files(d)
    assert len(files) == 1
    return os.path.join(d, files[0])


def _rewrite(path, fn):
    lines = open(path, "rb").read().split(b"\n")[:-1]
    lines = fn(lines)
    with open(path, "wb") as f:
        f.write(b"".join(ln + b"\n" for ln in lines))


def _seq_of_case(path, case):
    """seq (= line number: one file, chain from 1) of the line of @case."""
    for i, raw in enumerate(open(path, "rb").read().split(b"\n"), 1):
        if b'"case":"%s"' % case.encode() in raw:
            assert b'{"seq":%d,' % i in raw
            return i
    raise AssertionError("no line of " + case)


def _named(output, seq, fname):
    return bool(re.search(r"(?<![\d.])%d(?![\d.])" % seq, output)) or \
        ("%s:%d" % (fname, seq)) in output


def test_verify_intact_copy(log_copy):
    verify_tool_ok(os.path.dirname(log_copy))
    res = harness.run_audit_tool("verify", log_copy)
    assert res.returncode == 0, res.stdout + res.stderr


def test_flipped_byte_is_found(log_copy):
    target = _seq_of_case(log_copy, "T-15")

    def flip(lines):
        ln = lines[target - 1]
        i = ln.index(b'"case":"T-') + len(b'"case":"T-')
        lines[target - 1] = ln[:i] + bytes([ln[i] ^ 1]) + ln[i + 1:]
        return lines
    _rewrite(log_copy, flip)
    lines = harness.read_audit(os.path.dirname(log_copy))
    probs = harness.chain_problems(lines)
    assert probs and probs[0].startswith(
        "%s:%d:" % (os.path.basename(log_copy), target)), probs
    res = harness.run_audit_tool("verify", os.path.dirname(log_copy))
    out = res.stdout + res.stderr
    assert res.returncode != 0, "tampering not detected: " + out
    assert _named(out, target, os.path.basename(log_copy)), out


def test_rehashed_line_breaks_next_link(log_copy):
    """Editing a line and recomputing its hash breaks the next prev."""
    target = _seq_of_case(log_copy, "T-10")

    def edit(lines):
        ln = lines[target - 1]
        ln = ln.replace(b'"status":200', b'"status":403')
        covered = ln[:-75]
        h = harness.hashlib.sha256(covered).hexdigest().encode()
        lines[target - 1] = covered + b',"hash":"' + h + b'"}'
        return lines
    _rewrite(log_copy, edit)
    res = harness.run_audit_tool("verify", os.path.dirname(log_copy))
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert _named(out, target + 1, os.path.basename(log_copy)) or \
        _named(out, target, os.path.basename(log_copy)), out


@pytest.mark.parametrize("how", ["delete", "swap", "duplicate"])
def test_removed_or_reordered_lines_are_found(log_copy, how):
    def fn(lines):
        if how == "delete":
            del lines[9]
        elif how == "swap":
            lines[9], lines[10] = lines[10], lines[9]
        else:
            lines.insert(10, lines[9])
        return lines
    _rewrite(log_copy, fn)
    assert harness.chain_problems(
        harness.read_audit(os.path.dirname(log_copy)))
    res = harness.run_audit_tool("verify", os.path.dirname(log_copy))
    assert res.returncode != 0, res.stdout + res.stderr


NASTY = [
    'quote " and backslash \\ inside',
    "tab\there",
    "new\nline {\"seq\":1}",
    "carriage\rreturn",
    "nul\x00byte",
    "escape\x1b[31mred",
    "del\x7fchar",
    "emoji 😀 and 中文",
    "line separator \u2028 here",
    "</script><script>alert(1)</script>",
]


@pytest.mark.parametrize("text", NASTY, ids=range(len(NASTY)))
@pytest.mark.parametrize("field", ["reason", "operator", "case"])
def test_audit_escaping(hserver, text, field):
    s = hserver
    f = fields_for(s.people[0])
    f[field] = text
    for kind in ("form", "json"):
        before = len(s.audit_lines())
        r = s.post(f, kind=kind)
        assert r.status in (200, 400), r
        if r.status == 400:
            assert r.json["error"] == "invalid_field", r
        new = s.audit_lines()[before:]
        mine = [ln for ln in new
                if ln.get("request_id") == r.json["request_id"]]
        assert len(mine) == 1, new
        assert harness.line_format_problems(mine) == []
        if r.status == 200:
            # accepted text is recorded exactly
            assert mine[0][field] == text
    assert harness.chain_problems(s.audit_lines()) == []


def test_invalid_utf8(hserver):
    s = hserver
    body, ctype = harness.encode_body(fields_for(s.people[0]), "form")
    body = body.replace(b"reason=", b"reason=bad%FF%FEbytes%C3", 1)
    before = len(s.audit_lines())
    r = s.post(None, raw=body, content_type=ctype)
    assert r.status in (200, 400), r
    new = s.audit_lines()[before:]
    assert len(new) == 1
    assert harness.line_format_problems(new) == []
    if r.status == 200:
        assert "\ufffd" in new[0]["reason"]
    else:
        assert r.json["error"] == "invalid_field"


def test_long_fields_keep_lines_short(hserver):
    s = hserver
    f = fields_for(s.people[0], case="案" * 64, reason="😀" * 200,
                   operator="操" * 1200)
    before = len(s.audit_lines())
    r = s.post(f, kind="json")
    assert r.status in (200, 400), r
    new = s.audit_lines()[before:]
    assert len(new) == 1
    assert harness.line_format_problems(new) == []
    assert harness.chain_problems(s.audit_lines()) == []


def _synthetic_log(d, days=3, per_day=5):
    """A chain over several daily files, as the server would leave it."""
    prev, seq = harness.ZERO_HASH, 0
    base = harness.today_taipei() - harness.datetime.timedelta(days=days)
    for k in range(days):
        day = base + harness.datetime.timedelta(days=k)
        out = []
        for i in range(per_day):
            seq += 1
            ts = "%sT%02d:00:00.000000+08:00" % (day.isoformat(), 8 + i)
            body = (',"request_id":"r%d","client":"testsys","operator":"o",'
                    '"ip":"127.0.0.1","op":"verify","checks":["resident"],'
                    '"subject":"A12*****89","subject_tag":"%s","case":"c%d",'
                    '"reason":"r","status":200,"results":{"resident":true},'
                    '"as_of":{"household":"%sT02:00:00+08:00"}'
                    % (seq, "ab" * 32, seq, base.isoformat()))
            raw, prev = harness.seal_line(seq, ts, body, prev)
            out.append(raw)
        with open(os.path.join(d, "audit-%s.jsonl" % day.isoformat()),
                  "wb") as f:
            f.write(b"".join(ln + b"\n" for ln in out))
    return sorted(os.listdir(d))


def test_chain_across_files(tmp_path):
    d = str(tmp_path)
    files = _synthetic_log(d)
    assert harness.chain_problems(harness.read_audit(d)) == []
    verify_tool_ok(d)
    # the second file loses its first line: the break is at the file seam
    second = os.path.join(d, files[1])
    _rewrite(second, lambda lines: lines[1:])
    assert harness.chain_problems(harness.read_audit(d))
    res = harness.run_audit_tool("verify", d)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert files[1] in out, out


def test_chain_missing_file(tmp_path):
    d = str(tmp_path)
    files = _synthetic_log(d)
    os.unlink(os.path.join(d, files[1]))     # a whole day deleted
    res = harness.run_audit_tool("verify", d)
    out = res.stdout + res.stderr
    assert res.returncode != 0, "a deleted day went unnoticed: " + out
