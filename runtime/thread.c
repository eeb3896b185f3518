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
 *
 * Attaching runs inside the thread's first hook, which may fire anywhere:
 * inside the program's own malloc or realloc, say. So it calls nothing
 * that may call the allocator or take a lock of libc's (not
 * pthread_getattr_np: it takes the thread's lock and calls realloc, which
 * deadlocked a program whose realloc is instrumented), and the record is
 * published, busy, before anything else, so that a hook firing meanwhile
 * (a signal handler, a function of the program's that libc calls back)
 * returns at once instead of attaching again.
 */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
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

/* At start, for the main thread (for others, see sp__thread_attach). */
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

/* The bounds of the mapping that holds `addr`, from /proc/self/maps, read
 * with system calls into a buffer on the stack: no allocator, no stdio, no
 * lock. Lines are sorted by address; each starts with "lo-hi " in hex. */
static bool mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	char buf[2048];
	size_t have = 0;
	bool found = false, skip = false, done = false;
	while (!done) {
		ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		char *p = buf, *end = buf + have;
		for (;;) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			if (!nl && (p > buf || have < sizeof buf))
				break; /* a partial line: read the rest */
			if (!skip) {
				uintptr_t a = 0, b = 0;
				char *q = p;
				for (; q < end && *q != '-'; q++)
					a = a << 4 | (uintptr_t)(*q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10);
				for (q++; q < end && *q != ' '; q++)
					b = b << 4 | (uintptr_t)(*q <= '9' ? *q - '0' : (*q | 0x20) - 'a' + 10);
				if (a <= addr && addr < b) {
					*lo = a;
					*hi = b;
					found = true;
				}
				if (found || a > addr) {
					done = true;
					break;
				}
			}
			if (!nl) { /* a line longer than the buffer: skip its rest */
				skip = true;
				p = end;
				break;
			}
			skip = false;
			p = nl + 1;
		}
		have = (size_t)(end - p);
		memmove(buf, p, have);
	}
	syscall(SYS_close, fd);
	return found;
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
		sp__buf_free(t->buf, t->bufsize);
		sp__budget_release(t->bufsize);
	}
	sp__unmap(t->frames, (size_t)t->cap * sizeof *t->frames);
	sp__flight_thread_free(t);
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
	struct sp__thread *t = sp__flight_thread_alloc();
	if (!t)
		return NULL;
	t->busy = 1;
	sp__tls = t; /* busy: hooks firing while we attach return at once */
	t->tid = (uint64_t)syscall(SYS_gettid);
	if ((pid_t)t->tid == main_tid && main_tid == sp__g.pid) {
		t->stack_lo = main_lo;
		t->stack_hi = main_hi;
	} else {
		/* The thread's stack and its control block (pthread_self())
		 * share one mapping, with glibc and musl, also for a stack of
		 * the program's own; the guard page is a mapping of its own.
		 * The block is at the top, with little above it: a mapping
		 * merged with one above it is cut there. Not found: bounds
		 * unknown, as stack.c allows. */
		uintptr_t self = (uintptr_t)pthread_self();
		if (!mapping_of(self, &t->stack_lo, &t->stack_hi))
			t->stack_lo = t->stack_hi = 0;
		else if (t->stack_hi - self > 65536u)
			t->stack_hi = self + 65536u;
	}
	if (!sp__grow_frames(t)) {
		sp__tls = NULL;
		sp__flight_thread_free(t);
		return NULL;
	}
	if (key_ok)
		pthread_setspecific(key, t);
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
