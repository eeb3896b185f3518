/* args_kinds.c - one function with an int, an unsigned long, a double, a
 * const char *, an enum, a bool and a pointer, plus a flag enum; built at
 * -O0 and at -O2 (tests/meson.build) for test_cxx.py, run with
 * SPANPROF_TRACE_CALLS=main SPANPROF_ARGS=kinds,styled,tiny,named,where. `tiny` is
 * always inlined, twice: gcc still calls the hooks for each inlined copy,
 * from main's code, and its arguments come from main's inline
 * information. */
#include <stdbool.h>
#include <stdio.h>

enum mode { MODE_TEXT = 1, MODE_PAGE = 7 };
enum style { STYLE_BOLD = 1, STYLE_ITALIC = 2, STYLE_UNDER = 4 };

static volatile long sink;
static int cell = 42;

__attribute__((noinline)) long kinds(int i, unsigned long ul, double d, const char *s, enum mode m, bool b, int *p)
{
	/* every parameter used after the enter hook, so -O2 keeps them */
	sink = i + (long)ul + (long)d + s[0] + m + b + *p;
	return sink + i + (long)ul + (long)(d * 2) + s[1] + m + b + p[0];
}

__attribute__((noinline)) int styled(enum style st)
{
	sink = st;
	return st + 1;
}

/* a struct by value: its first scalar fields */
struct pt {
	int x, y;
	double w;
	char tag[8];
};

__attribute__((noinline)) double where(struct pt p)
{
	sink = p.x + p.y + p.tag[0];
	return p.w + p.x;
}

/* a string argument that reads like a marker: it must stay a string */
__attribute__((noinline)) int named(const char *s)
{
	sink = s[0];
	return s[1];
}

static inline __attribute__((always_inline)) int tiny(int a, int b)
{
	return a * 3 + b;
}

int main(int argc, char **argv)
{
	(void)argv;
	long r = kinds(-7, 4000000000ul, 2.5, "hello", MODE_PAGE, true, &cell);
	r += styled(STYLE_BOLD | STYLE_UNDER);
	r += named("<optimized out>");
	r += (long)where((struct pt){ 1, 2, 0.5, "t" });
	r += tiny(argc, 5);
	r += tiny(argc + 1, (int)r);
	printf("%ld cell=%p\n", r, (void *)&cell);
	return 0;
}
