/* elf.h: the few facts toki-shim reads from ELF files and segments. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_ELF_H
#define TSHIM_ELF_H

#include <link.h>
#include <stddef.h>

/* 1 if the note area notes[0..len) holds Go's build-id note (name "Go"). */
int tshim_elf_notes_have_go(const char *notes, size_t len);

/* Facts about the ELF file at path; each is 0 when the file is not a 64-bit ELF. */
int tshim_elf_file_is_static(const char *path); /* no PT_INTERP: LD_PRELOAD is never read */
int tshim_elf_file_is_go(const char *path);
int tshim_elf_file_exports(const char *path, const char *symbol); /* defined in .dynsym */

/* The C library an ELF file is built for, as far as the loader is concerned. */
enum tshim_elf_libc {
    TSHIM_ELF_LIBC_UNKNOWN, /* not a 64-bit ELF, static, or another libc */
    TSHIM_ELF_LIBC_GLIBC,
    TSHIM_ELF_LIBC_MUSL,
};

/* From a program's interpreter (PT_INTERP): glibc's ld-linux*.so.N or ld64.so.N,
 * musl's ld-musl-ARCH.so.1. */
enum tshim_elf_libc tshim_elf_libc_of_interp(const char *interp);
/* From a DT_NEEDED name: glibc's libc.so.6; musl's libc.musl-ARCH.so.1 (Alpine), or
 * libc.so (musl-gcc on glibc systems: that musl has no soname). */
enum tshim_elf_libc tshim_elf_libc_of_needed(const char *name);
/* A program's by its interpreter; a shared library's by the libc it needs. */
enum tshim_elf_libc tshim_elf_file_libc(const char *path);
/* 1 if a library of lib's libc cannot be preloaded into a program of prog's: both
 * known, and not the same (glibc's loader cannot load musl's libc, and musl's cannot
 * resolve glibc's private symbols). */
int tshim_elf_libc_clash(enum tshim_elf_libc prog, enum tshim_elf_libc lib);
/* "glibc", "musl" or "an unknown libc". */
const char *tshim_elf_libc_name(enum tshim_elf_libc libc);

/* The address of the function or object `name` that a loaded object (as
 * dl_iterate_phdr shows it) defines and exports, from its dynamic symbol table and
 * hash table in memory; NULL if it defines none. Unlike dlsym, a miss allocates
 * nothing and takes no lock. */
void *tshim_elf_loaded_symbol(const struct dl_phdr_info *info, const char *name);

/* For each of the n names, the definition that dlsym(RTLD_NEXT, name) gives code
 * in the object that holds the address self: the first object loaded after that
 * one that defines it, in its default version (not a compat one, name@VERSION),
 * into out[i]. One walk of the loaded objects for all the names, no lock of the
 * loader's but dl_iterate_phdr's, nothing allocated. A name it cannot answer for
 * as dlsym would is left NULL: no later object defines it, or the definition is
 * not a plain function or object (an IFUNC, TLS, a unique symbol). out must hold
 * n NULLs on entry: zeroing it here, a loop, would be compiled into a call of
 * memset, whose page of libc is one more page fault at every start. */
void tshim_elf_next_symbols(const void *self, const char *const *names, void **out, int n);

/* 1 if text (a loaded object's path, or a process's /proc/PID/maps) names
 * libjvm.so, which every Java virtual machine loads. */
int tshim_elf_names_jvm(const char *text);

#endif
