/* real.c: resolves libc's own close, dup2, fork, exit and the rest, once, into one table. */
/* SPDX-License-Identifier: MIT */
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/elf.h"

/* What stands in for a function that this libc does not have. */
static int tshim_real_sys_close_range(unsigned first, unsigned last, int flags)
{
#ifdef SYS_close_range
    return (int)syscall(SYS_close_range, first, last, flags);
#else
    (void)first, (void)last, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

static void tshim_real_sys_closefrom(int lowfd)
{
    tshim_real_sys_close_range(lowfd < 0 ? 0u : (unsigned)lowfd, ~0u, 0);
}

static void tshim_real_resolve_all(int fast);

/* The stubs the table starts with: resolve, then call what was resolved. */
static int tshim_real_first_close(int fd)
{
    tshim_real_resolve_all(0);
    return tshim_real.close(fd);
}

static int tshim_real_first_close_range(unsigned first, unsigned last, int flags)
{
    tshim_real_resolve_all(0);
    return tshim_real.close_range(first, last, flags);
}

static void tshim_real_first_closefrom(int lowfd)
{
    tshim_real_resolve_all(0);
    tshim_real.closefrom(lowfd);
}

static int tshim_real_first_dup(int oldfd)
{
    tshim_real_resolve_all(0);
    return tshim_real.dup(oldfd);
}

static int tshim_real_first_dup2(int oldfd, int newfd)
{
    tshim_real_resolve_all(0);
    return tshim_real.dup2(oldfd, newfd);
}

static int tshim_real_first_dup3(int oldfd, int newfd, int flags)
{
    tshim_real_resolve_all(0);
    return tshim_real.dup3(oldfd, newfd, flags);
}

/* fcntl's third argument, when there is one, is an int or a pointer: passed on
 * as a pointer, as libc itself reads it. */
static int tshim_real_first_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    tshim_real_resolve_all(0);
    return tshim_real.fcntl(fd, cmd, arg);
}

static int tshim_real_first_fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    tshim_real_resolve_all(0);
    return tshim_real.fcntl64(fd, cmd, arg);
}

static pid_t tshim_real_first_fork(void)
{
    tshim_real_resolve_all(0);
    return tshim_real.fork();
}

static void tshim_real_first_exit(int status)
{
    tshim_real_resolve_all(0);
    tshim_real.exit(status);
}

static int tshim_real_first_libc_start_main(tshim_real_main_fn main_fn, int argc, char **argv,
                                            void *init, void *fini, void *rtld_fini,
                                            void *stack_end)
{
    tshim_real_resolve_all(0);
    return tshim_real.libc_start_main(main_fn, argc, argv, init, fini, rtld_fini, stack_end);
}

static int tshim_real_first_daemon(int nochdir, int noclose)
{
    tshim_real_resolve_all(0);
    return tshim_real.daemon(nochdir, noclose);
}

static int tshim_real_first_sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    tshim_real_resolve_all(0);
    return tshim_real.sigprocmask(how, set, old);
}

static int tshim_real_first_pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    tshim_real_resolve_all(0);
    return tshim_real.pthread_sigmask(how, set, old);
}

static int tshim_real_first_pthread_key_delete(pthread_key_t key)
{
    tshim_real_resolve_all(0);
    return tshim_real.pthread_key_delete(key);
}

/* The system call, for a libc without the function (never glibc or musl). */
static int tshim_real_sys_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    return (int)syscall(SYS_rt_sigprocmask, how, set, old, 8);
}

static int tshim_real_no_key_delete(pthread_key_t key)
{
    (void)key;
    return EINVAL;
}

static int tshim_real_no_daemon(int nochdir, int noclose)
{
    (void)nochdir, (void)noclose;
    errno = ENOSYS;
    return -1;
}

static pid_t tshim_real_no_fork(void)
{
    errno = ENOSYS;
    return -1;
}

/* Runs main without libc's start-up, which this libc would not have offered. */
static int tshim_real_no_start_main(tshim_real_main_fn main_fn, int argc, char **argv, void *init,
                                    void *fini, void *rtld_fini, void *stack_end)
{
    (void)init, (void)fini, (void)rtld_fini, (void)stack_end;
    exit(main_fn(argc, argv, argv + argc + 1));
}

static int tshim_real_sys_close(int fd)
{
    return (int)syscall(SYS_close, fd);
}

static int tshim_real_sys_dup(int oldfd)
{
    return (int)syscall(SYS_dup, oldfd);
}

static int tshim_real_sys_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

static int tshim_real_sys_dup2(int oldfd, int newfd)
{
    return (int)syscall(SYS_dup2, oldfd, newfd);
}

