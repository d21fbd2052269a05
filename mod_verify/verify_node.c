/*
 * verify_node.c -- the process's node id (verify_node.h).
 *
 * A plain static: the parent sets it while reading the configuration,
 * before any child or helper process forks, and nobody changes it
 * while lines are written.
 */
#include <string.h>
#include "verify_node.h"

static char node[VERIFY_NODE_MAX + 1];

static int node_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int verify_node_valid(const char *s)
{
    size_t i;

    if (!s || !s[0] || !node_char((unsigned char)s[0])
        || s[0] == '.' || s[0] == '_' || s[0] == '-') {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if (i >= VERIFY_NODE_MAX || !node_char((unsigned char)s[i])) {
            return 0;
        }
    }
    return 1;
}

void verify_node_set(const char *s)
{
    if (s && verify_node_valid(s)) {
        strcpy(node, s);
    }
    else {
        node[0] = '\0';
    }
}

const char *verify_node_get(void)
{
    return node[0] ? node : NULL;
}
