/* completion.h: `toki-shim completion bash|zsh`, which prints the shell completion script. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_COMPLETION_H
#define TSHIM_COMPLETION_H

/* argv[0] is "completion". Prints the script of the shell named by argv[1]; 0, or
 * 2 for a usage error. */
int tshim_completion_main(int argc, char **argv);

#endif
