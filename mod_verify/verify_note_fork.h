/*
 * verify_note_fork.h -- signing a note in a short-lived child process,
 * so that the caller never holds the private key (verify_note_fork.c).
 *
 * The httpd parent forks every worker process: whatever key material it
 * had in memory, even freed, a child could inherit. So the parent never
 * loads the checkpoint key: a process forked for one signature loads
 * it, signs, hands the note back through a pipe and exits.
 */
#ifndef VERIFY_NOTE_FORK_H
#define VERIFY_NOTE_FORK_H

#include <stddef.h>
#include <apr_pools.h>

/**
 * Sign @p text (@p len bytes, as verify_note_sign() takes it) with the
 * key in @p key_path under the key name @p name, in a child process
 * (verify_note_signer_load() then verify_note_sign()). With @p text
 * NULL, only load the key: the check that it is usable.
 * @return APR_SUCCESS with *note set (NULL when @p text is NULL), or an
 *         error with *err saying why (the child's own message when the
 *         key would not load or sign)
 */
apr_status_t verify_note_sign_forked(char **note, const char *name,
                                     const char *key_path, const char *text,
                                     size_t len, char **err, apr_pool_t *p);

#endif /* VERIFY_NOTE_FORK_H */
