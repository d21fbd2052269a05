/*
 * import.c -- one batch into the store: check where it comes from (the
 * strict intake rules), that it is not a replay and that the store was
 * made with the same key, validate every record, publish a new
 * snapshot in which the source is replaced (one write transaction),
 * destroy the input, and record the attempt, accepted or refused, in
 * the event spool for the audit chain (and on stdout).
 *
 * Everything from the first look at the store to the destruction of
 * the input happens under the store's import lock, so that what was
 * checked is what the batch replaces, and so that the record of a
 * pending destruction (pending.c) is finished by the next run and by
 * no concurrent one.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <apr_strings.h>
#include <openssl/rand.h>
#include "verify-import/import.h"
#include "verify_recset.h"

/* "…; to import it anyway, give --force (recorded …)" */
#define OR_FORCE "; to import it anyway, give --force (recorded in the " \
                 "import event)"

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

/*
 * The spool that will carry the attempt's event into the chain
 * (<store>/events), opened before anything else is done: an import that
 * could not be recorded is not made. The store directory is prepared
 * as the import would (created, given to its group) so that the spool
 * can live in it. -1 with the reason said.
 */
static int spool_open(const import_opts_t *o, gid_t gid, apr_pool_t *p)
{
    const char *what = o->file ? o->file : o->store_dir;
    char *err = NULL;
    int fd = -1;

    if (verify_snapshot_dir_prepare(o->store_dir, gid, &err, p)
            != APR_SUCCESS
        || verify_spool_open(apr_pstrcat(p, o->store_dir,
                                         "/" VERIFY_SPOOL_NAME, NULL),
                             1, geteuid(), &fd, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s: %s: the %s could not be recorded: "
                "%s\n", what, o->file ? "rejected, store unchanged"
                                      : "store unchanged",
                o->file ? "import" : "change", err);
        import_fault(apr_psprintf(p, "the import could not be recorded: "
                                  "%s", err));
        return -1;
    }
    return fd;
}

int import_record(int spool, const char *body, size_t len, apr_pool_t *p)
{
    const char *text = NULL;
    char *err = NULL;

    if (verify_spool_put(spool, body, len, apr_time_now(), &text, NULL,
                         &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": this event could not be written to the "
                "event spool (%s): the audit chain will not record it; "
                "keep this output\n", err);
        printf("{%.*s}\n", (int)(len - 1), body + 1);
        return 1;
    }
    fputs(text, stdout);
    return 0;
}

/*
 * The event of the attempt into the spool, then on stdout: the same
 * bytes, the chain line's members from op on. 0, or 1 with the reason
 * said.
 */
static int record(int spool, verify_event_import_t *ev, apr_pool_t *p)
{
    char mem[VERIFY_EVENT_MAX];
    verify_jbuf_t b;

    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_import(&b, ev);
    if (b.overflow) {
        /* the signer's subject and the fault are bounded: never */
        fprintf(stderr, PROG ": the import event does not fit\n");
        return 1;
    }
    return import_record(spool, b.buf, b.len, p);
}

/* The store, locked for this run; 0, or 1 with the reason said. */
static int lock_store(const import_opts_t *o, gid_t gid,
                      verify_snap_lock_t **l, apr_pool_t *p)
{
    char *err = NULL;

    if (verify_snapshot_lock(l, o->store_dir, gid, &err, p)
        != APR_SUCCESS) {
        return o->file ? import_fail(o->file, err)
                       : (fprintf(stderr, PROG ": %s\n", err), 1);
    }
    return 0;
}

static const char *hex_of(const unsigned char *b, size_t n, apr_pool_t *p)
{
    char *out = apr_palloc(p, 2 * n + 1);

    verify_hex(b, n, out);
    return out;
}

static const char *time_of(apr_time_t t, apr_pool_t *p)
{
    char *out = apr_palloc(p, 26);

    verify_time_format_s(t, out);
    return out;
}

/* A store made with another key: every answer from it would be "not
 * found". 0, or 1 with both key checks named. */
