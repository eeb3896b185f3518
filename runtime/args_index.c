/* args_index.c - the arguments of a SPANPROF_ARGS function, found once in
 * DWARF: its DW_TAG_subprogram by entry address (an index per module), and
 * for each formal parameter its name, what kind of value its type holds,
 * and the DWARF location expression valid at the instruction after the
 * enter hook's call (a location list picks the entry covering that pc).
 * args_eval.c reads them on each call.
 */
#include "args.h"

#include <string.h>

#include "dwarf_walk.h"

/* Per module: entry offset -> DIE offset of every subprogram. */
struct fn_die {
	uintptr_t lo;
	Dwarf_Off die;
	int version;
};

struct dwarf_index {
	Dwarf_Debug dbg;
	struct fn_die *fns;
	size_t n;
};

/* ------------------------------------------------------------------------
 * Once per module: the subprogram index
 */
static void index_add(struct fn_die **v, size_t *n, size_t *cap, uintptr_t lo, Dwarf_Off die, int ver)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 1024;
		struct fn_die *nv = sp__map(c * sizeof *nv);
		if (!nv)
			return;
		if (*n)
			memcpy(nv, *v, *n * sizeof *nv);
		sp__unmap(*v, *cap * sizeof **v);
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = (struct fn_die){ lo, die, ver };
}

struct index_ctx {
	struct fn_die *v;
	size_t n, cap;
};

static void on_subprogram(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *arg)
{
	struct index_ctx *c = arg;
	Dwarf_Error err = NULL;
	Dwarf_Addr lo;
	Dwarf_Off off;
	if (dwarf_lowpc(die, &lo, &err) == DW_DLV_OK && dwarf_dieoffset(die, &off, &err) == DW_DLV_OK)
		index_add(&c->v, &c->n, &c->cap, (uintptr_t)lo, off, cu->version);
	if (err)
		dwarf_dealloc_error(cu->dbg, err);
}

static struct dwarf_index *module_index(struct sp__module *m)
{
	/* Static, not in the arena: leak checkers then see the open handles. */
	static struct dwarf_index idx[SP_MAX_MODULES];
	static int state[SP_MAX_MODULES];
	int mi = (int)(m - sp__module_get(0));
	if (mi < 0 || mi >= SP_MAX_MODULES)
		return NULL;
	if (state[mi])
		return state[mi] > 0 ? &idx[mi] : NULL;
	state[mi] = -1;
	Dwarf_Debug dbg = NULL;
	Dwarf_Error err = NULL;
	char real[4096];
	if (!m->path || m->path[0] != '/' ||
	    dwarf_init_path(m->path, real, sizeof real, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dbg,
			    NULL, 0, NULL, &err) != DW_DLV_OK)
		return NULL;
	struct index_ctx c = { NULL, 0, 0 };
	sp__dwarf_each_subprogram(dbg, on_subprogram, &c);
	struct fn_die *v = c.v;
	size_t n = c.n;
	struct dwarf_index *d = &idx[mi];
	if (!n) {
		dwarf_finish(dbg, &err);
		return NULL;
	}
	/* insertion order is by CU; sort by entry (shell sort, no malloc) */
	for (size_t gap = n / 2; gap > 0; gap /= 2)
		for (size_t i = gap; i < n; i++)
			for (size_t j = i; j >= gap && v[j - gap].lo > v[j].lo; j -= gap) {
				struct fn_die tmp = v[j];
				v[j] = v[j - gap];
				v[j - gap] = tmp;
			}
	d->dbg = dbg; /* kept open: later functions of this module need it */
	d->fns = v;
	d->n = n;
	state[mi] = 1;
	return d;
}

/* ------------------------------------------------------------------------
 * Once per function: parameters, types, locations
 */

