/* dfs.c — simulated DFS databases held in memory: database(path, VALUE | RANGE |
 * LIST | HASH | COMPO, scheme), createPartitionedTable, createTable, loadTable,
 * existsDatabase, existsTable, dropDatabase, dropTable, hashBucket, and the
 * partition check every insert into a DFS table goes through.
 *
 * A database is a list of partition levels (one, or two/three for COMPO); its
 * tables live in the store of tables.c, so every session sees the same rows. Rows
 * are kept in insertion order; partitions are only checked (a row must fall in one:
 * RANGE/LIST/HASH reject a row outside the scheme or with a NULL partition value,
 * VALUE schemes grow with new values, as the server's default policy does). */
#include "tables.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { P_SEQ = 0, P_VALUE = 1, P_RANGE = 2, P_LIST = 3, P_COMPO = 4, P_HASH = 5 };
#define ANON_DBS 16                /* database("", ...) levels kept for a later COMPO */

typedef struct level {
    int ptype;
    ddb_obj *scheme;               /* VALUE/RANGE: vector; LIST: ANY vector; HASH: INT scalar */
    int coltype;                   /* the partition column's type the scheme is in */
} level;

typedef struct store_db {
    int used;
    unsigned gen;
    char path[256];
    int nlevels;
    level lv[MAX_LEVELS];
} store_db;

/* All under the store lock (tables.c). */
static store_db g_dbs[MAX_DATABASES];
static store_db g_anon[ANON_DBS];
static unsigned g_anon_next;

int dfs_constant(const char *name, ddb_obj **out)
{
    static const struct { const char *name; int v; } K[] = {
        {"SEQ", P_SEQ}, {"VALUE", P_VALUE}, {"RANGE", P_RANGE}, {"LIST", P_LIST},
        {"COMPO", P_COMPO}, {"HASH", P_HASH}, {"SHARED", 1}, {NULL, 0}};
    for (int i = 0; K[i].name; i++)
        if (!strcmp(K[i].name, name)) {
            *out = ddb_int_new(DDB_INT, K[i].v);
            return 0;
        }
    return -1;
}

/* ---------------------------------------------------------------- hashing: the server hash, see testserver/README.md "Hash" */

