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

static int all_json(FILE *out, struct rd_dump *d, size_t *which, size_t n)
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
		struct rd_tree t;
		if (cmd_tree(d, which[k], &t)) {
			rc = 1;
			break;
		}
		model_json_trace(&j, d, &t, t.root);
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
		int (*fn)(FILE *, struct rd_dump *, size_t *, size_t);
	} formats[] = {
		{ "chrome", export_chrome },	   { "perfetto", export_perfetto }, { "otlp", export_otlp },
		{ "speedscope", export_speedscope }, { "folded", export_folded },   { "json", all_json },
	};
	int (*fn)(FILE *, struct rd_dump *, size_t *, size_t) = NULL;
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(format, formats[i].name))
			fn = formats[i].fn;
	if (!fn)
		return msg_usagef("export", "--format takes chrome, perfetto, otlp, speedscope, folded or json, not '%s'",
				  format);
	struct rd_dump d;
	if (cmd_open(src.file, src.pid, &d))
		return 1;
	size_t *which = calloc(d.ntraces + (size_t)argc, sizeof *which), n = 0;
	int rc = 1;
	if (!which) {
		msg_errorf("out of memory");
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
	if (outpath && !(out = cmd_create(outpath)))
		goto out_free;
	if (out == stdout)
		fmt_big_stdout();
	rc = fn(out, &d, which, n);
	if (out != stdout && (fclose(out) != 0) && !rc) {
		msg_errorf("cannot write %s: %s", outpath, strerror(errno));
		rc = 1;
	}
out_free:
	free(which);
out_close:
	cmd_close(&d);
	return rc;
}
