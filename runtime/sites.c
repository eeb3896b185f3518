/* sites.c - what a record names, and what the hooks decided per function.
 *
 * A site is a probe in the source (SP_SPAN & co.), an instrumented function,
 * or a name given at run time (sp_trace_begin). Records store a 28-bit site
 * id; the dump's SITES section lists them (docs/FORMAT.md).
 *
 * The decision cache maps a function address to its decision bits and site
 * id. It is filled once per function, on its first call (sp__decide: symbol
 * lookup and glob matching, under a lock); afterwards the hooks read it
 * without lock, malloc or matching: an open-addressing table whose keys are
 * published with release stores. Reclaiming memory from it is described
 * above sp__cache_flush.
 */
#include "internal.h"

#include "cxxname.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SITE_CHUNK 4096u
#define MAX_SITES (1u << 24)
#define CACHE_INITIAL 16384u
#define NAMES_SIZE 131072u /* slots of the name table; at most half used */
#define MAX_NAMES (NAMES_SIZE / 2)

struct sp__ctable *_Atomic sp__ctab;

struct sp__lock sp__site_lock = SP_LOCK_INIT(1u << 2);
static struct sp__site *chunks[MAX_SITES / SITE_CHUNK];
static _Atomic uint32_t nsites;
static uint32_t other_name_site; /* the name used once the name table is full */

struct name_slot {
	_Atomic uint64_t hash; /* 0: empty */
	uint32_t site;
};
static struct name_slot *names;
static uint32_t nnames;

static struct sp__ctable *ctable_new(uint32_t size)
{
	struct sp__ctable *t = sp__map(sizeof *t + (size_t)size * sizeof t->e[0]);
	if (t)
		t->mask = size - 1;
	return t;
}

/* A table that is never written, for hooks that run before init: mask 0
 * and one empty entry. (Bytes, not a struct holding a flexible member.) */
static _Alignas(struct sp__centry) unsigned char empty_bytes[sizeof(struct sp__ctable) + sizeof(struct sp__centry)];
#define EMPTY_TABLE ((struct sp__ctable *)empty_bytes)

void sp__sites_init(void)
{
	struct sp__ctable *t = ctable_new(CACHE_INITIAL);
	atomic_store(&sp__ctab, t ? t : EMPTY_TABLE);
	names = sp__map((size_t)NAMES_SIZE * sizeof *names);
}

__attribute__((constructor(101))) static void early(void)
{
	/* sp__cache_get must always find a table. */
	if (!atomic_load(&sp__ctab))
		atomic_store(&sp__ctab, EMPTY_TABLE);
}

uint32_t sp__site_count(void)
{
	return atomic_load_explicit(&nsites, memory_order_acquire);
}

const struct sp__site *sp__site_get(uint32_t id)
{
	if (id == 0 || id > sp__site_count())
		return NULL;
	return &chunks[(id - 1) / SITE_CHUNK][(id - 1) % SITE_CHUNK];
}

const char *sp__site_name(uint32_t id)
{
	const struct sp__site *s = sp__site_get(id);
	return s && s->name ? s->name : "?";
}

/* Append a site; called with site_lock held. 0 when full. */
static uint32_t site_new(const struct sp__site *proto)
{
	uint32_t n = atomic_load(&nsites);
	if (n + 1 >= MAX_SITES)
		return 0;
	uint32_t c = n / SITE_CHUNK;
	if (!chunks[c]) {
		chunks[c] = sp__map(SITE_CHUNK * sizeof(struct sp__site));
		if (!chunks[c])
			return 0;
	}
	struct sp__site *s = &chunks[c][n % SITE_CHUNK];
	s->kind = proto->kind;
	s->module = proto->module;
	s->addr = proto->addr;
	s->offset = proto->offset;
	s->size = proto->size;
	s->name = proto->name;
	s->loc = proto->loc;
	s->id_param = proto->id_param;
	atomic_store(&s->calls, 0);
	atomic_store_explicit(&nsites, n + 1, memory_order_release);
	return n + 1;
}

