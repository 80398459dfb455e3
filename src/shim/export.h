/* export.h: the mark of the library's exported definitions, which only the library has. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_EXPORT_H
#define TSHIM_EXPORT_H

/* Everything is built with -fvisibility=hidden: this marks the few definitions the
 * library exports (the libc overrides; the public functions are declared so by
 * toki_shim.h). shim/libtoki_shim.map lists them, and make check compares. */
#define TSHIM_EXPORT __attribute__((visibility("default")))

#endif
