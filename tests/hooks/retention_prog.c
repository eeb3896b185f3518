/* retention_prog.c - tests/e2e/test_retention.py's program (issue 11): ends
 * FAST fast traces named "cmd" and, at seeded random positions among them,
 * SLOW slow ones (a 50 ms sleep each: far over any preemption a fast one
 * may suffer on a loaded machine), then exits, or SIGKILLs itself.
 *
 * usage: retention_prog exit|kill [FAST [SLOW]]
 * Prints the ids of the slow traces, one a line. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spanprof.h"

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fast = argc > 2 ? atoi(argv[2]) : 20000;
	int slow = argc > 3 ? atoi(argv[3]) : 5;
	int total = fast + slow;
	char *is_slow = calloc((size_t)total, 1);
	if (!is_slow)
		return 1;
	srand(11);
	for (int k = 0; k < slow;) {
		int i = rand() % total;
		if (!is_slow[i]) {
			is_slow[i] = 1;
			k++;
		}
	}
	for (int i = 0; i < total; i++) {
		char id[32];
		snprintf(id, sizeof id, "%s%d", is_slow[i] ? "slow-" : "fast-", i);
		sp_trace_begin("cmd", id);
		if (is_slow[i]) {
			struct timespec ts = { 0, 50 * 1000000L };
			nanosleep(&ts, NULL);
			printf("%s\n", id);
		}
		sp_trace_end();
	}
	fflush(stdout);
	free(is_slow);
	if (!strcmp(argv[1], "kill"))
		raise(SIGKILL);
	return 0;
}
