/* read/symbolize.c - see symbolize.h.
 *
 * Each module is indexed once, on first use: every DW_TAG_subprogram with
 * code (low_pc/high_pc, or DW_AT_ranges for functions split into hot and
 * cold parts) becomes one entry per range, named through
 * DW_AT_abstract_origin / DW_AT_specification (clones, out-of-line copies
 * of inline functions and C++ definitions only carry those), with its
 * decl_file and decl_line; and every STT_FUNC of .symtab (else .dynsym).
 * Both are sorted arrays; a lookup is a binary search. The caller caches
 * results per site, so lookups are few.
 */
#include "read/symbolize.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cxxname.h"
#include "dwarf_walk.h"
#include "format.h"

struct fn {
	uint64_t lo, hi;
	const char *name, *file;
	const char *sig; /* C++: the qualified name with its parameter list */
	unsigned line;
};

struct sym {
	uint64_t lo, size;
	const char *name;
};

struct module {
	char *path;
	uint8_t build_id[SP_BUILD_ID_MAX];
	size_t build_id_len;
	int state; /* 0 not opened, 1 usable, -1 not */
	struct fn *fns;
	size_t nfns, capfns;
	struct sym *syms;
	size_t nsyms;
	char **strings; /* everything strdup'ed for this module */
	size_t nstrings, capstrings;
};

struct rd_symbolizer {
	rd_symbolizer_warn_fn warn;
	void *ctx;
	struct module *mods;
	uint32_t nmods;
};

static void warn(struct rd_symbolizer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(struct rd_symbolizer *s, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (s->warn)
		s->warn(s->ctx, buf);
}

struct rd_symbolizer *rd_symbolizer_new(rd_symbolizer_warn_fn w, void *ctx)
{
	struct rd_symbolizer *s = calloc(1, sizeof *s);
	if (s) {
		s->warn = w;
		s->ctx = ctx;
	}
	elf_version(EV_CURRENT);
	return s;
}

static void module_free(struct module *m)
{
	for (size_t i = 0; i < m->nstrings; i++)
		free(m->strings[i]);
	free(m->strings);
	free(m->fns);
	free(m->syms);
	free(m->path);
}

void rd_symbolizer_free(struct rd_symbolizer *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nmods; i++)
		module_free(&s->mods[i]);
	free(s->mods);
	free(s);
}

int rd_symbolizer_add_module(struct rd_symbolizer *s, uint32_t index, const char *path, const uint8_t *build_id,
			     size_t build_id_len)
{
	if (index >= (1u << 20))
		return -EINVAL;
	if (index >= s->nmods) {
		struct module *m = realloc(s->mods, ((size_t)index + 1) * sizeof *m);
		if (!m)
			return -ENOMEM;
		memset(m + s->nmods, 0, ((size_t)index + 1 - s->nmods) * sizeof *m);
		s->mods = m;
		s->nmods = index + 1;
	}
	struct module *m = &s->mods[index];
	module_free(m);
	memset(m, 0, sizeof *m);
	m->path = strdup(path ? path : "");
	if (!m->path)
		return -ENOMEM;
	m->build_id_len = build_id_len > sizeof m->build_id ? sizeof m->build_id : build_id_len;
	if (m->build_id_len)
		memcpy(m->build_id, build_id, m->build_id_len);
	return 0;
}

/* Keep a copy of `str` for the module's lifetime. */
static const char *keep(struct module *m, const char *str)
{
	if (!str)
		return NULL;
	if (m->nstrings == m->capstrings) {
		size_t cap = m->capstrings ? m->capstrings * 2 : 256;
		char **v = realloc(m->strings, cap * sizeof *v);
		if (!v)
			return NULL;
		m->strings = v;
		m->capstrings = cap;
	}
	char *c = strdup(str);
	if (c)
		m->strings[m->nstrings++] = c;
	return c;
}

/* ------------------------------------------------------------------------
 * ELF: build-id and symbol table
 */
