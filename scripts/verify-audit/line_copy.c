/*
 * line_copy.c -- a copy of one log line, kept while the reading goes
 * on (the newest checkpoint line: sample's preview, verify's signature
 * left to check), in a buffer that grows to the longest line kept.
 */
#include <stdlib.h>
#include <string.h>
#include "tool.h"

int line_copy_set(line_copy_t *c, const char *line, size_t len)
{
    char *nb;

    if (len > c->cap) {
        nb = realloc(c->buf, len);
        if (!nb) {
            c->len = 0;
            return -1;
        }
        c->buf = nb;
        c->cap = len;
    }
    memcpy(c->buf, line, len);
    c->len = len;
    return 0;
}

void line_copy_free(line_copy_t *c)
{
    free(c->buf);
    memset(c, 0, sizeof(*c));
}