/* The DIE `die` refers to through `at` (a reference attribute), or NULL. */
static Dwarf_Die ref_die(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	Dwarf_Off off;
	Dwarf_Die out = NULL;
	if (dwarf_attr(die, at, &a, &err) != DW_DLV_OK)
		return NULL;
	int ok = dwarf_global_formref(a, &off, &err) == DW_DLV_OK;
	dwarf_dealloc_attribute(a);
	if (!ok || dwarf_offdie_b(dbg, off, 1, &out, &err) != DW_DLV_OK)
		return NULL;
	return out;
}

/* An attribute of `die`, or of the DIE it is an instance of. */
static Dwarf_Die with_origin(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at)
{
	Dwarf_Error err = NULL;
	Dwarf_Bool has = 0;
	if (dwarf_hasattr(die, at, &has, &err) == DW_DLV_OK && has)
		return die;
	return ref_die(dbg, die, DW_AT_abstract_origin);
}

/* Classify a type DIE (following typedefs and qualifiers). */
static void classify(Dwarf_Debug dbg, Dwarf_Die type, uint8_t *cls, uint8_t *size)
{
	Dwarf_Error err = NULL;
	*cls = A_OTHER;
	*size = 0;
	Dwarf_Die cur = type;
	for (int depth = 0; cur && depth < 16; depth++) {
		Dwarf_Half tag = 0;
		dwarf_tag(cur, &tag, &err);
		if (tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
		    tag == DW_TAG_restrict_type) {
			Dwarf_Die next = ref_die(dbg, cur, DW_AT_type);
			if (cur != type)
				dwarf_dealloc_die(cur);
			cur = next;
			continue;
		}
		*size = (uint8_t)sp__dwarf_udata(dbg, cur, DW_AT_byte_size, 0);
		if (tag == DW_TAG_base_type) {
			switch (sp__dwarf_udata(dbg, cur, DW_AT_encoding, 0)) {
			case DW_ATE_signed:
			case DW_ATE_signed_char: *cls = A_SINT; break;
			case DW_ATE_unsigned:
			case DW_ATE_unsigned_char:
			case DW_ATE_UTF: *cls = A_UINT; break;
			case DW_ATE_boolean: *cls = A_BOOL; break;
			case DW_ATE_float: *cls = (*size == 4 || *size == 8) ? A_FLOAT : A_OTHER; break;
			}
		} else if (tag == DW_TAG_enumeration_type) {
			*cls = A_SINT;
		} else if (tag == DW_TAG_pointer_type) {
			*cls = A_PTR;
			*size = 8;
			/* char * (any qualifiers): read as a string */
			Dwarf_Die p = ref_die(dbg, cur, DW_AT_type);
			for (int d2 = 0; p && d2 < 8; d2++) {
				Dwarf_Half pt = 0;
				dwarf_tag(p, &pt, &err);
				if (pt == DW_TAG_const_type || pt == DW_TAG_volatile_type || pt == DW_TAG_typedef) {
					Dwarf_Die q = ref_die(dbg, p, DW_AT_type);
					dwarf_dealloc_die(p);
					p = q;
					continue;
				}
				if (pt == DW_TAG_base_type && sp__dwarf_udata(dbg, p, DW_AT_byte_size, 0) == 1) {
					Dwarf_Unsigned enc = sp__dwarf_udata(dbg, p, DW_AT_encoding, 0);
					if (enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char)
						*cls = A_STR;
				}
				break;
			}
			if (p)
				dwarf_dealloc_die(p);
		}
		break;
	}
	if (cur && cur != type)
		dwarf_dealloc_die(cur);
}

/* The operations of `die`'s location expression `at` valid at pc_off
 * (file offset); 0 if none (optimized out there). */