static size_t elf_build_id(Elf *e, uint8_t *out, size_t max)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, noff, doff;
		GElf_Nhdr nh;
		while (data && (noff = gelf_getnote(data, off, &nh, &off /* next */, &doff)) > 0) {
			(void)noff;
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_descsz > 0) {
				size_t n = nh.n_descsz < max ? nh.n_descsz : max;
				if (doff + n <= data->d_size) {
					memcpy(out, (uint8_t *)data->d_buf + doff, n);
					return n;
				}
			}
		}
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void elf_symbols(struct module *m, Elf *e)
{
	Elf_Scn *scn = NULL, *symscn = NULL;
	GElf_Shdr sh, symsh = { 0 };
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !symscn)) {
			symscn = scn;
			symsh = sh;
		}
	}
	if (!symscn || !symsh.sh_entsize)
		return;
	Elf_Data *data = elf_getdata(symscn, NULL);
	size_t n = data ? data->d_size / symsh.sh_entsize : 0;
	m->syms = calloc(n ? n : 1, sizeof *m->syms);
	if (!m->syms)
		return;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(data, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC || s.st_shndx == SHN_UNDEF ||
		    !s.st_value)
			continue;
		const char *name = elf_strptr(e, symsh.sh_link, s.st_name);
		if (!name || !*name)
			continue;
		m->syms[m->nsyms++] = (struct sym){ s.st_value, s.st_size, keep(m, name) };
	}
	qsort(m->syms, m->nsyms, sizeof *m->syms, cmp_sym);
}

/* ------------------------------------------------------------------------
 * C++ names: demangled with libstdc++'s __cxa_demangle, opened on first
 * use (the CLI is C and needs no libstdc++; without it names stay as
 * DWARF or the symbol table spell them).
 */
static char *cxa_demangle(const char *sym)
{
	static char *(*fn)(const char *, char *, size_t *, int *);
	static int looked;
	if (!sym || strncmp(sym, "_Z", 2))
		return NULL;
	if (!looked) {
		looked = 1;
		void *h = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_LOCAL);
		if (h)
			fn = (char *(*)(const char *, char *, size_t *, int *))dlsym(h, "__cxa_demangle");
		/* h stays open: fn lives in it */
	}
	int status = -1;
	char *d = fn ? fn(sym, NULL, NULL, &status) : NULL;
	if (d && status != 0) {
		free(d);
		d = NULL;
	}
	return d;
}

char *rd_demangle(const char *sym, bool with_params)
{
	char *d = cxa_demangle(sym);
	if (!d)
		return NULL;
	size_t b, e, n = strlen(d);
	sp__cxx_name_span(d, n, &b, &e);
	if (with_params) {
		/* keep "(int) const", drop " [clone .constprop.0]" */
		const char *clone = strstr(d + e, " [clone");
		e = clone ? (size_t)(clone - d) : n;
	}
	if (e <= b) {
		free(d);
		return NULL;
	}
	memmove(d, d + b, e - b);
	d[e - b] = '\0';
	return d;
}

static const struct sym *sym_at(const struct module *m, uint64_t addr)
{
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].lo < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < m->nsyms && m->syms[lo].lo == addr; lo++)
		if (!strncmp(m->syms[lo].name, "_Z", 2))
			return &m->syms[lo];
	return NULL;
}

static int cmp_fn_name(const void *a, const void *b)
{
	const struct fn *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);
	return c ? c : strcmp((*x)->sig ? (*x)->sig : "", (*y)->sig ? (*y)->sig : "");
}

/* C++ functions by their qualified names ("app::Grid::score"): DWARF's
 * DW_AT_name is only "score". The symbol at the function's entry is
 * demangled; where two functions of the module share a qualified name
 * with different parameter lists (overloads), both keep their lists. */
static void qualify(struct module *m)
{
	for (size_t i = 0; i < m->nfns; i++) {
		const struct sym *y = sym_at(m, m->fns[i].lo);
		if (!y)
			continue;
		char *plain = rd_demangle(y->name, false), *sig = rd_demangle(y->name, true);
		if (plain && sig) {
			m->fns[i].name = keep(m, plain);
			m->fns[i].sig = keep(m, sig);
		}
		free(plain);
		free(sig);
	}
	struct fn **by = malloc((m->nfns ? m->nfns : 1) * sizeof *by);
	if (!by)
		return;
	for (size_t i = 0; i < m->nfns; i++)
		by[i] = &m->fns[i];
	qsort(by, m->nfns, sizeof *by, cmp_fn_name);
	for (size_t i = 0; i < m->nfns;) {
		size_t j = i + 1;
		bool overloaded = false;
		while (j < m->nfns && !strcmp(by[j]->name, by[i]->name)) {
			if (by[j]->sig && by[j - 1]->sig && strcmp(by[j]->sig, by[j - 1]->sig))
				overloaded = true;
			j++;
		}
		for (size_t k = i; overloaded && k < j; k++)
			if (by[k]->sig)
				by[k]->name = by[k]->sig;
		i = j;
	}
	free(by);
}

