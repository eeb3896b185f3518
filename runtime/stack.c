/* stack.c - opening and closing frames, and telling dead frames from live.
 *
 * Opening a frame appends a record to the thread's trace buffer (a span
 * record, or the first iteration of a cumulative node) and pushes a frame;
 * closing it patches the end tick (or adds the iteration to the node) and
 * pops it. When the last frame closes, the trace is committed.
 *
 * Dead frames. Enter and exit hooks do not always pair up: longjmp and
 * siglongjmp skip exits, exit() leaves everything open, C++ exceptions
 * unwinding through uninstrumented frames skip them too. Each frame records
 * the stack pointer of the function that opened it (the CFA of the hook
 * call, which is the instrumented function's own stack pointer), and stacks
 * grow down, so:
 *   - on an exit of F at stack pointer S, every frame above F's with
 *     sp <= S belongs to a call that has already returned;
 *   - on an enter of G at S, every frame with sp < S is dead; a frame with
 *     sp == S is G's own activation if G was inlined there (same return
 *     address, and another call to the enter hook: see sp__hpc in
 *     stack.h; the same call to the hook means a previous call of G from
 *     the same place, left by longjmp) or a manual span of the same
 *     function; a frame with sp > S is live unless it lies inside G's
 *     caller's part of the stack, i.e. below G's CFA, which is found by
 *     looking for G's return address (the hook's call_site argument) on
 *     the stack just above S.
 * Stack pointers are only compared within one stack: the thread's own, or
 * one other (a sigaltstack handler, a coroutine); frames on the other stack
 * than the current code's are dead if we are back on the thread's stack,
 * and suspended (live) otherwise. A coroutine stack can also be an array
 * inside a frame on the thread's stack: S then lies above frames that are
 * live, which switched_into_frame tells from an unwind by their return
 * addresses. The checks run only when the two-compare fast test of
 * sp__top_is_parent fails.
 */
#include "stack.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Buffers
 */
bool sp__grow_frames(struct sp__thread *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : SP_FRAMES_INITIAL;
	if (cap > SP_MAX_DEPTH)
		return false;
	int e = errno;
	struct sp__frame *f;
	if (t->frames)
		f = sp__remap(t->frames, (size_t)t->cap * sizeof *f, (size_t)cap * sizeof *f);
	else
		f = sp__map((size_t)cap * sizeof *f);
	errno = e;
	if (!f)
		return false;
	t->frames = f;
	t->cap = cap;
	return true;
}

/* Make room for `need` more bytes of records, within the byte budget
 * (which may evict stored traces) and the 32 GiB a slot can address. */
bool sp__grow_buf(struct sp__thread *t, size_t need)
{
	size_t want = t->bufsize ? t->bufsize * 2 : SP_BUF_INITIAL;
	while (want - SP_TRACE_HDR < t->pos + need)
		want *= 2;
	/* One trace may take half the budget, so that it is kept next to
	 * the traces that follow it; and slots address 32 GiB. */
	if (want > sp__budget_limit() / 2 || want > ((size_t)1 << 35))
		return false;
	int e = errno; /* eviction and mremap are system calls */
	if (!sp__budget_reserve(want - t->bufsize)) {
		errno = e;
		return false;
	}
	uint8_t *p = sp__buf_resize(t->buf, t->bufsize, want);
	if (!p) {
		sp__budget_release(want - t->bufsize);
		errno = e;
		return false;
	}
	errno = e;
	t->buf = p;
	t->bufsize = want;
	t->room = want - SP_TRACE_HDR;
	return true;
}

/* Room for a record inside the trace being built. When its root could
 * not be recorded (no budget to start the trace: counted as a trace
 * dropped), the trace has no records and none may be added: room freed by
 * then (a clear, an eviction) would otherwise let the first span inside it
 * become the root of a trace without its real root, whose records name a
 * parent that does not exist. */
SP_COLD static bool grow_for_record(struct sp__thread *t, size_t n)
{
	if (t->depth > 1 && t->frames[0].kind == SP_FRAME_PASS)
		return false;
	return sp__grow_buf(t, n);
}

/* Reserve `n` bytes of records (a multiple of 8); returns the slot. */
SP_INLINE uint32_t reserve(struct sp__thread *t, size_t n)
{
	if (SP_UNLIKELY(t->pos + n > t->room) && !grow_for_record(t, n))
		return SP_NONE;
	uint32_t slot = (uint32_t)(t->pos / 8u);
	t->pos += n;
	return slot;
}

