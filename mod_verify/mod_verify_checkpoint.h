/*
 * mod_verify_checkpoint.h -- signed checkpoints of the audit log, made
 * by the httpd parent (root) and never by a child: the directives
 * (mod_verify_checkpoint_config.c) and the signer
 * (mod_verify_checkpoint.c).
 */
#ifndef MOD_VERIFY_CHECKPOINT_H
#define MOD_VERIFY_CHECKPOINT_H

#include "httpd.h"
#include "http_config.h"

/** Syslog off (VerifyCheckpointSyslog off). */
#define VERIFY_CP_SYSLOG_OFF (-2)

/* The directives' setters, for the module's command table. */
const char *verify_checkpoint_set_key(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *verify_checkpoint_set_dir(cmd_parms *cmd, void *dc,
                                      const char *arg);
const char *verify_checkpoint_set_interval(cmd_parms *cmd, void *dc,
                                           const char *arg);
const char *verify_checkpoint_set_origin(cmd_parms *cmd, void *dc,
                                         const char *arg);
const char *verify_checkpoint_set_syslog(cmd_parms *cmd, void *dc,
                                         const char *arg);

/** VerifyCheckpointKey, VerifyCheckpointDir: NULL when not given. */
const char *verify_checkpoint_key_file(void);
const char *verify_checkpoint_dir(void);
/** VerifyCheckpointInterval; default 60 seconds. */
apr_interval_time_t verify_checkpoint_interval(void);
/** VerifyCheckpointOrigin; default "<ServerName of @p s>/verify-audit". */
const char *verify_checkpoint_origin(server_rec *s, apr_pool_t *p);
/** VerifyCheckpointSyslog as a LOG_* facility; default LOG_DAEMON;
 * VERIFY_CP_SYSLOG_OFF when off. */
int verify_checkpoint_syslog(void);

/**
 * check_config: the key and the directory go together; the key loads
 * and is root's alone; the directory, if it exists, and the one above
 * it are root's and nobody else can write them.
 */
apr_status_t verify_checkpoint_check(server_rec *s, apr_pool_t *ptemp);

/**
 * Open VerifyCheckpointDir (made 0755 if missing) as a directory
 * descriptor, after checking it is root's alone; logs why not.
 * @return the descriptor, or -1
 */
int verify_checkpoint_open_dir(server_rec *s, apr_pool_t *p);

/**
 * post_config, in the parent (not in the dry run), after the chain is
 * set up and before its "start" line: load the key, make the directory,
 * and at the first generation read the whole log and compare it with
 * the newest checkpoint kept (a log behind it or contradicting it is
 * refused). The generation's end (its pool's cleanup, in the parent)
 * signs what is left.
 */
apr_status_t verify_checkpoint_post_config(server_rec *s, apr_pool_t *pconf,
                                           apr_pool_t *ptemp);

/** After the "start" line: sign the log as this generation found it. */
void verify_checkpoint_started(void);

/** The monitor hook, in the parent: read new lines, sign when due. */
void verify_checkpoint_monitor(void);

#endif /* MOD_VERIFY_CHECKPOINT_H */
