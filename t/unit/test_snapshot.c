/*
 * test_snapshot.c -- published snapshots (verify_snapshot.c): the
 * layout and modes an import leaves, copying the other sources, readers
 * switching and holding, removal of old snapshots, the old layout and
 * its migration, refusals, and threads reading while imports publish.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "verify_recset.h"

static char *path2(const char *a, const char *b)
{
    return apr_pstrcat(pool, a, "/", b, NULL);
}

static int mode_of(const char *path)
{
    struct stat sb;

    return lstat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

static int exists(const char *path)
{
    struct stat sb;

    return lstat(path, &sb) == 0;
}

/* How many snap-* entries @p dir has. */
static int snapshots(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, "snap-", 5) == 0;
    }
    if (d) {
        closedir(d);
    }
    return n;
}

static const char *current_of(const char *dir)
{
    static char buf[128];
    ssize_t n = readlink(path2(dir, "current"), buf, sizeof(buf) - 1);

    buf[n < 0 ? 0 : n] = '\0';
    return buf;
}

/* A household (or elderly_alone) batch of @p n IDs from @p first. */
static verify_import_rec_t *batch_of(verify_source_t src, unsigned first,
                                     size_t n, size_t *got)
{
    char *csv = apr_palloc(pool, n * 64 + 64), *p = csv, id[11], seven[8];
    verify_import_rec_t *recs = NULL;
    char *err = NULL;
    size_t i;

    p += sprintf(p, "%s", src == VERIFY_SRC_HOUSEHOLD
                          ? "id,name,birth_date,indigenous\n"
                          : "id,valid_until\n");
    for (i = 0; i < n; i++) {
        snprintf(seven, sizeof(seven), "%07u", first + (unsigned)i);
        make_id(id, 'A', '1', seven);
        p += sprintf(p, src == VERIFY_SRC_HOUSEHOLD
                        ? "%s,P,1980-01-01,\n" : "%s,2099-12-31\n", id);
    }
    if (verify_intake(src, csv, (size_t)(p - csv), keys, TODAY, &recs, got,
                      &err, pool) != APR_SUCCESS) {
        diag("intake: %s", err);
        exit(2);
    }
    return recs;
}

static apr_status_t import(const char *dir, verify_source_t src,
                           unsigned first, size_t n, const char *bid,
                           verify_snap_report_t *rep, char **err)
{
    size_t got;
    verify_import_rec_t *recs = batch_of(src, first, n, &got);
    verify_batch_t b;

    memset(&b, 0, sizeof(b));
    apr_cpystrn(b.batch_id, bid, sizeof(b.batch_id));
    *err = NULL;
    return verify_snapshot_import(dir, (gid_t)-1, src, recs, got, &b, rep,
                                  err, pool);
}

/* found[src] of ID number @p num, or -1 if the lookup failed */
static int has(verify_snap_t *s, unsigned num, verify_source_t src,
               verify_lookup_t *lk)
{
    char id[11], seven[8];
    unsigned char k[32];
    const char *err;

    snprintf(seven, sizeof(seven), "%07u", num);
    make_id(id, 'A', '1', seven);
    store_key(id, k);
    if (verify_store_lookup(verify_snap_store(s), k, 7, lk, &err)
        != APR_SUCCESS) {
        diag("lookup: %s", err);
        return -1;
    }
    return lk->found[src];
}

