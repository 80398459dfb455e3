/* dispatch.c: runs hooks, sends the reload signal and posts the event fd, under the safety rule. */
/* SPDX-License-Identifier: MIT */
#include "dispatch.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/elf.h"
#include "common/fdguard.h"
#include "common/log.h"
#include "common/tshim.h"
#include "events.h"
#include "guard.h"

/* Go executables carry a note named "Go" (the build id) in a PT_NOTE segment. */
static int tshim_dispatch_is_go(const struct dl_phdr_info *info)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_NOTE &&
            tshim_elf_notes_have_go((const char *)(info->dlpi_addr + ph->p_vaddr), ph->p_memsz))
            return 1;
    }
    return 0;
}

/* What dispatch knows of the loaded objects, recomputed only when the loader's
 * load or unload counters move, so that an ordinary event costs one short walk.
 * Only the listener thread touches it, from its first event on: the program's
 * start pays nothing for it. */
static struct {
    unsigned long long adds, subs; /* the loader's counters when last looked */
    int known, go, jvm;
    void (*on_event)(const char *);
    void (*on_refresh)(void);
} tshim_dispatch_seen;

struct tshim_dispatch_walk {
    unsigned long long adds, subs;
    int first_only, objects, go, jvm;
    void *on_event, *on_refresh;
};

/* One loaded object, in the loader's order (the program first): the first
 * definition of a hook is the one the default lookup would give. Found in the
 * object's own tables, so that a miss, unlike the loader's, allocates nothing. */
static int tshim_dispatch_walk_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct tshim_dispatch_walk *w = data;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
        w->adds = info->dlpi_adds;
        w->subs = info->dlpi_subs;
    }
    if (w->first_only)
        return 1;
    if (w->objects++ == 0)
        w->go = tshim_dispatch_is_go(info);
    if (info->dlpi_name && tshim_elf_names_jvm(info->dlpi_name))
        w->jvm = 1;
    if (!w->on_event)
        w->on_event = tshim_elf_loaded_symbol(info, "toki_on_event");
    if (!w->on_refresh)
        w->on_refresh = tshim_elf_loaded_symbol(info, "toki_on_refresh");
    return 0;
}

/* dl_iterate_phdr holds the loader's write lock, which glibc 2.36 does not reset in
 * a forked child: a fork that copied the process meanwhile would leave a child
 * whose first dlopen hangs. Inside the fd guard's window no fork copies the
 * process; nothing in there allocates or takes another lock. */
static void tshim_dispatch_walk(struct tshim_dispatch_walk *w)
{
    tshim_fdguard_window_enter(NULL); /* the listener: every signal blocked already */
    dl_iterate_phdr(tshim_dispatch_walk_object, w);
    tshim_fdguard_window_leave(NULL);
}

/* Looks the hooks up again if objects were loaded or unloaded since the last look
 * (cheap otherwise); on the listener thread only. Nothing is allocated. */
static void tshim_dispatch_refresh(void)
{
    struct tshim_dispatch_walk w = {.first_only = 1};
    tshim_dispatch_walk(&w);
    if (tshim_dispatch_seen.known && w.adds == tshim_dispatch_seen.adds &&
        w.subs == tshim_dispatch_seen.subs)
        return;
    w.first_only = 0;
    tshim_dispatch_walk(&w);
    tshim_dispatch_seen.adds = w.adds;
    tshim_dispatch_seen.subs = w.subs;
    tshim_dispatch_seen.go = w.go;
    tshim_dispatch_seen.jvm = w.jvm;
    *(void **)&tshim_dispatch_seen.on_event = w.on_event;
    *(void **)&tshim_dispatch_seen.on_refresh = w.on_refresh;
    tshim_dispatch_seen.known = 1;
}

enum tshim_decide_runtime tshim_dispatch_runtime(void)
{
    tshim_dispatch_refresh();
    return tshim_dispatch_seen.go    ? TSHIM_DECIDE_GO
           : tshim_dispatch_seen.jvm ? TSHIM_DECIDE_JVM
                                     : TSHIM_DECIDE_NATIVE;
}

