/*
 * verify-import -- check a batch file and load it into the store.
 *
 * A batch is all or nothing: every record is validated first, then one
 * LMDB write transaction replaces the source. The input is destroyed
 * after a successful import (R4.4) unless --keep-input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <grp.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include <apr_xlate.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "verify.h"

#define PROG "verify-import"
#define INPUT_MAX_BYTES ((apr_off_t)2 << 30)

static void usage(FILE *to)
{
    fprintf(to,
        "usage: " PROG " --store DIR --key FILE --source SOURCE [options] "
        "FILE\n"
        "  sources: household (id,name,birth_date,indigenous),\n"
        "           elderly_alone (id,valid_until), disability "
        "(id,level,valid_until)\n"
        "  --approved-until DATE  end of the approved usage period "
        "(R4.1.2)\n"
        "  --encoding utf-8|big5  input encoding (default utf-8)\n"
        "  --dry-run              validate only; change nothing\n"
        "  --keep-input           do not destroy FILE after the import\n"
        "  --decrypt-cert C --decrypt-key K\n"
        "                         FILE is CMS-encrypted to certificate C\n"
        "                         (PEM) with private key K (PEM); it is\n"
        "                         opened in memory only\n"
        "  --signer-ca CA         require a valid CMS signature by a data\n"
        "                         provider certificate issued by CA (PEM)\n"
        "  --group NAME           let this group (httpd's run-time group)\n"
        "                         read the store (needed when httpd was\n"
        "                         started before the store existed)\n");
}

static int fail(const char *file, const char *msg)
{
    fprintf(stderr, PROG ": %s: rejected, store unchanged: %s\n", file, msg);
    return 1;
}

/* Overwrite, sync and unlink: the plain file must not outlive the
 * import (R4.4). On copy-on-write or flash storage the overwrite is
 * best effort; the unlink is not. */
static int destroy_input(const char *path)
{
    static const char zeros[65536];
    struct stat st;
    off_t left;
    int fd, rc = 0;

    fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rc = -1;
    }
    for (left = rc == 0 ? st.st_size : 0; left > 0 && rc == 0;) {
        ssize_t n = write(fd, zeros, left > (off_t)sizeof(zeros)
                                     ? sizeof(zeros) : (size_t)left);
        if (n <= 0) {
            rc = -1;
            break;
        }
        left -= n;
    }
    if (fd >= 0) {
        if (rc == 0 && fsync(fd) != 0) {
            rc = -1;
        }
        close(fd);
    }
    /* unlinked even when the overwrite failed, but then reported */
    if (unlink(path) != 0) {
        rc = -1;
    }
    return rc;
}

/* Give @p group read access to the store and write access to its lock
 * file (LMDB readers register there), as mod_verify does at start. */
static int share_with_group(const char *dir, const char *group,
                            apr_pool_t *p)
{
    struct group *gr = getgrnam(group);
    const char *lock = apr_pstrcat(p, dir, "/lock.mdb", NULL);
    const char *data = apr_pstrcat(p, dir, "/data.mdb", NULL);

    if (!gr) {
        fprintf(stderr, PROG ": --group: no group \"%s\"\n", group);
        return -1;
    }
    if (chown(dir, (uid_t)-1, gr->gr_gid) || chmod(dir, 02750)
        || chown(lock, (uid_t)-1, gr->gr_gid) || chmod(lock, 0660)
        || chown(data, (uid_t)-1, gr->gr_gid) || chmod(data, 0640)) {
        fprintf(stderr, PROG ": --group: cannot give group %s access to "
                "%s\n", group, dir);
        return -1;
    }
    return 0;
}

static apr_status_t to_utf8(const char *enc, char **buf, apr_size_t *len,
                            char **err, apr_pool_t *p)
{
    apr_xlate_t *x = NULL;
    apr_size_t inleft = *len, outcap = *len * 2 + 16, outleft = outcap;
    char *out = apr_palloc(p, outcap);
    apr_status_t rv;

    rv = apr_xlate_open(&x, "UTF-8", enc, p);
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot convert from %s", enc);
        return rv;
    }
    rv = apr_xlate_conv_buffer(x, *buf, &inleft, out, &outleft);
    if (rv == APR_SUCCESS) {
        rv = apr_xlate_conv_buffer(x, NULL, NULL, out + (outcap - outleft),
                                   &outleft);
    }
    apr_xlate_close(x);
    if (rv != APR_SUCCESS || inleft != 0) {
        *err = apr_psprintf(p, "line %lu: not valid %s",
                            verify_line_at(*buf, *len - inleft), enc);
        return APR_EINVAL;
    }
    *buf = out;
    *len = outcap - outleft;
    return APR_SUCCESS;
}

