/*
 * input.c -- the batch file: read into memory, opened (CMS), decoded to
 * UTF-8, and destroyed after the import (R4.4).
 *
 * The clear batch only ever lives in memory that is wiped before it is
 * freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_xlate.h>
#include <openssl/evp.h>
#include "verify-import/import.h"

#define INPUT_MAX_BYTES ((apr_off_t)2 << 30)

/* Replace the clear batch by @p buf (malloc'd, @p cap bytes). */
static void take(input_t *in, char *buf, size_t len, size_t cap)
{
    input_release(in);
    in->buf = buf;
    in->len = len;
    in->cap = cap;
}

void input_release(input_t *in)
{
    if (in->buf) {
        memset(in->buf, 0, in->cap);
        free(in->buf);
        in->buf = NULL;
    }
}

/* Copy @p plen bytes of pool memory @p plain into the batch, and wipe
 * them. */
static int take_plain(input_t *in, char *plain, size_t plen)
{
    char *buf = malloc(plen + 1);

    if (!buf) {
        memset(plain, 0, plen);
        return -1;
    }
    memcpy(buf, plain, plen);
    memset(plain, 0, plen);
    take(in, buf, plen, plen);
    return 0;
}

/* Open the CMS layers: decrypt with the import certificate, then check
 * the data provider's signature. */
static int open_cms(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    char *plain = in->buf, *content, *err = NULL;
    size_t plen = in->len, clen;

    if (o->decrypt_cert
        && verify_cms_decrypt(in->buf, in->len, o->decrypt_cert,
                              o->decrypt_key, &plain, &plen, &err, p)
           != APR_SUCCESS) {
        return import_fail(o->file, err);
    }
    if (o->signer_ca) {
        apr_status_t rv = verify_cms_verify(plain, plen, o->signer_ca,
                                            &content, &clen, &in->signer,
                                            &err, p);
        if (plain != in->buf) {
            memset(plain, 0, plen);
        }
        if (rv != APR_SUCCESS) {
            return import_fail(o->file, err);
        }
        plain = content;
        plen = clen;
    }
    /* from here on the clear batch is in pool memory */
    if (take_plain(in, plain, plen) != 0) {
        return import_fail(o->file, "out of memory");
    }
    return 0;
}

/* Big5 to UTF-8; the UTF-8 batch replaces the Big5 one. */
static int from_big5(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    apr_xlate_t *x = NULL;
    apr_size_t inleft = in->len, outcap = in->len * 2 + 16;
    apr_size_t outleft = outcap;
    char *out;
    apr_status_t rv;

    rv = apr_xlate_open(&x, "UTF-8", "BIG5", p);
    if (rv != APR_SUCCESS) {
        return import_fail(o->file, "cannot convert from BIG5");
    }
    out = malloc(outcap);
    if (!out) {
        apr_xlate_close(x);
        return import_fail(o->file, "out of memory");
    }
    rv = apr_xlate_conv_buffer(x, in->buf, &inleft, out, &outleft);
    if (rv == APR_SUCCESS) {
        rv = apr_xlate_conv_buffer(x, NULL, NULL, out + (outcap - outleft),
                                   &outleft);
    }
    apr_xlate_close(x);
    if (rv != APR_SUCCESS || inleft != 0) {
        memset(out, 0, outcap);
        free(out);
        return import_fail(o->file, apr_psprintf(p, "line %lu: not valid "
                           "BIG5", verify_line_at(in->buf,
                                                  in->len - inleft)));
    }
    take(in, out, outcap - outleft, outcap);
    return 0;
}

/* %pm is APR's (the reason of an apr_status_t), not stdio's. */
static int cannot_read(const char *file, apr_status_t rv, apr_pool_t *p)
{
    fputs(apr_psprintf(p, PROG ": cannot read %s: %pm\n", file, &rv),
          stderr);
    return 1;
}

int input_read(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t len;
    apr_status_t rv;
    unsigned int hlen;

    memset(in, 0, sizeof(*in));
    rv = apr_file_open(&f, o->file, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p);
    if (rv == APR_SUCCESS) {
        rv = apr_file_info_get(&fi, APR_FINFO_SIZE | APR_FINFO_TYPE, f);
    }
    if (rv != APR_SUCCESS) {
        return cannot_read(o->file, rv, p);
    }
    if (fi.filetype != APR_REG || fi.size >= INPUT_MAX_BYTES) {
        return import_fail(o->file, "not a regular file smaller than 2 GiB");
    }
    if (!o->keep_input && !o->dry_run) {
        struct stat lst;
        /* another name for the same data would outlive its destruction */
        if (lstat(o->file, &lst) != 0 || !S_ISREG(lst.st_mode)
            || lst.st_nlink != 1) {
            return import_fail(o->file, "the input is a symbolic link or "
                               "has other hard links, so it could not be "
                               "destroyed after the import (R4.4); copy it "
                               "to a plain file first");
        }
    }
    len = (apr_size_t)fi.size;
    in->buf = malloc(len + 1);
    if (!in->buf) {
        return import_fail(o->file, "out of memory");
    }
    in->cap = len;
    rv = apr_file_read_full(f, in->buf, len, &len);
    apr_file_close(f);
    if (rv != APR_SUCCESS && !(rv == APR_EOF && len == 0)) {
        return cannot_read(o->file, rv, p);
    }
    in->len = len;
    /* the digest names the file as received, before any decoding */
    EVP_Digest(in->buf, in->len, in->sha256, &hlen, EVP_sha256(), NULL);
    if (o->decrypt_cert || o->signer_ca) {
        int rc = open_cms(in, o, p);
        if (rc != 0) {
            return rc;
        }
    }
    return o->big5 ? from_big5(in, o, p) : 0;
}

int input_destroy(const char *path)
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
