/* symbolize.h - name functions from (module, offset): DWARF first (name,
 * and the file and line of the definition), then the ELF symbol table.
 * A module whose file is missing, unreadable, or not the one that ran
 * (its GNU build-id differs from the one recorded) names nothing, and
 * says so once through the warning callback: never a wrong name. */
#ifndef SP_CLI_SYMBOLIZE_H
#define SP_CLI_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sp_symbolizer;

struct sp_symbol {
	const char *function; /* NULL if unknown; valid until sp_symbolizer_free */
	const char *file;     /* source file of the definition, NULL if unknown */
	unsigned line;        /* its line, 0 if unknown */
	bool from_dwarf;
};

typedef void (*sp_symbolizer_warn_fn)(void *ctx, const char *message);

struct sp_symbolizer *sp_symbolizer_new(sp_symbolizer_warn_fn warn, void *ctx);
void sp_symbolizer_free(struct sp_symbolizer *s);
/* Declare module `index` (its file is opened on first use), with the
 * build-id recorded at run time (length 0: not checked). 0 or -errno. */
int sp_symbolizer_add_module(struct sp_symbolizer *s, uint32_t index, const char *path, const uint8_t *build_id,
			     size_t build_id_len);
/* The function at `offset` (an address in the module file). */
bool sp_symbolizer_lookup(struct sp_symbolizer *s, uint32_t index, uint64_t offset, struct sp_symbol *out);

#endif
