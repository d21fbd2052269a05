/*
 * audit_lines.h -- a chain of NLINES sealed audit lines, for the tests
 * of the line (test_audit_line.c) and of finding the chain's head
 * (test_audit_find_head.c).
 *
 * seal_lines() fills lines[] (each ending in '\n'), lens[] (without
 * the newline), after[] (the chain after each line), bodies[]/blens[]
 * (what was sealed) and sealed[] (verify_audit_seal's result).
 */
#ifndef AUDIT_LINES_H
#define AUDIT_LINES_H

#include <stdio.h>
#include <string.h>
#include "tap.h"
#include "verify.h"

#define NLINES 6

static char lines[NLINES][VERIFY_AUDIT_LINE_MAX];
static size_t lens[NLINES];          /* without the newline */
static verify_chain_t after[NLINES]; /* chain state after each line */
static apr_time_t t0;

static size_t make_body(char *out, size_t cap, int i, const char *extra)
{
    verify_jbuf_t b;
    char rid[32];

    verify_jbuf_init(&b, out, cap);
    snprintf(rid, sizeof(rid), "req-%d", i);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "request_id");
    verify_jbuf_str(&b, rid, strlen(rid), 64);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "client");
    verify_jbuf_str(&b, extra, strlen(extra), 200);
    VERIFY_JRAW(&b, ",");
    verify_jbuf_key(&b, "status");
    verify_jbuf_u64(&b, 200);
    return b.overflow ? 0 : b.len;
}

static char bodies[NLINES][1024];
static size_t blens[NLINES];
static size_t sealed[NLINES];

static TAP_UNUSED void seal_lines(void)
{
    verify_chain_t chain;
    int i;

    memset(&chain, 0, sizeof(chain));
    t0 = apr_time_from_sec(1795708799) + 123456;  /* 2026-11-26T23:59:59 */
    for (i = 0; i < NLINES; i++) {
        blens[i] = make_body(bodies[i], sizeof(bodies[i]), i + 1,
                             i == 2 ? "quote \" and \xe7\x8e\x8b"
                                    : "hospital-a");
        sealed[i] = verify_audit_seal(&chain, t0 + i * 1000000, bodies[i],
                                      blens[i], lines[i], sizeof(lines[i]));
        lens[i] = sealed[i] ? sealed[i] - 1 : 0;
        after[i] = chain;
    }
}

#endif /* AUDIT_LINES_H */