int main(int argc, const char *const *argv)
{
    static const apr_getopt_option_t opts[] = {
        { "store", 's', 1, "store directory" },
        { "key", 'k', 1, "key file" },
        { "source", 'S', 1, "source" },
        { "approved-until", 'a', 1, "approved until" },
        { "encoding", 'e', 1, "encoding" },
        { "dry-run", 'n', 0, "dry run" },
        { "keep-input", 'K', 0, "keep input" },
        { "group", 'g', 1, "group of the httpd run-time user" },
        { "decrypt-cert", 'c', 1, "import certificate" },
        { "decrypt-key", 'y', 1, "import key" },
        { "signer-ca", 'A', 1, "data provider CA" },
        { "help", 'h', 0, "help" },
        { NULL, 0, 0, NULL }
    };
    const char *store_dir = NULL, *key_file = NULL, *source = NULL;
    const char *approved = NULL, *encoding = "utf-8", *file, *arg;
    const char *group_name = NULL, *input_state;
    const char *decrypt_cert = NULL, *decrypt_key = NULL, *signer_ca = NULL;
    char *signer = NULL;
    int dry_run = 0, keep = 0, src, optch, rc = 1;
    apr_pool_t *p;
    apr_getopt_t *os;
    apr_status_t rv;
    verify_keys_t *keys;
    verify_store_t *st;
    verify_import_rec_t *recs;
    verify_batch_t batch;
    apr_file_t *f;
    apr_finfo_t fi;
    unsigned char rnd[16];
    unsigned int hlen;
    char hex[65], *buf, *err = NULL;
    apr_size_t len;
    size_t n;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    umask(007);   /* lock.mdb 0660 for the readers' group */
    apr_getopt_init(&os, p, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 's': store_dir = arg; break;
        case 'k': key_file = arg; break;
        case 'S': source = arg; break;
        case 'a': approved = arg; break;
        case 'e': encoding = arg; break;
        case 'n': dry_run = 1; break;
        case 'K': keep = 1; break;
        case 'g': group_name = arg; break;
        case 'c': decrypt_cert = arg; break;
        case 'y': decrypt_key = arg; break;
        case 'A': signer_ca = arg; break;
        case 'h': usage(stdout); return 0;
        }
    }
    if (rv != APR_EOF || os->ind != argc - 1 || !store_dir || !key_file
        || !source) {
        usage(stderr);
        return 2;
    }
    file = argv[os->ind];
    src = verify_source_from_name(source);
    if (src < 0) {
        fprintf(stderr, PROG ": unknown source \"%s\" (household, "
                "elderly_alone, disability)\n", source);
        return 2;
    }
    memset(&batch, 0, sizeof(batch));
    if (approved) {
        batch.approved_until = verify_date_parse_iso(approved,
                                                     strlen(approved));
        if (!batch.approved_until) {
            fprintf(stderr, PROG ": --approved-until must be YYYY-MM-DD\n");
            return 2;
        }
        if (batch.approved_until < verify_date_taipei(apr_time_now())) {
            fprintf(stderr, PROG ": --approved-until %s is already past\n",
                    approved);
            return 2;
        }
    }
    if (!decrypt_cert != !decrypt_key) {
        fprintf(stderr, PROG ": --decrypt-cert and --decrypt-key go "
                "together\n");
        return 2;
    }
    if (strcasecmp(encoding, "utf-8") && strcasecmp(encoding, "utf8")
        && strcasecmp(encoding, "big5")) {
        fprintf(stderr, PROG ": --encoding must be utf-8 or big5\n");
        return 2;
    }
    rv = verify_keys_load(&keys, key_file, &err, p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", err);
        return 1;
    }
    rv = apr_file_open(&f, file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    }
    if (rv != APR_SUCCESS) {
        fprintf(stderr, PROG ": cannot read %s: %pm\n", file, &rv);
        return 1;
    }
    if (fi.filetype != APR_REG || fi.size >= INPUT_MAX_BYTES) {
        return fail(file, "not a regular file smaller than 2 GiB");
    }
    if (!keep && !dry_run) {
        struct stat lst;
        /* another name for the same data would outlive its destruction */
        if (lstat(file, &lst) != 0 || !S_ISREG(lst.st_mode)
            || lst.st_nlink != 1) {
            return fail(file, "the input is a symbolic link or has other "
                        "hard links, so it could not be destroyed after "
                        "the import (R4.4); copy it to a plain file first");
        }
    }
    len = (apr_size_t)fi.size;
    buf = malloc(len + 1);
    if (!buf) {
        return fail(file, "out of memory");
    }
    rv = apr_file_read_full(f, buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !(rv == APR_EOF && len == 0)) {
        fprintf(stderr, PROG ": cannot read %s: %pm\n", file, &rv);
        goto cleanup;
    }
    /* the digest names the file as received, before any decoding */
    EVP_Digest(buf, len, batch.sha256, &hlen, EVP_sha256(), NULL);
    if (decrypt_cert || signer_ca) {
        char *plain = buf, *content;
        size_t plen = len, clen;
        if (decrypt_cert) {
            if (verify_cms_decrypt(buf, len, decrypt_cert, decrypt_key,
                                   &plain, &plen, &err, p) != APR_SUCCESS) {
                rc = fail(file, err);
                goto cleanup;
            }
        }
        if (signer_ca) {
            if (verify_cms_verify(plain, plen, signer_ca, &content, &clen,
                                  &signer, &err, p) != APR_SUCCESS) {
                rc = fail(file, err);
                if (plain != buf) {
                    memset(plain, 0, plen);
                }
                goto cleanup;
            }
            if (plain != buf) {
                memset(plain, 0, plen);
            }
            plain = content;
            plen = clen;
        }
        /* from here on the clear batch is in pool memory */
        memset(buf, 0, (size_t)fi.size);
        free(buf);
        buf = malloc(plen + 1);
        if (!buf) {
            rc = fail(file, "out of memory");
            goto cleanup;
        }
        memcpy(buf, plain, plen);
        memset(plain, 0, plen);
        fi.size = (apr_off_t)plen;
        len = plen;
    }
    if (!strcasecmp(encoding, "big5")) {
        char *conv = buf;
        if (to_utf8("BIG5", &conv, &len, &err, p) != APR_SUCCESS) {
            rc = fail(file, err);
            goto cleanup;
        }
        memset(buf, 0, (size_t)fi.size);
        free(buf);
        buf = NULL;
        rv = verify_intake(src, conv, len, keys,
                           verify_date_taipei(apr_time_now()), &recs, &n,
                           &err, p);
        memset(conv, 0, len);
    }
    else {
        rv = verify_intake(src, buf, len, keys,
                           verify_date_taipei(apr_time_now()), &recs, &n,
                           &err, p);
    }
    if (rv != APR_SUCCESS) {
        rc = fail(file, err);
        goto cleanup;
    }
    if (n == 0) {
        rc = fail(file, "no records after the header");
        goto cleanup;
    }
    if (dry_run) {
        /* validate only: the store is not even opened */
        rv = verify_import_check(recs, n, &err, p);
        if (rv != APR_SUCCESS) {
            rc = fail(file, err);
            goto cleanup;
        }
        verify_hex(batch.sha256, 32, hex);
        printf(PROG ": %s: valid, %zu %s records (dry run: store and file "
               "untouched) sha256 %s\n", file, n, source, hex);
        rc = 0;
        goto cleanup;
    }
    rv = verify_store_open(&st, store_dir, 0, 1024, &err, p);
    if (rv != APR_SUCCESS) {
        rc = fail(file, err);
        goto cleanup;
    }
    if (group_name && share_with_group(store_dir, group_name, p) != 0) {
        verify_store_close(st);
        rc = 1;
        goto cleanup;
    }
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        rc = fail(file, "no randomness for the batch id");
        goto cleanup;
    }
    verify_hex(rnd, sizeof(rnd), batch.batch_id);
    verify_keys_check(keys, batch.key_check);
    rv = verify_store_replace(st, src, recs, n, &batch, 0, &err, p);
    verify_store_close(st);
    if (rv != APR_SUCCESS) {
        rc = fail(file, err);
        goto cleanup;
    }
    verify_hex(batch.sha256, 32, hex);
    input_state = "kept";
    rc = 0;
    if (!keep) {
        input_state = "destroyed";
        if (destroy_input(file) != 0) {
            fprintf(stderr, PROG ": imported, but could not destroy %s: "
                    "remove it by hand (R4.4)\n", file);
            input_state = "NOT destroyed";
            rc = 1;
        }
    }
    printf("{\"event\":\"import\",\"source\":\"%s\",\"batch_id\":\"%s\","
           "\"records\":%zu,\"sha256\":\"%s\",\"imported_at\":\"%s\","
           "\"approved_until\":%s%s%s,\"signer\":%s%s%s,"
           "\"input\":\"%s\"}\n",
           source, batch.batch_id, n, hex, batch.as_of,
           approved ? "\"" : "", approved ? approved : "null",
           approved ? "\"" : "", signer ? "\"" : "",
           signer ? signer : "null", signer ? "\"" : "", input_state);

cleanup:
    if (buf) {
        memset(buf, 0, (size_t)fi.size);
        free(buf);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