static uint8_t location_at(Dwarf_Die die, Dwarf_Half at, uintptr_t pc_off, struct arg_op *ops)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	if (dwarf_attr(die, at, &a, &err) != DW_DLV_OK)
		return 0;
	Dwarf_Loc_Head_c head = NULL;
	Dwarf_Unsigned count = 0;
	uint8_t n = 0;
	if (dwarf_get_loclist_c(a, &head, &count, &err) == DW_DLV_OK) {
		unsigned kind = DW_LKIND_unknown;
		dwarf_get_loclist_head_kind(head, &kind, &err);
		for (Dwarf_Unsigned i = 0; i < count && !n; i++) {
			Dwarf_Small lle, src;
			Dwarf_Unsigned rlo, rhi, nops, eoff, doff;
			Dwarf_Bool unavail;
			Dwarf_Addr lo, hi;
			Dwarf_Locdesc_c desc;
			if (dwarf_get_locdesc_entry_d(head, i, &lle, &rlo, &rhi, &unavail, &lo, &hi, &nops, &desc, &src,
						      &eoff, &doff, &err) != DW_DLV_OK)
				break;
			if (kind != DW_LKIND_expression && (pc_off < lo || pc_off >= hi))
				continue;
			if (nops == 0 || nops > MAX_OPS) {
				n = nops > MAX_OPS ? 0xff : 0;
				break;
			}
			for (Dwarf_Unsigned j = 0; j < nops; j++) {
				Dwarf_Small atom;
				Dwarf_Unsigned o1, o2, o3, br;
				if (dwarf_get_location_op_value_c(desc, j, &atom, &o1, &o2, &o3, &br, &err) != DW_DLV_OK)
					break;
				ops[j] = (struct arg_op){ atom, o1, o2 };
				n = (uint8_t)(j + 1);
			}
		}
		dwarf_loc_head_c_dealloc(head);
	}
	dwarf_dealloc_attribute(a);
	return n == 0xff ? 0 : n;
}

struct sp__argspec *sp__args_resolve(struct sp__module *m, uintptr_t fn_off, uintptr_t pc_off)
{
	struct dwarf_index *d = module_index(m);
	if (!d)
		return NULL;
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->fns[mid].lo < fn_off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == d->n || d->fns[lo].lo != fn_off)
		return NULL;
	Dwarf_Error err = NULL;
	Dwarf_Die sub;
	if (dwarf_offdie_b(d->dbg, d->fns[lo].die, 1, &sub, &err) != DW_DLV_OK)
		return NULL;
	struct sp__argspec *spec = sp__arena_alloc(sizeof *spec);
	if (!spec) {
		dwarf_dealloc_die(sub);
		return NULL;
	}
	memset(spec, 0, sizeof *spec);
	spec->pc_off = pc_off;
	spec->nfb = location_at(sub, DW_AT_frame_base, pc_off, spec->fb);
	Dwarf_Die child;
	if (dwarf_child(sub, &child, &err) == DW_DLV_OK) {
		for (;;) {
			Dwarf_Half tag = 0;
			dwarf_tag(child, &tag, &err);
			if (tag == DW_TAG_formal_parameter && spec->nparams < MAX_PARAMS) {
				struct arg_param *p = &spec->p[spec->nparams];
				Dwarf_Die named = with_origin(d->dbg, child, DW_AT_name);
				char *name = NULL;
				if (named && dwarf_diename(named, &name, &err) == DW_DLV_OK && name)
					p->name = sp__arena_strdup(name);
				Dwarf_Die typed = with_origin(d->dbg, child, DW_AT_type);
				Dwarf_Die type = typed ? ref_die(d->dbg, typed, DW_AT_type) : NULL;
				if (type) {
					classify(d->dbg, type, &p->cls, &p->size);
					dwarf_dealloc_die(type);
				}
				p->nops = location_at(child, DW_AT_location, pc_off, p->ops);
				if (named && named != child)
					dwarf_dealloc_die(named);
				if (typed && typed != child && typed != named)
					dwarf_dealloc_die(typed);
				if (p->name)
					spec->nparams++;
			}
			Dwarf_Die sib;
			int r = dwarf_siblingof_b(d->dbg, child, 1, &sib, &err);
			dwarf_dealloc_die(child);
			if (r != DW_DLV_OK)
				break;
			child = sib;
		}
	}
	dwarf_dealloc_die(sub);
	return spec;
}
