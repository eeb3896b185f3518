/* internal.h - what the runtime's files share. Not installed.
 *
 * Map of the runtime (one job per file):
 *   hooks.c     __cyg_profile_func_enter/exit: the hot path; the entry
 *               points of hooks_stub.c (libspanprof_hooks.a, the hooks
 *               linked into the program) and the registry of its flags
 *   probes.c    the manual API: SP_SPAN & co., data setters, context save/restore
 *   stack.h/.c  a thread's stack of open spans and its trace being built
 *   thread.c    per-thread records: creation, thread exit, fork
 *   store.c     the ring of committed traces, byte budget, eviction
 *   sites.c     what a record names (probe, function, run-time name), the
 *               per-function decision cache the hooks read and its
 *               out-of-scope filter
 *   modules.c   loaded executables and libraries, ELF symbol tables
 *   dwarf_files.c  which functions a source file defines (file:NAME patterns)
 *   args_index.c  arguments of SPANPROF_ARGS functions: where, from DWARF
 *                 (subprogram index, parameters, types, enums, structs)
 *   args_callsite.c  ... of their inlined calls, and entry values from the
 *                 caller's DW_TAG_call_site
 *   args_eval.c   ... and their values at a call (libunwind); args.h between them
 *   config.c    SPANPROF_* variables, parsed once; glob matching
 *   clock.c     ticks (TSC / cntvct / clock_gettime) and their calibration
 *   overhead.c  self-measurement of the cost of a span
 *   flight.c    the flight file: the store in a shared file mapping, its
 *               allocator, metadata, finalize at exit (docs/FORMAT.md)
 *   dump.c      the dump writer (docs/FORMAT.md): copies (sp_dump, and the
 *               exit of a program without a flight file)
 *   snapshot.c  the read API
 *   init.c      constructor, exit dump, control API
 *   control.c   live control from outside (SPANPROF_SIGNAL, `spanprof ctl`):
 *               the handler, the dump thread, the sigaction/signal wrappers
 *
 * Shared with the CLI, in common/ (libspcommon, linked in):
 *   format.h    the dump format: section and site kinds, record heads and
 *               structs, header offsets
 *   decode.c    record stream -> tree (snapshots here, dumps in the CLI)
 *   dwarf_walk.c  the walk over a module's DW_TAG_subprograms
 *   control.h   the live-control protocol (signals, commands, dump name)
 *
 * Every function here runs inside someone else's program: no exit, no
 * abort, no lock held while a trace is built, and nothing on a hook's path
 * that calls malloc (memory comes from mmap, see mem.c).
 */
#ifndef SP_INTERNAL_H
#define SP_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spanprof.h"

#define SP_HIDDEN __attribute__((visibility("hidden")))
#define SP_LIKELY(x) __builtin_expect(!!(x), 1)
#define SP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SP_COLD __attribute__((cold, noinline))
#define SP_INLINE static inline __attribute__((always_inline))

typedef uint64_t sp_ticks_t; /* clock ticks; convert with sp__ticks_to_ns */

/* ------------------------------------------------------------------------
 * Record stream encoding (docs/FORMAT.md, "The record stream"): format.h
 */
#include "format.h"
#define SP_MAX_SITES (SP_REC_SITE_MASK + 1u)

/* struct sp__span_rec, sp__cumul_rec, sp__data_rec: format.h */

/* ------------------------------------------------------------------------
 * Memory (mem.c): page-granular, never malloc, safe in signal handlers.
 */
SP_HIDDEN size_t sp__page_round(size_t n);
SP_HIDDEN void *sp__map(size_t size);               /* zeroed; NULL on failure */
SP_HIDDEN void sp__unmap(void *p, size_t size);
SP_HIDDEN void *sp__remap(void *p, size_t old_size, size_t new_size); /* NULL: p kept */
/* A bump arena for things that live as long as the process (strings of
 * module paths, symbol indexes). Thread-safe. NULL on failure. */
SP_HIDDEN void *sp__arena_alloc(size_t size);
SP_HIDDEN char *sp__arena_strdup(const char *s);
SP_HIDDEN char *sp__arena_strndup(const char *s, size_t n);

