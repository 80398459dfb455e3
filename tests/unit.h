/* unit.h: what the unit tests need of the library's constructor, which they are built without. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_TESTS_UNIT_H
#define TSHIM_TESTS_UNIT_H

#include "common/fdguard.h"
#include "shim/real.h"

/* The constructor's first step: libc's functions resolved, and the fd guard told
 * which close is the real one. */
static inline void unit_resolve_libc(void)
{
    tshim_real_init();
    tshim_fdguard_use_close(tshim_real.close);
}

#endif
