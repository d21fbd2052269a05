/*
 * vouch.h -- which checkpoint signatures `verify` checks (vouch.c).
 */
#ifndef VERIFY_AUDIT_VOUCH_H
#define VERIFY_AUDIT_VOUCH_H

#include "tool.h"

/*
 * A checkpoint whose root is found equal to the log's root at its size
 * signs, with that root, every line up to that size as the files hold
 * it, earlier checkpoint lines included, signatures and all. So the
 * reading checks each checkpoint line's grammar, origin, size and root
 * with its signature matched to a key by name and id only, and checks
 * the signatures the others rest on: the newest checkpoint whose root
 * was found equal (at the end), each one that a newer one no longer
 * covers, each one whose root could not be compared (before a purge, a
 * log that starts late, a root too far back), and each one refused for
 * another reason (so that a forged note is named as one). Any of them
 * failing and the log is read again with every signature checked, so
 * what is said of a bad log is what --every-signature says.
 */
typedef struct vouch_t {
    const audit_args_t *a;      /* signatures checked with these keys */
    int failed;                 /* a signature checked did not verify */
    uint64_t checked;           /* signatures checked */
    line_copy_t last;           /* the newest checkpoint line whose root
                                   was found equal (last.len 0: none) */
    uint64_t last_seq, last_size;
} vouch_t;

void vouch_init(vouch_t *w, const audit_args_t *a);
/* An accepted checkpoint line (@p len bytes, at @p seq, of @p size);
 * @p rooted: its root was found equal to the log's. */
void vouch_add(vouch_t *w, const char *line, size_t len, uint64_t seq,
               uint64_t size, int rooted, apr_pool_t *scratch);
/* A checkpoint line refused for something else: its signature checked
 * now, so that a forged note is said to be one (the reason given is
 * --every-signature's). */
void vouch_refused(vouch_t *w, const char *line, size_t len, uint64_t seq,
                   apr_pool_t *scratch);
/* At the end of the reading: the newest one's signature checked.
 * 0: every signature the reading rests on verified; 1: one did not. */
int vouch_end(vouch_t *w, apr_pool_t *scratch);
void vouch_free(vouch_t *w);

#endif /* VERIFY_AUDIT_VOUCH_H */
