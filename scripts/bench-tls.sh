#!/bin/bash
# bench-tls.sh -- audited POST /verify against a static file over TLS 1.3 with a client certificate,
# VerifyAuditSync Off and On (scripts/bench-verify.sh does the work).
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-verify.sh" tls
