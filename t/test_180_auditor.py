"""The auditor's monthly commands (R5.1, SPEC section 5): `verify-audit
sample` draws at least 3 % of the month's answered queries, never fewer
than 10, all if fewer than 10, from a seed nobody chooses (the root of
the first signed checkpoint after the month: test_186 with a real
server across a month's end); `verify-audit report` prints the month's
query record sheet as one self-contained HTML page."""

import base64
import hashlib
import hmac
import html.parser
import json
import math
import os
import re
import shutil

import pytest

import harness
from harness import fields_for
from harness.signed import VERIFIER, checkpoint_body

TRICKY_REASON = 'check <script>&"\' ok'
TRICKY_ESCAPED = "check &lt;script&gt;&amp;&quot;&#39; ok"


def expected_k(n):
    return n if n < 10 else max(10, math.ceil(0.03 * n))


def query_lines(audit_dir, month=None):
    return [ln for ln in harness.read_audit(audit_dir)
            if ln.get("op") == "verify"
            and (month is None or ln["ts"][:7] == month)]


PREVIEW_MARK = "PREVIEW, NOT an official draw | "
NO_FLAGS = ("off_hours = off\nburst_queries = 0\nday_subjects = 0\n"
            "subject_clients = 0\nnot_found_run = 0\n"
            "identity_mismatch = off\nreason_share = 0\n"
            "new_operator = off\n")


@pytest.fixture(scope="module")
def noflags(tmp_path_factory):
    """A thresholds file that turns every anomaly flag off: the draw
    alone (the flags are test_186's)."""
    path = tmp_path_factory.mktemp("flags") / "noflags.conf"
    path.write_text(NO_FLAGS)
    return str(path)


def noflags_file(d):
    path = os.path.join(str(d), "noflags.conf")
    with open(path, "w") as f:
        f.write(NO_FLAGS)
    return path


def sample_args(*args, verifier=VERIFIER, flags=None):
    out = ["sample", "--verifier", verifier] + list(args)
    return out + (["--flags", flags] if flags else [])


def sample_json(*args, **kw):
    """Run `sample --json`; returns (header, [parsed lines], [raw]): each
    output line after the header wraps one audit line as a string."""
    res = harness.run_audit_tool(*sample_args("--json", *args, **kw))
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout.splitlines()
    header = json.loads(out[0])
    wrapped = [json.loads(x) for x in out[1:]]
    for w in wrapped:
        assert w["official"] == header["official"]
        assert (w["preview"] is None) == header["official"]
    raw = [w["line"] for w in wrapped]
    return header, [json.loads(x) for x in raw], raw


def python_sample(lines, seed_hex, k):
    """The documented selection: the k smallest HMAC-SHA256(seed,
    request_id) of the answered queries, listed in seq order."""
    seed = bytes.fromhex(seed_hex)
    ranked = sorted((ln for ln in lines if ln["status"] == 200),
                    key=lambda ln: (
        hmac.new(seed, ln["request_id"].encode(), hashlib.sha256).digest(),
        ln["seq"]))
    return sorted(ln["seq"] for ln in ranked[:k])


def answered(lines):
    return [ln for ln in lines if ln["status"] == 200]


def header_value(text, name):
    m = re.search(r"^(?:%s)?%s:\s+(.*)$" % (re.escape(PREVIEW_MARK),
                                           re.escape(name)), text, re.M)
    assert m, "no %r line in:\n%s" % (name, text)
    return m.group(1)


# -- a real server: 5 queries, then 40 more ---------------------------

