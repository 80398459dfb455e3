/* check.c: diagnoses the environment against a live Toki, or a running process from /proc. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dispatch.h"
#include "elfinfo.h"
#include "frame.h"
#include "interpose.h"
#include "net.h"
#include "procenv.h"

#define TCHECK_WAIT_MS 1000 /* a connection that lives this long was accepted */

static int tcheck_usage(FILE *f, int status)
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

static void tcheck_list(const char *label, const char *list)
{
    printf("%s=", label);
    for (const char *p = list; *p; p += strlen(p) + 1)
        printf("%s%s", p == list ? "" : ",", p);
    printf("\n");
}

static void tcheck_print_config(const struct tcfg *c)
{
    static const char *const levels[] = {"quiet", "error", "warn", "info", "debug"};
    char sig[16];
    printf("TOKI_TOKEN=(set, %zu bytes%s)\n", c->token_len,
           c->token_len == 36 ? "" : "; Toki's are 36");
    printf("TOKI_PORT=%d\nTOKI_SHIM_HOST=%s\nTOKI_SHIM_ALLOW_REMOTE=%d\n", c->port, c->host,
           c->allow_remote);
    printf("TOKI_SHIM_ACTION=%s\nTOKI_SHIM_SIGNAL=%s\nTOKI_SHIM_SIGNAL_FORCE=%d\n",
           tcfg_action_name(c->action), tcfg_signal_name(c->signo, sig, sizeof sig), c->signal_force);
    tcheck_list("TOKI_SHIM_EVENTS", c->events);
    printf("TOKI_SHIM_LOG=%s\nTOKI_SHIM_LOG_FILE=%s\n", levels[c->log_level],
           c->log_file[0] ? c->log_file : "(stderr)");
    printf("TOKI_SHIM_CONNECT_TIMEOUT_MS=%d\nTOKI_SHIM_RETRY_MAX_MS=%d\nTOKI_SHIM_STACK_KB=%ld\n",
           c->connect_timeout_ms, c->retry_max_ms, c->stack_kb);
    printf("TOKI_SHIM_DEBOUNCE_MS=%ld\nTOKI_SHIM_SPLAY_MS=%ld\n", c->debounce_ms, c->splay_ms);
    tcheck_list("TOKI_SHIM_ONLY", c->only);
    tcheck_list("TOKI_SHIM_SKIP", c->skip);
    printf("TOKI_SHIM_INHERIT=%d\nTOKI_SHIM_FOLLOW_FORK=%d\nTOKI_SHIM_STRICT=%d\n", c->inherit,
           c->follow_fork, c->strict);
    printf("TOKI_SHIM_PEER_CHECK=%d\nTOKI_SHIM_SCRUB_TOKEN=%d\n", c->peer_check, c->scrub_token);
}

