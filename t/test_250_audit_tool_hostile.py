"""verify-audit trusts no log (issue 6, item 9): the audit files and
their names are written by whoever can write the audit directory
(www-data), so the auditor's tool reads them as hostile input.

- A line it cannot read (too long, a NUL byte, invalid UTF-8, a raw
  control character, not a JSON object) is an error naming file, line
  and reason, with a non-zero exit status: never the end of the file.
- Every piece of log text or file name it prints has control characters
  (C0, DEL, C1), the bidi controls and U+2028/U+2029 escaped, so a log
  cannot paint a fake "OK" on the auditor's terminal; the HTML report
  escapes them and the markup.
- It reads only files named exactly audit-YYYY-MM-DD.jsonl (a real
  date), from a directory or named on the command line.

The logs here are synthetic, sealed as the module seals (an attacker
with write access recomputes the hashes, so the chain alone does not
stop any of this)."""

import datetime
import hashlib
import json
import os
import re
import resource
import subprocess

import pytest

import harness
from harness.signed import VERIFIER

ID = "A123456789"

# Characters no output of the tool may carry raw.
UNSAFE_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                       "\u2028-\u202e\u2066-\u2069]")

# A payload that would repaint the line as a green "OK" and hide what
# follows (ESC [ 8 m: conceal; OSC sets the title; CSI as C1; RLO).
FAKE_OK = ("\r\x1b[2K\x1b[32mOK: 9 lines in 1 file(s), seq 1..9, chain "
           "intact\x1b[0m\x1b[8m\x1b]0;ok\x07\u009b2J\b\b\u202e\u2066"
           "\u2028\u2029\u061c\u200e\x7f\x85")


def day_and_month():
    """A day a few days back (Taipei), so --months 1 covers it."""
    d = datetime.datetime.now(harness.TAIPEI).date() - \
        datetime.timedelta(days=3)
    return d.isoformat(), d.isoformat()[:7]


DAY, MONTH = day_and_month()
FILE = "audit-%s.jsonl" % DAY


def ts(i):
    return "%sT10:00:%02d.%06d+08:00" % (DAY, i % 60, i)


def query(rid, tag="ab" * 32, **kw):
    body = {"request_id": rid, "client": "testsys", "operator": "op1",
            "ip": "127.0.0.1", "op": "verify", "method": "POST",
            "checks": ["resident"], "subject": "A12*****89",
            "subject_tag": tag, "case": "C-1", "reason": "eligibility",
            "match_fields": [], "status": 200,
            "results": {"resident": True}, "as_of": {}}
    body.update(kw)
    return body


def members(body, ascii_only=False):
    """The members after ts, as the line holds them (bytes): C0 and DEL
    escaped, as the module writes them; other characters raw unless
    @ascii_only."""
    text = json.dumps(body, ensure_ascii=ascii_only, separators=(",", ":"))
    return ("," + text[1:-1].replace("\x7f", "\\u007f")).encode()


def seal(seq, t, body, prev):
    """A sealed line (bytes, no newline) and its hash: body is the raw
    bytes of the members after ts, starting with ','."""
    covered = b'{"seq":%d,"ts":"%s"' % (seq, t.encode()) + body + \
        b',"prev":"%s"' % prev.encode()
    h = hashlib.sha256(covered).hexdigest()
    return covered + b',"hash":"%s"}' % h.encode(), h


def sealed_log(bodies):
    """Lines sealed in a chain from seq 1 (bodies are bytes)."""
    prev, out = harness.ZERO_HASH, []
    for i, b in enumerate(bodies, 1):
        line, prev = seal(i, ts(i), b, prev)
        out.append(line)
    return out


def write(d, lines, name=FILE, tail=b"\n"):
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + tail)
    return path


def run(*args, limit_as=None, timeout=60):
    """verify-audit with its output as bytes."""
    pre = None
    if limit_as:
        def pre():
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    return subprocess.run([harness.VERIFY_AUDIT] + list(args),
                          capture_output=True, env=harness.CLEAN_ENV,
                          timeout=timeout, preexec_fn=pre)


