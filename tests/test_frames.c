/* test_frames.c - frames the hooks must tell apart: calls made again after
 * a longjmp, a coroutine whose stack lies in its caller's frame, and a
 * thread starting in a program with an allocator of its own.
 *
 * Built with -finstrument-functions at -O2 and run with (tests/meson.build):
 *   SPANPROF_TRACE_CALLS=jloop_root,uctx_root,uctx_root2,uctx_thread3
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spanprof.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "test_util.h"

static volatile int sink;

static size_t count_abandoned(const sp_node *n)
{
	size_t c = n->abandoned;
	for (const sp_node *k = n->first_child; k; k = k->next_sibling)
		c += count_abandoned(k);
	return c;
}

/* The only trace of the snapshot whose name is `name`. */
static const sp_trace_info *only_trace(sp_snapshot *s, const char *name)
{
	const sp_trace_info *hit = NULL;
	for (size_t i = 0; i < sp_snapshot_count(s); i++)
		if (!strcmp(sp_snapshot_trace(s, i)->name, name)) {
			cr_assert_null(hit, "one trace named %s", name);
			hit = sp_snapshot_trace(s, i);
		}
	cr_assert_not_null(hit, "a trace named %s", name);
	return hit;
}

/* ------------------------------------------------------------------------
 * setjmp in a loop: each pass calls jloop_dive again from the same call
 * site, at the same stack pointer, after the previous chain was left by
 * longjmp from its deepest call. The new chain is a sibling of the old
 * one, not its child.
 */
static jmp_buf jloop_jb;
static volatile int jloop_jump = 1;
NOINLINE void jloop_dive(int n)
{
	if (n == 0) {
		if (jloop_jump)
			longjmp(jloop_jb, 1);
		return;
	}
	jloop_dive(n - 1);
	sink = n;
}
NOINLINE void jloop_handle(void)
{
	for (volatile int i = 0; i < 3; i++)
		if (setjmp(jloop_jb) == 0)
			jloop_dive(2);
}
NOINLINE void jloop_root(void) { jloop_handle(); }

Test(frames, calls_repeated_after_longjmp_in_a_loop_are_siblings)
{
	sp_set_enabled(true);
	jloop_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "jloop_root");
	assert_shape(t->root, "jloop_root(jloop_handle("
			      "jloop_dive(jloop_dive(jloop_dive)),"
			      "jloop_dive(jloop_dive(jloop_dive)),"
			      "jloop_dive(jloop_dive(jloop_dive))))");
	cr_assert_eq(count_abandoned(t->root), 9, "the three chains were left by longjmp");
	cr_assert_not(t->root->abandoned);
	cr_assert_not(t->root->first_child->abandoned);
	sp_snapshot_free(s);
	sp_clear();
}

/* ------------------------------------------------------------------------
 * A coroutine whose stack is an array in its caller's frame (after
 * uftrace's t014_ucontext): uctx_bar runs on a stack that lies above
 * uctx_root's stack pointer, inside uctx_root's frame. That is a switch to
 * another stack, not an unwind past uctx_root and uctx_foo.
 */
static ucontext_t uctx_main, uctx_co;
NOINLINE void uctx_bar(void) { sink = 21; }
NOINLINE void uctx_foo(void)
{
	if (swapcontext(&uctx_main, &uctx_co) != 0)
		sink = -1;
}
NOINLINE void uctx_baz(void) { sink = 22; }
NOINLINE void uctx_root(void)
{
	char stack[8192];
	if (getcontext(&uctx_co) != 0)
		return;
	uctx_co.uc_stack.ss_sp = stack;
	uctx_co.uc_stack.ss_size = sizeof stack;
	uctx_co.uc_link = &uctx_main;
	makecontext(&uctx_co, uctx_bar, 0);
	uctx_foo();
	uctx_baz();
}

Test(frames, a_coroutine_on_a_stack_in_its_callers_frame)
{
	sp_set_enabled(true);
	uctx_root();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "uctx_root");
	assert_shape(t->root, "uctx_root(uctx_foo(uctx_bar),uctx_baz)");
	cr_assert_eq(count_abandoned(t->root), 0);
	sp_snapshot_free(s);
	sp_clear();
}

/* The same one level down, with a stack larger than the 64 KiB a return
 * address is looked for above a new call: the array is in uctx_host's
 * frame, under the trace's root. */
