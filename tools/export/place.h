/* place.h - what the perfetto, otlp and speedscope exports share: where
 * each node of a trace lies in time, and which track each trace goes on.
 *
 * place_walk() visits a trace's nodes in pre-order and calls back once when
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
