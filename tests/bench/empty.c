/* empty.c: a shared object with nothing in it: the floor of what LD_PRELOAD costs. */
int bench_empty_marker;