/* ------------------------------------------------------------------------
 * DWARF: the subprograms
 */
static void add_fn(struct module *m, uint64_t lo, uint64_t hi, const char *name, const char *file, unsigned line)
{
	if (!name || hi <= lo)
		return;
	if (m->nfns == m->capfns) {
		size_t cap = m->capfns ? m->capfns * 2 : 1024;
		struct fn *v = realloc(m->fns, cap * sizeof *v);
		if (!v)
			return;
		m->fns = v;
		m->capfns = cap;
	}
	m->fns[m->nfns++] = (struct fn){ lo, hi, name, file, NULL, line };
}

/* The [lo, hi) ranges of a DIE with DW_AT_ranges: DWARF 5 rnglists or
 * DWARF 4 .debug_ranges (offsets from the CU's base address). */
static void die_ranges(Dwarf_Debug dbg, Dwarf_Die die, int version, uint64_t cu_base, struct module *m,
		       const char *name, const char *file, unsigned line)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute a;
	if (dwarf_attr(die, DW_AT_ranges, &a, &err) != DW_DLV_OK)
		return;
	Dwarf_Half form = 0;
	dwarf_whatform(a, &form, &err);
	if (version >= 5) {
		Dwarf_Unsigned val = 0, count = 0, goff = 0;
		Dwarf_Off off = 0;
		if (form == DW_FORM_rnglistx)
			dwarf_formudata(a, &val, &err);
		else if (dwarf_global_formref(a, &off, &err) == DW_DLV_OK)
			val = off;
		Dwarf_Rnglists_Head head = NULL;
		if (dwarf_rnglists_get_rle_head(a, form, val, &head, &count, &goff, &err) == DW_DLV_OK) {
			for (Dwarf_Unsigned i = 0; i < count; i++) {
				unsigned len = 0, code = 0;
				Dwarf_Unsigned r1, r2, c1, c2;
				Dwarf_Bool unavail = 0;
				if (dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &r1, &r2, &unavail, &c1, &c2,
								      &err) != DW_DLV_OK)
					break;
				if (code == DW_RLE_end_of_list)
					break;
				if (code != DW_RLE_base_address && code != DW_RLE_base_addressx && !unavail)
					add_fn(m, c1, c2, name, file, line);
			}
			dwarf_dealloc_rnglists_head(head);
		}
	} else {
		Dwarf_Off off = 0;
		if (dwarf_global_formref(a, &off, &err) == DW_DLV_OK) {
			Dwarf_Ranges *r = NULL;
			Dwarf_Signed n = 0;
			Dwarf_Unsigned bytes = 0;
			Dwarf_Off realoff = 0;
			if (dwarf_get_ranges_b(dbg, off, die, &realoff, &r, &n, &bytes, &err) == DW_DLV_OK) {
				uint64_t base = cu_base;
				for (Dwarf_Signed i = 0; i < n; i++) {
					if (r[i].dwr_type == DW_RANGES_END)
						break;
					if (r[i].dwr_type == DW_RANGES_ADDRESS_SELECTION)
						base = r[i].dwr_addr2;
					else
						add_fn(m, base + r[i].dwr_addr1, base + r[i].dwr_addr2, name, file, line);
				}
				dwarf_ranges_dealloc(dbg, r, n);
			}
		}
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	dwarf_dealloc_attribute(a);
}

/* "/a/build/../src/x.c" -> "/a/src/x.c", in place: DWARF paths are the
 * compiler's, often relative to the build directory. Lexical only. */
static void tidy_path(char *p)
{
	char *out = p;
	for (const char *in = p; *in;) {
		if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || in[2] == '\0')) {
			in += 2;
		} else if (in[0] == '/' && in[1] == '.' && in[2] == '.' && (in[3] == '/' || in[3] == '\0') && out > p) {
			char *slash = out - 1;
			while (slash > p && *slash != '/')
				slash--;
			if (slash >= p && *slash == '/' && strncmp(slash, "/..", 3)) {
				out = slash; /* drop the previous component */
				in += 3;
			} else {
				*out++ = *in++;
			}
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
}

