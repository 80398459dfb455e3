/* config.c: parses every TOKI_* variable with full validation; no variable is guessed at. */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct tshim_config_sig {
    const char *name;
    int signo;
};

/* Catchable signals only: KILL and STOP can have no handler, so they cannot reload. */
static const struct tshim_config_sig tshim_config_signals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},   {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},
    {"ALRM", SIGALRM}, {"TERM", SIGTERM},   {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
    {"URG", SIGURG},   {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"POLL", SIGPOLL},
    {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

/* Digits only, with a range check as each is added: rejects " 3110", "+3110", "",
 * and overflow alike. Not strtol(3): its first call in a process faults in its
 * page of libc and the locale's character table (two page faults, some 5 us, at
 * every start of a service's child, which reads TOKI_SHIM_ROLE's number). */
long long tshim_config_read_decimal(const char *s, long long max, const char **end)
{
    long long v = 0;
    const char *p = s;
    *end = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (d > max || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *end = p;
    return p == s ? -1 : v;
}

/* A whole value in [min, max] (max is never negative). */
static int tshim_config_parse_long(const char *s, long min, long max, long *out)
{
    const char *end;
    long long v = tshim_config_read_decimal(s, max, &end);
    if (v < min || *end != '\0')
        return -1;
    *out = (long)v;
    return 0;
}

static int tshim_config_catchable(int signo)
{
    if (signo == SIGKILL || signo == SIGSTOP)
        return 0;
    /* glibc keeps the first real-time signals for itself (SIGRTMIN is above them). */
    if (signo >= 32 && signo < SIGRTMIN)
        return 0;
    return signo >= 1 && signo <= SIGRTMAX;
}

int tshim_config_parse_signal(const char *s)
{
    long v;
    if (tshim_config_parse_long(s, 1, 1000, &v) == 0)
        return tshim_config_catchable((int)v) ? (int)v : -1;
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof tshim_config_signals / sizeof tshim_config_signals[0]; i++)
        if (strcasecmp(s, tshim_config_signals[i].name) == 0)
            return tshim_config_signals[i].signo;
    int base, sign;
    if (strncasecmp(s, "RTMIN", 5) == 0) {
        base = SIGRTMIN;
        sign = 1;
    } else if (strncasecmp(s, "RTMAX", 5) == 0) {
        base = SIGRTMAX;
        sign = -1;
    } else {
        return -1;
    }
    s += 5;
    if (*s == '\0')
        return base;
    if (*s != (sign > 0 ? '+' : '-') ||
        tshim_config_parse_long(s + 1, 0, SIGRTMAX - SIGRTMIN, &v) != 0)
        return -1;
    return base + sign * (int)v;
}

const char *tshim_config_signal_name(int signo, char *buf, size_t size)
{
    for (size_t i = 0; i < sizeof tshim_config_signals / sizeof tshim_config_signals[0]; i++)
        if (tshim_config_signals[i].signo == signo) {
            snprintf(buf, size, "%s", tshim_config_signals[i].name);
            return buf;
        }
    if (signo == SIGRTMIN)
        snprintf(buf, size, "RTMIN");
    else if (signo > SIGRTMIN && signo <= SIGRTMAX)
        snprintf(buf, size, "RTMIN+%d", signo - SIGRTMIN);
    else
        snprintf(buf, size, "%d", signo);
    return buf;
}

int tshim_config_is_loopback(const struct sockaddr *sa)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    /* ::1 spelled here: in6addr_loopback would cost every start a symbol lookup. */
    static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        if (memcmp(b, loopback, 16) == 0)
            return 1;
        return memcmp(b, mapped, 12) == 0 && b[12] == 127;
    }
    return 0;
}

int tshim_config_is_trigger(const struct tshim_config *c, const char *name)
{
    for (const char *e = c->events; *e; e += strlen(e) + 1)
        if (strcmp(e, name) == 0)
            return 1;
    return 0;
}

/* The parse state: where variables come from and where the one error goes. */
struct tshim_config_ctx {
    tshim_config_getenv_fn get;
    void *env;
    char *err;
    size_t err_size;
    struct tshim_config_text *text; /* where values given are kept */
};