def text(res):
    return (res.stdout + res.stderr).decode("utf-8", "replace")


def assert_safe(res, what):
    out = text(res)
    bad = sorted(set(UNSAFE_RE.findall(out)))
    assert not bad, "%s printed raw %r:\n%s" % (what, bad, out[:3000])
    # no fake verdict at the start of a line but the real one
    return out


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return harness.make_key_file(
        str(tmp_path_factory.mktemp("k250") / "pseudonym.key"))


def commands(key):
    """Every command that reads audit files, with its options."""
    return [
        ("verify",),
        ("sample", "--month", MONTH, "--preview", "--verifier", VERIFIER),
        ("sample", "--json", "--month", MONTH, "--preview", "--verifier",
         VERIFIER),
        ("report", "--month", MONTH),
        ("subject", "--id", ID, "--key", key),
        ("subject", "--json", "--id", ID, "--key", key),
        ("roster",),
        ("ip-review", "--months", "1"),
    ]


# -- lines it cannot read ---------------------------------------------------

def good_lines(n=5):
    return sealed_log([members(query("%024x" % i)) for i in range(1, n + 1)])


def test_overlong_line_in_the_middle_is_an_error(tmp_path, key):
    lines = good_lines()
    d = str(tmp_path / "a")
    write(d, lines[:2] + [b"x" * (1 << 20)] + lines[2:])
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = text(res)
        assert res.returncode == 1, (cmd, out)
        assert "%s:3: BROKEN: line longer than 4096 bytes" % FILE in out, \
            (cmd, out)
        assert not re.search(r"^OK", res.stdout.decode(), re.M), cmd


def test_overlong_last_line_is_too_long_not_incomplete(tmp_path, key):
    """A last line over the limit (no newline) is a line too long, not
    one being written (which the guide says to run again for)."""
    d = str(tmp_path / "a")
    write(d, good_lines() + [b"y" * (1 << 20)], tail=b"")
    res = run("verify", d)
    assert res.returncode == 1
    assert "%s:6: BROKEN: line longer than 4096 bytes" % FILE in text(res)


def test_line_larger_than_memory_is_not_the_end(tmp_path):
    """A line larger than the memory the tool may take: the old reader
    grew its buffer to the line, failed, and took that as the end of
    the file ("OK: 2 lines"). A 512 MB hole (a sparse file of NUL bytes
    without a newline) under a 256 MB address space limit."""
    lines = good_lines()
    d = str(tmp_path / "a")
    path = write(d, lines[:2])
    with open(path, "r+b") as f:
        f.seek(512 << 20, os.SEEK_END)
        f.write(b"\n" + b"\n".join(lines[2:]) + b"\n")
    res = run("verify", d, limit_as=256 << 20, timeout=120)
    out = text(res)
    assert res.returncode == 1, out
    assert "%s:3: BROKEN: line longer than 4096 bytes" % FILE in out, out
    assert not re.search(r"^OK", out, re.M), out


@pytest.mark.parametrize("raw, why", [
    (b"\x00", "NUL byte at byte 1"),
    (b'{"seq":3,\x00}', "NUL byte at byte 10"),
])
def test_nul_byte_is_an_error(tmp_path, key, raw, why):
    lines = good_lines()
    d = str(tmp_path / "a")
    write(d, lines[:2] + [raw] + lines[2:])
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 1, (cmd, out)
        assert "%s:3: BROKEN: %s" % (FILE, why) in out, (cmd, out)


# A sealed line 3 (hash right: the writer of the files can seal) holding
# what no audit line holds, and the reason the tool must give.
SEALED_FAULTS = [
    ("nul", b',"op":"verify","case":"a\x00b"', "NUL byte at byte"),
    ("utf8", b',"op":"verify","case":"\xff\xfe"', "invalid UTF-8 at byte"),
    ("surrogate", b',"op":"verify","case":"\xed\xa0\x80"',
     "invalid UTF-8 at byte"),
    ("esc", b',"op":"verify","case":"\x1b[32mOK"',
     "raw control character 0x1b at byte"),
    ("cr", b',"op":"verify","case":"x\rOK"',
     "raw control character 0x0d at byte"),
    ("del", b',"op":"verify","case":"\x7f"',
     "raw control character 0x7f at byte"),
    ("json", b',"op":"verify","case":}', "not a JSON object"),
    ("repeat", b',"op":"verify","op":"verify"', "not a JSON object"),
]


