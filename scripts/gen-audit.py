#!/usr/bin/env python3
"""Synthetic audit log of one Taipei month, with signed checkpoints, for
benchmarks of the auditor's commands (scripts/bench-audit.sh).

Writes audit-YYYY-MM-DD.jsonl day files into OUT: a `start` line, then
--lines query lines in the office hours of the month's working days
(0.5 % outside them; mostly answered, some not_found, invalid_id and
unknown_client refusals; each person mostly asked about by one of 8
client systems, by one of --operators clerks), and about every
--interval seconds of log time a signed "checkpoint" line as the httpd
parent writes it (C2SP tlog-checkpoint in a C2SP signed note, Ed25519,
the root that of RFC 6962's tree over the lines before it). In the
first seconds of the next month comes the "month" checkpoint that is
the seed of the month's sample, and a few lines more. The verifier key
goes to OUT/verifier (the checkpoint key itself is thrown away).

    gen-audit.py --month 2026-10 --lines 1000000 --out /tmp/audit

--node NAME writes one node's log of several (VerifyNodeId NAME: "node"
after ts in every line, the origin ORIGIN/NAME), for the month of several
nodes (docs/scaling.md section 5).

Lines are sealed as the module seals them (seal_line in
t/harness/audit.py) and the notes made by t/tlogref.py, so the log is
what a real server would have written, only faster. Needs
python3-cryptography (a test dependency already).
"""

import argparse
import base64
import datetime
import hashlib
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "t"))

import tlogref  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

ORIGIN = "county.example/verify-audit"
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))
ZERO = "0" * 64
REASONS = ["低收入戶資格審查", "敬老津貼資格審查", "身心障礙補助審核",
           "eligibility check", "原住民族學生補助"]


class Edge:
    """The right edge of an RFC 6962 tree, leaf by leaf."""

    def __init__(self):
        self.size, self.stack = 0, []

    def append(self, leaf):
        h, n = leaf, self.size
        while n & 1:
            h = tlogref.node_hash(self.stack.pop(), h)
            n >>= 1
        self.stack.append(h)
        self.size += 1

    def root(self):
        if not self.stack:
            return hashlib.sha256(b"").digest()
        h = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            h = tlogref.node_hash(left, h)
        return h


class Log:
    def __init__(self, out, node=None):
        self.out, self.seq, self.prev = out, 0, ZERO
        self.node = ',"node":"%s"' % node if node else ""
        self.origin = ORIGIN + ("/" + node if node else "")
        self.edge, self.files, self.last_day = Edge(), None, None
        self.key = ed25519.Ed25519PrivateKey.generate()

    def ts(self, t):
        return t.strftime("%Y-%m-%dT%H:%M:%S.%f+08:00")

    def write(self, t, body):
        self.seq += 1
        day = t.strftime("%Y-%m-%d")
        if day != self.last_day:
            if self.files:
                self.files.close()
            self.files = open(os.path.join(self.out, "audit-%s.jsonl" % day),
                              "ab")
            self.last_day = day
        covered = ('{"seq":%d,"ts":"%s"%s%s,"prev":"%s"'
                   % (self.seq, self.ts(t), self.node, body,
                      self.prev)).encode()
        h = hashlib.sha256(covered).hexdigest()
        line = covered + (',"hash":"%s"}' % h).encode()
        self.files.write(line + b"\n")
        self.edge.append(tlogref.leaf_hash(line))
        self.prev = h

    def checkpoint(self, t, reason):
        size, root = self.edge.size, self.edge.root()
        text = tlogref.checkpoint_text(
            self.origin, size, root,
            ["time " + t.strftime("%Y-%m-%dT%H:%M:%S+08:00")])
        note = tlogref.sign_note(text, self.origin, self.key)
        esc = note.replace("\n", "\\u000a")
        self.write(t, ',"op":"checkpoint","origin":"%s","size":%d,'
                   '"root":"%s","reason":"%s","note":"%s"'
                   % (self.origin, size, base64.b64encode(root).decode(),
                      reason, esc))

    def close(self):
        if self.files:
            self.files.close()


