/* frame.h: splits a byte stream into newline-terminated event names; pure, no I/O. */
#ifndef TSHIM_FRAME_H
#define TSHIM_FRAME_H

#include <stddef.h>

#define TFRAME_MAX 256 /* longest accepted event name, in bytes */

enum tframe_kind {
    TFRAME_MORE,     /* input used up, no complete line yet */
    TFRAME_EVENT,    /* tframe_name() holds a valid event name */
    TFRAME_TOO_LONG, /* a line over TFRAME_MAX bytes was discarded up to its newline */
    TFRAME_BAD,      /* a line with NUL, control or non-ASCII bytes was discarded */
};

struct tframe {
    char line[TFRAME_MAX + 1];
    size_t len;
    int overflow; /* the current line is already too long: drop bytes until '\n' */
};

void tframe_init(struct tframe *f);

/* Consumes bytes from in[0..len) up to and including the first line end, and says
 * what that line was. Returns how many bytes were consumed; call again with the rest
 * until it returns TFRAME_MORE. "\r\n" ends a line like "\n"; empty lines are skipped. */
size_t tframe_scan(struct tframe *f, const char *in, size_t len, enum tframe_kind *kind);

/* The last TFRAME_EVENT's name, NUL-terminated; valid until the next tframe_scan. */
const char *tframe_name(const struct tframe *f);

#endif
