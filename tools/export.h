/* export.h - the formats of `spanprof export` that live in files of their
 * own. Each writes the traces `which[0..n)` of `d` to `out`; 0, or 1 after
 * printing why. */
#ifndef SP_CLI_EXPORT_H
#define SP_CLI_EXPORT_H

#include <stddef.h>
#include <stdio.h>

#include "dump.h"

int export_chrome(FILE *out, struct sp_dump *d, size_t *which, size_t n);
/* tools/export/: perfetto.c, otlp.c, speedscope.c */
int export_perfetto(FILE *out, struct sp_dump *d, size_t *which, size_t n);
int export_otlp(FILE *out, struct sp_dump *d, size_t *which, size_t n);
int export_speedscope(FILE *out, struct sp_dump *d, size_t *which, size_t n);

#endif
