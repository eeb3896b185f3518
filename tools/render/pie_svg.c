/* render/pie_svg.c - a pie chart as a standalone SVG: title, slices with their
 * percentages, a legend with ms and %. Colors come from the name (a
 * palette slot from its hash), so a phase keeps its color from chart to chart. CSS
 * classes carry the design's prefix, mf-profiler-. */
#include <math.h>
#include <string.h>

#include "render/fmt.h"
#include "render/pie.h"

static void xml(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
}

void pie_svg(FILE *f, const struct pie *p, const char *subtitle)
{
	const double cx = 230, cy = 250, r = 170;
	size_t legend_h = 120 + p->n * 26;
	int height = (int)(legend_h > 460 ? legend_h : 460);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"%d\" viewBox=\"0 0 900 %d\" "
		   "class=\"mf-profiler-pie\">\n",
		height, height);
	fputs("<style>\n"
	      ".mf-profiler-pie { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }\n"
	      ".mf-profiler-background { fill: #ffffff; }\n"
	      ".mf-profiler-title { font-size: 20px; font-weight: 600; fill: #1f2328; }\n"
	      ".mf-profiler-subtitle { font-size: 13px; fill: #59636e; }\n"
	      ".mf-profiler-slice { stroke: #ffffff; stroke-width: 2; }\n"
	      ".mf-profiler-label { font-size: 13px; font-weight: 600; fill: #ffffff; text-anchor: middle; "
	      "dominant-baseline: middle; paint-order: stroke; stroke: rgba(0,0,0,0.35); stroke-width: 2px; }\n"
	      ".mf-profiler-legend { font-size: 14px; fill: #1f2328; }\n"
	      ".mf-profiler-legend-value { font-size: 14px; fill: #59636e; font-variant-numeric: tabular-nums; "
	      "text-anchor: end; }\n"
	      "</style>\n",
	      f);
	fprintf(f, "<rect class=\"mf-profiler-background\" width=\"900\" height=\"%d\"/>\n", height);
	fputs("<text class=\"mf-profiler-title\" x=\"24\" y=\"36\">", f);
	xml(f, p->title);
	fprintf(f, " — %.3f ms</text>\n<text class=\"mf-profiler-subtitle\" x=\"24\" y=\"58\">", p->total_ns / 1e6);
	xml(f, subtitle);
	fputs("</text>\n<g class=\"mf-profiler-slices\">\n", f);
	double a0 = -M_PI / 2;
	for (size_t i = 0; i < p->n; i++) {
		const struct slice *s = &p->s[i];
		double frac = p->total_ns ? (double)s->ns / (double)p->total_ns : 0;
		double a1 = a0 + frac * 2 * M_PI;
		fprintf(f, "<g><title>");
		xml(f, s->label);
		fprintf(f, "</title>");
		if (frac >= 0.9999) {
			fprintf(f, "<circle class=\"mf-profiler-slice\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" "
				   "fill=\"%s\"/>",
				cx, cy, r, pie_svg_color(s->color));
		} else if (frac > 0) {
			fprintf(f, "<path class=\"mf-profiler-slice\" fill=\"%s\" d=\"M%.1f,%.1f L%.2f,%.2f A%.1f,%.1f 0 %d 1 %.2f,%.2f Z\"/>",
				pie_svg_color(s->color), cx, cy, cx + r * cos(a0), cy + r * sin(a0), r, r, frac > 0.5, cx + r * cos(a1),
				cy + r * sin(a1));
		}
		if (frac >= 0.06) {
			double am = (a0 + a1) / 2, rr = frac >= 0.9999 ? 0 : r * 0.62;
			fprintf(f, "<text class=\"mf-profiler-label\" x=\"%.1f\" y=\"%.1f\">%.0f%%</text>", cx + rr * cos(am),
				cy + rr * sin(am), s->pct);
		}
		fputs("</g>\n", f);
		a0 = a1;
	}
	fputs("</g>\n<g class=\"mf-profiler-legend\">\n", f);
	for (size_t i = 0; i < p->n; i++) {
		const struct slice *s = &p->s[i];
		double y = 104 + i * 26.0;
		fprintf(f, "<rect x=\"450\" y=\"%.1f\" width=\"16\" height=\"16\" rx=\"3\" fill=\"%s\"/>", y - 13,
			pie_svg_color(s->color));
		fprintf(f, "<text class=\"mf-profiler-legend\" x=\"476\" y=\"%.1f\">", y);
		char name[64];
		snprintf(name, sizeof name, "%s", s->name);
		if (strlen(s->name) >= sizeof name)
			memcpy(name + sizeof name - 4, "...", 4);
		xml(f, name);
		char ms[32];
		fprintf(f, "</text><text class=\"mf-profiler-legend-value\" x=\"876\" y=\"%.1f\">%s ms  %5.1f%%</text>\n", y,
			fmt_ms(ms, sizeof ms, s->ns), s->pct);
	}
	fputs("</g>\n</svg>\n", f);
}
