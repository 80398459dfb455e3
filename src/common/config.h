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
#define TSHIM_CONFIG_EVENTS_BUF 1024 /* a list: its names, each followed by a NUL, and a NUL */

/* TOKI_SHIM_INHERIT: who below the service loads the shim, and who listens. */
enum tshim_config_inherit {
    TSHIM_CONFIG_INHERIT_NONE,    /* 0: descendants run without the shim */
    TSHIM_CONFIG_INHERIT_SERVICE, /* 1: the service listens; launchers and shells pass it on */
    TSHIM_CONFIG_INHERIT_ALL,     /* all: every descendant is a client of its own */
};

/* The built-in program lists (fnmatch globs), in the form of every list here:
 * each name followed by a NUL, and one NUL more at the end (the literal's own). A
 * start points at them where they lie. (No name may begin with a digit from 0 to
 * 7: "\0" and that digit would be one octal escape.) */
#define TSHIM_CONFIG_LAUNCHERS                                                                     \
    "env\0nohup\0timeout\0setsid\0nice\0ionice\0taskset\0chrt\0stdbuf\0flock\0sudo\0su\0runuser\0" \
    "setpriv\0tini\0dumb-init\0unshare\0nsenter\0xargs\0time\0strace\0make\0gmake\0toki-shim\0"
#define TSHIM_CONFIG_SHELLS "sh\0dash\0bash\0zsh\0ksh\0mksh\0ash\0"
/* Debian runs view, vimdiff, ex and rvim as vim.basic or vim.tiny under another name. */
#define TSHIM_CONFIG_NO_SIGNAL                                                                     \
    "make\0gmake\0ssh\0scp\0sftp\0rsync\0git\0less\0more\0vi\0vim\0nvim\0vim.basic\0vim.tiny\0"    \
    "vim.nox\0vim.gtk3\0view\0vimdiff\0rvim\0rview\0ex\0nano\0emacs\0man\0watch\0top\0htop\0gdb\0"

/* Where the lists and the log file's path that variables give are kept, each
 * written only when its variable is set: a start with none of them writes none of
 * these 9 KiB (each page first written is a page fault, some 2.5 us). */
struct tshim_config_text {
    char events[TSHIM_CONFIG_EVENTS_BUF];
    char launchers[TSHIM_CONFIG_EVENTS_BUF];
    char shells[TSHIM_CONFIG_EVENTS_BUF];
    char no_signal[TSHIM_CONFIG_EVENTS_BUF];
    char only[TSHIM_CONFIG_EVENTS_BUF];
    char skip[TSHIM_CONFIG_EVENTS_BUF];
    char log_file[PATH_MAX];
};

/* What a start writes, under 700 bytes: the lists are pointers, to the built-in
 * ones or into the caller's struct tshim_config_text. */
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
    int follow_fork;                   /* TOKI_SHIM_FOLLOW_FORK: a forked child listens too */
    enum tshim_config_inherit inherit; /* TOKI_SHIM_INHERIT */
    long settle_ms;                    /* TOKI_SHIM_SETTLE_MS: age before the first connect */
    int peer_check;                    /* TOKI_SHIM_PEER_CHECK: the server must be ours */
    int scrub_token;                   /* TOKI_SHIM_SCRUB_TOKEN: remove it from the environment */
    const char *events;                /* TOKI_SHIM_EVENTS, "A\0B\0\0" */
    const char *launchers;             /* TOKI_SHIM_LAUNCHERS globs */
    const char *shells;                /* TOKI_SHIM_SHELLS globs */
    const char *no_signal;             /* TOKI_SHIM_NO_SIGNAL globs */
    const char *only;                  /* TOKI_SHIM_ONLY globs, or empty */
    const char *skip;                  /* TOKI_SHIM_SKIP globs, or empty */
    const char *log_file;              /* empty: stderr */
};

enum tshim_config_result { TSHIM_CONFIG_ACTIVE, TSHIM_CONFIG_INERT, TSHIM_CONFIG_ERROR };

/* The environment lookup, so that tests can feed a table instead of environ. */
typedef const char *(*tshim_config_getenv_fn)(void *ctx, const char *name);

/* Fills *c from the variables, keeping in *text what they give (c points into it:
 * text lives as long as c is used). TSHIM_CONFIG_INERT: no token, or
 * TOKI_SHIM_DISABLE=1; nothing was reported, nor *c or *text touched.
 * TSHIM_CONFIG_ERROR: err holds one sentence naming the variable, its value and
 * what is accepted; c->log_level, c->log_file and c->strict are still usable so
 * the caller can report it where the user asked. */
enum tshim_config_result tshim_config_load(struct tshim_config *c, struct tshim_config_text *text,
                                           tshim_config_getenv_fn get, void *ctx, char *err,
                                           size_t err_size);

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
