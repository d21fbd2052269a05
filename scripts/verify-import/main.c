/*
 * verify-import -- check a batch file and load it into the store.
 *
 * A batch is all or nothing: every record is validated first, then a
 * new snapshot of the store, written in one LMDB write transaction, is
 * published in place of the current one. The input is destroyed
 * after a successful import (R4.4) unless --keep-input.
 *
 * Intake is strict by default (R4.1.1-R4.1.3): a batch must be
 * CMS-signed by the data provider, encrypted to the county and carry
 * --approved-until, unless --allow-plain; it must not be the current
 * batch again or older than it, unless --force. Both are recorded.
 *
 * main.c parses the options; import.c imports, input.c reads the batch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include "verify-import/import.h"

/* parse_options: go on with the import */
#define GO_ON (-1)

/* The package version, from debian/changelog (the Makefile passes it). */
#ifndef VERIFY_VERSION
#define VERIFY_VERSION "unknown"
#endif

static void usage(FILE *to)
{
    fprintf(to,
        "usage: " PROG " --store DIR --key FILE --source SOURCE [options] "
        "FILE\n"
        "       " PROG " --store DIR --key FILE --source SOURCE [options]\n"
        "                     --watch INBOX --quarantine DIR\n"
        "       " PROG " --store DIR --require-signed on|off\n"
        "  sources: household (id,name,birth_date,indigenous),\n"
        "           elderly_alone (id,valid_until), disability "
        "(id,level,valid_until)\n"
        "  --approved-until DATE  end of the approved usage period "
        "(R4.1.2)\n"
        "  --encoding utf-8|big5  input encoding (default utf-8)\n"
        "  --dry-run              validate only; change nothing\n"
        "  --keep-input           do not destroy FILE after the import\n"
        "  --decrypt-cert C --decrypt-key K\n"
        "                         FILE is CMS-encrypted to certificate C\n"
        "                         (PEM) with private key K (PEM); it is\n"
        "                         opened in memory only\n"
        "  --signer-ca CA         require a valid CMS signature by a data\n"
        "                         provider certificate issued by CA (PEM)\n"
        "  --allow-plain          take a batch that is not encrypted, not\n"
        "                         signed or without --approved-until\n"
        "                         (recorded; refused by a store that\n"
        "                         requires signed batches)\n"
        "  --force                take a batch that is the current one\n"
        "                         again, or signed before it (recorded)\n"
        "  --require-signed on|off  the store refuses --allow-plain from\n"
        "                         now on (on), or no longer (off)\n"
        "  --watch INBOX          import each file renamed into INBOX (and\n"
        "                         those there at start); until SIGTERM\n"
        "  --quarantine DIR       where --watch moves a refused file, with\n"
        "                         FILE.reason beside it\n"
        "  --group NAME           let this group (httpd's run-time group)\n"
        "                         read the store (default: the group of\n"
        "                         the store directory)\n"
        "  --threads N            take the batch in with N threads (1-%d;\n"
        "                         default: VERIFY_IMPORT_THREADS, else\n"
        "                         the CPUs online, at most 8)\n"
        "  --help                 this text\n"
        "  --version              the version of mod_verify's tools\n",
        VERIFY_INTAKE_MAX_THREADS);
}

