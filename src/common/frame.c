/* frame.c: line framing with memchr, bounded memory, and no byte it cannot survive. */
/* SPDX-License-Identifier: MIT */
#include "frame.h"

#include <string.h>

void tshim_frame_init(struct tshim_frame *f)
{
    f->len = 0;
    f->overflow = 0;
    f->line[0] = '\0';
}

/* Event names are printable ASCII without spaces. Checked once per finished line,
 * not per chunk, so a name split across reads costs the same as a whole one. */
static int tshim_frame_bad_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c > 0x7e)
            return 1;
    }
    return 0;
}

/* Takes one line's worth of bytes (up to and including the first '\n') and
 * classifies the line if it ended: its kind, or -1 for no line (none ended, or an
 * empty one). *used is the bytes consumed. */
static int tshim_frame_step(struct tshim_frame *f, const char *in, size_t len, size_t *used)
{
    const char *nl = memchr(in, '\n', len);
    size_t chunk = nl ? (size_t)(nl - in) : len;

    /* Bytes of the current line: keep what fits, remember if anything did not. One
     * byte of slack holds the '\r' that a CRLF line of TSHIM_FRAME_MAX bytes ends with. */
    if (!f->overflow) {
        if (f->len + chunk > TSHIM_FRAME_MAX + 1) {
            f->overflow = 1;
        } else {
            memcpy(f->line + f->len, in, chunk);
            f->len += chunk;
        }
    }
    if (!nl) {
        *used = len;
        return -1;
    }

    size_t n = f->len;
    if (n > 0 && f->line[n - 1] == '\r')
        n--;
    int kind;
    if (f->overflow || n > TSHIM_FRAME_MAX)
        kind = TSHIM_FRAME_TOO_LONG;
    else if (tshim_frame_bad_bytes(f->line, n))
        kind = TSHIM_FRAME_BAD;
    else if (n == 0)
        kind = -1; /* an empty line is no event and no error */
    else
        kind = TSHIM_FRAME_EVENT;
    f->line[kind == TSHIM_FRAME_EVENT ? n : 0] = '\0';
    f->len = 0;
    f->overflow = 0;
    *used = chunk + 1;
    return kind;
}

int tshim_frame_push(struct tshim_frame *f, const char *buf, size_t len, tshim_frame_fn fn,
                     void *ctx)
{
    /* Empty lines are skipped in a loop, so a flood of them costs no stack. */
    while (len > 0) {
        size_t used;
        int kind = tshim_frame_step(f, buf, len, &used);
        buf += used;
        len -= used;
        if (kind >= 0) {
            int stop = fn(ctx, (enum tshim_frame_kind)kind, f->line);
            if (stop)
                return stop;
        }
    }
    return 0;
}

const char *tshim_frame_partial(struct tshim_frame *f)
{
    /* len is at most TSHIM_FRAME_MAX + 1, so the NUL fits. */
    f->line[f->len] = '\0';
    return f->line;
}
