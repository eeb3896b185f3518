/* patterns.c - the patterns that matched nothing, said at exit.
 *
 * A pattern that matches no function records nothing, without a word:
 * `SPANPROF_TRACE_CALLS=run_command` after the compiler inlined it,
 * `SPANPROF_TRACE_ALL=Grid::*` where C++ names are `ns::Grid::move`. The
 * decision of each function's first call (sites.c) notes here which
 * patterns of each list its names match; at exit, each pattern no function
 * that ran matched gets one `spanprof:` line, with a hint from the symbol
 * tables of the loaded modules when one is near: a qualified C++ name, a
 * function (or a `.constprop`/`.part` clone of it) in the program that
 * never ran, or nothing of the name at all (inlined everywhere).
 *
 * Kept apart from the matching itself (config.c), which only says which
 * pattern comes first: here every pattern a function matches is marked.
 * `file:` patterns are not reported (their matches are decided per source
 * file, not per pattern).
 */
#include "internal.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define PAT_MAX 256u /* per list; patterns past it are not reported */

static const struct {
	const char *var;
	size_t off;
} lists[] = {
	{ "SPANPROF_TRACE_CALLS", offsetof(struct sp__config, trace_calls) },
	{ "SPANPROF_TRACE_ALL", offsetof(struct sp__config, trace_all) },
	{ "SPANPROF_TRACE", offsetof(struct sp__config, trace) },
	{ "SPANPROF_ARGS", offsetof(struct sp__config, args) },
	{ "SPANPROF_CUMULATIVE", offsetof(struct sp__config, cumulative) },
	{ "SPANPROF_EXCLUDE", offsetof(struct sp__config, exclude) },
};
#define NLISTS (sizeof lists / sizeof *lists)

/* seen[l][i]: pattern i of list l matched a function that ran. Set once
 * per function (its first call), read at exit. */
static atomic_uchar seen[NLISTS][PAT_MAX];

static const struct sp__globs *list_globs(size_t l)
{
	return (const struct sp__globs *)((const char *)&sp__cfg + lists[l].off);
}

/* Does `pat` match `name`, or its base without a clone suffix ("foo" of
 * "foo.constprop.0"), as config.c's matching does? */
static bool match_clone(const char *pat, const char *name)
{
	if (sp__glob_match(pat, name))
		return true;
	const char *dot = strchr(name, '.');
	char base[256];
	if (!dot || dot == name || (size_t)(dot - name) >= sizeof base)
		return false;
	memcpy(base, name, (size_t)(dot - name));
	base[dot - name] = '\0';
	return sp__glob_match(pat, base);
}

void sp__patterns_note(const char *const names[3])
{
	if (!sp__cfg.any_globs && !sp__cfg.exclude.nnames)
		return;
	for (size_t l = 0; l < NLISTS; l++) {
		const struct sp__globs *g = list_globs(l);
		for (uint32_t i = 0; i < g->nnames && i < PAT_MAX; i++) {
			if (atomic_load_explicit(&seen[l][i], memory_order_relaxed))
				continue;
			for (int k = 0; k < 3; k++)
				if (names[k] && match_clone(g->names[i], names[k])) {
					atomic_store_explicit(&seen[l][i], 1, memory_order_relaxed);
					break;
				}
		}
	}
}

/* What the symbol tables say about an unmatched pattern. */
struct near {
	char binary[128];   /* a function of the name in the program, never run */
	const char *module; /* where */
	char qualified[192]; /* a C++ function whose unqualified name matches */
};

