/* board.h: the counters a listening shim keeps in its own memory, laid out so that toki-shim check can find and read them. */
/* SPDX-License-Identifier: MIT */
#ifndef TSHIM_BOARD_H
#define TSHIM_BOARD_H

#include <stdatomic.h>

/* The board opens with this text, so that toki-shim check, which reads the
 * library's data in another process (process_vm_readv), can find it there without
 * a symbol table: installed libraries are often stripped. The version digit
 * changes with the layout. */
#define TSHIM_BOARD_MAGIC "toki-shim board2"
#define TSHIM_BOARD_MAGIC_LEN 16

struct tshim_board {
    char magic[TSHIM_BOARD_MAGIC_LEN + 1]; /* TSHIM_BOARD_MAGIC */
    _Atomic long pid;                  /* the process the counters are of (a fork copies them) */
    _Atomic int on;                    /* 1: the shim listens; 0: inert */
    _Atomic int connected;             /* 1: connected to Toki, token handed over */
    _Atomic unsigned long generation;  /* trigger events received */
    _Atomic unsigned long lines;       /* event lines received, triggers or not */
    _Atomic unsigned long actions;     /* actions taken */
    _Atomic unsigned long reconnects;  /* connections made after the first */
    _Atomic long long last_event_ms;   /* wall-clock time of the last event line, ms since 1970; 0: none */
    _Atomic int fd_asked;              /* 1: the program has asked for the event fd */
};

#endif
