/*
 * verify_note.c -- C2SP tlog-checkpoint bodies and signed notes with
 * Ed25519, after c2sp.org/signed-note and c2sp.org/tlog-checkpoint.
 *
 * Everything read is read strictly: base64 must be canonical (the one
 * encoding of its bytes), numbers have one spelling, and a note that a
 * known key signed badly is refused whole, so that two readers of the
 * same bytes can never come to different conclusions.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <apr_strings.h>
#include <sodium.h>
#include "verify_note.h"
#include "verify_text.h"

/* U+2014 EM DASH and a space: how a signature line starts */
#define SIG_PREFIX "\xe2\x80\x94 "
#define SIG_PREFIX_LEN 4
/* a PEM key file is a few hundred bytes; refuse anything much larger */
#define KEY_FILE_MAX 16384

struct verify_note_signer_t {
    EVP_PKEY *pkey;
    verify_note_verifier_t v;
};

/* --- text, base64 ---------------------------------------------------- */

/* Valid UTF-8 with no control character below U+0020 but newline: what
 * a signed note may contain. */
static int note_text_clean(const char *s, size_t len)
{
    size_t i;

    if (verify_utf8_scan(s, len) != len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n') {
            return 0;
        }
    }
    return 1;
}

/* Unicode White_Space (what Go's unicode.IsSpace and the C2SP text
 * mean by a space) */
static int is_unicode_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85
           || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a)
           || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
           || c == 0x3000;
}

int verify_note_name_valid(const char *name, size_t len)
{
    size_t i = 0, n;
    uint32_t c;

    if (len == 0) {
        return 0;
    }
    while (i < len) {
        n = verify_utf8_decode(name + i, len - i, &c);
        if (n == 0 || c < 0x20 || c == 0x7f || c == '+'
            || is_unicode_space(c)) {
            return 0;
        }
        i += n;
    }
    return 1;
}

char *verify_note_b64(const unsigned char *in, size_t len, apr_pool_t *p)
{
    char *out = apr_palloc(p, 4 * ((len + 2) / 3) + 1);

    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    return out;
}

/* Decode @p len bytes of base64 into a buffer from @p p; only the
 * canonical standard encoding (RFC 4648 section 4, padded, no spaces,
 * zero spare bits) is accepted. Returns NULL if it is anything else. */
static unsigned char *b64_decode(const char *s, size_t len, size_t *outlen,
                                 apr_pool_t *p)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char *out;
    char *again;
    size_t i, pad = 0;
    int n;

    if (len == 0 || len % 4 != 0 || len > INT32_MAX) {
        return NULL;
    }
    if (s[len - 1] == '=') {
        pad = s[len - 2] == '=' ? 2 : 1;
    }
    for (i = 0; i < len - pad; i++) {
        if (s[i] == '\0' || !strchr(alphabet, s[i])) {
            return NULL;
        }
    }
    out = apr_palloc(p, len / 4 * 3 + 1);
    n = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    if (n < 0 || (size_t)n != len / 4 * 3) {
        return NULL;
    }
    *outlen = (size_t)n - pad;
    /* spare bits not zero, or '=' where a digit belongs: not canonical */
    again = verify_note_b64(out, *outlen, p);
    if (strlen(again) != len || memcmp(again, s, len) != 0) {
        return NULL;
    }
    return out;
}

unsigned char *verify_note_b64_decode(const char *s, size_t len,
                                      size_t *outlen, apr_pool_t *p)
{
    unsigned char *out = b64_decode(s, len, outlen, p);

    if (out != NULL) {
        out[*outlen] = '\0';
    }
    return out;
}

/* --- checkpoint bodies ----------------------------------------------- */

/* True if @p s is whole lines, each non-empty, clean and ending in \n. */
static int lines_ok(const char *s, size_t len)
{
    size_t i, start = 0;

    if (!note_text_clean(s, len) || (len > 0 && s[len - 1] != '\n')) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] == '\n') {
            if (i == start) {
                return 0;
            }
            start = i + 1;
        }
    }
    return 1;
}

