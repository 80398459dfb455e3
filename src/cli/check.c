/* check.c: diagnoses the environment against a live Toki, or a running process from /proc. */
/* SPDX-License-Identifier: MIT */
#include "check.h"

#include <dirent.h>
#include <getopt.h>
#include <errno.h>
#include <stdatomic.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "common/board.h"
#include "common/clock.h"
#include "common/config.h"
#include "common/decide.h"
#include "common/elf.h"
#include "common/fdguard.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/net.h"
#include "common/proc.h"
#include "common/session.h"
#include "observe.h"
#include "say.h"
#include "supervise.h"

#define TSHIM_CHECK_WAIT_MS 1000 /* a connection that lives this long was accepted */

static int tshim_check_usage(FILE *f, int status)
{
    fputs("Usage: toki-shim check\n"
          "       toki-shim check [--json] PID...\n"
          "       toki-shim check [--json] --all\n"
          "Without PID: shows the configuration the shim would read from this\n"
          "environment, connects to Toki and says whether the token is accepted.\n"
          "With PIDs: says whether each process has the shim loaded, whether it is\n"
          "connected, what it does on a refresh and why, and the events it received.\n\n"
          "  --all    every process of yours that has the shim loaded\n"
          "  --json   one JSON array, an object per process\n"
          "  -h, --help  show this help\n\n"
          "Exit status 0 when all is well (with every process), 1 when not, 2 for a\n"
          "usage error.\n",
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
           tshim_decide_action_name(c->action), tshim_config_signal_name(c->signo, sig, sizeof sig),
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

/* One framed line: an event, or the first sign of something else. */
static int tshim_check_line(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    struct tshim_check_watch *w = ctx;
    if (kind == TSHIM_FRAME_EVENT && tshim_check_looks_like_event(name))
        w->events++;
    else
        w->bad = 1;
    return 0;
}

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
        ssize_t n = tshim_session_receive(&f, buf, sizeof buf, tshim_check_line, w);
        if (n == TSHIM_SESSION_NOTHING)
            continue;
        if (n <= 0) {
            w->closed = 1;
            break;
        }
        /* What is shown of a bad line is the start of the read that brought it. */
        if (w->bad) {
            snprintf(w->first_bad, sizeof w->first_bad, "%.*s", (int)(n < 40 ? n : 40), buf);
            break;
        }
        /* A banner need not end its line. */
        const char *partial = tshim_frame_partial(&f);
        if (partial[0] && !tshim_check_looks_like_event(partial)) {
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

/* Loads the configuration from env (NULL: ours); where the shim would not listen,
 * says why in why and returns the result (INERT or ERROR). */
static enum tshim_config_result tshim_check_load(struct tshim_config *c,
                                                 struct tshim_config_text *text,
                                                 struct tshim_check_env *env, const char *who,
                                                 char *why, size_t size)
{
    char err[512];
    enum tshim_config_result r =
        tshim_config_load(c, text, tshim_check_getenv, env, err, sizeof err);
    if (r == TSHIM_CONFIG_INERT)
        snprintf(why, size,
                 "inert: %s no TOKI_TOKEN (or has TOKI_SHIM_DISABLE=1); Toki sets TOKI_TOKEN "
                 "for the commands it runs",
                 who);
    else if (r == TSHIM_CONFIG_ERROR)
        snprintf(why, size, "configuration error: %s", err);
    return r;
}

static int tshim_check_environment(void)
{
    static struct tshim_config c;
    static struct tshim_config_text text;
    char why[640];
    if (tshim_check_load(&c, &text, NULL, "this environment has", why, sizeof why) !=
        TSHIM_CONFIG_ACTIVE) {
        printf("%s\n", why);
        return 1;
    }
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

/* How far toki-shim check PID got with a process: each stage but the last is where
 * it stopped, and why says why. */
enum tshim_check_stage {
    TSHIM_CHECK_GONE,         /* no such process, or not ours to read */
    TSHIM_CHECK_NO_MAP,       /* its memory map cannot be read */
    TSHIM_CHECK_NOT_LOADED,   /* no libtoki_shim.so in it */
    TSHIM_CHECK_INERT,        /* loaded, but its configuration makes it inert */
    TSHIM_CHECK_CONFIG_ERROR, /* loaded, with a configuration the shim refuses */
    TSHIM_CHECK_NOT_SELECTED, /* TOKI_SHIM_ONLY or TOKI_SHIM_SKIP leaves it out */
    TSHIM_CHECK_LAUNCHER,     /* a launcher, which never listens */
    TSHIM_CHECK_GATHERED,     /* all that can be known was read */
};

#define TSHIM_CHECK_RANGES 4 /* writable mappings of the library looked at for its board */

/* What toki-shim check PID reads about a process before it says anything. */
struct tshim_check_process {
    long pid;
    enum tshim_check_stage stage;
    char why[640]; /* why it stopped short of GATHERED */
    char exe[PATH_MAX];
    char lib[PATH_MAX]; /* the shim's file as mapped, empty if not loaded */
    unsigned long rw_lo[TSHIM_CHECK_RANGES], rw_hi[TSHIM_CHECK_RANGES];
    int rw_n;
    int jvm, hook;
    struct tshim_config config;
    struct tshim_config_text text; /* what config's lists point at */
    int connected;
    char role[32];   /* TOKI_SHIM_ROLE as the process got it */
    long supervisor; /* its parent, a toki-shim run that supervises it; 0 if none */
    char stray[48];  /* a TOKI_SHIM_SUPERVISOR that names another process */
    int env_hidden;  /* inert by its environment, yet its counters say it listens */
    struct tshim_decide_facts facts;
    int board_read; /* 1: board holds the shim's counters in that process */
    struct tshim_board board;
    char board_why[128]; /* why the counters could not be read */
};

/* One pass over /proc/PID/maps: the shim's file, a JVM, and whether the executable
 * or a loaded library exports toki_on_refresh. -1 if it cannot be read; 1, with
 * only_loaded, if it shows no shim (then nothing else is looked at). */
static int tshim_check_maps(struct tshim_check_process *p, int only_loaded)
{
    static char buf[1 << 20];
    char path[64], last[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%ld/maps", p->pid);
    if (tshim_observe_slurp(path, buf, sizeof buf) < 0)
        return -1;
    if (only_loaded && !strstr(buf, "/libtoki_shim.so"))
        return 1;
    p->jvm = tshim_elf_names_jvm(buf);
    p->hook = tshim_elf_file_exports(p->exe, "toki_on_refresh");
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *file = strchr(line, '/');
        unsigned long lo, hi;
        char perms[5];
        if (file && strstr(file, "/libtoki_shim.so") && p->rw_n < TSHIM_CHECK_RANGES &&
            sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && perms[1] == 'w') {
            p->rw_lo[p->rw_n] = lo;
            p->rw_hi[p->rw_n++] = hi;
        }
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

/* Finds the shim's counters in the library's writable data in pid (see board.h):
 * process_vm_readv, which the kernel allows on a process of our own uid unless
 * ptrace is restricted (Yama's ptrace_scope). Says why in board_why if not. */
static void tshim_check_board(struct tshim_check_process *p)
{
    const size_t align = _Alignof(struct tshim_board);
    snprintf(p->board_why, sizeof p->board_why, "no counters found in its copy of the library");
    for (int i = 0; i < p->rw_n && !p->board_read; i++) {
        size_t len = p->rw_hi[i] - p->rw_lo[i];
        char *buf = len <= (64u << 20) ? malloc(len) : NULL;
        struct iovec local = {buf, len}, remote = {(void *)p->rw_lo[i], len};
        if (buf && process_vm_readv((pid_t)p->pid, &local, 1, &remote, 1, 0) != (ssize_t)len) {
            snprintf(p->board_why, sizeof p->board_why, "cannot read its memory: %s%s",
                     strerror(errno),
                     errno == EPERM ? " (ptrace is restricted: kernel.yama.ptrace_scope)" : "");
            free(buf);
            return;
        }
        for (size_t off = 0; buf && off + sizeof p->board <= len; off += align)
            if (memcmp(buf + off, TSHIM_BOARD_MAGIC, TSHIM_BOARD_MAGIC_LEN) == 0) {
                memcpy(&p->board, buf + off, sizeof p->board);
                p->board_read = 1;
                break;
            }
        free(buf);
    }
    /* A forked child that does not listen holds its parent's counters. */
    if (p->board_read && atomic_load(&p->board.pid) != p->pid) {
        p->board_read = 0;
        snprintf(p->board_why, sizeof p->board_why,
                 "the counters there are its parent's (a forked child that does not listen)");
    }
}

/* The pid of pid's supervisor: the TOKI_SHIM_SUPERVISOR it was started with, if it
 * names pid itself and a parent that is a toki-shim (the variable is inherited by
 * the program's own children too, which the supervisor does not signal); 0 if
 * none. */
static long tshim_check_supervisor(long pid, const struct tshim_check_env *e)
{
    const char *v = tshim_check_getenv((void *)e, TSHIM_SUPERVISE_VARIABLE);
    char path[64], buf[4096], exe[PATH_MAX], *end;
    if (!v || e->len == 0)
        return 0;
    /* "SUPERVISOR:CHILD": the program itself, not a child of its that inherited
     * the variable and was then adopted by a supervisor running as PID 1. */
    errno = 0;
    long sup = strtol(v, &end, 10);
    if (errno || end == v || *end != ':' || sup <= 0 || sup > 4194304)
        return 0;
    const char *second = end + 1;
    long self = strtol(second, &end, 10);
    if (errno || end == second || *end || self != pid)
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

/* Stops gathering at stage s. */
static int tshim_check_stop(struct tshim_check_process *p, enum tshim_check_stage s)
{
    p->stage = s;
    return 1;
}

/* The facts that decide what a refresh does to the process. */
static void tshim_check_facts(struct tshim_check_process *p, struct tshim_check_env *e,
                              const char *cmdline)
{
    const char *exe = tshim_proc_basename(p->exe), *arg0 = tshim_proc_basename(cmdline);
    p->connected = tshim_check_connected(p->supervisor ? p->supervisor : p->pid, p->config.port);
    /* Whether the program asked for the event fd is in its memory, not in /proc:
     * the counters say, once they are read (tshim_check_gather). */
    p->facts.have_hook = p->hook && !p->supervisor;
    p->facts.have_handler = tshim_observe_caught(p->pid, p->config.signo);
    p->facts.blocked = !p->facts.have_handler && tshim_observe_takes_blocked(p->pid, p->config.signo);
    p->facts.dies = tshim_proc_named(p->config.no_signal, exe, arg0);
    const char *role = tshim_check_getenv(e, "TOKI_SHIM_ROLE");
    snprintf(p->role, sizeof p->role, "%s", role ? role : "");
    p->facts.runtime = p->jvm                         ? TSHIM_DECIDE_JVM
                       : tshim_elf_file_is_go(p->exe) ? TSHIM_DECIDE_GO
                                                      : TSHIM_DECIDE_NATIVE;
}

/* Gathers what can be known of pid from /proc and its memory; returns 1 where it
 * stops short (the stage and why say where and why), else 0. only_loaded (--all):
 * a process whose map shows no shim is NOT_LOADED at once. */
static int tshim_check_gather(struct tshim_check_process *p, int only_loaded)
{
    static char env[1 << 20];
    char path[64], cmdline[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%ld/exe", p->pid);
    ssize_t n = readlink(path, p->exe, sizeof p->exe - 1);
    if (n <= 0) {
        snprintf(p->why, sizeof p->why, "cannot read it (%s); is it running, and yours?",
                 strerror(errno));
        return tshim_check_stop(p, TSHIM_CHECK_GONE);
    }
    p->exe[n] = '\0';
    int maps = tshim_check_maps(p, only_loaded);
    if (only_loaded && maps != 0)
        return tshim_check_stop(p, TSHIM_CHECK_NOT_LOADED);
    snprintf(path, sizeof path, "/proc/%ld/environ", p->pid);
    long len = tshim_observe_slurp(path, env, sizeof env);
    struct tshim_check_env e = {env, len > 0 ? (size_t)len : 0};
    p->supervisor = tshim_check_supervisor(p->pid, &e);
    const char *stray = tshim_check_getenv(&e, TSHIM_SUPERVISE_VARIABLE);
    if (stray && !p->supervisor)
        snprintf(p->stray, sizeof p->stray, "%s", stray);
    if (maps < 0 && !p->supervisor)
        return tshim_check_stop(p, TSHIM_CHECK_NO_MAP);
    if (!p->lib[0] && !p->supervisor)
        return tshim_check_stop(p, TSHIM_CHECK_NOT_LOADED);
    enum tshim_config_result r =
        tshim_check_load(&p->config, &p->text, &e, "the process has", p->why, sizeof p->why);
    if (r == TSHIM_CONFIG_INERT && !p->supervisor) {
        /* A program that sets its process title (nginx) writes over its environment,
         * which then no longer shows the token it started with: its counters say
         * whether the shim in it listens. */
        tshim_check_board(p);
        p->env_hidden = p->board_read && atomic_load(&p->board.on);
        if (p->env_hidden)
            snprintf(p->why, sizeof p->why,
                     "listening: yes, though its environment no longer shows TOKI_TOKEN "
                     "(the program wrote over it, as one that sets its process title does): "
                     "its configuration cannot be read from outside");
    }
    if (r != TSHIM_CONFIG_ACTIVE)
        return tshim_check_stop(p, r == TSHIM_CONFIG_INERT ? TSHIM_CHECK_INERT
                                                           : TSHIM_CHECK_CONFIG_ERROR);
    snprintf(path, sizeof path, "/proc/%ld/cmdline", p->pid);
    tshim_observe_slurp(path, cmdline, sizeof cmdline);
    const char *exe = tshim_proc_basename(p->exe), *arg0 = tshim_proc_basename(cmdline);
    if (!tshim_proc_selected(p->config.only, p->config.skip, exe, arg0))
        return tshim_check_stop(p, TSHIM_CHECK_NOT_SELECTED);
    if (tshim_proc_named(p->config.launchers, exe, arg0))
        return tshim_check_stop(p, TSHIM_CHECK_LAUNCHER);
    tshim_check_facts(p, &e, cmdline);
    if (p->supervisor)
        snprintf(p->board_why, sizeof p->board_why,
                 "supervised: the counters are the supervisor's, which its log shows");
    else
        tshim_check_board(p);
    /* Whether the program asked for the event fd is in its memory: the counters. */
    p->facts.have_fd = p->board_read && atomic_load(&p->board.fd_asked);
    p->stage = TSHIM_CHECK_GATHERED;
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
    char does[160];
    int acts = tshim_decide_describe(&p, c->action, sig, 0, does, sizeof does);
    printf("on refresh (TOKI_SHIM_ACTION=%s): %s", tshim_decide_action_name(c->action), does);
    if (!acts)
        tshim_check_print_nothing(&p, proc, sig);
    printf("\n");
    if (c->action == TSHIM_DECIDE_AUTO && (p.what & TSHIM_DECIDE_SEND_SIGNAL) && !proc->supervisor &&
        !f->have_fd)
        printf("event fd: once the program calls toki_shim_event_fd(), the shim posts the "
               "event fd instead of sending the signal\n");
    return acts ? 0 : 1;
}

/* The counters, as one line of text. */
static void tshim_check_print_board(const struct tshim_check_process *p)
{
    const struct tshim_board *b = &p->board;
    if (!p->board_read) {
        printf("events: unknown: %s\n", p->board_why);
        return;
    }
    if (!atomic_load(&b->on)) {
        printf("listening: no: the shim is inert in it (another process of its tree "
               "listens, or its listener could not start)\n");
        return;
    }
    unsigned long lines = atomic_load(&b->lines);
    if (lines == 0) {
        printf("events: none received yet (Toki's first refresh comes refresh_after minutes "
               "after the step starts)\n");
        return;
    }
    char when[80];
    tshim_clock_iso8601(atomic_load(&b->last_event_ms), when, sizeof when);
    printf("events: %lu received; generation %lu (the trigger events); %lu actions; the last "
           "event at %s\n",
           lines, atomic_load(&b->generation), atomic_load(&b->actions), when);
}

/* The report on one gathered process; 0 if all is well with it. */
static int tshim_check_print_text(const struct tshim_check_process *p)
{
    if (p->stage == TSHIM_CHECK_GONE) {
        printf("process %ld: %s\n", p->pid, p->why);
        return 1;
    }
    printf("process %ld: %s\n", p->pid, p->exe);
    if (p->stage == TSHIM_CHECK_NO_MAP)
        printf("cannot read its memory map\n");
    else if (p->stage == TSHIM_CHECK_NOT_LOADED)
        printf("shim loaded: no; start it with toki-shim run, or with "
               "LD_PRELOAD=/path/to/libtoki_shim.so (static and setuid programs ignore it)\n");
    if (p->stage == TSHIM_CHECK_NOT_LOADED && p->stray[0])
        printf("mode: none: its %s=%s does not name it and its parent; a supervisor signals "
               "only the program it started, not that program's children\n",
               TSHIM_SUPERVISE_VARIABLE, p->stray);
    if (p->stage <= TSHIM_CHECK_NOT_LOADED)
        return 1;
    if (p->supervisor)
        printf("mode: supervised: its parent, toki-shim run (pid %ld), listens for it and "
               "sends it the reload signal from outside\n",
               p->supervisor);
    else
        printf("shim loaded: yes (%s)\nmode: in-process\n", p->lib);
    if (p->stage == TSHIM_CHECK_INERT || p->stage == TSHIM_CHECK_CONFIG_ERROR)
        printf("%s\n", p->why);
    if (p->env_hidden) {
        tshim_check_print_board(p);
        return 0;
    }
    if (p->stage == TSHIM_CHECK_NOT_SELECTED)
        printf("selected: no: TOKI_SHIM_ONLY or TOKI_SHIM_SKIP leaves this program out, so the "
               "shim is inert in it\n");
    else if (p->stage == TSHIM_CHECK_LAUNCHER)
        printf("role: a launcher (TOKI_SHIM_LAUNCHERS): it never listens; the program it "
               "starts does\n");
    if (p->stage != TSHIM_CHECK_GATHERED)
        return 1;
    if (p->role[0] && !p->connected)
        printf("role: it got TOKI_SHIM_ROLE=%s: if that names its parent, the service, it "
               "stays inert; only the service listens (TOKI_SHIM_INHERIT=all to change "
               "that)\n",
               p->role);
    /* Inert by design (a process the service started, or another of its tree
     * listens): nothing is wrong, and a plan would only confuse. */
    if (p->board_read && !atomic_load(&p->board.on)) {
        tshim_check_print_board(p);
        return 0;
    }
    int acts = tshim_check_print_plan(p) == 0;
    tshim_check_print_board(p);
    return p->connected && acts ? 0 : 1;
}

/* What the process is, in one word, for --json. */
static const char *tshim_check_mode(const struct tshim_check_process *p)
{
    static const char *const names[] = {
        [TSHIM_CHECK_GONE] = "gone",           [TSHIM_CHECK_NO_MAP] = "unreadable",
        [TSHIM_CHECK_NOT_LOADED] = "not-loaded", [TSHIM_CHECK_INERT] = "inert",
        [TSHIM_CHECK_CONFIG_ERROR] = "config-error", [TSHIM_CHECK_NOT_SELECTED] = "not-selected",
        [TSHIM_CHECK_LAUNCHER] = "launcher",
    };
    if (p->env_hidden)
        return "active";
    if (p->stage != TSHIM_CHECK_GATHERED)
        return names[p->stage];
    if (p->supervisor)
        return "supervised";
    if (!p->board_read)
        return "loaded"; /* whether it listens is in its memory, which could not be read */
    return atomic_load(&p->board.on) ? "active" : "inert";
}

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0. */
static int tshim_check_utf8_len(const unsigned char *s)
{
    int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5)
        n = 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* s as a JSON string. A path is bytes, not text: a byte that is no part of valid
 * UTF-8 becomes U+FFFD, so that the output stays JSON. */
static void tshim_check_json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        int n = *u >= 0x80 ? tshim_check_utf8_len(u) : 1;
        if (*u == '"' || *u == '\\')
            printf("\\%c", *u);
        else if (*u < 0x20 || *u == 0x7f)
            printf("\\u%04x", *u);
        else if (n == 0)
            fputs("\\ufffd", stdout);
        else {
            fwrite(u, 1, (size_t)n, stdout);
            u += n - 1;
        }
    }
    putchar('"');
}

/* The counters of a process, for --json: null where they could not be read. */
static void tshim_check_json_board(const struct tshim_check_process *p)
{
    const struct tshim_board *b = &p->board;
    if (!p->board_read) {
        printf(", \"events\": null, \"generation\": null, \"actions\": null, "
               "\"last_event\": null, \"counters_unknown\": ");
        tshim_check_json_string(p->stage == TSHIM_CHECK_GATHERED ? p->board_why
                                                                 : "not a listening shim");
        return;
    }
    printf(", \"events\": %lu, \"generation\": %lu, \"actions\": %lu, \"last_event\": ",
           atomic_load(&b->lines), atomic_load(&b->generation), atomic_load(&b->actions));
    char when[80];
    long long ms = atomic_load(&b->last_event_ms);
    tshim_clock_iso8601(ms, when, sizeof when);
    if (ms)
        tshim_check_json_string(when);
    else
        printf("null");
}

/* One process as a JSON object; returns 0 if all is well with it. */
static int tshim_check_print_json(const struct tshim_check_process *p)
{
    int gathered = p->stage == TSHIM_CHECK_GATHERED, ok = 0;
    printf("{\"pid\": %ld, \"exe\": ", p->pid);
    tshim_check_json_string(p->stage == TSHIM_CHECK_GONE ? "" : p->exe);
    printf(", \"mode\": \"%s\", \"action\": ", tshim_check_mode(p));
    if (gathered) {
        struct tshim_decide_plan plan =
            tshim_decide_action(p->config.action, p->config.signal_force, &p->facts);
        char does[16];
        int acts = tshim_decide_describe(&plan, p->config.action, "", 1, does, sizeof does);
        printf("\"%s\", \"on_refresh\": \"%s\", \"connected\": %s",
               tshim_decide_action_name(p->config.action), does,
               p->connected ? "true" : "false");
        ok = (p->board_read && !atomic_load(&p->board.on)) || (p->connected && acts);
    } else {
        printf("null, \"on_refresh\": null, \"connected\": false, \"why\": ");
        tshim_check_json_string(p->stage == TSHIM_CHECK_NO_MAP       ? "cannot read its memory map"
                                : p->stage == TSHIM_CHECK_NOT_LOADED ? "the shim is not loaded"
                                : p->stage == TSHIM_CHECK_NOT_SELECTED
                                    ? "TOKI_SHIM_ONLY or TOKI_SHIM_SKIP leaves it out"
                                : p->stage == TSHIM_CHECK_LAUNCHER ? "a launcher never listens"
                                                                   : p->why);
    }
    tshim_check_json_board(p);
    ok |= p->env_hidden;
    printf(", \"ok\": %s}", ok ? "true" : "false");
    return !ok;
}

/* Reads pid's process id from arg; 0 if it is none (a usage error). */
static long tshim_check_parse_pid(const char *arg)
{
    char *end;
    errno = 0;
    long pid = strtol(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end || errno || pid <= 0 || pid > 4194304)
        return 0;
    return pid;
}

/* The next process of our uid in /proc, ourselves left out; 0 after the last. */
static long tshim_check_next_ours(DIR *d)
{
    char path[64];
    for (struct dirent *e; d && (e = readdir(d));) {
        long pid = tshim_check_parse_pid(e->d_name);
        struct stat st;
        snprintf(path, sizeof path, "/proc/%.20s", e->d_name);
        if (pid != 0 && pid != (long)getpid() && stat(path, &st) == 0 && st.st_uid == getuid())
            return pid;
    }
    return 0;
}

/* Reports on each process: text, a blank line between them, or one JSON array.
 * Without pids (--all), on every process of ours with the shim loaded: its map,
 * read once, picks it, and one that has ended since is nobody's question. 0 if
 * all is well with every one reported. */
static int tshim_check_processes(const long *pids, size_t n, int json)
{
    static struct tshim_check_process p;
    DIR *d = pids ? NULL : opendir("/proc");
    int status = 0;
    size_t told = 0;
    if (json)
        printf("[");
    for (size_t i = 0; pids ? i < n : d != NULL; i++) {
        memset(&p, 0, sizeof p);
        p.pid = pids ? pids[i] : tshim_check_next_ours(d);
        if (p.pid == 0)
            break;
        tshim_check_gather(&p, !pids);
        if (!pids && (p.stage == TSHIM_CHECK_GONE || p.stage == TSHIM_CHECK_NOT_LOADED))
            continue;
        if (json) {
            printf("%s\n  ", told ? "," : "");
            status |= tshim_check_print_json(&p);
        } else {
            printf("%s", told ? "\n" : "");
            status |= tshim_check_print_text(&p);
        }
        told++;
    }
    if (d)
        closedir(d);
    if (json)
        printf("%s]\n", told ? "\n" : "");
    else if (told == 0)
        printf("no process of uid %u has the shim loaded\n", (unsigned)getuid());
    return told == 0 ? 1 : status;
}

#define TSHIM_CHECK_MAX_PIDS 4096

int tshim_check_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static long pids[TSHIM_CHECK_MAX_PIDS];
    int ch, all = 0, json = 0;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (ch == 'h')
            return tshim_check_usage(stdout, 0);
        if (ch == 'a' || ch == 'j')
            *(ch == 'a' ? &all : &json) = 1;
        else
            return tshim_say_bad_option("check", ch, argv);
    }
    size_t n = 0;
    for (int i = optind; i < argc; i++) {
        if (n == TSHIM_CHECK_MAX_PIDS)
            return tshim_say_usage("check", "more than %d process ids", TSHIM_CHECK_MAX_PIDS);
        if ((pids[n++] = tshim_check_parse_pid(argv[i])) == 0)
            return tshim_say_usage("check", "\"%s\" is not a process id", argv[i]);
    }
    if (all && n)
        return tshim_say_usage("check", "--all and process ids exclude each other");
    if (all)
        return tshim_check_processes(NULL, 0, json);
    if (n == 0 && json)
        return tshim_say_usage("check", "--json reports on processes: give PIDs or --all");
    if (n == 0)
        return tshim_check_environment();
    return tshim_check_processes(pids, n, json);
}
