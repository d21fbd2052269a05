/*
 * cmd_pubkey.c -- the verifier key of the checkpoint signing key, in
 * the C2SP form NAME+KEYID+KEY, for auditors, witnesses and client
 * systems to check checkpoints with.
 *
 * The key's name is the log's origin, VerifyCheckpointOrigin: by default
 * "<ServerName of the main server>/verify-audit". The tool cannot know
 * the ServerName the module will see, so --origin is required rather
 * than guessed: a wrong name gives a key that verifies nothing.
 */
#include <stdio.h>
#include <string.h>
#include "print.h"
#include "tool.h"

int cmd_pubkey(const audit_args_t *a, apr_pool_t *p)
{
    verify_note_signer_t *signer;
    char *err = NULL;

    if (!verify_note_name_valid(a->origin, strlen(a->origin))
        || strcmp(safe_str(p, a->origin), a->origin)) {
        fprintf(stderr, PROG ": pubkey: --origin \"%s\" cannot name a key: "
                "it must be UTF-8 without spaces, '+', control or "
                "invisible characters (e.g. county.example/verify-audit)\n",
                safe_str(p, a->origin));
        return 2;
    }
    if (verify_note_signer_load(&signer, a->origin, a->key, &err, p)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": pubkey: %s\n", safe_str(p, err));
        return 1;
    }
    printf("%s\n", verify_note_verifier_format(
                       verify_note_signer_verifier(signer), p));
    return write_failed();
}
