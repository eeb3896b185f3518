/* stack.h - a thread's stack of open spans, and the trace it is building.
 *
 * Each thread has one record (struct sp__thread, mmap'd, reached through
 * one initial-exec TLS pointer) holding:
 *   - frames: the open spans, manual and hook ones mixed, innermost last;
 *   - buf: the trace being built: a block whose first SP_TRACE_HDR bytes
 *     become the stored trace's header (struct sp__trace) and whose rest is
 *     the record stream of docs/FORMAT.md, appended as spans open. A span's
 *     record is written when it opens (start tick) and patched when it
 *     closes (end tick), so a record's parent always precedes it. That is
 *     all the order promises: records are not in pre-order, as a
 *     cumulative node reused by a later iteration can gain a child after
 *     its later siblings (and their subtrees) were recorded.
 * When the bottom frame closes, the trace is committed to the store
 * (store.c) and the buffer is reset. Nothing here takes a lock.
 *
 * Frames remember the stack pointer of the function that opened them, so
 * that frames abandoned by longjmp, by an exception through uninstrumented
 * code, or by exit() can be told from live ones (see stack.c).
 */
#ifndef SP_STACK_H
#define SP_STACK_H

#include "internal.h"

#include <string.h> /* after internal.h: it defines _GNU_SOURCE */

#define SP_TRACE_HDR 640u            /* header area at the start of a block: ids up to SP_STR_MAX_LIMIT */
#define SP_BUF_INITIAL (64u << 10)   /* first trace buffer of a thread */
#define SP_FRAMES_INITIAL 256u
#define SP_MAX_DEPTH (1u << 20)      /* deeper enters are counted, not kept */
#define SP_NONE UINT32_MAX
#define SP_SPAN_CPU_MAX 32u          /* nested manual spans measured (SPANPROF_SPAN_CPU) */

/* Frame kinds */
#define SP_FRAME_SPAN 1  /* owns a span record */
#define SP_FRAME_CUMUL 2 /* an iteration of a cumulative node (its record) */
#define SP_FRAME_PASS 3  /* no record: excluded function or dropped span */

/* Frame flags */
#define SP_FF_HOOK 1u    /* pushed by a hook: fn and cs are valid */
#define SP_FF_SCOPE 2u   /* a trace_calls root: in scope while open */
#define SP_FF_TRACE 4u   /* a trace (SP_TRACE, sp_trace_begin, SPANPROF_TRACE) */
#define SP_FF_DROPPED 8u /* would have been a span; the budget was full */
#define SP_FF_ARGS 16u   /* arguments to capture */

#define SP_SP_UNKNOWN UINTPTR_MAX /* restored from a context: never dead */

struct sp__frame {
	uintptr_t fn;      /* hook frames: the function's address */
	uintptr_t sp;      /* stack pointer of the function that opened it */
	uintptr_t cs;      /* hook: the function's return address; manual: a pc in the caller */
	sp_ticks_t t0;     /* CUMUL: start of this iteration */
	uint32_t slot;     /* record of the frame, or of its owner (PASS); SP_NONE */
	uint32_t ord;      /* ordinal of that record; SP_NONE */
	uint32_t owner;    /* index of the frame owning that record; SP_NONE */
	uint32_t cumul;    /* SPAN: slot of its first cumulative child + 1, 0: none */
	uint32_t serial;   /* matches the sp__scope that opened it */
	uint32_t fnsize;   /* hook frames: function size, 0 if unknown */
	uint16_t kind, flags;
	uint32_t hpc;      /* hook frames: sp__hpc() of the enter hook's call */
};

/* Two readings of the thread's CPU use (cpu.c), or their difference. */
struct sp__cpu_use {
	uint64_t cpu_ns;
	uint32_t nvcsw, nivcsw; /* voluntary, involuntary context switches */
	uint32_t flags;         /* SP_TRACE_CPU_MEASURED */
	uint32_t reserved;
};