static void test_layout_and_switch(void)
{
    char *dir = path2(tmpdir, "store"), *err = NULL, *snap1, *snap2;
    verify_snap_report_t rep;
    verify_snap_reader_t *r;
    verify_snap_t *a = NULL, *b = NULL, *c = NULL;
    verify_lookup_t lk, lk2;
    apr_status_t rv;

    ok(import(dir, VERIFY_SRC_HOUSEHOLD, 100, 50, "h1", &rep, &err)
       == APR_SUCCESS, "first import creates the store (%s)",
       err ? err : "ok");
    snap1 = apr_pstrdup(pool, rep.name);
    is_str(current_of(dir), snap1, "current names the new snapshot");
    ok(strncmp(snap1, "snap-", 5) == 0, "named snap-… (%s)", snap1);
    is_int(mode_of(dir), 0750, "store directory 0750");
    is_int(mode_of(path2(dir, snap1)), 0750, "snapshot directory 0750");
    is_int(mode_of(path2(path2(dir, snap1), "data.mdb")), 0640,
           "data.mdb 0640");
    is_int(mode_of(path2(dir, ".import.lock")), 0600,
           "import lock 0600");
    ok(!exists(path2(path2(dir, snap1), "lock.mdb"))
       && !exists(path2(dir, "lock.mdb")) && !exists(path2(dir, "data.mdb")),
       "no lock.mdb anywhere, no data.mdb at the top");
    ok(!exists(path2(dir, "current.tmp")), "no current.tmp left");

    verify_snap_reader_create(&r, dir, pool);
    rv = verify_snap_acquire(r, &a, &err, pool);
    ok(rv == APR_SUCCESS && a, "reader opens the snapshot (%s)",
       rv ? err : "ok");
    if (!a) {
        return;
    }
    is_str(verify_snap_name(a), snap1, "the published one");
    ok(has(a, 120, VERIFY_SRC_HOUSEHOLD, &lk) == 1
       && has(a, 99, VERIFY_SRC_HOUSEHOLD, &lk) == 0,
       "lookups answer from it");

    /* a reader holds snap1 while the next import publishes */
    ok(import(dir, VERIFY_SRC_ELDERLY_ALONE, 120, 5, "e1", &rep, &err)
       == APR_SUCCESS, "second import (another source)");
    snap2 = apr_pstrdup(pool, rep.name);
    ok(strcmp(snap1, snap2) != 0 && !strcmp(current_of(dir), snap2),
       "published as a new snapshot");
    ok(rep.kept == 1 && rep.removed == 0 && exists(path2(dir, snap1)),
       "the held snapshot is kept (kept %d, removed %d)", rep.kept,
       rep.removed);
    ok(has(a, 120, VERIFY_SRC_ELDERLY_ALONE, &lk) == 0
       && lk.found[VERIFY_SRC_HOUSEHOLD] == 1,
       "the held snapshot still answers as before");

    rv = verify_snap_acquire(r, &b, &err, pool);
    ok(rv == APR_SUCCESS && b && !strcmp(verify_snap_name(b), snap2),
       "the next acquire switches without reopening the reader");
    if (!b) {
        return;
    }
    ok(has(b, 120, VERIFY_SRC_ELDERLY_ALONE, &lk) == 1
       && lk.found[VERIFY_SRC_HOUSEHOLD] == 1
       && has(b, 149, VERIFY_SRC_HOUSEHOLD, &lk2) == 1,
       "the new snapshot has the new source and the copied one");
    has(a, 120, VERIFY_SRC_HOUSEHOLD, &lk2);
    ok(lk.have_batch[VERIFY_SRC_HOUSEHOLD]
       && !strcmp(lk.batch[VERIFY_SRC_HOUSEHOLD].batch_id, "h1")
       && lk.batch[VERIFY_SRC_HOUSEHOLD].records == 50
       && !strcmp(lk.batch[VERIFY_SRC_HOUSEHOLD].as_of,
                  lk2.batch[VERIFY_SRC_HOUSEHOLD].as_of)
       && !strcmp(lk.batch[VERIFY_SRC_ELDERLY_ALONE].batch_id, "e1"),
       "batch metadata copied with the source (id, records, as_of)");
    verify_snap_release(r, a);
    verify_snap_release(r, b);

    /* snap1 has no holder now; snap2 is the reader's current one */
    ok(import(dir, VERIFY_SRC_HOUSEHOLD, 200, 10, "h2", &rep, &err)
       == APR_SUCCESS, "third import");
    ok(rep.removed == 1 && rep.kept == 1 && !exists(path2(dir, snap1))
       && exists(path2(dir, snap2)),
       "the released snapshot is removed, the reader's kept (%d/%d)",
       rep.removed, rep.kept);
    rv = verify_snap_acquire(r, &c, &err, pool);
    ok(rv == APR_SUCCESS && c && has(c, 120, VERIFY_SRC_HOUSEHOLD, &lk) == 0
       && has(c, 205, VERIFY_SRC_HOUSEHOLD, &lk) == 1
       && lk.found[VERIFY_SRC_ELDERLY_ALONE] == 0
       && has(c, 120, VERIFY_SRC_ELDERLY_ALONE, &lk) == 1,
       "household replaced, elderly_alone carried over");
    verify_snap_release(r, c);

    /* a failed import changes nothing */
    {
        char *before = apr_pstrdup(pool, current_of(dir));
        int n = snapshots(dir);
        size_t got;
        verify_import_rec_t *recs = batch_of(VERIFY_SRC_HOUSEHOLD, 300, 3,
                                             &got);
        verify_batch_t bb;
        memset(&bb, 0, sizeof(bb));
        recs[2] = recs[0];          /* a duplicate ID */
        err = NULL;
        rv = verify_snapshot_import(dir, (gid_t)-1, VERIFY_SRC_HOUSEHOLD,
                                    recs, got, &bb, NULL, &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "duplicate"),
           "a bad batch is refused (%s)", err ? err : "-");
        ok(!strcmp(current_of(dir), before) && snapshots(dir) == n,
           "current and the snapshots as before");
    }

    /* a snapshot left by a killed importer is removed next time */
    mkdir(path2(dir, "snap-19990101T000000Z-dead0001"), 0700);
    write_file(path2(dir, "snap-19990101T000000Z-dead0001"), "data.mdb",
               "x", 1);
    ok(import(dir, VERIFY_SRC_HOUSEHOLD, 400, 10, "h3", &rep, &err)
       == APR_SUCCESS && !exists(path2(dir, "snap-19990101T000000Z-dead0001")),
       "an unpublished leftover is removed");
}

