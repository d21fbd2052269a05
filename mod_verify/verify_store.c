/*
 * verify_store.c -- the LMDB store: opening it, lookups and the
 * all-or-nothing replacement of one source.
 *
 * Keys are 32-byte pseudonyms, never IDs; values are encoded by
 * verify_record.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <apr_strings.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include "verify_store.h"
#include "verify_recset.h"

#define META_DB "meta"
/* Sparse on disk; large enough that readers never see the map grow. */
#define MAP_SIZE ((size_t)4 << 30)

struct verify_store_t {
    MDB_env *env;
    MDB_dbi db[VERIFY_SRC_COUNT];
    MDB_dbi meta;
    int readonly;
    int nolock;                 /* no reader table: nothing to renew */
    unsigned long id;           /* tells thread-kept txns which store */
};

/*
 * Each reading thread keeps one reset read transaction and renews it per
 * lookup. A fresh mdb_txn_begin takes the cross-process reader-table
 * mutex to claim a slot; renew reuses the slot without it. The snapshot
 * is released (reset) when the lookup returns.
 */
static __thread MDB_txn *tls_txn;
static __thread unsigned long tls_store_id;
static unsigned long store_ids;

void verify_store_close(verify_store_t *st)
{
    if (st && st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
}

static apr_status_t store_cleanup(void *data)
{
    verify_store_close(data);
    return APR_SUCCESS;
}

apr_status_t verify_store_open(verify_store_t **out, const char *dir,
                               int flags, unsigned maxreaders,
                               char **err, apr_pool_t *p)
{
    verify_store_t *st = apr_pcalloc(p, sizeof(*st));
    MDB_txn *txn = NULL;
    unsigned int envflags, dbflags;
    int rc, i;

    *out = NULL;
    st->readonly = (flags & VERIFY_STORE_READONLY) != 0;
    st->nolock = (flags & VERIFY_STORE_NOLOCK) != 0;
    st->id = __atomic_add_fetch(&store_ids, 1, __ATOMIC_RELAXED);
    rc = mdb_env_create(&st->env);
    if (rc != 0) {
        goto cleanup;
    }
    mdb_env_set_maxdbs(st->env, VERIFY_SRC_COUNT + 1);
    if (maxreaders) {
        mdb_env_set_maxreaders(st->env, maxreaders);
    }
    if (st->readonly) {
        /* NOTLS: reader slots belong to transactions, not threads, so
         * event-MPM worker threads can share the environment. */
        envflags = MDB_RDONLY | MDB_NOTLS | MDB_NORDAHEAD;
        dbflags = 0;
    }
    else {
        mdb_env_set_mapsize(st->env, MAP_SIZE);
        envflags = MDB_NORDAHEAD;
        dbflags = MDB_CREATE;
        if (!(flags & VERIFY_STORE_FILE)) {
            apr_dir_make_recursive(dir, APR_FPROT_UREAD | APR_FPROT_UWRITE
                                   | APR_FPROT_UEXECUTE | APR_FPROT_GREAD
                                   | APR_FPROT_GEXECUTE, p);
        }
    }
    if (st->nolock) {
        envflags |= MDB_NOLOCK;
    }
    if (flags & VERIFY_STORE_FILE) {
        envflags |= MDB_NOSUBDIR;
    }
    /* LMDB creates both files with this mode */
    rc = mdb_env_open(st->env, dir, envflags, VERIFY_STORE_LOCK_MODE);
    if (rc != 0) {
        goto cleanup;
    }
    if (!st->readonly && !(flags & VERIFY_STORE_FILE)) {
        /* through LMDB's own descriptor of the data file, not by path */
        mdb_filehandle_t fd;
        if (mdb_env_get_fd(st->env, &fd) == 0) {
            (void)fchmod(fd, VERIFY_STORE_DATA_MODE);
        }
    }
    rc = mdb_txn_begin(st->env, NULL, st->readonly ? MDB_RDONLY : 0, &txn);
    if (rc != 0) {
        goto cleanup;
    }
    for (i = 0; i < VERIFY_SRC_COUNT; i++) {
        rc = mdb_dbi_open(txn, verify_source_name(i), dbflags, &st->db[i]);
        if (rc != 0) {
            goto cleanup;
        }
    }
    rc = mdb_dbi_open(txn, META_DB, dbflags, &st->meta);
    if (rc != 0) {
        goto cleanup;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0) {
        goto cleanup;
    }
    apr_pool_cleanup_register(p, st, store_cleanup, apr_pool_cleanup_null);
    *out = st;
    return APR_SUCCESS;

cleanup:
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc == MDB_NOTFOUND) {
        *err = apr_psprintf(p, "store %s has no databases yet "
                            "(no batch imported)", dir);
    }
    else {
        *err = apr_psprintf(p, "cannot open store %s: %s", dir,
                            mdb_strerror(rc));
    }
    if (st->env) {
        mdb_env_close(st->env);
        st->env = NULL;
    }
    /* positive codes are errno values, negative ones LMDB's own */
    return rc > 0 ? APR_FROM_OS_ERROR(rc) : APR_EGENERAL;
}

