/* ddbmini_harness.h — shared bits of ddbmini's C tests: start/stop the server
 * binary on an ephemeral port, CHECK macros, small object helpers. */
#ifndef DDBMINI_HARNESS_H
#define DDBMINI_HARNESS_H

#include <stdio.h>
#include <sys/types.h>
#include "mini_client.h"

typedef struct mini_proc {
    pid_t pid;
    int port;
} mini_proc;

extern int g_checks, g_failures;

#include "check.h"

/* Starts `bin --port 0 args...` (args NULL-terminated, may be NULL); 0 or -1. */
int mini_proc_start(mini_proc *p, const char *bin, const char *const *args);
/* SIGTERM, wait; returns the exit status (0 expected) or -1 if it had to be killed. */
int mini_proc_stop(mini_proc *p);

/* Opens a client and does the connect handshake (aborts the test on failure). */
void open_client(mini_client *c, const mini_proc *p);
/* Runs a script and returns a text of the result ("" for no object) in a static
 * buffer: cells as ddb_format_cell prints them, vectors [a,b], ANY vectors (a,b),
 * pairs [a,b]pair, table(col=[..],...), matrixRxC[column-major cells], set[..],
 * dict[keys][values]. On a server error returns "ERROR: <message>". */
const char *run_text(mini_client *c, const char *script);
/* Type and form of the last run_text result, e.g. "INT SCALAR". */
const char *last_kind(void);
double now_s(void);
int finish(const char *name);     /* prints the summary; returns the exit code */

#endif
