/* test_preload.c: the verdict that sends a program to supervisor mode: static, setuid, setgid, file capabilities. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/preload.h"

static char dir[64], copy[128];

static void scratch(void)
{
    snprintf(dir, sizeof dir, "/tmp/toki-preload-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(copy, sizeof copy, "%s/prog", dir);
    char cp[160];
    snprintf(cp, sizeof cp, "cp /bin/true %s", copy);
    cr_assert_eq(system(cp), 0);
    cr_assert_eq(chmod(copy, 0755), 0);
}

static void cleanup(void)
{
    unlink(copy);
    rmdir(dir);
}

TestSuite(preload, .init = scratch, .fini = cleanup);

Test(preload, a_dynamic_program_and_a_script_can_be_preloaded)
{
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_OK);
    FILE *f = fopen(copy, "w");
    fputs("#!/bin/sh\nexit 0\n", f);
    fclose(f);
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_OK, "a script's interpreter is preloaded");
}

Test(preload, a_static_program_cannot)
{
    cr_assert_eq(tshim_preload_verdict(BUILD_DIR "/tests/hosts/host_static"), TSHIM_PRELOAD_STATIC);
    cr_assert_not_null(strstr(tshim_preload_reason(TSHIM_PRELOAD_STATIC), "statically linked"));
}

Test(preload, a_script_whose_interpreter_is_static_cannot)
{
    FILE *f = fopen(copy, "w");
    fputs("#! " BUILD_DIR "/tests/hosts/host_static -x\nexit 0\n", f);
    fclose(f);
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_STATIC, "the kernel runs its interpreter");
}

Test(preload, setuid_and_setgid_programs_cannot)
{
    cr_assert_eq(chmod(copy, 04755), 0);
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_SETUID);
    cr_assert_eq(chmod(copy, 02755), 0);
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_SETGID);
    /* Set-group-id without group execute is mandatory locking: no privilege. */
    cr_assert_eq(chmod(copy, 02745), 0);
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_OK);
    cr_assert_not_null(strstr(tshim_preload_reason(TSHIM_PRELOAD_SETUID), "setuid"));
}

Test(preload, a_program_with_file_capabilities_cannot)
{
    /* What setcap cap_net_bind_service+ep writes: a version 2 capability set. */
    struct vfs_cap_data cap;
    memset(&cap, 0, sizeof cap);
    cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
    cap.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
    if (setxattr(copy, "security.capability", &cap, XATTR_CAPS_SZ_2, 0) != 0)
        cr_skip_test("cannot set file capabilities here: %s", strerror(errno));
    cr_assert_eq(tshim_preload_verdict(copy), TSHIM_PRELOAD_CAPS);
    cr_assert_not_null(strstr(tshim_preload_reason(TSHIM_PRELOAD_CAPS), "capabilities"));
}

Test(preload, a_missing_file_is_left_to_exec)
{
    cr_assert_eq(tshim_preload_verdict("/nonexistent/prog"), TSHIM_PRELOAD_OK);
}