uint32_t murmur32(const void *data, size_t len)
{
    const unsigned char *p = data;
    const uint32_t m = 0x5bd1e995;
    uint32_t h = (uint32_t)len;
    for (; len >= 4; p += 4, len -= 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len) {
    case 3: h ^= (uint32_t)p[2] << 16; /* fall through */
    case 2: h ^= (uint32_t)p[1] << 8;  /* fall through */
    case 1: h ^= p[0]; h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int64_t dfs_hash_bucket(const ddb_obj *v, int64_t i, int64_t buckets)
{
    int t = v->type;
    if (buckets <= 0)
        return -1;
    if (type_is_text(t) || t == DDB_BLOB) {
        size_t len;
        const char *s = ddb_str_at(v, i, &len);
        return (int64_t)(murmur32(s, len) % (uint64_t)buckets);
    }
    if (t == DDB_UUID || t == DDB_INT128 || t == DDB_IPADDR)
        return (int64_t)(murmur32((const char *)v->data + i * 16, 16) % (uint64_t)buckets);
    if (t == DDB_BOOL || type_is_floating(t) || (!type_is_integer(t) && !type_is_temporal(t) && t != DDB_MONTH))
        return -1;
    int isnull;
    int64_t x = cell_i64(v, i, &isnull);
    if (isnull)
        return -1;
    if (type_is_int64(t))
        return (int64_t)((uint64_t)x % (uint64_t)buckets);
    return (int64_t)((uint32_t)(int32_t)x % (uint64_t)buckets);
}

static int bi_hash_bucket(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    int isnull;
    int64_t b = type_is_integer(a[1]->type) && a[1]->form == DDB_SCALAR ? cell_i64(a[1], 0, &isnull) : 0;
    if (b <= 0 || b > INT32_MAX)
        return ctx_error(ctx, "The number of buckets must be a positive integer");
    if (a[0]->form != DDB_SCALAR && a[0]->form != DDB_VECTOR)
        return ctx_error(ctx, "The first argument of hashBucket must be a scalar or a vector");
    int64_t len = obj_len(a[0]);
    ddb_obj *r = a[0]->form == DDB_SCALAR ? ddb_scalar_new(DDB_INT) : ddb_vector_new(DDB_INT, len);
    for (int64_t i = 0; r && i < len; i++) {
        int64_t h = dfs_hash_bucket(a[0], i, b);
        if (h < 0 && !ddb_is_null(a[0], i)) {
            ddb_obj_unref(r);
            return ctx_error(ctx, "hashBucket doesn't support the type %s", ddb_type_name(a[0]->type));
        }
        if (h < 0)
            cell_put_null(r, i);
        else
            cell_put_i64(r, i, h);
    }
    *out = r;
    return r ? 0 : ctx_oom(ctx);
}

/* ---------------------------------------------------------------- databases */

static void db_clear(store_db *d)
{
    for (int k = 0; k < d->nlevels; k++)
        ddb_obj_unref(d->lv[k].scheme);
    unsigned gen = d->gen;
    memset(d, 0, sizeof *d);
    d->gen = gen + 1;
}

static int db_find(const char *path)
{
    for (int i = 0; i < MAX_DATABASES; i++)
        if (g_dbs[i].used && !strcmp(g_dbs[i].path, path))
            return i;
    return -1;
}

/* The database a handle or path names: a named one, or an anonymous level. */
static store_db *db_of(const ddb_obj *h)
{
    char cbuf[2];
    const char *s = h->form == DDB_SCALAR && (h->type == DDB_HANDLE || type_is_text(h->type))
                        ? (h->type == DDB_HANDLE ? ddb_str_at(h, 0, NULL) : obj_text(h, cbuf)) : NULL;
    unsigned slot, gen;
    if (!s)
        return NULL;
    if (sscanf(s, "#anon%u.%u", &slot, &gen) == 2)
        return slot < ANON_DBS && g_anon[slot].used && g_anon[slot].gen == gen ? &g_anon[slot] : NULL;
    int i = db_find(s);
    return i >= 0 ? &g_dbs[i] : NULL;
}

static ddb_obj *db_handle(const store_db *d, int anon_slot)
{
    char buf[300];
    if (anon_slot >= 0)
        snprintf(buf, sizeof buf, "#anon%d.%u", anon_slot, d->gen);
    else
        snprintf(buf, sizeof buf, "%s", d->path);
    return ddb_string_new(DDB_HANDLE, buf, strlen(buf));
}

/* One level from (type, scheme). */
static int make_level(eval_ctx *ctx, int ptype, const ddb_obj *scheme, level *lv)
{
    lv->ptype = ptype;
    if (ptype == P_HASH) {
        int n1, n2;
        if (!type_is_integer(scheme->type) || obj_len(scheme) != 2 || scheme->form == DDB_SCALAR)
            return ctx_error(ctx, "The partition scheme of a HASH domain must be [type, buckets]");
        int64_t t = cell_i64(scheme, 0, &n1), b = cell_i64(scheme, 1, &n2);
        if (n1 || n2 || b <= 0 || b > MAX_PARTITIONS || t <= DDB_VOID || t > DDB_DECIMAL128)
            return ctx_error(ctx, "Invalid HASH partition scheme");
        lv->coltype = (int)t;
        return (lv->scheme = ddb_int_new(DDB_INT, b)) ? 0 : ctx_oom(ctx);
    }
    if (ptype != P_VALUE && ptype != P_RANGE && ptype != P_LIST)
        return ctx_error(ctx, "Invalid partition type %d", ptype);
    if (!obj_is_vectorlike(scheme) || scheme->rows < (ptype == P_RANGE ? 2 : 1) ||
        scheme->rows > MAX_PARTITIONS)
        return ctx_error(ctx, "The partition scheme must be a non-empty vector of at most %d values",
                         MAX_PARTITIONS);
    if (ptype == P_LIST) {          /* element i: the value(s) of partition i */
        if (!(lv->scheme = ddb_vector_new(DDB_ANY, scheme->rows)))
            return ctx_oom(ctx);
        for (int64_t i = 0; i < scheme->rows; i++) {
            const ddb_obj *e = scheme->type == DDB_ANY ? scheme->items[i] : NULL;
            if (e && e->form != DDB_SCALAR && !obj_is_vectorlike(e))
                return ctx_error(ctx, "A LIST partition must be a scalar or a vector");
            ddb_obj *item = e ? (e->form == DDB_SCALAR ? obj_element(e, 0) : col_copy(e))
                              : obj_element(scheme, i);
            if (!item)
                return ctx_oom(ctx);
            lv->coltype = item->type;
            ddb_obj_unref(lv->scheme->items[i]);
            lv->scheme->items[i] = item;
        }
        return 0;
    }
    if (scheme->type == DDB_ANY || obj_class(scheme) == DDB_CLASS_VOID)
        return ctx_error(ctx, "The partition scheme must be a typed vector");
    for (int64_t i = 1; ptype == P_RANGE && i < scheme->rows; i++)
        if (cell_cmp(scheme, i - 1, scheme, i) >= 0)
            return ctx_error(ctx, "The partition boundaries of a RANGE domain must be increasing");
    lv->coltype = scheme->type;
    return (lv->scheme = col_copy(scheme)) ? 0 : ctx_oom(ctx);
}

static int compo_levels(eval_ctx *ctx, const ddb_obj *scheme, store_db *d)
{
    int64_t n = obj_len(scheme);
    if (!obj_is_vectorlike(scheme) || n < 2 || n > MAX_LEVELS)
        return ctx_error(ctx, "A COMPO domain needs 2 or 3 databases");
    for (int64_t i = 0; i < n; i++) {
        ddb_obj *h = obj_element(scheme, i);
        store_db *part = h ? db_of(h) : NULL;
        ddb_obj_unref(h);
        if (!part || part->nlevels != 1)
            return ctx_error(ctx, "The element %lld of a COMPO scheme must be a single-level database",
                             (long long)i);
        d->lv[i] = part->lv[0];
        if (!(d->lv[i].scheme = part->lv[0].ptype == P_HASH ? ddb_int_new(DDB_INT, ddb_int_at(part->lv[0].scheme, 0))
                                                             : col_copy(part->lv[0].scheme)))
            return ctx_oom(ctx);
        d->nlevels = (int)i + 1;
    }
    return 0;
}

static int db_create(eval_ctx *ctx, const char *path, ddb_obj **a, int n, ddb_obj **out)
{
    int isnull;
    int64_t ptype = a[1]->form == DDB_SCALAR && type_is_integer(a[1]->type) ? cell_i64(a[1], 0, &isnull) : -1;
    store_db tmp = {0};
    tmp.nlevels = ptype == P_COMPO ? 0 : 1;     /* so db_clear frees a half-made level */
    int rc = n < 3 ? ctx_error(ctx, "database needs a partition type and a partition scheme")
             : ptype == P_COMPO ? compo_levels(ctx, a[2], &tmp)
                                : make_level(ctx, (int)ptype, a[2], &tmp.lv[0]);
    if (rc) {
        db_clear(&tmp);
        return -1;
    }
    store_db *d = NULL;
    int anon = -1;
    if (!path[0]) {
        anon = (int)(g_anon_next++ % ANON_DBS);
        d = &g_anon[anon];
    } else
        for (int i = 0; i < MAX_DATABASES && !d; i++)
            if (!g_dbs[i].used)
                d = &g_dbs[i];
    if (!d) {
        db_clear(&tmp);
        return ctx_error(ctx, "ddbmini holds at most %d databases", MAX_DATABASES);
    }
    db_clear(d);
    tmp.gen = d->gen;
    *d = tmp;
    d->used = 1;
    snprintf(d->path, sizeof d->path, "%s", path);
    *out = db_handle(d, anon);
    return *out ? 0 : ctx_oom(ctx);
}

/* database(directory, [partitionType], [partitionScheme], [locations], [engine], [atomic]) */
static int bi_database(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char cbuf[2];
    const char *path = obj_text(a[0], cbuf);
    if (!path || (path[0] && strncmp(path, "dfs://", 6)) || strlen(path) >= 256)
        return ctx_error(ctx, "ddbmini only simulates DFS databases: the directory must be \"dfs://...\" or \"\"");
    store_lock();
    int rc, i = path[0] ? db_find(path) : -1;
    if (i >= 0)                             /* an existing database opens */
        rc = (*out = db_handle(&g_dbs[i], -1)) ? 0 : ctx_oom(ctx);
    else if (n == 1)
        rc = ctx_error(ctx, "The database [%s] doesn't exist", path);
    else
        rc = db_create(ctx, path, a, n, out);
    store_unlock();
    return rc;
}

static int path_arg(eval_ctx *ctx, const ddb_obj *o, char *buf, size_t len)
{
    char cbuf[2];
    const char *s = o->form == DDB_SCALAR && o->type == DDB_HANDLE ? ddb_str_at(o, 0, NULL) : obj_text(o, cbuf);
    if (!s)
        return ctx_error(ctx, "Expecting a database path or handle");
    snprintf(buf, len, "%s", s);
    return 0;
}

static int bi_exists_db(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char path[300];
    if (path_arg(ctx, a[0], path, sizeof path))
        return -1;
    store_lock();
    int found = db_find(path) >= 0;
    store_unlock();
    *out = ddb_int_new(DDB_BOOL, found);
    return *out ? 0 : ctx_oom(ctx);
}

static int table_find(int db, const char *name)
{
    for (int i = 0; i < MAX_STORE_TABLES; i++)
        if (store_at(i)->used && store_at(i)->db == db && !strcmp(store_at(i)->name, name))
            return i;
    return -1;
}

static int bi_exists_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char path[300], cbuf[2];
    const char *name = obj_text(a[1], cbuf);
    if (path_arg(ctx, a[0], path, sizeof path) || !name)
        return ctx->err[0] ? -1 : ctx_error(ctx, "The table name must be a string");
    store_lock();
    int db = db_find(path), found = db >= 0 && table_find(db, name) >= 0;
    store_unlock();
    *out = ddb_int_new(DDB_BOOL, found);
    return *out ? 0 : ctx_oom(ctx);
}

static int bi_drop_db(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char path[300];
    if (path_arg(ctx, a[0], path, sizeof path))
        return -1;
    store_lock();
    int db = db_find(path);
    if (db >= 0) {
        for (int i = 0; i < MAX_STORE_TABLES; i++)
            if (store_at(i)->used && store_at(i)->db == db)
                store_remove(i);
        db_clear(&g_dbs[db]);
    }
    store_unlock();
    return db >= 0 ? 0 : ctx_error(ctx, "The database [%s] doesn't exist", path);
}

static int bi_drop_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char path[300], cbuf[2];
    const char *name = obj_text(a[1], cbuf);
    if (path_arg(ctx, a[0], path, sizeof path) || !name)
        return ctx->err[0] ? -1 : ctx_error(ctx, "The table name must be a string");
    store_lock();
    int db = db_find(path), t = db >= 0 ? table_find(db, name) : -1;
    if (t >= 0)
        store_remove(t);
    store_unlock();
    return t >= 0 ? 0 : ctx_error(ctx, "The table [%s] doesn't exist in the database [%s]", name, path);
}

