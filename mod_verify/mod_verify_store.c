/*
 * mod_verify_store.c -- the store in httpd. The parent changes nothing
 * in it (the importer hands each snapshot to the run-time group); each
 * child follows the published snapshot, read-only and without a lock
 * file, and switches to a newer one without a restart.
 */
#include <unistd.h>

#include "httpd.h"
#include "http_log.h"
#include <apr_strings.h>

#include "verify.h"
#include "verify_private.h"
#include "mod_verify_config.h"
#include "mod_verify_store.h"

static verify_snap_reader_t *reader;    /* per child */

void verify_store_prepare(server_rec *s, apr_pool_t *ptemp)
{
    const char *dir = verify_config_store_dir();

    if (access(dir, F_OK) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(10)
                     "store %s does not exist yet: /verify answers 503 "
                     "until a batch is imported", dir);
    }
    else if (verify_snapshot_legacy(dir) > 0) {
        /* Served read-only with MDB_NOLOCK: its lock file, which the
         * run-time user could write, is never opened; nothing writes
         * the old environment any more. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, VERIFY_LOGNO(36)
                     "store %s has the old single-environment layout; "
                     "answering from it read-only (its lock.mdb is "
                     "ignored) until the next verify-import --store %s "
                     "converts it to snapshots", dir, dir);
    }
}

void verify_store_child_init(server_rec *s, apr_pool_t *pchild)
{
    /* nothing is opened before the first lookup: an idle child holds
     * no snapshot the importer could otherwise remove */
    verify_snap_reader_create(&reader, verify_config_store_dir(), pchild);
}

verify_snap_t *verify_store_hold(request_rec *r)
{
    verify_snap_t *snap = NULL;
    char *err = NULL;
    apr_status_t rv;

    if (!reader) {
        return NULL;
    }
    rv = verify_snap_acquire(reader, &snap, &err, r->pool);
    if (rv != APR_SUCCESS) {
        /* Not imported yet is routine (and said at most once a second
         * per child: a remembered failure comes without err); no
         * permission is the admin's to fix, and is said once per child
         * at warn level. */
        static int warned;
        int level = APLOG_INFO;
        if (APR_STATUS_IS_EACCES(rv) && !warned) {
            warned = 1;
            level = APLOG_WARNING;
        }
        if (err) {
            ap_log_rerror(APLOG_MARK, level, rv, r, VERIFY_LOGNO(22)
                          "%s", err);
        }
        return NULL;
    }
    return snap;
}

void verify_store_drop(verify_snap_t *snap)
{
    verify_snap_release(reader, snap);
}
