/* dwarf_walk.h - the walk over a module's functions in DWARF, shared by the
 * runtime (file: patterns, argument capture) and the CLI (symbolizing).
 *
 *   static void on_fn(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *ctx) { ... }
 *   sp__dwarf_each_subprogram(dbg, on_fn, ctx);
 */
#ifndef SP_DWARF_WALK_H
#define SP_DWARF_WALK_H

#include <libdwarf.h>
#include <dwarf.h>
#include <stdbool.h>

/* The compile unit a subprogram belongs to. */
struct sp__dwarf_cu {
	Dwarf_Debug dbg;
	int version;        /* its DWARF version */
	Dwarf_Addr base;    /* its DW_AT_low_pc (base of DWARF 4 ranges), 0 if none */
	char **files;       /* its file table */
	Dwarf_Signed nfiles;
};

/* Call fn for every DW_TAG_subprogram of every compile unit, also those in
 * namespaces, classes, structures and unions. `die` is only valid during
 * the call. */
void sp__dwarf_each_subprogram(Dwarf_Debug dbg,
			       void (*fn)(const struct sp__dwarf_cu *cu, Dwarf_Die die, void *ctx), void *ctx);

/* A file index (DW_AT_decl_file) to its name: 0-based in DWARF 5, 1-based
 * before. NULL if out of range. */
const char *sp__dwarf_file(const struct sp__dwarf_cu *cu, Dwarf_Unsigned index);

/* An unsigned constant attribute, including DWARF 5 DW_FORM_implicit_const
 * (which this libdwarf's dwarf_formudata refuses); def if absent. `dbg`
 * must be the die's: an error is freed with it (see dwarf_walk.c). */
Dwarf_Unsigned sp__dwarf_udata(Dwarf_Debug dbg, Dwarf_Die die, Dwarf_Half at, Dwarf_Unsigned def);

/* Name, decl_file and decl_line of a subprogram, following
 * DW_AT_abstract_origin and DW_AT_specification (clones, out-of-line
 * copies of inline functions and C++ definitions only carry those). The
 * name belongs to libdwarf (valid until dwarf_finish); any output may be
 * NULL. */
void sp__dwarf_describe(Dwarf_Debug dbg, Dwarf_Die die, const char **name, Dwarf_Unsigned *file, unsigned *line);

/* Free *err if set, and clear it for the next call. */
void sp__dwarf_clear(Dwarf_Debug dbg, Dwarf_Error *err);

/* Step *child on to its next sibling, freeing the DIE it leaves; false
 * (the DIE freed all the same, an error left in *err) when there is none.
 * Every walk over a DIE's children ends its loop with it:
 *   for (;;) { ...; if (!sp__dwarf_next(dbg, &child, &err)) break; } */
bool sp__dwarf_next(Dwarf_Debug dbg, Dwarf_Die *child, Dwarf_Error *err);

#endif
