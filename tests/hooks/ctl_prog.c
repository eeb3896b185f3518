/* ctl_prog.c - a host program for the live-control tests (e2e/test_cli.py),
 * run with SPANPROF_SIGNAL=SIGUSR2 and SPANPROF_ENABLED=1. Modes:
 *
 *   exitrace N   records N traces, starts a child that floods it with dump
 *                requests, and returns from main while they arrive: the
 *                exit dump must still be written, whole.
 *   flood K W    records K traces (a dump takes a while), then does the same
 *                work W times twice, alone and under a flood of dump
 *                requests, and prints "base NS flood NS": the CPU time this
 *                thread spent on each (a dump made in the requests' signal
 *                handler is counted there). Gives up ("starved") once the
 *                flooded run has cost 4 times the base. Then waits until a
 *                requested dump has been written ("dumped").
 *   own sigaction|signal
 *                installs its own SIGUSR2 handler after start (which
 *                writes "handled" on standard output), prints "ready", and
 *                exits when standard input closes.
 *   timer PATH N a 100 us timer whose handler opens spans, while main
 *                records, dumps to PATH.I and clears, N times.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

static void spin(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sink += i * 2654435761u;
}

static void record(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		SP_TRACE("req", NULL) {
			SP_SPAN("parse") {
			}
			SP_SPAN("reply") {
			}
		}
}

/* A child that sends dump requests to its parent until the parent ends;
 * returns once the first one was sent. */
static pid_t flooder(long pause_ns)
{
	int p[2];
	if (pipe(p))
		exit(3);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		exit(3);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		union sigval v = { .sival_int = 4 };
		for (int first = 1; getppid() == parent; first = 0) {
			sigqueue(parent, SIGUSR2, v);
			if (first && write(p[1], "x", 1) != 1)
				_exit(3);
			struct timespec ts = { 0, pause_ns };
			if (pause_ns)
				nanosleep(&ts, NULL);
			else
				sched_yield();
		}
		_exit(0);
	}
	char c;
	if (read(p[0], &c, 1) != 1)
		exit(3);
	close(p[0]);
	close(p[1]);
	return pid;
}

static long long thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* W units of work; false when it cost more than `limit` ns of CPU. */
static int work(unsigned w, long long limit, long long *cost)
{
	long long t0 = thread_cpu_ns();
	for (unsigned i = 0; i < w; i++) {
		SP_TRACE("work", NULL) {
			spin(1000000);
		}
		*cost = thread_cpu_ns() - t0;
		if (limit && *cost > limit)
			return 0;
	}
	return 1;
}

static void handled(int sig)
{
	(void)sig;
	if (write(1, "handled\n", 8) != 8)
		_exit(3);
}

static void tick(int sig)
{
	(void)sig;
	SP_SPAN("tick") {
		spin(100);
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "exitrace") && argc == 3) {
		record((unsigned)atoi(argv[2]));
		flooder(0);
		return 0; /* the exit dump, under the flood */
	}
	if (!strcmp(mode, "flood") && argc == 4) {
		record((unsigned)atoi(argv[2]));
		unsigned w = (unsigned)atoi(argv[3]);
		long long base, flood;
		work(w, 0, &base);
		const char *out = getenv("SPANPROF_OUTPUT");
		struct stat before;
		int had = stat(out, &before) == 0;
		pid_t child = flooder(1000000);
		int ok = work(w, 4 * base, &flood);
		printf("base %lld flood %lld%s\n", base, flood, ok ? "" : " starved");
		fflush(stdout);
		for (;;) { /* a requested dump has been written: a new file */
			struct stat now;
			if (stat(out, &now) == 0 && (!had || now.st_ino != before.st_ino))
				break;
			struct timespec ts = { 0, 10000000 };
			nanosleep(&ts, NULL);
		}
		kill(child, SIGKILL);
		puts("dumped");
		return 0;
	}
	if (!strcmp(mode, "own") && argc == 3) {
		if (!strcmp(argv[2], "signal")) {
			if (signal(SIGUSR2, handled) == SIG_ERR)
				return 3;
		} else {
			struct sigaction sa;
			memset(&sa, 0, sizeof sa);
			sa.sa_handler = handled;
			sigemptyset(&sa.sa_mask);
			if (sigaction(SIGUSR2, &sa, NULL))
				return 3;
		}
		puts("ready");
		fflush(stdout);
		while (getchar() != EOF)
			;
		return 0;
	}
	if (!strcmp(mode, "timer") && argc == 4) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = tick;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval it = { { 0, 100 }, { 0, 100 } };
		setitimer(ITIMER_REAL, &it, NULL);
		int n = atoi(argv[3]);
		for (int i = 0; i < n; i++) {
			SP_TRACE("work", NULL) {
				spin(50000);
			}
			char path[4096];
			snprintf(path, sizeof path, "%s.%d", argv[2], i);
			int rc;
			while ((rc = sp_dump(path)) == -EINTR)
				;
			if (rc) {
				fprintf(stderr, "dump %d: %s\n", i, sp_strerror(rc));
				return 1;
			}
			sp_clear();
		}
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &off, NULL);
		return 0;
	}
	fprintf(stderr, "usage: ctl_prog exitrace N | flood K W | own sigaction|signal | timer PATH N\n");
	return 2;
}
