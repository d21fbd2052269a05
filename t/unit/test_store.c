/*
 * test_store.c -- the LMDB store (verify_store.c): open, lookup and the
 * all-or-nothing replacement of a source (snapshots: test_snapshot.c).
 *
 * Pseudonyms are recomputed with OpenSSL's HMAC(); the store's contents
 * are re-read through the LMDB API directly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include "unit.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!d) {
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void sha256(const void *d, size_t n, unsigned char out[32])
{
    unsigned int l;

    EVP_Digest(d, n, out, &l, EVP_sha256(), NULL);
}

static const char *gen_id(unsigned i)
{
    static char id[11];
    char seven[8];

    snprintf(seven, sizeof(seven), "%07u", i % 10000000u);
    make_id(id, (char)('A' + i % 26), (i & 1) ? '2' : '1', seven);
    return id;
}

/* ------------------------------------------------------------------ */
/* the store                                                           */
/* ------------------------------------------------------------------ */

static int lookup1(verify_store_t *st, const char *id, verify_lookup_t *lk)
{
    unsigned char k[32];
    const char *err = NULL;

    store_key(id, k);
    if (verify_store_lookup(st, k, 7, lk, &err) != APR_SUCCESS) {
        diag("lookup failed: %s", err ? err : "?");
        return -1;
    }
    return lk->found[VERIFY_SRC_HOUSEHOLD];
}

static int batch_eq(const verify_batch_t *a, const verify_batch_t *b)
{
    return strcmp(a->batch_id, b->batch_id) == 0 && a->records == b->records
           && a->imported_at == b->imported_at
           && a->approved_until == b->approved_until
           && memcmp(a->sha256, b->sha256, 32) == 0
           && strcmp(a->as_of, b->as_of) == 0;
}

static int as_of_shape(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd+08:00";
    size_t i;

    if (strlen(s) != 25) {
        return 0;
    }
    for (i = 0; i < 25; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9')
                            : s[i] != shape[i]) {
            return 0;
        }
    }
    return 1;
}

/* The batch metadata of @p src, as a lookup of no ID sees it;
 * APR_NOTFOUND if the source was never imported. */
static apr_status_t store_batch(verify_store_t *st, verify_source_t src,
                                verify_batch_t *out)
{
    static const unsigned char nokey[VERIFY_TAG_LEN];
    verify_lookup_t lk;
    const char *err;
    apr_status_t rv;

    rv = verify_store_lookup(st, nokey, 1u << src, &lk, &err);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!lk.have_batch[src]) {
        return APR_NOTFOUND;
    }
    *out = lk.batch[src];
    return APR_SUCCESS;
}

/* Keys of one database, read with the LMDB API (store closed). */
static size_t lmdb_count(const char *dir, const char *db,
                         unsigned char (*keys_out)[32], size_t max)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;

    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 8)
        || mdb_env_open(env, dir, MDB_RDONLY, 0)) {
        return (size_t)-1;
    }
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        if (mdb_dbi_open(txn, db, 0, &dbi) == 0
            && mdb_cursor_open(txn, dbi, &cur) == 0) {
            while (mdb_cursor_get(cur, &k, &v,
                                  n ? MDB_NEXT : MDB_FIRST) == 0) {
                if (keys_out && n < max && k.mv_size == 32) {
                    memcpy(keys_out[n], k.mv_data, 32);
                }
                n++;
            }
            mdb_cursor_close(cur);
        }
        mdb_txn_abort(txn);
    }
    mdb_env_close(env);
    return n;
}

#define BIG 3000

