/*
 * verify_record.c -- the record and batch-metadata codec: small
 * versioned byte strings in a fixed big-endian layout, so a store file
 * means the same thing on any host that reads it.
 */
#include <string.h>
#include "verify_record.h"
#include "verify_time.h"

#define META_VERSION 3
#define META_V1_LEN 85          /* v1 (no key check) is still read */
#define META_V2_LEN 101         /* v2 (no signing time, no flags) too */

static const char *const source_names[VERIFY_SRC_COUNT] = {
    "household", "elderly_alone", "disability"
};

const char *verify_source_name(verify_source_t src)
{
    return (unsigned)src < VERIFY_SRC_COUNT ? source_names[src] : "?";
}

int verify_source_from_name(const char *name)
{
    int i;

    for (i = 0; i < VERIFY_SRC_COUNT; i++) {
        if (strcmp(name, source_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16
           | (uint32_t)p[2] << 8 | p[3];
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

size_t verify_record_encode(verify_source_t src, const verify_record_t *rec,
                            unsigned char out[VERIFY_RECORD_MAX])
{
    out[0] = VERIFY_RECORD_VERSION;
    switch (src) {
    case VERIFY_SRC_HOUSEHOLD:
        /* format 2: the romanised name's tag follows when there is one */
        out[0] = VERIFY_RECORD_HOUSEHOLD_VERSION;
        out[1] = rec->indigenous;
        put32(out + 2, rec->birth);
        memcpy(out + 6, rec->name_tag, VERIFY_NAME_TAG_LEN);
        if (!rec->has_romanised) {
            return 6 + VERIFY_NAME_TAG_LEN;
        }
        memcpy(out + 6 + VERIFY_NAME_TAG_LEN, rec->romanised_tag,
               VERIFY_NAME_TAG_LEN);
        return 6 + 2 * VERIFY_NAME_TAG_LEN;
    case VERIFY_SRC_ELDERLY_ALONE:
        put32(out + 1, rec->valid_until);
        return 5;
    case VERIFY_SRC_DISABILITY:
        out[1] = rec->level;
        put32(out + 2, rec->valid_until);
        return 6;
    default:
        return 0;
    }
}

int verify_record_decode(verify_source_t src, const void *data, size_t len,
                         verify_record_t *rec)
{
    const unsigned char *p = data;

    memset(rec, 0, sizeof(*rec));
    if (src == VERIFY_SRC_HOUSEHOLD) {
        /* format 1 (old normal form) or 2 (with a romanised name) */
        if (len < 1 || p[0] < 1 || p[0] > VERIFY_RECORD_HOUSEHOLD_VERSION
            || !(len == 6 + VERIFY_NAME_TAG_LEN
                 || (p[0] >= 2 && len == 6 + 2 * VERIFY_NAME_TAG_LEN))) {
            return -1;
        }
        rec->name_form = p[0];
        rec->indigenous = p[1];
        rec->birth = get32(p + 2);
        memcpy(rec->name_tag, p + 6, VERIFY_NAME_TAG_LEN);
        if (len == 6 + 2 * VERIFY_NAME_TAG_LEN) {
            rec->has_romanised = 1;
            memcpy(rec->romanised_tag, p + 6 + VERIFY_NAME_TAG_LEN,
                   VERIFY_NAME_TAG_LEN);
        }
        return 0;
    }
    if (len < 1 || p[0] != VERIFY_RECORD_VERSION) {
        return -1;
    }
    switch (src) {
    case VERIFY_SRC_ELDERLY_ALONE:
        if (len != 5) {
            return -1;
        }
        rec->valid_until = get32(p + 1);
        return 0;
    case VERIFY_SRC_DISABILITY:
        if (len != 6) {
            return -1;
        }
        rec->level = p[1];
        rec->valid_until = get32(p + 2);
        return 0;
    default:
        return -1;
    }
}

void verify_batch_encode(const verify_batch_t *b,
                         unsigned char out[VERIFY_BATCH_META_LEN])
{
    out[0] = META_VERSION;
    put64(out + 1, b->records);
    put64(out + 9, (uint64_t)b->imported_at);
    put32(out + 17, b->approved_until);
    memcpy(out + 21, b->sha256, 32);
    memcpy(out + 53, b->batch_id, 32);
    memcpy(out + 85, b->key_check, VERIFY_KEY_CHECK_LEN);
    put64(out + 101, (uint64_t)b->signed_at);
    out[109] = (unsigned char)b->flags;
}

int verify_batch_decode(const void *data, size_t len, verify_batch_t *b)
{
    const unsigned char *p = data;

    if (!((len == VERIFY_BATCH_META_LEN && p[0] == META_VERSION)
          || (len == META_V2_LEN && p[0] == 2)
          || (len == META_V1_LEN && p[0] == 1))) {
        return -1;
    }
    b->records = get64(p + 1);
    b->imported_at = (apr_time_t)get64(p + 9);
    b->approved_until = get32(p + 17);
    memcpy(b->sha256, p + 21, 32);
    memcpy(b->batch_id, p + 53, 32);
    b->batch_id[32] = '\0';
    b->have_key_check = p[0] >= 2;
    if (b->have_key_check) {
        memcpy(b->key_check, p + 85, VERIFY_KEY_CHECK_LEN);
    }
    b->signed_at = 0;
    b->flags = 0;
    if (p[0] >= 3) {
        b->signed_at = (apr_time_t)get64(p + 101);
        b->flags = p[109];
    }
    verify_time_format_s(b->imported_at, b->as_of);
    return 0;
}

