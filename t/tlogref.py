"""An independent reference for the transparency log's formats, written
from the texts and not from the C code: RFC 6962 section 2.1 (tree hash,
PATH, PROOF), RFC 9162 sections 2.1.3.2 and 2.1.4.2 (checking proofs),
and C2SP signed-note and tlog-checkpoint. Only hashlib, base64 and
Debian's python3-cryptography (Ed25519).

The tests use it to recompute and check what the C library and the
tools print; nothing here is imported by the module or the tools."""

import base64
import binascii
import hashlib
import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

EM_DASH = "\u2014"
ED25519 = 0x01


class Invalid(Exception):
    """A proof, note, checkpoint or key that does not hold."""


# -- RFC 6962 section 2.1: the Merkle tree hash ------------------------

def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(data):
    """MTH({d0}) = SHA-256(0x00 || d0)."""
    return sha256(b"\x00" + data)


def node_hash(left, right):
    """SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))."""
    return sha256(b"\x01" + left + right)


EMPTY_ROOT = sha256(b"")


def _split(n):
    """k, the largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """The leaves of a log and RFC 6962's functions over them. Subtree
    hashes are remembered by (begin, end): the prefixes of one log share
    most of them."""

    def __init__(self, leaves):
        self.leaves = [leaf_hash(d) for d in leaves]
        self._memo = {}

    def mth(self, begin, end):
        """MTH(D[begin:end])."""
        n = end - begin
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return self.leaves[begin]
        key = (begin, end)
        if key not in self._memo:
            k = _split(n)
            self._memo[key] = node_hash(self.mth(begin, begin + k),
                                        self.mth(begin + k, end))
        return self._memo[key]

    def root(self, size):
        return self.mth(0, size)

    def path(self, m, size):
        """PATH(m, D[0:size]) of RFC 6962 section 2.1.1."""
        if not 0 <= m < size:
            raise ValueError("leaf %d is not in a tree of %d" % (m, size))
        return self._path(m, 0, size)

    def _path(self, m, begin, end):
        n = end - begin
        if n == 1:
            return []
        k = _split(n)
        if m < k:
            return self._path(m, begin, begin + k) + [self.mth(begin + k,
                                                               end)]
        return self._path(m - k, begin + k, end) + [self.mth(begin,
                                                             begin + k)]

    def proof(self, m, size):
        """PROOF(m, D[0:size]) of RFC 6962 section 2.1.2 (0 < m < size);
        empty for m == 0 or m == size, which RFC 9162 accepts as such."""
        if not 0 <= m <= size:
            raise ValueError("no consistency proof from %d to %d"
                             % (m, size))
        if m == 0 or m == size:
            return []
        return self._subproof(m, 0, size, True)

    def _subproof(self, m, begin, end, b):
        n = end - begin
        if m == n:
            return [] if b else [self.mth(begin, end)]
        k = _split(n)
        if m <= k:
            return (self._subproof(m, begin, begin + k, b)
                    + [self.mth(begin + k, end)])
        return (self._subproof(m - k, begin + k, end, False)
                + [self.mth(begin, begin + k)])


# -- RFC 9162 section 2.1.3.2 and 2.1.4.2: checking proofs -------------

def _climb(fn, sn):
    """Right-shift fn and sn equally until LSB(fn) is set or fn is 0."""
    while not fn & 1 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def check_inclusion(index, size, leaf, path, root):
    """Raise Invalid unless @path proves that @leaf (a leaf hash) is
    leaf @index of the tree of @size leaves with @root."""
    if index >= size:
        raise Invalid("leaf index %d is not below tree size %d"
                      % (index, size))
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise Invalid("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _climb(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("inclusion proof too short")
    if r != root:
        raise Invalid("inclusion proof leads to another root")


def check_consistency(size1, size2, root1, root2, proof):
    """Raise Invalid unless @proof shows the tree (@size1, @root1) is a
    prefix of the tree (@size2, @root2)."""
    if size1 > size2:
        raise Invalid("first tree larger than the second")
    if size1 == size2:
        if proof:
            raise Invalid("a proof between equal sizes must be empty")
        if root1 != root2:
            raise Invalid("two roots for size %d" % size1)
        return
    if size1 == 0:
        if proof:
            raise Invalid("a proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise Invalid("the empty tree has another root")
        return
    if not proof:
        raise Invalid("empty consistency proof")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Invalid("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            fn, sn = _climb(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Invalid("consistency proof too short")
    if fr != root1:
        raise Invalid("consistency proof does not lead to the first root")
    if sr != root2:
        raise Invalid("consistency proof does not lead to the second root")


# -- C2SP signed-note ----------------------------------------------------

def b64decode_strict(s):
    """Standard, padded base64, and only the canonical spelling."""
    if not re.fullmatch(r"(?:[A-Za-z0-9+/]{4})*"
                        r"(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?", s):
        raise Invalid("not base64: %r" % s)
    try:
        raw = base64.b64decode(s, validate=True)
    except binascii.Error as e:
        raise Invalid("not base64: %r (%s)" % (s, e)) from None
    if base64.b64encode(raw).decode() != s:
        raise Invalid("not canonical base64: %r" % s)
    return raw


_UNICODE_SPACES = set("\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f"
                      "\u3000") | {chr(c) for c in range(0x2000, 0x200b)}


def valid_key_name(name):
    return (name != "" and "+" not in name
            and not any(ch in _UNICODE_SPACES or ord(ch) < 0x20
                        for ch in name))


def key_id(name, public_key):
    """SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]."""
    return sha256(name.encode() + b"\n" + bytes([ED25519])
                  + public_key)[:4]


def raw_public(key):
    """The 32 bytes of an Ed25519 public key object."""
    return key.public_bytes(serialization.Encoding.Raw,
                            serialization.PublicFormat.Raw)


def public_from_pem(pem):
    """The Ed25519 public key of `openssl pkey -pubout` output."""
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise Invalid("not an Ed25519 public key")
    return key


def vkey(name, public_key):
    """The verifier key string name+hex(id)+base64(0x01 || key)."""
    return "%s+%s+%s" % (name, key_id(name, public_key).hex(),
                         base64.b64encode(bytes([ED25519])
                                          + public_key).decode())


def parse_vkey(text):
    """(name, id bytes, public key bytes) of a verifier key string."""
    name, sep, rest = text.partition("+")
    hexid, sep2, key64 = rest.partition("+")
    if not (sep and sep2) or not valid_key_name(name):
        raise Invalid("not a verifier key: %r" % text)
    if not re.fullmatch(r"[0-9a-f]{8}", hexid):
        raise Invalid("key id is not 8 lower-case hex digits: %r" % hexid)
    typed = b64decode_strict(key64)
    if len(typed) != 33 or typed[0] != ED25519:
        raise Invalid("not an Ed25519 verifier key")
    kid = bytes.fromhex(hexid)
    if kid != key_id(name, typed[1:]):
        raise Invalid("key id does not match the key")
    return name, kid, typed[1:]


def sign_note(text, name, private_key):
    """A signed note: text (str ending in newline), blank line, one
    signature line by the Ed25519 @private_key under @name."""
    if not text.endswith("\n"):
        raise ValueError("note text must end in a newline")
    pub = raw_public(private_key.public_key())
    sig = private_key.sign(text.encode())
    return "%s\n%s %s %s\n" % (text, EM_DASH, name, base64.b64encode(
        key_id(name, pub) + sig).decode())


def open_note(note, name, public_key):
    """Check the signed note @note (bytes or str) against the key
    (@name, @public_key bytes) as C2SP says; return the text (str).
    Signatures by other keys are ignored; a signature by this key that
    fails, or no signature by it, is Invalid."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("note is not UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in note):
        raise Invalid("note has a control character")
    split = note.rfind("\n\n")
    if split < 0:
        raise Invalid("no blank line before the signatures")
    text, sigs = note[:split + 1], note[split + 2:]
    if not sigs or not sigs.endswith("\n"):
        raise Invalid("no signature lines, or no final newline")
    want_id = key_id(name, public_key)
    pub = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
    verified = False
    for line in sigs[:-1].split("\n"):
        if not line.startswith(EM_DASH + " "):
            raise Invalid("not a signature line: %r" % line)
        sname, sp, b64 = line[2:].partition(" ")
        if not sp or not valid_key_name(sname):
            raise Invalid("bad key name in %r" % line)
        raw = b64decode_strict(b64)
        if len(raw) < 5:
            raise Invalid("signature too short in %r" % line)
        if sname != name or raw[:4] != want_id:
            continue
        try:
            pub.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise Invalid("signature by %s does not verify" % name) from None
        verified = True
    if not verified:
        raise Invalid("no signature by %s" % name)
    return text


