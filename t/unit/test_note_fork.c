/*
 * test_note_fork.c -- signing a note in a child process
 * (verify_note_sign_forked, verify_note_fork.c).
 *
 * Keys are made by the openssl command line tool, and a signature is
 * checked once by it too (openssl pkeyutl -verify -rawin): outside this
 * code.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "unit.h"

#define ORIGIN "county.example/verify-audit"

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    while (d && (de = readdir(d)) != NULL) {
        n += de->d_name[0] != '.';
    }
    if (d) {
        closedir(d);
    }
    return n;
}

/* No child left: not a zombie, not one still running. */
static int no_child(void)
{
    int st;
    pid_t r = waitpid(-1, &st, WNOHANG);

    if (r != -1 || errno != ECHILD) {
        diag("waitpid(-1, WNOHANG) gave %ld", (long)r);
        return 0;
    }
    return 1;
}

/* Run a shell command; 0 when it exited 0. */
static int sh(const char *cmd)
{
    int st = system(cmd);

    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        diag("command failed: %s", cmd);
        return -1;
    }
    return 0;
}

/* A key made by `openssl genpkey @p args` in the scratch dir, mode
 * @p mode; its path. */
static char *genkey(const char *file, const char *args, mode_t mode)
{
    char *path = apr_pstrcat(pool, tmpdir, "/", file, NULL);

    if (sh(apr_psprintf(pool, "openssl genpkey %s -out '%s' 2>/dev/null",
                        args, path)) != 0
        || chmod(path, mode) != 0) {
        diag("cannot make the key %s", path);
        exit(2);
    }
    return path;
}

/* The raw Ed25519 public key of @p key, read back from `openssl pkey
 * -pubout -outform DER` (the last 32 of its 44 bytes). */
static int openssl_pub(const char *key, unsigned char pub[32])
{
    unsigned char der[64];
    size_t n;
    FILE *f = popen(apr_psprintf(pool, "openssl pkey -in '%s' -pubout "
                                 "-outform DER", key), "r");

    if (!f) {
        return -1;
    }
    n = fread(der, 1, sizeof(der), f);
    if (pclose(f) != 0 || n != 44) {
        return -1;
    }
    memcpy(pub, der + 12, 32);
    return 0;
}

/* The verifier of the key @p key as ORIGIN: the key from openssl, its
 * id from verify_note_key_id. */
static verify_note_verifier_t verifier_of(const char *key)
{
    verify_note_verifier_t v;

    memset(&v, 0, sizeof(v));
    v.name = ORIGIN;
    if (openssl_pub(key, v.key) != 0
        || verify_note_key_id(ORIGIN, v.key, &v.id) != APR_SUCCESS) {
        diag("cannot read the public key of %s", key);
        exit(2);
    }
    return v;
}

static char *checkpoint_text(uint64_t size)
{
    verify_checkpoint_t cp;
    char *text = NULL, *err = NULL;
    int i;

    memset(&cp, 0, sizeof(cp));
    cp.origin = ORIGIN;
    cp.size = size;
    for (i = 0; i < 32; i++) {
        cp.root[i] = (unsigned char)(i * 7 + 1);
    }
    cp.extensions = "time 2026-11-26T23:59:59+08:00\n";
    if (verify_checkpoint_format(&text, &cp, &err, pool) != APR_SUCCESS) {
        diag("cannot format a checkpoint: %s", err);
        exit(2);
    }
    return text;
}

/* verify_note_sign_forked, with its process-level effects checked: no
 * child left behind, no descriptor left open */
static apr_status_t sign(char **note, const char *key, const char *text,
                         size_t len, char **err, const char *what)
{
    int before = count_fds();
    apr_status_t rv;

    *err = NULL;
    *note = (char *)"unset";
    rv = verify_note_sign_forked(note, ORIGIN, key, text, len, err, pool);
    ok(no_child(), "%s: no child left", what);
    is_int(count_fds(), before, "%s: no descriptor left open", what);
    return rv;
}

