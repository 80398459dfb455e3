/* tshim.h: the project's internal macros, one spelling: TSHIM_ (the public header spells TOKI_SHIM_). */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_TSHIM_H
#define TSHIM_TSHIM_H

/* The build passes the version; this is for builds that do not (an editor's, a
 * linter's). */
#ifndef TSHIM_VERSION
#define TSHIM_VERSION "0.0.0"
#endif

/* A big buffer that a start does not write. gcc on x86-64 puts it in the large
 * data section, which the linker places after all the other zeroed data: the
 * small variables that every start writes then lie in the page of the library's
 * data that the loader writes anyway, where the buffers would have pushed them
 * to a page of their own (each page first written is a page fault, some 2.5 us).
 * Elsewhere, with clang (whose .lbss would take room in the file) and under
 * AddressSanitizer (which does not guard a variable in a named section), plain
 * zeroed data. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                             \
    !defined(__SANITIZE_ADDRESS__)
#define TSHIM_COLD __attribute__((section(".lbss")))
#else
#define TSHIM_COLD
#endif

/* A thread-local variable of the library. glibc: initial-exec, an offset fixed at
 * load, where the default model calls __tls_get_addr (a lazy binding at start,
 * then a call at each access); glibc keeps room for it in a dlopen'ed library's
 * static TLS. musl keeps none, so it gets the default model. */
#ifdef __GLIBC__
#define TSHIM_TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define TSHIM_TLS __thread
#endif

#endif
