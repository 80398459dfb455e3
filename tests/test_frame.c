/* test_frame.c: the framer against every split of every awkward input. */
/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"

/* Appends what the framer delivered to the string ctx: "E:NAME " for events,
 * "LONG " and "BAD " for discarded lines. */
static int record(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    char *out = ctx;
    if (kind == TSHIM_FRAME_EVENT) {
        cr_assert_neq(name[0], '\0', "an event with no name");
        strcat(out, "E:");
        strcat(out, name);
        strcat(out, " ");
    } else {
        cr_assert_str_eq(name, "", "a discarded line's name is empty");
        strcat(out, kind == TSHIM_FRAME_TOO_LONG ? "LONG " : "BAD ");
    }
    return 0;
}

/* Feeds in to a fresh framer in chunks of `step` bytes and returns what came out as
 * one string (see record). */
static char *run(const char *in, size_t len, size_t step)
{
    static struct tshim_frame f;
    static char out[1 << 16];
    out[0] = '\0';
    tshim_frame_init(&f);
    for (size_t at = 0; at < len; at += step) {
        size_t n = len - at < step ? len - at : step;
        cr_assert_eq(tshim_frame_push(&f, in + at, n, record, out), 0);
    }
    return out;
}

/* The same result for every way the input can be split across reads. */
static void check(const char *in, size_t len, const char *want)
{
    static const size_t steps[] = {1, 2, 3, 7, 64, 255, 256, 257, 4096, 1 << 21};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        cr_assert_str_eq(run(in, len, steps[i]), want, "step %zu", steps[i]);
}

#define CHECK(lit, want) check(lit, sizeof(lit) - 1, want)

Test(frame, one_event) { CHECK("AUTH_REFRESHED\n", "E:AUTH_REFRESHED "); }
Test(frame, no_newline_yet_is_no_event) { CHECK("AUTH_REFRESHED", ""); }
Test(frame, several_events_in_one_read)
{
    CHECK("AUTH_REFRESHED\nAUTH_REFRESHED\nFINISHED\n", "E:AUTH_REFRESHED E:AUTH_REFRESHED E:FINISHED ");
}
Test(frame, crlf_and_empty_lines)
{
    CHECK("\n\r\nA\r\n\n\nB\n", "E:A E:B ");
}
Test(frame, lone_cr_inside_a_name_is_bad) { CHECK("A\rB\nC\n", "BAD E:C "); }
Test(frame, nul_bytes_are_bad_and_the_next_event_survives) { CHECK("AU\0TH\nX\n", "BAD E:X "); }
Test(frame, non_ascii_is_bad) { CHECK("\xc3\xa9v\xff\nX\n", "BAD E:X "); }
Test(frame, spaces_are_bad) { CHECK("AUTH REFRESHED\nX\n", "BAD E:X "); }

Test(frame, length_limit_is_256_bytes)
{
    char in[600];
    memset(in, 'A', 256);
    strcpy(in + 256, "\n");
    char want[300] = "E:";
    memcpy(want + 2, in, 256);
    strcpy(want + 258, " ");
    check(in, 257, want);
    /* With CRLF the 256 bytes are still fine. */
    strcpy(in + 256, "\r\n");
    check(in, 258, want);
    /* 257 bytes: discarded whole, and the next line still counts. */
    memset(in, 'A', 257);
    strcpy(in + 257, "\nNEXT\n");
    check(in, strlen(in), "LONG E:NEXT ");
}

Test(frame, a_mebibyte_without_newline_is_one_discarded_line)
{
    size_t n = 1 << 20;
    char *in = malloc(n + 16);
    memset(in, 'x', n);
    memcpy(in + n, "\nAUTH_REFRESHED\n", 16);
    check(in, n + 16, "LONG E:AUTH_REFRESHED ");
    free(in);
}

Test(frame, a_hundred_events_back_to_back)
{
    char in[2000] = "", want[2000] = "";
    for (int i = 0; i < 100; i++) {
        strcat(in, "AUTH_REFRESHED\n");
        strcat(want, "E:AUTH_REFRESHED ");
    }
    check(in, strlen(in), want);
}

Test(frame, a_flood_of_empty_lines_costs_no_stack)
{
    size_t n = 4 << 20;
    char *in = malloc(n + 3);
    memset(in, '\n', n);
    memcpy(in + n, "A\n", 3);
    cr_assert_str_eq(run(in, n + 2, n + 2), "E:A ");
    free(in);
}

Test(frame, the_partial_line_is_what_came_since_the_last_line_end)
{
    static struct tshim_frame f;
    char out[128] = "";
    tshim_frame_init(&f);
    const char *in = "AUTH_REFRESHED\nSSH-2.0-Open";
    cr_assert_eq(tshim_frame_push(&f, in, strlen(in), record, out), 0);
    cr_assert_str_eq(out, "E:AUTH_REFRESHED ");
    cr_assert_str_eq(tshim_frame_partial(&f), "SSH-2.0-Open");
    cr_assert_eq(tshim_frame_push(&f, "SSH\n", 4, record, out), 0);
    cr_assert_str_eq(out, "E:AUTH_REFRESHED E:SSH-2.0-OpenSSH ");
    cr_assert_str_eq(tshim_frame_partial(&f), "");
}

/* The longest line the framer keeps whole is TSHIM_FRAME_MAX bytes and a '\r'; its
 * partial view must still end in a NUL inside the buffer: a NUL past it would land
 * on the line's length, and the line would then pass for a shorter one. */
Test(frame, a_partial_line_of_the_longest_kept_length_fits_with_its_nul)
{
    static struct tshim_frame f;
    char in[TSHIM_FRAME_MAX + 1], out[128] = "";
    memset(in, 'A', sizeof in);
    tshim_frame_init(&f);
    cr_assert_eq(tshim_frame_push(&f, in, sizeof in, record, out), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(strlen(tshim_frame_partial(&f)), sizeof in);
    cr_assert_eq(tshim_frame_push(&f, "\nNEXT\n", 6, record, out), 0);
    cr_assert_str_eq(out, "LONG E:NEXT ");
}

/* A callback that says stop ends the push at that line: the session reads no
 * further after FINISHED. */
static int stop_at_b(void *ctx, enum tshim_frame_kind kind, const char *name)
{
    record(ctx, kind, name);
    return strcmp(name, "B") == 0 ? 7 : 0;
}

Test(frame, a_callback_can_stop_the_push)
{
    static struct tshim_frame f;
    char out[128] = "";
    tshim_frame_init(&f);
    cr_assert_eq(tshim_frame_push(&f, "A\nB\nC\n", 6, stop_at_b, out), 7);
    cr_assert_str_eq(out, "E:A E:B ");
}
