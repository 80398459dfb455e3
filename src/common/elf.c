/* elf.c: bounded reads of ELF headers, notes and dynamic symbols; never trusts an offset. */
/* SPDX-License-Identifier: MIT */
#include "elf.h"

#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tshim_elf_notes_have_go(const char *notes, size_t len)
{
    size_t off = 0;
    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr n;
        memcpy(&n, notes + off, sizeof n);
        size_t name = off + sizeof n;
        /* Go's linker writes the name padded, "Go\0\0" (namesz 4). */
        if ((n.n_namesz == 3 || n.n_namesz == 4) && name + 3 <= len &&
            memcmp(notes + name, "Go", 3) == 0)
            return 1;
        size_t next = name + ((n.n_namesz + 3u) & ~3u) + ((n.n_descsz + 3u) & ~3u);
        if (next <= off)
            break;
        off = next;
    }
    return 0;
}

/* ---- a loaded object's dynamic symbols, in memory ------------------------- */

/* An address in the dynamic section: glibc rewrites these to absolute ones when it
 * loads an object, other loaders (and the vDSO) leave them relative to its base. */
static const void *tshim_elf_dyn_ptr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    return (const void *)(v < info->dlpi_addr ? v + info->dlpi_addr : v);
}

struct tshim_elf_dyn {
    const ElfW(Sym) * symtab;
    const char *strtab;
    const Elf32_Word *gnu_hash, *sysv_hash;
    const ElfW(Half) * versym; /* NULL: the object has no symbol versions */
};

/* A symbol-table entry's verdict in a lookup: its address, NULL to look on, or
 * tshim_elf_odd, a definition this lookup does not follow. */
typedef void *(*tshim_elf_match_fn)(const struct dl_phdr_info *info,
                                    const struct tshim_elf_dyn *d, Elf32_Word i,
                                    const char *name);
static char tshim_elf_odd_mark;
#define tshim_elf_odd ((void *)&tshim_elf_odd_mark)

static int tshim_elf_dynamic(const struct dl_phdr_info *info, struct tshim_elf_dyn *d)
{
    memset(d, 0, sizeof *d);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
            continue;
        const ElfW(Dyn) *dyn = (const void *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
        for (; dyn->d_tag != DT_NULL; dyn++) {
            const void *p = tshim_elf_dyn_ptr(info, dyn->d_un.d_ptr);
            if (dyn->d_tag == DT_SYMTAB)
                d->symtab = p;
            else if (dyn->d_tag == DT_STRTAB)
                d->strtab = p;
            else if (dyn->d_tag == DT_GNU_HASH)
                d->gnu_hash = p;
            else if (dyn->d_tag == DT_HASH)
                d->sysv_hash = p;
            else if (dyn->d_tag == DT_VERSYM)
                d->versym = p;
        }
    }
    return d->symtab && d->strtab && (d->gnu_hash || d->sysv_hash) ? 0 : -1;
}

/* A definition that another object may bind to, by that name. */
static void *tshim_elf_match(const struct dl_phdr_info *info, const struct tshim_elf_dyn *d,
                             Elf32_Word i, const char *name)
{
    const ElfW(Sym) *s = &d->symtab[i];
    unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
    if (s->st_shndx == SHN_UNDEF || s->st_value == 0 || (bind != STB_GLOBAL && bind != STB_WEAK) ||
        (type != STT_FUNC && type != STT_OBJECT) || strcmp(d->strtab + s->st_name, name) != 0)
        return NULL;
    return (void *)(info->dlpi_addr + s->st_value);
}

static Elf32_Word tshim_elf_gnu_hash_of(const char *name)
{
    Elf32_Word h = 5381;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = h * 33 + *c;
    return h;
}

/* DT_GNU_HASH: buckets of symbol indexes, chains of hashes whose low bit ends one. */
static void *tshim_elf_gnu_lookup(const struct dl_phdr_info *info, const struct tshim_elf_dyn *d,
                                  const char *name, tshim_elf_match_fn match)
{
    const Elf32_Word *w = d->gnu_hash, nbuckets = w[0], symoffset = w[1], bloom_words = w[2];
    if (nbuckets == 0)
        return NULL;
    const Elf32_Word *buckets = (const Elf32_Word *)((const ElfW(Addr) *)(w + 4) + bloom_words);
    const Elf32_Word *chain = buckets + nbuckets, h = tshim_elf_gnu_hash_of(name);
    for (Elf32_Word i = buckets[h % nbuckets]; i >= symoffset; i++) {
        Elf32_Word c = chain[i - symoffset];
        void *found = (c | 1) == (h | 1) ? match(info, d, i, name) : NULL;
        if (found)
            return found;
        if (c & 1)
            break;
    }
    return NULL;
}

