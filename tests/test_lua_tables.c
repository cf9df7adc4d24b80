/* test_lua_tables.c — the two small tables under the Lua binding's hot path, without
 * Lua: ticket numbers (lua_tickets.c: unique, slot reused, never 0, exact doubles)
 * and the ticket -> task map of pool:run (lua_held.c: open addressing with backward
 * shift), checked against a plain array under random inserts and removals. */
#include "lua_held.h"
#include "lua_tickets.h"
#include "check.h"
#include "ddb_task.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int g_checks, g_failures;

#define SLOTS 16777216.0

static void test_tickets(void)
{
    enum { N = 5000 };
    static double live[N];
    ddb_tickets t = { 0 };
    for (int i = 0; i < N; i++) {
        live[i] = ddb_tickets_new(&t);
        double slot = fmod(live[i], SLOTS);
        CHECK(live[i] >= 1 && live[i] < 9007199254740992.0 && live[i] == floor(live[i]),
              "ticket %d = %.17g is not an exact positive integer", i, live[i]);
        CHECK(slot >= 1, "ticket %.17g has slot 0", live[i]);
    }
    for (int i = 1; i < N; i++)
        CHECK(fmod(live[i], SLOTS) != fmod(live[i - 1], SLOTS), "two live tickets share a slot");
    CHECK(t.nslots == N, "%zu slots for %d live tickets", t.nslots, N);

    /* Released slots carry the next tickets, with a new generation. */
    for (int i = 0; i < N; i += 2) ddb_tickets_release(&t, live[i]);
    for (int i = 0; i < N; i += 2) {
        double again = ddb_tickets_new(&t);
        CHECK(again != live[i] && again != 0, "a reused slot gave ticket %.17g again", again);
        CHECK(fmod(again, SLOTS) <= N, "a new slot %.0f although %d were free",
              fmod(again, SLOTS), N / 2);
        live[i] = again;
    }
    CHECK(t.nslots == N, "the slots grew to %zu with reuse available", t.nslots);

    /* The same slot, reused many times, never repeats a ticket. */
    double first = live[0], prev = first;
    ddb_tickets_release(&t, live[0]);
    for (int k = 0; k < 100000; k++) {
        double x = ddb_tickets_new(&t);
        CHECK(x != prev && x != first, "ticket %.17g repeated after %d reuses", x, k);
        prev = x;
        ddb_tickets_release(&t, x);
        if (g_failures > 10) break;
    }
    /* Junk is ignored, never a crash or a double free of a slot. */
    size_t nfree = t.nfree;
    ddb_tickets_release(&t, 0);
    ddb_tickets_release(&t, -5);
    ddb_tickets_release(&t, NAN);
    ddb_tickets_release(&t, 1e300);
    CHECK(t.nfree == nfree, "junk tickets changed the free list (%zu -> %zu)", nfree, t.nfree);
    ddb_tickets_free(&t);
}

/* Records that only carry their ticket in ud, as the map reads it (lua_held.h). */
enum { KEYS = 20000 };
static struct ddb_task records[KEYS];
static ddb_task *fake_task(int i) { return &records[i]; }

static void test_held(void)
{
    enum { OPS = 200000 };
    static double key[KEYS];
    static int in_map[KEYS];
    lua_held h = { 0 };
    ddb_tickets t = { 0 };
    for (int i = 0; i < KEYS; i++) {
        key[i] = ddb_tickets_new(&t);
        records[i].ud = (void *)(uintptr_t)key[i];
    }
    size_t n = 0;
    srand(4242);
    for (int op = 0; op < OPS && g_failures < 10; op++) {
        int i = rand() % KEYS;
        if (!in_map[i]) {
            CHECK(lua_held_reserve(&h) == 0, "reserve failed");
            lua_held_put(&h, key[i], fake_task(i));
            in_map[i] = 1;
            n++;
        } else if (rand() % 2) {
            CHECK(lua_held_find(&h, key[i]) == fake_task(i), "find %d lost its task", i);
        } else {
            CHECK(lua_held_take(&h, key[i]) == fake_task(i), "take %d gave another task", i);
            CHECK(lua_held_find(&h, key[i]) == NULL, "%d still found after take", i);
            in_map[i] = 0;
            n--;
        }
        CHECK(h.n == n, "the map counts %zu, the mirror %zu", h.n, n);
    }
    for (int i = 0; i < KEYS; i++) {
        ddb_task *got = lua_held_find(&h, key[i]);
        CHECK(got == (in_map[i] ? fake_task(i) : NULL), "key %d: wrong presence at the end", i);
    }
    CHECK(lua_held_find(&h, 12345.5) == NULL && lua_held_take(&h, -1) == NULL &&
          lua_held_take(&h, NAN) == NULL && lua_held_take(&h, 0) == NULL,
          "a key never put was found");
    for (int i = 0; i < KEYS; i++)
        if (in_map[i]) lua_held_take(&h, key[i]);
    CHECK(h.n == 0, "%zu left after taking everything", h.n);
    lua_held_clear(&h);       /* empty: no task to release */
    ddb_tickets_free(&t);
}

int main(void)
{
    test_tickets();
    test_held();
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