/* A stored trace: the header area of its block. */
struct sp__trace {
	atomic_uint refs;
	uint32_t flags;      /* SP_TRACE_CLOSED (format.h) */
	size_t size;         /* mapping size of the block */
	uint64_t seq, tid;
	sp_ticks_t t0, t1;
	uint64_t dropped, iterations;
	uint32_t nrec;
	uint16_t idlen;
	char id[SP_STR_MAX_LIMIT + 1];
	size_t len;          /* bytes of records after the header area */
	/* Off-CPU time (issue 11): the thread's CPU time and context switches
	 * between the trace's begin and end; cpu_flags SP_TRACE_CPU_MEASURED
	 * (format.h) when they were read (SPANPROF_CPU, same thread). */
	struct sp__cpu_use cpu;
};
_Static_assert(sizeof(struct sp__trace) <= SP_TRACE_HDR, "trace header too big");

/* A thread's open spans and the trace they are building: everything that
 * sp_context_save moves out of a thread and sp_context_restore moves into
 * one, so each is one assignment. Named once here (SP_CUR_FIELDS) and laid
 * out twice with the same members: as struct sp__cur, the unit that moves,
 * and flattened into struct sp__thread, so that the hooks keep reading
 * t->depth, t->buf, ... at the same cost. */
#define SP_CUR_FIELDS                                                              \
	uint32_t depth;      /* open frames */                                     \
	uint32_t scope;      /* open trace_calls roots */                          \
	uint32_t cumul;      /* open cumulative frames */                          \
	uint32_t serial;     /* of the last frame opened */                        \
	struct sp__frame *frames;                                                  \
	uint8_t *buf;        /* the block being built, or NULL */                  \
	size_t pos;          /* bytes of records written */                        \
	size_t room;         /* bytes of records the block can hold */             \
	uint32_t nrec;                                                             \
	uint32_t cap;        /* frames capacity */                                 \
	uint64_t dropped, iterations;                                              \
	size_t bufsize;      /* mapping size of buf */                             \
	uint64_t trace_tid;  /* the trace being built: its thread, flags, id */    \
	uint32_t trace_flags;                                                      \
	uint16_t idlen;                                                            \
	char id[SP_STR_MAX_LIMIT + 1];                                             \
	struct sp__cpu_use cpu0; /* the trace's begin reading (cpu.c) */

struct sp__cur {
	SP_CUR_FIELDS
};

struct sp__thread {
	/* read on every hook */
	uint32_t busy;       /* inside the runtime: hooks return at once */
	uint32_t overflow;   /* enters past SP_MAX_DEPTH not pushed */
	union {
		struct sp__cur cur;
		struct {
			SP_CUR_FIELDS
		};
	};
	/* the thread */
	uint64_t tid;
	uintptr_t stack_lo, stack_hi; /* 0, 0 when unknown */
	bool dead;
	/* SPANPROF_SPAN_CPU: the CPU readings of open manual spans, innermost
	 * last, by (depth, serial) of their frames (cpu.c); deeper ones are
	 * not measured. Apart from the frames, which the hooks keep small. */
	uint32_t nspan_cpu;
	struct sp__span_cpu {
		uint32_t depth, serial;
		struct sp__cpu_use u;
	} span_cpu[SP_SPAN_CPU_MAX];
};
_Static_assert(offsetof(struct sp__thread, id) - offsetof(struct sp__thread, depth) ==
		       offsetof(struct sp__cur, id),
	       "struct sp__cur and its flattened copy have one layout");
_Static_assert(offsetof(struct sp__thread, cpu0) - offsetof(struct sp__thread, depth) ==
		       offsetof(struct sp__cur, cpu0),
	       "struct sp__cur and its flattened copy have one layout");

extern SP_HIDDEN __thread struct sp__thread *sp__tls __attribute__((tls_model("initial-exec")));

SP_INLINE void *sp__rec(struct sp__thread *t, uint32_t slot)
{
	return t->buf + SP_TRACE_HDR + (size_t)slot * 8u;
}