bool sp__trace_start(struct sp__thread *t)
{
	if (!t->buf && !sp__grow_buf(t, 0))
		return false;
	t->pos = 0;
	t->nrec = 0;
	t->dropped = 0;
	t->iterations = 0;
	t->trace_tid = t->tid;
	t->trace_flags = 0;
	t->idlen = 0;
	sp__cpu_read(&t->cpu0); /* one reading per trace, never per span */
	if (sp__fl.base)
		sp__flight_sync(false); /* the sites it starts with, for a reader after a crash */
	return true;
}

void sp__commit(struct sp__thread *t)
{
	if (t->buf && t->nrec > 0) {
		struct sp__trace *h = (struct sp__trace *)t->buf;
		const struct sp__span_rec *root = sp__rec(t, 0);
		h->tid = t->trace_tid;
		h->t0 = root->t0;
		h->t1 = root->t1;
		h->dropped = t->dropped;
		h->iterations = t->iterations;
		h->nrec = t->nrec;
		h->idlen = t->idlen;
		memcpy(h->id, t->id, t->idlen);
		h->id[t->idlen] = '\0';
		h->len = t->pos;
		h->flags = t->trace_flags;
		h->seq = 0; /* set when stored: a reader of the file takes 0 as "not a trace" */
		/* Another thread closing this one's trace (exit) cannot read its use. */
		if (t == sp__tls)
			sp__cpu_since(&t->cpu0, &h->cpu);
		else
			h->cpu = (struct sp__cpu_use){ 0 };
		if (t->dropped)
			atomic_fetch_add(&sp__g.spans_dropped, t->dropped);
		sp__hist_add(root->head & SP_REC_SITE_MASK, h->t1 - h->t0); /* every trace, stored or not */
		int e = errno;
		sp__store_commit(t); /* may take the buffer */
		errno = e;
	}
	t->pos = 0;
	t->nrec = 0;
	t->dropped = 0;
	t->iterations = 0;
}

/* ------------------------------------------------------------------------
 * Opening
 */
static void pass_frame(struct sp__frame *f, const struct sp__frame *parent)
{
	f->kind = SP_FRAME_PASS;
	f->slot = parent ? parent->slot : SP_NONE;
	f->ord = parent ? parent->ord : SP_NONE;
	f->owner = parent ? parent->owner : SP_NONE;
}

/* Find or create the cumulative node for `site` under the frame owning
 * the parent record; returns its slot, or SP_NONE. */
static uint32_t cumul_node(struct sp__thread *t, struct sp__frame *owner, uint32_t site, uint32_t *ord)
{
	uint32_t *list;
	if (owner->kind == SP_FRAME_CUMUL)
		list = &((struct sp__cumul_rec *)sp__rec(t, owner->slot))->child_head;
	else
		list = &owner->cumul;
	for (uint32_t s = *list; s; s = ((struct sp__cumul_rec *)sp__rec(t, s - 1))->next) {
		struct sp__cumul_rec *n = sp__rec(t, s - 1);
		if ((n->head & SP_REC_SITE_MASK) == site) {
			*ord = n->ord;
			return s - 1;
		}
	}
	uint32_t slot = reserve(t, sizeof(struct sp__cumul_rec));
	if (slot == SP_NONE)
		return SP_NONE;
	/* `list` may point into the buffer, which reserve() may have moved. */
	if (owner->kind == SP_FRAME_CUMUL)
		list = &((struct sp__cumul_rec *)sp__rec(t, owner->slot))->child_head;
	struct sp__cumul_rec *n = sp__rec(t, slot);
	n->head = SP_REC_CUMUL << 30 | site;
	n->parent = owner->ord;
	n->count = 0;
	n->total = 0;
	n->min = UINT64_MAX;
	n->max = 0;
	n->child_head = 0;
	n->next = *list;
	n->ord = t->nrec++;
	n->reserved = 0;
	*list = slot + 1;
	*ord = n->ord;
	return slot;
}

