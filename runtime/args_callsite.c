/* args_callsite.c - arguments found from the caller's side in DWARF, with
 * args_index.c's subprogram index: for a call the compiler inlined, the
 * parameters of the caller's DW_TAG_inlined_subroutine for it; for
 * DW_OP_entry_value, the value the caller passed, from its
 * DW_TAG_call_site returning there. args_eval.c asks on a call's first
 * sight, with sp__mod_lock held.
 */
#include "args.h"

#include <string.h>

#include "dwarf_walk.h"

/* ------------------------------------------------------------------------
 * Inlined calls: the caller's DW_TAG_inlined_subroutine
 */

/* The DIE offset a concrete DIE stands for: its abstract origin, or itself. */
static Dwarf_Off origin_of(Dwarf_Debug dbg, Dwarf_Die die)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	Dwarf_Off off = 0;
	if (dwarf_attr(die, DW_AT_abstract_origin, &a, &err) == DW_DLV_OK) {
		if (dwarf_global_formref(a, &off, &err) != DW_DLV_OK)
			off = 0;
		dwarf_dealloc_attribute(a);
	} else if (dwarf_dieoffset(die, &off, &err) != DW_DLV_OK) {
		off = 0;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return off;
}

/* Where an inlined instance starts: DW_AT_entry_pc, else DW_AT_low_pc. */
static bool entry_of(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Addr *pc)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	bool ok = false;
	if (dwarf_attr(die, DW_AT_entry_pc, &a, &err) == DW_DLV_OK) {
		ok = dwarf_formaddr(a, pc, &err) == DW_DLV_OK;
		dwarf_dealloc_attribute(a);
	}
	if (!ok) {
		sp__dwarf_clear(dbg, &err);
		ok = dwarf_lowpc(die, pc, &err) == DW_DLV_OK;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return ok;
}

/* Does an inlined instance's code contain pc: low_pc/high_pc, or DWARF 5
 * DW_AT_ranges? -1 when that cannot be told (DWARF 4 ranges). */
static int covers(Dwarf_Debug dbg, Dwarf_Die die, uintptr_t pc)
{
	Dwarf_Error err = NULL;
	Dwarf_Addr lo, hi;
	Dwarf_Half form;
	enum Dwarf_Form_Class fc;
	int r = -1;
	if (dwarf_lowpc(die, &lo, &err) == DW_DLV_OK && dwarf_highpc_b(die, &hi, &form, &fc, &err) == DW_DLV_OK) {
		if (fc == DW_FORM_CLASS_CONSTANT)
			hi += lo;
		r = pc >= lo && pc < hi;
	} else {
		Dwarf_Attribute a;
		sp__dwarf_clear(dbg, &err);
		if (dwarf_attr(die, DW_AT_ranges, &a, &err) == DW_DLV_OK) {
			Dwarf_Half f = 0;
			Dwarf_Unsigned val = 0, count = 0, goff = 0;
			Dwarf_Off off = 0;
			dwarf_whatform(a, &f, &err);
			if (f == DW_FORM_rnglistx)
				dwarf_formudata(a, &val, &err);
			else if (f == DW_FORM_sec_offset && dwarf_global_formref(a, &off, &err) == DW_DLV_OK)
				val = off;
			Dwarf_Rnglists_Head head = NULL;
			if ((f == DW_FORM_rnglistx || f == DW_FORM_sec_offset) &&
			    dwarf_rnglists_get_rle_head(a, f, val, &head, &count, &goff, &err) == DW_DLV_OK) {
				r = 0;
				for (Dwarf_Unsigned i = 0; i < count && !r; i++) {
					unsigned len = 0, code = 0;
					Dwarf_Unsigned r1, r2, c1, c2;
					Dwarf_Bool unavail = 0;
					if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &r1, &r2, &unavail, &c1,
									      &c2, &err) != DW_DLV_OK ||
					    code == DW_RLE_end_of_list) {
						r = r ? r : -1;
						break;
					}
					if (code != DW_RLE_base_address && code != DW_RLE_base_addressx && !unavail)
						r = pc >= c1 && pc < c2;
				}
				dwarf_dealloc_rnglists_head(head);
			}
			dwarf_dealloc_attribute(a);
		}
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return r;
}

