/* malloc_tsd.c - a program with an instrumented allocator of its own and
 * one thread (after uftrace's t120_malloc_tsd). The thread's first hook
 * attaches the thread to the runtime; nothing that does may call the
 * allocator (the program's allocator may be the very function whose hook
 * is running) nor re-enter the hooks. Run by tests/test_frames.c with
 *   SPANPROF_TRACE_CALLS=main,tsd_thread
 * under a watchdog. Exit status 0: the thread's trace is tsd_thread with
 * its two realloc calls under it; other values say what was wrong. */
#include <dlfcn.h>
#include <pthread.h>
#include <spanprof.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* A pass-through allocator of the program's own, instrumented. It passes
 * to the next realloc (libc's, or AddressSanitizer's, whose malloc made
 * the block); dlsym does not call realloc. */
NOINLINE void *realloc(void *p, size_t n)
{
	static void *(*next)(void *, size_t);
	if (!next)
		next = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	return next ? next(p, n) : NULL;
}

static volatile int sink;

NOINLINE static void *tsd_thread(void *arg)
{
	char *p = malloc(16); /* not realloc(NULL, ...): gcc makes it a malloc */
	p = p ? realloc(p, 64) : NULL;
	p = p ? realloc(p, 4096) : NULL;
	if (p)
		p[0] = (char)(arg != NULL);
	sink = p ? p[0] : 0;
	free(p);
	return NULL;
}

static int count(const sp_node *n, const char *name)
{
	int c = n->name && !strcmp(n->name, name);
	for (const sp_node *k = n->first_child; k; k = k->next_sibling)
		c += count(k, name);
	return c;
}

int main(void)
{
	sp_set_enabled(true);
	pthread_t th;
	if (pthread_create(&th, NULL, tsd_thread, NULL) != 0)
		return 10;
	if (pthread_join(th, NULL) != 0)
		return 11;
	sp_snapshot *s = sp_snapshot_take();
	if (!s)
		return 12;
	int found = 0, rc = 0;
	for (size_t i = 0; i < sp_snapshot_count(s); i++) {
		const sp_trace_info *t = sp_snapshot_trace(s, i);
		if (strcmp(t->name, "tsd_thread"))
			continue;
		found++;
		if (!t->root->first_child || count(t->root, "realloc") != 2)
			rc = 14;
	}
	sp_snapshot_free(s);
	return found != 1 ? 13 : rc;
}