/* ------------------------------------------------------------------------
 * Decision cache
 *
 * The hooks probe the current table without a lock and without telling
 * anyone (no per-thread flag on the fast path), so a table may be read at
 * any time by a thread stopped in the middle of a probe. What keeps that
 * safe without leaking, dlclose after dlclose:
 *
 * - A dlclose does not build a new table (it used to, and kept the old one:
 *   256 KiB per dlclose). The entries of unloaded functions are turned into
 *   tombstones in place: key TOMB, which matches no function and, not being
 *   0, does not end a probe. Their values are left alone. A probe that
 *   matched such a key before it changed is a call of a function whose
 *   library is being unloaded under it: a bug of the program, and even then
 *   it reads a value that was right.
 * - An insertion reuses the first tombstone on its probe path. The value
 *   then changes, but only in a slot whose old function is gone, and the
 *   new key is published after the value (release/acquire).
 * - Hiding an entry is harmless: a probe that misses decides again, and
 *   sp__decide looks again under the lock. Showing a wrong value is not.
 * - When tombstones and entries fill half the table, it is rebuilt: twice
 *   as big if the live entries need it, else at the same size into the
 *   table retired by the previous same-size rebuild (the spare), which is
 *   cleared first. A probe still on the spare then sees empty slots
 *   (misses) or entries copied from the current table (the right values
 *   for their functions); only a thread stopped on one probe across two
 *   whole rebuilds (thousands of dlclose) could read a value for another
 *   function, and then records one call wrongly, never faults: the spare
 *   keeps its size and is never unmapped.
 * - Tables outgrown by doubling are kept (never unmapped, for the same
 *   reason): together they are smaller than the current one.
 * Memory is then at most about three times the current table, which only
 * grows with the number of functions loaded at the same time.
 */
#define TOMB ((uintptr_t)1)

static struct sp__ctable *spare;    /* retired at the current size, reused by the next rebuild */
static uint32_t tombs;              /* tombstones in the current table */

static void ctable_clear(struct sp__ctable *t)
{
	for (uint32_t i = 0; i <= t->mask; i++)
		atomic_store_explicit(&t->e[i].key, 0, memory_order_relaxed);
	t->used = 0;
}

/* Insert a key known to be absent, into the first tombstone or empty slot
 * on its path. Returns whether a tombstone was reused. */
static bool ctable_put(struct sp__ctable *t, uintptr_t fn, uint32_t val, uint32_t size)
{
	uint32_t i = (uint32_t)((fn * 0x9e3779b97f4a7c15ull) >> 40) & t->mask;
	uintptr_t k;
	while ((k = atomic_load_explicit(&t->e[i].key, memory_order_relaxed)) && k != TOMB)
		i = (i + 1) & t->mask;
	t->e[i].val = val;
	t->e[i].size = size;
	atomic_store_explicit(&t->e[i].key, fn, memory_order_release);
	if (k == TOMB)
		return true;
	t->used++;
	return false;
}

/* Whether inserting `fn` would take a tombstone (the table fills no more). */
static bool ctable_put_would_reuse(const struct sp__ctable *t, uintptr_t fn)
{
	uint32_t i = (uint32_t)((fn * 0x9e3779b97f4a7c15ull) >> 40) & t->mask;
	uintptr_t k;
	while ((k = atomic_load_explicit(&t->e[i].key, memory_order_relaxed)) && k != TOMB)
		i = (i + 1) & t->mask;
	return k == TOMB;
}

/* Replace the current table by a copy of its live entries, in `n`. */
static void ctable_rebuild(struct sp__ctable *t, struct sp__ctable *n)
{
	for (uint32_t i = 0; i <= t->mask; i++) {
		uintptr_t k = atomic_load_explicit(&t->e[i].key, memory_order_relaxed);
		if (k && k != TOMB)
			ctable_put(n, k, t->e[i].val, t->e[i].size);
	}
	atomic_store_explicit(&sp__ctab, n, memory_order_release);
	tombs = 0;
}

/* Insert with site_lock held; rebuilds the table past half full. */
static void cache_insert(uintptr_t fn, uint32_t val, uint32_t size)
{
	struct sp__ctable *t = atomic_load(&sp__ctab);
	if (t == EMPTY_TABLE)
		return;
	if (!tombs || !ctable_put_would_reuse(t, fn)) {
		if ((t->used + 1) * 2 > t->mask + 1) {
			uint32_t live = t->used - tombs;
			struct sp__ctable *n;
			if ((live + 1) * 4 > t->mask + 1) {
				n = ctable_new((t->mask + 1) * 2);
				if (!n)
					return; /* not cached: decided again next time */
				spare = NULL; /* t stays mapped, never reused */
			} else if (spare) {
				n = spare;
				ctable_clear(n);
				spare = t;
			} else {
				n = ctable_new(t->mask + 1);
				if (!n)
					return;
				spare = t;
			}
			ctable_rebuild(t, n);
			t = n;
		}
	}
	if (ctable_put(t, fn, val, size))
		tombs--;
}

