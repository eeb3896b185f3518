/* test_thread_exit.c - 8,000 threads leaving by pthread_exit and
 * pthread_cancel, half each, a quarter of all inside an open trace, with
 * recording on, 16 alive at a time (SPANPROF_MAX_TRACES=10000 in
 * tests/meson.build, so that every trace is kept). Nothing crashes, every
 * trace is stored once, those left open are closed by spanprof, and the
 * per-thread records do not pile up: the address space and the resident
 * set stay flat after the first thousand threads. */
#include <criterion/criterion.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

#if !defined(__SANITIZE_ADDRESS__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1 /* clang's spelling of it */
#endif
#endif

#define THREADS 8000
#define LIVE 16
#define WARMUP 1024 /* threads before the first measurement */

/* How thread i leaves (i % 4). */
enum { EXIT_OPEN, EXIT_DONE, CANCEL_OPEN, CANCEL_DONE };

static const char *const names[] = { "exit-open", "exit-done", "cancel-open", "cancel-done" };

struct slot {
	int i;
	char id[16];
	sem_t ready; /* posted when a thread to cancel waits in pause() */
};

/* The spans, in a function of their own that returns before the thread
 * leaves: AddressSanitizer poisons the redzones of a frame's locals and
 * unpoisons them on return, so a frame left by pthread_exit's forced
 * unwind keeps them poisoned, and ASan's own thread teardown then reports
 * a false stack-buffer-underflow (google/sanitizers#1399). leaver() below
 * has no local whose address is taken. */
static __attribute__((noinline)) void spans(struct slot *s, int mode)
{
	snprintf(s->id, sizeof s->id, "%d", s->i);
	if (mode == EXIT_OPEN || mode == CANCEL_OPEN) {
		/* Left open: a trace with a child span still open inside. */
		sp_trace_begin(names[mode], s->id);
		sp_trace_begin("inner", NULL);
	} else {
		SP_TRACE(names[mode], s->id) {
			SP_SPAN("inner") {
			}
		}
	}
}

static void *leaver(void *arg)
{
	struct slot *s = arg;
	int mode = s->i % 4;
	spans(s, mode);
	if (mode == EXIT_OPEN || mode == EXIT_DONE)
		pthread_exit(NULL);
	sem_post(&s->ready);
	for (;;)
		pause(); /* a cancellation point: the thread is cancelled here */
	return NULL;
}

/* Virtual and resident size, in pages (/proc/self/statm). */
static void statm(long *vsz, long *rss)
{
	FILE *f = fopen("/proc/self/statm", "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld %ld", vsz, rss), 2);
	fclose(f);
}

Test(thread_exit, eight_thousand_threads_exit_or_are_cancelled)
{
	/* glibc gives threads malloc arenas of their own, 64 MB of address
	 * space each, made as threads happen to overlap: one arena keeps the
	 * address space a measure of what spanprof maps. */
	mallopt(M_ARENA_MAX, 1);
	sp_set_enabled(true);
	static struct slot slots[LIVE];
	static pthread_t th[LIVE];
	long vsz0 = 0, rss0 = 0;
	for (int base = 0; base < THREADS; base += LIVE) {
		if (base == WARMUP)
			statm(&vsz0, &rss0);
		for (int k = 0; k < LIVE; k++) {
			slots[k].i = base + k;
			cr_assert_eq(sem_init(&slots[k].ready, 0, 0), 0);
			cr_assert_eq(pthread_create(&th[k], NULL, leaver, &slots[k]), 0);
		}
		for (int k = 0; k < LIVE; k++) {
			int mode = slots[k].i % 4;
			void *ret = NULL;
			if (mode == CANCEL_OPEN || mode == CANCEL_DONE) {
				while (sem_wait(&slots[k].ready) != 0)
					;
				cr_assert_eq(pthread_cancel(th[k]), 0);
			}
			cr_assert_eq(pthread_join(th[k], &ret), 0);
			cr_assert_eq(ret, mode == CANCEL_OPEN || mode == CANCEL_DONE ? PTHREAD_CANCELED : NULL);
			sem_destroy(&slots[k].ready);
		}
	}
	long vsz1, rss1;
	statm(&vsz1, &rss1);
	long page_kb = sysconf(_SC_PAGESIZE) / 1024;
	/* A record per thread kept would be three mappings of 4 KB or more
	 * each: 7,000 threads, 84 MB at least. The store's own growth for
	 * 7,000 small traces is well under 8 MB. */
	cr_assert_leq((vsz1 - vsz0) * page_kb, 8 * 1024, "VSZ grew %ld KB over %d threads", (vsz1 - vsz0) * page_kb,
		      THREADS - WARMUP);
#ifndef __SANITIZE_ADDRESS__
	/* Under AddressSanitizer, freed memory waits in its quarantine (256
	 * MB), resident: the resident set measures ASan there, not spanprof.
	 * The address space above still catches a record kept per thread. */
	cr_assert_leq((rss1 - rss0) * page_kb, 8 * 1024, "RSS grew %ld KB over %d threads", (rss1 - rss0) * page_kb,
		      THREADS - WARMUP);
#endif

	sp_snapshot *s = sp_snapshot_take();
	cr_assert_not_null(s);
	cr_assert_eq(sp_snapshot_count(s), THREADS, "every thread's trace stored");
	static unsigned char seen[THREADS];
	for (size_t k = 0; k < sp_snapshot_count(s); k++) {
		const sp_trace_info *t = sp_snapshot_trace(s, k);
		int i = atoi(t->id);
		cr_assert(i >= 0 && i < THREADS && !seen[i], "trace id '%s'", t->id);
		seen[i] = 1;
		int mode = i % 4;
		cr_assert_str_eq(t->name, names[mode], "trace %d", i);
		cr_assert_eq(t->dropped_spans, 0);
		char shape[32];
		snprintf(shape, sizeof shape, "%s(inner)", names[mode]);
		assert_shape(t->root, shape);
		bool open = mode == EXIT_OPEN || mode == CANCEL_OPEN;
		cr_assert_eq(t->root->abandoned, open, "trace %d (%s): closed by spanprof iff left open", i,
			     names[mode]);
		cr_assert_eq(t->root->first_child->abandoned, open, "trace %d (%s): its open span too", i,
			     names[mode]);
	}
	sp_snapshot_free(s);
}
