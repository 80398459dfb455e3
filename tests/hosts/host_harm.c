/* host_harm.c: hosts that once hung, leaked or lost the shim: exit under a lock, forks during a hook, pthread_exit, setuid. */
/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "toki_shim.h"

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE 2
#endif

static const char *mode = "", *mode_arg; /* argv[1], argv[2] */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int to_main[2], to_hook[2]; /* the hook and main tell each other where they are */

static void say(const char *s)
{
    write(1, s, strlen(s));
}

/* A child of each kind of fork that bypasses the atfork handlers, made while the
 * hook runs; it calls exit(7). */
static pid_t fork_kind(const char *kind)
{
    if (strcmp(kind, "_Fork") == 0)
        return _Fork();
    if (strcmp(kind, "clone") == 0)
        return (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
    return (pid_t)syscall(SYS_fork);
}

void toki_on_refresh(void)
{
    char c = 'h';
    if (strcmp(mode, "exit-mutex") == 0 || strcmp(mode, "term-mutex") == 0) {
        say("hook waiting\n");
        write(to_main[1], &c, 1);
        pthread_mutex_lock(&lock); /* main holds it, and exits */
        pthread_mutex_unlock(&lock);
    } else if (strcmp(mode, "fork-during-hook") == 0) {
        write(to_main[1], &c, 1);
        read(to_hook[0], &c, 1); /* main forked meanwhile */
    } else if (strcmp(mode, "signalfd-term") == 0) {
        struct pollfd p = {.fd = to_hook[0], .events = POLLIN};
        say("hook running\n");
        poll(&p, 1, 3000); /* SIGTERM comes meanwhile */
    } else if (strcmp(mode, "hook-pthread-exit") == 0) {
        say("hook ends its thread\n");
        pthread_exit(NULL);
    } else if (strcmp(mode, "mask-race") == 0) {
        /* Main is in the shim's window (close_range) again and again meanwhile. */
        sigset_t m;
        pthread_sigmask(SIG_BLOCK, NULL, &m);
        if (sigismember(&m, SIGTERM))
            say("hook runs with SIGTERM blocked\n");
    } else if (strcmp(mode, "hook-mask") == 0) {
        /* What a hook starts inherits its mask (a shell would clear it: exec grep). */
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/grep", "grep", "SigBlk", "/proc/self/status", (char *)NULL);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    say("refresh\n");
}

/* dlopen-after-fork: the shim's dl_iterate_phdr resolves to this one, which holds
 * the loader's lock (inside the real one's callback) until main has forked or a
 * second has passed, so that a fork that does not wait for it lands inside. */
static int armed;
static int (*stalled_cb)(struct dl_phdr_info *, size_t, void *);
static void *stalled_data;

static int stall_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)data;
    if (armed) {
        char c = 'l';
        struct pollfd p = {.fd = to_hook[0], .events = POLLIN};
        armed = 0;
        write(to_main[1], &c, 1);
        if (poll(&p, 1, 1000) == 1)
            read(to_hook[0], &c, 1);
    }
    return stalled_cb(info, size, stalled_data);
}

typedef int (*phdr_cb)(struct dl_phdr_info *, size_t, void *);

__attribute__((visibility("default"))) int dl_iterate_phdr(phdr_cb cb, void *data)
{
    int (*real)(phdr_cb, void *) = (int (*)(phdr_cb, void *))dlsym(RTLD_NEXT, "dl_iterate_phdr");
    if (!armed || syscall(SYS_gettid) == getpid())
        return real(cb, data);
    stalled_cb = cb;
    stalled_data = data;
    return real(stall_cb, NULL);
}

static void term_exits(int sig)
{
    (void)sig;
    exit(4);
}

static void *worker(void *arg)
{
    (void)arg;
    char c;
    while (read(0, &c, 1) > 0)
        ;
    say("worker done\n");
    return NULL;
}