static const char *lmdb_fault(int rc)
{
    switch (rc) {
    case MDB_MAP_RESIZED:  return "store map grew: restart httpd";
    case MDB_READERS_FULL: return "store reader slots exhausted";
    case MDB_CORRUPTED:    return "store corrupted";
    case MDB_VERSION_MISMATCH: return "store written by another LMDB";
    default:               return "store read failed";
    }
}

static void release_txn(verify_store_t *st, MDB_txn *txn)
{
    /* Without a reader table a begin takes no lock, and a kept txn
     * could outlive its snapshot's environment in another thread. */
    if (st->readonly && !st->nolock) {
        mdb_txn_reset(txn);
        tls_txn = txn;
        tls_store_id = st->id;
    }
    else {
        mdb_txn_abort(txn);
    }
}

apr_status_t verify_store_lookup(verify_store_t *st,
                                 const unsigned char key[VERIFY_TAG_LEN],
                                 unsigned sources, verify_lookup_t *out,
                                 const char **err)
{
    MDB_txn *txn = NULL;
    MDB_val k, v;
    int rc, i;

    memset(out, 0, sizeof(*out));
    if (st->readonly && !st->nolock && tls_txn && tls_store_id == st->id) {
        txn = tls_txn;
        rc = mdb_txn_renew(txn);
        if (rc != 0) {
            mdb_txn_abort(txn);
            tls_txn = NULL;
        }
    }
    else {
        /* a txn kept for another (maybe closed) store is forgotten */
        if (!st->nolock) {
            tls_txn = NULL;
        }
        rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    }
    if (rc != 0) {
        *err = lmdb_fault(rc);
        return APR_EGENERAL;
    }
    /* Everything is copied out before the abort: MDB_val pointers die
     * with the transaction. */
    for (i = 0; i < VERIFY_SRC_COUNT; i++) {
        if (!(sources & (1u << i))) {
            continue;
        }
        k.mv_data = (void *)verify_source_name(i);
        k.mv_size = strlen(verify_source_name(i));
        rc = mdb_get(txn, st->meta, &k, &v);
        if (rc == MDB_NOTFOUND) {
            continue;       /* never imported: a result, not an error */
        }
        if (rc != 0 || verify_batch_decode(v.mv_data, v.mv_size, &out->batch[i]) != 0) {
            *err = rc ? lmdb_fault(rc) : "batch metadata unreadable";
            goto fail;
        }
        out->have_batch[i] = 1;
        k.mv_data = (void *)key;
        k.mv_size = VERIFY_TAG_LEN;
        rc = mdb_get(txn, st->db[i], &k, &v);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc != 0) {
            *err = lmdb_fault(rc);
            goto fail;
        }
        if (verify_record_decode(i, v.mv_data, v.mv_size,
                                 &out->rec[i]) != 0) {
            *err = "record of unknown format";
            goto fail;
        }
        out->found[i] = 1;
    }
    release_txn(st, txn);
    return APR_SUCCESS;

fail:
    release_txn(st, txn);
    return APR_EGENERAL;
}

