/* render/fmt.h - how the CLI writes numbers, times and colors. */
#ifndef CLI_FMT_H
#define CLI_FMT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "spanprof.h"

/* "12.345" ms (3 decimals; 4 under 1 ms) into buf. */
const char *fmt_ms(char *buf, size_t size, uint64_t ns);
/* Local wall clock "2026-11-23 23:49:01.123". */
const char *fmt_wall(char *buf, size_t size, uint64_t epoch_ns);
/* key=value pairs, space separated (strings quoted when they hold spaces);
 * a key set twice shows its last value. */
void fmt_data(FILE *f, const sp_kv *kv, uint32_t n);

/* Colors: on a terminal unless NO_COLOR is set, or as --color says. */
enum fmt_color { C_RESET, C_DIM, C_BOLD, C_RED, C_YELLOW, C_CYAN, C_GREEN };
bool fmt_color_setup(const char *mode); /* "auto", "always", "never"; false if none */
const char *fmt_c(enum fmt_color c);     /* "" when colors are off */

/* Set stdout fully buffered with a big buffer (long outputs). */
void fmt_big_stdout(void);

/* Names in text outputs fit the terminal: fmt_width(-1) is its width
 * (80 when stdout is no terminal), fmt_width(n) is n (0: no limit, --wide). */
unsigned fmt_width(long opt);
size_t fmt_cols(const char *s);
/* `name` in at most max columns (0: as is): the contents of its longest
 * template argument lists and parameter lists become "…" until it fits,
 * then its middle. Returns name itself or buf (size bytes). */
const char *fmt_shorten(const char *name, unsigned max, char *buf, size_t size);

#endif
