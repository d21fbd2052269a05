"""The key file and the command-line tools in build/: making a key,
deriving a subject tag as the module does, and running verify-import
(also on a household batch written for a list of people, signed and
encrypted as the data provider sends it, or plain with --allow-plain)
and verify-audit."""

import atexit
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import tempfile

from .env import CLEAN_ENV, VERIFY_AUDIT, VERIFY_IMPORT, today_taipei
from .people import household_csv
from .pki import batch_pki


def make_key_file(path):
    """`openssl rand -hex 32 > path`, mode 0400."""
    out = subprocess.run(["openssl", "rand", "-hex", "32"], check=True,
                         capture_output=True, env=CLEAN_ENV).stdout
    with open(path, "wb") as f:
        f.write(out)
    os.chmod(path, 0o400)
    return path


def make_signing_key(path):
    """`openssl genpkey -algorithm ed25519`, mode 0400: a checkpoint
    signing key as the admin guide makes it."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out",
                    path], check=True, capture_output=True, env=CLEAN_ENV)
    os.chmod(path, 0o400)
    return path


def verifier_key(pem_path, name):
    """The C2SP verifier key of an Ed25519 PEM key, by t/tlogref.py (the
    independent implementation), not by the tools under test."""
    import tlogref
    from cryptography.hazmat.primitives import serialization
    with open(pem_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    return tlogref.vkey(name, tlogref.raw_public(key.public_key()))


def read_secret(path):
    """The secret as verify.h defines it: hex decoded when all hex."""
    raw = open(path, "rb").read()
    compact = re.sub(rb"\s+", b"", raw)
    if len(compact) >= 64 and re.fullmatch(rb"[0-9a-fA-F]+", compact) \
            and len(compact) % 2 == 0:
        return bytes.fromhex(compact.decode())
    return raw


def subject_tag(key_path, pid):
    """hex HMAC(HMAC(secret, "mod_verify/subject/v1"), ID) (internals.md)."""
    secret = read_secret(key_path)
    k = hmac.new(secret, b"mod_verify/subject/v1", hashlib.sha256).digest()
    return hmac.new(k, pid.upper().encode(), hashlib.sha256).hexdigest()


def approved_until(days=365):
    """An --approved-until date @days after today (Taipei)."""
    return (today_taipei() + datetime.timedelta(days=days)).isoformat()


def as_sent(csv_path, extra=()):
    """The batch file @csv_path as the data provider sends it: signed and
    encrypted to the county by harness.batch_pki(), the clear file
    removed (only the .p7m travels). (the .p7m's path, verify-import's
    options for it: --decrypt-cert/-key, --signer-ca, @extra, and
    --approved-until a year ahead unless @extra gives one)."""
    pki = batch_pki()
    p7m = pki.protect(csv_path)
    os.unlink(csv_path)
    opts = pki.options() + list(extra)
    if "--approved-until" not in opts:
        opts += ["--approved-until", approved_until()]
    return p7m, opts


def run_import(store, key, path, source="household", keep_input=False,
               extra=(), allow_plain=False):
    """Run build/verify-import; returns the CompletedProcess (text).
    @allow_plain: --allow-plain, for a plain file (the strict rules
    want it signed, encrypted and with --approved-until)."""
    cmd = [VERIFY_IMPORT, "--store", store, "--key", key, "--source", source]
    if keep_input:
        cmd.append("--keep-input")
    if allow_plain:
        cmd.append("--allow-plain")
    cmd += list(extra) + [path]
    return subprocess.run(cmd, capture_output=True, env=CLEAN_ENV,
                          timeout=120, text=True, errors="replace")


def run_audit_tool(*args):
    return subprocess.run([VERIFY_AUDIT] + list(args), capture_output=True,
                          env=CLEAN_ENV, timeout=120, text=True,
                          errors="replace")


_SCRATCH = []


@atexit.register
def _remove_scratch():
    for d in _SCRATCH:
        shutil.rmtree(d, ignore_errors=True)


def import_people(store, key, people, check=True, keep_input=False,
                  name="household.csv", workdir=None, plain=False,
                  extra=(), **csv):
    """Write a household CSV for @people and import it: signed and
    encrypted by the test data provider (harness.batch_pki()) with
    --approved-until a year ahead unless @extra gives one, as the strict
    intake wants it; or, with @plain, the CSV as it is with
    --allow-plain. res.path is the file imported."""
    if not workdir:
        workdir = tempfile.mkdtemp(prefix="mod_verify-csv-")
        _SCRATCH.append(workdir)
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(household_csv(people, **csv))
    extra = list(extra)
    if not plain:
        path, extra = as_sent(path, extra)
    res = run_import(store, key, path, keep_input=keep_input, extra=extra,
                     allow_plain=plain)
    if check:
        assert res.returncode == 0, "verify-import failed (%d): %s%s" % (
            res.returncode, res.stdout, res.stderr)
    res.path = path
    return res


def store_env_copy(store):
    """A private copy of the environment @store publishes (its `current`
    snapshot), for the LMDB tools, which make a lock file beside what
    they open; None before the first import. The published snapshot is
    never opened by them."""
    data = os.path.join(store, "current", "data.mdb")
    if not os.path.exists(data):
        return None
    d = tempfile.mkdtemp(prefix="mod_verify-env-")
    _SCRATCH.append(d)
    shutil.copyfile(data, os.path.join(d, "data.mdb"))
    return d


def publish_env(store, env):
    """Publish the environment in directory @env as @store's snapshot,
    the way verify-import does: a new snap-* directory (data.mdb only,
    the store directory's group, 0750/0640), `current.tmp` renamed over
    `current`."""
    name = "snap-test-%s" % os.urandom(4).hex()
    snap = os.path.join(store, name)
    os.mkdir(snap, 0o750)
    shutil.copyfile(os.path.join(env, "data.mdb"),
                    os.path.join(snap, "data.mdb"))
    gid = os.stat(store).st_gid
    for path, mode in ((snap, 0o750), (os.path.join(snap, "data.mdb"),
                                       0o640)):
        os.chown(path, -1, gid)
        os.chmod(path, mode)
    tmp = os.path.join(store, "current.tmp")
    os.symlink(name, tmp)
    os.replace(tmp, os.path.join(store, "current"))
    return name


# -- the event spool (<store>/events): what the root tools leave there ----

SPOOL = "events"


def spool_dir(store):
    return os.path.join(store, SPOOL)


def make_spool(parent):
    """A spool as httpd makes it, for a tool run without a server:
    @parent/events, root's (the caller's), mode 0700."""
    d = os.path.join(parent, SPOOL)
    os.mkdir(d, 0o700)
    os.chmod(d, 0o700)
    return d


def spooled(spool):
    """The events waiting in the spool directory @spool, in order:
    (name, raw bytes, parsed)."""
    if not os.path.isdir(spool):
        return []
    out = []
    for n in sorted(os.listdir(spool)):
        if n.endswith(".json") and not n.startswith("."):
            raw = open(os.path.join(spool, n), "rb").read()
            out.append((n, raw, json.loads(raw)))
    return out


def spooled_events(store):
    """The events waiting in @store's spool, parsed, in order."""
    return [ev for _, _, ev in spooled(spool_dir(store))]


def no_snapshot(store):
    """Nothing was ever published in @store (it may not exist)."""
    return not os.path.isdir(store) or not (
        os.path.lexists(os.path.join(store, "current"))
        or any(n.startswith("snap-") for n in os.listdir(store)))
