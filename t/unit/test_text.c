/*
 * test_text.c -- UTF-8, hex and the normal form of names
 * (verify_text.c).
 */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "verify.h"

static void test_utf8_helpers(void)
{
#define CLEAN(lit) verify_utf8_clean((lit), sizeof(lit) - 1)
#define SCAN(lit) verify_utf8_scan((lit), sizeof(lit) - 1)
#define CHARS(lit) verify_utf8_chars((lit), sizeof(lit) - 1)
    is_int(CLEAN(""), 1, "clean: empty");
    is_int(CLEAN("Wang Xiao-ming"), 1, "clean: ASCII name");
    is_int(CLEAN("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"), 1, "clean: CJK name");
    is_int(CLEAN("\xf0\x9f\x98\x80"), 1, "clean: 4-byte char");
    is_int(CLEAN("a\tb"), 0, "clean: TAB refused");
    is_int(CLEAN("a\nb"), 0, "clean: LF refused");
    is_int(CLEAN("a\0b"), 0, "clean: NUL refused");
    is_int(CLEAN("\x1f"), 0, "clean: 0x1f refused");
    is_int(CLEAN("a\x7f"), 0, "clean: DEL refused");
    is_int(CLEAN("a\x80"), 0, "clean: stray continuation refused");
    is_int(CLEAN("\xc0\xaf"), 0, "clean: overlong refused");
    is_int(CLEAN("\xed\xa0\x80"), 0, "clean: surrogate refused");
    is_int(CLEAN("\xe7\x8e"), 0, "clean: truncated char refused");
    is_int(verify_utf8_clean("ab\xe7\x8e\x8b", 4), 0,
           "clean: char cut by len refused");

    is_int(SCAN(""), 0, "scan: empty -> 0");
    is_int(SCAN("abc"), 3, "scan: valid -> len");
    is_int(SCAN("a\tb\x7f"), 4, "scan: control chars are valid UTF-8");
    is_int(SCAN("ab\xff" "cd"), 2, "scan: 0xff at 2");
    is_int(SCAN("\xe7\x8e\x8b\x80"), 3, "scan: stray continuation at 3");
    is_int(SCAN("\xe7\x8e\x8b\xe7\x8e"), 3, "scan: truncated char at 3");
    is_int(SCAN("ab\xc0\x80"), 2, "scan: overlong at 2");
    is_int(SCAN("ab\xed\xbf\xbf"), 2, "scan: surrogate at 2");
    is_int(SCAN("\xf4\x90\x80\x80"), 0, "scan: above U+10FFFF at 0");
    is_int(SCAN("\xf4\x8f\xbf\xbf"), 4, "scan: U+10FFFF valid");

    is_int(CHARS(""), 0, "chars: empty");
    is_int(CHARS("abc"), 3, "chars: ASCII");
    is_int(CHARS("\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e"), 3, "chars: 3 CJK");
    is_int(CHARS("a\xc3\xa9\xe7\x8e\x8b\xf0\x9f\x98\x80"), 4,
           "chars: 1+2+3+4-byte mix");
#undef CLEAN
#undef SCAN
#undef CHARS
}

/* verify_utf8_scan (ASCII sixteen bytes at a time, a short way for
 * most three-byte characters) against a byte-by-byte decode: sequences
 * valid and not, cut short, in every place of ASCII and of Han text. */
static size_t ref_scan(const char *s, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        n = verify_utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            return i;
        }
        i += n;
    }
    return len;
}

static void test_utf8_scan(void)
{
    static const char *seqs[] = {
        "\xe4\xb8\xad", "\xe1\x80\x80", "\xec\xbf\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xe0\xa0\x80", "\xe0\x80\x80", "\xed\x9f\xbf",
        "\xed\xa0\x80", "\xe4\xb8", "\xe4\x41\x80", "\xe4\xb8\x41",
        "\xe4\xc0\x80", "\xc3\xa9", "\xc1\xbf", "\xf0\x9f\x98\x80",
        "\xf4\x90\x80\x80", "\xff", "\x80", "\xf0\x9f\x98"
    };
    static const char *backs[] = { "abcdefghijklmnop", "\xe6\x9e\x97" };
    char text[96];
    size_t k, b, at, n, blen, len, want, got;
    int bad = 0;

    for (k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
        n = strlen(seqs[k]);
        for (b = 0; b < 2; b++) {
            blen = strlen(backs[b]);
            for (len = n; len <= 60; len++) {
                for (at = 0; at + n <= len; at++) {
                    size_t i;

                    for (i = 0; i < len; i++) {
                        text[i] = backs[b][i % blen];
                    }
                    memcpy(text + at, seqs[k], n);
                    want = ref_scan(text, len);
                    got = verify_utf8_scan(text, len);
                    if (got != want && bad++ < 3) {
                        diag("sequence %zu at %zu of %zu: scan %zu, byte by "
                             "byte %zu", k, at, len, got, want);
                    }
                }
            }
        }
    }
    ok(!bad, "verify_utf8_scan: as a byte-by-byte decode, with 20 "
             "sequences in every place of ASCII and Han text to 60 bytes");
}