struct sp__frame *sp__open(struct sp__thread *t, uint32_t site, uint16_t flags, bool cumul)
{
	uint32_t d = t->depth;
	if (SP_UNLIKELY(d == t->cap) && !sp__grow_frames(t)) {
		t->overflow++;
		return NULL;
	}
	struct sp__frame *parent = d ? &t->frames[d - 1] : NULL;
	struct sp__frame *f = &t->frames[d];
	f->flags = flags;
	f->serial = ++t->serial;
	f->cumul = 0;
	f->fn = 0;
	f->fnsize = 0;
	t->depth = d + 1;
	if (d == 0 && !sp__trace_start(t)) {
		atomic_fetch_add(&sp__g.traces_lost, 1);
		pass_frame(f, NULL);
		f->flags |= SP_FF_DROPPED;
		return f;
	}
	if (parent && (cumul || t->cumul > 0)) {
		uint32_t ord = SP_NONE;
		uint32_t slot = parent->owner != SP_NONE
					? cumul_node(t, &t->frames[parent->owner], site, &ord)
					: SP_NONE;
		if (slot == SP_NONE) {
			pass_frame(f, parent);
			f->flags |= SP_FF_DROPPED;
			t->dropped++;
			return f;
		}
		f->kind = SP_FRAME_CUMUL;
		f->slot = slot;
		f->ord = ord;
		f->owner = d;
		t->cumul++;
		f->t0 = sp__now();
		return f;
	}
	uint32_t slot = reserve(t, sizeof(struct sp__span_rec));
	if (SP_UNLIKELY(slot == SP_NONE)) {
		pass_frame(f, parent);
		f->flags |= SP_FF_DROPPED;
		t->dropped++;
		return f;
	}
	struct sp__span_rec *r = sp__rec(t, slot);
	r->head = SP_REC_SPAN << 30 | site;
	r->parent = parent ? parent->ord : SP_NO_PARENT;
	f->kind = SP_FRAME_SPAN;
	f->slot = slot;
	f->ord = t->nrec++;
	f->owner = d;
	r->t1 = 0;
	r->t0 = sp__now();
	return f;
}

struct sp__frame *sp__open_pass(struct sp__thread *t, uint16_t flags)
{
	uint32_t d = t->depth;
	if (SP_UNLIKELY(d == t->cap) && !sp__grow_frames(t)) {
		t->overflow++;
		return NULL;
	}
	struct sp__frame *f = &t->frames[d];
	pass_frame(f, d ? &t->frames[d - 1] : NULL);
	f->flags = flags;
	f->serial = ++t->serial;
	f->cumul = 0;
	f->fn = 0;
	f->fnsize = 0;
	t->depth = d + 1;
	return f;
}

/* ------------------------------------------------------------------------
 * Closing
 */
void sp__pop(struct sp__thread *t, sp_ticks_t now, bool abandoned)
{
	struct sp__frame *f = &t->frames[--t->depth];
	if (f->kind == SP_FRAME_SPAN) {
		struct sp__span_rec *r = sp__rec(t, f->slot);
		r->t1 = now;
		if (abandoned)
			r->head |= SP_REC_ABANDONED;
	} else if (f->kind == SP_FRAME_CUMUL) {
		struct sp__cumul_rec *n = sp__rec(t, f->slot);
		sp_ticks_t dt = now - f->t0;
		n->count++;
		n->total += dt;
		if (dt < n->min)
			n->min = dt;
		if (dt > n->max)
			n->max = dt;
		t->cumul--;
		t->iterations++;
	}
	if (f->flags & SP_FF_SCOPE)
		t->scope--;
	if (t->depth == 0)
		sp__commit(t);
}

void sp__pop_to(struct sp__thread *t, uint32_t depth, sp_ticks_t now, bool abandoned)
{
	while (t->depth > depth)
		sp__pop(t, now, abandoned);
}

void sp__close_all(struct sp__thread *t, uint32_t trace_flags)
{
	if (!t->depth)
		return;
	t->trace_flags |= trace_flags;
	sp__pop_to(t, 0, sp__now(), true);
}

/* ------------------------------------------------------------------------
 * Data
 */

/* Length of `s` cut to at most `max` bytes without splitting a UTF-8
 * sequence; *cut tells whether it was cut. */
