/* mem.c - memory and locks for code that may run inside a signal handler.
 *
 * The hooks can fire anywhere, including in a signal handler that
 * interrupted malloc, so nothing they reach calls malloc: trace buffers and
 * thread records are mmap'd (mmap is async-signal-safe), and long-lived
 * small things (module paths, symbol indexes) come from a bump arena that is
 * never freed.
 */
#include "internal.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_size(void)
{
	/* threads may race to fill it: each writes the same value */
	static size_t ps;
	size_t v = __atomic_load_n(&ps, __ATOMIC_RELAXED);
	if (!v) {
		long r = sysconf(_SC_PAGESIZE);
		v = r > 0 ? (size_t)r : 4096;
		__atomic_store_n(&ps, v, __ATOMIC_RELAXED);
	}
	return v;
}

size_t sp__page_round(size_t n)
{
	size_t ps = page_size();
	if (n > SIZE_MAX - ps)
		return 0;
	return (n + ps - 1) & ~(ps - 1);
}

void *sp__map(size_t size)
{
	if (size == 0)
		return NULL;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void sp__unmap(void *p, size_t size)
{
	if (p && size)
		munmap(p, size);
}

void *sp__remap(void *p, size_t old_size, size_t new_size)
{
	void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
	return q == MAP_FAILED ? NULL : q;
}

/* ------------------------------------------------------------------------
 * Arena: chunks of 1 MiB (or one bigger chunk for a big request), bumped
 * under a lock. Used for data that lives until the process ends.
 */
#define ARENA_CHUNK (1u << 20)

struct sp__lock sp__arena_lock = SP_LOCK_INIT(1u << 0);
static uint8_t *arena_cur;
static size_t arena_left;

void *sp__arena_alloc(size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size == 0 || size > (SIZE_MAX >> 1))
		return NULL;
	if (!sp__lock(&sp__arena_lock))
		return NULL;
	if (size > arena_left) {
		size_t chunk = size > ARENA_CHUNK / 4 ? sp__page_round(size) : ARENA_CHUNK;
		uint8_t *p = sp__map(chunk);
		if (!p) {
			sp__unlock(&sp__arena_lock);
			return NULL;
		}
		if (chunk != ARENA_CHUNK) { /* a big one-off: keep the current chunk */
			sp__unlock(&sp__arena_lock);
			return p;
		}
		arena_cur = p;
		arena_left = chunk;
	}
	void *r = arena_cur;
	arena_cur += size;
	arena_left -= size;
	sp__unlock(&sp__arena_lock);
	return r;
}

char *sp__arena_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = sp__arena_alloc(len + 1);
	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

char *sp__arena_strdup(const char *s)
{
	return sp__arena_strndup(s, strlen(s));
}

/* ------------------------------------------------------------------------
 * Locks. Each lock has a bit in a per-thread mask of the locks this thread
 * holds: if a signal handler on this thread wants a lock its thread already
 * holds, sp__lock() says no instead of spinning forever. Other threads
 * always make progress (critical sections are short and never wait on
 * anything), so spinning with a yield is enough.
 */
static __thread unsigned held __attribute__((tls_model("initial-exec")));

bool sp__lock(struct sp__lock *l)
{
	if (held & l->bit)
		return false;
	held |= l->bit; /* before spinning: a handler here must not spin too */
	unsigned spins = 0;
	while (atomic_flag_test_and_set_explicit(&l->flag, memory_order_acquire)) {
		if (++spins >= 64) {
			spins = 0;
			sched_yield();
		}
	}
	return true;
}

void sp__unlock(struct sp__lock *l)
{
	atomic_flag_clear_explicit(&l->flag, memory_order_release);
	held &= ~l->bit;
}

unsigned sp__locks_held(void)
{
	return held;
}

void sp__lock_reset(struct sp__lock *l)
{
	atomic_flag_clear_explicit(&l->flag, memory_order_relaxed);
	held &= ~l->bit;
}
