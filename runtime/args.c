/* args.c - the arguments of the functions named by SPANPROF_ARGS.
 *
 * The design's decorator captured a function's arguments automatically.
 * Here, on the enter hook of such a function:
 *   1. once per function: its DW_TAG_subprogram is found by entry address,
 *      and for each formal parameter we keep its name, what kind of value
 *      its type holds, and the DWARF location expression valid at the
 *      instruction after the enter hook's call (a location list picks the
 *      entry covering that pc);
 *   2. each call: libunwind steps from here to the function's frame, and
 *      the expressions are evaluated against that frame's registers (at a
 *      call, only callee-saved registers and memory can hold a live
 *      argument, and libunwind recovers exactly those) and its CFA.
 * Values become the span's data: integers, bools, doubles, pointers (as
 * "0x..."), char * strings (first 64 bytes), "<optimized out>" where DWARF
 * says the value is gone (entry_value, no location), "<?>" for what this
 * evaluator does not handle (pieces, vector registers). Memory is read with
 * process_vm_readv, so a bad pointer is reported, never dereferenced.
 *
 * Cost: a few unw_step calls, each a couple of microseconds on Debian's
 * libunwind (it blocks signals around its cache) - fine for the functions
 * one asks about, which is why it is opt-in per function.
 */
#include "stack.h" /* first: it defines _GNU_SOURCE */

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "dwarf_walk.h"
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_PARAMS 16
#define MAX_OPS 8
#define STR_MAX 64

enum arg_class { A_SINT = 1, A_UINT, A_BOOL, A_FLOAT, A_PTR, A_STR, A_OTHER };

struct arg_op {
	uint8_t atom;
	uint64_t op1, op2;
};

struct arg_param {
	const char *name;
	uint8_t cls, size, nops;
	struct arg_op ops[MAX_OPS];
};

/* What to read for one function, valid at one pc (the out-of-line copy's
 * enter hook call; calls from an inlined copy are not captured). */
struct sp__argspec {
	uintptr_t pc_off;       /* file offset of the return address of the enter hook */
	uint8_t nparams, nfb;
	struct arg_op fb[MAX_OPS]; /* the frame base (DW_AT_frame_base) */
	struct arg_param p[MAX_PARAMS];
};

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

static struct sp__argspec *resolve(struct sp__module *m, uintptr_t fn_off, uintptr_t pc_off)
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

/* ------------------------------------------------------------------------
 * Each call: evaluate
 */
struct frame_regs {
	unw_cursor_t *cur;  /* positioned on the function's frame */
	uintptr_t cfa;      /* 0 until needed */
	unw_cursor_t *caller;
};

static bool read_mem(uintptr_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };
	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static bool reg_value(struct frame_regs *fr, uint64_t regno, uint64_t *v)
{
	if (regno > 16)
		return false; /* vector registers: caller-saved, never live across the hook call */
	unw_word_t w;
	if (unw_get_reg(fr->cur, (int)regno, &w) != 0)
		return false;
	*v = w;
	return true;
}

static bool cfa_value(struct frame_regs *fr, uint64_t *v)
{
	if (!fr->cfa) {
		/* libunwind 1.6 aliases its CFA register to SP; the real CFA of
		 * a frame is its caller's stack pointer. */
		*fr->caller = *fr->cur;
		unw_word_t sp;
		if (unw_step(fr->caller) <= 0 || unw_get_reg(fr->caller, UNW_REG_SP, &sp) != 0)
			return false;
		fr->cfa = sp;
	}
	*v = fr->cfa;
	return true;
}

enum { LOC_NONE, LOC_ADDR, LOC_VALUE };

/* Run a location expression. LOC_ADDR: the value lives at *out;
 * LOC_VALUE: *out is the value; LOC_NONE: not available / not handled. */
