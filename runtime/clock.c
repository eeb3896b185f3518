/* clock.c - ticks, and how many of them make a nanosecond.
 *
 * Spans are timed with the CPU's counter (rdtsc on x86-64 when the TSC is
 * invariant, cntvct_el0 on arm64): about 10 ns a read here, against ~26 ns
 * for clock_gettime under kvm-clock (shared/notes/PERF.md). Where no usable
 * counter exists, ticks are CLOCK_MONOTONIC nanoseconds.
 *
 * Calibration: a reference pair (counter, CLOCK_MONOTONIC, CLOCK_REALTIME)
 * is taken at start; the rate is measured once, later, against a second
 * pair at least 20 ms away (waiting for the rest only if the program is
 * younger than that), so a normal run pays nothing for it.
 */
#include "internal.h"

#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int sp__clock_counter;

static enum sp__clock_source source = SP_CLOCK_MONOTONIC;
static sp_ticks_t ref_tick;
static uint64_t ref_mono_ns, ref_wall_ns;
static _Atomic double rate; /* ticks per ns, 0 until measured */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

sp_ticks_t sp__clock_slow(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static bool counter_usable(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, d;
	/* CPUID 8000_0007h EDX bit 8: invariant TSC (constant rate, runs in
	 * every C-state), the same on every core. */
	if (!__get_cpuid(0x80000007u, &a, &b, &c, &d))
		return false;
	return (d >> 8) & 1u;
#elif defined(__aarch64__)
	return true; /* the generic timer's virtual count is architectural */
#else
	return false;
#endif
}

void sp__clock_init(void)
{
	if (counter_usable()) {
		sp__clock_counter = 1;
#if defined(__aarch64__)
		source = SP_CLOCK_CNTVCT;
#else
		source = SP_CLOCK_TSC;
#endif
	}
	/* Take the reference as one tight group so the pair agrees. */
	ref_mono_ns = clock_ns(CLOCK_MONOTONIC);
	ref_tick = sp__now();
	ref_wall_ns = clock_ns(CLOCK_REALTIME);
	if (!sp__clock_counter)
		atomic_store(&rate, 1.0);
}

enum sp__clock_source sp__clock_source(void)
{
	return source;
}

double sp__ticks_per_ns(void)
{
	double r = atomic_load(&rate);
	if (r > 0)
		return r;
	uint64_t mono;
	sp_ticks_t tick;
	do {
		mono = clock_ns(CLOCK_MONOTONIC);
		tick = sp__now();
	} while (mono - ref_mono_ns < 20000000u); /* 20 ms: 1e-6 relative error */
	r = (double)(tick - ref_tick) / (double)(mono - ref_mono_ns);
	if (!(r > 0.001 && r < 1000.0)) /* a broken counter: fall back */
		r = 1.0;
	atomic_store(&rate, r);
	return r;
}

void sp__clock_ref(sp_ticks_t *tick, uint64_t *wall_ns, uint64_t *mono_ns)
{
	*tick = ref_tick;
	*wall_ns = ref_wall_ns;
	*mono_ns = ref_mono_ns;
}

uint64_t sp__ticks_to_ns(sp_ticks_t dt)
{
	return (uint64_t)((double)dt / sp__ticks_per_ns() + 0.5);
}

uint64_t sp__ticks_to_wall_ns(sp_ticks_t t)
{
	/* The offset in double, the sum in integers: near 2^61 ns a double's
	 * step is 256 ns. The same arithmetic as the CLI's rd_dump_wall_ns,
	 * so that a snapshot and a dump of the same trace agree to the ns. */
	double d = ((double)t - (double)ref_tick) / sp__ticks_per_ns();
	d = d < 0 ? d - 0.5 : d + 0.5;
	if (d < 0 && -d >= (double)ref_wall_ns)
		return 0;
	if (d >= (double)(UINT64_MAX - ref_wall_ns))
		return UINT64_MAX;
	return d < 0 ? ref_wall_ns - (uint64_t)-d : ref_wall_ns + (uint64_t)d;
}