/* verify_unhex_whole (sixteen digits at a time) against verify_unhex:
 * every byte value in every place of a hash's 64 digits, and lengths
 * that leave a remainder. */
static void test_unhex_whole(void)
{
    static const char digits[] = "0123456789abcdef";
    char text[65];
    unsigned char want[32], got[32];
    int place, v, bad = 0, rw, rg;
    size_t len;

    for (place = 0; place < 64; place++) {
        for (v = 1; v < 256; v++) {
            for (len = 0; len < 64; len++) {
                text[len] = digits[(len * 7 + (size_t)v) % 16];
            }
            text[place] = (char)v;
            text[64] = '\0';
            memset(want, 0, sizeof(want));
            memset(got, 0, sizeof(got));
            rw = verify_unhex(text, 32, want, 0);
            rg = verify_unhex_whole(text, 32, got);
            if (rw != rg || (rw == 0 && memcmp(want, got, 32))) {
                if (bad++ < 3) {
                    diag("byte 0x%02x at %d: unhex %d, whole %d", v, place,
                         rw, rg);
                }
            }
        }
    }
    ok(!bad, "verify_unhex_whole: as verify_unhex with any byte in any "
             "place of 64 digits");
    for (len = 0; len <= 32; len++) {
        rg = verify_unhex_whole("00112233445566778899aabbccddeeff"
                                "0123456789abcdef0123456789abcdef", len, got);
        rw = verify_unhex("00112233445566778899aabbccddeeff"
                          "0123456789abcdef0123456789abcdef", len, want, 0);
        if (rg != rw || memcmp(got, want, len)) {
            bad++;
        }
    }
    ok(!bad, "verify_unhex_whole: every length 0..32 bytes");
}

static void test_hex(void)
{
    char h[65];
    unsigned char b[4];

    verify_hex((const unsigned char *)"\x00\x01\xab\xff", 4, h);
    is_str(h, "0001abff", "verify_hex");

    ok(verify_unhex("0001abff", 4, b, 0) == 0
       && memcmp(b, "\x00\x01\xab\xff", 4) == 0, "verify_unhex");
    is_int(verify_unhex("0001ABFF", 4, b, 0), -1,
           "unhex: upper case refused unless any_case");
    ok(verify_unhex("0001ABFF", 4, b, 1) == 0
       && memcmp(b, "\x00\x01\xab\xff", 4) == 0, "unhex: any_case");
    is_int(verify_unhex("00g1", 2, b, 1), -1, "unhex: a non-hex digit");
    test_unhex_whole();
    test_utf8_scan();
}

static void test_names(void)
{
    char out[64];
    size_t n;

    n = verify_name_normalise("  wang xiao-ming\t", 17, out, sizeof(out));
    ok(n == 14 && strcmp(out, "WANG XIAO-MING") == 0,
       "name: trimmed and upper-cased");
    n = verify_name_normalise("\xe3\x80\x80\xe7\x8e\x8b\xe3\x80\x80 ", 10,
                              out, sizeof(out));
    ok(n == 3 && strcmp(out, "\xe7\x8e\x8b") == 0,
       "name: ideographic spaces trimmed");
    n = verify_name_normalise(" \xe3\x80\x80\t", 5, out, sizeof(out));
    ok(n == 0 && out[0] == '\0', "name: only spaces -> 0");
    n = verify_name_normalise("abcdef", 6, out, 4);
    ok(n == 3 && strcmp(out, "ABC") == 0, "name: cut to outlen - 1");
}

int main(void)
{
    test_utf8_helpers();
    test_hex();
    test_names();
    return done_testing();
}
