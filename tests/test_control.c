/* test_control.c - live control through SPANPROF_SIGNAL=SIGUSR2 (set in
 * tests/meson.build, with SPANPROF_OUTPUT=.../control-%p.out): the
 * commands `spanprof ctl` sends, sent here by the process to itself; and
 * the dump writer's temporary file. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spanprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Wait (60 s at most) for `path` to exist: the dump a command asks for is
 * written by the runtime's control thread, not in the signal handler. */
static int wait_for(const char *path, struct stat *st)
{
	for (int i = 0; i < 6000; i++) {
		if (stat(path, st) == 0)
			return 0;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

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
	cr_assert_eq(wait_for(path, &st), 0, "command 4 wrote %s", path);
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

/* A symlink planted at the name the writer would use for its temporary
 * file (NAME.tmp.PID.N, and the older NAME.tmp.PID): not followed, not
 * removed, its target untouched; the dump is written all the same. */
Test(control, a_symlink_at_the_temporary_name_is_not_followed)
{
	const char *dir = getenv("SP_TEST_TMPDIR");
	char path[4096], target[4096], link[4096 + 64];
	snprintf(path, sizeof path, "%s/symlinked-%ld.out", dir, (long)getpid());
	snprintf(target, sizeof target, "%s/symlink-target-%ld", dir, (long)getpid());
	int fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "precious", 8), 8);
	close(fd);
	for (int n = -1; n < 8; n++) {
		if (n < 0)
			snprintf(link, sizeof link, "%s.tmp.%ld", path, (long)getpid());
		else
			snprintf(link, sizeof link, "%s.tmp.%ld.%d", path, (long)getpid(), n);
		unlink(link);
		cr_assert_eq(symlink(target, link), 0, "%s", strerror(errno));
	}
	unlink(path);
	sp_set_enabled(true);
	SP_TRACE("planted", NULL) {
	}
	sp_set_enabled(false);
	cr_assert_eq(sp_dump(path), 0);
	struct stat st;
	cr_assert_eq(lstat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode), "the dump is a file of its own");
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_gt(st.st_size, 64);
	cr_assert_eq(stat(target, &st), 0);
	cr_assert_eq(st.st_size, 8, "the target is untouched");
	char buf[16] = "";
	fd = open(target, O_RDONLY);
	cr_assert_eq(read(fd, buf, sizeof buf), 8);
	close(fd);
	cr_assert_str_eq(buf, "precious");
	for (int n = -1; n < 8; n++) {
		if (n < 0)
			snprintf(link, sizeof link, "%s.tmp.%ld", path, (long)getpid());
		else
			snprintf(link, sizeof link, "%s.tmp.%ld.%d", path, (long)getpid(), n);
		cr_assert_eq(lstat(link, &st), 0, "%s: not removed", link);
		cr_assert(S_ISLNK(st.st_mode));
		unlink(link);
	}
	unlink(path);
	unlink(target);
	sp_clear();
}
