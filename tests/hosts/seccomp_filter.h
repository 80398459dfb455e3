/* seccomp_filter.h: a test host's one-rule seccomp filter: one system call gets a given action, every other is allowed. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SECCOMP_FILTER_H
#define TSHIM_SECCOMP_FILTER_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* System call numbers mean different calls in each ABI: the filter acts only on
 * calls made through this build's. */
#if defined(__x86_64__)
#define SECCOMP_FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_FILTER_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define SECCOMP_FILTER_ARCH AUDIT_ARCH_I386
#else
#error "seccomp_filter.h: name this architecture's AUDIT_ARCH_ value"
#endif

/* Sets PR_SET_NO_NEW_PRIVS (which lets a process without CAP_SYS_ADMIN install a
 * filter), then a filter that returns action for system call nr and allows every
 * other: action is SECCOMP_RET_ERRNO | e (the call fails with errno e) or
 * SECCOMP_RET_KILL_PROCESS. flags: 0 (the calling thread, and threads it starts
 * later) or SECCOMP_FILTER_FLAG_TSYNC (every thread of the process). Returns 0, or
 * -1 with errno. */
static inline int seccomp_filter_one(long nr, unsigned action, unsigned flags)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_FILTER_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -1;
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
    if (r > 0) {
        /* TSYNC: the id of a thread that could not take the filter. */
        errno = ESRCH;
        return -1;
    }
    return (int)r;
}

#endif
