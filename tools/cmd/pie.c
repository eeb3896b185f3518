/* cmd/pie.c - `spanprof pie SEQ`: where a span's time went, as a pie (the
 * design's ProfilerPieChart): in the terminal, or with --svg as a file a
 * browser shows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "msg.h"
#include "render/fmt.h"
#include "render/json.h"
#include "render/pie.h"

enum { O_ZOOM = 'z', O_SVG = 's', O_MINPCT = 'm', O_JSON = 'j', O_COLOR = 'c' };

const struct cli_opt pie_opts[] = {
	CMD_OPT_FILE,
	CMD_OPT_PID,
	{ 'z', "zoom", "PATH|NODE", "the span to slice (default: the trace's root)", O_ZOOM },
	{ 0, "min-pct", "X", "merge slices under X% into \"other\" (default: 3)", O_MINPCT },
	{ 0, "svg", "OUT", "write the chart to OUT as SVG instead", O_SVG },
	{ 0, "json", NULL, "print the slices as JSON", O_JSON },
	{ 0, "color", "WHEN", "auto, always or never (default: auto)", O_COLOR },
	{ 0 },
};

static const char glyphs[] = "#=+o*%@x:~-.";

/* The pie in character cells: two columns per row make it round. */
static void terminal(const struct pie *p, bool color)
{
	const int R = 9;
	for (int y = -R; y <= R; y++) {
		fputs("  ", stdout);
		for (int x = -2 * R; x <= 2 * R; x++) {
			double dx = x / 2.0, dy = y;
			if (dx * dx + dy * dy > R * R + 0.5) {
				putchar(' ');
				continue;
			}
			/* angle clockwise from 12 o'clock, as fraction of a turn */
			double a = atan2(dx, -dy) / (2 * M_PI);
			if (a < 0)
				a += 1;
			double acc = 0;
			size_t i = 0;
			for (; i + 1 < p->n; i++) {
				acc += p->total_ns ? (double)p->s[i].ns / (double)p->total_ns : 0;
				if (a < acc)
					break;
			}
			if (color)
				printf("\033[38;5;%um█\033[0m", pie_term_color(p->s[i].color));
			else
				putchar(glyphs[i % (sizeof glyphs - 1)]);
		}
		putchar('\n');
	}
	putchar('\n');
	for (size_t i = 0; i < p->n; i++) {
		const struct slice *s = &p->s[i];
		if (color)
			printf("  \033[38;5;%um██\033[0m", pie_term_color(s->color));
		else
			printf("  %c%c", glyphs[i % (sizeof glyphs - 1)], glyphs[i % (sizeof glyphs - 1)]);
		char ms[32];
		printf("  %10s ms  %5.1f%%  %s\n", fmt_ms(ms, sizeof ms, s->ns), s->pct, s->name);
	}
}

int cmd_pie(int argc, char **argv)
{
	struct cmd_source src = CMD_SOURCE_DEFAULT;
	const char *zoom = NULL, *svg = NULL, *color = "auto";
	double min_pct = 3;
	bool json = false;
	struct cli_parser p;
	cli_init(&p, "pie", argc, argv);
	for (int o; (o = cli_next(&p)) != CLI_END;) {
		switch (o) {
		case CLI_HELP: return 0;
		case CLI_ERROR: return 2;
		case O_ZOOM: zoom = p.arg; break;
		case O_SVG: svg = p.arg; break;
		case O_JSON: json = true; break;
		case O_COLOR: color = p.arg; break;
		case O_MINPCT:
			if (cli_double(&p, "--min-pct", p.arg, &min_pct))
				return 2;
			break;
		default:
			if (cmd_source_opt("pie", &src, o, p.arg) < 0)
				return 2;
			break;
		}
	}
	if (cmd_color_ok("pie", color))
		return 2;
	struct cmd_set set;
	struct rd_dump *d;
	struct rd_tree t;
	const sp_node *node;
	struct pie pie = { 0 };
	int rc = cmd_one_trace("pie", &src, argc, argv, p.ind, zoom, &set, &d, &t, &node);
	if (rc)
		return rc;
	rc = 1;
	if (pie_build(node, min_pct, &pie)) {
		msg_errorf("out of memory");
		goto out_tree;
	}
	/* A long zoom path shows by its last three names. */
	const char *zshown = zoom ? zoom : "";
	int slashes = 0;
	for (const char *q = zshown + strlen(zshown); q > zshown; q--)
		if (q[-1] == '/' && ++slashes == 3) {
			zshown = q - 1;
			break;
		}
	char sub[256];
	snprintf(sub, sizeof sub, "trace #%llu %s, id %s%s%s%s", (unsigned long long)t.tr->seq, t.name,
		 *t.tr->id ? t.tr->id : "-", node != t.root ? ", zoomed on " : "",
		 node != t.root && zshown != zoom ? "…" : "", node != t.root ? zshown : "");
	if (svg) {
		FILE *f = cmd_create(svg);
		if (!f)
			goto out_pie;
		pie_svg(f, &pie, sub);
		if (fclose(f) != 0) {
			msg_errorf("cannot write %s: %s", svg, strerror(errno));
			goto out_pie;
		}
		printf("%s: %zu slices of %s (%.3f ms)\n", svg, pie.n, node->name, pie.total_ns / 1e6);
	} else if (json) {
		struct json j;
		json_init(&j, stdout);
		json_object(&j, NULL);
		json_str(&j, "name", node->name);
		json_u64(&j, "duration_ns", node->duration_ns);
		json_u64(&j, "total_ns", pie.total_ns);
		json_array(&j, "slices");
		for (size_t k = 0; k < pie.n; k++) {
			json_object(&j, NULL);
			json_str(&j, "name", pie.s[k].name);
			json_u64(&j, "ns", pie.s[k].ns);
			json_f64(&j, "pct", pie.s[k].pct);
			json_end(&j);
		}
		json_end(&j);
		json_end(&j);
		json_newline(&j);
		json_free(&j);
	} else {
		printf("%s  %s  %.3f ms\n\n", node->name, sub, pie.total_ns / 1e6);
		terminal(&pie, fmt_color_setup(color));
	}
	rc = 0;
out_pie:
	pie_free(&pie);
out_tree:
	rd_tree_free(&t);
	cmd_close_set(&set);
	return rc;
}
