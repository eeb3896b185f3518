/* c_passthrough.c - an instrumented C frame between C++ frames. C code has
 * unwind tables but no cleanups, so a C++ exception unwinding through it
 * skips its exit hook: the frame is left open, and must be found dead. */
#define NOINLINE __attribute__((noinline))

NOINLINE int c_passthrough(int (*fn)(int), int x)
{
	int r = fn(x);
	return r + 1;
}
