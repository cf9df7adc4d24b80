/* test_ddbmini_tables.c — ddbmini's write path over a real socket: typed tables,
 * tableInsert/append!/insert into, keyed and indexed tables with upsert!, schema(),
 * shared tables, select/exec, simulated DFS databases and the server hash.
 * usage: test_ddbmini_tables path/to/ddbmini [script ...]  (scripts: print results) */
#include "ddbmini_harness.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct script_case {
    const char *script;
    const char *value;      /* run_text's text; "ERROR: ..." for an error line */
    const char *kind;       /* "INT SCALAR", ...; NULL: not checked */
} script_case;

#define T3 "t = table(10:0, `id`sym`price, [INT, SYMBOL, DOUBLE]); "

static const script_case CASES[] = {
    /* fixed gaps: integer sums are LONG, min/max */
    {"sum(1..100000)", "5000050000", "LONG SCALAR"},
    {"max(3 1 2)", "3", "INT SCALAR"},
    {"min(3 NULL 2)", "2", "INT SCALAR"},
    {"max(`b`c`a)", "c", "SYMBOL SCALAR"},
    {"avg(1 2 NULL 6)", "3", "DOUBLE SCALAR"},
    {"count(1 NULL 3)", "2", "INT SCALAR"},
    {"first(4 5 6) + last(4 5 6)", "10", "INT SCALAR"},
    {"2024.01.30..2024.02.01", "[2024.01.30,2024.01.31,2024.02.01]", "DATE VECTOR"},
    /* typed tables and inserts */
    {T3 "t", "table(id=[],sym=[],price=[])", NULL},
    {T3 "tableInsert(t, 1 2, `a`b, 1.5 2.5)", "2", "INT SCALAR"},
    {T3 "tableInsert(t, 1 2, `a`b, 1.5 2.5); t", "table(id=[1,2],sym=[a,b],price=[1.5,2.5])", NULL},
    {T3 "tableInsert(t, table(7 as x, \"s\" as y, 1 as z)); t", "table(id=[7],sym=[s],price=[1])", NULL},
    {T3 "tableInsert(t, (1 2, `a`b, 3.0 4.0)); t.price", "[3,4]", "DOUBLE VECTOR"},
    {T3 "tableInsert(t, 1, `a, 1.0); t.sym", "[a]", "SYMBOL VECTOR"},
    {T3 "insert into t values (3, \"c\", 3.5); t", "table(id=[3],sym=[c],price=[3.5])", NULL},
    {T3 "insert into t (price, id) values (9.5, 4); t", "table(id=[4],sym=[],price=[9.5])", NULL},
    {T3 "append!(t, table(4 as id, `d as sym, 4.5 as price)); size(t)", "1", "INT SCALAR"},
    {"t = table(1 2 as a); u = t; tableInsert(t, 3); u", "table(a=[1,2,3])", NULL},
    {"x = 1 2; t = table(x as a); tableInsert(t, 3); x", "[1,2]", "INT VECTOR"},
    {"t = table(2:2, `a`b, [INT, STRING]); t", "table(a=[,],b=[,])", NULL},
    {"t = table(1:0, `a`b, [LONG, DATE]); tableInsert(t, 1, 2024.01.02T10:00:00); t",
     "table(a=[1],b=[2024.01.02])", NULL},
    {"t = table(1:0, `a`b, [DOUBLE, INT]); tableInsert(t, 1, 2.7); t", "table(a=[1],b=[2])", NULL},
    {"schema(table(decimal64(1.5, 2) as d)).colDefs", "table(name=[d],typeString=[DECIMAL64(2)],typeInt=[38],extra=[2],comment=[])", NULL},
    {T3 "tableInsert(t, \"x\", `a, 1.0)",
     "ERROR: tableInsert(t, \"x\", `a, 1.0) => Failed to append data to column 'id' with error: "
     "Incompatible type. Expected: INT, Actual: STRING", NULL},
    {T3 "tableInsert(t, 1)",
     "ERROR: tableInsert(t, 1) => The number of columns of the table to insert must be the same "
     "as that of the original table.", NULL},
    {"table(1:0, `a`a, [INT, INT])", "ERROR: table(1:0, `a`a, [INT, INT]) => Duplicate column name a", NULL},
    {"table(1:0, `a, [\"NOPE\"])",
     "ERROR: table(1:0, `a, [\"NOPE\"]) => Invalid data type for the column 1 of the table", NULL},
    /* schema */
    {T3 "schema(t)",
     "dict[colDefs](table(name=[id,sym,price],typeString=[INT,SYMBOL,DOUBLE],typeInt=[4,17,16],"
     "extra=[,,],comment=[,,]))", "ANY DICTIONARY"},
    /* keyed / indexed tables, upsert */
    {"kt = keyedTable(`id, 10:0, `id`v, [INT, DOUBLE]); tableInsert(kt, 1 2 3, 1.0 2.0 3.0); "
     "upsert!(kt, table(2 4 as id, 20.0 NULL as v)); kt", "table(id=[1,2,3,4],v=[1,20,3,])", NULL},
    {"kt = keyedTable(`id, 1 2 as id, 1.0 2.0 as v); "
     "upsert!(kt, table(2 4 as id, [NULL, 4.0] as v), ignoreNull=true)", "table(id=[1,2,4],v=[1,2,4])", NULL},
    {"kt = keyedTable(`id, 1 2 as id, 1.0 2.0 as v); tableInsert(kt, 2 2 5, 7.0 8.0 9.0); kt",
     "table(id=[1,2,5],v=[1,8,9])", NULL},
    {"kt = indexedTable(`id`s, 1 2 as id, `a`b as s, 1.0 2.0 as v); "
     "tableUpsert(kt, table(2 3 as id, `b`c as s, 5.0 6.0 as v))", "[1,1]pair", "LONG PAIR"},
    {"kt = keyedTable(`k, `x`y as k, 1 2 as v); upsert!(kt, table(`y`z as k, 5 6 as v)); kt",
     "table(k=[x,y,z],v=[1,5,6])", NULL},
    {"kt = keyedTable(`id, 1 2 as id, 1.0 2.0 as v); schema(kt).keyColumns", "[id]", "STRING VECTOR"},
    {"upsert!(table(1 as a), table(2 as a))",
     "ERROR: upsert!(table(1 as a), table(2 as a)) => upsert! only supports keyed tables, indexed "
     "tables and DFS tables (a DFS table needs keyColNames)", NULL},
    {"keyedTable(`nope, 1 2 as id)",
     "ERROR: keyedTable(`nope, 1 2 as id) => The key column nope doesn't exist in the table", NULL},
    /* shared tables */
    {"t = table(1 2 as id, `a`b as s); share t as st1; tableInsert(st1, 3, `c); select * from st1",
     "table(id=[1,2,3],s=[a,b,c])", NULL},
    {"t = table(1 2 as id); share(t, \"st2\"); tableInsert(t, 3); st2", "table(id=[1,2,3])", NULL},
    {"t = table(1 as id); share t as st2", "ERROR: share t as st2 => The shared table st2 already exists", NULL},
    {"undef(\"st2\", SHARED); t = table(5 as id); share t as st2; st2", "table(id=[5])", NULL},
    /* select / exec */
    {"x = table(1..5 as a, 6..10 as b); select a, b*2 as c from x where a>1 and b<10 order by a desc",
     "table(a=[4,3,2],c=[18,16,14])", NULL},
    {"x = table(1..5 as a, 6..10 as b); select * from x where a < 2 or b >= 10", "table(a=[1,5],b=[6,10])", NULL},
    {"x = table(1..5 as a, 6..10 as b); select * from x where a > 1, b < 8", "table(a=[2],b=[7])", NULL},
    {"lim = 3; x = table(1..5 as a); exec a from x where a >= lim", "[3,4,5]", "INT VECTOR"},
    {"exec count(*) from table(1..5 as a)", "5", "INT SCALAR"},
    {"select count(*), sum(a), avg(a), min(a), max(a) from table(1..4 as a)",
     "table(count=[4],sum_a=[10],avg_a=[2.5],min_a=[1],max_a=[4])", NULL},
    {"x = table(`a`b`a`c as k, 1..4 as v); select sum(v), count(v), first(v), last(v) from x group by k",
     "table(k=[a,b,c],sum_v=[4,2,4],count_v=[2,1,1],first_v=[1,2,4],last_v=[3,2,4])", NULL},
    {"x = table(`a`b`a`c as k, 1..4 as v); select sum(v) as s from x group by k order by s desc",
     "table(k=[a,c,b],s=[4,4,2])", NULL},
    {"x = table(`a`b`a as k, 1 1 2 as g, 1..3 as v); select max(v) from x group by k, g",
     "table(k=[a,a,b],g=[1,2,1],max_v=[1,3,2])", NULL},
    {"x = table(`a`b`a`c as k, 1..4 as v); exec sum(v) from x group by k", "[4,2,4]", "LONG VECTOR"},
    {"x = table(`a`b`a`c as k, 1..4 as v); select top 2 * from x", "table(k=[a,b],v=[1,2])", NULL},
    {"x = table(3 1 2 as v); select * from x order by v limit 2", "table(v=[1,2])", NULL},
    {"x = table(3 NULL 2 as v); select * from x order by v", "table(v=[,2,3])", NULL},
    {"x = table(1 2 as v); select nope from x", "ERROR: Syntax Error: [line #1] Cannot recognize the token nope", NULL},
    {"select * from 1", "ERROR: The from clause must be a table", NULL},
    /* DFS databases */
    {"db = database(\"dfs://v1\", VALUE, 2024.01.01..2024.01.03); "
     "t = table(10:0, `ts`sym`v, [TIMESTAMP, SYMBOL, DOUBLE]); pt = db.createPartitionedTable(t, `pt, `ts); "
     "tableInsert(pt, 2024.01.01T10:00:00.000 2024.01.05T00:00:00.000, `a`b, 1.0 2.0); "
     "s = schema(loadTable(\"dfs://v1\", \"pt\")); "
     "(s.partitionColumnName, s.partitionColumnIndex, s.partitionColumnType, s.partitionType, s.partitionSchema)",
     "(ts,0,6,1,[2024.01.01,2024.01.02,2024.01.03,2024.01.05])", NULL},
    {"select sym, v from loadTable(\"dfs://v1\", \"pt\") where v > 1", "table(sym=[b],v=[2])", NULL},
    {"db = database(\"dfs://r1\", RANGE, 0 10 20); "
     "pt = createPartitionedTable(db, table(1:0, `id`v, [INT, DOUBLE]), \"pt\", \"id\"); "
     "tableInsert(pt, 5 15, 1.0 2.0); s = schema(pt); (s.partitionType, s.partitionSchema, exec sum(v) from pt)",
     "(2,[0,10,20],3)", NULL},
    {"tableInsert(loadTable(\"dfs://r1\", \"pt\"), 25, 3.0)",
     "ERROR: tableInsert(loadTable(\"dfs://r1\", \"pt\"), 25, 3.0) => The value of the partitioning "
     "column id at row 0 is NULL or outside the partition scheme of dfs://r1", NULL},
    {"db = database(\"dfs://h1\", HASH, [SYMBOL, 10]); "
     "pt = db.createPartitionedTable(table(1:0, `s`v, [SYMBOL, INT]), `pt, `s); s = schema(pt); "
     "(s.partitionType, s.partitionSchema, s.partitionColumnType)", "(5,10,17)", NULL},
    {"db1 = database(\"\", VALUE, 2024.01.01..2024.01.02); db2 = database(\"\", HASH, [INT, 4]); "
     "db = database(\"dfs://c1\", COMPO, [db1, db2]); "
     "pt = db.createPartitionedTable(table(1:0, `d`id`v, [DATE, INT, DOUBLE]), `pt, `d`id); "
     "tableInsert(pt, 2024.01.01 2024.01.02, 1 2, 1.5 2.5); s = schema(pt); "
     "(s.partitionColumnName, s.partitionColumnIndex, s.partitionColumnType, s.partitionType, s.partitionSchema)",
     "([d,id],[0,1],[6,4],[1,5],([2024.01.01,2024.01.02],4))", NULL},
    {"db = database(\"dfs://l1\", LIST, [`a`b, `c]); "
     "pt = db.createPartitionedTable(table(1:0, `s`v, [STRING, INT]), `pt, `s); "
     "tableInsert(pt, [\"c\", \"a\"], 1 2); s = schema(pt); (s.partitionType, s.partitionSchema)",
     "(3,([a,b],c))", NULL},
    {"db = database(\"dfs://d1\", RANGE, 0 10); dt = db.createTable(table(1:0, `a, [INT]), `dim); "
     "tableInsert(dt, 100); schema(dt).partitionColumnIndex", "-1", "INT SCALAR"},
    {"db = database(\"dfs://e1\", VALUE, 1 2); db.createPartitionedTable(table(1:0, `a, [INT]), `pt, `a); "
     "(existsDatabase(\"dfs://e1\"), existsTable(\"dfs://e1\", \"pt\"), existsTable(\"dfs://e1\", \"x\"))",
     "(true,true,false)", NULL},
    {"db = database(\"dfs://e2\", VALUE, 1 2); dropDatabase(\"dfs://e2\"); existsDatabase(\"dfs://e2\")",
     "false", "BOOL SCALAR"},
    {"db = database(\"dfs://u1\", HASH, [INT, 3]); pt = db.createPartitionedTable(table(1:0, `id`v, [INT, INT]), `pt, `id); "
     "tableInsert(pt, 1 2, 10 20); upsert!(pt, table(2 3 as id, 5 6 as v), keyColNames=`id); "
     "select * from pt order by id", "table(id=[1,2,3],v=[10,5,6])", NULL},
    /* the C++ AutoFitTableUpsert / MTW function names, called from a script */
    {"db = database(\"dfs://u2\", VALUE, 1 2); pt = db.createPartitionedTable(table(1:0, `p`id`v, [INT, INT, INT]), `pt, `p); "
     "tableInsert(pt, 1 1 2, 7 8 7, 1 2 3); "
     "upsert!{loadTable('dfs://u2', 'pt'),,ignoreNull=false,keyColNames=`id}(table(1 2 3 as p, 7 7 9 as id, 10 20 30 as v)); "
     "select * from pt order by p, id", "table(p=[1,1,2,3],id=[7,8,7,9],v=[10,2,20,30])", NULL},
    {"kt = keyedTable(`id, 1 2 as id, 1 2 as v); tableUpsert{kt,,ignoreNull=true}(table(2 3 as id, [NULL, 3] as v)); kt",
     "table(id=[1,2,3],v=[1,2,3])", NULL},
    {"t = table(1:0, `a`b, [INT, STRING]); tableInsert{t}(table(1 2 as x, [\"p\", \"q\"] as y)); "
     "select b from t where a = 2 or a == 1 order by b desc", "table(b=[q,p])", NULL},
    /* the Java AutoFitTableUpsert's function: a lambda applied in place */
    {"kt = keyedTable(`id, 1 2 as id, 1 2 as v); "
     "(def(mutable tb, data){upsert!(tb, data,ignoreNull=false);return 0;}){kt}(table(2 3 as id, 5 6 as v))",
     "0", "INT SCALAR"},
    {"kt = keyedTable(`id, 1 2 as id, 1 2 as v); (def(mutable tb, data){upsert!(tb, data);return 0;})(kt, table(2 as id, 9 as v)); kt",
     "table(id=[1,2],v=[1,9])", NULL},
    {"(def(x): x + 1)(2)", "3", "INT SCALAR"},
    {"f = def(x): x + 1", "ERROR: ddbmini can only call a lambda in place: (def(x){...})(args)", NULL},
    {"typestr(loadTable(\"dfs://u2\", \"pt\"))", "SEGMENTED DFS TABLE", "STRING SCALAR"},
    {"typestr(st1)", "IN-MEMORY TABLE", "STRING SCALAR"},
    {"loadTable(\"dfs://nope\", \"pt\")",
     "ERROR: loadTable(\"dfs://nope\", \"pt\") => The database [dfs://nope] doesn't exist", NULL},
    {"database(\"dfs://nope\")", "ERROR: database(\"dfs://nope\") => The database [dfs://nope] doesn't exist", NULL},
    {"db = database(\"dfs://w1\", VALUE, 1 2); db.createPartitionedTable(table(1:0, `a, [DOUBLE]), `pt, `a)",
     "ERROR: db.createPartitionedTable(table(1:0, `a, [DOUBLE]), `pt, `a) => The data type of the partitioning "
     "column a (DOUBLE) doesn't match the partition scheme (INT)", NULL},
    /* the server hash: the vendor examples and MurmurHash2 test vectors */
    {"hashBucket(34 45 67, 10)", "[4,5,7]", "INT VECTOR"},
    {"hashBucket(`AAPL`TSLA`GS`MS`GE`BA`UAL`WMT, 10)", "[9,4,1,8,3,7,5,2]", "INT VECTOR"},
    {"hashBucket([\"AAPL\", \"IBM\", \"GOOG\", \"MSFT\", \"\"], 1048576)", "[937605,395012,845546,979747,0]", NULL},
    {"(hashBucket(-1, 10), hashBucket(-1l, 10))", "(5,5)", NULL},
    {"hashBucket(uuid(\"5d212a78-cc48-e3b1-4235-b4d91473ee87\"), 10)", "8", "INT SCALAR"},
    {"hashBucket([\"a\", \"abc\", \"hello world\", \"\u4e2d\u6587\"], 2147483647)", "[308830047,324500635,1151865881,1991232175]", NULL},
};

