/* read/dump.h - read a spanprof dump (docs/FORMAT.md).
 *
 * rd_dump_open() reads the whole file and checks every field of the
 * header, INFO, MODULES, SITES and the TRACE headers; the record streams
 * are checked when a trace is decoded (tree.h). The file is not trusted:
 * counts are bounded by the bytes that remain, strings by their length
 * fields, and every failure is one line naming the file and the offset.
 */
#ifndef CLI_DUMP_H
#define CLI_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct rd_dump_module {
	uint64_t bias, start, end;
	uint32_t flags; /* SP_MOD_MAIN, SP_MOD_UNLOADED (format.h) */
	uint8_t build_id_len;
	const uint8_t *build_id;
	char *path;
};

struct rd_dump_site {
	uint8_t kind;     /* enum sp__site_kind (format.h) */
	uint32_t module;  /* function: module index, or SP_NO_MODULE */
	uint32_t line;    /* probe */
	uint64_t offset;  /* function: address in the module file */
	uint64_t address; /* function: runtime address */
	uint32_t size;
	char *name;       /* function: runtime symbol (may be ""); else the name */
	char *func, *file;
};

struct rd_dump_trace {
	uint64_t seq, tid, t0, t1, dropped, iterations;
	uint32_t nrec, flags; /* SP_TRACE_CLOSED (format.h) */
	char *id;
	const uint8_t *stream;
	uint64_t stream_len;
	uint64_t offset; /* of its section in the file, for messages */
	/* CPU use between begin and end; cpu_measured false in older dumps
	 * and with SPANPROF_CPU=0 */
	bool cpu_measured;
	uint64_t cpu_ns;
	uint32_t voluntary_switches, involuntary_switches;
};

struct rd_dump {
	char *path;
	uint8_t *data;
	size_t size;
	uint32_t version;
	uint64_t pid;
	double ticks_per_ns;
	uint64_t ref_tick, ref_wall_ns, ref_mono_ns;
	double overhead_per_span_ns, total_overhead_ms;
	uint64_t spans, iterations, committed, evicted, dropped;
	uint64_t traces_dropped, cleared; /* 0 in dumps that predate them */
	uint64_t filtered;                /* faster than SPANPROF_MIN_MS, not stored; 0 in older dumps */
	uint32_t keep_slowest, min_ms;    /* the settings (SPANPROF_KEEP_SLOWEST, _MIN_MS) */
	uint32_t max_traces, buffer_mb, clock_source;
	/* STATS (absent in older dumps): every trace ended, per name */
	struct sp__hist_entry *stats;
	uint32_t nstats;
	char *program, *cmdline;
	struct rd_dump_module *modules;
	uint32_t nmodules;
	struct rd_dump_site *sites; /* sites[0] unused: ids start at 1 */
	uint32_t nsites;
	struct rd_dump_trace *traces;
	size_t ntraces;
	void *symbols; /* tree.c's naming cache */
	bool no_symbols; /* name functions only from the dump (no files read) */
	/* A flight file (format 2, read/flight.h): its program runs (live),
	 * or ended without exiting normally (unclean), leaving `unfinished`
	 * traces open (SP_TRACE_UNFINISHED). */
	bool flight, live, unclean;
	size_t unfinished;
};

/* 0, or -1 with a message (without the "spanprof: " prefix) in err. */
int rd_dump_open(const char *path, struct rd_dump *d, char *err, size_t errlen);
/* The same, from bytes in memory (copied); `unchecked` skips the checksum,
 * so that tests and the fuzzer reach the structural checks. */
int rd_dump_parse(const char *name, const uint8_t *data, size_t size, bool unchecked, struct rd_dump *d, char *err,
		  size_t errlen);
void rd_dump_close(struct rd_dump *d);
/* Index of the trace with sequence number seq, or -1. */
long rd_dump_find(const struct rd_dump *d, uint64_t seq);
/* Wall-clock ns (since the Unix epoch) of a tick value. */
uint64_t rd_dump_wall_ns(const struct rd_dump *d, uint64_t tick);
uint64_t rd_dump_ns(const struct rd_dump *d, uint64_t ticks);

#endif
