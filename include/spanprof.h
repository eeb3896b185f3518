/* spanprof.h - the whole public API of the spanprof runtime.
 *
 * If it is not in this file, it is not API. Every call is safe to make when
 * recording is off (it does nothing, cheaply) and never exits, aborts or
 * blocks the program; bad arguments (NULL, stale handles) are harmless no-ops.
 *
 * Contents
 *   1. Traces         SP_TRACE, sp_trace_begin/end, sp_trace_set_*
 *   2. Spans          SP_SPAN, SP_SCOPE, sp_current_span, sp_span_set_*
 *   3. Cumulative     SP_CUMULATIVE
 *   4. Context        sp_context_save/restore (coroutines, fibers, event loops)
 *   5. Control        sp_set_enabled, sp_enabled, sp_clear, sp_dump, overhead
 *   6. Reading        sp_snapshot_*: walk the stored traces and span trees
 *
 * Quick start
 *
 *     SP_TRACE("navigate_cell", cell_id) {          // one trace per command
 *         SP_SPAN("lookup") { row = find_row(id); } // a timed phase
 *         SP_SCOPE("callback");                     // lasts to the end of the scope
 *         sp_span_set_i64(sp_current_span(), "rows", n);
 *         for (i = 0; i < n; i++)
 *             SP_CUMULATIVE("render_row") render(i); // one node for the loop
 *     }
 *
 * Build with -finstrument-functions to get whole functions as spans without
 * touching the code (SPANPROF_TRACE_CALLS, SPANPROF_TRACE_ALL, ... in
 * README.md). Run with SPANPROF_ENABLED=1; the recorded traces are written to
 * SPANPROF_OUTPUT (default spanprof.out) at exit; `spanprof list` shows them.
 *
 * Threads: every probe works on the calling thread's own stack of open spans;
 * any thread may begin and end traces. A span ends on the thread that began
 * it, unless the stack was moved with sp_context_save/restore.
 *
 * Define SPANPROF_DISABLE before including this file to compile every probe
 * out: the macros keep their syntax, their bodies still run once, the
 * functions become inline no-ops, and no library is needed.
 */
#ifndef SPANPROF_H
#define SPANPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spanprof_constants.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SP_API __attribute__((visibility("default")))
/* The header's inline helpers must not get -finstrument-functions hooks
 * of their own: they would cost a hook pair per probe. */
#define SP__INLINE static inline __attribute__((no_instrument_function, unused))

/* ------------------------------------------------------------------------
 * Types
 */

/* A span handle: the innermost open span of the calling thread, as returned
 * by sp_current_span(). Opaque. It stays harmless after its span ended: the
 * setters then do nothing. NULL is the no-op handle. */
typedef struct sp_span sp_span;

/* A detached stack of open spans (sp_context_save). Opaque. */
typedef struct sp_context sp_context;

/* A probe's call site; one static instance per SP_* use, filled by the
 * macros. Internal: `id` belongs to the runtime. */
struct sp_srcloc {
	const char *name;
	const char *func;
	const char *file;
	uint32_t line;
	uint32_t id; /* site id, 0 until the first time the probe records */
};

/* Internal: the state an SP_* block keeps on the caller's stack. The span
 * is named by one integer, (depth << 32) | serial, returned in a register:
 * a struct returned by value costs a store-forwarding stall per probe. */
typedef struct sp__scope {
	uint64_t frame; /* the span opened (stack depth and serial), 0: none */
	uint8_t once;   /* runs the block body exactly once */
} sp__scope;

#ifndef SPANPROF_DISABLE

/* ------------------------------------------------------------------------
 * 1. Traces (level A: one per command or request)
 */

/* SP_TRACE(name, id) { ... }: the block is one trace named `name` with the
 * string `id` (both copied; the name cut at SP_MAX_NAME_LEN bytes, the id at
 * SPANPROF_STR_MAX, default SP_MAX_STR_LEN; id may be NULL).
 * Begun inside an open span, it is a child span of it instead (a command
 * that calls another command), with `id` as its data "id". */
