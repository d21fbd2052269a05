"""The Debian package (issue 10 item 1).

`make deb` builds libapache2-mod-verify; lintian finds nothing in it.
Installed with apt on this machine it makes the directories of the admin
guide with their owners and modes; `a2enmod verify` enables it; the
system's apache2, on a private configuration (its own ServerRoot, PidFile
and a free loopback port) that takes the module's files from
/etc/apache2/mods-enabled, passes `apache2ctl configtest` and serves an
audited answer from a batch the installed verify-import imported. Then
`apt-get remove` and `apt-get purge` leave nothing but what purge is
documented to keep (the audit log and its records). The machine is left
as it was found: the package purged, every directory it made removed.

Also: the tools' --version is debian/changelog's; their manual pages name
every option their --help lists; `make install DESTDIR=` installs the
same files as the package and makes the same directories; the table of
directories is the one the docs show.
"""

import contextlib
import datetime
import fcntl
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import harness

REPO = harness.REPO
PKG = "libapache2-mod-verify"
DIRS_TABLE = os.path.join(REPO, "conf", "directories")
ADMIN_GUIDE = os.path.join(REPO, "docs", "admin-guide.md")
README_DEBIAN = os.path.join(REPO, "debian", "README.Debian")
MODS = "/etc/apache2/mods-available"
APACHE_STATE = "/var/lib/apache2/module"
# the package's data: absent before the test, absent after it
TOP_DIRS = ["/etc/verify", "/var/lib/verify", "/var/log/verify",
            "/var/log/verify-import"]
# Debian's apache2ctl makes these whenever it runs, and a2query (from
# a2enmod and from the maintainer scripts' helper) runs it: removed again
# (when empty) if they were not there before
APACHE2CTL_DIRS = ["/var/run/apache2/socks", "/var/run/apache2",
                   "/var/lock/apache2"]
INSTALLED_FILES = [
    "/usr/lib/apache2/modules/mod_verify.so",
    "/usr/sbin/verify-import",
    "/usr/sbin/verify-audit",
    "/usr/share/man/man8/verify-import.8.gz",
    "/usr/share/man/man8/verify-audit.8.gz",
    "/lib/systemd/system/verify-import-watch@.service",
    MODS + "/verify.load",
    MODS + "/verify.conf",
]
# what purge keeps once the server has answered: each with the words
# postrm says it with
KEPT_ON_PURGE = {
    "/var/log/verify": "it holds the audit log, which must be kept 5 years",
    "/var/lib/verify/checkpoints": "it holds the signed checkpoints",
    "/var/log/verify-import": "it holds the import records",
    "/etc/verify": "it holds your files (keys, client register)",
}
APT_ENV = dict(harness.CLEAN_ENV, DEBIAN_FRONTEND="noninteractive")
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=300",
       "-o", "Dpkg::Use-Pty=0"]


def run(cmd, timeout=300, env=None, check=True, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True,
                         errors="replace", timeout=timeout,
                         env=env or harness.CLEAN_ENV, **kw)
    if check:
        assert res.returncode == 0, "%s: exit %d\n%s%s" % (
            " ".join(cmd), res.returncode, res.stdout[-3000:],
            res.stderr[-3000:])
    return res


def version():
    with open(os.path.join(REPO, "debian", "changelog")) as f:
        return re.match(r"\S+ \(([^)]+)\)", f.readline()).group(1)


def dirs_table():
    """[(path, owner, group, mode)] of conf/directories."""
    rows = []
    with open(DIRS_TABLE) as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if fields:
                assert len(fields) == 4, line
                rows.append((fields[0], fields[1], fields[2],
                             int(fields[3], 8)))
    return rows


def stat_of(path):
    import grp
    import pwd
    st = os.lstat(path)
    return (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
            st.st_mode & 0o7777)


@pytest.fixture(scope="module")
def deb():
    """The package `make deb` builds (nothing to do when it is fresh)."""
    run(["make", "-s", "deb"], timeout=900, cwd=REPO,
        env=dict(os.environ))
    path = os.path.join(REPO, "build", "deb",
                        "%s_%s_%s.deb" % (PKG, version(), run(
                            ["dpkg", "--print-architecture"]).stdout.strip()))
    assert os.path.exists(path), path
    return path


