/* keep_prog.c - issue 11's checks (tests/e2e/test_keep.py), one mode each:
 *   keep_prog recurse   outer() three times, each calling deep(7), which
 *                       recurses 7 levels: with SPANPROF_TRACE_CALLS=outer
 *                       `top`'s total of deep must be its outermost calls'
 *   keep_prog sleep     a trace "nap" that sleeps 20 ms: off the CPU (a
 *                       span "work" on it, a scope "sleep" asleep)
 *   keep_prog ids       traces with 300-byte ids differing only at the end
 *   keep_prog patterns  outer() once; never_called() is in the binary but
 *                       never runs, inlined_away() is inlined everywhere
 * Built with -finstrument-functions at -O2 (noinline keeps the calls). */
#include <spanprof.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

volatile unsigned sink; /* unsigned: it wraps, which UBSan allows */

NOINLINE int deep(int n)
{
	if (n <= 1) {
		for (int i = 0; i < 20000; i++)
			sink += i;
		return 1;
	}
	int r = deep(n - 1) + 1;
	for (int i = 0; i < 2000; i++)
		sink += i;
	return r;
}

NOINLINE void outer(void)
{
	sink += deep(7);
	sink += deep(3); /* a second outermost call in the same trace */
}

/* In the symbol table (extern, noinline), called only when argc > 99. */
NOINLINE void never_called(void)
{
	sink++;
}

/* Inlined everywhere: no symbol, no call of its own (no hooks either:
 * with them, gcc keeps an out-of-line copy for their address). */
static inline __attribute__((always_inline, no_instrument_function)) void inlined_away(void)
{
	sink += 2;
}

/* `req` is unused: at -O2 it has no location anywhere, so
 * SPANPROF_TRACE=by_unused@req cannot read it. */
NOINLINE void by_unused(int req)
{
	(void)req;
	sink++;
}

static void nap(void)
{
	SP_TRACE("nap", "20ms") {
		SP_SPAN("work") {
			for (int i = 0; i < 100000; i++)
				sink += i;
		}
		SP_SCOPE("sleep");
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		while (nanosleep(&ts, &ts))
			;
	}
}

/* SPANPROF_TRACE=take_str@s: each call a trace whose id is s. */
NOINLINE void take_str(const char *s)
{
	sink += s[0];
}

static void ids(void)
{
	char id[301];
	for (int k = 0; k < 3; k++) {
		memset(id, 'a', 300);
		id[299] = (char)('0' + k); /* differ only in the last byte */
		id[300] = '\0';
		SP_TRACE("long_id", id) {
			sp_trace_set_str("text", id);
		}
		take_str(id);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "recurse")) {
		for (int i = 0; i < 3; i++)
			outer();
	} else if (!strcmp(mode, "sleep")) {
		nap();
	} else if (!strcmp(mode, "patterns")) {
		outer();
		inlined_away();
		by_unused(7);
		by_unused(8);
		if (argc > 99)
			never_called();
	} else if (!strcmp(mode, "ids")) {
		ids();
	} else {
		fprintf(stderr, "usage: keep_prog recurse|sleep|ids\n");
		return 2;
	}
	return 0;
}
