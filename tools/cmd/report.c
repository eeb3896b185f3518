/* cmd/report.c - `spanprof report`: the page of `spanprof ui` as one
 * static file, its data embedded (each trace's list entry and tree, so its
 * size grows linearly with the traces), no server and no control buttons:
 * it opens from disk in a browser with no network, and goes with a bug
 * report or a CI job's artifacts. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "msg.h"
#include "render/json.h"
#include "render/page.h"

const struct cli_opt report_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 'o', "output", "OUT", "the HTML file to write (default: spanprof.html; - for standard output)", 'o' },
	{ 0 },
};

/* {list, trees:{key: trace}} in memory. 0, or 1 after a message. */
static int report_data(struct rd_dump *d, size_t nd, long pid, char **buf, size_t *len)
{
	FILE *m = open_memstream(buf, len);
	if (!m) {
		msg_errorf("out of memory");
		return 1;
	}
	struct json j;
	json_init(&j, m);
	json_object(&j, NULL);
	json_key(&j, "list");
	page_list_json(&j, d, nd, pid);
	json_object(&j, "trees");
	int rc = 0;
	for (size_t f = 0; f < nd && !rc; f++)
		for (size_t i = 0; i < d[f].ntraces && !rc; i++) {
			char key[48];
			snprintf(key, sizeof key, "%zu:%llu", f, (unsigned long long)d[f].traces[i].seq);
			json_newline(&j);
			json_key(&j, key);
			if (page_trace_json(&j, d, nd, key))
				json_null(&j, NULL); /* undecodable: said on stderr */
		}
	json_end(&j);
	json_end(&j);
	bool oom = j.oom;
	json_free(&j);
	if (fclose(m) || oom) {
		msg_errorf("out of memory");
		free(*buf);
		*buf = NULL;
		return 1;
	}
	return rc;
}

int cmd_report(int argc, char **argv)
{
	const char *out = "spanprof.html";
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	struct cli_parser p;
	cli_init(&p, "report", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case 'o': out = p.arg; break;
		default:
			if (cmd_source_opt("report", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (p.ind < argc)
		return msg_usagef("report", "unexpected argument '%s'", argv[p.ind]);
	if (src.pid && src.nfiles)
		return msg_usagef("report", "-f and -p: one or the other");
	struct cmd_set set;
	if (cmd_open_set(&src, &set))
		return 1;
	int rc = 1;
	char *buf = NULL;
	size_t len = 0;
	if (!report_data(set.d, set.n, src.pid, &buf, &len)) {
		bool to_stdout = !strcmp(out, "-");
		FILE *f = to_stdout ? stdout : cmd_create(out);
		if (f) {
			page_html(f, buf, len);
			if (to_stdout) {
				rc = 0; /* main checks standard output */
			} else if (fflush(f) || ferror(f)) {
				msg_errorf("cannot write %s", out);
				fclose(f);
			} else if (fclose(f)) {
				msg_errorf("cannot write %s", out);
			} else {
				size_t n = 0;
				for (size_t i = 0; i < set.n; i++)
					n += set.d[i].ntraces;
				printf("%s (%zu traces)\n", out, n);
				rc = 0;
			}
		}
	}
	free(buf);
	cmd_close_set(&set);
	return rc;
}
