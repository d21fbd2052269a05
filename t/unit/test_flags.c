/*
 * test_flags.c -- the anomaly flags (verify_flags.c, R5.2): each flag
 * raised when its rule is broken, on the lines that broke it, with its
 * numbers; not raised one step short of it; the thresholds file.
 */
#include <stdio.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "verify.h"

static apr_pool_t *pool;

/* A query of client "sys", operator @p op, at @p ts ("DD HH:MM:SS" of
 * November 2026, a Monday the 2nd), about person @p who. */
static verify_flags_query_t q(uint64_t seq, const char *when, const char *op,
                              int who, int status)
{
    verify_flags_query_t x;
    char *ts = apr_psprintf(pool, "2026-11-%.2sT%s.000000+08:00", when,
                            when + 3);
    char *tag = apr_psprintf(pool, "%064x", who);

    memset(&x, 0, sizeof(x));
    x.seq = seq;
    x.ts = ts;
    x.ts_len = strlen(ts);
    x.client = "sys";
    x.client_len = 3;
    x.operator_ = op;
    x.operator_len = op ? strlen(op) : 0;
    x.subject_tag = tag;
    x.tag_len = 64;
    x.reason = apr_psprintf(pool, "reason %" APR_UINT64_T_FMT, seq);
    x.reason_len = strlen(x.reason);
    x.status = status;
    x.not_found = status == 404;
    x.identity_match = -1;
    return x;
}

/* Every flag off but @p kind (office hours always). */
static verify_flags_conf_t only(verify_flag_kind_t kind)
{
    verify_flags_conf_t c;

    verify_flags_conf_default(&c);
    c.off_hours = kind == VERIFY_FLAG_OFF_HOURS;
    c.burst_queries = kind == VERIFY_FLAG_BURST ? c.burst_queries : 0;
    c.day_subjects = kind == VERIFY_FLAG_MANY_SUBJECTS ? c.day_subjects : 0;
    c.subject_clients = kind == VERIFY_FLAG_MANY_CLIENTS
                        ? c.subject_clients : 0;
    c.not_found_run = kind == VERIFY_FLAG_NOT_FOUND_RUN ? c.not_found_run : 0;
    c.identity_mismatch = kind == VERIFY_FLAG_MISMATCH;
    c.reason_share = kind == VERIFY_FLAG_REASON_REUSE ? c.reason_share : 0;
    c.new_operator = kind == VERIFY_FLAG_NEW_OPERATOR;
    return c;
}

/* The seqs flagged, as "3,4,5". */
static const char *seqs(verify_flags_t *f)
{
    const apr_array_header_t *a = verify_flags_found(f);
    const char *out = "";
    int i;

    for (i = 0; i < a->nelts; i++) {
        out = apr_psprintf(pool, "%s%s%" APR_UINT64_T_FMT, out,
                           i ? "," : "",
                           APR_ARRAY_IDX(a, i, verify_flag_t).seq);
    }
    return out;
}

static const char *why(verify_flags_t *f, int i)
{
    const apr_array_header_t *a = verify_flags_found(f);

    return i < a->nelts ? APR_ARRAY_IDX(a, i, verify_flag_t).why : "";
}

static void test_off_hours(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_OFF_HOURS);
    verify_flags_t *f = verify_flags_make(&c, pool);
    verify_flags_query_t x;

    x = q(1, "02 08:00:00", "a", 1, 200);       /* Monday, opening */
    verify_flags_add(f, &x);
    x = q(2, "02 17:59:59", "a", 1, 200);
    verify_flags_add(f, &x);
    x = q(3, "02 18:00:00", "a", 1, 200);       /* closed */
    verify_flags_add(f, &x);
    x = q(4, "02 07:59:59", "a", 1, 404);       /* refusals too */
    verify_flags_add(f, &x);
    x = q(5, "07 10:00:00", "a", 1, 200);       /* Saturday */
    verify_flags_add(f, &x);
    x.client = NULL;                            /* unknown_client */
    x.seq = 6;
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "3,4,5", "off_hours: after 18:00, before 08:00, Sat");
    ok(strstr(why(f, 0), "off_hours: Mon 2026-11-02 18:00 (Taipei time); "
              "the rule: a query outside mon-fri 08:00-18:00 (Taipei)")
       != NULL, "%s", why(f, 0));
    ok(strstr(why(f, 2), "Sat 2026-11-07 10:00") != NULL, "%s", why(f, 2));
    is_int((long long)verify_flags_count(f, VERIFY_FLAG_OFF_HOURS), 3,
           "counted");

    c.office_days = 0x7f;
    c.office_start = 0;
    c.office_end = 24 * 60;
    f = verify_flags_make(&c, pool);
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "", "office hours all week long: nothing flagged");
}

