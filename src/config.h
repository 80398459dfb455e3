/* config.h: reads the shim's settings from the environment, strictly, into one struct. */
#ifndef TSHIM_CONFIG_H
#define TSHIM_CONFIG_H

#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include "log.h"

#define TCFG_TOKEN_MAX 256   /* Toki's tokens are 36 bytes; dev mode takes anything */
#define TCFG_EVENT_MAX 256   /* longest event name, the same bound as the framer's */
#define TCFG_EVENTS_BUF 1024 /* all trigger names, each followed by a NUL */

enum tcfg_action { TCFG_AUTO, TCFG_HOOK, TCFG_SIGNAL, TCFG_BOTH, TCFG_NONE, TCFG_FD };

struct tcfg {
    char token[TCFG_TOKEN_MAX + 1];
    size_t token_len;
    struct sockaddr_storage addr; /* TOKI_SHIM_HOST and TOKI_PORT, ready for connect() */
    socklen_t addr_len;
    char host[64];
    int port;
    int allow_remote;
    enum tcfg_action action;
    int signo;
    int signal_force;
    char events[TCFG_EVENTS_BUF]; /* "A\0B\0\0" */
    enum tlog_level log_level;
    char log_file[PATH_MAX]; /* empty: stderr */
    int connect_timeout_ms;
    int retry_max_ms;
    long debounce_ms;             /* TOKI_SHIM_DEBOUNCE_MS: quiet period before an action */
    long splay_ms;                /* TOKI_SHIM_SPLAY_MS: random delay before an action */
    long stack_kb;
    int strict;
    int follow_fork;              /* TOKI_SHIM_FOLLOW_FORK: a forked child listens too */
    int inherit;                  /* TOKI_SHIM_INHERIT: descendants keep LD_PRELOAD */
    char only[TCFG_EVENTS_BUF];   /* TOKI_SHIM_ONLY globs, "A\0B\0\0" */
    char skip[TCFG_EVENTS_BUF];   /* TOKI_SHIM_SKIP globs */
    int peer_check;               /* TOKI_SHIM_PEER_CHECK: the server must be ours */
    int scrub_token;              /* TOKI_SHIM_SCRUB_TOKEN: remove it from the environment */
};

enum tcfg_result { TCFG_ACTIVE, TCFG_INERT, TCFG_ERROR };

/* The environment lookup, so that tests can feed a table instead of environ. */
typedef const char *(*tcfg_getenv_fn)(void *ctx, const char *name);

/* Fills *c from the variables. TCFG_INERT: no token, or TOKI_SHIM_DISABLE=1; nothing
 * was reported. TCFG_ERROR: err holds one sentence naming the variable, its value
 * and what is accepted; c->log_level, c->log_file and c->strict are still usable so
 * the caller can report it where the user asked. */
enum tcfg_result tcfg_load(struct tcfg *c, tcfg_getenv_fn get, void *ctx, char *err,
                           size_t err_size);

/* 1 if name is one of the trigger events. */
int tcfg_is_trigger(const struct tcfg *c, const char *name);

/* Signal names as kill(1) takes them: HUP, SIGHUP, usr1, 10, RTMIN+3. -1 if unknown
 * or not catchable. */
int tcfg_parse_signal(const char *s);

/* The canonical name of signo ("HUP", "RTMIN+3") into buf. */
const char *tcfg_signal_name(int signo, char *buf, size_t size);

const char *tcfg_action_name(enum tcfg_action a);

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
int tcfg_is_loopback(const struct sockaddr *sa);

#endif