_Atomic uintptr_t sp__skip[SP_SKIP_SLOTS];

/* The filter must never keep a function the cache has dropped. The flush
 * tombstones, then clears the filter; an adder publishes, then checks that
 * the cache still has the function (a seq_cst fence on each side): either
 * the clear comes after the add, or the add's check sees the tombstone
 * (or a rebuilt table without the function) and takes the add back. */
void sp__skip_add(uintptr_t fn)
{
	_Atomic uintptr_t *slot = sp__skip_slot(fn);
	uintptr_t free_ = 0;
	if (!atomic_compare_exchange_strong_explicit(slot, &free_, fn, memory_order_relaxed, memory_order_relaxed))
		return;
	atomic_thread_fence(memory_order_seq_cst);
	const struct sp__centry *e = sp__cache_find(fn);
	if (!e || (e->val & SP_FN_RECORD)) {
		uintptr_t mine = fn;
		atomic_compare_exchange_strong_explicit(slot, &mine, 0, memory_order_relaxed, memory_order_relaxed);
	}
}

static void skip_clear(void)
{
	atomic_thread_fence(memory_order_seq_cst); /* after the tombstones */
	for (uint32_t i = 0; i < SP_SKIP_SLOTS; i++)
		atomic_store_explicit(&sp__skip[i], 0, memory_order_relaxed);
}

/* After a dlclose: the functions of unloaded modules leave the cache,
 * since their addresses may now belong to another library. */
void sp__cache_flush(void)
{
	if (!sp__lock(&sp__site_lock))
		return;
	struct sp__ctable *t = atomic_load(&sp__ctab);
	if (t != EMPTY_TABLE && t->used > tombs) { /* some entry is live (none if the hooks never ran) */
		for (uint32_t i = 0; i <= t->mask; i++) {
			uintptr_t k = atomic_load_explicit(&t->e[i].key, memory_order_relaxed);
			if (!k || k == TOMB)
				continue;
			const struct sp__site *s = sp__site_get(t->e[i].val & SP_FN_SITE_MASK);
			const struct sp__module *m = s ? sp__module_get((int)s->module) : NULL;
			if (!m || (__atomic_load_n(&m->flags, __ATOMIC_ACQUIRE) & SP_MOD_UNLOADED)) {
				atomic_store_explicit(&t->e[i].key, TOMB, memory_order_release);
				tombs++;
			}
		}
	}
	skip_clear();
	sp__unlock(&sp__site_lock);
}

/* ------------------------------------------------------------------------
 * Function sites by module and offset, so that a library loaded again
 * (anywhere) gives its functions the sites they had: the site list then
 * grows with the functions of distinct files, not with loads. Read and
 * written under site_lock only, so it is replaced and unmapped freely.
 */
static uint32_t *fsites; /* site ids, 0: empty */
static uint32_t fsites_cap, fsites_n;

static uint32_t fsite_slot(uint32_t mi, uintptr_t off, uint32_t cap)
{
	uint64_t h = ((uint64_t)off ^ ((uint64_t)mi << 40)) * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(h >> 32) & (cap - 1);
}

static uint32_t fsite_find(uint32_t mi, uintptr_t off)
{
	if (!fsites)
		return 0;
	for (uint32_t i = fsite_slot(mi, off, fsites_cap);; i = (i + 1) & (fsites_cap - 1)) {
		uint32_t id = fsites[i];
		if (!id)
			return 0;
		const struct sp__site *s = sp__site_get(id);
		if (s->module == mi && s->offset == off)
			return id;
	}
}

static void fsite_put(uint32_t *tab, uint32_t cap, uint32_t id)
{
	const struct sp__site *s = sp__site_get(id);
	uint32_t i = fsite_slot(s->module, s->offset, cap);
	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = id;
}

static void fsite_add(uint32_t id)
{
	if ((fsites_n + 1) * 2 > fsites_cap) {
		uint32_t cap = fsites_cap ? fsites_cap * 2 : 4096;
		uint32_t *tab = sp__map((size_t)cap * sizeof *tab);
		if (!tab)
			return; /* not indexed: a new load makes a new site */
		for (uint32_t i = 0; i < fsites_cap; i++)
			if (fsites[i])
				fsite_put(tab, cap, fsites[i]);
		sp__unmap(fsites, (size_t)fsites_cap * sizeof *fsites);
		fsites = tab;
		fsites_cap = cap;
	}
	fsite_put(fsites, fsites_cap, id);
	fsites_n++;
}