static int same_key(const import_opts_t *o, const verify_lookup_t *cur,
                    const verify_keys_t *keys, apr_pool_t *p)
{
    unsigned char mine[VERIFY_KEY_CHECK_LEN];
    int i;

    verify_keys_check(keys, mine);
    for (i = 0; i < VERIFY_SRC_COUNT; i++) {
        if (!cur->have_batch[i] || !cur->batch[i].have_key_check
            || !memcmp(cur->batch[i].key_check, mine, sizeof(mine))) {
            continue;
        }
        return import_fail(o->file, apr_psprintf(p, "store %s was made "
            "with another key: its %s batch (batch %s) records key check "
            "%s, the key given (--key %s) has key check %s: give the key "
            "file the store was made with (httpd's VerifyKeyFile), or "
            "import every source into a new store", o->store_dir,
            verify_source_name(i), cur->batch[i].batch_id,
            hex_of(cur->batch[i].key_check, VERIFY_KEY_CHECK_LEN, p),
            o->key_file, hex_of(mine, sizeof(mine), p)));
    }
    return 0;
}

/*
 * What the store says about this batch: made with this key, --allow-
 * plain allowed, not the current batch again and not older than it
 * (unless --force: then what was overridden is added to @p forced).
 * 0, or 1 with the reason said.
 */
static int store_checks(const import_opts_t *o, verify_snap_lock_t *l,
                        const verify_keys_t *keys, const input_t *in,
                        const char **forced, apr_pool_t *p)
{
    const verify_batch_t *b;
    verify_lookup_t cur;
    char *err = NULL;
    int n = 0, strict;

    if (verify_snapshot_batches(l, &cur, &err, p) != APR_SUCCESS) {
        return import_fail(o->file, err);
    }
    if (same_key(o, &cur, keys, p) != 0) {
        return 1;
    }
    strict = verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, p);
    if (strict < 0) {
        return import_fail(o->file, err);
    }
    if (strict && o->allow_plain) {
        return import_fail(o->file, apr_psprintf(p, "store %s requires "
            "signed and encrypted batches (verify-import --require-signed "
            "on): --allow-plain is refused; import the batch as the data "
            "provider signed and encrypted it, with --approved-until",
            o->store_dir));
    }
    if (in->signer && !in->signed_at) {
        if (!o->force) {
            return import_fail(o->file, "the signature carries no signing "
                "time, so the batch cannot be told from an older one: ask "
                "the data provider to sign with a signing time (openssl "
                "cms -sign adds one)" OR_FORCE);
        }
        forced[n++] = VERIFY_FORCED_NO_TIME;
    }
    if (!cur.have_batch[o->src]) {
        return 0;
    }
    b = &cur.batch[o->src];
    if (!memcmp(b->sha256, in->sha256, sizeof(b->sha256))) {
        if (!o->force) {
            return import_fail(o->file, apr_psprintf(p, "the same file as "
                "the current %s batch (batch %s, imported %s, sha256 %s): "
                "a batch is imported once" OR_FORCE,
                verify_source_name(o->src), b->batch_id, b->as_of,
                hex_of(in->sha256, 32, p)));
        }
        forced[n++] = VERIFY_FORCED_SAME_FILE;
    }
    if (in->signed_at && b->signed_at && in->signed_at < b->signed_at) {
        if (!o->force) {
            return import_fail(o->file, apr_psprintf(p, "signed at %s, "
                "before the current %s batch (batch %s, signed at %s): an "
                "older batch would replace newer data" OR_FORCE,
                time_of(in->signed_at, p), verify_source_name(o->src),
                b->batch_id, time_of(b->signed_at, p)));
        }
        forced[n++] = VERIFY_FORCED_OLDER;
    }
    return 0;
}

/* Publish a new snapshot in which the source is @p set, the input's
 * destruction recorded as pending first; fills in the rest of
 * @p batch. *pending: a record was written. */
static int store_batch(const import_opts_t *o, verify_snap_lock_t *l,
                       verify_keys_t *keys, const input_t *in,
                       verify_recset_t *set, verify_batch_t *batch, const char *user,
                       int *pending, apr_pool_t *p)
{
    verify_snap_report_t rep;
    unsigned char rnd[16];
    char *err = NULL;

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        return import_fail(o->file, "no randomness for the batch id");
    }
    verify_hex(rnd, sizeof(rnd), batch->batch_id);
    verify_keys_check(keys, batch->key_check);
    if (in->name) {
        if (pending_write(l, in, o->src, batch->batch_id, user, p) != 0) {
            return 1;
        }
        *pending = 1;
    }
    if (verify_snapshot_publish_set(l, o->src, set, batch, &rep, &err, p)
        != APR_SUCCESS) {
        if (*pending && rep.name[0]) {
            /* published after all (a sync failed): destroy it later */
            pending_keep(l, batch->batch_id, p);
            *pending = 0;
        }
        return import_fail(o->file, err);
    }
    return 0;
}

