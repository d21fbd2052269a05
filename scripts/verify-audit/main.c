/*
 * verify-audit -- the auditor's tool: main() and the command table.
 *
 * Every command that reads audit files reads them in chain order and
 * checks the chain as it goes (verify_chain_scan). The table says what
 * each command takes: its options, which of them it needs, and what its
 * arguments are (audit files, the audit directory, none, or a signed
 * checkpoint and a proof); main() parses and checks the command line by
 * it, so a command starts from arguments that are known to be sound.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_getopt.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include "print.h"
#include "records.h"

/* The package version, from debian/changelog (the Makefile passes it). */
#ifndef VERIFY_VERSION
#define VERIFY_VERSION "unknown"
#endif

/* An option letter as a bit of audit_cmd_t.takes and .needs. */
#define OPT(c) ((uint64_t)1 << ((c) - 'A'))

/* What a command's arguments are. */
typedef enum {
    ARGS_FILES,         /* audit files or directories */
    ARGS_DIR,           /* exactly one audit directory */
    ARGS_NONE,          /* options only, no files */
    ARGS_NOTE           /* a signed checkpoint file and, optionally, a
                           proof file (witness: no log) */
} audit_args_kind_t;

typedef struct audit_cmd_t {
    const char *name;
    audit_args_kind_t args;
    uint64_t takes;             /* the options it takes */
    uint64_t needs;             /* the options it cannot do without */
    const char *needs_text;     /* "NAME needs ..." when one is missing */
    /* a further check of the options: 0, or the exit status */
    int (*check)(const audit_args_t *a);
    int (*run)(const audit_args_t *a, apr_pool_t *p);
    const char *synopsis;       /* its lines of the usage */
} audit_cmd_t;

/* consistency: the old tree is a prefix of the new one. */
static int consistency_check(const audit_args_t *a)
{
    if (a->from > a->to) {
        fprintf(stderr, PROG ": --from must not be larger than --to\n");
        return 2;
    }
    return 0;
}

/* Checkpoints held elsewhere are checked with the log's keys. */
static int witnessed_check(const audit_args_t *a)
{
    if (a->witnessed && !a->verifier_args) {
        fprintf(stderr, PROG ": --witnessed needs --verifier (the keys the "
                "checkpoints are checked with)\n");
        return 2;
    }
    return 0;
}

/* report takes --json only to say it belongs to sample. */
static int report_check(const audit_args_t *a)
{
    if (a->as_json) {
        fprintf(stderr, PROG ": --json belongs to sample, not report\n");
        return 2;
    }
    return 0;
}

/* sample: the seed is a signed checkpoint's root, checked with a key;
 * only a preview can do without one. */
static int sample_check(const audit_args_t *a)
{
    if (!a->verifier_args && !a->preview) {
        fprintf(stderr, PROG ": sample needs --verifier KEY (the checkpoint "
                "key's verifier key, or a file of them): the seed is the "
                "root of a signed checkpoint; without a key only --preview "
                "draws, and never the official sample\n");
        return 2;
    }
    return 0;
}

/* roster: certificates are looked up from the register's lines. */
static int roster_check(const audit_args_t *a)
{
    if (a->certs && !a->config) {
        fprintf(stderr, PROG ": --certs needs --config (the register "
                "whose cert-sha256= values it looks up)\n");
        return 2;
    }
    return 0;
}