/* Below `parent`, the inlined instance of `origin` making the call whose
 * enter hook returns to pc_off: the one whose code contains it; failing
 * that (ranges this reader cannot tell), the one whose entry is nearest
 * (the hook is called at the start of the inlined body, give or take the
 * scheduler). */
static void find_inlined(Dwarf_Debug dbg, Dwarf_Die parent, Dwarf_Off origin, uintptr_t pc_off, int depth,
			 Dwarf_Addr *best_pc, Dwarf_Off *best)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	if (depth > 32 || dwarf_child(parent, &child, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(dbg, err);
		return;
	}
	for (;;) {
		Dwarf_Half tag = 0;
		dwarf_tag(child, &tag, &err);
		if (tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block) {
			Dwarf_Addr pc;
			Dwarf_Off off;
			if (tag == DW_TAG_inlined_subroutine && origin_of(dbg, child) == origin && entry_of(dbg, child, &pc) &&
			    dwarf_dieoffset(child, &off, &err) == DW_DLV_OK) {
				int in = covers(dbg, child, pc_off);
				uint64_t dist = pc > pc_off ? pc - pc_off : pc_off - pc;
				if (in == 1)
					dist = 0; /* contains it: wins */
				else if (in == 0)
					dist = UINT64_MAX - 1;
				if (!*best || dist < *best_pc) {
					*best_pc = dist;
					*best = off;
				}
			}
			find_inlined(dbg, child, origin, pc_off, depth + 1, best_pc, best);
		}
		if (!sp__dwarf_next(dbg, &child, &err))
			break;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
}

static const struct fn_die *index_find(const struct dwarf_index *d, uintptr_t off, bool containing)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->fns[mid].lo <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!containing)
		return lo > 0 && d->fns[lo - 1].lo == off ? &d->fns[lo - 1] : NULL;
	for (size_t i = lo; i-- > 0 && lo - i < 64;)
		if (off >= d->fns[i].lo && off < d->fns[i].hi)
			return &d->fns[i];
	return NULL;
}

struct sp__argspec *sp__args_resolve_inlined(struct sp__module *m, uintptr_t fn_off, uintptr_t pc_off,
					     const struct sp__argspec *base)
{
	struct dwarf_index *d = sp__args_module_index(m);
	const struct fn_die *callee = d ? index_find(d, fn_off, false) : NULL;
	const struct fn_die *caller = d ? index_find(d, pc_off, true) : NULL;
	if (!callee || !caller || !base)
		return NULL;
	Dwarf_Error err = NULL;
	Dwarf_Die die, sub, inl;
	if (dwarf_offdie_b(d->dbg, callee->die, 1, &die, &err) != DW_DLV_OK)
		return NULL;
	Dwarf_Off origin = origin_of(d->dbg, die);
	dwarf_dealloc_die(die);
	if (dwarf_offdie_b(d->dbg, caller->die, 1, &sub, &err) != DW_DLV_OK)
		return NULL;
	Dwarf_Addr best_pc = 0; /* the best one's distance to pc_off */
	Dwarf_Off best = 0;
	find_inlined(d->dbg, sub, origin, pc_off, 0, &best_pc, &best);
	if (!best || dwarf_offdie_b(d->dbg, best, 1, &inl, &err) != DW_DLV_OK) {
		dwarf_dealloc_die(sub);
		return NULL;
	}
	struct sp__argspec *spec = sp__arena_alloc(sizeof *spec);
	if (spec) {
		*spec = *base; /* names, types and enumerators */
		spec->pc_off = pc_off;
		spec->nfb = sp__args_location_at(sub, DW_AT_frame_base, pc_off, spec->fb);
		for (uint8_t i = 0; i < spec->nparams; i++) {
			spec->p[i].nops = 0;
			spec->p[i].inl_missing = true;
		}
		Dwarf_Die child;
		if (dwarf_child(inl, &child, &err) == DW_DLV_OK) {
			for (;;) {
				Dwarf_Half tag = 0;
				dwarf_tag(child, &tag, &err);
				char *name = NULL;
				Dwarf_Die named =
					tag == DW_TAG_formal_parameter ? sp__args_with_origin(d->dbg, child, DW_AT_name) : NULL;
				if (named && dwarf_diename(named, &name, &err) == DW_DLV_OK && name) {
					for (uint8_t i = 0; i < spec->nparams; i++) {
						struct arg_param *p = &spec->p[i];
						if (p->inl_missing && !strcmp(p->name, name)) {
							p->inl_missing = false;
							p->nops = sp__args_location_at(child, DW_AT_location, pc_off, p->ops);
							break;
						}
					}
				}
				if (named && named != child)
					dwarf_dealloc_die(named);
				if (!sp__dwarf_next(d->dbg, &child, &err))
					break;
			}
		}
	}
	if (err)
		dwarf_dealloc_error(d->dbg, err);
	dwarf_dealloc_die(inl);
	dwarf_dealloc_die(sub);
	return spec;
}

