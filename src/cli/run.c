/* run.c: `toki-shim run [OPTIONS] -- COMMAND`: options become TOKI_SHIM_* variables, then exec with the library preloaded, or supervise. */
/* SPDX-License-Identifier: MIT */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/elf.h"
#include "common/preload.h"
#include "say.h"
#include "supervise.h"

/* The build passes the library's install directory, soname and multiarch tuple;
 * these are for builds that do not (an editor's, a linter's). */
#ifndef TSHIM_LIBDIR
#define TSHIM_LIBDIR "/usr/local/lib"
#endif
#ifndef TSHIM_SONAME
#define TSHIM_SONAME "libtoki_shim.so.0"
#endif
#ifndef TSHIM_MULTIARCH
#define TSHIM_MULTIARCH ""
#endif

/* Finds the library in dir, by its soname first: the file programs load, which a
 * runtime package ships without the development link, and which stays valid across
 * an upgrade (the full version's file does not). The directory is made canonical
 * (no "bin/..") but the file name is kept, so that LD_PRELOAD names the link. */
static const char *tshim_run_library_in(const char *dir, char *out, size_t size)
{
    static const char *const names[] = {TSHIM_SONAME, "libtoki_shim.so"};
    char real[PATH_MAX];
    if (!realpath(dir, real))
        return NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(out, size, "%s/%s", real, names[i]);
        if (access(out, R_OK) == 0)
            return out;
    }
    return NULL;
}

/* A library found where LD_PRELOAD cannot name it: the loader splits the variable
 * at spaces and colons, and would load nothing (a clone in "My Projects/"). */
static char tshim_run_unusable[PATH_MAX + 64];

static const char *tshim_run_usable(const char *path)
{
    if (!path || !strpbrk(path, " \t\n:"))
        return path;
    snprintf(tshim_run_unusable, sizeof tshim_run_unusable, "%s", path);
    return NULL;
}

/* The absolute path of libtoki_shim.so that goes with this toki-shim: next to it
 * (the build tree), in ../lib or ../lib/<multiarch> (an install, relocated or
 * not), or in the LIBDIR it was built for. NULL if none exists. */
static const char *tshim_run_library_path(void)
{
    static char path[PATH_MAX + 64];
    char self[PATH_MAX], dir[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = n > 0 ? memchr(self, '/', (size_t)n) : NULL;
    if (slash) {
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        /* The build tree: the development link beside the command, as it is. */
        snprintf(path, sizeof path, "%s/libtoki_shim.so", self);
        if (access(path, R_OK) == 0 && tshim_run_usable(path))
            return path;
        /* An install, wherever it was moved: bin/ beside lib/ or lib/<multiarch>/. */
        static const char *const rel[] = {"../lib", "../lib/" TSHIM_MULTIARCH};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            snprintf(dir, sizeof dir, "%s/%s", self, rel[i]);
            if (tshim_run_usable(tshim_run_library_in(dir, path, sizeof path)))
                return path;
        }
    }
    return tshim_run_usable(tshim_run_library_in(TSHIM_LIBDIR, path, sizeof path));
}

/* The options, each the variable it sets. */
static const struct {
    const char *option, *variable, *fixed; /* fixed: a switch's value */
} tshim_run_map[] = {
    {"signal", "TOKI_SHIM_SIGNAL", NULL},
    {"action", "TOKI_SHIM_ACTION", NULL},
    {"events", "TOKI_SHIM_EVENTS", NULL},
    {"only", "TOKI_SHIM_ONLY", NULL},
    {"skip", "TOKI_SHIM_SKIP", NULL},
    {"log", "TOKI_SHIM_LOG", NULL},
    {"log-file", "TOKI_SHIM_LOG_FILE", NULL},
    {"no-inherit", "TOKI_SHIM_INHERIT", "0"},
    {"follow-fork", "TOKI_SHIM_FOLLOW_FORK", "1"},
    {"force-signal", "TOKI_SHIM_SIGNAL_FORCE", "1"},
    {"debounce-ms", "TOKI_SHIM_DEBOUNCE_MS", NULL},
    {"splay-ms", "TOKI_SHIM_SPLAY_MS", NULL},
};
#define TSHIM_RUN_OPTIONS (sizeof tshim_run_map / sizeof tshim_run_map[0])