@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """A server's audit log after 5 queries (`five`) and after 45 or
    more (`full`), as copies; the server itself stays up as `s`."""
    s = harness.Server(mpm="event", checkpoints=True)
    gen = harness.People("test_180")
    s.people = gen.batch(12)
    s.import_household(s.people)
    try:
        s.start()
        out = tmp_path_factory.mktemp("auditor")
        rids = []

        def ask(fields, status=None, **kw):
            r = s.post(fields, **kw)
            if status is not None:
                assert r.status == status, r
            rids.append(r.json["request_id"])
            return r

        for i in range(5):
            ask(fields_for(s.people[i], case="A180-%03d" % i,
                           operator="clerk%02d" % i), 200)
        five = str(out / "five")
        shutil.copytree(s.audit, five)
        for i in range(5, 45):
            p = s.people[i % len(s.people)]
            f = fields_for(p, case="A180-%03d" % i,
                           operator="clerk%02d" % (i % 7))
            if i % 10 == 3:
                f["id"] = harness.bad_checksum(p.id)
                ask(f, 400)
            elif i % 10 == 6:
                f["check"] = "disability"
                ask(f, 403)
            elif i == 9:
                del f["case"]
                ask(f, 400)
            elif i == 17:
                f["reason"] = TRICKY_REASON
                ask(f, 200)
            elif i == 21:
                ask(f, 403, source_address=("127.0.0.2", 0))
            elif i in (24, 25):
                ask(f, 200, source_address=("127.0.0.4", 0))
            elif i == 30:
                f["check"] = "resident,indigenous"
                ask(f, 200)
            else:
                ask(f, 200)
        full = str(out / "full")
        shutil.copytree(s.audit, full)
        s.rids = rids
        s.five, s.full = five, full
        s.month = query_lines(full)[0]["ts"][:7]
        if any(ln["ts"][:7] != s.month for ln in query_lines(full)):
            pytest.skip("the queries straddle a Taipei month boundary")
        yield s
        s.stop()
    finally:
        s.cleanup()


def test_sample_all_when_fewer_than_10(logs, noflags):
    """The month is not over: a preview, marked as such on every line."""
    s = logs
    mine = query_lines(s.five, s.month)
    assert len(mine) == 5
    args = ("--month", s.month, "--preview", s.five)
    res = harness.run_audit_tool(*sample_args(*args, verifier=s.verifier,
                                              flags=noflags))
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    assert all(ln.startswith(PREVIEW_MARK) for ln in out.splitlines()), out
    assert header_value(out, "population").startswith("5 ")
    size = header_value(out, "sample size")
    assert size.startswith("5,") and "all (fewer than 10)" in size, out
    for ln in mine:
        assert ln["request_id"] in out, out
    header, lines, _ = sample_json(*args, verifier=s.verifier, flags=noflags)
    assert header["official"] is False and "NOT an official draw" in \
        header["preview"]
    assert header["population"] == 5 and header["sample_size"] == 5
    assert header["rule"] == "all (fewer than 10)"
    assert [ln["request_id"] for ln in lines] == \
        [ln["request_id"] for ln in mine]


def test_sample_size_3_percent_min_10(logs, noflags):
    s = logs
    mine = query_lines(s.full, s.month)
    n = len(answered(mine))
    assert n >= 30 and len(mine) > n
    header, lines, _ = sample_json("--month", s.month, "--preview", s.full,
                                   verifier=s.verifier, flags=noflags)
    assert header["population"] == n
    assert header["refusals"]["count"] == len(mine) - n
    assert header["sample_size"] == expected_k(n) == len(lines) == 10
    assert header["rule"] == "3 % (min 10)"
    assert all(ln["status"] == 200 for ln in lines), "refusals never drawn"
    res = harness.run_audit_tool(*sample_args(
        "--month", s.month, "--preview", s.full, verifier=s.verifier,
        flags=noflags))
    assert res.returncode == 0, res.stdout + res.stderr
    assert header_value(res.stdout, "population").startswith("%d " % n)
    assert header_value(res.stdout, "sample size").startswith("10, ")


def test_sample_is_reproducible(logs, noflags):
    """The same files and key draw the same sample: the documented
    selection from the seed printed, in seq order, text and JSON alike."""
    s = logs
    mine = query_lines(s.full, s.month)
    args = ("--month", s.month, "--preview", s.full)
    h1, a, raw_a = sample_json(*args, verifier=s.verifier, flags=noflags)
    h2, b, _ = sample_json(*args, verifier=s.verifier, flags=noflags)
    assert h1["seed"] == h2["seed"] and re.fullmatch(r"[0-9a-f]{64}",
                                                     h1["seed"])
    assert base64.b64decode(h1["checkpoint"]["root"]).hex() == h1["seed"]
    assert [x["seq"] for x in a] == [x["seq"] for x in b]
    assert [x["seq"] for x in a] == python_sample(mine, h1["seed"], len(a))
    res = harness.run_audit_tool(*sample_args(*args, verifier=s.verifier,
                                              flags=noflags))
    assert res.returncode == 0, res.stdout + res.stderr
    found = re.findall(r"\b[0-9a-f]{24}\b", res.stdout)
    assert found == [x["request_id"] for x in a], res.stdout


