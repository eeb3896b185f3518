/* modules.c - the executable and the shared libraries of this process.
 *
 * A module is one loaded ELF object: its path, its load bias (runtime
 * address - address in the file, dlpi_addr), the address range it covers
 * and its GNU build-id, read from the loaded image.
 *
 * A library that is dlclose'd keeps its entry, flagged unloaded: the sites
 * recorded in it name it (path and build-id, for the dump; their offsets
 * are their own, sites.c), and its symbol table holds their names. When
 * the same file is loaded again (same path, build-id and size, at any
 * address) it takes that entry back, so a program that loads and unloads a
 * plugin in a loop uses one entry, one symbol table and one set of sites.
 * An unloaded entry that no site names (a library none of whose functions
 * was seen) is given to the next new library. The table is then full only
 * with SP_MAX_MODULES distinct files seen by the hooks.
 *
 * Symbol names come from the module file's .symtab (else .dynsym), read
 * with a small ELF64 parser over a read-only mapping of the file, on first
 * need. Nothing here calls malloc: indexes live in the arena.
 *
 *   int mi = sp__module_find(addr);
 *   const char *name = sp__module_symbol(mi, addr, &size);
 */
#include "internal.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct sp__lock sp__mod_lock = SP_LOCK_INIT(1u << 1);
static struct sp__module *mods; /* SP_MAX_MODULES entries, mmap'd */
static _Atomic uint32_t nmods;

uint32_t sp__module_count(void)
{
	return atomic_load(&nmods);
}

struct sp__module *sp__module_get(int index)
{
	if (index < 0 || (uint32_t)index >= atomic_load(&nmods))
		return NULL;
	return &mods[index];
}

/* Copy the GNU build-id out of the loaded image's PT_NOTE segments. */
static void read_build_id(struct dl_phdr_info *info, struct sp__module *m)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE)
			continue;
		const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr);
		const uint8_t *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
			size_t namesz = (n->n_namesz + 3u) & ~3u, descsz = (n->n_descsz + 3u) & ~3u;
			const uint8_t *name = p + sizeof *n, *desc = name + namesz;
			if (desc + descsz > end)
				break;
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				size_t len = n->n_descsz < sizeof m->build_id ? n->n_descsz : sizeof m->build_id;
				memcpy(m->build_id, desc, len);
				m->build_id_len = (uint8_t)len;
				return;
			}
			p = desc + descsz;
		}
	}
}

struct scan_state {
	char exe[PATH_MAX];
	char path[PATH_MAX];
	uint8_t seen[SP_MAX_MODULES];
};

static uint32_t mod_flags(const struct sp__module *m)
{
	return __atomic_load_n(&m->flags, __ATOMIC_ACQUIRE);
}

/* A path string for a module: the one an entry already has, if any (the
 * arena is never freed, and a plugin is reloaded from one path). */
static const char *intern_path(const char *path, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (mods[i].path && !strcmp(mods[i].path, path))
			return mods[i].path;
	const char *p = sp__arena_strdup(path);
	return p ? p : "";
}

/* Give back what an unloaded entry that no site names still holds. */
static void release_entry(struct sp__module *m)
{
	if (m->sym_state == 1) {
		munmap((void *)m->file_map, m->file_len);
		sp__unmap((void *)m->syms, m->nsyms * sizeof *m->syms);
	}
}

