/* hooks.c - __cyg_profile_func_enter/exit, called around every function
 * of a program built with -finstrument-functions. The hot path.
 *
 * Off (no pattern set, or recording off): one load of sp__g.hooks and a
 * branch. On, for a function outside any traced scope: the thread pointer,
 * one probe of the decision cache, a compare. Inside a scope: the frame
 * push and one record append, with one clock read at each end.
 *
 * Everything unusual goes out of line: the first call on a thread
 * (sp__thread_attach), the first call of a function (sp__decide), frames
 * that are not where a plain call would put them (sp__resolve,
 * sp__exit_slow). The functions that make system calls preserve errno
 * themselves, so the fast path never touches it. The `busy` flag makes hooks that fire
 * inside the runtime (a signal handler interrupting a hook, say) return at
 * once.
 */
#include "stack.h"
#include "hooks_stub.h"

#include <errno.h>
#include <stdio.h>

SP_COLD static struct sp__thread *attach_slow(void)
{
	int e = errno;
	struct sp__thread *t = sp__thread_attach();
	errno = e;
	return t;
}

SP_COLD static uint32_t decide_slow(struct sp__thread *t, uintptr_t fn, uint32_t *size)
{
	int e = errno;
	t->busy = 1;
	uint32_t v = sp__decide(fn, size);
	t->busy = 0;
	errno = e;
	return v;
}

