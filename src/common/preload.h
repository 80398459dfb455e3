/* preload.h: whether the dynamic loader will preload a library into a program file at all. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_PRELOAD_H
#define TSHIM_PRELOAD_H

/* Why a program cannot be preloaded: its loader never reads LD_PRELOAD. */
enum tshim_preload_verdict {
    TSHIM_PRELOAD_OK,     /* dynamically linked, or not an ELF file (a script) */
    TSHIM_PRELOAD_STATIC, /* no PT_INTERP: no dynamic loader runs at all */
    TSHIM_PRELOAD_SETUID, /* the loader runs it in secure mode, LD_PRELOAD dropped */
    TSHIM_PRELOAD_SETGID,
    TSHIM_PRELOAD_CAPS, /* file capabilities (security.capability): secure mode too */
};

/* The verdict for the program file at path (for a "#!" script, its interpreter's),
 * from the file alone: its mode bits,
 * its security.capability attribute and its program headers. The loader drops
 * LD_PRELOAD only where the process gains privileges (root running a setuid-root
 * file keeps it), but whether it gains them depends on who runs it: the file says
 * the same for everyone. */
enum tshim_preload_verdict tshim_preload_verdict(const char *path);

/* Why, as the end of a sentence about the program: "is statically linked". */
const char *tshim_preload_reason(enum tshim_preload_verdict v);

#endif
