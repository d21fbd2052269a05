/*
 * big.c -- large arrays that grow: anonymous mappings, in transparent
 * huge pages where the kernel has them (madvise mode), moved by the
 * kernel when they grow instead of copied.
 */
#include <string.h>
#include <sys/mman.h>
#include "sample.h"

/* Mappings are whole huge pages. */
#define HUGE_PAGE ((size_t)2 << 20)

static size_t whole(size_t bytes)
{
    return (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *big_grow(void *old, size_t old_bytes, size_t new_bytes)
{
    size_t have = old ? whole(old_bytes) : 0, want = whole(new_bytes);
    void *mem;

    if (old && want <= have) {
        return old;
    }
    mem = old ? mremap(old, have, want, MREMAP_MAYMOVE)
              : mmap(NULL, want, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    madvise(mem, want, MADV_HUGEPAGE);     /* a hint: ignored if refused */
#endif
    return mem;
}

void big_free(void *mem, size_t bytes)
{
    if (mem) {
        munmap(mem, whole(bytes));
    }
}