@pytest.mark.parametrize("name, body, why", SEALED_FAULTS,
                         ids=[f[0] for f in SEALED_FAULTS])
def test_sealed_line_it_cannot_read_is_an_error(tmp_path, key, name, body,
                                                why):
    bodies = [members(query("%024x" % i)) for i in range(1, 6)]
    bodies[2] = body
    d = str(tmp_path / "a")
    write(d, sealed_log(bodies))
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 1, (cmd, out)
        assert re.search(r"%s:3: BROKEN( at seq 3)?: %s" % (
            re.escape(FILE), re.escape(why)), out), (cmd, out)


# -- untrusted text on the terminal -----------------------------------------

def hostile_log(d, key, broken=False):
    """Every member a command shows carries the payload; the directory
    name too. With @broken, line 5 is altered after sealing."""
    tag = harness.subject_tag(key, ID)
    bodies = [
        query("%024x" % 1, tag=tag, client="sys" + FAKE_OK,
              operator=FAKE_OK, case=FAKE_OK[:60], reason=FAKE_OK,
              checks=["resident", FAKE_OK], ip="10.0.0.1" + FAKE_OK),
        {"op": "audit_recover", "pid": 1, "detail": FAKE_OK},
        query(FAKE_OK, tag=tag, status=403, error=FAKE_OK,
              subject=FAKE_OK),
        {"op": FAKE_OK, "pid": 1, "subject_tag": tag},
        query("%024x" % 5, tag=tag, reason="plain"),
        query("%024x" % 6, tag=tag),
    ]
    # raw C1 and bidi characters as the module writes them today, and
    # escaped as \u001b: both must reach the terminal escaped
    lines = sealed_log([members(b, ascii_only=(i % 2 == 1))
                        for i, b in enumerate(bodies)])
    if broken:
        lines[4] = lines[4].replace(b'"plain"', b'"plaiN"')
    write(d, lines)
    return d


def test_log_text_is_escaped_by_every_command(tmp_path, key):
    d = hostile_log(str(tmp_path / ("copy" + FAKE_OK)), key)
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 0, (cmd, out)
        if cmd[0] != "report":
            assert "\\u001b[2K" in out, (cmd, out)
    # verify names the recovery note, its detail shown escaped
    res = run("verify", d)
    out = res.stdout.decode()
    assert "a writer died inside the chain step (\\u000d\\u001b[2K" in out
    assert [ln for ln in out.splitlines() if ln.startswith("OK")] == \
        [out.splitlines()[-1]]


def test_json_output_stays_the_same_json(tmp_path, key):
    """--json prints the lines with what a terminal acts on written as
    \\uXXXX: the same JSON values; a plain line is printed as it is."""
    d = hostile_log(str(tmp_path / "a"), key)
    by_seq = {json.loads(ln)["seq"]: ln
              for ln in open(os.path.join(d, FILE), "rb").read().split(
                  b"\n") if ln}
    for cmd in (("sample", "--json", "--month", MONTH, "--preview",
                 "--verifier", VERIFIER),
                ("subject", "--json", "--id", ID, "--key", key)):
        res = run(*(cmd + (d,)))
        assert res.returncode == 0, text(res)
        assert_safe(res, cmd)
        # stdout alone: stderr may carry warnings (the whitelist review's
        # age, R3.8)
        out = res.stdout.decode().splitlines()
        # sample wraps each line: {"seq":…,…,"line":"<the line>"}
        lines = [json.loads(ln)["line"] if cmd[0] == "sample" else ln
                 for ln in out[1:]]
        for ln in lines:
            obj = json.loads(ln)
            assert obj == json.loads(by_seq[obj["seq"]]), ln
            if cmd[0] == "sample":
                assert ln.encode() == by_seq[obj["seq"]], "byte for byte"
        plain = [ln for ln in lines if json.loads(ln)["seq"] == 6]
        assert plain == [by_seq[6].decode()], cmd


