/* role.c: the role of a process in the service's tree, kept in its environment so that an exec keeps it. */
/* SPDX-License-Identifier: MIT */
#include "role.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/proc.h"
#include "real.h"

/* What this process did with the role: 0 nothing, 'h' or 's' took it, 'l' removed
 * it as a launcher. */
static char tshim_role_done;
static char tshim_role_value[32]; /* "PID:K" as recorded */

/* TOKI_SHIM_ROLE as pid and kind; 0 if unset or malformed (then no role counts as
 * recorded: a process that cannot read it takes one rather than leave the service
 * without a listener). */
static int tshim_role_recorded(const char *v, long *pid, char *kind)
{
    if (!v || v[0] < '1' || v[0] > '9')
        return 0;
    char *end;
    errno = 0;
    long p = strtol(v, &end, 10);
    if (errno || p <= 0 || p > 4194304 || end[0] != ':' || (end[1] != 'h' && end[1] != 's') ||
        end[2] != '\0')
        return 0;
    *pid = p;
    *kind = end[1];
    return 1;
}

/* getpid, getppid and the like go through syscall(2) on the start path: the first
 * call of each libc function costs a lazy binding (about 800 instructions and
 * often a page of libc), and syscall is bound already. */
int tshim_role_started_by_holder(const char *recorded)
{
    int saved = errno;
    long pid;
    char kind;
    int yes = tshim_role_recorded(recorded, &pid, &kind) && kind == 'h' && pid == syscall(SYS_getppid);
    errno = saved;
    return yes;
}

/* The parent of process pid and its name (comm), from /proc/PID/stat; -1 if it
 * cannot be read. A plain descriptor, not the fd guard's: this runs in the
 * constructor, before any code of the host's can close or reuse the number, and
 * the guard's wait for descriptors 0-2 has no place on the start path. */
static long tshim_role_parent(long pid, char *comm, size_t size)
{
    char path[48], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    tshim_real.close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')'
     * ends it. */
    char *from = strchr(buf, '('), *to = strrchr(buf, ')');
    if (!from || !to || to < from || to[1] != ' ' || !to[2] || to[3] != ' ')
        return -1;
    snprintf(comm, size, "%.*s", (int)(to - from - 1), from + 1);
    return strtol(to + 4, NULL, 10);
}

int tshim_role_eligible(const struct tshim_config *c, const char *recorded)
{
    int saved = errno, yes = 0;
    long pid, at;
    char kind, comm[64];
    if (!tshim_role_recorded(recorded, &pid, &kind) || pid == syscall(SYS_getpid)) {
        errno = saved;
        return 1;
    }
    at = syscall(SYS_getppid);
    /* Up from the parent, through subshells (forked copies of a shell, which keep
     * its name), to the shell that recorded the role. */
    for (int depth = 0; depth < 16 && at > 1; depth++) {
        if (at == pid) {
            yes = kind == 's';
            break;
        }
        long up = tshim_role_parent(at, comm, sizeof comm);
        if (up < 0 || !tshim_proc_named(c->shells, comm, NULL))
            break;
        at = up;
    }
    errno = saved;
    return yes;
}

static void tshim_role_record(char kind)
{
    tshim_role_done = kind;
    if (kind != 'l') {
        /* "PID:K" by hand: snprintf would be the start's only use of libc's printf. */
        size_t n = tshim_proc_decimal(tshim_role_value, (unsigned long)syscall(SYS_getpid));
        tshim_role_value[n] = ':';
        tshim_role_value[n + 1] = kind;
        tshim_role_value[n + 2] = '\0';
    }
    tshim_role_publish();
}

int tshim_role_publish(void)
{
    int saved = errno, r = 0;
    if (tshim_role_done == 'l')
        r = tshim_real_env_unset(TSHIM_ROLE_VAR) == 0;
    else if (tshim_role_value[0])
        r = tshim_real_env_set(TSHIM_ROLE_VAR, tshim_role_value) == 0;
    errno = saved;
    return r;
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
