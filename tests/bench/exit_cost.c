/* exit_cost - the cost of a normal exit with N spans stored
 * (tests/bench/exit_cost.sh): stores TRACES traces of N/TRACES spans each,
 * then prints the CLOCK_MONOTONIC ns and the peak RSS (KiB) just before
 * calling exit(); the script takes the time and peak RSS at the end of the
 * process from wait4. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "spanprof.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	long traces = argc > 2 ? atol(argv[2]) : 200;
	long per = n / traces;
	sp_set_enabled(true);
	for (long t = 0; t < traces; t++) {
		SP_TRACE("req", NULL) {
			for (long i = 1; i < per; i++) {
				SP_SPAN("op") {
				}
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("%lld %ld\n", (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec, ru.ru_maxrss);
	fflush(stdout);
	exit(0);
}
