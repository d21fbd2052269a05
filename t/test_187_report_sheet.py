"""The monthly query record sheet a supervisor signs (issue 8 item 4,
R5.1): `verify-audit report` writes HTML for A4 with the chain and
checkpoint status (checked with --verifier), the sample marked, the
answered queries apart from the refusals, the month's service events,
text that looks like an ID or phone number masked and flagged, and three
signature lines; the same rows as CSV (RFC 4180, no formulas). Headless
Chromium prints it to PDF and poppler reads it back: at least 30 rows a
page, no identifier or hash broken across lines, the signature lines
there, a planted ID only masked."""

import base64
import csv
import glob
import hashlib
import hmac
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile

import pytest

import harness
import sheetlog
from harness import fields_for, mask_id
from test_180_auditor import Page

MONTH = sheetlog.MONTH
CHROMIUM = shutil.which("chromium")
PDFTOTEXT = shutil.which("pdftotext")
PDFINFO = shutil.which("pdfinfo")


class Sheet(Page):
    """The report parsed; each row kept with the class of its table."""

    def __init__(self, text):
        self.table_classes, self.trows = [], []
        super().__init__(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.table_classes.append(dict(attrs).get("class", ""))
        if tag == "tr":
            self.tr_class = dict(attrs).get("class", "")
        super().handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "tr" and self.row is not None:
            self.trows.append((self.table_classes[-1], self.tr_class,
                               self.row))
        super().handle_endtag(tag)
        if tag == "table":
            self.table_classes.pop()

    def table(self, cls, ncells=None):
        return [(trc, r) for c, trc, r in self.trows
                if c == cls and r and (ncells is None or len(r) == ncells)
                and r[1][:1].isdigit()]


def month_lines(m):
    return [ln for ln in m.lines() if ln["ts"][:7] == MONTH]


def queries(m):
    return [ln for ln in month_lines(m) if ln["op"] == "verify"]


def events(m):
    return [ln for ln in month_lines(m) if ln["op"] != "verify"]


def event_rows(m):
    ev = events(m)
    interval = [ln for ln in ev if ln["op"] == "checkpoint"
                and ln["reason"] == "interval"]
    return len(ev) - len(interval) + (1 if interval else 0)


def seed_checkpoint(m):
    end = max(ln["seq"] for ln in m.lines() if ln["ts"][:7] <= MONTH)
    return [ln for ln in m.lines() if ln["op"] == "checkpoint"
            and ln["ts"][:7] > MONTH and ln["size"] >= end][0]


def expected_sample(m):
    """R5.1 as `sample` draws it with the seed checkpoint's root: from the
    answered queries."""
    seed = base64.b64decode(seed_checkpoint(m)["root"])
    qs = [q for q in queries(m) if q.get("status") == 200]
    k = len(qs) if len(qs) < 10 else max(10, math.ceil(0.03 * len(qs)))
    ranked = sorted(qs, key=lambda ln: (hmac.new(
        seed, ln["request_id"].encode(), hashlib.sha256).digest(),
        ln["seq"]))
    return {ln["request_id"] for ln in ranked[:k]}, seed.hex()


def report(m, *args, out=None):
    args = ("report", "--month", MONTH) + args + (m.dir,)
    res = harness.run_audit_tool(*args)
    return res


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    m = sheetlog.build(n_answered=160, n_refused=50)
    m.dir = m.write(str(tmp_path_factory.mktemp("sheet") / "audit"))
    return m


@pytest.fixture(scope="module")
def sheet(month, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    html = str(out / ("report-%s.html" % MONTH))
    res = report(month, "--verifier", month.verifier, "--output", html)
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    with open(html, encoding="utf-8") as f:
        src = f.read()
    s = Sheet(src)
    s.path = html
    s.csv_path = html[:-len(".html")] + ".csv"
    return s


# -- the HTML -----------------------------------------------------------

def test_sheet_is_one_page_for_a4(sheet):
    s = sheet
    src = s.source
    assert s.errors == [], s.errors[:5]
    assert src.startswith("<!DOCTYPE html>")
    assert re.search(r"@page\s*\{[^}]*size:\s*A4 landscape", src)
    assert "@media print" in src and "table-header-group" in src
    names = {t for t, _ in s.tags}
    assert not names & {"script", "link", "img", "iframe", "object"}
    assert not re.search(r"\b(src|href)\s*=", src)
    assert "url(" not in src and "@import" not in src
    # identifiers and hashes never wrap; rows are one line
    assert re.search(r"\.h,\.id,\.rid[^{]*\{white-space:nowrap\}", src)
    assert re.search(r"table\.rows th,table\.rows td\{white-space:nowrap",
                     src)
    for role in ("Auditor", "Project officer", "Unit head"):
        row = [r for r in s.rows if r and role in r[0]]
        assert row and row[0][1:] == ["", "", ""], (role, row)
    assert ["職稱 Role", "姓名 Name", "日期 Date", "簽名 Signature"] in s.rows


def test_answered_apart_from_refusals(month, sheet):
    qs = queries(month)
    answered = sheet.table("rows", 10)
    refused = sheet.table("rows", 11)
    assert [r[9] for _, r in answered] == \
        [q["request_id"] for q in qs if q["status"] == 200]
    assert [r[10] for _, r in refused] == \
        [q["request_id"] for q in qs if q["status"] != 200]
    for _, r in refused:
        q = [x for x in qs if x["request_id"] == r[10]][0]
        want = "%d %s" % (q["status"], q["error"])
        assert r[9] == want or (r[9].endswith("\u2026[T*]") is False
                                and r[9].startswith(want[:20])), r
    # the summary counts
    assert sheet.row_of("查詢筆數")[1] == str(len(qs))
    assert sheet.row_of("已回覆")[1] == str(len(answered))
    assert sheet.row_of("拒絕 Refused")[1] == str(len(refused))


def test_sample_marked(month, sheet):
    want, seed_hex = expected_sample(month)
    rows = sheet.table("rows", 10) + sheet.table("rows", 11)
    marked = {r[-1] for trc, r in rows if r[0] == "\u2605"}
    assert marked == want
    assert all(trc == "s" for trc, r in rows if r[0] == "\u2605")
    # `sample`, checking the same seed checkpoint, draws the same
    assert "verify-audit sample --month %s --verifier KEY" % MONTH in \
        sheet.text
    assert seed_hex
    res = harness.run_audit_tool("sample", "--json", "--month", MONTH,
                                 "--verifier", month.verifier, month.dir)
    assert res.returncode == 0, res.stderr
    drawn = set()
    for x in res.stdout.splitlines()[1:]:
        o = json.loads(x)
        if o.get("drawn"):
            drawn.add(json.loads(o["line"])["request_id"])
    assert drawn == want
    seed_line = seed_checkpoint(month)
    assert re.search(r"Seed of the sample .*line seq %d, size %d \(month\)"
                     % (seed_line["seq"], seed_line["size"]), sheet.text)


def sample_json(month, *extra):
    res = harness.run_audit_tool("sample", "--json", "--month", MONTH,
                                 "--verifier", month.verifier, *extra,
                                 month.dir)
    assert res.returncode == 0, res.stderr
    return [json.loads(x) for x in res.stdout.splitlines()[1:]]


def csv_rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [r for r in csv.reader(f)][1:]


def test_flags_on_the_sheet(month, sheet):
    """The sheet flags exactly the lines `sample` adds on top of its draw
    (R5.2), with the same reasons: sampled ("flagged" in the CSV where
    the random draw did not take them, a flag mark on the row), listed in
    their own table."""
    lines = sample_json(month)
    flagged = {o["seq"]: o["flags"] for o in lines if o["flags"]}
    assert flagged, "the month must hold flagged lines for this test"
    drawn = {o["seq"] for o in lines if o["drawn"]}
    assert set(flagged) - drawn, "some flagged lines must be undrawn"
    # the table of flags: one row per flag, the same reasons
    rows = [r for c, trc, r in sheet.trows if c == "notes" and len(r) == 3
            and r[0].isdigit()]
    got = {}
    for r in rows:
        got.setdefault(int(r[0]), []).append((r[1], r[2]))
    assert got == {seq: [(f["flag"], f["why"]) for f in fl]
                   for seq, fl in flagged.items()}
    assert re.search(r"Flagged \(R5.2\)\s*%d" % len(flagged), sheet.text)
    # the rows: a flag for the undrawn, the sampled class for all
    qrows = sheet.table("rows", 10) + sheet.table("rows", 11)
    by_seq = {int(r[1]): (trc, r) for trc, r in qrows}
    for seq in flagged:
        trc, r = by_seq[seq]
        assert trc == "s"
        assert r[0] == ("\u2605" if seq in drawn else "\u2691")
    # the CSV: "flagged" in sampled, the reasons in flags
    for r in csv_rows(sheet.csv_path):
        if r[0] not in ("answered", "refused"):
            continue
        seq = int(r[2])
        if seq in flagged:
            assert r[1] == ("yes" if seq in drawn else "flagged")
            for f in flagged[seq]:
                assert f["why"] in r[13]
        else:
            assert r[1] in ("", "yes")


def test_flags_thresholds_follow_sample(month, tmp_path):
    """--flags turns the flags off for the sheet as for the sample; a bad
    thresholds file is a usage error that writes nothing."""
    off = tmp_path / "noflags.conf"
    off.write_text("off_hours = off\nburst_queries = 0\nday_subjects = 0\n"
                   "subject_clients = 0\nnot_found_run = 0\n"
                   "identity_mismatch = off\nreason_share = 0\n"
                   "new_operator = off\n")
    assert not [o for o in sample_json(month, "--flags", str(off))
                if o["flags"]]
    html = tmp_path / "r.html"
    res = report(month, "--verifier", month.verifier, "--flags", str(off),
                 "--output", str(html))
    assert res.returncode == 0, res.stderr
    text = html.read_text(encoding="utf-8")
    assert "No line of the month is flagged" in text
    assert "\u2691" not in text
    assert not [r for r in csv_rows(str(tmp_path / "r.csv"))
                if r[1] == "flagged"]
    bad = tmp_path / "bad.conf"
    bad.write_text("burst_queries = many\n")
    out = tmp_path / "bad.html"
    res = report(month, "--flags", str(bad), "--output", str(out))
    assert res.returncode == 2
    assert "--flags" in res.stderr and "line 1" in res.stderr
    assert not out.exists()


def test_checkpoints_verified(month, sheet):
    text = re.sub(r"\s+", " ", sheet.text)
    newest = [ln for ln in month.lines() if ln["op"] == "checkpoint"][-1]
    assert re.search(r"Newest: line seq %d, size %d \(interval\).*covers "
                     r"every line of the month.*Verified: signed by %s"
                     % (newest["seq"], newest["size"],
                        re.escape("+".join(month.verifier.split("+", 2)[:2]))), text)
    assert text.count("Verified: signed by") == 2
    assert "root of the log's first %d lines as they are now" % \
        newest["size"] in text
    assert "not checked" not in text


def test_without_verifier_says_not_checked(month, tmp_path):
    res = report(month)
    assert res.returncode == 0, res.stderr
    s = Sheet(res.stdout)
    assert "Checkpoints not checked" in s.text
    assert "checkpoints not checked" in s.text
    assert "Verified" not in s.text


def test_wrong_key_fails(month, tmp_path):
    other = sheetlog.Month(seed=1)
    from cryptography.hazmat.primitives.asymmetric import ed25519
    key = ed25519.Ed25519PrivateKey.generate()
    import tlogref
    vkey = tlogref.vkey(sheetlog.ORIGIN, tlogref.raw_public(
        key.public_key()))
    assert vkey != other.verifier or True
    res = report(month, "--verifier", vkey)
    assert res.returncode == 1
    assert "FAILED" in res.stderr
    s = Sheet(res.stdout)
    assert "\u9a57\u8b49\u5931\u6557 FAILED: the signed note does not " \
        "verify" in s.text
    # a file of keys, one of them right, is enough
    keys = tmp_path / "keys"
    keys.write_text("# the Office's register\n%s\n%s\n" % (vkey,
                                                          month.verifier))
    res = report(month, "--verifier", str(keys))
    assert res.returncode == 0, res.stderr


def test_rewritten_log_fails_the_checkpoints(month, tmp_path):
    """www-data rewrites a covered query line and re-hashes the chain:
    the chain is intact again, the signed roots are not."""
    objs = month.lines()
    target = [ln for ln in objs if ln["op"] == "verify"][5]
    target["reason"] = "rewritten"
    m2 = sheetlog.Month()
    for ln in objs:
        body = {k: v for k, v in ln.items()
                if k not in ("seq", "ts", "prev", "hash")}
        m2.add(ln["ts"], sheetlog.members(body))
    m2.dir = m2.write(str(tmp_path / "audit"))
    assert harness.run_audit_tool("verify", m2.dir).returncode == 0
    res = report(m2, "--verifier", month.verifier)
    assert res.returncode == 1, res.stderr
    s = Sheet(res.stdout)
    assert re.search(r"FAILED: the log's first \d+ lines have the root "
                     r"\S+ now: lines it covers were changed", s.text)


def test_open_month_has_no_draw_yet(month, tmp_path):
    m2 = sheetlog.Month()
    for raw in month.raws:
        if json.loads(raw)["ts"][:7] <= MONTH:
            m2.raws.append(raw)
    m2.dir = m2.write(str(tmp_path / "audit"))
    res = report(m2, "--verifier", month.verifier)
    assert res.returncode == 0, res.stderr
    s = Sheet(res.stdout)
    assert "no draw yet" in s.text
    rows = s.table("rows", 10) + s.table("rows", 11)
    assert rows and not [r for _, r in rows if r[0] == "\u2605"]


def test_service_events(month, sheet):
    ev = sheet.table("rows ev", 5)
    listed = {int(r[1]) for _, r in ev}
    for ln in events(month):
        if ln["op"] == "checkpoint" and ln["reason"] == "interval":
            continue
        assert ln["seq"] in listed, ln["op"]
    assert len(ev) == event_rows(month)
    by_op = {r[3]: r for _, r in ev}
    imp = by_op["import"][4]
    assert "signer=CN=Household Registration Office" in imp
    assert "sha256=323fb300\u2026b7f8" in imp
    assert "323fb3" + "0" * 54 + "b7f8" in sheet.text    # in full, below
    assert "what=an op nobody knows" in by_op["frobnicate"][4]
    assert "generation=2" in by_op["start"][4]
    assert "added=newsys" in by_op["register"][4]
    assert "purged_through=2021-09-30" in by_op["purge"][4]
    interval = [r for _, r in ev if "reason=interval \u00d7" in r[4]]
    n = sum(1 for ln in events(month) if ln["op"] == "checkpoint"
            and ln["reason"] == "interval")
    assert len(interval) == 1 and ("\u00d7%d:" % n) in interval[0][4]


def clear_forms(pid):
    return {pid, pid.upper(), pid.lower(), sheetlog.full_width(pid),
            sheetlog.full_width(pid.lower())}


def test_personal_data_masked_and_flagged(month, sheet):
    with open(sheet.csv_path, encoding="utf-8-sig") as f:
        csv_text = f.read()
    for pid in month.planted:
        for form in clear_forms(pid):
            assert form not in sheet.source, mask_id(pid)
            assert form not in csv_text, mask_id(pid)
        assert mask_id(pid) in sheet.text
    for phone in ("0912-345-678", "2345 6789", "2345-6789"):
        assert phone not in sheet.source and phone not in csv_text
    assert "09**-***-***" in sheet.text
    assert "+886 2 **** ****" in sheet.text
    flagged = [r for c, trc, r in sheet.trows if c == "notes"
               and r and r[0].startswith("[P")]
    fields = sorted((r[3], r[4]) for r in flagged)
    assert fields == sorted([
        ("reason", "national ID number"), ("case", "national ID number"),
        ("operator", "national ID number"), ("reason", "phone number"),
        ("reason", "phone number"), ("reason", "national ID number")])
    assert "Possible personal data" in sheet.text
    assert "possible personal data" in sheet.text


def test_long_text_cut_with_the_whole_below(month, sheet):
    long = "中文事由" * 30
    rows = [r for _, r in sheet.table("rows", 10) + sheet.table("rows", 11)
            if r[6].startswith("中文事由中文事由")]
    assert len(rows) == 1 and "\u2026" in rows[0][6] and "[T" in rows[0][6]
    note = [r for c, trc, r in sheet.trows if c == "notes"
            and r and r[0].startswith("[T") and r[4] == long]
    assert len(note) == 1 and note[0][2] == rows[0][-1]


def test_csv_same_rows(month, sheet):
    with open(sheet.csv_path, "rb") as f:
        raw = f.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n")      # RFC 4180: CRLF
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"),
                                       newline="")))
    assert {len(r) for r in rows} == {16}
    head, rows = rows[0], rows[1:]
    assert head == ["section", "sampled", "seq", "ts", "client", "operator",
                    "case", "reason", "checks", "subject", "status",
                    "error", "request_id", "flags", "op", "details"]
    qs = queries(month)
    got = [r for r in rows if r[0] in ("answered", "refused")]
    assert sorted(r[12] for r in got) == sorted(q["request_id"] for q in qs)
    assert [r[12] for r in got if r[0] == "answered"] == \
        [q["request_id"] for q in qs if q["status"] == 200]
    want, _ = expected_sample(month)
    assert {r[12] for r in got if r[1] == "yes"} == want
    ev = [r for r in rows if r[0] == "event"]
    assert len(ev) == event_rows(month)
    by_rid = {r[12]: r for r in got}
    for q in qs:
        r = by_rid[q["request_id"]]
        assert r[3] == q["ts"] and r[2] == str(q["seq"])
        assert r[10] == str(q["status"])
        if q["reason"] == "中文事由" * 30:
            assert r[7] == q["reason"]              # never cut
    # formula injection: such cells start with '
    cells = {c for r in rows for c in r}
    assert "'=2+3" in cells and "'@SUM(A1)" in cells
    assert "'+1 more" in cells and "'-1 refund, \"quoted\"" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert b'"\'-1 refund, ""quoted"""' in raw
    # control and bidi characters escaped as on the sheet
    assert "\x1b" not in raw.decode("utf-8-sig")
    assert "\u202e" not in raw.decode("utf-8-sig")
    flags = [r for r in got if "possible personal data" in r[13]]
    assert len(flags) == 6


