/* ddb_fetch.c — block-wise results (fetchSize) on the pool's side: a connection
 * reports each block (ddb_conn.c pauses reading until it is taken), the task keeps
 * the one block its consumer has not taken yet, and taking it lets the connection
 * read on. See include/dolphindb/dolphindb.h "block-wise results" and
 * docs/PROTOCOL.md §1.8. */
#include "ddb_pool.h"

/* Rows of a block as progress counts them: a table's rows, a vector's length. */
static int64_t rows_of(const ddb_obj *b)
{
    if (!b)
        return 0;
    return b->form == DDB_TABLE || b->form == DDB_VECTOR ? b->rows : 0;
}

int ddb_pool_block_arrived(ddb_pool *p, ddb_conn *c, ddb_task *t, ddb_obj *b)
{
    (void)c;
    t->blockwise = 1;
    t->blocks_in++;
    t->rows_in += rows_of(b);
    if (t->skip_blocks || t->replaced) {
        ddb_obj_unref(b);
        return 0;               /* nobody will take it: read on to the end */
    }
    ddb_obj_unref(t->block);    /* none: the connection waited for the last one */
    t->block = b;
    if (p->cfg.on_block && !p->freed)
        p->cfg.on_block(p, t, t->ud, p->cfg.cb_ud);
    return 1;
}

/* The connection t runs on, while it runs. */
static ddb_conn *conn_of(ddb_pool *p, const ddb_task *t)
{
    if (ddb_task_state(t) != DDB_TASK_RUNNING || t->conn_index < 0 ||
        t->conn_index >= p->nconns)
        return NULL;
    ddb_conn *c = p->conns[t->conn_index];
    return c->task == t ? c : NULL;
}

/* Let t's connection read on, from the pump (never inside the caller's call). */
static void read_on(ddb_pool *p, ddb_task *t)
{
    ddb_conn *c = conn_of(p, t);
    if (!c || !c->blocked)
        return;
    ddb_conn_unblock(c);
    ddb_pool_resume_later(p);
}

ddb_obj *ddb_task_take_block(ddb_pool *p, ddb_task *t)
{
    if (!p || !t || !t->block)
        return NULL;
    ddb_obj *b = t->block;
    t->block = NULL;
    read_on(p, t);
    return b;
}

void ddb_task_skip_blocks(ddb_pool *p, ddb_task *t)
{
    if (!p || !t)
        return;
    t->skip_blocks = 1;
    ddb_obj_unref(t->block);
    t->block = NULL;
    read_on(p, t);
}

int ddb_task_blockwise(const ddb_task *t) { return t->blockwise; }
int64_t ddb_task_bytes_received(const ddb_task *t) { return t->bytes_in; }

int64_t ddb_task_rows_received(const ddb_task *t)
{
    if (t->blockwise)
        return t->rows_in;
    /* a result that came whole: its rows once it is there, unknown before */
    const ddb_obj *r = ddb_task_result(t);
    return r ? rows_of(r) : -1;
}
