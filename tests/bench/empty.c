/* empty.c: a shared object with nothing in it: the floor of what LD_PRELOAD costs. */
/* SPDX-License-Identifier: MIT */
int bench_empty_marker;