def test_report_escapes_for_html_and_terminal(tmp_path, key):
    d = hostile_log(str(tmp_path / ("r<b>" + FAKE_OK)), key, broken=True)
    res = run("report", "--month", MONTH, d)
    out = assert_safe(res, "report")
    assert res.returncode == 1
    page = res.stdout.decode()
    assert "<b>" not in page and "r&lt;b&gt;" in page
    assert "\\u001b[2K" in page and "\\u202e" in page
    assert "BROKEN" in res.stderr.decode()


def test_fake_ok_cannot_be_painted(tmp_path, key):
    """A broken chain whose log text tries to repaint the verdict: the
    payload shows escaped, the verdict stays BROKEN and no line of the
    output starts with OK."""
    d = hostile_log(str(tmp_path / ("x" + FAKE_OK)), key, broken=True)
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 1, (cmd, out)
        assert "BROKEN" in out, (cmd, out)
        assert not [ln for ln in out.splitlines() if ln.startswith("OK")]
    res = run("verify", d)
    assert ":5: BROKEN at seq 5: hash does not match" in res.stdout.decode()


# -- file names -----------------------------------------------------------

def test_directory_yields_only_exact_names(tmp_path, key):
    """A directory gives only audit-YYYY-MM-DD.jsonl files with a real
    date; planted names (with escapes, near misses) are not read and
    never printed."""
    d = str(tmp_path / "a")
    write(d, good_lines())
    bad = sealed_log([members(query("%024x" % 99))])
    for name in (FILE + FAKE_OK, "audit-" + FAKE_OK + ".jsonl",
                 "audit-2026-02-30.jsonl", "audit-x.jsonl",
                 FILE + ".bak", "audit-%s.JSONL" % DAY):
        write(d, bad, name=name)
    for cmd in commands(key):
        res = run(*(cmd + (d,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 0, (cmd, out)
    res = run("verify", d)
    assert "OK: 5 lines in 1 file(s)" in res.stdout.decode()


@pytest.mark.parametrize("name", [
    "audit-\x1b[32mOK\x1b[0m.jsonl",
    FILE + "\r\x1b[2KOK: 5 lines in 1 file(s), chain intact",
    "audit-2026-02-30.jsonl",
    FILE + ".bak",
    "notes.jsonl",
])
def test_named_file_must_be_an_audit_file_name(tmp_path, key, name):
    """A file named on the command line is read only with an exact audit
    file name; otherwise a clear error, its name escaped."""
    d = str(tmp_path / "a")
    path = write(d, good_lines(), name=name)
    for cmd in commands(key):
        res = run(*(cmd + (path,)))
        out = assert_safe(res, cmd)
        assert res.returncode == 1, (cmd, out)
        assert "not read: an audit file is named audit-YYYY-MM-DD.jsonl" \
            in out, (cmd, out)
        assert not [ln for ln in out.splitlines() if ln.startswith("OK")]


def test_named_fifo_is_refused_not_waited_on(tmp_path):
    d = str(tmp_path / "a")
    os.makedirs(d)
    fifo = os.path.join(d, FILE)
    os.mkfifo(fifo)
    res = run("verify", fifo, timeout=20)
    assert res.returncode == 1
    assert "not a regular file" in text(res)


def test_purge_prints_no_raw_control_characters(tmp_path):
    """purge names its directory and its --before in every message: a name
    with an escape sequence is refused and shown escaped, never raw."""
    d = tmp_path / "x\x1b[32mOK"
    d.mkdir()
    res = harness.run_audit_tool("purge", "--before", "2001-01-01", str(d))
    assert res.returncode == 1
    assert "\x1b" not in res.stdout + res.stderr
    assert "\\u001b[32mOK" in res.stderr and "nothing was deleted" in \
        res.stderr
    res = harness.run_audit_tool("purge", "--before", "a\x1b[2J",
                                 str(tmp_path))
    assert res.returncode == 2 and "\x1b" not in res.stderr
    assert "\\u001b[2J" in res.stderr