static int eval(struct frame_regs *fr, const struct arg_op *ops, uint8_t n, const struct sp__argspec *spec,
		uint64_t bias, uint64_t *out, bool *unsupported)
{
	uint64_t st[16];
	int sp = 0;
	for (uint8_t i = 0; i < n; i++) {
		uint8_t a = ops[i].atom;
		uint64_t v;
		if (sp >= 15)
			goto bad;
		if (a >= DW_OP_reg0 && a <= DW_OP_reg31) {
			if (n != 1 || !reg_value(fr, a - DW_OP_reg0, out))
				goto bad;
			return LOC_VALUE;
		}
		if (a == DW_OP_regx) {
			if (n != 1 || !reg_value(fr, ops[i].op1, out))
				goto bad;
			return LOC_VALUE;
		}
		if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
			if (!reg_value(fr, a - DW_OP_breg0, &v))
				goto bad;
			st[sp++] = v + ops[i].op1;
		} else if (a == DW_OP_bregx) {
			if (!reg_value(fr, ops[i].op1, &v))
				goto bad;
			st[sp++] = v + ops[i].op2;
		} else if (a == DW_OP_fbreg) {
			uint64_t base;
			bool un = false;
			if (eval(fr, spec->fb, spec->nfb, spec, bias, &base, &un) != LOC_ADDR)
				goto bad;
			st[sp++] = base + ops[i].op1;
		} else if (a == DW_OP_call_frame_cfa) {
			if (!cfa_value(fr, &v))
				goto bad;
			st[sp++] = v;
		} else if (a >= DW_OP_lit0 && a <= DW_OP_lit31) {
			st[sp++] = a - DW_OP_lit0;
		} else if ((a >= DW_OP_const1u && a <= DW_OP_consts)) {
			st[sp++] = ops[i].op1;
		} else if (a == DW_OP_addr) {
			st[sp++] = ops[i].op1 + bias;
		} else if (a == DW_OP_plus_uconst && sp >= 1) {
			st[sp - 1] += ops[i].op1;
		} else if (a == DW_OP_plus && sp >= 2) {
			st[sp - 2] += st[sp - 1];
			sp--;
		} else if (a == DW_OP_minus && sp >= 2) {
			st[sp - 2] -= st[sp - 1];
			sp--;
		} else if (a == DW_OP_deref && sp >= 1) {
			if (!read_mem((uintptr_t)st[sp - 1], &v, 8))
				goto bad;
			st[sp - 1] = v;
		} else if (a == DW_OP_stack_value && sp >= 1) {
			*out = st[sp - 1];
			return LOC_VALUE;
		} else if (a == DW_OP_entry_value || a == DW_OP_GNU_entry_value) {
			return LOC_NONE; /* the value on entry: gone by now */
		} else {
			goto bad;
		}
	}
	if (sp >= 1) {
		*out = st[sp - 1];
		return LOC_ADDR;
	}
bad:
	*unsupported = true;
	return LOC_NONE;
}

/* One value, as it becomes span data. */
struct arg_value {
	sp_value_type type;
	uint64_t bits;   /* I64, U64, BOOL, F64 */
	const char *str; /* STR */
};

/* Read a char * string: what can be read, up to STR_MAX bytes, page by
 * page; a cut string ends in "...". */
static const char *read_string(uint64_t addr, char *buf)
{
	if (!addr)
		return "(null)";
	size_t got = 0;
	while (got < STR_MAX) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > STR_MAX - got)
			chunk = STR_MAX - got;
		if (!read_mem((uintptr_t)addr + got, buf + got, chunk))
			break;
		got += chunk;
		if (memchr(buf + got - chunk, '\0', chunk))
			break;
	}
	if (!got)
		snprintf(buf, STR_MAX + 8, "<bad pointer 0x%llx>", (unsigned long long)addr);
	else if (!memchr(buf, '\0', got))
		memcpy(buf + got, "...", 4);
	return buf;
}

/* The value of one parameter; false, with a reason as the string, when it
 * cannot be read. `buf` holds STR_MAX + 8 bytes. */
static bool param_value(const struct arg_param *p, struct frame_regs *fr, const struct sp__argspec *spec,
			uint64_t bias, char *buf, struct arg_value *out)
{
	uint64_t loc = 0, raw = 0;
	bool unsupported = false;
	int kind = p->nops ? eval(fr, p->ops, p->nops, spec, bias, &loc, &unsupported) : LOC_NONE;
	out->type = SP_VALUE_STR;
	out->bits = 0;
	out->str = NULL;
	if (kind == LOC_NONE || p->cls == A_OTHER || p->size == 0 || p->size > 8) {
		out->str = kind != LOC_NONE ? "<?>" : unsupported ? "<?>" : "<optimized out>";
		if (p->cls == A_OTHER && kind != LOC_NONE)
			out->str = "<aggregate>";
		return false;
	}
	if (kind == LOC_ADDR) {
		if (!read_mem((uintptr_t)loc, &raw, p->size)) {
			out->str = "<unreadable>";
			return false;
		}
	} else {
		raw = loc;
	}
	if (p->size < 8)
		raw &= (1ull << (p->size * 8)) - 1;
	switch (p->cls) {
	case A_SINT:
		out->type = SP_VALUE_I64;
		out->bits = p->size < 8 ? (uint64_t)((int64_t)(raw << (64 - p->size * 8)) >> (64 - p->size * 8)) : raw;
		break;
	case A_UINT:
		out->type = SP_VALUE_U64;
		out->bits = raw;
		break;
	case A_BOOL:
		out->type = SP_VALUE_BOOL;
		out->bits = raw != 0;
		break;
	case A_FLOAT: {
		double d;
		if (p->size == 4) {
			float f;
			uint32_t u = (uint32_t)raw;
			memcpy(&f, &u, 4);
			d = f;
		} else {
			memcpy(&d, &raw, 8);
		}
		out->type = SP_VALUE_F64;
		memcpy(&out->bits, &d, 8);
		break;
	}
	case A_STR:
		out->str = read_string(raw, buf);
		break;
	default: /* A_PTR */
		snprintf(buf, STR_MAX + 8, "0x%llx", (unsigned long long)raw);
		out->str = buf;
		break;
	}
	return true;
}

