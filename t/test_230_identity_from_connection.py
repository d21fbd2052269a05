"""Identity from the connection (hardening issue 6, item 5): the register
and the audit `ip` use the TCP peer, never a forwarded header; `ip=`
takes exact addresses only; two clients share an address only when both
are bound to certificates; a client known by a non-loopback address
alone is warned about at start."""


import pytest

import harness
from conftest import MPMS, _stop_all, household_server_fixture
from harness import fields_for

OK_TAIL = "approval=APP-1 valid=2020-01-01..2099-12-31"
FP_A, FP_B = "ab" * 32, "cd" * 32

REMOTEIP = """
LoadModule remoteip_module %s/mod_remoteip.so
RemoteIPHeader X-Forwarded-For
RemoteIPInternalProxy 127.0.0.1 127.0.0.2
""" % harness.MODDIR


@pytest.fixture(scope="module", params=MPMS)
def rserver(request):
    """mod_remoteip trusts 127.0.0.1 and 127.0.0.2 as proxies: it sets
    the request's client address from X-Forwarded-For."""
    s = household_server_fixture(request, n=4, seed="test_230",
                                 extra_conf=REMOTEIP)
    yield s
    errors = _stop_all([s])
    if errors:
        pytest.fail("\n".join(errors), pytrace=False)


@pytest.mark.parametrize("forwarded", ["127.0.0.4", "127.0.0.9",
                                       "127.0.0.1"])
def test_forwarded_header_changes_no_identity(rserver, forwarded):
    """From testsys's address, X-Forwarded-For naming another client
    (narrow), an unregistered address or its own changes neither
    the client identified nor the audit ip."""
    s = rserver
    p = s.people[0]
    r = s.post(fields_for(p, check="indigenous", case="XFF-1"),
               headers={"X-Forwarded-For": forwarded})
    # narrow may not ask indigenous: an answer means testsys answered
    assert r.status == 200, r
    a = s.audit_for(r.json["request_id"])
    assert len(a) == 1, a
    assert a[0]["client"] == "testsys"
    assert a[0]["ip"] == "127.0.0.1"


def test_forwarded_header_does_not_make_a_stranger_a_client(rserver):
    """From an unregistered address, a header naming testsys's address
    does not make the caller testsys."""
    s = rserver
    r = s.post(fields_for(s.people[1], case="XFF-2"),
               source_address=("127.0.0.2", 0),
               headers={"X-Forwarded-For": "127.0.0.1"})
    assert r.status == 403, r
    assert r.json["error"] == "unknown_client", r
    a = s.audit_for(r.json["request_id"])
    assert len(a) == 1, a
    assert a[0]["client"] is None
    assert a[0]["ip"] == "127.0.0.2"


# -- configtest: exact addresses, no silent sharing ---------------------

def configtest_fails(s, line, *words):
    out = s.configtest_refuses("VerifyClient " + line)
    for w in words:
        assert w in out, (w, out)


@pytest.mark.parametrize("addr", [
    "127.0", "127.1", "127.0.0", "10", "0x7f000001", "2130706433",
    "127.0.0.01", "127.0.0.1/32", "localhost", "fe80::1%lo",
    "::ffff:127.0.0.5",
])
def test_partial_or_other_address_forms_are_refused(make_server, addr):
    line = "partial ip=%s checks=resident %s" % (addr, OK_TAIL)
    s = make_server(clients=harness.DEFAULT_CLIENTS + [line])
    configtest_fails(s, line, '"%s"' % addr, "exact")


def test_exact_addresses_pass(make_server):
    s = make_server(clients=harness.DEFAULT_CLIENTS + [
        "exact ip=127.0.0.5,::1,2001:db8::7 checks=resident %s "
        "cert-sha256=%s" % (OK_TAIL, FP_A)])
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("second", [
    "other ip=127.0.0.4 checks=resident " + OK_TAIL,
    "other ip=127.0.0.4 checks=resident %s cert-sha256=%s"
    % (OK_TAIL, FP_B),
])
def test_shared_address_is_refused(make_server, second):
    """127.0.0.4 is narrow's (no certificate): another client on it,
    with a certificate or without, cannot be told apart from narrow."""
    s = make_server(clients=harness.DEFAULT_CLIENTS + [second])
    configtest_fails(s, second, "127.0.0.4", "narrow", "cert-sha256")


def test_shared_address_with_certificates_passes(make_server):
    s = make_server(clients=[
        "one ip=127.0.0.5 checks=resident %s cert-sha256=%s"
        % (OK_TAIL, FP_A),
        "two ip=127.0.0.6,127.0.0.5 checks=resident %s cert-sha256=%s"
        % (OK_TAIL, FP_B)])
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr


# -- start: a client known by a remote address alone is warned about -----

def test_unbound_remote_client_warns(make_server):
    line = "remote ip=192.0.2.10 checks=resident " + OK_TAIL
    s = make_server(clients=harness.DEFAULT_CLIENTS + [line])
    s.expect_log(r"VFY60: VerifyClient remote \(.*:\d+\) has no "
                 r"cert-sha256 and the non-loopback address 192\.0\.2\.10")
    s.start()
    assert "VFY60: VerifyClient remote" in s.error_log_text()
    # loopback clients (the default register) are not warned about
    assert "VFY60: VerifyClient testsys" not in s.error_log_text()


def test_bound_remote_client_does_not_warn(make_server):
    s = make_server(clients=harness.DEFAULT_CLIENTS + [
        "remote ip=192.0.2.10 checks=resident %s cert-sha256=%s"
        % (OK_TAIL, FP_A)])
    s.start()
    assert "VFY60" not in s.error_log_text()
