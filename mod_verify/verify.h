/*
 * verify.h -- the mod_verify core library.
 *
 * Shared by the httpd module and the companion tools. No httpd headers:
 * APR, OpenSSL, LMDB and jansson only. Logging is the caller's business;
 * functions report faults through return codes and message strings.
 */
#ifndef VERIFY_H
#define VERIFY_H

#include "verify_id.h"
#include "verify_key.h"
#include "verify_text.h"
#include "verify_time.h"
#include "verify_record.h"
#include "verify_store.h"
#include "verify_snapshot.h"
#include "verify_json.h"
#include "verify_audit_line.h"
#include "verify_audit_body.h"
#include "verify_audit_dir.h"
#include "verify_csv.h"
#include "verify_lock.h"
#include "verify_cms.h"
#include "verify_register.h"
#include "verify_operators.h"
#include "verify_credential.h"
#include "verify_writer.h"
#include "verify_sample.h"
#include "verify_pii.h"
#include "verify_chain_scan.h"
#include "verify_merkle.h"
#include "verify_flat.h"
#include "verify_flags.h"
#include "verify_note.h"
#include "verify_note_fork.h"
#include "verify_audit_follow.h"
#include "verify_checkpoint_dir.h"
#include "verify_event.h"
#include "verify_event_spool.h"

#endif /* VERIFY_H */
