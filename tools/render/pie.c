/* render/pie.c - a span's time as pie slices (render/pie.h): the model and
 * the palette that both the terminal chart (cmd/pie.c) and the SVG one
 * (render/pie_svg.c) draw. */
#include "render/pie.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "render/fmt.h"

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