static const audit_cmd_t commands[] = {
    { "verify", ARGS_FILES, OPT('V') | OPT('W') | OPT('G'), 0, NULL,
      witnessed_check, cmd_verify_records,
      "  verify [--verifier KEY]... [--every-signature] [--witnessed FILE|DIR]...\n"
      "         [--records DIR]\n"
      "             check the hash chain; exit 0 if intact, else name\n"
      "             the first bad line; prints the size and root of the\n"
      "             RFC 6962 tree over the lines checked. --verifier (a\n"
      "             key as pubkey prints it, or a file of them; repeat\n"
      "             it for rotated keys): also every checkpoint line\n"
      "             (signature, origin, size, root against the tree),\n"
      "             and the unsigned tail after the newest one (a\n"
      "             warning). The signatures checked are the newest\n"
      "             checkpoint's (its root, equal to the log's, holds\n"
      "             every earlier checkpoint line as it was signed),\n"
      "             and those of checkpoints after its size, of any\n"
      "             whose root could not be compared, and of any\n"
      "             refused; should one fail, the log is read again\n"
      "             with each checked, and only that reading is said.\n"
      "             --every-signature: check each one on the way.\n"
      "             --witnessed: also checkpoints kept elsewhere (a\n"
      "             note file, a copy of the checkpoint directory, a\n"
      "             syslog extract with note= tokens).\n"
      "             --records DIR: also the R5.2 records log's chain,\n"
      "             and its heads against the \"records\" events of the\n"
      "             audit files; says which records are not covered yet\n" },
    { "sample", ARGS_FILES, OPT('m') | OPT('s') | OPT('j') | OPT('V')
      | OPT('C') | OPT('P') | OPT('F') | OPT('D'), OPT('m'),
      "--month YYYY-MM", sample_check, cmd_sample,
      "  sample --month YYYY-MM --verifier KEY... [--checkpoints DIR]\n"
      "         [--preview] [--flags FILE] [--json]\n"
      "             the month's sample of answered queries (R5.1): at\n"
      "             least 3 %, never fewer than 10, all if fewer than 10;\n"
      "             ranked by HMAC-SHA256(seed, request_id; a batch's\n"
      "             subject: request_id/item), the seed being\n"
      "             the root of the first signed checkpoint made after the\n"
      "             month that covers it (checked with --verifier: a key,\n"
      "             or a file of them; repeat it for rotated keys), so\n"
      "             nobody chooses it and anyone re-draws it; refusals are\n"
      "             counted apart; lines the anomaly flags pick (R5.2,\n"
      "             thresholds from --flags FILE) join the sample; --json\n"
      "             prints the lines; refuses a broken chain. A month\n"
      "             without that checkpoint yet: --preview, marked NOT an\n"
      "             official draw on every line. Two or more\n"
      "             directories: each one node's log, the month of all\n"
      "             one population (a --verifier per node; the seed from\n"
      "             every node's checkpoint; docs/scaling.md 5)\n"
      "  sample --print-flag-defaults\n"
      "             the built-in thresholds, as a --flags file\n" },
    { "report", ARGS_FILES,
      OPT('m') | OPT('s') | OPT('j') | OPT('V') | OPT('x') | OPT('O')
      | OPT('F') | OPT('L'), OPT('m'), "--month YYYY-MM", report_check, cmd_report,
      "  report --month YYYY-MM [--verifier KEY]... [--output FILE.html]\n"
      "         [--csv FILE.csv] [--flags FILE] [--all]\n"
      "             the monthly query record sheet for A4 (R5.1), HTML on\n"
      "             stdout or in FILE.html: chain and checkpoint status,\n"
      "             the sample marked, the anomaly flags with their\n"
      "             reasons (thresholds from --flags FILE, as sample's;\n"
      "             flagged lines are sampled too), answered queries and\n"
      "             refusals, the month's service events, three\n"
      "             signature lines; a month of more than 10,000\n"
      "             queries lists its sample (--all: every query); the\n"
      "             same rows as CSV (--csv, or beside --output). With\n"
      "             --verifier (a key as pubkey prints it, or a file of\n"
      "             them) the newest checkpoint covering the month and\n"
      "             the sample's seed checkpoint are verified. Two or\n"
      "             more nodes' directories: one sheet of one population\n"
      "             (as sample; needs --verifier)\n" },
    { "subject", ARGS_FILES, OPT('i') | OPT('k') | OPT('j'),
      OPT('i') | OPT('k'),
      "--id ID and --key FILE (the subject key, or the VerifyKeyFile)",
      NULL, cmd_subject,
      "  subject --id ID|- --key FILE [--json]\n"
      "             every line about one person (R4.2.5, R5.5): the lines\n"
      "             whose subject_tag is the tag of ID under the key file:\n"
      "             the subject key that subject-key exports, or the\n"
      "             VerifyKeyFile; the ID is shown only masked; --id -\n"
      "             reads it from stdin (out of the process list)\n" },
    { "subject-key", ARGS_NONE, OPT('k') | OPT('o'), OPT('k'),
      "--key FILE (the VerifyKeyFile)", NULL, cmd_subject_key,
      "  subject-key --key FILE [--out FILE|-]\n"
      "             export from the VerifyKeyFile only the subject key:\n"
      "             all that subject needs, nothing that opens the store;\n"
      "             one line \"" VERIFY_SUBJECT_KEY_LABEL " HEX\" in a new\n"
      "             file of mode 0400 (never over an existing one);\n"
      "             without --out on stdout, but never on a terminal\n"
      "             unless --out - asks for it\n" },
    { "roster", ARGS_FILES, OPT('S') | OPT('c') | OPT('Y'), 0, NULL,
      roster_check, cmd_roster,
      "  roster [--since YYYY-MM-DD] [--config FILE [--certs DIR]]\n"
      "             the register of everyone who queried (R4.3, R5.5):\n"
      "             per client and operator the first and last query,\n"
      "             the queries, answered and refused; then each\n"
      "             client's addresses. With --config (the file of the\n"
      "             VerifyClient and VerifyOperators lines) also the\n"
      "             register: clients with approval, validity and\n"
      "             certificate expiry (from --certs DIR: *.pem, *.crt),\n"
      "             registered operators with role and period and\n"
      "             their queries, the registered who never queried\n"
      "             and the queriers nobody registered\n" },
    { "ip-review", ARGS_FILES, OPT('M') | OPT('c') | OPT('d') | OPT('w')
      | OPT('E'), 0, NULL, NULL, cmd_ip_review,
      "  ip-review [--months N] [--config FILE]\n"
      "            [--record --reviewer NAME [--events SPOOL]]\n"
      "             the whitelist review (R3.8): per client each address\n"
      "             used in the last N months (default 6); with the\n"
      "             VerifyClient lines of FILE also the registered\n"
      "             addresses left idle, those registered twice, and the\n"
      "             approvals (valid=) ended or ending within 30 days;\n"
      "             --record keeps the review in the records log (root\n"
      "             only); every command warns when the last one kept\n"
      "             is more than six months old\n" },
    { "assign", ARGS_FILES, OPT('m') | OPT('A') | OPT('V') | OPT('C')
      | OPT('F') | OPT('E'), OPT('m') | OPT('A') | OPT('V'),
      "--month YYYY-MM, --auditors A,B,... and --verifier KEY", NULL,
      cmd_assign,
      "  assign --month YYYY-MM --auditors A,B,C --verifier KEY...\n"
      "         [--checkpoints DIR] [--flags FILE] [--records DIR]\n"
      "         [--events SPOOL]\n"
      "             who audits whom (R5.2): each person (client and\n"
      "             operator) with lines in the month's official sample\n"
      "             to an auditor, never the one of their previous\n"
      "             round, balanced by lines; says why a person cannot\n"
      "             be assigned (exit 1; run it again with another\n"
      "             auditor); recorded in the records log (root only)\n" },
    { "finding", ARGS_FILES, OPT('m') | OPT('q') | OPT('I') | OPT('a')
      | OPT('r') | OPT('N') | OPT('H') | OPT('T') | OPT('U') | OPT('K')
      | OPT('V') | OPT('C') | OPT('F') | OPT('E'),
      OPT('m') | OPT('a') | OPT('r') | OPT('V'),
      "--month YYYY-MM, --auditor NAME, --result in-order|anomaly and "
      "--verifier KEY", NULL, cmd_finding,
      "  finding --month YYYY-MM --seq N|--request-id ID --auditor NAME\n"
      "          --result in-order|anomaly [--note TEXT]\n"
      "          [--ethics NAME --ethics-date YYYY-MM-DD --conclusion TEXT]\n"
      "          [--any-auditor] --verifier KEY...\n"
      "             what the auditor found of one line of the month's\n"
      "             official sample (R5.2); an anomaly needs a note, and\n"
      "             its joint investigation with the Ethics Office (who,\n"
      "             when, conclusion) may come now or later by\n"
      "             investigation; only the auditor assigned may file it\n"
      "             unless --any-auditor; ID and phone numbers in the\n"
      "             texts are masked; recorded (root only)\n" },
    { "investigation", ARGS_NONE, OPT('m') | OPT('q') | OPT('I') | OPT('H')
      | OPT('T') | OPT('U') | OPT('E'),
      OPT('m') | OPT('H') | OPT('T') | OPT('U'),
      "--month YYYY-MM, --ethics NAME, --ethics-date YYYY-MM-DD and "
      "--conclusion TEXT", NULL, cmd_investigation,
      "  investigation --month YYYY-MM --seq N|--request-id ID --ethics NAME\n"
      "                --ethics-date YYYY-MM-DD --conclusion TEXT\n"
      "             the joint investigation with the Ethics Office of an\n"
      "             anomaly found before (R5.2), recorded (root only)\n" },
    { "findings", ARGS_NONE, OPT('y') | OPT('x'), OPT('y'), "--year YYYY",
      NULL, cmd_findings,
      "  findings --year YYYY [--csv FILE] [--records DIR]\n"
      "             the year's R5.2 records for the yearly audit (R5.3)\n"
      "             and the Civil Affairs audit (R5.5): assignments,\n"
      "             findings, each anomaly without a joint investigation\n"
      "             marked OPEN, whitelist reviews; --csv: the same rows\n" },
    { "purge", ARGS_DIR, OPT('b') | OPT('n') | OPT('E'), OPT('b'),
      "--before YYYY-MM-DD", NULL, cmd_purge,
      "  purge --before YYYY-MM-DD [--dry-run] [--events SPOOL] DIR\n"
      "             delete the daily files older than the date, which\n"
      "             must be at least 5 years ago (R4.1.5, R4.2.5); writes\n"
      "             DIR/purged-through-DATE.json with the seq and hash of\n"
      "             the last line purged, from which verify resumes; the\n"
      "             purge (or its refusal) goes into the chain through\n"
      "             the event spool SPOOL, <VerifyStore>/events (default\n"
      "             " VERIFY_SPOOL_DEFAULT ")\n" },
    { "prove", ARGS_FILES, OPT('q') | OPT('z') | OPT('V') | OPT('W'),
      OPT('q'), "--seq N", witnessed_check, cmd_prove,
      "  prove --seq N [--size M] [--verifier KEY]... [--witnessed F]...\n"
      "             the inclusion proof (RFC 6962) of line N in the tree\n"
      "             of the first M lines (default: every line), in the\n"
      "             text of docs/data-formats.md; refuses a broken chain.\n"
      "             With --verifier, M must be the size of a signed\n"
      "             checkpoint (default: the newest), which is printed\n" },
    { "consistency", ARGS_FILES, OPT('f') | OPT('t'), OPT('f') | OPT('t'),
      "--from M1 and --to M2", consistency_check, cmd_consistency,
      "  consistency --from M1 --to M2\n"
      "             the consistency proof (RFC 6962) from the tree of the\n"
      "             first M1 lines to that of the first M2\n" },
    { "check-receipt", ARGS_FILES,
      OPT('q') | OPT('l') | OPT('V') | OPT('W'), OPT('q') | OPT('l'),
      "--seq N and --leaf HEX (the answer's receipt)", witnessed_check,
      cmd_check_receipt,
      "  check-receipt --seq N --leaf HEX [--verifier KEY]...\n"
      "                [--witnessed F]...\n"
      "             is the line of a receipt in the log with that leaf\n"
      "             hash? exit 0 with its inclusion proof, else 1 and\n"
      "             why; with --verifier, the proof is against the first\n"
      "             signed checkpoint that covers it, which is printed\n" },
    { "pubkey", ARGS_NONE, OPT('k') | OPT('g'), OPT('k') | OPT('g'),
      "--key FILE (the VerifyCheckpointKey) and --origin NAME (the "
      "VerifyCheckpointOrigin)", NULL, cmd_pubkey,
      "  pubkey --key FILE --origin NAME\n"
      "             the verifier key (NAME+KEYID+KEY) of the checkpoint\n"
      "             key FILE for the log named NAME: its\n"
      "             VerifyCheckpointOrigin, by default SERVERNAME/verify-\n"
      "             audit (the ServerName of the main server). No files\n" },
    { "witness", ARGS_NOTE, OPT('V') | OPT('e'), OPT('V') | OPT('e'),
      "--verifier KEY and --state FILE", NULL, cmd_witness,
      "  witness --verifier KEY... --state FILE CHECKPOINT [PROOF]\n"
      "             for a witness, without the log: accept the signed\n"
      "             CHECKPOINT if it extends the one accepted before\n"
      "             (kept in FILE), by PROOF, the text `consistency\n"
      "             --from OLD --to NEW` printed; refuse a fork or a\n"
      "             rewind (exit 1, naming both sizes and roots)\n" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const apr_getopt_option_t options[] = {
    { "month", 'm', 1, "YYYY-MM" },
    { "seed", 's', 1, "hex seed of the sample" },
    { "json", 'j', 0, "JSON Lines" },
    { "id", 'i', 1, "ID number" },
    { "key", 'k', 1, "key file" },
    { "out", 'o', 1, "file for the subject key, or -" },
    { "since", 'S', 1, "YYYY-MM-DD" },
    { "months", 'M', 1, "months" },
    { "config", 'c', 1, "file with VerifyClient lines" },
    { "certs", 'Y', 1, "directory of client certificates" },
    { "before", 'b', 1, "YYYY-MM-DD" },
    { "events", 'E', 1, "event spool directory" },
    { "dry-run", 'n', 0, "dry run" },
    { "seq", 'q', 1, "seq of an audit line" },
    { "size", 'z', 1, "tree size" },
    { "from", 'f', 1, "tree size" },
    { "to", 't', 1, "tree size" },
    { "leaf", 'l', 1, "hex leaf hash" },
    { "origin", 'g', 1, "the log's origin (checkpoint key name)" },
    { "verifier", 'V', 1, "verifier key, or a file of them" },
    { "witnessed", 'W', 1, "signed checkpoints kept elsewhere" },
    { "state", 'e', 1, "the witness's state file" },
    { "csv", 'x', 1, "CSV file" },
    { "output", 'O', 1, "output file" },
    { "checkpoints", 'C', 1, "checkpoint directory" },
    { "preview", 'P', 0, "a preview of an open month" },
    { "flags", 'F', 1, "thresholds file of the anomaly flags" },
    { "print-flag-defaults", 'D', 0, "the built-in thresholds" },
    { "all", 'L', 0, "list every query" },
    { "records", 'R', 1, "the R5.2 records directory" },
    { "auditors", 'A', 1, "auditors, comma-separated" },
    { "auditor", 'a', 1, "auditor" },
    { "result", 'r', 1, "in-order or anomaly" },
    { "note", 'N', 1, "what was found" },
    { "request-id", 'I', 1, "request_id of an audit line" },
    { "year", 'y', 1, "YYYY" },
    { "reviewer", 'w', 1, "who reviewed the whitelist" },
    { "record", 'd', 0, "keep the review in the records log" },
    { "ethics", 'H', 1, "who of the Ethics Office" },
    { "ethics-date", 'T', 1, "YYYY-MM-DD of the investigation" },
    { "conclusion", 'U', 1, "the investigation's conclusion" },
    { "any-auditor", 'K', 0, "not the auditor assigned" },
    { "every-signature", 'G', 0, "check every checkpoint's signature" },
    { "help", 'h', 0, "help" },
    { NULL, 0, 0, NULL }
};

static void usage(FILE *to)
{
    size_t i;

    fputs("usage: " PROG " COMMAND [options] FILE|DIR...\n"
          "  FILE|DIR: audit files (audit-YYYY-MM-DD.jsonl), or the audit\n"
          "  directory (all its audit files, in date order)\n"
          "\n", to);
    for (i = 0; i < NCOMMANDS; i++) {
        fputs(commands[i].synopsis, to);
    }
    fputs("\n"
          "  A month is a Taipei calendar month. Every command that reads\n"
          "  audit files checks the whole chain of the files given; all\n"
          "  but verify and report refuse a broken one. Exit status: 0\n"
          "  done, 1 failed or chain broken (the report is printed all the\n"
          "  same), 2 usage error.\n"
          "  --help prints this text; --version the version of the tools.\n"
          "  --records DIR (any command): the R5.2 records directory\n"
          "  (default " RECORDS_DEFAULT "); every command warns on\n"
          "  stderr when it holds no whitelist review of the last six\n"
          "  months (R3.8).\n",
          to);
}

static const audit_cmd_t *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++) {
        if (!strcmp(commands[i].name, name)) {
            return &commands[i];
        }
    }
    return NULL;
}

