"""verify-import: household batches, all or nothing (SPEC section 5)."""

import os
import re

import pytest

import harness
from harness import People, fields_for, mask_id


def ask(s, person_or_id, check="resident", **kw):
    r = s.post(fields_for(person_or_id, check=check, **kw))
    assert r.status == 200, r
    return r.json


def assert_batch_answers(s, people, outsiders=()):
    for p in people:
        res = ask(s, p, check="resident,indigenous")["results"]
        assert res == {"resident": True,
                       "indigenous": p.indigenous in ("mountain", "plain")}, \
            (p, p.indigenous, res)
    for p in outsiders:
        res = ask(s, p, check="resident,indigenous")["results"]
        assert res["resident"] is False, p


def test_import_destroys_input_and_answers(make_server):
    s = make_server()
    gen = People()
    people = gen.batch(24)
    res = s.import_household(people)
    assert res.returncode == 0
    assert not os.path.exists(res.path), "input file was not destroyed"
    for p in people:
        assert p.id not in res.stdout + res.stderr
    s.start()
    outsider = gen.person()
    s.add_people([outsider])
    assert_batch_answers(s, people, [outsider])


def test_keep_input(make_server):
    s = make_server()
    people = People().batch(5)
    res = s.import_household(people, keep_input=True)
    assert os.path.exists(res.path), "--keep-input did not keep the file"


@pytest.mark.parametrize("chinese,dates", [
    (True, "roc"), (True, "roc_slash"), (False, "roc"), (True, "iso")])
def test_import_chinese_header_and_roc_dates(make_server, chinese, dates):
    s = make_server()
    gen = People()
    people = gen.batch(12)
    # an ROC year of three digits (born 2012 = ROC 101)
    people.append(gen.person(birth=harness.datetime.date(2012, 7, 9),
                             indigenous="plain"))
    s.import_household(people, chinese=chinese, dates=dates)
    s.start()
    assert_batch_answers(s, people)
    for p in people[:4] + people[-1:]:
        ans = ask(s, p, name=p.name, birth_date=p.birth.isoformat())
        assert ans["identity_match"] is True, (p, dates)
        other = p.birth.replace(day=p.birth.day % 28 + 1)
        ans = ask(s, p, birth_date=other.isoformat())
        assert ans["identity_match"] is False, (p, dates)


def test_import_crlf_and_bom(make_server):
    """A CSV saved by a spreadsheet on Windows: UTF-8 BOM, CRLF."""
    s = make_server()
    people = People().batch(8)
    s.import_household(people, chinese=True, crlf=True, bom=True)
    s.start()
    assert_batch_answers(s, people)
    p = people[1]
    assert ask(s, p, name=p.name)["identity_match"] is True


