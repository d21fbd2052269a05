/*
 * test_id.c -- national ID / resident certificate numbers and masking.
 *
 * Check digits are computed here from the Ministry of the Interior's
 * rules, independently of the library's table and loop.
 */
#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "verify.h"

/* Letter codes, spelled out per letter (not as an indexed table). */
static int code_of(char letter)
{
    switch (letter) {
    case 'A': return 10; case 'B': return 11; case 'C': return 12;
    case 'D': return 13; case 'E': return 14; case 'F': return 15;
    case 'G': return 16; case 'H': return 17; case 'I': return 34;
    case 'J': return 18; case 'K': return 19; case 'L': return 20;
    case 'M': return 21; case 'N': return 22; case 'O': return 35;
    case 'P': return 23; case 'Q': return 24; case 'R': return 25;
    case 'S': return 26; case 'T': return 27; case 'U': return 28;
    case 'V': return 29; case 'W': return 32; case 'X': return 30;
    case 'Y': return 31; case 'Z': return 33;
    }
    return -1;
}

/* Value of the second character: 1,2 (citizen), 8,9 (new resident), or
 * the units digit of the code of A-D (old resident). */
static int second_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    return code_of(c) % 10;
}

/* The check digit for letter + second + seven digits (n2..n8). */
static int check_digit(char letter, char second, const char *seven)
{
    int code = code_of(letter);
    int t = code / 10, u = code % 10, s = second_value(second);
    int sum = t * 1 + u * 9 + s * 8;
    int w, i;

    for (i = 0, w = 7; i < 7; i++, w--) {
        sum += (seven[i] - '0') * w;
    }
    /* sum + c == 0 (mod 10) */
    return (10 - sum % 10) % 10;
}

/* Build a valid ID into out (11 bytes). */
static void make_id(char out[11], char letter, char second, const char *seven)
{
    out[0] = letter;
    out[1] = second;
    memcpy(out + 2, seven, 7);
    out[9] = (char)('0' + check_digit(letter, second, seven));
    out[10] = '\0';
}

static unsigned long rng = 20261120UL;

static unsigned next_rand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng >> 33);
}

static void rand_seven(char seven[8])
{
    int i;

    for (i = 0; i < 7; i++) {
        seven[i] = (char)('0' + next_rand() % 10);
    }
    seven[7] = '\0';
}

static void lower_str(char *s)
{
    for (; *s; s++) {
        if (*s >= 'A' && *s <= 'Z') {
            *s = (char)(*s - 'A' + 'a');
        }
    }
}

static const char *kind_name(verify_id_kind_t k)
{
    switch (k) {
    case VERIFY_ID_KIND_NONE: return "none";
    case VERIFY_ID_KIND_CITIZEN: return "citizen";
    case VERIFY_ID_KIND_RESIDENT: return "resident";
    case VERIFY_ID_KIND_RESIDENT_OLD: return "resident_old";
    }
    return "?";
}

static int st_of(const char *in, size_t len, char out[11],
                 verify_id_kind_t *kind)
{
    return (int)verify_id_normalise(in, len, out, kind);
}

/* One valid ID: accepted as is and in lower case, right kind, and each
 * of the nine wrong check digits refused. */
static void check_valid(const char *id, verify_id_kind_t want_kind)
{
    char out[VERIFY_ID_LEN + 1], low[11], bad[11];
    verify_id_kind_t kind = VERIFY_ID_KIND_NONE;
    int st, d, wrong_ok = 0;
    char right = id[9];

    st = st_of(id, 10, out, &kind);
    is_int(st, VERIFY_ID_OK, "%s valid", id);
    is_str(out, id, "%s normalised unchanged", id);
    is_str(kind_name(kind), kind_name(want_kind), "%s kind", id);

    strcpy(low, id);
    lower_str(low);
    kind = VERIFY_ID_KIND_NONE;
    st = st_of(low, 10, out, &kind);
    ok(st == VERIFY_ID_OK && strcmp(out, id) == 0 && kind == want_kind,
       "%s (lower case) valid, normalised to %s", low, id);

    for (d = 0; d < 10; d++) {
        if ('0' + d == right) {
            continue;
        }
        strcpy(bad, id);
        bad[9] = (char)('0' + d);
        kind = VERIFY_ID_KIND_CITIZEN;
        st = st_of(bad, 10, out, &kind);
        if (st == VERIFY_ID_CHECKSUM && out[0] == '\0'
            && kind == VERIFY_ID_KIND_NONE) {
            wrong_ok++;
        }
        else {
            diag("%s: status %d out '%s' kind %d", bad, st, out, (int)kind);
        }
    }
    is_int(wrong_ok, 9, "%s: all 9 wrong check digits refused (checksum)",
           id);
}

