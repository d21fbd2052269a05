/*
 * cmd_witness.c -- a witness that sees no personal data: another agency
 * keeps the last signed checkpoint it accepted (the state file) and
 * accepts a new one only if the log's operator proves that the new tree
 * extends the old one (RFC 6962 consistency). A fork (two trees that
 * are not one the prefix of the other) or a rewind (a smaller tree than
 * one accepted) is refused, naming both sizes and roots: once a witness
 * holds a checkpoint, no rewrite of the lines it covers goes unseen.
 *
 * Only checkpoints and proofs are read, never the log. The state file
 * is the accepted signed note verbatim, replaced atomically (a
 * temporary file, synced, renamed over it) under a lock, so that two
 * runs at once cannot lose a checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include "print.h"
#include "tool.h"

#define REFUSED "REFUSED: "
#define NOT_ACCEPTED "NOT ACCEPTED: "

/* A signed checkpoint read from a file and opened with the keys. */
typedef struct held_note_t {
    char *note;
    size_t len;
    verify_checkpoint_t cp;
    int by;
} held_note_t;

static const char *open_file(const audit_args_t *a, const char *path,
                             held_note_t *n, apr_pool_t *p)
{
    const char *why = read_small(path, VERIFY_NOTE_MAX, &n->note, &n->len,
                                 p);

    return why ? why : keys_open(a, n->note, n->len, &n->cp, &n->by, p);
}

/* "size N (root R)" */
static const char *tree_text(const verify_checkpoint_t *cp, apr_pool_t *p)
{
    char b64[45];

    return apr_psprintf(p, "size %" APR_UINT64_T_FMT " (root %s)", cp->size,
                        tree_b64(cp->root, b64));
}

/* Write @p len bytes of @p note over @p path: a temporary file beside
 * it, synced, renamed, and the directory synced. NULL, or why not. */
static const char *store(const char *path, const char *note, size_t len,
                         apr_pool_t *p)
{
    char *tmp = apr_pstrcat(p, path, ".tmp-XXXXXX", NULL);
    const char *why = NULL, *slash;
    size_t done = 0;
    ssize_t n;
    int fd, dfd;

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        return apr_psprintf(p, "cannot create %s: %s", tmp, strerror(errno));
    }
    while (!why && done < len) {
        n = write(fd, note + done, len - done);
        if (n < 0 && errno != EINTR) {
            why = apr_psprintf(p, "cannot write %s: %s", tmp,
                               strerror(errno));
        }
        done += n > 0 ? (size_t)n : 0;
    }
    if (!why && (fchmod(fd, 0644) != 0 || fsync(fd) != 0)) {
        why = apr_psprintf(p, "cannot sync %s: %s", tmp, strerror(errno));
    }
    if (close(fd) != 0 && !why) {
        why = apr_psprintf(p, "cannot write %s: %s", tmp, strerror(errno));
    }
    if (!why && rename(tmp, path) != 0) {
        why = apr_psprintf(p, "cannot rename %s to %s: %s", tmp, path,
                           strerror(errno));
    }
    if (why) {
        unlink(tmp);
        return why;
    }
    slash = strrchr(path, '/');
    dfd = open(slash ? apr_pstrmemdup(p, path, (size_t)(slash - path) + 1)
                     : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        why = apr_psprintf(p, "cannot sync the directory of %s: %s", path,
                           strerror(errno));
    }
    if (dfd >= 0) {
        close(dfd);
    }
    return why;
}

/* Is the new checkpoint an extension of the old one? 0 to accept it
 * (*how says why), or the exit status with the refusal said. */
