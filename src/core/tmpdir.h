/*
 * tmpdir.h — a private scratch directory under $TMPDIR (default /tmp), and removing it
 * with everything in it. For the measuring and training programs (bench/lake_stages.c,
 * tools/pgo_train.c); the server itself never uses it.
 */
#ifndef ORASI_CORE_TMPDIR_H
#define ORASI_CORE_TMPDIR_H

#include <stddef.h>

/* Create "$TMPDIR/<prefix>.<6 random characters>" (mode 0700) and write its path to out
 * (cap bytes). 0, ORASI_ETOOBIG when the path does not fit, or the errno's ORASI_E* code. */
int tmpdir_make(const char *prefix, char *out, size_t cap);

/* Remove dir and everything under it (symbolic links are removed, not followed).
 * 0, or the ORASI_E* code of the first failure. */
int tmpdir_remove(const char *dir);

#endif