#define SP_TRACE(name, id) SP__TRACE_I(name, id, SP__CAT(sp__t_, __COUNTER__))

/* Begin/end a trace explicitly, for code where a block does not fit.
 * sp_trace_end() ends the innermost trace begun on this thread (or moved to
 * it by sp_context_restore), closing any span still open inside it. */
SP_API void sp_trace_begin(const char *name, const char *id);
SP_API void sp_trace_end(void);

/* Attach data to the innermost open trace of this thread (the design's
 * kwargs). Keys and string values are copied (cut at SP_MAX_KEY_LEN and
 * SP_MAX_STR_LEN). No open trace: no-op. Setting a key twice keeps both. */
SP_API void sp_trace_set_i64(const char *key, int64_t value);
SP_API void sp_trace_set_u64(const char *key, uint64_t value);
SP_API void sp_trace_set_f64(const char *key, double value);
SP_API void sp_trace_set_str(const char *key, const char *value);
SP_API void sp_trace_set_bool(const char *key, bool value);

/* ------------------------------------------------------------------------
 * 2. Spans (level B: named phases)
 */

/* SP_SPAN(name) { ... }: the block is a span. `name` must be a string
 * literal (it is stored by address). The span ends however the block is
 * left: end of block, break, return, goto. Opened while no trace is open, it
 * starts an implicit trace named after it. */
#define SP_SPAN(name) SP__SPAN_I(name, sp__span_begin, SP__CAT(sp__s_, __COUNTER__))

/* SP_SCOPE(name); a span from here to the end of the enclosing C scope
 * (cleanup attribute): also ended by return, break or goto out of it. */
#define SP_SCOPE(name) SP__SCOPE_I(name, SP__CAT(sp__c_, __COUNTER__))

/* The innermost open span of the calling thread (manual or from a hook), or
 * NULL when nothing is open or recording is off. */
SP_API sp_span *sp_current_span(void);

/* Attach data to a span. Keys and string values are copied (cut at
 * SP_MAX_KEY_LEN and SP_MAX_STR_LEN bytes); nothing points into the
 * caller's memory after the call. A NULL, stale or foreign handle, a NULL
 * key, or a cumulative node: no-op. */
SP_API void sp_span_set_i64(sp_span *span, const char *key, int64_t value);
SP_API void sp_span_set_u64(sp_span *span, const char *key, uint64_t value);
SP_API void sp_span_set_f64(sp_span *span, const char *key, double value);
SP_API void sp_span_set_str(sp_span *span, const char *key, const char *value);
SP_API void sp_span_set_bool(sp_span *span, const char *key, bool value);

/* ------------------------------------------------------------------------
 * 3. Cumulative spans (loops)
 */

/* SP_CUMULATIVE(name) { ... }: every run of the block adds to one node per
 * (parent span, name) holding count, total, min and max: one entry in the
 * tree whatever the iteration count. Probes nested inside aggregate as
 * cumulative children of it. With no open trace it records nothing. */
#define SP_CUMULATIVE(name) SP__SPAN_I(name, sp__cumulative_begin, SP__CAT(sp__u_, __COUNTER__))

/* ------------------------------------------------------------------------
 * 4. Context: code that switches stacks itself
 */

/* Detach the calling thread's open spans (its trace in progress) into a
 * handle and leave the thread with none. Returns NULL when nothing is open.
 * Restore the handle exactly once, on any thread. */
SP_API sp_context *sp_context_save(void);

/* Reattach a saved stack of spans to the calling thread, which must have no
 * open span: returns 0, or -EBUSY (the thread has open spans; the handle is
 * kept and may be restored later) or -EINVAL (not a handle). NULL: 0. */
SP_API int sp_context_restore(sp_context *ctx);

/* ------------------------------------------------------------------------
 * 5. Control
 */