static int has(const char *err, const char *part)
{
    return err != NULL && strstr(err, part) != NULL;
}

static void test_sign(void)
{
    verify_note_verifier_t v, other;
    verify_note_signer_t *s;
    verify_checkpoint_t cp;
    char *key, *key2, *text, *note, *note2, *err;
    size_t tlen;
    apr_status_t rv;
    int by;

    key = genkey("k.pem", "-algorithm ed25519", 0400);
    key2 = genkey("k2.pem", "-algorithm ed25519", 0400);
    v = verifier_of(key);
    other = verifier_of(key2);

    /* the library's own reading of the key agrees with openssl's */
    err = NULL;
    ok(verify_note_signer_load(&s, ORIGIN, key, &err, pool) == APR_SUCCESS
       && memcmp(verify_note_signer_verifier(s)->key, v.key, 32) == 0
       && verify_note_signer_verifier(s)->id == v.id,
       "signer_load: the public key openssl gives");

    text = checkpoint_text(42);
    rv = sign(&note, key, text, strlen(text), &err, "sign");
    ok(rv == APR_SUCCESS && note != NULL, "sign: success (%s)",
       err ? err : "no message");
    if (note == NULL) {
        return;
    }
    ok(strncmp(note, text, strlen(text)) == 0
       && strncmp(note + strlen(text), "\n\xe2\x80\x94 " ORIGIN " ",
                  strlen(ORIGIN) + 6) == 0,
       "the note: the text, a blank line, a signature by the origin");
    err = NULL;
    rv = verify_note_open(&v, 1, note, strlen(note), &tlen, &by, &err, pool);
    ok(rv == APR_SUCCESS && tlen == strlen(text) && by == 0,
       "verify_note_open with openssl's public key: verifies (%s)",
       err ? err : "ok");
    rv = verify_checkpoint_open(&cp, &v, 1, note, strlen(note), NULL, &err,
                                pool);
    ok(rv == APR_SUCCESS && cp.size == 42 && strcmp(cp.origin, ORIGIN) == 0
       && cp.root[1] == 8, "verify_checkpoint_open: size 42, the origin");

    /* and the signature is one openssl itself accepts */
    {
        const char *b64 = note + strlen(text) + 1 + 4 + strlen(ORIGIN) + 1;
        char *sig = apr_palloc(pool, 100), *cmd;
        int n = EVP_DecodeBlock((unsigned char *)sig,
                                (const unsigned char *)b64,
                                (int)(strlen(b64) - 1));
        ok(n == 69
           && ((uint32_t)(unsigned char)sig[0] << 24
               | (uint32_t)(unsigned char)sig[1] << 16
               | (uint32_t)(unsigned char)sig[2] << 8
               | (uint32_t)(unsigned char)sig[3]) == v.id,
           "the signature: key id and 64 bytes (%d with padding)", n);
        write_file(tmpdir, "text", text, strlen(text));
        write_file(tmpdir, "sig", sig + 4, 64);
        cmd = apr_psprintf(pool, "cd '%s' && openssl pkey -in k.pem -pubout "
                           "-out pub.pem && openssl pkeyutl -verify -pubin "
                           "-inkey pub.pem -rawin -in text -sigfile sig "
                           ">/dev/null", tmpdir);
        ok(sh(cmd) == 0, "openssl pkeyutl -verify accepts the signature");
        /* and refuses it for other text: the check can fail */
        write_file(tmpdir, "text", "other\n", 6);
        ok(system(cmd) != 0, "openssl pkeyutl -verify refuses other text");
    }

    /* the check fails where it should */
    err = NULL;
    rv = verify_note_open(&other, 1, note, strlen(note), &tlen, NULL, &err,
                          pool);
    ok(rv != APR_SUCCESS, "another key's verifier: refused (%s)",
       err ? err : "no message");
    {
        char *bad = apr_pstrdup(pool, note);
        bad[strlen(ORIGIN) + 2] = '3';          /* size 42 -> 43 */
        err = NULL;
        rv = verify_note_open(&v, 1, bad, strlen(bad), &tlen, NULL, &err,
                              pool);
        ok(rv != APR_SUCCESS && has(err, "does not verify"),
           "the size changed: does not verify (%s)",
           err ? err : "no message");
    }

    /* Ed25519 is deterministic: the same text, the same note */
    rv = sign(&note2, key, text, strlen(text), &err, "sign again");
    ok(rv == APR_SUCCESS && note2 && strcmp(note, note2) == 0,
       "signed again: the same note");
    /* another text, another note */
    text = checkpoint_text(43);
    rv = sign(&note2, key, text, strlen(text), &err, "sign 43");
    ok(rv == APR_SUCCESS && note2 && strcmp(note, note2) != 0
       && verify_checkpoint_open(&cp, &v, 1, note2, strlen(note2), NULL,
                                 &err, pool) == APR_SUCCESS
       && cp.size == 43, "size 43: another note, verifies");

    /* only len bytes of the text are signed */
    {
        char *longer = apr_pstrcat(pool, text, "tail that is not signed\n",
                                   NULL);
        rv = sign(&note2, key, longer, strlen(text), &err, "sign a prefix");
        ok(rv == APR_SUCCESS && note2
           && verify_checkpoint_open(&cp, &v, 1, note2, strlen(note2), NULL,
                                     &err, pool) == APR_SUCCESS
           && !strstr(note2, "tail"), "only len bytes signed");
    }

    /* text NULL: only the key is loaded */
    rv = sign(&note, key, NULL, 0, &err, "key check");
    ok(rv == APR_SUCCESS && note == NULL, "text NULL: success, no note");
}