# -- C2SP tlog-checkpoint ----------------------------------------------

def checkpoint_text(origin, size, root, extensions=()):
    return "".join("%s\n" % x for x in
                   [origin, str(size), base64.b64encode(root).decode()]
                   + list(extensions))


def parse_checkpoint(text):
    """(origin, size, root bytes, [extension lines]) of a checkpoint
    body, strictly."""
    if not text.endswith("\n"):
        raise Invalid("checkpoint does not end in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise Invalid("checkpoint has fewer than three lines")
    origin, size, root64 = lines[:3]
    if origin == "":
        raise Invalid("empty origin")
    if not re.fullmatch(r"0|[1-9][0-9]*", size) or int(size) >= 2 ** 64:
        raise Invalid("bad tree size %r" % size)
    root = b64decode_strict(root64)
    if len(root) != 32:
        raise Invalid("root hash is not 32 bytes")
    if any(x == "" for x in lines[3:]):
        raise Invalid("empty extension line")
    return origin, int(size), root, lines[3:]


def open_checkpoint(note, verifier):
    """Open the signed checkpoint @note with the verifier key string
    @verifier (name+id+key) as the log's checkpoints are opened: the
    signature by that key must verify, the body must be a checkpoint, and
    its origin must be the key's name (the contract of issue 7). Returns
    (origin, size, root bytes, [extension lines])."""
    name, _kid, public = parse_vkey(verifier)
    origin, size, root, ext = parse_checkpoint(open_note(note, name, public))
    if origin != name:
        raise Invalid("origin %r is not the key's name %r" % (origin, name))
    return origin, size, root, ext


# -- the proof text of docs/data-formats.md section 4 ---------------------

PROOF_FIELDS = {"inclusion": ["size", "root", "seq", "index", "leaf"],
                "consistency": ["size1", "root1", "size2", "root2"]}


def parse_proof_text(text, kind):
    """The text a proof is printed in: the kind line, its "key value"
    lines in their order, "hashes K", then K lines of base64. Returns
    ({key: value}, [hash bytes], the rest of the text)."""
    lines = text.split("\n")
    if lines[0] != kind:
        raise Invalid("not a %s proof: %r" % (kind, lines[0]))
    fields = {}
    for i, key in enumerate(PROOF_FIELDS[kind], 1):
        k, sp, v = lines[i].partition(" ")
        if k != key or not sp:
            raise Invalid("line %d is not %r VALUE: %r" % (i + 1, key,
                                                            lines[i]))
        fields[k] = v
    at = len(PROOF_FIELDS[kind]) + 1
    m = re.fullmatch(r"hashes (0|[1-9][0-9]*)", lines[at])
    if not m:
        raise Invalid("not \"hashes K\": %r" % lines[at])
    n = int(m.group(1))
    hashes = [b64decode_strict(x) for x in lines[at + 1:at + 1 + n]]
    if len(hashes) != n or any(len(h) != 32 for h in hashes):
        raise Invalid("fewer than %d hashes of 32 bytes" % n)
    return fields, hashes, "\n".join(lines[at + 1 + n:])
