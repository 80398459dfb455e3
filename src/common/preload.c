/* preload.c: reads a program file's mode, capabilities and interpreter to tell whether LD_PRELOAD can reach it. */
/* SPDX-License-Identifier: MIT */
#include "preload.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "elf.h"

/* A script's interpreter, from its "#!" line, into buf; 0 if path is no script. */
static int tshim_preload_interpreter(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 3 || buf[0] != '#' || buf[1] != '!')
        return 0;
    buf[n] = '\0';
    char *p = buf + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strcspn(p, " \t\n");
    if (len == 0 || *p != '/')
        return 0;
    memmove(buf, p, len);
    buf[len] = '\0';
    return 1;
}

static enum tshim_preload_verdict tshim_preload_file(const char *path);

/* The kernel runs a script's interpreter, whose own file decides; one level, as the
 * kernel itself follows (an interpreter that is a script is refused there). */
enum tshim_preload_verdict tshim_preload_verdict(const char *path)
{
    char interp[256];
    enum tshim_preload_verdict v = tshim_preload_file(path);
    if (v == TSHIM_PRELOAD_OK && tshim_preload_interpreter(path, interp, sizeof interp))
        v = tshim_preload_file(interp);
    return v;
}

static enum tshim_preload_verdict tshim_preload_file(const char *path)
{
    struct stat st;
    int known = stat(path, &st) == 0;
    if (known && (st.st_mode & S_ISUID))
        return TSHIM_PRELOAD_SETUID;
    /* Set-group-id without group execute is mandatory locking, not a privilege. */
    if (known && (st.st_mode & S_ISGID) && (st.st_mode & S_IXGRP))
        return TSHIM_PRELOAD_SETGID;
    /* Only the attribute's presence matters: the kernel refuses to store a
     * malformed one. */
    if (getxattr(path, "security.capability", NULL, 0) > 0)
        return TSHIM_PRELOAD_CAPS;
    if (tshim_elf_file_is_static(path))
        return TSHIM_PRELOAD_STATIC;
    return TSHIM_PRELOAD_OK;
}

const char *tshim_preload_reason(enum tshim_preload_verdict v)
{
    switch (v) {
    case TSHIM_PRELOAD_STATIC:
        return "is statically linked: no dynamic loader reads LD_PRELOAD";
    case TSHIM_PRELOAD_SETUID:
        return "is setuid: the dynamic loader ignores LD_PRELOAD for it";
    case TSHIM_PRELOAD_SETGID:
        return "is setgid: the dynamic loader ignores LD_PRELOAD for it";
    case TSHIM_PRELOAD_CAPS:
        return "has file capabilities: the dynamic loader ignores LD_PRELOAD for it";
    case TSHIM_PRELOAD_OK:
        break;
    }
    return "can be preloaded";
}