/* Switch recording on or off for the whole process (SPANPROF_ENABLED=1 at
 * start). Off, every probe costs a load and a branch. Spans already open
 * when recording stops still end and are stored; a function span whose
 * exit is missed meanwhile is closed by its parent, marked abandoned. */
SP_API void sp_set_enabled(bool on);
SP_API bool sp_enabled(void);

/* Empty the store. Traces being built are kept and stored when they end.
 * Sequence numbers keep counting. */
SP_API void sp_clear(void);

/* Measured cost of recording one span (its begin and its end) in this
 * process, in ns, and the estimated total cost of everything stored so far
 * (spans plus cumulative iterations), in ms. Measured once, on first use. */
SP_API double sp_overhead_per_span_ns(void);
SP_API double sp_total_overhead_ms(void);

/* Write the stored traces to `path` (format in docs/FORMAT.md): written to a
 * temporary file in the same directory, then renamed; mode 0600. NULL means
 * SPANPROF_OUTPUT. Returns 0 or a negative errno (sp_strerror). Traces still
 * open are not included; at exit the calling thread's are closed first. */
SP_API int sp_dump(const char *path);

/* Text for a negative errno returned by this API. Never NULL. */
SP_API const char *sp_strerror(int err);

/* The runtime library's version, "MAJOR.MINOR.PATCH". */
SP_API const char *sp_version(void);

/* ------------------------------------------------------------------------
 * 6. Reading the store (embedding, tests)
 */

#endif /* SPANPROF_DISABLE */

typedef enum sp_value_type {
	SP_VALUE_I64 = 1,
	SP_VALUE_U64 = 2,
	SP_VALUE_F64 = 3,
	SP_VALUE_STR = 4,
	SP_VALUE_BOOL = 5,
} sp_value_type;

/* One key/value attached to a span or a trace. */
typedef struct sp_kv {
	const char *key;
	sp_value_type type;
	bool truncated; /* the string value (or the key) was cut */
	bool marker;    /* a string that stands in for a value: "<optimized out>", "<inlined>" */
	union {
		int64_t i64;
		uint64_t u64;
		double f64;
		const char *str;
		bool b;
	} v;
} sp_kv;

typedef enum sp_node_kind {
	SP_NODE_SPAN = 1,
	SP_NODE_CUMULATIVE = 2,
} sp_node_kind;

/* A node of a trace's tree. Times are in ns. Read-only. */
typedef struct sp_node sp_node;
struct sp_node {
	sp_node_kind kind;
	const char *name; /* probe name, or function name for hook spans */
	const sp_node *parent, *first_child, *next_sibling;
	uint32_t nchildren;
	uint32_t index; /* position in the trace, pre-order from 0 (the root) */
	uint32_t site;  /* the probe or function recorded: same site, same place */

	uint64_t duration_ns; /* a cumulative node's: its total_ns */
	uint64_t self_ns;     /* duration minus the children's time */

	/* SP_NODE_SPAN */
	uint64_t start_ns;    /* from the start of the trace */
	bool abandoned;       /* closed by spanprof (longjmp, exit, thread end) */

	/* SP_NODE_CUMULATIVE */
	uint64_t count, total_ns, min_ns, max_ns, avg_ns;

	const sp_kv *data;
	uint32_t ndata;

	/* Hook spans: where the function is. NULL / 0 when not known. */
	uintptr_t address;    /* runtime address of the function */
	const char *function; /* symbol name */
	const char *file;     /* source file (the CLI, from DWARF) */
	uint32_t line;
	const char *module;   /* path of the executable or library */
};

