/*
 * mod_verify_volume.h -- the audit volume (mod_verify_volume.c): how
 * full it is, the warnings as it passes 75 % and 90 %, and whether the
 * run-time user can write to it now.
 */
#ifndef MOD_VERIFY_VOLUME_H
#define MOD_VERIFY_VOLUME_H

#include "httpd.h"
#include <apr_pools.h>

/** The thresholds: a warning as the volume passes each. */
#define VERIFY_VOLUME_WARN 75
#define VERIFY_VOLUME_ALARM 90

/** One look at the audit volume. */
typedef struct verify_volume_t {
    int ok;                         /* measured */
    apr_uint64_t free_bytes;        /* for the run-time user (f_bavail) */
    double used_percent;            /* as df counts it */
    int level;                      /* 0, VERIFY_VOLUME_WARN or _ALARM:
                                       the threshold passed, as shared */
} verify_volume_t;

/** post_config: the level shared by the parent and the children. */
apr_status_t verify_volume_post_config(server_rec *s, apr_pool_t *pconf);

/** Open the audit directory (O_DIRECTORY, O_NOFOLLOW); -1 on failure. */
int verify_volume_open(void);

/** Measure the volume of @p dirfd and note a crossing of a threshold:
 * whichever process sees it first logs it (VFY131, VFY132, VFY133). */
void verify_volume_measure(server_rec *s, int dirfd, verify_volume_t *v);

/** The parent's monitor: measure, so that the warnings come without a
 * request. */
void verify_volume_monitor(server_rec *s);

/**
 * Can this process (the run-time user) write a block to the audit
 * volume now? An unnamed file (O_TMPFILE) in the directory takes 4096
 * bytes and is gone at close: nothing enters the chain or the
 * directory's names. @return 1, or 0 with *why set.
 */
int verify_volume_writable(int dirfd, const char **why, apr_pool_t *p);

#endif /* MOD_VERIFY_VOLUME_H */
