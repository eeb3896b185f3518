/* probes.c - the manual API: SP_TRACE, SP_SPAN, SP_SCOPE, SP_CUMULATIVE,
 * data setters, and moving a stack of spans between threads or stacks.
 *
 * The macros in spanprof.h test sp__on inline and call here only when
 * recording. A probe's frame records its caller's stack pointer, like a
 * hook's, so that manual and hook spans nest in one tree and a frame left
 * open by a longjmp is closed by the next probe that notices it.
 *
 * A probe's handle is (depth << 32) | serial of its frame: ending a span
 * closes whatever is still open above it (marked abandoned) and then it;
 * ending a span that is already gone does nothing.
 */
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sp__on;

#define CTX_MAGIC 0x73706378u

struct sp_context {
	uint32_t magic;
	uint64_t tid;         /* the thread it was saved on */
	struct sp__cur cur;   /* its open spans, their trace and its CPU begin reading */
};

static struct sp__thread *thread(void)
{
	struct sp__thread *t = sp__tls;
	if (SP_UNLIKELY(!t)) {
		int e = errno;
		t = sp__thread_attach();
		errno = e;
	}
	return t && !t->busy ? t : NULL;
}

/* Open a manual frame for `site` below the caller at (pc, sp); NULL if
 * nothing was opened. */
static struct sp__frame *open_manual(struct sp__thread *t, uint32_t site, uint16_t flags, bool cumul,
				     uintptr_t pc, uintptr_t sp)
{
	if (!site)
		return NULL;
	if (t->depth && !sp__top_is_parent(&t->frames[t->depth - 1], pc, sp, 0))
		sp__resolve(t, pc, sp, 0);
	if (cumul && !t->depth)
		return NULL; /* a cumulative node needs a parent */
	struct sp__frame *f = sp__open(t, site, flags, cumul);
	if (!f) {
		t->overflow--; /* only hooks count enters past the limit */
		return NULL;
	}
	f->sp = sp;
	f->cs = pc;
	return f;
}

SP_INLINE uint64_t handle_of(const struct sp__thread *t, const struct sp__frame *f)
{
	return f ? (uint64_t)t->depth << 32 | f->serial : 0;
}

static uint64_t probe_begin(struct sp_srcloc *loc, bool cumul, uintptr_t pc, uintptr_t sp)
{
	struct sp__thread *t = thread();
	if (!t || !loc)
		return 0;
	t->busy = 1;
	uint32_t site = __atomic_load_n(&loc->id, __ATOMIC_ACQUIRE);
	if (SP_UNLIKELY(!site))
		site = sp__site_for_probe(loc);
	struct sp__frame *f = open_manual(t, site, 0, cumul, pc, sp);
	if (SP_UNLIKELY(sp__cfg.span_cpu) && f && !cumul && f->kind == SP_FRAME_SPAN)
		sp__span_cpu_open(t, f);
	t->busy = 0;
	return handle_of(t, f);
}

