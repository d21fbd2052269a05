/*
 * verify_id.c -- national ID and resident-certificate numbers.
 *
 * The Ministry of the Interior's check: the leading letter becomes a
 * two-digit code; with weights 1,9 for its digits, 8..1 for the next
 * eight characters and 1 for the check digit, the sum is a multiple of
 * ten. Old resident certificates carry a second letter whose code's
 * units digit stands in for the second character.
 */
#include <string.h>
#include "verify_id.h"

/* Letter codes A..Z, as the Ministry assigns them (I, O, W..Z out of
 * alphabetical order because they were added later). */
static const unsigned char letter_code[26] = {
    10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21,
    22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33
};

static int upper(int c)
{
    return (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
}

static int is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

verify_id_status_t verify_id_normalise(const char *in, size_t len,
                                       char out[VERIFY_ID_LEN + 1],
                                       verify_id_kind_t *kind)
{
    char id[VERIFY_ID_LEN + 1];
    verify_id_kind_t k;
    unsigned code, second, sum;
    size_t i;

    out[0] = '\0';
    if (kind) {
        *kind = VERIFY_ID_KIND_NONE;
    }
    if (in == NULL || len == 0) {
        return VERIFY_ID_EMPTY;
    }
    if (len != VERIFY_ID_LEN) {
        return VERIFY_ID_LENGTH;
    }
    for (i = 0; i < VERIFY_ID_LEN; i++) {
        id[i] = (char)upper((unsigned char)in[i]);
    }
    id[VERIFY_ID_LEN] = '\0';

    if (!is_upper(id[0])) {
        return VERIFY_ID_LETTER;
    }
    if (id[1] == '1' || id[1] == '2') {
        k = VERIFY_ID_KIND_CITIZEN;
        second = (unsigned)(id[1] - '0');
    }
    else if (id[1] == '8' || id[1] == '9') {
        k = VERIFY_ID_KIND_RESIDENT;
        second = (unsigned)(id[1] - '0');
    }
    else if (id[1] >= 'A' && id[1] <= 'D') {
        k = VERIFY_ID_KIND_RESIDENT_OLD;
        second = letter_code[id[1] - 'A'] % 10;
    }
    else {
        return VERIFY_ID_KIND;
    }
    for (i = 2; i < VERIFY_ID_LEN; i++) {
        if (!is_digit(id[i])) {
            return VERIFY_ID_DIGITS;
        }
    }

    code = letter_code[id[0] - 'A'];
    sum = (code / 10) + (code % 10) * 9 + second * 8;
    for (i = 2; i < 9; i++) {
        sum += (unsigned)(id[i] - '0') * (unsigned)(9 - i);
    }
    sum += (unsigned)(id[9] - '0');
    if (sum % 10 != 0) {
        return VERIFY_ID_CHECKSUM;
    }
    memcpy(out, id, sizeof(id));
    if (kind) {
        *kind = k;
    }
    return VERIFY_ID_OK;
}

const char *verify_id_strerror(verify_id_status_t st)
{
    switch (st) {
    case VERIFY_ID_OK:       return "valid";
    case VERIFY_ID_EMPTY:    return "empty ID";
    case VERIFY_ID_LENGTH:   return "ID must be 10 characters";
    case VERIFY_ID_LETTER:   return "ID must start with a letter";
    case VERIFY_ID_KIND:     return "second character fits no kind of ID";
    case VERIFY_ID_DIGITS:   return "characters 3 to 10 must be digits";
    case VERIFY_ID_CHECKSUM: return "check digit mismatch";
    }
    return "invalid ID";
}

void verify_id_mask(const char *in, size_t len, char out[VERIFY_ID_LEN + 1])
{
    size_t i;

    if (in == NULL || len != VERIFY_ID_LEN) {
        strcpy(out, "*");
        return;
    }
    for (i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (!is_digit(c) && !is_upper(upper(c))) {
            strcpy(out, "*");
            return;
        }
        out[i] = (i >= 3 && i < 8) ? '*' : (char)upper(c);
    }
    out[VERIFY_ID_LEN] = '\0';
}