static int judge(const audit_args_t *a, const held_note_t *old,
                 const held_note_t *new, const char **how, apr_pool_t *p)
{
    const verify_checkpoint_t *o = &old->cp, *n = &new->cp;
    verify_merkle_proof_t empty;
    audit_cproof_t pr;
    const char *why;
    char *text, b64[45];
    size_t len;

    if (strcmp(o->origin, n->origin)) {
        printf(REFUSED "the checkpoint is of the log \"%s\", the state of "
               "\"%s\": another log\n", safe_str(p, n->origin),
               safe_str(p, o->origin));
        return 1;
    }
    if (n->size < o->size) {
        printf(REFUSED "rewind: the checkpoint has %s, smaller than the %s "
               "accepted before: the log was cut back, an older copy of it "
               "restored, or an old checkpoint sent again; the state is "
               "unchanged\n", tree_text(n, p), tree_text(o, p));
        return 1;
    }
    memset(&empty, 0, sizeof(empty));
    if (n->size == o->size || o->size == 0) {
        why = verify_merkle_consistency_check(o->size, n->size, o->root,
                                              n->root, &empty);
        if (why) {
            printf(REFUSED "fork: the checkpoint has %s, but the one "
                   "accepted before has %s: two different trees were signed "
                   "(%s); keep both notes as evidence; the state is "
                   "unchanged\n", tree_text(n, p), tree_text(o, p), why);
            return 1;
        }
        *how = n->size == o->size ? "the same tree as accepted before"
                                  : "it extends the empty tree";
        return 0;
    }
    if (!a->proof_file) {
        printf(NOT_ACCEPTED "the checkpoint has %s and the one accepted "
               "before %s: a consistency proof between them is needed (on "
               "the log: " PROG " consistency --from %" APR_UINT64_T_FMT
               " --to %" APR_UINT64_T_FMT " DIR); the state is unchanged\n",
               tree_text(n, p), tree_text(o, p), o->size, n->size);
        return 1;
    }
    why = read_small(a->proof_file, 64 * 1024, &text, &len, p);
    if (!why) {
        why = proof_parse(text, len, &pr, p);
    }
    if (why) {
        printf(NOT_ACCEPTED "the proof %s cannot be read: %s\n",
               safe_str(p, a->proof_file), safe_str(p, why));
        return 1;
    }
    if (pr.size1 != o->size || pr.size2 != n->size) {
        printf(NOT_ACCEPTED "the proof is from size %" APR_UINT64_T_FMT
               " to %" APR_UINT64_T_FMT ", not from %" APR_UINT64_T_FMT
               " (accepted before) to %" APR_UINT64_T_FMT " (the "
               "checkpoint); the state is unchanged\n", pr.size1, pr.size2,
               o->size, n->size);
        return 1;
    }
    /* the signed roots decide; the roots the proof's text gives only
     * explain a failure */
    why = verify_merkle_consistency_check(o->size, n->size, o->root,
                                          n->root, &pr.proof);
    if (why) {
        printf(REFUSED "fork: the checkpoint of %s does not extend the one "
               "accepted before, %s: %s%s; the log was rewritten below size %"
               APR_UINT64_T_FMT ", or two logs were signed with one key; "
               "keep both notes and the proof as evidence; the state is "
               "unchanged\n", tree_text(n, p), tree_text(o, p), why,
               memcmp(pr.root1, o->root, sizeof(pr.root1))
               ? apr_psprintf(p, " (the log the proof was made from has "
                              "root %s at size %" APR_UINT64_T_FMT ")",
                              tree_b64(pr.root1, b64), o->size)
               : "", o->size);
        return 1;
    }
    *how = apr_psprintf(p, "it extends %s, proven by %" APR_SIZE_T_FMT
                        " hash(es)", tree_text(o, p), pr.proof.count);
    return 0;
}

int cmd_witness(const audit_args_t *a, apr_pool_t *p)
{
    held_note_t old, new;
    apr_finfo_t fi;
    apr_status_t rv;
    const char *why, *how = NULL, *lock;
    int lfd = -1, rc = 1, first;

    memset(&old, 0, sizeof(old));
    memset(&new, 0, sizeof(new));
    why = open_file(a, a->note_file, &new, p);
    if (why) {
        printf(REFUSED "the checkpoint %s does not verify: %s\n",
               safe_str(p, a->note_file), safe_str(p, why));
        return 1;
    }
    /* one run at a time: the state read is the state replaced */
    lock = apr_pstrcat(p, a->state, ".lock", NULL);
    lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        fprintf(stderr, PROG ": witness: cannot lock %s: %s\n",
                safe_str(p, lock), strerror(errno));
        goto cleanup;
    }
    rv = apr_stat(&fi, a->state, APR_FINFO_TYPE, p);
    first = APR_STATUS_IS_ENOENT(rv);
    if (!first) {
        why = open_file(a, a->state, &old, p);
        if (why) {
            printf(REFUSED "the state %s does not verify: %s (it was "
                   "changed, or signed by a key not given: give the old "
                   "key too after a rotation); the state is unchanged\n",
                   safe_str(p, a->state), safe_str(p, why));
            goto cleanup;
        }
        rc = judge(a, &old, &new, &how, p);
        if (rc != 0) {
            goto cleanup;
        }
    }
    if (first || new.len != old.len || memcmp(new.note, old.note, new.len)) {
        why = store(a->state, new.note, new.len, p);
        if (why) {
            fprintf(stderr, PROG ": witness: %s\n", safe_str(p, why));
            rc = 1;
            goto cleanup;
        }
    }
    printf("accepted: %s, %s, signed by %s: %s\n",
           safe_str(p, new.cp.origin), tree_text(&new.cp, p),
           safe_str(p, key_label(&a->keys[new.by], p)),
           first ? "the first checkpoint (no state yet): nothing to compare "
                   "it with, so make sure the verifier key is the log's"
                 : how);
    printf("state: %s holds it now\n", safe_str(p, a->state));
    rc = write_failed();

cleanup:
    if (lfd >= 0) {
        close(lfd);
    }
    return rc;
}