/* Same category for a partition column and its scheme (temporal converts). */
static int part_type_ok(int col, int scheme)
{
    if (col == scheme || (type_is_text(col) && type_is_text(scheme)))
        return 1;
    if ((type_is_temporal(col) || col == DDB_MONTH) && (type_is_temporal(scheme) || scheme == DDB_MONTH))
        return 1;
    return type_is_integer(col) && type_is_integer(scheme) && col != DDB_BOOL;
}

/* createPartitionedTable(db, table, name, partitionColumns, ...) and createTable(db, table, name) */
static int create_table(eval_ctx *ctx, ddb_obj **a, int n, int partitioned, ddb_obj **out)
{
    char cbuf[2];
    const char *name = obj_text(a[2], cbuf);
    if (a[1]->form != DDB_TABLE || is_handle(a[1]) || !name || !name[0])
        return ctx_error(ctx, "Expecting a database handle, an in-memory table and a table name");
    int64_t none = 0;
    ddb_obj *shape = table_gather(a[1], &none, 0);  /* the server takes the schema, not the rows */
    if (!shape)
        return ctx_oom(ctx);
    store_lock();
    char path[300];
    int db = path_arg(ctx, a[0], path, sizeof path) ? -1 : db_find(path), rc = 0, idx = -1;
    store_db *d = db >= 0 ? &g_dbs[db] : NULL;
    int64_t nparts = partitioned ? obj_len(a[3]) : 0;
    if (!d)
        rc = ctx_error(ctx, "The first argument must be a handle of a dfs:// database");
    else if (table_find(db, name) >= 0)
        rc = ctx_error(ctx, "The table [%s] already exists in the database [%s]", name, d->path);
    else if (partitioned && (!type_is_text(a[3]->type) || nparts != d->nlevels))
        rc = ctx_error(ctx, "The number of partitioning columns must match the database's %d partition level(s)",
                       d->nlevels);
    int part_col[MAX_LEVELS];
    for (int64_t k = 0; !rc && k < nparts; k++) {
        const char *pc = ddb_str_at(a[3], k, NULL);
        part_col[k] = table_col_index(shape, pc);
        if (part_col[k] < 0)
            rc = ctx_error(ctx, "The partitioning column %s doesn't exist in the table", pc);
        else if (!part_type_ok(shape->columns[part_col[k]]->type, d->lv[k].coltype))
            rc = ctx_error(ctx, "The data type of the partitioning column %s (%s) doesn't match the "
                                "partition scheme (%s)", pc, ddb_type_name(shape->columns[part_col[k]]->type),
                           ddb_type_name(d->lv[k].coltype));
    }
    if (!rc && (idx = store_add(name, db, shape)) < 0)
        rc = ctx_error(ctx, "ddbmini holds at most %d shared and DFS tables", MAX_STORE_TABLES);
    if (!rc) {
        shape = NULL;
        store_at(idx)->nlevels = (int)nparts;
        memcpy(store_at(idx)->part_col, part_col, sizeof part_col);
        if (!(*out = store_handle(idx)))
            rc = ctx_oom(ctx);
    }
    store_unlock();
    ddb_obj_unref(shape);
    return rc;
}

