"""Encrypted and signed batches (SPEC section 5, R4.1.1, R4.1.3).

The batches are made with the openssl command line exactly as a data
provider would make them: the provider signs the CSV with its own
certificate (CMS SignedData, content attached) and encrypts the result
to the county's import certificate (CMS EnvelopedData). verify-import
opens both layers in memory; anything that does not check out is
rejected with the file kept and the store unchanged.
"""

import hashlib
import json
import os
import subprocess
import tempfile

import pytest

import harness
from harness import People, fields_for

PROVIDER_SUBJECT = harness.PROVIDER_SUBJECT
IMPORT_SUBJECT = harness.IMPORT_SUBJECT


# -- PKI as the data provider and the county would set it up ----------
# (the openssl command line, as harness.pki makes it)

openssl = harness.openssl
new_ca = harness.new_ca
new_cert = harness.new_cert


class PKI:
    def __init__(self, d):
        self.dir = d
        # the data provider's CA and signing certificate
        self.provider_ca = new_ca(d, "provider-ca", "Test Provider CA")
        self.provider_crt, self.provider_key = new_cert(
            d, "provider", PROVIDER_SUBJECT, "provider-ca")
        # a signer from another CA (same subject: only the chain differs)
        new_ca(d, "rogue-ca", "Test Rogue CA")
        self.rogue_crt, self.rogue_key = new_cert(
            d, "rogue", PROVIDER_SUBJECT, "rogue-ca")
        # the county's import certificate and another one
        new_ca(d, "county-ca", "Test County CA")
        self.import_crt, self.import_key = new_cert(
            d, "import", IMPORT_SUBJECT, "county-ca")
        self.other_crt, self.other_key = new_cert(
            d, "other-import", "/O=Test County/CN=Another recipient",
            "county-ca")


@pytest.fixture(scope="module")
def pki():
    d = tempfile.mkdtemp(prefix="mod_verify-pki-")
    yield PKI(d)
    if not os.environ.get("MOD_VERIFY_T_KEEP"):
        subprocess.run(["rm", "-rf", d])


def write_csv(d, people, name="batch.csv"):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(harness.household_csv(people))
    return path


def sign(d, csv, crt, key, out="batch.signed", extra=()):
    return harness.cms_sign(d, csv, crt, key, out, extra)


