/* frame.h: splits a byte stream into newline-terminated event names; pure, no I/O. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_FRAME_H
#define TSHIM_FRAME_H

#include <stddef.h>

#define TSHIM_FRAME_MAX 256 /* longest accepted event name, in bytes */

enum tshim_frame_kind {
    TSHIM_FRAME_MORE,     /* input used up, no complete line yet */
    TSHIM_FRAME_EVENT,    /* tshim_frame_name() holds a valid event name */
    TSHIM_FRAME_TOO_LONG, /* a line over TSHIM_FRAME_MAX bytes was discarded up to its newline */
    TSHIM_FRAME_BAD,      /* a line with NUL, control or non-ASCII bytes was discarded */
};

/* Bytes fed and not yet framed are only pointed at, not copied: the caller's
 * buffer must stay as it is until tshim_frame_next returns TSHIM_FRAME_MORE. */
struct tshim_frame {
    char line[TSHIM_FRAME_MAX + 2]; /* the line so far, '\r' slack and a NUL */
    size_t len;
    int overflow;   /* the current line is already too long: drop bytes until '\n' */
    const char *in; /* fed bytes not yet framed */
    size_t in_len;
};

void tshim_frame_init(struct tshim_frame *f);

/* Hands the framer the next bytes of the stream. Call only once the previous ones
 * are used up (tshim_frame_next said TSHIM_FRAME_MORE). */
void tshim_frame_feed(struct tshim_frame *f, const char *buf, size_t len);

/* Frames the next line of what was fed and says what it was; TSHIM_FRAME_MORE when
 * the fed bytes are used up (a line begun is kept for the next feed). "\r\n" ends a
 * line like "\n"; empty lines are skipped. */
enum tshim_frame_kind tshim_frame_next(struct tshim_frame *f);

/* The last TSHIM_FRAME_EVENT's name, NUL-terminated; valid until the next call. */
const char *tshim_frame_name(const struct tshim_frame *f);

/* The bytes of the line begun and not yet ended, NUL-terminated (for a peer that
 * sends a banner without a newline); valid until the next call. */
const char *tshim_frame_partial(struct tshim_frame *f);

#endif
