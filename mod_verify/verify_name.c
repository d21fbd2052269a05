/*
 * verify_name.c -- the normal form of personal names (verify_name.h):
 * utf8proc's NFC and casefolding, with full-width ASCII and Unicode
 * spaces mapped first and the spaces folded after.
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "verify_name.h"
#include "verify_text.h"

/* Applied to each code point before utf8proc's own transformations. */
static utf8proc_int32_t narrow(utf8proc_int32_t cp, void *data)
{
    (void)data;
    if (cp >= 0xff01 && cp <= 0xff5e) {
        return cp - 0xfee0;             /* full-width ASCII */
    }
    if (cp == 0x3000 || cp == 0x00a0 || cp == '\t') {
        return ' ';                     /* ideographic, no-break, tab */
    }
    return cp;
}

/*
 * Is @p in already in the normal form, and of the characters for which
 * that is certain without utf8proc: CJK unified ideographs (U+4E00 to
 * U+9FFF: no decomposition, no case, never composed with a neighbour)
 * and the ASCII lower-case letters, digits, '.', '-' and '\''? Most
 * names of a household batch are; they skip the mapping and its
 * allocation.
 */
static int already_normal(const unsigned char *in, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = in[i];
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
            || c == '-' || c == '\'') {
            i++;
            continue;
        }
        /* U+4E00..U+9FFF: E4 B8 80 .. E9 BF BF */
        if (c >= 0xe4 && c <= 0xe9 && i + 2 < len
            && (in[i + 1] & 0xc0) == 0x80 && (in[i + 2] & 0xc0) == 0x80
            && (c > 0xe4 || in[i + 1] >= 0xb8)) {
            i += 3;
            continue;
        }
        return 0;
    }
    return 1;
}

size_t verify_name_fold(const char *in, size_t len, char *out,
                        size_t outlen)
{
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t mlen;
    size_t i, n = 0;
    int space = 0;

    if (len == 0) {
        if (outlen) {
            out[0] = '\0';
        }
        return 0;
    }
    if (already_normal((const unsigned char *)in, len)) {
        if (len >= outlen) {
            return (size_t)-1;
        }
        memcpy(out, in, len);
        out[len] = '\0';
        return len;
    }
    mlen = utf8proc_map_custom((const utf8proc_uint8_t *)in,
                               (utf8proc_ssize_t)len, &mapped,
                               UTF8PROC_STABLE | UTF8PROC_COMPOSE
                               | UTF8PROC_CASEFOLD, narrow, NULL);
    if (mlen < 0) {
        return (size_t)-1;
    }
    for (i = 0; i < (size_t)mlen; i++) {
        char c = (char)mapped[i];
        if (c == ' ') {
            space = n > 0;              /* none at the start */
            continue;
        }
        if (n + space + 1 >= outlen) {
            free(mapped);
            return (size_t)-1;
        }
        if (space) {
            out[n++] = ' ';             /* one for a run; none at the end */
            space = 0;
        }
        out[n++] = c;
    }
    free(mapped);
    if (outlen) {
        out[n] = '\0';
    }
    return n;
}

int verify_name_tag(const verify_keys_t *keys, int format, const char *in,
                    size_t len, unsigned char tag[VERIFY_NAME_TAG_LEN])
{
    unsigned char full[VERIFY_TAG_LEN];
    char norm[VERIFY_NAME_NORM_MAX];
    size_t n;

    n = format >= 2 ? verify_name_fold(in, len, norm, sizeof(norm))
                    : verify_name_normalise(in, len, norm, sizeof(norm));
    if (n == (size_t)-1) {
        return -1;
    }
    verify_keys_tag(keys, VERIFY_KEY_NAME, norm, n, full);
    memcpy(tag, full, VERIFY_NAME_TAG_LEN);
    return 0;
}

int verify_name_matches(const verify_keys_t *keys, const verify_record_t *rec,
                        const char *in, size_t len)
{
    unsigned char tag[VERIFY_NAME_TAG_LEN];

    if (verify_name_tag(keys, rec->name_form, in, len, tag) != 0) {
        return 0;
    }
    return !memcmp(tag, rec->name_tag, VERIFY_NAME_TAG_LEN)
           || (rec->has_romanised
               && !memcmp(tag, rec->romanised_tag, VERIFY_NAME_TAG_LEN));
}