/* One stored trace. */
typedef struct sp_trace_info {
	uint64_t seq;          /* sequence number, stable for the process life */
	const char *name;
	const char *id;        /* "" when none */
	const sp_kv *data;     /* trace-level data (sp_trace_set_*) */
	uint32_t ndata;
	uint64_t start_ns;     /* wall clock, ns since the Unix epoch */
	uint64_t duration_ns;
	uint64_t thread;       /* OS thread id that began it */
	uint64_t dropped_spans; /* spans not stored: the trace hit the budget */
	uint64_t nspans;       /* nodes in the tree, the root included */
	uint64_t iterations;   /* cumulative iterations folded into its nodes */
	const sp_node *root;
	/* The thread's CPU time and context switches between the trace's
	 * begin and end; cpu_measured false with SPANPROF_CPU=0, or when the
	 * trace moved to another thread (sp_context_restore) or was closed by
	 * another thread at exit. */
	bool cpu_measured;
	uint64_t cpu_ns;
	uint32_t voluntary_switches, involuntary_switches;
} sp_trace_info;

typedef struct sp_snapshot sp_snapshot;

#ifndef SPANPROF_DISABLE

/* Copy the store as it is now (oldest trace first) into a snapshot that the
 * caller walks and frees; recording goes on meanwhile. NULL on no memory. */
SP_API sp_snapshot *sp_snapshot_take(void);
SP_API void sp_snapshot_free(sp_snapshot *snap); /* NULL: no-op */
SP_API size_t sp_snapshot_count(const sp_snapshot *snap);
/* The i-th trace, oldest first; NULL when out of range. */
SP_API const sp_trace_info *sp_snapshot_trace(const sp_snapshot *snap, size_t i);

/* The child of `node` named `name` (the first one), or NULL. */
SP_API const sp_node *sp_node_child(const sp_node *node, const char *name);
/* Follow a path of names separated by '/' from `node`: "callback/render". */
SP_API const sp_node *sp_node_find(const sp_node *node, const char *path);
/* The value of `key` in a node's data, or NULL. */
SP_API const sp_kv *sp_node_data(const sp_node *node, const char *key);

/* ------------------------------------------------------------------------
 * Internals used by the macros above. Not API: do not call.
 */

/* Nonzero while recording. Read and written only with atomic builtins
 * (relaxed: a plain load on x86 and arm64), since other threads switch it. */
SP_API extern int sp__on;
SP_API uint64_t sp__span_begin(struct sp_srcloc *loc);
SP_API uint64_t sp__cumulative_begin(struct sp_srcloc *loc);
SP_API uint64_t sp__trace_begin_scope(const char *name, const char *id);
SP_API void sp__scope_end(uint64_t frame);

/* The check every probe makes: one load and one branch when off. */
#define SP__PROBE(begin, ...)                                                      \
	((sp__scope){ __builtin_expect(__atomic_load_n(&sp__on, __ATOMIC_RELAXED) != 0, 0) ? begin(__VA_ARGS__) : 0, 1 })

#else /* SPANPROF_DISABLE: the same names, doing nothing */