/* The names a pattern may use for a symbol: the symbol itself and, for a
 * C++ one, its demangled form with and without the parameter list
 * ("ns::Grid::move(int)", "ns::Grid::move"). __cxa_demangle is looked up at
 * run time: present in C++ programs, and the runtime needs no libstdc++. */
struct names {
	const char *v[3];
	char *demangled;
	char *plain; /* STL names run to hundreds of characters */
};

static void names_of(const char *sym, struct names *n)
{
	memset(n, 0, sizeof *n);
	n->v[0] = sym;
	if (!sym || strncmp(sym, "_Z", 2))
		return;
	static char *(*demangle)(const char *, char *, size_t *, int *);
	static int looked;
	if (!looked) {
		demangle = (char *(*)(const char *, char *, size_t *, int *))dlsym(RTLD_DEFAULT, "__cxa_demangle");
		looked = 1;
	}
	int status = -1;
	char *d = demangle ? demangle(sym, NULL, NULL, &status) : NULL;
	if (!d || status != 0) {
		free(d);
		return;
	}
	n->demangled = d;
	n->v[1] = d;
	/* without the parameter list, and without the return type the
	 * demangler writes for template functions ("long app::total<long>(...)") */
	size_t b, e;
	sp__cxx_name_span(d, strlen(d), &b, &e);
	if (e > b && (b > 0 || d[e]))
		n->v[2] = n->plain = strndup(d + b, e - b);
}

static int match_index(const struct sp__globs *g, const struct names *n)
{
	for (int i = 0; i < 3; i++) {
		int k = n->v[i] ? sp__globs_find_name(g, n->v[i]) : -1;
		if (k >= 0)
			return k;
	}
	return -1;
}

static bool match_any(const struct sp__globs *g, const struct names *n)
{
	return match_index(g, n) >= 0;
}

/* The decision bits for a function; *id_param is set when its trace ids
 * come from an argument (SPANPROF_TRACE=NAME@PARAM), which implies
 * reading its arguments. */
static uint32_t decide_flags(const char *name, uint32_t files, const char **id_param)
{
	const struct sp__config *c = &sp__cfg;
	struct names n;
	names_of(name, &n);
	uint32_t f = 0;
	if ((files & SP_LIST_TRACE_CALLS) || match_any(&c->trace_calls, &n))
		f |= SP_FN_CALLS;
	if ((files & SP_LIST_TRACE_ALL) || match_any(&c->trace_all, &n))
		f |= SP_FN_SPAN;
	int k = match_index(&c->trace, &n);
	if ((files & SP_LIST_TRACE) || k >= 0)
		f |= SP_FN_TRACE;
	*id_param = k >= 0 ? c->trace.params[k] : NULL;
	if (*id_param)
		f |= SP_FN_ARGS;
	if ((files & SP_LIST_CUMULATIVE) || match_any(&c->cumulative, &n))
		f |= SP_FN_CUMUL;
	if ((files & SP_LIST_ARGS) || match_any(&c->args, &n))
		f |= SP_FN_ARGS | SP_FN_SPAN;
	bool excluded = (files & SP_LIST_EXCLUDE) || match_any(&c->exclude, &n);
	sp__patterns_note(n.v);
	free(n.demangled);
	free(n.plain);
	if (excluded) {
		/* Excluding wins over trace_all, args and the trace_calls scope;
		 * a function named as a trace or trace_calls root stays one. */
		f |= SP_FN_EXCL;
		f &= ~(SP_FN_SPAN | SP_FN_ARGS | SP_FN_CUMUL);
	}
	return f;
}

uint32_t sp__decide(uintptr_t fn, uint32_t *size)
{
	/* The slow work (module scan, symbol table, DWARF for file:) happens
	 * before taking the lock; two threads may both do it for one
	 * function, and the second one then finds the first one's entry. */
	int mi = sp__module_find(fn);
	uint32_t sz = 0;
	const char *name = mi >= 0 ? sp__module_symbol(mi, fn, &sz) : NULL;
	uint32_t files = mi >= 0 ? sp__module_file_lists(mi, fn) : 0;
	const char *id_param = NULL;
	uint32_t flags = decide_flags(name, files, &id_param);
	struct sp__module *m = sp__module_get(mi);
	uintptr_t off = m ? fn - m->bias : fn;
	if (!sp__lock(&sp__site_lock))
		return 0;
	uint32_t v = sp__cache_get(fn, size);
	if (!v) {
		uint32_t id = m ? fsite_find((uint32_t)mi, off) : 0;
		if (id) {
			/* loaded again: the same function, maybe elsewhere */
			((struct sp__site *)sp__site_get(id))->addr = fn;
		} else {
			struct sp__site proto = {
				.kind = SP_SITE_FUNC, .module = m ? (uint32_t)mi : UINT32_MAX,
				.addr = fn, .offset = off, .size = sz, .name = name, .id_param = id_param,
			};
			id = site_new(&proto);
			if (id && m) {
				atomic_fetch_add(&m->sites, 1);
				fsite_add(id);
			}
		}
		if (id) {
			v = id | flags;
			*size = sz;
			cache_insert(fn, v, sz);
		}
	}
	sp__unlock(&sp__site_lock);
	sp__flight_sync(false); /* a new site: into the flight file now */
	return v;
}

