/*
 * report_nodes.h -- the sheet of several nodes (report_nodes.c: the
 * command, the head, the counts, the sign-off; report_nodes_rows.c: the
 * flags and the rows).
 */
#ifndef VERIFY_AUDIT_REPORT_NODES_H
#define VERIFY_AUDIT_REPORT_NODES_H

#include "sheet.h"
#include "sample_nodes.h"

/* Queries a sheet lists one by one (as cmd_report.c's LIST_MAX). */
#define NODES_LIST_MAX 10000
/* The CSV's columns: one sheet's, and "node". */
#define NODES_CSV_COLS (CSV_COLS + 1)

/* The sheet being written. */
typedef struct nsheet_t {
    FILE *o;                    /* the HTML */
    csv_t csv;                  /* the CSV, when asked (csv.f) */
    nodes_t *ns;                /* the nodes, read, drawn and flagged */
    const audit_args_t *a;
    sheet_notes_t notes;        /* cut cells and hashes in full */
    int list_all;               /* every query (else the sample) */
    char now[26];               /* when the sheet was made */
    char last[11];              /* the month's last day */
} nsheet_t;

/* The node's id as shown ("-": it has no queries in the month). */
const char *node_shown(const node_t *n);
/* The table of the month's flags over all nodes. */
void nsheet_flags(nsheet_t *h, apr_pool_t *p);
/* The answered queries (@p refused 0) or the refusals of every node:
 * 0, or -1 when a line changed since it was read (said). */
int nsheet_queries(nsheet_t *h, int refused, apr_pool_t *p);

#endif /* VERIFY_AUDIT_REPORT_NODES_H */