static void on_subprogram(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *arg)
{
	struct module *m = arg;
	Dwarf_Error err = NULL;
	const char *name;
	Dwarf_Unsigned f;
	unsigned line;
	sp__dwarf_describe(cu->dbg, die, &name, &f, &line);
	char *file = (char *)keep(m, sp__dwarf_file(cu, f));
	if (file)
		tidy_path(file);
	name = keep(m, name);
	Dwarf_Addr lo, hi;
	Dwarf_Half form;
	enum Dwarf_Form_Class cls;
	if (dwarf_lowpc(die, &lo, &err) == DW_DLV_OK && dwarf_highpc_b(die, &hi, &form, &cls, &err) == DW_DLV_OK) {
		if (cls == DW_FORM_CLASS_CONSTANT)
			hi += lo;
		add_fn(m, lo, hi, name, file, line);
	} else {
		die_ranges(cu->dbg, die, cu->version, cu->base, m, name, file, line);
	}
	if (err)
		dwarf_dealloc_error(cu->dbg, err);
}

static int cmp_fn(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi; /* innermost (smallest) first */
}

static void dwarf_functions(struct module *m)
{
	Dwarf_Debug dbg = NULL;
	Dwarf_Error err = NULL;
	char real[4096];
	if (dwarf_init_path(m->path, real, sizeof real, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, &dbg, NULL, 0,
			    NULL, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(NULL, err);
		return;
	}
	sp__dwarf_each_subprogram(dbg, on_subprogram, m);
	if (err)
		dwarf_dealloc_error(dbg, err);
	dwarf_finish(dbg, &err);
	qualify(m);
	if (m->nfns) /* qsort takes no NULL, even for 0 elements */
		qsort(m->fns, m->nfns, sizeof *m->fns, cmp_fn);
}

static void open_module(struct rd_symbolizer *s, struct module *m)
{
	m->state = -1;
	if (m->path[0] != '/')
		return; /* [vdso], linux-vdso.so.1, or unknown: nothing to read */
	/* The path comes from the dump: a FIFO planted there must not block
	 * the open (O_NONBLOCK), and only a regular file is read. */
	int fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		warn(s, "cannot read %s: %s; its functions are shown by address", m->path, strerror(errno));
		return;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		warn(s, "%s is not a regular file; its functions are shown by address", m->path);
		close(fd);
		return;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl != -1)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		warn(s, "%s is not an ELF file; its functions are shown by address", m->path);
		if (e)
			elf_end(e);
		close(fd);
		return;
	}
	if (m->build_id_len) {
		uint8_t id[SP_BUILD_ID_MAX];
		size_t n = elf_build_id(e, id, sizeof id);
		if (n != m->build_id_len || memcmp(id, m->build_id, n)) {
			warn(s, "%s has changed since the run (build-id differs); its functions are shown by address",
			     m->path);
			elf_end(e);
			close(fd);
			return;
		}
	}
	elf_symbols(m, e);
	elf_end(e);
	close(fd);
	dwarf_functions(m);
	m->state = 1;
}

bool rd_symbolizer_lookup(struct rd_symbolizer *s, uint32_t index, uint64_t offset, struct rd_symbol *out)
{
	memset(out, 0, sizeof *out);
	if (!s || index >= s->nmods || !s->mods[index].path)
		return false;
	struct module *m = &s->mods[index];
	if (m->state == 0)
		open_module(s, m);
	if (m->state != 1)
		return false;
	/* DWARF: the last entry starting at or before offset that contains it. */
	size_t lo = 0, hi = m->nfns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->fns[mid].lo <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i-- > 0 && lo - i < 64;) {
		const struct fn *f = &m->fns[i];
		if (offset >= f->lo && offset < f->hi) {
			out->function = f->name;
			out->file = f->file;
			out->line = f->line;
			out->from_dwarf = true;
			return true;
		}
	}
	lo = 0;
	hi = m->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].lo <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		const struct sym *y = &m->syms[lo - 1];
		if (offset == y->lo || offset - y->lo < y->size) {
			char *d = rd_demangle(y->name, false);
			out->function = d ? keep(m, d) : y->name;
			free(d);
			return true;
		}
	}
	return false;
}
