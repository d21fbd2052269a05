"""Audit logs with signed checkpoints, built without a server.

Lines are sealed as the module seals them (seal_line: `hash` is SHA-256
of the line up to and including the closing quote of `prev`); the tree
is RFC 6962's over the lines (leaf i = line seq i+1); checkpoints are C2SP
tlog-checkpoint bodies in C2SP signed notes, signed with Ed25519 by
python3-cryptography. Written from c2sp.org/tlog-checkpoint,
c2sp.org/signed-note and RFC 6962, not from the C code; tests check the
C tool against it and against t/tlogref.py.

A checkpoint is kept the three ways the module keeps one: a line in the
chain ({"op":"checkpoint",...,"note":...}), a file checkpoint-<size as
20 digits> (checkpoint_dir()), and a syslog line with a note= token
(syslog_extract()).
"""

import base64
import datetime
import hashlib
import json
import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from .audit import seal_line

ORIGIN = "county.example/verify-audit"
EM_DASH = "\u2014"
ED25519 = b"\x01"
TAIPEI = datetime.timezone(datetime.timedelta(hours=8))


def b64(raw):
    return base64.b64encode(raw).decode()


def sha256(data):
    return hashlib.sha256(data).digest()


class SigningKey:
    """An Ed25519 key that signs notes as @name (the log's origin)."""

    def __init__(self, name=ORIGIN, private=None):
        self.name = name
        self.private = private or ed25519.Ed25519PrivateKey.generate()
        self.public = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self):
        """signed-note: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
        return sha256(self.name.encode() + b"\n" + ED25519 + self.public)[:4]

    @property
    def verifier(self):
        """The verifier key: name+hex(key id)+base64(0x01 || key)."""
        return "%s+%s+%s" % (self.name, self.key_id.hex(),
                             b64(ED25519 + self.public))

    def signature_line(self, text):
        sig = self.private.sign(text.encode())
        return "%s %s %s\n" % (EM_DASH, self.name, b64(self.key_id + sig))

    def sign(self, text):
        """The signed note: the text, an empty line, the signature."""
        assert text.endswith("\n")
        return text + "\n" + self.signature_line(text)

    def write_pem(self, path):
        """The key as `openssl genpkey -algorithm ed25519` writes it (PKCS#8
        PEM), mode 0600."""
        pem = self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return path


def checkpoint_text(origin, size, root, time=None):
    """tlog-checkpoint: origin, size, base64 root, extension lines."""
    lines = [origin, str(size), b64(root)]
    if time:
        lines.append("time " + time)
    return "".join(x + "\n" for x in lines)


class Tree:
    """RFC 6962 roots from the right edge: the perfect subtrees of a
    size, by its bits from the highest, folded from the right."""

    def __init__(self):
        self.leaves = []
        self._perfect = {}

    def add(self, line):
        self.leaves.append(sha256(b"\x00" + line))

    def perfect(self, start, width):
        key = (start, width)
        if key not in self._perfect:
            if width == 1:
                h = self.leaves[start]
            else:
                half = width // 2
                h = sha256(b"\x01" + self.perfect(start, half)
                           + self.perfect(start + half, half))
            self._perfect[key] = h
        return self._perfect[key]

    def root(self, size):
        if size == 0:
            return sha256(b"")
        parts, start = [], 0
        for k in reversed(range(size.bit_length())):
            if size >> k & 1:
                parts.append(self.perfect(start, 1 << k))
                start += 1 << k
        r = parts[-1]
        for h in reversed(parts[:-1]):
            r = sha256(b"\x01" + h + r)
        return r


class LogBuilder:
    """An audit log being written: query and service lines, checkpoints
    signed with self.key (or another), day files."""

    def __init__(self, key=None, day=datetime.date(2026, 12, 1)):
        self.key = key or SigningKey()
        self.lines = []             # bytes, without the newline
        self.days = []              # the Taipei day of each line
        self.tree = Tree()
        self.prev = "0" * 64
        self.clock = datetime.datetime(day.year, day.month, day.day, 9,
                                       tzinfo=TAIPEI)
        self.notes = []             # (size, note) of every checkpoint made
        self.requests = 0

    @property
    def size(self):
        return len(self.lines)

    def _ts(self):
        self.clock += datetime.timedelta(seconds=1, microseconds=1234)
        return self.clock.strftime("%Y-%m-%dT%H:%M:%S.%f+08:00")

    def add(self, body):
        """Seal a line whose members after ts are @body (starting with
        ','); its seq."""
        seq = self.size + 1
        raw, self.prev = seal_line(seq, self._ts(), body, self.prev)
        self.lines.append(raw)
        self.days.append(self.clock.date())
        self.tree.add(raw)
        return seq

    def members(self, **m):
        return "".join(",%s:%s" % (json.dumps(k), json.dumps(
            v, ensure_ascii=False, separators=(",", ":")))
            for k, v in m.items())

    def query(self, status=200):
        """A query line as the module writes one; its seq."""
        self.requests += 1
        rid = "%016x%08x" % (0xfeedface, self.requests)
        m = dict(request_id=rid, client="demo", operator="clerk07",
                 ip="127.0.0.1", op="verify", method="POST",
                 checks=["resident"], subject="A12*****89",
                 subject_tag=sha256(rid.encode()).hex(),
                 case="CASE-%d" % self.requests, reason="test",
                 match_fields=[], status=status)
        if status == 200:
            m.update(results={"resident": True},
                     as_of={"household": "2026-11-30T02:00:00+08:00"})
        else:
            m.update(error="check_not_permitted", as_of=None)
        return self.add(self.members(**m))

    def queries(self, n):
        for _ in range(n):
            self.query()

    def root(self, size=None):
        return self.tree.root(self.size if size is None else size)

    def note(self, size=None, key=None, origin=None, root=None):
        """A signed checkpoint of the first @size lines (default: all),
        signed by @key (default self.key) for @origin (default the key's
        name); @root overrides the true root."""
        key = key or self.key
        size = self.size if size is None else size
        text = checkpoint_text(origin or key.name, size,
                               self.root(size) if root is None else root,
                               time=self.clock.strftime(
                                   "%Y-%m-%dT%H:%M:%S+08:00"))
        return key.sign(text)

    def checkpoint(self, upto=None, reason="interval", note=None, **line):
        """A checkpoint of the first @upto lines (default: all so far):
        the note (made by note() unless given) and its chain line, whose
        members (origin, size, root, note ...) @line may override.
        Returns the line's seq."""
        size = self.size if upto is None else upto
        if note is None:
            note = self.note(size)
        parts = note.split("\n") if isinstance(note, str) else []
        if len(parts) > 3 and parts[1].isdigit():
            origin, nsize, root64 = parts[0], int(parts[1]), parts[2]
        else:
            # not a note at all (a test of the line's check): the
            # members a sound one would have
            origin, nsize, root64 = self.key.name, size, b64(self.root(size))
        m = dict(op="checkpoint", origin=origin, size=nsize, root=root64,
                 reason=reason, note=note)
        m.update(line)
        self.notes.append((size, note))
        return self.add(self.members(**m))

    def rewrite(self, lines):
        """Go on from @lines (an insider's rewrite of this log, resealed)
        instead of the lines written so far: a fork."""
        self.lines = list(lines)
        self.days = (self.days + [self.days[-1]] * len(lines))[:len(lines)]
        self.tree = Tree()
        for raw in self.lines:
            self.tree.add(raw)
        self.prev = self.lines[-1][-66:-2].decode() if lines else "0" * 64
        self.notes = [(n, x) for n, x in self.notes if n <= len(lines)]

    def next_day(self):
        self.clock += datetime.timedelta(days=1)

    # -- where the module keeps things -----------------------------------

    def write(self, directory, lines=None):
        """The day files audit-YYYY-MM-DD.jsonl of @lines (default: the
        log) in @directory (made); the directory."""
        lines = self.lines if lines is None else lines
        os.makedirs(directory, exist_ok=True)
        by_day = {}
        for raw, day in zip(lines, self.days):
            by_day.setdefault(day, []).append(raw + b"\n")
        for day, raws in by_day.items():
            with open(os.path.join(directory, "audit-%s.jsonl" % day),
                      "wb") as f:
                f.write(b"".join(raws))
        return str(directory)

    def checkpoint_dir(self, directory, notes=None):
        """VerifyCheckpointDir: checkpoint-<size, 20 digits> per note."""
        os.makedirs(directory, exist_ok=True)
        for size, note in self.notes if notes is None else notes:
            with open(os.path.join(directory, "checkpoint-%020d" % size),
                      "w", encoding="utf-8") as f:
                f.write(note)
        return str(directory)

    def syslog_extract(self, path, notes=None, noise=True):
        """What the module sends to syslog, one line per checkpoint, with
        other daemons' lines between (when @noise)."""
        out = []
        for i, (size, note) in enumerate(self.notes if notes is None
                                         else notes):
            if noise:
                out.append("Dec  1 09:%02d:00 host CRON[77]: (root) CMD "
                           "(run-parts /etc/cron.hourly)\n" % (i % 60))
            origin, nsize, root64 = note.split("\n")[:3]
            out.append("Dec  1 09:%02d:01 host mod_verify[4242]: checkpoint "
                       "origin=%s size=%s root=%s note=%s\n"
                       % (i % 60, origin, nsize, root64,
                          b64(note.encode())))
        with open(path, "w", encoding="utf-8") as f:
            f.write("".join(out))
        return str(path)


def reseal(lines, start=0):
    """An insider's rewrite: every line from @start on gets its prev and
    hash recomputed over the lines as they now are, so that the chain is
    intact again (seq is left as it is)."""
    out = list(lines[:start])
    prev = out[-1][-66:-2].decode() if out else "0" * 64
    for raw in lines[start:]:
        covered = raw[:-75]                 # up to the closing quote of prev
        covered = covered[:-65] + prev.encode() + b'"'
        prev = hashlib.sha256(covered).hexdigest()
        out.append(covered + (',"hash":"%s"}' % prev).encode())
    return out


def renumber(lines):
    """Lines given new seqs 1, 2, ... (after lines were removed or
    inserted), then resealed: what a writer of the audit directory can
    do without the signing key."""
    out = []
    for i, raw in enumerate(lines, 1):
        rest = raw[raw.index(b","):]
        out.append(b'{"seq":%d' % i + rest)
    return reseal(out)
