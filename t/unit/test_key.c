/*
 * test_key.c -- the pseudonym secret, its derived keys and keyed tags
 * (verify_key.c).
 *
 * Tags are recomputed here with OpenSSL's HMAC().
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "unit.h"

/* ------------------------------------------------------------------ */
/* keys                                                                */
/* ------------------------------------------------------------------ */

static void test_keys(void)
{
    char *path, *err;
    unsigned char got[32], want[32];
    static const char *labels[VERIFY_KEY_COUNT] = {
        "mod_verify/store/v1", "mod_verify/subject/v1", "mod_verify/name/v1"
    };
    apr_status_t rv;
    verify_keys_t *k;
    char *big;
    int i, u, all;

    rv = load_keys(&err);
    ok(rv == APR_SUCCESS && keys != NULL, "load a 64-hex-digit key file");
    if (rv != APR_SUCCESS) {
        diag("error: %s", err);
        exit(1);
    }

    all = 1;
    for (u = 0; u < VERIFY_KEY_COUNT; u++) {
        static const char *data[] = { "A123456789", "", "\xe7\x8e\x8b" };
        for (i = 0; i < 3; i++) {
            verify_keys_tag(keys, (verify_key_use_t)u, data[i],
                            strlen(data[i]), got);
            ref_tag(labels[u], data[i], strlen(data[i]), secret, 32, want);
            if (memcmp(got, want, 32) != 0) {
                all = 0;
                diag("use %d, data \"%s\": tag differs", u, data[i]);
            }
        }
    }
    ok(all, "verify_keys_tag = HMAC(HMAC(secret, label), data) for all "
       "three uses");
    {
        char *longdata = apr_palloc(pool, 5000);
        memset(longdata, 'q', 5000);
        verify_keys_tag(keys, VERIFY_KEY_STORE, longdata, 5000, got);
        ref_tag(labels[0], longdata, 5000, secret, 32, want);
        ok(memcmp(got, want, 32) == 0, "tag of 5000 bytes of data");
    }
    verify_keys_tag(keys, VERIFY_KEY_STORE, "A123456789", 10, got);
    verify_keys_tag(keys, VERIFY_KEY_SUBJECT, "A123456789", 10, want);
    ok(memcmp(got, want, 32) != 0, "store and subject tags differ");
    {
        /* two at once: every pair of uses, inputs of 0..130 bytes */
        unsigned char got_b[32], want_b[32], in[130];
        size_t la, lb;
        int ua, ub, same = 1;

        for (la = 0; la < sizeof(in); la++) {
            in[la] = (unsigned char)(la * 37 + 1);
        }
        for (ua = 0; ua < VERIFY_KEY_COUNT; ua++) {
            for (ub = 0; ub < VERIFY_KEY_COUNT; ub++) {
                for (la = 0; la <= sizeof(in); la += 7) {
                    lb = sizeof(in) - la;
                    verify_keys_tag2(keys, (verify_key_use_t)ua, in, la, got,
                                     (verify_key_use_t)ub, in + la, lb,
                                     got_b);
                    ref_tag(labels[ua], (const char *)in, la, secret, 32,
                            want);
                    ref_tag(labels[ub], (const char *)in + la, lb, secret,
                            32, want_b);
                    same &= !memcmp(got, want, 32)
                            && !memcmp(got_b, want_b, 32);
                }
            }
        }
        ok(same, "verify_keys_tag2 = two HMACs, for every pair of uses "
                 "and lengths 0..130");
    }

    /* the same secret as upper-case hex with whitespace */
    {
        char spaced[200];
        size_t n = 0;
        verify_keys_t *k2;
        for (i = 0; i < 32; i++) {
            n += (size_t)sprintf(spaced + n, "%02X%s", secret[i],
                                 i % 4 == 3 ? "\r\n" : " ");
        }
        path = write_file(tmpdir, "key.spaced", spaced, n);
        rv = verify_keys_load(&k2, path, &err, pool);
        verify_keys_tag(k2 ? k2 : keys, VERIFY_KEY_STORE, "x", 1, got);
        verify_keys_tag(keys, VERIFY_KEY_STORE, "x", 1, want);
        ok(rv == APR_SUCCESS && k2 && memcmp(got, want, 32) == 0,
           "upper-case hex with spaces and CRLF: same secret");
    }

    /* a raw (non-hex) secret: its bytes as they are */
    {
        static const char raw[] = "correct horse battery staple -- and more";
        path = write_file(tmpdir, "key.raw", raw, sizeof(raw) - 1);
        rv = verify_keys_load(&k, path, &err, pool);
        ok(rv == APR_SUCCESS && k, "a raw 40-byte secret loads");
        if (k) {
            verify_keys_tag(k, VERIFY_KEY_STORE, "A123456789", 10, got);
            ref_tag(labels[0], "A123456789", 10, (const unsigned char *)raw,
                    sizeof(raw) - 1, want);
            ok(memcmp(got, want, 32) == 0, "raw secret: its bytes are the "
               "HMAC key");
        }
        else {
            ok(0, "raw secret: its bytes are the HMAC key");
        }
    }
    {
        static const char raw32[] = "0123456789 is not hex: !!!!!!!!!";
        path = write_file(tmpdir, "key.raw32", raw32, 32);
        rv = verify_keys_load(&k, path, &err, pool);
        ok(rv == APR_SUCCESS && k, "a raw secret of exactly 32 bytes loads");
        if (k) {
            verify_keys_tag(k, VERIFY_KEY_STORE, "A123456789", 10, got);
            ref_tag(labels[0], "A123456789", 10,
                    (const unsigned char *)raw32, 32, want);
            ok(memcmp(got, want, 32) == 0,
               "raw secret starting with hex digits and spaces: its bytes "
               "as they are are the HMAC key");
        }
        else {
            ok(0, "raw secret starting with hex digits: bytes as they are");
        }
    }

    /* faults */
    err = NULL;
    k = (verify_keys_t *)1;
    rv = verify_keys_load(&k, apr_pstrcat(pool, tmpdir, "/no-such.key", NULL),
                          &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err && strstr(err, "no-such.key"),
       "missing key file: error naming it (%s)", err ? err : "-");

    err = NULL;
    path = write_file(tmpdir, "key.short", "0123456789abcdefghijklmnopqrstu", 31);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "31 raw bytes: too short (%s)", err ? err : "-");

    err = NULL;
    path = write_file(tmpdir, "key.short.hex", secret_hex, 62);      /* 31 bytes */
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "62 hex digits (31 bytes): too short");

    err = NULL;
    path = write_file(tmpdir, "key.empty", "", 0);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL, "empty key file refused");

    err = NULL;
    big = apr_palloc(pool, 4097);
    memset(big, 'k', 4097);
    path = write_file(tmpdir, "key.big", big, 4097);
    rv = verify_keys_load(&k, path, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "key file over 4096 bytes refused");

    err = NULL;
    rv = verify_keys_load(&k, tmpdir, &err, pool);
    ok(rv != APR_SUCCESS && k == NULL && err != NULL,
       "a directory as key file refused");

    /* unprotected: any access for group or others, as sshd refuses */
    {
        static const mode_t modes[] = { 0640, 0604, 0620, 0602, 0444 };
        size_t m;

        for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            path = write_file(tmpdir, "key.open", secret_hex,
                              strlen(secret_hex));
            chmod(path, modes[m]);
            err = NULL;
            rv = verify_keys_load(&k, path, &err, pool);
            ok(rv != APR_SUCCESS && k == NULL && err
               && strstr(err, "group or others") && strstr(err, "chmod 0400"),
               "mode %04o refused: %s", (unsigned)modes[m], err ? err : "-");
            unlink(path);
        }
        path = write_file(tmpdir, "key.closed", secret_hex,
                          strlen(secret_hex));
        chmod(path, 0400);
        rv = verify_keys_load(&k, path, &err, pool);
        ok(rv == APR_SUCCESS, "mode 0400 accepted");
    }
    if (mkfifo(apr_pstrcat(pool, tmpdir, "/key.fifo", NULL), 0600) == 0) {
        err = NULL;
        rv = verify_keys_load(&k, apr_pstrcat(pool, tmpdir, "/key.fifo",
                                              NULL), &err, pool);
        ok(rv != APR_SUCCESS && err && strstr(err, "not a regular file"),
           "a FIFO as key file refused without waiting (%s)",
           err ? err : "-");
    }

}

int main(void)
{
    unit_begin();
    test_keys();
    return unit_end();
}