static void test_store(void)
{
    verify_store_t *st;
    verify_import_rec_t *recs;
    verify_batch_t batch, got;
    verify_lookup_t lk;
    char *dir = apr_pstrcat(pool, tmpdir, "/store/sub", NULL);
    char *err = NULL, *csv, *datafile;
    const char *cerr = NULL;
    apr_status_t rv;
    size_t n, i, clen, snap_len, now_len;
    char *snap, *now;
    apr_time_t before, after_t;
    struct stat sb;
    int sr;
    unsigned char k[32];
    int all;
    static const char hdr[] = "id,name,birth_date,indigenous\n";
    char *ids[BIG];

    /* batch 1: BIG generated IDs */
    {
        char *p;
        csv = apr_palloc(pool, BIG * 64 + 64);
        p = csv + sprintf(csv, "%s", hdr);
        for (i = 0; i < BIG; i++) {
            ids[i] = apr_pstrdup(pool, gen_id((unsigned)i * 7919u + 13u));
            p += sprintf(p, "%s,Person %zu,19%02zu-0%zu-1%zu,%s\n", ids[i], i,
                         i % 100, 1 + i % 9, i % 10,
                         i % 3 == 0 ? "" : i % 3 == 1 ? "mountain" : "plain");
        }
        clen = (size_t)(p - csv);
    }
    rv = verify_intake(VERIFY_SRC_HOUSEHOLD, csv, clen, keys, TODAY, &recs,
                       &n, &err, pool);
    ok(rv == APR_SUCCESS && n == BIG, "intake of %d generated records (%s)",
       BIG, err ? err : "ok");
    if (rv != APR_SUCCESS) {
        return;
    }

    umask(007);
    rv = verify_store_open(&st, dir, 0, 0, &err, pool);
    ok(rv == APR_SUCCESS && st, "read-write open creates %s (%s)", dir,
       rv ? err : "ok");
    if (rv != APR_SUCCESS) {
        return;
    }
    datafile = apr_pstrcat(pool, dir, "/data.mdb", NULL);
    /* stat() before the ok() whose message reads sb: C evaluates
     * arguments in no set order */
    sr = stat(datafile, &sb);
    ok(sr == 0 && (sb.st_mode & 0777) == 0640,
       "data.mdb mode 0640 (%o)", (unsigned)(sb.st_mode & 0777));
    sr = stat(apr_pstrcat(pool, dir, "/lock.mdb", NULL), &sb);
    ok(sr == 0 && (sb.st_mode & 0777) == 0660, "lock.mdb mode 0660 (%o)",
       (unsigned)(sb.st_mode & 0777));

    /* never imported */
    store_key(ids[0], k);
    rv = verify_store_lookup(st, k, 7, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.have_batch[1]
       && !lk.have_batch[2] && !lk.found[0],
       "fresh store: lookup succeeds, no batch, nothing found");
    is_int(store_batch(st, VERIFY_SRC_HOUSEHOLD, &got),
           APR_NOTFOUND, "fresh store: no household batch");

    memset(&batch, 0, sizeof(batch));
    strcpy(batch.batch_id, "0123456789abcdef0123456789abcdef");
    batch.approved_until = 20261231;
    sha256(csv, clen, batch.sha256);
    before = apr_time_now();
    rv = verify_store_rebuild(st, NULL, VERIFY_SRC_HOUSEHOLD, recs, n, &batch,
                              &err, pool);
    after_t = apr_time_now();
    ok(rv == APR_SUCCESS, "replace household with %zu records (%s)", n,
       rv ? err : "ok");
    is_int((long long)batch.records, BIG, "batch.records filled in");
    ok(batch.imported_at >= before && batch.imported_at <= after_t,
       "batch.imported_at is the commit time");
    {
        char s[26];
        verify_time_format_s(batch.imported_at, s);
        ok(as_of_shape(batch.as_of) && strcmp(s, batch.as_of) == 0,
           "batch.as_of is imported_at in Taipei, seconds (%s)", batch.as_of);
    }

    /* every record found with its values, and the batch metadata */
    all = 1;
    for (i = 0; i < BIG; i++) {
        verify_record_t d;
        unsigned char nt[32];
        char nm[32];
        int f = lookup1(st, ids[i], &lk);
        snprintf(nm, sizeof(nm), "person %zu", i);  /* the normal form */
        name_tag(nm, nt);
        if (f != 1 || !lk.have_batch[0] || !batch_eq(&lk.batch[0], &batch)
            || lk.have_batch[1] || lk.found[1] || lk.have_batch[2]) {
            all = 0;
            diag("lookup %s: found %d", ids[i], f);
            break;
        }
        d = lk.rec[0];
        if (d.birth != 19000000u + (unsigned)(i % 100) * 10000u
                       + (unsigned)(1 + i % 9) * 100u + 10u + (unsigned)(i % 10)
            || d.indigenous != i % 3 || memcmp(d.name_tag, nt, 16) != 0) {
            all = 0;
            diag("record %s differs", ids[i]);
            break;
        }
    }
    ok(all, "all %d records found with birth, indigenous, name tag and "
       "batch metadata", BIG);
    {
        char absent[11];
        make_id(absent, 'Q', '2', "9999999");
        is_int(lookup1(st, absent, &lk), 0, "an absent ID is not found");
        ok(lk.have_batch[0] && batch_eq(&lk.batch[0], &batch),
           "but the batch metadata is there");
        ok(lk.batch[0].records == BIG && lk.batch[0].approved_until == 20261231
           && memcmp(lk.batch[0].sha256, batch.sha256, 32) == 0
           && strcmp(lk.batch[0].batch_id, batch.batch_id) == 0,
           "metadata: records, approved_until, sha256, batch_id as given");
    }
    store_key(ids[5], k);
    rv = verify_store_lookup(st, k, 0, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.found[0],
       "source mask 0: nothing looked at");
    rv = verify_store_lookup(st, k, 1u << VERIFY_SRC_DISABILITY, &lk, &cerr);
    ok(rv == APR_SUCCESS && !lk.have_batch[0] && !lk.found[0],
       "mask of another source: household not looked at");
    rv = store_batch(st, VERIFY_SRC_HOUSEHOLD, &got);
    ok(rv == APR_SUCCESS && batch_eq(&got, &batch),
       "batch metadata alone (a lookup of no ID)");
    is_int(store_batch(st, VERIFY_SRC_DISABILITY, &got),
           APR_NOTFOUND, "batch metadata of a never-imported source");

    /* another source alongside */
    {
        verify_import_rec_t dr[2];
        verify_record_t r;
        verify_batch_t db;
        memset(dr, 0, sizeof(dr));
        memset(&r, 0, sizeof(r));
        r.level = 3;
        r.valid_until = 20271231;
        store_key(ids[5], dr[0].key);
        dr[0].vlen = (unsigned char)verify_record_encode(VERIFY_SRC_DISABILITY,
                                                         &r, dr[0].val);
        dr[0].line = 2;
        r.level = 1;
        store_key(ids[6], dr[1].key);
        dr[1].vlen = (unsigned char)verify_record_encode(VERIFY_SRC_DISABILITY,
                                                         &r, dr[1].val);
        dr[1].line = 3;
        memset(&db, 0, sizeof(db));
        strcpy(db.batch_id, "ffffffffffffffffffffffffffffffff");
        rv = verify_store_rebuild(st, NULL, VERIFY_SRC_DISABILITY, dr, 2, &db,
                                  &err, pool);
        ok(rv == APR_SUCCESS, "replace disability with 2 records");
        store_key(ids[5], k);
        rv = verify_store_lookup(st, k, 7, &lk, &cerr);
        ok(rv == APR_SUCCESS && lk.found[0] && lk.found[2] && !lk.found[1]
           && lk.rec[2].level == 3 && lk.rec[2].valid_until == 20271231
           && lk.have_batch[2] && lk.batch[2].records == 2
           && lk.batch[2].approved_until == 0 && !lk.have_batch[1],
           "one lookup reads household and disability");
    }

    /* a duplicate ID fails the batch and leaves everything as it was */
    snap = read_file(datafile, &snap_len);
    {
        char id_a[11], id_b[11], *dup;
        verify_import_rec_t *drecs;
        size_t dn;
        verify_batch_t b2 = batch;

        make_id(id_a, 'E', '1', "5550001");
        make_id(id_b, 'E', '2', "5550002");
        dup = apr_psprintf(pool, "%s%s,A,1980-01-01,\n%s,B,1980-01-01,\n"
                           "%s,C,1980-01-01,\n\n%c%s,D,1981-01-01,plain\n",
                           hdr, id_b, id_a, ids[1], id_a[0] + 32, id_a + 1);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, dup, strlen(dup), keys,
                           TODAY, &drecs, &dn, &err, pool);
        ok(rv == APR_SUCCESS && dn == 4, "intake of a batch with a duplicate "
           "(case differs) passes intake");
        strcpy(b2.batch_id, "22222222222222222222222222222222");
        err = NULL;
        rv = verify_store_rebuild(st, NULL,
                                  VERIFY_SRC_HOUSEHOLD, drecs, dn, &b2,
                                  &err, pool);
        ok(rv != APR_SUCCESS, "a duplicate ID rejects the batch");
        is_str(err, "line 6: duplicate ID (same as line 3)",
               "the message names both lines");
        ok(err && !strstr(err, id_a), "the message holds no ID");
        now = read_file(datafile, &now_len);
        ok(now_len == snap_len && memcmp(snap, now, snap_len) == 0,
           "data.mdb byte for byte as before");
        ok(lookup1(st, ids[1], &lk) == 1 && batch_eq(&lk.batch[0], &batch)
           && lookup1(st, id_a, &lk) == 0 && lookup1(st, id_b, &lk) == 0,
           "lookups give the old contents and old batch metadata");

        /* dry run of the duplicate batch fails too */
        err = NULL;
        rv = verify_import_check(drecs, dn, &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "duplicate"),
           "dry run finds the duplicate too");
    }

    /* dry run (verify_import_check alone) of a valid batch writes
     * nothing */
    {
        char id_a[11], *b;
        verify_import_rec_t *drecs;
        size_t dn;
        make_id(id_a, 'G', '1', "7770001");
        b = apr_psprintf(pool, "%s%s,A,1980-01-01,\n", hdr, id_a);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, b, strlen(b), keys, TODAY,
                           &drecs, &dn, &err, pool);
        rv = verify_import_check(drecs, dn, &err, pool);
        ok(rv == APR_SUCCESS, "dry run of a valid batch succeeds");
        now = read_file(datafile, &now_len);
        ok(now_len == snap_len && memcmp(snap, now, snap_len) == 0,
           "dry run: data.mdb byte for byte as before");
        ok(lookup1(st, id_a, &lk) == 0 && lookup1(st, ids[0], &lk) == 1
           && batch_eq(&lk.batch[0], &batch),
           "dry run: new ID absent, old present, old metadata");
    }

    /* a second replace fully replaces */
    {
        char *b, *p;
        verify_import_rec_t *nrecs;
        size_t nn;
        verify_batch_t b4;
        b = apr_palloc(pool, 200 * 64 + 64);
        p = b + sprintf(b, "%s", hdr);
        for (i = 0; i < 200; i++) {
            p += sprintf(p, "%s,New %zu,2001-02-03,\n",
                         gen_id(900000u + (unsigned)i), i);
        }
        /* one ID carried over with changed values */
        p += sprintf(p, "%s,Person 7,1999-09-09,mountain\n", ids[7]);
        rv = verify_intake(VERIFY_SRC_HOUSEHOLD, b, (size_t)(p - b), keys,
                           TODAY, &nrecs, &nn, &err, pool);
        memset(&b4, 0, sizeof(b4));
        strcpy(b4.batch_id, "44444444444444444444444444444444");
        b4.approved_until = 0;
        sha256(b, (size_t)(p - b), b4.sha256);
        rv = verify_store_rebuild(st, NULL,
                                  VERIFY_SRC_HOUSEHOLD, nrecs, nn, &b4,
                                  &err, pool);
        ok(rv == APR_SUCCESS && nn == 201, "second replace with 201 records");
        all = 0;
        for (i = 0; i < BIG; i++) {
            if (i != 7 && lookup1(st, ids[i], &lk) != 0) {
                all++;
            }
        }
        is_int(all, 0, "none of the %d old IDs (but the carried one) found",
               BIG - 1);
        all = 1;
        for (i = 0; i < 200; i++) {
            if (lookup1(st, gen_id(900000u + (unsigned)i), &lk) != 1) {
                all = 0;
            }
        }
        ok(all, "all 200 new IDs found");
        ok(lookup1(st, ids[7], &lk) == 1 && lk.rec[0].birth == 19990909
           && lk.rec[0].indigenous == VERIFY_INDIGENOUS_MOUNTAIN,
           "the carried-over ID has its new values");
        ok(batch_eq(&lk.batch[0], &b4) && lk.batch[0].records == 201
           && lk.batch[0].approved_until == 0,
           "new batch metadata (records 201, no approved_until)");
        store_key(ids[5], k);
        rv = verify_store_lookup(st, k, 7, &lk, &cerr);
        ok(rv == APR_SUCCESS && lk.found[2] && lk.rec[2].level == 3,
           "the disability source is untouched");
    }

    /* read-only: close, reopen read-only */
    verify_store_close(st);
    is_int((long long)lmdb_count(dir, "household", NULL, 0), 201,
           "LMDB itself holds exactly 201 household records");
    is_int((long long)lmdb_count(dir, "disability", NULL, 0), 2,
           "and 2 disability records");
    is_int((long long)lmdb_count(dir, "meta", NULL, 0), 2,
           "and 2 metadata entries");
    {
        static unsigned char ks[300][32];
        size_t cnt = lmdb_count(dir, "household", ks, 300), j;
        int sorted = 1, present = 1;
        unsigned char want[32];
        for (j = 1; j < cnt && j < 300; j++) {
            if (memcmp(ks[j - 1], ks[j], 32) >= 0) {
                sorted = 0;
            }
        }
        store_key(ids[7], want);
        present = 0;
        for (j = 0; j < cnt && j < 300; j++) {
            if (memcmp(ks[j], want, 32) == 0) {
                present = 1;
            }
        }
        ok(sorted && present, "keys are 32-byte pseudonyms HMAC(store key, "
           "ID), strictly ascending");
    }

    rv = verify_store_open(&st, dir, VERIFY_STORE_READONLY, 0, &err, pool);
    ok(rv == APR_SUCCESS && st, "read-only open of the store");
    if (rv == APR_SUCCESS) {
        verify_batch_t b5;
        ok(lookup1(st, ids[7], &lk) == 1 && lk.rec[0].birth == 19990909,
           "read-only lookup");
        memset(&b5, 0, sizeof(b5));
        err = NULL;
        rv = verify_store_rebuild(st, NULL, VERIFY_SRC_HOUSEHOLD, recs, 1, &b5,
                                  &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "read-only"),
           "replace on a read-only store refused (%s)", err ? err : "-");
        verify_store_close(st);
        verify_store_close(st);
        ok(1, "closing twice is harmless");
    }

    /* read-only open of directories without a store */
    {
        char *none = apr_pstrcat(pool, tmpdir, "/no-store", NULL);
        char *empty = apr_pstrcat(pool, tmpdir, "/empty-store", NULL);
        char *bare = apr_pstrcat(pool, tmpdir, "/bare-env", NULL);
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, none, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err && strstr(err, none),
           "read-only open of a missing directory fails (%s)",
           err ? err : "-");
        ok(stat(none, &sb) != 0, "and creates nothing");

        mkdir(empty, 0700);
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, empty, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err,
           "read-only open of an empty directory fails (%s)",
           err ? err : "-");
        is_int(dir_entries(empty), 0, "and leaves it empty");

        /* an LMDB environment without our databases */
        {
            MDB_env *env;
            MDB_txn *txn;
            MDB_dbi dbi;
            mkdir(bare, 0700);
            mdb_env_create(&env);
            mdb_env_set_maxdbs(env, 4);
            mdb_env_open(env, bare, 0, 0600);
            mdb_txn_begin(env, NULL, 0, &txn);
            mdb_dbi_open(txn, "unrelated", MDB_CREATE, &dbi);
            mdb_txn_commit(txn);
            mdb_env_close(env);
        }
        err = NULL;
        st = (verify_store_t *)1;
        rv = verify_store_open(&st, bare, VERIFY_STORE_READONLY, 0, &err,
                               pool);
        ok(rv != APR_SUCCESS && st == NULL && err
           && strstr(err, "no databases"),
           "read-only open of an LMDB without our databases fails (%s)",
           err ? err : "-");
    }
}

int main(void)
{
    unit_begin();
    need_keys();
    test_store();
    return unit_end();
}
