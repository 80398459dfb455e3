/* test_config.c: every variable's good and bad values, table-driven, through tshim_config_load. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/proc.h"

#define TOKEN "0f8fad5b-d9cb-469f-a165-70867728950e"

/* A fake environment: "NAME=value" strings, NULL-terminated. */
static const char *fake_getenv(void *ctx, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *e = ctx; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

static struct tshim_config cfg;
static struct tshim_config_text text;
static char err[512];

static enum tshim_config_result load2(const char *a, const char *b)
{
    const char *env[] = {"TOKI_TOKEN=" TOKEN, a, b, NULL};
    return tshim_config_load(&cfg, &text, fake_getenv, (void *)env, err, sizeof err);
}

static enum tshim_config_result load(const char *a)
{
    return load2(a, NULL);
}

/* The built-in lists are NUL-separated literals: a name that began with a digit
 * from 0 to 7 would have merged with the "\0" before it into one octal escape. */
static int builtin_names(const char *list)
{
    int n = 0;
    for (const char *p = list; *p; p += strlen(p) + 1, n++) {
        cr_assert(*p < '0' || *p > '9', "a name begins with a digit: %s", p);
        for (const char *c = p; *c; c++)
            cr_assert(*c > ' ' && *c <= '~', "not a printable name: %s", p);
    }
    return n;
}

Test(config, builtin_lists_are_well_formed)
{
    cr_assert_eq(builtin_names(TSHIM_CONFIG_LAUNCHERS), 24);
    cr_assert_eq(builtin_names(TSHIM_CONFIG_SHELLS), 7);
    cr_assert_eq(builtin_names(TSHIM_CONFIG_NO_SIGNAL), 28);
    cr_assert_eq(load2("TOKI_SHIM_LAUNCHERS=+x", NULL), TSHIM_CONFIG_ACTIVE, "%s", err);
    cr_assert_eq(builtin_names(cfg.launchers), 25, "the built-in list and the one added");
}

Test(config, read_decimal_is_strict_and_bounded)
{
    const char *end = NULL;
    cr_assert_eq(tshim_config_read_decimal("4194304:h", 4194304, &end), 4194304);
    cr_assert_str_eq(end, ":h");
    cr_assert_eq(tshim_config_read_decimal("4194305", 4194304, &end), -1, "above the bound");
    cr_assert_eq(tshim_config_read_decimal("0", 10, &end), 0);
    cr_assert_eq(tshim_config_read_decimal("5", 3, &end), -1, "a digit above a small bound");
    cr_assert_eq(tshim_config_read_decimal("4", 0, &end), -1);
    cr_assert_eq(tshim_config_read_decimal("05", 3, &end), -1);
    cr_assert_eq(tshim_config_read_decimal("03", 3, &end), 3);
    cr_assert_eq(tshim_config_read_decimal("9223372036854775807", LLONG_MAX, &end), LLONG_MAX);
    cr_assert_str_eq(end, "");
    cr_assert_eq(tshim_config_read_decimal("9223372036854775808", LLONG_MAX, &end), -1, "overflow");
    cr_assert_eq(tshim_config_read_decimal("99999999999999999999999", LLONG_MAX, &end), -1);
    cr_assert_eq(tshim_config_read_decimal("", 10, &end), -1, "no digit");
    cr_assert_eq(tshim_config_read_decimal("-1", 10, &end), -1, "no sign");
    cr_assert_eq(tshim_config_read_decimal(" 1", 10, &end), -1, "no space");
    cr_assert_eq(tshim_config_read_decimal("+1", 10, &end), -1);
}

Test(config, defaults)
{
    cr_assert_eq(load(NULL), TSHIM_CONFIG_ACTIVE, "%s", err);
    cr_assert_str_eq(cfg.token, TOKEN);
    cr_assert_eq(cfg.token_len, 36);
    cr_assert_eq(cfg.port, 3110);
    cr_assert_str_eq(cfg.host, "127.0.0.1");
    cr_assert_eq(cfg.addr.ss_family, AF_INET);
    cr_assert_eq(cfg.action, TSHIM_DECIDE_AUTO);
    cr_assert_eq(cfg.signo, SIGHUP);
    cr_assert_eq(cfg.signal_force, 0);
    cr_assert(tshim_config_is_trigger(&cfg, "AUTH_REFRESHED"));
    cr_assert_not(tshim_config_is_trigger(&cfg, "FINISHED"));
    cr_assert_eq(cfg.log_level, TSHIM_LOG_WARN);
    cr_assert_str_eq(cfg.log_file, "");
    cr_assert_eq(cfg.connect_timeout_ms, 2000);
    cr_assert_eq(cfg.retry_max_ms, 30000);
    cr_assert_eq(cfg.stack_kb, 256);
    cr_assert_eq(cfg.debounce_ms, 0);
    cr_assert_eq(cfg.splay_ms, 0);
    cr_assert_eq(cfg.strict, 0);
}

Test(config, inert_cases_are_silent)
{
    const char *none[] = {"TOKI_PORT=70000", NULL};
    cr_assert_eq(tshim_config_load(&cfg, &text, fake_getenv, (void *)none, err, sizeof err), TSHIM_CONFIG_INERT);
    const char *empty[] = {"TOKI_TOKEN=", "TOKI_SHIM_LOG=nonsense", NULL};
    cr_assert_eq(tshim_config_load(&cfg, &text, fake_getenv, (void *)empty, err, sizeof err), TSHIM_CONFIG_INERT);
    cr_assert_eq(load2("TOKI_SHIM_DISABLE=1", "TOKI_PORT=0"), TSHIM_CONFIG_INERT);
    cr_assert_str_eq(err, "");
}

struct good {
    const char *var;
    int (*check)(const struct tshim_config *c);
};

static int port_1(const struct tshim_config *c) { return c->port == 1; }
static int port_65535(const struct tshim_config *c) { return c->port == 65535; }
static int host_v6(const struct tshim_config *c) { return c->addr.ss_family == AF_INET6 && c->addr_len == sizeof(struct sockaddr_in6); }
static int host_v4(const struct tshim_config *c) { return c->addr.ss_family == AF_INET; }
static int remote(const struct tshim_config *c) { return c->allow_remote == 1; }
static int act_hook(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_HOOK; }
static int act_signal(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_SIGNAL; }
static int act_both(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_BOTH; }
static int act_none(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_NONE; }
static int act_auto(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_AUTO; }
static int sig_hup(const struct tshim_config *c) { return c->signo == SIGHUP; }
static int sig_usr1(const struct tshim_config *c) { return c->signo == SIGUSR1; }
static int sig_rt3(const struct tshim_config *c) { return c->signo == SIGRTMIN + 3; }
static int sig_rtmax1(const struct tshim_config *c) { return c->signo == SIGRTMAX - 1; }
static int sig_term(const struct tshim_config *c) { return c->signo == SIGTERM; }
static int force(const struct tshim_config *c) { return c->signal_force == 1; }
static int two_events(const struct tshim_config *c)
{
    return tshim_config_is_trigger(c, "AUTH_REFRESHED") && tshim_config_is_trigger(c, "FINISHED") &&
           !tshim_config_is_trigger(c, "AUTH") && !tshim_config_is_trigger(c, "");
}
static int log_quiet(const struct tshim_config *c) { return c->log_level == TSHIM_LOG_QUIET; }
static int log_debug(const struct tshim_config *c) { return c->log_level == TSHIM_LOG_DEBUG; }
static int log_file(const struct tshim_config *c) { return strcmp(c->log_file, "/tmp/shim-%p.log") == 0; }
static int timeout_5(const struct tshim_config *c) { return c->connect_timeout_ms == 5; }
static int retry_100(const struct tshim_config *c) { return c->retry_max_ms == 100; }
static int stack_1m(const struct tshim_config *c) { return c->stack_kb == 1024; }
static int strict(const struct tshim_config *c) { return c->strict == 1; }
static int anything(const struct tshim_config *c) { (void)c; return 1; }
static int act_fd(const struct tshim_config *c) { return c->action == TSHIM_DECIDE_FD; }
static int debounce_50(const struct tshim_config *c) { return c->debounce_ms == 50 && c->splay_ms == 0; }
static int splay_hour(const struct tshim_config *c) { return c->splay_ms == 3600000 && c->debounce_ms == 0; }

static int inherit_all(const struct tshim_config *c) { return c->inherit == TSHIM_CONFIG_INHERIT_ALL; }
static int inherit_none(const struct tshim_config *c) { return c->inherit == TSHIM_CONFIG_INHERIT_NONE; }
static int scoped(const struct tshim_config *c)
{
    return c->inherit == TSHIM_CONFIG_INHERIT_SERVICE && c->settle_ms == 500 &&
           strcmp(c->launchers, "env") == 0 && strcmp(c->shells, "sh") == 0 &&
           strcmp(c->no_signal, "make") == 0;
}
static int settle_0(const struct tshim_config *c) { return c->settle_ms == 0; }
/* The last entry of a "A\0B\0\0" list. */
static const char *last_of(const char *list)
{
    const char *last = list;
    for (const char *p = list; *p; p += strlen(p) + 1)
        last = p;
    return last;
}
static int launchers_added(const struct tshim_config *c)
{
    return strcmp(c->launchers, "env") == 0 && strcmp(last_of(c->launchers), "my-wrapper") == 0;
}
/* The built-in lists, split from their comma form: the names the review found
 * missing are in them, and a multi-call binary is not a shell. */
static int builtin_lists(const struct tshim_config *c)
{
    return strcmp(last_of(c->launchers), "toki-shim") == 0 && strcmp(last_of(c->no_signal), "gdb") == 0 &&
           strcmp(last_of(c->shells), "ash") == 0 && tshim_proc_named(c->no_signal, "view", NULL) &&
           tshim_proc_named(c->no_signal, "vim.basic", NULL) && tshim_proc_named(c->no_signal, "watch", NULL) &&
           tshim_proc_named(c->launchers, "timeout", NULL) && !tshim_proc_named(c->shells, "busybox", NULL);
}
static int shells_replaced(const struct tshim_config *c)
{
    return strcmp(c->shells, "fish") == 0 && c->shells[5] == '\0';
}

static const struct good goods[] = {
    {"TOKI_SHIM_INHERIT=1", scoped},
    {"TOKI_SHIM_INHERIT=1", builtin_lists},
    {"TOKI_SHIM_INHERIT=all", inherit_all},
    {"TOKI_SHIM_INHERIT=0", inherit_none},
    {"TOKI_SHIM_SETTLE_MS=0", settle_0},
    {"TOKI_SHIM_LAUNCHERS=+my-wrapper", launchers_added},
    {"TOKI_SHIM_SHELLS=fish", shells_replaced},
    {"TOKI_PORT=1", port_1},
    {"TOKI_PORT=65535", port_65535},
    {"TOKI_SHIM_HOST=::1", host_v6},
    {"TOKI_SHIM_HOST=127.0.0.2", host_v4},
    {"TOKI_SHIM_HOST=::ffff:127.0.0.1", host_v6},
    {"TOKI_SHIM_ALLOW_REMOTE=1", remote},
    {"TOKI_SHIM_ALLOW_REMOTE=0", anything},
    {"TOKI_SHIM_ACTION=auto", act_auto},
    {"TOKI_SHIM_ACTION=hook", act_hook},
    {"TOKI_SHIM_ACTION=signal", act_signal},
    {"TOKI_SHIM_ACTION=both", act_both},
    {"TOKI_SHIM_ACTION=none", act_none},
    {"TOKI_SHIM_ACTION=fd", act_fd},
    {"TOKI_SHIM_DEBOUNCE_MS=50", debounce_50},
    {"TOKI_SHIM_SPLAY_MS=3600000", splay_hour},
    {"TOKI_SHIM_SIGNAL=HUP", sig_hup},
    {"TOKI_SHIM_SIGNAL=SIGHUP", sig_hup},
    {"TOKI_SHIM_SIGNAL=hup", sig_hup},
    {"TOKI_SHIM_SIGNAL=1", sig_hup},
    {"TOKI_SHIM_SIGNAL=USR1", sig_usr1},
    {"TOKI_SHIM_SIGNAL=SIGUSR1", sig_usr1},
    {"TOKI_SHIM_SIGNAL=10", sig_usr1},
    {"TOKI_SHIM_SIGNAL=RTMIN+3", sig_rt3},
    {"TOKI_SHIM_SIGNAL=SIGRTMIN+3", sig_rt3},
    {"TOKI_SHIM_SIGNAL=RTMAX-1", sig_rtmax1},
    {"TOKI_SHIM_SIGNAL=TERM", sig_term},
    {"TOKI_SHIM_SIGNAL_FORCE=1", force},
    {"TOKI_SHIM_EVENTS=AUTH_REFRESHED,FINISHED", two_events},
    {"TOKI_SHIM_LOG=quiet", log_quiet},
    {"TOKI_SHIM_LOG=debug", log_debug},
    {"TOKI_SHIM_LOG_FILE=/tmp/shim-%p.log", log_file},
    {"TOKI_SHIM_CONNECT_TIMEOUT_MS=5", timeout_5},
    {"TOKI_SHIM_RETRY_MAX_MS=100", retry_100},
    {"TOKI_SHIM_STACK_KB=1024", stack_1m},
    {"TOKI_SHIM_STRICT=1", strict},
    {"TOKI_SHIM_DISABLE=0", anything},
};

Test(config, good_values)
{
    for (size_t i = 0; i < sizeof goods / sizeof goods[0]; i++) {
        cr_assert_eq(load(goods[i].var), TSHIM_CONFIG_ACTIVE, "%s: %s", goods[i].var, err);
        cr_assert(goods[i].check(&cfg), "%s parsed wrong", goods[i].var);
    }
    cr_assert_eq(load2("TOKI_SHIM_HOST=10.1.2.3", "TOKI_SHIM_ALLOW_REMOTE=1"), TSHIM_CONFIG_ACTIVE, "%s", err);
}

/* Each bad value and the start of the one line it must produce. */
struct bad {
    const char *var;
    const char *message;
};

static const struct bad bads[] = {
    {"TOKI_SHIM_INHERIT=2", "TOKI_SHIM_INHERIT=\"2\" is not 0 (no descendant loads the shim), 1"},
    {"TOKI_SHIM_SETTLE_MS=-1", "TOKI_SHIM_SETTLE_MS=\"-1\" is not a time in milliseconds"},
    {"TOKI_SHIM_LAUNCHERS=+", "TOKI_SHIM_LAUNCHERS=\"+\" is not a comma-separated list of program"},
    {"TOKI_SHIM_NO_SIGNAL=a b", "TOKI_SHIM_NO_SIGNAL=\"a b\" is not a comma-separated list"},
    {"TOKI_PORT=70000", "TOKI_PORT=\"70000\" is not a port (1-65535)"},
    {"TOKI_PORT=0", "TOKI_PORT=\"0\" is not a port (1-65535)"},
    {"TOKI_PORT= 3110", "TOKI_PORT=\" 3110\" is not a port"},
    {"TOKI_PORT=3110 ", "TOKI_PORT=\"3110 \" is not a port"},
    {"TOKI_PORT=+3110", "TOKI_PORT=\"+3110\" is not a port"},
    {"TOKI_PORT=-1", "TOKI_PORT=\"-1\" is not a port"},
    {"TOKI_PORT=3110x", "TOKI_PORT=\"3110x\" is not a port"},
    {"TOKI_PORT=0x10", "TOKI_PORT=\"0x10\" is not a port"},
    {"TOKI_PORT=99999999999999999999999", "TOKI_PORT=\"99999999999999999999999\" is not a port"},
    {"TOKI_PORT=", "TOKI_PORT=\"\" is empty"},
    {"TOKI_SHIM_HOST=localhost", "TOKI_SHIM_HOST=\"localhost\" is not a numeric IPv4 or IPv6"},
    {"TOKI_SHIM_HOST=1.2.3", "TOKI_SHIM_HOST=\"1.2.3\" is not a numeric"},
    {"TOKI_SHIM_HOST=", "TOKI_SHIM_HOST=\"\" is empty"},
    {"TOKI_SHIM_HOST=10.1.2.3", "TOKI_SHIM_HOST=\"10.1.2.3\" is not a loopback address"},
    {"TOKI_SHIM_HOST=::2", "TOKI_SHIM_HOST=\"::2\" is not a loopback address"},
    {"TOKI_SHIM_ALLOW_REMOTE=yes", "TOKI_SHIM_ALLOW_REMOTE=\"yes\" is not a switch (0 or 1)"},
    {"TOKI_SHIM_ACTION=reload", "TOKI_SHIM_ACTION=\"reload\" is not an action (auto, hook, signal, both, fd, none)"},
    {"TOKI_SHIM_ACTION=", "TOKI_SHIM_ACTION=\"\" is empty"},
    {"TOKI_SHIM_ACTION=HOOK", "TOKI_SHIM_ACTION=\"HOOK\" is not an action"},
    {"TOKI_SHIM_SIGNAL=KILL", "TOKI_SHIM_SIGNAL=\"KILL\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=9", "TOKI_SHIM_SIGNAL=\"9\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=STOP", "TOKI_SHIM_SIGNAL=\"STOP\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=0", "TOKI_SHIM_SIGNAL=\"0\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=65", "TOKI_SHIM_SIGNAL=\"65\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=32", "TOKI_SHIM_SIGNAL=\"32\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=BOGUS", "TOKI_SHIM_SIGNAL=\"BOGUS\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=RTMIN+99", "TOKI_SHIM_SIGNAL=\"RTMIN+99\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=RTMIN-1", "TOKI_SHIM_SIGNAL=\"RTMIN-1\" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL=HUP ", "TOKI_SHIM_SIGNAL=\"HUP \" is not a catchable signal"},
    {"TOKI_SHIM_SIGNAL_FORCE=2", "TOKI_SHIM_SIGNAL_FORCE=\"2\" is not a switch"},
    {"TOKI_SHIM_EVENTS=", "TOKI_SHIM_EVENTS=\"\" is empty"},
    {"TOKI_SHIM_EVENTS=,A", "TOKI_SHIM_EVENTS=\",A\" is not a comma-separated list"},
    {"TOKI_SHIM_EVENTS=A,", "TOKI_SHIM_EVENTS=\"A,\" is not a comma-separated list"},
    {"TOKI_SHIM_EVENTS=A,,B", "TOKI_SHIM_EVENTS=\"A,,B\" is not a comma-separated list"},
    {"TOKI_SHIM_EVENTS=A, B", "TOKI_SHIM_EVENTS=\"A, B\" is not a comma-separated list"},
    {"TOKI_SHIM_EVENTS=A\tB", "TOKI_SHIM_EVENTS=\"A\\x09B\" is not a comma-separated list"},
    {"TOKI_SHIM_LOG=verbose", "TOKI_SHIM_LOG=\"verbose\" is not a log level (quiet, error, warn, info, debug)"},
    {"TOKI_SHIM_LOG=", "TOKI_SHIM_LOG=\"\" is empty"},
    {"TOKI_SHIM_LOG_FILE=", "TOKI_SHIM_LOG_FILE=\"\" is empty"},
    {"TOKI_SHIM_CONNECT_TIMEOUT_MS=0", "TOKI_SHIM_CONNECT_TIMEOUT_MS=\"0\" is not a time in milliseconds (1-600000)"},
    {"TOKI_SHIM_CONNECT_TIMEOUT_MS=2s", "TOKI_SHIM_CONNECT_TIMEOUT_MS=\"2s\" is not a time"},
    {"TOKI_SHIM_RETRY_MAX_MS=99", "TOKI_SHIM_RETRY_MAX_MS=\"99\" is not a time in milliseconds (100-86400000)"},
    {"TOKI_SHIM_DEBOUNCE_MS=-1", "TOKI_SHIM_DEBOUNCE_MS=\"-1\" is not a time in milliseconds (0-3600000)"},
    {"TOKI_SHIM_DEBOUNCE_MS=50ms", "TOKI_SHIM_DEBOUNCE_MS=\"50ms\" is not a time in milliseconds"},
    {"TOKI_SHIM_SPLAY_MS=3600001", "TOKI_SHIM_SPLAY_MS=\"3600001\" is not a time in milliseconds (0-3600000)"},
    {"TOKI_SHIM_SPLAY_MS=", "TOKI_SHIM_SPLAY_MS=\"\" is empty"},
    {"TOKI_SHIM_STACK_KB=1", "TOKI_SHIM_STACK_KB=\"1\" is not a stack size in KiB"},
    {"TOKI_SHIM_STACK_KB=99999999", "TOKI_SHIM_STACK_KB=\"99999999\" is not a stack size in KiB"},
    {"TOKI_SHIM_STRICT=true", "TOKI_SHIM_STRICT=\"true\" is not a switch (0 or 1)"},
    {"TOKI_SHIM_DISABLE=yes", "TOKI_SHIM_DISABLE=\"yes\" is not a switch (0 or 1)"},
};

Test(config, bad_values_give_one_precise_sentence)
{
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        cr_assert_eq(load(bads[i].var), TSHIM_CONFIG_ERROR, "%s was accepted", bads[i].var);
        cr_assert_eq(strncmp(err, bads[i].message, strlen(bads[i].message)), 0,
                     "%s:\n got  %s\n want %s...", bads[i].var, err, bads[i].message);
        cr_assert_null(strchr(err, '\n'), "one line");
    }
}

