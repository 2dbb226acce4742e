/* tmpdir.c — see tmpdir.h. */
#include "core/tmpdir.h"

#include "core/err.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tmpdir_make(const char *prefix, char *out, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    /* mkdtemp's template: it replaces the six X with a unique name */
    int n = snprintf(out, cap, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (n < 0 || (size_t)n >= cap)
        return ORASI_ETOOBIG;
    return mkdtemp(out) ? 0 : orasi_err_from_errno(errno);
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
    (void)st;
    (void)f;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

int tmpdir_remove(const char *dir)
{
    return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : orasi_err_from_errno(errno);
}
