/* dwarf_walk.c - see dwarf_walk.h. Also compiled into the CLI. */
#include "dwarf_walk.h"

#include <stddef.h>

/* Errors are freed with the Dwarf_Debug they came from. This libdwarf
 * (20210528) records each allocation of a debug in a tree and frees what
 * is left at dwarf_finish; an error freed with a NULL debug stays in that
 * tree and is freed twice - heap corruption in the host program at start,
 * seen once in a dozen runs, as MALLOC_PERTURB_ decided. */
Dwarf_Unsigned sp__dwarf_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Unsigned def)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	Dwarf_Unsigned v = def;
	if (dwarf_attr(die, at, &a, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(dbg, err);
		return def;
	}
	if (dwarf_formudata(a, &v, &err) != DW_DLV_OK) {
		Dwarf_Signed sv = 0;
		if (err)
			dwarf_dealloc_error(dbg, err);
		err = NULL;
		v = dwarf_formsdata(a, &sv, &err) == DW_DLV_OK && sv >= 0 ? (Dwarf_Unsigned)sv : def;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	dwarf_dealloc_attribute(a);
	return v;
}

const char *sp__dwarf_file(const struct sp__dwarf_cu *cu, Dwarf_Unsigned index)
{
	if (cu->version < 5) {
		if (index == 0)
			return NULL;
		index--;
	}
	return (Dwarf_Signed)index < cu->nfiles ? cu->files[index] : NULL;
}

void sp__dwarf_describe(Dwarf_Debug dbg, Dwarf_Die die, const char **name, Dwarf_Unsigned *file, unsigned *line)
{
	Dwarf_Error err = NULL;
	const char *n0 = NULL;
	Dwarf_Unsigned f0 = 0;
	unsigned l0 = 0;
	Dwarf_Die cur = die;
	for (int depth = 0; cur && depth < 8; depth++) {
		char *n = NULL;
		if (!n0 && dwarf_diename(cur, &n, &err) == DW_DLV_OK)
			n0 = n;
		if (!f0)
			f0 = sp__dwarf_udata(dbg, cur, DW_AT_decl_file, 0);
		if (!l0)
			l0 = (unsigned)sp__dwarf_udata(dbg, cur, DW_AT_decl_line, 0);
		if (n0 && f0 && l0)
			break;
		Dwarf_Die next = NULL;
		Dwarf_Half links[] = { DW_AT_abstract_origin, DW_AT_specification };
		for (int i = 0; i < 2 && !next; i++) {
			Dwarf_Attribute a;
			Dwarf_Off off;
			if (dwarf_attr(cur, links[i], &a, &err) != DW_DLV_OK)
				continue;
			if (dwarf_global_formref(a, &off, &err) != DW_DLV_OK || dwarf_offdie_b(dbg, off, 1, &next, &err) != DW_DLV_OK)
				next = NULL;
			dwarf_dealloc_attribute(a);
		}
		if (cur != die)
			dwarf_dealloc_die(cur);
		cur = next;
	}
	if (cur && cur != die)
		dwarf_dealloc_die(cur);
	if (err)
		dwarf_dealloc_error(dbg, err);
	if (name)
		*name = n0;
	if (file)
		*file = f0;
	if (line)
		*line = l0;
}

void sp__dwarf_clear(Dwarf_Debug dbg, Dwarf_Error *err)
{
	if (*err) {
		dwarf_dealloc_error(dbg, *err);
		*err = NULL;
	}
}

bool sp__dwarf_next(Dwarf_Debug dbg, Dwarf_Die *child, Dwarf_Error *err)
{
	Dwarf_Die sib;
	int r = dwarf_siblingof_b(dbg, *child, 1, &sib, err);
	dwarf_dealloc_die(*child);
	if (r != DW_DLV_OK)
		return false;
	*child = sib;
	return true;
}

static void walk(const struct sp__dwarf_cu *cu, Dwarf_Die parent,
		 void (*fn)(const struct sp__dwarf_cu *, Dwarf_Die, void *), void *ctx, int depth)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	if (depth > 32 || dwarf_child(parent, &child, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(cu->dbg, err);
		return;
	}
	for (;;) {
		Dwarf_Half tag = 0;
		dwarf_tag(child, &tag, &err);
		if (tag == DW_TAG_subprogram)
			fn(cu, child, ctx);
		else if (tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
			 tag == DW_TAG_union_type)
			walk(cu, child, fn, ctx, depth + 1);
		if (!sp__dwarf_next(cu->dbg, &child, &err))
			break;
	}
	if (err)
		dwarf_dealloc_error(cu->dbg, err);
}

void sp__dwarf_each_subprogram(Dwarf_Debug dbg,
			       void (*fn)(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *ctx), void *ctx)
{
	Dwarf_Error err = NULL;
	for (;;) {
		Dwarf_Unsigned hdr_len, abbrev_off, next_off, typeoff;
		Dwarf_Half ver, asz, lsz, esz, cu_type;
		Dwarf_Sig8 sig;
		if (dwarf_next_cu_header_d(dbg, 1, &hdr_len, &ver, &abbrev_off, &asz, &lsz, &esz, &sig, &typeoff, &next_off,
					   &cu_type, &err) != DW_DLV_OK)
			break;
		Dwarf_Die die;
		if (dwarf_siblingof_b(dbg, NULL, 1, &die, &err) != DW_DLV_OK)
			continue;
		struct sp__dwarf_cu cu = { dbg, ver, 0, NULL, 0 };
		if (dwarf_lowpc(die, &cu.base, &err) != DW_DLV_OK)
			cu.base = 0;
		sp__dwarf_clear(dbg, &err);
		if (dwarf_srcfiles(die, &cu.files, &cu.nfiles, &err) != DW_DLV_OK) {
			cu.files = NULL;
			cu.nfiles = 0;
			sp__dwarf_clear(dbg, &err);
		}
		walk(&cu, die, fn, ctx, 0);
		for (Dwarf_Signed i = 0; i < cu.nfiles; i++)
			dwarf_dealloc(dbg, cu.files[i], DW_DLA_STRING);
		if (cu.files)
			dwarf_dealloc(dbg, cu.files, DW_DLA_LIST);
		dwarf_dealloc_die(die);
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
}