static int tshim_dispatch_has_handler(int signo)
{
    struct sigaction sa;
    if (sigaction(signo, NULL, &sa) != 0)
        return 0;
    /* With SA_SIGINFO the same storage holds sa_sigaction; SIG_DFL and SIG_IGN are
     * the only values that mean "no handler" either way. */
    return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

/* The signal mask of the host's main thread (the one that ran the constructor), as
 * it is now: kept by the sigprocmask and pthread_sigmask overrides, for the hooks.
 * Signals 1 to 64, one word, so that the listener never reads half an update. */
static _Atomic unsigned long long tshim_dispatch_main_mask;
static TSHIM_TLS int tshim_dispatch_on_main;

void tshim_dispatch_keep_mask(void)
{
    sigset_t now;
    tshim_dispatch_on_main = 1;
    pthread_sigmask(SIG_BLOCK, NULL, &now);
    tshim_dispatch_mask_changed(&now);
}

void tshim_dispatch_mask_changed(const sigset_t *now)
{
    unsigned long long bits = 0;
    if (!tshim_dispatch_on_main)
        return;
    /* glibc and musl keep signal s at bit s-1 of the set's words, as the kernel
     * does; read so, not with 64 calls of sigismember (one a lazy binding at start). */
    const unsigned long *w = (const unsigned long *)(const void *)now;
    enum { W = sizeof(unsigned long) * 8 };
    for (int s = 1; s <= 64; s++)
        if ((w[(s - 1) / W] >> ((s - 1) % W)) & 1)
            bits |= 1ull << (s - 1);
    atomic_store_explicit(&tshim_dispatch_main_mask, bits, memory_order_relaxed);
}

/* Hooks run with the main thread's mask as it is now: what a hook starts (a reload
 * script, a helper) inherits it, and must not be left deaf to SIGTERM; and a signal
 * the program blocks to take it with signalfd or sigwait stays blocked here too,
 * so that it is not delivered, with its default action, to this thread. */
static void tshim_dispatch_call(void (*on_refresh)(void), void (*on_event)(const char *),
                                const char *name)
{
    sigset_t mine, host;
    unsigned long long bits = atomic_load_explicit(&tshim_dispatch_main_mask, memory_order_relaxed);
    sigemptyset(&host);
    for (int s = 1; s <= 64; s++)
        if (bits & (1ull << (s - 1)))
            sigaddset(&host, s);
    pthread_sigmask(SIG_SETMASK, &host, &mine);
    if (on_event)
        on_event(name);
    else
        on_refresh();
    pthread_sigmask(SIG_SETMASK, &mine, NULL);
}

/* Set by the constructor: the program is in TOKI_SHIM_NO_SIGNAL. */
static int tshim_dispatch_dies;

void tshim_dispatch_program(int dies_on_signal)
{
    tshim_dispatch_dies = dies_on_signal;
}

/* The numbered entries of a /proc directory (threads, descriptors) into out,
 * skipping `skip`; returns how many, or -1 if they could not be listed or are more
 * than max. The directory is held through the fd guard, as every descriptor of
 * the shim is. */
static int tshim_dispatch_list_once(const char *dir, long skip, long *out, int max)
{
    struct tshim_dispatch_dirent {
        unsigned long long ino, off;
        unsigned short reclen;
        unsigned char type;
        char name[];
    };
    static char buf[4096] TSHIM_COLD; /* the listener's alone; its stack may be small */
    int n = 0;
    if (tshim_fdguard_open(TSHIM_FDGUARD_SCAN, dir, O_RDONLY, 0) < 0)
        return -1;
    ssize_t r = 0;
    while (n >= 0 && (r = tshim_fdguard_getdents_slot(TSHIM_FDGUARD_SCAN, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; n >= 0 && off < r;) {
            const struct tshim_dispatch_dirent *d = (const void *)(buf + off);
            off += d->reclen;
            char *end;
            long v = strtol(d->name, &end, 10);
            if (end != d->name && *end == '\0' && v != skip)
                n = n < max ? (out[n] = v, n + 1) : -1;
        }
    int e = r < 0 ? errno : 0;
    tshim_fdguard_release_slot(TSHIM_FDGUARD_SCAN);
    if (e != 0) {
        errno = e;
        return -1;
    }
    return n;
}

/* As tshim_fdguard_read_file does, again when a host's close took the directory's
 * descriptor as it was made (EBADF). */
static int tshim_dispatch_list(const char *dir, long skip, long *out, int max)
{
    int n = -1;
    for (int tries = 0; tries < 3 && n < 0; tries++)
        if ((n = tshim_dispatch_list_once(dir, skip, out, max)) < 0 && errno != EBADF)
            break;
    return n;
}

/* Whether the hexadecimal mask after `field` in text has signo's bit. */
static int tshim_dispatch_mask_has(const char *text, const char *field, int signo)
{
    const char *p = strstr(text, field);
    return p && (strtoull(p + strlen(field), NULL, 16) >> (signo - 1)) & 1;
}

/* Whether a thread's /proc/.../syscall line shows it in sigwait (rt_sigtimedwait)
 * for a set that holds signo. The set is in this process's memory, at the
 * address of the call's first argument; process_vm_readv reads it without
 * faulting if the thread has returned and the address is gone. */
static int tshim_dispatch_waits_for(long tid, const char *line, int signo)
{
    char *end;
    if (strtol(line, &end, 10) != SYS_rt_sigtimedwait || *end != ' ')
        return 0;
    unsigned long long set = 0, at = strtoull(end + 1, NULL, 16);
    struct iovec mine = {&set, sizeof set}, theirs = {(void *)(uintptr_t)at, sizeof set};
    /* By the thread's id: after main's pthread_exit the process's own id names a
     * zombie without memory. */
    if (at == 0 || process_vm_readv((pid_t)tid, &mine, 1, &theirs, 1, 0) != (ssize_t)sizeof set)
        return 0;
    return (set >> (signo - 1)) & 1;
}

/* Whether thread tid sleeps in sigwait for signo (its /proc syscall line): 1 or 0,
 * -1 if the line cannot be read (the thread has ended). */
static int tshim_dispatch_thread_waits(long tid, int signo, char *text, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
    if (tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, path, text, size) <= 0)
        return -1;
    return tshim_dispatch_waits_for(tid, text, signo);
}

/* One look at the program's threads (ids, all but the listener): -1 if one of them
 * may take signo with its default action, 1 if all block it and one waits for it
 * in sigwait (its id into *waiter), 0 if all block it and none waits. While a
 * thread waits in sigwait the kernel shows the waited signals unblocked in it, and
 * whether they were blocked before cannot be read: the mask the main thread set
 * through libc (which the program's threads inherit) stands for it. A wait for a
 * signal that is not blocked is a race that the program loses when the signal
 * comes between two waits: it dies of it, so that does not count. */
static int tshim_dispatch_threads_take(int signo, const long *ids, int n, char *text, size_t size,
                                       long *waiter)
{
    char path[64];
    unsigned long long main_mask = atomic_load_explicit(&tshim_dispatch_main_mask,
                                                        memory_order_relaxed);
    int main_blocks = (int)((main_mask >> (signo - 1)) & 1), waits = 0;
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/proc/self/task/%ld/status", ids[i]);
        tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, path, text, size);
        int blocked = tshim_dispatch_mask_has(text, "\nSigBlk:", signo);
        int waiting = main_blocks && tshim_dispatch_thread_waits(ids[i], signo, text, size) > 0;
        if (!blocked && !waiting)
            return -1;
        if (waiting && !waits)
            *waiter = ids[i];
        waits |= waiting;
    }
    return waits;
}

