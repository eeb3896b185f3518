/* read/tree.c - decode a trace and name its nodes. See tree.h. */
#include "read/tree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "read/symbolize.h"

struct names {
	struct rd_symbolizer *sym;
	char **name;          /* per site, NULL until computed */
	const char **function, **file, **module;
	unsigned *line;
	bool *done;
};

static void on_warning(void *ctx, const char *msg)
{
	(void)ctx;
	msg_warnf("%s", msg);
}

static struct names *names_of(struct rd_dump *d)
{
	if (d->symbols)
		return d->symbols;
	struct names *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	size_t k = (size_t)d->nsites + 1;
	n->name = calloc(k, sizeof *n->name);
	n->function = calloc(k, sizeof *n->function);
	n->file = calloc(k, sizeof *n->file);
	n->module = calloc(k, sizeof *n->module);
	n->line = calloc(k, sizeof *n->line);
	n->done = calloc(k, sizeof *n->done);
	n->sym = d->no_symbols ? NULL : rd_symbolizer_new(on_warning, NULL);
	if (!n->name || !n->function || !n->file || !n->module || !n->line || !n->done ||
	    (!n->sym && !d->no_symbols)) {
		d->symbols = n;
		rd_names_free(d);
		return NULL;
	}
	d->symbols = n;
	/* A module left out would show its functions by address: no memory
	 * for it is no memory for the names. */
	for (uint32_t i = 0; n->sym && i < d->nmodules; i++)
		if (rd_symbolizer_add_module(n->sym, i, d->modules[i].path, d->modules[i].build_id,
					     d->modules[i].build_id_len) == -ENOMEM) {
			rd_names_free(d);
			return NULL;
		}
	return n;
}

static const char *base_name(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;
	return s ? s + 1 : p;
}

static void compute(struct rd_dump *d, struct names *n, uint32_t id)
{
	const struct rd_dump_site *s = &d->sites[id];
	n->done[id] = true;
	if (s->kind != SP_SITE_FUNC) {
		n->name[id] = strdup(s->name ? s->name : "?");
		return;
	}
	const struct rd_dump_module *m = s->module < d->nmodules ? &d->modules[s->module] : NULL;
	struct rd_symbol sym;
	char buf[512];
	if (m && n->sym && rd_symbolizer_lookup(n->sym, s->module, s->offset, &sym)) {
		n->name[id] = strdup(sym.function);
		n->file[id] = sym.file;
		n->line[id] = sym.line;
	} else if (s->name && *s->name) {
		n->name[id] = rd_demangle(s->name, false); /* read in the process: right even if rebuilt */
		if (!n->name[id])
			n->name[id] = strdup(s->name);
	} else {
		snprintf(buf, sizeof buf, "%s+0x%llx", m ? base_name(m->path) : "?",
			 (unsigned long long)(m ? s->offset : s->address));
		n->name[id] = strdup(buf);
	}
	n->function[id] = n->name[id];
	n->module[id] = m ? m->path : NULL;
}

const char *rd_site_name(struct rd_dump *d, uint32_t site)
{
	struct names *n = names_of(d);
	if (!n || site == 0 || site > d->nsites)
		return "?";
	if (!n->done[site])
		compute(d, n, site);
	return n->name[site] ? n->name[site] : "?";
}

void rd_site_function(struct rd_dump *d, uint32_t site, const char **function, const char **file,
		      unsigned *line, const char **module)
{
	struct names *n = names_of(d);
	*function = *file = *module = NULL;
	*line = 0;
	if (!n || site == 0 || site > d->nsites || d->sites[site].kind != SP_SITE_FUNC)
		return;
	if (!n->done[site])
		compute(d, n, site);
	*function = n->function[site];
	*file = n->file[site];
	*line = n->line[site];
	*module = n->module[site];
}

void rd_names_free(struct rd_dump *d)
{
	struct names *n = d->symbols;
	if (!n)
		return;
	for (uint32_t i = 0; n->name && i <= d->nsites; i++)
		free(n->name[i]);
	free(n->name);
	free(n->function);
	free(n->file);
	free(n->module);
	free(n->line);
	free(n->done);
	rd_symbolizer_free(n->sym);
	free(n);
	d->symbols = NULL;
}

int rd_tree_load(struct rd_dump *d, size_t index, struct rd_tree *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	const struct rd_dump_trace *tr = &d->traces[index];
	struct sp__decode_in in = { tr->stream, (size_t)tr->stream_len, tr->nrec, d->nsites, d->ticks_per_ns };
	char why[256];
	int rc = sp__decode(&in, &t->dec, why, sizeof why);
	if (rc == -2) {
		snprintf(err, errlen, "%s: out of memory decoding trace #%llu", d->path, (unsigned long long)tr->seq);
		return -1;
	}
	if (rc) {
		snprintf(err, errlen, "%s: corrupt trace #%llu (section at byte %llu): %s", d->path,
			 (unsigned long long)tr->seq, (unsigned long long)tr->offset, why);
		return -1;
	}
	/* Names are part of the tree: without memory for them, the tree is an
	 * error, not a tree of "?". */
	struct names *n = names_of(d);
	for (uint32_t i = 0; i < t->dec.nnodes; i++) {
		sp_node *nd = &t->dec.nodes[i];
		if (n && !n->done[nd->site])
			compute(d, n, nd->site);
		if (!n || !n->name[nd->site]) {
			sp__decoded_free(&t->dec);
			snprintf(err, errlen, "%s: out of memory naming the spans of trace #%llu", d->path,
				 (unsigned long long)tr->seq);
			return -1;
		}
		nd->name = n->name[nd->site];
		if (d->sites[nd->site].kind == SP_SITE_FUNC) {
			rd_site_function(d, nd->site, &nd->function, &nd->file, &nd->line, &nd->module);
			nd->address = d->sites[nd->site].address;
		}
		if ((i & 0xffff) == 0xffff)
			msg_progress("naming spans: %u of %u", i + 1, t->dec.nnodes);
	}
	t->tr = tr;
	t->root = &t->dec.nodes[0];
	t->name = t->root->name;
	t->index = index;
	return 0;
}

void rd_tree_free(struct rd_tree *t)
{
	if (t)
		sp__decoded_free(&t->dec);
}

const sp_node *rd_tree_next(const sp_node *n)
{
	if (n->first_child)
		return n->first_child;
	while (n && !n->next_sibling)
		n = n->parent;
	return n ? n->next_sibling : NULL;
}

void rd_tree_walk(const sp_node *root, bool (*fn)(const sp_node *n, unsigned depth, void *ctx), void *ctx)
{
	/* Depth is recovered from the parent links: walk with an explicit
	 * "next" rule instead of a stack. */
	const sp_node *n = root;
	unsigned depth = 0;
	while (n) {
		bool down = fn(n, depth, ctx);
		if (down && n->first_child) {
			n = n->first_child;
			depth++;
			continue;
		}
		while (n && n != root && !n->next_sibling) {
			n = n->parent;
			depth--;
		}
		if (!n || n == root)
			break;
		n = n->next_sibling;
	}
}