static void run_cases(const mini_proc *p)
{
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        mini_client c;
        open_client(&c, p);
        const script_case *k = &CASES[i];
        const char *got = run_text(&c, k->script);
        CHECK(!strcmp(got, k->value), "script [%s]: expected [%s], got [%s]", k->script, k->value, got);
        if (k->kind)
            CHECK(!strcmp(last_kind(), k->kind), "script [%s]: expected %s, got %s", k->script,
                  k->kind, last_kind());
        mini_client_close(&c);
    }
}

/* ---- function requests as the official writers send them, seeded random rows ---- */

static const char *const SYMS[] = {"AAPL", "IBM", "GOOG", "MSFT", "A"};
#define NSYMS 5

typedef struct model {
    int64_t count[NSYMS];      /* non-NULL prices per symbol */
    double sum[NSYMS];
    int64_t rows;
} model;

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n random rows (id INT, sym SYMBOL, price DOUBLE; some prices NULL), counted into m.
 * Prices are quarters so sums are exact in doubles. */
static ddb_obj *random_rows(int64_t n, int64_t first_id, model *m)
{
    ddb_obj *t = ddb_table_new(n, 3);
    const char *names[] = {"id", "sym", "price"};
    for (int c = 0; c < 3; c++) {
        free(t->col_names[c]);
        t->col_names[c] = strdup(names[c]);
    }
    t->columns[0] = ddb_vector_new(DDB_INT, n);
    t->columns[1] = ddb_vector_new(DDB_SYMBOL, 0);
    t->columns[2] = ddb_vector_new(DDB_DOUBLE, n);
    for (int64_t i = 0; i < n; i++) {
        int k = (int)(next_rand() % NSYMS);
        ((int32_t *)t->columns[0]->data)[i] = (int32_t)(first_id + i);
        ddb_symbol_append(t->columns[1], SYMS[k], strlen(SYMS[k]));
        int null = next_rand() % 10 == 0;
        double price = (double)(next_rand() % 40000) / 4.0;
        ((double *)t->columns[2]->data)[i] = null ? DDB_NULL_F64 : price;
        if (m && !null) {
            m->count[k]++;
            m->sum[k] += price;
        }
    }
    if (m)
        m->rows += n;
    return t;
}

