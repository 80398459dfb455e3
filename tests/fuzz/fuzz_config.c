/* fuzz_config.c: libFuzzer target for the configuration: any set of variables gives one clean verdict. */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is "NAME=value" lines; a name is looked up among them. */
struct fuzz_env {
    char *text;
    size_t len;
};

static const char *fuzz_getenv(void *ctx, const char *name)
{
    struct fuzz_env *e = ctx;
    size_t n = strlen(name);
    for (char *line = e->text; line < e->text + e->len; line += strlen(line) + 1)
        if (strncmp(line, name, n) == 0 && line[n] == '=')
            return line + n + 1;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tshim_config c;
    static struct tshim_config_text text;
    char err[512];
    struct fuzz_env e = {malloc(size + 1), size};
    if (!e.text)
        return 0;
    memcpy(e.text, data, size);
    e.text[size] = '\0';
    for (size_t i = 0; i < size; i++)
        if (e.text[i] == '\n')
            e.text[i] = '\0';
    memset(err, 'Z', sizeof err);
    enum tshim_config_result r = tshim_config_load(&c, &text, fuzz_getenv, &e, err, sizeof err);
    size_t elen = strnlen(err, sizeof err);
    if (elen == sizeof err)
        abort(); /* the message must end within its buffer */
    if (r == TSHIM_CONFIG_ERROR && (elen == 0 || memchr(err, '\n', elen)))
        abort(); /* exactly one non-empty line */
    if (r == TSHIM_CONFIG_ACTIVE && (c.port < 1 || c.port > 65535 || c.token_len == 0 ||
                             c.token_len > TSHIM_CONFIG_TOKEN_MAX || c.signo < 1 || c.stack_kb < 16 ||
                             c.retry_max_ms < 100 || c.connect_timeout_ms < 1 || !c.events[0]))
        abort(); /* accepted, but outside what it promises */
    free(e.text);
    return 0;
}