/* The old layout: served without its lock file, migrated by an import. */
static void test_legacy(void)
{
    char *dir = path2(tmpdir, "old"), *err = NULL;
    verify_store_t *st;
    verify_import_rec_t *recs;
    verify_batch_t b;
    verify_snap_reader_t *r;
    verify_snap_t *a = NULL, *n = NULL;
    verify_snap_report_t rep;
    verify_lookup_t lk;
    size_t got;
    char junk[8192];
    apr_status_t rv;

    recs = batch_of(VERIFY_SRC_HOUSEHOLD, 500, 20, &got);
    memset(&b, 0, sizeof(b));
    strcpy(b.batch_id, "old");
    verify_store_open(&st, dir, 0, 0, &err, pool);
    verify_store_rebuild(st, NULL,
                         VERIFY_SRC_HOUSEHOLD, recs, got, &b, &err, pool);
    verify_store_close(st);
    memset(junk, 0xA5, sizeof(junk));
    write_file(dir, "lock.mdb", junk, sizeof(junk));
    chmod(dir, 0750);
    is_int(verify_snapshot_legacy(dir), 1, "old layout recognised");

    verify_snap_reader_create(&r, dir, pool);
    rv = verify_snap_acquire(r, &a, &err, pool);
    ok(rv == APR_SUCCESS && a && !strcmp(verify_snap_name(a), "")
       && has(a, 510, VERIFY_SRC_HOUSEHOLD, &lk) == 1,
       "served read-only despite a garbage lock.mdb (%s)", rv ? err : "ok");

    rv = import(dir, VERIFY_SRC_ELDERLY_ALONE, 510, 2, "e-new", &rep, &err);
    ok(rv == APR_SUCCESS && rep.migrated,
       "an import over a garbage lock.mdb migrates (%s)", rv ? err : "ok");
    ok(!exists(path2(dir, "data.mdb")) && !exists(path2(dir, "lock.mdb")),
       "the old data.mdb and lock.mdb are gone");
    is_int(verify_snapshot_legacy(dir), 0, "no longer the old layout");
    if (a) {
        ok(has(a, 510, VERIFY_SRC_HOUSEHOLD, &lk) == 1,
           "a reader of the old environment still answers from it");
        verify_snap_release(r, a);
    }
    rv = verify_snap_acquire(r, &n, &err, pool);
    ok(rv == APR_SUCCESS && n && has(n, 510, VERIFY_SRC_HOUSEHOLD, &lk) == 1
       && lk.found[VERIFY_SRC_ELDERLY_ALONE]
       && !strcmp(lk.batch[VERIFY_SRC_HOUSEHOLD].batch_id, "old"),
       "the reader switches; the old household was carried over");
    verify_snap_release(r, n);
}

