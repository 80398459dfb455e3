/* preload.c: reads a program file's mode, capabilities and interpreter to tell whether LD_PRELOAD can reach it. */
/* SPDX-License-Identifier: MIT */
#include "preload.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include "elf.h"

enum tshim_preload_verdict tshim_preload_verdict(const char *path)
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
