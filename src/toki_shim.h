/* toki_shim.h: what a program may define to be told, by libtoki_shim, that Toki refreshed. */
#ifndef TOKISHIM_H
#define TOKISHIM_H

#ifdef __cplusplus
extern "C" {
#endif

/* The hooks must be visible to dlsym even in programs built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define TOKISHIM_VISIBLE __attribute__((visibility("default")))
#else
#define TOKISHIM_VISIBLE
#endif

/* Define this to be called on each trigger event (AUTH_REFRESHED by default; see
 * TOKI_SHIM_EVENTS) instead of receiving the reload signal. The shim finds it with
 * dlsym, so it must be exported: link the program with -rdynamic (or
 * -Wl,--export-dynamic-symbol=toki_on_refresh), or define it in a shared library.
 *
 * Threading: it runs on the shim's listener thread, never in a signal handler, one
 * call at a time and in event order; the next event waits until it returns. Take
 * your own locks to share state with the rest of the program. All signals are
 * blocked on that thread. */
TOKISHIM_VISIBLE void toki_on_refresh(void);

/* Define this to see every event line Toki sends, trigger or not: AUTH_REFRESHED,
 * FINISHED, and names that later versions of Toki may add. Same thread and rules as
 * toki_on_refresh; it is called first. name is valid only during the call. */
TOKISHIM_VISIBLE void toki_on_event(const char *name);

#ifdef __cplusplus
}
#endif

#endif