Test(config, long_event_name_and_long_token)
{
    char var[400] = "TOKI_SHIM_EVENTS=";
    memset(var + strlen(var), 'A', 257);
    cr_assert_eq(load(var), TSHIM_CONFIG_ERROR);
    var[strlen(var) - 1] = '\0'; /* 256 bytes: the limit itself is fine */
    cr_assert_eq(load(var), TSHIM_CONFIG_ACTIVE, "%s", err);

    char token[400] = "TOKI_TOKEN=";
    memset(token + strlen(token), 'x', 257);
    const char *env[] = {token, NULL};
    cr_assert_eq(tshim_config_load(&cfg, &text, fake_getenv, (void *)env, err, sizeof err), TSHIM_CONFIG_ERROR);
    cr_assert_str_eq(err, "TOKI_TOKEN is 257 bytes long, more than the 256 accepted");
    cr_assert_null(strstr(err, "xxxx"), "the token's value is never shown");
}

Test(config, logging_settings_survive_a_later_error)
{
    /* So that the error itself goes where the user asked. */
    cr_assert_eq(load2("TOKI_SHIM_LOG_FILE=/tmp/x.log", "TOKI_PORT=0"), TSHIM_CONFIG_ERROR);
    cr_assert_str_eq(cfg.log_file, "/tmp/x.log");
    cr_assert_eq(load2("TOKI_SHIM_STRICT=1", "TOKI_PORT=0"), TSHIM_CONFIG_ERROR);
    cr_assert_eq(cfg.strict, 1);
}

Test(config, control_bytes_in_values_are_escaped)
{
    cr_assert_eq(load("TOKI_SHIM_ACTION=a\033[2Jb"), TSHIM_CONFIG_ERROR);
    cr_assert_str_eq(err, "TOKI_SHIM_ACTION=\"a\\x1b[2Jb\" is not an action (auto, hook, signal, "
                     "both, fd, none)");
}

Test(config, signal_names_round_trip)
{
    char buf[16];
    cr_assert_str_eq(tshim_config_signal_name(SIGHUP, buf, sizeof buf), "HUP");
    cr_assert_str_eq(tshim_config_signal_name(SIGUSR2, buf, sizeof buf), "USR2");
    cr_assert_str_eq(tshim_config_signal_name(SIGRTMIN + 3, buf, sizeof buf), "RTMIN+3");
    cr_assert_eq(tshim_config_parse_signal("RTMIN"), SIGRTMIN);
    cr_assert_eq(tshim_config_parse_signal("RTMAX"), SIGRTMAX);
    cr_assert_eq(tshim_config_parse_signal("usr2"), SIGUSR2);
    cr_assert_eq(tshim_config_parse_signal("SIG"), -1);
    cr_assert_eq(tshim_config_parse_signal(""), -1);
}
