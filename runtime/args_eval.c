/* args_eval.c - the arguments of the functions named by SPANPROF_ARGS.
 *
 * The design's decorator captured a function's arguments automatically.
 * Here, on the enter hook of such a function:
 *   1. once per function, args_index.c: its DW_TAG_subprogram is found
 *      by entry address, and for each formal parameter we keep its name,
 *      what kind of value its type holds, and the DWARF location
 *      expression valid at the instruction after the enter hook's call (a
 *      location list picks the entry covering that pc);
 *   2. each call, here: libunwind steps from here to the function's frame, and
 *      the expressions are evaluated against that frame's registers (at a
 *      call, only callee-saved registers and memory can hold a live
 *      argument, and libunwind recovers exactly those) and its CFA.
 * Values become the span's data: integers, bools, doubles, pointers (as
 * "0x..."), char * strings (first SPANPROF_STR_MAX bytes), "<optimized out>" where DWARF
 * says the value is gone (entry_value, no location), "<?>" for what this
 * evaluator does not handle (pieces, vector registers). Memory is read with
 * process_vm_readv, so a bad pointer is reported, never dereferenced.
 *
 * Cost: a few unw_step calls, each a couple of microseconds on Debian's
 * libunwind (it blocks signals around its cache) - fine for the functions
 * one asks about, which is why it is opt-in per function.
 */
#include "args.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <dwarf.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * Each call: evaluate
 */
