/* render/model_json.h - the data model (docs in model_json.c) as JSON. */
#ifndef CLI_MODEL_JSON_H
#define CLI_MODEL_JSON_H

#include "read/tree.h"
#include "render/json.h"

/* One trace object, with `root` (a node of t) as its root. */
/* A trace's CPU use: cpu_ns, voluntary_switches, involuntary_switches;
 * null when not measured (older dump, SPANPROF_CPU=0). */
void model_json_cpu(struct json *j, const struct rd_dump_trace *tr);
/* with_pid: add the process's "pid" (when traces of several are shown). */
void model_json_trace(struct json *j, struct rd_dump *d, const struct rd_tree *t, const sp_node *root, bool with_pid);

#endif
