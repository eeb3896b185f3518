/* The CLI's reader (dump, record decoder in common/decode.c, trees) and
 * `spanprof diff` with every allocation made to fail once in turn
 * (failalloc.h): each run ends in a clear error or in the right result,
 * and holds no memory afterwards. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "failalloc.h"
#include "read/dump.h"
#include "read/tree.h"

int cmd_diff(int argc, char **argv);

static const char *golden(void)
{
	const char *p = getenv("SP_TEST_GOLDEN_DUMP");
	cr_assert(p, "SP_TEST_GOLDEN_DUMP names tests/golden/golden.out");
	return p;
}

/* stdout goes nowhere: the runs print their tables many times. */
static void quiet(void) { cr_assert(freopen("/dev/null", "w", stdout)); }
TestSuite(failalloc, .init = quiet);

/* Open the golden dump and decode each trace; 0 and the node counts, or
 * -1 with a message in err. */
static int read_all(uint32_t nodes[3], char *err, size_t errlen)
{
	struct rd_dump d;
	err[0] = '\0';
	if (rd_dump_open(golden(), &d, err, errlen)) {
		rd_dump_close(&d);
		return -1;
	}
	int rc = d.ntraces == 3 ? 0 : -1;
	for (size_t i = 0; !rc && i < d.ntraces; i++) {
		struct rd_tree t;
		if (rd_tree_load(&d, i, &t, err, errlen)) {
			rc = -1;
			break;
		}
		nodes[i] = t.dec.nnodes;
		rd_tree_free(&t);
	}
	rd_names_free(&d);
	rd_dump_close(&d);
	return rc;
}

Test(failalloc, reader_and_decoder)
{
	unsigned long k;
	for (k = 1;; k++) {
		uint32_t nodes[3] = { 0 };
		char err[512];
		fa_arm(k);
		int rc = read_all(nodes, err, sizeof err);
		fa_disarm();
		cr_assert_eq(fa_live(), 0, "allocation %lu failed: %ld blocks still held", k, fa_live());
		if (k > fa_calls()) {
			/* Nothing failed: the whole dump was read. */
			cr_assert_eq(rc, 0, "%s", err);
			cr_assert(nodes[0] == 7 && nodes[1] == 6 && nodes[2] == 4);
			break;
		}
		cr_assert_neq(rc, 0, "allocation %lu of %lu failed unnoticed", k, fa_calls());
		cr_assert(err[0], "allocation %lu failed without a message", k);
	}
	cr_assert_gt(k, 5, "the reader allocates (%lu calls)", k - 1);
}

/* Runs `spanprof diff ARGS` with allocation k failing; its exit status,
 * and its stderr in err. */
static int diff_run(unsigned long k, char **args, int nargs, char *err, size_t errlen)
{
	char *argv[8] = { "diff", "-f", (char *)golden() };
	for (int i = 0; i < nargs; i++)
		argv[3 + i] = args[i];
	char path[] = "/tmp/sp-failalloc-XXXXXX";
	int fd = mkstemp(path);
	cr_assert(fd >= 0);
	unlink(path);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fa_arm(k);
	int rc = cmd_diff(3 + nargs, argv);
	fa_disarm();
	fflush(stdout);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = pread(fd, err, errlen - 1, 0);
	err[n > 0 ? n : 0] = '\0';
	close(fd);
	return rc;
}

static void diff_every_allocation(char **args, int nargs)
{
	/* A first run, nothing failing: what lives as long as the process
	 * (one command per process) is made here, not counted below. */
	char first[512];
	cr_assert_eq(diff_run(0, args, nargs, first, sizeof first), 0, "%s", first);
	unsigned long k;
	for (k = 1;; k++) {
		char err[512];
		int rc = diff_run(k, args, nargs, err, sizeof err);
		cr_assert_eq(fa_live(), 0, "allocation %lu failed: %ld blocks still held", k, fa_live());
		if (k > fa_calls()) {
			cr_assert_eq(rc, 0, "%s", err);
			cr_assert_str_empty(err);
			break;
		}
		cr_assert_eq(rc, 1, "allocation %lu of %lu: exit status %d", k, fa_calls(), rc);
		cr_assert(strstr(err, "spanprof"), "allocation %lu failed without a message", k);
	}
	cr_assert_gt(k, 5, "diff allocates (%lu calls)", k - 1);
}

Test(failalloc, diff_one_file)
{
	char *args[] = { "1", "2" };
	diff_every_allocation(args, 2);
}

Test(failalloc, diff_two_files)
{
	char a[4096], b[4096];
	snprintf(a, sizeof a, "%s:1", golden());
	snprintf(b, sizeof b, "%s:3", golden());
	char *args[] = { a, b };
	diff_every_allocation(args, 2);
}
