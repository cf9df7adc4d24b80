/* ddbmini_harness.c — see ddbmini_harness.h. */
#include "ddbmini_harness.h"
#include "ddb_text.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
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
    ddb_format_obj(&b, o);
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