static void test_refusals(void)
{
    char *dir = path2(tmpdir, "bad"), *err = NULL, *empty;
    verify_snap_report_t rep;
    verify_snap_reader_t *r;
    verify_snap_t *s = NULL;
    apr_status_t rv;
    apr_time_t t0;

    mkdir(dir, 0770);
    chmod(dir, 0770);
    rv = import(dir, VERIFY_SRC_HOUSEHOLD, 1, 2, "x", &rep, &err);
    ok(rv != APR_SUCCESS && err && strstr(err, "writable by group"),
       "a group-writable store directory is refused (%s)", err ? err : "-");
    is_int(snapshots(dir), 0, "and nothing is written into it");
    ok(!exists(path2(dir, ".import.lock")), "not even the lock");

    chmod(dir, 0750);
    mkdir(path2(dir, "current"), 0700);
    rv = import(dir, VERIFY_SRC_HOUSEHOLD, 1, 2, "x", &rep, &err);
    ok(rv != APR_SUCCESS && err && strstr(err, "not a symbolic link"),
       "a current that is no link is refused (%s)", err ? err : "-");
    rmdir(path2(dir, "current"));
    symlink("../../etc", path2(dir, "current"));
    rv = import(dir, VERIFY_SRC_HOUSEHOLD, 1, 2, "x", &rep, &err);
    ok(rv != APR_SUCCESS && err && strstr(err, "does not name a snapshot"),
       "a current pointing elsewhere is refused (%s)", err ? err : "-");
    is_int(snapshots(dir), 0, "no snapshot left behind");
    verify_snap_reader_create(&r, dir, pool);
    rv = verify_snap_acquire(r, &s, &err, pool);
    ok(rv != APR_SUCCESS && !s && strstr(err, "does not name a snapshot"),
       "nor does a reader follow it (%s)", err ? err : "-");

    empty = path2(tmpdir, "empty");
    mkdir(empty, 0750);
    verify_snap_reader_create(&r, empty, pool);
    rv = verify_snap_acquire(r, &s, &err, pool);
    ok(rv != APR_SUCCESS && strstr(err, "no published snapshot"),
       "an empty store: no snapshot yet (%s)", err);
    t0 = apr_time_now();
    rv = verify_snap_acquire(r, &s, &err, pool);
    ok(rv != APR_SUCCESS && err == NULL && apr_time_now() - t0 < 1000,
       "the failure is remembered, not retried (nor told) at once");
    is_int(exists(path2(empty, "data.mdb")) + exists(path2(empty,
                                                           "lock.mdb")),
           0, "a reader creates nothing");
}

/* Threads read while imports publish: no error, and each thread sees
 * the batches in the order they were published. */
#define THREADS 4
#define ROUNDS 6

typedef struct {
    verify_snap_reader_t *r;
    volatile int *stop;
    int errors;
    int backwards;
    int seen;
    int switches;
} reader_arg_t;

static void *reader_thread(void *data)
{
    reader_arg_t *a = data;
    int last = -1;

    while (!*a->stop) {
        verify_snap_t *s = NULL;
        verify_lookup_t lk;
        char *err;
        apr_pool_t *ep;
        int k;

        apr_pool_create_unmanaged_ex(&ep, NULL, NULL);
        if (verify_snap_acquire(a->r, &s, &err, ep) != APR_SUCCESS) {
            a->errors++;
            apr_pool_destroy(ep);
            continue;
        }
        if (has(s, 600, VERIFY_SRC_HOUSEHOLD, &lk) < 0) {
            a->errors++;
        }
        k = atoi(lk.batch[VERIFY_SRC_HOUSEHOLD].batch_id);
        if (k < last) {
            a->backwards++;
        }
        a->switches += k != last;
        last = k;
        a->seen++;
        verify_snap_release(a->r, s);
        apr_pool_destroy(ep);
    }
    return NULL;
}

