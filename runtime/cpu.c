/* cpu.c - a trace's CPU time and context switches (issue 11: off-CPU time).
 *
 * A command that waits (I/O, a lock, the scheduler) looks like slow code in
 * a tree of wall-clock spans. Two readings of the thread's own counters, at
 * the trace's begin and end, tell the waiting apart: duration - CPU time is
 * the time off the CPU, and the voluntary / involuntary switches say why.
 * A reading is clock_gettime(CLOCK_THREAD_CPUTIME_ID) for the CPU time and
 * getrusage(RUSAGE_THREAD) for the switches: two system calls, two readings
 * per trace, never per span (tests/bench measures the cost). Not getrusage's
 * ru_utime + ru_stime: the kernel splits the thread's runtime between them
 * by timer ticks and keeps each monotonic, so their sum jumps by ticks (a
 * 2.5 ms trace read 4 ms of CPU); the clock is the scheduler's exact sum. */
#include "stack.h"

#include <errno.h>
#include <sys/resource.h>
#include <time.h>

/* `begin`: the clock last, so that the other call is not in the window;
 * at the end, the clock first. */
static void read_now(struct sp__cpu_use *u, bool begin)
{
	*u = (struct sp__cpu_use){ 0 };
	int e = errno;
	struct rusage ru;
	struct timespec ts;
	bool ok;
	if (begin)
		ok = getrusage(RUSAGE_THREAD, &ru) == 0 && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0;
	else
		ok = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 && getrusage(RUSAGE_THREAD, &ru) == 0;
	if (ok) {
		u->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		u->nvcsw = (uint32_t)ru.ru_nvcsw;
		u->nivcsw = (uint32_t)ru.ru_nivcsw;
		u->flags = SP_TRACE_CPU_MEASURED;
	}
	errno = e;
}

void sp__cpu_read(struct sp__cpu_use *u)
{
	if (sp__cfg.cpu)
		read_now(u, true);
	else
		*u = (struct sp__cpu_use){ 0 };
}

void sp__cpu_since(const struct sp__cpu_use *u0, struct sp__cpu_use *d)
{
	struct sp__cpu_use now;
	*d = (struct sp__cpu_use){ 0 };
	if (!(u0->flags & SP_TRACE_CPU_MEASURED))
		return;
	read_now(&now, false);
	if (!(now.flags & SP_TRACE_CPU_MEASURED) || now.cpu_ns < u0->cpu_ns)
		return;
	d->cpu_ns = now.cpu_ns - u0->cpu_ns;
	d->nvcsw = now.nvcsw - u0->nvcsw; /* u32 wrap: still the difference */
	d->nivcsw = now.nivcsw - u0->nivcsw;
	d->flags = SP_TRACE_CPU_MEASURED;
}

/* Per manual span: one reading when it opens and one when it closes, off
 * by default (a span is far cheaper than two system calls). Entries of
 * frames closed without their end (an outer end, a longjmp) are found
 * stale by depth and dropped. */
void sp__span_cpu_open(struct sp__thread *t, const struct sp__frame *f)
{
	uint32_t depth = t->depth;
	while (t->nspan_cpu && t->span_cpu[t->nspan_cpu - 1].depth >= depth)
		t->nspan_cpu--;
	if (t->nspan_cpu == SP_SPAN_CPU_MAX)
		return;
	struct sp__span_cpu *s = &t->span_cpu[t->nspan_cpu++];
	s->depth = depth;
	s->serial = f->serial;
	read_now(&s->u, true);
}

void sp__span_cpu_close(struct sp__thread *t, uint32_t depth)
{
	while (t->nspan_cpu && t->span_cpu[t->nspan_cpu - 1].depth > depth)
		t->nspan_cpu--;
	if (!t->nspan_cpu)
		return;
	struct sp__span_cpu *s = &t->span_cpu[t->nspan_cpu - 1];
	const struct sp__frame *f = &t->frames[depth - 1];
	if (s->depth != depth || s->serial != f->serial)
		return;
	t->nspan_cpu--;
	struct sp__cpu_use d;
	sp__cpu_since(&s->u, &d);
	if (f->kind != SP_FRAME_SPAN || !(d.flags & SP_TRACE_CPU_MEASURED))
		return;
	sp__add_data(t, f->ord, false, SP_VALUE_U64, "cpu_ns", d.cpu_ns, NULL);
	sp__add_data(t, f->ord, false, SP_VALUE_U64, "voluntary_switches", d.nvcsw, NULL);
	sp__add_data(t, f->ord, false, SP_VALUE_U64, "involuntary_switches", d.nivcsw, NULL);
}