static const char *option_name(int optch)
{
    int o;

    for (o = 0; options[o].name && options[o].optch != optch; o++) {
    }
    return options[o].name;
}

/* apr_getopt's messages (they echo what was typed), made safe. */
static void getopt_error(void *arg, const char *fmt, ...)
{
    apr_pool_t *p = arg;
    va_list ap;
    char *msg;
    size_t l;

    va_start(ap, fmt);
    msg = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    l = strlen(msg);
    while (l && msg[l - 1] == '\n') {
        msg[--l] = '\0';
    }
    fprintf(stderr, "%s\n", safe_str(p, msg));
}

/* A seq or tree size: a decimal number from 1, nothing else. */
static apr_status_t tree_size(apr_pool_t *p, const char *name,
                              const char *arg, uint64_t *out)
{
    uint64_t n = 0;
    const char *c;

    for (c = arg; *c >= '0' && *c <= '9' && c - arg < 19; c++) {
        n = n * 10 + (uint64_t)(*c - '0');
    }
    if (c == arg || *c || n == 0 || arg[0] == '0') {
        fprintf(stderr, PROG ": %s must be a number from 1, not \"%s\"\n",
                name, safe_str(p, arg));
        return APR_EINVAL;
    }
    *out = n;
    return APR_SUCCESS;
}

