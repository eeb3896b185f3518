/* render/model_json.c - the data model as JSON (the contract of --json):
 *   trace {seq, name, id, data, start_ns, duration_ns, thread, dropped_spans,
 *          cpu_ns, voluntary_switches, involuntary_switches, root}
 *   span  {kind:"span", name, [function, file, line, module,] start_ns, duration_ns,
 *          self_ns, data, [abandoned,] children}
 *   cumulative {kind:"cumulative", name, [function...,] count, total_ns, min_ns,
 *          max_ns, avg_ns, [children]}
 * Written iteratively: any depth. Used by show --json and export --format json. */
#include "render/model_json.h"

static void node_json(struct json *j, const sp_node *n)
{
	json_object(j, NULL);
	json_str(j, "kind", n->kind == SP_NODE_SPAN ? "span" : "cumulative");
	json_str(j, "name", n->name);
	if (n->function) {
		json_str(j, "function", n->function);
		if (n->file)
			json_str(j, "file", n->file);
		else
			json_null(j, "file");
		json_u64(j, "line", n->line);
		json_str(j, "module", n->module);
	}
	if (n->kind == SP_NODE_SPAN) {
		json_u64(j, "start_ns", n->start_ns);
		json_u64(j, "duration_ns", n->duration_ns);
		json_u64(j, "self_ns", n->self_ns);
		json_data(j, "data", n->data, n->ndata);
		if (n->abandoned)
			json_bool(j, "abandoned", true);
		json_array(j, "children");
	} else {
		json_u64(j, "count", n->count);
		json_u64(j, "total_ns", n->total_ns);
		json_u64(j, "min_ns", n->min_ns);
		json_u64(j, "max_ns", n->max_ns);
		json_u64(j, "avg_ns", n->avg_ns);
		if (n->first_child)
			json_array(j, "children");
	}
}

/* Close what node_json opened for a node whose children are done. */
static void node_json_end(struct json *j, const sp_node *n)
{
	if (n->kind == SP_NODE_SPAN || n->first_child)
		json_end(j);
	json_end(j);
}

void model_json_cpu(struct json *j, const struct rd_dump_trace *tr)
{
	if (!tr->cpu_measured) {
		json_null(j, "cpu_ns");
		json_null(j, "voluntary_switches");
		json_null(j, "involuntary_switches");
		return;
	}
	json_u64(j, "cpu_ns", tr->cpu_ns);
	json_u64(j, "voluntary_switches", tr->voluntary_switches);
	json_u64(j, "involuntary_switches", tr->involuntary_switches);
}

void model_json_trace(struct json *j, struct rd_dump *d, const struct rd_tree *t, const sp_node *root, bool with_pid)
{
	const struct rd_dump_trace *tr = t->tr;
	json_object(j, NULL);
	json_u64(j, "seq", tr->seq);
	json_str(j, "name", t->name);
	json_str(j, "id", tr->id);
	json_data(j, "data", t->dec.trace_kvs, t->dec.ntrace_kvs);
	json_u64(j, "start_ns", rd_dump_wall_ns(d, tr->t0));
	json_u64(j, "duration_ns", t->root->duration_ns);
	json_u64(j, "thread", tr->tid);
	json_u64(j, "dropped_spans", tr->dropped);
	if (tr->flags & SP_TRACE_UNFINISHED)
		json_bool(j, "unfinished", true);
	if (with_pid)
		json_u64(j, "pid", d->pid);
	model_json_cpu(j, tr);
	json_key(j, "root");
	const sp_node *n = root;
	for (;;) {
		node_json(j, n);
		if (n->first_child) {
			n = n->first_child;
			continue;
		}
		node_json_end(j, n);
		while (n != root && !n->next_sibling) {
			n = n->parent;
			node_json_end(j, n);
		}
		if (n == root)
			break;
		n = n->next_sibling;
	}
	json_end(j);
}