/* A function-rooted trace's id: the number of the call, per function. */
SP_COLD static void set_call_id(struct sp__thread *t, uint32_t site)
{
	const struct sp__site *s = sp__site_get(site);
	if (!s)
		return;
	uint64_t n = atomic_fetch_add((atomic_uint_fast64_t *)&s->calls, 1) + 1;
	char tmp[24];
	size_t at = sizeof tmp;
	do {
		tmp[--at] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	sp__set_trace_id(t, tmp + at, sizeof tmp - at);
}


/* Reading arguments unwinds a frame: microseconds. The span starts again
 * after it, so that the function's time does not include it. */
SP_COLD static void capture_args(struct sp__thread *t, struct sp__frame *f, uint32_t site)
{
	int e = errno;
	sp__capture_args(t, f, site);
	errno = e;
	/* The reading (the first call reads DWARF) is not the function's
	 * time, nor its CPU time when it is the trace's root. */
	if (f == &t->frames[0])
		sp__cpu_read(&t->cpu0);
	((struct sp__span_rec *)sp__rec(t, f->slot))->t0 = sp__now();
}

/* Open the frame of an instrumented function. Out of line, and called as
 * a tail call: the hooks' fast paths then need no stack frame at all
 * (inlined, its register saves would be paid by every call, in scope or
 * not). */
__attribute__((noinline)) static void record_enter(struct sp__thread *t, uintptr_t fn, uintptr_t cs, uintptr_t sp,
						   uint64_t vs, uintptr_t pc)
{
	uint32_t v = (uint32_t)vs, size = (uint32_t)(vs >> 32), hpc = sp__hpc(pc);
	t->busy = 1;
	if (SP_UNLIKELY(t->overflow)) {
		t->overflow++;
		goto out;
	}
	if (t->depth && SP_UNLIKELY(!sp__top_is_parent(&t->frames[t->depth - 1], cs, sp, hpc)))
		sp__resolve(t, cs, sp, hpc); /* may close frames, and the scope */
	uint16_t flags = SP_FF_HOOK;
	struct sp__frame *f;
	if ((v & SP_FN_EXCL) && !(v & (SP_FN_CALLS | SP_FN_TRACE))) {
		/* Not a span, but its callees still are, under its parent. */
		if (!t->scope)
			goto out;
		f = sp__open_pass(t, flags);
	} else {
		if (!(v & SP_FN_RECORD) && !t->scope)
			goto out;
		/* Only these may start a trace; a cumulative one needs a parent. */
		if (!t->depth && !(v & (SP_FN_CALLS | SP_FN_TRACE | SP_FN_SPAN)))
			goto out;
		if (v & SP_FN_CALLS)
			flags |= SP_FF_SCOPE;
		if (v & SP_FN_TRACE)
			flags |= SP_FF_TRACE;
		if (v & SP_FN_ARGS)
			flags |= SP_FF_ARGS;
		f = sp__open(t, v & SP_FN_SITE_MASK, flags, (v & SP_FN_CUMUL) != 0);
		if (f && t->depth == 1 && f->kind == SP_FRAME_SPAN)
			set_call_id(t, v & SP_FN_SITE_MASK);
	}
	if (SP_UNLIKELY(!f))
		goto out;
	f->fn = fn;
	f->sp = sp;
	f->cs = cs;
	f->fnsize = size;
	f->hpc = hpc;
	if (flags & SP_FF_SCOPE)
		t->scope++;
	if (SP_UNLIKELY(flags & SP_FF_ARGS) && f->kind == SP_FRAME_SPAN)
		capture_args(t, f, v & SP_FN_SITE_MASK);
out:
	t->busy = 0;
}

/* The first call on a thread, or of a function. `pc`: where the enter
 * hook returns to. */
SP_COLD static void enter_slow(uintptr_t fn, uintptr_t cs, uintptr_t sp, uintptr_t pc)
{
	struct sp__thread *t = sp__tls;
	if (!t) {
		t = attach_slow();
		if (!t)
			return;
	}
	if (t->busy)
		return;
	uint32_t size = 0;
	uint32_t v = sp__cache_get(fn, &size);
	if (!v) {
		v = decide_slow(t, fn, &size);
		if (!v)
			return;
	}
	if (!(v & SP_FN_RECORD) && !t->scope) {
		if (!atomic_load_explicit(sp__skip_slot(fn), memory_order_relaxed))
			sp__skip_add(fn);
		return;
	}
	record_enter(t, fn, cs, sp, v | (uint64_t)size << 32, pc);
}

/* `pc`: where the enter hook returns to (see sp__hpc). The cache entry's
 * value and size travel as one word (adjacent: one load), so that
 * record_enter's six arguments all fit in registers and the hook still
 * reaches it by a tail call. */
SP_INLINE void hook_enter(uintptr_t fn, uintptr_t cs, uintptr_t sp, uintptr_t pc)
{
	struct sp__thread *t = sp__tls;
	if (SP_UNLIKELY(!t))
		return enter_slow(fn, cs, sp, pc);
	/* Out of scope, a function in the filter records nothing (busy or
	 * not: a busy thread returns too). The scope first: inside one, the
	 * filter is no use, and one load is all it costs there. */
	if (SP_LIKELY(!t->scope) && SP_LIKELY(sp__skip_has(fn)))
		return;
	if (SP_UNLIKELY(t->busy))
		return;
	const struct sp__centry *e = sp__cache_find(fn);
	if (SP_UNLIKELY(!e))
		return enter_slow(fn, cs, sp, pc);
	uint64_t vs = (uint64_t)e->val | (uint64_t)e->size << 32;
	if (!((uint32_t)vs & SP_FN_RECORD) && !t->scope) {
		/* out of scope, and not in the filter: its slot is taken, or
		 * it is free and this function takes it */
		if (SP_UNLIKELY(!atomic_load_explicit(sp__skip_slot(fn), memory_order_relaxed)))
			sp__skip_add(fn);
		return;
	}
	record_enter(t, fn, cs, sp, vs, pc);
}

__attribute__((noinline)) static void exit_pop(struct sp__thread *t)
{
	sp_ticks_t now = sp__now();
	t->busy = 1;
	sp__pop(t, now, false);
	t->busy = 0;
}

__attribute__((noinline)) static void exit_slow(struct sp__thread *t, uintptr_t fn, uintptr_t cs, uintptr_t sp,
						bool tail)
{
	t->busy = 1;
	sp__exit_slow(t, fn, cs, sp, tail);
	t->busy = 0;
}

/* An exit. gcc calls the exit hook either from inside the function (`sp`
 * is then the function's stack pointer, as at its enter) or, when nothing
 * follows it, as a tail call after the frame is gone (`sp` is then the
 * function's CFA, above its stack pointer; the hook's own return address is
 * the function's). The top frame is the function's when it has the same
 * function and return address and sits where the exit says: at `sp` or
 * above it (VLAs lower the stack pointer before the exit), or, for a tail
 * call, below `sp` with the next frame at or above it. */
SP_INLINE void hook_exit(uintptr_t fn, uintptr_t cs, uintptr_t sp, bool tail)
{
	struct sp__thread *t = sp__tls;
	/* No open frame first: out of scope, the whole test (busy or not,
	 * the exit then returns). */
	if (SP_UNLIKELY(!t) || !t->depth || SP_UNLIKELY(t->busy))
		return;
	if (SP_UNLIKELY(t->overflow)) {
		t->overflow--;
		return;
	}
	const struct sp__frame *f = &t->frames[t->depth - 1];
	if (SP_LIKELY(f->fn == fn && f->cs == cs)) {
		bool mine = tail ? f->sp < sp && (t->depth == 1 || f[-1].sp >= sp) : f->sp >= sp;
		if (SP_LIKELY(mine))
			return exit_pop(t);
	} else if (f->sp >= sp) {
		return; /* no frame of its own (out of scope, or inlined into the top's activation) */
	}
	exit_slow(t, fn, cs, sp, tail);
}

/* ------------------------------------------------------------------------
 * The entry points.
 *
 * Disabled, the hooks' whole cost is the call into them: gcc emits a call
 * to each hook around every function, and the hook loads a flag and
 * returns. In a static link, that is a direct call and one load of a
 * variable at a fixed offset from the code. Linked with libspanprof.so,
 * it used to be a call through the GOT into the .so (an indirect call: a
 * branch-target prediction, a load of the GOT entry, and another page of
 * code), ~2 ns more a call on the machines this was measured on
 * (tests/bench: "disabled" vs "disabled_oldlink"; instruction counts are
 * the same, the cost is the indirect transfer).
 *
 * So `pkg-config --libs spanprof` links a stub before the library:
 * libspanprof_hooks.a (hooks_stub.c) defines __cyg_profile_func_enter and
 * _exit in the program itself. The stub tests its own flag, a static
 * variable of the executable (or of the instrumented library it is linked
 * into: one stub, one flag, per module) reached PC-relative: one load and
 * a branch, as in the static runtime. Only when it is set does the stub
 * tail-call into the runtime (sp__hook_enter/exit below), which tests
 * sp__g.hooks again and runs the hot path. The flag is the runtime's to
 * set: the stub's constructor registers its address (sp__hooks_register),
 * and sp__hooks_publish writes every registered flag whenever sp__g.hooks
 * changes; the stub's destructor unregisters (an instrumented library
 * linked with the stub may be dlclosed). A stub starts with its flag at 1,
 * "ask the runtime", which is correct at any time, only slower: before its
 * constructor ran, when the registry is full, or when a publish could not
 * take the lock (a signal handler interrupting this thread inside the
 * runtime). A flag stuck at 0 would lose calls, so a flag is only ever
 * written under the lock, with the value sp__g.hooks has under it.
 *
 * Rejected: a flag exported by the .so and read by the stub. In a non-PIE
 * executable that is a copy relocation (one load), but gcc reaches extern
 * data through the GOT in PIC code (two dependent loads), and a stub built
 * non-PIC cannot be linked into an instrumented shared library.
 *
 * Programs linked the old way (-lspanprof only, or the static library
 * without the stub) use the library's own __cyg_profile_func_enter/exit,
 * below. They are weak, so that with the static library and the stub
 * both in the link (pkg-config --static), the stub's strong definitions
 * win and pulling hooks.o for sp__hook_enter is no duplicate.
 *
 * Enabled, out of any scope: the thread pointer (initial-exec TLS), one
 * load of the out-of-scope filter (internal.h, sp__skip) and the thread's
 * scope count. Decisions that matter out of scope are the functions with
 * an SP_FN_RECORD bit (roots, trace_all, args, cumulative); everything
 * else, once seen, sits in the filter unless its slot is taken, and then
 * costs one probe of the decision cache.
 */
#define SP_STUBS 64
static int *stubs[SP_STUBS]; /* under sp__site_lock (held across fork) */

void sp__hooks_publish(int on)
{
	bool locked = sp__lock(&sp__site_lock);
	atomic_store(&sp__g.hooks, on);
	if (!locked)
		return; /* the stubs' flags may stay at 1: correct, slower */
	for (int i = 0; i < SP_STUBS; i++)
		if (stubs[i])
			__atomic_store_n(stubs[i], on, __ATOMIC_RELAXED);
	sp__unlock(&sp__site_lock);
}

SP_API void sp__hooks_register(int *flag)
{
	if (!sp__lock(&sp__site_lock))
		return;
	for (int i = 0; i < SP_STUBS; i++)
		if (!stubs[i]) {
			stubs[i] = flag;
			__atomic_store_n(flag, atomic_load(&sp__g.hooks), __ATOMIC_RELAXED);
			break;
		}
	sp__unlock(&sp__site_lock);
}

SP_API void sp__hooks_unregister(int *flag)
{
	if (!sp__lock(&sp__site_lock))
		return; /* cannot happen: never called from a handler inside the runtime */
	for (int i = 0; i < SP_STUBS; i++)
		if (stubs[i] == flag)
			stubs[i] = NULL;
	sp__unlock(&sp__site_lock);
}

SP_API __attribute__((no_instrument_function, hot)) void sp__hook_enter(void *fn, void *call_site, uintptr_t cfa,
									uintptr_t ret)
{
	if (SP_LIKELY(!atomic_load_explicit(&sp__g.hooks, memory_order_relaxed)))
		return;
	hook_enter((uintptr_t)fn, (uintptr_t)call_site, cfa, ret);
}

SP_API __attribute__((no_instrument_function, hot)) void sp__hook_exit(void *fn, void *call_site, uintptr_t cfa,
								       uintptr_t ret)
{
	if (SP_LIKELY(!atomic_load_explicit(&sp__g.hooks, memory_order_relaxed)))
		return;
	hook_exit((uintptr_t)fn, (uintptr_t)call_site, cfa, ret == (uintptr_t)call_site);
}

SP_API __attribute__((weak, no_instrument_function, hot)) void __cyg_profile_func_enter(void *fn, void *call_site)
{
	if (SP_LIKELY(!atomic_load_explicit(&sp__g.hooks, memory_order_relaxed)))
		return;
	hook_enter((uintptr_t)fn, (uintptr_t)call_site, (uintptr_t)__builtin_dwarf_cfa(),
		   (uintptr_t)__builtin_return_address(0));
}

SP_API __attribute__((weak, no_instrument_function, hot)) void __cyg_profile_func_exit(void *fn, void *call_site)
{
	if (SP_LIKELY(!atomic_load_explicit(&sp__g.hooks, memory_order_relaxed)))
		return;
	hook_exit((uintptr_t)fn, (uintptr_t)call_site, (uintptr_t)__builtin_dwarf_cfa(),
		  __builtin_return_address(0) == call_site);
}
