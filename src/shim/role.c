/* role.c: the role of a process in the service's tree, kept in its environment so that an exec keeps it. */
/* SPDX-License-Identifier: MIT */
#include "role.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/config.h"
#include "common/proc.h"
#include "real.h"

/* What this process did with the role: 0 nothing, 'h' or 's' took it, 'l' removed
 * it as a launcher, 'n' stays inert and keeps its tree so (a configuration error). */
static char tshim_role_done;
/* "PID:K", or "PID:s:START" for a shell, as recorded: at most 7 + 3 + 20 digits and
 * a NUL. Under 32 bytes, so that it keeps to the small variables' page (the
 * library is linked with its data sorted by alignment). */
static char tshim_role_value[31];

struct tshim_role_record {
    long pid;
    char kind;                /* 'h', 's' or 'n' */
    unsigned long long start; /* a shell's start time (clock ticks after boot), or 0 */
};

/* TOKI_SHIM_ROLE parsed; 0 if unset or malformed (then no role counts as
 * recorded: a process that cannot read it takes one rather than leave the service
 * without a listener). */
static int tshim_role_recorded(const char *v, struct tshim_role_record *r)
{
    const char *end;
    if (!v || v[0] < '1' || v[0] > '9')
        return 0;
    long long p = tshim_config_read_decimal(v, 4194304, &end);
    if (p < 0 || end[0] != ':' || (end[1] != 'h' && end[1] != 's' && end[1] != 'n'))
        return 0;
    r->pid = p;
    r->kind = end[1];
    r->start = 0;
    if (end[2] == '\0')
        return 1;
    if (end[1] != 's' || end[2] != ':')
        return 0;
    long long start = tshim_config_read_decimal(end + 3, LLONG_MAX, &end);
    r->start = (unsigned long long)start;
    return start >= 0 && *end == '\0';
}

/* getpid, getppid and the like go through syscall(2) on the start path: the first
 * call of each libc function costs a lazy binding (about 800 instructions and
 * often a page of libc), and syscall is bound already. */
int tshim_role_started_by_holder(const char *recorded)
{
    int saved = errno;
    struct tshim_role_record r;
    int yes = tshim_role_recorded(recorded, &r) && r.kind != 's' && r.pid == syscall(SYS_getppid);
    errno = saved;
    return yes;
}

int tshim_role_refused(const char *recorded, int scoped)
{
    int saved = errno;
    struct tshim_role_record r;
    int yes = scoped && tshim_role_recorded(recorded, &r) &&
              (r.kind == 'n' || (r.kind == 'h' && r.pid != syscall(SYS_getpid)));
    errno = saved;
    return yes;
}

/* What /proc/PID/stat says of process pid: its name (comm), parent and start time.
 * Returns -1 if it cannot be read. A plain descriptor, not the fd guard's: this
 * runs in the constructor, before any code of the host's can close or reuse the
 * number, and the guard's wait for descriptors 0-2 has no place on the start path. */
struct tshim_role_proc {
    char comm[64];
    long parent;
    unsigned long long start;
};