/* Toki's events are upper-case names; a banner or a greeting is not. */
static int tcheck_looks_like_event(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static long tcheck_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Connects as the shim would and watches the connection for a second. */
static int tcheck_probe(const struct tcfg *c)
{
    char err[160], where[80], buf[4096];
    tnet_format((const struct sockaddr *)&c->addr, where, sizeof where);
    if (tnet_connect((const struct sockaddr *)&c->addr, c->addr_len, c->connect_timeout_ms, err,
                     sizeof err) < 0) {
        printf("no server: nothing accepts connections at %s (%s)\n", where, err);
        return 1;
    }
    unsigned uid;
    if (c->peer_check && tcfg_is_loopback((const struct sockaddr *)&c->addr)) {
        int known = tnet_peer_uid(&uid) == 0, e = errno;
        if (!known || uid != (unsigned)geteuid()) {
            char msg[64];
            tipose_release();
            if (known)
                printf("not ours: the server at %s belongs to uid %u, not to uid %u; ", where, uid,
                       (unsigned)geteuid());
            else
                printf("unknown owner: cannot tell who owns the server at %s (%s); ", where,
                       tlog_strerror(e, msg, sizeof msg));
            printf("the token was not sent (TOKI_SHIM_PEER_CHECK=0 skips this check)\n");
            return 1;
        }
    }
    if (tnet_send_token(c->token, c->token_len, err, sizeof err) < 0) {
        tipose_release();
        printf("no server: %s at %s\n", err, where);
        return 1;
    }
    struct tframe f;
    tframe_init(&f);
    long deadline = tcheck_now_ms() + TCHECK_WAIT_MS;
    int events = 0, closed = 0, bad = 0;
    char first_bad[64] = "";
    for (long left; !closed && !bad && (left = deadline - tcheck_now_ms()) > 0;) {
        struct pollfd p = {.fd = tipose_current(), .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t n = recv(p.fd, buf, sizeof buf, 0);
        if (n <= 0) {
            closed = 1;
            break;
        }
        for (size_t off = 0; off < (size_t)n;) {
            enum tframe_kind kind;
            off += tframe_scan(&f, buf + off, (size_t)n - off, &kind);
            if (kind == TFRAME_EVENT && tcheck_looks_like_event(tframe_name(&f))) {
                events++;
            } else if (kind != TFRAME_MORE) {
                bad = 1;
                snprintf(first_bad, sizeof first_bad, "%.*s", (int)(n < 40 ? n : 40), buf);
            }
        }
        if (!bad && f.len > 0 && !tcheck_looks_like_event((f.line[f.len] = '\0', f.line))) {
            bad = 1;
            tlog_quote(first_bad, sizeof first_bad, f.line, 40);
        }
    }
    tipose_release();
    if (bad) {
        char shown[96];
        tlog_quote(shown, sizeof shown, first_bad, 40);
        printf("not a Toki: the server at %s sent \"%s\", which is no event line\n", where, shown);
        return 1;
    }
    if (closed && events == 0) {
        printf("rejected: the server at %s closed the connection right after the token: "
               "TOKI_TOKEN is wrong, or not this Toki's\n", where);
        return 1;
    }
    printf("accepted: Toki at %s kept the connection open%s", where, events ? "" : "\n");
    if (events)
        printf(" and sent %d event%s\n", events, events == 1 ? "" : "s");
    return 0;
}

/* An environment block (NUL-separated "K=V"), as tcfg_load's lookup. */
struct tcheck_env {
    const char *block;
    size_t len;
};

static const char *tcheck_getenv(void *ctx, const char *name)
{
    const struct tcheck_env *e = ctx;
    size_t n = strlen(name);
    if (!e)
        return getenv(name);
    for (size_t off = 0; off < e->len; off += strlen(e->block + off) + 1)
        if (strncmp(e->block + off, name, n) == 0 && e->block[off + n] == '=')
            return e->block + off + n + 1;
    return NULL;
}

/* Loads the configuration from env (NULL: ours) and says what is wrong with it. */
static int tcheck_load(struct tcfg *c, struct tcheck_env *env, const char *who)
{
    char err[512];
    switch (tcfg_load(c, tcheck_getenv, env, err, sizeof err)) {
    case TCFG_INERT:
        printf("inert: %s no TOKI_TOKEN (or has TOKI_SHIM_DISABLE=1); Toki sets TOKI_TOKEN "
               "for the commands it runs\n", who);
        return 1;
    case TCFG_ERROR:
        printf("configuration error: %s\n", err);
        return 1;
    case TCFG_ACTIVE:
        break;
    }
    return 0;
}

static int tcheck_environment(void)
{
    static struct tcfg c;
    if (tcheck_load(&c, NULL, "this environment has") != 0)
        return 1;
    tcheck_print_config(&c);
    return tcheck_probe(&c);
}

/* Reads a whole /proc file; returns its length, or -1. */
static long tcheck_slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, size - 1, f);
    fclose(f);
    buf[n] = '\0';
    return (long)n;
}

/* 1 if one of pid's sockets is an established TCP connection to port. */
static int tcheck_connected(long pid, int port)
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
            if (sscanf(line, " %*s %*s %63[0-9A-Fa-f]:%x %x %*s %*s %*s %*s %*s %lu", remote, &rport,
                       &st, &inode) != 4 || st != 1 || (int)rport != port)
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

/* 1 if pid has a handler for signo (the SigCgt mask of /proc/PID/status). */
static int tcheck_caught(long pid, int signo)
{
    char path[64], buf[8192];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (tcheck_slurp(path, buf, sizeof buf) < 0)
        return 0;
    const char *p = strstr(buf, "SigCgt:");
    unsigned long long mask = p ? strtoull(p + 7, NULL, 16) : 0;
    return (int)((mask >> (signo - 1)) & 1);
}