static void test_burst(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_BURST);
    verify_flags_t *f;
    verify_flags_query_t x;
    char when[16];
    int i;

    c.burst_queries = 5;
    c.burst_seconds = 10;
    /* five in 10 s, and the sixth 10 s after the first: no burst */
    f = verify_flags_make(&c, pool);
    for (i = 0; i < 6; i++) {
        snprintf(when, sizeof(when), "03 10:00:%02d", i < 5 ? i : 10);
        x = q((uint64_t)i + 1, when, "a", i, 200);
        verify_flags_add(f, &x);
    }
    /* another operator at the same time is counted apart */
    for (i = 0; i < 5; i++) {
        x = q((uint64_t)i + 10, "03 10:00:05", "b", i, 200);
        verify_flags_add(f, &x);
    }
    verify_flags_end(f);
    is_str(seqs(f), "", "burst: 5 in 10 s, and 5 more by another: none");

    /* six within 10 s: all six; a seventh in the window too */
    f = verify_flags_make(&c, pool);
    for (i = 0; i < 7; i++) {
        snprintf(when, sizeof(when), "03 10:00:%02d", i);
        x = q((uint64_t)i + 1, when, "a", i, i == 3 ? 404 : 200);
        verify_flags_add(f, &x);
    }
    x = q(30, "03 11:00:00", "a", 1, 200);      /* an hour later: calm */
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "1,2,3,4,5,6,7", "burst: 6 in 10 s flags every one");
    ok(strstr(why(f, 0), "burst: 6 queries by this client+operator within "
              "5.000 s (seq 1-6); the rule: more than 5 queries by one "
              "client+operator within 10 s") != NULL, "%s", why(f, 0));
    ok(strstr(why(f, 6), "7 queries") != NULL, "%s", why(f, 6));
}

static void test_many_subjects(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_MANY_SUBJECTS);
    verify_flags_t *f = verify_flags_make(&c, pool);
    verify_flags_query_t x;
    uint64_t seq = 1;
    int i;

    c.day_subjects = 3;
    f = verify_flags_make(&c, pool);
    /* three people, each twice, on the 4th; three more on the 5th */
    for (i = 0; i < 6; i++) {
        x = q(seq++, "04 10:00:00", "a", i % 3, 200);
        verify_flags_add(f, &x);
    }
    for (i = 3; i < 6; i++) {
        x = q(seq++, "05 10:00:00", "a", i, 200);
        verify_flags_add(f, &x);
    }
    x = q(seq++, "05 11:00:00", "b", 9, 200);   /* another operator */
    verify_flags_add(f, &x);
    is_str(seqs(f), "", "many_subjects: 3 people a day is not more than 3");
    x = q(20, "05 12:00:00", "a", 7, 200);      /* a 4th that day */
    verify_flags_add(f, &x);
    x = q(21, "05 12:00:01", "a", 3, 200);      /* seen that day */
    verify_flags_add(f, &x);
    x = q(22, "05 12:00:02", "a", 8, 200);      /* a 5th */
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "20,22", "many_subjects: the 4th and 5th person");
    ok(strstr(why(f, 0), "many_subjects: the 4th distinct person this "
              "client+operator queried on 2026-11-05; the rule: more than "
              "3 distinct people") != NULL, "%s", why(f, 0));
}

static void test_many_clients(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_MANY_CLIENTS);
    verify_flags_t *f = verify_flags_make(&c, pool);
    const char *clients[] = { "c1", "c2", "c3", "c1", "c4", "c2" };
    verify_flags_query_t x;
    int i;

    for (i = 0; i < 6; i++) {
        x = q((uint64_t)i + 1, "06 10:00:00", "a", 42, 200);
        x.client = clients[i];
        x.client_len = 2;
        verify_flags_add(f, &x);
        x = q((uint64_t)i + 11, "06 10:00:00", "a", 43, 200);  /* one */
        verify_flags_add(f, &x);
    }
    verify_flags_end(f);
    is_str(seqs(f), "5,6", "many_clients: from the 4th client on");
    ok(strstr(why(f, 0), "many_clients: this person was queried by 4 "
              "distinct clients this month so far; the rule: one person "
              "queried by more than 3 distinct clients in the month")
       != NULL, "%s", why(f, 0));
}