static Elf32_Word tshim_elf_sysv_hash_of(const char *name)
{
    Elf32_Word h = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        h = (h << 4) + *c;
        Elf32_Word g = h & 0xf0000000u;
        h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

/* DT_HASH: nbucket, nchain, then the buckets and chains of symbol indexes. */
static void *tshim_elf_sysv_lookup(const struct dl_phdr_info *info, const struct tshim_elf_dyn *d,
                                   const char *name, tshim_elf_match_fn match)
{
    const Elf32_Word *w = d->sysv_hash, nbucket = w[0], nchain = w[1];
    if (nbucket == 0)
        return NULL;
    const Elf32_Word *bucket = w + 2, *chain = bucket + nbucket;
    Elf32_Word n = 0;
    for (Elf32_Word i = bucket[tshim_elf_sysv_hash_of(name) % nbucket]; i != 0 && i < nchain;
         i = chain[i]) {
        void *found = match(info, d, i, name);
        if (found || ++n > nchain) /* a loop in a corrupt chain ends here */
            return found;
    }
    return NULL;
}

static void *tshim_elf_lookup(const struct dl_phdr_info *info, const struct tshim_elf_dyn *d,
                              const char *name, tshim_elf_match_fn match)
{
    return d->gnu_hash ? tshim_elf_gnu_lookup(info, d, name, match)
                       : tshim_elf_sysv_lookup(info, d, name, match);
}

void *tshim_elf_loaded_symbol(const struct dl_phdr_info *info, const char *name)
{
    struct tshim_elf_dyn d;
    if (tshim_elf_dynamic(info, &d) != 0)
        return NULL;
    return tshim_elf_lookup(info, &d, name, tshim_elf_match);
}

/* As dlsym matches an unversioned name: a compat version (hidden, name@VERSION)
 * is passed over for the default one; a global or weak definition of another kind
 * than a function or an object is one only dlsym follows. */
static void *tshim_elf_match_next(const struct dl_phdr_info *info, const struct tshim_elf_dyn *d,
                                  Elf32_Word i, const char *name)
{
    const ElfW(Sym) *s = &d->symtab[i];
    unsigned bind = ELF64_ST_BIND(s->st_info), type = ELF64_ST_TYPE(s->st_info);
    if (s->st_shndx == SHN_UNDEF || (s->st_value == 0 && type != STT_TLS) ||
        strcmp(d->strtab + s->st_name, name) != 0 || (d->versym && (d->versym[i] & 0x8000)))
        return NULL;
    if (bind == STB_LOCAL)
        return NULL;
    if ((bind != STB_GLOBAL && bind != STB_WEAK) || (type != STT_FUNC && type != STT_OBJECT))
        return tshim_elf_odd;
    return (void *)(info->dlpi_addr + s->st_value);
}

struct tshim_elf_next {
    const void *self;
    int after; /* the object holding self has been passed */
    const char *const *names;
    void **out;
    uint64_t done; /* bit k: names[k] settled */
    int n;
};

static int tshim_elf_holds(const struct dl_phdr_info *info, const void *p)
{
    ElfW(Addr) a = (ElfW(Addr))p;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && a >= info->dlpi_addr + ph->p_vaddr &&
            a - (info->dlpi_addr + ph->p_vaddr) < ph->p_memsz)
            return 1;
    }
    return 0;
}

static int tshim_elf_next_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct tshim_elf_next *w = arg;
    struct tshim_elf_dyn d;
    (void)size;
    if (!w->after) {
        w->after = tshim_elf_holds(info, w->self);
        return 0;
    }
    if (tshim_elf_dynamic(info, &d) != 0)
        return 0;
    int left = 0;
    for (int k = 0; k < w->n; k++) {
        if (w->done >> k & 1)
            continue;
        void *p = tshim_elf_lookup(info, &d, w->names[k], tshim_elf_match_next);
        w->done |= (uint64_t)(p != NULL) << k;
        w->out[k] = p == tshim_elf_odd ? NULL : p;
        left += p == NULL;
    }
    return left == 0;
}

