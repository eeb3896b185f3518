/* read/tree.h - one trace of a dump as a named tree.
 *
 * rd_tree_load decodes a trace's records with the runtime's decoder
 * (common/decode.c, shared so the two cannot disagree) and names every
 * node: probes and run-time names by their names; functions by the
 * symbolizer (DWARF, then the symbol table; a binary rebuilt since the run
 * is refused with a warning), else by the symbol name the runtime read in
 * the running process, else as module+0xOFFSET. Names are computed once
 * per site and kept with the dump.
 */
#ifndef CLI_TREE_H
#define CLI_TREE_H

#include "decode.h"
#include "read/dump.h"

struct rd_tree {
	struct sp__decoded dec;
	const struct rd_dump_trace *tr;
	const sp_node *root;
	const char *name; /* the trace's name: its root's */
	size_t index;     /* in the dump */
};

/* 0, or -1 with a message in err. */
int rd_tree_load(struct rd_dump *d, size_t index, struct rd_tree *t, char *err, size_t errlen);
void rd_tree_free(struct rd_tree *t);

/* The display name of a site, and its function details (NULLs if none). */
const char *rd_site_name(struct rd_dump *d, uint32_t site);
void rd_site_function(struct rd_dump *d, uint32_t site, const char **function, const char **file,
		      unsigned *line, const char **module);
/* Release the naming cache (rd_dump_close does not know it). */
void rd_names_free(struct rd_dump *d);

/* The node after n in pre-order of the tree (through the links: records
 * are not in pre-order, see docs/FORMAT.md), NULL after the last. */
const sp_node *rd_tree_next(const sp_node *n);

/* Iterative pre-order walk: calls fn(node, depth, ctx) for every node;
 * fn returns false to skip the node's children. Never recursive, so a
 * 100,000-deep tree is fine. */
void rd_tree_walk(const sp_node *root, bool (*fn)(const sp_node *n, unsigned depth, void *ctx), void *ctx);

#endif