static int tshim_role_stat(long pid, struct tshim_role_proc *out)
{
    char path[48], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    tshim_real.close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "pid (comm) S ppid ... starttime(22nd) ...": comm may hold spaces and
     * parentheses; the last ')' ends it. */
    char *from = strchr(buf, '('), *to = strrchr(buf, ')');
    if (!from || !to || to < from || to[1] != ' ' || !to[2] || to[3] != ' ')
        return -1;
    snprintf(out->comm, sizeof out->comm, "%.*s", (int)(to - from - 1), from + 1);
    char *p = to + 4;
    out->parent = strtol(p, &p, 10);
    for (int field = 5; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    out->start = p ? strtoull(p + 1, NULL, 10) : 0;
    return 0;
}

/* The first publication, in the constructor, is putenv(3) of an entry of ours:
 * setenv(3) would allocate the entry and remember it in a search tree, a page of
 * libc's code and a page fault more at every start of the service. The entry is
 * never written again (a string the environment holds must not change under a
 * reader): later publications, rare, are setenv's. Aligned 16 by hand: gcc aligns
 * an array of 32 bytes or more to 32, and the library's data is sorted by
 * alignment, which would link it among the big buffers where TSHIM_COLD does not
 * set them apart (clang, sanitizers), a page away from the small variables. */
static char tshim_role_entry[sizeof TSHIM_ROLE_VAR "=" + sizeof tshim_role_value]
    __attribute__((aligned(16)));

static char *tshim_role_entry_make(void)
{
    char *d = tshim_role_entry;
    for (const char *s = TSHIM_ROLE_VAR "="; *s;)
        *d++ = *s++;
    for (const char *v = tshim_role_value; (*d++ = *v++) != '\0';)
        ;
    return tshim_role_entry;
}

/* Writes the recorded role into the environment, with libc's own functions (bash
 * defines a setenv of its own that does nothing before its main runs). */
static void tshim_role_publish(void)
{
    int saved = errno;
    if (tshim_role_done == 'l')
        tshim_real_env_unset(TSHIM_ROLE_VAR);
    else if (tshim_role_value[0] && !tshim_role_entry[0])
        tshim_real_env_put(tshim_role_entry_make());
    else if (tshim_role_value[0])
        tshim_real_env_set(TSHIM_ROLE_VAR, tshim_role_value);
    errno = saved;
}

/* Whether process pid runs a shell: its name, or its executable's (a script run
 * by its path carries the script's name, as do its subshells), or for busybox or
 * toybox its applet's (busybox sh and its subshells, not busybox find). */
static int tshim_role_is_shell(const struct tshim_config *c, long pid, const char *comm)
{
    char path[48], exe[256];
    if (tshim_proc_named(c->shells, comm, NULL))
        return 1;
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    long n = syscall(SYS_readlinkat, AT_FDCWD, path, exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    const char *base = tshim_proc_basename(exe);
    if (!tshim_proc_multicall(base))
        return tshim_proc_named(c->shells, base, NULL);
    char applet[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    return tshim_proc_applet_of(path, base, applet, sizeof applet) == 0 &&
           tshim_proc_named(c->shells, applet, NULL);
}

int tshim_role_eligible(const struct tshim_config *c, const char *recorded)
{
    int saved = errno, yes = 0;
    struct tshim_role_record r;
    if (!tshim_role_recorded(recorded, &r) || (r.kind != 'n' && r.pid == syscall(SYS_getpid))) {
        errno = saved;
        return 1;
    }
    /* Only a shell's tree gives roles: what a listening service or an inert
     * program starts (or execs into, for 'n') stays inert. */
    if (r.kind != 's') {
        errno = saved;
        return 0;
    }
    /* Up from the parent, through subshells (forked copies of a shell), to the
     * shell that recorded the role. An ancestor older than that shell means this
     * process left its tree: a background job whose shell (or subshell) has exited
     * was given to init or a subreaper, and is the shell's all the same. */
    long at = syscall(SYS_getppid);
    struct tshim_role_proc p;
    for (int depth = 0; depth < 16; depth++) {
        if (at == r.pid || at <= 1) {
            yes = 1;
            break;
        }
        if (tshim_role_stat(at, &p) != 0)
            break;
        if (r.start && p.start < r.start) {
            yes = 1;
            break;
        }
        if (!tshim_role_is_shell(c, at, p.comm))
            break;
        at = p.parent;
    }
    errno = saved;
    return yes;
}

static void tshim_role_record(char kind)
{
    tshim_role_done = kind;
    if (kind != 'l') {
        /* "PID:K" by hand: snprintf would be the start's only use of libc's printf. */
        long pid = syscall(SYS_getpid);
        size_t n = tshim_proc_decimal(tshim_role_value, (unsigned long)pid);
        tshim_role_value[n++] = ':';
        tshim_role_value[n++] = kind;
        /* A shell adds its start time, by which a background job that outlives it
         * still knows itself the shell's (tshim_role_eligible). */
        struct tshim_role_proc self;
        if (kind == 's' && tshim_role_stat(pid, &self) == 0 && self.start) {
            tshim_role_value[n++] = ':';
            n += tshim_proc_decimal(tshim_role_value + n, (unsigned long)self.start);
        }
        tshim_role_value[n] = '\0';
    }
    tshim_role_publish();
}

/* Whether environ already says what this process recorded: "NAME=value", or for
 * a launcher no NAME at all. */
static int tshim_role_in_environ(void)
{
    extern char **environ;
    static const char name[] = TSHIM_ROLE_VAR "=";
    for (char **e = environ; e && *e; e++) {
        size_t i = 0;
        while (name[i] && (*e)[i] == name[i])
            i++;
        if (name[i])
            continue;
        if (tshim_role_done == 'l')
            return 0;
        const char *v = *e + i, *want = tshim_role_value;
        while (*want && *v == *want)
            v++, want++;
        return *v == '\0' && *want == '\0';
    }
    return tshim_role_done == 'l';
}

int tshim_role_published(void)
{
    return tshim_role_done && tshim_role_done != 'a';
}

void tshim_role_republish(void)
{
    if (tshim_role_published() && !tshim_role_in_environ())
        tshim_role_publish();
}

int tshim_role_take(const struct tshim_config *c, const char *exe, const char *argv0)
{
    if (tshim_proc_named(c->launchers, exe, argv0)) {
        tshim_role_record('l');
        return 0;
    }
    tshim_role_record(tshim_proc_named(c->shells, exe, argv0) ? 's' : 'h');
    return 1;
}

void tshim_role_refuse(void)
{
    tshim_role_record('n');
}

void tshim_role_decline(const char *recorded)
{
    struct tshim_role_record r;
    if (tshim_role_recorded(recorded, &r) && r.kind == 's')
        tshim_role_record('n');
}

void tshim_role_assume(void)
{
    tshim_role_done = 'a';
}

int tshim_role_follow(void)
{
    if (tshim_role_done != 'h' && tshim_role_done != 's' && tshim_role_done != 'a')
        return 0;
    if (tshim_role_done != 'a')
        tshim_role_record(tshim_role_done);
    return 1;
}