/* The thread last seen in sigwait for a signal, in this process (a forked child's
 * threads are others): a sigwait loop, which between two waits does its work with
 * the signal blocked everywhere and no one waiting. */
static struct {
    long pid, tid;
    int signo;
} tshim_dispatch_waiter;

/* Waits, for at most 10 s, until the remembered waiter sleeps in sigwait for signo
 * again; 0 if it is gone or did not. Its work between two waits may be long; an
 * event is not lost for it, and the listener has nothing else to do meanwhile. */
static int tshim_dispatch_waiter_back(int signo, char *text, size_t size)
{
    long pid = syscall(SYS_getpid);
    if (tshim_dispatch_waiter.pid != pid || tshim_dispatch_waiter.signo != signo)
        return 0;
    for (int tries = 0; tries < 1000; tries++) {
        int w = tshim_dispatch_thread_waits(tshim_dispatch_waiter.tid, signo, text, size);
        if (w > 0)
            return 1;
        if (w < 0)
            break; /* the thread has ended */
        tshim_clock_sleep_ms(10);
    }
    tshim_dispatch_waiter.pid = 0;
    return 0;
}

/* A program that blocks the signal in every thread of its own, and takes it with
 * a signalfd or a thread waiting in sigwait: the signal is safe to send. Blocked
 * alone is not enough: shells block every signal for a moment around a fork, and
 * die of it once they unblock. */