def test_seed_option_is_gone(logs):
    for cmd in ("sample", "report"):
        res = harness.run_audit_tool(cmd, "--month", logs.month, "--seed",
                                     "00", logs.full)
        assert res.returncode == 2 and res.stdout == ""
        assert "--seed is gone" in res.stderr and "chosen by nobody" in \
            res.stderr, res.stderr


def test_sampled_lines_are_the_logged_query_lines(logs, noflags):
    s = logs
    by_rid = {ln["request_id"]: ln for ln in query_lines(s.full)}
    header, lines, raw = sample_json("--month", s.month, "--preview", s.full,
                                     verifier=s.verifier, flags=noflags)
    seqs = [ln["seq"] for ln in lines]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for parsed, text in zip(lines, raw):
        ln = by_rid.get(parsed["request_id"])
        assert ln is not None, parsed
        assert ln["op"] == "verify" and ln["request_id"] in s.rids
        assert ln.raw.decode() == text      # byte for byte, hash and all
    everything = harness.read_audit(s.full)
    assert header["chain"]["intact"] is True
    assert header["chain"]["last_seq"] == everything[-1]["seq"]
    assert header["chain"]["head"] == everything[-1]["hash"]


def test_sample_text_shows_no_subject_tag(logs, noflags):
    s = logs
    mine = query_lines(s.full, s.month)
    res = harness.run_audit_tool(*sample_args(
        "--month", s.month, "--preview", s.full, verifier=s.verifier,
        flags=noflags))
    out = res.stdout
    assert res.returncode == 0, out + res.stderr
    assert header_value(out, "month").startswith(s.month)
    everything = harness.read_audit(s.full)
    assert everything[-1]["hash"] in header_value(out, "chain head")
    for ln in mine:
        if ln["subject_tag"]:
            assert ln["subject_tag"] not in out
    for secret in s.secrets:
        assert secret not in out
    rows = [l[len(PREVIEW_MARK):] for l in out.splitlines()
            if re.search(r"\b[0-9a-f]{24}\b", l)]
    assert len(rows) == 10
    for row in rows:
        rid = re.search(r"\b[0-9a-f]{24}\b", row).group(0)
        ln = next(x for x in mine if x["request_id"] == rid)
        assert row.split()[0] == str(ln["seq"])
        assert row.split()[-1] == "drawn"
        if ln["subject"] not in (None, "*"):
            assert ln["subject"] in row


def test_tampered_log_is_not_sampled(logs, tmp_path):
    s = logs
    d = str(tmp_path / "audit")
    shutil.copytree(s.full, d)
    name = harness.audit_files(d)[-1]
    path = os.path.join(d, name)
    data = open(path, "rb").read()
    assert b'"case":"A180-020"' in data
    open(path, "wb").write(data.replace(b'"case":"A180-020"',
                                        b'"case":"A180-02O"', 1))
    res = harness.run_audit_tool(*sample_args("--month", s.month,
                                              "--preview", d,
                                              verifier=s.verifier))
    assert res.returncode != 0, res.stdout
    assert "BROKEN" in res.stderr and name in res.stderr, res.stderr
    assert not re.search(r"[0-9a-f]{24}", res.stdout), res.stdout
    res = harness.run_audit_tool(*sample_args("--json", "--month", s.month,
                                              "--preview", d,
                                              verifier=s.verifier))
    assert res.returncode != 0 and res.stdout == "", res.stdout
    # the report still prints, says so and marks the line
    res = harness.run_audit_tool("report", "--month", s.month, d)
    assert res.returncode != 0
    assert "BROKEN" in res.stderr
    page = Page(res.stdout)
    assert "BROKEN" in page.text and name in page.text
    bad = [r for r in query_rows(page) if r[0].startswith("\u26a0")]
    assert len(bad) == 1 and bad[0][5] == "A180-02O", bad
    assert len(query_rows(page)) == len(query_lines(s.full, s.month))


