/* check.h: `toki-shim check [PID]`: is the configuration right, is Toki there, will this process reload? */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_CHECK_H
#define TSHIM_CHECK_H

/* argv[0] is "check". Returns 0 only when all is well (see toki-shim(1)). */
int tshim_check_main(int argc, char **argv);

#endif
