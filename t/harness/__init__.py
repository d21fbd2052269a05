"""Test harness for mod_verify: a private httpd per test server.

Python 3 standard library only. The tests `import harness` and use the
names this package re-exports; the code lives in one module per concern:

  env     where build/ (or build-asan/) and apache2 are, the run-time
          user, CLEAN_ENV and the Taipei clock
  sanitizer  the tests under ASan/UBSan (`make asan`): the preloading
          APACHE, the options, the reports written
  people  national ID numbers, Person and People, household CSV text
  tools   the key file, verify-import and verify-audit
  client  one HTTP(S) request and its Response, request bodies, fields_for
  audit   reading the audit files, checking their chain and line format
  pki     a test CA and its certificates (openssl), and the data
          provider's PKI that signs and encrypts batches (CMS)
  server  Server: a private httpd with mod_verify loaded
  volume  a small tmpfs audit volume of its own, and filling it
  tlog    audit logs with signed checkpoints built without a server
          (LogBuilder, SigningKey), and an insider's rewrites of them
"""

# Standard modules that tests reach through the harness (harness.time,
# harness.http.client, ...), as they did when it was one file.
import datetime
import hashlib
import http.client
import random
import shutil
import signal
import tempfile
import time

from .audit import (AS_OF_RE, AUDIT_NAME_RE, HEX64_RE, TAIL_RE, TS_RE,
                    ZERO_HASH, AuditLine, audit_files, chain_problems,
                    line_format_problems, raw_startswith_seq, read_audit,
                    seal_line)
from .client import Response, encode_body, fields_for, request
from .env import (APACHE, APACHE_BIN, BUILD, CLEAN_ENV, IS_ROOT, MODDIR,
                  MODULE, REPO, RUN_USER, TAIPEI, VERIFY_AUDIT,
                  VERIFY_IMPORT, today_taipei)
from .people import (ASCII_NAMES, GIVEN, INDIG_ZH, LETTER_CODES, SURNAMES,
                     WEIGHTS, People, Person, bad_checksum, household_csv,
                     id_check_digit, id_valid, make_id, mask_id, roc_date)
from .pki import (IMPORT_SUBJECT, PROVIDER_SUBJECT, BatchPKI, batch_pki,
                  cert_sha256, cms_encrypt, cms_sign, make_ca, make_cert,
                  new_ca, new_cert, openssl, sign_cert, spki_sha256,
                  tls_pki)
from . import sanitizer
from .server import (CRASH_RE, DEFAULT_CLIENTS, LEVEL_RE, MPM_CONF, Server,
                     chown_run_user, free_port, wait_port)
from .tlog import LogBuilder, SigningKey, renumber, reseal
from .tools import (SPOOL, approved_until, as_sent, import_people,
                    make_key_file, make_spool, no_snapshot, publish_env,
                    read_secret, run_audit_tool, run_import, spool_dir,
                    spooled, spooled_events, store_env_copy, subject_tag)
