/*
 * verify_key.c -- the pseudonym secret, derived keys and keyed tags.
 *
 * Tags are HMAC-SHA256. The request path computes two or three per
 * query, so each derived key keeps its inner and outer digest states
 * precomputed (the HMAC pads already absorbed): a tag then costs two
 * short SHA-256 finishes instead of four compressions. The states are
 * plain values (verify_sha256.h): a tag resumes them by assignment, with
 * no allocation, which an import of millions of records feels.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <apr_strings.h>
#include "verify_key.h"
#include "verify_sha256.h"
#include "verify_sha256_pair.h"

#define SECRET_MIN 32
#define SECRET_MAX 4096
#define SHA256_BLOCK 64

static const char *const key_labels[VERIFY_KEY_COUNT] = {
    "mod_verify/store/v1",
    "mod_verify/subject/v1",
    "mod_verify/name/v1"
};

struct verify_keys_t {
    verify_sha256_t inner[VERIFY_KEY_COUNT];  /* SHA-256 after key ^ ipad */
    verify_sha256_t outer[VERIFY_KEY_COUNT];  /* SHA-256 after key ^ opad */
    int set[VERIFY_KEY_COUNT];                /* the use has a key */
};

static apr_status_t keys_cleanup(void *data)
{
    verify_keys_t *k = data;

    OPENSSL_cleanse(k, sizeof(*k));
    return APR_SUCCESS;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decode a file of hex digits and whitespace into @p out (at least
 * len/2 bytes); returns the decoded length, or 0 if the content is not
 * an even number of hex digits (then it is used raw). */
static size_t unhex(const unsigned char *buf, size_t len,
                    unsigned char *out)
{
    size_t i, n = 0;
    int hi = -1;

    for (i = 0; i < len; i++) {
        int v = hexval(buf[i]);
        if (v < 0) {
            if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r'
                || buf[i] == '\t') {
                continue;
            }
            return 0;
        }
        if (hi < 0) {
            hi = v;
        }
        else {
            out[n++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    return hi < 0 ? n : 0;
}

static int make_states(verify_keys_t *k, int use, const unsigned char *key)
{
    unsigned char pad[SHA256_BLOCK];
    int i;

    for (i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = (unsigned char)((i < VERIFY_TAG_LEN ? key[i] : 0) ^ 0x36);
    }
    verify_sha256_init(&k->inner[use]);
    verify_sha256_update(&k->inner[use], pad, sizeof(pad));
    for (i = 0; i < SHA256_BLOCK; i++) {
        pad[i] = (unsigned char)((i < VERIFY_TAG_LEN ? key[i] : 0) ^ 0x5c);
    }
    verify_sha256_init(&k->outer[use]);
    verify_sha256_update(&k->outer[use], pad, sizeof(pad));
    OPENSSL_cleanse(pad, sizeof(pad));
    k->set[use] = 1;
    return 1;
}

/* A secret must be a regular file that only its owner (root, or the
 * user reading it) can read or change, as sshd demands of a private
 * key. NULL, or why @p st is refused. */
static const char *unprotected(const struct stat *st, const char *path,
                               apr_pool_t *p)
{
    if (!S_ISREG(st->st_mode)) {
        return apr_psprintf(p, "key file %s is not a regular file", path);
    }
    if (st->st_uid != 0 && st->st_uid != geteuid()) {
        return apr_psprintf(p, "key file %s is owned by uid %ld: it must "
                            "be root's (chown root:root %s)", path,
                            (long)st->st_uid, path);
    }
    if (st->st_mode & 077) {
        return apr_psprintf(p, "key file %s is accessible by group or "
                            "others (mode %04o): refusing an unprotected "
                            "secret (chmod 0400 %s)", path,
                            (unsigned)(st->st_mode & 07777), path);
    }
    return NULL;
}

/* An exported subject key (verify-audit subject-key): the label, one
 * space, the key in hex and a newline. NULL if @p buf holds one and
 * *key receives it, else why not. */
static const char *subject_key_file(const unsigned char *buf, size_t len,
                                    const char *path,
                                    unsigned char key[VERIFY_TAG_LEN],
                                    apr_pool_t *p)
{
    static const char label[] = VERIFY_SUBJECT_KEY_LABEL " ";
    size_t l = sizeof(label) - 1, i, end;

    if (len >= l && !memcmp(buf, label, l - 1) && buf[l - 1] != ' ') {
        return apr_psprintf(p, "key file %s: after the label "
                            VERIFY_SUBJECT_KEY_LABEL " come one space and "
                            "%d hex digits", path, 2 * VERIFY_TAG_LEN);
    }
    if (len < l || memcmp(buf, label, l) != 0) {
        for (end = 0; end < len && end < 64 && buf[end] > ' '
                      && buf[end] < 0x7f; end++)
            ;
        return apr_psprintf(p, "key file %s is labelled \"%.*s\", not "
                            VERIFY_SUBJECT_KEY_LABEL " (the subject key "
                            "verify-audit subject-key exports)", path,
                            (int)end, (const char *)buf);
    }
    end = len;
    if (end > l && buf[end - 1] == '\n') {
        end--;
    }
    if (end - l != 2 * VERIFY_TAG_LEN) {
        return apr_psprintf(p, "key file %s: an exported subject key is "
                            VERIFY_SUBJECT_KEY_LABEL " and %d hex digits "
                            "on one line; this one has %lu characters "
                            "after the label", path, 2 * VERIFY_TAG_LEN,
                            (unsigned long)(end - l));
    }
    for (i = 0; i < VERIFY_TAG_LEN; i++) {
        int hi = hexval(buf[l + 2 * i]), lo = hexval(buf[l + 2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return apr_psprintf(p, "key file %s: the subject key after "
                                "the label must be %d hex digits", path,
                                2 * VERIFY_TAG_LEN);
        }
        key[i] = (unsigned char)(hi << 4 | lo);
    }
    return NULL;
}

/*
 * The secret at @p path and the keys derived from it. With
 * @p subject_ok an exported subject key is also taken (then only the
 * subject key is set, and *subject_only is 1); otherwise a file that
 * begins with a mod_verify label is refused, so that a subject key
 * given as VerifyKeyFile is not read as a (raw) secret. With @p export
 * the derived subject key is copied there as well.
 */
static apr_status_t load(verify_keys_t **keys, const char *path,
                         int subject_ok, int *subject_only,
                         unsigned char *export, char **err, apr_pool_t *p)
{
    unsigned char *buf = NULL, *secret = NULL;
    unsigned char derived[VERIFY_TAG_LEN];
    unsigned int dlen;
    apr_size_t len = 0;
    apr_status_t rv;
    verify_keys_t *k;
    struct stat st;
    const char *why;
    ssize_t got;
    size_t n;
    int i, fd;

    *keys = NULL;
    if (subject_only) {
        *subject_only = 0;
    }
    buf = apr_palloc(p, SECRET_MAX + 1);
    /* O_NONBLOCK: a FIFO is refused below, not waited on */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) != 0) {
        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(p, "cannot open key file %s: %pm", path, &rv);
        goto cleanup;
    }
    why = unprotected(&st, path, p);
    if (why) {
        rv = APR_EINVAL;
        *err = apr_pstrdup(p, why);
        goto cleanup;
    }
    do {
        got = read(fd, buf + len, SECRET_MAX + 1 - len);
        len += got > 0 ? (apr_size_t)got : 0;
    } while ((got > 0 && len < SECRET_MAX + 1) || (got < 0 && errno == EINTR));
    if (got < 0) {
        rv = APR_FROM_OS_ERROR(errno);
        *err = apr_psprintf(p, "cannot read key file %s: %pm", path, &rv);
        goto cleanup;
    }
    rv = APR_EINVAL;
    if (len > SECRET_MAX) {
        *err = apr_psprintf(p, "key file %s is larger than %d bytes", path,
                            SECRET_MAX);
        goto cleanup;
    }
    if (len >= sizeof(VERIFY_KEY_FILE_LABEL_PREFIX) - 1
        && !memcmp(buf, VERIFY_KEY_FILE_LABEL_PREFIX,
                   sizeof(VERIFY_KEY_FILE_LABEL_PREFIX) - 1)) {
        if (!subject_ok) {
            *err = apr_psprintf(p, "key file %s is a labelled mod_verify "
                                "file, not the secret: an exported subject "
                                "key (" VERIFY_SUBJECT_KEY_LABEL ", from "
                                "verify-audit subject-key) only computes "
                                "audit subject tags; VerifyKeyFile and "
                                "verify-import --key need the master key "
                                "file", path);
            goto cleanup;
        }
        why = subject_key_file(buf, len, path, derived, p);
        k = apr_pcalloc(p, sizeof(*k));
        apr_pool_cleanup_register(p, k, keys_cleanup, apr_pool_cleanup_null);
        if (why || !make_states(k, VERIFY_KEY_SUBJECT, derived)) {
            *err = apr_pstrdup(p, why ? why : "cannot set the subject key "
                               "(OpenSSL failure)");
            goto cleanup;
        }
        if (subject_only) {
            *subject_only = 1;
        }
        *keys = k;
        rv = APR_SUCCESS;
        goto cleanup;
    }
    secret = apr_palloc(p, SECRET_MAX / 2 + 1);
    n = unhex(buf, len, secret);
    if (n == 0) {
        secret = buf;   /* not hex: the raw bytes are the secret */
        n = len;
    }
    if (n < SECRET_MIN) {
        *err = apr_psprintf(p, "key file %s holds fewer than %d bytes of "
                            "secret (make one with: openssl rand -hex 32)",
                            path, SECRET_MIN);
        goto cleanup;
    }
    k = apr_pcalloc(p, sizeof(*k));
    apr_pool_cleanup_register(p, k, keys_cleanup, apr_pool_cleanup_null);
    for (i = 0; i < VERIFY_KEY_COUNT; i++) {
        if (!HMAC(EVP_sha256(), secret, (int)n,
                  (const unsigned char *)key_labels[i],
                  strlen(key_labels[i]), derived, &dlen)
            || !make_states(k, i, derived)) {
            *err = apr_pstrdup(p, "cannot derive keys (OpenSSL failure)");
            goto cleanup;
        }
        if (export && i == VERIFY_KEY_SUBJECT) {
            memcpy(export, derived, VERIFY_TAG_LEN);
        }
    }
    *keys = k;
    rv = APR_SUCCESS;

cleanup:
    OPENSSL_cleanse(derived, sizeof(derived));
    if (buf) {
        OPENSSL_cleanse(buf, SECRET_MAX + 1);
    }
    if (secret && secret != buf) {
        OPENSSL_cleanse(secret, SECRET_MAX / 2 + 1);
    }
    if (fd >= 0) {
        close(fd);
    }
    return rv;
}

apr_status_t verify_keys_load(verify_keys_t **keys, const char *path,
                              char **err, apr_pool_t *p)
{
    return load(keys, path, 0, NULL, NULL, err, p);
}

apr_status_t verify_keys_load_subject(verify_keys_t **keys, const char *path,
                                      int *subject_only, char **err,
                                      apr_pool_t *p)
{
    return load(keys, path, 1, subject_only, NULL, err, p);
}

apr_status_t verify_keys_export_subject(const char *path,
                                        unsigned char key[VERIFY_TAG_LEN],
                                        char **err, apr_pool_t *p)
{
    verify_keys_t *keys;
    apr_pool_t *kp;
    apr_status_t rv;

    /* the keys derived on the way are wiped with their pool at once */
    apr_pool_create(&kp, p);
    rv = load(&keys, path, 0, NULL, key, err, kp);
    if (rv != APR_SUCCESS) {
        *err = apr_pstrdup(p, *err);
        OPENSSL_cleanse(key, VERIFY_TAG_LEN);
    }
    apr_pool_destroy(kp);
    return rv;
}

void verify_keys_tag(const verify_keys_t *keys, verify_key_use_t use,
                     const void *data, size_t len,
                     unsigned char out[VERIFY_TAG_LEN])
{
    verify_sha256_t c;
    unsigned char ih[VERIFY_TAG_LEN];

    if (!keys->set[use]) {
        memset(out, 0, VERIFY_TAG_LEN);
        return;     /* an exported subject key sets no other use */
    }
    c = keys->inner[use];
    verify_sha256_update(&c, data, len);
    verify_sha256_final(&c, ih);
    c = keys->outer[use];
    verify_sha256_update(&c, ih, sizeof(ih));
    /* what stays in c is the tag itself (the final wiped the block) */
    verify_sha256_final(&c, out);
}

void verify_keys_tag2(const verify_keys_t *keys,
                      verify_key_use_t ua, const void *da, size_t la,
                      unsigned char out_a[VERIFY_TAG_LEN],
                      verify_key_use_t ub, const void *db, size_t lb,
                      unsigned char out_b[VERIFY_TAG_LEN])
{
    unsigned char ih_a[VERIFY_TAG_LEN], ih_b[VERIFY_TAG_LEN];
    verify_sha256_msg_t a = { .data = da, .len = la,
                              .from = &keys->inner[ua] },
                        b = { .data = db, .len = lb,
                              .from = &keys->inner[ub] };

    if (!keys->set[ua] || !keys->set[ub]) {
        verify_keys_tag(keys, ua, da, la, out_a);
        verify_keys_tag(keys, ub, db, lb, out_b);
        return;
    }
    verify_sha256_pair(&a, &b, ih_a, ih_b);
    a = (verify_sha256_msg_t){ .data = ih_a, .len = sizeof(ih_a),
                               .from = &keys->outer[ua] };
    b = (verify_sha256_msg_t){ .data = ih_b, .len = sizeof(ih_b),
                               .from = &keys->outer[ub] };
    verify_sha256_pair(&a, &b, out_a, out_b);
}

void verify_keys_check(const verify_keys_t *keys,
                       unsigned char out[VERIFY_KEY_CHECK_LEN])
{
    static const char label[] = "mod_verify/key-check/v1";
    unsigned char tag[VERIFY_TAG_LEN];

    /* a tag no ID can produce: IDs are 10 characters */
    verify_keys_tag(keys, VERIFY_KEY_STORE, label, sizeof(label) - 1, tag);
    memcpy(out, tag, VERIFY_KEY_CHECK_LEN);
}
