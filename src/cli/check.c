/* check.c: diagnoses the environment against a live Toki, or a running process from /proc. */
/* SPDX-License-Identifier: MIT */
#include "check.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/decide.h"
#include "common/elf.h"
#include "common/fdguard.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "observe.h"
#include "supervise.h"

#define TSHIM_CHECK_WAIT_MS 1000 /* a connection that lives this long was accepted */

static int tshim_check_usage(FILE *f, int status)
{
    fputs("Usage: toki-shim check [PID]\n"
          "Without PID: shows the configuration the shim would read from this\n"
          "environment, connects to Toki and says whether the token is accepted.\n"
          "With PID: says whether that process has the shim loaded, whether it is\n"
          "connected, and what it does on a refresh, and why.\n"
          "Exit status 0 when all is well, 1 when not, 2 for a usage error.\n",
          f);
    return status;
}

static void tshim_check_list(const char *label, const char *list)
{
    printf("%s=", label);
    for (const char *p = list; *p; p += strlen(p) + 1)
        printf("%s%s", p == list ? "" : ",", p);
    printf("\n");
}

static void tshim_check_print_config(const struct tshim_config *c)
{
    char sig[16];
    printf("TOKI_TOKEN=(set, %zu bytes%s)\n", c->token_len,
           c->token_len == 36 ? "" : "; Toki's are 36");
    printf("TOKI_PORT=%d\nTOKI_SHIM_HOST=%s\nTOKI_SHIM_ALLOW_REMOTE=%d\n", c->port, c->host,
           c->allow_remote);
    printf("TOKI_SHIM_ACTION=%s\nTOKI_SHIM_SIGNAL=%s\nTOKI_SHIM_SIGNAL_FORCE=%d\n",
           tshim_config_action_name(c->action), tshim_config_signal_name(c->signo, sig, sizeof sig),
           c->signal_force);
    tshim_check_list("TOKI_SHIM_EVENTS", c->events);
    printf("TOKI_SHIM_LOG=%s\nTOKI_SHIM_LOG_FILE=%s\n", tshim_log_level_names[c->log_level],
           c->log_file[0] ? c->log_file : "(stderr)");
    printf("TOKI_SHIM_CONNECT_TIMEOUT_MS=%d\nTOKI_SHIM_RETRY_MAX_MS=%d\nTOKI_SHIM_STACK_KB=%ld\n",
           c->connect_timeout_ms, c->retry_max_ms, c->stack_kb);
    printf("TOKI_SHIM_DEBOUNCE_MS=%ld\nTOKI_SHIM_SPLAY_MS=%ld\n", c->debounce_ms, c->splay_ms);
    tshim_check_list("TOKI_SHIM_ONLY", c->only);
    tshim_check_list("TOKI_SHIM_SKIP", c->skip);
    static const char *const inherit[] = {"0", "1", "all"};
    printf("TOKI_SHIM_INHERIT=%s\nTOKI_SHIM_SETTLE_MS=%ld\n", inherit[c->inherit], c->settle_ms);
    tshim_check_list("TOKI_SHIM_LAUNCHERS", c->launchers);
    tshim_check_list("TOKI_SHIM_SHELLS", c->shells);
    tshim_check_list("TOKI_SHIM_NO_SIGNAL", c->no_signal);
    printf("TOKI_SHIM_FOLLOW_FORK=%d\nTOKI_SHIM_STRICT=%d\n", c->follow_fork, c->strict);
    printf("TOKI_SHIM_PEER_CHECK=%d\nTOKI_SHIM_SCRUB_TOKEN=%d\n", c->peer_check, c->scrub_token);
}

