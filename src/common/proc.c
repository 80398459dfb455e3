/* proc.c: program names from /proc and argv, glob selection, and LD_PRELOAD editing. */
/* SPDX-License-Identifier: MIT */
#include "proc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *tshim_proc_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Whether pattern p holds a character that fnmatch(3) treats specially (flags 0). */
static int tshim_proc_is_glob(const char *p)
{
    for (; *p; p++)
        if (*p == '*' || *p == '?' || *p == '[' || *p == '\\')
            return 1;
    return 0;
}

int tshim_proc_named(const char *patterns, const char *a, const char *b)
{
    /* A pattern without those characters matches only itself, so strcmp answers
     * as fnmatch would: the default lists are all plain names, and fnmatch costs
     * the start of an active shim about 20,000 instructions for them (strcmp is
     * called only past a first letter in common, for the same reason). */
    for (const char *p = patterns; *p; p += strlen(p) + 1) {
        int hit = tshim_proc_is_glob(p)
                      ? fnmatch(p, a, 0) == 0 || (b && fnmatch(p, b, 0) == 0)
                      : (p[0] == a[0] && strcmp(p, a) == 0) ||
                            (b && p[0] == b[0] && strcmp(p, b) == 0);
        if (hit)
            return 1;
    }
    return 0;
}

int tshim_proc_selected(const char *only, const char *skip, const char *exe_name,
                        const char *argv0_name)
{
    if (*only && !tshim_proc_named(only, exe_name, argv0_name))
        return 0;
    if (*skip && tshim_proc_named(skip, exe_name, argv0_name))
        return 0;
    return 1;
}

int tshim_proc_strip_preload(const char *value, const char *self_name, char *out, size_t size)
{
    size_t n = 0;
    const char *p = value;
    if (size == 0)
        return -1;
    /* The dynamic loader separates LD_PRELOAD entries by colons or spaces. */
    while (*p) {
        size_t len = strcspn(p, ": \t");
        if (len > 0) {
            const char *entry = p;
            const char *base = entry + len;
            while (base > entry && base[-1] != '/')
                base--;
            int ours = (size_t)(entry + len - base) == strlen(self_name) &&
                       memcmp(base, self_name, strlen(self_name)) == 0;
            if (!ours) {
                if (n + (n > 0) + len >= size)
                    return -1;
                if (n > 0)
                    out[n++] = ':';
                memcpy(out + n, entry, len);
                n += len;
            }
        }
        p += len;
        if (*p)
            p++;
    }
    out[n] = '\0';
    return 0;
}

size_t tshim_proc_decimal(char *out, unsigned long v)
{
    char digits[20];
    size_t n = 0, at = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n > 0)
        out[at++] = digits[--n];
    return at;
}

int tshim_proc_multicall(const char *name)
{
    return strcmp(name, "busybox") == 0 || strcmp(name, "toybox") == 0;
}

int tshim_proc_applet_of(const char *cmdline, const char *multi, char *out, size_t size)
{
    char buf[512];
    int fd = open(cmdline, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    syscall(SYS_close, fd); /* the library's close() would go through its override */
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* The arguments, each ended by a NUL: run by another name (a link named sh),
     * that name; run by its own (busybox sh), the first argument. */
    const char *name = tshim_proc_basename(buf);
    if (strcmp(name, multi) == 0) {
        size_t first = strlen(buf) + 1;
        if ((ssize_t)first >= n)
            return -1;
        name = tshim_proc_basename(buf + first);
    }
    size_t len = strlen(name);
    if (len == 0 || len >= size)
        return -1;
    memcpy(out, name, len + 1);
    return 0;
}

/* "busybox less": both names become the applet's, so that the lists match what
 * runs (less, sh, xargs), never the multi-call binary. */
static void tshim_proc_applet(char *exe, size_t exe_size, const char **argv0)
{
    static char applet[64];
    if (tshim_proc_applet_of("/proc/self/cmdline", exe, applet, sizeof applet) != 0 ||
        strlen(applet) >= exe_size)
        return;
    memcpy(exe, applet, strlen(applet) + 1);
    *argv0 = applet;
}

void tshim_proc_names(char *exe, size_t exe_size, const char **argv0)
{
    char path[PATH_MAX];
    /* syscall: bound already at start, where readlink would cost a lazy binding. */
    long n = syscall(SYS_readlinkat, AT_FDCWD, "/proc/self/exe", path, sizeof path - 1);
    exe[0] = '\0';
    if (n > 0) {
        path[n] = '\0';
        const char *base = tshim_proc_basename(path);
        size_t len = strlen(base);
        if (len < exe_size)
            memcpy(exe, base, len + 1);
    }
    /* glibc sets this from argv[0] before any library constructor runs. */
    extern char *program_invocation_name;
    *argv0 = program_invocation_name ? tshim_proc_basename(program_invocation_name) : NULL;
    if (tshim_proc_multicall(exe) && *argv0 && strcmp(*argv0, exe) == 0)
        tshim_proc_applet(exe, exe_size, argv0);
}

void tshim_proc_uninherit(void)
{
    Dl_info info;
    const char *value = getenv("LD_PRELOAD");
    char kept[4096];
    if (!value || !dladdr((void *)tshim_proc_uninherit, &info) || !info.dli_fname)
        return;
    if (tshim_proc_strip_preload(value, tshim_proc_basename(info.dli_fname), kept, sizeof kept) !=
        0)
        return;
    int saved = errno;
    if (kept[0])
        setenv("LD_PRELOAD", kept, 1);
    else
        unsetenv("LD_PRELOAD");
    errno = saved;
}

void tshim_proc_scrub_token(void)
{
    int saved = errno;
    char *value = getenv("TOKI_TOKEN");
    if (value) {
        /* Volatile stores: the compiler may not drop a wipe it sees no reader for. */
        for (volatile char *p = value; *p; p++)
            *p = 'x';
        unsetenv("TOKI_TOKEN");
    }
    errno = saved;
}

int tshim_proc_threads(void)
{
    char buf[4096];
    size_t have = 0;
    long n = 0, threads = -1;
    int saved = errno;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && have < sizeof buf - 1 &&
           ((n = syscall(SYS_read, fd, buf + have, sizeof buf - 1 - have)) > 0 ||
            (n < 0 && errno == EINTR)))
        have += n > 0 ? (size_t)n : 0;
    if (fd >= 0)
        syscall(SYS_close, fd);
    buf[have] = '\0';
    const char *t = strstr(buf, "\nThreads:");
    if (t) {
        char *end;
        threads = strtol(t + strlen("\nThreads:"), &end, 10);
        if (end == t + strlen("\nThreads:") || threads <= 0 || threads > INT_MAX)
            threads = -1;
    }
    errno = saved;
    return (int)threads;
}