SP_API uint64_t sp__span_begin(struct sp_srcloc *loc)
{
	return probe_begin(loc, false, (uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_dwarf_cfa());
}

SP_API uint64_t sp__cumulative_begin(struct sp_srcloc *loc)
{
	return probe_begin(loc, true, (uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_dwarf_cfa());
}

/* A trace begun inside an open span is a child span of it, with its id as
 * data, as a command that calls another command. */
static struct sp__frame *trace_begin(struct sp__thread *t, const char *name, const char *id, uintptr_t pc,
				     uintptr_t sp)
{
	uint32_t site = sp__site_for_name(name);
	bool nested = t->depth > 0;
	struct sp__frame *f = open_manual(t, site, SP_FF_TRACE, false, pc, sp);
	if (!f)
		return NULL;
	if (!nested)
		sp__set_trace_id(t, id, id ? strnlen(id, sp__cfg.str_max) : 0);
	else if (id && *id && f->kind == SP_FRAME_SPAN)
		sp__add_data(t, f->ord, false, SP_VALUE_STR, "id", 0, id);
	return f;
}

SP_API uint64_t sp__trace_begin_scope(const char *name, const char *id)
{
	struct sp__thread *t = thread();
	if (!t)
		return 0;
	t->busy = 1;
	struct sp__frame *f = trace_begin(t, name, id, (uintptr_t)__builtin_return_address(0),
					  (uintptr_t)__builtin_dwarf_cfa());
	t->busy = 0;
	return handle_of(t, f);
}

SP_API void sp__scope_end(uint64_t frame)
{
	sp_ticks_t now = sp__now();
	uint32_t depth = (uint32_t)(frame >> 32), serial = (uint32_t)frame;
	struct sp__thread *t = sp__tls;
	if (!t || t->busy || depth == 0 || depth > t->depth || t->frames[depth - 1].serial != serial)
		return; /* already closed (by a longjmp seen since, or an outer end) */
	t->busy = 1;
	sp__pop_to(t, depth, now, true);
	if (SP_UNLIKELY(sp__cfg.span_cpu))
		sp__span_cpu_close(t, depth);
	sp__pop(t, now, false);
	t->busy = 0;
}

SP_API void sp_trace_begin(const char *name, const char *id)
{
	if (!sp__recording())
		return;
	struct sp__thread *t = thread();
	if (!t)
		return;
	t->busy = 1;
	struct sp__frame *f = trace_begin(t, name, id, (uintptr_t)__builtin_return_address(0),
					  (uintptr_t)__builtin_dwarf_cfa());
	/* Not tied to a C scope: it may end in another function, or on another
	 * thread, so its stack pointer must never make it look dead. */
	if (f)
		f->sp = SP_SP_UNKNOWN;
	t->busy = 0;
}

SP_API void sp_trace_end(void)
{
	sp_ticks_t now = sp__now();
	struct sp__thread *t = sp__tls;
	if (!t || t->busy)
		return;
	uint32_t i = t->depth;
	while (i > 0 && !(t->frames[i - 1].flags & SP_FF_TRACE))
		i--;
	if (!i)
		return;
	t->busy = 1;
	sp__pop_to(t, i, now, true);
	sp__pop(t, now, false);
	t->busy = 0;
}

/* ------------------------------------------------------------------------
 * Data
 */
SP_API sp_span *sp_current_span(void)
{
	struct sp__thread *t = sp__tls;
	if (!sp__recording() || !t || !t->depth)
		return NULL;
	uint32_t owner = t->frames[t->depth - 1].owner;
	return owner == SP_NONE ? NULL : (sp_span *)&t->frames[owner];
}

static void span_set(sp_span *span, const char *key, sp_value_type type, uint64_t num, const char *str)
{
	struct sp__thread *t = sp__tls;
	if (!span || !key || !t || t->busy || !t->depth)
		return;
	uintptr_t p = (uintptr_t)span, base = (uintptr_t)t->frames;
	if (p < base || p >= base + (size_t)t->depth * sizeof(struct sp__frame) ||
	    (p - base) % sizeof(struct sp__frame))
		return; /* stale, or another thread's */
	const struct sp__frame *f = (const struct sp__frame *)p;
	if (f->kind != SP_FRAME_SPAN)
		return;
	t->busy = 1;
	sp__add_data(t, f->ord, false, type, key, num, str);
	t->busy = 0;
}

SP_API void sp_span_set_i64(sp_span *s, const char *key, int64_t v)
{
	span_set(s, key, SP_VALUE_I64, (uint64_t)v, NULL);
}

SP_API void sp_span_set_u64(sp_span *s, const char *key, uint64_t v)
{
	span_set(s, key, SP_VALUE_U64, v, NULL);
}

SP_API void sp_span_set_f64(sp_span *s, const char *key, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, 8);
	span_set(s, key, SP_VALUE_F64, bits, NULL);
}

SP_API void sp_span_set_str(sp_span *s, const char *key, const char *v)
{
	span_set(s, key, SP_VALUE_STR, 0, v);
}

SP_API void sp_span_set_bool(sp_span *s, const char *key, bool v)
{
	span_set(s, key, SP_VALUE_BOOL, v ? 1 : 0, NULL);
}

/* Trace-level data goes to the innermost trace: the whole trace when it is
 * the outermost one (or an implicit trace), else the nested trace's span. */
static void trace_set(const char *key, sp_value_type type, uint64_t num, const char *str)
{
	struct sp__thread *t = sp__tls;
	if (!key || !t || t->busy || !t->depth)
		return;
	uint32_t i = t->depth;
	while (i > 1 && !(t->frames[i - 1].flags & SP_FF_TRACE))
		i--;
	const struct sp__frame *f = &t->frames[i - 1];
	if (f->kind != SP_FRAME_SPAN)
		return;
	t->busy = 1;
	sp__add_data(t, f->ord, i == 1, type, key, num, str);
	t->busy = 0;
}

SP_API void sp_trace_set_i64(const char *key, int64_t v)
{
	trace_set(key, SP_VALUE_I64, (uint64_t)v, NULL);
}

SP_API void sp_trace_set_u64(const char *key, uint64_t v)
{
	trace_set(key, SP_VALUE_U64, v, NULL);
}

SP_API void sp_trace_set_f64(const char *key, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, 8);
	trace_set(key, SP_VALUE_F64, bits, NULL);
}