static size_t cut_len(const char *s, size_t max, bool *cut)
{
	size_t n = strnlen(s, max + 1);
	if (n <= max)
		return n;
	*cut = true;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void sp__add_data(struct sp__thread *t, uint32_t ord, bool trace_level, sp_value_type type,
		  const char *key, uint64_t num, const char *str)
{
	if (!key || !t->buf || (!trace_level && ord == SP_NONE))
		return;
	bool cut = false;
	size_t klen = cut_len(key, SP_MAX_KEY_LEN, &cut);
	size_t slen = 0;
	if (type == SP_VALUE_STR) {
		if (!str)
			str = "(null)";
		slen = cut_len(str, sp__cfg.str_max, &cut);
	}
	size_t size = sizeof(struct sp__data_rec) + ((klen + slen + 7u) & ~(size_t)7u);
	uint32_t slot = reserve(t, size);
	if (slot == SP_NONE)
		return;
	struct sp__data_rec *d = sp__rec(t, slot);
	d->head = SP_REC_DATA << 30 | (cut ? SP_DATA_TRUNC : 0) | (trace_level ? SP_DATA_TRACE : 0) |
		  (uint32_t)type << 24 | (uint32_t)klen << 16 | (uint32_t)slen;
	d->owner = trace_level ? 0 : ord;
	d->value = num;
	char *p = (char *)(d + 1);
	memcpy(p, key, klen);
	if (slen)
		memcpy(p + klen, str, slen);
	memset(p + klen + slen, 0, size - sizeof *d - klen - slen);
}

/* ------------------------------------------------------------------------
 * Dead frames
 */
SP_INLINE bool on_thread_stack(const struct sp__thread *t, uintptr_t x)
{
	return x >= t->stack_lo && x < t->stack_hi;
}

/* Find the CFA of the function that called the hook: the word above `sp`
 * that holds its return address `cs`, at most `span` bytes above it.
 * Bounded, and only on the thread's own stack, whose extent is known. 0 if
 * not found. Reads other frames' memory on purpose, hence no
 * AddressSanitizer here. */
__attribute__((no_sanitize_address)) static uintptr_t find_cfa_in(const struct sp__thread *t, uintptr_t cs,
								  uintptr_t sp, uintptr_t span)
{
	if (!on_thread_stack(t, sp))
		return 0;
	uintptr_t end = sp + span;
	if (end > t->stack_hi || end < sp)
		end = t->stack_hi;
	for (const volatile uintptr_t *p = (const uintptr_t *)(sp & ~(uintptr_t)7); (uintptr_t)(p + 1) <= end; p++)
		if (*p == cs)
			return (uintptr_t)(p + 1);
	return 0;
}

static uintptr_t find_cfa(const struct sp__thread *t, uintptr_t cs, uintptr_t sp)
{
	return find_cfa_in(t, cs, sp, 65536u);
}

/* Is frame `f` dead, seen from code entering at (cs, sp)? -1: cannot tell
 * (stop looking), 0: live (stop), 1: dead. `cfa` is computed on first need.
 * `hpc`: see sp__resolve. */
static int frame_dead(const struct sp__thread *t, const struct sp__frame *f, uintptr_t cs, uintptr_t sp,
		      uintptr_t *cfa, uint32_t hpc)
{
	if (f->sp == SP_SP_UNKNOWN)
		return -1;
	if (t->stack_hi) {
		bool here = on_thread_stack(t, sp), there = on_thread_stack(t, f->sp);
		if (here != there)
			return here ? 1 : 0;
	}
	if (f->sp < sp)
		return 1;
	if (f->sp == sp) {
		bool same;
		if (!(f->flags & SP_FF_HOOK))
			same = true;
		else if (hpc)
			same = f->cs == cs && f->hpc != hpc; /* see sp__hpc */
		else
			same = f->fnsize == 0 || cs - f->fn < f->fnsize;
		return same ? 0 : 1;
	}
	if (!hpc)
		return 0;
	if (*cfa == 0) {
		*cfa = find_cfa(t, cs, sp);
		if (*cfa == 0)
			*cfa = 1; /* not found: no frame is below it */
	}
	return f->sp < *cfa ? 1 : 0;
}

/* The frames above `keep` look unwound: they all lie below the stack
 * pointer `sp` of a new enter. Is `sp` rather on another stack, one that
 * lives inside the frame of the oldest of them, `g` (a coroutine whose
 * stack is an array local to g, or to a caller of g's below it)? Addresses
 * alone cannot tell: after an unwind past g, a call made from g's caller
 * can sit anywhere in the space g's frame had. What tells is g's return
 * address: a call made after an unwind past g is made from g's caller or
 * an older frame, whose calls store their return addresses where g's was
 * (or above it), so g's return address slot is overwritten, or the new
 * function's own return address is at or above it. On a stack inside
 * g's frame, g's slot is intact and lies above the new function's return
 * address (which, for the first function a coroutine runs, is at the top
 * of the coroutine's stack). So: a switch if g's return address is found
 * above the new function's CFA (found as in frame_dead; `sp` if not
 * found) and below the next older frame. A call from g's caller through
 * the very call site that called g stores the same address, but at or
 * below the new function's CFA, where the search does not look. And not a
 * switch if the new function is called from the newest frame that stays,
 * which is then plainly its caller. Not proof: an unwind past g through
 * uninstrumented code, followed by calls whose frames leave g's old slot
 * unwritten, looks the same; it takes all of that to be misread. */
static bool switched_into_frame(const struct sp__thread *t, uint32_t keep, uintptr_t cs, uintptr_t sp,
				uintptr_t cfa)
{
	const struct sp__frame *g = &t->frames[keep];
	if (!(g->flags & SP_FF_HOOK) || g->sp >= sp || !on_thread_stack(t, sp) || !on_thread_stack(t, g->sp))
		return false;
	if (keep > 0) {
		const struct sp__frame *p = &t->frames[keep - 1];
		if ((p->flags & SP_FF_HOOK) && cs - p->fn < p->fnsize)
			return false;
	}
	/* Look for g's return address above the new function's, not from
	 * g's stack pointer up: g's frame may hold copies of it below its
	 * slot (AddressSanitizer's frames do). g's frame ends below the next
	 * older frame's stack pointer, and may hold a large stack: look
	 * further than for a new call. */
	if (cfa <= 1)
		cfa = sp;
	uintptr_t span = (uintptr_t)1 << 20;
	if (keep > 0 && t->frames[keep - 1].sp > cfa && t->frames[keep - 1].sp - cfa < span)
		span = t->frames[keep - 1].sp - cfa;
	return find_cfa_in(t, g->cs, cfa, span) != 0;
}

void sp__resolve(struct sp__thread *t, uintptr_t cs, uintptr_t sp, uint32_t hpc)
{
	uintptr_t cfa = 0;
	uint32_t keep = t->depth;
	while (keep > 0 && frame_dead(t, &t->frames[keep - 1], cs, sp, &cfa, hpc) == 1)
		keep--;
	if (keep == t->depth)
		return;
	if (hpc && t->stack_hi && switched_into_frame(t, keep, cs, sp, cfa ? cfa : find_cfa(t, cs, sp)))
		return; /* the frames wait on the stack the program left */
	sp__pop_to(t, keep, sp__now(), true);
}

/* An exit of F (fn, return address cs) whose frame is not plainly on top.
 * Not tail-called, `sp` is F's stack pointer: frames strictly below it
 * belong to calls that are over; frames at it are F's own activation
 * (F itself, or, if F was inlined, the function containing it, which goes
 * on). Tail-called, `sp` is F's CFA: every frame below it is F's or dead,
 * F's being the oldest of them. F's frame is closed, what lies above it is
 * abandoned; if F has no frame, only what is certainly dead is closed. */
void sp__exit_slow(struct sp__thread *t, uintptr_t fn, uintptr_t cs, uintptr_t sp, bool tail)
{
	sp_ticks_t now = sp__now();
	uint32_t dead = t->depth; /* frames [dead, depth) are certainly dead */
	uint32_t found = SP_NONE;
	for (uint32_t i = t->depth; i > 0; i--) {
		const struct sp__frame *f = &t->frames[i - 1];
		bool match = (f->flags & SP_FF_HOOK) && f->fn == fn && f->cs == cs;
		if (f->sp == SP_SP_UNKNOWN) {
			if (match)
				found = i - 1;
			break;
		}
		if (t->stack_hi && on_thread_stack(t, sp) != on_thread_stack(t, f->sp)) {
			if (!on_thread_stack(t, sp))
				break; /* running on another stack: the thread's frames wait */
			dead = i - 1; /* left behind on another stack */
			continue;
		}
		if (tail) {
			if (f->sp >= sp)
				break;
			if (match)
				found = i - 1; /* keep looking: F is the oldest match */
			dead = i - 1;
			continue;
		}
		if (match && f->sp >= sp) {
			found = i - 1;
			break;
		}
		if (f->sp > sp)
			break;
		if (f->sp < sp && dead == i)
			dead = i - 1;
	}
	if (found != SP_NONE) {
		sp__pop_to(t, found + 1, now, true);
		sp__pop(t, now, false);
	} else if (dead < t->depth) {
		sp__pop_to(t, dead, now, true);
	}
}
