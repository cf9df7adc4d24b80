/* ddb_log.c — the pool's event log (dolphindb.h, ddb_log_cb). The core does no I/O:
 * a line is formatted only when a hook wants its level, the password is stripped
 * from it, and the hook gets it. Connections reach it through their events table. */
#include "ddb_pool.h"

#include <stdarg.h>
#include <stdio.h>

const char *ddb_log_level_name(int level)
{
    static const char *n[] = { "debug", "info", "warn", "error", "off" };
    return level >= DDB_LOG_DEBUG && level <= DDB_LOG_OFF ? n[level] : "unknown";
}

void ddb_pool_on_log(ddb_pool *p, ddb_log_cb cb, void *ud, int level)
{
    if (!p)
        return;
    if (level < DDB_LOG_DEBUG || level > DDB_LOG_OFF)
        level = DDB_LOG_OFF;
    p->cfg.on_log = cb;
    p->cfg.log_ud = ud;
    p->cfg.log_level = level;
    p->conn_set.log_min = cb ? level : DDB_LOG_OFF;     /* what connections test */
}

/* Hands one finished line to the hook, without the password: a server's error text
 * or an initial script may quote it. */
void ddb_pool_log_line(ddb_pool *p, int level, const char *line)
{
    char clean[1800];           /* "***" may be longer than a 1- or 2-byte password */
    if (!ddb_pool_logs(p, level))
        return;
    ddb_pool_redact(p, line, clean, sizeof clean);
    p->cfg.on_log(p, level, clean, p->cfg.log_ud);
}

void ddb_pool_log(ddb_pool *p, int level, const char *fmt, ...)
{
    if (!ddb_pool_logs(p, level))
        return;                 /* the common case: nothing is formatted */
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    ddb_pool_log_line(p, level, line);
}
