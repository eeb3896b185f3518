/* export/export.h - the formats of `spanprof export` that live in files of their
 * own. Each writes to `out` the traces of several dumps as one view: for
 * each part, the traces `which[0..n)` of its dump `d`; 0, or 1 after
 * printing why. */
#ifndef CLI_EXPORT_H
#define CLI_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "read/dump.h"

struct export_part {
	struct rd_dump *d;
	size_t *which;
	size_t n;
};

int export_chrome(FILE *out, const struct export_part *parts, size_t nparts);
int export_folded(FILE *out, const struct export_part *parts, size_t nparts);
int export_perfetto(FILE *out, const struct export_part *parts, size_t nparts);
int export_otlp(FILE *out, const struct export_part *parts, size_t nparts);
int export_speedscope(FILE *out, const struct export_part *parts, size_t nparts);

#endif
