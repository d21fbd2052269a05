/*
 * review_age.c -- R3.8 wants the whitelist reviewed at least every six
 * months: every command says on stderr (a warning, never a failure)
 * when the records log holds no review (`ip-review --record`) of the
 * last REVIEW_MONTHS months, or cannot tell.
 */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* The newest ip_review record, read quietly; NULL with *why set when
 * the log cannot be read. */
static json_t *last_review(const char *dir, const char **why, apr_pool_t *p)
{
    records_t r;
    json_t *last = NULL;
    int i;

    if (records_load(&r, dir, NULL, p) != 0) {
        *why = r.why;
        return NULL;
    }
    for (i = 0; i < r.lines->nelts; i++) {
        json_t *o = APR_ARRAY_IDX(r.lines, i, json_t *);
        const char *op = rec_str(o, "op");
        if (op && !strcmp(op, "ip_review") && rec_str(o, "ts")) {
            last = o;
        }
    }
    *why = NULL;
    return last;
}

void review_age_warn(const audit_args_t *a, apr_pool_t *p)
{
    const char *dir = records_dir(a), *why = NULL, *ts;
    json_t *last = last_review(dir, &why, p);
    verify_date_t today = verify_date_taipei(apr_time_now()), d;
    char limit[11];

    verify_date_format(verify_date_months_before(today, REVIEW_MONTHS),
                       limit);
    if (why) {
        fprintf(stderr, PROG ": warning: the records log in %s: %s, so the "
                "date of the last whitelist review (R3.8) is unknown\n",
                safe_str(p, dir), safe_str(p, why));
        return;
    }
    if (!last) {
        fprintf(stderr, PROG ": warning: no whitelist review (R3.8) is "
                "recorded in %s: review it with `" PROG " ip-review --config "
                "FILE --record --reviewer NAME` at least every %d months\n",
                safe_str(p, dir), REVIEW_MONTHS);
        return;
    }
    ts = rec_str(last, "ts");
    d = verify_date_parse_iso(ts, 10);
    if (d && strncmp(ts, limit, 10) >= 0) {
        return;
    }
    fprintf(stderr, PROG ": warning: the last whitelist review (R3.8) "
            "recorded in %s is of %.10s by %s, more than %d months ago: "
            "review it with `" PROG " ip-review --config FILE --record "
            "--reviewer NAME`\n", safe_str(p, dir), ts,
            safe_str(p, rec_str(last, "reviewer")), REVIEW_MONTHS);
}