static void test_threads(void)
{
    char *dir = path2(tmpdir, "threads"), *err, bid[8];
    verify_snap_report_t rep;
    verify_snap_reader_t *r;
    reader_arg_t args[THREADS];
    pthread_t th[THREADS];
    volatile int stop = 0;
    int i, errors = 0, back = 0, seen = 0, failed = 0;

    import(dir, VERIFY_SRC_HOUSEHOLD, 600, 100, "0", &rep, &err);
    verify_snap_reader_create(&r, dir, pool);
    for (i = 0; i < THREADS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].r = r;
        args[i].stop = &stop;
        pthread_create(&th[i], NULL, reader_thread, &args[i]);
    }
    for (i = 1; i <= ROUNDS; i++) {
        usleep(20000);
        snprintf(bid, sizeof(bid), "%d", i);
        failed += import(dir, VERIFY_SRC_HOUSEHOLD, 600, 100 + i, bid, &rep,
                         &err) != APR_SUCCESS;
    }
    usleep(20000);
    stop = 1;
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        errors += args[i].errors;
        back += args[i].backwards;
        seen += args[i].seen;
    }
    is_int(failed, 0, "%d imports while %d threads read", ROUNDS, THREADS);
    ok(errors == 0 && seen > ROUNDS, "%d lookups, no error", seen);
    is_int(back, 0, "no thread ever saw an older batch after a newer one");
    ok(snapshots(dir) <= 2, "old snapshots removed once released (%d left)",
       snapshots(dir));
}

/* One importer run under one lock: what the store holds (batches,
 * flags), a publish, and a second locker that waits. */
static void test_lock_batches_flags(void)
{
    char *dir = path2(tmpdir, "locked"), *err = NULL;
    verify_snap_lock_t *l = NULL;
    verify_snap_report_t rep;
    verify_import_rec_t *recs;
    verify_lookup_t cur;
    verify_batch_t b;
    size_t got;
    int fd;

    ok(verify_snapshot_lock(&l, dir, (gid_t)-1, &err, pool) == APR_SUCCESS
       && l, "lock creates and locks the store (%s)", err ? err : "ok");
    if (!l) {
        return;
    }
    ok(verify_snapshot_batches(l, &cur, &err, pool) == APR_SUCCESS
       && !cur.have_batch[0] && !cur.have_batch[1] && !cur.have_batch[2],
       "nothing published: no batches");
    is_int(verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, pool),
           0, "no flag");
    ok(verify_snapshot_flag_set(l, VERIFY_SNAP_REQUIRE_SIGNED, 1, "why\n",
                                &err, pool) == APR_SUCCESS
       && verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, pool)
          == 1
       && mode_of(path2(dir, VERIFY_SNAP_REQUIRE_SIGNED)) == 0640
       && !exists(path2(dir, "require-signed.tmp")),
       "flag set: a regular file, 0640, no temporary left");
    chmod(path2(dir, VERIFY_SNAP_REQUIRE_SIGNED), 0666);
    is_int(verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, pool),
           -1, "a flag others may write is refused, not taken as unset");
    unlink(path2(dir, VERIFY_SNAP_REQUIRE_SIGNED));
    symlink("/etc/hostname", path2(dir, VERIFY_SNAP_REQUIRE_SIGNED));
    is_int(verify_snapshot_flag(l, VERIFY_SNAP_REQUIRE_SIGNED, &err, pool),
           -1, "a flag that is a symbolic link is refused");
    ok(verify_snapshot_flag_set(l, VERIFY_SNAP_REQUIRE_SIGNED, 0, NULL,
                                &err, pool) == APR_SUCCESS
       && !exists(path2(dir, VERIFY_SNAP_REQUIRE_SIGNED))
       && exists("/etc/hostname"),
       "flag lifted: the link removed, not what it named");

    recs = batch_of(VERIFY_SRC_HOUSEHOLD, 300, 5, &got);
    memset(&b, 0, sizeof(b));
    apr_cpystrn(b.batch_id, "lockedbatch", sizeof(b.batch_id));
    b.signed_at = apr_time_from_sec(1795759200);
    b.flags = VERIFY_BATCH_PLAIN;
    ok(verify_snapshot_publish(l, VERIFY_SRC_HOUSEHOLD, recs, got, &b, &rep,
                               &err, pool) == APR_SUCCESS,
       "publish under the lock (%s)", err ? err : "ok");
    ok(verify_snapshot_batches(l, &cur, &err, pool) == APR_SUCCESS
       && cur.have_batch[VERIFY_SRC_HOUSEHOLD]
       && !cur.have_batch[VERIFY_SRC_DISABILITY]
       && !strcmp(cur.batch[VERIFY_SRC_HOUSEHOLD].batch_id, "lockedbatch")
       && cur.batch[VERIFY_SRC_HOUSEHOLD].records == 5
       && cur.batch[VERIFY_SRC_HOUSEHOLD].signed_at == b.signed_at
       && cur.batch[VERIFY_SRC_HOUSEHOLD].flags == VERIFY_BATCH_PLAIN,
       "the published batch's metadata, signing time and flags");
    /* flock: another open of the lock file cannot take it meanwhile */
    fd = open(path2(dir, VERIFY_SNAP_IMPORT_LOCK), O_RDWR);
    ok(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0
       && errno == EWOULDBLOCK, "held: a second importer would wait");
    verify_snapshot_unlock(l);
    ok(flock(fd, LOCK_EX | LOCK_NB) == 0, "released by unlock");
    close(fd);
    verify_snapshot_unlock(l);
    ok(1, "unlock twice is harmless");
}

