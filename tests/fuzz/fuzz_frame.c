/* fuzz_frame.c: libFuzzer target for the framer: any bytes, in any split, keep its invariants. */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tshim_frame f;
    tshim_frame_init(&f);
    /* The first byte chooses how reads are split, the rest is the stream. */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step;
        tshim_frame_feed(&f, (const char *)data + off, n);
        for (enum tshim_frame_kind kind; (kind = tshim_frame_next(&f)) != TSHIM_FRAME_MORE;) {
            if (f.in_len > n)
                abort(); /* bytes that were not there */
            if (kind == TSHIM_FRAME_EVENT) {
                const char *name = tshim_frame_name(&f);
                size_t len = strlen(name);
                if (len == 0 || len > TSHIM_FRAME_MAX)
                    abort();
                for (size_t i = 0; i < len; i++)
                    if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
                        abort(); /* an event name with a byte no name has */
            }
        }
        if (f.in_len != 0 || strlen(tshim_frame_partial(&f)) > TSHIM_FRAME_MAX + 1)
            abort(); /* bytes left unframed, or a partial line longer than is kept */
        off += n;
    }
    return 0;
}