def test_csv_beside_stdout_and_usage(month, tmp_path):
    out = str(tmp_path / "rows.csv")
    res = report(month, "--csv", out)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("<!DOCTYPE html>")
    assert os.path.getsize(out) > 1000
    same = str(tmp_path / "x.html")
    res = report(month, "--csv", same, "--output", same)
    assert res.returncode == 2 and "same file" in res.stderr
    res = report(month, "--verifier", "nonsense+1234")
    assert res.returncode == 2 and "--verifier" in res.stderr
    res = report(month, "--output", str(tmp_path / "no" / "such.html"))
    assert res.returncode == 1 and "cannot write" in res.stderr


# -- printed: headless Chromium, read back with poppler ----------------

def print_pdf(html, workdir):
    assert CHROMIUM and PDFTOTEXT and PDFINFO, \
        "chromium and poppler-utils are needed: run `make deps`"
    pdf = os.path.join(workdir, "sheet.pdf")
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "LANG": "C.UTF-8"}
    res = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-software-rasterizer", "--disable-breakpad",
         "--disable-crash-reporter", "--no-first-run",
         "--no-default-browser-check", "--disable-sync",
         "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--mute-audio",
         "--user-data-dir=" + os.path.join(workdir, "profile"),
         "--print-to-pdf=" + pdf, "--no-pdf-header-footer",
         "file://" + html], capture_output=True, text=True, env=env,
        timeout=240)
    assert os.path.exists(pdf), res.stderr[-2000:]
    info = subprocess.run([PDFINFO, pdf], capture_output=True, text=True,
                          check=True).stdout
    text = subprocess.run([PDFTOTEXT, "-layout", "-enc", "UTF-8", pdf, "-"],
                          capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert re.search(r"^Page size:\s+841\.\d+ x 59[45]\.\d+ pts \(A4\)",
                     info, re.M), info
    return pages, text


@pytest.fixture(scope="module")
def printed(sheet, tmp_path_factory):
    return print_pdf(sheet.path, str(tmp_path_factory.mktemp("pdf")))


def test_printed_sheet(month, sheet, printed):
    pages, text = printed
    qs = queries(month)
    nflags = sum(len(o["flags"]) for o in sample_json(month))
    n = len(qs) + event_rows(month) + nflags
    assert pages <= math.ceil(n / 30) + 2, (pages, n)
    lines = text.splitlines()

    def on_one_line(s):
        return any(s in ln for ln in lines)

    # every request_id, mask and hash shown is whole on one line
    for q in qs:
        assert on_one_line(q["request_id"]), q["request_id"]
    shown = set(re.findall(r'<span class="(?:id|h)">([^<]+)</span>',
                           sheet.source))
    shown |= set(re.findall(r'<td class="id">([^<]+)</td>', sheet.source))
    assert len(shown) > 20
    for s in shown:
        assert on_one_line(s.replace("&#39;", "'")), s
    full = re.findall(r'<td class="n h">([^<]+)</td>', sheet.source)
    assert len(full) > 10
    for h in full:
        assert on_one_line(h), h
    # the signature lines
    for role in ("稽核人員 Auditor", "業務承辦人 Project officer",
                 "單位主管 Unit head"):
        assert on_one_line(role), role
    assert re.search(r"職稱 Role\s+姓名 Name\s+日期 Date\s+簽名 Signature",
                     text)
    # a planted ID appears only masked
    for pid in month.planted:
        for form in clear_forms(pid):
            assert form not in text
        assert on_one_line(mask_id(pid))
    assert "Possible personal data" in text
    # numbered pages
    assert "page %d of %d" % (pages, pages) in text


def test_printed_pages_hold_30_rows(month, printed):
    """Every page the query tables fill from top to bottom holds at least
    30 rows (the pages they start and end on may hold fewer)."""
    pages, text = printed
    rids = [q["request_id"] for q in queries(month)]
    # a row of a query table ends in its request_id (notes cite them too)
    per_page = [sum(1 for ln in page.splitlines() for r in rids
                    if ln.rstrip().endswith(r))
                for page in text.split("\f")[:pages]]
    with_rows = [i for i, c in enumerate(per_page) if c]
    inner = with_rows[1:-1]
    assert inner, per_page
    for i in inner:
        assert per_page[i] >= 30, per_page
    assert sum(per_page) == len(rids)


# -- on a real server's log -------------------------------------------

def test_real_server_sheet(make_server, tmp_path):
    """A real httpd with signed checkpoints: its sheet verifies the
    newest checkpoint; an ID typed into a reason was refused by the
    module and shows only masked."""
    s = make_server(checkpoints=True)
    gen = harness.People("test_187")
    s.people = gen.batch(6)
    s.import_household(s.people)
    s.start()
    planted = gen.person("citizen").id
    s.add_secret(planted)
    rids = []
    for i, p in enumerate(s.people):
        r = s.post(fields_for(p, case="S187-%d" % i))
        assert r.status == 200
        rids.append(r.json["request_id"])
    r = s.post(fields_for(s.people[0], case="S187-id",
                          reason="ID %s typed here" % planted))
    assert r.status == 400 and r.json["error"] == "invalid_field"
    rids.append(r.json["request_id"])
    s.stop()
    lines = harness.read_audit(s.audit)
    month = lines[-1]["ts"][:7]
    out = str(tmp_path / "r.html")
    res = harness.run_audit_tool("report", "--month", month, "--verifier",
                                 s.verifier, "--output", out, s.audit)
    assert res.returncode == 0, res.stderr
    src = open(out, encoding="utf-8").read()
    sheet = Sheet(src)
    text = re.sub(r"\s+", " ", sheet.text)
    assert "Verified: signed by %s" % s.origin in text
    assert "covers every line of the month" in text
    refused = sheet.table("rows", 11)
    assert [r[10] for _, r in refused] == rids[-1:]
    assert refused[0][1][6] == "ID %s typed here" % mask_id(planted)
    assert [r[9] for _, r in sheet.table("rows", 10)] == rids[:-1]
    csv_text = open(out[:-5] + ".csv", encoding="utf-8-sig").read()
    for form in clear_forms(planted):
        assert form not in src and form not in csv_text
    assert sheet.table("rows ev", 5)         # start, checkpoints


def test_hostile_service_lines(tmp_path):
    """Whoever can write the files writes any op, any member: shown
    escaped; a checkpoint line with a forged note fails the check."""
    m = sheetlog.Month()
    m.add(sheetlog.ts(2, 1), sheetlog.query(m.rid()))
    m.add(sheetlog.ts(2, 2), sheetlog.members({
        "op": "<script>x</script>", "<b>k</b>": "\x1b[2J\u202egnp.exe",
        "root": "not a hash", "n": [1, {"a": None}]}))
    m.add(sheetlog.ts(2, 3), sheetlog.members({
        "op": "checkpoint", "origin": sheetlog.ORIGIN, "size": 2,
        "root": base64.b64encode(b"\0" * 32).decode(), "reason": "stop",
        "note": "forged\n\n\u2014 x AAAA\n"}))
    m.dir = m.write(str(tmp_path / "audit"))
    res = report(m, "--verifier", m.verifier)
    assert res.returncode == 1, res.stderr
    src = res.stdout
    assert "<script>" not in src and "<b>k</b>" not in src
    assert "\x1b" not in src and "\u202e" not in src
    assert "&lt;script&gt;x&lt;/script&gt;" in src
    assert "\\u001b[2J\\u202egnp.exe" in src
    s = Sheet(src)
    assert s.errors == []
    assert re.search(r"FAILED: the signed note does not verify", s.text)
    ev = s.table("rows ev", 5)
    assert len(ev) == 2


def test_large_month_lists_its_sample(tmp_path):
    """A month of more than 10,000 queries (a national platform's) lists
    its sample, drawn and flagged, on the sheet and in the CSV; the counts
    still cover every query, and --all lists every one."""
    out = tmp_path / "audit"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run(["python3", os.path.join(root, "scripts", "gen-audit.py"),
                    "--month", MONTH, "--lines", "10400", "--out",
                    str(out)], check=True, capture_output=True)
    verifier = str(out / "verifier")
    lines = []
    for name in sorted(glob.glob(str(out / "audit-*.jsonl"))):
        with open(name, encoding="utf-8") as f:
            lines += [json.loads(x) for x in f]
    qs = {x["seq"]: x for x in lines
          if x["op"] == "verify" and x["ts"][:7] == MONTH}
    assert len(qs) > 10000

    def run(*extra):
        html = tmp_path / ("r%d.html" % len(extra))
        res = harness.run_audit_tool("report", "--month", MONTH,
                                     "--verifier", verifier, *extra,
                                     "--output", str(html), str(out))
        assert res.returncode == 0, res.stderr
        listed = {int(r[2]) for r in csv_rows(str(html)[:-5] + ".csv")
                  if r[0] in ("answered", "refused")}
        return html.read_text(encoding="utf-8"), listed

    text, listed = run()
    assert "more than a sheet lists (10000)" in text
    assert re.search(r"Queries</th><td class=\"num\">%d<" % len(qs), text)
    res = harness.run_audit_tool("sample", "--json", "--month", MONTH,
                                 "--verifier", verifier, str(out))
    assert res.returncode == 0, res.stderr
    picked = [json.loads(x) for x in res.stdout.splitlines()[1:]]
    assert any(o["flags"] and not o["drawn"] for o in picked)
    assert listed == {o["seq"] for o in picked}
    sheet = Sheet(text)
    rows = sheet.table("rows", 10) + sheet.table("rows", 11)
    assert {int(r[1]) for trc, r in rows} == listed
    text, every = run("--all")
    assert every == set(qs)
    assert "more than a sheet lists" not in text
