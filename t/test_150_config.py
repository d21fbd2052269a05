"""The client register: `configtest` names the line and the fault of a
malformed VerifyClient line (SPEC section 2)."""

import os
import subprocess

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
    "bad_rate": ("bad ip=127.0.0.5 checks=resident " + OK_TAIL +
                 " rate=10/hour", ("rate",)),
    "zero_rate": ("bad ip=127.0.0.5 checks=resident " + OK_TAIL +
                  " rate=0/s", ("rate",)),
}


@pytest.mark.parametrize("fault", sorted(BAD))
def test_malformed_client_line(make_server, fault):
    line, words = BAD[fault]
    s = make_server(clients=harness.DEFAULT_CLIENTS + [line])
    out = s.configtest_refuses("VerifyClient " + line)
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


def test_shipped_examples_pass_configtest(tmp_path):
    """conf/verify.load, verify.conf, clients.conf.example, the access
    log's format (verify-log.conf) and the TLS vhost example, with their paths pointed at throw-away files, pass
    `apache2 -t` together: the examples an admin copies are valid."""
    d = str(tmp_path)
    os.chmod(d, 0o755)
    harness.make_ca(d, "ca", "example client CA")
    harness.make_cert(d, "server", "127.0.0.1", ca="ca", server=True)
    repo = harness.REPO

    def text(name):
        with open(os.path.join(repo, "conf", name), encoding="utf-8") as f:
            return f.read()

    load = text("verify.load").replace(
        "/usr/lib/apache2/modules/mod_verify.so", harness.MODULE)
    glob = (text("verify.conf")
            .replace("/var/lib/verify/store", d + "/store")
            .replace("/etc/verify/pseudonym.key", d + "/pseudonym.key")
            .replace("/var/log/verify", d + "/audit"))
    # configtest reads the key file as start does: it must exist
    harness.make_key_file(d + "/pseudonym.key")
    clients = d + "/clients.conf"
    with open(clients, "w", encoding="utf-8") as f:
        f.write(text("clients.conf.example"))
    vhost = (text("vhost-verify.conf.example")
             .replace("*:443", "127.0.0.1:%d" % harness.free_port())
             .replace("/etc/ssl/certs/verify.example.gov.tw.crt",
                      d + "/server.crt")
             .replace("/etc/ssl/private/verify.example.gov.tw.key",
                      d + "/server.key")
             .replace("/etc/verify/client-ca.crt", d + "/ca.crt")
             .replace("/etc/verify/clients.conf", clients)
             .replace("${APACHE_LOG_DIR}", d))
    m = harness.MODDIR
    conf = "\n".join([
        "ServerRoot %s" % d, "DefaultRuntimeDir %s" % d,
        "PidFile %s/httpd.pid" % d, "ErrorLog %s/error.log" % d,
        "ServerName localhost",
        "LoadModule mpm_event_module %s/mod_mpm_event.so" % m,
        "LoadModule authz_core_module %s/mod_authz_core.so" % m,
        "LoadModule authz_host_module %s/mod_authz_host.so" % m,
        "LoadModule socache_shmcb_module %s/mod_socache_shmcb.so" % m,
        "LoadModule ssl_module %s/mod_ssl.so" % m,
        load, glob, text("verify-log.conf"), vhost, ""])
    path = d + "/httpd.conf"
    with open(path, "w", encoding="utf-8") as f:
        f.write(conf)
    res = subprocess.run([harness.APACHE, "-t", "-f", path],
                         capture_output=True, text=True,
                         env=harness.CLEAN_ENV, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Syntax OK" in res.stdout + res.stderr