/* Toki's events are upper-case names; a banner or a greeting is not. */
static int tshim_check_looks_like_event(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

/* The peer check, as the shim makes it before the token leaves. 0 if the server is
 * ours (or the check does not apply); otherwise says why not, lets the connection
 * go and returns 1. */
static int tshim_check_owner(const struct tshim_config *c, const char *where)
{
    unsigned uid;
    if (!c->peer_check || !tshim_config_is_loopback((const struct sockaddr *)&c->addr))
        return 0;
    int known = tshim_net_peer_uid(&uid) == 0, e = errno;
    if (known && uid == (unsigned)geteuid())
        return 0;
    char msg[64];
    tshim_fdguard_release();
    if (known)
        printf("not ours: the server at %s belongs to uid %u, not to uid %u; ", where, uid,
               (unsigned)geteuid());
    else
        printf("unknown owner: cannot tell who owns the server at %s (%s); ", where,
               tshim_log_strerror(e, msg, sizeof msg));
    printf("the token was not sent (TOKI_SHIM_PEER_CHECK=0 skips this check)\n");
    return 1;
}

/* What a second on the connection after the token showed. */
struct tshim_check_watch {
    int events, closed, bad;
    char first_bad[64];
};

/* Watches the shim's connection for TSHIM_CHECK_WAIT_MS, or until it closes or
 * says something that is no event line. */
static void tshim_check_watch(struct tshim_check_watch *w)
{
    char buf[4096];
    struct tshim_frame f;
    tshim_frame_init(&f);
    long deadline = tshim_clock_now_ms() + TSHIM_CHECK_WAIT_MS;
    memset(w, 0, sizeof *w);
    for (long left; !w->closed && !w->bad && (left = deadline - tshim_clock_now_ms()) > 0;) {
        struct pollfd p = {.fd = tshim_fdguard_current(), .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = tshim_net_recv(buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            w->closed = 1;
            break;
        }
        tshim_frame_feed(&f, buf, (size_t)n);
        for (enum tshim_frame_kind k; (k = tshim_frame_next(&f)) != TSHIM_FRAME_MORE;) {
            if (k == TSHIM_FRAME_EVENT && tshim_check_looks_like_event(tshim_frame_name(&f))) {
                w->events++;
            } else if (!w->bad) {
                w->bad = 1;
                snprintf(w->first_bad, sizeof w->first_bad, "%.*s", (int)(n < 40 ? n : 40), buf);
            }
        }
        /* A banner need not end its line. */
        const char *partial = tshim_frame_partial(&f);
        if (!w->bad && partial[0] && !tshim_check_looks_like_event(partial)) {
            w->bad = 1;
            tshim_log_quote(w->first_bad, sizeof w->first_bad, partial, 40);
        }
    }
}

/* Connects as the shim would and watches the connection for a second. */
static int tshim_check_probe(const struct tshim_config *c)
{
    char err[160], where[80];
    tshim_net_format((const struct sockaddr *)&c->addr, where, sizeof where);
    if (tshim_net_connect((const struct sockaddr *)&c->addr, c->addr_len, c->connect_timeout_ms,
                          err, sizeof err) < 0) {
        printf("no server: nothing accepts connections at %s (%s)\n", where, err);
        return 1;
    }
    if (tshim_check_owner(c, where) != 0)
        return 1;
    if (tshim_net_send_token(c->token, c->token_len, err, sizeof err) < 0) {
        tshim_fdguard_release();
        printf("no server: %s at %s\n", err, where);
        return 1;
    }
    struct tshim_check_watch w;
    tshim_check_watch(&w);
    tshim_fdguard_release();
    if (w.bad) {
        char shown[96];
        tshim_log_quote(shown, sizeof shown, w.first_bad, 40);
        printf("not a Toki: the server at %s sent \"%s\", which is no event line\n", where, shown);
        return 1;
    }
    if (w.closed && w.events == 0) {
        printf("rejected: the server at %s closed the connection right after the token: "
               "TOKI_TOKEN is wrong, or not this Toki's\n",
               where);
        return 1;
    }
    printf("accepted: Toki at %s kept the connection open%s", where, w.events ? "" : "\n");
    if (w.events)
        printf(" and sent %d event%s\n", w.events, w.events == 1 ? "" : "s");
    return 0;
}

/* An environment block (NUL-separated "K=V"), as tshim_config_load's lookup. */
struct tshim_check_env {
    const char *block;
    size_t len;
};

static const char *tshim_check_getenv(void *ctx, const char *name)
{
    const struct tshim_check_env *e = ctx;
    size_t n = strlen(name);
    if (!e)
        return getenv(name);
    for (size_t off = 0; off < e->len; off += strlen(e->block + off) + 1)
        if (strncmp(e->block + off, name, n) == 0 && e->block[off + n] == '=')
            return e->block + off + n + 1;
    return NULL;
}

/* Loads the configuration from env (NULL: ours) and says what is wrong with it. */
static int tshim_check_load(struct tshim_config *c, struct tshim_check_env *env, const char *who)
{
    char err[512];
    switch (tshim_config_load(c, tshim_check_getenv, env, err, sizeof err)) {
    case TSHIM_CONFIG_INERT:
        printf("inert: %s no TOKI_TOKEN (or has TOKI_SHIM_DISABLE=1); Toki sets TOKI_TOKEN "
               "for the commands it runs\n",
               who);
        return 1;
    case TSHIM_CONFIG_ERROR:
        printf("configuration error: %s\n", err);
        return 1;
    case TSHIM_CONFIG_ACTIVE:
        break;
    }
    return 0;
}

static int tshim_check_environment(void)
{
    static struct tshim_config c;
    if (tshim_check_load(&c, NULL, "this environment has") != 0)
        return 1;
    tshim_check_print_config(&c);
    return tshim_check_probe(&c);
}

/* 1 if one of pid's sockets is an established TCP connection to port. */
static int tshim_check_connected(long pid, int port)
{
    char path[64], line[512], target[64];
    unsigned long inodes[256];
    size_t n = 0;
    for (int fd = 0; fd < 65536 && n < 256; fd++) {
        snprintf(path, sizeof path, "/proc/%ld/fd/%d", pid, fd);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &inodes[n]) == 1)
            n++;
    }
    for (int v6 = 0; v6 < 2; v6++) {
        snprintf(path, sizeof path, "/proc/%ld/net/tcp%s", pid, v6 ? "6" : "");
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f)) {
            char remote[64];
            unsigned st, rport;
            unsigned long inode;
            if (sscanf(line, " %*s %*s %63[0-9A-Fa-f]:%x %x %*s %*s %*s %*s %*s %lu", remote,
                       &rport, &st, &inode) != 4 ||
                st != 1 || (int)rport != port)
                continue;
            for (size_t i = 0; i < n; i++)
                if (inodes[i] == inode) {
                    fclose(f);
                    return 1;
                }
        }
        if (f)
            fclose(f);
    }
    return 0;
}