/* Fill @p o from the command line; GO_ON, or the exit code. */
static int parse_options(import_opts_t *o, int argc,
                         const char *const *argv, apr_pool_t *p)
{
    static const apr_getopt_option_t opts[] = {
        { "store", 's', 1, "store directory" },
        { "key", 'k', 1, "key file" },
        { "source", 'S', 1, "source" },
        { "approved-until", 'a', 1, "approved until" },
        { "encoding", 'e', 1, "encoding" },
        { "dry-run", 'n', 0, "dry run" },
        { "keep-input", 'K', 0, "keep input" },
        { "group", 'g', 1, "group of the httpd run-time user" },
        { "decrypt-cert", 'c', 1, "import certificate" },
        { "decrypt-key", 'y', 1, "import key" },
        { "signer-ca", 'A', 1, "data provider CA" },
        { "allow-plain", 'P', 0, "allow a plain batch" },
        { "force", 'f', 0, "override the replay checks" },
        { "require-signed", 'R', 1, "on|off" },
        { "watch", 'W', 1, "inbox" },
        { "quarantine", 'Q', 1, "quarantine directory" },
        { "threads", 'j', 1, "intake threads" },
        { "help", 'h', 0, "help" },
        { "version", 'v', 0, "version" },
        { NULL, 0, 0, NULL }
    };
    const char *source = NULL, *approved = NULL, *encoding = "utf-8";
    const char *policy = NULL, *threads = getenv("VERIFY_IMPORT_THREADS");
    const char *threads_from = "VERIFY_IMPORT_THREADS";
    const char *arg;
    apr_getopt_t *os;
    apr_status_t rv;
    int optch, src;

    memset(o, 0, sizeof(*o));
    apr_getopt_init(&os, p, argc, argv);
    while ((rv = apr_getopt_long(os, opts, &optch, &arg)) == APR_SUCCESS) {
        switch (optch) {
        case 's': o->store_dir = arg; break;
        case 'k': o->key_file = arg; break;
        case 'S': source = arg; break;
        case 'a': approved = arg; break;
        case 'e': encoding = arg; break;
        case 'n': o->dry_run = 1; break;
        case 'K': o->keep_input = 1; break;
        case 'g': o->group = arg; break;
        case 'c': o->decrypt_cert = arg; break;
        case 'y': o->decrypt_key = arg; break;
        case 'A': o->signer_ca = arg; break;
        case 'P': o->allow_plain = 1; break;
        case 'f': o->force = 1; break;
        case 'R': policy = arg; break;
        case 'W': o->watch = arg; break;
        case 'Q': o->quarantine = arg; break;
        case 'j': threads = arg; threads_from = "--threads"; break;
        case 'h': usage(stdout); return 0;
        case 'v': puts(PROG " (mod_verify) " VERIFY_VERSION); return 0;
        }
    }
    o->require_signed = -1;
    if (policy && rv == APR_EOF && os->ind == argc && o->store_dir) {
        /* the store's intake policy alone: no batch, no key */
        if (strcasecmp(policy, "on") && strcasecmp(policy, "off")) {
            fprintf(stderr, PROG ": --require-signed must be on or off\n");
            return 2;
        }
        o->require_signed = !strcasecmp(policy, "on");
        return GO_ON;
    }
    if (rv != APR_EOF || os->ind != argc - (o->watch ? 0 : 1)
        || !o->store_dir || !o->key_file || !source || policy
        || !o->watch != !o->quarantine) {
        usage(stderr);
        return 2;
    }
    if (o->watch && (o->keep_input || o->dry_run)) {
        fprintf(stderr, PROG ": --watch imports and destroys each file: "
                "not with --keep-input or --dry-run\n");
        return 2;
    }
    o->file = o->watch ? NULL : argv[os->ind];
    src = verify_source_from_name(source);
    if (src < 0) {
        fprintf(stderr, PROG ": unknown source \"%s\" (household, "
                "elderly_alone, disability)\n", source);
        return 2;
    }
    o->src = (verify_source_t)src;
    if (approved) {
        o->approved_until = verify_date_parse_iso(approved,
                                                  strlen(approved));
        if (!o->approved_until) {
            fprintf(stderr, PROG ": --approved-until must be YYYY-MM-DD\n");
            return 2;
        }
        if (o->approved_until < verify_date_taipei(apr_time_now())) {
            fprintf(stderr, PROG ": --approved-until %s is already past\n",
                    approved);
            return 2;
        }
    }
    if (!o->decrypt_cert != !o->decrypt_key) {
        fprintf(stderr, PROG ": --decrypt-cert and --decrypt-key go "
                "together\n");
        return 2;
    }
    if (strcasecmp(encoding, "utf-8") && strcasecmp(encoding, "utf8")
        && strcasecmp(encoding, "big5")) {
        fprintf(stderr, PROG ": --encoding must be utf-8 or big5\n");
        return 2;
    }
    o->big5 = !strcasecmp(encoding, "big5");
    if (threads && *threads
        && import_threads_parse(threads, threads_from, &o->threads) != 0) {
        return 2;
    }
    return GO_ON;
}

int main(int argc, const char *const *argv)
{
    import_opts_t o;
    apr_pool_t *p;
    int rc;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    umask(077);   /* modes are given explicitly (fchmod) where needed */
    rc = parse_options(&o, argc, argv, p);
    if (rc == GO_ON) {
        rc = import_run(&o, p);
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
