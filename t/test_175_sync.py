"""VerifyAuditSync On: every answer waits for its line to be synced, and
concurrent requests share syncs (group commit) without losing, repeating
or reordering a line, under both MPMs and both chain locks."""

import concurrent.futures

import pytest

import harness
from harness import fields_for

MPMS = ["event", "prefork"]


@pytest.mark.parametrize("lock", ["futex", "mutex"])
@pytest.mark.parametrize("mpm", MPMS)
def test_synced_answers_under_concurrency(make_server, mpm, lock):
    s = make_server(mpm=mpm, extra_conf="VerifyAuditSync On\n"
                    "VerifyAuditLock %s\n" % lock)
    gen = harness.People()
    people = gen.batch(20)
    outsider = gen.person()
    s.add_people([outsider])
    s.import_household(people)
    s.start()

    jobs = [(people[i % len(people)] if i % 5 else outsider, i)
            for i in range(400)]

    def ask(job):
        person, i = job
        r = s.post(fields_for(person, case="SYNC-%d" % i))
        return person, i, r

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(ask, jobs))
    ids = set()
    for person, i, r in results:
        assert r.status == 200, (i, r)
        d = r.json
        assert d["results"]["resident"] is (person is not outsider)
        ids.add(d["request_id"])
    assert len(ids) == len(jobs)

    lines = harness.read_audit(s.audit)
    assert not harness.chain_problems(lines)
    queries = [l for l in lines if l.get("op") == "verify"]
    assert sorted(l["request_id"] for l in queries) == sorted(ids)
    assert sorted(l["case"] for l in queries) == \
        sorted("SYNC-%d" % i for i in range(400))
    res = harness.run_audit_tool("verify", s.audit)
    assert res.returncode == 0, res.stdout + res.stderr
