/* test_seccomp.c: the sandbox module: a seccomp filter added after start is seen, whatever the state at start. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "hosts/seccomp_filter.h"
#include "shim/sandbox.h"
#include "unit.h"

TestSuite(seccomp, .init = unit_resolve_libc);

/* A filter that makes kcmp fail, which nothing in a unit test calls. */
static void add_a_filter(void)
{
    cr_assert_eq(seccomp_filter_one(SYS_kcmp, SECCOMP_RET_ERRNO | EPERM, 0), 0, "%s", strerror(errno));
}

Test(seccomp, no_filter_since_start_is_the_same_at_every_check)
{
    char err[256] = "";
    tshim_sandbox_start();
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_SAME, "%s", err);
}

Test(seccomp, a_filter_added_after_start_is_a_change_for_good)
{
    char err[256] = "";
    tshim_sandbox_start();
    add_a_filter();
    cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_CHANGED);
    cr_assert_not_null(strstr(err, "Seccomp 0 with 0 filters at start, 2 with 1 now"), "%s", err);
    cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_CHANGED);
}

/* Started under a filter (a container's): the first check records how many, and
 * only one more is a change. */
Test(seccomp, under_a_filter_at_start_the_first_check_records_the_count)
{
    char err[256] = "";
    add_a_filter();
    tshim_sandbox_start();
    cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_SAME, "%s", err);
    cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_SAME, "%s", err);
    add_a_filter();
    cr_assert_eq(tshim_sandbox_check(err, sizeof err), TSHIM_SANDBOX_CHANGED);
    cr_assert_not_null(strstr(err, "2 with 1 filters at start, 2 with 2 now"), "%s", err);
}