static void copy(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* One pass over the function symbols of the program and of the modules
 * whose symbols were read (those that ran instrumented code): for every
 * unmatched pattern, the first near match of each kind. */
static void find_near(struct near near[NLISTS][PAT_MAX], const bool unmatched[NLISTS][PAT_MAX])
{
	char *(*demangle)(const char *, char *, size_t *, int *) =
		(char *(*)(const char *, char *, size_t *, int *))dlsym(RTLD_DEFAULT, "__cxa_demangle");
	uint32_t nmod = sp__module_count();
	for (uint32_t mi = 0; mi < nmod; mi++) {
		struct sp__module *m = sp__module_get((int)mi);
		if (!m)
			continue;
		if (m->sym_state == 0 && (__atomic_load_n(&m->flags, __ATOMIC_ACQUIRE) & SP_MOD_MAIN)) {
			uint32_t sz;
			(void)sp__module_symbol((int)mi, m->start, &sz); /* reads the table */
		}
		if (m->sym_state != 1)
			continue;
		for (size_t s = 0; s < m->nsyms; s++) {
			if (m->syms[s].name >= m->strtab_len)
				continue;
			const char *name = m->strtab + m->syms[s].name;
			if (!memchr(name, '\0', m->strtab_len - m->syms[s].name))
				continue;
			char *dem = NULL;
			char plain[256] = "";
			if (demangle && !strncmp(name, "_Z", 2)) {
				int st = -1;
				dem = demangle(name, NULL, NULL, &st);
				if (dem && st == 0) {
					const char *paren = strchr(dem, '(');
					size_t n = paren ? (size_t)(paren - dem) : strlen(dem);
					if (n < sizeof plain) {
						memcpy(plain, dem, n);
						plain[n] = '\0';
					}
				}
			}
			for (size_t l = 0; l < NLISTS; l++) {
				const struct sp__globs *g = list_globs(l);
				for (uint32_t i = 0; i < g->nnames && i < PAT_MAX; i++) {
					if (!unmatched[l][i])
						continue;
					struct near *nr = &near[l][i];
					const char *pat = g->names[i];
					if (!nr->binary[0] && (match_clone(pat, name) || (*plain && sp__glob_match(pat, plain)))) {
						copy(nr->binary, sizeof nr->binary, *plain ? plain : name);
						nr->module = m->path;
					}
					/* "Grid::*" for "ns::Grid::move": the pattern matches
					 * the end of the qualified name, after a "::". */
					if (!nr->qualified[0] && *plain && !sp__glob_match(pat, plain)) {
						for (const char *q = strstr(plain, "::"); q; q = strstr(q + 2, "::"))
							if (sp__glob_match(pat, q + 2)) {
								copy(nr->qualified, sizeof nr->qualified, plain);
								break;
							}
					}
				}
			}
			free(dem);
		}
	}
}

void sp__patterns_report(void)
{
	static bool unmatched[NLISTS][PAT_MAX];
	static struct near near[NLISTS][PAT_MAX]; /* not on the stack: ~200 KiB */
	bool any = false;
	if (!sp__cfg.enabled)
		return; /* SPANPROF_ENABLED=0: nothing ran on purpose */
	for (size_t l = 0; l < NLISTS; l++) {
		const struct sp__globs *g = list_globs(l);
		for (uint32_t i = 0; i < g->nnames && i < PAT_MAX; i++) {
			unmatched[l][i] = !atomic_load_explicit(&seen[l][i], memory_order_relaxed);
			any |= unmatched[l][i];
		}
	}
	if (!any)
		return;
	find_near(near, (const bool(*)[PAT_MAX])unmatched);
	for (size_t l = 0; l < NLISTS; l++) {
		const struct sp__globs *g = list_globs(l);
		for (uint32_t i = 0; i < g->nnames && i < PAT_MAX; i++) {
			if (!unmatched[l][i])
				continue;
			const struct near *nr = &near[l][i];
			const char *pat = g->names[i];
			if (nr->qualified[0])
				sp__warn("%s: '%s' matched no function that ran; C++ names are qualified: '%s' "
					 "(try '*::%s')",
					 lists[l].var, pat, nr->qualified, pat);
			else if (nr->binary[0])
				sp__warn("%s: '%s' matched no function that ran; '%s' is in %s but never ran "
					 "(or is not built with -finstrument-functions)",
					 lists[l].var, pat, nr->binary, base_name(nr->module));
			else
				sp__warn("%s: '%s' matched no function that ran, and no function of the program "
					 "has that name: inlined everywhere (noinline keeps it), or misspelled?",
					 lists[l].var, pat);
		}
	}
}