static void test_every_letter(void)
{
    static const char citizen[] = "12", resident[] = "89", old[] = "ABCD";
    char id[11], seven[8];
    char letter;
    int i, rep;

    for (letter = 'A'; letter <= 'Z'; letter++) {
        for (i = 0; citizen[i]; i++) {
            for (rep = 0; rep < 2; rep++) {
                rand_seven(seven);
                make_id(id, letter, citizen[i], seven);
                check_valid(id, VERIFY_ID_KIND_CITIZEN);
            }
        }
        for (i = 0; resident[i]; i++) {
            rand_seven(seven);
            make_id(id, letter, resident[i], seven);
            check_valid(id, VERIFY_ID_KIND_RESIDENT);
        }
        for (i = 0; old[i]; i++) {
            rand_seven(seven);
            make_id(id, letter, old[i], seven);
            check_valid(id, VERIFY_ID_KIND_RESIDENT_OLD);
        }
    }
}

/* Every check digit value 0-9 occurs for some valid ID of every letter
 * (makes sure the digit arithmetic is exercised, not just common cases). */
static void test_all_check_values(void)
{
    char letter, id[11], seven[8], out[11];
    int n;

    for (letter = 'A'; letter <= 'Z'; letter++) {
        int seen = 0, good = 0;
        for (n = 0; n < 10; n++) {
            /* n2..n8 = 000000n varies the check digit through all 10 */
            memcpy(seven, "000000", 6);
            seven[6] = (char)('0' + n);
            seven[7] = '\0';
            make_id(id, letter, '1', seven);
            seen |= 1 << (id[9] - '0');
            if (st_of(id, 10, out, NULL) == VERIFY_ID_OK) {
                good++;
            }
            else {
                diag("%s refused", id);
            }
        }
        ok(seen == 0x3ff && good == 10,
           "letter %c: IDs with each check digit 0-9 all valid", letter);
    }
}

static void test_known(void)
{
    char out[11];
    verify_id_kind_t kind;

    /* widely published example numbers */
    is_int(st_of("A123456789", 10, out, &kind), VERIFY_ID_OK,
           "A123456789 valid");
    is_int(kind, VERIFY_ID_KIND_CITIZEN, "A123456789 is a citizen ID");
    is_int(st_of("A223456781", 10, out, &kind), VERIFY_ID_OK,
           "A223456781 valid (second char 2)");
    is_int(st_of("A800000014", 10, out, &kind), VERIFY_ID_OK,
           "A800000014 valid (new resident certificate)");
    is_int(kind, VERIFY_ID_KIND_RESIDENT, "A800000014 is a resident number");
    is_int(st_of("AA00000009", 10, out, &kind), VERIFY_ID_OK,
           "AA00000009 valid (old resident certificate)");
    is_int(kind, VERIFY_ID_KIND_RESIDENT_OLD, "AA00000009 is old resident");
    is_int(st_of("A123456788", 10, out, &kind), VERIFY_ID_CHECKSUM,
           "A123456788 check digit mismatch");
    is_int(st_of("a123456789", 10, out, &kind), VERIFY_ID_OK,
           "a123456789 valid");
    is_str(out, "A123456789", "a123456789 normalised to A123456789");
    is_int(st_of("aa00000009", 10, out, &kind), VERIFY_ID_OK,
           "aa00000009 valid");
    is_str(out, "AA00000009", "aa00000009 normalised to AA00000009");
    is_int(st_of("Ab00000001", 10, out, &kind), VERIFY_ID_OK,
           "Ab00000001 valid (second letter B, lower case)");
    is_str(out, "AB00000001", "Ab00000001 normalised");
    /* input not NUL-terminated at 10: only len bytes count */
    is_int(st_of("A123456789XYZ", 10, out, &kind), VERIFY_ID_OK,
           "only the first len bytes are read");
    is_str(out, "A123456789", "normalised copy is NUL-terminated");
}

