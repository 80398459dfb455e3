/* test_proc.c: program selection globs and LD_PRELOAD editing. */
#include <criterion/criterion.h>
#include <string.h>

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
