/* failalloc.h - allocation failure injection for a test binary linked
 * with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free (and
 * --wrap=mmap,--wrap=mremap,--wrap=munmap for the runtime, whose memory
 * comes from mmap in mem.c). --wrap redirects the calls of every object
 * linked into the test (add --wrap=strdup,--wrap=strndup too), the code
 * under test included, and nothing in a
 * shared library (Criterion, libc): the code under test is unchanged and
 * nothing of this exists outside the test binary.
 *
 *   fa_arm(k): the k-th allocation from now fails (k >= 1; 0: none fails),
 *   and from now on allocations are counted: fa_calls() made, fa_live()
 *   still held (mallocs not freed, bytes mapped not unmapped).
 *   fa_disarm(): stop counting and failing.
 *
 * To make every allocation fail once in turn: for k = 1, 2, ... arm k, run,
 * check, and stop at the first k past the number of calls a run makes.
 * Include once per test binary. Single-threaded use only. */
#ifndef FAILALLOC_H
#define FAILALLOC_H

#include <errno.h>
#include <execinfo.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/types.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);

static bool fa_armed;
static unsigned long fa_fail_at, fa_ncalls;
static long fa_nlive;
static long fa_nmapped; /* bytes mapped while armed, less those unmapped (FA_WRAP_MMAP) */

/* The live blocks, by address: free() of a block from elsewhere (a libc
 * function's malloc) is passed through uncounted. */
#define FA_SLOTS (1u << 16)
static void *fa_set[FA_SLOTS];

#ifdef FA_WRAP_MMAP
/* The mappings made while armed, by address: unmapping one made before
 * (the runtime's lasting memory) is not counted. */
#define FA_MAPS 4096
static struct { void *p; size_t len; } fa_maps[FA_MAPS];
#endif

static size_t fa_slot(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 0x9e3779b97f4a7c15ull >> 48) & (FA_SLOTS - 1);
}

static void fa_add(void *p)
{
	for (size_t i = fa_slot(p);; i = (i + 1) & (FA_SLOTS - 1))
		if (!fa_set[i] || fa_set[i] == (void *)1) {
			fa_set[i] = p;
			fa_nlive++;
			return;
		}
}

static bool fa_remove(void *p)
{
	for (size_t i = fa_slot(p); fa_set[i]; i = (i + 1) & (FA_SLOTS - 1))
		if (fa_set[i] == p) {
			fa_set[i] = (void *)1; /* a tombstone */
			fa_nlive--;
			return true;
		}
	return false;
}

static inline void fa_arm(unsigned long k)
{
	fa_fail_at = k;
	fa_ncalls = 0;
	fa_nlive = 0;
	fa_nmapped = 0;
#ifdef FA_WRAP_MMAP
	memset(fa_maps, 0, sizeof fa_maps);
#endif
	for (size_t i = 0; i < FA_SLOTS; i++)
		fa_set[i] = NULL;
	fa_armed = true;
}

static inline void fa_disarm(void) { fa_armed = false; }
static inline unsigned long fa_calls(void) { return fa_ncalls; }
static inline long fa_live(void) { return fa_nlive; }
static inline long fa_mapped(void) { return fa_nmapped; }

/* Counts the call; true if this one is to fail. */
static inline bool fa_fail(void)
{
	if (!fa_armed)
		return false;
	if (++fa_ncalls != fa_fail_at)
		return false;
	if (getenv("FA_BACKTRACE")) { /* which allocation: addr2line -fe TEST */
		void *bt[8];
		backtrace_symbols_fd(bt, backtrace(bt, 8), STDERR_FILENO);
	}
	return true;
}

void *__wrap_malloc(size_t n);
void *__wrap_malloc(size_t n)
{
	if (fa_fail())
		return NULL;
	void *p = __real_malloc(n);
	if (p && fa_armed)
		fa_add(p);
	return p;
}

void *__wrap_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size)
{
	if (fa_fail())
		return NULL;
	void *p = __real_calloc(n, size);
	if (p && fa_armed)
		fa_add(p);
	return p;
}

void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
	if (fa_fail())
		return NULL;
	bool ours = p && fa_armed && fa_remove(p);
	void *q = __real_realloc(p, n);
	if (!q && ours)
		fa_add(p); /* kept */
	else if (q && fa_armed && (ours || !p))
		fa_add(q);
	return q;
}

/* strdup and strndup: libc's own malloc is not wrapped, so these are. */
char *__wrap_strdup(const char *s);
char *__wrap_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = __wrap_malloc(n);
	return p ? memcpy(p, s, n) : NULL;
}

char *__wrap_strndup(const char *s, size_t max);
char *__wrap_strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *p = __wrap_malloc(n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void __wrap_free(void *p);
void __wrap_free(void *p)
{
	if (p && fa_armed)
		fa_remove(p);
	__real_free(p);
}

#ifdef FA_WRAP_MMAP
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__real_mremap(void *p, size_t old, size_t len, int flags, ...);
int __real_munmap(void *p, size_t len);


static void fa_map_add(void *p, size_t len)
{
	for (size_t i = 0; i < FA_MAPS; i++)
		if (!fa_maps[i].p) {
			fa_maps[i].p = p;
			fa_maps[i].len = len;
			fa_nmapped += (long)len;
			return;
		}
}

/* The armed mapping at p, or NULL. */
static size_t *fa_map_find(void *p)
{
	for (size_t i = 0; p && i < FA_MAPS; i++)
		if (fa_maps[i].p == p)
			return &fa_maps[i].len;
	return NULL;
}

static void fa_map_remove(void *p)
{
	for (size_t i = 0; p && i < FA_MAPS; i++)
		if (fa_maps[i].p == p) {
			fa_nmapped -= (long)fa_maps[i].len;
			fa_maps[i].p = NULL;
			return;
		}
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fa_fail()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = __real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && fa_armed)
		fa_map_add(p, len);
	return p;
}

void *__wrap_mremap(void *p, size_t old, size_t len, int flags, ...);
void *__wrap_mremap(void *p, size_t old, size_t len, int flags, ...)
{
	if (fa_fail()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *q = __real_mremap(p, old, len, flags);
	if (q != MAP_FAILED && fa_armed && fa_map_find(p)) {
		fa_map_remove(p);
		fa_map_add(q, len);
	}
	return q;
}

/* With _FILE_OFFSET_BITS=64 (meson's default), mmap is mmap64. */
void *__real_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (fa_fail()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	void *p = __real_mmap64(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && fa_armed)
		fa_map_add(p, len);
	return p;
}

int __wrap_munmap(void *p, size_t len);
int __wrap_munmap(void *p, size_t len)
{
	if (fa_armed)
		fa_map_remove(p);
	return __real_munmap(p, len);
}
#endif

#endif
