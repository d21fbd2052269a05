"""The client register: `configtest` names the line and the fault of a
malformed VerifyClient line (SPEC section 2)."""

import re

import pytest

import harness

OK_TAIL = "approval=APP-1 valid=2020-01-01..2099-12-31"

BAD = {
    "unknown_check": ("bad ip=127.0.0.5 checks=resident,income " + OK_TAIL,
                      ("income", "check")),
    "bad_ip": ("bad ip=300.1.1.1 checks=resident " + OK_TAIL,
               ("300.1.1.1", "ip", "address")),
    "no_ip": ("bad checks=resident " + OK_TAIL, ("ip",)),
    "no_checks": ("bad ip=127.0.0.5 " + OK_TAIL, ("check",)),
    "no_approval": ("bad ip=127.0.0.5 checks=resident "
                    "valid=2020-01-01..2099-12-31", ("approval",)),
    "bad_date": ("bad ip=127.0.0.5 checks=resident approval=APP-1 "
                 "valid=2020-13-01..2099-12-31", ("valid", "date")),
    "reversed_period": ("bad ip=127.0.0.5 checks=resident approval=APP-1 "
                        "valid=2099-01-01..2020-01-01",
                        ("valid", "period", "before", "after", "range")),
    "bad_fingerprint": ("bad ip=127.0.0.5 checks=resident " + OK_TAIL +
                        " cert-sha256=xyz", ("cert-sha256", "sha256",
                                             "fingerprint", "hex")),
    "unknown_option": ("bad ip=127.0.0.5 checks=resident " + OK_TAIL +
                       " colour=blue", ("colour",)),
    "duplicate_name": ("testsys ip=127.0.0.5 checks=resident " + OK_TAIL,
                       ("testsys", "duplicate", "already")),
}


@pytest.mark.parametrize("fault", sorted(BAD))
def test_malformed_client_line(make_server, fault):
    line, words = BAD[fault]
    s = make_server(clients=harness.DEFAULT_CLIENTS + [line])
    res = s.configtest()
    out = res.stdout + res.stderr
    assert res.returncode != 0, "accepted: VerifyClient " + line
    conf = open(s.conf).read().splitlines()
    lineno = conf.index("VerifyClient " + line) + 1
    assert re.search(r"\bline %d\b" % lineno, out), out
    assert any(w.lower() in out.lower() for w in words), out


def test_good_register_passes(make_server, tmp_path):
    fp1, fp2 = "ab" * 32, "CD" * 32
    s = make_server(clients=harness.DEFAULT_CLIENTS + [
        "multi ip=127.0.0.5,127.0.0.6 checks=resident,indigenous,"
        "elderly_alone,disability approval=APP-9 "
        "valid=2020-01-01..2099-12-31 cert-sha256=%s,%s" % (fp1, fp2)])
    res = s.configtest()
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Syntax OK" in res.stdout + res.stderr
