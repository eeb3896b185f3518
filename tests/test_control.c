/* test_control.c - live control through SPANPROF_SIGNAL=SIGUSR2 (set in
 * tests/meson.build, with SPANPROF_OUTPUT=.../control-%p.out): the
 * commands `spanprof ctl` sends, sent here by the process to itself. */
#include <criterion/criterion.h>
#include <signal.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void command(int cmd)
{
	union sigval v = { .sival_int = cmd };
	cr_assert_eq(sigqueue(getpid(), SIGUSR2, v), 0);
	/* A signal sent to oneself is delivered before sigqueue returns,
	 * except under ThreadSanitizer, which runs the handler at the next
	 * call it intercepts: hence WAIT_FOR what each command does. */
}

/* Poll for a state, 1 ms apart (nanosleep is a call ThreadSanitizer
 * intercepts), for at most 20 s. */
#define WAIT_FOR(cond)                                                    \
	for (int w_ = 0; w_ < 20000 && !(cond); w_++)                     \
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL)

static size_t stored(void)
{
	sp_snapshot *s = sp_snapshot_take();
	size_t n = sp_snapshot_count(s);
	sp_snapshot_free(s);
	return n;
}

Test(control, enable_disable_clear_and_dump_from_outside)
{
	cr_assert_not(sp_enabled());
	command(1);
	WAIT_FOR(sp_enabled());
	cr_assert(sp_enabled(), "enabled by command 1");
	SP_SPAN("live") {
	}
	command(2);
	WAIT_FOR(!sp_enabled());
	cr_assert_not(sp_enabled(), "disabled by command 2");
	char path[4096];
	snprintf(path, sizeof path, "%s/control-%ld.out", getenv("SP_TEST_TMPDIR"), (long)getpid());
	unlink(path);
	command(4);
	struct stat st;
	WAIT_FOR(stat(path, &st) == 0);
	cr_assert_eq(stat(path, &st), 0, "command 4 wrote %s", path);
	cr_assert_gt(st.st_size, 64);
	cr_assert_eq(st.st_mode & 0777, 0600);
	unlink(path);
	cr_assert_eq(stored(), 1, "the live span");
	command(3);
	WAIT_FOR(stored() == 0);
	cr_assert_eq(stored(), 0, "cleared by command 3");
	raise(SIGUSR2); /* not from sigqueue: ignored, not fatal */
	command(99);    /* unknown: ignored */
}