void tshim_elf_next_symbols(const void *self, const char *const *names, void **out, int n)
{
    struct tshim_elf_next w = {self, 0, names, out, 0, n < 64 ? n : 64};
    dl_iterate_phdr(tshim_elf_next_object, &w);
}

static int tshim_elf_open(const char *path, Elf64_Ehdr *eh)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (pread(fd, eh, sizeof *eh, 0) != (ssize_t)sizeof *eh ||
        memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
        eh->e_phentsize != sizeof(Elf64_Phdr) ||
        (eh->e_shnum && eh->e_shentsize != sizeof(Elf64_Shdr))) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Calls fn on each program header until it returns nonzero; returns that value. */
static int tshim_elf_each_phdr(const char *path, int (*fn)(int fd, const Elf64_Phdr *ph))
{
    Elf64_Ehdr eh;
    int fd = tshim_elf_open(path, &eh), r = -1;
    if (fd < 0)
        return -1;
    for (int i = 0; i < eh.e_phnum && r <= 0; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof ph)) !=
            (ssize_t)sizeof ph)
            break;
        r = fn(fd, &ph);
    }
    close(fd);
    return r;
}

static int tshim_elf_interp(int fd, const Elf64_Phdr *ph)
{
    (void)fd;
    return ph->p_type == PT_INTERP ? 1 : 0;
}

int tshim_elf_file_is_static(const char *path)
{
    return tshim_elf_each_phdr(path, tshim_elf_interp) == 0;
}

static int tshim_elf_go_note(int fd, const Elf64_Phdr *ph)
{
    if (ph->p_type != PT_NOTE || ph->p_filesz == 0 || ph->p_filesz > 65536)
        return 0;
    char *buf = malloc(ph->p_filesz);
    int go = buf && pread(fd, buf, ph->p_filesz, (off_t)ph->p_offset) == (ssize_t)ph->p_filesz &&
             tshim_elf_notes_have_go(buf, ph->p_filesz);
    free(buf);
    return go;
}

int tshim_elf_file_is_go(const char *path)
{
    return tshim_elf_each_phdr(path, tshim_elf_go_note) == 1;
}

/* Reads a whole section into memory (at most 64 MiB). */
static char *tshim_elf_section(int fd, const Elf64_Shdr *sh)
{
    if (sh->sh_size == 0 || sh->sh_size > (64u << 20))
        return NULL;
    char *buf = malloc(sh->sh_size + 1);
    if (buf && pread(fd, buf, sh->sh_size, (off_t)sh->sh_offset) != (ssize_t)sh->sh_size) {
        free(buf);
        return NULL;
    }
    if (buf)
        buf[sh->sh_size] = '\0';
    return buf;
}

/* A section and the string table its sh_link names, both read whole. */
struct tshim_elf_linked {
    const char *data, *strs;
    size_t size, entsize, strsize;
};

/* Calls fn on each section of the given type with its string table, until fn
 * returns nonzero; returns that value (0 if none did). */
static int tshim_elf_each_linked(const char *path, Elf64_Word type,
                                 int (*fn)(const struct tshim_elf_linked *l, const void *arg),
                                 const void *arg)
{
    Elf64_Ehdr eh;
    int fd = tshim_elf_open(path, &eh), r = 0;
    if (fd < 0)
        return 0;
    for (int i = 0; i < eh.e_shnum && !r; i++) {
        Elf64_Shdr sh, strsh;
        if (pread(fd, &sh, sizeof sh, (off_t)(eh.e_shoff + (Elf64_Off)i * sizeof sh)) !=
                (ssize_t)sizeof sh ||
            sh.sh_type != type || sh.sh_link >= eh.e_shnum ||
            pread(fd, &strsh, sizeof strsh,
                  (off_t)(eh.e_shoff + (Elf64_Off)sh.sh_link * sizeof strsh)) !=
                (ssize_t)sizeof strsh)
            continue;
        char *data = tshim_elf_section(fd, &sh), *strs = tshim_elf_section(fd, &strsh);
        struct tshim_elf_linked l = {data, strs, sh.sh_size, sh.sh_entsize, strsh.sh_size};
        if (data && strs)
            r = fn(&l, arg);
        free(data);
        free(strs);
    }
    close(fd);
    return r;
}

