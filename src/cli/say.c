/* say.c: the one way the command's subcommands report errors on stderr. */
/* SPDX-License-Identifier: MIT */
#include "say.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

static void tshim_say_line(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "toki-shim%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void tshim_say_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tshim_say_line(cmd, fmt, ap);
    va_end(ap);
}

int tshim_say_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tshim_say_line(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try 'toki-shim%s%s --help'.\n", cmd ? " " : "", cmd ? cmd : "");
    return 2;
}

int tshim_say_bad_option(const char *cmd, int ch, char **argv)
{
    /* getopt_long has moved optind past the option it could not take, and past a
     * short option's cluster only once it is done with it: argv[optind - 1] is
     * the word that held it. */
    const char *word = optind > 0 ? argv[optind - 1] : "?";
    if (ch == ':')
        return tshim_say_usage(cmd, "option '%s' needs a value", word);
    if (optopt && word[0] == '-' && word[1] != '-')
        return tshim_say_usage(cmd, "unknown option '-%c'", optopt);
    return tshim_say_usage(cmd, "unknown option '%s'", word);
}