/* A batch in a record set that spills (verify_recset.c): published in
 * key order; a duplicate found while the snapshot is written takes the
 * snapshot away and leaves the store as it was. */
static void test_publish_set(void)
{
    char *dir = path2(tmpdir, "spilled"), *err = NULL, *first;
    verify_snap_lock_t *l = NULL;
    verify_snap_report_t rep;
    verify_recset_t *set;
    verify_import_rec_t *recs;
    verify_lookup_t cur;
    verify_batch_t b;
    size_t got, i;
    int bad = 0, rc;

    if (verify_snapshot_lock(&l, dir, (gid_t)-1, &err, pool)
        != APR_SUCCESS) {
        ok(0, "lock (%s)", err);
        return;
    }
    recs = batch_of(VERIFY_SRC_HOUSEHOLD, 5000, 3000, &got);
    verify_recset_create(&set, verify_snapshot_dirfd(l), 500, pool);
    for (i = 0; i < got; i++) {
        bad |= verify_recset_add(set, &recs[i], &err) != 0;
    }
    memset(&b, 0, sizeof(b));
    apr_cpystrn(b.batch_id, "spilledbatch", sizeof(b.batch_id));
    ok(!bad && verify_recset_spilled(set)
       && verify_snapshot_publish_set(l, VERIFY_SRC_HOUSEHOLD, set, &b, &rep,
                                      &err, pool) == APR_SUCCESS,
       "a spilled set of 3000 published (%s)", err ? err : "ok");
    ok(verify_snapshot_batches(l, &cur, &err, pool) == APR_SUCCESS
       && cur.batch[VERIFY_SRC_HOUSEHOLD].records == 3000
       && snapshots(dir) == 1, "its batch: 3000 records, one snapshot");
    verify_snapshot_unlock(l);
    {
        verify_snap_reader_t *r;
        verify_snap_t *sn = NULL;
        verify_lookup_t lk;
        int all = 1;
        verify_snap_reader_create(&r, dir, pool);
        if (verify_snap_acquire(r, &sn, &err, pool) != APR_SUCCESS) {
            all = 0;
        }
        for (i = 0; all && i < 3000; i += 7) {
            all = has(sn, 5000 + (unsigned)i, VERIFY_SRC_HOUSEHOLD, &lk)
                  == 1;
        }
        ok(all && has(sn, 4999, VERIFY_SRC_HOUSEHOLD, &lk) == 0,
           "every record of the spilled set found, no other");
        verify_snap_release(r, sn);
    }

    first = apr_pstrdup(pool, current_of(dir));
    verify_snapshot_lock(&l, dir, (gid_t)-1, &err, pool);
    verify_recset_create(&set, verify_snapshot_dirfd(l), 500, pool);
    for (i = 0; i < got; i++) {
        verify_recset_add(set, &recs[i], &err);
    }
    recs[17].line = 9999;
    verify_recset_add(set, &recs[17], &err);
    err = NULL;
    rc = verify_snapshot_publish_set(l, VERIFY_SRC_HOUSEHOLD, set, &b, &rep,
                                     &err, pool) == APR_EINVAL;
    ok(rc && err && !strcmp(err, "line 9999: duplicate ID (same as line "
                            "19)"),
       "a duplicate in a spilled set refused (%s)", err ? err : "none");
    ok(!strcmp(current_of(dir), first) && snapshots(dir) == 1,
       "refused: current unchanged, the new snapshot taken away");
    verify_snapshot_unlock(l);
}

int main(void)
{
    unit_begin();
    need_keys();
    umask(077);
    test_lock_batches_flags();
    test_publish_set();
    test_layout_and_switch();
    test_legacy();
    test_refusals();
    test_threads();
    return unit_end();
}
