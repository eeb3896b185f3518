/* bigtrace.c - one trace of 1,000,000 function spans (trace_calls on a hot
 * function), for timing the CLI: run with SPANPROF_TRACE_CALLS=big_root
 * and SPANPROF_BUFFER_MB=256 (a trace may use half the budget).
 * `bigtrace N` makes N spans below the root instead (a multiple of 5):
 * 10,000,000 with SPANPROF_BUFFER_MB=1024. */
#include <stdio.h>
#include <stdlib.h>

volatile int sink;

__attribute__((noinline)) int big_leaf(int x)
{
	return x ^ 3;
}

__attribute__((noinline)) int big_mid(int x)
{
	return big_leaf(x) + big_leaf(x + 1) + big_leaf(x + 2) + big_leaf(x + 3);
}

__attribute__((noinline)) void big_root(int n)
{
	for (int i = 0; i < n; i++)
		sink = big_mid(i);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) / 5 : 200000;
	big_root((int)n); /* 200,000 x (1 + 4) = 1,000,000 spans below the root */
	printf("bigtrace: done\n");
	return 0;
}