def query(rng, i, operators):
    """One query line's members after ts: a clerk of a client system
    asks about a person that system serves (now and then another's), in
    office hours; some refusals."""
    kind = rng.random()
    person = rng.randrange(400000)
    client = "sys%d" % (person % 8 if rng.random() < 0.98
                        else rng.randrange(8))
    operator = "clerk%03d" % (rng.randrange(operators // 8) * 8
                              + int(client[3:]))
    tag = hashlib.sha256(b"person %d" % person).hexdigest()
    body = (',"request_id":"%016x%08x","client":"%s","operator":"%s",'
            '"ip":"10.0.%d.%d","op":"verify","method":"POST",'
            '"checks":["resident"],"subject":"M12*****%02d",'
            '"subject_tag":"%s","case":"C-%07d","reason":"%s",'
            '"match_fields":[]'
            % (0x5eed0000 + (i >> 20), i, client, operator,
               rng.randrange(8), rng.randrange(1, 255), i % 100, tag, i,
               rng.choice(REASONS)))
    if kind < 0.90:
        return body + (',"status":200,"results":{"resident":true},'
                       '"as_of":{"household":"2026-01-01T02:00:00+08:00"}')
    if kind < 0.95:
        return body + ',"status":404,"error":"not_found","as_of":null'
    if kind < 0.98:
        return body + ',"status":400,"error":"invalid_id","as_of":null'
    return body.replace('"client":"%s"' % client, '"client":null') + \
        ',"status":403,"error":"unknown_client","as_of":null'


def office_times(start, end, n, rng):
    """n times in [start, end): office hours of working days (Mon-Fri
    08:00-18:00, Taipei), a few outside them; in order."""
    days, t = [], start
    while t < end:
        if t.weekday() < 5:
            days.append(t)
        t += datetime.timedelta(days=1)
    office = len(days) * 36000
    out = []
    for i in range(n):
        if rng.random() < 0.005:        # off hours: anywhere in the month
            secs = rng.random() * (end - start).total_seconds()
            out.append(start + datetime.timedelta(seconds=secs))
            continue
        x = (i + rng.random()) * office / n
        day = days[int(x // 36000)]
        out.append(day + datetime.timedelta(hours=8, seconds=x % 36000))
    out.sort()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--month", required=True, help="YYYY-MM (Taipei)")
    ap.add_argument("--lines", type=int, default=1000000)
    ap.add_argument("--interval", type=int, default=60,
                    help="seconds of log time between checkpoints")
    ap.add_argument("--operators", type=int, default=800,
                    help="clerks, spread over 8 client systems")
    ap.add_argument("--seed", default="bench")
    ap.add_argument("--out", required=True)
    ap.add_argument("--node", help="one node's log of several")
    args = ap.parse_args()

    y, m = (int(x) for x in args.month.split("-"))
    start = datetime.datetime(y, m, 1, tzinfo=TAIPEI)
    end = datetime.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=TAIPEI)
    os.makedirs(args.out, exist_ok=True)
    if any(n.startswith("audit-") for n in os.listdir(args.out)):
        sys.exit("gen-audit: %s already holds audit files" % args.out)
    rng = random.Random(args.seed)
    log = Log(args.out, args.node)
    log.write(start, ',"op":"start","pid":1,"generation":1,'
                     '"server":"gen-audit"')
    log.checkpoint(start, "start")
    next_cp = start + datetime.timedelta(seconds=args.interval)
    for i, t in enumerate(office_times(start, end - datetime.timedelta(
            seconds=5), args.lines, rng)):
        if t >= next_cp:
            log.checkpoint(t, "interval")
            while next_cp <= t:
                next_cp += datetime.timedelta(seconds=args.interval)
        log.write(t, query(rng, i, args.operators))
    log.checkpoint(end - datetime.timedelta(seconds=2), "interval")
    # the parent's first checkpoint of the new month: the sample's seed
    log.checkpoint(end + datetime.timedelta(seconds=3), "month")
    for i in range(3):
        log.write(end + datetime.timedelta(seconds=10 + i),
                  query(rng, args.lines + i, args.operators))
    log.close()
    with open(os.path.join(args.out, "verifier"), "w") as f:
        f.write(tlogref.vkey(log.origin, tlogref.raw_public(
            log.key.public_key())) + "\n")
    print("%d lines in %s (verifier key in %s/verifier)"
          % (log.seq, args.out, args.out))


if __name__ == "__main__":
    main()
