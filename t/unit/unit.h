/*
 * unit.h -- what several unit tests share: a pool and a scratch
 * directory, files in it, the test key and its reference tags, and IDs
 * with independently computed check digits.
 *
 *   int main(void) { unit_begin(); ...; return unit_end(); }
 *
 * Header-only, like tap.h: every test program is one translation unit.
 */
#ifndef UNIT_H
#define UNIT_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "tap.h"
#include "verify.h"

/* the date records are checked against */
#define TODAY 20261120u

static TAP_UNUSED apr_pool_t *pool;
/* a scratch directory, removed by unit_end() */
static TAP_UNUSED char *tmpdir;
static char tmpdir_tmpl[] = "/tmp/vfy-unit-XXXXXX";

static TAP_UNUSED int rm_cb(const char *path, const struct stat *sb,
                            int flag, struct FTW *ftw)
{
    return remove(path);
}

static TAP_UNUSED void rm_rf(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static TAP_UNUSED void unit_begin(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    tmpdir = mkdtemp(tmpdir_tmpl);
    if (!tmpdir) {
        perror("mkdtemp");
        exit(2);
    }
}

static TAP_UNUSED int unit_end(void)
{
    apr_pool_destroy(pool);     /* closes stores, wipes keys */
    rm_rf(tmpdir_tmpl);
    apr_terminate();
    return done_testing();
}

/* Write @p dir/@p name; returns its path. */
static TAP_UNUSED char *write_file(const char *dir, const char *name,
                                   const void *data, size_t len)
{
    char *path = apr_pstrcat(pool, dir, "/", name, NULL);
    FILE *f = fopen(path, "wb");

    /* owner-only, as a key file must be (verify_keys_load) */
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0
        || chmod(path, 0600) != 0) {
        diag("cannot write %s", path);
        exit(2);
    }
    return path;
}

/* --- the test key ------------------------------------------------- */

/* the secret written to the key file, and its hex form in the file */
static TAP_UNUSED unsigned char secret[32];
static TAP_UNUSED char secret_hex[80];
static TAP_UNUSED verify_keys_t *keys;

/* Write the secret as a 64-hex-digit key file and load it into keys. */
static TAP_UNUSED apr_status_t load_keys(char **err)
{
    char *path;
    int i;

    for (i = 0; i < 32; i++) {
        secret[i] = (unsigned char)(i * 37 + 11);
        sprintf(secret_hex + 2 * i, "%02x", secret[i]);
    }
    strcat(secret_hex, "\n");
    path = write_file(tmpdir, "key.hex", secret_hex, strlen(secret_hex));
    *err = NULL;
    return verify_keys_load(&keys, path, err, pool);
}

/* load_keys() for tests that need the keys but do not test them */
static TAP_UNUSED void need_keys(void)
{
    char *err;

    if (load_keys(&err) != APR_SUCCESS) {
        diag("cannot load the test key: %s", err);
        exit(2);
    }
}

/* HMAC-SHA256(HMAC-SHA256(secret, label), data), with OpenSSL's HMAC() */
static TAP_UNUSED void ref_tag(const char *label, const void *data,
                               size_t len, const unsigned char *sec,
                               size_t seclen, unsigned char out[32])
{
    unsigned char k[32];
    unsigned int kl = 0, ol = 0;

    HMAC(EVP_sha256(), sec, (int)seclen, (const unsigned char *)label,
         strlen(label), k, &kl);
    HMAC(EVP_sha256(), k, (int)kl, data, len, out, &ol);
}

static TAP_UNUSED void store_key(const char *id, unsigned char out[32])
{
    ref_tag("mod_verify/store/v1", id, strlen(id), secret, 32, out);
}

static TAP_UNUSED void name_tag(const char *norm, unsigned char out[32])
{
    ref_tag("mod_verify/name/v1", norm, strlen(norm), secret, 32, out);
}

/* --- IDs with independently computed check digits ------------------ */

static TAP_UNUSED int code_of(char c)
{
    static const char order[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
    return 10 + (int)(strchr(order, c) - order);
}

static TAP_UNUSED void make_id(char out[11], char letter, char second,
                               const char *seven)
{
    int code = code_of(letter), s, sum, i;

    s = (second >= '0' && second <= '9') ? second - '0'
                                          : code_of(second) % 10;
    sum = code / 10 + (code % 10) * 9 + s * 8;
    for (i = 0; i < 7; i++) {
        sum += (seven[i] - '0') * (7 - i);
    }
    out[0] = letter;
    out[1] = second;
    memcpy(out + 2, seven, 7);
    out[9] = (char)('0' + (10 - sum % 10) % 10);
    out[10] = '\0';
}

#endif /* UNIT_H */
