/*
 * input.c -- the batch file: read into memory, opened (CMS), decoded to
 * UTF-8, and destroyed after the import (R4.4) through the descriptor
 * it was read from.
 *
 * The clear batch only ever lives in memory that is wiped before it is
 * freed.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <apr_strings.h>
#include <apr_xlate.h>
#include <openssl/evp.h>
#include "verify-import/import.h"
#include "verify_sha256.h"

#define INPUT_MAX_BYTES ((apr_off_t)2 << 30)

/* Replace the clear batch by @p buf (malloc'd, @p cap bytes). */
static void take(input_t *in, char *buf, size_t len, size_t cap)
{
    input_release(in);
    in->buf = buf;
    in->len = len;
    in->cap = cap;
    in->mapped = 0;
}

/* A read of the mapped file past its end, once another process has
 * truncated it, is a SIGBUS: while a guarded step runs, it is turned
 * into a refusal instead of the importer's death (unrecorded). */
static __thread sigjmp_buf guard_jmp;
static __thread volatile sig_atomic_t guarding;

static void on_sigbus(int sig)
{
    if (guarding) {
        guarding = 0;
        siglongjmp(guard_jmp, 1);
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int input_guarded(input_t *in, int (*fn)(void *ctx), void *ctx)
{
    struct sigaction sa, old;
    int rc;

    if (!in->mapped) {
        return fn(ctx);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, &old);
    if (sigsetjmp(guard_jmp, 1)) {
        rc = INPUT_SHRANK;
    }
    else {
        guarding = 1;
        rc = fn(ctx);
    }
    guarding = 0;
    sigaction(SIGBUS, &old, NULL);
    return rc;
}

int input_shrank(const char *file)
{
    return import_fail(file, "the input file shrank while it was read "
                       "(another process truncated it): import the file "
                       "once it is complete");
}

void input_drop(input_t *in, size_t off)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t upto = off - off % (size_t)pg;

    /* pages read through are let go (read again from the page cache
     * should they be needed): the resident batch stays a window. An
     * offset before the last one: a new pass over the batch began. */
    if (upto < in->dropped) {
        in->dropped = 0;
    }
    if (in->mapped && upto > in->dropped) {
        madvise(in->buf + in->dropped, upto - in->dropped, MADV_DONTNEED);
        in->dropped = upto;
    }
}

void input_drop_span(input_t *in, size_t from, size_t to)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);

    from = (from + pg - 1) / pg * pg;
    to -= to % pg;
    if (in->mapped && to > from) {
        madvise(in->buf + from, to - from, MADV_DONTNEED);
    }
}

