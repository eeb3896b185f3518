/* render/page.h - the web page of `spanprof ui` and `spanprof report`
 * (ProfilerList, ProfilerDetail, ProfilerPieChart): its data as JSON and
 * the page itself, whose HTML, CSS and JavaScript (render/html/) are
 * embedded in the binary at build time.
 *
 * The data are the CLI's --json data model (model_json.c) plus what the
 * list needs:
 *   list  {live, pid, sources:[{path, program, cmdline, pid,
 *          overhead_per_span_ns, total_overhead_ms, spans, counts}],
 *          traces:[{key, file, seq, name, id, data, start_ns, duration_ns,
 *          thread, dropped_spans, spans, unfinished}]}
 *   trace model_json_trace's object (show --json).
 * A trace's key is "FILE:SEQ" (FILE: the index of its dump, -f order), as
 * seq numbers repeat from one dump to the next. */
#ifndef CLI_PAGE_H
#define CLI_PAGE_H

#include <stdbool.h>
#include <stdio.h>

#include "read/dump.h"
#include "render/json.h"

/* The "counts" object of `list --json` and of a page's source: what
 * became of the traces (ended = committed + traces_dropped). */
void page_counts_json(struct json *j, uint64_t committed, size_t stored, uint64_t evicted, uint64_t cleared,
		      uint64_t traces_dropped, uint64_t dropped, uint64_t filtered);
/* The list object of `nd` dumps; pid != 0: read from that live process. */
void page_list_json(struct json *j, struct rd_dump *d, size_t nd, long pid);
/* The trace with key `key` as an object: 0, 1 if there is no such trace
 * (nothing written), -1 if the key is malformed, -2 if it could not be
 * decoded (a message printed). */
int page_trace_json(struct json *j, struct rd_dump *d, size_t nd, const char *key);
/* The page. `data` (NULL: none) is a JSON value, {list, trees:{key:trace}},
 * embedded for a static report; without it the page asks the server (ui).
 * Any '<' in data is written as \u003c, so that it cannot end the script. */
void page_html(FILE *f, const char *data, size_t len);

#endif
