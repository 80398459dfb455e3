/* log.h: one-line diagnostics to stderr or a log file, safe inside any host process. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_LOG_H
#define TSHIM_LOG_H

#include <stddef.h>

enum tshim_log_level {
    TSHIM_LOG_QUIET,
    TSHIM_LOG_ERROR,
    TSHIM_LOG_WARN,
    TSHIM_LOG_INFO,
    TSHIM_LOG_DEBUG,
    TSHIM_LOG_LEVELS /* how many there are */
};

/* The levels as TOKI_SHIM_LOG spells them, indexed by level. */
extern const char *const tshim_log_level_names[TSHIM_LOG_LEVELS];

/* Selects the level and the sink. path_pattern may be NULL (stderr); "%p" in it
 * becomes the pid of the process writing the line. The string is copied. Also
 * records which file fd 2 is now: lines meant for stderr are dropped once fd 2 is
 * another file (the host closed its stderr and reused the number). */
void tshim_log_setup(enum tshim_log_level level, const char *path_pattern);
int tshim_log_enabled(enum tshim_log_level level);

/* Closes the log file, if a line opened it (the next line would open it again). */
void tshim_log_close(void);
void tshim_log(enum tshim_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies src into dst for display: at most max_chars characters, non-printable
 * bytes as \xNN, a trailing "..." when cut. dst always ends in NUL. */
void tshim_log_quote(char *dst, size_t dst_size, const char *src, size_t max_chars);

/* The English description of errno value e, without gettext (which locks and
 * allocates inside the host); "errno N" where the C library cannot say. */
const char *tshim_log_strerror(int e, char *buf, size_t size);

/* Expands "%p" (pid) and "%%" in pattern; returns -1 if the result does not fit. */
int tshim_log_expand_path(char *dst, size_t dst_size, const char *pattern, long pid);

#endif
