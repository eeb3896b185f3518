/* model_json.h - the data model (docs in model_json.c) as JSON. */
#ifndef SP_CLI_MODEL_JSON_H
#define SP_CLI_MODEL_JSON_H

#include "json.h"
#include "tree.h"

/* One trace object, with `root` (a node of t) as its root. */
void model_json_trace(struct json *j, struct sp_dump *d, const struct sp_tree *t, const sp_node *root);

#endif