static int scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct scan_state *st = data;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t s = info->dlpi_addr + ph->p_vaddr;
		if (s < lo)
			lo = s;
		if (s + ph->p_memsz > hi)
			hi = s + ph->p_memsz;
	}
	if (hi == 0)
		return 0;
	bool main_prog = !info->dlpi_name || !info->dlpi_name[0];
	uint32_t n = atomic_load(&nmods);
	for (uint32_t i = 0; i < n; i++) {
		struct sp__module *m = &mods[i];
		if (!(mod_flags(m) & SP_MOD_UNLOADED) && m->bias == info->dlpi_addr && m->start == lo && m->end == hi) {
			st->seen[i] = 1;
			return 0;
		}
	}
	const char *path;
	if (main_prog) {
		path = st->exe;
	} else if (info->dlpi_name[0] != '/' && strchr(info->dlpi_name, '/')) {
		/* dlopen'ed with a relative path: resolve it now, while the
		 * working directory is still the one it was loaded from. */
		path = realpath(info->dlpi_name, st->path) ? st->path : info->dlpi_name;
	} else {
		path = info->dlpi_name;
	}
	struct sp__module id;
	memset(&id, 0, sizeof id);
	read_build_id(info, &id);

	/* The same file loaded again: its entry comes back, at the new
	 * address. The unloaded flag goes last (readers skip flagged
	 * entries without the lock). */
	int reuse = -1;
	for (uint32_t i = n; i-- > 0;) {
		struct sp__module *m = &mods[i];
		if ((mod_flags(m) & SP_MOD_UNLOADED) && m->end - m->start == hi - lo &&
		    m->build_id_len == id.build_id_len && !memcmp(m->build_id, id.build_id, id.build_id_len) &&
		    m->path && !strcmp(m->path, path)) {
			m->bias = info->dlpi_addr;
			m->start = lo;
			m->end = hi;
			__atomic_store_n(&m->flags, mod_flags(m) & ~SP_MOD_UNLOADED, __ATOMIC_RELEASE);
			st->seen[i] = 1;
			return 0;
		}
		if (reuse < 0 && (mod_flags(m) & SP_MOD_UNLOADED) && atomic_load(&m->sites) == 0)
			reuse = (int)i;
	}
	uint32_t slot;
	if (n < SP_MAX_MODULES)
		slot = n;
	else if (reuse >= 0)
		slot = (uint32_t)reuse;
	else
		return 0; /* full of files that sites name: this one stays unnamed */
	struct sp__module *m = &mods[slot];
	if (slot < n)
		release_entry(m);
	/* Filled while flagged unloaded (a reused entry already is), so that
	 * lock-free readers skip it until it is whole. */
	id.flags = SP_MOD_UNLOADED;
	id.path = intern_path(path, n);
	id.bias = info->dlpi_addr;
	id.start = lo;
	id.end = hi;
	*m = id;
	__atomic_store_n(&m->flags, main_prog ? SP_MOD_MAIN : 0u, __ATOMIC_RELEASE);
	st->seen[slot] = 1;
	if (slot == n)
		atomic_store(&nmods, n + 1);
	return 0;
}

/* Take a new picture of the loaded objects: add the new ones, flag those
 * that are gone. dl_iterate_phdr takes the loader's lock, so this runs at
 * start, after dlclose, and when an address belongs to no known module. */
void sp__modules_scan(void)
{
	if (!mods) {
		mods = sp__map(sizeof *mods * SP_MAX_MODULES);
		if (!mods)
			return;
	}
	struct scan_state *st = sp__map(sizeof *st);
	if (!st)
		return;
	ssize_t n = readlink("/proc/self/exe", st->exe, sizeof st->exe - 1);
	st->exe[n > 0 ? n : 0] = '\0';
	if (sp__lock(&sp__mod_lock)) {
		dl_iterate_phdr(scan_cb, st);
		uint32_t count = atomic_load(&nmods);
		for (uint32_t i = 0; i < count; i++)
			if (!st->seen[i])
				__atomic_store_n(&mods[i].flags, mod_flags(&mods[i]) | SP_MOD_UNLOADED,
						 __ATOMIC_RELEASE);
		sp__unlock(&sp__mod_lock);
	}
	sp__unmap(st, sizeof *st);
}

void sp__modules_after_dlclose(void)
{
	sp__modules_scan();
}