/* Writes `NAME="value" <why>` into the error buffer and returns -1. */
static int tshim_config_fail(struct tshim_config_ctx *x, const char *name, const char *value,
                             const char *why)
{
    char shown[96];
    tshim_log_quote(shown, sizeof shown, value, 64);
    snprintf(x->err, x->err_size, "%s=\"%s\" %s", name, shown, why);
    return -1;
}

/* Looks a variable up; an empty value is an error, never a silent default. Returns
 * 1 when set, 0 when unset, -1 when empty. */
static int tshim_config_get(struct tshim_config_ctx *x, const char *name, const char **out)
{
    const char *v = x->get(x->env, name);
    *out = v;
    if (!v)
        return 0;
    if (*v == '\0')
        return tshim_config_fail(x, name, v, "is empty; unset it to use the default");
    return 1;
}

static int tshim_config_bool(struct tshim_config_ctx *x, const char *name, int *out)
{
    const char *v;
    int r = tshim_config_get(x, name, &v);
    if (r <= 0)
        return r;
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
        return tshim_config_fail(x, name, v, "is not a switch (0 or 1)");
    *out = v[0] == '1';
    return 0;
}

static int tshim_config_number(struct tshim_config_ctx *x, const char *name, long min, long max,
                               long *out, const char *what)
{
    const char *v;
    int r = tshim_config_get(x, name, &v);
    if (r <= 0)
        return r;
    if (tshim_config_parse_long(v, min, max, out) != 0) {
        char why[96];
        snprintf(why, sizeof why, "is not %s (%ld-%ld)", what, min, max);
        return tshim_config_fail(x, name, v, why);
    }
    return 0;
}

/* One of n words, its index into *out. A wrong value is "is not <what>", and
 * unless what says it all (list 0), the words in brackets. */
static int tshim_config_word(struct tshim_config_ctx *x, const char *name, const char *const *words,
                             int n, const char *what, int list, int *out)
{
    const char *v;
    int r = tshim_config_get(x, name, &v);
    if (r <= 0)
        return r;
    for (int i = 0; i < n; i++)
        if (strcmp(v, words[i]) == 0) {
            *out = i;
            return 0;
        }
    /* The words accepted, from the table itself: the message cannot fall behind. */
    char accepted[160];
    size_t len = (size_t)snprintf(accepted, sizeof accepted, "is not %s%s", what, list ? " (" : "");
    for (int i = 0; list && i < n && len < sizeof accepted; i++)
        len += (size_t)snprintf(accepted + len, sizeof accepted - len, "%s%s", words[i],
                                i + 1 < n ? ", " : ")");
    return tshim_config_fail(x, name, v, accepted);
}

/* The file first: a log file is read later, away from the process (under Toki,
 * whose capture of stderr nobody sees), so its default level is info, which logs
 * connections, rejections, events and actions; a file that stays empty while all
 * goes well cannot be told from one that was never written. */
static int tshim_config_logging(struct tshim_config_ctx *x, struct tshim_config *c)
{
    const char *v;
    int r = tshim_config_get(x, "TOKI_SHIM_LOG_FILE", &v);
    if (r < 0)
        return -1;
    if (r > 0) {
        char probe[PATH_MAX];
        if (strlen(v) >= sizeof x->text->log_file ||
            tshim_log_expand_path(probe, sizeof probe, v, 4194304) != 0)
            return tshim_config_fail(x, "TOKI_SHIM_LOG_FILE", v, "is too long for a path");
        memcpy(x->text->log_file, v, strlen(v) + 1);
        c->log_file = x->text->log_file;
    }
    int level = r > 0 ? TSHIM_LOG_INFO : TSHIM_LOG_WARN;
    if (tshim_config_word(x, "TOKI_SHIM_LOG", tshim_log_level_names, TSHIM_LOG_LEVELS,
                          "a log level", 1, &level) != 0)
        return -1;
    c->log_level = (enum tshim_log_level)level;
    return 0;
}

