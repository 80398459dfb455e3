/* frame.h: splits a byte stream into newline-terminated event names; pure, no I/O. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_FRAME_H
#define TSHIM_FRAME_H

#include <stddef.h>

#define TSHIM_FRAME_MAX 256 /* longest accepted event name, in bytes */

/* What a finished line was. */
enum tshim_frame_kind {
    TSHIM_FRAME_EVENT,    /* the line is a valid event name */
    TSHIM_FRAME_TOO_LONG, /* a line over TSHIM_FRAME_MAX bytes was discarded up to its newline */
    TSHIM_FRAME_BAD,      /* a line with NUL, control or non-ASCII bytes was discarded */
};

/* Called for each finished line: name is the event name for TSHIM_FRAME_EVENT and
 * "" otherwise, NUL-terminated and valid during the call. A value other than 0
 * stops the push (the bytes after that line are dropped) and is what it returns. */
typedef int (*tshim_frame_fn)(void *ctx, enum tshim_frame_kind kind, const char *name);

/* A line begun and not yet ended; the fields are the framer's own. */
struct tshim_frame {
    char line[TSHIM_FRAME_MAX + 2]; /* the line so far, '\r' slack and a NUL */
    size_t len;
    int overflow; /* the current line is already too long: drop bytes until '\n' */
};

void tshim_frame_init(struct tshim_frame *f);

/* Frames the next len bytes of the stream, calling fn for each line they finish;
 * a line begun is kept for the next push. "\r\n" ends a line like "\n"; empty
 * lines are skipped. Returns 0, or fn's value that stopped it. */
int tshim_frame_push(struct tshim_frame *f, const char *buf, size_t len, tshim_frame_fn fn,
                     void *ctx);

/* The bytes of the line begun and not yet ended, NUL-terminated (for a peer that
 * sends a banner without a newline); valid until the next call. */
const char *tshim_frame_partial(struct tshim_frame *f);

#endif