/* ------------------------------------------------------------------------
 * Probe sites. The strings are copied: the probe may live in a library
 * that is dlclose'd before the dump is written.
 */
uint32_t sp__site_for_probe(struct sp_srcloc *loc)
{
	uint32_t id = __atomic_load_n(&loc->id, __ATOMIC_ACQUIRE);
	if (id)
		return id;
	const char *name = sp__arena_strdup(loc->name ? loc->name : "?");
	const char *func = sp__arena_strdup(loc->func ? loc->func : "");
	const char *file = sp__arena_strdup(loc->file ? loc->file : "");
	if (!name || !func || !file || !sp__lock(&sp__site_lock))
		return 0;
	id = __atomic_load_n(&loc->id, __ATOMIC_ACQUIRE);
	if (!id) {
		struct sp_srcloc *copy = sp__arena_alloc(sizeof *copy);
		if (copy) {
			*copy = (struct sp_srcloc){ name, func, file, loc->line, 0 };
			struct sp__site proto = { .kind = SP_SITE_PROBE, .name = name, .loc = copy };
			id = site_new(&proto);
			if (id)
				__atomic_store_n(&loc->id, id, __ATOMIC_RELEASE);
		}
	}
	sp__unlock(&sp__site_lock);
	sp__flight_sync(false); /* a new site: into the flight file now */
	return id;
}

/* ------------------------------------------------------------------------
 * Run-time names (sp_trace_begin): interned, so that every trace of one
 * command shares a site. Lookups read the table without a lock.
 */
static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h ? h : 1;
}

static uint32_t lookup_name(const char *s, size_t len, uint64_t h)
{
	uint32_t i = (uint32_t)h & (NAMES_SIZE - 1);
	for (;;) {
		uint64_t k = atomic_load_explicit(&names[i].hash, memory_order_acquire);
		if (k == 0)
			return 0;
		if (k == h) {
			const struct sp__site *site = sp__site_get(names[i].site);
			if (site && strlen(site->name) == len && !memcmp(site->name, s, len))
				return names[i].site;
		}
		i = (i + 1) & (NAMES_SIZE - 1);
	}
}

uint32_t sp__site_for_name(const char *name)
{
	if (!names)
		return 0;
	if (!name)
		name = "";
	size_t len = strnlen(name, SP_MAX_NAME_LEN);
	uint64_t h = hash_name(name, len);
	uint32_t id = lookup_name(name, len, h);
	if (id)
		return id;
	if (!sp__lock(&sp__site_lock))
		return 0;
	id = lookup_name(name, len, h);
	if (!id && nnames >= MAX_NAMES) {
		/* Names are meant to be a small set (commands); a program making
		 * them up per call gets one shared name past the limit. */
		if (!other_name_site) {
			struct sp__site proto = { .kind = SP_SITE_NAME, .name = "(other names)" };
			other_name_site = site_new(&proto);
		}
		id = other_name_site;
	}
	if (!id) {
		const char *copy = sp__arena_strndup(name, len);
		struct sp__site proto = { .kind = SP_SITE_NAME, .name = copy };
		id = copy ? site_new(&proto) : 0;
		if (id) {
			uint32_t i = (uint32_t)h & (NAMES_SIZE - 1);
			while (atomic_load_explicit(&names[i].hash, memory_order_relaxed))
				i = (i + 1) & (NAMES_SIZE - 1);
			names[i].site = id;
			atomic_store_explicit(&names[i].hash, h, memory_order_release);
			nnames++;
		}
	}
	sp__unlock(&sp__site_lock);
	sp__flight_sync(false); /* a new site: into the flight file now */
	return id;
}