static void test_faults(void)
{
    static const char bad_second[] = "0345673EZez";
    char out[11], id[11], seven[8];
    verify_id_kind_t kind;
    int i, pos;

    kind = VERIFY_ID_KIND_CITIZEN;
    strcpy(out, "junk");
    is_int(st_of("", 0, out, &kind), VERIFY_ID_EMPTY, "empty string: empty");
    ok(out[0] == '\0' && kind == VERIFY_ID_KIND_NONE,
       "empty: out cleared, kind none");
    is_int(st_of(NULL, 0, out, NULL), VERIFY_ID_EMPTY, "NULL: empty");
    is_int(st_of("A12345678", 9, out, &kind), VERIFY_ID_LENGTH,
           "9 characters: length");
    is_int(st_of("A1234567890", 11, out, &kind), VERIFY_ID_LENGTH,
           "11 characters: length");
    is_int(st_of("A", 1, out, &kind), VERIFY_ID_LENGTH, "1 character: length");
    is_int(st_of("A123456789A123456789", 20, out, &kind), VERIFY_ID_LENGTH,
           "20 characters: length");
    is_int(st_of(" A123456789", 11, out, &kind), VERIFY_ID_LENGTH,
           "leading space (11 bytes): length");

    /* first character not a letter */
    {
        static const char *firsts[] = {
            "1123456789", "0123456789", "@123456789", "[123456789",
            "`123456789", "{123456789", " 123456789", "-123456789",
            ("\xc3\x81" "23456789")
        };
        for (i = 0; i < (int)(sizeof(firsts) / sizeof(firsts[0])); i++) {
            kind = VERIFY_ID_KIND_CITIZEN;
            is_int(st_of(firsts[i], 10, out, &kind), VERIFY_ID_LETTER,
                   "first char 0x%02x: letter", (unsigned char)firsts[i][0]);
        }
        ok(out[0] == '\0' && kind == VERIFY_ID_KIND_NONE,
           "letter fault: out cleared, kind none");
    }

    /* second character fitting no kind */
    for (i = 0; bad_second[i]; i++) {
        rand_seven(seven);
        id[0] = 'A';
        id[1] = bad_second[i];
        memcpy(id + 2, seven, 7);
        id[9] = '0';
        id[10] = '\0';
        {
            int d, all = 1;
            for (d = 0; d < 10; d++) {     /* whatever the check digit */
                id[9] = (char)('0' + d);
                if (st_of(id, 10, out, &kind) != VERIFY_ID_KIND) {
                    all = 0;
                    diag("%s: status %d", id, st_of(id, 10, out, &kind));
                }
            }
            ok(all, "second char '%c' fits no kind (any check digit)",
               bad_second[i]);
        }
    }
    is_int(st_of("AE00000000", 10, out, &kind), VERIFY_ID_KIND,
           "AE00000000: second letter E is no kind");
    is_int(st_of("A-23456789", 10, out, &kind), VERIFY_ID_KIND,
           "A-23456789: '-' is no kind");

    /* non-digit in positions 3-10 (indices 2..9), for each kind */
    {
        static const char seconds[] = "18C";
        static const char nondigits[] = "Aa /:-x";
        int s;
        for (s = 0; seconds[s]; s++) {
            rand_seven(seven);
            make_id(id, 'K', seconds[s], seven);
            for (pos = 2; pos < 10; pos++) {
                int all = 1, j;
                char bad[11];
                for (j = 0; nondigits[j]; j++) {
                    strcpy(bad, id);
                    bad[pos] = nondigits[j];
                    if (st_of(bad, 10, out, &kind) != VERIFY_ID_DIGITS
                        || out[0] != '\0') {
                        all = 0;
                        diag("%s: status %d", bad, st_of(bad, 10, out, &kind));
                    }
                }
                strcpy(bad, id);
                bad[pos] = '\xff';
                if (st_of(bad, 10, out, &kind) != VERIFY_ID_DIGITS) {
                    all = 0;
                    diag("%s with 0xff at %d refused otherwise", id, pos + 1);
                }
                ok(all, "%s with a non-digit at position %d: digits", id,
                   pos + 1);
            }
        }
    }
    /* an embedded NUL is a non-digit, not the end of the string */
    is_int(st_of("A12345\0" "789", 10, out, &kind), VERIFY_ID_DIGITS,
           "embedded NUL: digits");

    /* wrong check digit in every position of the sum: change one digit */
    {
        char bad[11];
        int d, all = 1;
        strcpy(id, "A123456789");
        for (pos = 2; pos < 9; pos++) {
            for (d = 0; d < 10; d++) {
                strcpy(bad, id);
                if (bad[pos] == '0' + d) {
                    continue;
                }
                bad[pos] = (char)('0' + d);
                /* some changes keep the sum (weight 5, even weights):
                 * compute independently whether it still checks */
                {
                    char s7[8];
                    int want;
                    memcpy(s7, bad + 2, 7);
                    s7[7] = '\0';
                    want = check_digit('A', '1', s7) == bad[9] - '0'
                           ? VERIFY_ID_OK : VERIFY_ID_CHECKSUM;
                    if (st_of(bad, 10, out, &kind) != want) {
                        all = 0;
                        diag("%s: status %d, expected %d", bad,
                             st_of(bad, 10, out, &kind), want);
                    }
                }
            }
        }
        ok(all, "A123456789 with any single digit changed: status agrees "
           "with the independent check");
    }

    /* strerror */
    {
        int s, distinct = 1, j;
        const char *msgs[7];
        for (s = VERIFY_ID_OK; s <= VERIFY_ID_CHECKSUM; s++) {
            msgs[s] = verify_id_strerror((verify_id_status_t)s);
            if (msgs[s] == NULL || msgs[s][0] == '\0') {
                distinct = 0;
            }
            for (j = 0; distinct && j < s; j++) {
                if (strcmp(msgs[j], msgs[s]) == 0) {
                    distinct = 0;
                }
            }
        }
        ok(distinct, "verify_id_strerror: a distinct phrase per status");
        is_str(verify_id_strerror(VERIFY_ID_CHECKSUM), "check digit mismatch",
               "strerror(CHECKSUM)");
    }
}