/* ------------------------------------------------------------------------
 * Entry values: what the caller passed in a register, from its call site
 */

static bool attr_addr(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Addr *v)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	bool ok = false;
	if (dwarf_attr(die, at, &a, &err) == DW_DLV_OK) {
		ok = dwarf_formaddr(a, v, &err) == DW_DLV_OK;
		dwarf_dealloc_attribute(a);
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return ok;
}

/* Below `parent`: the call site returning to ret_off, as a DIE offset. */
static Dwarf_Off find_call_site(Dwarf_Debug dbg, Dwarf_Die parent, uintptr_t ret_off, int depth)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	Dwarf_Off found = 0;
	if (depth > 32 || dwarf_child(parent, &child, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(dbg, err);
		return 0;
	}
	for (;;) {
		Dwarf_Half tag = 0;
		Dwarf_Addr pc;
		dwarf_tag(child, &tag, &err);
		if ((tag == DW_TAG_call_site && attr_addr(dbg, child, DW_AT_call_return_pc, &pc) && pc == ret_off) ||
		    (tag == DW_TAG_GNU_call_site && attr_addr(dbg, child, DW_AT_low_pc, &pc) && pc == ret_off)) {
			if (dwarf_dieoffset(child, &found, &err) != DW_DLV_OK)
				found = 0;
		} else if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			found = find_call_site(dbg, child, ret_off, depth + 1);
		}
		if (found) {
			dwarf_dealloc_die(child);
			break;
		}
		if (!sp__dwarf_next(dbg, &child, &err))
			break;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return found;
}

uint8_t sp__args_call_value(struct sp__module *m, uintptr_t ret_off, unsigned regno, struct arg_op *ops,
			    struct arg_op *fb, uint8_t *nfb)
{
	struct dwarf_index *d = sp__args_module_index(m);
	const struct fn_die *caller = d ? index_find(d, ret_off, true) : NULL;
	Dwarf_Error err = NULL;
	Dwarf_Die sub, cs, child;
	uint8_t n = 0;
	if (!caller || dwarf_offdie_b(d->dbg, caller->die, 1, &sub, &err) != DW_DLV_OK)
		return 0;
	Dwarf_Off off = find_call_site(d->dbg, sub, ret_off, 0);
	*nfb = sp__args_location_at(sub, DW_AT_frame_base, ret_off, fb);
	dwarf_dealloc_die(sub);
	if (!off || dwarf_offdie_b(d->dbg, off, 1, &cs, &err) != DW_DLV_OK)
		return 0;
	if (dwarf_child(cs, &child, &err) == DW_DLV_OK) {
		for (;;) {
			Dwarf_Half tag = 0;
			dwarf_tag(child, &tag, &err);
			if (tag == DW_TAG_call_site_parameter || tag == DW_TAG_GNU_call_site_parameter) {
				struct arg_op where[MAX_OPS];
				uint8_t nw = sp__args_location_at(child, DW_AT_location, ret_off, where);
				if (nw == 1 && where[0].atom == DW_OP_reg0 + regno) {
					n = sp__args_location_at(child, DW_AT_call_value, ret_off, ops);
					if (!n)
						n = sp__args_location_at(child, DW_AT_GNU_call_site_value, ret_off, ops);
				}
			}
			if (n) {
				dwarf_dealloc_die(child);
				break;
			}
			if (!sp__dwarf_next(d->dbg, &child, &err))
				break;
		}
	}
	if (err)
		dwarf_dealloc_error(d->dbg, err);
	dwarf_dealloc_die(cs);
	return n;
}