# -- the sources agree ----------------------------------------------------

def test_version_from_changelog():
    for tool in (harness.VERIFY_IMPORT, harness.VERIFY_AUDIT):
        res = run([tool, "--version"])
        assert res.stdout == "%s (mod_verify) %s\n" % (
            os.path.basename(tool), version())
        res = run([tool, "--help"])
        assert "--version" in res.stdout and "--help" in res.stdout


def man_text(name):
    res = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
               os.path.join(REPO, "docs", "man", name + ".8")])
    assert not res.stderr, "%s.8: %s" % (name, res.stderr)
    return run(["man", "-l", os.path.join(REPO, "docs", "man",
                                          name + ".8")],
               env=dict(harness.CLEAN_ENV, MANWIDTH="200")).stdout


def test_man_pages_cover_help():
    """Every option and command --help lists is in the manual page (so
    an option added to a tool fails here until its page says it)."""
    for tool in (harness.VERIFY_IMPORT, harness.VERIFY_AUDIT):
        name = os.path.basename(tool)
        page = man_text(name).replace("\u2010", "-")
        page = re.sub(r"-\n\s*", "-", page)
        help_text = run([tool, "--help"]).stdout
        options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", help_text))
        missing = sorted(o for o in options if o not in page)
        assert not missing, "%s(8) lacks %s" % (name, ", ".join(missing))
        if name == "verify-audit":
            # "  NAME   what it does", "  NAME --opt ...", "  NAME [--opt"
            commands = re.findall(r"^  ([a-z][a-z-]+)(?= {2}| --| \[)",
                                  help_text, re.M)
            assert len(commands) >= 5, help_text
            missing = [c for c in commands
                       if not re.search(r"^\s+%s\b" % re.escape(c), page,
                                        re.M)]
            assert not missing, "verify-audit(8) lacks the command(s) " \
                + ", ".join(missing)


def test_directories_documented():
    """conf/directories is the table of admin-guide.md §1 and of
    README.Debian, row for row."""
    rows = [(p, "%s:%s" % (o, g), "%04o" % m) for p, o, g, m in dirs_table()]
    assert len(rows) >= 8
    guide = open(ADMIN_GUIDE, encoding="utf-8").read()
    section = guide.split("\n## 1.", 1)[1].split("\n## 2.", 1)[0]
    doc = re.findall(r"^\| `(/[^`]+)` \| (\S+) \| (\d{4}) \|", section, re.M)
    assert doc == rows, "admin-guide.md §1 and conf/directories differ"
    text = open(README_DEBIAN, encoding="utf-8").read()
    deb_rows = re.findall(r"^  (/\S+)\s+(\S+:\S+)\s+(\d{4})", text, re.M)
    assert deb_rows == rows, "debian/README.Debian and conf/directories " \
        "differ"


# -- the package ------------------------------------------------------------

def test_lintian_clean(deb):
    """No lintian tag at all, pedantic included (there are no overrides)."""
    if not shutil.which("lintian"):
        pytest.fail("lintian is not installed (scripts/install-deps.sh "
                    "installs it)", pytrace=False)
    res = run(["lintian", "--display-level", ">=pedantic", "-E",
               "--color", "never", deb], timeout=300, check=False)
    tags = [l for l in res.stdout.splitlines() if re.match(r"[EWIPX]: ", l)]
    assert res.returncode == 0 and not tags, res.stdout + res.stderr


def deb_files(deb):
    """{path: (owner/group, mode)} of the package's files and dirs."""
    out = {}
    for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
        perm, owner, _size, _d, _t, path = line.split(None, 5)
        out[path[1:].rstrip("/") or "/"] = (owner, perm)
    return out


def test_deb_contents(deb):
    files = deb_files(deb)
    for f in INSTALLED_FILES:
        assert f in files, f
    assert {o for o, _ in files.values()} == {"root/root"}
    # the data directories are made by postinst, never shipped
    for path, *_ in dirs_table():
        assert path not in files, path + " is shipped in the .deb"
    assert files["/usr/lib/apache2/modules/mod_verify.so"][1] == "-rw-r--r--"


