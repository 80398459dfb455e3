/* test_elf.c: a loaded object's dynamic symbols, looked up in memory as the default lookup would. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "common/elf.h"

/* Exported: this test binary is linked with -rdynamic. */
__attribute__((visibility("default"))) int toki_test_exported_fn(void);
__attribute__((visibility("default"))) int toki_test_exported_fn(void)
{
    return 42;
}

struct want {
    const char *name;
    void *found;  /* the first definition, in the loader's order */
    int vdso;     /* 1 if the vDSO defines it */
};

static int each(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct want *w = data;
    void *p = tshim_elf_loaded_symbol(info, w->name);
    if (p && !w->found) {
        w->found = p;
        w->vdso = info->dlpi_name && strstr(info->dlpi_name, "vdso") != NULL;
    }
    return 0;
}

static struct want lookup(const char *name)
{
    struct want w = {name, NULL, 0};
    dl_iterate_phdr(each, &w);
    return w;
}

Test(elf, finds_what_dlsym_finds_in_the_program_and_in_libc)
{
    const char *names[] = {"toki_test_exported_fn", "getpid", "dl_iterate_phdr", "environ",
                           "criterion_options", NULL};
    for (int i = 0; names[i]; i++) {
        struct want w = lookup(names[i]);
        cr_assert_not_null(w.found, "%s not found", names[i]);
        cr_assert_eq(w.found, dlsym(RTLD_DEFAULT, names[i]), "%s", names[i]);
    }
    int (*fn)(void) = (int (*)(void))lookup("toki_test_exported_fn").found;
    cr_assert_eq(fn(), 42);
}

Test(elf, finds_nothing_for_a_name_no_object_defines)
{
    cr_assert_null(lookup("toki_test_no_such_symbol").found);
    cr_assert_null(lookup("").found);
    /* Declared by libc, defined by none: an undefined entry is no definition. */
    cr_assert_null(lookup("toki_on_refresh").found);
}

Test(elf, reads_the_vdso_whose_dynamic_section_the_loader_leaves_relative)
{
    struct want w = lookup("__vdso_getcpu");
    if (!w.found)
        cr_skip_test("this kernel's vDSO has no __vdso_getcpu");
    cr_assert(w.vdso, "found in the vDSO");
    unsigned cpu = 1000;
    long (*getcpu_fn)(unsigned *, unsigned *, void *) = (long (*)(unsigned *, unsigned *, void *))w.found;
    cr_assert_eq(getcpu_fn(&cpu, NULL, NULL), 0);
    cr_assert_lt(cpu, 1000u);
}

struct libc_case {
    const char *name;
    enum tshim_elf_libc libc;
};

