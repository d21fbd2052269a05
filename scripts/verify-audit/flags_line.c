/*
 * flags_line.c -- what the anomaly flags (verify_flags.c) read of a
 * query line, and their thresholds file: one reading for `sample` and
 * `report`, so that the sheet flags exactly the lines the sample adds.
 */
#include <stdio.h>
#include <string.h>
#include "print.h"
#include "flags_line.h"

/* Bytes of a thresholds file read at most. */
#define FLAGS_FILE_MAX 65536

/* The string member @p key (unescaped into @p buf past *used when it
 * holds escapes), or NULL. */
static const char *member(const verify_flat_t *f, const char *key,
                          char *buf, size_t *used, size_t *len)
{
    const char *s = verify_flat_str(f, key, buf + *used,
                                    VERIFY_AUDIT_LINE_MAX - *used, len);

    if (s == buf + *used) {
        *used += *len;
    }
    return s;
}

int flags_found_nobody(const verify_flat_t *f)
{
    const verify_flat_member_t *r = verify_flat_get(f, "results");
    const char *s, *end;

    if (!r || r->type != VERIFY_FLAT_OBJECT || r->val.len < 3) {
        return 0;
    }
    end = r->val.s + r->val.len;
    for (s = r->val.s; (s = memchr(s, ':', (size_t)(end - s))); s++) {
        if (end - s >= 5 && !memcmp(s, ":true", 5)) {
            return 0;
        }
    }
    return 1;
}

void flags_query_read(const verify_flat_t *f, uint64_t seq, char *buf,
                      verify_flags_query_t *fq)
{
    const char *err;
    size_t used = 0, elen;
    int64_t st;

    memset(fq, 0, sizeof(*fq));
    fq->seq = seq;
    fq->ts = member(f, "ts", buf, &used, &fq->ts_len);
    fq->client = member(f, "client", buf, &used, &fq->client_len);
    fq->operator_ = member(f, "operator", buf, &used, &fq->operator_len);
    fq->subject_tag = member(f, "subject_tag", buf, &used, &fq->tag_len);
    fq->reason = member(f, "reason", buf, &used, &fq->reason_len);
    fq->status = verify_flat_int(f, "status", &st) == 0 && st > 0
                 && st < 1000 ? (int)st : 0;
    err = member(f, "error", buf, &used, &elen);
    fq->not_found = (err && elen == 9 && !memcmp(err, "not_found", 9))
                    || (fq->status == 200 && flags_found_nobody(f));
    fq->identity_match = verify_flat_bool(f, "identity_match");
}

int flags_conf_load(const audit_args_t *a, verify_flags_conf_t *fc,
                    apr_pool_t *p)
{
    const char *why;
    char *text, *err = NULL;
    size_t len;

    verify_flags_conf_default(fc);
    if (!a->flags) {
        return 0;
    }
    why = read_small(a->flags, FLAGS_FILE_MAX, &text, &len, p);
    if (why) {
        fprintf(stderr, PROG ": --flags: %s\n", safe_str(p, why));
        return 2;
    }
    if (verify_flags_conf_parse(fc, text, len, &err, p) != APR_SUCCESS) {
        fprintf(stderr, PROG ": --flags %s: %s\n", safe_str(p, a->flags),
                safe_str(p, err));
        return 2;
    }
    return 0;
}