static int tshim_run_usage(FILE *f, int status)
{
    fputs("Usage: toki-shim run [OPTIONS] [--] COMMAND [ARGS...]\n"
          "Runs COMMAND with libtoki_shim.so preloaded, so that it reloads when Toki\n"
          "refreshes its credentials. Each option sets the variable named after it.\n\n"
          "  --signal SIG      reload signal: HUP, USR1, RTMIN+3, 10... (TOKI_SHIM_SIGNAL)\n"
          "  --action ACTION   auto, hook, signal, both, fd or none (TOKI_SHIM_ACTION)\n"
          "  --debounce-ms MS  one action for events closer than this (TOKI_SHIM_DEBOUNCE_MS)\n"
          "  --splay-ms MS     a random delay up to this before each action (TOKI_SHIM_SPLAY_MS)\n"
          "  --events LIST     events that trigger the action (TOKI_SHIM_EVENTS)\n"
          "  --only GLOBS      shim only programs with these names (TOKI_SHIM_ONLY)\n"
          "  --skip GLOBS      never shim programs with these names (TOKI_SHIM_SKIP)\n"
          "  --no-inherit      descendants run without the shim (TOKI_SHIM_INHERIT=0)\n"
          "  --follow-fork     forked children listen too (TOKI_SHIM_FOLLOW_FORK=1)\n"
          "  --log LEVEL       quiet, error, warn, info or debug (TOKI_SHIM_LOG)\n"
          "  --log-file PATH   log here instead of stderr; %p is the pid (TOKI_SHIM_LOG_FILE)\n"
          "  --force-signal    signal even without a handler (TOKI_SHIM_SIGNAL_FORCE=1)\n"
          "  --supervise       stay as COMMAND's parent and signal it from outside, even\n"
          "                    if it could be preloaded (hooks and the event fd need the library)\n"
          "  --no-supervise    refuse a COMMAND that cannot be preloaded (static, setuid,\n"
          "                    setgid, file capabilities) instead of supervising it\n"
          "  --touch FILE      supervisor mode: rewrite FILE with the generation at each refresh\n"
          "  -h, --help        show this help\n\n"
          "Under Toki: \"command\": \"toki-shim run -- my-daemon --flag\"\n",
          f);
    return status;
}

/* The option values alone, as an environment for tshim_config_load: run refuses a bad value
 * before anything is executed, with the shim's own message. */
struct tshim_run_env {
    const char *name[TSHIM_RUN_OPTIONS + 1];
    const char *value[TSHIM_RUN_OPTIONS + 1];
    size_t n;
};

static const char *tshim_run_lookup(void *ctx, const char *name)
{
    const struct tshim_run_env *e = ctx;
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->name[i], name) == 0)
            return e->value[i];
    return NULL;
}

/* Finds COMMAND as execvp would; returns 0 and the path, or an errno. */
static int tshim_run_find(const char *cmd, char *out, size_t size)
{
    if (strchr(cmd, '/')) {
        snprintf(out, size, "%s", cmd);
        return access(out, F_OK) == 0 ? 0 : errno;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path;; p += strcspn(p, ":") + 1) {
        int len = (int)strcspn(p, ":");
        snprintf(out, size, "%.*s%s%s", len, p, len ? "/" : "", cmd);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        if (p[len] == '\0')
            return ENOENT;
    }
}

/* The loader of a program of another libc than the library's would fail to load
 * the library at all and stop the program before main: refused (126). */
static int tshim_run_check_libc(const char *path, const char *lib)
{
    enum tshim_elf_libc prog = tshim_elf_file_libc(path), mine = tshim_elf_file_libc(lib);
    if (!tshim_elf_libc_clash(prog, mine))
        return 0;
    tshim_say_error("run",
                    "%s is a %s program and %s is built for %s: its loader cannot preload "
                    "that library; run it with a toki-shim built for %s, or supervise it "
                    "(--supervise)",
                    path, tshim_elf_libc_name(prog), lib, tshim_elf_libc_name(mine),
                    tshim_elf_libc_name(prog));
    return 126;
}

