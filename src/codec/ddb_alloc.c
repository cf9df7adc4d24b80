/* ddb_alloc.c — big column arrays on transparent huge pages (ddb_codec_internal.h).
 *
 * Filling fresh memory costs a page fault per 4 KiB page, which dominates decoding a
 * big result, building a big column and splitting one into parts. An array 2 MiB
 * aligned and marked MADV_HUGEPAGE takes one fault per 2 MiB instead. Such arrays
 * are freed with free() like any other. */
#define _DEFAULT_SOURCE             /* madvise */
#include "ddb_codec_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

static void *huge_aligned(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return NULL;
    madvise(p, (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    return p;
}

void *ddb__big_alloc(size_t bytes)
{
    return bytes < 2 * HUGE_PAGE ? malloc(bytes) : huge_aligned(bytes);
}

/* From 1 MiB: the parts a table is split into (PartitionedTableAppender) are a
 * quarter of its columns. Small arrays keep calloc (fresh pages come zeroed, no
 * memset); big ones are zeroed here, which costs less than 512 faults per 2 MiB. */
void *ddb__big_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    if (n * size < HUGE_PAGE / 2) return calloc(n, size);
    void *p = huge_aligned(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}
