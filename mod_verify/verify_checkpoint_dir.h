/*
 * verify_checkpoint_dir.h -- the directory of signed checkpoints
 * (VerifyCheckpointDir): one file per checkpoint, named by its tree
 * size, never replaced (verify_checkpoint_dir.c).
 */
#ifndef VERIFY_CHECKPOINT_DIR_H
#define VERIFY_CHECKPOINT_DIR_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

/** Bytes of a checkpoint file name with its NUL. */
#define VERIFY_CPDIR_NAME_LEN 32

/** "checkpoint-" and the size in 20 decimal digits into @p out. */
void verify_cpdir_name(uint64_t size, char out[VERIFY_CPDIR_NAME_LEN]);

/** The size a checkpoint file name stands for; 0 for any other name. */
uint64_t verify_cpdir_name_size(const char *name);

/**
 * Keep the signed note @p note (@p len bytes) of a checkpoint of tree
 * size @p size in the directory @p dirfd: written to a new temporary
 * file, synced, then linked under its name, which is never replaced,
 * and the directory synced. A file already there with the same bytes is
 * success; one with other bytes is APR_EEXIST (two different trees of
 * one size: a fork).
 * @return APR_SUCCESS, or an error with *err saying why
 */
apr_status_t verify_cpdir_write(int dirfd, uint64_t size, const char *note,
                                size_t len, char **err, apr_pool_t *p);

/**
 * Read the checkpoint file of the largest size in @p dirfd: a regular
 * file with one link owned by root, at most VERIFY_NOTE_MAX bytes,
 * never through a symbolic link. *size is 0 (and *note NULL) when there
 * is none.
 * @return APR_SUCCESS, or an error with *err naming the file
 */
apr_status_t verify_cpdir_newest(int dirfd, uint64_t *size, char **note,
                                 size_t *len, char **err, apr_pool_t *p);

#endif /* VERIFY_CHECKPOINT_DIR_H */
