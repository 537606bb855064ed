/*
 * alloc_count.c: an LD_PRELOAD shim that counts heap allocations, for
 * tests/e2e/test_88_alloc.py (issue 8: the hot path allocates nothing per
 * request once warm).
 *
 * It interposes malloc, calloc, realloc, free, memalign, posix_memalign,
 * aligned_alloc, valloc and pvalloc, forwards each to glibc's __libc_*
 * entry points (no dlsym, which itself allocates) and counts the calls in a
 * shared mapping of the file named by $ALLOC_COUNT_FILE, so another process
 * can read the counts while the counted one runs. The file holds
 * ALLOC_SLOTS little-endian uint64 counters (see enum slot); forked
 * children share them. Without the variable, nothing is counted.
 *
 * Built by the Makefile into build/alloc_count.so; used with the release
 * binary build/telltale (the ASan build brings its own allocator).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

enum slot { S_MALLOC, S_CALLOC, S_REALLOC, S_FREE, S_ALIGNED, S_BYTES, ALLOC_SLOTS = 8 };

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

static uint64_t *counts;

__attribute__((constructor)) static void alloc_count_init(void)
{
	const char *path = getenv("ALLOC_COUNT_FILE");
	if (!path || !*path)
		return;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t len = ALLOC_SLOTS * sizeof(uint64_t);
	if (ftruncate(fd, (off_t)len) == 0) {
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED)
			counts = p;
	}
	close(fd);
}

static void count(enum slot s, size_t bytes)
{
	uint64_t *c = counts;
	if (!c)
		return;
	__atomic_fetch_add(&c[s], 1, __ATOMIC_RELAXED);
	if (bytes)
		__atomic_fetch_add(&c[S_BYTES], bytes, __ATOMIC_RELAXED);
}

void *malloc(size_t n)
{
	count(S_MALLOC, n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	count(S_CALLOC, n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	count(S_REALLOC, n);
	return __libc_realloc(p, n);
}

void free(void *p)
{
	if (p)
		count(S_FREE, 0);
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	count(S_ALIGNED, n);
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = memalign(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	return memalign((size_t)sysconf(_SC_PAGESIZE), n);
}

void *pvalloc(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return memalign(page, (n + page - 1) & ~(page - 1));
}
