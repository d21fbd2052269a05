"""Names as people write them (issue 10, item 9): the same normal form at
import and at query time (verify_name.c: NFC, full-width to half-width,
spaces folded, case), and a romanised indigenous name beside the Han name
(the optional `romanised` column, or 羅馬拼音) that identity_match accepts
as well; through a real httpd."""

import os
import unicodedata

import pytest

import harness
from harness import People, fields_for

# Walis Nokan (瓦歷斯．諾幹, with the full-width stop registers use)
HAN = "瓦歷斯．諾幹"
ROMAN = "Walis Nokan"


def ask(s, p, name):
    r = s.post(fields_for(p, check="resident", name=name))
    assert r.status == 200, r
    return r.json["identity_match"]


def import_csv(s, header, rows):
    """Import the household batch @rows (lists of cells) under @header,
    plain (--allow-plain); returns the CompletedProcess."""
    d = s.workdir()
    path = os.path.join(d, "household.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(r) + "\n")
    return harness.run_import(s.store, s.key, path, allow_plain=True)


def people_for(s, gen):
    """Three people: an indigenous person with a romanised name, one
    with a Han name only, one with an accented Latin name."""
    a = gen.person(indigenous="mountain")
    b = gen.person()
    c = gen.person()
    a.name, b.name, c.name = HAN, "王小明", "José Lin"
    s.add_people([a, b, c])
    for v in (ROMAN, ROMAN.upper(), "Walis Nokana", "ＷＡＬＩＳ　ＮＯＫＡＮ"):
        s.add_secret(v)
    return a, b, c


def rows_for(a, b, c):
    return [[a.id, a.name, a.birth.isoformat(), "mountain", ROMAN],
            [b.id, b.name, b.birth.isoformat(), "", ""],
            [c.id, c.name, c.birth.isoformat(), "", ""]]


@pytest.mark.parametrize("header", [
    "id,name,birth_date,indigenous,romanised",
    "統一編號,姓名,出生日期,原住民身分別,羅馬拼音",
])
def test_romanised_and_forms(make_server, header):
    s = make_server(extra_conf="VerifyIdentityMismatchLimit 100")
    a, b, c = people_for(s, People())
    res = import_csv(s, header, rows_for(a, b, c))
    assert res.returncode == 0, res.stderr
    s.start()
    # the Han name, as registered and with a half-width stop
    assert ask(s, a, HAN) is True
    assert ask(s, a, "瓦歷斯.諾幹") is True
    # the romanised name: any case, full-width, spaces around and inside
    assert ask(s, a, ROMAN) is True
    assert ask(s, a, ROMAN.upper()) is True
    assert ask(s, a, "ＷＡＬＩＳ　ＮＯＫＡＮ") is True
    assert ask(s, a, "  walis   nokan ") is True
    # another name is not the person's
    assert ask(s, a, "Walis Nokana") is False
    assert ask(s, a, "王小明") is False
    # a Han name only: its own, in full-width spaces; not a romanised one
    assert ask(s, b, "\u3000王小明\u3000") is True
    assert ask(s, b, ROMAN) is False
    # NFC and NFD of the same name
    assert ask(s, c, unicodedata.normalize("NFD", "José Lin")) is True
    assert ask(s, c, "JOSÉ LIN") is True
    assert ask(s, c, "Jose Lin") is False


def test_romanised_column_optional_and_checked(make_server):
    """Without the column a batch imports as before; a romanised name is
    checked as a name is (and its fault names the line, never the name)."""
    s = make_server()
    gen = People()
    a, b, c = people_for(s, gen)
    res = import_csv(s, "id,name,birth_date,indigenous",
                     [r[:4] for r in rows_for(a, b, c)])
    assert res.returncode == 0, res.stderr
    rows = rows_for(a, b, c)
    rows[1][4] = "x" * 65
    res = import_csv(s, "id,name,birth_date,indigenous,romanised", rows)
    assert res.returncode == 1
    assert "line 3: romanised name longer than 64 characters" in res.stderr
    assert "x" * 65 not in res.stderr
    rows[1][4] = "bad\x01name"
    res = import_csv(s, "id,name,birth_date,indigenous,romanised", rows)
    assert res.returncode == 1
    assert "line 3: romanised name is not clean UTF-8 text" in res.stderr
    # the column only belongs to the household source
    d = s.workdir()
    path = os.path.join(d, "elderly.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,valid_until,romanised\n%s,2030-01-01,x\n" % a.id)
    res = harness.run_import(s.store, s.key, path, source="elderly_alone",
                             allow_plain=True)
    assert res.returncode == 1
    assert 'unknown column "romanised"' in res.stderr
    # the first batch is still the one served
    s.start()
    assert ask(s, a, HAN) is True
    assert ask(s, a, ROMAN) is False
