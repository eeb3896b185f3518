/* overhead.c - what recording a span costs, measured in this process.
 *
 * The design's profiler times its own span enter/exit. Timing every span
 * twice would double the cost being measured, so spanprof measures once,
 * on first use: it swaps in a private thread record and runs rounds of
 * real sp__span_begin/sp__scope_end pairs (the path the hooks share: frame
 * push, record append, two clock reads) under a root that is never stored,
 * and keeps the median round. The total is that cost times the spans and
 * cumulative iterations in the store.
 */
#include "stack.h"

#include <string.h>

#define ROUNDS 9
#define PER_ROUND 2000
_Static_assert((PER_ROUND + 1) * sizeof(struct sp__span_rec) + SP_TRACE_HDR <= SP_BUF_INITIAL,
	       "a round fits the measuring buffer");

static _Atomic double per_span_ns;

static void sort(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

static double measure(void)
{
	static struct sp_srcloc root_loc = { "spanprof-overhead", __func__, __FILE__, __LINE__, 0 };
	static struct sp_srcloc loc = { "span", __func__, __FILE__, __LINE__, 0 };
	struct sp__thread *saved = sp__tls;
	if (saved && saved->busy)
		return 0; /* called from inside the runtime: try again later */
	struct sp__thread scratch;
	memset(&scratch, 0, sizeof scratch);
	scratch.tid = saved ? saved->tid : 0;
	if (!sp__grow_frames(&scratch))
		return 0;
	/* A buffer of its own, outside the byte budget: with the budget
	 * taken by the program's traces, the root would not start, the
	 * measure would fail and count as a trace dropped that the program
	 * never made. A round's records fit (it keeps only the root). */
	const size_t own = SP_BUF_INITIAL;
	scratch.buf = sp__map(own);
	if (!scratch.buf) {
		sp__unmap(scratch.frames, (size_t)scratch.cap * sizeof *scratch.frames);
		return 0;
	}
	scratch.bufsize = own;
	scratch.room = own - SP_TRACE_HDR;
	sp__tls = &scratch;
	double rounds[ROUNDS];
	int done = 0;
	uint64_t root = sp__span_begin(&root_loc);
	if (root) {
		for (int r = 0; r < ROUNDS; r++) {
			sp_ticks_t a = sp__now();
			for (int i = 0; i < PER_ROUND; i++) {
				uint64_t s = sp__span_begin(&loc);
				if (s)
					sp__scope_end(s);
			}
			sp_ticks_t b = sp__now();
			rounds[done++] = (double)(b - a) / PER_ROUND;
			scratch.pos = sizeof(struct sp__span_rec); /* keep only the root */
			scratch.nrec = 1;
		}
	}
	/* Drop the root without storing it. */
	scratch.depth = 0;
	sp__tls = saved;
	if (scratch.buf) {
		sp__buf_free(scratch.buf, scratch.bufsize); /* grown: may be in the file */
		sp__budget_release(scratch.bufsize - own); /* what it grew by, if it did */
	}
	sp__unmap(scratch.frames, (size_t)scratch.cap * sizeof *scratch.frames);
	if (!done)
		return 0;
	sort(rounds, done);
	return rounds[done / 2] / sp__ticks_per_ns();
}

SP_API double sp_overhead_per_span_ns(void)
{
	double v = atomic_load(&per_span_ns);
	if (v > 0)
		return v;
	v = measure();
	if (v > 0)
		atomic_store(&per_span_ns, v);
	return v;
}

SP_API double sp_total_overhead_ms(void)
{
	struct sp__store_stats st;
	sp__store_stats(&st);
	return sp_overhead_per_span_ns() * (double)(st.spans + st.iterations) / 1e6;
}
