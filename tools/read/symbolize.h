/* read/symbolize.h - name functions from (module, offset): DWARF first (name,
 * and the file and line of the definition), then the ELF symbol table.
 * A module whose file is missing, unreadable, or not the one that ran
 * (its GNU build-id differs from the one recorded) names nothing, and
 * says so once through the warning callback: never a wrong name. */
#ifndef CLI_SYMBOLIZE_H
#define CLI_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rd_symbolizer;

struct rd_symbol {
	const char *function; /* NULL if unknown; valid until rd_symbolizer_free */
	const char *file;     /* source file of the definition, NULL if unknown */
	unsigned line;        /* its line, 0 if unknown */
	bool from_dwarf;
};

typedef void (*rd_symbolizer_warn_fn)(void *ctx, const char *message);

struct rd_symbolizer *rd_symbolizer_new(rd_symbolizer_warn_fn warn, void *ctx);
void rd_symbolizer_free(struct rd_symbolizer *s);
/* Declare module `index` (its file is opened on first use), with the
 * build-id recorded at run time (length 0: not checked). 0 or -errno. */
int rd_symbolizer_add_module(struct rd_symbolizer *s, uint32_t index, const char *path, const uint8_t *build_id,
			     size_t build_id_len);
/* The function at `offset` (an address in the module file). */
bool rd_symbolizer_lookup(struct rd_symbolizer *s, uint32_t index, uint64_t offset, struct rd_symbol *out);
/* A mangled C++ symbol's qualified name ("app::Grid::score"), with its
 * parameter list when with_params ("app::Grid::score(int) const");
 * malloc'ed, NULL when `sym` is not a C++ symbol or cannot be demangled. */
char *rd_demangle(const char *sym, bool with_params);

#endif