static int tshim_config_address(struct tshim_config_ctx *x, struct tshim_config *c)
{
    const char *host;
    long port = 3110;
    if (tshim_config_number(x, "TOKI_PORT", 1, 65535, &port, "a port") != 0)
        return -1;
    if (tshim_config_get(x, "TOKI_SHIM_HOST", &host) < 0)
        return -1;
    memset(&c->addr, 0, sizeof c->addr);
    struct sockaddr_in *in4 = (struct sockaddr_in *)&c->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&c->addr;
    /* The default needs no parsing (nor inet_pton's page of libc at every start). */
    int v4 = 1;
    if (!host) {
        host = "127.0.0.1";
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        v4 = inet_pton(AF_INET, host, &in4->sin_addr) == 1;
    }
    if (v4) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((unsigned short)port);
        c->addr_len = sizeof *in4;
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        c->addr_len = sizeof *in6;
    } else {
        return tshim_config_fail(x, "TOKI_SHIM_HOST", host,
                                 "is not a numeric IPv4 or IPv6 address (names are not looked up)");
    }
    /* inet_pton took it: 45 characters at the most, which fit. */
    size_t len = strlen(host);
    if (len >= sizeof c->host)
        len = sizeof c->host - 1;
    memcpy(c->host, host, len);
    c->host[len] = '\0';
    c->port = (int)port;
    if (tshim_config_bool(x, "TOKI_SHIM_ALLOW_REMOTE", &c->allow_remote) != 0)
        return -1;
    if (!c->allow_remote && !tshim_config_is_loopback((struct sockaddr *)&c->addr))
        return tshim_config_fail(
            x, "TOKI_SHIM_HOST", host,
            "is not a loopback address, and the token would leave this machine "
            "(set TOKI_SHIM_ALLOW_REMOTE=1 to allow it)");
    return 0;
}

/* v, a comma-separated list, into out (room bytes) as "A\0B\0\0". Items are
 * printable ASCII without spaces or commas, at most TSHIM_CONFIG_EVENT_MAX bytes
 * each. */
static int tshim_config_bad_list(struct tshim_config_ctx *x, const char *name, const char *v,
                                 const char *what)
{
    char bad[160];
    snprintf(bad, sizeof bad,
             "is not a comma-separated list of %s "
             "(printable ASCII, no spaces, at most 256 bytes each)",
             what);
    return tshim_config_fail(x, name, v, bad);
}

static int tshim_config_parse_list(struct tshim_config_ctx *x, const char *name, const char *v,
                                   const char *what, char *out, size_t room)
{
    size_t len = strlen(v);
    if (len + 2 > room)
        return tshim_config_fail(x, name, v, "is too long (at most 1000 bytes)");
    size_t item = 0;
    for (size_t i = 0; i <= len && len > 0; i++) {
        char ch = v[i];
        if (ch == ',' || ch == '\0') {
            if (item == 0 || item > TSHIM_CONFIG_EVENT_MAX)
                return tshim_config_bad_list(x, name, v, what);
            out[i] = '\0';
            item = 0;
        } else if (ch <= ' ' || ch > '~') {
            return tshim_config_bad_list(x, name, v, what);
        } else {
            out[i] = ch;
            item++;
        }
    }
    out[len] = '\0';
    out[len + 1] = '\0';
    return 0;
}

/* The list in variable name, parsed into buf; an unset variable gives def, a list
 * already in its parsed form. */
static int tshim_config_list(struct tshim_config_ctx *x, const char *name, const char *def,
                             const char *what, const char **out, char *buf)
{
    const char *v;
    int r = tshim_config_get(x, name, &v);
    if (r < 0)
        return -1;
    *out = def;
    if (r == 0)
        return 0;
    *out = buf;
    return tshim_config_parse_list(x, name, v, what, buf, TSHIM_CONFIG_EVENTS_BUF);
}

/* A program list: the built-in one, or the variable's list in its place, or after
 * it when the value starts with '+'. */
_Static_assert(sizeof TSHIM_CONFIG_LAUNCHERS < TSHIM_CONFIG_EVENTS_BUF &&
                   sizeof TSHIM_CONFIG_SHELLS < TSHIM_CONFIG_EVENTS_BUF &&
                   sizeof TSHIM_CONFIG_NO_SIGNAL < TSHIM_CONFIG_EVENTS_BUF,
               "a built-in program list fits its buffer, for a list joined to it");

