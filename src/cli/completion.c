/* completion.c: prints the completion scripts of contrib/completion/, which the build embeds in the command. */
/* SPDX-License-Identifier: MIT */
#include "completion.h"

#include <stdio.h>
#include <string.h>

/* The scripts stay files (editable as shell, installed as they are by make
 * install) and the command carries the same bytes, so that a user of a copied
 * binary gets them too: the assembler reads each file in at build time. The
 * Makefile passes the folder's absolute path and makes this object depend on both
 * files. */
#ifndef TSHIM_COMPLETION_DIR
#define TSHIM_COMPLETION_DIR "contrib/completion"
#endif
#define TSHIM_COMPLETION_EMBED(symbol, file)                                                      \
    __asm__(".pushsection .rodata\n"                                                              \
            ".globl " symbol "\n"                                                                 \
            ".hidden " symbol "\n" symbol ":\n"                                                   \
            ".incbin \"" TSHIM_COMPLETION_DIR "/" file "\"\n"                                     \
            ".byte 0\n"                                                                           \
            ".popsection\n")
TSHIM_COMPLETION_EMBED("tshim_completion_bash", "toki-shim.bash");
TSHIM_COMPLETION_EMBED("tshim_completion_zsh", "_toki-shim");
extern const char tshim_completion_bash[], tshim_completion_zsh[];

static int tshim_completion_usage(FILE *f, int status)
{
    fputs("Usage: toki-shim completion bash|zsh\n"
          "Prints the completion script for that shell. Load it for this shell with\n"
          "  source <(toki-shim completion bash)    (bash; zsh: after compinit)\n"
          "or install it: make install puts both where bash-completion and zsh look.\n",
          f);
    return status;
}

int tshim_completion_main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return tshim_completion_usage(stdout, 0);
    if (argc != 2)
        return tshim_completion_usage(stderr, 2);
    const char *script = strcmp(argv[1], "bash") == 0  ? tshim_completion_bash
                         : strcmp(argv[1], "zsh") == 0 ? tshim_completion_zsh
                                                       : NULL;
    if (!script) {
        fprintf(stderr, "toki-shim completion: no completion for '%s' (bash or zsh)\n", argv[1]);
        return 2;
    }
    fputs(script, stdout);
    return 0;
}