apr_status_t verify_checkpoint_format(char **text,
                                      const verify_checkpoint_t *cp,
                                      char **err, apr_pool_t *p)
{
    const char *ext = cp->extensions ? cp->extensions : "";
    size_t olen = cp->origin ? strlen(cp->origin) : 0;

    *text = NULL;
    if (olen == 0 || memchr(cp->origin, '\n', olen)
        || !note_text_clean(cp->origin, olen)) {
        *err = apr_pstrdup(p, "the checkpoint origin must be one non-empty "
                           "line of UTF-8 without control characters");
        return APR_EINVAL;
    }
    if (!lines_ok(ext, strlen(ext))) {
        *err = apr_pstrdup(p, "checkpoint extension lines must each be "
                           "non-empty UTF-8 ending in a newline");
        return APR_EINVAL;
    }
    *text = apr_psprintf(p, "%s\n%" APR_UINT64_T_FMT "\n%s\n%s", cp->origin,
                         (apr_uint64_t)cp->size,
                         verify_note_b64(cp->root, VERIFY_MERKLE_HASH_LEN, p),
                         ext);
    return APR_SUCCESS;
}

/* the decimal tree size: digits only, no leading zero, no overflow */
static int parse_size(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (len == 0 || (len > 1 && s[0] == '0')) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return 0;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

apr_status_t verify_checkpoint_parse(verify_checkpoint_t *cp,
                                     const char *text, size_t len,
                                     char **err, apr_pool_t *p)
{
    const char *line[3], *nl;
    size_t llen[3], at = 0, rlen = 0;
    unsigned char *root;
    int i;

    memset(cp, 0, sizeof(*cp));
    if (!note_text_clean(text, len)) {
        *err = apr_pstrdup(p, "the checkpoint is not UTF-8 without control "
                           "characters");
        return APR_EINVAL;
    }
    for (i = 0; i < 3; i++) {
        nl = memchr(text + at, '\n', len - at);
        if (nl == NULL) {
            *err = apr_psprintf(p, "the checkpoint has %d complete line%s, "
                                "not at least 3", i, i == 1 ? "" : "s");
            return APR_EINVAL;
        }
        line[i] = text + at;
        llen[i] = (size_t)(nl - line[i]);
        at += llen[i] + 1;
    }
    if (llen[0] == 0) {
        *err = apr_pstrdup(p, "the checkpoint origin is empty");
        return APR_EINVAL;
    }
    if (!parse_size(line[1], llen[1], &cp->size)) {
        *err = apr_psprintf(p, "the checkpoint tree size '%s' is not a "
                            "decimal number without leading zeros below "
                            "2^64", apr_pstrmemdup(p, line[1], llen[1]));
        return APR_EINVAL;
    }
    root = b64_decode(line[2], llen[2], &rlen, p);
    if (root == NULL || rlen != VERIFY_MERKLE_HASH_LEN) {
        *err = apr_psprintf(p, "the checkpoint root hash '%s' is not the "
                            "base64 of 32 bytes",
                            apr_pstrmemdup(p, line[2], llen[2]));
        return APR_EINVAL;
    }
    if (!lines_ok(text + at, len - at)) {
        *err = apr_pstrdup(p, "a checkpoint extension line is empty or has "
                           "no newline");
        return APR_EINVAL;
    }
    memcpy(cp->root, root, VERIFY_MERKLE_HASH_LEN);
    cp->origin = apr_pstrmemdup(p, line[0], llen[0]);
    cp->extensions = apr_pstrmemdup(p, text + at, len - at);
    return APR_SUCCESS;
}

/* --- keys ------------------------------------------------------------ */

apr_status_t verify_note_key_id(const char *name,
                                const unsigned char key[VERIFY_NOTE_KEY_LEN],
                                uint32_t *id)
{
    static const unsigned char sep[2] = { '\n', VERIFY_NOTE_ED25519 };
    unsigned char h[32];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok;

    ok = c != NULL
         && EVP_DigestInit_ex(c, EVP_sha256(), NULL)
         && EVP_DigestUpdate(c, name, strlen(name))
         && EVP_DigestUpdate(c, sep, sizeof(sep))
         && EVP_DigestUpdate(c, key, VERIFY_NOTE_KEY_LEN)
         && EVP_DigestFinal_ex(c, h, NULL);
    EVP_MD_CTX_free(c);
    if (!ok) {
        return APR_ENOMEM;
    }
    *id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8
          | h[3];
    return APR_SUCCESS;
}

static apr_status_t signer_cleanup(void *data)
{
    verify_note_signer_t *s = data;

    EVP_PKEY_free(s->pkey);
    s->pkey = NULL;
    return APR_SUCCESS;
}

/* An encrypted PEM must fail, not ask for a passphrase on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* Read the key file into @p buf, refusing any file someone other than
 * its owner could read or change, or that another user owns. */
static apr_status_t read_key_file(const char *path, char *buf, size_t *len,
                                  char **err, apr_pool_t *p)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd, e;
    apr_status_t rv = APR_EINVAL;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        e = errno;
        *err = apr_psprintf(p, "cannot open checkpoint key %s: %s", path,
                            strerror(e));
        return APR_FROM_OS_ERROR(e);
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        *err = apr_psprintf(p, "checkpoint key %s is not a regular file",
                            path);
        goto cleanup;
    }
    if (st.st_mode & (S_IRGRP | S_IROTH)) {
        *err = apr_psprintf(p, "checkpoint key %s is readable by group or "
                            "others (mode %04o); a signing key must be "
                            "readable by its owner only: chmod 600 %s",
                            path, (unsigned)(st.st_mode & 07777), path);
        goto cleanup;
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        *err = apr_psprintf(p, "checkpoint key %s is writable by group or "
                            "others (mode %04o): chmod 600 %s", path,
                            (unsigned)(st.st_mode & 07777), path);
        goto cleanup;
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        *err = apr_psprintf(p, "checkpoint key %s belongs to uid %lu, who "
                            "could replace it; it must be root's", path,
                            (unsigned long)st.st_uid);
        goto cleanup;
    }
    while (got < KEY_FILE_MAX
           && (n = read(fd, buf + got, KEY_FILE_MAX - got)) != 0) {
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            e = errno;
            *err = apr_psprintf(p, "cannot read checkpoint key %s: %s", path,
                                strerror(e));
            rv = APR_FROM_OS_ERROR(e);
            goto cleanup;
        }
        got += (size_t)n;
    }
    if (got >= KEY_FILE_MAX) {
        *err = apr_psprintf(p, "checkpoint key %s is larger than %d bytes",
                            path, KEY_FILE_MAX - 1);
        goto cleanup;
    }
    *len = got;
    rv = APR_SUCCESS;

