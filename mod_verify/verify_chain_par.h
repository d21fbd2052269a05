/*
 * verify_chain_par.h -- the chain scan with its per-line work spread
 * over threads (verify_chain_par.c).
 *
 * Most of what checking a line costs depends on that line alone: its
 * own hash, its bytes and JSON grammar, and whatever the caller derives
 * from it (a leaf hash, a signature). Worker threads do that ahead, a
 * window of lines at a time; the caller's thread then walks the lines
 * in order doing what depends on the order (prev and seq against the
 * line before, the ts rule, the counts, the caller's sequential work).
 * A line the workers did not find plainly sound (a fault, the first
 * line, a line with a note of its own) is checked again on the
 * ordinary path of verify_chain_scan(), so that what is said about a
 * broken log (the fault, its file and line, the notes before it) is
 * the same, byte for byte, as the one-thread scan's. Memory is bounded
 * by the windows (VERIFY_PAR_WINDOWS of them, each at most
 * VERIFY_PAR_BYTES of line text and its lines' findings), whatever the
 * size of the log.
 */
#ifndef VERIFY_CHAIN_PAR_H
#define VERIFY_CHAIN_PAR_H

#include "verify_chain_scan.h"

/** Windows in flight at once. */
#define VERIFY_PAR_WINDOWS 4
/** Lines of a window at the most, by default. */
#define VERIFY_PAR_WINDOW 2048
/** Bytes of line text a window holds at the most. */
#define VERIFY_PAR_BYTES (1024 * 1024)
/** Threads at the most. */
#define VERIFY_PAR_MAX_THREADS 64

/**
 * In a worker thread: the caller's work on a line the scan found sound
 * by itself (@p seq its seq; @p leaf its RFC 6962 leaf hash when
 * par->leaf, else NULL; @p flat indexes it), its findings into
 * @p extra (par->extra_size bytes, zeroed). Reads only what does not
 * change during the scan (s->ctx's settings); allocates from @p p only
 * (the worker's, cleared now and then). @return 0, or -1 to have the
 * line checked on the ordinary path (s->line_fn) instead.
 */
typedef int (*verify_par_pre_fn)(void *ctx, const char *line, size_t len,
                                 uint64_t seq, const unsigned char *leaf,
                                 const verify_flat_t *flat, void *extra,
                                 apr_pool_t *p);

/**
 * On the caller's thread, in order: a sound line with the workers'
 * @p extra, instead of s->line_fn (which still gets every other line).
 * s->flat does not index this line. @return 0 go on, -1 stop.
 */
typedef int (*verify_par_line_fn)(verify_scan_t *s, const char *line,
                                  size_t len, const void *extra, int file,
                                  apr_off_t off);

typedef struct verify_par_t {
    int threads;                /**< threads checking lines, the caller's
                                     included; below 2: verify_chain_scan */
    size_t window;              /**< lines a window (0: VERIFY_PAR_WINDOW) */
    size_t extra_size;          /**< bytes of findings a line */
    int leaf;                   /**< 1: the workers hash each sound line's
                                     leaf with its chain hash, two at once
                                     (verify_sha256_pair.h), for pre_fn */
    verify_par_pre_fn pre_fn;   /**< or NULL */
    verify_par_line_fn line_fn; /**< or NULL */
} verify_par_t;

/**
 * verify_chain_scan() of @p s (lazy, without keep_going; else it is
 * that scan) with par->threads threads: the same checks, faults, notes
 * and counts, in the same order; s->line_fn receives the lines the
 * workers did not find sound, par->line_fn the others.
 * @return as verify_chain_scan(); -1 also when a thread cannot start
 */
int verify_chain_scan_par(verify_scan_t *s, const verify_par_t *par);

#endif /* VERIFY_CHAIN_PAR_H */
