/* supervise.c: the supervisor: one poll loop over the signals it forwards, its child's exit and the session with Toki. */
/* SPDX-License-Identifier: MIT */
#include "supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/decide.h"
#include "common/elf.h"
#include "common/log.h"
#include "common/proc.h"
#include "common/session.h"
#include "observe.h"

#define TSHIM_SUPERVISE_IDLE_MS 60000 /* the longest wait once the session is over */

/* The signals passed on to the child, and SIGCHLD, which says it changed. */
static const int tshim_supervise_signals[] = {SIGTERM, SIGINT,  SIGHUP,   SIGQUIT,
                                              SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD};
#define TSHIM_SUPERVISE_NSIGNALS (sizeof tshim_supervise_signals / sizeof tshim_supervise_signals[0])

struct tshim_supervise {
    const struct tshim_config *c;
    const char *path, *touch;
    pid_t child;
    int exited, status;
    int go, dies;
    unsigned long generation; /* trigger events so far, debounced or not */
    int said[TSHIM_DECIDE_DIES + 1], said_touch, kill_failed, said_cannot;
};

/* The self-pipe: each signal's number, written by the handler, read in the loop. */
static int tshim_supervise_pipe[2] = {-1, -1};

static void tshim_supervise_on_signal(int signo)
{
    int e = errno;
    unsigned char b = (unsigned char)signo;
    /* Full (a flood of signals): the byte is lost, and the loop wakes anyway. */
    ssize_t r = write(tshim_supervise_pipe[1], &b, 1);
    (void)r;
    errno = e;
}

/* SIGPIPE as run's caller left it, for the child: run itself ignores it, so that a
 * log line to a closed stderr does not end the supervisor (and orphan the child). */
static struct sigaction tshim_supervise_pipe_action;

/* The signals above as run's caller left them (SIG_DFL or SIG_IGN: exec keeps
 * nothing else), for the child: a program started under nohup, or in the
 * background of a script, ignores HUP, or INT and QUIT, as it would without run. */
static struct sigaction tshim_supervise_caller_action[TSHIM_SUPERVISE_NSIGNALS];

