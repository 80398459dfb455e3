/* serve.h: `toki-shim serve`, a Toki-compatible event server for tests, demos and users. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_SERVE_H
#define TSHIM_SERVE_H

/* argv[0] is "serve". Returns the process exit status. */
int tshim_serve_main(int argc, char **argv);

#endif