static void test_not_found_run(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_NOT_FOUND_RUN);
    verify_flags_t *f;
    verify_flags_query_t x;
    int i;

    c.not_found_run = 3;
    f = verify_flags_make(&c, pool);
    /* 3 not_found, an answer, 3 not_found: never more than 3 in a row */
    for (i = 0; i < 7; i++) {
        x = q((uint64_t)i + 1, "09 10:00:00", "a", i, i == 3 ? 200 : 404);
        verify_flags_add(f, &x);
    }
    is_str(seqs(f), "", "not_found_run: runs of 3 are not more than 3");
    x = q(8, "09 10:00:00", "b", 1, 404);       /* another operator */
    verify_flags_add(f, &x);
    x = q(9, "09 10:00:00", "a", 1, 400);       /* neither counts nor */
    verify_flags_add(f, &x);                    /* breaks the run */
    x = q(10, "09 10:00:00", "a", 1, 404);      /* the 4th in a row */
    verify_flags_add(f, &x);
    x = q(11, "09 10:00:00", "a", 1, 404);      /* the 5th */
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "5,6,7,10,11", "not_found_run: the whole run");
    ok(strstr(why(f, 0), "not_found_run: answer 1 finding nobody of a run "
              "of 4 or more to this client+operator with no one found "
              "between them; the rule: more than 3 answers finding nobody")
       != NULL, "%s", why(f, 0));
    ok(strstr(why(f, 4), "answer 5 finding nobody of a run of 5") != NULL,
       "%s", why(f, 4));

    /* answers with every result false find nobody too */
    f = verify_flags_make(&c, pool);
    for (i = 0; i < 4; i++) {
        x = q((uint64_t)i + 1, "09 10:00:00", "a", i, 200);
        x.not_found = 1;
        verify_flags_add(f, &x);
    }
    verify_flags_end(f);
    is_str(seqs(f), "1,2,3,4", "not_found_run: all-false answers count");
}

static void test_mismatch(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_MISMATCH);
    verify_flags_t *f = verify_flags_make(&c, pool);
    verify_flags_query_t x;

    x = q(1, "10 10:00:00", "a", 1, 200);       /* no identity fields */
    verify_flags_add(f, &x);
    x.seq = 2;
    x.identity_match = 1;
    verify_flags_add(f, &x);
    x.seq = 3;
    x.identity_match = 0;
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "3", "identity_mismatch: only identity_match false");
    ok(strstr(why(f, 0), "identity_mismatch: ") == why(f, 0), "%s",
       why(f, 0));
}

static void test_reason_reuse(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_REASON_REUSE);
    verify_flags_t *f;
    verify_flags_query_t x;
    int i;

    c.reason_share = 90;
    c.reason_min = 10;
    f = verify_flags_make(&c, pool);
    /* a: 9 of 10 the same reason; b: 8 of 10; d: 9 of 9, too few */
    for (i = 0; i < 10; i++) {
        x = q((uint64_t)i + 1, "11 10:00:00", "a", i, 200);
        if (i != 4) {
            x.reason = "same";
            x.reason_len = 4;
        }
        verify_flags_add(f, &x);
        x = q((uint64_t)i + 101, "11 10:00:00", "b", i, 200);
        if (i > 1) {
            x.reason = "same";
            x.reason_len = 4;
        }
        verify_flags_add(f, &x);
        if (i < 9) {
            x = q((uint64_t)i + 201, "11 10:00:00", "d", i, 200);
            x.reason = "same";
            x.reason_len = 4;
            verify_flags_add(f, &x);
        }
    }
    verify_flags_end(f);
    is_str(seqs(f), "1", "reason_reuse: 90 %% of 10, on its first line");
    ok(strstr(why(f, 0), "reason_reuse: this client+operator gave this "
              "line's reason in 9 of its 10 queries with a reason this "
              "month (90 %; this is the first); the rule: one reason in at "
              "least 90 % of a client+operator's queries (at least 10)")
       != NULL, "%s", why(f, 0));
}

static void test_new_operator(void)
{
    verify_flags_conf_t c = only(VERIFY_FLAG_NEW_OPERATOR);
    verify_flags_t *f = verify_flags_make(&c, pool);
    verify_flags_query_t x;

    x = q(1, "12 10:00:00", "old", 1, 200);
    x.ts = "2026-10-03T10:00:00.000000+08:00";
    verify_flags_before(f, &x);
    x = q(2, "12 10:00:00", "old", 1, 200);
    verify_flags_add(f, &x);
    x = q(3, "12 10:00:00", "new", 1, 200);
    verify_flags_add(f, &x);
    x = q(4, "12 10:00:01", "new", 1, 200);     /* its second query */
    verify_flags_add(f, &x);
    x = q(5, "12 10:00:01", NULL, 1, 400);      /* no operator at all */
    verify_flags_add(f, &x);
    verify_flags_end(f);
    is_str(seqs(f), "3,5", "new_operator: its first query only");
    ok(strstr(why(f, 0), "new_operator: the first query of this "
              "client+operator: the lines read hold none before 2026-11 "
              "(the first query read is of 2026-10-03)") != NULL, "%s",
       why(f, 0));

    f = verify_flags_make(&c, pool);
    x = q(1, "12 10:00:00", "a", 1, 200);
    verify_flags_add(f, &x);
    verify_flags_end(f);
    ok(strstr(why(f, 0), "they hold no query before this month") != NULL,
       "new_operator: says when nothing earlier was read: %s", why(f, 0));
}

