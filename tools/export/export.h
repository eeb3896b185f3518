/* export/export.h - the formats of `spanprof export` that live in files of their
 * own. Each writes the traces `which[0..n)` of `d` to `out`; 0, or 1 after
 * printing why. */
#ifndef CLI_EXPORT_H
#define CLI_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "read/dump.h"

int export_chrome(FILE *out, struct rd_dump *d, size_t *which, size_t n);
int export_folded(FILE *out, struct rd_dump *d, size_t *which, size_t n);
int export_perfetto(FILE *out, struct rd_dump *d, size_t *which, size_t n);
int export_otlp(FILE *out, struct rd_dump *d, size_t *which, size_t n);
int export_speedscope(FILE *out, struct rd_dump *d, size_t *which, size_t n);

#endif