#define SP_TRACE(name, id) SP__TRACE_I(name, id, SP__CAT(sp__t_, __COUNTER__))
#define SP_SPAN(name) SP__SPAN_I(name, sp__span_begin, SP__CAT(sp__s_, __COUNTER__))
#define SP_SCOPE(name) SP__SCOPE_I(name, SP__CAT(sp__c_, __COUNTER__))
#define SP_CUMULATIVE(name) SP__SPAN_I(name, sp__cumulative_begin, SP__CAT(sp__u_, __COUNTER__))
#define SP__PROBE(begin, ...) ((sp__scope){ 0, 1 })
SP__INLINE void sp__scope_end(uint64_t frame) { (void)frame; }
SP__INLINE void sp_trace_begin(const char *n, const char *i) { (void)n; (void)i; }
SP__INLINE void sp_trace_end(void) {}
SP__INLINE void sp_trace_set_i64(const char *k, int64_t v) { (void)k; (void)v; }
SP__INLINE void sp_trace_set_u64(const char *k, uint64_t v) { (void)k; (void)v; }
SP__INLINE void sp_trace_set_f64(const char *k, double v) { (void)k; (void)v; }
SP__INLINE void sp_trace_set_str(const char *k, const char *v) { (void)k; (void)v; }
SP__INLINE void sp_trace_set_bool(const char *k, bool v) { (void)k; (void)v; }
SP__INLINE sp_span *sp_current_span(void) { return NULL; }
SP__INLINE void sp_span_set_i64(sp_span *s, const char *k, int64_t v) { (void)s; (void)k; (void)v; }
SP__INLINE void sp_span_set_u64(sp_span *s, const char *k, uint64_t v) { (void)s; (void)k; (void)v; }
SP__INLINE void sp_span_set_f64(sp_span *s, const char *k, double v) { (void)s; (void)k; (void)v; }
SP__INLINE void sp_span_set_str(sp_span *s, const char *k, const char *v) { (void)s; (void)k; (void)v; }
SP__INLINE void sp_span_set_bool(sp_span *s, const char *k, bool v) { (void)s; (void)k; (void)v; }
SP__INLINE sp_context *sp_context_save(void) { return NULL; }
SP__INLINE int sp_context_restore(sp_context *c) { (void)c; return 0; }
SP__INLINE void sp_set_enabled(bool on) { (void)on; }
SP__INLINE bool sp_enabled(void) { return false; }
SP__INLINE void sp_clear(void) {}
SP__INLINE double sp_overhead_per_span_ns(void) { return 0.0; }
SP__INLINE double sp_total_overhead_ms(void) { return 0.0; }
SP__INLINE int sp_dump(const char *p) { (void)p; return 0; }
SP__INLINE const char *sp_strerror(int e) { (void)e; return "spanprof disabled"; }
SP__INLINE const char *sp_version(void) { return SP_VERSION_STRING; }
SP__INLINE sp_snapshot *sp_snapshot_take(void) { return NULL; }
SP__INLINE void sp_snapshot_free(sp_snapshot *s) { (void)s; }
SP__INLINE size_t sp_snapshot_count(const sp_snapshot *s) { (void)s; return 0; }
SP__INLINE const sp_trace_info *sp_snapshot_trace(const sp_snapshot *s, size_t i) { (void)s; (void)i; return NULL; }
SP__INLINE const sp_node *sp_node_child(const sp_node *n, const char *s) { (void)n; (void)s; return NULL; }
SP__INLINE const sp_node *sp_node_find(const sp_node *n, const char *s) { (void)n; (void)s; return NULL; }
SP__INLINE const sp_kv *sp_node_data(const sp_node *n, const char *k) { (void)n; (void)k; return NULL; }

#endif /* SPANPROF_DISABLE */

/* Macro plumbing. SP__CAT expands its arguments first, so __COUNTER__ works. */
#define SP__CAT2(a, b) a##b
#define SP__CAT(a, b) SP__CAT2(a, b)

#define SP__LOC(nm)                                                                \
	__extension__({                                                            \
		static struct sp_srcloc sp__loc = { (nm), __func__, __FILE__, __LINE__, 0 }; \
		&sp__loc;                                                          \
	})

SP__INLINE void sp__scope_cleanup(sp__scope *s)
{
	if (s->frame)
		sp__scope_end(s->frame);
}

#define SP__SPAN_I(name, begin, v)                                                 \
	for (sp__scope v __attribute__((cleanup(sp__scope_cleanup))) =             \
		     SP__PROBE(begin, SP__LOC(name));                              \
	     v.once; v.once = 0)

#define SP__SCOPE_I(name, v)                                                       \
	sp__scope v __attribute__((cleanup(sp__scope_cleanup), unused)) =          \
		SP__PROBE(sp__span_begin, SP__LOC(name))

#define SP__TRACE_I(name, id, v)                                                   \
	for (sp__scope v __attribute__((cleanup(sp__scope_cleanup))) =             \
		     SP__PROBE(sp__trace_begin_scope, (name), (id));                 \
	     v.once; v.once = 0)

#ifdef __cplusplus
}
#endif

#endif /* SPANPROF_H */