static int tshim_elf_defines(const struct tshim_elf_linked *l, const void *symbol)
{
    if (l->entsize != sizeof(Elf64_Sym))
        return 0;
    for (size_t k = 0; k < l->size / sizeof(Elf64_Sym); k++) {
        Elf64_Sym s;
        memcpy(&s, l->data + k * sizeof s, sizeof s);
        if (s.st_name < l->strsize && s.st_shndx != SHN_UNDEF &&
            ELF64_ST_VISIBILITY(s.st_other) == STV_DEFAULT && strcmp(l->strs + s.st_name, symbol) == 0)
            return 1;
    }
    return 0;
}

int tshim_elf_file_exports(const char *path, const char *symbol)
{
    return tshim_elf_each_linked(path, SHT_DYNSYM, tshim_elf_defines, symbol);
}

/* ---- which libc a file is for ------------------------------------------------ */

static int tshim_elf_starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

enum tshim_elf_libc tshim_elf_libc_of_interp(const char *interp)
{
    const char *slash = strrchr(interp, '/'), *base = slash ? slash + 1 : interp;
    if (tshim_elf_starts(base, "ld-musl-"))
        return TSHIM_ELF_LIBC_MUSL;
    if (tshim_elf_starts(base, "ld-linux") || tshim_elf_starts(base, "ld64.so."))
        return TSHIM_ELF_LIBC_GLIBC;
    return TSHIM_ELF_LIBC_UNKNOWN;
}

enum tshim_elf_libc tshim_elf_libc_of_needed(const char *name)
{
    if (strcmp(name, "libc.so.6") == 0)
        return TSHIM_ELF_LIBC_GLIBC;
    if (strcmp(name, "libc.so") == 0 || tshim_elf_starts(name, "libc.musl-"))
        return TSHIM_ELF_LIBC_MUSL;
    return TSHIM_ELF_LIBC_UNKNOWN;
}

/* The first libc among the DT_NEEDED entries of a dynamic section, 1 + its enum. */
static int tshim_elf_needed_libc(const struct tshim_elf_linked *l, const void *unused)
{
    (void)unused;
    if (l->entsize != sizeof(Elf64_Dyn))
        return 0;
    for (size_t k = 0; k < l->size / sizeof(Elf64_Dyn); k++) {
        Elf64_Dyn d;
        memcpy(&d, l->data + k * sizeof d, sizeof d);
        if (d.d_tag == DT_NULL)
            break;
        if (d.d_tag != DT_NEEDED || d.d_un.d_val >= l->strsize)
            continue;
        enum tshim_elf_libc libc = tshim_elf_libc_of_needed(l->strs + d.d_un.d_val);
        if (libc != TSHIM_ELF_LIBC_UNKNOWN)
            return 1 + (int)libc;
    }
    return 0;
}

/* The interpreter's libc, 1 + its enum, at the program's PT_INTERP. */
static int tshim_elf_interp_libc(int fd, const Elf64_Phdr *ph)
{
    char interp[256];
    if (ph->p_type != PT_INTERP)
        return 0;
    size_t len = ph->p_filesz < sizeof interp ? (size_t)ph->p_filesz : sizeof interp - 1;
    if (pread(fd, interp, len, (off_t)ph->p_offset) != (ssize_t)len)
        return 1 + (int)TSHIM_ELF_LIBC_UNKNOWN;
    interp[len] = '\0';
    return 1 + (int)tshim_elf_libc_of_interp(interp);
}

enum tshim_elf_libc tshim_elf_file_libc(const char *path)
{
    int r = tshim_elf_each_phdr(path, tshim_elf_interp_libc);
    if (r == 0) /* no interpreter: a shared library, or static */
        r = tshim_elf_each_linked(path, SHT_DYNAMIC, tshim_elf_needed_libc, NULL);
    return r > 0 ? (enum tshim_elf_libc)(r - 1) : TSHIM_ELF_LIBC_UNKNOWN;
}

int tshim_elf_libc_clash(enum tshim_elf_libc prog, enum tshim_elf_libc lib)
{
    return prog != TSHIM_ELF_LIBC_UNKNOWN && lib != TSHIM_ELF_LIBC_UNKNOWN && prog != lib;
}

const char *tshim_elf_libc_name(enum tshim_elf_libc libc)
{
    return libc == TSHIM_ELF_LIBC_GLIBC  ? "glibc"
           : libc == TSHIM_ELF_LIBC_MUSL ? "musl"
                                         : "an unknown libc";
}

int tshim_elf_names_jvm(const char *text)
{
    return strstr(text, "/libjvm.so") != NULL;
}