static ucontext_t uctx_main2, uctx_co2;
NOINLINE void uctx_bar2(void) { sink = 23; }
NOINLINE void uctx_foo2(void)
{
	if (swapcontext(&uctx_main2, &uctx_co2) != 0)
		sink = -1;
}
NOINLINE void uctx_baz2(void) { sink = 24; }
NOINLINE void uctx_host(void)
{
	char stack[256 << 10];
	if (getcontext(&uctx_co2) != 0)
		return;
	uctx_co2.uc_stack.ss_sp = stack;
	uctx_co2.uc_stack.ss_size = sizeof stack;
	uctx_co2.uc_link = &uctx_main2;
	makecontext(&uctx_co2, uctx_bar2, 0);
	uctx_foo2();
	uctx_baz2();
}
NOINLINE void uctx_root2(void)
{
	uctx_host();
	uctx_baz2();
}

Test(frames, a_coroutine_on_a_large_stack_in_a_frame_under_the_root)
{
	sp_set_enabled(true);
	uctx_root2();
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "uctx_root2");
	assert_shape(t->root, "uctx_root2(uctx_host(uctx_foo2(uctx_bar2),uctx_baz2),uctx_baz2)");
	cr_assert_eq(count_abandoned(t->root), 0);
	sp_snapshot_free(s);
	sp_clear();
}

/* Both kinds of coroutine stack on a thread other than the main one, whose
 * stack bounds are found differently: an array in the thread's frame (on
 * the thread's stack) and a block from malloc (off it). */
static ucontext_t uctx_main3, uctx_co3;
NOINLINE void uctx_bar3(void) { sink = 25; }
NOINLINE void uctx_heap3(void) { sink = 26; }
NOINLINE void uctx_foo3(void)
{
	if (swapcontext(&uctx_main3, &uctx_co3) != 0)
		sink = -1;
}
NOINLINE void uctx_baz3(void) { sink = 27; }
NOINLINE static void uctx_run3(void *stack, size_t size, void (*fn)(void))
{
	if (getcontext(&uctx_co3) != 0)
		return;
	uctx_co3.uc_stack.ss_sp = stack;
	uctx_co3.uc_stack.ss_size = size;
	uctx_co3.uc_link = &uctx_main3;
	makecontext(&uctx_co3, fn, 0);
}
NOINLINE void *uctx_thread3(void *arg)
{
	char stack[16384];
	uctx_run3(stack, sizeof stack, uctx_bar3);
	uctx_foo3();
	uctx_baz3();
	void *heap = malloc(65536);
	cr_assert_not_null(heap);
	uctx_run3(heap, 65536, uctx_heap3);
	uctx_foo3();
	uctx_baz3();
	free(heap);
	return arg;
}

Test(frames, coroutines_on_a_thread)
{
	sp_set_enabled(true);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, uctx_thread3, NULL), 0);
	cr_assert_eq(pthread_join(th, NULL), 0);
	sp_snapshot *s = sp_snapshot_take();
	const sp_trace_info *t = only_trace(s, "uctx_thread3");
	assert_shape(t->root, "uctx_thread3(uctx_run3,uctx_foo3(uctx_bar3),uctx_baz3,"
			      "uctx_run3,uctx_foo3(uctx_heap3),uctx_baz3)");
	cr_assert_eq(count_abandoned(t->root), 0);
	sp_snapshot_free(s);
	sp_clear();
}

/* ------------------------------------------------------------------------
 * A thread starting in a program with an instrumented realloc of its own
 * (tests/hooks/malloc_tsd.c). It used to deadlock: run it as a child under
 * a watchdog, so that a regression fails instead of hanging.
 */
Test(frames, a_thread_starts_in_a_program_with_its_own_allocator)
{
	const char *prog = getenv("SP_TEST_MALLOC_TSD");
	cr_assert_not_null(prog);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		setenv("SPANPROF_TRACE_CALLS", "main,tsd_thread", 1);
		setenv("SPANPROF_OUTPUT", "", 1);
		alarm(60); /* kept across exec: the watchdog */
		execl(prog, prog, (char *)NULL);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_not(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM, "the program hung");
	cr_assert(WIFEXITED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	cr_assert_eq(WEXITSTATUS(st), 0, "status %d (see tests/hooks/malloc_tsd.c)", WEXITSTATUS(st));
}