struct frame_regs {
	unw_cursor_t *cur;  /* positioned on the function's frame */
	uintptr_t cfa;      /* 0 until needed */
	unw_cursor_t *caller;
	struct sp__argcache *cache; /* entry values: the call sites seen */
	struct sp__module *m;
	int depth;          /* entry values inside entry values: no */
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

static int eval(struct frame_regs *fr, const struct arg_op *ops, uint8_t n, const struct arg_op *fb, uint8_t nfb,
		uint64_t bias, uint64_t *out, bool *unsupported);

/* DW_OP_entry_value(DW_OP_regN): what the caller put in register N for
 * this call, by its DW_TAG_call_site (DW_AT_call_value, an expression over
 * the caller's frame: gcc and clang use only what survives the call). Each
 * call site is looked up once per function and cached. */
static bool entry_value(struct frame_regs *fr, unsigned regno, uint64_t *v)
{
	uint64_t cfa;
	unw_word_t ip;
	if (fr->depth || !fr->cache || !cfa_value(fr, &cfa) || unw_get_reg(fr->caller, UNW_REG_IP, &ip) != 0 ||
	    ip < fr->m->bias)
		return false;
	if (sp__module_find((uintptr_t)ip) != (int)(fr->m - sp__module_get(0)))
		return false; /* called from another module: its DWARF is not open here */
	uintptr_t ret_off = (uintptr_t)ip - fr->m->bias;
	struct sp__argcache *c = fr->cache;
	const struct sp__callvalue *cv = NULL;
	uint32_t n = __atomic_load_n(&c->ncv, __ATOMIC_ACQUIRE);
	for (uint32_t i = 0; i < n && !cv; i++)
		if (c->cv[i].ret_off == ret_off && c->cv[i].regno == regno)
			cv = &c->cv[i];
	if (!cv) {
		if (n >= ARGS_CALL_VALUES || !sp__lock(&sp__mod_lock))
			return false;
		n = c->ncv;
		for (uint32_t i = 0; i < n && !cv; i++)
			if (c->cv[i].ret_off == ret_off && c->cv[i].regno == regno)
				cv = &c->cv[i];
		if (!cv && n < ARGS_CALL_VALUES) {
			struct sp__callvalue *e = &c->cv[n];
			e->ret_off = ret_off;
			e->regno = (uint8_t)regno;
			e->nops = sp__args_call_value(fr->m, ret_off, regno, e->ops, e->fb, &e->nfb);
			__atomic_store_n(&c->ncv, n + 1, __ATOMIC_RELEASE);
			cv = e;
		}
		sp__unlock(&sp__mod_lock);
		if (!cv)
			return false;
	}
	if (!cv->nops)
		return false;
	/* evaluated in the caller's frame */
	unw_cursor_t up;
	struct frame_regs cf = { fr->caller, 0, &up, NULL, fr->m, fr->depth + 1 };
	bool un = false;
	int kind = eval(&cf, cv->ops, cv->nops, cv->fb, cv->nfb, fr->m->bias, v, &un);
	return kind != LOC_NONE; /* LOC_ADDR here: the expression's value */
}

/* Run a location expression. LOC_ADDR: the value lives at *out;
 * LOC_VALUE: *out is the value; LOC_NONE: not available / not handled. */
static bool entry_value(struct frame_regs *fr, unsigned regno, uint64_t *v);

static int eval(struct frame_regs *fr, const struct arg_op *ops, uint8_t n, const struct arg_op *fb, uint8_t nfb,
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
			if (eval(fr, fb, nfb, fb, 0, bias, &base, &un) != LOC_ADDR)
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
			/* the value on entry: gone by now, unless the caller's
			 * call site says what it passed */
			if (ops[i].op1 > 31 || !entry_value(fr, (unsigned)ops[i].op1, &v))
				return LOC_NONE;
			st[sp++] = v;
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
	uint64_t bits;   /* I64, U64, BOOL, F64; SP_DATA_STR_MARKER for a marker */
	const char *str; /* STR */
};

static bool marker(struct arg_value *out, const char *what)
{
	out->type = SP_VALUE_STR;
	out->bits = SP_DATA_STR_MARKER;
	out->str = what;
	return false;
}

/* An enum's value by name: "Weighted", or "Bold|Italic" for a flag enum
 * whose every set bit is an enumerator; false if neither. */
static bool enum_name(const struct arg_param *p, uint64_t v, char *buf, size_t size)
{
	for (uint16_t i = 0; i < p->nenums; i++)
		if ((uint64_t)p->enums[i].v == v) {
			snprintf(buf, size, "%s", p->enums[i].name);
			return true;
		}
	if (!v)
		return false;
	size_t len = 0;
	buf[0] = '\0';
	for (int bit = 0; bit < 64; bit++) {
		uint64_t b = 1ull << bit;
		if (!(v & b))
			continue;
		const char *name = NULL;
		for (uint16_t i = 0; i < p->nenums && !name; i++)
			if ((uint64_t)p->enums[i].v == b)
				name = p->enums[i].name;
		if (!name)
			return false;
		int w = snprintf(buf + len, size - len, "%s%s", len ? "|" : "", name);
		if (w < 0 || (size_t)w >= size - len)
			return false;
		len += (size_t)w;
	}
	return true;
}

/* Read a char * string: what can be read, up to SPANPROF_STR_MAX bytes, page by
 * page; a cut string ends in "...". */
static const char *read_string(uint64_t addr, char *buf)
{
	if (!addr)
		return "(null)";
	size_t got = 0, max = sp__cfg.str_max < STR_MAX ? sp__cfg.str_max : STR_MAX;
	while (got < max) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > max - got)
			chunk = max - got;
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

/* A scalar of class cls and size bytes at addr, as text. */
static int scalar_text(uint8_t cls, uint8_t size, uintptr_t addr, char *out, size_t n)
{
	uint64_t raw = 0;
	if (!read_mem(addr, &raw, size))
		return snprintf(out, n, "<unreadable>");
	if (size < 8)
		raw &= (1ull << (size * 8)) - 1;
	switch (cls) {
	case A_SINT:
		if (size < 8)
			raw = (uint64_t)((int64_t)(raw << (64 - size * 8)) >> (64 - size * 8));
		return snprintf(out, n, "%lld", (long long)raw);
	case A_UINT: return snprintf(out, n, "%llu", (unsigned long long)raw);
	case A_BOOL: return snprintf(out, n, "%s", raw ? "true" : "false");
	case A_FLOAT: {
		double d;
		if (size == 4) {
			float f;
			uint32_t u = (uint32_t)raw;
			memcpy(&f, &u, 4);
			d = f;
		} else {
			memcpy(&d, &raw, 8);
		}
		return snprintf(out, n, "%g", d);
	}
	default: return snprintf(out, n, "0x%llx", (unsigned long long)raw);
	}
}

/* std::string, std::string_view (libstdc++'s layouts) and structs, from
 * the object's address. */
static bool aggregate(const struct arg_param *p, uint64_t addr, char *buf, struct arg_value *out)
{
	uint64_t w[2];
	out->type = SP_VALUE_STR;
	if (p->cls == A_STDSTR || p->cls == A_STRVIEW) {
		if (!read_mem((uintptr_t)addr, w, sizeof w))
			return marker(out, "<unreadable>");
		uint64_t ptr = p->cls == A_STDSTR ? w[0] : w[1], len = p->cls == A_STDSTR ? w[1] : w[0];
		size_t n = len < STR_MAX ? (size_t)len : STR_MAX;
		if (n && !read_mem((uintptr_t)ptr, buf, n))
			return marker(out, "<unreadable>");
		buf[n] = '\0';
		if (len > STR_MAX)
			memcpy(buf + n, "...", 4);
		out->str = buf;
		return true;
	}
	/* {x=1, y=2, …} */
	size_t size = STR_MAX + 8, len = 0;
	buf[len++] = '{';
	for (uint8_t i = 0; i < p->nfields && len < size; i++) {
		const struct arg_field *f = &p->fields[i];
		int w1 = snprintf(buf + len, size - len, "%s%s=", i ? ", " : "", f->name);
		if (w1 < 0 || (size_t)w1 >= size - len)
			break;
		len += (size_t)w1;
		int w2 = scalar_text(f->cls, f->size, (uintptr_t)addr + f->off, buf + len, size - len);
		if (w2 < 0 || (size_t)w2 >= size - len)
			break;
		len += (size_t)w2;
	}
	if (len + 7 < size) {
		if (p->more_fields)
			len += (size_t)snprintf(buf + len, size - len, "%s…", p->nfields ? ", " : "");
		buf[len++] = '}';
		buf[len] = '\0';
	} else {
		memcpy(buf + size - 5, "...}", 5);
	}
	out->str = buf;
	return true;
}

/* The value of one parameter; false, with a reason as the string, when it
 * cannot be read. `buf` holds STR_MAX + 8 bytes. */
static bool param_value(const struct arg_param *p, struct frame_regs *fr, const struct sp__argspec *spec,
			uint64_t bias, char *buf, struct arg_value *out)
{
	uint64_t loc = 0, raw = 0;
	bool unsupported = false;
	if (p->inl_missing)
		return marker(out, "<inlined>");
	int kind = p->nops ? eval(fr, p->ops, p->nops, spec->fb, spec->nfb, bias, &loc, &unsupported) : LOC_NONE;
	out->type = SP_VALUE_STR;
	out->bits = 0;
	out->str = NULL;
	if (kind != LOC_NONE && p->deref) {
		/* a reference: its location holds the referent's address */
		uint64_t addr = loc;
		if (kind == LOC_ADDR && !read_mem((uintptr_t)loc, &addr, 8))
			return marker(out, "<unreadable>");
		loc = addr;
		kind = LOC_ADDR;
	}
	if (kind != LOC_NONE && p->cls >= A_STDSTR) {
		if (kind != LOC_ADDR)
			return marker(out, "<?>"); /* in registers (pieces): not read */
		return aggregate(p, loc, buf, out);
	}
	if (kind == LOC_NONE || p->cls == A_OTHER || p->size == 0 || p->size > 8) {
		if (p->cls == A_OTHER && kind != LOC_NONE)
			return marker(out, "<aggregate>");
		return marker(out, kind != LOC_NONE || unsupported ? "<?>" : "<optimized out>");
	}
	if (kind == LOC_ADDR) {
		if (!read_mem((uintptr_t)loc, &raw, p->size))
			return marker(out, "<unreadable>");
	} else {
		raw = loc;
	}
	if (p->size < 8)
		raw &= (1ull << (p->size * 8)) - 1;
	switch (p->cls) {
	case A_SINT:
		out->type = SP_VALUE_I64;
		out->bits = p->size < 8 ? (uint64_t)((int64_t)(raw << (64 - p->size * 8)) >> (64 - p->size * 8)) : raw;
		if (p->nenums && enum_name(p, out->bits, buf, STR_MAX + 8)) {
			out->type = SP_VALUE_STR;
			out->str = buf;
		}
		break;
	case A_UINT:
		out->type = SP_VALUE_U64;
		out->bits = raw;
		if (p->nenums && enum_name(p, out->bits, buf, STR_MAX + 8)) {
			out->type = SP_VALUE_STR;
			out->bits = 0;
			out->str = buf;
		}
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
	/* Step out of the runtime to the instrumented function's frame; when
	 * the compiler inlined it (gcc still calls the hooks), the enter hook
	 * is called from its caller's code, the first frame outside the
	 * runtime. */
	int self = sp__module_find((uintptr_t)sp__capture_args);
	unw_word_t ip = 0;
	bool found = false, inlined = false;
	for (int i = 0; i < 8 && unw_step(&cur) > 0; i++) {
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
			break;
		if (ip - f->fn < (f->fnsize ? f->fnsize : 1)) {
			found = true;
			break;
		}
		int mi = self >= 0 ? sp__module_find((uintptr_t)ip) : self;
		if (mi != self) {
			/* The hook stub of libspanprof_hooks.a lives in the
			 * program: its frame (when it made no tail call, as
			 * at -O0 or under a sanitizer) is the runtime's, not
			 * the caller's. */
			uint32_t size;
			const char *sym = mi >= 0 ? sp__module_symbol(mi, (uintptr_t)ip, &size) : NULL;
			if (sym && (!strcmp(sym, "__cyg_profile_func_enter") || !strcmp(sym, "__cyg_profile_func_exit")))
				continue;
			inlined = found = true;
			break;
		}
	}
	if (!found)
		return;
	uintptr_t pc_off = ip - m->bias;
	struct sp__argcache *c = __atomic_load_n(&site->args, __ATOMIC_ACQUIRE);
	if (!c) {
		if (!sp__lock(&sp__mod_lock))
			return;
		c = __atomic_load_n(&site->args, __ATOMIC_ACQUIRE);
		if (!c) {
			c = sp__arena_alloc(sizeof *c);
			if (c) {
				memset(c, 0, sizeof *c);
				/* The parameters (names, types), valid at the
				 * out-of-line copy's hook call; an inlined call
				 * first resolves them at an unrelated pc (its
				 * locations then serve no call). */
				c->out = sp__args_resolve(m, f->fn - m->bias, inlined ? 0 : pc_off);
				c->out_pc = inlined ? 0 : pc_off;
				c->failed = !c->out;
				if (!c->out)
					sp__warn("%s: no DWARF for it in %s (build with -g); its arguments are not read",
						 sp__site_name(site_id), m->path);
				__atomic_store_n(&site->args, c, __ATOMIC_RELEASE);
			}
		}
		sp__unlock(&sp__mod_lock);
		if (!c)
			return;
	}
	if (c->failed)
		return;
	const struct sp__argspec *spec = NULL;
	const char *all = NULL; /* every parameter gets this marker */
	if (!inlined) {
		if (__atomic_load_n(&c->out_pc, __ATOMIC_ACQUIRE) != pc_off && sp__lock(&sp__mod_lock)) {
			/* first out-of-line call after inlined ones */
			if (c->out_pc != pc_off) {
				struct sp__argspec *r = sp__args_resolve(m, f->fn - m->bias, pc_off);
				if (r) {
					c->out = r;
					__atomic_store_n(&c->out_pc, pc_off, __ATOMIC_RELEASE);
				}
			}
			sp__unlock(&sp__mod_lock);
		}
		spec = c->out;
		if (__atomic_load_n(&c->out_pc, __ATOMIC_ACQUIRE) != pc_off)
			all = "<?>"; /* its locations were resolved elsewhere */
	} else {
		uint32_t n = __atomic_load_n(&c->ninl, __ATOMIC_ACQUIRE);
		uint32_t i = 0;
		while (i < n && c->inl[i].pc_off != pc_off)
			i++;
		if (i == n && n < ARGS_INLINED_MAX && sp__lock(&sp__mod_lock)) {
			n = c->ninl;
			for (i = 0; i < n && c->inl[i].pc_off != pc_off;)
				i++;
			if (i == n && n < ARGS_INLINED_MAX) {
				c->inl[n].pc_off = pc_off;
				c->inl[n].spec = sp__args_resolve_inlined(m, f->fn - m->bias, pc_off, c->out);
				__atomic_store_n(&c->ninl, n + 1, __ATOMIC_RELEASE);
			}
			sp__unlock(&sp__mod_lock);
		}
		spec = i < ARGS_INLINED_MAX && i < __atomic_load_n(&c->ninl, __ATOMIC_ACQUIRE) ? c->inl[i].spec : NULL;
		if (!spec) {
			spec = c->out;
			all = "<inlined>"; /* no inline information for this call */
		}
	}
	/* The trace's id, for SPANPROF_TRACE=NAME@PARAM, when this call
	 * started the trace. */
	const char *id_param = f == &t->frames[0] ? site->id_param : NULL;
	bool named = false;
	struct frame_regs fr = { &cur, 0, &caller, c, m, 0 };
	for (uint8_t i = 0; i < spec->nparams; i++) {
		char buf[STR_MAX + 8];
		struct arg_value v;
		bool ok = all ? marker(&v, all) : param_value(&spec->p[i], &fr, spec, m->bias, buf, &v);
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