def test_make_install_destdir(deb, tmp_path):
    """`make install` stages the package's files, and makes the
    directories with their owners (as root) and modes."""
    dest = str(tmp_path / "dest")
    res = run(["make", "-s", "install", "DESTDIR=" + dest, "PREFIX=/usr"],
              cwd=REPO, env=dict(os.environ), timeout=300)
    staged = set()
    for top, dirs, names in os.walk(dest):
        for n in names:
            staged.add(os.path.join(top, n)[len(dest):])
    packaged = {p for p, (_, perm) in deb_files(deb).items()
                if not perm.startswith("d")
                and not p.startswith("/usr/share/doc/")}
    packaged = {p[:-3] if p.startswith("/usr/share/man/") else p
                for p in packaged}
    assert staged == packaged, (sorted(staged ^ packaged), res.stderr)
    for path, owner, group, mode in dirs_table():
        got = stat_of(dest + path)
        want = (owner, group, mode) if harness.IS_ROOT else got[:2] + (
            mode & 0o777,)
        assert got == want, "%s: %r, not %r" % (path, got, want)
    # again: what exists is left alone, without a word when it is right
    res = run(["sh", os.path.join(REPO, "scripts", "install-dirs.sh"), dest,
               DIRS_TABLE])
    assert res.stderr == "" or not harness.IS_ROOT, res.stderr


# -- installed on this machine -----------------------------------------------

def machine_state():
    """What the test must leave as it found it."""
    state = {
        "package": run(["dpkg-query", "-W", "-f", "${Status}", PKG],
                       check=False).stdout,
        "paths": {p: os.path.lexists(p)
                  for p in TOP_DIRS + INSTALLED_FILES + APACHE2CTL_DIRS},
    }
    for d in ("/etc/apache2/mods-enabled", MODS):
        state[d] = sorted(os.listdir(d))
    state[APACHE_STATE] = sorted(
        os.path.relpath(os.path.join(top, n), APACHE_STATE)
        for top, _, names in os.walk(APACHE_STATE) for n in names)
    return state


@contextlib.contextmanager
def machine_lock():
    """One package test at a time on this machine (other trees run the
    suite too): an flock on /etc/apache2 itself, so no lock file is left
    behind."""
    fd = os.open("/etc/apache2", os.O_RDONLY | os.O_DIRECTORY)
    try:
        end = time.time() + 900
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > end:
                    pytest.fail("another package test holds /etc/apache2's "
                                "lock", pytrace=False)
                time.sleep(1)
        yield
    finally:
        os.close(fd)


def installed():
    res = run(["dpkg-query", "-W", "-f", "${Status}", PKG], check=False)
    return res.returncode == 0 and "not-installed" not in res.stdout


