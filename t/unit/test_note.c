/*
 * test_note.c -- checkpoint bodies, signed notes, verifier keys, the
 * signing key file.
 *
 * The C2SP signed-note example (its verifier key and note) is checked as
 * published: a vector from outside this code.
 */
#include <sys/stat.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include "unit.h"

static const char c2sp_vkey[] =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
static const char c2sp_note[] =
    "This is an example message.\n"
    "\n"
    "\xe2\x80\x94 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ON"
    "ncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

#define ORIGIN "county.example/mod_verify/audit"

/* Write a fresh key of type @p nid (EVP_PKEY_ED25519 or EVP_PKEY_EC)
 * as PKCS#8 PEM with @p mode; returns its path. */
static char *make_key(const char *file, int nid, mode_t mode)
{
    char *path = apr_pstrcat(pool, tmpdir, "/", file, NULL);
    EVP_PKEY *k = NULL;
    FILE *f;

    if (nid == EVP_PKEY_EC) {
        k = EVP_EC_gen("P-256");
    }
    else {
        k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
    f = fopen(path, "w");
    if (!k || !f || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
        || fclose(f) != 0 || chmod(path, mode) != 0) {
        diag("cannot make the key %s", path);
        exit(2);
    }
    EVP_PKEY_free(k);
    return path;
}

static int opens(const verify_note_verifier_t *v, int nv, const char *note,
                 char **err)
{
    size_t tlen;

    *err = NULL;
    if (verify_note_open(v, nv, note, strlen(note), &tlen, NULL, err, pool)
        == APR_SUCCESS) {
        return 1;
    }
    diag("refused: %s", *err);
    return 0;
}

static int parses(const char *text, char **err)
{
    verify_checkpoint_t cp;

    *err = NULL;
    if (verify_checkpoint_parse(&cp, text, strlen(text), err, pool)
        == APR_SUCCESS) {
        return 1;
    }
    diag("refused: %s", *err);
    return 0;
}

static void test_c2sp_example(void)
{
    verify_note_verifier_t v;
    char *err = NULL;
    size_t tlen = 0;
    int by = -1;

    is_int(verify_note_verifier_parse(&v, c2sp_vkey, &err, pool),
           APR_SUCCESS, "the C2SP example verifier key parses");
    is_str(v.name, "example.com/foo", "its name");
    is_int(v.id, 0x530d903a, "its key id");
    is_str(verify_note_verifier_format(&v, pool), c2sp_vkey,
           "and formats back to the same string");
    is_int(verify_note_open(&v, 1, c2sp_note, strlen(c2sp_note), &tlen, &by,
                            &err, pool), APR_SUCCESS,
           "the C2SP example note verifies");
    is_int((long long)tlen, 28, "its text is the first line and newline");
    is_int(by, 0, "signed by the one key given");
}

static void test_checkpoint_body(void)
{
    verify_checkpoint_t cp = { 0 }, back;
    char *text = NULL, *err = NULL;
    int i;

    cp.origin = ORIGIN;
    cp.size = 20852163;
    for (i = 0; i < 32; i++) {
        cp.root[i] = (unsigned char)(i * 5);
    }
    is_int(verify_checkpoint_format(&text, &cp, &err, pool), APR_SUCCESS,
           "a checkpoint body formats");
    is_str(text, ORIGIN "\n20852163\nAAUKDxQZHiMoLTI3PEFGS1BVWl9kaW5zeH2Ch4yRlps=\n",
           "origin, size, base64 root, each line ending in a newline");
    is_int(verify_checkpoint_parse(&back, text, strlen(text), &err, pool),
           APR_SUCCESS, "and parses back");
    ok(strcmp(back.origin, ORIGIN) == 0 && back.size == cp.size
       && memcmp(back.root, cp.root, 32) == 0 && *back.extensions == '\0',
       "to the same origin, size and root, no extensions");

    cp.extensions = "time 1700000000\nmonth 2026-10\n";
    verify_checkpoint_format(&text, &cp, &err, pool);
    verify_checkpoint_parse(&back, text, strlen(text), &err, pool);
    is_str(back.extensions, cp.extensions, "extension lines round trip");
    cp.extensions = "time\n\n";
    is_int(verify_checkpoint_format(&text, &cp, &err, pool), APR_EINVAL,
           "an empty extension line is refused");
    cp.extensions = "no newline";
    is_int(verify_checkpoint_format(&text, &cp, &err, pool), APR_EINVAL,
           "an unterminated extension line is refused");
    cp.extensions = NULL;
    cp.origin = "two\nlines";
    is_int(verify_checkpoint_format(&text, &cp, &err, pool), APR_EINVAL,
           "an origin of two lines is refused");
    cp.origin = "";
    is_int(verify_checkpoint_format(&text, &cp, &err, pool), APR_EINVAL,
           "an empty origin is refused");

#define ROOT0 "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    ok(parses("o\n0\n" ROOT0 "\n", &err), "size 0 parses");
    ok(parses("o\n18446744073709551615\n" ROOT0 "\n", &err),
       "size 2^64-1 parses");
    ok(!parses("o\n18446744073709551616\n" ROOT0 "\n", &err),
       "size 2^64 is refused");
    ok(!parses("o\n012\n" ROOT0 "\n", &err), "a leading zero is refused");
    ok(!parses("o\n+12\n" ROOT0 "\n", &err), "a sign is refused");
    ok(!parses("o\n 12\n" ROOT0 "\n", &err), "a space is refused");
    ok(!parses("o\n\n" ROOT0 "\n", &err), "an empty size is refused");
    ok(!parses("\n12\n" ROOT0 "\n", &err), "an empty origin is refused");
    ok(!parses("o\n12\n" ROOT0, &err), "a last line without newline is "
       "refused");
    ok(!parses("o\n12\n", &err), "two lines are refused");
    ok(!parses("o\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", &err),
       "a base64 root with spare bits set is refused");
    ok(!parses("o\n12\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n", &err),
       "URL-safe base64 is refused");
    ok(!parses("o\n12\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==\n", &err),
       "a root of 31 bytes is refused");
    ok(!parses("o\n12\n" ROOT0 "\nx\n\n", &err),
       "an empty extension line is refused");
    ok(!parses("o\r\n12\n" ROOT0 "\n", &err), "a carriage return is refused");
    ok(!parses("o\xff\n12\n" ROOT0 "\n", &err), "invalid UTF-8 is refused");
}

static void test_names(void)
{
    ok(verify_note_name_valid("example.com/log", 15), "a URL-like name");
    ok(verify_note_name_valid("\xe5\x8f\xb0\xe5\x8c\x97", 6),
       "a name in Chinese");
    ok(!verify_note_name_valid("", 0), "an empty name is refused");
    ok(!verify_note_name_valid("a b", 3), "a space is refused");
    ok(!verify_note_name_valid("a+b", 3), "a plus is refused");
    ok(!verify_note_name_valid("a\xc2\xa0" "b", 4), "a no-break space is "
       "refused");
    ok(!verify_note_name_valid("a\xe3\x80\x80" "b", 5),
       "an ideographic space is refused");
    ok(!verify_note_name_valid("a\tb", 3), "a tab is refused");
    ok(!verify_note_name_valid("a\xc0\xafz", 4), "invalid UTF-8 is refused");
}

static void test_key_file(void)
{
    verify_note_signer_t *s;
    char *err = NULL, *path;

    path = make_key("group.pem", EVP_PKEY_ED25519, 0640);
    is_int(verify_note_signer_load(&s, ORIGIN, path, &err, pool), APR_EINVAL,
           "a key the group can read is refused");
    ok(err && strstr(err, "readable by group or others"),
       "saying so");
    diag("%s", err ? err : "(none)");
    path = make_key("others.pem", EVP_PKEY_ED25519, 0604);
    is_int(verify_note_signer_load(&s, ORIGIN, path, &err, pool), APR_EINVAL,
           "a key others can read is refused");
    path = make_key("gw.pem", EVP_PKEY_ED25519, 0620);
    ok(verify_note_signer_load(&s, ORIGIN, path, &err, pool) == APR_EINVAL
       && strstr(err, "writable"), "a key the group can write is refused");
    path = make_key("ec.pem", EVP_PKEY_EC, 0600);
    ok(verify_note_signer_load(&s, ORIGIN, path, &err, pool) == APR_EINVAL
       && strstr(err, "not Ed25519"), "an EC key is refused");
    path = write_file(tmpdir, "junk.pem", "not a key\n", 10);
    chmod(path, 0600);
    is_int(verify_note_signer_load(&s, ORIGIN, path, &err, pool), APR_EINVAL,
           "a file that is no PEM key is refused");
    ok(verify_note_signer_load(&s, ORIGIN, "/nonexistent/k.pem", &err, pool)
       != APR_SUCCESS && strstr(err, "/nonexistent/k.pem"),
       "a missing key file is named");
    path = make_key("good.pem", EVP_PKEY_ED25519, 0600);
    is_int(verify_note_signer_load(&s, "bad name", path, &err, pool),
           APR_EINVAL, "a key name with a space is refused");
    is_int(verify_note_signer_load(&s, ORIGIN, path, &err, pool),
           APR_SUCCESS, "a mode 0600 Ed25519 key loads");
}

static void test_sign_verify(void)
{
    verify_note_signer_t *s, *s2;
    const verify_note_verifier_t *v;
    verify_note_verifier_t vp, two[2], wrong;
    verify_checkpoint_t cp = { 0 }, back;
    char *text, *note, *bad, *err = NULL, *vkey, *sigline;
    unsigned char h[32];
    uint32_t id;
    size_t tlen;
    int by = -1;

    verify_note_signer_load(&s, ORIGIN,
                            make_key("sign.pem", EVP_PKEY_ED25519, 0600),
                            &err, pool);
    verify_note_signer_load(&s2, "witness.example/w1",
                            make_key("other.pem", EVP_PKEY_ED25519, 0600),
                            &err, pool);
    v = verify_note_signer_verifier(s);

    /* the key id, computed here from its definition */
    {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned char pre[2] = { 0x0a, 0x01 };

        EVP_DigestInit_ex(c, EVP_sha256(), NULL);
        EVP_DigestUpdate(c, ORIGIN, strlen(ORIGIN));
        EVP_DigestUpdate(c, pre, 2);
        EVP_DigestUpdate(c, v->key, 32);
        EVP_DigestFinal_ex(c, h, NULL);
        EVP_MD_CTX_free(c);
    }
    id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8
         | h[3];
    is_int(v->id, id, "key id = SHA-256(name, 0x0a, 0x01, key)[:4]");
    verify_note_key_id(ORIGIN, v->key, &id);
    is_int(id, v->id, "verify_note_key_id agrees");

    vkey = verify_note_verifier_format(v, pool);
    ok(strncmp(vkey, ORIGIN "+", strlen(ORIGIN) + 1) == 0
       && strlen(vkey) == strlen(ORIGIN) + 1 + 8 + 1 + 44,
       "verifier key: name+8 hex+44 base64");
    diag("%s", vkey);
    is_int(verify_note_verifier_parse(&vp, vkey, &err, pool), APR_SUCCESS,
           "the verifier key parses");
    ok(strcmp(vp.name, v->name) == 0 && vp.id == v->id
       && memcmp(vp.key, v->key, 32) == 0, "to the signer's name, id, key");

    cp.origin = ORIGIN;
    cp.size = 7;
    verify_merkle_empty_root(cp.root);
    verify_checkpoint_format(&text, &cp, &err, pool);
    is_int(verify_note_sign(&note, s, text, strlen(text), &err, pool),
           APR_SUCCESS, "a checkpoint is signed");
    sigline = note + strlen(text) + 1;
    ok(note[strlen(text)] == '\n'
       && strncmp(sigline, "\xe2\x80\x94 " ORIGIN " ",
                  4 + strlen(ORIGIN) + 1) == 0
       && strlen(sigline) == 4 + strlen(ORIGIN) + 1 + 92 + 1,
       "text, blank line, em dash, name, base64 of 68 bytes");
    is_int(verify_note_open(&vp, 1, note, strlen(note), &tlen, &by, &err,
                            pool), APR_SUCCESS, "the note verifies");
    is_int((long long)tlen, (long long)strlen(text), "its text is the body");
    is_int(verify_checkpoint_open(&back, &vp, 1, note, strlen(note), NULL,
                                  &err, pool), APR_SUCCESS,
           "the signed checkpoint opens");
    ok(back.size == 7 && strcmp(back.origin, ORIGIN) == 0,
       "to the checkpoint signed");

    /* tampering */
    bad = apr_pstrdup(pool, note);
    bad[strlen(ORIGIN) + 1] = '8';
    ok(!opens(&vp, 1, bad, &err) && strstr(err, "does not verify"),
       "a changed tree size fails");
    bad = apr_pstrdup(pool, note);
    bad[strlen(note) - 10] = bad[strlen(note) - 10] == 'A' ? 'B' : 'A';
    ok(!opens(&vp, 1, bad, &err), "a changed signature fails");
    bad = apr_pstrcat(pool, text, "\n\xe2\x80\x94 other.example/log ",
                      sigline + 4 + strlen(ORIGIN) + 1, NULL);
    ok(!opens(&vp, 1, bad, &err) && strstr(err, "no signature by"),
       "the signature under another name is not the key's");
    wrong = vp;
    wrong.key[0] ^= 1;
    ok(!opens(&wrong, 1, note, &err), "another key with the same name and "
       "id fails");
    ok(!opens(verify_note_signer_verifier(s2), 1, note, &err),
       "another key does not open it");
    ok(!opens(&vp, 0, note, &err), "no key, no note");

    /* several signatures: unknown ones ignored, known ones must hold */
    {
        char *cosig, *both;

        verify_note_sign(&cosig, s2, text, strlen(text), &err, pool);
        both = apr_pstrcat(pool, note, cosig + strlen(text) + 1, NULL);
        ok(opens(&vp, 1, both, &err), "a cosignature by an unknown key is "
           "ignored");
        two[0] = *verify_note_signer_verifier(s2);
        two[1] = vp;
        ok(verify_note_open(two, 2, both, strlen(both), &tlen, &by, &err,
                            pool) == APR_SUCCESS && by == 0,
           "with both keys, the first verifies first");
        bad = apr_pstrcat(pool, note, "\xe2\x80\x94 witness.example/w1 ",
                          sigline + 4 + strlen(ORIGIN) + 1, NULL);
        ok(opens(&vp, 1, bad, &err), "a bad signature by an unknown key is "
           "ignored");
        /* the same key id, other signature bytes */
        bad = apr_pstrcat(pool, both, sigline, NULL);
        {
            char *c = bad + strlen(both) + 4 + strlen(ORIGIN) + 1 + 20;

            *c = *c == 'A' ? 'B' : 'A';
        }
        ok(!opens(&vp, 1, bad, &err), "a second, bad signature by the "
           "known key fails the note");
    }

    /* the format, strictly */
    bad = apr_pstrcat(pool, text, sigline, NULL);
    ok(!opens(&vp, 1, bad, &err), "no blank line: refused");
    bad = apr_pstrmemdup(pool, note, strlen(note) - 1);
    ok(!opens(&vp, 1, bad, &err), "no final newline: refused");
    bad = apr_pstrcat(pool, note, "\n", NULL);
    ok(!opens(&vp, 1, bad, &err), "a blank line after the signatures: "
       "refused");
    bad = apr_pstrcat(pool, text, "\n- " ORIGIN " ",
                      sigline + 4 + strlen(ORIGIN) + 1, NULL);
    ok(!opens(&vp, 1, bad, &err), "a hyphen for the em dash: refused");
    bad = apr_pstrcat(pool, text, "\n\xe2\x80\x94 " ORIGIN "  ",
                      sigline + 4 + strlen(ORIGIN) + 1, NULL);
    ok(!opens(&vp, 1, bad, &err), "two spaces: refused");
    bad = apr_pstrcat(pool, note, "\xe2\x80\x94 x AAAA\n", NULL);
    ok(!opens(&vp, 1, bad, &err), "a signature of 3 bytes: refused");
    bad = apr_pstrcat(pool, "a\r\n", note, NULL);
    ok(!opens(&vp, 1, bad, &err), "a carriage return: refused");
    is_int(verify_note_sign(&bad, s, "no newline", 10, &err, pool),
           APR_EINVAL, "text without a final newline is not signed");
    is_int(verify_note_sign(&bad, s, "a\tb\n", 4, &err, pool), APR_EINVAL,
           "text with a tab is not signed");
}

static void test_vkey_parse(void)
{
    verify_note_verifier_t v;
    char *err = NULL;

    ok(verify_note_verifier_parse(&v, "example.com/foo+530D903A+AekyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &err,
                                  pool) == APR_EINVAL,
       "upper-case hex is refused");
    ok(verify_note_verifier_parse(&v, "example.com/foo+530d903b+AekyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &err,
                                  pool) == APR_EINVAL && strstr(err, "id"),
       "a wrong key id is refused");
    ok(verify_note_verifier_parse(&v, "example.com/bar+530d903a+AekyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &err,
                                  pool) == APR_EINVAL,
       "another name is refused (the id does not match)");
    ok(verify_note_verifier_parse(&v, "example.com/foo+530d903a+AukyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", &err,
                                  pool) == APR_EINVAL,
       "another signature type is refused");
    ok(verify_note_verifier_parse(&v, "example.com/foo+530d903a", &err, pool)
       == APR_EINVAL, "two parts are refused");
    ok(verify_note_verifier_parse(&v, "example.com/foo+530d903a+AekyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+x", &err,
                                  pool) == APR_EINVAL,
       "a fourth part is refused");
    ok(verify_note_verifier_parse(&v, "example.com/foo+530d903a+AekyeRrm56hA"
                                  "pGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", &err,
                                  pool) == APR_EINVAL,
       "a short key is refused");
}

int main(void)
{
    unit_begin();
    test_c2sp_example();
    test_checkpoint_body();
    test_names();
    test_key_file();
    test_sign_verify();
    test_vkey_parse();
    return unit_end();
}
