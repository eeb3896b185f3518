/* thread.c - one record per thread, made on the thread's first probe.
 *
 * The record is mmap'd and reached through a single initial-exec TLS
 * pointer: initial-exec keeps the hooks free of __tls_get_addr calls
 * (shared/notes/DEPS.md 7.3), and one pointer is small enough to fit
 * glibc's static TLS surplus even when libspanprof is dlopen'ed.
 *
 * At thread exit (a pthread key destructor) the thread's open spans are
 * closed and its trace stored; the pointer then points at a record that
 * is always busy, so hooks that run later in the thread's teardown do
 * nothing instead of making a new record.
 */
#include "stack.h"

#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct sp__thread *sp__tls __attribute__((tls_model("initial-exec")));

static pthread_key_t key;
static bool key_ok;
static struct sp__thread dead_thread = { .busy = 1, .dead = true };
static uintptr_t main_lo, main_hi;
static pid_t main_tid;

static void stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;
	*lo = *hi = 0;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
		*lo = (uintptr_t)addr;
		*hi = (uintptr_t)addr + size;
	}
	pthread_attr_destroy(&attr);
}

static void thread_exit(void *p)
{
	struct sp__thread *t = p;
	if (!t || t->dead)
		return;
	t->busy = 1;
	sp__close_all(t, SP_TRACE_CLOSED);
	sp__tls = &dead_thread;
	if (t->buf) {
		sp__unmap(t->buf, t->bufsize);
		sp__budget_release(t->bufsize);
	}
	sp__unmap(t->frames, (size_t)t->cap * sizeof *t->frames);
	sp__unmap(t, sizeof *t);
}

void sp__threads_init(void)
{
	key_ok = pthread_key_create(&key, thread_exit) == 0;
	main_tid = (pid_t)syscall(SYS_gettid);
	/* The main thread's bounds come from /proc/self/maps: read them now,
	 * not in a hook. */
	stack_bounds(&main_lo, &main_hi);
}

struct sp__thread *sp__thread_attach(void)
{
	if (!sp__g.initialized || sp__tls)
		return NULL;
	struct sp__thread *t = sp__map(sizeof *t);
	if (!t)
		return NULL;
	t->busy = 1;
	t->tid = (uint64_t)syscall(SYS_gettid);
	if ((pid_t)t->tid == main_tid && main_tid == sp__g.pid) {
		t->stack_lo = main_lo;
		t->stack_hi = main_hi;
	} else {
		stack_bounds(&t->stack_lo, &t->stack_hi);
	}
	if (!sp__grow_frames(t)) {
		sp__unmap(t, sizeof *t);
		return NULL;
	}
	if (key_ok)
		pthread_setspecific(key, t);
	sp__tls = t;
	t->busy = 0;
	return t;
}

/* In a fork child only the forking thread exists: it starts over with no
 * open span (the spans it had belong to the parent's traces). */
void sp__thread_fork_child(void)
{
	struct sp__thread *t = sp__tls;
	main_tid = (pid_t)syscall(SYS_gettid);
	if (!t || t->dead)
		return;
	t->depth = t->scope = t->cumul = t->overflow = 0;
	t->pos = 0;
	t->nrec = 0;
	t->dropped = t->iterations = 0;
	t->tid = (uint64_t)main_tid;
	t->busy = 0;
}
