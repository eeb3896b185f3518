/* cmd_pie.c - `spanprof pie SEQ`: where a span's time went, as a pie (the
 * design's ProfilerPieChart): in the terminal, or with --svg as a file a
 * browser shows. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "fmt.h"
#include "json.h"
#include "msg.h"
#include "pie.h"

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

/* Sixteen colors far enough apart to tell slices apart. */
static const struct {
	const char *svg;
	unsigned term;
} palette[PIE_COLORS] = {
	{ "#4e79a7", 67 },  { "#f28e2b", 208 }, { "#59a14f", 71 },  { "#e15759", 167 },
	{ "#b07aa1", 139 }, { "#edc948", 221 }, { "#76b7b2", 109 }, { "#ff9da7", 217 },
	{ "#9c755f", 137 }, { "#17becf", 38 }, { "#1f3b73", 18 },  { "#8cd17d", 114 },
	{ "#d37295", 168 }, { "#499894", 30 },  { "#86bcb6", 116 }, { "#f1ce63", 222 },
};

const char *pie_svg_color(unsigned i)
{
	return palette[i % PIE_COLORS].svg;
}

unsigned pie_term_color(unsigned i)
{
	return palette[i % PIE_COLORS].term;
}

static unsigned name_color(const char *name)
{
	uint32_t h = 2166136261u;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return (h >> 8) % PIE_COLORS;
}

/* A name keeps its color from chart to chart; two names of one chart that
 * would share one are told apart, in name order, so the result does not
 * depend on the slices' sizes. */
static void assign_colors(struct pie *p)
{
	bool used[PIE_COLORS] = { false };
	for (size_t done = 0; done < p->n; done++) {
		size_t pick = p->n;
		for (size_t i = 0; i < p->n; i++)
			if (p->s[i].color == UINT32_MAX && (pick == p->n || strcmp(p->s[i].name, p->s[pick].name) < 0))
				pick = i;
		unsigned c = name_color(p->s[pick].name);
		for (unsigned k = 0; k < PIE_COLORS && used[c]; k++)
			c = (c + 1) % PIE_COLORS;
		used[c] = true;
		p->s[pick].color = c;
	}
}

static int by_size(const void *x, const void *y)
{
	const struct slice *a = x, *b = y;
	return a->ns < b->ns ? 1 : a->ns > b->ns ? -1 : strcmp(a->name, b->name);
}

int pie_build(const sp_node *node, double min_pct, struct pie *p)
{
	memset(p, 0, sizeof *p);
	p->title = node->name;
	p->s = calloc((size_t)node->nchildren + 2, sizeof *p->s);
	if (!p->s)
		return -1;
	/* one slice per child name (three calls of leaf are one slice) */
	for (const sp_node *c = node->first_child; c; c = c->next_sibling) {
		size_t i = 0;
		while (i < p->n && strcmp(p->s[i].name, c->name))
			i++;
		if (i == p->n)
			p->s[p->n++].name = c->name;
		p->s[i].ns += c->duration_ns;
	}
	if (node->self_ns)
		p->s[p->n++] = (struct slice){ .name = "(self)", .ns = node->self_ns };
	for (size_t i = 0; i < p->n; i++)
		p->total_ns += p->s[i].ns;
	qsort(p->s, p->n, sizeof *p->s, by_size);
	/* merge the small ones into "other", kept last (a single small one
	 * stays itself: a slice called "other" should hide several) */
	size_t small = 0;
	for (size_t i = 0; i < p->n; i++)
		small += p->total_ns && 100.0 * (double)p->s[i].ns / (double)p->total_ns < min_pct;
	if (small >= 2) {
		uint64_t other = 0;
		size_t keep = p->n - small; /* sorted: the small ones are last */
		for (size_t i = keep; i < p->n; i++)
			other += p->s[i].ns;
		p->n = keep;
		p->s[p->n++] = (struct slice){ .name = "other", .ns = other };
	}
	for (size_t i = 0; i < p->n; i++)
		p->s[i].color = UINT32_MAX;
	assign_colors(p);
	for (size_t i = 0; i < p->n; i++) {
		struct slice *s = &p->s[i];
		s->pct = p->total_ns ? 100.0 * (double)s->ns / (double)p->total_ns : 0;
		char ms[32];
		snprintf(s->label, sizeof s->label, "%s: %s ms (%.1f%%)", s->name, fmt_ms(ms, sizeof ms, s->ns), s->pct);
	}
	return 0;
}

void pie_free(struct pie *p)
{
	free(p->s);
}

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
	struct sp_dump d;
	struct sp_tree t;
	const sp_node *node;
	struct pie pie = { 0 };
	int rc = cmd_one_trace("pie", src.file, src.pid, argc, argv, p.ind, zoom, &d, &t, &node);
	if (rc)
		return rc;
	rc = 1;
	if (pie_build(node, min_pct, &pie)) {
		sp_errorf("out of memory");
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
			sp_errorf("cannot write %s: %s", svg, strerror(errno));
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
	sp_tree_free(&t);
	cmd_close(&d);
	return rc;
}