/* What toki-shim check PID reads about a process before it says anything. */
struct tshim_check_process {
    long pid;
    char exe[PATH_MAX];
    char lib[PATH_MAX]; /* the shim's file as mapped, empty if not loaded */
    int jvm, hook;
    struct tshim_config config;
    int selected, connected, launcher;
    char role[32];   /* TOKI_SHIM_ROLE as the process got it */
    long supervisor; /* its parent, a toki-shim run that supervises it; 0 if none */
    struct tshim_decide_facts facts;
};

/* One pass over /proc/PID/maps: the shim's file, a JVM, and whether the executable
 * or a loaded library exports toki_on_refresh. */
static int tshim_check_maps(struct tshim_check_process *p)
{
    static char buf[1 << 20];
    char path[64], last[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%ld/maps", p->pid);
    if (tshim_observe_slurp(path, buf, sizeof buf) < 0)
        return -1;
    p->jvm = strstr(buf, "/libjvm.so") != NULL;
    p->hook = tshim_elf_file_exports(p->exe, "toki_on_refresh");
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *file = strchr(line, '/');
        if (!file || strcmp(file, last) == 0) /* an object maps several segments */
            continue;
        snprintf(last, sizeof last, "%s", file);
        if (strstr(file, "/libtoki_shim.so"))
            snprintf(p->lib, sizeof p->lib, "%s", file);
        else if (!p->hook && strstr(file, ".so"))
            p->hook = tshim_elf_file_exports(file, "toki_on_refresh");
    }
    return 0;
}

/* The pid of pid's supervisor: the TOKI_SHIM_SUPERVISOR it was started with, if
 * that is its parent and a toki-shim (the variable is inherited by the program's
 * own children too, which the supervisor does not signal); 0 if none. */
static long tshim_check_supervisor(long pid, const struct tshim_check_env *e)
{
    const char *v = tshim_check_getenv((void *)e, TSHIM_SUPERVISE_VARIABLE);
    char path[64], buf[4096], exe[PATH_MAX], *end;
    if (!v || e->len == 0)
        return 0;
    errno = 0;
    long sup = strtol(v, &end, 10);
    if (errno || end == v || *end || sup <= 0 || sup > 4194304)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    const char *pp = tshim_observe_slurp(path, buf, sizeof buf) > 0 ? strstr(buf, "\nPPid:") : NULL;
    if (!pp || strtol(pp + 6, NULL, 10) != sup)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/exe", sup);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    return strcmp(tshim_proc_basename(exe), "toki-shim") == 0 ? sup : 0;
}

