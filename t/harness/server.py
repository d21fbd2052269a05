"""A private httpd per test server.

Each Server writes its own minimal httpd.conf into a fresh temporary
directory, starts /usr/sbin/apache2 on 127.0.0.1 and a free port, and on
stop fails the test when the error log holds an
[warn]/[error]/[crit]/[alert]/[emerg] line that the test did not declare
as expected, or when personal data used by the test (clear IDs, names,
birth dates) shows up in the error log or the audit files.

httpd runs as `apache2 -f CONF -k start -DFOREGROUND` as a child of the
test process: `-k stop` / `-k graceful` still go through the PidFile, but
the test process can reap the parent (a detached httpd would linger as a
zombie under init systems that do not reap).
"""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

from .audit import audit_files, read_audit
from .client import encode_body, request
from . import sanitizer
from .env import APACHE, CLEAN_ENV, IS_ROOT, MODDIR, MODULE, RUN_USER
from .people import id_valid, mask_id, roc_date
from .tools import (import_people, make_key_file, make_signing_key,
                    verifier_key)

LEVEL_RE = re.compile(r"\[[\w.-]*:(warn|error|crit|alert|emerg)\]")
# a child that died of a signal is logged at notice level only
CRASH_RE = re.compile(r"AH00052|exit signal|AH00051")

DEFAULT_CLIENTS = [
    "testsys ip=127.0.0.1 checks=resident,indigenous,identity "
    "approval=APP-2026-001 valid=2020-01-01..2099-12-31",
    "oldsys  ip=127.0.0.3 checks=resident approval=APP-2019-007 "
    "valid=2019-01-01..2020-12-31",
    "narrow  ip=127.0.0.4 checks=resident approval=APP-2026-002 "
    "valid=2020-01-01..2099-12-31",
]

# the threaded MPMs (event, worker) share their sizes
_THREADED_CONF = """
StartServers 2
ServerLimit 16
ThreadLimit 4
ThreadsPerChild 4
MaxRequestWorkers 32
MinSpareThreads 4
MaxSpareThreads 32
"""

MPM_CONF = {
    "prefork": """
StartServers 4
MinSpareServers 4
MaxSpareServers 16
ServerLimit 32
MaxRequestWorkers 32
MaxConnectionsPerChild 0
""",
    "event": _THREADED_CONF + "MaxConnectionsPerChild 0\n",
    "worker": _THREADED_CONF,
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None):
    end = time.time() + timeout
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def chown_run_user(path, mode):
    if IS_ROOT:
        shutil.chown(path, RUN_USER, RUN_USER)
    os.chmod(path, mode)


