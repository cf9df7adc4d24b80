/* check.h — the CHECK macro of the C tests: counts every check, prints each failure
 * with its place and a printf-style message, and goes on. The program defines
 * `int g_checks, g_failures;` (ddbmini_harness.c does for the harness's users). */
#ifndef DDB_TEST_CHECK_H
#define DDB_TEST_CHECK_H

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

#endif
