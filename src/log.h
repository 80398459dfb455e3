/* log.h: one-line diagnostics to stderr or a log file, safe inside any host process. */
#ifndef TSHIM_LOG_H
#define TSHIM_LOG_H

#include <stddef.h>

enum tlog_level { TLOG_QUIET, TLOG_ERROR, TLOG_WARN, TLOG_INFO, TLOG_DEBUG };

/* Selects the level and the sink. path_pattern may be NULL (stderr); "%p" in it
 * becomes the pid of the process writing the line. The string is copied. Also
 * records which file fd 2 is now: lines meant for stderr are dropped once fd 2 is
 * another file (the host closed its stderr and reused the number). */
void tlog_setup(enum tlog_level level, const char *path_pattern);
int tlog_enabled(enum tlog_level level);
void tlog(enum tlog_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Copies src into dst for display: at most max_chars characters, non-printable
 * bytes as \xNN, a trailing "..." when cut. dst always ends in NUL. */
void tlog_quote(char *dst, size_t dst_size, const char *src, size_t max_chars);

/* The English description of errno value e, without gettext (which locks and
 * allocates inside the host); "errno N" where the C library cannot say. */
const char *tlog_strerror(int e, char *buf, size_t size);

/* Expands "%p" (pid) and "%%" in pattern; returns -1 if the result does not fit. */
int tlog_expand_path(char *dst, size_t dst_size, const char *pattern, long pid);

#endif
