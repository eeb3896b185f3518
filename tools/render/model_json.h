/* render/model_json.h - the data model (docs in model_json.c) as JSON. */
#ifndef CLI_MODEL_JSON_H
#define CLI_MODEL_JSON_H

#include "read/tree.h"
#include "render/json.h"

/* One trace object, with `root` (a node of t) as its root. */
/* with_pid: add the process's "pid" (when traces of several are shown). */
void model_json_trace(struct json *j, struct rd_dump *d, const struct rd_tree *t, const sp_node *root, bool with_pid);

#endif