/* One more value of a repeatable option. */
static void push_arg(apr_array_header_t **arr, const char *arg,
                     apr_pool_t *p)
{
    if (!*arr) {
        *arr = apr_array_make(p, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(*arr, const char *) = arg;
}

/* The options after the command, by the table. *given receives the
 * options seen. @return 0, -1 after --help, or the exit status. */
static int parse_options(const audit_cmd_t *cmd, apr_getopt_t *os,
                         audit_args_t *a, const char **months,
                         uint64_t *given)
{
    apr_status_t rv;
    const char *arg;
    int optch;

    while ((rv = apr_getopt_long(os, options, &optch, &arg))
           == APR_SUCCESS) {
        switch (optch) {
        case 'm': a->month = arg; break;
        case 's': a->seed = arg; break;
        case 'j': a->as_json = 1; break;
        case 'i': a->id = arg; break;
        case 'k': a->key = arg; break;
        case 'o': a->out = arg; break;
        case 'S': a->since = arg; break;
        case 'M': *months = arg; break;
        case 'c': a->config = arg; break;
        case 'Y': a->certs = arg; break;
        case 'b': a->before = arg; break;
        case 'E': a->events = arg; break;
        case 'n': a->dry_run = 1; break;
        case 'q': rv = tree_size(os->cont, "--seq", arg, &a->seq); break;
        case 'z': rv = tree_size(os->cont, "--size", arg, &a->size); break;
        case 'f': rv = tree_size(os->cont, "--from", arg, &a->from); break;
        case 't': rv = tree_size(os->cont, "--to", arg, &a->to); break;
        case 'l': a->leaf = arg; break;
        case 'g': a->origin = arg; break;
        case 'V': push_arg(&a->verifier_args, arg, os->cont); break;
        case 'W': push_arg(&a->witnessed, arg, os->cont); break;
        case 'e': a->state = arg; break;
        case 'x': a->csv = arg; break;
        case 'O': a->output = arg; break;
        case 'C': a->checkpoints = arg; break;
        case 'P': a->preview = 1; break;
        case 'F': a->flags = arg; break;
        case 'D': a->print_flag_defaults = 1; break;
        case 'L': a->all = 1; break;
        case 'R': a->records = arg; break;
        case 'A': a->auditors = arg; break;
        case 'a': a->auditor = arg; break;
        case 'r': a->result = arg; break;
        case 'N': a->note = arg; break;
        case 'I': a->request_id = arg; break;
        case 'y': a->year = arg; break;
        case 'w': a->reviewer = arg; break;
        case 'd': a->record = 1; break;
        case 'H': a->ethics = arg; break;
        case 'T': a->ethics_date = arg; break;
        case 'U': a->conclusion = arg; break;
        case 'K': a->any_auditor = 1; break;
        case 'G': a->every_signature = 1; break;
        case 'h': usage(stdout); return -1;
        }
        /* --records: every command looks for the review's age there */
        if (optch != 'R' && !(cmd->takes & OPT(optch))) {
            fprintf(stderr, PROG ": --%s does not belong to %s (see "
                    PROG " --help)\n", option_name(optch), cmd->name);
            return 2;
        }
        if (rv != APR_SUCCESS) {
            return 2;
        }
        *given |= OPT(optch);
    }
    if (rv != APR_EOF) {
        fprintf(stderr, "(see " PROG " --help)\n");
        return 2;
    }
    return 0;
}

/* --id -: the ID from stdin, out of shell history and the process list. */
static const char *id_from_stdin(apr_pool_t *p)
{
    char buf[64];
    const char *id;
    size_t l;

    if (!fgets(buf, sizeof(buf), stdin)) {
        buf[0] = '\0';
    }
    l = strlen(buf);
    while (l && apr_isspace(buf[l - 1])) {
        buf[--l] = '\0';
    }
    id = apr_pstrdup(p, buf);
    memset(buf, 0, sizeof(buf));
    return id;
}

/* The values of the options given. @return 0, or the exit status. */
static int check_values(audit_args_t *a, const char *months, apr_pool_t *p)
{
    unsigned char leaf[VERIFY_MERKLE_HASH_LEN];
    char norm[VERIFY_ID_LEN + 1];
    verify_id_status_t st;
    char *end;
    long n;

    if (a->id && !strcmp(a->id, "-")) {
        a->id = id_from_stdin(p);
    }
    if (a->id) {
        st = verify_id_normalise(a->id, strlen(a->id), norm, NULL);
        memset(norm, 0, sizeof(norm));
        if (st != VERIFY_ID_OK) {
            /* the ID is never echoed, not even a wrong one */
            fprintf(stderr, PROG ": --id is not a valid ID number: %s\n",
                    verify_id_strerror(st));
            return 2;
        }
    }
    if (a->since && !verify_date_parse_iso(a->since, strlen(a->since))) {
        fprintf(stderr, PROG ": --since must be a date as YYYY-MM-DD, not "
                "\"%s\"\n", safe_str(p, a->since));
        return 2;
    }
    if (months) {
        errno = 0;
        n = strtol(months, &end, 10);
        if (errno || *end || end == months || n < 1 || n > 120) {
            fprintf(stderr, PROG ": --months must be a number of months "
                    "from 1 to 120, not \"%s\"\n", safe_str(p, months));
            return 2;
        }
        a->months = (int)n;
    }
    if (a->leaf && (strlen(a->leaf) != 2 * VERIFY_MERKLE_HASH_LEN
                    || verify_unhex(a->leaf, VERIFY_MERKLE_HASH_LEN, leaf,
                                    1))) {
        fprintf(stderr, PROG ": --leaf must be the receipt's leaf hash, %d "
                "hex digits, not \"%s\"\n", 2 * VERIFY_MERKLE_HASH_LEN,
                safe_str(p, a->leaf));
        return 2;
    }
    if (a->month && !verify_date_parse_month(a->month, strlen(a->month))) {
        fprintf(stderr, PROG ": --month must be a month as YYYY-MM (e.g. "
                "2026-11), not \"%s\"\n", safe_str(p, a->month));
        return 2;
    }
    return keys_parse(a, p);
}

/*
 * A file named on the command line is read only when its name is an
 * audit file's, exactly as in a directory (audit-YYYY-MM-DD.jsonl, a
 * real date): whoever can write the audit directory can also plant
 * files with other names, and the date in the name is what orders the
 * chain. @return 0, or 1 with the reason printed.
 */
static int check_file_names(int n, const char *const *args, apr_pool_t *p)
{
    apr_finfo_t fi;
    int i;

    for (i = 0; i < n; i++) {
        /* what cannot be read is said by verify_audit_collect() */
        if (apr_stat(&fi, args[i], APR_FINFO_TYPE, p) == APR_SUCCESS
            && fi.filetype != APR_DIR && !verify_audit_name_date(args[i])) {
            fprintf(stderr, PROG ": %s: not read: an audit file is named "
                    "audit-YYYY-MM-DD.jsonl (a real date), and nothing "
                    "else is read\n", safe_str(p, args[i]));
            return 1;
        }
    }
    return 0;
}

/* The audit files of @p n arguments into a->files. @return 0, or 1 with
 * the reason printed. */
static int collect_files(audit_args_t *a, int n, const char *const *args,
                         apr_pool_t *p)
{
    char *err = NULL;
    int i;

    if (check_file_names(n, args, p) != 0) {
        return 1;
    }
    a->files = apr_array_make(p, 16, sizeof(const char *));
    if (verify_audit_collect(n, args, a->files, &a->checkpoint, &err, p)
        != APR_SUCCESS) {
        fprintf(stderr, PROG ": %s\n", safe_str(p, err));
        return 1;
    }
    if (a->files->nelts == 0) {
        fprintf(stderr, PROG ": no audit files given (a directory is "
                "searched for audit-YYYY-MM-DD.jsonl)\n");
        return 1;
    }
    a->file_args = "";
    for (i = 0; i < n; i++) {
        a->file_args = apr_pstrcat(p, a->file_args, i ? " " : "",
                                   shell_quote(args[i], p), NULL);
    }
    return 0;
}

/*
 * sample and report given two or more directories: each is one node's
 * log (docs/scaling.md section 5), into a->nodes. Files given one by
 * one are one log, as always; mixed with several directories they
 * would belong to no node: refused. @return 0, or 2 with the reason.
 */
static int node_dirs(const audit_cmd_t *cmd, audit_args_t *a, int n,
                     const char *const *args, apr_pool_t *p)
{
    apr_finfo_t fi;
    int i, dirs = 0;

    if (cmd->run != cmd_sample && cmd->run != cmd_report) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        dirs += apr_stat(&fi, args[i], APR_FINFO_TYPE, p) == APR_SUCCESS
                && fi.filetype == APR_DIR;
    }
    if (dirs < 2) {
        return 0;
    }
    if (dirs != n) {
        fprintf(stderr, PROG ": %s: several directories are several nodes' "
                "logs, one each; audit files named one by one are one log: "
                "give the nodes' directories only\n", cmd->name);
        return 2;
    }
    a->nodes = apr_array_make(p, n, sizeof(const char *));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a->nodes, const char *) = args[i];
    }
    return 0;
}

