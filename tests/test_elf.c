/* test_elf.c: a loaded object's dynamic symbols, looked up in memory as the default lookup would. */
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