void input_release(input_t *in)
{
    if (in->buf && in->mapped) {
        /* the file itself, read-only: destroyed with the file */
        munmap(in->buf, in->cap ? in->cap : 1);
        in->buf = NULL;
        in->mapped = 0;
    }
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

/* "…; or give --allow-plain to import it as it is (recorded)" */
#define OR_PLAIN "; to import it as it is, give --allow-plain (recorded in " \
                 "the import event)"

/* The encryption layer: decrypt with the import certificate when the
 * batch is encrypted; *plain, *plen the content (pool memory, or the
 * batch itself). */
static int open_envelope(input_t *in, const import_opts_t *o,
                         char **plain, size_t *plen, apr_pool_t *p)
{
    verify_cms_kind_t kind = verify_cms_kind(in->buf, in->len);
    char *err = NULL;

    *plain = in->buf;
    *plen = in->len;
    in->encrypted = kind == VERIFY_CMS_ENVELOPED;
    if (kind == VERIFY_CMS_ENVELOPED && !o->decrypt_cert) {
        return import_fail(o->file, "the batch is encrypted (CMS "
                           "EnvelopedData), but no --decrypt-cert and "
                           "--decrypt-key were given: give the county's "
                           "import certificate and its private key");
    }
    if (kind != VERIFY_CMS_ENVELOPED && o->decrypt_cert) {
        return import_fail(o->file, apr_psprintf(p, "not a CMS encrypted "
                           "(enveloped) file: it is %s, but --decrypt-cert "
                           "was given", verify_cms_kind_name(kind)));
    }
    if (kind != VERIFY_CMS_ENVELOPED && !o->allow_plain) {
        return import_fail(o->file, apr_psprintf(p, "the batch is not "
                           "encrypted (it is %s): a batch must be "
                           "CMS-encrypted to the county's import "
                           "certificate (R4.1.3); ask the data provider for "
                           "the encrypted file (.p7m)" OR_PLAIN,
                           verify_cms_kind_name(kind)));
    }
    if (kind == VERIFY_CMS_ENVELOPED
        && verify_cms_decrypt(in->buf, in->len, o->decrypt_cert,
                              o->decrypt_key, plain, plen, &err, p)
           != APR_SUCCESS) {
        return import_fail(o->file, err);
    }
    return 0;
}

/* The signature layer of @p plain: checked against --signer-ca when
 * the batch is signed; *content, *clen what was signed (or @p plain). */
static int open_signature(input_t *in, const import_opts_t *o,
                          char *plain, size_t plen, char **content,
                          size_t *clen, apr_pool_t *p)
{
    verify_cms_kind_t kind = verify_cms_kind(plain, plen);
    verify_cms_signer_t who;
    char *err = NULL;

    *content = plain;
    *clen = plen;
    if (kind == VERIFY_CMS_SIGNED && !o->signer_ca) {
        return import_fail(o->file, "the batch is signed (CMS SignedData), "
                           "but no --signer-ca was given: give the data "
                           "provider's CA certificate (--signer-ca CA) so "
                           "that its signature is checked");
    }
    if (kind != VERIFY_CMS_SIGNED && o->signer_ca) {
        return import_fail(o->file, "not a CMS signed file (the data "
                           "provider's signature is required)");
    }
    if (kind == VERIFY_CMS_ENVELOPED || kind == VERIFY_CMS_OTHER) {
        return import_fail(o->file, apr_psprintf(p, "the %s is %s, not a "
                           "batch", in->encrypted ? "decrypted content"
                                                  : "file",
                           verify_cms_kind_name(kind)));

    }
    if (kind != VERIFY_CMS_SIGNED && !o->allow_plain) {
        return import_fail(o->file, "the batch is not signed: a batch must "
                           "be CMS-signed by the data provider (R4.1.1); "
                           "ask the data provider to sign it before "
                           "encrypting it" OR_PLAIN);
    }
    if (kind == VERIFY_CMS_SIGNED) {
        if (verify_cms_verify(plain, plen, o->signer_ca, content, clen,
                              &who, &err, p) != APR_SUCCESS) {
            return import_fail(o->file, err);
        }
        in->signer = who.subject;
        in->signed_at = who.signed_at;
    }
    return 0;
}

/* Open the CMS layers: decrypt with the import certificate, then check
 * the data provider's signature; the clear batch replaces the file's
 * bytes. */
static int open_cms(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    char *plain, *content;
    size_t plen, clen;
    int rc;

    rc = open_envelope(in, o, &plain, &plen, p);
    if (rc == 0 && plain != in->buf) {
        /* decrypted: the file's pages are not needed any more */
        input_drop(in, in->len);
    }
    if (rc == 0) {
        rc = open_signature(in, o, plain, plen, &content, &clen, p);
    }
    if (rc == 0 && content == in->buf) {
        return 0;               /* a plain file (--allow-plain) */
    }
    if (plain != in->buf && plain != content) {
        memset(plain, 0, plen);
    }
    if (rc != 0) {
        return rc;
    }
    /* from here on the clear batch is in pool memory */
    if (take_plain(in, content, clen) != 0) {
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
    import_fault(apr_psprintf(p, "cannot read the input: %pm", &rv));
    return 1;
}

/* Where the file to destroy is, absolutely: the record of its pending
 * destruction must name it for a run started elsewhere. */
static int locate(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    const char *slash = strrchr(o->file, '/');
    const char *dir = slash ? (slash == o->file ? "/"
                                                : apr_pstrmemdup(p, o->file,
                                                     slash - o->file))
                            : ".";
    char *abs = realpath(dir, NULL);

    if (!abs) {
        return cannot_read(o->file, APR_FROM_OS_ERROR(errno), p);
    }
    in->dir = apr_pstrdup(p, abs);
    free(abs);
    in->name = slash ? slash + 1 : o->file;
    if (!*in->name || !strcmp(in->name, ".") || !strcmp(in->name, "..")) {
        return import_fail(o->file, "not a regular file");
    }
    return 0;
}

/* Open the batch file once, for good: the file read is the file
 * destroyed. Refuses anything but a plain regular file. */
static int open_input(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    int destroy = !o->keep_input && !o->dry_run;
    struct stat sb;

    /* O_NONBLOCK: opening a FIFO must not wait for a writer. Only a
     * file that will be destroyed must not be reached through a link:
     * read alone, a link is harmless. */
    in->fd = open(o->file, (destroy ? O_RDWR | O_NOFOLLOW : O_RDONLY)
                           | O_NONBLOCK | O_CLOEXEC);
    if (in->fd < 0 && errno == ELOOP) {
        return import_fail(o->file, "the input is a symbolic link, so it "
                           "could not be destroyed after the import "
                           "(R4.4); copy it to a plain file first");
    }
    if (in->fd < 0 && errno == EISDIR) {
        return import_fail(o->file, "not a regular file");
    }
    if (in->fd < 0 || fstat(in->fd, &sb) != 0) {
        return cannot_read(o->file, APR_FROM_OS_ERROR(errno), p);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size >= INPUT_MAX_BYTES) {
        return import_fail(o->file, "not a regular file smaller than 2 GiB "
                           "(a FIFO, device or directory is refused)");
    }
    if (destroy && sb.st_nlink != 1) {
        /* another name for the same data would outlive its destruction */
        return import_fail(o->file, "the input has other hard links, so "
                           "it could not be destroyed after the import "
                           "(R4.4); copy it to a plain file first");
    }
    in->dev = sb.st_dev;
    in->ino = sb.st_ino;
    in->size = sb.st_size;
    in->cap = (size_t)sb.st_size;
    return destroy ? locate(in, o, p) : 0;
}

/* The whole file (its size as opened) as in->buf: mapped read-only,
 * so that its pages can be let go as the import reads through it
 * (input_drop); an empty file is read. */
static int read_input(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    size_t got = 0;

    if (in->cap > 0) {
        void *m = mmap(NULL, in->cap, PROT_READ, MAP_PRIVATE, in->fd, 0);
        if (m == MAP_FAILED) {
            return cannot_read(o->file, APR_FROM_OS_ERROR(errno), p);
        }
        madvise(m, in->cap, MADV_SEQUENTIAL);
        in->buf = m;
        in->len = in->cap;
        in->mapped = 1;
        in->dropped = 0;
        return 0;
    }
    in->buf = malloc(in->cap + 1);
    if (!in->buf) {
        return import_fail(o->file, "out of memory");
    }
    while (got < in->cap) {
        ssize_t n = read(in->fd, in->buf + got, in->cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return cannot_read(o->file, APR_FROM_OS_ERROR(errno), p);
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    in->len = got;
    return 0;
}

/* SHA-256 of a mapped batch read with pread() into a small buffer:
 * copying from the page cache costs about half what faulting the
 * mapping's pages in does, and the intake would fault them in again
 * anyway. 0; INPUT_SHRANK when the file ends early; -1 when it cannot
 * be read so (the mapping is read then). */
static int digest_read(input_t *in)
{
    const size_t step = (size_t)1 << 20;
    verify_sha256_t c;
    char *buf = malloc(step);
    size_t off = 0;
    ssize_t n;

    if (!buf) {
        return -1;
    }
    verify_sha256_init(&c);
    while (off < in->len) {
        n = pread(in->fd, buf, in->len - off < step ? in->len - off : step,
                  (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            return n == 0 ? INPUT_SHRANK : -1;
        }
        verify_sha256_update(&c, buf, (size_t)n);
        off += (size_t)n;
    }
    verify_sha256_final(&c, in->sha256);
    free(buf);
    return 0;
}

/* SHA-256 of the batch as received, a window at a time. */
static int digest(void *ctx)
{
    input_t *in = ctx;
    const size_t step = (size_t)16 << 20;
    EVP_MD_CTX *c;
    unsigned int hlen;
    size_t off;
    int rc;

    if (in->mapped && in->fd >= 0 && (rc = digest_read(in)) != -1) {
        return rc;
    }
    c = EVP_MD_CTX_new();
    if (!c) {
        EVP_Digest(in->buf, in->len, in->sha256, &hlen, EVP_sha256(), NULL);
        return 0;
    }
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    for (off = 0; off < in->len; off += step) {
        EVP_DigestUpdate(c, in->buf + off,
                         in->len - off < step ? in->len - off : step);
        input_drop(in, off + step < in->len ? off + step : in->len);
    }
    EVP_DigestFinal_ex(c, in->sha256, &hlen);
    EVP_MD_CTX_free(c);
    return 0;
}

int input_read(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    int rc;

    memset(in, 0, sizeof(*in));
    in->fd = -1;
    in->encrypted = -1;
    rc = open_input(in, o, p);
    if (rc == 0) {
        rc = read_input(in, o, p);
    }
    if (rc != 0) {
        return rc;
    }
    /* the digest names the file as received, before any decoding */
    if (input_guarded(in, digest, in) == INPUT_SHRANK) {
        return input_shrank(o->file);
    }
    in->have_sha256 = 1;
    return 0;
}

typedef struct open_args_t {
    input_t *in;
    const import_opts_t *o;
    apr_pool_t *p;
} open_args_t;

static int open_layers(void *ctx)
{
    open_args_t *a = ctx;
    int rc = open_cms(a->in, a->o, a->p);

    if (rc != 0) {
        return rc;
    }
    return a->o->big5 ? from_big5(a->in, a->o, a->p) : 0;
}

int input_open(input_t *in, const import_opts_t *o, apr_pool_t *p)
{
    open_args_t a = { in, o, p };
    int rc = input_guarded(in, open_layers, &a);

    return rc == INPUT_SHRANK ? input_shrank(o->file) : rc;
}

void input_close(input_t *in)
{
    if (in->fd >= 0) {
        close(in->fd);
        in->fd = -1;
    }
}

int input_unlink_at(int dfd, const char *name, dev_t dev, ino_t ino)
{
    struct stat sb;

    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return errno == ENOENT ? INPUT_REPLACED : INPUT_FAILED;
    }
    if (sb.st_dev != dev || sb.st_ino != ino) {
        return INPUT_REPLACED;
    }
    return unlinkat(dfd, name, 0) == 0 ? INPUT_DESTROYED : INPUT_FAILED;
}

/* Does @p path still name the file @p in was read from? Then unlink it.
 * Checked through the directory's descriptor just before unlinkat. */
static int unlink_if_same(const input_t *in, const char *path)
{
    char *copy = strdup(path), *slash;
    const char *dir = ".", *base = path;
    int dfd, rc = INPUT_FAILED;

    if (!copy) {
        return INPUT_FAILED;
    }
    slash = strrchr(copy, '/');
    if (slash) {
        *slash = '\0';
        dir = slash == copy ? "/" : copy;
        base = slash + 1;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        rc = input_unlink_at(dfd, base, in->dev, in->ino);
        close(dfd);
    }
    free(copy);
    return rc;
}

int input_wipe(int fd)
{
    static const char zeros[65536];
    struct stat sb;
    off_t off = 0;

    if (fstat(fd, &sb) != 0) {
        return -1;
    }
    while (off < sb.st_size) {
        size_t chunk = sb.st_size - off > (off_t)sizeof(zeros)
                       ? sizeof(zeros) : (size_t)(sb.st_size - off);
        ssize_t n = pwrite(fd, zeros, chunk, off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        off += n;
    }
    return fsync(fd);
}

int input_destroy(input_t *in, const char *path)
{
    int rc;

    if (in->fd < 0 || input_wipe(in->fd) != 0) {
        return INPUT_FAILED;
    }
    rc = unlink_if_same(in, path);
    input_close(in);
    return rc;
}
