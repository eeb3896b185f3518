/* export/folded.c - "root;child;leaf WEIGHT" lines for flamegraph.pl,
 * weights the self time in us. Weights are rounded on the running sum, so
 * a trace's weights add up to its total exactly. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export/export.h"
#include "msg.h"

/* folded: one line per node with self time, rounded on the running sum. */
static int folded_dump(FILE *out, struct rd_dump *d, const size_t *which, size_t n)
{
	char *stack = NULL;
	size_t cap = 0;
	for (size_t k = 0; k < n; k++) {
		struct rd_tree t;
		if (cmd_tree(d, which[k], &t)) {
			free(stack);
			return 1;
		}
		size_t *len = calloc(t.dec.nnodes, sizeof *len); /* stack length after each node */
		if (!len) {
			rd_tree_free(&t);
			free(stack);
			msg_errorf("out of memory");
			return 1;
		}
		uint64_t sum_ns = 0, done_us = 0;
		/* In pre-order of the tree: stack[0, len[parent]) must still hold
		 * the parent's path, which record order does not ensure (a late
		 * child of a cumulative node comes after its later siblings). */
		for (const sp_node *nd = t.dec.nnodes ? t.root : NULL; nd; nd = rd_tree_next(nd)) {
			uint32_t i = nd->index;
			size_t base = nd->parent ? len[nd->parent->index] : 0;
			size_t nl = strlen(nd->name);
			if (base + nl + 2 > cap) {
				cap = (base + nl + 2) * 2;
				char *s = realloc(stack, cap);
				if (!s) {
					free(len);
					rd_tree_free(&t);
					free(stack);
					msg_errorf("out of memory");
					return 1;
				}
				stack = s;
			}
			if (base)
				stack[base++] = ';';
			for (size_t c = 0; c < nl; c++) /* ';' and spaces would split a frame */
				stack[base + c] = nd->name[c] == ';' || nd->name[c] == ' ' ? '_' : nd->name[c];
			len[i] = base + nl;
			sum_ns += nd->self_ns;
			uint64_t upto = (sum_ns + 500) / 1000;
			uint64_t w = upto - done_us;
			done_us = upto;
			if (w)
				fprintf(out, "%.*s %llu\n", (int)len[i], stack, (unsigned long long)w);
		}
		free(len);
		rd_tree_free(&t);
	}
	free(stack);
	return 0;
}

/* Many dumps: their lines one after the other (flamegraph.pl adds up
 * the same stacks). */
int export_folded(FILE *out, const struct export_part *parts, size_t nparts)
{
	int rc = 0;
	for (size_t i = 0; i < nparts && !rc; i++)
		rc = folded_dump(out, parts[i].d, parts[i].which, parts[i].n);
	return rc;
}