/* --require-signed on|off: set or lift the store's requirement, and
 * record it. */
static int policy_run(const import_opts_t *o, apr_pool_t *p)
{
    char mem[1024], ts[VERIFY_TS_LEN + 1], *err = NULL;
    verify_snap_lock_t *l = NULL;
    const char *user;
    verify_jbuf_t b;
    gid_t gid;
    int spool, prev, rc, recovered = 0;

    rc = group_of(o, &gid);
    if (rc != 0) {
        return rc;
    }
    spool = spool_open(o, gid, p);
    if (spool < 0) {
        return 1;
    }
    user = verify_event_user(p);
    rc = lock_store(o, gid, &l, p);
    if (rc != 0) {
        goto cleanup;
    }
    /* what a killed run left, as every run does */
    recovered = pending_recover(l, spool, user, p);
    prev = verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, p);
    if (prev < 0) {
        fprintf(stderr, PROG ": %s (replaced)\n", err);
    }
    verify_time_format_us(apr_time_now(), ts);
    if (verify_snapshot_flag_set(l, VERIFY_SNAP_REQUIRE_SIGNED,
                                 o->require_signed, apr_psprintf(p,
            "Batches imported into this store must be CMS-signed by the "
            "data provider,\nencrypted to the county's import certificate "
            "and carry --approved-until:\nverify-import refuses "
            "--allow-plain. Set by %s at %s\n(verify-import "
            "--require-signed on); lifted by --require-signed off.\n",
            user, ts), &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        rc = 1;
        goto cleanup;
    }
    verify_jbuf_init(&b, mem, sizeof(mem));
    verify_event_intake_policy(&b, o->require_signed, prev, o->store_dir,
                               user);
    rc = import_record(spool, b.buf, b.len, p);

cleanup:
    verify_snapshot_unlock(l);
    close(spool);
    return rc ? rc : recovered;
}

/* The importer has read a span of the batch (verify_intake_span_fn). */
static void intake_drop(void *ctx, size_t from, size_t to)
{
    input_drop_span(ctx, from, to);
}

/* A thread of the intake, guarded as the importer is
 * (verify_intake_guard_fn). */
static int intake_guard(void *ctx, int (*fn)(void *), void *arg)
{
    return input_guarded(ctx, fn, arg);
}

/* The batch into the record set, as a guarded step (input_guarded). */
typedef struct intake_args_t {
    const import_opts_t *o;
    input_t *in;
    const verify_keys_t *keys;
    verify_recset_t *set;
    char **err;
    apr_pool_t *p;
} intake_args_t;

static int intake_run(void *ctx)
{
    intake_args_t *a = ctx;
    verify_intake_par_t par;
    apr_status_t rv;

    memset(&par, 0, sizeof(par));
    par.threads = import_threads(a->o);
    par.drop = intake_drop;
    par.drop_ctx = a->in;
    par.guard = intake_guard;
    par.guard_ctx = a->in;
    rv = verify_intake_set_par(a->o->src, a->in->buf, a->in->len, a->keys,
                               verify_date_taipei(apr_time_now()), a->set,
                               &par, a->err, a->p);
    if (rv == APR_EGENERAL && par.guard_rc == INPUT_SHRANK) {
        return INPUT_SHRANK;
    }
    return rv != APR_SUCCESS;
}

const char *import_last_fault(void)
{
    return fault_noted;
}

int import_run(const import_opts_t *o, apr_pool_t *p)
{
    int accepted;

    if (o->require_signed >= 0) {
        return policy_run(o, p);
    }
    if (o->watch) {
        return watch_run(o, p);
    }
    return import_one(o, &accepted, p);
}