static ddb_obj *script_obj(mini_client *c, const char *script)
{
    ddb_obj *o = NULL;
    int rc = mini_client_script(c, script, &o);
    CHECK(rc == MINI_OK && o, "script [%s]: %s", script, c->error);
    return o;
}

/* The model's per-symbol counts and sums against select ... group by sym. */
static void check_model(mini_client *c, const char *from, const model *m, const char *what)
{
    char script[512];
    snprintf(script, sizeof script, "exec count(*) from %s", from);
    ddb_obj *o = script_obj(c, script);
    CHECK(o && ddb_int_at(o, 0) == m->rows, "%s: %lld rows, expected %lld", what,
          o ? (long long)ddb_int_at(o, 0) : -1LL, (long long)m->rows);
    ddb_obj_unref(o);
    snprintf(script, sizeof script,
             "select count(price) as n, sum(price) as s from %s where price > -1 group by sym", from);
    o = script_obj(c, script);
    for (int k = 0; o && o->form == DDB_TABLE && k < NSYMS; k++) {
        int64_t row = -1;
        for (int64_t r = 0; r < o->rows; r++)
            if (!strcmp(ddb_str_at(o->columns[0], r, NULL), SYMS[k]))
                row = r;
        CHECK(row >= 0 && ddb_int_at(o->columns[1], row) == m->count[k] &&
                  ddb_double_at(o->columns[2], row) == m->sum[k],
              "%s: group %s: count/sum differ (expected %lld / %.2f)", what, SYMS[k],
              (long long)m->count[k], m->sum[k]);
    }
    CHECK(o && o->form == DDB_TABLE, "%s: group by gives a table", what);
    ddb_obj_unref(o);
}

