/* threads.c - worker threads serving requests, in two waves, so threads
 * start and end while tracing. Each request is a trace with its phases,
 * and calls instrumented functions.
 *
 *   SPANPROF_ENABLED=1 ./threads && spanprof list
 *   SPANPROF_TRACE_CALLS=handle_request ./threads && spanprof show last
 *   usage: threads [THREADS [REQUESTS]]   (default 4 threads x 50 requests)
 */
#include <pthread.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
	int id, requests;
	unsigned long checksum;
};

static unsigned long parse_request(int worker, int n)
{
	unsigned long h = 5381;
	char req[64];
	snprintf(req, sizeof req, "GET /items/%d?worker=%d", n, worker);
	for (const char *p = req; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h;
}

static unsigned long compute(unsigned long x, int rounds)
{
	for (int i = 0; i < rounds; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	return x;
}

static size_t format_reply(unsigned long v, char *buf, size_t size)
{
	int n = snprintf(buf, size, "{\"value\": %lu}", v);
	return n > 0 ? (size_t)n : 0;
}

static unsigned long handle_request(int worker, int n)
{
	unsigned long v = 0;
	char reply[64];
	SP_SPAN("parse") {
		v = parse_request(worker, n);
	}
	SP_SPAN("work") {
		v = compute(v, 2000 + 500 * (n % 7));
		sp_span_set_i64(sp_current_span(), "rounds", 2000 + 500 * (n % 7));
	}
	SP_SPAN("reply") {
		v += format_reply(v, reply, sizeof reply);
	}
	return v;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->requests; i++) {
		char id[32];
		snprintf(id, sizeof id, "w%d-%d", w->id, i);
		SP_TRACE("request", id) {
			sp_trace_set_i64("worker", w->id);
			w->checksum += handle_request(w->id, i);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = argc > 1 ? atoi(argv[1]) : 4, nreq = argc > 2 ? atoi(argv[2]) : 50;
	if (argc > 3 || nthreads <= 0 || nthreads > 256 || nreq <= 0) {
		fprintf(stderr, "usage: threads [THREADS [REQUESTS]]\n");
		return 2;
	}
	struct worker *w = calloc((size_t)nthreads, sizeof *w);
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	if (!w || !th)
		return 1;
	unsigned long sum = 0;
	/* Two waves: half the threads end before the others start. */
	for (int wave = 0; wave < 2; wave++) {
		int lo = wave ? nthreads / 2 : 0, hi = wave ? nthreads : nthreads / 2;
		for (int i = lo; i < hi; i++) {
			w[i] = (struct worker){ i, nreq, 0 };
			pthread_create(&th[i], NULL, worker_main, &w[i]);
		}
		for (int i = lo; i < hi; i++) {
			pthread_join(th[i], NULL);
			sum += w[i].checksum;
		}
	}
	printf("threads: %d threads x %d requests, checksum 0x%08lx\n", nthreads, nreq, sum & 0xffffffffu);
	free(w);
	free(th);
	return 0;
}