static int bi_create_pt(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return create_table(c, a, n, 1, o); }
static int bi_create_t(eval_ctx *c, ddb_obj **a, int n, const char *const *l, ddb_obj **o) { return create_table(c, a, n, 0, o); }

static int bi_load_table(eval_ctx *ctx, ddb_obj **a, int n, const char *const *l, ddb_obj **out)
{
    char path[300], cbuf[2];
    const char *name = obj_text(a[1], cbuf);
    if (path_arg(ctx, a[0], path, sizeof path) || !name)
        return ctx->err[0] ? -1 : ctx_error(ctx, "The table name must be a string");
    store_lock();
    int rc, db = db_find(path), t = db >= 0 ? table_find(db, name) : -1;
    if (db < 0)
        rc = ctx_error(ctx, "The database [%s] doesn't exist", path);
    else if (t < 0)
        rc = ctx_error(ctx, "The table [%s] doesn't exist in the database [%s]", name, path);
    else
        rc = (*out = store_handle(t)) ? 0 : ctx_oom(ctx);
    store_unlock();
    return rc;
}

/* ---------------------------------------------------------------- partition check */

/* A hash index of a VALUE scheme's values (slots hold partition + 1), built per
 * insert so a long scheme costs no scan per row. */
typedef struct value_index {
    int64_t *slot;
    int64_t mask;
} value_index;

