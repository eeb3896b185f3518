/* render/pie.h - the slices of a span: its children by name, its own time, and
 * the small ones merged; drawn in a terminal (cmd/pie.c) or as SVG
 * (render/pie_svg.c). The model is render/pie.c. */
#ifndef CLI_PIE_H
#define CLI_PIE_H

#include <stdint.h>
#include <stdio.h>

#include "spanprof.h"

struct slice {
	const char *name;
	uint64_t ns;
	double pct;
	unsigned color; /* palette index (pie_color), stable for a name */
	char label[300];
};

struct pie {
	struct slice *s;
	size_t n;
	uint64_t total_ns;
	const char *title;
};

/* Slices of node: one per child name, one for its self time, and those
 * under min_pct% merged into "other". 0, or -1 on no memory. */
int pie_build(const sp_node *node, double min_pct, struct pie *p);
void pie_free(struct pie *p);
/* The palette: an SVG color and an xterm-256 color per index. */
#define PIE_COLORS 16
const char *pie_svg_color(unsigned i);
unsigned pie_term_color(unsigned i);
/* A standalone SVG document. */
void pie_svg(FILE *f, const struct pie *p, const char *subtitle);

#endif