def test_dry_run_changes_nothing(make_server):
    s = make_server()
    gen = People()
    first = gen.batch(6)
    s.import_household(first)
    spooled = harness.spooled_events(s.store)
    second = gen.batch(6)
    s.add_people(second)
    d = s.workdir()
    path = os.path.join(d, "household.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(second))
    # the strict rules hold for a dry run too: the batch as sent
    pki = harness.batch_pki()
    p7m = pki.protect(path)
    res = harness.run_import(s.store, s.key, p7m, extra=pki.options() + [
        "--approved-until", harness.approved_until(), "--dry-run"])
    assert res.returncode == 0, res.stderr
    assert os.path.exists(p7m), "--dry-run destroyed the input"
    # and a plain file is taken only with --allow-plain
    res = harness.run_import(s.store, s.key, path, extra=["--dry-run"])
    assert res.returncode == 1 and "--allow-plain" in res.stderr, res.stderr
    res = harness.run_import(s.store, s.key, path, extra=["--dry-run"],
                             allow_plain=True)
    assert res.returncode == 0, res.stderr
    assert os.path.exists(path), "--dry-run destroyed the input"
    assert harness.spooled_events(s.store) == spooled, \
        "a dry run is recorded"
    s.start()
    assert_batch_answers(s, first, second)


def test_new_batch_replaces_source_while_running(make_server):
    s = make_server()
    gen = People()
    first = gen.batch(10)
    s.import_household(first)
    s.start()
    as_of_1 = ask(s, first[0])["as_of"]["household"]
    assert harness.AS_OF_RE.match(as_of_1), as_of_1
    harness.time.sleep(1.1)      # as_of has one-second resolution
    kept = first[:3]
    second = kept + gen.batch(10)
    s.import_household(second)
    # the running server sees the new batch without a restart
    assert_batch_answers(s, second, first[3:])
    as_of_2 = ask(s, second[-1])["as_of"]["household"]
    assert as_of_2 > as_of_1, (as_of_1, as_of_2)


# Faulty records: (name, builder(person, other) -> raw CSV line, words
# of which one must appear in the message, show the masked ID?)
FAULTS = {
    "checksum": (lambda p, o: "%s,%s,%s," % (harness.bad_checksum(p.id),
                                             p.name, p.birth.isoformat()),
                 ("check", "checksum"), True),
    "short_id": (lambda p, o: "%s,%s,%s," % (p.id[:9], p.name,
                                             p.birth.isoformat()),
                 ("length", "10", "id"), False),
    "bad_date": (lambda p, o: "%s,%s,1980-02-30," % (p.id, p.name),
                 ("date", "birth"), False),
    "bad_indigenous": (lambda p, o: "%s,%s,%s,river" % (p.id, p.name,
                                                        p.birth.isoformat()),
                       ("indigenous",), False),
    "missing_column": (lambda p, o: "%s,%s" % (p.id, p.name),
                       ("column", "field"), False),
    "duplicate": (lambda p, o: "%s,%s,%s," % (o.id, p.name,
                                              p.birth.isoformat()),
                  ("duplicate",), False),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_bad_batch_is_rejected_whole(make_server, fault):
    s = make_server()
    gen = People()
    first = gen.batch(8)
    s.import_household(first)
    s.start()
    before = {p.id: ask(s, p, check="resident,indigenous") for p in first}

    second = gen.batch(10)
    s.add_people(second)
    bad = gen.person()
    s.add_people([bad])
    build, words, masked = FAULTS[fault]
    # the faulty record becomes data row 7: file line 8 (header = line 1)
    raw = build(bad, second[2])
    res = harness.import_people(s.store, s.key, second, check=False,
                                extra_lines=[(6, raw)], workdir=s.workdir())
    out = res.stdout + res.stderr
    assert res.returncode != 0, "faulty batch accepted: %r" % out
    assert re.search(r"\bline 8\b", res.stderr), res.stderr
    if fault == "duplicate":
        # second[2] is on line 4
        assert re.search(r"\b4\b", res.stderr), res.stderr
    assert any(w in res.stderr.lower() for w in words), res.stderr
    bad_id = raw.split(",")[0]
    shown = second[2].id if fault == "duplicate" else bad_id
    if masked:
        assert mask_id(shown) in res.stderr, res.stderr
    for p in second + [bad]:
        for v in (p.id, p.id.lower()):
            assert v not in out, "clear ID in the importer's output"
    if len(bad_id) >= 9:
        assert bad_id not in out, "clear ID in the importer's output"
    assert os.path.exists(res.path), "input file of a failed import deleted"

    # the store is exactly as it was
    after = {p.id: ask(s, p, check="resident,indigenous") for p in first}
    for pid in before:
        assert after[pid]["results"] == before[pid]["results"]
        assert after[pid]["as_of"] == before[pid]["as_of"]
    for p in second:
        assert ask(s, p)["results"]["resident"] is False


def test_bad_header_is_rejected(make_server):
    s = make_server()
    people = People().batch(4)
    s.add_people(people)
    text = harness.household_csv(people).replace(
        "id,name,birth_date,indigenous", "identity,who,born,tribe", 1)
    d = s.workdir()
    path = os.path.join(d, "h.csv")
    with open(path, "w") as f:
        f.write(text)
    res = harness.run_import(s.store, s.key, path, allow_plain=True)
    assert res.returncode != 0
    assert re.search(r"\bline 1\b", res.stderr), res.stderr
    assert os.path.exists(path)
    s.start()
    r = s.post(fields_for(people[0]))
    assert r.status == 503 and r.json["error"] == "store_unavailable", r
    s.expect_log(r"\[verify:warn\].*store")


def test_linked_input_refused_before_anything(tmp_path):
    """An input with another hard link or reached through a symbolic
    link could not be destroyed after the import (R4.4): it is refused
    before the store is touched; --keep-input imports it."""
    d = str(tmp_path)
    store = os.path.join(d, "store")
    key = harness.make_key_file(os.path.join(d, "k.key"))
    people = harness.People().batch(3)
    path = os.path.join(d, "batch.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write(harness.household_csv(people))
    os.link(path, os.path.join(d, "copy.csv"))
    res = harness.run_import(store, key, path, allow_plain=True)
    assert res.returncode != 0 and "hard links" in res.stderr, res.stderr
    assert harness.no_snapshot(store)
    os.unlink(os.path.join(d, "copy.csv"))
    link = os.path.join(d, "link.csv")
    os.symlink(path, link)
    res = harness.run_import(store, key, link, allow_plain=True)
    assert res.returncode != 0 and "symbolic link" in res.stderr
    assert os.path.exists(path) and harness.no_snapshot(store)
    # the store made only to hold the spool: both attempts recorded
    events = harness.spooled_events(store)
    assert [(e["result"], e["sha256"]) for e in events] == \
        [("refused", None)] * 2, events
    assert "hard links" in events[0]["fault"]
    assert "symbolic link" in events[1]["fault"]
    res = harness.run_import(store, key, link, keep_input=True,
                             allow_plain=True)
    assert res.returncode == 0, res.stderr
    assert os.path.exists(path)