# -- the report --------------------------------------------------------

class Page(html.parser.HTMLParser):
    """Parses the report; records nesting faults, text and table rows."""

    VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.source = text
        self.stack, self.errors, self.tags = [], [], []
        self.data, self.rows, self.row, self.cell = [], [], None, None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append("unclosed: %s" % self.stack)
        self.text = "".join(self.data)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)
        if tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> inside %s" % (tag, self.stack[-3:]))
            return
        self.stack.pop()
        if tag in ("td", "th") and self.row is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        elif tag == "tr":
            self.rows.append(self.row)
            self.row = None

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "style":
            return
        self.data.append(data)
        if self.cell is not None:
            self.cell.append(data)

    def row_of(self, first):
        rows = [r for r in self.rows if r and r[0].startswith(first)]
        assert rows, "no row %r" % first
        return rows[0]


def query_rows(page):
    """The rows of the answered (10 cells) and refused (11) tables, in
    chain order: mark, seq, day time, client, operator, case, reason,
    checks, subject[, status], request_id."""
    rows = [r for r in page.rows if len(r) in (10, 11) and r[1].isdigit()]
    return sorted(rows, key=lambda r: int(r[1]))


def report(month, *args):
    res = harness.run_audit_tool("report", "--month", month, *args)
    assert res.returncode == 0, res.stderr
    return Page(res.stdout)


def test_report_is_one_self_contained_page(logs):
    s = logs
    page = report(s.month, s.full)
    src = page.source
    assert page.errors == [], page.errors[:5]
    assert src.startswith("<!DOCTYPE html>")
    assert re.search(r'<meta charset="utf-8">', src, re.I)
    assert "@media print" in src
    names = {t for t, _ in page.tags}
    assert not names & {"script", "link", "img", "iframe", "object",
                        "embed"}, names
    assert not re.search(r"\b(src|href)\s*=", src)
    assert "url(" not in src and "@import" not in src
    assert not re.search(r"https?://", src)
    assert not re.search(r"\son\w+\s*=", src)      # no event handlers
    title = re.search(r"<title>(.*?)</title>", src).group(1)
    assert "查詢紀錄表" in title and "record sheet" in title and \
        s.month in title
    for role in ("稽核人員 Auditor", "業務承辦人 Project officer",
                 "單位主管 Unit head"):
        assert [role, "", "", ""] in page.rows, role
    assert "日期 Date" in page.text and "簽名 Signature" in page.text
    # a month not over has no sample yet: its seed is a later checkpoint
    assert "no draw yet" in page.text


def test_report_lists_every_query_of_the_month(logs):
    s = logs
    mine = query_lines(s.full, s.month)
    page = report(s.month, s.full)
    rows = query_rows(page)
    assert [r[-1] for r in rows] == [ln["request_id"] for ln in mine]
    assert [int(r[1]) for r in rows] == [ln["seq"] for ln in mine]
    for r, ln in zip(rows, mine):
        assert r[2] == ln["ts"][8:19].replace("T", " ")
        assert r[8] == (ln["subject"] or "\u2014")
        if ln["status"] == 200:
            assert len(r) == 10
        else:
            want = str(ln["status"]) + (" " + ln["error"]
                                        if ln.get("error") else "")
            assert len(r) == 11 and r[9] == want
        assert r[5] == (ln["case"] if ln["case"] is not None else "\u2014")
        assert r[7] == (",".join(ln["checks"]) or "\u2014")
    assert set(s.rids) <= {r[-1] for r in rows}