static int tshim_dispatch_takes_blocked(int signo)
{
    /* Static: read on the listener thread only, and only its pages that are used
     * count in memory (a thread or descriptor each). */
    static long ids[65536] TSHIM_COLD;
    static char text[4096] TSHIM_COLD;
    char path[64];
    long waiter = 0;
    int looks = 3, waited = 0;
    /* Pending already for the process (sent before and not yet taken by the loop):
     * another adds nothing, and the reload that one starts comes after this event,
     * so it covers it. A burst of events costs a reload or two, not one each. */
    if (tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, "/proc/self/status", text, sizeof text) > 0 &&
        tshim_dispatch_mask_has(text, "\nShdPnd:", signo))
        return 1;
    /* Looked at up to three times (now, after 30 ms, after 100 ms) when no one
     * waits: a sigwait loop not seen before may be between two waits; and once a
     * remembered waiter is back in its wait (once, then one more look). Each look
     * is a full one: the program may have changed meanwhile. */
    for (int look = 0; look < looks; look++) {
        int n = tshim_dispatch_list("/proc/self/task", syscall(SYS_gettid), ids, 65536);
        if (n <= 0)
            return 0;
        int r = tshim_dispatch_threads_take(signo, ids, n, text, sizeof text, &waiter);
        if (r < 0)
            return 0;
        if (r > 0) {
            tshim_dispatch_waiter.pid = syscall(SYS_getpid);
            tshim_dispatch_waiter.tid = waiter;
            tshim_dispatch_waiter.signo = signo;
            return 1;
        }
        if (look == 0) {
            n = tshim_dispatch_list("/proc/self/fdinfo", -1, ids, 65536);
            for (int i = 0; i < n; i++) {
                snprintf(path, sizeof path, "/proc/self/fdinfo/%ld", ids[i]);
                tshim_fdguard_read_file(TSHIM_FDGUARD_SCAN, path, text, sizeof text);
                if (tshim_dispatch_mask_has(text, "\nsigmask:", signo))
                    return 1;
            }
        }
        if (!waited && tshim_dispatch_waiter_back(signo, text, sizeof text)) {
            waited = 1;
            looks = look + 2;
            continue;
        }
        if (look < looks - 1)
            tshim_clock_sleep_ms(look == 0 ? 30 : 70);
    }
    return 0;
}

/* Says once per process why an action was not taken, and how to change that. */
static void tshim_dispatch_explain(const struct tshim_config *c, enum tshim_decide_skip why)
{
    static int said[TSHIM_DECIDE_DIES + 1];
    char sig[16], line[256];
    if (said[why])
        return;
    said[why] = 1;
    tshim_config_signal_name(c->signo, sig, sizeof sig);
    switch (why) {
    case TSHIM_DECIDE_NO_HOOK:
        tshim_log(TSHIM_LOG_WARN,
                  "TOKI_SHIM_ACTION=%s but the program defines no exported "
                  "toki_on_refresh(); link it with -rdynamic",
                  tshim_decide_action_name(c->action));
        break;
    case TSHIM_DECIDE_NO_HANDLER:
    case TSHIM_DECIDE_RUNTIME:
    case TSHIM_DECIDE_DIES:
        tshim_decide_explain(why, sig,
                             tshim_dispatch_runtime() == TSHIM_DECIDE_GO ? "Go" : "Java", line,
                             sizeof line);
        tshim_log(TSHIM_LOG_WARN, "%s", line);
        break;
    case TSHIM_DECIDE_OK:
        break;
    }
}