/* Every signal of ours goes through the pipe, so that the one poll loop sees it. */
static int tshim_supervise_install(void)
{
    if (pipe2(tshim_supervise_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tshim_supervise_on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < TSHIM_SUPERVISE_NSIGNALS; i++)
        sigaction(tshim_supervise_signals[i], &sa, &tshim_supervise_caller_action[i]);
    sa.sa_handler = SIG_IGN;
    sa.sa_flags = 0;
    sigaction(SIGPIPE, &sa, &tshim_supervise_pipe_action);
    return 0;
}

/* The child: the signals as the program would have had them from its caller, the
 * supervisor's pid and its own in its environment (only there: /proc/PID/environ
 * of the child shows it; the program's own children inherit it with another pid),
 * then the program. An exec that fails says why on the close-on-exec pipe. */
static void tshim_supervise_exec(const char *path, char **argv, const sigset_t *mask, int said)
{
    for (size_t i = 0; i < TSHIM_SUPERVISE_NSIGNALS; i++)
        sigaction(tshim_supervise_signals[i], &tshim_supervise_caller_action[i], NULL);
    sigaction(SIGPIPE, &tshim_supervise_pipe_action, NULL);
    sigprocmask(SIG_SETMASK, mask, NULL);
    char pids[48];
    snprintf(pids, sizeof pids, "%ld:%ld", (long)getppid(), (long)getpid());
    setenv(TSHIM_SUPERVISE_VARIABLE, pids, 1);
    execv(path, argv);
    int e = errno;
    fprintf(stderr, "toki-shim run: %s: %s\n", path, strerror(e));
    (void)!write(said, &e, sizeof e);
    _exit(e == ENOENT ? 127 : 126);
}

/* Forks the child with our signals blocked, so that none reaches a handler of ours
 * in the child before it has put them back; returns once the child has exec'd (or
 * failed to): until then the child's signal table is still ours, and a reload
 * signal judged by it could kill the program as it starts. */
static pid_t tshim_supervise_spawn(const char *path, char **argv)
{
    sigset_t block, old;
    int said[2];
    if (pipe2(said, O_CLOEXEC) != 0)
        return -1;
    sigemptyset(&block);
    for (size_t i = 0; i < TSHIM_SUPERVISE_NSIGNALS; i++)
        sigaddset(&block, tshim_supervise_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t pid = fork();
    if (pid == 0)
        tshim_supervise_exec(path, argv, &old, said[1]);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(said[1]);
    int e;
    while (pid > 0 && read(said[0], &e, sizeof e) < 0 && errno == EINTR)
        ;
    close(said[0]);
    return pid;
}

/* Passes on what the pipe holds and reaps the child; returns 1 once it has exited. */
static int tshim_supervise_drain(struct tshim_supervise *s)
{
    unsigned char b[64];
    ssize_t n;
    while ((n = read(tshim_supervise_pipe[0], b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++)
            if (b[i] != SIGCHLD && !s->exited)
                kill(s->child, b[i]);
    /* A SIGCHLD byte lost to a full pipe is no matter: the children are looked at
     * on each wake-up. All of them, not only the program: as a container's PID 1,
     * run inherits the orphans of the program's tree (and whatever ran in the
     * process that exec'd run), which would stay zombies. */
    int status;
    for (pid_t pid; (pid = waitpid(-1, &status, WNOHANG)) > 0;)
        if (pid == s->child && !s->exited) {
            s->status = status;
            s->exited = 1;
        }
    return s->exited;
}

/* The session's wait: the socket (fd, or none), the signals and the child, until
 * timeout_ms has passed. The child's exit ends the session. */
static int tshim_supervise_wait(void *ctx, int fd, long timeout_ms)
{
    struct tshim_supervise *s = ctx;
    long deadline = tshim_clock_now_ms() + timeout_ms;
    for (;;) {
        if (tshim_supervise_drain(s))
            return TSHIM_SESSION_WAIT_STOP;
        long left = deadline - tshim_clock_now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p[2] = {{.fd = tshim_supervise_pipe[0], .events = POLLIN},
                              {.fd = fd, .events = POLLIN}};
        int r = poll(p, fd >= 0 ? 2 : 1, (int)left);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && fd >= 0 && p[1].revents)
            return tshim_supervise_drain(s) ? TSHIM_SESSION_WAIT_STOP : 1;
    }
}

static int tshim_supervise_event(void *ctx, const char *name)
{
    struct tshim_supervise *s = ctx;
    int trigger = tshim_config_is_trigger(s->c, name);
    if (!trigger || s->c->action == TSHIM_DECIDE_NONE)
        tshim_log(TSHIM_LOG_DEBUG, "event %s", name);
    s->generation += (unsigned long)trigger;
    return trigger;
}

/* Rewrites the --touch file with the generation: a file beside it, renamed over
 * it, so that a watcher never reads it half written. Returns 0, or -1 (said once). */
static int tshim_supervise_touch(struct tshim_supervise *s)
{
    char tmp[PATH_MAX + 64], text[32], msg[64];
    const char *slash = strrchr(s->touch, '/'), *base = slash ? slash + 1 : s->touch;
    int dir = slash ? (int)(slash - s->touch) + 1 : 0;
    snprintf(tmp, sizeof tmp, "%.*s.%s.%ld.tmp", dir, s->touch, base, (long)getpid());
    int len = snprintf(text, sizeof text, "%lu\n", s->generation);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    int ok = fd >= 0 && write(fd, text, (size_t)len) == len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, s->touch) == 0)
        return 0;
    int e = errno;
    if (fd >= 0)
        unlink(tmp);
    if (!s->said_touch++)
        tshim_log(TSHIM_LOG_WARN, "cannot write %s (%s); said once", s->touch,
                  tshim_log_strerror(e, msg, sizeof msg));
    return -1;
}

/* Says once per reason why part of an action was not taken. */
static void tshim_supervise_explain(struct tshim_supervise *s, enum tshim_decide_skip why,
                                    enum tshim_decide_runtime rt)
{
    char sig[16], line[256];
    if (why == TSHIM_DECIDE_OK || s->said[why]++)
        return;
    tshim_config_signal_name(s->c->signo, sig, sizeof sig);
    if (why == TSHIM_DECIDE_NO_HOOK)
        snprintf(line, sizeof line,
                 "TOKI_SHIM_ACTION=%s: hooks and the event fd exist in-process only; a "
                 "supervised program gets the reload signal, or --touch",
                 tshim_decide_action_name(s->c->action));
    else
        tshim_decide_explain(why, sig, rt == TSHIM_DECIDE_GO ? "Go" : "Java", line, sizeof line);
    tshim_log(TSHIM_LOG_WARN, "%s", line);
}

/* What of a plan the supervisor carries out from outside: the signal. --touch is
 * its own, and no part of a plan. */
#define TSHIM_SUPERVISE_CAN TSHIM_DECIDE_SEND_SIGNAL

/* A part of the plan the supervisor cannot carry out (the hook and the event fd
 * exist in-process only, and a new part needs its code here) is said, once, and
 * left undone: never dropped in silence. */
static void tshim_supervise_refuse(struct tshim_supervise *s, struct tshim_decide_plan *p)
{
    unsigned cannot = p->what & ~(unsigned)TSHIM_SUPERVISE_CAN;
    if (!cannot)
        return;
    if (!s->said_cannot++)
        tshim_log(TSHIM_LOG_WARN,
                  "TOKI_SHIM_ACTION=%s: a supervisor cannot carry out part of the action "
                  "(plan bits %#x), left undone; said once",
                  tshim_decide_action_name(s->c->action), cannot);
    p->what &= ~cannot;
}

/* The action, from outside: the facts the library reads in-process, read from
 * /proc and the executable; no hook and no event fd here. */
static void tshim_supervise_act(void *ctx, const char *name, unsigned long n)
{
    struct tshim_supervise *s = ctx;
    const struct tshim_config *c = s->c;
    struct tshim_decide_facts f = {.dies = s->dies, .runtime = TSHIM_DECIDE_NATIVE};
    if (s->exited)
        return;
    if (!c->signal_force) {
        f.runtime = s->go                           ? TSHIM_DECIDE_GO
                    : tshim_observe_jvm(s->child) ? TSHIM_DECIDE_JVM
                                                  : TSHIM_DECIDE_NATIVE;
        f.have_handler = tshim_observe_caught(s->child, c->signo);
        f.blocked = !f.have_handler && !f.dies && tshim_observe_takes_blocked(s->child, c->signo);
    }
    struct tshim_decide_plan p = tshim_decide_action(c->action, c->signal_force, &f);
    tshim_supervise_refuse(s, &p);
    /* The file first, as the library posts the event fd first: a program woken by
     * the signal finds the new generation there. */
    int touched = s->touch && c->action != TSHIM_DECIDE_NONE && tshim_supervise_touch(s) == 0;
    char msg[64];
    if ((p.what & TSHIM_DECIDE_SEND_SIGNAL) && kill(s->child, c->signo) != 0) {
        /* A setuid program that changed its real uid refuses our signals. */
        if (!s->kill_failed++)
            tshim_log(TSHIM_LOG_WARN, "cannot send the reload signal to the child (%s)",
                      tshim_log_strerror(errno, msg, sizeof msg));
        p.what &= ~TSHIM_DECIDE_SEND_SIGNAL;
    }
    tshim_supervise_explain(s, p.hook_skip, f.runtime);
    tshim_supervise_explain(s, p.signal_skip, f.runtime);
    char covers[64] = "";
    if (n > 1)
        snprintf(covers, sizeof covers, " (one action for %lu events)", n);
    tshim_log(TSHIM_LOG_INFO, "event %s%s:%s%s%s", name, covers, touched ? " wrote the file" : "",
              p.what & TSHIM_DECIDE_SEND_SIGNAL ? " sent the reload signal to the child" : "",
              touched || (p.what & TSHIM_DECIDE_SEND_SIGNAL) ? "" : " nothing to do");
}

static const struct tshim_session_ops tshim_supervise_ops = {
    .event = tshim_supervise_event,
    .act = tshim_supervise_act,
    .wait = tshim_supervise_wait,
};

static const char *tshim_supervise_getenv(void *ctx, const char *name)
{
    (void)ctx;
    return getenv(name);
}

/* The configuration of this environment, as the library would read it; 1 when
 * the supervisor is to listen, 0 when not, -1 for a strict error. */
static int tshim_supervise_configure(struct tshim_config *c, const char *path, const char *argv0)
{
    static struct tshim_config_text text; /* what c's lists point at; configured once */
    char err[512];
    enum tshim_config_result r =
        tshim_config_load(c, &text, tshim_supervise_getenv, NULL, err, sizeof err);
    if (r == TSHIM_CONFIG_INERT)
        return 0;
    tshim_log_setup(c->log_level, c->log_file[0] ? c->log_file : NULL);
    if (r == TSHIM_CONFIG_ERROR) {
        tshim_log(TSHIM_LOG_ERROR, "%s; %s", err,
                  c->strict ? "TOKI_SHIM_STRICT=1, exiting with status 2"
                            : "toki-shim is disabled for this process");
        return c->strict ? -1 : 0;
    }
    return tshim_proc_selected(c->only, c->skip, tshim_proc_basename(path),
                               tshim_proc_basename(argv0));
}

int tshim_supervise_run(const char *path, char **argv, const char *touch)
{
    static struct tshim_config c;
    struct tshim_supervise s = {.c = &c, .path = path, .touch = touch};
    int listens = tshim_supervise_configure(&c, path, argv[0]);
    if (listens < 0)
        return 2;
    if (tshim_supervise_install() != 0 || (s.child = tshim_supervise_spawn(path, argv)) < 0) {
        fprintf(stderr, "toki-shim run: cannot start %s: %s\n", path, strerror(errno));
        return 126;
    }
    if (listens) {
        s.go = tshim_elf_file_is_go(path);
        s.dies = tshim_proc_named(c.no_signal, tshim_proc_basename(path),
                                  tshim_proc_basename(argv[0]));
        tshim_session_remember_uid();
        tshim_log(TSHIM_LOG_INFO, "supervising %s (pid %ld) from outside", path, (long)s.child);
        /* As in-process: a program that lives less than the settle delay never
         * becomes one more client of Toki's. */
        if (tshim_supervise_wait(&s, -1, c.settle_ms) != TSHIM_SESSION_WAIT_STOP)
            tshim_session_run(&c, &tshim_supervise_ops, &s);
    }
    while (!s.exited)
        tshim_supervise_wait(&s, -1, TSHIM_SUPERVISE_IDLE_MS);
    return WIFSIGNALED(s.status) ? 128 + WTERMSIG(s.status) : WEXITSTATUS(s.status);
}