def test_report_counts(logs):
    s = logs
    mine = query_lines(s.full, s.month)
    page = report(s.month, s.full)
    n = len(mine)
    answered = sum(1 for ln in mine if ln["status"] == 200)
    assert page.row_of("查詢筆數")[1] == str(n)
    assert page.row_of("已回覆")[1] == str(answered)
    assert page.row_of("拒絕")[1] == str(n - answered)
    assert page.row_of("應抽核")[1] == str(expected_k(n))
    by_error = {}
    for ln in mine:
        if ln["status"] != 200:
            key = (str(ln["status"]), ln["error"])
            by_error[key] = by_error.get(key, 0) + 1
    assert len(by_error) >= 4      # invalid_id, missing_field, 2 kinds of 403
    for (status, error), count in by_error.items():
        assert [status, error, str(count)] in page.rows, (status, error)
    for client in ("testsys", "narrow"):
        q = [ln for ln in mine if ln["client"] == client]
        ok = sum(1 for ln in q if ln["status"] == 200)
        assert [client, str(len(q)), str(ok), str(len(q) - ok)] in page.rows
    unknown = [r for r in page.rows if r and "unknown_client" in r[0]]
    assert unknown and unknown[0][1] == "1", unknown
    for check in ("resident", "indigenous", "disability"):
        asked = sum(1 for ln in mine if check in ln["checks"])
        assert page.row_of(check)[1] == str(asked)
    assert "完整 Intact" in page.text


def test_report_never_shows_tags_or_clear_ids(logs):
    s = logs
    page = report(s.month, s.full)
    tags = {ln["subject_tag"] for ln in query_lines(s.full)
            if ln["subject_tag"]}
    assert tags
    for tag in tags:
        assert tag not in page.source
    assert "subject_tag" not in page.source
    for secret in s.secrets:
        assert secret not in page.source, harness.mask_id(secret)


def test_report_escapes_client_text(logs):
    s = logs
    page = report(s.month, s.full)
    assert TRICKY_REASON not in page.source
    assert "<script" not in page.source
    assert TRICKY_ESCAPED in page.source
    row = [r for r in query_rows(page) if r[5] == "A180-017"]
    assert row and row[0][6] == TRICKY_REASON       # shown as it was sent


# -- months without queries, and usage faults --------------------------

def test_month_without_queries(logs, tmp_path):
    s = logs
    for month in ("2001-01", "2099-12"):
        res = harness.run_audit_tool(*sample_args(
            "--month", month, "--preview", s.full, verifier=s.verifier))
        assert res.returncode == 0, res.stdout + res.stderr
        assert header_value(res.stdout, "population").startswith("0 ")
        assert "nothing to sample" in res.stdout
        header, lines, _ = sample_json("--month", month, "--preview", s.full,
                                       verifier=s.verifier)
        assert header["population"] == 0 and header["sample_size"] == 0
        assert lines == []
        page = report(month, s.full)
        assert page.errors == []
        assert page.row_of("查詢筆數")[1] == "0"
        assert "No queries in the month" in page.text


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "26-11",
                                   "2026/11", "2026-11-01", "", "abcd-ef"])
@pytest.mark.parametrize("cmd", ["sample", "report"])
def test_bad_month(logs, cmd, month):
    res = harness.run_audit_tool(cmd, "--month", month, logs.full)
    assert res.returncode != 0
    assert "--month" in res.stderr and res.stdout == ""


@pytest.mark.parametrize("cmd", ["sample", "report"])
def test_usage_faults(logs, cmd, tmp_path):
    s = logs
    cases = [
        ([cmd, s.full], "--month"),                        # no month
        ([cmd, "--month", s.month], "no audit files"),     # no files
        ([cmd, "--month", s.month, str(tmp_path / "nope")], "cannot read"),
        ([cmd, "--month", s.month, str(tmp_path)], "no audit files"),
    ]
    cases.append(([cmd, "--month", s.month, "--seed", "00", s.full],
                  "--seed is gone"))
    if cmd == "sample":
        cases = [(a[:1] + ["--verifier", s.verifier] + a[1:], why)
                 for a, why in cases[1:]]
        cases += [([cmd, "--month", s.month, s.full], "needs --verifier"),
                  ([cmd, "--month", s.month, "--verifier", "nonsense",
                    s.full], "neither a verifier key")]
    for args, why in cases:
        res = harness.run_audit_tool(*args)
        assert res.returncode != 0, args
        assert why in res.stderr, (args, res.stderr)


