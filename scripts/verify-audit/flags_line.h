/*
 * flags_line.h -- the anomaly flags' view of a query line, and their
 * thresholds file, for sample and report (flags_line.c).
 */
#ifndef VERIFY_AUDIT_FLAGS_LINE_H
#define VERIFY_AUDIT_FLAGS_LINE_H

#include "tool.h"
#include "verify_flags.h"

/* An answer whose results are all false: the person is in none of the
 * data asked (the module writes the results as "check":bool members). */
int flags_found_nobody(const verify_flat_t *f);

/* The query line indexed in @p f (seq @p seq) as the flags see it; its
 * escaped members are unescaped into @p buf (VERIFY_AUDIT_LINE_MAX
 * bytes), which must outlive @p fq. */
void flags_query_read(const verify_flat_t *f, uint64_t seq, char *buf,
                      verify_flags_query_t *fq);

/* The thresholds: --flags FILE over the built-in ones. 0, or 2 having
 * said why (a usage error). */
int flags_conf_load(const audit_args_t *a, verify_flags_conf_t *fc,
                    apr_pool_t *p);

#endif /* VERIFY_AUDIT_FLAGS_LINE_H */