static int tcheck_pid(const char *arg)
{
    char *end, path[64], exe[PATH_MAX], where[PATH_MAX] = "";
    static char buf[1 << 20];
    errno = 0;
    long pid = strtol(arg, &end, 10);
    if (arg[0] < '0' || arg[0] > '9' || *end || errno || pid <= 0 || pid > 4194304) {
        fprintf(stderr, "toki-shim check: \"%s\" is not a process id\n", arg);
        return 2;
    }
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    if (n <= 0) {
        printf("process %ld: cannot read it (%s); is it running, and yours?\n", pid, strerror(errno));
        return 1;
    }
    exe[n] = '\0';
    printf("process %ld: %s\n", pid, exe);

    /* The shim, a JVM and the hook's definers are all in the memory map. */
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    if (tcheck_slurp(path, buf, sizeof buf) < 0) {
        printf("cannot read its memory map\n");
        return 1;
    }
    int jvm = strstr(buf, "/libjvm.so") != NULL, hook = telf_file_exports(exe, "toki_on_refresh");
    for (char *line = buf, *next; !hook && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char *file = strchr(line, '/');
        if (!file)
            continue;
        if (strstr(file, "/libtoki_shim.so"))
            snprintf(where, sizeof where, "%s", file);
        else if (strstr(file, ".so") && telf_file_exports(file, "toki_on_refresh"))
            hook = 1;
    }
    if (!where[0]) {
        snprintf(path, sizeof path, "/proc/%ld/maps", pid);
        tcheck_slurp(path, buf, sizeof buf);
        char *lib = strstr(buf, "/libtoki_shim.so");
        if (lib) {
            char *start = lib;
            while (start > buf && start[-1] != ' ')
                start--;
            snprintf(where, sizeof where, "%.*s", (int)(strcspn(start, "\n")), start);
        }
    }
    if (!where[0]) {
        printf("shim loaded: no; start it with toki-shim run, or with "
               "LD_PRELOAD=/path/to/libtoki_shim.so (static and setuid programs ignore it)\n");
        return 1;
    }
    printf("shim loaded: yes (%s)\n", where);

    static struct tcfg c;
    snprintf(path, sizeof path, "/proc/%ld/environ", pid);
    long len = tcheck_slurp(path, buf, sizeof buf);
    struct tcheck_env env = {buf, len > 0 ? (size_t)len : 0};
    if (tcheck_load(&c, &env, "the process has") != 0)
        return 1;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    char cmdline[PATH_MAX] = "";
    tcheck_slurp(path, cmdline, sizeof cmdline);
    if (!tproc_selected(c.only, c.skip, tproc_basename(exe), tproc_basename(cmdline))) {
        printf("selected: no: TOKI_SHIM_ONLY or TOKI_SHIM_SKIP leaves this program out, so the "
               "shim is inert in it\n");
        return 1;
    }
    int connected = tcheck_connected(pid, c.port);
    printf("connected: %s\n", connected ? "yes" : "no: no established connection to the "
           "Toki port; run toki-shim check in its environment, or see its log");

    /* Whether the program asked for the event fd is in its memory, not in /proc:
     * the plan is made as if it had not, and says what would change. */
    struct tdisp_facts f = {hook, tcheck_caught(pid, c.signo), 0,
                            jvm ? TDISP_JVM : telf_file_is_go(exe) ? TDISP_GO : TDISP_NATIVE};
    char sig[16];
    tcfg_signal_name(c.signo, sig, sizeof sig);
    printf("hook: %s\n", hook ? "toki_on_refresh is exported" : "no exported toki_on_refresh");
    printf("signal: %s SIG%s\n", f.have_handler ? "has a handler for" : "has no handler for", sig);
    printf("runtime: %s\n", f.runtime == TDISP_JVM ? "Java" : f.runtime == TDISP_GO ? "Go" : "native");
    struct tdisp_plan p = tdisp_decide(c.action, c.signal_force, &f);
    printf("on refresh (TOKI_SHIM_ACTION=%s): ", tcfg_action_name(c.action));
    if (p.what & TDISP_CALL_HOOK)
        printf("calls toki_on_refresh%s", p.what & TDISP_SEND_SIGNAL ? " and " : "");
    if (p.what & TDISP_SEND_SIGNAL)
        printf("sends SIG%s", sig);
    if (c.action == TCFG_FD)
        printf("posts the event fd, if the program has called toki_shim_event_fd()");
    else if (!p.what) {
        if (p.hook_skip)
            printf("nothing: the action wants the hook, and the program exports none (link it "
                   "with -rdynamic)");
        else if (p.signal_skip == TDISP_RUNTIME)
            printf("nothing: a %s runtime exits on SIG%s (TOKI_SHIM_SIGNAL_FORCE=1 overrides)",
                   f.runtime == TDISP_JVM ? "Java" : "Go", sig);
        else if (p.signal_skip == TDISP_NO_HANDLER)
            printf("nothing: it has no SIG%s handler and would die of one (install a handler, "
                   "or TOKI_SHIM_SIGNAL_FORCE=1)", sig);
        else
            printf("nothing (TOKI_SHIM_ACTION=none)");
    }
    printf("\n");
    if (c.action == TCFG_AUTO && (p.what & TDISP_SEND_SIGNAL))
        printf("event fd: once the program calls toki_shim_event_fd(), it is posted that "
               "instead of the signal\n");
    return connected && (p.what || c.action == TCFG_FD) ? 0 : 1;
}

int tcheck_main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return tcheck_usage(stdout, 0);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
        return tcheck_usage(stderr, 2);
    tipose_init();
    return argc == 2 ? tcheck_pid(argv[1]) : tcheck_environment();
}
