/* fuzz_frame.c: libFuzzer target for the framer: any bytes, in any split, keep its invariants. */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Each delivered line: an event's name is 1 to TSHIM_FRAME_MAX bytes no name lacks,
 * a discarded line's is empty. */
static int check_line(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    (void)ctx;
    size_t len = strlen(name);
    if (kind != TSHIM_FRAME_EVENT) {
        if (len != 0)
            abort();
        return 0;
    }
    if (len == 0 || len > TSHIM_FRAME_MAX)
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
            abort(); /* an event name with a byte no name has */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tshim_frame f;
    tshim_frame_init(&f);
    /* The first byte chooses how reads are split, the rest is the stream. */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        if (tshim_frame_push(&f, (const char *)data + off, n, check_line, NULL) != 0)
            abort(); /* no callback said stop */
        if (strlen(tshim_frame_partial(&f)) > TSHIM_FRAME_MAX + 1)
            abort(); /* a partial line longer than is kept */
        off += n;
    }
    return 0;
}
