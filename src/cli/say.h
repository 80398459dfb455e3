/* say.h: how every toki-shim command reports an error: one prefix, and a pointer to its help. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SAY_H
#define TSHIM_SAY_H

/* Prints "toki-shim CMD: MESSAGE" on stderr; cmd NULL: "toki-shim: MESSAGE". */
void tshim_say_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: the message as tshim_say_error prints it, then "Try 'toki-shim
 * CMD --help'." rather than the whole usage, which would bury the message.
 * Returns 2, the status of a usage error. */
int tshim_say_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The usage error for what getopt_long returned ('?': an unknown option, ':': an
 * option without its value; optstring must start with "+:"), from argv and optind
 * as getopt_long left them. Returns 2. */
int tshim_say_bad_option(const char *cmd, int ch, char **argv);

#endif