def apt(*args):
    res = run(APT + list(args), env=APT_ENV, timeout=600, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, "apt-get %s:\n%s" % (" ".join(args),
                                                    out[-4000:])
    return out


def services_denied():
    """True when invoke-rc.d may not restart apache2 here (a policy-rc.d
    that says 101): then the module may stay enabled through `apt-get
    remove`, whose prerm asks for a restart, without starting anything."""
    res = subprocess.run(["/usr/sbin/policy-rc.d", "apache2", "restart"],
                         capture_output=True, env=harness.CLEAN_ENV) \
        if os.access("/usr/sbin/policy-rc.d", os.X_OK) else None
    return res is not None and res.returncode == 101


def make_batch(d, people):
    """A household batch signed by a data provider and encrypted to an
    import certificate, as data-formats.md §1 shows, all with the openssl
    command line. Returns (p7m path, import-options)."""
    def ossl(*args):
        run(["openssl"] + list(args), cwd=d, timeout=60)
    ossl("req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
         "ca.crt", "-days", "2", "-subj", "/CN=provider CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    with open(os.path.join(d, "provider.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=emailProtection\n")
    ossl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", "provider.key", "-out", "provider.csr",
         "-subj", "/CN=data provider")
    ossl("x509", "-req", "-in", "provider.csr", "-CA", "ca.crt", "-CAkey",
         "ca.key", "-CAcreateserial", "-out", "provider.crt", "-days", "2",
         "-extfile", "provider.ext")
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         "import.key", "-out", "import.crt", "-days", "2", "-subj",
         "/CN=county import")
    for k in ("ca.key", "provider.key", "import.key"):
        os.chmod(os.path.join(d, k), 0o400)
    with open(os.path.join(d, "batch.csv"), "w", encoding="utf-8") as f:
        f.write(harness.household_csv(people))
    ossl("cms", "-sign", "-binary", "-nodetach", "-in", "batch.csv",
         "-signer", "provider.crt", "-inkey", "provider.key", "-outform",
         "DER", "-out", "batch.signed")
    p7m = "/var/lib/verify/incoming/household.csv.p7m"
    ossl("cms", "-encrypt", "-binary", "-aes-256-cbc", "-in",
         "batch.signed", "-inform", "DER", "-outform", "DER", "-out", p7m,
         "import.crt")
    os.remove(os.path.join(d, "batch.csv"))
    return p7m, ["--decrypt-cert", os.path.join(d, "import.crt"),
                 "--decrypt-key", os.path.join(d, "import.key"),
                 "--signer-ca", os.path.join(d, "ca.crt")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_private_conf(root, port):
    """The system's apache2 on a private ServerRoot: its modules as
    `a2enmod` left them in /etc/apache2/mods-enabled (verify.load and
    verify.conf among them), one loopback port, the verify vhost."""
    for d in ("run", "lock", "log"):
        os.makedirs(os.path.join(root, d), mode=0o755)
    env = {
        "APACHE_RUN_USER": "www-data", "APACHE_RUN_GROUP": "www-data",
        "APACHE_RUN_DIR": root + "/run", "APACHE_LOCK_DIR": root + "/lock",
        "APACHE_LOG_DIR": root + "/log",
        "APACHE_PID_FILE": root + "/run/apache2.pid",
    }
    with open(os.path.join(root, "envvars"), "w") as f:
        f.write("".join("export %s=%s\n" % kv for kv in env.items()))
    with open(os.path.join(root, "apache2.conf"), "w") as f:
        f.write("""# t/test_960_deb.py: the system's apache2, privately
ServerRoot "{r}"
DefaultRuntimeDir "{r}/run"
PidFile "{r}/run/apache2.pid"
ErrorLog "{r}/log/error.log"
LogLevel warn
User www-data
Group www-data
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
IncludeOptional /etc/apache2/mods-enabled/*.load
IncludeOptional /etc/apache2/mods-enabled/*.conf
# verify.conf (mods-enabled) gives VerifyStore, VerifyKeyFile and
# VerifyAuditLog; the checkpoints go to the package's directory
VerifyCheckpointKey /etc/verify/checkpoint.pem
VerifyCheckpointDir /var/lib/verify/checkpoints
VerifyCheckpointSyslog off
Include "{r}/verify-site.conf"
""".format(r=root, port=port))
    with open(os.path.join(root, "verify-site.conf"), "w") as f:
        f.write("""<VirtualHost 127.0.0.1:{port}>
    ServerName 127.0.0.1
    VerifyClient pkgtest ip=127.0.0.1 checks=resident \\
                 approval=APP-PKG-1 valid=2020-01-01..2099-12-31
    <Location /verify>
        SetHandler verify
        Require ip 127.0.0.1
    </Location>
</VirtualHost>
""".format(port=port))
    return dict(harness.CLEAN_ENV, **env)


class PrivateApache:
    def __init__(self, root):
        self.root, self.env, self.proc = root, None, None

    def start(self, port):
        self.proc = subprocess.Popen(
            ["/usr/sbin/apache2", "-d", self.root, "-k", "start",
             "-DFOREGROUND"], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        assert harness.wait_port(port, 20, self.proc), self.error_log()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        subprocess.run(["/usr/sbin/apache2", "-d", self.root, "-k", "stop"],
                       env=self.env, capture_output=True, timeout=60)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            # its own session: the parent and the children it forked
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def error_log(self):
        try:
            return open(self.root + "/log/error.log", errors="replace").read()
        except OSError:
            return ""


def check_dirs_made():
    for path, owner, group, mode in dirs_table():
        assert os.path.isdir(path) and not os.path.islink(path), path
        assert stat_of(path) == (owner, group, mode), \
            "%s: %r" % (path, stat_of(path))


def check_nothing_installed():
    res = run(["dpkg", "-L", PKG], check=False)
    assert res.returncode != 0 and not res.stdout.strip(), res.stdout
    assert not installed()
    for f in INSTALLED_FILES:
        assert not os.path.lexists(f), f
    for d in ("/etc/apache2/mods-enabled", MODS):
        assert not [n for n in os.listdir(d) if n.startswith("verify.")]
    assert not glob.glob(APACHE_STATE + "/*/verify")


def test_deb_install_serve_purge(deb):
    if not harness.IS_ROOT:
        pytest.skip("installing a package needs root")
    with machine_lock():
        before = machine_state()
        if installed() or any(os.path.lexists(p) for p in TOP_DIRS):
            pytest.fail("%s or its directories (%s) are already on this "
                        "machine: the test would change them"
                        % (PKG, ", ".join(TOP_DIRS)), pytrace=False)
        work = tempfile.mkdtemp(prefix="mod_verify-deb-")
        os.chmod(work, 0o755)
        apache = PrivateApache(os.path.join(work, "apache2"))
        try:
            install_and_serve(deb, work, apache)
        finally:
            apache.stop()
            if installed() or run(["dpkg-query", "-W", PKG],
                                  check=False).returncode == 0:
                run(APT + ["purge", PKG], env=APT_ENV, timeout=600,
                    check=False)
                run(["dpkg", "--purge", PKG], check=False)
            for p in TOP_DIRS:
                if os.path.lexists(p):
                    shutil.rmtree(p)
            for p in APACHE2CTL_DIRS:
                if not before["paths"][p]:
                    with contextlib.suppress(OSError):
                        os.rmdir(p)
            shutil.rmtree(work, ignore_errors=True)
        assert machine_state() == before


def install_and_serve(deb, work, apache):
    # an install purged at once leaves nothing at all
    apt("install", "--no-install-recommends", deb)
    check_dirs_made()
    out = apt("purge", PKG)
    assert "purge kept" not in out, out
    check_nothing_installed()
    for p in TOP_DIRS:
        assert not os.path.lexists(p), p + " left by purge"

    # installed, not enabled (verify.conf needs a key and a store first)
    apt("install", "--no-install-recommends", deb)
    check_dirs_made()
    assert not os.path.lexists("/etc/apache2/mods-enabled/verify.load")
    for tool in ("verify-import", "verify-audit"):
        res = run(["/usr/sbin/" + tool, "--version"])
        assert res.stdout == "%s (mod_verify) %s\n" % (tool, version())
        assert run(["/usr/sbin/" + tool, "--help"]).stdout.startswith(
            "usage: " + tool)
    assert "verify-import" in run(["man", "-w", "8", "verify-import"]).stdout

    # the keys, as the admin guide makes them
    run(["sh", "-c", "umask 077; openssl rand -hex 32 > "
         "/etc/verify/pseudonym.key; openssl genpkey -algorithm ed25519 "
         "-out /etc/verify/checkpoint.pem; chmod 0400 "
         "/etc/verify/pseudonym.key /etc/verify/checkpoint.pem"])

    # a first batch, with the installed importer
    people = harness.People(960).batch(6)
    p7m, cms = make_batch(work, people)
    until = (harness.today_taipei() + datetime.timedelta(days=30)).isoformat()
    res = run(["/usr/sbin/verify-import", "--store", "/var/lib/verify/store",
               "--key", "/etc/verify/pseudonym.key", "--source", "household",
               "--approved-until", until] + cms + [p7m], check=False)
    assert res.returncode == 0, res.stderr
    with open("/var/log/verify-import/imports.jsonl", "a") as f:
        f.write(res.stdout)
    event = json.loads(res.stdout)
    assert (event["result"], event["records"], event["input"]) == \
        ("accepted", 6, "destroyed")
    assert os.listdir("/var/lib/verify/incoming") == []

    out = run(["a2enmod", "verify"]).stdout
    assert "Enabling module verify" in out, out
    for f in ("verify.load", "verify.conf"):
        assert os.path.realpath("/etc/apache2/mods-enabled/" + f) == \
            MODS + "/" + f

    port = free_port()
    os.mkdir(apache.root, 0o755)
    apache.env = write_private_conf(apache.root, port)
    res = run(["apache2ctl", "configtest"],
              env=dict(harness.CLEAN_ENV, APACHE_CONFDIR=apache.root),
              check=False)
    assert res.returncode == 0 and "Syntax OK" in res.stderr, \
        res.stdout + res.stderr

    apache.start(port)
    try:
        answered = serve_one(port, people[0])
    finally:
        apache.stop()
    log = apache.error_log()
    bad = [l for l in log.splitlines()
           if harness.LEVEL_RE.search(l) or harness.CRASH_RE.search(l)]
    assert not bad, log
    check_audit(answered)

    # remove: the programs go, the data and the conffiles stay
    if not services_denied():
        # nothing may restart the machine's apache2 for us
        run(["a2dismod", "verify"])
    apt("remove", PKG)
    assert not os.path.lexists("/usr/lib/apache2/modules/mod_verify.so")
    assert not os.path.lexists("/etc/apache2/mods-enabled/verify.load")
    assert os.path.exists(MODS + "/verify.conf")
    assert "config-files" in run(["dpkg-query", "-W", "-f", "${Status}",
                                  PKG]).stdout
    for path, *_ in dirs_table():
        assert os.path.isdir(path), path + " removed by `apt-get remove`"

    # purge: the store goes, the records stay and postrm says so
    out = apt("purge", PKG)
    check_nothing_installed()
    for path, why in KEPT_ON_PURGE.items():
        assert os.path.isdir(path), path
        assert "purge kept %s: %s" % (path, why) in out, out
    for path in ("/var/lib/verify/store", "/var/lib/verify/incoming"):
        assert not os.path.lexists(path), path + " left by purge"
    assert sorted(os.listdir("/var/lib/verify")) == ["checkpoints"]
    assert glob.glob("/var/log/verify/audit-*.jsonl")


def serve_one(port, person):
    body, ctype = harness.encode_body(harness.fields_for(
        person, case="C-PKG-1", reason="package test"), "form")
    r = harness.request(port, "POST", "/verify", body=body,
                        headers={"Content-Type": ctype})
    assert r.status == 200, r
    answer = r.json
    assert answer["results"] == {"resident": True}, answer
    assert answer["receipt"]["seq"] >= 1
    return answer


def check_audit(answer):
    """The answer's line is in the package's audit directory, after the
    import event httpd took from the package's spool, and the installed
    verify-audit finds the chain intact."""
    lines = []
    for f in sorted(glob.glob("/var/log/verify/audit-*.jsonl")):
        with open(f, encoding="utf-8") as fh:
            lines += [json.loads(l) for l in fh]
    mine = [l for l in lines if l.get("request_id") == answer["request_id"]]
    assert len(mine) == 1, lines
    line = mine[0]
    assert (line["op"], line["status"], line["client"], line["case"]) == \
        ("verify", 200, "pkgtest", "C-PKG-1")
    assert line["seq"] == answer["receipt"]["seq"]
    ops = [l["op"] for l in lines]
    assert "import" in ops and "checkpoint" in ops, ops
    assert [n for n in os.listdir("/var/lib/verify/store/events")
            if n.endswith(".json")] == []
    assert glob.glob("/var/lib/verify/checkpoints/checkpoint-*")
    res = run(["/usr/sbin/verify-audit", "verify", "/var/log/verify"],
              check=False)
    assert res.returncode == 0, res.stdout + res.stderr