static void *forking_worker(void *arg)
{
    (void)arg;
    pid_t pid = fork();
    if (pid == 0)
        return NULL; /* the child's only thread of the program returns */
    int st = 0;
    waitpid(pid, &st, 0);
    printf("forked child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    fflush(stdout);
    return NULL;
}

/* Each mode's part of main: it returns an exit status, or GO_ON for main's usual
 * end (read stdin to its end, say bye); those that end the program say so
 * (_Noreturn), which gcc needs for term-mutex: its pause() loop never ends. */
enum { GO_ON = -1 };

/* Waits for the child and prints its exit status after label. */
static void print_child_status(const char *label, pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    printf("%s %d\n", label, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    fflush(stdout);
}

_Noreturn static int mode_exit_mutex(void)
{
    char c;
    pthread_mutex_lock(&lock);
    say("ready\n");
    read(to_main[0], &c, 1);
    exit(3);
}

_Noreturn static int mode_term_mutex(void)
{
    signal(SIGTERM, term_exits);
    pthread_mutex_lock(&lock);
    say("ready\n");
    for (;;)
        pause();
}

static int mode_fork_during_hook(void)
{
    char c;
    say("ready\n");
    read(to_main[0], &c, 1);
    /* vfork's child must not return from the function that called it. */
    pid_t pid = strcmp(mode_arg, "vfork") == 0 ? vfork() : fork_kind(mode_arg);
    if (pid == 0)
        exit(7);
    print_child_status("child status", pid);
    write(to_hook[1], &c, 1);
    return GO_ON;
}

static int mode_dlopen_after_fork(void)
{
    char c;
    armed = 1;
    say("ready\n");
    read(to_main[0], &c, 1); /* the listener is inside dl_iterate_phdr */
    pid_t pid = fork();
    if (pid == 0) {
        void *h = dlopen(mode_arg, RTLD_NOW);
        _exit(h ? 0 : 8);
    }
    write(to_hook[1], &c, 1);
    print_child_status("child status", pid);
    return GO_ON;
}

/* The standard clean shutdown: SIGTERM blocked, taken from a signalfd. */
static int mode_signalfd_term(void)
{
    sigset_t term;
    struct signalfd_siginfo si;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    int sfd = signalfd(-1, &term, SFD_CLOEXEC);
    say("ready\n");
    if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
        say("clean shutdown\n");
    return 0;
}

/* A worker that outlives the hook's thread; the reaper must wait for it. */
_Noreturn static int mode_hook_pthread_exit(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    say("ready\n");
    pthread_exit(NULL);
}

/* A child of a raw fork made while the listener is inside the fork window (stalled
 * in dl_iterate_phdr) closes its descriptors. */
static int mode_fork_in_window(void)
{
    char c;
    armed = 1;
    say("ready\n");
    read(to_main[0], &c, 1);
    pid_t pid = (pid_t)syscall(SYS_fork);
    if (pid == 0) {
        closefrom(3);
        close_range(3, ~0U, 0);
        _exit(0);
    }
    write(to_hook[1], &c, 1);
    print_child_status("child status", pid);
    return GO_ON;
}

/* A clone(CLONE_FILES) child shares our table and unshares it to close its copy:
 * ours must stay open. */
static int mode_clone_files(void)
{
    char c;
    int fds[2];
    say("ready\n");
    read(0, &c, 1);
    if (pipe(fds) != 0)
        return 1;
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, NULL, NULL, 0);
    if (pid == 0) {
        close_range(3, ~0U, CLOSE_RANGE_UNSHARE);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    printf("pipe %s\n", fcntl(fds[1], F_GETFD) >= 0 ? "intact" : "closed");
    fflush(stdout);
    return GO_ON;
}

/* Bad flags on a range that is all the shim's: the kernel's EINVAL. */
static int mode_close_range_flags(void)
{
    char c;
    struct stat st;
    int ours = -1;
    say("ready\n");
    read(0, &c, 1);
    for (int fd = 1023; fd > 2 && ours < 0; fd--)
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
            ours = fd;
    errno = 0;
    int r = close_range((unsigned)ours, (unsigned)ours, 0x80);
    printf("close_range on %d: %d %s\n", ours, r, strerror(errno));
    fflush(stdout);
    return GO_ON;
}

/* A worker forks; in the child, that thread's end is the process's end. */
static int mode_thread_forks(void)
{
    pthread_t t;
    say("ready\n");
    pthread_create(&t, NULL, forking_worker, NULL);
    pthread_join(t, NULL);
    return GO_ON;
}

/* The child exits through exit(), not _exit(), in memory it shares with us. */
static int mode_vfork_exit(void)
{
    pid_t pid = vfork();
    if (pid == 0)
        exit(0);
    waitpid(pid, NULL, 0);
    say("vforked\n");
    return GO_ON;
}

/* A range the shim's numbers are not in, closed inside its window, until stdin ends. */
static int mode_mask_race(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    say("ready\n");
    for (long i = 0;; i++)
        if (close_range(500, 600, 0) != 0 || (i % 64 == 0 && poll(&p, 1, 0) == 1))
            break;
    say("done\n");
    return GO_ON;
}

_Noreturn static int mode_pthread_exit(void)
{
    pthread_t t;
    if (mode_arg && strcmp(mode_arg, "worker") == 0)
        pthread_create(&t, NULL, worker, NULL);
    /* A program that deletes keys it did not create: every one there can be. */
    if (mode_arg && strcmp(mode_arg, "keys") == 0)
        for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++)
            pthread_key_delete((pthread_key_t)k);
    say("ready\n");
    pthread_exit(NULL);
}

static int mode_setuid(void)
{
    say("ready\n");
    char line[16] = "";
    read(0, line, sizeof line - 1);
    if (setuid(65534) != 0)
        return 9;
    say("dropped\n");
    return GO_ON;
}

static const struct {
    const char *name;
    int (*run)(void);
} modes[] = {
    {"exit-mutex", mode_exit_mutex},
    {"term-mutex", mode_term_mutex},
    {"fork-during-hook", mode_fork_during_hook},
    {"dlopen-after-fork", mode_dlopen_after_fork},
    {"signalfd-term", mode_signalfd_term},
    {"hook-pthread-exit", mode_hook_pthread_exit},
    {"fork-in-window", mode_fork_in_window},
    {"clone-files", mode_clone_files},
    {"close-range-flags", mode_close_range_flags},
    {"thread-forks", mode_thread_forks},
    {"vfork-exit", mode_vfork_exit},
    {"mask-race", mode_mask_race},
    {"pthread-exit", mode_pthread_exit},
    {"setuid", mode_setuid},
};

/* The mode's part, or just "ready" for a mode with none; then, unless the mode
 * has ended the program, read stdin to its end. */
static int main_mode(void)
{
    int status = GO_ON;
    size_t i = 0;
    while (i < sizeof modes / sizeof *modes && strcmp(mode, modes[i].name) != 0)
        i++;
    if (i < sizeof modes / sizeof *modes)
        status = modes[i].run();
    else
        say("ready\n");
    if (status != GO_ON)
        return status;
    char c;
    while (read(0, &c, 1) > 0)
        ;
    say("bye\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        mode = argv[1];
    /* argv[2] when there is an argv[1]: NULL, argv's end, when there is no more. */
    if (argc > 1)
        mode_arg = argv[2];
    if (pipe(to_main) != 0 || pipe(to_hook) != 0)
        return 1;
    return main_mode();
}
