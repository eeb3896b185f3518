/* cmd/export.c - `spanprof export --format FMT`.
 *
 * chrome: Trace Event JSON for Perfetto, speedscope and chrome://tracing
 *   (export/chrome.c).
 * perfetto, otlp, speedscope: Perfetto's protobuf trace, OpenTelemetry's
 *   OTLP/JSON, speedscope's file format (export/, docs/EXPORTS.md).
 * folded: "root;child;leaf WEIGHT" lines for flamegraph.pl (export/folded.c).
 * json: the data model, every trace with its tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export/export.h"
#include "msg.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/model_json.h"

enum { O_FORMAT = 'F', O_OUT = 'o' };

const struct cli_opt export_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 0, "format", "FMT", "chrome, perfetto, otlp, speedscope, folded or json (default: json)", O_FORMAT },
	{ 'o', "output", "OUT", "write to OUT (default: standard output)", O_OUT },
	{ 0 },
};

static void process_json(struct json *j, const struct rd_dump *d)
{
	json_str(j, "program", d->program);
	json_str(j, "command_line", d->cmdline);
	json_u64(j, "pid", d->pid);
	json_f64(j, "overhead_per_span_ns", d->overhead_per_span_ns);
}

/* One dump: its process's fields, then "traces". Several: "processes"
 * (those fields, one object each), then every trace in "traces", each
 * with its "pid". */
static int all_json(FILE *out, const struct export_part *parts, size_t nparts)
{
	struct json j;
	json_init(&j, out);
	json_object(&j, NULL);
	if (nparts == 1) {
		process_json(&j, parts[0].d);
	} else {
		json_array(&j, "processes");
		for (size_t p = 0; p < nparts; p++) {
			json_object(&j, NULL);
			process_json(&j, parts[p].d);
			json_end(&j);
		}
		json_end(&j);
	}
	json_array(&j, "traces");
	int rc = 0;
	for (size_t p = 0; p < nparts && !rc; p++)
		for (size_t k = 0; k < parts[p].n; k++) {
			struct rd_tree t;
			if (cmd_tree(parts[p].d, parts[p].which[k], &t)) {
				rc = 1;
				break;
			}
			model_json_trace(&j, parts[p].d, &t, t.root, nparts > 1);
			rd_tree_free(&t);
		}
	json_end(&j);
	json_end(&j);
	json_newline(&j);
	json_free(&j);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	const char *format = "json", *outpath = NULL;
	struct cli_parser p;
	cli_init(&p, "export", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_FORMAT: format = p.arg; break;
		case O_OUT: outpath = p.arg; break;
		default:
			if (cmd_source_opt("export", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	static const struct {
		const char *name;
		int (*fn)(FILE *, const struct export_part *, size_t);
	} formats[] = {
		{ "chrome", export_chrome },	   { "perfetto", export_perfetto }, { "otlp", export_otlp },
		{ "speedscope", export_speedscope }, { "folded", export_folded },   { "json", all_json },
	};
	int (*fn)(FILE *, const struct export_part *, size_t) = NULL;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(format, formats[i].name))
			fn = formats[i].fn;
	if (!fn)
		return msg_usagef("export", "--format takes chrome, perfetto, otlp, speedscope, folded or json, not '%s'",
				  format);
	struct cmd_set set;
	if (cmd_open_set(&src, &set))
		return 1;
	size_t total = 0;
	for (size_t i = 0; i < set.n; i++)
		total += set.d[i].ntraces;
	struct cmd_ref *refs = calloc(total + (size_t)argc, sizeof *refs);
	size_t *which = calloc(total + (size_t)argc, sizeof *which), n = 0;
	struct export_part *parts = calloc(set.n, sizeof *parts);
	int rc = 1;
	if (!refs || !which || !parts) {
		msg_errorf("out of memory");
		goto out_free;
	}
	for (size_t i = 0; p.ind == argc && i < set.n; i++)
		for (size_t k = 0; k < set.d[i].ntraces; k++)
			refs[n++] = (struct cmd_ref){ &set.d[i], k };
	for (int a = p.ind; a < argc; a++) {
		int r = cmd_pick_set("export", &set, argv[a], &refs[n]);
		if (r < 0) {
			rc = r == -2 ? 2 : 1;
			goto out_free;
		}
		n++;
	}
	/* One part per dump with traces, in the order of the dumps; each
	 * part's traces in the order given. */
	size_t nparts = 0, used = 0;
	for (size_t i = 0; i < set.n; i++) {
		struct export_part *pt = &parts[nparts];
		*pt = (struct export_part){ &set.d[i], which + used, 0 };
		for (size_t k = 0; k < n; k++)
			if (refs[k].d == &set.d[i])
				pt->which[pt->n++] = refs[k].index;
		used += pt->n;
		if (pt->n || (set.n == 1))
			nparts++;
	}
	FILE *out = stdout;
	if (outpath && !(out = cmd_create(outpath)))
		goto out_free;
	if (out == stdout)
		fmt_big_stdout();
	rc = fn(out, parts, nparts);
	if (out != stdout && (fclose(out) != 0) && !rc) {
		msg_errorf("cannot write %s: %s", outpath, strerror(errno));
		rc = 1;
	}
out_free:
	free(parts);
	free(which);
	free(refs);
	cmd_close_set(&set);
	return rc;
}