/* A spin lock that a signal handler on the thread holding it cannot
 * deadlock on: sp__lock() then returns false and the caller skips its work.
 * Critical sections are a few pointer moves. */
struct sp__lock {
	atomic_flag flag;
	unsigned bit; /* this lock's bit in the thread's held mask */
};
#define SP_LOCK_INIT(b) { ATOMIC_FLAG_INIT, (b) }
SP_HIDDEN bool sp__lock(struct sp__lock *l);
SP_HIDDEN void sp__unlock(struct sp__lock *l);
SP_HIDDEN void sp__lock_reset(struct sp__lock *l); /* fork child */
SP_HIDDEN unsigned sp__locks_held(void); /* by this thread: a mask */
/* The runtime's locks. Order: site or module before arena; store alone. */
extern SP_HIDDEN struct sp__lock sp__arena_lock, sp__mod_lock, sp__site_lock, sp__store_lock;

/* ------------------------------------------------------------------------
 * Clock (clock.c)
 */
enum sp__clock_source { SP_CLOCK_TSC = 1, SP_CLOCK_CNTVCT = 2, SP_CLOCK_MONOTONIC = 3 };
extern SP_HIDDEN int sp__clock_counter; /* 1: read the CPU counter */
SP_HIDDEN sp_ticks_t sp__clock_slow(void);
SP_HIDDEN void sp__clock_init(void);
/* Ticks per ns, measured against CLOCK_MONOTONIC over at least 20 ms since
 * start (waits the rest on first call if needed). */
SP_HIDDEN double sp__ticks_per_ns(void);
SP_HIDDEN enum sp__clock_source sp__clock_source(void);
/* The reference instant: a tick value and the wall/monotonic ns then. */
SP_HIDDEN void sp__clock_ref(sp_ticks_t *tick, uint64_t *wall_ns, uint64_t *mono_ns);
SP_HIDDEN uint64_t sp__ticks_to_ns(sp_ticks_t dt);
SP_HIDDEN uint64_t sp__ticks_to_wall_ns(sp_ticks_t t);

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
SP_INLINE sp_ticks_t sp__now(void)
{
	if (SP_LIKELY(sp__clock_counter))
		return __rdtsc();
	return sp__clock_slow();
}
#elif defined(__aarch64__)
SP_INLINE sp_ticks_t sp__now(void)
{
	if (SP_LIKELY(sp__clock_counter)) {
		uint64_t v;
		__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
		return v;
	}
	return sp__clock_slow();
}
#else
SP_INLINE sp_ticks_t sp__now(void) { return sp__clock_slow(); }
#endif

/* ------------------------------------------------------------------------
 * Configuration (config.c)
 */
struct sp__globs {
	const char **names; /* function-name globs */
	const char **params; /* per name: the parameter after '@' (SPANPROF_TRACE), or NULL */
	uint32_t nnames;
	const char **files; /* file:NAME globs, NAME only */
	uint32_t nfiles;
};

struct sp__config {
	bool enabled;
	const char *output; /* NULL: no dump at exit */
	uint32_t max_traces;
	uint32_t buffer_mb;
	bool debug;
	struct sp__globs trace_calls, trace_all, exclude, cumulative, trace, args;
	bool any_globs;  /* one of the lists above is set */
	bool any_files;  /* one of them has a file: pattern */
	int control_signal; /* SPANPROF_SIGNAL, once its handler is installed */
	bool cpu;      /* SPANPROF_CPU: CPU time and switches per trace */
	bool span_cpu; /* SPANPROF_SPAN_CPU: the same per SP_SPAN / SP_SCOPE */
	uint32_t str_max; /* SPANPROF_STR_MAX: ids, string data and arguments kept */
	uint32_t keep_slowest; /* SPANPROF_KEEP_SLOWEST: slowest traces kept per name, 0: FIFO only */
	uint32_t min_ms;       /* SPANPROF_MIN_MS: faster traces are not stored */
};
extern SP_HIDDEN struct sp__config sp__cfg;
SP_HIDDEN void sp__config_load(void);
SP_HIDDEN bool sp__glob_match(const char *pat, const char *s);
/* Does `name` (a symbol, "foo" or "foo.cold" / "foo.constprop.0") match? */
SP_HIDDEN bool sp__globs_match_name(const struct sp__globs *g, const char *name);
/* The same, giving the index of the first pattern that matches, or -1. */
SP_HIDDEN int sp__globs_find_name(const struct sp__globs *g, const char *name);
SP_HIDDEN bool sp__globs_match_file(const struct sp__globs *g, const char *path);
/* patterns.c: the names of a function deciding its first call (symbol,
 * demangled, demangled without parameters; NULL when none) mark the
 * patterns they match; at exit, one line per pattern that matched none. */