/* The command was run (not refused for its usage): its warnings follow. */
static int command_ran;

static int run_cmd(const audit_cmd_t *cmd, const audit_args_t *a,
                   apr_pool_t *p)
{
    command_ran = 1;
    return cmd->run(a, p);
}

/* A command with options: parse and check them, then its arguments. */
static int run_with_options(const audit_cmd_t *cmd, audit_args_t *a,
                            int argc, const char *const *argv,
                            apr_pool_t *p)
{
    const char *months = NULL, **av;
    uint64_t given = 0;
    apr_getopt_t *os;
    int i, rc;

    /* options may come before or after the files */
    av = apr_palloc(p, (size_t)argc * sizeof(*av));
    av[0] = apr_pstrcat(p, PROG " ", cmd->name, NULL);
    for (i = 2; i < argc; i++) {
        av[i - 1] = argv[i];
    }
    av[argc - 1] = NULL;
    apr_getopt_init(&os, p, argc - 1, av);
    os->interleave = 1;
    os->errfn = getopt_error;
    os->errarg = p;
    rc = parse_options(cmd, os, a, &months, &given);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    if (a->seed) {
        /* before anything else: an auditor used to the old option must
         * learn why it went, not what else is missing */
        fprintf(stderr, PROG ": --seed is gone: the sample's seed is chosen "
                "by nobody, it is the root of the first signed checkpoint "
                "made after the month that covers it (R5.1); give "
                "--verifier KEY to check that checkpoint, and --preview for "
                "a month that has none yet\n");
        return 2;
    }
    if (a->print_flag_defaults) {
        return cmd_sample_flag_defaults(a, p);
    }
    if ((cmd->needs & given) != cmd->needs) {
        fprintf(stderr, PROG ": %s needs %s\n", cmd->name, cmd->needs_text);
        return 2;
    }
    rc = check_values(a, months, p);
    if (rc == 0 && cmd->check) {
        rc = cmd->check(a);
    }
    if (rc != 0) {
        return rc;
    }
    if (cmd->args == ARGS_NONE) {
        if (os->ind < os->argc) {
            fprintf(stderr, PROG ": %s reads no audit files (it takes no "
                    "files or directories, only options)\n", cmd->name);
            return 2;
        }
        return run_cmd(cmd, a, p);
    }
    if (cmd->args == ARGS_NOTE) {
        if (os->argc - os->ind < 1 || os->argc - os->ind > 2) {
            fprintf(stderr, PROG ": %s takes a signed checkpoint file and, "
                    "optionally, a proof file\n", cmd->name);
            return 2;
        }
        a->note_file = os->argv[os->ind];
        a->proof_file = os->argc - os->ind == 2 ? os->argv[os->ind + 1]
                                                : NULL;
        return run_cmd(cmd, a, p);
    }
    if (cmd->args == ARGS_DIR) {
        if (os->argc - os->ind != 1) {
            fprintf(stderr, PROG ": %s takes exactly one audit "
                    "directory\n", cmd->name);
            return 2;
        }
        a->dir = os->argv[os->ind];
        return run_cmd(cmd, a, p);
    }
    if (os->ind >= os->argc) {
        fprintf(stderr, PROG ": %s: no audit files or directory given\n",
                cmd->name);
        return 2;
    }
    rc = node_dirs(cmd, a, os->argc - os->ind, os->argv + os->ind, p);
    if (rc != 0) {
        return rc;
    }
    if (collect_files(a, os->argc - os->ind, os->argv + os->ind, p) != 0) {
        return 1;
    }
    return run_cmd(cmd, a, p);
}

int main(int argc, const char *const *argv)
{
    const audit_cmd_t *cmd;
    audit_args_t a;
    apr_pool_t *p;
    int rc = 2;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        rc = argc < 2 ? 2 : 0;
        goto cleanup;
    }
    if (!strcmp(argv[1], "--version")) {
        puts(PROG " (mod_verify) " VERIFY_VERSION);
        rc = 0;
        goto cleanup;
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, PROG ": command \"%s\" is not available in this "
                "version\n", safe_str(p, argv[1]));
        usage(stderr);
        goto cleanup;
    }
    memset(&a, 0, sizeof(a));
    a.months = 6;
    rc = run_with_options(cmd, &a, argc, argv, p);
    if (command_ran) {
        review_age_warn(&a, p);
    }

cleanup:
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