/* A value as a trace id: text, as `spanprof list` shows data. */
static void set_trace_id(struct sp__thread *t, const struct arg_value *v)
{
	char num[40];
	const char *s = num;
	double d;
	switch (v->type) {
	case SP_VALUE_I64: snprintf(num, sizeof num, "%lld", (long long)v->bits); break;
	case SP_VALUE_U64: snprintf(num, sizeof num, "%llu", (unsigned long long)v->bits); break;
	case SP_VALUE_BOOL: s = v->bits ? "true" : "false"; break;
	case SP_VALUE_F64:
		memcpy(&d, &v->bits, 8);
		snprintf(num, sizeof num, "%g", d);
		break;
	default: s = v->str; break;
	}
	sp__set_trace_id(t, s, strlen(s));
}

void sp__capture_args(struct sp__thread *t, const struct sp__frame *f, uint32_t site_id)
{
	if (f->kind != SP_FRAME_SPAN)
		return;
	struct sp__site *site = (struct sp__site *)sp__site_get(site_id);
	struct sp__module *m = site ? sp__module_get((int)site->module) : NULL;
	if (!m)
		return;
	unw_context_t uc;
	unw_cursor_t cur, caller;
	if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
		return;
	/* Step out of the runtime to the instrumented function's frame. */
	unw_word_t ip = 0;
	bool found = false;
	for (int i = 0; i < 8 && unw_step(&cur) > 0; i++) {
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) == 0 && ip - f->fn < (f->fnsize ? f->fnsize : 1)) {
			found = true;
			break;
		}
	}
	if (!found)
		return; /* an inlined copy: its call site is in another function */
	uintptr_t pc_off = ip - m->bias;
	void *sv = __atomic_load_n(&site->args, __ATOMIC_ACQUIRE);
	if (!sv) {
		if (!sp__lock(&sp__mod_lock))
			return;
		sv = __atomic_load_n(&site->args, __ATOMIC_ACQUIRE);
		if (!sv) {
			struct sp__argspec *r = resolve(m, f->fn - m->bias, pc_off);
			sv = r ? (void *)r : SP_ARGS_NONE;
			if (!r)
				sp__warn("%s: no DWARF for it in %s (build with -g); its arguments are not read",
					 sp__site_name(site_id), m->path);
			__atomic_store_n(&site->args, sv, __ATOMIC_RELEASE);
		}
		sp__unlock(&sp__mod_lock);
	}
	const struct sp__argspec *spec = sv;
	if (sv == SP_ARGS_NONE || spec->pc_off != pc_off)
		return;
	/* The trace's id, for SPANPROF_TRACE=NAME@PARAM, when this call
	 * started the trace. */
	const char *id_param = f == &t->frames[0] ? site->id_param : NULL;
	bool named = false;
	struct frame_regs fr = { &cur, 0, &caller };
	for (uint8_t i = 0; i < spec->nparams; i++) {
		char buf[STR_MAX + 8];
		struct arg_value v;
		bool ok = param_value(&spec->p[i], &fr, spec, m->bias, buf, &v);
		sp__add_data(t, f->ord, false, v.type, spec->p[i].name, v.bits, v.str);
		if (id_param && !strcmp(spec->p[i].name, id_param)) {
			named = true;
			if (ok)
				set_trace_id(t, &v);
			else
				sp__warn_once(&site->id_warned, "SPANPROF_TRACE: %s@%s: %s at its entry; ids are call numbers",
					      sp__site_name(site_id), id_param, v.str);
		}
	}
	if (id_param && !named)
		sp__warn_once(&site->id_warned, "SPANPROF_TRACE: %s has no parameter '%s'; ids are call numbers",
			      sp__site_name(site_id), id_param);
}