apr_status_t verify_store_batches(verify_store_t *st, verify_lookup_t *out,
                                  const char **err)
{
    MDB_txn *txn = NULL;
    MDB_val k, v;
    int rc, i;

    memset(out, 0, sizeof(*out));
    rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        *err = lmdb_fault(rc);
        return APR_EGENERAL;
    }
    for (i = 0; i < VERIFY_SRC_COUNT; i++) {
        k.mv_data = (void *)verify_source_name(i);
        k.mv_size = strlen(verify_source_name(i));
        rc = mdb_get(txn, st->meta, &k, &v);
        if (rc == MDB_NOTFOUND) {
            continue;
        }
        if (rc != 0
            || verify_batch_decode(v.mv_data, v.mv_size, &out->batch[i])) {
            *err = rc ? lmdb_fault(rc) : "batch metadata unreadable";
            mdb_txn_abort(txn);
            return APR_EGENERAL;
        }
        out->have_batch[i] = 1;
    }
    mdb_txn_abort(txn);
    return APR_SUCCESS;
}

static int rec_cmp(const void *a, const void *b)
{
    return memcmp(((const verify_import_rec_t *)a)->key,
                  ((const verify_import_rec_t *)b)->key, VERIFY_TAG_LEN);
}

apr_status_t verify_import_check(verify_import_rec_t *recs, size_t n,
                                 char **err, apr_pool_t *p)
{
    size_t i;

    /* Sorted keys let every put append to the B-tree's last page. */
    qsort(recs, n, sizeof(*recs), rec_cmp);
    for (i = 1; i < n; i++) {
        if (memcmp(recs[i - 1].key, recs[i].key, VERIFY_TAG_LEN) == 0) {
            unsigned long a = recs[i - 1].line, b = recs[i].line;
            *err = apr_psprintf(p, "line %lu: duplicate ID (same as line "
                                "%lu)", a > b ? a : b, a > b ? b : a);
            return APR_EINVAL;
        }
    }
    return APR_SUCCESS;
}

/* Where the records of the source being replaced come from. */
typedef struct put_ctx_t {
    MDB_txn *txn;
    MDB_dbi dbi;
    int rc;                     /* LMDB's fault, or 0 */
    int fd;                     /* the data file, for early writeback */
} put_ctx_t;

/*
 * A transaction larger than LMDB's dirty-page limit (512 MB) writes
 * ("spills") pages into the data file as it goes, and the commit's
 * fdatasync then has to send all of them to the disk at once: for the
 * country's 23.5 million records, seconds in which nothing else
 * happens. Asking the kernel to start writing what is already in the
 * file after each run lets the disk work while the next runs are
 * appended, so the commit waits only for the last pages. Only a hint:
 * durability still comes from the commit's own syncs, in LMDB's order
 * (data, then the meta page); a failure here changes nothing.
 */
