/*
 * import.c -- one batch into the store: validate every record, publish
 * a new snapshot in which the source is replaced (one write
 * transaction), destroy the input, and record the attempt, accepted or
 * refused, in the event spool for the audit chain (and on stdout).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "verify-import/import.h"

/* Why the attempt failed, as last noted. */
static const char *fault_noted;

void import_fault(const char *msg)
{
    fault_noted = msg;
}

int import_fail(const char *file, const char *msg)
{
    fprintf(stderr, PROG ": %s: rejected, store unchanged: %s\n", file, msg);
    import_fault(msg);
    return 1;
}

/* --group as a gid, or (gid_t)-1 for the store directory's; 0, or 1
 * with the reason said. */
static int group_of(const import_opts_t *o, gid_t *gid)
{
    struct group *gr;

    *gid = (gid_t)-1;
    if (!o->group) {
        return 0;
    }
    gr = getgrnam(o->group);
    if (!gr) {
        fprintf(stderr, PROG ": --group: no group \"%s\"\n", o->group);
        return 1;
    }
    *gid = gr->gr_gid;
    return 0;
}

/* Publish a new snapshot in which the source is @p recs; fills in the
 * rest of @p batch. */
static int store_batch(const import_opts_t *o, gid_t gid, verify_keys_t *keys,
                       verify_import_rec_t *recs, size_t n,
                       verify_batch_t *batch, apr_pool_t *p)
{
    verify_snap_report_t rep;
    unsigned char rnd[16];
    char *err = NULL;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return import_fail(o->file, "no randomness for the batch id");
    }
    verify_hex(rnd, sizeof(rnd), batch->batch_id);
    verify_keys_check(keys, batch->key_check);
    if (verify_snapshot_import(o->store_dir, gid, o->src, recs, n, batch,
                               &rep, &err, p) != APR_SUCCESS) {
        return import_fail(o->file, err);
    }
    return 0;
}

/*
 * The spool that will carry the attempt's event into the chain
 * (<store>/events), opened before anything else is done: an import that
 * could not be recorded is not made. The store directory is prepared
 * as the import would (created, given to its group) so that the spool
 * can live in it. -1 with the reason said.
 */
static int spool_open(const import_opts_t *o, gid_t gid, apr_pool_t *p)
{
    char *err = NULL;
    int fd = -1;

    if (verify_snapshot_dir_prepare(o->store_dir, gid, &err, p)
            != APR_SUCCESS
        || verify_spool_open(apr_pstrcat(p, o->store_dir,
                                         "/" VERIFY_SPOOL_NAME, NULL),
                             1, geteuid(), &fd, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s: rejected, store unchanged: the import "
                "could not be recorded: %s\n", o->file, err);
        return -1;
    }
    return fd;
}

/*
 * The event of the attempt into the spool, then on stdout: the same
 * bytes, the chain line's members from op on. 0, or 1 with the reason
 * said.
 */
static int record(int spool, verify_event_import_t *ev, apr_pool_t *p)
{
    char mem[VERIFY_EVENT_MAX], *err = NULL;
    const char *text = NULL;
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, ev);
    if (b.overflow) {
        /* the signer's subject and the fault are bounded: never */
        fprintf(stderr, PROG ": the import event does not fit\n");
        return 1;
    }
    if (verify_spool_put(spool, b.buf, b.len, apr_time_now(), &text, NULL,
                         &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": the event of this import could not be "
                "written to the event spool (%s): the audit chain will not "
                "record it; keep this output\n", err);
        verify_jbuf_init(&b, mem, sizeof(mem));
        verify_event_import(&b, ev);
        printf("{%.*s}\n", (int)(b.len - 1), b.buf + 1);
        return 1;
    }
    fputs(text, stdout);
    return 0;
}

int import_run(const import_opts_t *o, apr_pool_t *p)
{
    verify_event_import_t ev;
    verify_keys_t *keys;
    verify_import_rec_t *recs;
    verify_batch_t batch;
    input_t in;
    char hex[65], *err = NULL;
    gid_t gid;
    size_t n;
    int rc, spool = -1;

    memset(&in, 0, sizeof(in));
    in.fd = -1;
    memset(&ev, 0, sizeof(ev));
    ev.src = o->src;
    ev.approved_until = o->approved_until;
    ev.input = "kept";
    fault_noted = NULL;
    rc = group_of(o, &gid);
    if (rc != 0) {
        return rc;
    }
    if (!o->dry_run) {
        /* a dry run changes nothing and is not recorded */
        spool = spool_open(o, gid, p);
        if (spool < 0) {
            return 1;
        }
        ev.user = verify_event_user(p);
    }
    if (verify_keys_load(&keys, o->key_file, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        import_fault(err);
        rc = 1;
        goto cleanup;
    }
    rc = input_read(&in, o, p);
    ev.sha256 = in.have_sha256 ? in.sha256 : NULL;
    ev.signer = in.signer;
    if (rc != 0) {
        goto cleanup;
    }
    if (verify_intake(o->src, in.buf, in.len, keys,
                      verify_date_taipei(apr_time_now()), &recs, &n, &err,
                      p) != APR_SUCCESS) {
        rc = import_fail(o->file, err);
        goto cleanup;
    }
    input_release(&in);
    ev.have_records = 1;
    ev.records = n;
    if (n == 0) {
        rc = import_fail(o->file, "no records after the header");
        goto cleanup;
    }
    if (o->dry_run) {
        /* validate only: the store is not even opened */
        if (verify_import_check(recs, n, &err, p) != APR_SUCCESS) {
            rc = import_fail(o->file, err);
            goto cleanup;
        }
        verify_hex(in.sha256, sizeof(in.sha256), hex);
        printf(PROG ": %s: valid, %zu %s records (dry run: store and file "
               "untouched) sha256 %s\n", o->file, n,
               verify_source_name(o->src), hex);
        goto cleanup;
    }
    memset(&batch, 0, sizeof(batch));
    batch.approved_until = o->approved_until;
    memcpy(batch.sha256, in.sha256, sizeof(batch.sha256));
    rc = store_batch(o, gid, keys, recs, n, &batch, p);
    if (rc != 0) {
        goto cleanup;
    }
    ev.accepted = 1;
    ev.batch_id = batch.batch_id;
    ev.imported_at = batch.as_of;
    if (!o->keep_input) {
        switch (input_destroy(&in, o->file)) {
        case INPUT_DESTROYED:
            ev.input = "destroyed";
            break;
        case INPUT_REPLACED:
            fprintf(stderr, PROG ": imported, but %s was replaced during "
                    "the import: the file read was wiped (wherever it was "
                    "moved), the file now at that path was left alone; "
                    "find out who replaced it\n", o->file);
            ev.input = "wiped; path replaced";
            rc = 1;
            break;
        default:
            fprintf(stderr, PROG ": imported, but could not destroy %s: "
                    "remove it by hand (R4.4)\n", o->file);
            ev.input = "NOT destroyed";
            rc = 1;
            break;
        }
    }

cleanup:
    if (spool >= 0) {
        if (!ev.accepted) {
            ev.fault = verify_event_fault(fault_noted ? fault_noted
                                                      : "unknown", p);
        }
        if (record(spool, &ev, p) != 0) {
            rc = 1;
        }
        close(spool);
    }
    input_release(&in);
    input_close(&in);
    return rc;
}
