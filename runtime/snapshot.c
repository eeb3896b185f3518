/* snapshot.c - the read API: a decoded copy of the store for embedding and
 * tests. Takes references to the stored traces (store.c), decodes each one
 * with decode.c (the CLI's decoder too), names the nodes from their sites,
 * and drops the references: the snapshot owns everything it points to.
 */
#include "decode.h"
#include "stack.h"

#include <stdlib.h>
#include <string.h>

struct sp_snapshot {
	size_t n;
	sp_trace_info *traces;
	struct sp__decoded *dec;
	char *ids; /* trace ids, NUL-terminated, one after the other */
};

static void name_nodes(struct sp__decoded *d)
{
	for (uint32_t i = 0; i < d->nnodes; i++) {
		sp_node *nd = &d->nodes[i];
		const struct sp__site *s = sp__site_get(nd->site);
		nd->name = sp__site_name(nd->site);
		if (s && s->kind == SP_SITE_FUNC) {
			nd->address = s->addr;
			nd->function = s->name;
			const struct sp__module *m = sp__module_get((int)s->module);
			nd->module = m ? m->path : NULL;
			if (!s->name)
				nd->name = "?";
		}
	}
}

SP_API sp_snapshot *sp_snapshot_take(void)
{
	size_t n;
	int err;
	struct sp__trace **v = sp__store_grab(&n, &err);
	struct sp_snapshot *snap = calloc(1, sizeof *snap);
	if (!snap || err) /* no memory: NULL, not an empty snapshot */
		goto fail;
	snap->traces = calloc(n ? n : 1, sizeof *snap->traces);
	snap->dec = calloc(n ? n : 1, sizeof *snap->dec);
	snap->ids = malloc(n * (SP_STR_MAX_LIMIT + 1) + 1);
	if (!snap->traces || !snap->dec || !snap->ids)
		goto fail;
	double tpn = sp__ticks_per_ns();
	uint32_t nsites = sp__site_count();
	char *id = snap->ids;
	for (size_t i = 0; i < n; i++) {
		const struct sp__trace *tr = v[i];
		struct sp__decode_in in = {
			.p = (const uint8_t *)tr + SP_TRACE_HDR, .len = tr->len, .nrec = tr->nrec,
			.nsites = nsites, .ticks_per_ns = tpn,
		};
		char err[128];
		int rc = sp__decode(&in, &snap->dec[snap->n], err, sizeof err);
		if (rc == -2)
			goto fail; /* no memory: NULL, as documented, not fewer traces */
		if (rc != 0) {
			sp__warn("snapshot: trace %llu unreadable: %s", (unsigned long long)tr->seq, err);
			continue;
		}
		struct sp__decoded *d = &snap->dec[snap->n];
		name_nodes(d);
		memcpy(id, tr->id, tr->idlen);
		id[tr->idlen] = '\0';
		sp_trace_info *ti = &snap->traces[snap->n++];
		ti->seq = tr->seq;
		ti->name = d->nodes[0].name;
		ti->id = id;
		id += tr->idlen + 1;
		ti->data = d->trace_kvs;
		ti->ndata = d->ntrace_kvs;
		ti->start_ns = sp__ticks_to_wall_ns(tr->t0);
		ti->duration_ns = d->nodes[0].duration_ns;
		ti->thread = tr->tid;
		ti->dropped_spans = tr->dropped;
		ti->nspans = d->nnodes;
		ti->iterations = d->iterations;
		ti->root = &d->nodes[0];
		ti->cpu_measured = tr->cpu.flags & SP_TRACE_CPU_MEASURED;
		ti->cpu_ns = tr->cpu.cpu_ns;
		ti->voluntary_switches = tr->cpu.nvcsw;
		ti->involuntary_switches = tr->cpu.nivcsw;
	}
	sp__store_release(v, n);
	return snap;
fail:
	sp__store_release(v, n);
	sp_snapshot_free(snap);
	return NULL;
}

SP_API void sp_snapshot_free(sp_snapshot *snap)
{
	if (!snap)
		return;
	for (size_t i = 0; snap->dec && i < snap->n; i++)
		sp__decoded_free(&snap->dec[i]);
	free(snap->dec);
	free(snap->traces);
	free(snap->ids);
	free(snap);
}

SP_API size_t sp_snapshot_count(const sp_snapshot *snap)
{
	return snap ? snap->n : 0;
}

SP_API const sp_trace_info *sp_snapshot_trace(const sp_snapshot *snap, size_t i)
{
	return snap && i < snap->n ? &snap->traces[i] : NULL;
}

SP_API const sp_node *sp_node_child(const sp_node *node, const char *name)
{
	if (!node || !name)
		return NULL;
	for (const sp_node *c = node->first_child; c; c = c->next_sibling)
		if (c->name && !strcmp(c->name, name))
			return c;
	return NULL;
}

SP_API const sp_node *sp_node_find(const sp_node *node, const char *path)
{
	while (node && path && *path) {
		const char *slash = strchr(path, '/');
		size_t len = slash ? (size_t)(slash - path) : strlen(path);
		const sp_node *hit = NULL;
		for (const sp_node *c = node->first_child; c && !hit; c = c->next_sibling)
			if (c->name && strlen(c->name) == len && !memcmp(c->name, path, len))
				hit = c;
		node = hit;
		path = slash ? slash + 1 : path + len;
	}
	return node;
}

SP_API const sp_kv *sp_node_data(const sp_node *node, const char *key)
{
	if (!node || !key)
		return NULL;
	for (uint32_t i = 0; i < node->ndata; i++)
		if (!strcmp(node->data[i].key, key))
			return &node->data[i];
	return NULL;
}
