/* criterion.h - the part of Criterion's API that the suites run under
 * ThreadSanitizer use (tests/meson.build: threads, stress, control), for the
 * ThreadSanitizer build only.
 *
 * Criterion itself cannot start under ThreadSanitizer: BoxFort maps its
 * inheritable arena with MAP_FIXED at random addresses in a range that
 * ThreadSanitizer's shadow memory already takes, and aborts with "Could not
 * initialize inheritable arena" (Snaipe/Criterion#274, open). So these
 * suites are compiled against this header instead: each Test() registers
 * itself, and main() runs each one in a child process of its own, as
 * Criterion does, and prints the same TAP lines ("ok N - suite::name").
 * A failed assertion, a crash, or a ThreadSanitizer report (TSAN_OPTIONS
 * exitcode) makes the test "not ok". .timeout and command-line arguments
 * are ignored: meson's timeout covers the binary.
 */
#ifndef SP_TSAN_CRITERION_H
#define SP_TSAN_CRITERION_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct cr_test_opts {
	int timeout;
};

struct cr_test {
	const char *suite, *name;
	void (*fn)(void);
	struct cr_test *next;
};

static struct cr_test *cr_tests_, **cr_tests_tail_ = &cr_tests_;

#define Test(suite, name, ...)                                                                  \
	static void cr_fn_##suite##_##name(void);                                               \
	static struct cr_test cr_t_##suite##_##name = { #suite, #name, cr_fn_##suite##_##name, NULL }; \
	__attribute__((constructor(200))) static void cr_reg_##suite##_##name(void)             \
	{                                                                                       \
		*cr_tests_tail_ = &cr_t_##suite##_##name;                                       \
		cr_tests_tail_ = &cr_t_##suite##_##name.next;                                   \
	}                                                                                       \
	static void cr_fn_##suite##_##name(void)

static __attribute__((unused, noreturn)) void cr_fail_(const char *file, int line, const char *what)
{
	printf("# %s:%d: assertion failed: %s\n", file, line, what);
	fflush(stdout);
	_exit(1);
}

/* The message arguments Criterion takes are accepted and not printed. */
#define cr_assert(cond, ...) ((cond) ? (void)0 : cr_fail_(__FILE__, __LINE__, #cond))
#define cr_assert_not(cond, ...) cr_assert(!(cond))
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b))
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b))
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b))
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b))
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b))
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b))
#define cr_assert_null(p, ...) cr_assert((p) == NULL)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0)

int main(void)
{
	int n = 0, failed = 0;
	for (struct cr_test *t = cr_tests_; t; t = t->next)
		n++;
	printf("1..%d\n", n);
	fflush(stdout);
	int i = 0;
	for (struct cr_test *t = cr_tests_; t; t = t->next) {
		pid_t pid = fork();
		if (pid == 0) {
			t->fn();
			fflush(stdout);
			exit(0); /* atexit handlers (the runtime's exit dump) run, as under Criterion */
		}
		int st = 0;
		if (pid < 0 || waitpid(pid, &st, 0) != pid)
			st = -1;
		int ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
		failed += !ok;
		printf("%s %d - %s::%s\n", ok ? "ok" : "not ok", ++i, t->suite, t->name);
		if (!ok && st != -1)
			printf("# %s %d\n", WIFEXITED(st) ? "exit status" : "killed by signal",
			       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		fflush(stdout);
	}
	return failed ? 1 : 0;
}

#endif
