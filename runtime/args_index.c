/* args_index.c - the arguments of a SPANPROF_ARGS function, found once in
 * DWARF: its DW_TAG_subprogram by entry address (an index per module), and
 * for each formal parameter its name, what kind of value its type holds,
 * and the DWARF location expression valid at the instruction after the
 * enter hook's call (a location list picks the entry covering that pc).
 * args_eval.c reads them on each call; args_callsite.c finds, from the
 * same index, an inlined call's parameters and a call site's entry values.
 */
#include "args.h"

#include <string.h>

#include "dwarf_walk.h"

/* ------------------------------------------------------------------------
 * Once per module: the subprogram index
 */
static void index_add(struct fn_die **v, size_t *n, size_t *cap, uintptr_t lo, uintptr_t hi, Dwarf_Off die, int ver)
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
	(*v)[(*n)++] = (struct fn_die){ lo, hi, die, ver };
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
	if (dwarf_lowpc(die, &lo, &err) == DW_DLV_OK && dwarf_dieoffset(die, &off, &err) == DW_DLV_OK) {
		Dwarf_Addr hi = 0;
		Dwarf_Half form;
		enum Dwarf_Form_Class fc;
		if (dwarf_highpc_b(die, &hi, &form, &fc, &err) == DW_DLV_OK) {
			if (fc == DW_FORM_CLASS_CONSTANT)
				hi += lo;
		} else {
			hi = lo + 1; /* ranges: only its entry is known here */
		}
		index_add(&c->v, &c->n, &c->cap, (uintptr_t)lo, (uintptr_t)hi, off, cu->version);
	}
	if (err)
		dwarf_dealloc_error(cu->dbg, err);
}

struct dwarf_index *sp__args_module_index(struct sp__module *m)
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
Dwarf_Die sp__args_with_origin(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at)
{
	Dwarf_Error err = NULL;
	Dwarf_Bool has = 0;
	if (dwarf_hasattr(die, at, &has, &err) == DW_DLV_OK && has)
		return die;
	return ref_die(dbg, die, DW_AT_abstract_origin);
}

/* A copy of what was gathered on the stack, in the arena; NULL for none
 * (or no room). */
static void *arena_dup(const void *src, size_t size)
{
	void *v = size ? sp__arena_alloc(size) : NULL;
	if (v)
		memcpy(v, src, size);
	return v;
}

