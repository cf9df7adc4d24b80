/* faults.c — reading the fault switches. One-shot switches (the default for the
 * script functions) disarm when a response takes them; command-line switches are
 * persistent. */
#include "mini.h"

#include <stdio.h>
#include <string.h>

static int64_t take(mini_fault *f, int64_t off)
{
    if (!f->armed)
        return off;
    int64_t v = f->param;
    if (f->once)
        f->armed = 0;
    return v;
}

void faults_take(mini_fault_plan *plan)
{
    pthread_mutex_lock(&g_mini.lock);
    plan->drop_after = take(&g_mini.faults.drop, -1);
    plan->stall_ms = take(&g_mini.faults.stall, 0);
    plan->garbage_bytes = take(&g_mini.faults.garbage, 0);
    pthread_mutex_unlock(&g_mini.lock);
}

const char *faults_not_leader(char *buf, size_t len)
{
    const char *r = NULL;
    pthread_mutex_lock(&g_mini.lock);
    const char *target = g_mini.faults.not_leader[0] ? g_mini.faults.not_leader : g_mini.leader;
    if (target[0]) {
        int is_self = 0;
        for (int i = 0; i < g_mini.nnodes; i++) {
            char hp[128];
            snprintf(hp, sizeof hp, "%s:%d", g_mini.nodes[i].host, g_mini.nodes[i].port);
            if (g_mini.nodes[i].self && (!strcmp(hp, target) || !strcmp(g_mini.nodes[i].alias, target)))
                is_self = 1;
        }
        if (!is_self) {
            snprintf(buf, len, "<NotLeader>%s", target);
            r = buf;
        }
    }
    pthread_mutex_unlock(&g_mini.lock);
    return r;
}

int64_t faults_accept_delay(void)
{
    pthread_mutex_lock(&g_mini.lock);
    int64_t v = g_mini.faults.accept_delay_ms;
    pthread_mutex_unlock(&g_mini.lock);
    return v;
}

int faults_refuse(void)
{
    pthread_mutex_lock(&g_mini.lock);
    int v = g_mini.faults.refuse;
    pthread_mutex_unlock(&g_mini.lock);
    return v;
}