/* Set by an event line, taken by the action that follows it at once: one walk of
 * the loaded objects per event, not two. */
static int tshim_dispatch_fresh;

int tshim_dispatch_event(const struct tshim_config *c, const char *name)
{
    tshim_dispatch_refresh();
    tshim_dispatch_fresh = 1;
    void (*on_event)(const char *) = tshim_dispatch_seen.on_event;
    if (on_event && tshim_guard_begin_call()) {
        tshim_dispatch_call(NULL, on_event, name);
        tshim_guard_end_call();
    }
    int trigger = tshim_config_is_trigger(c, name);
    if (!trigger || c->action == TSHIM_DECIDE_NONE)
        tshim_log(TSHIM_LOG_DEBUG, "event %s", name);
    return trigger;
}

void tshim_dispatch_act(const struct tshim_config *c, const char *name, unsigned long n)
{
    if (!tshim_dispatch_fresh)
        tshim_dispatch_refresh();
    tshim_dispatch_fresh = 0;
    void (*on_refresh)(void) = tshim_dispatch_seen.on_refresh;
    struct tshim_decide_facts f = {.have_hook = on_refresh != NULL,
                                   .have_fd = tshim_events_requested(),
                                   .dies = tshim_dispatch_dies,
                                   .runtime = TSHIM_DECIDE_NATIVE};
    /* The signal's facts cost a syscall and a loader lookup: gather them only when
     * the signal is on the table and the safety rule applies. */
    if (tshim_decide_may_signal(c->action, &f) && !c->signal_force) {
        f.runtime = tshim_dispatch_runtime();
        f.have_handler = tshim_dispatch_has_handler(c->signo);
        f.blocked = !f.have_handler && !f.dies && tshim_dispatch_takes_blocked(c->signo);
    }
    struct tshim_decide_plan p = tshim_decide_action(c->action, c->signal_force, &f);
    /* The event fd is ours, and harmless to post at any time; the program reads it
     * first thing, so it goes before the hook and the signal. */
    if (p.what & TSHIM_DECIDE_POST_FD)
        tshim_events_post(n);
    tshim_events_action();
    /* Once the process is exiting, its globals may be half destroyed: no more hooks,
     * and no signal whose handler could touch them. */
    unsigned host = p.what & (TSHIM_DECIDE_CALL_HOOK | TSHIM_DECIDE_SEND_SIGNAL);
    if (host && !tshim_guard_begin_call()) {
        tshim_log(TSHIM_LOG_DEBUG, "event %s: the process is exiting; nothing done", name);
        return;
    }
    if ((p.what & TSHIM_DECIDE_CALL_HOOK) && on_refresh)
        tshim_dispatch_call(on_refresh, NULL, NULL);
    if (p.what & TSHIM_DECIDE_SEND_SIGNAL)
        kill(getpid(), c->signo);
    if (host)
        tshim_guard_end_call();
    tshim_dispatch_explain(c, p.hook_skip);
    tshim_dispatch_explain(c, p.signal_skip);
    char covers[64] = "";
    if (n > 1)
        snprintf(covers, sizeof covers, " (one action for %lu events)", n);
    tshim_log(TSHIM_LOG_INFO, "event %s%s:%s%s%s%s", name, covers,
              p.what & TSHIM_DECIDE_POST_FD ? " posted the event fd" : "",
              p.what & TSHIM_DECIDE_CALL_HOOK ? " called toki_on_refresh" : "",
              p.what & TSHIM_DECIDE_SEND_SIGNAL ? " sent the reload signal" : "",
              p.what ? "" : " nothing to do");
}