static void test_defaults_quiet(void)
{
    verify_flags_conf_t c;
    verify_flags_t *f;
    verify_flags_query_t x;
    int i;

    /* an ordinary office day under the defaults flags nothing */
    verify_flags_conf_default(&c);
    f = verify_flags_make(&c, pool);
    x = q(1, "02 09:00:00", "a", 1, 200);
    x.ts = "2026-10-02T09:00:00.000000+08:00";
    verify_flags_before(f, &x);
    for (i = 0; i < 40; i++) {
        x = q((uint64_t)i + 2, apr_psprintf(pool, "03 %02d:%02d:00",
                                            9 + i / 6, (i % 6) * 10),
              "a", i, i % 7 == 3 ? 404 : 200);
        verify_flags_add(f, &x);
    }
    verify_flags_end(f);
    is_str(seqs(f), "", "an ordinary day flags nothing by default");
}

static void test_conf(void)
{
    verify_flags_conf_t c, d;
    char *err = NULL, *text;
    const char *good = "# a comment\n\n  burst_queries = 12  # inline\n"
                       "office_days = mon-wed,fri,sun\r\n"
                       "office_hours=07:30-19:00\nnew_operator = off\n"
                       "not_found_run = off\n";

    verify_flags_conf_default(&c);
    ok(verify_flags_conf_parse(&c, good, strlen(good), &err, pool)
       == APR_SUCCESS, "a file parses (%s)", err ? err : "-");
    is_int(c.burst_queries, 12, "burst_queries");
    is_int((long long)c.office_days, 0x2f, "mon-wed,fri,sun");
    is_int(c.office_start, 450, "07:30");
    is_int(c.office_end, 1140, "19:00");
    is_int(c.new_operator, 0, "off");
    is_int(c.not_found_run, 0, "a count turned off");
    is_int(c.day_subjects, 100, "what is not set keeps its default");
    text = verify_flags_conf_format(&c, pool);
    ok(strstr(text, "office_days = sun,mon-wed,fri\n") != NULL
       || strstr(text, "office_days = mon-wed,fri,sun\n") != NULL,
       "days written back");
    verify_flags_conf_default(&d);
    ok(verify_flags_conf_parse(&d, text, strlen(text), &err, pool)
       == APR_SUCCESS && !memcmp(&c, &d, sizeof(c)),
       "the formatted file reads back to the same thresholds");
    verify_flags_conf_default(&d);
    text = verify_flags_conf_format(&d, pool);
    ok(strstr(text, "burst_queries = 30\n") && strstr(text,
       "office_hours = 08:00-18:00\n") && strstr(text,
       "office_days = mon-fri\n"), "the defaults as a file");

#define BAD(t, want) do { \
        verify_flags_conf_default(&d); \
        err = NULL; \
        ok(verify_flags_conf_parse(&d, t, strlen(t), &err, pool) \
           == APR_EINVAL && err && strstr(err, want), \
           "refused: %s (%s)", #t, err ? err : "accepted"); \
    } while (0)
    BAD("bursts = 3\n", "line 1: no setting is named \"bursts\"");
    BAD("\nburst_queries 3\n", "line 2: \"name = value\" expected");
    BAD("burst_queries = 3\nburst_queries = 4\n", "line 2: burst_queries "
        "is set twice");
    BAD("burst_queries = -3\n", "a whole number");
    BAD("burst_queries = 3x\n", "a whole number");
    BAD("burst_seconds = 0\n", "seconds from 1");
    BAD("burst_seconds = off\n", "a whole number");
    BAD("reason_share = 101\n", "percentage");
    BAD("off_hours = yes\n", "on or off");
    BAD("office_days = fri-mon\n", "office_days");
    BAD("office_days = monday\n", "office_days");
    BAD("office_days = \n", "office_days");
    BAD("office_hours = 18:00-08:00\n", "office_hours");
    BAD("office_hours = 8:00-18:00\n", "office_hours");
    BAD("office_hours = 08:60-18:00\n", "office_hours");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_off_hours();
    test_burst();
    test_many_subjects();
    test_many_clients();
    test_not_found_run();
    test_mismatch();
    test_reason_reuse();
    test_new_operator();
    test_defaults_quiet();
    test_conf();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