/* The options that are no variable: which mode, and the supervisor's file. */
struct tshim_run_mode {
    int supervise, no_supervise;
    const char *touch;
};

/* In-process: the library appended to LD_PRELOAD, then the program itself. */
static int tshim_run_preloaded(const char *path, char **argv)
{
    const char *lib = tshim_run_library_path();
    if (!lib && tshim_run_unusable[0]) {
        tshim_say_error("run",
                        "%s: LD_PRELOAD cannot name a path with a space or a colon; move the "
                        "folder, or supervise the program instead with --supervise",
                        tshim_run_unusable);
        return 1;
    }
    if (!lib) {
        tshim_say_error("run",
                        "cannot find libtoki_shim.so next to this program, in ../lib, "
                        "../lib/%s, or in %s; supervise the program instead with --supervise",
                        TSHIM_MULTIARCH, TSHIM_LIBDIR);
        return 1;
    }
    int e = tshim_run_check_libc(path, lib);
    if (e != 0)
        return e;
    /* Appended, so that a sanitizer runtime or other preload that must come first
     * stays first. */
    const char *old = getenv("LD_PRELOAD");
    char preload[8192];
    if (old && *old && !strstr(old, lib))
        snprintf(preload, sizeof preload, "%s:%s", old, lib);
    else
        snprintf(preload, sizeof preload, "%s", old && *old ? old : lib);
    setenv("LD_PRELOAD", preload, 1);
    execv(path, argv);
    e = errno;
    tshim_say_error("run", "%s: %s", path, strerror(e));
    return e == ENOENT ? 127 : 126;
}

/* Outside Toki the shim is inert, by design and in silence; asked for info, run
 * says so and why, since a user trying it by hand would otherwise see nothing at
 * all. The level is what the library will read: the option, else the variable,
 * else info where a log file is given (see libtoki_shim(7)). */
static void tshim_run_say_inert(void *env, const char *cmd)
{
    const char *token = getenv("TOKI_TOKEN"), *disable = getenv("TOKI_SHIM_DISABLE");
    const char *level = tshim_run_lookup(env, "TOKI_SHIM_LOG");
    const char *file = tshim_run_lookup(env, "TOKI_SHIM_LOG_FILE");
    if (!level)
        level = getenv("TOKI_SHIM_LOG");
    if (!file)
        file = getenv("TOKI_SHIM_LOG_FILE");
    if (!level)
        level = file && *file ? "info" : "warn";
    if (strcmp(level, "info") != 0 && strcmp(level, "debug") != 0)
        return;
    if (disable && strcmp(disable, "1") == 0)
        tshim_say_error("run", "the shim is inert in %s: TOKI_SHIM_DISABLE=1", cmd);
    else if (!token || !*token)
        tshim_say_error("run",
                        "the shim is inert in %s: TOKI_TOKEN is not set (Toki sets it, and "
                        "TOKI_PORT, for the commands it runs; so does toki-shim serve)",
                        cmd);
}

/* Which mode a program gets: supervised where the loader cannot preload it or
 * --supervise asks; minus an exit status (said) where the options forbid what it
 * needs: -126 for a program --no-supervise refuses, -2 for a usage error. */
static int tshim_run_supervised(const char *path, const struct tshim_run_mode *m)
{
    enum tshim_preload_verdict v = tshim_preload_verdict(path);
    if (v != TSHIM_PRELOAD_OK && m->no_supervise) {
        tshim_say_error("run", "%s %s, and --no-supervise forbids running it under a supervisor",
                        path, tshim_preload_reason(v));
        return -126;
    }
    if (m->touch && v == TSHIM_PRELOAD_OK && !m->supervise) {
        tshim_say_usage("run", "--touch is for supervisor mode, and %s can be preloaded; add "
                               "--supervise",
                        path);
        return -2;
    }
    return v != TSHIM_PRELOAD_OK || m->supervise;
}

