"""Signed checkpoint lines for synthetic audit logs: a test key (made
once per run), its verifier key, and the "checkpoint" line the httpd
parent writes for a tree, made with t/tlogref.py (written from the RFCs
and C2SP, not from the C code)."""

import base64

from cryptography.hazmat.primitives.asymmetric import ed25519

ORIGIN = "test.example/verify-audit"
KEY = ed25519.Ed25519PrivateKey.generate()
# a key of nobody: what a wrong --verifier is
OTHER_KEY = ed25519.Ed25519PrivateKey.generate()


def verifier(key=KEY, origin=ORIGIN):
    import tlogref
    return tlogref.vkey(origin, tlogref.raw_public(key.public_key()))


VERIFIER = verifier()
OTHER_VERIFIER = verifier(OTHER_KEY)


def checkpoint_body(raws, made, reason="month", key=KEY, origin=ORIGIN):
    """The members after ts of a checkpoint line covering the lines
    @raws (bytes, in order), made at @made ("YYYY-MM-DDTHH:MM:SS+08:00",
    the note's time extension)."""
    import tlogref
    size = len(raws)
    root = tlogref.Tree(raws).root(size)
    text = tlogref.checkpoint_text(origin, size, root, ["time " + made])
    note = tlogref.sign_note(text, origin, key)
    esc = note.replace("\n", "\\u000a")
    return (',"op":"checkpoint","origin":"%s","size":%d,"root":"%s",'
            '"reason":"%s","note":"%s"'
            % (origin, size, base64.b64encode(root).decode(), reason, esc))