SP_HIDDEN void sp__patterns_note(const char *const names[3]);
SP_HIDDEN void sp__patterns_report(void);
SP_HIDDEN void sp__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
SP_HIDDEN void sp__warn_once(atomic_int *flag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------------
 * Modules (modules.c)
 */
/* SP_MOD_MAIN, SP_MOD_UNLOADED: format.h */
#define SP_MAX_MODULES 4096

struct sp__sym {
	uintptr_t value; /* offset in the file */
	uint32_t size;
	uint32_t name;   /* offset in the module's string table */
};

struct sp__module {
	const char *path;
	uintptr_t bias, start, end; /* of its latest load */
	uint32_t flags; /* written with release, read with acquire (modules.c) */
	_Atomic uint32_t sites; /* function sites that name it: kept while > 0 */
	uint8_t build_id_len;
	uint8_t build_id[SP_BUILD_ID_MAX];
	/* symbol table, loaded on first need */
	int sym_state; /* 0 not loaded, 1 loaded, -1 unusable */
	const struct sp__sym *syms;
	size_t nsyms;
	const char *strtab;
	size_t strtab_len;
	const void *file_map; /* the file's mapping, which strtab points into */
	size_t file_len;
	/* functions defined in source files named by file: patterns */
	int files_state;
	uintptr_t *file_fns; /* sorted offsets of matching function entries */
	uint32_t *file_fn_lists; /* per entry: bitmask of the config lists that matched */
	size_t nfile_fns;
};

SP_HIDDEN void sp__modules_scan(void);
/* The module containing `addr`, or -1 (rescans once if no module does). */
SP_HIDDEN int sp__module_find(uintptr_t addr);
SP_HIDDEN struct sp__module *sp__module_get(int index);
SP_HIDDEN uint32_t sp__module_count(void);
/* Symbol name and size of the function at `addr` in module `mi`. */
SP_HIDDEN const char *sp__module_symbol(int mi, uintptr_t addr, uint32_t *size);
/* Bitmask of config lists (SP_LIST_*) whose file: patterns name the source
 * file defining the function at `addr`. */
SP_HIDDEN uint32_t sp__module_file_lists(int mi, uintptr_t addr);
SP_HIDDEN void sp__modules_after_dlclose(void);

/* dwarf_files.c: entry offsets of the functions whose DW_AT_decl_file
 * matches one of the file: patterns; fills m->file_fns. */
SP_HIDDEN void sp__dwarf_file_functions(struct sp__module *m);

/* Which config list matched (bitmask). */
#define SP_LIST_TRACE_CALLS 1u
#define SP_LIST_TRACE_ALL 2u
#define SP_LIST_EXCLUDE 4u
#define SP_LIST_CUMULATIVE 8u
#define SP_LIST_TRACE 16u
#define SP_LIST_ARGS 32u

/* ------------------------------------------------------------------------
 * Sites and the decision cache (sites.c)
 */
/* enum sp__site_kind: format.h */
struct sp__site {
	uint8_t kind;
	uint32_t module;  /* FUNC */
	uintptr_t addr;   /* FUNC: its address at the latest load */
	uintptr_t offset; /* FUNC: its offset in the module's file (what the dump names) */
	uint32_t size;    /* FUNC */
	const char *name; /* FUNC: symbol (may be NULL); PROBE, NAME: the name */
	const struct sp_srcloc *loc; /* PROBE */
	atomic_uint_fast64_t calls;  /* traces this site started (ids) */
	void *args;                  /* FUNC with SPANPROF_ARGS: struct sp__argcache (args.h) */
	const char *id_param;        /* FUNC: SPANPROF_TRACE=NAME@PARAM, the id's parameter */
	atomic_int id_warned;        /* that parameter's value could not be read (told once) */
};

/* Decision bits in a cache value; the low 26 bits are the site id. */
#define SP_FN_SITE_MASK 0x03ffffffu
#define SP_FN_SPAN (1u << 26)  /* trace_all / args: a span wherever called */
#define SP_FN_CALLS (1u << 27) /* trace_calls root */
#define SP_FN_TRACE (1u << 28) /* trace root */
#define SP_FN_CUMUL (1u << 29) /* cumulative */
#define SP_FN_EXCL (1u << 30)  /* never a span */
#define SP_FN_ARGS (1u << 31)  /* capture arguments */
#define SP_FN_RECORD (SP_FN_SPAN | SP_FN_CALLS | SP_FN_TRACE | SP_FN_CUMUL | SP_FN_ARGS)

struct sp__centry {
	_Atomic uintptr_t key; /* function address, 0: empty */
	uint32_t val;
	uint32_t size; /* function size from the symbol table, 0: unknown */
};

struct sp__ctable {
	uint32_t mask;
	uint32_t used;
	struct sp__centry e[];
};

extern SP_HIDDEN struct sp__ctable *_Atomic sp__ctab;

/* The cache entry of function `fn`, or NULL when it was never seen (or
 * when a concurrent change hid it: the caller then decides again, under
 * the lock, which finds it). An entry's value never changes while its
 * function is loaded, and a table is never unmapped (sites.c). */
SP_INLINE const struct sp__centry *sp__cache_find(uintptr_t fn)
{
	struct sp__ctable *tab = atomic_load_explicit(&sp__ctab, memory_order_acquire);
	uint32_t i = (uint32_t)((fn * 0x9e3779b97f4a7c15ull) >> 40) & tab->mask;
	for (;;) {
		uintptr_t k = atomic_load_explicit(&tab->e[i].key, memory_order_acquire);
		if (SP_LIKELY(k == fn))
			return &tab->e[i];
		if (k == 0)
			return NULL;
		i = (i + 1) & tab->mask;
	}
}

/* The out-of-scope filter: functions known to record nothing outside a
 * traced scope (no SP_FN_RECORD bit), direct-mapped by address, keys only
 * (8 bytes a slot, no hash multiply, no table pointer to load). Out of
 * scope, a hit is the whole decision: one load and a compare that hit L1
 * in any loop. A slot keeps its first function (threads never fight over
 * a slot); a function that finds its slot taken falls back to the cache.
 * Cleared with the cache's tombstones after a dlclose (sites.c). */
#define SP_SKIP_SLOTS 2048u
extern SP_HIDDEN _Atomic uintptr_t sp__skip[SP_SKIP_SLOTS];
SP_INLINE _Atomic uintptr_t *sp__skip_slot(uintptr_t fn)
{
	return &sp__skip[(fn >> 4) & (SP_SKIP_SLOTS - 1)]; /* functions are 16-byte aligned at -O2 */
}
SP_INLINE bool sp__skip_has(uintptr_t fn)
{
	return atomic_load_explicit(sp__skip_slot(fn), memory_order_relaxed) == fn;
}
/* Add `fn`, whose cached decision has no SP_FN_RECORD bit, if its slot is
 * free. */
SP_HIDDEN void sp__skip_add(uintptr_t fn);

/* The decision for function `fn`, or 0 when it was never seen. */
SP_INLINE uint32_t sp__cache_get(uintptr_t fn, uint32_t *size)
{
	const struct sp__centry *e = sp__cache_find(fn);
	if (!e)
		return 0;
	*size = e->size;
	return e->val;
}

SP_HIDDEN void sp__sites_init(void);
/* Decide for a function seen for the first time: match it against the
 * patterns, give it a site, cache the result. 0 if it cannot be decided now
 * (re-entered from a signal handler: the call is just not recorded). */
SP_HIDDEN uint32_t sp__decide(uintptr_t fn, uint32_t *size);
SP_HIDDEN uint32_t sp__site_for_probe(struct sp_srcloc *loc); /* 0 on failure */
SP_HIDDEN uint32_t sp__site_for_name(const char *name);       /* 0 on failure */
SP_HIDDEN uint32_t sp__site_count(void);
SP_HIDDEN const struct sp__site *sp__site_get(uint32_t id);  /* NULL if out of range */
SP_HIDDEN const char *sp__site_name(uint32_t id);            /* never NULL */
SP_HIDDEN void sp__cache_flush(void);                         /* after dlclose */

/* ------------------------------------------------------------------------
 * Global state
 */
struct sp__global {
	atomic_int hooks; /* hooks record: recording on and some pattern set */
	bool initialized;
	pid_t pid;
	atomic_int exiting;
	atomic_uint_fast64_t spans_dropped; /* byte budget, all traces */
	atomic_uint_fast64_t traces_lost;   /* could not be stored at all */
};
extern SP_HIDDEN struct sp__global sp__g;
/* sp__on (spanprof.h): switched by any thread, read by all. Relaxed:
 * nothing else is published through it. */
SP_INLINE bool sp__recording(void) { return __atomic_load_n(&sp__on, __ATOMIC_RELAXED) != 0; }
SP_INLINE void sp__set_recording(bool on) { __atomic_store_n(&sp__on, on, __ATOMIC_RELAXED); }
SP_HIDDEN void sp__update_hooks(void);
/* Set sp__g.hooks and the flags of the hook stubs (hooks.c). */
SP_HIDDEN void sp__hooks_publish(int on);
SP_HIDDEN int sp__dump_write(const char *path); /* 0 or -errno */
/* The same for live control: -ECANCELED once the exit dump has started. */
SP_HIDDEN int sp__dump_write_live(const char *path);
SP_HIDDEN void sp__dump_quiesce(void);    /* wait for a dump in progress */
SP_HIDDEN int sp__dump_live(void);        /* SPANPROF_OUTPUT, for live control */
SP_HIDDEN void sp__dump_fork_child(void);
SP_HIDDEN void sp__control_init(void);
SP_HIDDEN void sp__control_fork_child(void);
SP_HIDDEN void sp__init(void);

/* ------------------------------------------------------------------------
 * The flight file (flight.c); all zero when there is none.
 */
struct sp__flight {
	uint8_t *base;      /* the whole file's mapping */
	size_t size;
	uint8_t *data;      /* the allocator's area */
	size_t data_size;
	uint8_t *threads;   /* thread slots */
	void **ring;        /* the store's ring */
	struct sp__hist_entry *hist; /* statistics per trace name (hist.c) */
	bool detached;      /* a fork child: a private view, no longer the file */
	atomic_int closed;  /* finalized at exit: nothing changes in it any more */
	dev_t dev;
	ino_t ino;
	char path[4096];
};
extern SP_HIDDEN struct sp__flight sp__fl;
SP_HIDDEN void sp__flight_init(void);
SP_HIDDEN void sp__flight_control_start(void); /* the thread serving commands */
SP_HIDDEN bool sp__flight_is(const char *path); /* names our live file */
SP_HIDDEN void sp__flight_sync(bool modules);   /* publish new sites (and modules) */
SP_HIDDEN void sp__flight_finalize(bool empty);
SP_HIDDEN void sp__flight_fork_child(void);
SP_HIDDEN void sp__flight_atfork_prepare(void);
SP_HIDDEN void sp__flight_atfork_parent(void);
SP_HIDDEN void *sp__flight_alloc(size_t size); /* NULL: no block that big is free */
SP_HIDDEN void sp__flight_free(void *p, size_t size);
SP_HIDDEN bool sp__flight_owns(const void *p);
SP_HIDDEN size_t sp__flight_block_size(size_t size);
/* Trace buffers and blocks: in the file when there is one, else mmap. */
SP_HIDDEN void *sp__buf_resize(void *p, size_t old_size, size_t new_size); /* NULL: p kept */
SP_HIDDEN void sp__buf_free(void *p, size_t size);

#endif