class Server:
    """A private httpd with mod_verify loaded.

    Layout of self.root (mode 0755):
      httpd.conf, run/ (pid, runtime files), logs/error.log,
      htdocs/static/small.txt, store/ (LMDB, root:www-data 2750),
      pseudonym.key (0400, root), audit/ (www-data, 0750)
    """

    def __init__(self, mpm="event", clients=None, extra_conf="",
                 vhost_conf="", tls=None, store=None, key=None, audit=None,
                 loglevel="warn verify:info", location=True,
                 checkpoints=False):
        self.mpm = mpm
        self.root = tempfile.mkdtemp(prefix="mod_verify-t-")
        os.chmod(self.root, 0o755)
        for d in ("run", "logs", "htdocs", "htdocs/static"):
            os.mkdir(os.path.join(self.root, d))
            os.chmod(os.path.join(self.root, d), 0o755)
        with open(os.path.join(self.root, "htdocs/static/small.txt"), "w") as f:
            f.write("small static file for benchmarks\n")
        os.chmod(os.path.join(self.root, "htdocs/static/small.txt"), 0o644)
        self.conf = os.path.join(self.root, "httpd.conf")
        self.pidfile = os.path.join(self.root, "run/httpd.pid")
        self.error_log = os.path.join(self.root, "logs/error.log")
        self.store = store or self.make_store_dir(
            os.path.join(self.root, "store"))
        self.key = key or make_key_file(os.path.join(self.root,
                                                     "pseudonym.key"))
        if audit is None:
            audit = os.path.join(self.root, "audit")
            os.mkdir(audit)
            chown_run_user(audit, 0o750)
        self.audit = audit
        self.checkpoint_key = self.checkpoint_dir = self.verifier = None
        self.syslog = "off"       # VerifyCheckpointSyslog
        self.wrap = []            # a command prefix for httpd (unshare)
        self.env = dict(CLEAN_ENV)  # httpd's environment (libfaketime)
        if checkpoints:
            self.checkpoint_key = make_signing_key(
                os.path.join(self.root, "checkpoint.pem"))
            self.checkpoint_dir = os.path.join(self.root, "checkpoints")
            self.origin = "127.0.0.1/verify-audit"
            self.verifier = verifier_key(self.checkpoint_key, self.origin)
        self.port = free_port()
        self.clients = DEFAULT_CLIENTS if clients is None else clients
        self.extra_conf = extra_conf
        self.vhost_conf = vhost_conf
        self.tls = tls            # dict: cert, key, ca (paths)
        self.loglevel = loglevel
        self.location = location
        self.allowed = []         # regexes of expected warn/error lines
        if sanitizer.ENABLED:
            # a child's leak check at exit takes seconds: httpd resends
            # SIGTERM (warn). SIGKILL (AH00046, error) stays a failure,
            # since it would lose the child's report.
            self.allowed.append(re.compile(
                r"AH00045: child process \d+ still did not exit"))
        self.secrets = set()      # strings that must never be logged
        self.proc = None
        self.stopped = True
        self.checked_log_upto = 0

    # -- files --------------------------------------------------------

    @staticmethod
    def make_store_dir(path):
        """An empty store directory as an admin would set it up: owned by
        root, group of the run-time user, setgid so the LMDB files the
        importer creates (0640 data, 0660 lock) are readable by the
        children and the lock file writable."""
        os.mkdir(path)
        if IS_ROOT:
            shutil.chown(path, "root", RUN_USER)
        os.chmod(path, 0o2750)
        return path

    def write_conf(self):
        r = self.root
        lines = [
            'ServerRoot "%s"' % r,
            'DefaultRuntimeDir "%s/run"' % r,
            'PidFile "%s"' % self.pidfile,
            'ErrorLog "%s"' % self.error_log,
            "LogLevel %s" % self.loglevel,
            "Listen 127.0.0.1:%d" % self.port,
            "ServerName 127.0.0.1",
            "Timeout 20",
            "KeepAlive On",
            "KeepAliveTimeout 2",
            "GracefulShutdownTimeout 15",
            "LoadModule mpm_%s_module %s/mod_mpm_%s.so" % (self.mpm, MODDIR,
                                                          self.mpm),
            "LoadModule authz_core_module %s/mod_authz_core.so" % MODDIR,
            "LoadModule authz_host_module %s/mod_authz_host.so" % MODDIR,
        ]
        if self.tls:
            lines += [
                "LoadModule socache_shmcb_module %s/mod_socache_shmcb.so"
                % MODDIR,
                "LoadModule ssl_module %s/mod_ssl.so" % MODDIR,
                'SSLSessionCache "shmcb:%s/run/ssl_scache(512000)"' % r,
            ]
        lines.append("LoadModule verify_module %s" % MODULE)
        if IS_ROOT:
            lines += ["User %s" % RUN_USER, "Group %s" % RUN_USER]
        lines.append(MPM_CONF[self.mpm])
        lines += [
            'DocumentRoot "%s/htdocs"' % r,
            "EnableSendfile On",
            "EnableMMAP Off",
            '<Directory "%s/htdocs">' % r,
            "    Require all granted",
            "</Directory>",
            'VerifyStore    "%s"' % self.store,
            'VerifyKeyFile  "%s"' % self.key,
            'VerifyAuditLog "%s"' % self.audit,
        ]
        if self.checkpoint_key:
            lines.append('VerifyCheckpointKey "%s"' % self.checkpoint_key)
            if self.checkpoint_dir:
                lines.append('VerifyCheckpointDir "%s"' % self.checkpoint_dir)
            lines += [
                "VerifyCheckpointInterval 1",
                "VerifyCheckpointSyslog %s" % self.syslog,
            ]
        lines += ["VerifyClient %s" % c for c in self.clients]
        if self.location:
            lines += [
                "<Location /verify>",
                "    SetHandler verify",
                "    Require ip 127.0.0.0/8",
                "</Location>",
            ]
        lines.append(self.extra_conf)
        if self.tls:
            lines += [
                "<VirtualHost 127.0.0.1:%d>" % self.port,
                "    ServerName 127.0.0.1",
                "    SSLEngine on",
                "    SSLProtocol -all +TLSv1.2 +TLSv1.3",
                '    SSLCertificateFile "%s"' % self.tls["cert"],
                '    SSLCertificateKeyFile "%s"' % self.tls["key"],
                '    SSLCACertificateFile "%s"' % self.tls["ca"],
                "    SSLVerifyClient require",
                "    SSLVerifyDepth 2",
                self.vhost_conf,
                "</VirtualHost>",
            ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf, 0o644)

    # -- control ------------------------------------------------------

    def expect_log(self, *regexes):
        """Declare error-log lines (warn or worse) this test expects."""
        for rx in regexes:
            self.allowed.append(re.compile(rx))

    def add_secret(self, *values):
        for v in values:
            if v is not None and len(str(v).strip()) >= 6:
                self.secrets.add(str(v).strip())

    def add_people(self, people):
        for p in people:
            # (the 7-digit ROC form is left out: it could turn up inside
            # a hex hash by chance)
            self.add_secret(p.id, p.id.lower(), p.name, p.birth.isoformat(),
                            roc_date(p.birth, True))

    def configtest(self):
        self.write_conf()
        return subprocess.run([APACHE, "-f", self.conf, "-t"],
                              capture_output=True, text=True, env=CLEAN_ENV,
                              timeout=60)

    def configtest_refuses(self, line):
        """`apache2 -t` must refuse the configuration, naming the line
        of httpd.conf that is exactly @line (by number and as FILE:N);
        returns its output."""
        res = self.configtest()
        out = res.stdout + res.stderr
        assert res.returncode != 0, "accepted: " + line
        lineno = open(self.conf).read().splitlines().index(line) + 1
        assert re.search(r"\bline %d\b" % lineno, out), out
        assert "%s:%d" % (self.conf, lineno) in out, out
        return out

    def start(self, timeout=20.0):
        self.write_conf()
        self.stdout_log = os.path.join(self.root, "logs/stdout.log")
        out = open(self.stdout_log, "ab")
        self.proc = subprocess.Popen(
            self.wrap + [APACHE, "-f", self.conf, "-k", "start",
                         "-DFOREGROUND"],
            env=self.env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
            # its own session, as a detached httpd would have: prefork
            # signals its whole process group on shutdown
            start_new_session=True)
        out.close()
        self.stopped = False
        if not wait_port(self.port, timeout, self.proc):
            if self.proc.poll() is None:
                self._kill()
            out = open(self.stdout_log, "rb").read()
            self.stopped = True
            raise AssertionError(
                "httpd did not start (%s MPM):\n%s\n--- error log ---\n%s"
                % (self.mpm, out.decode(errors="replace"),
                   self.error_log_text()))
        self.wait_answering(timeout)
        return self

    def wait_answering(self, timeout=20.0):
        end = time.time() + timeout
        last = None
        while time.time() < end:
            try:
                r = request(self.port, "GET", "/static/small.txt",
                            context=self.probe_context(), timeout=5)
                if r.status == 200:
                    return
                last = r
            except (OSError, http.client.HTTPException) as e:
                last = e
            time.sleep(0.05)
        raise AssertionError("httpd does not answer: %r" % (last,))

    def probe_context(self):
        if not self.tls:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(self.tls["ca"])
        ctx.load_cert_chain(self.tls["probe_cert"], self.tls["probe_key"])
        return ctx

    def generations(self):
        return self.error_log_text().count("resuming normal operations")

    def graceful(self, timeout=30.0):
        """`-k graceful`; returns once the new generation answers."""
        before = self.generations()
        subprocess.run([APACHE, "-f", self.conf, "-k", "graceful"],
                       check=True, env=CLEAN_ENV, capture_output=True,
                       timeout=60)
        end = time.time() + timeout
        while self.generations() <= before:
            if time.time() > end or self.proc.poll() is not None:
                raise AssertionError("graceful restart did not complete:\n"
                                     + self.error_log_text()[-3000:])
            time.sleep(0.05)
        self.wait_answering(timeout)

    def parent_pid(self):
        try:
            return int(open(self.pidfile).read().strip())
        except (OSError, ValueError):
            return None

    def stop(self, check=True, timeout=30.0):
        """Stop httpd; with @check, fail on unexpected log lines and on
        personal data in the audit files or the error log."""
        if self.stopped:
            return
        self.stopped = True
        subprocess.run([APACHE, "-f", self.conf, "-k", "stop"],
                       env=CLEAN_ENV, capture_output=True, timeout=60)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError("httpd did not stop within %ss" % timeout)
        if check:
            self.check_log()
            self.check_no_secrets()

    def _kill(self):
        """Last resort: SIGKILL our httpd parent and its own children."""
        pid = self.proc.pid
        for p in [pid] + self.child_pids():
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def child_pids(self):
        pid = self.proc.pid
        kids = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    st = open("/proc/%s/stat" % d).read()
                    ppid = int(st.rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                if ppid == pid:
                    kids.append(int(d))
        return kids

    def cleanup(self):
        try:
            self.stop(check=False)
        finally:
            # MOD_VERIFY_T_KEEP=1 keeps conf, logs, store and audit files
            if not os.environ.get("MOD_VERIFY_T_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)

    # -- logs ---------------------------------------------------------

    def error_log_text(self):
        try:
            with open(self.error_log, encoding="utf-8",
                      errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def unexpected_log_lines(self):
        bad = []
        for line in self.error_log_text().splitlines():
            if (LEVEL_RE.search(line) or CRASH_RE.search(line)) and \
                    not any(rx.search(line)
                                                 for rx in self.allowed):
                bad.append(line)
            elif sanitizer.REPORT_LINE_RE.search(line):
                bad.append(line)        # never allowed
        # httpd's own stderr before the error log opens
        try:
            with open(self.stdout_log, errors="replace") as f:
                bad += [ln for ln in f.read().splitlines()
                        if sanitizer.REPORT_LINE_RE.search(ln)]
        except (OSError, AttributeError):
            pass
        return bad

    def check_log(self):
        bad = self.unexpected_log_lines()
        assert not bad, ("unexpected lines in the error log (%s MPM):\n%s"
                         % (self.mpm, "\n".join(bad)))

    def check_no_secrets(self):
        """No clear ID, name or birth date in audit files or error log."""
        texts = {"error log": self.error_log_text()}
        for f in audit_files(self.audit) if os.path.isdir(self.audit) else []:
            with open(os.path.join(self.audit, f), "rb") as fh:
                texts[f] = fh.read().decode("utf-8", "replace")
        leaks = []
        for where, text in texts.items():
            for s in self.secrets:
                if s in text:
                    leaks.append("%r in %s" % (s if not id_valid(s)
                                               else mask_id(s) + " (clear)",
                                               where))
        assert not leaks, "personal data leaked: " + "; ".join(sorted(leaks))

    # -- data and requests ------------------------------------------

    def workdir(self):
        """A fresh directory for input files, removed with the server."""
        return tempfile.mkdtemp(prefix="csv-", dir=self.root)

    def import_household(self, people, check=True, keep_input=False,
                         **csv):
        """Import @people as the household batch (harness.import_people:
        signed and encrypted, or plain=True)."""
        self.add_people(people)
        csv.setdefault("workdir", self.workdir())
        return import_people(self.store, self.key, people, check=check,
                             keep_input=keep_input, **csv)

    def post(self, fields, kind="form", source_address=None, headers=None,
             context=None, raw=None, content_type=None, chunked=False):
        """POST /verify. @fields dict (or pairs for form); @raw bytes
        replace the encoded body (then give @content_type)."""
        if isinstance(fields, dict):
            self.add_secret(fields.get("id"), fields.get("name"),
                            fields.get("birth_date"))
        if raw is None:
            body, ctype = encode_body(fields, kind)
        else:
            body, ctype = raw, None
        if content_type is not None:
            ctype = content_type
        hdrs = dict(headers or {})
        if ctype:
            hdrs.setdefault("Content-Type", ctype)
        if context is None:
            context = self.probe_context() if self.tls else None
        return request(self.port, "POST", "/verify", body=body,
                       headers=hdrs, source_address=source_address,
                       context=context, chunked=chunked)

    def audit_lines(self):
        return read_audit(self.audit)

    def audit_for(self, request_id):
        return [ln for ln in self.audit_lines()
                if ln.get("request_id") == request_id]
