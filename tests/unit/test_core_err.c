/* test_core_err.c — every error code has a distinct name and a message; errno mapping
 * and the retryable classification. */
#include "core/err.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_names_and_messages(void **state)
{
    (void)state;
    /* Walk the X-macro list itself so a new code cannot escape the test. */
    static const struct {
        int code;
        const char *name;
        const char *msg;
    } all[] = {
#define T(name, msg) {ORASI_E##name, "ORASI_E" #name, msg},
        ORASI_ERRNO_MAP(T)
#undef T
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    assert_int_equal(n, (size_t)(ORASI__ERR_END - ORASI__ERR_BASE - 1));
    for (size_t i = 0; i < n; i++) {
        assert_true(all[i].code < 0);
        assert_string_equal(orasi_errname(all[i].code), all[i].name);
        assert_string_equal(orasi_strerror(all[i].code), all[i].msg);
        assert_true(strlen(all[i].msg) > 3);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all[i].code, all[j].code);
            assert_string_not_equal(all[i].msg, all[j].msg);
        }
    }
    assert_string_equal(orasi_errname(0), "ORASI_OK");
    assert_string_equal(orasi_strerror(0), "success");
    assert_string_equal(orasi_errname(-1), "ORASI_E?");
    assert_string_equal(orasi_strerror(12345), "unknown error");
    assert_string_equal(orasi_strerror(ORASI__ERR_END), "unknown error");
    assert_string_equal(orasi_strerror(ORASI__ERR_BASE), "unknown error");
}

static void test_from_errno(void **state)
{
    (void)state;
    static const struct {
        int e, want;
    } map[] = {
        {0, ORASI_OK},
        {ENOMEM, ORASI_ENOMEM},
        {EAGAIN, ORASI_EAGAIN},
        {EWOULDBLOCK, ORASI_EAGAIN},
        {EINTR, ORASI_EAGAIN},
        {EINVAL, ORASI_EINVAL},
        {ENOSPC, ORASI_ENOSPC},
        {EDQUOT, ORASI_ENOSPC},
        {ENOENT, ORASI_ENOTFOUND},
        {EEXIST, ORASI_EEXISTS},
        {ETIMEDOUT, ORASI_ETIMEOUT},
        {EPIPE, ORASI_ECLOSED},
        {ECONNRESET, ORASI_ECLOSED},
        {ENOTCONN, ORASI_ECLOSED},
        {ECONNREFUSED, ORASI_EUNAVAILABLE},
        {EHOSTUNREACH, ORASI_EUNAVAILABLE},
        {ENETUNREACH, ORASI_EUNAVAILABLE},
        {EBUSY, ORASI_EBUSY},
        {ENOTSUP, ORASI_EUNSUPPORTED},
        {EIO, ORASI_EIO},
        {E2BIG, ORASI_ETOOBIG},
        {EFBIG, ORASI_ETOOBIG},
        {ENAMETOOLONG, ORASI_ETOOBIG},
        {EBADF, ORASI_ESYS},
        {EPERM, ORASI_ESYS},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (orasi_err_from_errno(map[i].e) != map[i].want)
            fail_msg("errno %d (%s) -> %s, want %s", map[i].e, strerror(map[i].e),
                     orasi_errname(orasi_err_from_errno(map[i].e)),
                     orasi_errname(map[i].want));
}

static void test_retryable(void **state)
{
    (void)state;
    static const int yes[] = {ORASI_EAGAIN, ORASI_EFULL,   ORASI_ENOSPC, ORASI_ETIMEOUT,
                              ORASI_ECLOSED, ORASI_EBUSY, ORASI_EUNAVAILABLE, ORASI_EIO,
                              ORASI_ENOMEM};
    static const int no[] = {ORASI_OK,     ORASI_EINVAL,   ORASI_ETOOBIG, ORASI_EPARSE,
                             ORASI_EUTF8,  ORASI_EDEPTH,   ORASI_ECONFIG, ORASI_ECORRUPT,
                             ORASI_EUNSUPPORTED, ORASI_ENOTFOUND, ORASI_EEXISTS};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(orasi_err_retryable(yes[i]));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(orasi_err_retryable(no[i]));
    /* A refused connection is retryable end to end. */
    assert_true(orasi_err_retryable(orasi_err_from_errno(ECONNREFUSED)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_messages),
        cmocka_unit_test(test_from_errno),
        cmocka_unit_test(test_retryable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
