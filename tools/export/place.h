/* place.h - what the perfetto, otlp and speedscope exports share: where
 * each node of a trace lies in time, and which track each trace goes on.
 *
 * place_walk() visits a trace's nodes in pre-order of the tree (through the
 * parent links, not in record order, see docs/FORMAT.md) and calls back once when
 * a node opens and once when it closes, children in between, with the
 * node's time: spans their own (kept inside their parent), cumulative nodes
 * placed in the gaps of their parent the way the chrome export places them
 * (export_chrome.c explains why and how). Opens and closes come in time
 * order on the trace's track. It streams: what it keeps is one frame per
 * level of the current path (and the gaps of those frames), never one
 * entry per node, so the exporters' memory does not grow with the trace.
 */
#ifndef SP_CLI_EXPORT_PLACE_H
#define SP_CLI_EXPORT_PLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "read/dump.h"
#include "read/tree.h"

struct place_ev {
	const sp_node *n;
	uint64_t ts, dur; /* ns from the trace's start tick */
	bool clipped;     /* a cumulative node cut to fit its gap */
	unsigned depth;   /* 0: the root */
};

/* Called with open = true, then, after the node's children, false. A
 * non-zero return stops the walk and is returned by place_walk. */
typedef int (*place_fn)(void *ctx, const struct place_ev *ev, bool open);

/* 0, the callback's non-zero value, or -1 when out of memory. */
int place_walk(const struct rd_tree *t, place_fn fn, void *ctx);

/* The steps of the placement, for the chrome export, which keeps every
 * node's time in arrays (its layout only needs a parent before its
 * children) rather than walking with place_walk. */
struct place_gap {
	uint64_t lo, hi;
};

/* A span child's time, clamped into its parent's [lo, hi]. */
void place_span(const sp_node *c, uint64_t lo, uint64_t hi, uint64_t *ts, uint64_t *dur);

/* The parts of [lo, hi) that no span child of `p` covers, in time order,
 * into gaps (room for p->nchildren + 1); how many. */
size_t place_gaps(const sp_node *p, uint64_t lo, uint64_t hi, struct place_gap *gaps);

/* A cumulative child of a span, of `total` ns: in the first of the gaps
 * that holds it, else in the largest, cut to fit (true: clipped), 1 ns
 * clear of what is around; the gap used shrinks. At `lo` when no gap. */
bool place_in_gap(struct place_gap *gaps, size_t ngaps, uint64_t total, uint64_t lo, uint64_t *ts,
		  uint64_t *dur);

/* Cumulative children of a cumulative node [lo, lo + dur) of `total` ns:
 * end to end, scaled down with their parent when it was cut. */
struct place_seq {
	uint64_t at, hi; /* where the next one goes; the parent's end */
	double scale;
};
void place_seq_init(struct place_seq *q, uint64_t total, uint64_t lo, uint64_t dur);
/* The next one, of `total` ns; true when clipped. */
bool place_seq_next(struct place_seq *q, uint64_t total, uint64_t *ts, uint64_t *dur);

/* Tracks: traces of one thread that overlap in time (requests interleaved
 * on one thread) cannot share a track. lane[k] is 0 for the thread's own
 * track, else K for its K-th extra one; indexed like `which`. NULL when out
 * of memory. */
unsigned *place_lanes(const struct rd_dump *d, const size_t *which, size_t n);

/* A trace that did not end by itself (closed by spanprof at exit or at its
 * thread's end): the hook for "unfinished" marks in the exports. */
bool place_trace_unfinished(const struct rd_dump_trace *tr);

/* A 64-bit mix (splitmix64's finalizer): ids and track uuids derived from
 * the dump, the same on every export. */
uint64_t place_mix(uint64_t x);

#endif