static int tshim_config_programs(struct tshim_config_ctx *x, const char *name, const char *builtin,
                                 const char **out, char *buf)
{
    const char *v;
    int r = tshim_config_get(x, name, &v);
    if (r < 0)
        return -1;
    /* The built-in list, the default, where it lies: a start copies nothing. */
    *out = builtin;
    if (r == 0)
        return 0;
    *out = buf;
    int join = v[0] == '+';
    size_t kept = 0;
    if (join) {
        const char *end = builtin;
        while (*end)
            end += strlen(end) + 1;
        kept = (size_t)(end - builtin);
        memcpy(buf, builtin, kept);
    }
    if ((!join || v[1]) && tshim_config_parse_list(x, name, v + join, "program-name patterns",
                                                   buf + kept, TSHIM_CONFIG_EVENTS_BUF - kept) == 0)
        return 0;
    return tshim_config_fail(x, name, v,
                             "is not a comma-separated list of program-name patterns (a + in "
                             "front adds them to the built-in list)");
}

/* TOKI_SHIM_INHERIT: 0, 1 or all. */
static int tshim_config_inherit(struct tshim_config_ctx *x, struct tshim_config *c)
{
    static const char *const words[] = {"0", "1", "all"};
    int v = TSHIM_CONFIG_INHERIT_SERVICE;
    if (tshim_config_word(x, "TOKI_SHIM_INHERIT", words, 3,
                          "0 (no descendant loads the shim), 1 (the service listens) or all "
                          "(every descendant listens)",
                          0, &v) != 0)
        return -1;
    c->inherit = (enum tshim_config_inherit)v;
    c->settle_ms = 500;
    return tshim_config_number(x, "TOKI_SHIM_SETTLE_MS", 0, 600000, &c->settle_ms,
                               "a time in milliseconds");
}

/* Process selection (TOKI_SHIM_ONLY or SKIP, INHERIT, FOLLOW_FORK) and the token's
 * protections (PEER_CHECK, SCRUB_TOKEN). */
static int tshim_config_process(struct tshim_config_ctx *x, struct tshim_config *c)
{
    if (tshim_config_bool(x, "TOKI_SHIM_FOLLOW_FORK", &c->follow_fork) != 0 ||
        tshim_config_inherit(x, c) != 0 ||
        tshim_config_programs(x, "TOKI_SHIM_LAUNCHERS", TSHIM_CONFIG_LAUNCHERS, &c->launchers,
                              x->text->launchers) != 0 ||
        tshim_config_programs(x, "TOKI_SHIM_SHELLS", TSHIM_CONFIG_SHELLS, &c->shells,
                              x->text->shells) != 0 ||
        tshim_config_programs(x, "TOKI_SHIM_NO_SIGNAL", TSHIM_CONFIG_NO_SIGNAL, &c->no_signal,
                              x->text->no_signal) != 0 ||
        tshim_config_list(x, "TOKI_SHIM_ONLY", "", "program-name patterns", &c->only,
                          x->text->only) != 0 ||
        tshim_config_list(x, "TOKI_SHIM_SKIP", "", "program-name patterns", &c->skip,
                          x->text->skip) != 0)
        return -1;
    c->peer_check = 1;
    if (tshim_config_bool(x, "TOKI_SHIM_PEER_CHECK", &c->peer_check) != 0 ||
        tshim_config_bool(x, "TOKI_SHIM_SCRUB_TOKEN", &c->scrub_token) != 0)
        return -1;
    if (c->only[0] && c->skip[0]) {
        snprintf(x->err, x->err_size,
                 "TOKI_SHIM_ONLY and TOKI_SHIM_SKIP are both set; "
                 "set one of them");
        return -1;
    }
    return 0;
}

static int tshim_config_signal(struct tshim_config_ctx *x, struct tshim_config *c)
{
    const char *v;
    int r = tshim_config_get(x, "TOKI_SHIM_SIGNAL", &v);
    if (r < 0)
        return -1;
    c->signo = SIGHUP;
    if (r > 0 && (c->signo = tshim_config_parse_signal(v)) < 0)
        return tshim_config_fail(x, "TOKI_SHIM_SIGNAL", v,
                                 "is not a catchable signal (a name such as HUP, SIGUSR1, RTMIN+3, "
                                 "or a number)");
    return tshim_config_bool(x, "TOKI_SHIM_SIGNAL_FORCE", &c->signal_force);
}