/* The id of the trace being built (sp_trace_begin's, a call number, an
 * argument's value): cut at SPANPROF_STR_MAX bytes. The one place that
 * writes it. */
SP_INLINE void sp__set_trace_id(struct sp__thread *t, const char *id, size_t len)
{
	if (len > sp__cfg.str_max)
		len = sp__cfg.str_max;
	if (len)
		memcpy(t->id, id, len);
	t->id[len] = '\0';
	t->idlen = (uint16_t)len;
}

/* flight.c: thread records, in the file's slots when there is one */
SP_HIDDEN struct sp__thread *sp__flight_thread_alloc(void); /* zeroed; NULL on failure */
SP_HIDDEN void sp__flight_thread_free(struct sp__thread *t);

/* thread.c */
SP_HIDDEN struct sp__thread *sp__thread_attach(void); /* creates this thread's record */
SP_HIDDEN void sp__threads_init(void);
SP_HIDDEN void sp__thread_fork_child(void);

/* stack.c */
SP_HIDDEN bool sp__grow_frames(struct sp__thread *t);
SP_HIDDEN bool sp__grow_buf(struct sp__thread *t, size_t need);
SP_HIDDEN bool sp__trace_start(struct sp__thread *t);
SP_HIDDEN void sp__commit(struct sp__thread *t);
/* Pop frames above live ones: see stack.c. `hpc` != 0: a hook's enter, cs
 * is the function's return address and hpc sp__hpc() of the hook's; 0: a
 * manual span, cs is a pc in the caller. */
SP_HIDDEN void sp__resolve(struct sp__thread *t, uintptr_t cs, uintptr_t sp, uint32_t hpc);
SP_HIDDEN void sp__exit_slow(struct sp__thread *t, uintptr_t fn, uintptr_t cs, uintptr_t sp, bool tail);
/* Close the top frame at `now`; `abandoned`: not closed by its own end. */
SP_HIDDEN void sp__pop(struct sp__thread *t, sp_ticks_t now, bool abandoned);
/* Close frames until `depth` remain. */
SP_HIDDEN void sp__pop_to(struct sp__thread *t, uint32_t depth, sp_ticks_t now, bool abandoned);
/* Push a frame for site `site`; its kind follows from the state (cumulative
 * mode, budget). Returns the frame or NULL (too deep: counted in overflow). */
SP_HIDDEN struct sp__frame *sp__open(struct sp__thread *t, uint32_t site, uint16_t flags, bool cumul);
SP_HIDDEN struct sp__frame *sp__open_pass(struct sp__thread *t, uint16_t flags);
/* Append a data entry owned by record `ord` (SP_NONE: trace level). */
SP_HIDDEN void sp__add_data(struct sp__thread *t, uint32_t ord, bool trace_level, sp_value_type type,
			    const char *key, uint64_t num, const char *str);
SP_HIDDEN void sp__close_all(struct sp__thread *t, uint32_t trace_flags); /* exit, thread end */

/* cpu.c: the calling thread's CPU use now (one getrusage); flags 0 when
 * off (SPANPROF_CPU=0) or unreadable. Keeps errno. */
SP_HIDDEN void sp__cpu_read(struct sp__cpu_use *u);
/* The use between two readings, into *d; not measured unless both were. */
SP_HIDDEN void sp__cpu_since(const struct sp__cpu_use *u0, struct sp__cpu_use *d);
/* SPANPROF_SPAN_CPU: a manual span (frame f, at depth t->depth) opened /
 * is about to close (at `depth`): its CPU use goes into its data as
 * cpu_ns, voluntary_switches, involuntary_switches. */
SP_HIDDEN void sp__span_cpu_open(struct sp__thread *t, const struct sp__frame *f);
SP_HIDDEN void sp__span_cpu_close(struct sp__thread *t, uint32_t depth);

/* args_eval.c: add the arguments of the function of hook frame `f` (site
 * `site`) to its span's data. */
SP_HIDDEN void sp__capture_args(struct sp__thread *t, const struct sp__frame *f, uint32_t site);

