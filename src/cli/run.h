/* run.h: `toki-shim run`, which execs a command with the shim preloaded and configured. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_RUN_H
#define TSHIM_RUN_H

/* argv[0] is "run". Returns an exit status only when COMMAND could not be run. */
int tshim_run_main(int argc, char **argv);

/* The absolute path of libtoki_shim.so that goes with this toki-shim: next to it
 * (the build tree), in ../lib or ../lib/<multiarch> (an install, relocated or
 * not), or in the LIBDIR it was built for. NULL if none exists. */
const char *tshim_run_library_path(void);

#endif