cleanup:
    close(fd);
    return rv;
}

apr_status_t verify_note_signer_load(verify_note_signer_t **signer,
                                     const char *name, const char *path,
                                     char **err, apr_pool_t *p)
{
    char *buf = apr_palloc(p, KEY_FILE_MAX);
    size_t len = 0, klen = VERIFY_NOTE_KEY_LEN;
    verify_note_signer_t *s;
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    apr_status_t rv;

    *signer = NULL;
    if (!verify_note_name_valid(name, strlen(name))) {
        *err = apr_psprintf(p, "'%s' cannot name a key (empty, or a space, "
                            "'+' or control character in it)", name);
        return APR_EINVAL;
    }
    rv = read_key_file(path, buf, &len, err, p);
    if (rv != APR_SUCCESS) {
        goto cleanup;
    }
    rv = APR_EINVAL;
    bio = BIO_new_mem_buf(buf, (int)len);
    if (bio != NULL) {
        pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
    }
    if (pkey == NULL) {
        *err = apr_psprintf(p, "checkpoint key %s is not an unencrypted PEM "
                            "private key (make one with: openssl genpkey "
                            "-algorithm ed25519)", path);
        goto cleanup;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_ED25519) {
        *err = apr_psprintf(p, "checkpoint key %s is a %s key, not Ed25519",
                            path, OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
        goto cleanup;
    }
    s = apr_pcalloc(p, sizeof(*s));
    s->v.name = apr_pstrdup(p, name);
    if (!EVP_PKEY_get_raw_public_key(pkey, s->v.key, &klen)
        || klen != VERIFY_NOTE_KEY_LEN
        || verify_note_key_id(name, s->v.key, &s->v.id) != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot derive the public key of %s", path);
        rv = APR_ENOMEM;
        goto cleanup;
    }
    s->pkey = pkey;
    pkey = NULL;
    apr_pool_cleanup_register(p, s, signer_cleanup, apr_pool_cleanup_null);
    *signer = s;
    rv = APR_SUCCESS;

cleanup:
    OPENSSL_cleanse(buf, KEY_FILE_MAX);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rv;
}

const verify_note_verifier_t *verify_note_signer_verifier(
    const verify_note_signer_t *signer)
{
    return &signer->v;
}

char *verify_note_verifier_format(const verify_note_verifier_t *v,
                                  apr_pool_t *p)
{
    unsigned char typed[1 + VERIFY_NOTE_KEY_LEN];

    typed[0] = VERIFY_NOTE_ED25519;
    memcpy(typed + 1, v->key, VERIFY_NOTE_KEY_LEN);
    return apr_psprintf(p, "%s+%08x+%s", v->name, (unsigned)v->id,
                        verify_note_b64(typed, sizeof(typed), p));
}

apr_status_t verify_note_verifier_parse(verify_note_verifier_t *v,
                                        const char *vkey, char **err,
                                        apr_pool_t *p)
{
    const char *plus1 = strchr(vkey, '+'), *plus2;
    unsigned char idb[4], *typed;
    size_t tlen = 0;
    uint32_t want;

    memset(v, 0, sizeof(*v));
    /* the name and the id have no '+'; the base64 key may */
    plus2 = plus1 ? strchr(plus1 + 1, '+') : NULL;
    if (plus2 == NULL) {
        *err = apr_pstrdup(p, "a verifier key is NAME+KEYID+KEY (three "
                           "parts joined by '+')");
        return APR_EINVAL;
    }
    if (!verify_note_name_valid(vkey, (size_t)(plus1 - vkey))) {
        *err = apr_pstrdup(p, "the verifier key's name is empty or has a "
                           "space or control character in it");
        return APR_EINVAL;
    }
    if (plus2 - plus1 != 9 || verify_unhex(plus1 + 1, 4, idb, 0) != 0) {
        *err = apr_pstrdup(p, "the verifier key's id is not 8 lower-case "
                           "hex digits");
        return APR_EINVAL;
    }
    typed = b64_decode(plus2 + 1, strlen(plus2 + 1), &tlen, p);
    if (typed == NULL || tlen == 0) {
        *err = apr_pstrdup(p, "the verifier key's key is not base64");
        return APR_EINVAL;
    }
    if (typed[0] != VERIFY_NOTE_ED25519 || tlen != 1 + VERIFY_NOTE_KEY_LEN) {
        *err = apr_psprintf(p, "the verifier key is not an Ed25519 key "
                            "(type 0x%02x, %lu bytes)", typed[0],
                            (unsigned long)tlen);
        return APR_EINVAL;
    }
    v->name = apr_pstrmemdup(p, vkey, (size_t)(plus1 - vkey));
    v->id = (uint32_t)idb[0] << 24 | (uint32_t)idb[1] << 16
            | (uint32_t)idb[2] << 8 | idb[3];
    memcpy(v->key, typed + 1, VERIFY_NOTE_KEY_LEN);
    if (verify_note_key_id(v->name, v->key, &want) != APR_SUCCESS) {
        *err = apr_pstrdup(p, "cannot hash (OpenSSL failure)");
        return APR_ENOMEM;
    }
    if (want != v->id) {
        *err = apr_psprintf(p, "the verifier key's id %08x is not its key's "
                            "id under that name (%08x)", (unsigned)v->id,
                            (unsigned)want);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* --- signing and opening notes -------------------------------------- */

apr_status_t verify_note_sign(char **note, const verify_note_signer_t *signer,
                              const char *text, size_t len, char **err,
                              apr_pool_t *p)
{
    unsigned char sig[4 + VERIFY_NOTE_SIG_LEN];
    size_t slen = VERIFY_NOTE_SIG_LEN;
    EVP_MD_CTX *c;
    int ok;

    *note = NULL;
    if (len == 0 || text[len - 1] != '\n' || !note_text_clean(text, len)) {
        *err = apr_pstrdup(p, "a note's text must be UTF-8 without control "
                           "characters, ending in a newline");
        return APR_EINVAL;
    }
    c = EVP_MD_CTX_new();
    ok = c != NULL
         && EVP_DigestSignInit(c, NULL, NULL, NULL, signer->pkey) == 1
         && EVP_DigestSign(c, sig + 4, &slen, (const unsigned char *)text,
                           len) == 1
         && slen == VERIFY_NOTE_SIG_LEN;
    EVP_MD_CTX_free(c);
    if (!ok) {
        *err = apr_pstrdup(p, "cannot sign the note (OpenSSL failure)");
        return APR_EGENERAL;
    }
    sig[0] = (unsigned char)(signer->v.id >> 24);
    sig[1] = (unsigned char)(signer->v.id >> 16);
    sig[2] = (unsigned char)(signer->v.id >> 8);
    sig[3] = (unsigned char)signer->v.id;
    *note = apr_pstrcat(p, apr_pstrmemdup(p, text, len), "\n" SIG_PREFIX,
                        signer->v.name, " ", verify_note_b64(sig, sizeof(sig), p),
                        "\n", NULL);
    return APR_SUCCESS;
}

/*
 * An Ed25519 signature check, with libsodium: a reader of a year's log
 * checks hundreds of thousands of checkpoint signatures, and OpenSSL
 * 3.0 does Ed25519's field arithmetic in 32-bit limbs behind an EVP key
 * and context made for each; libsodium's 64-bit arithmetic on the raw
 * key takes about half the time (docs/performance.md). It is also the
 * stricter check (it refuses a small-order key or R, and a non-canonical
 * S, as OpenSSL does the last). Signing stays with OpenSSL, which holds
 * the private key.
 */
static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_start(void)
{
    sodium_ok = sodium_init() >= 0;
}

static int ed25519_verify(const unsigned char key[VERIFY_NOTE_KEY_LEN],
                          const char *text, size_t len,
                          const unsigned char *sig, size_t slen)
{
    if (slen != VERIFY_NOTE_SIG_LEN
        || pthread_once(&sodium_once, sodium_start) != 0 || !sodium_ok) {
        return 0;
    }
    return crypto_sign_verify_detached(sig, (const unsigned char *)text,
                                       len, key) == 0;
}

/* verify_note_open, or with @p named a note whose signature lines are
 * matched to the keys by name and key id alone, their signatures not
 * checked (verify_checkpoint_open_named). */
static apr_status_t note_open(const verify_note_verifier_t *vs, int nv,
                              const char *note, size_t len, int named,
                              size_t *text_len, int *by, char **err,
                              apr_pool_t *p)
{
    const char *sigs, *end = note + len, *nl, *name, *b64;
    unsigned char *sig;
    size_t split, slen, nlen, tlen;
    uint32_t id;
    int nsig = 0, first = -1, i;

    *text_len = 0;
    if (len > VERIFY_NOTE_MAX) {
        *err = apr_psprintf(p, "the note is larger than %d bytes",
                            VERIFY_NOTE_MAX);
        return APR_EINVAL;
    }
    if (!note_text_clean(note, len)) {
        *err = apr_pstrdup(p, "the note is not UTF-8 without control "
                           "characters");
        return APR_EINVAL;
    }
    /* the text ends at the last blank line */
    for (split = len; split >= 2; split--) {
        if (note[split - 2] == '\n' && note[split - 1] == '\n') {
            break;
        }
    }
    if (split < 2) {
        *err = apr_pstrdup(p, "the note has no blank line before its "
                           "signatures");
        return APR_EINVAL;
    }
    tlen = split - 1;
    sigs = note + split;
    if (sigs == end || end[-1] != '\n') {
        *err = apr_pstrdup(p, sigs == end ? "the note has no signature line"
                           : "the note's last line has no newline");
        return APR_EINVAL;
    }
    for (; sigs < end; sigs = nl + 1) {
        nl = memchr(sigs, '\n', (size_t)(end - sigs));
        if (++nsig > VERIFY_NOTE_MAX_SIGS) {
            *err = apr_psprintf(p, "the note has more than %d signatures",
                                VERIFY_NOTE_MAX_SIGS);
            return APR_EINVAL;
        }
        if (nl - sigs < SIG_PREFIX_LEN
            || memcmp(sigs, SIG_PREFIX, SIG_PREFIX_LEN) != 0) {
            *err = apr_psprintf(p, "signature line %d does not start with "
                                "an em dash and a space", nsig);
            return APR_EINVAL;
        }
        name = sigs + SIG_PREFIX_LEN;
        b64 = memchr(name, ' ', (size_t)(nl - name));
        nlen = b64 ? (size_t)(b64 - name) : 0;
        if (b64 == NULL || !verify_note_name_valid(name, nlen)) {
            *err = apr_psprintf(p, "signature line %d has no valid key name "
                                "followed by a space", nsig);
            return APR_EINVAL;
        }
        b64++;
        sig = b64_decode(b64, (size_t)(nl - b64), &slen, p);
        if (sig == NULL || slen < 5) {
            *err = apr_psprintf(p, "signature line %d: the signature is not "
                                "the base64 of a key id and a signature",
                                nsig);
            return APR_EINVAL;
        }
        id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16
             | (uint32_t)sig[2] << 8 | sig[3];
        for (i = 0; i < nv; i++) {
            if (vs[i].id != id || strlen(vs[i].name) != nlen
                || memcmp(vs[i].name, name, nlen) != 0) {
                continue;       /* another key: ignored */
            }
            if (named ? slen - 4 != VERIFY_NOTE_SIG_LEN
                : !ed25519_verify(vs[i].key, note, tlen, sig + 4, slen - 4)) {
                *err = apr_psprintf(p, "the signature by %s+%08x does not "
                                    "verify", vs[i].name, (unsigned)id);
                return APR_EINVAL;
            }
            if (first < 0 || i < first) {
                first = i;
            }
        }
    }
    if (first < 0) {
        *err = nv > 0 ? apr_psprintf(p, "the note has no signature by %s+%08x%s",
                                     vs[0].name, (unsigned)vs[0].id,
                                     nv > 1 ? " or the other keys given" : "")
                      : apr_pstrdup(p, "no key to verify the note with");
        return APR_EINVAL;
    }
    *text_len = tlen;
    if (by) {
        *by = first;
    }
    return APR_SUCCESS;
}

apr_status_t verify_note_open(const verify_note_verifier_t *vs, int nv,
                              const char *note, size_t len,
                              size_t *text_len, int *by, char **err,
                              apr_pool_t *p)
{
    return note_open(vs, nv, note, len, 0, text_len, by, err, p);
}

static apr_status_t checkpoint_open(verify_checkpoint_t *cp,
                                    const verify_note_verifier_t *vs, int nv,
                                    const char *note, size_t len, int named,
                                    int *by, char **err, apr_pool_t *p)
{
    size_t tlen;
    apr_status_t rv;

    memset(cp, 0, sizeof(*cp));
    rv = note_open(vs, nv, note, len, named, &tlen, by, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    return verify_checkpoint_parse(cp, note, tlen, err, p);
}

apr_status_t verify_checkpoint_open(verify_checkpoint_t *cp,
                                    const verify_note_verifier_t *vs, int nv,
                                    const char *note, size_t len, int *by,
                                    char **err, apr_pool_t *p)
{
    return checkpoint_open(cp, vs, nv, note, len, 0, by, err, p);
}

apr_status_t verify_checkpoint_open_named(verify_checkpoint_t *cp,
                                          const verify_note_verifier_t *vs,
                                          int nv, const char *note,
                                          size_t len, int *by, char **err,
                                          apr_pool_t *p)
{
    return checkpoint_open(cp, vs, nv, note, len, 1, by, err, p);
}
