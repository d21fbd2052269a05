"""Big5 batches (SPEC section 5: files in UTF-8 or Big5, --encoding)."""

import os
import tempfile

import harness
from harness import fields_for


def big5_people(gen, n):
    """People whose names Big5 can encode (the generator's common
    surnames and given names are all in Big5)."""
    out = []
    while len(out) < n:
        p = gen.person()
        try:
            p.name.encode("big5")
        except UnicodeEncodeError:
            continue
        out.append(p)
    return out


def write(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_big5_batch_imported_and_matched(make_server):
    s = make_server()
    gen = harness.People()
    people = big5_people(gen, 12)
    s.add_people(people)
    text = harness.household_csv(people, chinese=True, dates="roc")
    d = tempfile.mkdtemp(prefix="mod_verify-big5-")
    try:
        data = text.encode("big5")
        assert data != text.encode("utf-8")        # really another coding

        # as the data provider sends it: the Big5 CSV signed and
        # encrypted; without --encoding it is refused as not UTF-8, by
        # line (the CMS layers opened, the content then decoded)
        plain, opts = harness.as_sent(write(d, "plain.csv", data))
        res = harness.run_import(s.store, s.key, plain, extra=opts)
        assert res.returncode != 0
        assert "not valid UTF-8" in res.stderr and "line " in res.stderr
        assert os.path.exists(plain)

        b5, opts = harness.as_sent(write(d, "big5.csv", data))
        res = harness.run_import(s.store, s.key, b5,
                                 extra=opts + ["--encoding", "big5"])
        assert res.returncode == 0, res.stdout + res.stderr
        assert not os.path.exists(b5)

        # a file that is not Big5 either: the line is named (a plain
        # file here, with --allow-plain)
        bad = write(d, "bad.csv", data + b"\xff\xff,\n")
        res = harness.run_import(s.store, s.key, bad, allow_plain=True,
                                 extra=["--encoding", "big5"])
        assert res.returncode != 0
        assert "not valid BIG5" in res.stderr, res.stderr
    finally:
        harness.shutil.rmtree(d, ignore_errors=True)

    s.start()
    for p in people[:6]:
        r = s.post(fields_for(p, name=p.name,
                              birth_date=p.birth.isoformat()))
        assert r.status == 200, r
        assert r.json["results"] == {"resident": True}
        # names were converted to UTF-8 before tagging: they match
        assert r.json["identity_match"] is True
