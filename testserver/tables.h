/* tables.h — ddbmini's write path: typed in-memory tables, keyed/indexed tables,
 * inserts with the server's type fitting, upserts, schema(), shared tables and
 * simulated DFS databases (dfs.c), and the cell helpers select/exec uses (sql.c).
 *
 * Table kinds ride on two fields of a TABLE ddb_obj the codec ignores for tables:
 * `fkind` (TBL_*) and `scale` (keyed/indexed: bit mask of the key columns, so only
 * the first 31 columns can be keys; handle: the store slot and its generation).
 * A *handle* stands for a table held in the process-wide store (shared tables and
 * DFS tables): every session reaches the same rows, under one lock. A handle has
 * the table's columns with 0 rows; built-ins without BI_TABLES get a snapshot copy
 * instead, and a handle returned to the client is sent as its rows. */
#ifndef DDBMINI_TABLES_H
#define DDBMINI_TABLES_H

#include "eval.h"

/* TBL_STREAM: a stream table (streaming.h); otherwise it behaves as a plain table. */
enum { TBL_PLAIN = 0, TBL_KEYED = 1, TBL_INDEXED = 2, TBL_HANDLE = 3, TBL_STREAM = 4 };

#define MAX_TABLE_COLS 1024        /* columns of a table(n:0, names, types) */
#define MAX_KEY_COLS 31            /* key columns must be among the first 31 */
#define MAX_STORE_TABLES 256       /* shared + DFS tables in the process */
#define MAX_DATABASES 64           /* named DFS databases */
#define MAX_LEVELS 3               /* COMPO levels */
#define MAX_PARTITIONS 100000      /* values a VALUE scheme may grow to */

/* ---- cells and columns (tables.c) ---- */
/* Compares cells of two vectors of comparable types: numbers numerically, text by
 * bytes, temporals by their count; NULL is the smallest. */
int cell_cmp(const ddb_obj *a, int64_t i, const ddb_obj *b, int64_t j);
uint64_t cell_hash64(const ddb_obj *v, int64_t i);
/* A deep copy of a column (its own symbol base): safe to hand to another thread. */
ddb_obj *col_copy(const ddb_obj *v);
/* Appends cell i of src (same storage family as dst) to dst. 0 / -1 (memory). */
int col_append(ddb_obj *dst, const ddb_obj *src, int64_t i);
/* A new plain table of the given rows of t (all rows when rows == NULL). */
ddb_obj *table_gather(const ddb_obj *t, const int64_t *rows, int64_t n);
int table_col_index(const ddb_obj *t, const char *name);
/* d[key] / d.key for a scalar key: the value, or a NULL when the key is absent. */
int dict_lookup(eval_ctx *ctx, const ddb_obj *d, const ddb_obj *key, ddb_obj **out);

/* ---- in-memory tables (tables.c) ---- */
int table_typed(eval_ctx *ctx, ddb_obj **a, ddb_obj **out);   /* table(n:0, names, types) */
/* Makes the columns of `data` (a table, a tuple, or one vector/scalar per column)
 * into vectors of t's column types, converting as the server's tableInsert does.
 * *fit gets a new plain table with t's column names. */
int table_fit(eval_ctx *ctx, const ddb_obj *t, ddb_obj **data, int n, ddb_obj **fit);
/* Appends the rows of fit (from table_fit) to t in place; keyed/indexed tables
 * update rows whose key exists. */
int table_append_rows(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit);
/* Upsert by key columns keys[nkeys] (column indexes). */
int table_upsert_rows(eval_ctx *ctx, ddb_obj *t, const ddb_obj *fit, const int *keys, int nkeys,
                      int ignore_null, int64_t *inserted, int64_t *updated);
/* Key column indexes of a keyed/indexed table; returns the count. */
int table_keys(const ddb_obj *t, int *keys);
/* The colDefs table of schema(t). */
ddb_obj *table_coldefs(const ddb_obj *t);

/* ---- the store of shared and DFS tables (tables.c) ---- */
typedef struct store_table {
    int used;
    unsigned gen;
    char name[128];            /* shared name, or the table's name in its database */
    int db;                    /* database index (dfs.c), -1 for a shared table */
    ddb_obj *t;                /* the rows; touched only under the store lock */
    int nlevels;               /* partition columns; 0: shared or dimension table */
    int part_col[MAX_LEVELS];  /* column of each level */
    int stream_filter;         /* stream table: setStreamTableFilterColumn's column + 1 */
} store_table;

void store_lock(void);
void store_unlock(void);
/* The entry a handle names, or NULL (dropped). Call with the lock held. */
store_table *store_entry(const ddb_obj *handle);
/* A new entry taking t; returns its index or -1 when full. Lock held. */
int store_add(const char *name, int db, ddb_obj *t);
void store_remove(int index);                  /* lock held */
store_table *store_at(int index);              /* lock held */
ddb_obj *store_handle(int index);              /* a handle for entry index; lock held */
/* A handle for the shared table `name`, or NULL. */
ddb_obj *tables_shared_handle(const char *name);
int is_handle(const ddb_obj *o);
/* Replaces handles among args with snapshot copies (for built-ins without BI_TABLES). */
int tables_resolve_args(eval_ctx *ctx, ddb_obj **args, int n);
int tables_resolve_result(eval_ctx *ctx, ddb_obj **out);
/* A snapshot (deep copy) of what t stands for: a handle's rows, else t itself. */
int table_snapshot(eval_ctx *ctx, ddb_obj *t, ddb_obj **out);
/* Drops every shared table and database (the fuzzer starts each input afresh). */
void tables_reset(void);
void dfs_reset(void);                          /* lock held */

/* ---- DFS databases (dfs.c) ---- */
/* Checks every row of fit falls in a partition of the table's database (VALUE
 * schemes grow). Lock held. */
int dfs_check_rows(eval_ctx *ctx, store_table *e, const ddb_obj *fit);
/* The same check made before the lock (the lock taken briefly for a snapshot of the
 * scheme): 0 and *plan (NULL if handle is no DFS table), or -1 (a row with no
 * partition, no memory). dfs_apply_plan, lock held, adds the VALUE partitions the
 * plan found (or checks again if the database changed meanwhile). */
typedef struct dfs_plan dfs_plan;
int dfs_plan_rows(eval_ctx *ctx, const ddb_obj *handle, const ddb_obj *fit, dfs_plan **plan);
int dfs_apply_plan(eval_ctx *ctx, store_table *e, const ddb_obj *fit, const dfs_plan *plan);
void dfs_plan_free(dfs_plan *plan);
/* The partition fields of schema() for a DFS table into keys/values. Lock held. */
int dfs_schema_fields(eval_ctx *ctx, const store_table *e, ddb_obj *keys, ddb_obj *vals);
/* The server hash of one cell, mod buckets (testserver/README.md, "Hash"); -1 for NULL/no hash. */
int64_t dfs_hash_bucket(const ddb_obj *v, int64_t i, int64_t buckets);
uint32_t murmur32(const void *data, size_t len);
/* Partition constants VALUE, RANGE, ... and engine names: 0 and *out set, or -1. */
int dfs_constant(const char *name, ddb_obj **out);
extern const builtin builtins_dfs[];

#endif
