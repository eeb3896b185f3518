/* budget_prog.c - the byte budget raced (issue 8, defect 3): run with
 * SPANPROF_BUFFER_MB=16. Two threads each build a trace bigger than half
 * the budget, so that together they hold all of it, and keep them open
 * while a third thread commits SMALL small traces. Then the big traces
 * end. Every one of the 2 + SMALL traces that ended must be in the dump or
 * counted there (evicted, cleared or dropped); the program prints how many
 * ended, for the test to compare with the dump's counters. */
#include <pthread.h>
#include <spanprof.h>
#include <stdio.h>

#define SMALL 440
#define BIG_SPANS 1000000 /* 24 MB of span records: more than the budget */

static pthread_barrier_t full, done;

static void *big(void *arg)
{
	SP_TRACE("big", (const char *)arg) {
		for (int i = 0; i < BIG_SPANS; i++)
			SP_SPAN("b") {
			}
		pthread_barrier_wait(&full); /* the budget is taken */
		pthread_barrier_wait(&done); /* the small traces have ended */
	}
	return NULL;
}

static void *small(void *arg)
{
	(void)arg;
	char id[16];
	pthread_barrier_wait(&full);
	for (int i = 0; i < SMALL; i++) {
		snprintf(id, sizeof id, "s%d", i);
		SP_TRACE("small", id) {
			SP_SPAN("s") {
			}
		}
	}
	pthread_barrier_wait(&done);
	return NULL;
}

int main(void)
{
	pthread_t t[3];
	pthread_barrier_init(&full, NULL, 3);
	pthread_barrier_init(&done, NULL, 3);
	pthread_create(&t[0], NULL, big, "big1");
	pthread_create(&t[1], NULL, big, "big2");
	pthread_create(&t[2], NULL, small, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	printf("ended %d\n", 2 + SMALL);
	return 0;
}