static void check_random_inserts(const mini_proc *p)
{
    mini_client c;
    open_client(&c, p);
    ddb_obj_unref(script_obj(&c, "t = table(1:0, `id`sym`price, [INT, SYMBOL, DOUBLE]); share t as rnd; "
                                 "db = database(\"dfs://rnd\", HASH, [SYMBOL, 4]); "
                                 "db.createPartitionedTable(t, `pt, `sym); 0"));
    /* the Java upsert function name, sent as a function request */
    ddb_obj_unref(script_obj(&c, "jk = keyedTable(`id, 1 2 as id, 1 2 as v); share jk as jkt; 0"));
    ddb_obj *jt = ddb_table_new(1, 2), *jgot = NULL;
    free(jt->col_names[0]);
    free(jt->col_names[1]);
    jt->col_names[0] = strdup("id");
    jt->col_names[1] = strdup("v");
    jt->columns[0] = ddb_int_new(DDB_INT, 2);
    jt->columns[1] = ddb_int_new(DDB_INT, 7);
    jt->columns[0]->form = jt->columns[1]->form = DDB_VECTOR;
    int jrc = mini_client_call(&c, "(def(mutable tb, data){upsert!(tb, data,ignoreNull=false);return 0;}){jkt}",
                               &jt, 1, &jgot);
    CHECK(jrc == MINI_OK && jgot && ddb_int_at(jgot, 0) == 0, "Java upsert lambda: %s", c.error);
    ddb_obj_unref(jt);
    ddb_obj_unref(jgot);
    CHECK(!strcmp(run_text(&c, "exec v from jkt"), "[1,7]"), "Java upsert lambda updated: %s",
          run_text(&c, "exec v from jkt"));
    const char *targets[] = {"tableInsert{rnd}", "tableInsert{loadTable('dfs://rnd', 'pt')}",
                             "tableInsert{loadTable(\"dfs://rnd\",\"pt\"), }"};
    model shared = {{0}}, dfs = {{0}};
    for (int round = 0; round < 30; round++) {
        int64_t n = 1 + (int64_t)(next_rand() % 400);
        model *m = round % 3 == 0 ? &shared : &dfs;
        ddb_obj *rows = random_rows(n, m->rows, m);
        ddb_obj *got = NULL;
        int rc = mini_client_call(&c, targets[round % 3], &rows, 1, &got);
        CHECK(rc == MINI_OK && got && got->type == DDB_INT && ddb_int_at(got, 0) == n,
              "%s of %lld rows: %s", targets[round % 3], (long long)n, rc ? c.error : "wrong count");
        ddb_obj_unref(rows);
        ddb_obj_unref(got);
    }
    check_model(&c, "rnd", &shared, "shared table");
    check_model(&c, "loadTable(\"dfs://rnd\", \"pt\")", &dfs, "DFS table");
    /* every stored symbol has a HASH bucket */
    ddb_obj *o = script_obj(&c, "exec count(*) from loadTable(\"dfs://rnd\", \"pt\") "
                                "where hashBucket(sym, 4) < 0");
    CHECK(o && ddb_int_at(o, 0) == 0, "every symbol hashes to a bucket");
    ddb_obj_unref(o);
    mini_client_close(&c);
}

