/* run.h: `toki-shim run`, which execs a command with the shim preloaded and configured. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_RUN_H
#define TSHIM_RUN_H

/* argv[0] is "run". Returns an exit status only when COMMAND could not be run. */
int tshim_run_main(int argc, char **argv);

#endif
