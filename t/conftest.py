"""Fixtures shared by the mod_verify integration tests."""

import os

import pytest

import harness

MPMS = ["event", "prefork"]


@pytest.fixture(scope="session", autouse=True)
def built():
    """The tests run against build/ (`make all` makes it), or what
    MOD_VERIFY_BUILD names."""
    missing = [p for p in (harness.MODULE, harness.VERIFY_IMPORT,
                           harness.VERIFY_AUDIT) if not os.path.exists(p)]
    if missing:
        pytest.fail("not built (run `make all`): " + ", ".join(missing),
                    pytrace=False)


# Under `make asan`: the sanitizer reports already told (or there before
# the session); t/harness/sanitizer.py
_told = set(harness.sanitizer.reports())


def _new_reports():
    new = [r for r in harness.sanitizer.reports() if r not in _told]
    _told.update(new)
    return new


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """A test fails when httpd or a tool wrote an ASan, LSan or UBSan
    report during its setup, call or teardown: checked after every
    fixture the test leaves is torn down (a module's server stops at its
    last test, and its children write their reports then)."""
    yield
    new = _new_reports()
    if new:
        pytest.fail("sanitizer report(s) during this test:\n"
                    + harness.sanitizer.read_reports(new), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    """One written after the last test's teardown fails the run."""
    new = _new_reports()
    if new:
        print("\nsanitizer report(s) after the last test:\n"
              + harness.sanitizer.read_reports(new))
        session.exitstatus = 1
    harness.sanitizer.cleanup()


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