static void start_writeback(const put_ctx_t *c)
{
#ifdef SYNC_FILE_RANGE_WRITE
    if (c->fd >= 0) {
        (void)sync_file_range(c->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
#else
    (void)c;
#endif
}

/* A run of records in key order, appended (verify_recset_fn). */
static int put_run(void *ctx, const verify_import_rec_t *recs, size_t n)
{
    put_ctx_t *c = ctx;
    MDB_val k, v;
    size_t i;

    for (i = 0; i < n; i++) {
        k.mv_data = (void *)recs[i].key;
        k.mv_size = VERIFY_TAG_LEN;
        v.mv_data = (void *)recs[i].val;
        v.mv_size = recs[i].vlen;
        c->rc = mdb_put(c->txn, c->dbi, &k, &v, MDB_APPEND);
        if (c->rc != 0) {
            return 1;
        }
    }
    start_writeback(c);
    return 0;
}

/* The context of put_run for @p st. */
static void put_init(put_ctx_t *c, verify_store_t *st, MDB_txn *txn,
                     verify_source_t src)
{
    mdb_filehandle_t fd;

    c->txn = txn;
    c->dbi = st->db[src];
    c->rc = 0;
    c->fd = mdb_env_get_fd(st->env, &fd) == 0 ? fd : -1;
}

/* Source @p src's batch metadata in @p txn, for @p n records; fills in
 * the rest of @p batch. */
static int put_meta(MDB_txn *txn, verify_store_t *st, verify_source_t src,
                    size_t n, verify_batch_t *batch)
{
    unsigned char meta[VERIFY_BATCH_META_LEN];
    MDB_val k, v;

    batch->records = n;
    batch->imported_at = apr_time_now();
    verify_time_format_s(batch->imported_at, batch->as_of);
    verify_batch_encode(batch, meta);
    k.mv_data = (void *)verify_source_name(src);
    k.mv_size = strlen(verify_source_name(src));
    v.mv_data = meta;
    v.mv_size = sizeof(meta);
    return mdb_put(txn, st->meta, &k, &v, 0);
}

/* Copy source @p src and its metadata from @p base into @p txn; the
 * base's keys come in order, so every put appends. */
static int copy_source(MDB_txn *txn, verify_store_t *st,
                       const verify_store_t *base, verify_source_t src)
{
    MDB_txn *btxn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc;

    rc = mdb_txn_begin(base->env, NULL, MDB_RDONLY, &btxn);
    if (rc != 0) {
        return rc;
    }
    k.mv_data = (void *)verify_source_name(src);
    k.mv_size = strlen(verify_source_name(src));
    rc = mdb_get(btxn, base->meta, &k, &v);
    if (rc == 0) {
        rc = mdb_put(txn, st->meta, &k, &v, 0);
    }
    else if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (rc == 0) {
        rc = mdb_cursor_open(btxn, base->db[src], &cur);
    }
    while (rc == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        if (rc == 0) {
            rc = mdb_put(txn, st->db[src], &k, &v, MDB_APPEND);
        }
    }
    if (rc == MDB_NOTFOUND) {
        rc = 0;
    }
    if (cur) {
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(btxn);
    return rc;
}

/* Everything but the records of @p src: a write transaction with the
 * other sources copied from @p base (or @p src emptied). */
static int begin_rebuild(verify_store_t *st, const verify_store_t *base,
                         verify_source_t src, MDB_txn **txn)
{
    int rc, i;

    rc = mdb_txn_begin(st->env, NULL, 0, txn);
    for (i = 0; rc == 0 && base && i < VERIFY_SRC_COUNT; i++) {
        if (i != (int)src) {
            rc = copy_source(*txn, st, base, (verify_source_t)i);
        }
    }
    if (rc == 0 && !base) {
        rc = mdb_drop(*txn, st->db[src], 0);
    }
    return rc;
}

/* Commit, or abort; the message for a fault of LMDB's. */
static apr_status_t end_rebuild(MDB_txn *txn, int rc, char **err,
                                apr_pool_t *p)
{
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
        txn = NULL;
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        *err = apr_psprintf(p, "store write failed, nothing changed: %s",
                            mdb_strerror(rc));
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t verify_store_rebuild(verify_store_t *st,
                                  const verify_store_t *base,
                                  verify_source_t src,
                                  verify_import_rec_t *recs, size_t n,
                                  verify_batch_t *batch, char **err,
                                  apr_pool_t *p)
{
    MDB_txn *txn = NULL;
    put_ctx_t c;
    apr_status_t rv;
    int rc;

    rv = verify_import_check(recs, n, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (st->readonly) {
        *err = apr_pstrdup(p, "store opened read-only");
        return APR_EINVAL;
    }
    rc = begin_rebuild(st, base, src, &txn);
    if (rc == 0) {
        put_init(&c, st, txn, src);
        put_run(&c, recs, n);
        rc = c.rc;
    }
    if (rc == 0) {
        rc = put_meta(txn, st, src, n, batch);
    }
    return end_rebuild(txn, rc, err, p);
}

apr_status_t verify_store_rebuild_set(verify_store_t *st,
                                      const verify_store_t *base,
                                      verify_source_t src,
                                      verify_recset_t *set,
                                      verify_batch_t *batch, char **err,
                                      apr_pool_t *p)
{
    MDB_txn *txn = NULL;
    put_ctx_t c;
    apr_status_t rv;
    int rc, fn_rc = 0;

    if (st->readonly) {
        *err = apr_pstrdup(p, "store opened read-only");
        return APR_EINVAL;
    }
    rc = begin_rebuild(st, base, src, &txn);
    if (rc == 0) {
        put_init(&c, st, txn, src);
        rv = verify_recset_walk(set, put_run, &c, &fn_rc, err, p);
        if (rv != APR_SUCCESS && !fn_rc) {
            /* a duplicate, or a temporary file: said in *err */
            mdb_txn_abort(txn);
            return rv;
        }
        rc = c.rc;
    }
    if (rc == 0) {
        rc = put_meta(txn, st, src, verify_recset_count(set), batch);
    }
    return end_rebuild(txn, rc, err, p);
}