static void test_errors(void)
{
    char *key, *note, *err, *text = checkpoint_text(7);
    apr_status_t rv;

    /* a key group can read: the child's own message comes back */
    key = genkey("group.pem", "-algorithm ed25519", 0440);
    rv = sign(&note, key, text, strlen(text), &err, "group-readable key");
    ok(rv != APR_SUCCESS && note == NULL
       && has(err, "readable by group or others") && has(err, key),
       "group-readable key: error from the child (%s)",
       err ? err : "no message");
    rv = sign(&note, key, NULL, 0, &err, "group-readable key, text NULL");
    ok(rv != APR_SUCCESS && has(err, "readable by group or others"),
       "group-readable key, key check only: error (%s)",
       err ? err : "no message");
    /* the same key, owner-only: signs (the mode was the fault) */
    chmod(key, 0400);
    rv = sign(&note, key, NULL, 0, &err, "the same key, 0400");
    ok(rv == APR_SUCCESS, "the same key at 0400: success (%s)",
       err ? err : "ok");
    /* writable by others */
    chmod(key, 0602);
    rv = sign(&note, key, NULL, 0, &err, "others-writable key");
    ok(rv != APR_SUCCESS && has(err, "writable by group or others"),
       "others-writable key: error (%s)", err ? err : "no message");

    /* no such file */
    key = apr_pstrcat(pool, tmpdir, "/missing.pem", NULL);
    rv = sign(&note, key, text, strlen(text), &err, "missing key");
    ok(rv != APR_SUCCESS && note == NULL && has(err, "missing.pem")
       && has(err, "No such file"),
       "missing key: error (%s)", err ? err : "no message");
    rv = sign(&note, key, NULL, 0, &err, "missing key, text NULL");
    ok(rv != APR_SUCCESS && has(err, "missing.pem"),
       "missing key, key check only: error (%s)", err ? err : "no message");

    /* not Ed25519 */
    key = genkey("rsa.pem", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048",
                 0400);
    rv = sign(&note, key, text, strlen(text), &err, "RSA key");
    ok(rv != APR_SUCCESS && note == NULL && has(err, "not Ed25519"),
       "RSA key: error (%s)", err ? err : "no message");
    key = genkey("ec.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
                 0400);
    rv = sign(&note, key, NULL, 0, &err, "EC key");
    ok(rv != APR_SUCCESS && has(err, "not Ed25519"),
       "EC key, key check only: error (%s)", err ? err : "no message");
    key = write_file(tmpdir, "junk.pem", "not a key\n", 10);
    rv = sign(&note, key, NULL, 0, &err, "not a key");
    ok(rv != APR_SUCCESS && has(err, "not an unencrypted PEM"),
       "not a key: error (%s)", err ? err : "no message");
    rv = sign(&note, tmpdir, NULL, 0, &err, "a directory");
    ok(rv != APR_SUCCESS && err != NULL, "a directory: error (%s)",
       err ? err : "no message");

    /* a good key, a text that cannot be signed, a name that cannot be */
    key = genkey("k3.pem", "-algorithm ed25519", 0400);
    rv = sign(&note, key, "no newline", 10, &err, "text without newline");
    ok(rv != APR_SUCCESS && note == NULL && has(err, "ending in a newline"),
       "text without newline: the child's error (%s)",
       err ? err : "no message");
    err = NULL;
    note = NULL;
    rv = verify_note_sign_forked(&note, "bad name", key, text, strlen(text),
                                 &err, pool);
    ok(rv != APR_SUCCESS && has(err, "cannot name a key") && no_child(),
       "a key name with a space: error (%s)", err ? err : "no message");
}

