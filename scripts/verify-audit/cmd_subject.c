/*
 * cmd_subject.c -- every audit line about one person (R4.2.5, R5.5): the
 * lines whose subject_tag is the tag of the ID under the key file. The
 * ID itself is never shown, only its mask.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

typedef struct subj_t {
    char tag[65];
    char mask[VERIFY_ID_LEN + 1];
    apr_array_header_t *lines;  /* const char * (raw line) */
    apr_array_header_t *lens;   /* size_t */
    uint64_t untagged;          /* same mask, no tag (an invalid ID) */
} subj_t;

static int subject_line(verify_scan_t *s, const char *line, size_t len,
                        json_t *j, int bad, int fi, apr_off_t off)
{
    subj_t *x = s->ctx;
    const char *tag = jstr(j, "subject_tag"), *subj = jstr(j, "subject");

    if (tag && !strcmp(tag, x->tag)) {
        APR_ARRAY_PUSH(x->lines, const char *) = apr_pstrmemdup(s->p, line,
                                                                len);
        APR_ARRAY_PUSH(x->lens, size_t) = len;
    }
    else if (is_query(j) && !tag && subj && !strcmp(subj, x->mask)) {
        x->untagged++;
    }
    return 0;
}

/* The tag and mask of the ID (already checked) under the key file: the
 * subject key subject-key exports, or the master key file itself.
 * @return 0, or 1 when the keys cannot be read. */
static int subject_of(subj_t *x, const char *id, const char *key_file,
                      apr_pool_t *p)
{
    char norm[VERIFY_ID_LEN + 1];
    unsigned char tag[VERIFY_TAG_LEN];
    verify_keys_t *keys;
    apr_status_t rv;
    char *err = NULL;
    int subject_only;

    rv = verify_keys_load_subject(&keys, key_file, &subject_only, &err, p);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, PROG ": --key: %s\n",
                safe_str(p, err ? err : key_file));
        return 1;
    }
    verify_id_normalise(id, strlen(id), norm, NULL);
    verify_keys_tag(keys, VERIFY_KEY_SUBJECT, norm, VERIFY_ID_LEN, tag);
    verify_hex(tag, VERIFY_TAG_LEN, x->tag);
    verify_id_mask(norm, VERIFY_ID_LEN, x->mask);
    memset(norm, 0, sizeof(norm));
    return 0;
}

/* --json: a header line, then the lines as they stand. */
static int print_json(const subj_t *x, const verify_scan_t *s,
                      apr_pool_t *p)
{
    char hex[65], *d;
    json_t *h;
    int i;

    verify_hex(s->chain.hash, 32, hex);
    h = json_pack("{s:s,s:s,s:s,s:I,s:I,s:{s:b,s:I,s:I,s:s}}",
                  "tool", PROG " subject", "subject", x->mask,
                  "subject_tag", x->tag,
                  "lines", (json_int_t)x->lines->nelts,
                  "untagged_same_mask", (json_int_t)x->untagged,
                  "chain", "intact", 1,
                  "first_seq", (json_int_t)s->first_seq,
                  "last_seq", (json_int_t)s->chain.seq,
                  "head", s->lines ? hex : "");
    d = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!d) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    json_line(d, strlen(d), p);
    free(d);
    for (i = 0; i < x->lines->nelts; i++) {
        json_line(APR_ARRAY_IDX(x->lines, i, const char *),
                  APR_ARRAY_IDX(x->lens, i, size_t), p);
    }
    return write_failed();
}

/* The lines found as a table. */
static void print_table(const subj_t *x, apr_pool_t *p)
{
    static const char *const head[] = {
        "seq", "time", QUERY_HEAD, "status"
    };
    static const int maxw[] = { 0, 0, QUERY_MAXW, 32 };
    json_error_t jerr;
    table_t t;
    int i;

    table_init(&t, 9, head, maxw, p);
    for (i = 0; i < x->lines->nelts; i++) {
        const char *raw[9], *op;
        size_t rlen[9];
        json_t *j = json_loadb(APR_ARRAY_IDX(x->lines, i, const char *),
                               APR_ARRAY_IDX(x->lens, i, size_t),
                               VERIFY_SCAN_JSON_FLAGS, &jerr);
        raw[0] = member_text(j, "seq", &rlen[0], p);
        raw[1] = line_ts(j, p);
        rlen[1] = (size_t)-1;
        query_cells(j, raw + 2, rlen + 2, p);
        rlen[8] = (size_t)-1;
        op = jstr(j, "op");
        raw[8] = is_query(j) ? status_text(j, p)
                 : apr_pstrcat(p, "op ", op ? op : "?", NULL);
        table_add(&t, raw, rlen);
        json_decref(j);
    }
    table_print(&t, TABLE_CUT_NOTE);
}

int cmd_subject(const audit_args_t *a, apr_pool_t *p)
{
    verify_scan_t s;
    subj_t x;

    memset(&x, 0, sizeof(x));
    if (subject_of(&x, a->id, a->key, p) != 0) {
        return 1;
    }
    x.lines = apr_array_make(p, 16, sizeof(const char *));
    x.lens = apr_array_make(p, 16, sizeof(size_t));
    scan_init(&s, a, subject_line, &x, p);
    if (scan_intact(&s, "subject") != 0) {
        return 1;
    }
    if (a->as_json) {
        return print_json(&x, &s, p);
    }
    printf("Every audit line about one person (R4.2.5, R5.5)\n");
    printf("subject:      %s (masked)\n", x.mask);
    printf("subject_tag:  %s\n", x.tag);
    chain_header(&s, p);
    printf("lines:        %d\n", x.lines->nelts);
    if (x.untagged) {
        printf("note:         %" APR_UINT64_T_FMT " quer%s with the same "
               "mask but no subject_tag (an invalid ID, perhaps a typo): "
               "not listed; review them by hand (grep -F '\"subject\":\"%s"
               "\"'): the mask also matches other people\n", x.untagged,
               x.untagged == 1 ? "y" : "ies", x.mask);
    }
    if (x.lines->nelts == 0) {
        printf("\nNo line carries this subject_tag (check the key file: "
               "lines written under another key carry other tags).\n");
        return write_failed();
    }
    putchar('\n');
    print_table(&x, p);
    return write_failed();
}
