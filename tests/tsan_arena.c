/* tsan_arena.c: lets Criterion start under ThreadSanitizer; linked into the TSan unit tests only. */
/* SPDX-License-Identifier: MIT */

/* Criterion (through BoxFort) maps its shared arena at a random address between
 * 0x200000000000 and 0x600000000000, drawn with rand_r, and gives up after a few
 * draws that land on something already mapped. ThreadSanitizer reserves nearly all
 * of that span for its shadow memory: only 0x550000000000-0x568000000000 is left to
 * applications, so almost every draw fails (Criterion issue #274). This rand_r,
 * exported from the test program (-rdynamic, default visibility) and so preferred
 * over libc's, keeps
 * the draws inside that hole; BoxFort still checks each page before it maps. No
 * code of the shim calls rand_r. */
#include <stdlib.h>

#define TSAN_ARENA_FIRST 0x350000u /* (0x550000000000 - 0x200000000000) >> 24 */
#define TSAN_ARENA_COUNT 0x17f00u  /* up to 0x568000000000, less room for the arena */

__attribute__((visibility("default"))) int rand_r(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (int)(TSAN_ARENA_FIRST + (*seed >> 8) % TSAN_ARENA_COUNT);
}