static int64_t value_probe(value_index *ix, const ddb_obj *s, const ddb_obj *v, int64_t i, int64_t add)
{
    for (int64_t k = (int64_t)(cell_hash64(v, i) & (uint64_t)ix->mask);; k = (k + 1) & ix->mask) {
        if (!ix->slot[k]) {
            ix->slot[k] = add + 1;
            return -1;
        }
        if (!cell_cmp(s, ix->slot[k] - 1, v, i))
            return ix->slot[k] - 1;
    }
}

static int value_index_build(value_index *ix, const ddb_obj *s, int64_t extra)
{
    int64_t cap = 16;
    while (cap < 2 * (s->rows + extra))
        cap <<= 1;
    if (!(ix->slot = calloc((size_t)cap, sizeof *ix->slot)))
        return -1;
    ix->mask = cap - 1;
    for (int64_t k = 0; k < s->rows; k++)
        value_probe(ix, s, s, k, k);
    return 0;
}

/* Row i of v in a VALUE level: its partition; a new value adds one. */
static int64_t value_slot(level *lv, value_index *ix, const ddb_obj *v, int64_t i)
{
    ddb_obj *s = lv->scheme;
    if (s->rows >= MAX_PARTITIONS) {            /* full: look only, adding nothing */
        for (int64_t k = (int64_t)(cell_hash64(v, i) & (uint64_t)ix->mask); ix->slot[k]; k = (k + 1) & ix->mask)
            if (!cell_cmp(s, ix->slot[k] - 1, v, i))
                return ix->slot[k] - 1;
        return -1;
    }
    int64_t p = value_probe(ix, s, v, i, s->rows);
    if (p >= 0)
        return p;
    return col_append(s, v, i) ? -1 : s->rows - 1;   /* the probe reserved slot s->rows */
}

