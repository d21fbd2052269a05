#!/bin/bash
# bench-http.sh -- audited POST /verify against a static file over HTTP keep-alive,
# VerifyAuditSync Off and On (scripts/bench-verify.sh does the work).
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-verify.sh" http
