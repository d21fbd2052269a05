/*
 * import.c -- one batch into the store: validate every record, publish
 * a new snapshot in which the source is replaced (one write
 * transaction), destroy the input, print the import event.
 */
#include <stdio.h>
#include <string.h>
#include <grp.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "verify-import/import.h"

int import_fail(const char *file, const char *msg)
{
    fprintf(stderr, PROG ": %s: rejected, store unchanged: %s\n", file, msg);
    return 1;
}

/* Publish a new snapshot in which the source is @p recs; fills in the
 * rest of @p batch. */
static int store_batch(const import_opts_t *o, verify_keys_t *keys,
                       verify_import_rec_t *recs, size_t n,
                       verify_batch_t *batch, apr_pool_t *p)
{
    verify_snap_report_t rep;
    unsigned char rnd[16];
    gid_t gid = (gid_t)-1;      /* the store directory's group */
    char *err = NULL;

    if (o->group) {
        struct group *gr = getgrnam(o->group);
        if (!gr) {
            fprintf(stderr, PROG ": --group: no group \"%s\"\n", o->group);
            return 1;
        }
        gid = gr->gr_gid;
    }
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
 * The import event on stdout: the body of the chain's "import" line for
 * this batch, byte for byte, wrapped as {"event":"import"BODY,"signer":…,
 * "input":…}.
 */
static void print_event(verify_source_t src, const verify_batch_t *batch,
                        const char *signer, const char *input_state)
{
    char mem[VERIFY_AUDIT_LINE_MAX];
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, sizeof(mem));
    VERIFY_JRAW(&b, "{\"event\":\"import\"");
    verify_audit_body_import(&b, src, batch);
    VERIFY_JRAW(&b, ",\"signer\":");
    if (signer) {
        verify_jbuf_str(&b, signer, strlen(signer), 1024);
    }
    else {
        VERIFY_JRAW(&b, "null");
    }
    VERIFY_JRAW(&b, ",\"input\":");
    verify_jbuf_str(&b, input_state, strlen(input_state), 32);
    VERIFY_JRAW(&b, "}\n");
    fwrite(b.buf, 1, b.len, stdout);
}

int import_run(const import_opts_t *o, apr_pool_t *p)
{
    verify_keys_t *keys;
    verify_import_rec_t *recs;
    verify_batch_t batch;
    input_t in;
    const char *input_state;
    char hex[65], *err = NULL;
    size_t n;
    int rc;

    memset(&in, 0, sizeof(in));
    in.fd = -1;
    if (verify_keys_load(&keys, o->key_file, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = 1;
        goto cleanup;
    }
    rc = input_read(&in, o, p);
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
    rc = store_batch(o, keys, recs, n, &batch, p);
    if (rc != 0) {
        goto cleanup;
    }
    input_state = "kept";
    if (!o->keep_input) {
        switch (input_destroy(&in, o->file)) {
        case INPUT_DESTROYED:
            input_state = "destroyed";
            break;
        case INPUT_REPLACED:
            fprintf(stderr, PROG ": imported, but %s was replaced during "
                    "the import: the file read was wiped (wherever it was "
                    "moved), the file now at that path was left alone; "
                    "find out who replaced it\n", o->file);
            input_state = "wiped; path replaced";
            rc = 1;
            break;
        default:
            fprintf(stderr, PROG ": imported, but could not destroy %s: "
                    "remove it by hand (R4.4)\n", o->file);
            input_state = "NOT destroyed";
            rc = 1;
            break;
        }
    }
    print_event(o->src, &batch, in.signer, input_state);

cleanup:
    input_release(&in);
    input_close(&in);
    return rc;
}
