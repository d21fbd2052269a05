"""A synthetic month of audit lines for the sheet's tests (t/test_187):
queries answered and refused, text with planted ID and phone numbers,
long and odd text, every kind of service line, and checkpoint lines whose
notes are really signed (Ed25519, t/tlogref.py), among them the first one
made after the month ended: the seed of the sample."""

import base64
import json
import os
import random

from cryptography.hazmat.primitives.asymmetric import ed25519

import harness
import tlogref

MONTH = "2026-10"
ORIGIN = "sheet.example/verify-audit"
FULL_WIDTH = {c: chr(ord(c) + 0xfee0) for c in
              "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}

ERRORS = [(400, "invalid_id"), (403, "check_not_permitted"),
          (403, "unknown_client"), (400, "missing_field"),
          (415, "unsupported_media_type"), (429, "rate_limited")]


def ts(day, i, month=MONTH):
    return "%s-%02dT%02d:%02d:%02d.%06d+08:00" % (
        month, day, 8 + (i // 3600) % 10, (i // 60) % 60, i % 60, i)


def query(rid, status=200, client="testsys", operator="clerk01",
          case="C-1", reason="eligibility", checks=("resident",),
          subject="A12*****89"):
    body = {"request_id": rid, "client": client, "operator": operator,
            "ip": "127.0.0.1", "op": "verify", "method": "POST",
            "checks": list(checks), "subject": subject,
            "subject_tag": "ab" * 32, "case": case, "reason": reason,
            "match_fields": [], "status": status}
    if status == 200:
        body["results"] = {c: True for c in checks}
        body["as_of"] = {"household": "2026-09-30T02:00:00+08:00"}
    else:
        body["error"] = dict(ERRORS).get(status, "invalid_field") \
            if status != 403 else "check_not_permitted"
        body["as_of"] = None
    return members(body)


def members(obj):
    return "," + json.dumps(obj, ensure_ascii=False,
                            separators=(",", ":"))[1:-1]


class Month:
    """Builds the log line by line; write() puts it in day files."""

    def __init__(self, seed=187):
        self.rng = random.Random(seed)
        self.key = ed25519.Ed25519PrivateKey.from_private_bytes(
            bytes(range(32)))
        self.verifier = tlogref.vkey(ORIGIN,
                                     tlogref.raw_public(self.key.public_key()))
        self.entries = []       # (ts, body or callable(raws) -> body)
        self.raws, self.prev = [], harness.ZERO_HASH
        self.people = harness.People("sheetlog")
        self.planted = []       # clear IDs typed into free text

    def add(self, when, body):
        line, self.prev = harness.seal_line(len(self.raws) + 1, when, body,
                                            self.prev)
        self.raws.append(line)
        return len(self.raws)

    def checkpoint(self, when, reason, made=None, key=None, size=None):
        """A checkpoint line of every line so far, signed."""
        n = len(self.raws) if size is None else size
        root = tlogref.Tree(self.raws).root(n)
        made = made or when[:19] + "+08:00"
        text = tlogref.checkpoint_text(ORIGIN, n, root, ["time " + made])
        note = tlogref.sign_note(text, ORIGIN, key or self.key)
        return self.add(when, members({
            "op": "checkpoint", "origin": ORIGIN, "size": n,
            "root": base64.b64encode(root).decode(), "reason": reason,
            "note": note}))

    def rid(self):
        return "%024x" % self.rng.getrandbits(96)

    def write(self, d):
        os.makedirs(d, exist_ok=True)
        files = {}
        for raw in self.raws:
            day = json.loads(raw)["ts"][:10]
            files.setdefault(day, []).append(raw)
        for day, lines in files.items():
            with open(os.path.join(d, "audit-%s.jsonl" % day), "wb") as f:
                f.write(b"".join(x + b"\n" for x in lines))
        return d

    def lines(self):
        return [json.loads(r) for r in self.raws]


def full_width(s):
    return "".join(FULL_WIDTH.get(c, c) for c in s)


def build(n_answered=80, n_refused=25, long_texts=True, seed=187):
    """The month: returns the Month (m.raws, m.planted, m.verifier)."""
    m = Month(seed)
    m.add(ts(30, 1, "2026-09"), members({"op": "start", "pid": 100,
                                         "generation": 1,
                                         "server": "Apache/2.4.66"}))
    m.checkpoint(ts(30, 2, "2026-09"), "start")
    m.add(ts(30, 3, "2026-09"), query(m.rid()))
    # the month's service lines
    m.add(ts(1, 10), members({"op": "start", "pid": 200, "generation": 2,
                              "server": "Apache/2.4.66 (Debian)"}))
    m.checkpoint(ts(1, 11), "start")
    m.add(ts(1, 12), members({
        "op": "import", "result": "accepted", "source": "household",
        "batch_id": "b93733c1c168b8698f359442d8851a30", "records": 1234,
        "sha256": "323fb3" + "0" * 54 + "b7f8",
        "imported_at": "2026-10-01T02:00:00+08:00",
        "approved_until": "2027-06-30",
        "signer": "CN=Household Registration Office,O=MOI,C=TW",
        "input": "destroyed", "user": "admin1"}))
    m.add(ts(1, 13), members({
        "op": "register", "digest": "9" * 64, "previous": "8" * 64,
        "clients": 3, "added": ["newsys"], "removed": [],
        "changed": ["testsys"]}))
    pids = [m.people.person("citizen").id, m.people.person("resident").id]
    m.planted = list(pids)
    texts = [
        ("reason", "查詢身分證 %s 資格" % pids[0]),
        ("case", "C-%s" % pids[1].lower()),
        ("operator", "op%s" % pids[0]),
        ("reason", "申請人電話 0912-345-678 請回電"),
        ("reason", "contact +886 2 2345 6789 or (02)2345-6789"),
        ("reason", "全形 %s" % full_width(pids[1])),
    ]
    if long_texts:
        texts += [("reason", "中文事由" * 30),
                  ("reason", "a very long reason " * 9),
                  ("case", "CASE-" + "9" * 40)]
    day, i = 2, 100
    for k in range(n_answered + n_refused):
        total = n_answered + n_refused
        refused = (k * n_refused) // total != ((k + 1) * n_refused) // total
        kw = {"operator": "clerk%02d" % (k % 7),
              "case": "A187-%03d" % k, "reason": "社會救助資格審查",
              "client": ["testsys", "narrow", "welfare"][k % 3]}
        if k < len(texts) * 3 and k % 3 == 1:
            field, text = texts[k // 3]
            kw[field] = text
        if k == 40:
            kw["reason"] = 'check <script>&"\' ok'
        if k == 41:
            kw["reason"] = "esc \x1b[31mred rtl \u202eevil"
        if k == 43:
            kw["operator"] = "=2+3"
        if k == 44:
            kw["reason"] = "-1 refund, \"quoted\""
        if k == 45:
            kw["case"] = "@SUM(A1)"
        if k == 46:
            kw["reason"] = "+1 more"
        if k == 42:
            kw["checks"] = ("resident", "indigenous", "elderly_alone",
                            "disability")
        status = 200
        if refused:
            status = ERRORS[k % len(ERRORS)][0]
        m.add(ts(day, i), query(m.rid(), status=status, **kw))
        i += 37
        if k % 9 == 8:
            m.checkpoint(ts(day, i), "interval")
            i += 1
        if k % 20 == 19:
            m.checkpoint(ts(day, i), "day")
            day += 1
            i = 100
    m.add(ts(20, 5), members({
        "op": "purge", "result": "purged", "before": "2021-10-01",
        "purged_through": "2021-09-30", "files": 30, "last_seq": 99,
        "last_hash": "7" * 64, "checkpoint": "purged-through-2021-09-30.json",
        "user": "auditor"}))
    m.add(ts(20, 6), members({"op": "spool_refused",
                              "fault": "not an event file",
                              "kept_as": "refused-1.json"}))
    m.add(ts(20, 7), members({"op": "frobnicate", "what": "an op nobody "
                              "knows", "n": 3}))
    m.add(ts(21, 8), members({"op": "audit_recover", "pid": 2125,
                              "detail": "writer died inside the chain step:"
                              " pid 2124"}))
    m.checkpoint(ts(31, 100), "interval")
    # November: the month checkpoint (the seed), then more
    m.checkpoint("2026-11-01T00:00:04.000000+08:00", "month")
    m.add("2026-11-01T08:00:00.000000+08:00", query(m.rid()))
    m.checkpoint("2026-11-01T08:00:01.000000+08:00", "interval")
    return m
