/*
 * gen-household-fast.c -- a synthetic household batch at national scale
 * (tens of millions of rows in seconds), for `make bench` and the scale
 * test. The same columns and value forms as gen-household.py, which
 * stays the reference generator (and the Python copy of the ID rules);
 * nobody in it is real.
 *
 *   gen-household-fast COUNT SEED [--romanised] > household.csv
 *
 * Every ID is valid and unique: row i is the i-th number of a fixed
 * bijection of 0..520,000,000 (letter, sex digit, seven digits), so the
 * IDs look random but never repeat. With --romanised a fifth column
 * `romanised` holds a romanised indigenous name for some rows.
 * Writes the IDs of rows 0, COUNT/2 and COUNT-1 on stderr (for a test
 * that looks them up).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static const char letters[] = "ABCDEFGHJKLMNPQRSTUVXYWZIO";
/* the area codes of the letters above, in order */
static const int codes[] = { 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                             21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                             32, 33, 34, 35 };

static const char *const surnames[] = {
    "陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "許", "鄭",
    "謝", "郭", "洪", "曾", "邱", "廖", "賴", "周", "徐", "蘇", "葉", "莊",
};
static const char *const given[] = {
    "志", "明", "家", "豪", "俊", "傑", "建", "宏", "冠", "宇", "承", "恩",
    "美", "玲", "淑", "芬", "雅", "婷", "怡", "君", "佳", "穎", "欣", "涵",
};
static const char *const romanised[] = {
    "Walis Nokan", "Pilin Yapu", "Yukan Tatao", "Istanda Paingav",
    "Panay Mulu", "Lawa Kuling", "Ado Pacidal", "Sayun Sigan",
};

static uint64_t state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The @p i-th ID (i < 520,000,000) into @p out (10 characters). */
static void make_id(uint64_t i, char *out)
{
    /* 7-digit part permuted by a multiplier coprime to 10^7 */
    uint64_t body = (i % 10000000ULL) * 7654321ULL % 10000000ULL;
    uint64_t rest = i / 10000000ULL;          /* 0..51 */
    int letter = (int)(rest / 2), sex = (int)(rest % 2) + 1;
    int code = codes[letter], s, k;
    char d[8];

    snprintf(d, sizeof(d), "%07llu", (unsigned long long)body);
    out[0] = letters[letter];
    out[1] = (char)('0' + sex);
    memcpy(out + 2, d, 7);
    s = code / 10 + (code % 10) * 9 + sex * 8;
    for (k = 0; k < 7; k++) {
        s += (7 - k) * (d[k] - '0');
    }
    out[9] = (char)('0' + (10 - s % 10) % 10);
}

int main(int argc, char **argv)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                 30, 31 };
    unsigned long long count, i;
    int with_rom;
    char id[11];

    if (argc < 3 || argc > 4
        || (argc == 4 && strcmp(argv[3], "--romanised") != 0)) {
        fprintf(stderr, "usage: gen-household-fast COUNT SEED "
                "[--romanised] > FILE\n");
        return 2;
    }
    count = strtoull(argv[1], NULL, 10);
    state = strtoull(argv[2], NULL, 10) * 0x2545f4914f6cdd1dULL + 1;
    with_rom = argc == 4;
    if (count == 0 || count > 520000000ULL) {
        fprintf(stderr, "gen-household-fast: COUNT 1..520000000\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOFBF, 1 << 20);
    fputs(with_rom ? "id,name,birth_date,indigenous,romanised\n"
                   : "id,name,birth_date,indigenous\n", stdout);
    id[10] = '\0';
    for (i = 0; i < count; i++) {
        uint64_t r = rnd();
        int month = (int)(r % 12), year = 1920 + (int)((r >> 8) % 105);
        int day = 1 + (int)((r >> 16) % (unsigned)mdays[month]);
        int ind = (int)((r >> 24) % 10);   /* 0: mountain, 1: plain */
        const char *ind_s = ind == 0 ? "mountain" : ind == 1 ? "plain" : "";

        make_id(i, id);
        printf("%s,%s%s%s,%04d-%02d-%02d,%s", id,
               surnames[(r >> 32) % 24], given[(r >> 40) % 24],
               given[(r >> 48) % 24], year, month + 1, day, ind_s);
        if (with_rom) {
            printf(",%s", ind < 2 && ((r >> 56) & 1)
                          ? romanised[(r >> 57) % 8] : "");
        }
        putchar('\n');
        if (i == 0 || i == count / 2 || i == count - 1) {
            fprintf(stderr, "%s\n", id);
        }
    }
    return fflush(stdout) != 0;
}
