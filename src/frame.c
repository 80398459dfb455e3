/* frame.c: line framing with memchr, bounded memory, and no byte it cannot survive. */
#include "frame.h"

#include <string.h>

void tframe_init(struct tframe *f)
{
    f->len = 0;
    f->overflow = 0;
    f->line[0] = '\0';
}

const char *tframe_name(const struct tframe *f)
{
    return f->line;
}

/* Event names are printable ASCII without spaces. Checked once per finished line,
 * not per chunk, so a name split across reads costs the same as a whole one. */
static int tframe_bad_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x21 || c > 0x7e)
            return 1;
    }
    return 0;
}

/* Takes one line's worth of bytes (up to and including the first '\n') and
 * classifies the line if it ended. Returns the bytes consumed. */
static size_t tframe_step(struct tframe *f, const char *in, size_t len, enum tframe_kind *kind)
{
    const char *nl = memchr(in, '\n', len);
    size_t chunk = nl ? (size_t)(nl - in) : len;

    /* Bytes of the current line: keep what fits, remember if anything did not. One
     * byte of slack holds the '\r' that a CRLF line of TFRAME_MAX bytes ends with. */
    if (!f->overflow) {
        if (f->len + chunk > TFRAME_MAX + 1) {
            f->overflow = 1;
        } else {
            memcpy(f->line + f->len, in, chunk);
            f->len += chunk;
        }
    }
    if (!nl) {
        *kind = TFRAME_MORE;
        return len;
    }

    size_t n = f->len;
    if (n > 0 && f->line[n - 1] == '\r')
        n--;
    if (f->overflow || n > TFRAME_MAX)
        *kind = TFRAME_TOO_LONG;
    else if (tframe_bad_bytes(f->line, n))
        *kind = TFRAME_BAD;
    else if (n == 0)
        *kind = TFRAME_MORE; /* an empty line is no event and no error */
    else
        *kind = TFRAME_EVENT;
    f->line[*kind == TFRAME_EVENT ? n : 0] = '\0';
    f->len = 0;
    f->overflow = 0;
    return chunk + 1;
}

size_t tframe_scan(struct tframe *f, const char *in, size_t len, enum tframe_kind *kind)
{
    size_t used = 0;
    *kind = TFRAME_MORE;
    /* Empty lines are skipped in a loop, so a flood of them costs no stack. */
    while (used < len) {
        used += tframe_step(f, in + used, len - used, kind);
        if (*kind != TFRAME_MORE)
            break;
    }
    return used;
}