/* Notes near VERIFY_NOTE_MAX: the most verify_note_open takes is
 * signed; one byte more is refused, without a hang or a child left. */
static void test_size(void)
{
    verify_note_verifier_t v;
    char *key, *text, *note, *err;
    size_t tlen, over;
    apr_status_t rv;

    key = apr_pstrcat(pool, tmpdir, "/k.pem", NULL);
    v = verifier_of(key);
    /* note = text "\n— " ORIGIN " " base64(68 bytes: 92) "\n" */
    over = 1 + 4 + strlen(ORIGIN) + 1 + 92 + 1;
    tlen = VERIFY_NOTE_MAX - over;
    text = apr_palloc(pool, tlen + 2);
    memset(text, 'a', tlen + 1);
    text[tlen - 1] = '\n';
    rv = sign(&note, key, text, tlen, &err, "note of VERIFY_NOTE_MAX");
    ok(rv == APR_SUCCESS && note && strlen(note) == VERIFY_NOTE_MAX,
       "a note of exactly %d bytes: signed (%s)", VERIFY_NOTE_MAX,
       err ? err : "ok");
    err = NULL;
    ok(note && verify_note_open(&v, 1, note, strlen(note), &tlen, NULL, &err,
                                pool) == APR_SUCCESS,
       "and opened (%s)", err ? err : "ok");

    tlen = VERIFY_NOTE_MAX - over + 1;
    text[tlen - 2] = 'a';
    text[tlen - 1] = '\n';
    rv = sign(&note, key, text, tlen, &err, "note of VERIFY_NOTE_MAX + 1");
    ok(rv != APR_SUCCESS && note == NULL,
       "a note of %d bytes: refused (%s)", VERIFY_NOTE_MAX + 1,
       err ? err : "no message");

    /* far larger: the child is not waited for forever */
    tlen = 4 * VERIFY_NOTE_MAX;
    text = apr_palloc(pool, tlen);
    memset(text, 'b', tlen);
    text[tlen - 1] = '\n';
    rv = sign(&note, key, text, tlen, &err, "note of 256 KiB");
    ok(rv != APR_SUCCESS && note == NULL, "a note of 256 KiB: refused (%s)",
       err ? err : "no message");
}

int main(void)
{
    unit_begin();
    alarm(100);                 /* a hang fails the test */
    test_sign();
    test_errors();
    test_size();
    return unit_end();
}