def test_unreadable_file(logs, tmp_path):
    """A file that cannot be read fails the command, naming the file
    (root reads any file, so a vanished one stands in for it)."""
    d = str(tmp_path / "audit")
    shutil.copytree(logs.full, d)
    f = os.path.join(d, harness.audit_files(d)[0])
    if harness.IS_ROOT:
        f = os.path.join(d, "audit-2000-01-01.jsonl")
    else:
        os.chmod(f, 0)
    for cmd in ("sample", "report", "verify"):
        args = [cmd] + (["--month", logs.month] if cmd != "verify" else [])
        if cmd == "sample":
            args += ["--preview", "--verifier", logs.verifier]
        res = harness.run_audit_tool(*(args + [f]))
        assert res.returncode != 0 and f in res.stderr, (cmd, res.stderr)


# -- synthetic logs: month boundaries, large months, odd text -----------

def _query_body(rid, case="C-1", reason="eligibility", status=200,
                client="testsys", checks=("resident",)):
    body = {"request_id": rid, "client": client, "operator": "op1",
            "ip": "127.0.0.1", "op": "verify", "method": "POST",
            "checks": list(checks), "subject": "A12*****89",
            "subject_tag": "ab" * 32, "case": case, "reason": reason,
            "match_fields": [], "status": status}
    if status == 200:
        body["results"] = {"resident": True}
        body["as_of"] = {}
    else:
        body["error"] = "invalid_id"
        body["as_of"] = None
    return "," + json.dumps(body, ensure_ascii=False,
                            separators=(",", ":"))[1:-1]


CHECKPOINT = object()


def write_log(d, entries):
    """entries: (ts, body) in order; one file per Taipei day. A body
    CHECKPOINT is a signed checkpoint of every line before it, made at
    ts (to the second), as the httpd parent writes it."""
    os.makedirs(d, exist_ok=True)
    prev, files, raws = harness.ZERO_HASH, {}, []
    for seq, (ts, body) in enumerate(entries, 1):
        if body is CHECKPOINT:
            body = checkpoint_body(raws, ts[:19] + "+08:00")
        line, prev = harness.seal_line(seq, ts, body, prev)
        raws.append(line)
        files.setdefault(ts[:10], []).append(line)
    for day, lines in files.items():
        with open(os.path.join(d, "audit-%s.jsonl" % day), "wb") as f:
            f.write(b"".join(ln + b"\n" for ln in lines))
    return d