/* store.c */
SP_HIDDEN void sp__store_init(void);
SP_HIDDEN bool sp__budget_reserve(size_t bytes);
SP_HIDDEN void sp__budget_release(size_t bytes);
SP_HIDDEN size_t sp__budget_limit(void);
SP_HIDDEN void sp__store_commit(struct sp__thread *t);
SP_HIDDEN void sp__store_clear(void);
SP_HIDDEN uint64_t sp__store_filtered(void);
/* hist.c: statistics over every trace ended, per name (root site). */
SP_HIDDEN void sp__hist_init(void);
SP_HIDDEN void sp__hist_add(uint32_t site, uint64_t ticks);
SP_HIDDEN void sp__hist_note(uint32_t site, bool filtered); /* not stored, or evicted */
SP_HIDDEN struct sp__hist_entry *sp__hist_table(void);
SP_HIDDEN void sp__hist_fork_child(void); /* traces faster than SPANPROF_MIN_MS */
SP_HIDDEN void sp__trace_put(struct sp__trace *tr); /* drop a reference */
/* References to the stored traces, oldest first, in a mapped array (NULL
 * with *n = 0 when there is no store). *err: 0, or -ENOMEM (no memory for
 * the array) or -EAGAIN (called while this thread holds the store's lock,
 * from a signal handler), and then NULL: an empty store and a failure to
 * look at it are not the same answer. */
SP_HIDDEN struct sp__trace **sp__store_grab(size_t *n, int *err);
SP_HIDDEN void sp__store_release(struct sp__trace **v, size_t n);
struct sp__store_stats {
	uint64_t committed, evicted, cleared, spans, iterations;
};
/* The same, with the store's counters at that instant. */
SP_HIDDEN struct sp__trace **sp__store_grab_stats(size_t *n, struct sp__store_stats *st, int *err);
SP_HIDDEN void sp__store_stats(struct sp__store_stats *st);
SP_HIDDEN void sp__store_fork_child(void);
/* A block of the flight file, evicting stored traces while none is free. */
SP_HIDDEN void *sp__store_block(size_t size);
/* At exit, with a flight file: nothing is stored, evicted or cleared any
 * more (the file is being closed). */
SP_HIDDEN bool sp__store_close(void);
/* flight.c: the counters, mirrored into the file (store lock held). */
SP_HIDDEN void sp__flight_filtered(uint64_t n);
SP_HIDDEN void sp__flight_counters(uint64_t head, uint64_t tail, const struct sp__store_stats *st);
SP_HIDDEN void sp__store_atfork_prepare(void);
SP_HIDDEN void sp__store_atfork_parent(void);

/* A hook frame's `hpc`: the low bits of the address the enter hook returns
 * to, i.e. which of the program's calls to the hook opened it; never 0. One
 * activation of a function runs each of its calls to the enter hook at
 * most once, unless the frame that call opened was abandoned (longjmp,
 * setcontext, an exception): a frame at the same stack pointer with the
 * same return address and the same hpc as a new enter is a previous
 * activation, dead. One with another hpc is a function inlined there,
 * live: the stack pointer and return address alone cannot tell the two. */
SP_INLINE uint32_t sp__hpc(uintptr_t pc)
{
	return (uint32_t)pc | 1u;
}

/* Is `top` (the innermost frame) the one a new frame opened at (cs, sp)
 * belongs under? True in the common cases, decided from two comparisons:
 * called from the top frame's function, or in the same activation (an
 * inlined callee shares its caller's sp and return address; a manual span
 * shares its function's sp). Otherwise sp__resolve looks harder. `hpc`:
 * sp__hpc() of the enter hook's return address, 0 for a manual span. */
SP_INLINE bool sp__top_is_parent(const struct sp__frame *top, uintptr_t cs, uintptr_t sp, uint32_t hpc)
{
	if (top->sp >= sp && cs - top->fn < top->fnsize)
		return true;
	return top->sp == sp && (!(top->flags & SP_FF_HOOK) || (top->cs == cs && top->hpc != hpc));
}

#endif