/* An enum's enumerators, kept for showing values by name. */
static void enumerators(Dwarf_Debug dbg, Dwarf_Die type, struct arg_param *p)
{
	enum { MAX_ENUMS = 256 };
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	struct arg_enum tmp[MAX_ENUMS];
	uint16_t n = 0;
	if (dwarf_child(type, &child, &err) != DW_DLV_OK)
		return;
	for (;;) {
		Dwarf_Half tag = 0;
		char *name = NULL;
		Dwarf_Attribute a;
		dwarf_tag(child, &tag, &err);
		if (tag == DW_TAG_enumerator && n < MAX_ENUMS && dwarf_diename(child, &name, &err) == DW_DLV_OK &&
		    dwarf_attr(child, DW_AT_const_value, &a, &err) == DW_DLV_OK) {
			Dwarf_Signed sv = 0;
			Dwarf_Unsigned uv = 0;
			bool ok = true;
			if (dwarf_formsdata(a, &sv, &err) != DW_DLV_OK) {
				sp__dwarf_clear(dbg, &err);
				ok = dwarf_formudata(a, &uv, &err) == DW_DLV_OK;
				sv = (Dwarf_Signed)uv;
			}
			dwarf_dealloc_attribute(a);
			const char *kept = ok ? sp__arena_strdup(name) : NULL;
			if (kept)
				tmp[n++] = (struct arg_enum){ (int64_t)sv, kept };
		}
		sp__dwarf_clear(dbg, &err);
		if (!sp__dwarf_next(dbg, &child, &err))
			break;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	struct arg_enum *v = arena_dup(tmp, n * sizeof *v);
	if (v) {
		p->enums = v;
		p->nenums = n;
	}
}

static void classify(Dwarf_Debug dbg, Dwarf_Die type, uint8_t *cls, uint8_t *size, struct arg_param *param);

/* A struct's first scalar data members (A_STRUCT), or nothing. */
static void struct_fields(Dwarf_Debug dbg, Dwarf_Die type, struct arg_param *p, uint8_t *cls)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child;
	struct arg_field tmp[MAX_FIELDS];
	uint8_t n = 0;
	bool more = false;
	if (dwarf_child(type, &child, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(dbg, err);
		return;
	}
	for (;;) {
		Dwarf_Half tag = 0;
		Dwarf_Bool has = 0;
		dwarf_tag(child, &tag, &err);
		if (tag == DW_TAG_member && dwarf_hasattr(child, DW_AT_data_member_location, &has, &err) == DW_DLV_OK &&
		    has) {
			char *name = NULL;
			Dwarf_Die ft = ref_die(dbg, child, DW_AT_type);
			uint8_t fc = A_OTHER, fs = 0;
			if (ft) {
				classify(dbg, ft, &fc, &fs, NULL);
				dwarf_dealloc_die(ft);
			}
			if (fc == A_OTHER || fc >= A_STDSTR || !fs || fs > 8) {
				more = true; /* shown as the trailing … */
			} else if (n == MAX_FIELDS) {
				more = true;
			} else if (dwarf_diename(child, &name, &err) == DW_DLV_OK && name) {
				tmp[n] = (struct arg_field){ sp__arena_strdup(name),
							     (uint32_t)sp__dwarf_udata(dbg, child, DW_AT_data_member_location, 0),
							     fc, fs };
				if (tmp[n].name)
					n++;
			}
		}
		sp__dwarf_clear(dbg, &err);
		if (!sp__dwarf_next(dbg, &child, &err))
			break;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	struct arg_field *v = arena_dup(tmp, n * sizeof *v);
	if (v) {
		p->fields = v;
		p->nfields = n;
		p->more_fields = more;
		*cls = A_STRUCT;
	}
}

/* Classify a type DIE (following typedefs and qualifiers); an enum's
 * enumerators, a struct's fields go to param when given. */
static void classify(Dwarf_Debug dbg, Dwarf_Die type, uint8_t *cls, uint8_t *size, struct arg_param *param)
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
		if ((tag == DW_TAG_reference_type || tag == DW_TAG_rvalue_reference_type) && param && !param->deref) {
			/* read through it: the referent is what the code means */
			Dwarf_Die to = ref_die(dbg, cur, DW_AT_type);
			if (to) {
				param->deref = true;
				classify(dbg, to, cls, size, param);
				dwarf_dealloc_die(to);
			}
			break;
		}
		Dwarf_Unsigned bytes = sp__dwarf_udata(dbg, cur, DW_AT_byte_size, 0);
		*size = (uint8_t)(bytes > 255 ? 255 : bytes);
		if ((tag == DW_TAG_structure_type || tag == DW_TAG_class_type) && param) {
			char *name = NULL;
			if (dwarf_diename(cur, &name, &err) != DW_DLV_OK)
				name = NULL;
			if (name && !strncmp(name, "basic_string<char,", 18))
				*cls = A_STDSTR;
			else if (name && !strncmp(name, "basic_string_view<char,", 23))
				*cls = A_STRVIEW;
			else
				struct_fields(dbg, cur, param, cls);
		} else if (tag == DW_TAG_base_type) {
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
			Dwarf_Die under = ref_die(dbg, cur, DW_AT_type);
			if (under) {
				Dwarf_Unsigned enc = sp__dwarf_udata(dbg, under, DW_AT_encoding, 0);
				if (enc == DW_ATE_unsigned || enc == DW_ATE_unsigned_char || enc == DW_ATE_boolean)
					*cls = A_UINT;
				dwarf_dealloc_die(under);
			}
			if (param)
				enumerators(dbg, cur, param);
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
uint8_t sp__args_location_at(Dwarf_Die die, Dwarf_Half at, uintptr_t pc_off, struct arg_op *ops)
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
				if (atom == DW_OP_entry_value || atom == DW_OP_GNU_entry_value) {
					/* the block: one DW_OP_regN is what call sites
					 * can give back (args_eval.c); o2 points to it */
					const uint8_t *blk = (const uint8_t *)(uintptr_t)o2;
					o1 = o1 == 1 && blk && blk[0] >= DW_OP_reg0 && blk[0] <= DW_OP_reg31
						     ? (Dwarf_Unsigned)(blk[0] - DW_OP_reg0)
						     : ~(Dwarf_Unsigned)0;
					o2 = 0;
				}
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
	struct dwarf_index *d = sp__args_module_index(m);
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
	spec->nfb = sp__args_location_at(sub, DW_AT_frame_base, pc_off, spec->fb);
	Dwarf_Die child;
	if (dwarf_child(sub, &child, &err) == DW_DLV_OK) {
		for (;;) {
			Dwarf_Half tag = 0;
			dwarf_tag(child, &tag, &err);
			if (tag == DW_TAG_formal_parameter && spec->nparams < MAX_PARAMS) {
				struct arg_param *p = &spec->p[spec->nparams];
				Dwarf_Die named = sp__args_with_origin(d->dbg, child, DW_AT_name);
				char *name = NULL;
				if (named && dwarf_diename(named, &name, &err) == DW_DLV_OK && name)
					p->name = sp__arena_strdup(name);
				Dwarf_Die typed = sp__args_with_origin(d->dbg, child, DW_AT_type);
				Dwarf_Die type = typed ? ref_die(d->dbg, typed, DW_AT_type) : NULL;
				if (type) {
					classify(d->dbg, type, &p->cls, &p->size, p);
					dwarf_dealloc_die(type);
				}
				p->nops = sp__args_location_at(child, DW_AT_location, pc_off, p->ops);
				if (named && named != child)
					dwarf_dealloc_die(named);
				if (typed && typed != child && typed != named)
					dwarf_dealloc_die(typed);
				if (p->name)
					spec->nparams++;
			}
			if (!sp__dwarf_next(d->dbg, &child, &err))
				break;
		}
	}
	dwarf_dealloc_die(sub);
	return spec;
}