static int64_t partition_of(level *lv, value_index *ix, const ddb_obj *v, int64_t i)
{
    if (lv->ptype == P_HASH)
        return dfs_hash_bucket(v, i, ddb_int_at(lv->scheme, 0));
    if (ddb_is_null(v, i))
        return -1;
    if (lv->ptype == P_VALUE)
        return value_slot(lv, ix, v, i);
    if (lv->ptype == P_RANGE) {
        const ddb_obj *b = lv->scheme;
        if (cell_cmp(v, i, b, 0) < 0 || cell_cmp(v, i, b, b->rows - 1) >= 0)
            return -1;
        int64_t lo = 0, hi = b->rows - 1;       /* b[lo] <= v < b[hi] */
        while (hi - lo > 1) {
            int64_t mid = lo + (hi - lo) / 2;
            if (cell_cmp(b, mid, v, i) <= 0)
                lo = mid;
            else
                hi = mid;
        }
        return lo;
    }
    for (int64_t k = 0; k < lv->scheme->rows; k++) {   /* LIST */
        const ddb_obj *e = lv->scheme->items[k];
        for (int64_t j = 0; j < obj_len(e); j++)
            if (!cell_cmp(e, j, v, i))
                return k;
    }
    return -1;
}

/* The first row of v with no partition in level lv, or -1: the whole column at once
 * where the scheme allows. Every text or 16-byte value hashes to a bucket, so a HASH
 * level on such a column needs no look at the rows, and on other types only NULLs
 * miss (the rows are stored per table, so the bucket of each row is not needed). */
static int64_t first_unplaced(level *lv, value_index *ix, const ddb_obj *v)
{
    if (lv->ptype == P_HASH && ddb_int_at(lv->scheme, 0) > 0 && lv->scheme->form == DDB_SCALAR) {
        if (type_is_text(v->type) || v->type == DDB_BLOB || v->type == DDB_UUID || v->type == DDB_INT128 ||
            v->type == DDB_IPADDR)
            return -1;
        if ((type_is_integer(v->type) && v->type != DDB_BOOL) || type_is_temporal(v->type) || v->type == DDB_MONTH) {
            for (int64_t i = 0; i < v->rows; i++)
                if (ddb_is_null(v, i))
                    return i;
            return -1;
        }
    }
    for (int64_t i = 0; i < v->rows; i++)
        if (partition_of(lv, ix, v, i) < 0)
            return i;
    return -1;
}

static int check_levels(eval_ctx *ctx, level *lvs, const int *part_col, int nlevels, const char *path,
                        const ddb_obj *fit)
{
    for (int k = 0; k < nlevels; k++) {
        const ddb_obj *col = fit->columns[part_col[k]];
        level *lv = &lvs[k];
        ddb_obj *conv = NULL;
        int same = col->type == lv->coltype || (type_is_text(col->type) && type_is_text(lv->coltype));
        if (!same && value_cast(ctx, col, lv->coltype, &conv))
            return -1;
        const ddb_obj *v = conv ? conv : col;
        value_index ix = {NULL, 0};
        if (lv->ptype == P_VALUE && value_index_build(&ix, lv->scheme, v->rows)) {
            ddb_obj_unref(conv);
            return ctx_oom(ctx);
        }
        int64_t bad = first_unplaced(lv, &ix, v);
        free(ix.slot);
        ddb_obj_unref(conv);
        if (bad >= 0)
            return ctx_error(ctx, "The value of the partitioning column %s at row %lld is NULL or "
                                  "outside the partition scheme of %s", fit->col_names[part_col[k]],
                             (long long)bad, path);
    }
    return 0;
}

