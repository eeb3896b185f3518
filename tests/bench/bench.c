/* bench.c - the cost of one instrumented call, and of one manual span.
 *
 * Built several ways (tests/bench/meson.build): without instrumentation,
 * with -finstrument-functions and empty hooks, with reference hooks doing
 * the minimum a recorder needs (floor_hooks.c), and with libspanprof.
 * run.sh runs every variant several times, side by side, and prints the
 * medians and ratios.
 *
 *   bench calls N [K]  N calls of a tiny function, in chunks of K (default
 *                   1000) made by chunk(): with SPANPROF_TRACE_CALLS=chunk
 *                   every chunk is a trace of K + 1 spans
 *   bench span N    N SP_SPANs, 1000 per SP_TRACE
 *   bench cumul N   N SP_CUMULATIVE iterations, 1000 per SP_TRACE
 *   bench trace N   N SP_TRACEs holding one SP_SPAN each: run with
 *                   SPANPROF_CPU=1 and =0, the difference is the cost of
 *                   a trace's two CPU readings (issue 11: off-CPU time)
 * Prints "ns_per_op <value>" (wall clock around the loop).
 */
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile int sink;
static int chunk_len = 1000; /* leaf calls per chunk() */

__attribute__((noinline)) int leaf(int x)
{
	return x + 1;
}

__attribute__((noinline)) void chunk(int base)
{
	for (int i = 0; i < chunk_len; i++)
		sink = leaf(base + i);
}

__attribute__((noinline, no_instrument_function)) static void manual_spans(int base)
{
	SP_TRACE("chunk", NULL) {
		for (int i = 0; i < chunk_len; i++)
			SP_SPAN("s") {
				sink = base + i;
			}
	}
}

__attribute__((noinline, no_instrument_function)) static void manual_cumul(int base)
{
	SP_TRACE("chunk", NULL) {
		for (int i = 0; i < chunk_len; i++)
			SP_CUMULATIVE("c") {
				sink = base + i;
			}
	}
}

__attribute__((noinline, no_instrument_function)) static void manual_traces(int base)
{
	for (int i = 0; i < chunk_len; i++)
		SP_TRACE("t", NULL) {
			SP_SPAN("s") {
				sink = base + i;
			}
		}
}

__attribute__((no_instrument_function)) static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

__attribute__((no_instrument_function)) int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: bench calls|span|cumul|trace N [K]\n");
		return 2;
	}
	if (argc == 4)
		chunk_len = (int)strtol(argv[3], NULL, 10);
	if (chunk_len <= 0) {
		fprintf(stderr, "bench: bad arguments\n");
		return 2;
	}
	long n = strtol(argv[2], NULL, 10) / chunk_len;
	void (*fn)(int) = !strcmp(argv[1], "calls") ? chunk
			  : !strcmp(argv[1], "span") ? manual_spans
			  : !strcmp(argv[1], "cumul") ? manual_cumul
			  : !strcmp(argv[1], "trace") ? manual_traces
						      : NULL;
	if (!fn || n <= 0) {
		fprintf(stderr, "bench: bad arguments\n");
		return 2;
	}
	for (long r = 0; r < n / 10 + 1; r++) /* warm up: caches, first-call decisions */
		fn((int)r);
	double t0 = now_ns();
	for (long r = 0; r < n; r++)
		fn((int)r);
	double t1 = now_ns();
	printf("ns_per_op %.3f\n", (t1 - t0) / ((double)n * chunk_len));
	return 0;
}
