/* ddbmini_harness.c — see ddbmini_harness.h. */
#include "ddbmini_harness.h"
#include "ddb_text.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int g_checks, g_failures;
static char g_kind[64];

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int mini_proc_start(mini_proc *p, const char *bin, const char *const *args)
{
    int fds[2];
    if (pipe(fds))
        return -1;
    const char *argv[64] = {bin, "--port", "0"};
    int n = 3;
    for (int i = 0; args && args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    p->pid = fork();
    if (p->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* a crashed or aborted test leaves no server */
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char line[256];
    size_t len = 0;
    while (len < sizeof line - 1) {
        ssize_t r = read(fds[0], line + len, 1);
        if (r <= 0)
            break;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = 0;
    close(fds[0]);
    const char *colon = strrchr(line, ':');
    if (strncmp(line, "ddbmini listening on ", 21) || !colon) {
        fprintf(stderr, "ddbmini did not start (got \"%s\")\n", line);
        if (p->pid > 0)
            mini_proc_stop(p);
        return -1;
    }
    p->port = atoi(colon + 1);
    return 0;
}

int mini_proc_stop(mini_proc *p)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, SIGTERM);
    int status = 0;
    for (int i = 0; i < 1000; i++) {        /* up to 10 s */
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10000);
    }
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    p->pid = 0;
    return -1;
}

void open_client(mini_client *c, const mini_proc *p)
{
    if (mini_client_open(c, "127.0.0.1", p->port) || mini_client_connect(c) != MINI_OK) {
        fprintf(stderr, "cannot connect to ddbmini: %s\n", c->error);
        exit(1);
    }
}

/* A format-independent text of a value: cells through ddb_format_cell, structure
 * spelled out, so the expectations do not depend on display layout. */
static void repr(ddb_buf *b, const ddb_obj *o)
{
    switch (o->form) {
    case DDB_SCALAR:
        if (o->type == DDB_ANY)
            break;
        ddb_format_cell(b, o, 0);
        return;
    case DDB_VECTOR:
    case DDB_PAIR:
        ddb_buf_puts(b, o->type == DDB_ANY ? "(" : "[");
        for (int64_t i = 0; i < o->rows; i++) {
            if (i)
                ddb_buf_puts(b, ",");
            if (o->type == DDB_ANY)
                repr(b, o->items[i]);
            else
                ddb_format_cell(b, o, i);
        }
        ddb_buf_puts(b, o->type == DDB_ANY ? ")" : "]");
        if (o->form == DDB_PAIR)
            ddb_buf_puts(b, "pair");
        return;
    case DDB_TABLE:
        ddb_buf_puts(b, "table(");
        for (int64_t c = 0; c < o->cols; c++) {
            ddb_buf_printf(b, "%s%s=", c ? "," : "", o->col_names[c]);
            repr(b, o->columns[c]);
        }
        ddb_buf_puts(b, ")");
        return;
    case DDB_MATRIX:
        ddb_buf_printf(b, "matrix%lldx%lld[", (long long)o->rows, (long long)o->cols);
        for (int64_t i = 0; i < o->rows * o->cols; i++) {
            ddb_buf_puts(b, i ? "," : "");
            ddb_format_cell(b, o, i);
        }
        ddb_buf_puts(b, "]");
        return;
    case DDB_SET:
        ddb_buf_puts(b, "set");
        repr(b, o->keys);
        return;
    case DDB_DICTIONARY:
        ddb_buf_puts(b, "dict");
        repr(b, o->keys);
        repr(b, o->values);
        return;
    }
    ddb_format_obj(b, o);
}

const char *run_text(mini_client *c, const char *script)
{
    static char out[4096];
    ddb_obj *o = NULL;
    int rc = mini_client_script(c, script, &o);
    g_kind[0] = 0;
    if (rc == MINI_SERVER_ERROR) {
        snprintf(out, sizeof out, "ERROR: %s", c->error);
        return out;
    }
    if (rc != MINI_OK) {
        snprintf(out, sizeof out, "IO ERROR: %s", c->error);
        return out;
    }
    if (!o) {
        out[0] = 0;
        snprintf(g_kind, sizeof g_kind, "NOTHING");
        return out;
    }
    ddb_buf b;
    ddb_buf_init(&b);
    repr(&b, o);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.p ? b.p : "");
    ddb_buf_free(&b);
    snprintf(g_kind, sizeof g_kind, "%s %s", ddb_type_name(o->type), ddb_form_name(o->form));
    ddb_obj_unref(o);
    return out;
}

const char *last_kind(void) { return g_kind; }

int finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, g_checks, g_failures);
    return g_failures ? 1 : 0;
}
