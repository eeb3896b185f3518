/* render/page.c - see page.h. */
#include "render/page.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "format.h"
#include "msg.h"
#include "read/tree.h"
#include "render/model_json.h"

/* html_assets.c, generated from render/html/ (embed.py): the page before
 * and after the place of its embedded data. */
extern const char sp_page_head[], sp_page_tail[];

void page_counts_json(struct json *j, uint64_t committed, size_t stored, uint64_t evicted, uint64_t cleared,
		      uint64_t traces_dropped, uint64_t dropped, uint64_t filtered)
{
	json_object(j, "counts");
	/* ended: the traces that reached the store or were dropped for want
	 * of room; those faster than SPANPROF_MIN_MS are "filtered" */
	json_u64(j, "ended", committed + traces_dropped);
	json_u64(j, "stored", stored);
	json_u64(j, "committed", committed);
	json_u64(j, "evicted", evicted);
	json_u64(j, "cleared", cleared);
	json_u64(j, "dropped", traces_dropped);
	json_u64(j, "dropped_spans", dropped);
	json_u64(j, "filtered", filtered);
	json_end(j);
}

void page_list_json(struct json *j, struct rd_dump *d, size_t nd, long pid)
{
	json_object(j, NULL);
	json_bool(j, "live", pid != 0);
	json_u64(j, "pid", (uint64_t)pid);
	json_array(j, "sources");
	for (size_t f = 0; f < nd; f++) {
		json_object(j, NULL);
		json_str(j, "path", d[f].path ? d[f].path : "");
		json_str(j, "program", d[f].program ? d[f].program : "");
		json_str(j, "cmdline", d[f].cmdline ? d[f].cmdline : "");
		json_u64(j, "pid", d[f].pid);
		json_f64(j, "overhead_per_span_ns", d[f].overhead_per_span_ns);
		json_f64(j, "total_overhead_ms", d[f].total_overhead_ms);
		json_u64(j, "spans", d[f].spans);
		page_counts_json(j, d[f].committed, d[f].ntraces, d[f].evicted, d[f].cleared, d[f].traces_dropped,
				 d[f].dropped, d[f].filtered);
		json_end(j);
	}
	json_end(j);
	json_array(j, "traces");
	for (size_t f = 0; f < nd; f++) {
		for (size_t i = 0; i < d[f].ntraces; i++) {
			const struct rd_dump_trace *t = &d[f].traces[i];
			struct rd_tree tree;
			char err[512], key[48];
			bool have = rd_tree_load(&d[f], i, &tree, err, sizeof err) == 0;
			if (!have)
				msg_warnf("%s", err);
			snprintf(key, sizeof key, "%zu:%llu", f, (unsigned long long)t->seq);
			json_newline(j);
			json_object(j, NULL);
			json_str(j, "key", key);
			json_u64(j, "file", f);
			if (nd > 1)
				json_u64(j, "pid", d[f].pid); /* as list --json with several dumps */
			json_u64(j, "seq", t->seq);
			json_str(j, "name", have ? tree.name : "?");
			json_str(j, "id", t->id);
			json_data(j, "data", have ? tree.dec.trace_kvs : NULL, have ? tree.dec.ntrace_kvs : 0);
			json_u64(j, "start_ns", rd_dump_wall_ns(&d[f], t->t0));
			json_u64(j, "duration_ns", rd_dump_ns(&d[f], t->t1 - t->t0));
			json_u64(j, "thread", t->tid);
			json_u64(j, "dropped_spans", t->dropped);
			model_json_cpu(j, t);
			json_u64(j, "spans", t->nrec);
			if (t->flags & SP_TRACE_CLOSED)
				json_bool(j, "unfinished", true);
			json_end(j);
			if (have)
				rd_tree_free(&tree);
		}
	}
	json_end(j);
	/* The runtime's statistics over every trace ended (spanprof stats),
	 * when the dumps have them: the page shows them per name. */
	bool any = false;
	for (size_t f = 0; f < nd; f++)
		any |= d[f].nstats > 0;
	if (any)
		stats_json_names(j, "stats", d, nd);
	json_end(j);
}

int page_trace_json(struct json *j, struct rd_dump *d, size_t nd, const char *key)
{
	char *end;
	if (!key || key[0] < '0' || key[0] > '9')
		return -1;
	unsigned long long f = strtoull(key, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	unsigned long long seq = strtoull(end + 1, &end, 10);
	if (*end)
		return -1;
	if (f >= nd)
		return 1;
	long i = rd_dump_find(&d[f], seq);
	if (i < 0)
		return 1;
	struct rd_tree t;
	char err[1024];
	if (rd_tree_load(&d[f], (size_t)i, &t, err, sizeof err)) {
		msg_errorf("%s", err);
		return -2;
	}
	model_json_trace(j, &d[f], &t, t.root, nd > 1);
	rd_tree_free(&t);
	return 0;
}

void page_html(FILE *f, const char *data, size_t len)
{
	fputs(sp_page_head, f);
	if (data) {
		size_t from = 0;
		for (size_t i = 0; i < len; i++)
			if (data[i] == '<') {
				fwrite(data + from, 1, i - from, f);
				fputs("\\u003c", f);
				from = i + 1;
			}
		fwrite(data + from, 1, len - from, f);
	} else {
		fputs("null", f);
	}
	fputs(sp_page_tail, f);
}
