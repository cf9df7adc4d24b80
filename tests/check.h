/* check.h — the CHECK macro of the C tests: counts every check, prints each failure
 * with its place and a printf-style message, and goes on. The program defines
 * `int g_checks, g_failures;` (ddbmini_harness.c and pool_support.c do for their
 * users). Also check_unhex, for tests that write the expected bytes in hex. */
#ifndef DDB_TEST_CHECK_H
#define DDB_TEST_CHECK_H

#include <stddef.h>
#include <stdio.h>

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        g_checks++;                                                          \
        if (!(cond)) {                                                       \
            g_failures++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

/* "41 50 49" (pairs of hex digits, spaces between them optional) -> bytes at out,
 * which must hold them all; returns how many. */
static inline size_t check_unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;
    for (const char *p = hex; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        unsigned v;
        sscanf(p, "%2x", &v);
        out[n++] = (unsigned char)v;
        p += 2;
    }
    return n;
}

#endif