int dfs_check_rows(eval_ctx *ctx, store_table *e, const ddb_obj *fit)
{
    store_db *d = &g_dbs[e->db];
    return check_levels(ctx, d->lv, e->part_col, e->nlevels, d->path, fit);
}

/* ---------------------------------------------------------------- checks before the lock */

/* An insert's partition check made before the store lock, against a snapshot of the
 * levels (VALUE schemes copied, the others immutable and shared: read outside the
 * lock, referenced and released only under it), so that concurrent
 * inserts check in parallel. A VALUE level grows its copy; dfs_apply_plan then adds
 * only those new values (a few, not a row each) under the lock. */
struct dfs_plan {
    int db, nlevels;
    unsigned gen;
    char path[256];
    int part_col[MAX_LEVELS];
    level lv[MAX_LEVELS];
    int64_t known[MAX_LEVELS];  /* VALUE: the copy's rows at the snapshot */
};

static void plan_release(dfs_plan *p)                /* lock held */
{
    for (int k = 0; p && k < p->nlevels; k++)
        ddb_obj_unref(p->lv[k].scheme);
    free(p);
}

/* Under the lock: the shared schemes' reference counts are not atomic. */
void dfs_plan_free(dfs_plan *p)
{
    if (!p)
        return;
    store_lock();
    plan_release(p);
    store_unlock();
}

static dfs_plan *plan_snapshot(const store_table *e)     /* lock held */
{
    const store_db *d = &g_dbs[e->db];
    dfs_plan *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->db = e->db;
    p->gen = d->gen;
    snprintf(p->path, sizeof p->path, "%s", d->path);
    for (int k = 0; k < e->nlevels; k++, p->nlevels = k) {
        p->part_col[k] = e->part_col[k];
        p->lv[k] = d->lv[k];
        p->lv[k].scheme = d->lv[k].ptype == P_VALUE ? col_copy(d->lv[k].scheme) : ddb_obj_ref(d->lv[k].scheme);
        if (!p->lv[k].scheme) {
            plan_release(p);
            return NULL;
        }
        p->known[k] = p->lv[k].scheme->rows;
    }
    return p;
}

int dfs_plan_rows(eval_ctx *ctx, const ddb_obj *handle, const ddb_obj *fit, dfs_plan **plan)
{
    *plan = NULL;
    store_lock();
    store_table *e = store_entry(handle);
    dfs_plan *p = e && e->db >= 0 && e->nlevels > 0 ? plan_snapshot(e) : NULL;
    int oom = e && e->db >= 0 && e->nlevels > 0 && !p;
    store_unlock();
    if (oom)
        return ctx_oom(ctx);
    if (p && check_levels(ctx, p->lv, p->part_col, p->nlevels, p->path, fit)) {
        dfs_plan_free(p);
        return -1;
    }
    *plan = p;
    return 0;
}

int dfs_apply_plan(eval_ctx *ctx, store_table *e, const ddb_obj *fit, const dfs_plan *p)
{
    store_db *d = &g_dbs[e->db];
    if (e->db != p->db || d->gen != p->gen || e->nlevels != p->nlevels)
        return dfs_check_rows(ctx, e, fit);         /* the database changed meanwhile */
    for (int k = 0; k < p->nlevels; k++) {
        const ddb_obj *fresh = p->lv[k].scheme;
        if (p->lv[k].ptype != P_VALUE || fresh->rows == p->known[k])
            continue;
        value_index ix = {NULL, 0};
        if (value_index_build(&ix, d->lv[k].scheme, fresh->rows - p->known[k]))
            return ctx_oom(ctx);
        int full = 0;
        for (int64_t j = p->known[k]; j < fresh->rows && !full; j++)
            full = value_slot(&d->lv[k], &ix, fresh, j) < 0;
        free(ix.slot);
        if (full)                   /* no room left: the row-by-row check says where */
            return dfs_check_rows(ctx, e, fit);
    }
    return 0;
}

/* ---------------------------------------------------------------- schema fields */

static int put(ddb_obj *keys, ddb_obj *vals, const char *k, ddb_obj *v)
{
    if (!v)
        return -1;
    ddb_obj *one = ddb_vector_new(DDB_ANY, 1);
    if (!one) {
        ddb_obj_unref(v);
        return -1;
    }
    ddb_obj_unref(one->items[0]);
    one->items[0] = v;
    int rc = ddb_varlen_append(keys, k, strlen(k)) || col_append(vals, one, 0) ? -1 : 0;
    ddb_obj_unref(one);
    return rc;
}