def ts_of(day, i):
    return "%sT%02d:%02d:%02d.%06d+08:00" % (day, (i // 3600) % 24,
                                             (i // 60) % 60, i % 60, i)


def test_month_boundaries(tmp_path):
    entries = [(ts_of("2026-09-30", 1), _query_body("%024x" % 1)),
               ("2026-10-01T00:00:00.000000+08:00",
                _query_body("%024x" % 2)),
               ("2026-10-31T23:59:59.999999+08:00",
                _query_body("%024x" % 3)),
               ("2026-11-01T00:00:00.000000+08:00",
                _query_body("%024x" % 4)),
               ("2026-11-01T00:00:01.000000+08:00",
                ',"op":"start","pid":1,"generation":1,"server":"x"'),
               ("2026-11-01T00:00:02.000000+08:00", CHECKPOINT)]
    d = write_log(str(tmp_path / "a"), entries)
    everything = harness.read_audit(d)
    header, lines, _ = sample_json("--month", "2026-10", d)
    assert header["official"] is True
    assert header["checkpoint"]["line_seq"] == 6
    assert header["checkpoint"]["size"] == 5
    assert [ln["seq"] for ln in lines] == [2, 3]
    # every file is read: the chain is checked to its end
    assert len(header["files"]) == 4
    assert header["chain"]["last_seq"] == 6
    assert header["chain"]["head"] == everything[-1]["hash"]
    # and the month's end is named: it stays the same as the log grows
    assert header["month_end"] == {"seq": 3, "hash": everything[2]["hash"]}
    res = harness.run_audit_tool(*sample_args("--month", "2026-11", d))
    assert res.returncode == 1 and "2026-11 has no seed yet" in res.stderr
    header, lines, _ = sample_json("--month", "2026-11", "--preview", d)
    assert header["official"] is False
    assert [ln["seq"] for ln in lines] == [4]
    assert header["month_end"]["seq"] == 6
    more = entries + [("2026-11-02T08:00:00.000000+08:00",
                       _query_body("%024x" % 7))]
    d2 = write_log(str(tmp_path / "b"), more)
    header2, lines2, _ = sample_json("--month", "2026-10", d2)
    header1, lines1, _ = sample_json("--month", "2026-10", d)
    assert header2["month_end"]["hash"] == everything[2]["hash"]
    assert header2["chain"]["last_seq"] == 7
    assert header2["seed"] == header1["seed"]
    assert lines2 == lines1
    page = report("2026-10", d2)
    assert page.row_of("查詢筆數")[1] == "2"
    assert everything[2]["hash"] in page.text
    # a line cut off the end of October shows at the seam to November
    path = os.path.join(d2, "audit-2026-10-31.jsonl")
    open(path, "wb").close()
    res = harness.run_audit_tool(*sample_args("--month", "2026-10", d2))
    assert res.returncode != 0 and "BROKEN" in res.stderr, res.stderr
    assert "audit-2026-11-01.jsonl:1:" in res.stderr, res.stderr


@pytest.mark.parametrize("n", [1, 9, 10, 11, 333, 334, 400, 1000])
def test_sample_size_rule(tmp_path, n):
    entries = [(ts_of("2026-10-%02d" % (1 + i % 28), i),
                _query_body("%024x" % (i + 1)))
               for i in range(n)]
    entries.sort(key=lambda e: e[0])
    entries.append(("2026-11-01T00:00:03.000000+08:00", CHECKPOINT))
    d = write_log(str(tmp_path / "a"), entries)
    header, lines, _ = sample_json("--month", "2026-10", d,
                                   flags=noflags_file(tmp_path))
    assert header["population"] == n
    assert header["sample_size"] == len(lines) == expected_k(n)
    assert header["rule"] == ("all (fewer than 10)" if n < 10
                              else "3 % (min 10)")
    parsed = [json.loads(ln.raw) for ln in harness.read_audit(d)
              if b'"op":"verify"' in ln.raw]
    assert [ln["seq"] for ln in lines] == \
        python_sample(parsed, header["seed"], expected_k(n))


def test_odd_text_is_shown_safely(tmp_path):
    odd = ["esc \x1b[31mred\x1b[0m", "rtl \u202eevil\u202c", "nul \x00 x",
           "</td></tr></table><h1>x</h1>", "a" * 150, "中文事由" * 20]
    entries = [(ts_of("2026-10-05", i), _query_body(
        "%024x" % (i + 1), case=text[:64], reason=text))
        for i, text in enumerate(odd)]
    entries.append(("2026-11-01T00:00:03.000000+08:00", CHECKPOINT))
    d = write_log(str(tmp_path / "a"), entries)
    assert harness.run_audit_tool("verify", d).returncode == 0
    res = harness.run_audit_tool(*sample_args("--month", "2026-10", d))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "\x1b" not in out and "\u202e" not in out and "\x00" not in out
    assert "\\u001b[31mred" in out and "\\u202eevil" in out
    assert "\u2026" in out and "--json" in out      # long values are cut
    page = report("2026-10", d)
    assert page.errors == []
    assert "<h1>x</h1>" not in page.source
    assert "\x1b" not in page.source and "\u202e" not in page.source
    reasons = [r[6] for r in query_rows(page)]
    # a row is one line: long text is cut to its column, and printed
    # whole under the tables
    assert reasons[-1].startswith("中文事由中文事由") and "\u2026" in \
        reasons[-1] and "[T" in reasons[-1]
    assert [r for r in page.rows if r and r[0].startswith("[T")
            and r[4] == "中文事由" * 20]
    assert reasons[3] == "</td></tr></table><h1>x</h1>"