Test(elf, names_the_libc_of_an_interpreter_and_of_a_needed_library)
{
    const struct libc_case interps[] = {
        {"/lib64/ld-linux-x86-64.so.2", TSHIM_ELF_LIBC_GLIBC},
        {"/lib/ld-linux-aarch64.so.1", TSHIM_ELF_LIBC_GLIBC},
        {"/lib64/ld64.so.2", TSHIM_ELF_LIBC_GLIBC},
        {"/lib/ld-musl-x86_64.so.1", TSHIM_ELF_LIBC_MUSL},
        {"ld-musl-aarch64.so.1", TSHIM_ELF_LIBC_MUSL},
        {"/system/bin/linker64", TSHIM_ELF_LIBC_UNKNOWN},
        {"", TSHIM_ELF_LIBC_UNKNOWN},
    };
    const struct libc_case needed[] = {
        {"libc.so.6", TSHIM_ELF_LIBC_GLIBC},
        {"libc.musl-x86_64.so.1", TSHIM_ELF_LIBC_MUSL},
        {"libc.so", TSHIM_ELF_LIBC_MUSL}, /* musl-gcc's: that libc.so has no soname */
        {"libdl.so.2", TSHIM_ELF_LIBC_UNKNOWN},
        {"libc.so.7", TSHIM_ELF_LIBC_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof interps / sizeof interps[0]; i++)
        cr_assert_eq(tshim_elf_libc_of_interp(interps[i].name), interps[i].libc, "%s", interps[i].name);
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        cr_assert_eq(tshim_elf_libc_of_needed(needed[i].name), needed[i].libc, "%s", needed[i].name);
}

Test(elf, only_two_known_and_different_libcs_clash)
{
    enum tshim_elf_libc g = TSHIM_ELF_LIBC_GLIBC, m = TSHIM_ELF_LIBC_MUSL, u = TSHIM_ELF_LIBC_UNKNOWN;
    cr_assert(tshim_elf_libc_clash(g, m));
    cr_assert(tshim_elf_libc_clash(m, g));
    cr_assert_not(tshim_elf_libc_clash(g, g));
    cr_assert_not(tshim_elf_libc_clash(m, m));
    /* What cannot be told is left to the loader, as before. */
    cr_assert_not(tshim_elf_libc_clash(u, g));
    cr_assert_not(tshim_elf_libc_clash(m, u));
    cr_assert_not(tshim_elf_libc_clash(u, u));
    cr_assert_str_eq(tshim_elf_libc_name(m), "musl");
    cr_assert_str_eq(tshim_elf_libc_name(g), "glibc");
}

Test(elf, reads_the_libc_of_a_program_and_of_a_library_from_the_file)
{
    /* This build's command by its interpreter, its library by what it needs. */
    cr_assert_eq(tshim_elf_file_libc(BUILD_DIR "/toki-shim"), TSHIM_ELF_LIBC_GLIBC);
    cr_assert_eq(tshim_elf_file_libc(BUILD_DIR "/libtoki_shim.so"), TSHIM_ELF_LIBC_GLIBC);
    /* A static program has neither; a script is no ELF file. */
    cr_assert_eq(tshim_elf_file_libc(BUILD_DIR "/tests/hosts/host_static"), TSHIM_ELF_LIBC_UNKNOWN);
    cr_assert_eq(tshim_elf_file_libc(SRC_DIR "/scripts/test.sh"), TSHIM_ELF_LIBC_UNKNOWN);
    cr_assert_eq(tshim_elf_file_libc("/nonexistent"), TSHIM_ELF_LIBC_UNKNOWN);
    if (access(BUILD_DIR "/tests/hosts/host_musl", R_OK) == 0)
        cr_assert_eq(tshim_elf_file_libc(BUILD_DIR "/tests/hosts/host_musl"), TSHIM_ELF_LIBC_MUSL);
}

/* What dlsym(RTLD_NEXT) gives this program, the same definitions, compat versions
 * passed over (pthread_sigmask and __libc_start_main have two in glibc). */
Test(elf, next_symbols_are_what_dlsym_rtld_next_finds)
{
    const char *names[] = {"close",           "dup2",     "fork",
                           "exit",            "setenv",   "pthread_sigmask",
                           "__libc_start_main", "sigprocmask", "environ",
                           "toki_test_no_such_symbol", "strlen"};
    enum { N = sizeof names / sizeof names[0] };
    void *found[N];
    tshim_elf_next_symbols((const void *)toki_test_exported_fn, names, found, N);
    for (int i = 0; i < N - 2; i++) {
        cr_assert_not_null(found[i], "%s not found", names[i]);
        cr_assert_eq(found[i], dlsym(RTLD_NEXT, names[i]), "%s", names[i]);
    }
    cr_assert_null(found[N - 2], "no object defines it");
    /* An IFUNC in glibc on x86-64 (the loader picks one of several) is left to
     * dlsym; under a sanitizer its runtime's plain interceptor comes first. */
    cr_assert(found[N - 1] == NULL || found[N - 1] == dlsym(RTLD_NEXT, "strlen"));
}
