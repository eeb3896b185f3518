/* dwarf_files.c - which functions a source file defines, for file:NAME.
 *
 * `SPANPROF_TRACE_ALL=file:grid.c` selects the functions *defined* in
 * grid.c: a subprogram whose DW_AT_decl_file (followed through
 * DW_AT_abstract_origin / DW_AT_specification, as gcc emits for clones and
 * out-of-line inline copies) names a file matching the pattern. A static
 * inline function from a header included by grid.c is not one of them.
 *
 * Runs once per module, the first time a function of that module is
 * decided, when some list has a file: pattern. Without DWARF (-g) nothing
 * matches, and one warning says so.
 */
#include "internal.h"

#include "dwarf_walk.h"
#include <string.h>

struct fn_list {
	uintptr_t *off;
	uint32_t *mask;
	size_t n, cap;
};

static bool list_add(struct fn_list *l, uintptr_t off, uint32_t mask)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		uintptr_t *o = sp__map(cap * sizeof *o);
		uint32_t *m = sp__map(cap * sizeof *m);
		if (!o || !m) {
			sp__unmap(o, cap * sizeof *o);
			sp__unmap(m, cap * sizeof *m);
			return false;
		}
		if (l->n) {
			memcpy(o, l->off, l->n * sizeof *o);
			memcpy(m, l->mask, l->n * sizeof *m);
		}
		sp__unmap(l->off, l->cap * sizeof *l->off);
		sp__unmap(l->mask, l->cap * sizeof *l->mask);
		l->off = o;
		l->mask = m;
		l->cap = cap;
	}
	l->off[l->n] = off;
	l->mask[l->n] = mask;
	l->n++;
	return true;
}

/* The bitmask of config lists whose file: patterns match `path`. */
static uint32_t lists_for_file(const char *path)
{
	const struct {
		const struct sp__globs *g;
		uint32_t bit;
	} lists[] = {
		{ &sp__cfg.trace_calls, SP_LIST_TRACE_CALLS }, { &sp__cfg.trace_all, SP_LIST_TRACE_ALL },
		{ &sp__cfg.exclude, SP_LIST_EXCLUDE },         { &sp__cfg.cumulative, SP_LIST_CUMULATIVE },
		{ &sp__cfg.trace, SP_LIST_TRACE },             { &sp__cfg.args, SP_LIST_ARGS },
	};
	uint32_t mask = 0;
	for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
		if (sp__globs_match_file(lists[i].g, path))
			mask |= lists[i].bit;
	return mask;
}

struct walk_ctx {
	struct fn_list out;
	size_t nfns; /* subprograms seen: 0 means no debug information */
};

static void on_subprogram(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *arg)
{
	struct walk_ctx *ctx = arg;
	Dwarf_Error err = NULL;
	Dwarf_Addr lo;
	ctx->nfns++;
	if (dwarf_lowpc(die, &lo, &err) != DW_DLV_OK) { /* a declaration, or code in ranges */
		if (err)
			dwarf_dealloc_error(cu->dbg, err);
		return;
	}
	Dwarf_Unsigned f = 0;
	sp__dwarf_describe(cu->dbg, die, NULL, &f, NULL);
	const char *file = sp__dwarf_file(cu, f);
	uint32_t mask = file ? lists_for_file(file) : 0;
	if (mask)
		list_add(&ctx->out, (uintptr_t)lo, mask);
}

static void sort_pairs(uintptr_t *o, uint32_t *m, size_t n)
{
	/* Shell sort: no allocation, and n is the number of matching
	 * functions, usually small. */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && o[j - gap] > o[j]; j -= gap) {
				uintptr_t t = o[j];
				o[j] = o[j - gap];
				o[j - gap] = t;
				uint32_t u = m[j];
				m[j] = m[j - gap];
				m[j - gap] = u;
			}
}

void sp__dwarf_file_functions(struct sp__module *m)
{
	static atomic_int no_dwarf_warned;
	Dwarf_Debug dbg = NULL;
	Dwarf_Error err = NULL;
	char real[4096];
	if (dwarf_init_path(m->path, real, sizeof real, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dbg,
			    NULL, 0, NULL, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(NULL, err);
		return;
	}
	struct walk_ctx ctx = { { 0 }, 0 };
	sp__dwarf_each_subprogram(dbg, on_subprogram, &ctx);
	struct fn_list out = ctx.out;
	size_t nfns = ctx.nfns;
	if (err)
		dwarf_dealloc_error(dbg, err);
	dwarf_finish(dbg, &err);
	if (nfns == 0 && (m->flags & SP_MOD_MAIN))
		sp__warn_once(&no_dwarf_warned,
			      "%s has no debug information: file: patterns need -g; they match nothing there",
			      m->path);
	if (out.n) {
		sort_pairs(out.off, out.mask, out.n);
		m->file_fns = sp__arena_alloc(out.n * sizeof *m->file_fns);
		m->file_fn_lists = sp__arena_alloc(out.n * sizeof *m->file_fn_lists);
		if (m->file_fns && m->file_fn_lists) {
			memcpy(m->file_fns, out.off, out.n * sizeof *out.off);
			memcpy(m->file_fn_lists, out.mask, out.n * sizeof *out.mask);
			m->nfile_fns = out.n;
		}
	}
	sp__unmap(out.off, out.cap * sizeof *out.off);
	sp__unmap(out.mask, out.cap * sizeof *out.mask);
	m->files_state = 1;
}