static int find_loaded(uintptr_t addr)
{
	uint32_t n = atomic_load(&nmods);
	for (uint32_t i = n; i-- > 0;) { /* newest first: a reused range wins */
		const struct sp__module *m = &mods[i];
		if (!(mod_flags(m) & SP_MOD_UNLOADED) && addr >= m->start && addr < m->end)
			return (int)i;
	}
	return -1;
}

int sp__module_find(uintptr_t addr)
{
	if (!mods)
		return -1;
	int i = find_loaded(addr);
	if (i < 0) { /* loaded after the last scan (dlopen) */
		sp__modules_scan();
		i = find_loaded(addr);
	}
	return i;
}

/* ------------------------------------------------------------------------
 * ELF symbol tables
 */

/* In-place heap sort of symbols by value: qsort may call malloc. */
static void sift(struct sp__sym *a, size_t start, size_t end)
{
	size_t root = start;
	while (2 * root + 1 < end) {
		size_t child = 2 * root + 1;
		if (child + 1 < end && a[child].value < a[child + 1].value)
			child++;
		if (a[root].value >= a[child].value)
			return;
		struct sp__sym t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

static void sort_syms(struct sp__sym *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(a, i, n);
	for (size_t end = n; end > 1; end--) {
		struct sp__sym t = a[0];
		a[0] = a[end - 1];
		a[end - 1] = t;
		sift(a, 0, end - 1);
	}
}

#define SYM_SIZE_MASK 0x3fffffffu

/* Rank of a symbol's binding when two share an address: a global name
 * is what the user wrote and what patterns are written against. */
static int binding_rank(unsigned char info)
{
	switch (ELF64_ST_BIND(info)) {
	case STB_GLOBAL: return 3;
	case STB_WEAK: return 2;
	default: return 1;
	}
}

/* Map the file and index its function symbols. Bounds are checked against
 * the file size everywhere: the file is not trusted. */
static void load_symbols(struct sp__module *m)
{
	m->sym_state = -1;
	if (!m->path || m->path[0] != '/')
		return;
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return;
	}
	size_t fsize = (size_t)st.st_size;
	const uint8_t *map = mmap(NULL, fsize, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff == 0 || eh->e_shoff > fsize ||
	    (size_t)eh->e_shnum * sizeof(Elf64_Shdr) > fsize - eh->e_shoff)
		goto out_unmap;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(map + eh->e_shoff);
	const Elf64_Shdr *symsec = NULL;
	for (unsigned i = 0; i < eh->e_shnum; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			symsec = &sh[i];
	if (!symsec)
		for (unsigned i = 0; i < eh->e_shnum; i++)
			if (sh[i].sh_type == SHT_DYNSYM)
				symsec = &sh[i];
	if (!symsec || symsec->sh_link >= eh->e_shnum || symsec->sh_entsize != sizeof(Elf64_Sym) ||
	    symsec->sh_offset > fsize || symsec->sh_size > fsize - symsec->sh_offset)
		goto out_unmap;
	const Elf64_Shdr *strsec = &sh[symsec->sh_link];
	if (strsec->sh_offset > fsize || strsec->sh_size > fsize - strsec->sh_offset)
		goto out_unmap;
	const Elf64_Sym *syms = (const Elf64_Sym *)(map + symsec->sh_offset);
	size_t nsyms = symsec->sh_size / sizeof(Elf64_Sym);
	size_t nfunc = 0;
	for (size_t i = 0; i < nsyms; i++) {
		unsigned type = ELF64_ST_TYPE(syms[i].st_info);
		if ((type == STT_FUNC || type == STT_GNU_IFUNC) && syms[i].st_shndx != SHN_UNDEF &&
		    syms[i].st_value && syms[i].st_name < strsec->sh_size)
			nfunc++;
	}
	/* mapped, not in the arena: given back if the entry is reused */
	struct sp__sym *idx = nfunc ? sp__map(nfunc * sizeof *idx) : NULL;
	if (!idx)
		goto out_unmap;
	/* While sorting, the top two bits of `size` hold the binding rank, to
	 * choose between aliases; sizes are capped below them. */
	size_t k = 0;
	for (size_t i = 0; i < nsyms; i++) {
		unsigned type = ELF64_ST_TYPE(syms[i].st_info);
		if ((type == STT_FUNC || type == STT_GNU_IFUNC) && syms[i].st_shndx != SHN_UNDEF &&
		    syms[i].st_value && syms[i].st_name < strsec->sh_size) {
			uint64_t size = syms[i].st_size > SYM_SIZE_MASK ? SYM_SIZE_MASK : syms[i].st_size;
			idx[k].value = syms[i].st_value;
			idx[k].size = (uint32_t)size | (uint32_t)binding_rank(syms[i].st_info) << 30;
			idx[k].name = syms[i].st_name;
			k++;
		}
	}
	sort_syms(idx, nfunc);
	size_t out = 0;
	for (size_t i = 0; i < nfunc; i++) {
		if (out && idx[out - 1].value == idx[i].value) {
			/* an alias: prefer a sized symbol, then the better binding */
			const struct sp__sym *a = &idx[out - 1], *b = &idx[i];
			uint32_t as = a->size & SYM_SIZE_MASK, bs = b->size & SYM_SIZE_MASK;
			if ((!as && bs) || (as == bs && (b->size >> 30) > (a->size >> 30)))
				idx[out - 1] = *b;
			continue;
		}
		idx[out++] = idx[i];
	}
	for (size_t i = 0; i < out; i++)
		idx[i].size &= SYM_SIZE_MASK;
	if (out < nfunc) { /* keep the mapping's size in nsyms */
		size_t keep = sp__page_round(out * sizeof *idx), had = sp__page_round(nfunc * sizeof *idx);
		if (keep < had)
			sp__unmap((uint8_t *)idx + keep, had - keep);
	}
	m->syms = idx;
	m->nsyms = out;
	m->file_map = map;
	m->file_len = fsize;
	m->strtab = (const char *)(map + strsec->sh_offset);
	m->strtab_len = strsec->sh_size;
	m->sym_state = 1;
	return; /* the mapping stays: names point into it */
out_unmap:
	munmap((void *)map, fsize);
}

const char *sp__module_symbol(int mi, uintptr_t addr, uint32_t *size)
{
	struct sp__module *m = sp__module_get(mi);
	*size = 0;
	if (!m)
		return NULL;
	if (m->sym_state == 0) {
		if (!sp__lock(&sp__mod_lock))
			return NULL;
		if (m->sym_state == 0)
			load_symbols(m);
		sp__unlock(&sp__mod_lock);
	}
	if (m->sym_state != 1)
		return NULL;
	uintptr_t off = addr - m->bias;
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) { /* last symbol with value <= off */
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].value <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct sp__sym *s = &m->syms[lo - 1];
	if (off != s->value && off - s->value >= s->size)
		return NULL;
	const char *name = m->strtab + s->name;
	if (!memchr(name, '\0', m->strtab_len - s->name))
		return NULL;
	*size = s->size;
	return name;
}

uint32_t sp__module_file_lists(int mi, uintptr_t addr)
{
	struct sp__module *m = sp__module_get(mi);
	if (!m || !sp__cfg.any_files)
		return 0;
	if (m->files_state == 0) {
		if (!sp__lock(&sp__mod_lock))
			return 0;
		if (m->files_state == 0) {
			m->files_state = -1;
			if (m->path && m->path[0] == '/')
				sp__dwarf_file_functions(m);
		}
		sp__unlock(&sp__mod_lock);
	}
	uintptr_t off = addr - m->bias;
	size_t lo = 0, hi = m->nfile_fns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->file_fns[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nfile_fns && m->file_fns[lo] == off ? m->file_fn_lists[lo] : 0;
}
