/* cmd_export.c - `spanprof export --format FMT`.
 *
 * chrome: Trace Event JSON for Perfetto, speedscope and chrome://tracing
 *   (export_chrome.c).
 * perfetto, otlp, speedscope: Perfetto's protobuf trace, OpenTelemetry's
 *   OTLP/JSON, speedscope's file format (tools/export/, docs/EXPORTS.md).
 * folded: "root;child;leaf WEIGHT" lines for flamegraph.pl, weights the
 *   self time in us. Weights are rounded on the running sum, so a trace's
 *   weights add up to its total exactly.
 * json: the data model, every trace with its tree.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "export.h"
#include "fmt.h"
#include "json.h"
#include "model_json.h"
#include "msg.h"

enum { O_FORMAT = 'F', O_OUT = 'o' };

const struct cli_opt export_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 0, "format", "FMT", "chrome, perfetto, otlp, speedscope, folded or json (default: json)", O_FORMAT },
	{ 'o', "output", "OUT", "write to OUT (default: standard output)", O_OUT },
	{ 0 },
};

/* folded: one line per node with self time, rounded on the running sum. */
static int folded(FILE *out, struct sp_dump *d, size_t *which, size_t n)
{
	char *stack = NULL;
	size_t cap = 0;
	for (size_t k = 0; k < n; k++) {
		struct sp_tree t;
		if (cmd_tree(d, which[k], &t)) {
			free(stack);
			return 1;
		}
		size_t *len = calloc(t.dec.nnodes, sizeof *len); /* stack length after each node */
		if (!len) {
			sp_tree_free(&t);
			free(stack);
			sp_errorf("out of memory");
			return 1;
		}
		uint64_t sum_ns = 0, done_us = 0;
		for (uint32_t i = 0; i < t.dec.nnodes; i++) {
			const sp_node *nd = &t.dec.nodes[i];
			size_t base = nd->parent ? len[nd->parent->index] : 0;
			size_t nl = strlen(nd->name);
			if (base + nl + 2 > cap) {
				cap = (base + nl + 2) * 2;
				char *s = realloc(stack, cap);
				if (!s) {
					free(len);
					sp_tree_free(&t);
					free(stack);
					sp_errorf("out of memory");
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
		sp_tree_free(&t);
	}
	free(stack);
	return 0;
}

static int all_json(FILE *out, struct sp_dump *d, size_t *which, size_t n)
{
	struct json j;
	json_init(&j, out);
	json_object(&j, NULL);
	json_str(&j, "program", d->program);
	json_str(&j, "command_line", d->cmdline);
	json_u64(&j, "pid", d->pid);
	json_f64(&j, "overhead_per_span_ns", d->overhead_per_span_ns);
	json_array(&j, "traces");
	int rc = 0;
	for (size_t k = 0; k < n; k++) {
		struct sp_tree t;
		if (cmd_tree(d, which[k], &t)) {
			rc = 1;
			break;
		}
		model_json_trace(&j, d, &t, t.root);
		sp_tree_free(&t);
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
		int (*fn)(FILE *, struct sp_dump *, size_t *, size_t);
	} formats[] = {
		{ "chrome", export_chrome },	   { "perfetto", export_perfetto }, { "otlp", export_otlp },
		{ "speedscope", export_speedscope }, { "folded", folded },	    { "json", all_json },
	};
	int (*fn)(FILE *, struct sp_dump *, size_t *, size_t) = NULL;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(format, formats[i].name))
			fn = formats[i].fn;
	if (!fn)
		return sp_usagef("export", "--format takes chrome, perfetto, otlp, speedscope, folded or json, not '%s'",
				 format);
	struct sp_dump d;
	if (cmd_open(src.file, src.pid, &d))
		return 1;
	size_t *which = calloc(d.ntraces + (size_t)argc, sizeof *which), n = 0;
	int rc = 1;
	if (!which) {
		sp_errorf("out of memory");
		goto out_close;
	}
	if (p.ind == argc) {
		for (size_t i = 0; i < d.ntraces; i++)
			which[n++] = i;
	}
	for (int a = p.ind; a < argc; a++) {
		long i = cmd_pick("export", &d, argv[a]);
		if (i < 0) {
			rc = i == -2 ? 2 : 1;
			goto out_free;
		}
		which[n++] = (size_t)i;
	}
	FILE *out = stdout;
	if (outpath && !(out = fopen(outpath, "w"))) {
		sp_errorf("cannot write %s: %s", outpath, strerror(errno));
		goto out_free;
	}
	if (out == stdout)
		fmt_big_stdout();
	rc = fn(out, &d, which, n);
	if (out != stdout && (fclose(out) != 0) && !rc) {
		sp_errorf("cannot write %s: %s", outpath, strerror(errno));
		rc = 1;
	}
out_free:
	free(which);
out_close:
	cmd_close(&d);
	return rc;
}