/* Says how the shim reaches the process: in-process (the library is loaded), or
 * from its supervisor; returns 1 (said why) when neither. */
static int tshim_check_mode(const struct tshim_check_process *p, const struct tshim_check_env *e)
{
    if (p->supervisor) {
        printf("mode: supervised: its parent, toki-shim run (pid %ld), listens for it and "
               "sends it the reload signal from outside\n",
               p->supervisor);
        return 0;
    }
    if (p->lib[0]) {
        printf("shim loaded: yes (%s)\nmode: in-process\n", p->lib);
        return 0;
    }
    printf("shim loaded: no; start it with toki-shim run, or with "
           "LD_PRELOAD=/path/to/libtoki_shim.so (static and setuid programs ignore it)\n");
    const char *v = tshim_check_getenv((void *)e, TSHIM_SUPERVISE_VARIABLE);
    if (v && e->len)
        printf("mode: none: its %s=%s is not its parent; a supervisor signals only the program "
               "it started, not that program's children\n",
               TSHIM_SUPERVISE_VARIABLE, v);
    return 1;
}

/* Gathers what can be known of pid from /proc; says why and returns 1 where it
 * stops short (no such process, no shim, an inert configuration), else 0. */
static int tshim_check_gather(struct tshim_check_process *p)
{
    static char env[1 << 20];
    char path[64], cmdline[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%ld/exe", p->pid);
    ssize_t n = readlink(path, p->exe, sizeof p->exe - 1);
    if (n <= 0) {
        printf("process %ld: cannot read it (%s); is it running, and yours?\n", p->pid,
               strerror(errno));
        return 1;
    }
    p->exe[n] = '\0';
    printf("process %ld: %s\n", p->pid, p->exe);
    snprintf(path, sizeof path, "/proc/%ld/environ", p->pid);
    long len = tshim_observe_slurp(path, env, sizeof env);
    struct tshim_check_env e = {env, len > 0 ? (size_t)len : 0};
    p->supervisor = tshim_check_supervisor(p->pid, &e);
    if (tshim_check_maps(p) < 0 && !p->supervisor) {
        printf("cannot read its memory map\n");
        return 1;
    }
    if (tshim_check_mode(p, &e) != 0 || tshim_check_load(&p->config, &e, "the process has") != 0)
        return 1;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", p->pid);
    tshim_observe_slurp(path, cmdline, sizeof cmdline);
    p->selected = tshim_proc_selected(p->config.only, p->config.skip, tshim_proc_basename(p->exe),
                                      tshim_proc_basename(cmdline));
    p->connected = tshim_check_connected(p->supervisor ? p->supervisor : p->pid, p->config.port);
    /* Whether the program asked for the event fd is in its memory, not in /proc:
     * the plan is made as if it had not, and says what would change. */
    p->facts.have_hook = p->hook && !p->supervisor;
    p->facts.have_handler = tshim_observe_caught(p->pid, p->config.signo);
    p->facts.blocked = !p->facts.have_handler && tshim_observe_takes_blocked(p->pid, p->config.signo);
    p->facts.dies = tshim_proc_named(p->config.no_signal, tshim_proc_basename(p->exe),
                                     tshim_proc_basename(cmdline));
    p->launcher = tshim_proc_named(p->config.launchers, tshim_proc_basename(p->exe),
                                   tshim_proc_basename(cmdline));
    const char *role = tshim_check_getenv(&e, "TOKI_SHIM_ROLE");
    snprintf(p->role, sizeof p->role, "%s", role ? role : "");
    p->facts.runtime = p->jvm                         ? TSHIM_DECIDE_JVM
                       : tshim_elf_file_is_go(p->exe) ? TSHIM_DECIDE_GO
                                                      : TSHIM_DECIDE_NATIVE;
    return 0;
}

static const char *tshim_check_runtime_name(enum tshim_decide_runtime r)
{
    return r == TSHIM_DECIDE_JVM ? "Java" : r == TSHIM_DECIDE_GO ? "Go" : "native";
}

/* Why the plan does nothing, or "" if it does something. */
static void tshim_check_print_nothing(const struct tshim_decide_plan *p,
                                      const struct tshim_check_process *proc, const char *sig)
{
    if (p->hook_skip)
        printf("nothing: the action wants the hook, and the program exports none (link it "
               "with -rdynamic)");
    else if (p->signal_skip == TSHIM_DECIDE_RUNTIME)
        printf("nothing: a %s runtime exits on SIG%s (TOKI_SHIM_SIGNAL_FORCE=1 overrides)",
               tshim_check_runtime_name(proc->facts.runtime), sig);
    else if (p->signal_skip == TSHIM_DECIDE_DIES)
        printf("nothing: %s exits on SIG%s even with a handler (TOKI_SHIM_NO_SIGNAL; "
               "TOKI_SHIM_SIGNAL_FORCE=1 overrides)",
               tshim_proc_basename(proc->exe), sig);
    else if (p->signal_skip == TSHIM_DECIDE_NO_HANDLER)
        printf("nothing: it has no SIG%s handler and would die of one (install a handler, "
               "or TOKI_SHIM_SIGNAL_FORCE=1)",
               sig);
    else
        printf("nothing (TOKI_SHIM_ACTION=none)");
}

/* Says what the shim does in the process on a refresh; 0 if it does something. */
static int tshim_check_print_plan(const struct tshim_check_process *proc)
{
    const struct tshim_config *c = &proc->config;
    const struct tshim_decide_facts *f = &proc->facts;
    char sig[16];
    tshim_config_signal_name(c->signo, sig, sizeof sig);
    printf("connected: %s\n",
           proc->connected ? "yes"
                           : "no: no established connection to the "
                             "Toki port; run toki-shim check in its environment, or see its log");
    printf("hook: %s\n", proc->supervisor ? "none: hooks and the event fd exist in-process only"
                          : proc->hook   ? "toki_on_refresh is exported"
                                         : "no exported toki_on_refresh");
    printf("signal: %s SIG%s%s\n", f->have_handler ? "has a handler for" : "has no handler for",
           sig, f->blocked ? ", blocks it and takes it from a signalfd" : "");
    printf("runtime: %s\n", tshim_check_runtime_name(f->runtime));
    struct tshim_decide_plan p = tshim_decide_action(c->action, c->signal_force, f);
    printf("on refresh (TOKI_SHIM_ACTION=%s): ", tshim_config_action_name(c->action));
    if (p.what & TSHIM_DECIDE_CALL_HOOK)
        printf("calls toki_on_refresh%s", p.what & TSHIM_DECIDE_SEND_SIGNAL ? " and " : "");
    if (p.what & TSHIM_DECIDE_SEND_SIGNAL)
        printf("sends SIG%s", sig);
    if (c->action == TSHIM_CONFIG_FD)
        printf("posts the event fd, if the program has called toki_shim_event_fd()");
    else if (!p.what)
        tshim_check_print_nothing(&p, proc, sig);
    printf("\n");
    if (c->action == TSHIM_CONFIG_AUTO && (p.what & TSHIM_DECIDE_SEND_SIGNAL) && !proc->supervisor)
        printf("event fd: once the program calls toki_shim_event_fd(), it is posted that "
               "instead of the signal\n");
    return p.what || c->action == TSHIM_CONFIG_FD ? 0 : 1;
}

static int tshim_check_pid(const char *arg)
{
    static struct tshim_check_process p;
    char *end;
    errno = 0;
    p.pid = strtol(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end || errno || p.pid <= 0 || p.pid > 4194304) {
        fprintf(stderr, "toki-shim check: \"%s\" is not a process id\n", arg);
        return 2;
    }
    if (tshim_check_gather(&p) != 0)
        return 1;
    if (!p.selected) {
        printf("selected: no: TOKI_SHIM_ONLY or TOKI_SHIM_SKIP leaves this program out, so the "
               "shim is inert in it\n");
        return 1;
    }
    if (p.launcher) {
        printf("role: a launcher (TOKI_SHIM_LAUNCHERS): it never listens; the program it "
               "starts does\n");
        return 1;
    }
    if (p.role[0] && !p.connected)
        printf("role: it got TOKI_SHIM_ROLE=%s: if that names its parent, the service, it "
               "stays inert; only the service listens (TOKI_SHIM_INHERIT=all to change "
               "that)\n",
               p.role);
    int acts = tshim_check_print_plan(&p) == 0;
    return p.connected && acts ? 0 : 1;
}

int tshim_check_main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return tshim_check_usage(stdout, 0);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return tshim_check_usage(stderr, 2);
    return argc == 2 ? tshim_check_pid(argv[1]) : tshim_check_environment();
}