/* upsert!{kt,,ignoreNull=...,keyColNames=...} and tableUpsert{...} with random keys
 * against a model of the keyed table. */
static void check_random_upserts(const mini_proc *p)
{
    enum { KEYS = 50 };
    double val[KEYS];
    int present[KEYS] = {0};
    mini_client c;
    open_client(&c, p);
    ddb_obj_unref(script_obj(&c, "kt = keyedTable(`id, 1:0, `id`v, [INT, DOUBLE]); share kt as kup; 0"));
    for (int round = 0; round < 40; round++) {
        int64_t n = 1 + (int64_t)(next_rand() % 20);
        int ignore = round % 2;
        ddb_obj *t = ddb_table_new(n, 2);
        free(t->col_names[0]);
        free(t->col_names[1]);
        t->col_names[0] = strdup("id");
        t->col_names[1] = strdup("v");
        t->columns[0] = ddb_vector_new(DDB_INT, n);
        t->columns[1] = ddb_vector_new(DDB_DOUBLE, n);
        for (int64_t i = 0; i < n; i++) {
            int k = (int)(next_rand() % KEYS);
            int null = next_rand() % 5 == 0;
            double v = (double)(next_rand() % 1000);
            ((int32_t *)t->columns[0]->data)[i] = k;
            ((double *)t->columns[1]->data)[i] = null ? DDB_NULL_F64 : v;
            if (!(ignore && null && present[k]))
                val[k] = null ? DDB_NULL_F64 : v;
            present[k] = 1;
        }
        const char *fn = ignore ? "upsert!{kup,,ignoreNull=true}" : "tableUpsert{kup,,ignoreNull=false}";
        ddb_obj *got = NULL;
        int rc = mini_client_call(&c, fn, &t, 1, &got);
        CHECK(rc == MINI_OK, "%s: %s", fn, c.error);
        ddb_obj_unref(got);
        ddb_obj_unref(t);
    }
    ddb_obj *o = script_obj(&c, "select * from kup order by id");
    int64_t r = 0;
    for (int k = 0; o && o->form == DDB_TABLE && k < KEYS; k++) {
        if (!present[k])
            continue;
        int null_model = val[k] == DDB_NULL_F64;
        CHECK(r < o->rows && ddb_int_at(o->columns[0], r) == k &&
                  (null_model ? ddb_is_null(o->columns[1], r) : ddb_double_at(o->columns[1], r) == val[k]),
              "keyed table row for key %d differs from the model", k);
        r++;
    }
    CHECK(o && o->rows == r, "keyed table has %lld rows, model %lld", o ? (long long)o->rows : -1LL, (long long)r);
    ddb_obj_unref(o);
    mini_client_close(&c);
}

