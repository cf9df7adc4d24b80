/* pool_support.c — see pool_support.h. */
#include "pool_support.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef DDBMINI_PATH
#define DDBMINI_PATH "ddbmini"
#endif

int g_checks, g_failures;

double now_sec(void)
{
    return (double)uv_hrtime() / 1e9;
}

static int read_port(const char *log)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return 0;
    char line[256];
    int port = 0;
    while (fgets(line, sizeof line, f)) {
        const char *s = strstr(line, "ddbmini listening on ");
        const char *colon = s ? strrchr(s, ':') : NULL;
        if (colon)
            port = atoi(colon + 1);
    }
    fclose(f);
    return port;
}

/* One RSA key pair for the encrypted login of every ddbmini the tests start
 * (--rsa-key), made once beside the binary and reused by later test processes. Each
 * server would otherwise make a 2048-bit key on its first login: seconds on a loaded
 * machine, more than the tests' connect timeouts. NULL when it cannot be made (the
 * server then makes its own). */
static const char *shared_rsa_key(const char *exe)
{
    static char path[4096];
    static int state;                   /* 0 not yet, 1 made, -1 failed */
    if (state)
        return state > 0 ? path : NULL;
    snprintf(path, sizeof path, "%s-test-rsa.pem", exe);
    if (access(path, R_OK) == 0) {
        state = 1;
        return path;
    }
    char tmp[4160];
    snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
    EVP_PKEY *key = EVP_RSA_gen(2048);
    FILE *f = key ? fopen(tmp, "w") : NULL;
    int ok = f && PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (f)
        ok = fclose(f) == 0 && ok;
    EVP_PKEY_free(key);
    ok = ok && rename(tmp, path) == 0;  /* atomic: a concurrent test sees all or none */
    if (!ok)
        unlink(tmp);
    state = ok ? 1 : -1;
    return ok ? path : NULL;
}

int ddbmini_start(ddbmini_proc *m, int port, const char *const *extra)
{
    const char *exe = getenv("DDBMINI") ? getenv("DDBMINI") : DDBMINI_PATH;
    memset(m, 0, sizeof *m);
    snprintf(m->log, sizeof m->log, "/tmp/ddbmini-test-XXXXXX");
    int fd = mkstemp(m->log);
    if (fd < 0) {
        printf("cannot create a log file: %s\n", strerror(errno));
        return -1;
    }
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    const char *argv[32] = { exe, "--port", portbuf, "--threads", "16" };
    int argc = 5;
    const char *key = shared_rsa_key(exe);
    if (key) {                          /* before extra: a test's own --rsa-key wins */
        argv[argc++] = "--rsa-key";
        argv[argc++] = key;
    }
    for (int i = 0; extra && extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(exe, (char *const *)argv);
        fprintf(stderr, "cannot exec %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    close(fd);
    m->pid = pid;
    for (int i = 0; i < 500; i++) {       /* 5 s */
        m->port = read_port(m->log);
        if (m->port > 0)
            return 0;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            printf("ddbmini exited before listening (see %s)\n", m->log);
            m->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    printf("ddbmini did not print its port within 5 s\n");
    ddbmini_kill(m);
    return -1;
}

static void reap(ddbmini_proc *m, int first_signal)
{
    if (m->pid <= 0)
        return;
    kill(m->pid, first_signal);
    for (int i = 0; i < 200; i++) {
        int status;
        if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
            m->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    m->pid = 0;
}

void ddbmini_stop(ddbmini_proc *m)
{
    reap(m, SIGTERM);
    if (m->log[0])
        unlink(m->log);
}

void ddbmini_kill(ddbmini_proc *m)
{
    reap(m, SIGKILL);
}

static void noop_timer(uv_timer_t *t) { (void)t; }

int run_until(uv_loop_t *loop, int (*pred)(void *ud), void *ud, int timeout_ms)
{
    uv_timer_t guard;
    uv_timer_init(loop, &guard);
    /* The guard wakes the loop at least every 50 ms so the deadline is observed. */
    uv_timer_start(&guard, noop_timer, 50, 50);
    double deadline = now_sec() + timeout_ms / 1000.0;
    int ok;
    while (!(ok = pred(ud)) && now_sec() < deadline)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return ok;
}

static int never(void *ud) { (void)ud; return 0; }

void run_for(uv_loop_t *loop, int ms)
{
    run_until(loop, never, NULL, ms);
}

void test_config(ddb_pool_config *cfg, int port, int nconns)
{
    ddb_pool_config_init(cfg);
    cfg->host = "127.0.0.1";
    cfg->port = port;
    cfg->thread_num = nconns;
    cfg->userid = "admin";
    cfg->password = "123456";
    /* connect + login: under valgrind (DDB_TIME_SCALE=20) OpenSSL's first use in the
     * login alone can take seconds */
    const char *scale = getenv("DDB_TIME_SCALE");
    double k = scale ? atof(scale) : 1;
    cfg->connect_timeout = 3 * (k >= 1 ? k : 1);
    cfg->reconnect_delay = 0.05;
}

static int not_opening(void *p)
{
    return ddb_pool_state(p) != DDB_POOL_OPENING;
}

ddb_pool *open_pool(uv_loop_t *loop, const ddb_pool_config *cfg)
{
    char err[300];
    ddb_pool *p = ddb_pool_new(loop, cfg, err, sizeof err);
    if (!p) {
        printf("ddb_pool_new: %s\n", err);
        return NULL;
    }
    run_until(loop, not_opening, p, 10000);
    return p;
}

static int is_closed(void *p)
{
    return ddb_pool_state(p) == DDB_POOL_CLOSED;
}

void close_pool(uv_loop_t *loop, ddb_pool *p)
{
    if (!p)
        return;
    ddb_pool_shutdown(p);
    CHECK(run_until(loop, is_closed, p, 5000), "pool closes within 5 s (state %s)",
          ddb_pool_state_name(ddb_pool_state(p)));
    ddb_pool_free(p);
}

int task_done(void *t)
{
    return ddb_task_state_is_terminal(ddb_task_state(t));
}

ddb_task *run_script(uv_loop_t *loop, ddb_pool *p, const char *script, int timeout_ms)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    ddb_task *t = NULL;
    char err[300];
    if (ddb_pool_submit(p, &spec, &t, err, sizeof err) != DDB_OK) {
        printf("submit '%s': %s\n", script, err);
        return NULL;
    }
    run_until(loop, task_done, t, timeout_ms);
    return t;
}

long long task_int(const ddb_task *t)
{
    const ddb_obj *o = t ? ddb_task_result(t) : NULL;
    if (!o || o->form != DDB_SCALAR)
        return INT64_MIN;
    return (long long)ddb_int_at(o, 0);
}

double run_time_scale(void)
{
    double k = 1;
#if defined(__SANITIZE_ADDRESS__)
    k = 3;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    k = 3;
#endif
#endif
    const char *scale = getenv("DDB_TIME_SCALE");
    if (scale && atof(scale) > 0)
        k = atof(scale);
    return k;
}

double cpu_sec(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

ddb_task *submit_script(ddb_pool *p, const char *script, double timeout)
{
    ddb_task_spec spec;
    ddb_task_spec_init(&spec);
    spec.text = script;
    spec.timeout = timeout;
    ddb_task *t = NULL;
    char err[300];
    int rc = ddb_pool_submit(p, &spec, &t, err, sizeof err);
    CHECK(rc == DDB_OK, "submit %s: %s", script, err);
    return t;
}

const char *task_err(const ddb_task *t)
{
    const char *e = t ? ddb_task_error(t) : NULL;
    return e ? e : "(no error)";
}