int import_one(const import_opts_t *o, int *accepted, apr_pool_t *p)
{
    const char *forced[4] = { NULL, NULL, NULL, NULL };
    verify_event_import_t ev;
    verify_snap_lock_t *lock = NULL;
    verify_keys_t *keys;
    verify_recset_t *set = NULL;
    verify_batch_t batch;
    input_t in;
    char hex[65], *err = NULL;
    gid_t gid;
    size_t n;
    int rc, spool = -1, pending = 0, kept = 0, recovered = 0;

    *accepted = 0;
    memset(&in, 0, sizeof(in));
    in.fd = -1;
    memset(&ev, 0, sizeof(ev));
    ev.src = o->src;
    ev.approved_until = o->approved_until;
    ev.encrypted = -1;
    ev.plain = o->allow_plain;
    ev.forced = o->force ? forced : NULL;
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
        rc = lock_store(o, gid, &lock, p);
        if (rc != 0) {
            goto cleanup;
        }
        /* what a killed run left, before anything of this one */
        recovered = pending_recover(lock, spool, ev.user, p);
    }
    if (verify_keys_load(&keys, o->key_file, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        import_fault(err);
        rc = 1;
        goto cleanup;
    }
    rc = input_read(&in, o, p);
    ev.sha256 = in.have_sha256 ? in.sha256 : NULL;
    if (rc == 0) {
        rc = input_open(&in, o, p);
    }
    ev.signer = in.signer;
    ev.signed_at = in.signed_at;
    ev.encrypted = in.encrypted;
    if (rc != 0) {
        goto cleanup;
    }
    if (o->approved_until
        && o->approved_until < verify_date_taipei(apr_time_now())) {
        /* a watcher runs for days: its period can end meanwhile */
        rc = import_fail(o->file, "--approved-until is already past: the "
                         "approved usage period has ended (R4.1.2); give "
                         "the date of the renewed approval");
        goto cleanup;
    }
    if (!o->approved_until && !o->allow_plain) {
        rc = import_fail(o->file, "no --approved-until: a batch needs the "
                         "end of its approved usage period (R4.1.2); give "
                         "--approved-until YYYY-MM-DD; to import it "
                         "without one, give --allow-plain (recorded in the "
                         "import event)");
        goto cleanup;
    }
    if (lock) {
        rc = store_checks(o, lock, keys, &in, forced, p);
        if (rc != 0) {
            goto cleanup;
        }
    }
    /* a large batch spills into unnamed files in the store directory
     * (a dry run keeps it in memory: it must not touch the store) */
    verify_recset_create(&set, lock ? verify_snapshot_dirfd(lock) : -1, 0,
                         p);
    {
        intake_args_t a = { o, &in, keys, set, &err, p };
        rc = input_guarded(&in, intake_run, &a);
    }
    if (rc == INPUT_SHRANK) {
        rc = input_shrank(o->file);
        goto cleanup;
    }
    if (rc != 0) {
        rc = import_fail(o->file, err);
        goto cleanup;
    }
    input_release(&in);
    n = verify_recset_count(set);
    ev.have_records = 1;
    ev.records = n;
    if (n == 0) {
        rc = import_fail(o->file, "no records after the header");
        goto cleanup;
    }
    if (o->dry_run) {
        /* validate only: the store is not even opened */
        int fn_rc;
        if (verify_recset_walk(set, NULL, NULL, &fn_rc, &err, p)
            != APR_SUCCESS) {
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
    batch.signed_at = in.signed_at;
    batch.flags = (o->allow_plain ? VERIFY_BATCH_PLAIN : 0)
                  | (forced[0] ? VERIFY_BATCH_FORCED : 0);
    memcpy(batch.sha256, in.sha256, sizeof(batch.sha256));
    rc = store_batch(o, lock, keys, &in, set, &batch, ev.user, &pending, p);
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
                    "remove it by hand (R4.4); the next import tries "
                    "again\n", o->file);
            ev.input = "NOT destroyed";
            kept = 1;
            rc = 1;
            break;
        }
    }

cleanup:
    *accepted = ev.accepted;
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
    /* only once the event is spooled: a run killed before leaves the
     * record, and the next one says what became of the input */
    if (pending && kept) {
        pending_keep(lock, batch.batch_id, p);
    }
    else if (pending) {
        pending_remove(lock, batch.batch_id);
    }
    verify_snapshot_unlock(lock);
    input_release(&in);
    input_close(&in);
    return rc ? rc : recovered;
}
