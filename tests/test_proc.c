/* test_proc.c: program selection globs, LD_PRELOAD editing, and the count of threads. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "common/proc.h"

Test(proc, basename)
{
    cr_assert_str_eq(tshim_proc_basename("/usr/bin/nginx"), "nginx");
    cr_assert_str_eq(tshim_proc_basename("nginx"), "nginx");
    cr_assert_str_eq(tshim_proc_basename("/x/"), "");
}

Test(proc, selection)
{
    cr_assert(tshim_proc_selected("", "", "nginx", "nginx"));
    cr_assert(tshim_proc_selected("ngin*\0", "", "nginx", NULL));
    cr_assert(tshim_proc_selected("python3*\0my-app\0", "", "python3.11", "my-app"));
    cr_assert(tshim_proc_selected("my-app\0", "", "python3.11", "my-app"), "argv[0] counts too");
    cr_assert_not(tshim_proc_selected("nginx\0", "", "sh", "sh"));
    cr_assert_not(tshim_proc_selected("", "sh\0bash\0", "bash", "bash"));
    cr_assert_not(tshim_proc_selected("", "sh\0", "dash", "sh"), "argv[0] sh, exe dash");
    cr_assert(tshim_proc_selected("", "sh\0", "nginx", "nginx"));
    cr_assert_not(tshim_proc_selected("", "[bd]ash\0", "dash", "dash"));
}

/* A plain name is compared with strcmp, a glob goes to fnmatch: both answer alike. */
Test(proc, named_as_fnmatch)
{
    static const char *const pats[] = {"sh", "bash", "a.b", ".x", "x/y", "py*", "[bd]ash", "\\*",
                                       "a?c", "-", ""};
    static const char *const names[] = {"sh", "bash", "dash", "a.b", "axb", ".x", "x/y",
                                        "python3", "*", "abc", "-", "sh "};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0] - 1; i++)
        for (size_t j = 0; j < sizeof names / sizeof names[0]; j++) {
            char list[16] = {0};
            memcpy(list, pats[i], strlen(pats[i]));
            cr_assert_eq(tshim_proc_named(list, names[j], NULL),
                         fnmatch(pats[i], names[j], 0) == 0, "%s against %s", pats[i], names[j]);
            cr_assert_eq(tshim_proc_named(list, "none", names[j]),
                         fnmatch(pats[i], names[j], 0) == 0, "%s against argv[0] %s", pats[i],
                         names[j]);
        }
}

static const char *strip(const char *value)
{
    static char out[256];
    cr_assert_eq(tshim_proc_strip_preload(value, "libtoki_shim.so", out, sizeof out), 0);
    return out;
}

Test(proc, strip_preload)
{
    cr_assert_str_eq(strip("/usr/local/lib/libtoki_shim.so"), "");
    cr_assert_str_eq(strip("/a/libx.so /usr/lib/libtoki_shim.so:/b/liby.so"), "/a/libx.so:/b/liby.so");
    cr_assert_str_eq(strip("libtoki_shim.so::libx.so"), "libx.so");
    cr_assert_str_eq(strip("  /a/libx.so  "), "/a/libx.so");
    cr_assert_str_eq(strip("/a/libtoki_shim.so.bak /a/notlibtoki_shim.so"),
                     "/a/libtoki_shim.so.bak:/a/notlibtoki_shim.so");
    cr_assert_str_eq(strip("/a/libtoki_shim.so /b/libtoki_shim.so"), "", "every copy of the shim");
    char small[4];
    cr_assert_eq(tshim_proc_strip_preload("/a/libx.so", "libtoki_shim.so", small, sizeof small), -1);
}

Test(proc, names_of_this_process)
{
    char exe[64];
    const char *argv0;
    tshim_proc_names(exe, sizeof exe, &argv0);
    cr_assert_str_eq(exe, "test_proc");
    cr_assert_not_null(argv0);
}

/* A thread that waits on a pipe until the test writes to it. */
static void *wait_on(void *arg)
{
    char c;
    (void)!read(*(int *)arg, &c, 1);
    return NULL;
}

Test(proc, threads_are_counted_and_errno_is_kept)
{
    int p[2];
    pthread_t t;
    cr_assert_eq(pipe(p), 0);
    int before = tshim_proc_threads();
    cr_assert_gt(before, 0);
    pthread_create(&t, NULL, wait_on, &p[0]);
    errno = EXDEV;
    cr_assert_eq(tshim_proc_threads(), before + 1);
    cr_assert_eq(errno, EXDEV);
    cr_assert_eq(write(p[1], "x", 1), 1);
    pthread_join(t, NULL); /* the count may lag the join by a moment: not checked */
}