static int tshim_config_limits(struct tshim_config_ctx *x, struct tshim_config *c)
{
    long v = 2000;
    if (tshim_config_number(x, "TOKI_SHIM_CONNECT_TIMEOUT_MS", 1, 600000, &v,
                            "a time in milliseconds") != 0)
        return -1;
    c->connect_timeout_ms = (int)v;
    v = 30000;
    if (tshim_config_number(x, "TOKI_SHIM_RETRY_MAX_MS", 100, 86400000, &v,
                            "a time in milliseconds") != 0)
        return -1;
    c->retry_max_ms = (int)v;
    /* An hour: beyond that a refresh acted on late is not a refresh acted on. */
    if (tshim_config_number(x, "TOKI_SHIM_DEBOUNCE_MS", 0, 3600000, &c->debounce_ms,
                            "a time in milliseconds") != 0 ||
        tshim_config_number(x, "TOKI_SHIM_SPLAY_MS", 0, 3600000, &c->splay_ms,
                            "a time in milliseconds") != 0)
        return -1;
    c->stack_kb = 256;
    /* glibc's least stack is asked only for a size given: a default start makes no
     * sysconf call (nor faults in its page of libc). */
    if (!x->get(x->env, "TOKI_SHIM_STACK_KB"))
        return 0;
    long min_kb = (sysconf(_SC_THREAD_STACK_MIN) + 1023) / 1024;
    if (min_kb < 16)
        min_kb = 16;
    return tshim_config_number(x, "TOKI_SHIM_STACK_KB", min_kb, 1048576, &c->stack_kb,
                               "a stack size in KiB");
}

enum tshim_config_result tshim_config_load(struct tshim_config *c, struct tshim_config_text *text,
                                           tshim_config_getenv_fn get, void *env, char *err,
                                           size_t err_size)
{
    struct tshim_config_ctx x = {get, env, err, err_size, text};
    err[0] = '\0';

    /* Inert cases first and silently, before *c is touched: a process without a
     * token pays for two getenv calls and not one page of ours. */
    const char *token = get(env, "TOKI_TOKEN");
    const char *disable = get(env, "TOKI_SHIM_DISABLE");
    if (!token || !*token || (disable && strcmp(disable, "1") == 0))
        return TSHIM_CONFIG_INERT;
    memset(c, 0, sizeof *c);
    c->events = c->launchers = c->shells = c->no_signal = c->only = c->skip = c->log_file = "";
    c->log_level = TSHIM_LOG_WARN;

    /* Logging and strictness next, so that any later error is reported as asked. */
    if (tshim_config_logging(&x, c) != 0 ||
        tshim_config_bool(&x, "TOKI_SHIM_STRICT", &c->strict) != 0)
        return TSHIM_CONFIG_ERROR;
    int action = TSHIM_DECIDE_AUTO;
    if (tshim_config_bool(&x, "TOKI_SHIM_DISABLE", &(int){0}) != 0 ||
        tshim_config_address(&x, c) != 0 ||
        tshim_config_word(&x, "TOKI_SHIM_ACTION", tshim_decide_action_names,
                          TSHIM_DECIDE_ACTIONS, "an action", 1, &action) != 0 ||
        tshim_config_signal(&x, c) != 0 ||
        tshim_config_list(&x, "TOKI_SHIM_EVENTS", "AUTH_REFRESHED\0", "event names", &c->events,
                          text->events) != 0 ||
        tshim_config_limits(&x, c) != 0 || tshim_config_process(&x, c) != 0)
        return TSHIM_CONFIG_ERROR;
    c->action = (enum tshim_decide_action)action;

    size_t len = strlen(token);
    if (len > TSHIM_CONFIG_TOKEN_MAX) {
        snprintf(err, err_size, "TOKI_TOKEN is %zu bytes long, more than the %d accepted", len,
                 TSHIM_CONFIG_TOKEN_MAX);
        return TSHIM_CONFIG_ERROR;
    }
    memcpy(c->token, token, len + 1);
    c->token_len = len;
    return TSHIM_CONFIG_ACTIVE;
}
