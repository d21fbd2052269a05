"""Fixtures shared by the mod_verify integration tests."""

import os

import pytest

import harness

MPMS = ["event", "prefork"]


@pytest.fixture(scope="session", autouse=True)
def built():
    """The tests run against build/ (`make all` makes it), or what
    MOD_VERIFY_BUILD names; at the end of the session, no sanitizer
    report may have appeared (a child exiting after its test)."""
    missing = [p for p in (harness.MODULE, harness.VERIFY_IMPORT,
                           harness.VERIFY_AUDIT) if not os.path.exists(p)]
    if missing:
        pytest.fail("not built (run `make all`): " + ", ".join(missing),
                    pytrace=False)
    seen = set(harness.sanitizer.reports())
    yield
    new = [r for r in harness.sanitizer.reports() if r not in seen]
    if new:
        pytest.fail("sanitizer reports written at the end of the session:"
                    "\n" + harness.sanitizer.read_reports(new),
                    pytrace=False)


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """Under `make asan`: the test fails when httpd or a tool wrote an
    ASan, LSan or UBSan report while it ran (t/harness/sanitizer.py)."""
    if not harness.sanitizer.ENABLED:
        yield
        return
    before = set(harness.sanitizer.reports())
    yield
    new = [r for r in harness.sanitizer.reports() if r not in before]
    if new:
        pytest.fail("sanitizer report(s) during this test:\n"
                    + harness.sanitizer.read_reports(new), pytrace=False)


def _stop_all(servers):
    errors = []
    for s in servers:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            s.cleanup()
    return errors


@pytest.fixture
def make_server():
    """Factory of servers stopped (and their logs checked) at teardown."""
    servers = []

    def factory(**kw):
        s = harness.Server(**kw)
        servers.append(s)
        return s

    yield factory
    errors = _stop_all(servers)
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


def household_server_fixture(request, n=40, seed=None, **server):
    """A started server whose store holds one household batch of @n
    people (s.people); s.outsiders are valid IDs not in the batch.
    @server: more arguments of harness.Server."""
    s = harness.Server(mpm=request.param, **server)
    gen = harness.People(seed)
    s.people = gen.batch(n)
    s.outsiders = [gen.person("citizen"), gen.person("resident")]
    s.add_people(s.outsiders)
    s.gen = gen
    s.import_household(s.people)
    try:
        s.start()
    except BaseException:
        s.cleanup()
        raise
    return s


@pytest.fixture(scope="module", params=MPMS)
def hserver(request):
    s = household_server_fixture(request)
    yield s
    errors = _stop_all([s])
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.fixture(params=MPMS)
def mpm(request):
    return request.param
