"""An oracle for the audit files, independent of the C code: reading
them line by line, checking the hash chain and the per-line format, and
sealing synthetic lines the way the module does."""

import hashlib
import json
import os
import re

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+08:00$")
AS_OF_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")
TAIL_RE = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')
AUDIT_NAME_RE = re.compile(r"^audit-(\d{4}-\d\d-\d\d)\.jsonl$")
ZERO_HASH = "0" * 64
# written as \uXXXX: they reorder what a terminal or an editor shows
RAW_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
               "\u2066\u2067\u2068\u2069")


class AuditLine:
    def __init__(self, fname, lineno, raw, obj):
        self.file = fname      # base name
        self.lineno = lineno   # 1-based within the file
        self.raw = raw         # bytes, without the newline
        self.obj = obj         # parsed JSON (None when unparsable)

    def get(self, k, default=None):
        return self.obj.get(k, default) if self.obj else default

    def __getitem__(self, k):
        return self.obj[k]

    def __repr__(self):
        return "<%s:%d %s>" % (self.file, self.lineno,
                               self.raw[:200].decode("utf-8", "replace"))


def audit_files(audit_dir):
    return sorted(f for f in os.listdir(audit_dir) if AUDIT_NAME_RE.match(f))


def read_audit(audit_dir):
    """Every line of every audit file, in chain order."""
    out = []
    for fname in audit_files(audit_dir):
        data = open(os.path.join(audit_dir, fname), "rb").read()
        if data and not data.endswith(b"\n"):
            data += b"\n"   # keep a trailing fragment visible to checks
        for i, raw in enumerate(data.split(b"\n")[:-1], 1):
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                obj = None
            out.append(AuditLine(fname, i, raw, obj))
    return out


def chain_problems(lines):
    """Independent check of the hash chain; returns a list of problems."""
    problems = []
    prev_hash, prev_seq, prev_ts = ZERO_HASH, 0, None
    for ln in lines:
        where = "%s:%d" % (ln.file, ln.lineno)
        if ln.obj is None or not isinstance(ln.obj, dict):
            problems.append("%s: not a JSON object" % where)
            continue
        m = TAIL_RE.search(ln.raw)
        if not m or len(ln.raw) < 76:
            problems.append("%s: does not end in a hash member" % where)
            continue
        covered = ln.raw[:-75]
        if not covered.endswith(b'"') or b'"prev":"' not in covered[-74:]:
            problems.append("%s: prev is not the member before hash" % where)
        if hashlib.sha256(covered).hexdigest() != m.group(1).decode():
            problems.append("%s: hash does not cover the line" % where)
        if ln.obj.get("hash") != m.group(1).decode():
            problems.append("%s: parsed hash differs from tail" % where)
        if ln.obj.get("prev") != prev_hash:
            problems.append("%s: prev %r is not previous hash %r" %
                            (where, ln.obj.get("prev"), prev_hash))
        if ln.obj.get("seq") != prev_seq + 1:
            problems.append("%s: seq %r after %r" %
                            (where, ln.obj.get("seq"), prev_seq))
        if not raw_startswith_seq(ln.raw):
            problems.append("%s: line does not start with {\"seq\":" % where)
        ts = ln.obj.get("ts")
        if isinstance(ts, str) and prev_ts and ts < prev_ts:
            problems.append("%s: ts %s before the previous line's %s" %
                            (where, ts, prev_ts))
        prev_ts = ts if isinstance(ts, str) else prev_ts
        prev_hash = ln.obj.get("hash")
        prev_seq = ln.obj.get("seq") if isinstance(ln.obj.get("seq"), int) \
            else prev_seq + 1
    return problems


def seal_line(seq, ts, body, prev):
    """A sealed line as verify_audit_seal() writes it (for synthetic
    logs): body holds the members after ts, starting with ','."""
    covered = ('{"seq":%d,"ts":"%s"%s,"prev":"%s"' % (seq, ts, body, prev)
               ).encode()
    h = hashlib.sha256(covered).hexdigest()
    return covered + (',"hash":"%s"}' % h).encode(), h


def raw_startswith_seq(raw):
    return raw.startswith(b'{"seq":')


def line_format_problems(lines):
    """Per-line rules of SPEC section 4 that do not depend on the chain."""
    problems = []
    for ln in lines:
        where = "%s:%d" % (ln.file, ln.lineno)
        if len(ln.raw) + 1 >= 4096:
            problems.append("%s: %d bytes" % (where, len(ln.raw) + 1))
        try:
            text = ln.raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("%s: not UTF-8" % where)
            continue
        if any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in text):
            problems.append("%s: raw control character" % where)
        if text.splitlines() != [text] or any(c in RAW_BIDI for c in text):
            problems.append("%s: raw line separator or bidi control" % where)
        if ln.obj is None:
            continue
        ts = ln.obj.get("ts")
        if not isinstance(ts, str) or not TS_RE.match(ts):
            problems.append("%s: bad ts %r" % (where, ts))
        else:
            day = AUDIT_NAME_RE.match(ln.file).group(1)
            if ts[:10] != day:
                problems.append("%s: ts %s in file of %s" % (where, ts, day))
        if not isinstance(ln.obj.get("op"), str):
            problems.append("%s: no op" % where)
    return problems