static void test_mask(void)
{
    char out[VERIFY_ID_LEN + 1];

    verify_id_mask("A123456789", 10, out);
    is_str(out, "A12*****89", "mask A123456789");
    verify_id_mask("a123456789", 10, out);
    is_str(out, "A12*****89", "mask a123456789 (upper-cased)");
    verify_id_mask("AA00000009", 10, out);
    is_str(out, "AA0*****09", "mask AA00000009");
    verify_id_mask("A123456788", 10, out);
    is_str(out, "A12*****88", "mask of an invalid but well-formed number");
    verify_id_mask("A123456789XYZ", 10, out);
    is_str(out, "A12*****89", "mask reads only len bytes");
    verify_id_mask("A12345678", 9, out);
    is_str(out, "*", "mask: 9 characters gives *");
    verify_id_mask("A1234567890", 11, out);
    is_str(out, "*", "mask: 11 characters gives *");
    verify_id_mask("", 0, out);
    is_str(out, "*", "mask: empty gives *");
    verify_id_mask(NULL, 10, out);
    is_str(out, "*", "mask: NULL gives *");
    verify_id_mask("A1234-6789", 10, out);
    is_str(out, "*", "mask: '-' gives *");
    verify_id_mask("A1234 6789", 10, out);
    is_str(out, "*", "mask: space gives *");
    verify_id_mask("A12345678\n", 10, out);
    is_str(out, "*", "mask: newline gives *");
    verify_id_mask("A12\0" "456789", 10, out);
    is_str(out, "*", "mask: NUL gives *");
    verify_id_mask("\xe7\x8e\x8b" "1234567", 10, out);
    is_str(out, "*", "mask: UTF-8 bytes give *");
    verify_id_mask("A12345678\xff", 10, out);
    is_str(out, "*", "mask: 0xff gives *");
    verify_id_mask("\"<script>\"", 10, out);
    is_str(out, "*", "mask: markup gives *");
}

int main(void)
{
    test_every_letter();
    test_all_check_values();
    test_known();
    test_faults();
    test_mask();
    return done_testing();
}