static ddb_obj *level_schema(const level *lv)
{
    if (lv->ptype == P_HASH)
        return ddb_int_new(DDB_INT, ddb_int_at(lv->scheme, 0));
    if (lv->ptype != P_LIST)
        return col_copy(lv->scheme);
    ddb_obj *r = ddb_vector_new(DDB_ANY, lv->scheme->rows);
    for (int64_t k = 0; r && k < lv->scheme->rows; k++) {
        const ddb_obj *e = lv->scheme->items[k];
        ddb_obj *c = e->form == DDB_SCALAR ? obj_element(e, 0) : col_copy(e);
        if (!c) {
            ddb_obj_unref(r);
            return NULL;
        }
        ddb_obj_unref(r->items[k]);
        r->items[k] = c;
    }
    return r;
}

/* One INT per level: a scalar for one level, a vector for COMPO. */
static ddb_obj *per_level_int(int n, const int *v)
{
    if (n == 1)
        return ddb_int_new(DDB_INT, v[0]);
    ddb_obj *r = ddb_vector_new(DDB_INT, n);
    for (int k = 0; r && k < n; k++)
        cell_put_i64(r, k, v[k]);
    return r;
}

int dfs_schema_fields(eval_ctx *ctx, const store_table *e, ddb_obj *keys, ddb_obj *vals)
{
    const store_db *d = &g_dbs[e->db];
    int n = e->nlevels, idx[MAX_LEVELS], type[MAX_LEVELS], ptype[MAX_LEVELS];
    if (n == 0)                                 /* a dimension table */
        return put(keys, vals, "partitionColumnIndex", ddb_int_new(DDB_INT, -1)) ? ctx_oom(ctx) : 0;
    ddb_obj *names = n == 1 ? NULL : ddb_vector_new(DDB_STRING, 0);
    ddb_obj *schemes = n == 1 ? level_schema(&d->lv[0]) : ddb_vector_new(DDB_ANY, n);
    for (int k = 0; k < n; k++) {
        idx[k] = e->part_col[k];
        type[k] = d->lv[k].coltype;
        ptype[k] = d->lv[k].ptype;
        const char *nm = e->t->col_names[idx[k]];
        if (names && ddb_varlen_append(names, nm, strlen(nm)))
            return ctx_oom(ctx);
        if (n > 1 && schemes) {
            ddb_obj_unref(schemes->items[k]);
            schemes->items[k] = level_schema(&d->lv[k]);
        }
    }
    if (n == 1)
        names = ddb_string_new(DDB_STRING, e->t->col_names[idx[0]], strlen(e->t->col_names[idx[0]]));
    int rc = put(keys, vals, "partitionColumnName", names);
    rc |= put(keys, vals, "partitionColumnIndex", per_level_int(n, idx));
    rc |= put(keys, vals, "partitionColumnType", per_level_int(n, type));
    rc |= put(keys, vals, "partitionType", per_level_int(n, ptype));
    rc |= put(keys, vals, "partitionSchema", schemes);
    rc |= put(keys, vals, "engineType", ddb_string_new(DDB_STRING, "OLAP", 4));
    return rc ? ctx_oom(ctx) : 0;
}

const builtin builtins_dfs[] = {
    {"database", 1, 6, 0, bi_database},
    {"createPartitionedTable", 4, 7, 0, bi_create_pt},
    {"createTable", 3, 3, 0, bi_create_t},
    {"loadTable", 2, 3, 0, bi_load_table},
    {"existsDatabase", 1, 1, 0, bi_exists_db},
    {"existsTable", 2, 2, 0, bi_exists_table},
    {"dropDatabase", 1, 1, 0, bi_drop_db},
    {"dropTable", 2, 2, 0, bi_drop_table},
    {"hashBucket", 2, 2, 0, bi_hash_bucket},
    {NULL, 0, 0, 0, NULL}};

void dfs_reset(void)
{
    for (int i = 0; i < MAX_DATABASES; i++)
        db_clear(&g_dbs[i]);
    for (int i = 0; i < ANON_DBS; i++)
        db_clear(&g_anon[i]);
}
