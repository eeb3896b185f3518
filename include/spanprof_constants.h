/* spanprof_constants.h - the numbers the spanprof API and its dump format
 * promise. Included by spanprof.h; usable on its own (the CLI does).
 */
#ifndef SPANPROF_CONSTANTS_H
#define SPANPROF_CONSTANTS_H

/* Library version. Versions with the same major number are API compatible. */
#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1
#define SP_VERSION_PATCH 0
#define SP_VERSION_STRING "0.1.0"
#define SP_VERSION_NUM ((SP_VERSION_MAJOR << 16) | (SP_VERSION_MINOR << 8) | SP_VERSION_PATCH)
#define SP_AT_LEAST_VERSION(x, y, z) (SP_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))

/* Default number of traces kept in the store (the design's deque size).
 * SPANPROF_MAX_TRACES overrides it at run time. */
#define PROFILER_MAX_TRACES 500
#define SP_MAX_TRACES_LIMIT 1000000

/* Slowest traces kept per trace name beside the most recent ones
 * (SPANPROF_KEEP_SLOWEST, 0..SP_KEEP_SLOWEST_LIMIT; 0: the recent ones only). */
#define SP_DEFAULT_KEEP_SLOWEST 10
#define SP_KEEP_SLOWEST_LIMIT 10000

/* Default memory budget of the store, in MiB: committed traces plus the
 * traces being built, oldest traces evicted to stay within it. One trace
 * may use at most half of it; past that it is kept truncated, with the
 * number of spans it dropped. SPANPROF_BUFFER_MB overrides it (1..65536). */
#define SP_DEFAULT_BUFFER_MB 64
#define SP_BUFFER_MB_LIMIT 65536

/* Copied strings are cut at these lengths (bytes, without the NUL). A cut
 * string is marked truncated; the cut never splits a UTF-8 sequence. */
#define SP_MAX_KEY_LEN 63   /* data keys */
#define SP_MAX_STR_LEN 256  /* string values, string arguments and trace ids:
			     * the default of SPANPROF_STR_MAX */
#define SP_STR_MAX_LIMIT 512 /* the most SPANPROF_STR_MAX may ask for */
#define SP_MAX_NAME_LEN 127 /* trace names given to sp_trace_begin */

/* Default dump file, written at normal exit when anything was recorded.
 * "%p" in SPANPROF_OUTPUT expands to the process id. */
#define SP_DEFAULT_OUTPUT "spanprof.out"

/* Dump format (docs/FORMAT.md). */
#define SP_DUMP_MAGIC "SPANPROF"
#define SP_DUMP_VERSION 1
#define SP_DUMP_VERSION_MIN 1

#endif
