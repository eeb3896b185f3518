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

#include <libdwarf.h>
#include <dwarf.h>
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

/* DW_AT_decl_file of `die`, following abstract origins and specifications
 * (at most 8 links). 0 if none. */
static Dwarf_Unsigned decl_file(Dwarf_Debug dbg, Dwarf_Die die)
{
	Dwarf_Error err = NULL;
	Dwarf_Die cur = die;
	Dwarf_Unsigned file = 0;
	for (int depth = 0; depth < 8 && cur; depth++) {
		Dwarf_Attribute a;
		if (dwarf_attr(cur, DW_AT_decl_file, &a, &err) == DW_DLV_OK) {
			int ok = dwarf_formudata(a, &file, &err) == DW_DLV_OK;
			if (!ok) { /* DW_FORM_implicit_const (DWARF 5): only formsdata reads it */
				Dwarf_Signed sv;
				if (err) {
					dwarf_dealloc_error(NULL, err);
					err = NULL;
				}
				ok = dwarf_formsdata(a, &sv, &err) == DW_DLV_OK && sv >= 0;
				file = ok ? (Dwarf_Unsigned)sv : 0;
			}
			dwarf_dealloc_attribute(a);
			if (cur != die)
				dwarf_dealloc_die(cur);
			return ok ? file : 0;
		}
		Dwarf_Off off;
		int found = 0;
		Dwarf_Half links[] = { DW_AT_abstract_origin, DW_AT_specification };
		for (size_t i = 0; i < 2 && !found; i++) {
			if (dwarf_attr(cur, links[i], &a, &err) != DW_DLV_OK)
				continue;
			found = dwarf_global_formref(a, &off, &err) == DW_DLV_OK;
			dwarf_dealloc_attribute(a);
		}
		Dwarf_Die next = NULL;
		if (!found || dwarf_offdie_b(dbg, off, 1, &next, &err) != DW_DLV_OK)
			next = NULL;
		if (cur != die)
			dwarf_dealloc_die(cur);
		cur = next;
	}
	if (cur && cur != die)
		dwarf_dealloc_die(cur);
	return 0;
}

/* Visit the subprograms under `die` (recursing into namespaces, classes and
 * structures for C++ methods), recording those defined in matching files. */
static void walk(Dwarf_Debug dbg, Dwarf_Die parent, char **files, Dwarf_Signed nfiles, int version,
		 struct fn_list *out, int depth)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	if (depth > 16 || dwarf_child(parent, &child, &err) != DW_DLV_OK)
		return;
	for (;;) {
		Dwarf_Half tag = 0;
		dwarf_tag(child, &tag, &err);
		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr lo;
			if (dwarf_lowpc(child, &lo, &err) == DW_DLV_OK) {
				Dwarf_Unsigned f = decl_file(dbg, child);
				/* DWARF 5 file indexes are 0-based, earlier ones 1-based. */
				Dwarf_Signed fi = version >= 5 ? (Dwarf_Signed)f : (Dwarf_Signed)f - 1;
				if ((version >= 5 || f > 0) && fi >= 0 && fi < nfiles) {
					uint32_t mask = lists_for_file(files[fi]);
					if (mask)
						list_add(out, (uintptr_t)lo, mask);
				}
			}
		} else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
			   tag == DW_TAG_structure_type) {
			walk(dbg, child, files, nfiles, version, out, depth + 1);
		}
		Dwarf_Die sib;
		int r = dwarf_siblingof_b(dbg, child, 1, &sib, &err);
		dwarf_dealloc_die(child);
		if (r != DW_DLV_OK)
			break;
		child = sib;
	}
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
	struct fn_list out = { 0 };
	size_t ncu = 0;
	for (;;) {
		Dwarf_Unsigned hdr_len, abbrev_off, next_off, typeoff;
		Dwarf_Half ver, asz, lsz, esz, cu_type;
		Dwarf_Sig8 sig;
		if (dwarf_next_cu_header_d(dbg, 1, &hdr_len, &ver, &abbrev_off, &asz, &lsz, &esz, &sig, &typeoff,
					   &next_off, &cu_type, &err) != DW_DLV_OK)
			break;
		Dwarf_Die cu;
		if (dwarf_siblingof_b(dbg, NULL, 1, &cu, &err) != DW_DLV_OK)
			continue;
		ncu++;
		char **files = NULL;
		Dwarf_Signed nfiles = 0;
		if (dwarf_srcfiles(cu, &files, &nfiles, &err) == DW_DLV_OK) {
			walk(dbg, cu, files, nfiles, ver, &out, 0);
			for (Dwarf_Signed i = 0; i < nfiles; i++)
				dwarf_dealloc(dbg, files[i], DW_DLA_STRING);
			dwarf_dealloc(dbg, files, DW_DLA_LIST);
		}
		dwarf_dealloc_die(cu);
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	dwarf_finish(dbg, &err);
	if (ncu == 0 && (m->flags & SP_MOD_MAIN))
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
