/* fuzz_frame.c: libFuzzer target for the framer: any bytes, in any split, keep its invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tframe f;
    tframe_init(&f);
    /* The first byte chooses how reads are split, the rest is the stream. */
    size_t step = size ? (size_t)data[0] % 64 + 1 : 1, off = size ? 1 : 0;
    while (off < size) {
        size_t n = size - off < step ? size - off : step, used = 0;
        while (used < n) {
            enum tframe_kind kind;
            size_t k = tframe_scan(&f, (const char *)data + off + used, n - used, &kind);
            if (k == 0 || k > n - used)
                abort(); /* no progress, or bytes that were not there */
            used += k;
            if (kind == TFRAME_EVENT) {
                const char *name = tframe_name(&f);
                size_t len = strlen(name);
                if (len == 0 || len > TFRAME_MAX)
                    abort();
                for (size_t i = 0; i < len; i++)
                    if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
                        abort(); /* an event name with a byte no name has */
            }
        }
        off += n;
    }
    return 0;
}