SP_API void sp_trace_set_str(const char *key, const char *v)
{
	trace_set(key, SP_VALUE_STR, 0, v);
}

SP_API void sp_trace_set_bool(const char *key, bool v)
{
	trace_set(key, SP_VALUE_BOOL, v ? 1 : 0, NULL);
}

/* ------------------------------------------------------------------------
 * Context: move a thread's open spans into a handle and back.
 */
SP_API sp_context *sp_context_save(void)
{
	struct sp__thread *t = sp__tls;
	if (!t || t->busy || !t->depth || t->overflow)
		return NULL;
	struct sp_context *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	c->magic = CTX_MAGIC;
	c->tid = t->tid;
	c->cur = t->cur;
	t->nspan_cpu = 0; /* the open spans' readings stay behind: not measured */
	/* The thread starts afresh, its serials going on; its next span
	 * allocates new buffers. */
	uint32_t serial = t->serial;
	t->cur = (struct sp__cur){ .serial = serial };
	return c;
}

SP_API int sp_context_restore(sp_context *c)
{
	if (!c)
		return 0;
	if (c->magic != CTX_MAGIC)
		return -EINVAL;
	struct sp__thread *t = sp__tls;
	if (!t) {
		int e = errno;
		t = sp__thread_attach();
		errno = e;
		if (!t)
			return -ENOMEM;
	}
	if (t->busy || t->depth)
		return -EBUSY;
	if (t->buf) {
		sp__buf_free(t->buf, t->bufsize);
		sp__budget_release(t->bufsize);
	}
	sp__unmap(t->frames, (size_t)t->cap * sizeof *t->frames);
	/* Serials go on from the larger of the two, so no stale handle of
	 * either side matches a new frame by accident. */
	uint32_t serial = c->cur.serial > t->serial ? c->cur.serial : t->serial;
	t->cur = c->cur;
	t->serial = serial;
	/* Another thread's CPU reading means nothing against this one's. */
	if (c->tid != t->tid)
		t->cpu0.flags = 0;
	t->nspan_cpu = 0;
	if (c->tid != t->tid) /* another thread's stack: its addresses mean nothing here */
		for (uint32_t i = 0; i < t->depth; i++)
			t->frames[i].sp = SP_SP_UNKNOWN;
	c->magic = 0;
	free(c);
	return 0;
}