/* Several sessions insert into one shared table at once: no row is lost. */
typedef struct writer_arg {
    const mini_proc *p;
    int64_t rows;
    int ok;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    mini_client c;
    open_client(&c, w->p);
    w->ok = 1;
    for (int i = 0; i < 25; i++) {
        ddb_obj *rows = random_rows(40, i, NULL), *got = NULL;
        int rc = mini_client_call(&c, "tableInsert{conc}", &rows, 1, &got);
        if (rc != MINI_OK || !got || ddb_int_at(got, 0) != 40) {
            if (w->ok)
                fprintf(stderr, "writer: call %d: rc %d, %s\n", i, rc, rc ? c.error : "wrong count");
            w->ok = 0;
        }
        w->rows += 40;
        ddb_obj_unref(rows);
        ddb_obj_unref(got);
    }
    mini_client_close(&c);
    return NULL;
}

static void check_concurrent_writers(const mini_proc *p)
{
    mini_client c;
    open_client(&c, p);
    ddb_obj_unref(script_obj(&c, "t = table(1:0, `id`sym`price, [INT, SYMBOL, DOUBLE]); share t as conc; 0"));
    pthread_t th[4];
    writer_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (writer_arg){p, 0, 0};
        pthread_create(&th[i], NULL, writer, &args[i]);
    }
    int64_t total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].ok, "concurrent writer %d failed", i);
        total += args[i].rows;
    }
    ddb_obj *o = script_obj(&c, "exec count(*) from conc");
    CHECK(o && ddb_int_at(o, 0) == total, "concurrent inserts: %lld rows, expected %lld",
          o ? (long long)ddb_int_at(o, 0) : -1LL, (long long)total);
    ddb_obj_unref(o);
    mini_client_close(&c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s ddbmini [script ...]\n", argv[0]);
        return 2;
    }
    mini_proc p;
    if (mini_proc_start(&p, argv[1], NULL))
        return 1;
    if (argc > 2) {                 /* ad-hoc: one session, print each result */
        mini_client c;
        open_client(&c, &p);
        for (int i = 2; i < argc; i++) {
            const char *got = run_text(&c, argv[i]);
            printf("%s\n  -> %s  [%s]\n", argv[i], got, last_kind());
        }
        mini_client_close(&c);
        mini_proc_stop(&p);
        return 0;
    }
    run_cases(&p);
    check_random_inserts(&p);
    check_random_upserts(&p);
    check_concurrent_writers(&p);
    CHECK(mini_proc_stop(&p) == 0, "ddbmini exits 0 on SIGTERM");
    return finish("test_ddbmini_tables");
}