def encrypt(d, infile, recipient, out="batch.p7m", inform="DER",
            outform="DER"):
    return harness.cms_encrypt(d, infile, recipient, out, inform, outform)


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def store_dump(store):
    """Every database of the store, as mdb_dump prints it (the logical
    content: equal dumps mean an unchanged store)."""
    env = harness.store_env_copy(store)
    if env is None:
        return None
    res = subprocess.run(["mdb_dump", "-a", env], capture_output=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout


def import_cms(s, path, pki, decrypt=True, signer=True, extra=(),
               until=True):
    """verify-import of the CMS file @path with the options of @pki, and
    --approved-until a year ahead (@until) unless @extra gives one."""
    opts = []
    if decrypt:
        opts += ["--decrypt-cert", pki.import_crt,
                 "--decrypt-key", pki.import_key]
    if signer:
        opts += ["--signer-ca", pki.provider_ca]
    opts += list(extra)
    if until and "--approved-until" not in opts:
        opts += ["--approved-until", harness.approved_until()]
    return harness.run_import(s.store, s.key, path, extra=opts)


def import_json(res):
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert len(lines) == 1, res.stdout
    return json.loads(lines[-1])


def ask(s, p, case="CMS-1"):
    r = s.post(fields_for(p, case=case))
    assert r.status == 200, r
    return r.json["results"]["resident"]


def assert_rejected(res, path, before, store, words):
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "rejected" in out and "store unchanged" in out, out
    assert any(w in out.lower() for w in words), (words, out)
    assert os.path.exists(path), "a rejected batch must be kept: " + path
    assert store_dump(store) == before, "the store changed"


def first_batch(s, pki, d, gen):
    """A good batch already in the store, so that 'unchanged' means
    something."""
    people = gen.batch(6)
    s.add_people(people)
    csv = write_csv(d, people, "first.csv")
    p7m = encrypt(d, sign(d, csv, pki.provider_crt, pki.provider_key,
                          "first.signed"), pki.import_crt, "first.p7m")
    res = import_cms(s, p7m, pki)
    assert res.returncode == 0, res.stdout + res.stderr
    return people


# -- tests ------------------------------------------------------------

def test_signed_encrypted_batch(make_server, pki, tmp_path):
    s = make_server()
    d = str(tmp_path)
    gen = People()
    people = gen.batch(12)
    outsider = gen.person()
    s.add_people(people + [outsider])
    csv = write_csv(d, people)
    signed = sign(d, csv, pki.provider_crt, pki.provider_key)
    p7m = encrypt(d, signed, pki.import_crt)
    # what travels: neither the CSV nor any ID is readable in the .p7m
    raw = open(p7m, "rb").read()
    for p in people:
        assert p.id.encode() not in raw
    digest = sha256_file(p7m)
    # the provider's side is done: only the .p7m reaches the county
    os.unlink(csv)
    os.unlink(signed)

    res = import_cms(s, p7m, pki)
    assert res.returncode == 0, res.stdout + res.stderr
    assert not os.path.exists(p7m), "the .p7m was not destroyed (R4.4)"
    assert os.listdir(d) == [], "clear data left on disk: %r" % os.listdir(d)
    ev = import_json(res)
    assert ev["op"] == "import" and ev["result"] == "accepted"
    assert ev["source"] == "household"
    assert ev["records"] == len(people)
    assert ev["sha256"] == digest, "sha256 is not of the file as received"
    assert ev["signer"] == PROVIDER_SUBJECT, ev
    assert ev["input"] == "destroyed"
    for p in people:
        assert p.id not in res.stdout + res.stderr

    s.start()
    assert ask(s, people[0]) is True
    assert ask(s, people[-1]) is True
    assert ask(s, outsider) is False
    # the audit chain names the batch by the digest of the .p7m
    imports = [ln for ln in s.audit_lines() if ln.get("op") == "import"]
    assert len(imports) == 1, imports
    assert imports[0]["sha256"] == digest
    assert imports[0]["batch_id"] == ev["batch_id"]
    assert imports[0]["records"] == len(people)
    assert imports[0]["signer"] == PROVIDER_SUBJECT
    # what the tool printed is the chain's import line, byte for byte
    raw = imports[0].raw.decode("utf-8")
    body = raw[raw.index(',"op":"import"'):raw.index(',"prev":')]
    printed = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert printed[0] == "{" + body[1:] + "}", (printed[0], body)


def test_pem_encoded_batch_accepted(make_server, pki, tmp_path):
    """`-outform PEM` on either layer (as some providers send it)."""
    s = make_server()
    d = str(tmp_path)
    gen = People()
    people = gen.batch(5)
    outsider = gen.person()
    s.add_people(people + [outsider])
    csv = write_csv(d, people)
    openssl("cms", "-sign", "-binary", "-nodetach", "-in", csv,
            "-signer", pki.provider_crt, "-inkey", pki.provider_key,
            "-outform", "PEM", "-out", "batch.signed.pem", cwd=d)
    p7m = encrypt(d, os.path.join(d, "batch.signed.pem"), pki.import_crt,
                  out="batch.p7m.pem", inform="PEM", outform="PEM")
    assert open(p7m, "rb").read().startswith(b"-----BEGIN CMS-----")
    digest = sha256_file(p7m)
    res = import_cms(s, p7m, pki)
    assert res.returncode == 0, res.stdout + res.stderr
    ev = import_json(res)
    assert ev["sha256"] == digest and ev["records"] == len(people)
    assert ev["signer"] == PROVIDER_SUBJECT
    assert not os.path.exists(p7m)
    s.start()
    assert ask(s, people[2]) is True
    assert ask(s, outsider) is False


def test_wrong_recipient_rejected(make_server, pki, tmp_path):
    s = make_server()
    d = str(tmp_path)
    gen = People()
    first = first_batch(s, pki, d, gen)
    before = store_dump(s.store)
    people = gen.batch(5)
    s.add_people(people)
    csv = write_csv(d, people)
    p7m = encrypt(d, sign(d, csv, pki.provider_crt, pki.provider_key),
                  pki.other_crt)
    res = import_cms(s, p7m, pki)
    assert_rejected(res, p7m, before, s.store, ["decrypt"])
    # the previous batch still answers, the refused one does not
    s.start()
    assert ask(s, first[0]) is True
    assert ask(s, people[0]) is False


def test_bad_signature_rejected(make_server, pki, tmp_path):
    s = make_server()
    d = str(tmp_path)
    gen = People()
    first = first_batch(s, pki, d, gen)
    before = store_dump(s.store)
    people = gen.batch(5)
    s.add_people(people)
    csv = write_csv(d, people)

    # 1. signed by a certificate that does not chain to the provider CA
    p7m = encrypt(d, sign(d, csv, pki.rogue_crt, pki.rogue_key,
                          "rogue.signed"), pki.import_crt, "rogue.p7m")
    res = import_cms(s, p7m, pki)
    assert_rejected(res, p7m, before, s.store, ["signature", "certificate"])
    assert PROVIDER_SUBJECT not in res.stdout
    # what was refused is the chain: trusting the rogue CA, the same
    # file validates (dry run: store and file untouched)
    res = harness.run_import(s.store, s.key, p7m, extra=[
        "--decrypt-cert", pki.import_crt, "--decrypt-key", pki.import_key,
        "--signer-ca", os.path.join(pki.dir, "rogue-ca.crt"), "--dry-run",
        "--approved-until", harness.approved_until()])
    assert res.returncode == 0, res.stdout + res.stderr
    assert os.path.exists(p7m) and store_dump(s.store) == before

    # 2. the right signer, but the content was altered after signing:
    # one character of a name inside the DER content is changed (the
    # CSV stays a valid batch, only the signature no longer fits)
    signed = sign(d, csv, pki.provider_crt, pki.provider_key, "good.signed")
    der = bytearray(open(signed, "rb").read())
    text = harness.household_csv(people).encode("utf-8")
    at = der.find(text)
    assert at > 0, "the CSV is not inside the DER SignedData as is"
    row = text.index(b"\n") + 1           # first data row
    name_at = at + row + 11               # after "Xnnnnnnnnn,"
    assert chr(der[name_at]).isascii() and chr(der[name_at]).isalpha(), \
        "People.batch() gives the first person an ASCII name"
    der[name_at] ^= 0x20                  # change the letter's case
    assert der[at:at + len(text)] != text
    tampered = os.path.join(d, "tampered.signed")
    with open(tampered, "wb") as f:
        f.write(der)
    p7m = encrypt(d, tampered, pki.import_crt, "tampered.p7m")
    res = import_cms(s, p7m, pki)
    assert_rejected(res, p7m, before, s.store, ["signature", "digest",
                                                "verify"])

    s.start()
    assert ask(s, first[0]) is True
    for p in people[:2]:
        assert ask(s, p) is False


def test_unsigned_rejected_when_signer_required(make_server, pki, tmp_path):
    s = make_server()
    d = str(tmp_path)
    gen = People()
    first_batch(s, pki, d, gen)
    before = store_dump(s.store)
    people = gen.batch(4)
    s.add_people(people)
    csv = write_csv(d, people)
    # encrypted, but the CSV inside carries no signature
    p7m = encrypt(d, csv, pki.import_crt)
    res = import_cms(s, p7m, pki)
    assert_rejected(res, p7m, before, s.store, ["signed", "signature"])
    # without --signer-ca too: a batch must be signed (R4.1.1), and the
    # message says how to take it anyway
    res = import_cms(s, p7m, pki, signer=False)
    assert_rejected(res, p7m, before, s.store, ["not signed"])
    assert "--allow-plain" in res.stderr
    # --allow-plain takes it, and the event says so
    res = import_cms(s, p7m, pki, signer=False, extra=["--allow-plain"])
    assert res.returncode == 0, res.stdout + res.stderr
    ev = import_json(res)
    assert ev["signer"] is None and ev["plain"] is True
    assert ev["encrypted"] is True


def test_plain_file_with_decrypt_options_rejected(make_server, pki,
                                                  tmp_path):
    s = make_server()
    d = str(tmp_path)
    gen = People()
    first_batch(s, pki, d, gen)
    before = store_dump(s.store)
    people = gen.batch(4)
    s.add_people(people)
    csv = write_csv(d, people)
    for signer in (False, True):
        res = import_cms(s, csv, pki, signer=signer)
        assert_rejected(res, csv, before, s.store,
                        ["encrypted", "enveloped"])
    # signed but not encrypted is not an encrypted batch either
    signed = sign(d, csv, pki.provider_crt, pki.provider_key)
    res = import_cms(s, signed, pki)
    assert_rejected(res, signed, before, s.store, ["encrypted", "enveloped"])
    # --decrypt-cert without --decrypt-key is a usage error
    res = harness.run_import(s.store, s.key, csv,
                             extra=["--decrypt-cert", pki.import_crt])
    assert res.returncode == 2, res.stdout + res.stderr
    assert os.path.exists(csv)
    assert store_dump(s.store) == before
