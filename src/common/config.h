/* config.h: reads the shim's settings from the environment, strictly, into one struct. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_CONFIG_H
#define TSHIM_CONFIG_H

#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "decide.h"
#include "log.h"

#define TSHIM_CONFIG_TOKEN_MAX 256   /* Toki's tokens are 36 bytes; dev mode takes anything */
#define TSHIM_CONFIG_EVENT_MAX 256   /* longest event name, the same bound as the framer's */
#define TSHIM_CONFIG_EVENTS_BUF 1024 /* all trigger names, each followed by a NUL */

/* TOKI_SHIM_INHERIT: who below the service loads the shim, and who listens. */
enum tshim_config_inherit {
    TSHIM_CONFIG_INHERIT_NONE,    /* 0: descendants run without the shim */
    TSHIM_CONFIG_INHERIT_SERVICE, /* 1: the service listens; launchers and shells pass it on */
    TSHIM_CONFIG_INHERIT_ALL,     /* all: every descendant is a client of its own */
};

/* The built-in program lists (fnmatch globs, comma-separated). */
#define TSHIM_CONFIG_LAUNCHERS                                                                     \
    "env,nohup,timeout,setsid,nice,ionice,taskset,chrt,stdbuf,flock,sudo,su,runuser,setpriv,"      \
    "tini,dumb-init,unshare,nsenter,xargs,time,strace,make,gmake,toki-shim"
#define TSHIM_CONFIG_SHELLS "sh,dash,bash,zsh,ksh,mksh,ash"
/* Debian runs view, vimdiff, ex and rvim as vim.basic or vim.tiny under another name. */
#define TSHIM_CONFIG_NO_SIGNAL                                                                     \
    "make,gmake,ssh,scp,sftp,rsync,git,less,more,vi,vim,nvim,vim.basic,vim.tiny,vim.nox,"          \
    "vim.gtk3,view,vimdiff,rvim,rview,ex,nano,emacs,man,watch,top,htop,gdb"

/* The small fields first, then the lists, then the log file's path: a start writes
 * only the first bytes of each array, so that the pages it touches are few (see
 * tshim_config_load). */
struct tshim_config {
    char token[TSHIM_CONFIG_TOKEN_MAX + 1];
    size_t token_len;
    struct sockaddr_storage addr; /* TOKI_SHIM_HOST and TOKI_PORT, ready for connect() */
    socklen_t addr_len;
    char host[64];
    int port;
    int allow_remote;
    enum tshim_decide_action action;
    int signo;
    int signal_force;
    enum tshim_log_level log_level;
    int connect_timeout_ms;
    int retry_max_ms;
    long debounce_ms; /* TOKI_SHIM_DEBOUNCE_MS: quiet period before an action */
    long splay_ms;    /* TOKI_SHIM_SPLAY_MS: random delay before an action */
    long stack_kb;
    int strict;
    int follow_fork;                         /* TOKI_SHIM_FOLLOW_FORK: a forked child listens too */
    enum tshim_config_inherit inherit;       /* TOKI_SHIM_INHERIT */
    long settle_ms;                          /* TOKI_SHIM_SETTLE_MS: age before the first connect */
    int peer_check;                          /* TOKI_SHIM_PEER_CHECK: the server must be ours */
    int scrub_token; /* TOKI_SHIM_SCRUB_TOKEN: remove it from the environment */
    char events[TSHIM_CONFIG_EVENTS_BUF];    /* "A\0B\0\0" */
    char launchers[TSHIM_CONFIG_EVENTS_BUF]; /* TOKI_SHIM_LAUNCHERS globs */
    char shells[TSHIM_CONFIG_EVENTS_BUF];    /* TOKI_SHIM_SHELLS globs */
    char no_signal[TSHIM_CONFIG_EVENTS_BUF]; /* TOKI_SHIM_NO_SIGNAL globs */
    char only[TSHIM_CONFIG_EVENTS_BUF];      /* TOKI_SHIM_ONLY globs, "A\0B\0\0" */
    char skip[TSHIM_CONFIG_EVENTS_BUF];      /* TOKI_SHIM_SKIP globs */
    char log_file[PATH_MAX];                 /* empty: stderr */
};

enum tshim_config_result { TSHIM_CONFIG_ACTIVE, TSHIM_CONFIG_INERT, TSHIM_CONFIG_ERROR };

/* The environment lookup, so that tests can feed a table instead of environ. */
typedef const char *(*tshim_config_getenv_fn)(void *ctx, const char *name);

/* Fills *c from the variables. TSHIM_CONFIG_INERT: no token, or TOKI_SHIM_DISABLE=1; nothing
 * was reported. TSHIM_CONFIG_ERROR: err holds one sentence naming the variable, its value
 * and what is accepted; c->log_level, c->log_file and c->strict are still usable so
 * the caller can report it where the user asked. */
enum tshim_config_result tshim_config_load(struct tshim_config *c, tshim_config_getenv_fn get,
                                           void *ctx, char *err, size_t err_size);

/* 1 if name is one of the trigger events. */
int tshim_config_is_trigger(const struct tshim_config *c, const char *name);

/* The number written in decimal digits at s, if there is one and it is at most
 * max: returns it with *end after its last digit, or -1. No sign, no spaces. */
long long tshim_config_read_decimal(const char *s, long long max, const char **end);

/* Signal names as kill(1) takes them: HUP, SIGHUP, usr1, 10, RTMIN+3. -1 if unknown
 * or not catchable. */
int tshim_config_parse_signal(const char *s);

/* The canonical name of signo ("HUP", "RTMIN+3") into buf. */
const char *tshim_config_signal_name(int signo, char *buf, size_t size);

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
int tshim_config_is_loopback(const struct sockaddr *sa);

#endif