static int tshim_real_sys_dup3(int oldfd, int newfd, int flags)
{
    return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

/* Calls bound only if made: a function's address in the table would be a symbol
 * lookup at every load. */
static int tshim_real_plain_setenv(const char *name, const char *value, int overwrite)
{
    return setenv(name, value, overwrite);
}

static int tshim_real_plain_unsetenv(const char *name)
{
    return unsetenv(name);
}

static int tshim_real_plain_putenv(char *entry)
{
    return putenv(entry);
}

static void tshim_real_plain_exit(int status)
{
    _exit(status);
}

/* libc's own setenv, unsetenv and putenv: the host's may be another's (bash defines its
 * own), and the role must reach the environment that exec passes on. */
static int (*tshim_real_setenv)(const char *, const char *, int) = tshim_real_plain_setenv;
static int (*tshim_real_unsetenv)(const char *) = tshim_real_plain_unsetenv;
static int (*tshim_real_putenv)(char *) = tshim_real_plain_putenv;

static size_t tshim_real_no_min_stack(const pthread_attr_t *attr)
{
    (void)attr;
    long m = sysconf(_SC_THREAD_STACK_MIN);
    return m > 0 ? (size_t)m : 16384;
}

static size_t (*tshim_real_min_stack_fn)(const pthread_attr_t *) = tshim_real_no_min_stack;

size_t tshim_real_min_stack(const pthread_attr_t *attr)
{
    return tshim_real_min_stack_fn(attr);
}

/* The table: each entry's field, the name libc defines it under, and what stands
 * in where libc lacks it. An entry is this line, its field in real.h and its stub
 * (tshim_real_first_<field>, above). fork, exit and __libc_start_main are in
 * every libc this library can be loaded into (a program's _start calls the last);
 * their stand-ins are for form's sake. fcntl64 is, before glibc 2.28 and on
 * 64-bit systems, fcntl. */
#define TSHIM_REAL_TABLE(X)                                                     \
    X(close, "close", tshim_real_sys_close)                                     \
    X(close_range, "close_range", tshim_real_sys_close_range)                   \
    X(closefrom, "closefrom", tshim_real_sys_closefrom)                         \
    X(dup, "dup", tshim_real_sys_dup)                                           \
    X(dup2, "dup2", tshim_real_sys_dup2)                                        \
    X(dup3, "dup3", tshim_real_sys_dup3)                                        \
    X(fcntl, "fcntl", tshim_real_sys_fcntl)                                     \
    X(fcntl64, "fcntl64", tshim_real_sys_fcntl)                                 \
    X(fork, "fork", tshim_real_no_fork)                                         \
    X(exit, "exit", tshim_real_plain_exit)                                      \
    X(libc_start_main, "__libc_start_main", tshim_real_no_start_main)           \
    X(daemon, "daemon", tshim_real_no_daemon)                                   \
    X(sigprocmask, "sigprocmask", tshim_real_sys_sigmask)                       \
    X(pthread_sigmask, "pthread_sigmask", tshim_real_sys_sigmask)               \
    X(pthread_key_delete, "pthread_key_delete", tshim_real_no_key_delete)

#define TSHIM_REAL_STUB(field, name, fallback) .field = tshim_real_first_##field,
struct tshim_real tshim_real = {TSHIM_REAL_TABLE(TSHIM_REAL_STUB)};

/* A field of real.h's table with no line in the list would stay NULL: refused here. */
#define TSHIM_REAL_ONE(field, name, fallback) +1 /* NOLINT(bugprone-macro-parentheses): a sum */
_Static_assert(sizeof(struct tshim_real) == (0 TSHIM_REAL_TABLE(TSHIM_REAL_ONE)) * sizeof(void *),
               "every field of struct tshim_real has its line in TSHIM_REAL_TABLE");

struct tshim_real_entry {
    void *slot; /* where the function's address goes */
    const char *name;
    void *fallback;
};

/* Each entry gets the next definition of its name after this library's: libc's.
 * fast: found in the loaded objects' own symbol tables, as dlsym(RTLD_NEXT) finds
 * it (a dlsym call costs about 1,000 instructions, at every start, inert too); dlsym for
 * a name that lookup leaves open, and for all of them when not fast: a stub's call
 * may come from inside another library's dl_iterate_phdr callback, where a second
 * walk would wait for the loader's lock forever. The entries are made here, not in
 * a static array, so that their addresses cost no relocation at load. */
static void tshim_real_resolve_all(int fast)
{
#define TSHIM_REAL_ENTRY(field, name, fallback) {&tshim_real.field, name, (void *)(fallback)},
    const struct tshim_real_entry e[] = {
        TSHIM_REAL_TABLE(TSHIM_REAL_ENTRY)
        /* Resolved with the table, called through functions of their own. */
        {&tshim_real_setenv, "setenv", (void *)tshim_real_plain_setenv},
        {&tshim_real_unsetenv, "unsetenv", (void *)tshim_real_plain_unsetenv},
        {&tshim_real_putenv, "putenv", (void *)tshim_real_plain_putenv},
        {&tshim_real_min_stack_fn, "__pthread_get_minstack", (void *)tshim_real_no_min_stack},
    };
#undef TSHIM_REAL_ENTRY
    enum { n = sizeof e / sizeof e[0] };
    const char *names[n];
    void *found[n] = {NULL};
    int saved = errno; /* dlsym may set it; a call that then succeeds must not show it */
    for (int i = 0; i < n; i++)
        names[i] = e[i].name;
    if (fast)
        tshim_elf_next_symbols((const void *)tshim_real_resolve_all, names, found, n);
    for (int i = 0; i < n; i++) {
        void *f = found[i] ? found[i] : dlsym(RTLD_NEXT, e[i].name);
        *(void **)e[i].slot = f ? f : e[i].fallback;
    }
    errno = saved;
}

void tshim_real_init(void)
{
    tshim_real_resolve_all(1);
}

int tshim_real_env_set(const char *name, const char *value)
{
    return tshim_real_setenv(name, value, 1);
}

int tshim_real_env_unset(const char *name)
{
    return tshim_real_unsetenv(name);
}

int tshim_real_env_put(char *entry)
{
    return tshim_real_putenv(entry);
}