/* The mode options' codes, after the map's indexes. */
enum { TSHIM_RUN_SUPERVISE = 1000, TSHIM_RUN_NO_SUPERVISE, TSHIM_RUN_TOUCH };

/* Reads the options into env and m; returns -1 to go on, or an exit status. */
static int tshim_run_options(int argc, char **argv, struct tshim_run_env *env,
                             struct tshim_run_mode *m)
{
    struct option opts[TSHIM_RUN_OPTIONS + 5];
    for (size_t i = 0; i < TSHIM_RUN_OPTIONS; i++)
        opts[i] =
            (struct option){tshim_run_map[i].option,
                            tshim_run_map[i].fixed ? no_argument : required_argument, NULL, (int)i};
    opts[TSHIM_RUN_OPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
    opts[TSHIM_RUN_OPTIONS + 1] = (struct option){"supervise", no_argument, NULL, TSHIM_RUN_SUPERVISE};
    opts[TSHIM_RUN_OPTIONS + 2] =
        (struct option){"no-supervise", no_argument, NULL, TSHIM_RUN_NO_SUPERVISE};
    opts[TSHIM_RUN_OPTIONS + 3] = (struct option){"touch", required_argument, NULL, TSHIM_RUN_TOUCH};
    opts[TSHIM_RUN_OPTIONS + 4] = (struct option){NULL, 0, NULL, 0};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (ch == 'h')
            return tshim_run_usage(stdout, 0);
        if (ch == TSHIM_RUN_SUPERVISE || ch == TSHIM_RUN_NO_SUPERVISE) {
            *(ch == TSHIM_RUN_SUPERVISE ? &m->supervise : &m->no_supervise) = 1;
            continue;
        }
        if (ch == TSHIM_RUN_TOUCH && optarg[0]) {
            m->touch = optarg;
            continue;
        }
        if (ch < 0 || ch >= (int)TSHIM_RUN_OPTIONS)
            return tshim_say_bad_option("run", ch, argv);
        env->name[env->n] = tshim_run_map[ch].variable;
        env->value[env->n++] = tshim_run_map[ch].fixed ? tshim_run_map[ch].fixed : optarg;
    }
    if (m->supervise && m->no_supervise)
        return tshim_say_usage("run", "--supervise and --no-supervise contradict each other");
    if (optind >= argc)
        return tshim_say_usage("run", "no COMMAND given");
    return -1;
}

int tshim_run_main(int argc, char **argv)
{
    struct tshim_run_env env = {.n = 0};
    struct tshim_run_mode m = {0, 0, NULL};
    int e = tshim_run_options(argc, argv, &env, &m);
    if (e >= 0)
        return e;
    env.name[env.n] = "TOKI_TOKEN";
    env.value[env.n++] = "validation-only";
    static struct tshim_config c;
    static struct tshim_config_text text;
    char err[512];
    if (tshim_config_load(&c, &text, tshim_run_lookup, &env, err, sizeof err) == TSHIM_CONFIG_ERROR)
        return tshim_say_usage("run", "%s", err);
    char path[PATH_MAX];
    const char *cmd = argv[optind];
    e = tshim_run_find(cmd, path, sizeof path);
    if (e != 0) {
        tshim_say_error("run", "%s: %s", cmd,
                        e == ENOENT && !strchr(cmd, '/') ? "command not found" : strerror(e));
        return 127;
    }
    int supervised = tshim_run_supervised(path, &m);
    if (supervised < 0)
        return -supervised;
    tshim_run_say_inert(&env, cmd);
    for (size_t i = 0; i + 1 < env.n; i++)
        setenv(env.name[i], env.value[i], 1);
    /* The program named here takes the role of its tree, whatever started run. */
    unsetenv("TOKI_SHIM_ROLE");
    if (supervised)
        return tshim_supervise_run(path, argv + optind, m.touch);
    return tshim_run_preloaded(path, argv + optind);
}
