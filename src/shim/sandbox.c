/* sandbox.c: the seccomp state at the shim's start, and whether the listener's thread is still in it. */
/* SPDX-License-Identifier: MIT */
#include "sandbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fdguard.h"
#include "common/log.h"

/* A thread's seccomp state: its mode (0 none, 1 strict, 2 filter) and how many
 * filters apply to it, -1 where the kernel does not say (before Linux 5.9). */
struct tshim_sandbox_state {
    long mode, filters;
};

/* The state at start, for this process and, through fork, its children (whose
 * filters are inherited with it). Written by the constructor before the listener
 * exists, or by the first check on the listener; one listener at a time reads it. */
static struct tshim_sandbox_state tshim_sandbox_base;
static int tshim_sandbox_known;

void tshim_sandbox_start(void)
{
    int saved = errno;
    /* Here, before the host's main has run, no filter of the program's can be in
     * place yet; the state is recorded before it could be. A program started
     * under a filter (a container's, a service manager's) has its count read by
     * the first check instead: only /proc says how many. */
    if (syscall(SYS_prctl, PR_GET_SECCOMP, 0, 0, 0, 0) == 0) { /* bound already, unlike prctl */
        tshim_sandbox_base = (struct tshim_sandbox_state){0, 0};
        tshim_sandbox_known = 1;
    }
    errno = saved;
}

/* The number after field in text, or def if the field is not there. */
static long tshim_sandbox_field(const char *text, const char *field, long def)
{
    const char *p = strstr(text, field);
    return p ? strtol(p + strlen(field), NULL, 10) : def;
}

/* The calling thread's state; -1 with errno if it cannot be read. */
static int tshim_sandbox_read(struct tshim_sandbox_state *s)
{
    char text[4096];
    ssize_t n =
        tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, "/proc/thread-self/status", text, sizeof text);
    if (n < 0)
        return -1;
    if (!strstr(text, "\nSeccomp:") && (size_t)n == sizeof text - 1) {
        errno = EFBIG; /* cut before the line: no telling */
        return -1;
    }
    /* No Seccomp line at all: a kernel without seccomp, where nothing can change. */
    s->mode = tshim_sandbox_field(text, "\nSeccomp:", 0);
    s->filters = tshim_sandbox_field(text, "\nSeccomp_filters:", s->mode == 0 ? 0 : -1);
    return 0;
}

enum tshim_sandbox_verdict tshim_sandbox_check(char *err, size_t err_size)
{
    struct tshim_sandbox_state now;
    if (tshim_sandbox_read(&now) != 0) {
        char msg[64];
        int e = errno;
        snprintf(err, err_size,
                 "cannot read /proc/thread-self/status to see whether a seccomp "
                 "filter was added: %s",
                 tshim_log_strerror(e, msg, sizeof msg));
        errno = e;
        return TSHIM_SANDBOX_UNKNOWN;
    }
    if (!tshim_sandbox_known) {
        tshim_sandbox_base = now;
        tshim_sandbox_known = 1;
        return TSHIM_SANDBOX_SAME;
    }
    const struct tshim_sandbox_state *b = &tshim_sandbox_base;
    /* A filter's action cannot be read, only that one was added: any change may
     * forbid a socket, even kill the process for one. */
    if (now.mode == b->mode && (now.filters < 0 || b->filters < 0 || now.filters == b->filters))
        return TSHIM_SANDBOX_SAME;
    snprintf(err, err_size,
             "the program put toki-shim's thread under a seccomp filter after "
             "start (Seccomp %ld with %ld filters at start, %ld with %ld now)",
             b->mode, b->filters, now.mode, now.filters);
    return TSHIM_SANDBOX_CHANGED;
}
